//! `hamn audit verify` on the configured database: exit 0 on an intact chain, 2 with the
//! first broken link once a row is edited behind the triggers' back (with the sqlite3
//! shell, as someone with file access could), 1 when the check cannot run. `hamn audit
//! export` writes the events as JSON lines or CSV and is itself audited (in the chain).

use std::path::Path;
use std::process::Command;

use hamn_broker::db::{Database, DatabaseConfig};
use hamn_broker::model::{ActorKind, AuditOutcome, NewAuditEvent};

use crate::support::{TempDir, hamn_bin};

fn hamn(args: &[&str], data: &Path) -> (Option<i32>, String, String) {
    let output = Command::new(hamn_bin())
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env_remove("RUST_LOG")
        .output()
        .expect("run hamn");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Appends `n` events through the broker library, as the services do, and seals them.
fn append(db_file: &Path, n: usize) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let db = Database::connect(&DatabaseConfig {
            url: format!("sqlite://{}?mode=rwc", db_file.display()),
            max_connections: 1,
        })
        .await
        .expect("open the database");
        let mut conn = db.acquire().await.expect("connection");
        for i in 0..n {
            let event = NewAuditEvent {
                tenant_id: None,
                actor_kind: ActorKind::Operator,
                actor_id: Some("cn:hamn-operator".into()),
                actor_name: "hamn-operator".into(),
                action: "tenant.create".into(),
                target_type: Some("tenant".into()),
                target_id: Some(format!("t{i}")),
                outcome: AuditOutcome::Success,
                source_address: Some("127.0.0.1".into()),
                before: None,
                after: Some(serde_json::json!({ "slug": format!("t{i}") })),
                detail: None,
            };
            hamn_broker::repo::audit::insert(&mut conn, &event)
                .await
                .expect("append");
        }
        // What a running broker's sealer does within a second.
        hamn_broker::repo::audit::seal_all(&mut conn)
            .await
            .expect("seal");
        drop(conn);
        db.close().await;
    });
}

#[test]
fn audit_verify_exit_codes() {
    let dir = TempDir::new("audit");
    let (code, _, stderr) = hamn(&["migrate"], &dir.0);
    assert_eq!(code, Some(0), "{stderr}");
    let db_file = dir.0.join("hamn.db");
    append(&db_file, 5);

    let (code, stdout, stderr) = hamn(&["audit", "verify"], &dir.0);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("audit chain intact: 5 event(s), #1..#5"),
        "{stdout}"
    );

    let (code, jsonl, stderr) = hamn(&["audit", "export", "--format", "jsonl"], &dir.0);
    assert_eq!(code, Some(0), "{stderr}");
    let events: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object a line"))
        .collect();
    let targets: Vec<&str> = events
        .iter()
        .filter_map(|e| e["target_id"].as_str())
        .collect();
    assert_eq!(targets, ["t4", "t3", "t2", "t1", "t0"], "newest first");
    let (code, csv, stderr) = hamn(
        &[
            "audit",
            "export",
            "--format",
            "csv",
            "--from",
            "2000-01-01T00:00:00Z",
        ],
        &dir.0,
    );
    assert_eq!(code, Some(0), "{stderr}");
    let lines: Vec<&str> = csv.split_terminator("\r\n").collect();
    assert!(lines[0].starts_with("id,at,tenant_id,actor_kind"), "{csv}");
    // Five events and the first export's own record.
    assert_eq!(lines.len(), 1 + 6, "{csv}");
    let (code, _, stderr) = hamn(
        &["audit", "export", "--format", "csv", "--to", "yesterday"],
        &dir.0,
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("RFC 3339"), "{stderr}");
    let (code, stdout, _) = hamn(&["audit", "verify"], &dir.0);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("7 event(s), #1..#7"), "{stdout}");

    // The triggers refuse the edit; only dropping them lets it through.
    let sqlite = |sql: &str| {
        Command::new("sqlite3")
            .arg(&db_file)
            .arg(sql)
            .output()
            .expect("sqlite3 shell")
    };
    let edit = "UPDATE audit_events SET outcome = 'refused' WHERE seq = 3;";
    let refused = sqlite(edit);
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("append-only"),
        "{refused:?}"
    );
    let done = sqlite(&format!("DROP TRIGGER audit_events_no_update; {edit}"));
    assert!(done.status.success(), "{done:?}");

    let (code, stdout, _) = hamn(&["audit", "verify"], &dir.0);
    assert_eq!(code, Some(2), "{stdout}");
    assert!(
        stdout.contains("BROKEN after 2 intact event(s): event #3"),
        "{stdout}"
    );

    // An unmigrated database: the check cannot run.
    let empty = TempDir::new("audit-empty");
    let (code, _, stderr) = hamn(&["audit", "verify"], &empty.0);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("hamn migrate"), "{stderr}");
}
