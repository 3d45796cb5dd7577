//! `hamn backup` against a running `hamn up`: the copy is taken while the operator API keeps
//! creating tenants, opens as a sound SQLite file with the demo tenant and a consistent
//! prefix of the new ones, an existing target is refused without `--force`, and a
//! PostgreSQL configuration is sent to the documented tools instead.

use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use serde_json::json;
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

use crate::support::{HamnUp, TempDir, hamn_bin};

fn backup(data_dir: &std::path::Path, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(hamn_bin());
    command
        .arg("backup")
        .args(extra)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("RUST_LOG");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("run hamn backup")
}

/// (slugs of every tenant, integrity_check answer) read straight from the copy.
fn read_copy(path: &std::path::Path) -> (Vec<String>, Vec<String>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .read_only(true)
            .create_if_missing(false);
        let mut conn = SqliteConnection::connect_with(&options)
            .await
            .expect("open the backup");
        let slugs = sqlx::query_scalar("SELECT slug FROM tenants ORDER BY slug")
            .fetch_all(&mut conn)
            .await
            .expect("read tenants");
        let integrity = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_all(&mut conn)
            .await
            .expect("integrity check");
        (slugs, integrity)
    })
}

fn created(slugs: &[String]) -> Vec<usize> {
    let mut numbers: Vec<usize> = slugs
        .iter()
        .filter_map(|s| s.strip_prefix("backup-")?.parse().ok())
        .collect();
    numbers.sort_unstable();
    numbers
}

#[test]
fn backs_up_a_running_instance_consistently() {
    let up = HamnUp::start(&[]);
    let out = TempDir::new("backup");
    let target = out.0.join("hamn-backup.db");
    let stop = AtomicBool::new(false);
    let made = AtomicUsize::new(0);

    let first = std::thread::scope(|scope| {
        // Writes keep landing while the copy is taken: tenants backup-0, backup-1, …
        let writer = scope.spawn(|| {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) || n < 3 {
                up.operator_create(
                    "/tenants",
                    json!({"slug": format!("backup-{n}"), "name": format!("Backup {n}")}),
                );
                n += 1;
                made.store(n, Ordering::SeqCst);
            }
        });
        while made.load(Ordering::SeqCst) < 2 {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let output = backup(&up.data.0, &["--to", target.to_str().expect("utf-8")], &[]);
        stop.store(true, Ordering::SeqCst);
        writer.join().expect("writer thread");
        output
    });
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(
        first.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(stdout.contains("verified"), "{stdout}");

    let (slugs, integrity) = read_copy(&target);
    assert_eq!(integrity, ["ok"]);
    assert!(slugs.iter().any(|s| s == "demo"), "{slugs:?}");
    // One snapshot: the copied tenants are exactly the first k the writer made, in order,
    // and at least the two made before the backup started.
    let copied = created(&slugs);
    assert!(copied.len() >= 2, "{copied:?}");
    assert_eq!(copied, (0..copied.len()).collect::<Vec<_>>());
    let total = made.load(Ordering::SeqCst);
    assert!(copied.len() <= total);

    // The target exists now: refused without --force, and left as it was.
    let again = backup(&up.data.0, &["--to", target.to_str().expect("utf-8")], &[]);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(!again.status.success());
    assert!(stderr.contains("--force"), "{stderr}");
    assert_eq!(created(&read_copy(&target).0), copied);

    // With --force it is replaced by a copy that has every tenant made so far.
    let forced = backup(
        &up.data.0,
        &["--to", target.to_str().expect("utf-8"), "--force"],
        &[],
    );
    assert!(
        forced.status.success(),
        "{}",
        String::from_utf8_lossy(&forced.stderr)
    );
    assert_eq!(
        created(&read_copy(&target).0),
        (0..total).collect::<Vec<_>>()
    );

    // No temporary file is left next to the target.
    let names: Vec<String> = std::fs::read_dir(&out.0)
        .expect("read backup dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["hamn-backup.db"]);
}

#[test]
fn postgres_is_pointed_to_its_own_tools() {
    let data = TempDir::new("backup-pg");
    let target = data.0.join("never.db");
    let output = backup(
        &data.0,
        &["--to", target.to_str().expect("utf-8")],
        &[("HAMN_DATABASE__URL", "postgres://hamn@127.0.0.1:9/hamn")],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("pg_dump"), "{stderr}");
    assert!(stderr.contains("docs/operations.md"), "{stderr}");
    assert!(!target.exists());
}
