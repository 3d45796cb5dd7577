//! The broker → gateway command channel (`hamn_broker::session_control`) on both
//! databases: commands are claimed by exactly one of two racing gateway nodes, only for
//! the sessions a node names, finished once; bad commands and ended sessions are refused;
//! unclaimed commands expire and dead nodes' claims fail; a logoff ends the row and queues
//! the host agent's logoff; the in-process wake-up is not lost between polls.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use hamn_broker::model::{CommandState, SessionState};
use hamn_broker::repo;
use hamn_broker::seed::{self, DemoSeed};
use hamn_broker::session_control::{
    self, CLAIM_TIMEOUT, ControlError, EndCause, HostCommandKind, HostCommandState,
    MESSAGE_LIFETIME, SessionCommand, WarningKind,
};
use hamn_broker::ticket::{LaunchPath, TicketIssuer, TicketKeys};
use hamn_broker::{DemoIds, issue_launch_ticket};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::both;
use crate::support::{Backend, Harness};

/// Two live sessions of the demo user (PROD and UTB apps).
pub async fn two_sessions(h: &Harness) -> (DemoIds, Uuid, Uuid) {
    let ids = seed::demo(h.db(), DemoSeed::default()).await.expect("seed");
    let issuer = TicketIssuer::new(Arc::new(TicketKeys::generate().expect("key").0));
    let mut sessions = Vec::new();
    for app in [ids.app_prod, ids.app_utb] {
        let launched = issue_launch_ticket(h.db(), &issuer, ids.user, app, LaunchPath::Browser)
            .await
            .expect("launch");
        let mut conn = h.db().acquire().await.expect("conn");
        repo::sessions::set_state(
            &mut conn,
            launched.session.id,
            SessionState::Active,
            OffsetDateTime::now_utc(),
        )
        .await
        .expect("active");
        sessions.push(launched.session.id);
    }
    (ids, sessions[0], sessions[1])
}

fn message(text: &str) -> SessionCommand {
    SessionCommand::Message {
        text: text.to_owned(),
        sender: "Driften".to_owned(),
    }
}

async fn commands_are_claimed_once_by_one_node(b: Backend) {
    let h = Harness::new(b).await;
    let (_, first, second) = two_sessions(&h).await;

    let mut tx = h.db().begin().await.expect("tx");
    let hello = session_control::enqueue(&mut tx, first, message("Hej från driften"))
        .await
        .expect("enqueue");
    let disconnect = session_control::enqueue(
        &mut tx,
        second,
        SessionCommand::Disconnect {
            reason: "Värden ska startas om".to_owned(),
            cause: EndCause::Admin,
        },
    )
    .await
    .expect("enqueue");
    tx.commit().await.expect("commit");
    assert_eq!(hello.state, CommandState::Pending);

    // A node that serves neither session claims nothing.
    let now = OffsetDateTime::now_utc();
    let mut conn = h.db().acquire().await.expect("conn");
    let none = session_control::claim(&mut conn, "elsewhere", &[Uuid::now_v7()], now)
        .await
        .expect("claim");
    assert!(none.is_empty());
    drop(conn);

    // Two nodes race for the same sessions: every command goes to exactly one of them.
    let claim = |node: &'static str| {
        let db = h.db().clone();
        async move {
            let mut conn = db.acquire().await.expect("conn");
            session_control::claim(&mut conn, node, &[first, second], now)
                .await
                .expect("claim")
        }
    };
    let (a, b2) = tokio::join!(claim("node-a"), claim("node-b"));
    let mut seen = HashSet::new();
    for c in a.iter().chain(&b2) {
        assert!(seen.insert(c.id), "claimed twice: {c:?}");
        assert_eq!(c.state, CommandState::Claimed);
    }
    assert_eq!(seen, HashSet::from([hello.id, disconnect.id]));
    let all: Vec<_> = a.iter().chain(&b2).collect();
    let got_hello = all.iter().find(|c| c.id == hello.id).expect("hello");
    assert_eq!(got_hello.command, message("Hej från driften"));
    assert!(
        got_hello
            .claimed_by
            .as_deref()
            .is_some_and(|n| n == "node-a" || n == "node-b")
    );

    let mut conn = h.db().acquire().await.expect("conn");
    assert!(
        session_control::claim(&mut conn, "node-a", &[first, second], now)
            .await
            .expect("claim")
            .is_empty(),
        "nothing is claimed twice"
    );
    assert!(
        session_control::mark_done(&mut conn, hello.id, "shown in the viewer", now)
            .await
            .expect("done")
    );
    assert!(
        !session_control::mark_done(&mut conn, hello.id, "again", now)
            .await
            .expect("done"),
        "finished once"
    );
    let stored = session_control::commands_of(&mut conn, first)
        .await
        .expect("list");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].state, CommandState::Done);
    assert_eq!(stored[0].outcome.as_deref(), Some("shown in the viewer"));
    drop(conn);
    h.finish().await;
}
both!(commands_are_claimed_once_by_one_node);

async fn bad_commands_and_ended_sessions_are_refused(b: Backend) {
    let h = Harness::new(b).await;
    let (_, first, _) = two_sessions(&h).await;
    let mut conn = h.db().acquire().await.expect("conn");
    match session_control::enqueue(&mut conn, first, message("   ")).await {
        Err(ControlError::Invalid(errors)) => assert_eq!(errors.0[0].field, "text"),
        other => panic!("expected a validation error, got {other:?}"),
    }
    let unknown = Uuid::now_v7();
    assert!(matches!(
        session_control::enqueue(&mut conn, unknown, message("Hej")).await,
        Err(ControlError::UnknownSession(id)) if id == unknown
    ));
    repo::sessions::set_state(
        &mut conn,
        first,
        SessionState::Ended,
        OffsetDateTime::now_utc(),
    )
    .await
    .expect("ended");
    assert!(matches!(
        session_control::enqueue(&mut conn, first, message("Hej")).await,
        Err(ControlError::SessionEnded(_))
    ));
    drop(conn);
    h.finish().await;
}
both!(bad_commands_and_ended_sessions_are_refused);

async fn unclaimed_commands_expire_and_dead_claims_fail(b: Backend) {
    let h = Harness::new(b).await;
    let (_, first, second) = two_sessions(&h).await;
    let now = OffsetDateTime::now_utc();
    let mut conn = h.db().acquire().await.expect("conn");
    let lonely = session_control::enqueue_at(&mut conn, first, message("Ingen ser mig"), now)
        .await
        .expect("enqueue");
    let warning_at = now + time::Duration::minutes(10);
    let warning = session_control::enqueue_at(
        &mut conn,
        second,
        SessionCommand::Warning {
            kind: WarningKind::ServiceWindow,
            text: "Servicefönster 22:00–02:00".to_owned(),
            at: warning_at,
        },
        now,
    )
    .await
    .expect("enqueue");
    assert_eq!(
        warning.expires_at, warning_at,
        "a warning lives until its moment"
    );
    assert_eq!(
        lonely.expires_at,
        now + MESSAGE_LIFETIME,
        "a message waits for a while"
    );
    // A node claims the warning and dies before finishing it.
    let claimed = session_control::claim(&mut conn, "doomed", &[second], now)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1);

    // Nothing is due yet.
    assert_eq!(
        session_control::expire(&mut conn, now)
            .await
            .expect("expire"),
        0
    );
    let later = now + MESSAGE_LIFETIME + CLAIM_TIMEOUT + Duration::from_secs(1);
    assert_eq!(
        session_control::expire(&mut conn, later)
            .await
            .expect("expire"),
        2
    );
    let lonely = repo::session_commands::get(&mut conn, lonely.id)
        .await
        .expect("get")
        .expect("row");
    assert_eq!(lonely.state, CommandState::Expired);
    let warning = repo::session_commands::get(&mut conn, warning.id)
        .await
        .expect("get")
        .expect("row");
    assert_eq!(warning.state, CommandState::Failed);
    // An expired command is never claimed afterwards.
    assert!(
        session_control::claim(&mut conn, "late", &[first, second], now)
            .await
            .expect("claim")
            .is_empty()
    );
    drop(conn);
    h.finish().await;
}
both!(unclaimed_commands_expire_and_dead_claims_fail);

async fn a_logoff_ends_the_row_and_queues_the_host_agent(b: Backend) {
    let h = Harness::new(b).await;
    let (ids, first, _) = two_sessions(&h).await;
    let now = OffsetDateTime::now_utc();
    let mut tx = h.db().begin().await.expect("tx");
    let logged_off = session_control::log_off(
        &mut tx,
        first,
        "Sessionen avslutas av driften",
        EndCause::Admin,
        now,
    )
    .await
    .expect("log off");
    tx.commit().await.expect("commit");
    assert_eq!(logged_off.before.state, SessionState::Active);
    assert_eq!(logged_off.host_command.kind, HostCommandKind::Logoff);
    assert_eq!(logged_off.host_command.state, HostCommandState::Pending);
    assert_eq!(logged_off.host_command.user_id, Some(ids.user));

    let mut conn = h.db().acquire().await.expect("conn");
    let row = repo::sessions::get(&mut conn, first)
        .await
        .expect("get")
        .expect("row");
    assert_eq!(row.state, SessionState::Ended);
    let pending =
        repo::host_commands::list_for_host(&mut conn, logged_off.before.host_id, true, 10)
            .await
            .expect("host commands");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].session_id, Some(first));
    // The gateway node holding the RDP connection still gets its Logoff.
    let claimed = session_control::claim(&mut conn, "node", &[first], now)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1);
    assert!(matches!(
        claimed[0].command,
        SessionCommand::Logoff {
            cause: EndCause::Admin,
            ..
        }
    ));
    assert!(matches!(
        session_control::log_off(&mut conn, first, "igen", EndCause::Admin, now).await,
        Err(ControlError::SessionEnded(_))
    ));
    drop(conn);
    h.finish().await;
}
both!(a_logoff_ends_the_row_and_queues_the_host_agent);

#[tokio::test]
async fn a_wake_between_polls_is_not_lost() {
    let mut wake = session_control::subscribe();
    session_control::wake();
    tokio::time::timeout(Duration::from_secs(5), wake.woken())
        .await
        .expect("the wake before waiting is seen");
    let waiter = tokio::spawn(async move {
        wake.woken().await;
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    session_control::wake();
    tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("woken")
        .expect("task");
}

/// On PostgreSQL every queued command and logoff is announced to the other nodes on
/// [`session_control::CHANNEL`] when its transaction commits, and never for a rollback
/// (tests/e2e/multinode.rs shows a gateway's listener task delivering on it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_are_announced_to_other_nodes_at_commit() {
    let h = Harness::new(Backend::Postgres).await;
    let (_, first, second) = two_sessions(&h).await;
    // Another node: a listener on a connection of its own. Other tests of this binary
    // share the channel (it is per database), so payloads are matched by session.
    let mut listener = sqlx::postgres::PgListener::connect(&crate::support::pg_base_url())
        .await
        .expect("listener");
    listener
        .listen(session_control::CHANNEL)
        .await
        .expect("LISTEN");

    let mut tx = h.db().begin().await.expect("tx");
    session_control::enqueue(&mut tx, first, message("bortkastat"))
        .await
        .expect("enqueue");
    tx.rollback().await.expect("rollback");
    let mut tx = h.db().begin().await.expect("tx");
    session_control::enqueue(&mut tx, second, message("hej"))
        .await
        .expect("enqueue");
    tx.commit().await.expect("commit");
    let mut conn = h.db().acquire().await.expect("conn");
    session_control::log_off(
        &mut conn,
        first,
        "slut",
        EndCause::Admin,
        OffsetDateTime::now_utc(),
    )
    .await
    .expect("log off");
    drop(conn);

    // In commit order: the committed command, then the logoff; the rolled-back command
    // (queued before both) never.
    let mut ours = Vec::new();
    while ours.len() < 2 {
        let notification = tokio::time::timeout(Duration::from_secs(30), listener.recv())
            .await
            .expect("a notification")
            .expect("recv");
        let payload = notification.payload().to_owned();
        if payload == format!("command:{first}") || payload == format!("command:{second}") {
            ours.push(payload);
        }
    }
    assert_eq!(
        ours,
        [format!("command:{second}"), format!("command:{first}")]
    );

    h.finish().await;
}
