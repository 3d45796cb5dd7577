//! This node's end of the broker's command channel ([`hamn_broker::session_control`]): a
//! task that claims the pending commands of the sessions live here — every
//! [`POLL_INTERVAL`](hamn_broker::session_control::POLL_INTERVAL), or at once when the
//! broker in this process wakes it — and hands each to its session's task, which acts on
//! it and marks it done. A command whose session ended between the claim and the hand-over
//! is marked failed, so nothing stays claimed.

use std::sync::Arc;
use std::time::Duration;

use hamn_broker::db::{Database, DbError};
use hamn_broker::session_control::{self, QueuedCommand};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::registry::Registry;

/// Commands waiting for one session's task; more than this and the task is stuck.
pub(crate) const QUEUE: usize = 16;

/// Claims and hands out commands until `shutdown`.
pub(super) async fn run(
    database: Database,
    registry: Arc<Registry>,
    node: String,
    interval: Duration,
    shutdown: CancellationToken,
) {
    let mut wake = session_control::subscribe();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
            () = wake.woken() => {}
        }
        if let Err(error) = poll(&database, &registry, &node).await {
            tracing::warn!(%error, "session command poll failed");
        }
    }
}

/// One poll: claim what is pending for this node's sessions and deliver it.
pub(super) async fn poll(
    database: &Database,
    registry: &Registry,
    node: &str,
) -> Result<usize, DbError> {
    let live = registry.ids();
    if live.is_empty() {
        return Ok(0);
    }
    let claimed = {
        let mut conn = database.acquire().await?;
        session_control::claim(&mut conn, node, &live, time::OffsetDateTime::now_utc()).await?
    };
    let count = claimed.len();
    for command in claimed {
        let id = command.id;
        let session = command.session_id;
        let refused = match registry.commands(session) {
            Some(tx) => match tx.try_send(command) {
                Ok(()) => None,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    Some("the session's task has too many commands waiting")
                }
                Err(mpsc::error::TrySendError::Closed(_)) => Some("the session ended meanwhile"),
            },
            None => Some("the session ended meanwhile"),
        };
        if let Some(why) = refused {
            tracing::info!(%session, command = %id, why, "session command not delivered");
            let mut conn = database.acquire().await?;
            session_control::mark_failed(&mut conn, id, why, time::OffsetDateTime::now_utc())
                .await?;
        }
    }
    Ok(count)
}

/// What a session's task reports when it has acted on a command.
pub(crate) async fn finish(database: &Database, command: &QueuedCommand, outcome: Outcome) {
    let now = time::OffsetDateTime::now_utc();
    let result = async {
        let mut conn = database.acquire().await?;
        match &outcome {
            Outcome::Done(text) => {
                session_control::mark_done(&mut conn, command.id, text, now).await
            }
            Outcome::Failed(text) => {
                session_control::mark_failed(&mut conn, command.id, text, now).await
            }
        }
    }
    .await;
    if let Err(error) = result {
        tracing::warn!(%error, command = %command.id, "session command not marked finished");
    }
}

/// How a session's task dealt with a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    Done(String),
    Failed(String),
}
