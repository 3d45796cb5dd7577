//! The audit trail's hash chain (migration 0019): concurrent appends sealed keep one chain,
//! rows not sealed yet are counted as waiting, the triggers refuse edits and deletes,
//! `verify` finds an edited, deleted or reordered row
//! once the triggers are bypassed, and retention deletes a prefix that leaves the chain
//! verifiable from its new anchor.

use std::time::Duration;

use hamn_broker::db::Database;
use hamn_broker::model::{ActorKind, AuditOutcome, NewAuditEvent};
use hamn_broker::repo::audit::{self, Break};
use serde_json::json;

use crate::both;
use crate::support::{Backend, Harness, TestDb};

fn event(n: usize) -> NewAuditEvent {
    NewAuditEvent {
        tenant_id: None,
        actor_kind: ActorKind::System,
        actor_id: Some(format!("task-{n}")),
        actor_name: "test".into(),
        action: "test.event".into(),
        target_type: Some("thing".into()),
        target_id: Some(n.to_string()),
        outcome: AuditOutcome::Success,
        source_address: Some("192.0.2.7".into()),
        before: None,
        after: Some(json!({ "n": n, "text": "åäö" })),
        detail: Some(format!("event {n}")),
    }
}

/// `count` events from each of two tasks, each on its own pooled connection (no
/// transaction: insert makes its own).
async fn append_concurrently(db: &Database, count: usize) {
    let tasks = (0..2).map(|task| {
        let db = db.clone();
        tokio::spawn(async move {
            for i in 0..count {
                let mut conn = db.acquire().await.expect("connection");
                audit::insert(&mut conn, &event(task * 1000 + i))
                    .await
                    .expect("append");
            }
        })
    });
    for t in tasks.collect::<Vec<_>>() {
        t.await.expect("task");
    }
    seal(db).await;
}

/// What the broker's sealer does within a second.
async fn seal(db: &Database) -> u64 {
    let mut conn = db.acquire().await.expect("connection");
    audit::seal_all(&mut conn).await.expect("seal")
}

async fn verify(db: &Database) -> audit::Verified {
    let mut conn = db.acquire().await.expect("connection");
    audit::verify(&mut conn).await.expect("verify runs")
}

async fn exec(db: &Database, sql: &str) -> Result<u64, sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(db.pool())
        .await
        .map(|r| r.rows_affected())
}

/// Removes the append-only triggers, as someone with raw database access could.
async fn drop_guards(db: &Database, b: Backend) {
    let statements: &[&str] = match b {
        Backend::Sqlite => &[
            "DROP TRIGGER audit_events_no_update",
            "DROP TRIGGER audit_events_no_delete",
        ],
        Backend::Postgres => &["DROP TRIGGER audit_events_append_only ON audit_events"],
    };
    for s in statements {
        exec(db, s).await.expect("drop trigger");
    }
}

async fn rows(db: &Database) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM audit_events")
        .fetch_one(db.pool())
        .await
        .expect("count")
}

async fn concurrent_appends_and_api_mutations_keep_one_chain(b: Backend) {
    let h = Harness::new(b).await;
    let api = async {
        for i in 0..10 {
            h.create(
                "/api/v1/tenants",
                json!({"slug": format!("t{i}"), "name": format!("T {i}")}),
            )
            .await;
        }
    };
    tokio::join!(api, append_concurrently(h.db(), 25));
    seal(h.db()).await;
    let v = verify(h.db()).await;
    assert_eq!(v.broken, None);
    let total = rows(h.db()).await;
    assert!(total >= 60, "10 API mutations and 50 appends, got {total}");
    assert_eq!((v.events, v.head.seq), (total as u64, total));
    h.finish().await;
}
both!(concurrent_appends_and_api_mutations_keep_one_chain);

async fn edits_and_deletes_are_refused_then_detected(b: Backend) {
    let t = TestDb::new(b).await;
    append_concurrently(&t.db, 5).await;
    assert_eq!(verify(&t.db).await.broken, None);

    // The triggers refuse both, even for a row far from the anchor.
    let edit = "UPDATE audit_events SET detail = 'nothing happened' WHERE seq = 4";
    let err = exec(&t.db, edit).await.expect_err("edit refused");
    assert!(err.to_string().contains("append-only"), "{err}");
    let err = exec(&t.db, "DELETE FROM audit_events WHERE seq = 7")
        .await
        .expect_err("delete refused");
    assert!(err.to_string().contains("append-only"), "{err}");

    drop_guards(&t.db, b).await;
    assert_eq!(exec(&t.db, edit).await.expect("edit"), 1);
    match verify(&t.db).await.broken {
        Some(Break::Altered { seq: 4, .. }) => {}
        other => panic!("the edited row #4 must be reported, got {other:?}"),
    }
    t.finish().await;
}
both!(edits_and_deletes_are_refused_then_detected);

async fn deleted_and_reordered_rows_are_detected(b: Backend) {
    let t = TestDb::new(b).await;
    append_concurrently(&t.db, 5).await;
    drop_guards(&t.db, b).await;
    // The last row: only the head still knows it existed.
    exec(&t.db, "DELETE FROM audit_events WHERE seq = 10")
        .await
        .expect("delete");
    assert_eq!(verify(&t.db).await.broken, Some(Break::Missing { seq: 10 }));
    exec(&t.db, "DELETE FROM audit_events WHERE seq = 6")
        .await
        .expect("delete");
    let v = verify(&t.db).await;
    assert_eq!((v.broken, v.events), (Some(Break::Missing { seq: 6 }), 5));

    // Two rows swapping places (seq and hash with them) no longer link.
    let t2 = TestDb::new(b).await;
    append_concurrently(&t2.db, 3).await;
    drop_guards(&t2.db, b).await;
    for s in [
        "UPDATE audit_events SET seq = -2 WHERE seq = 2",
        "UPDATE audit_events SET seq = 2 WHERE seq = 3",
        "UPDATE audit_events SET seq = 3 WHERE seq = -2",
    ] {
        exec(&t2.db, s).await.expect("reorder");
    }
    match verify(&t2.db).await.broken {
        Some(Break::Altered { seq: 2, .. }) => {}
        other => panic!("the swap at #2 must be reported, got {other:?}"),
    }
    t2.finish().await;
    t.finish().await;
}
both!(deleted_and_reordered_rows_are_detected);

async fn rows_from_before_the_chain_are_chained_in_order(b: Backend) {
    let t = TestDb::new(b).await;
    append_concurrently(&t.db, 2).await;
    // As rows written before migration 0019 look: no seq, no hash.
    for (id, at) in [
        ("00000000-0000-7000-8000-000000000002", 2_000),
        ("00000000-0000-7000-8000-000000000001", 1_000),
    ] {
        sqlx::query(
            "INSERT INTO audit_events (id, at, actor_kind, actor_name, action, outcome) \
             VALUES ($1, $2, 'system', 'old', 'legacy', 'success')",
        )
        .bind(id)
        .bind(at as i64)
        .execute(t.db.pool())
        .await
        .expect("legacy row");
    }
    let v = verify(&t.db).await;
    assert_eq!(
        (v.broken, v.events, v.pending),
        (None, 4, 2),
        "waiting, not broken"
    );
    // Migrating again chains them (oldest first), and only once.
    t.db.migrate().await.expect("migrate");
    t.db.migrate().await.expect("migrate again");
    let v = verify(&t.db).await;
    assert_eq!((v.broken, v.events), (None, 6));
    let order: Vec<String> =
        sqlx::query_scalar("SELECT id FROM audit_events WHERE action = 'legacy' ORDER BY seq")
            .fetch_all(t.db.pool())
            .await
            .expect("order");
    assert_eq!(
        order,
        [
            "00000000-0000-7000-8000-000000000001",
            "00000000-0000-7000-8000-000000000002"
        ]
    );
    t.finish().await;
}
both!(rows_from_before_the_chain_are_chained_in_order);

async fn retention_deletes_a_prefix_and_the_chain_still_verifies(b: Backend) {
    let t = TestDb::new(b).await;
    append_concurrently(&t.db, 4).await; // #1..#8: old
    tokio::time::sleep(Duration::from_millis(30)).await;
    let now = time::OffsetDateTime::now_utc();
    tokio::time::sleep(Duration::from_millis(30)).await;
    append_concurrently(&t.db, 2).await; // #9..#12: young

    // Kept for 0 s from `now`: everything before `now` goes, in the janitor's path.
    let deleted = hamn_broker::janitor::audit_retention(&t.db, now, Duration::ZERO)
        .await
        .expect("retention");
    assert_eq!(deleted, 8);
    assert_eq!(seal(&t.db).await, 1, "the purge's own record");
    let v = verify(&t.db).await;
    assert_eq!(v.broken, None);
    // The four young events and the purge's own record.
    assert_eq!((v.events, v.head.anchor_seq, v.head.seq), (5, 8, 13));
    assert_eq!(rows(&t.db).await, 5);
    let purge = sqlx::query_scalar::<_, String>(
        "SELECT detail FROM audit_events WHERE action = 'audit.retention'",
    )
    .fetch_one(t.db.pool())
    .await
    .expect("the purge is audited");
    assert!(purge.contains("#1..#8"), "{purge}");

    // Nothing older is left: a second pass deletes nothing, and rows past the anchor stay
    // protected.
    assert_eq!(
        hamn_broker::janitor::audit_retention(&t.db, now, Duration::ZERO)
            .await
            .expect("retention"),
        0
    );
    exec(&t.db, "DELETE FROM audit_events WHERE seq = 9")
        .await
        .expect_err("past the anchor: refused");
    // The anchor cannot be moved back to hide a truncation.
    exec(&t.db, "UPDATE audit_chain SET anchor_seq = 2")
        .await
        .expect_err("anchor only moves forward");
    t.finish().await;
}
both!(retention_deletes_a_prefix_and_the_chain_still_verifies);
