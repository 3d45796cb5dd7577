//! The command channel from the broker to the gateway nodes, and host-side logoff.
//!
//! Anything on the broker's side (the admin API, the lifecycle sweeper, service windows)
//! asks a running session for something with [`enqueue`] inside its own transaction, next
//! to its audit event; after the commit it calls [`wake`]. The gateway node that serves
//! the session picks the command up: it polls [`claim`] about every second
//! ([`POLL_INTERVAL`]) with the ids of its live sessions (an indexed query on the pending
//! rows), and sooner when [`Wake::woken`] fires — in-process when broker and gateway run in
//! one process (`hamn up`). The claim is one conditional UPDATE, so of several nodes exactly
//! one gets each command; the session's task acts on it and finishes it with [`mark_done`]
//! or [`mark_failed`]. A command nobody claims by its expiry (the session is on no gateway
//! node) is marked expired by the janitor ([`expire`]); one claimed by a node that died
//! before finishing it is marked failed. So a command is delivered at most once, and
//! exactly once to a session that is live on a node.
//!
//! Between nodes on PostgreSQL, [`enqueue`] and [`log_off`] also send a `pg_notify` on
//! [`CHANNEL`] in the same transaction (PostgreSQL delivers it at the commit, never for a
//! rollback), and every node runs one [`listen`] task that calls [`wake`] for each
//! notification, so a command queued through broker A reaches a session on gateway B at
//! once. Host state changes (drain, …) are announced the same way ([`notify`] with
//! [`Event::Host`]). The poll stays as the safety net for a notification lost while a
//! listener reconnects; on SQLite (one process) the in-process wake is all there is.
//!
//! A logoff ([`log_off`]) is more than a command: the row ends and the host gets a
//! [`HostCommand`] for its agent, because closing an RDP connection only disconnects the
//! Windows session — a browser RDP client cannot log the user off by protocol.

use std::sync::OnceLock;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::db::row::now as db_now;
use crate::db::{Database, DbError};
pub use crate::model::{
    CommandState, EndCause, HostCommand, HostCommandKind, HostCommandState, QueuedCommand,
    SessionCommand, WarningKind,
};
use crate::model::{Session, SessionState, ValidationErrors};
use crate::repo;
use crate::repo::AnyConnection;
use crate::repo::host_commands::NewHostCommand;

/// How often a gateway node polls for commands when nothing wakes it sooner.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// How long a message waits for a gateway node to claim it.
pub const MESSAGE_LIFETIME: Duration = Duration::from_secs(10 * 60);
/// How long a disconnect or logoff waits to be claimed. The session is on no node after
/// that; a logoff has ended the row and queued the host logoff already.
pub const ENDING_LIFETIME: Duration = Duration::from_secs(5 * 60);
/// A claimed command unfinished after this long belonged to a node that died.
pub const CLAIM_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// Why a command was not queued.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("session {0} does not exist")]
    UnknownSession(Uuid),
    #[error("session {0} has ended")]
    SessionEnded(Uuid),
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    #[error(transparent)]
    Database(#[from] DbError),
}

/// When an unclaimed `command` given at `now` expires: a warning at the moment it warns of
/// (but never sooner than a minute from now, so a late warning still gets a chance).
pub fn expiry(command: &SessionCommand, now: OffsetDateTime) -> OffsetDateTime {
    match command {
        SessionCommand::Message { .. }
        | SessionCommand::PrintReady { .. }
        | SessionCommand::PrintRefused { .. } => now + MESSAGE_LIFETIME,
        SessionCommand::Warning { at, .. } => (*at).max(now + Duration::from_secs(60)),
        SessionCommand::Disconnect { .. } | SessionCommand::Logoff { .. } => now + ENDING_LIFETIME,
    }
}

/// Queues `command` for session `session_id` (now). Call [`wake`] after the transaction
/// commits.
pub async fn enqueue(
    conn: &mut AnyConnection,
    session_id: Uuid,
    command: SessionCommand,
) -> Result<QueuedCommand, ControlError> {
    enqueue_at(conn, session_id, command, db_now()).await
}

/// [`enqueue`] at a given time (the sweeper's clock).
pub async fn enqueue_at(
    conn: &mut AnyConnection,
    session_id: Uuid,
    command: SessionCommand,
    now: OffsetDateTime,
) -> Result<QueuedCommand, ControlError> {
    command.validate()?;
    let session = repo::sessions::get(conn, session_id)
        .await?
        .ok_or(ControlError::UnknownSession(session_id))?;
    if session.state == SessionState::Ended {
        return Err(ControlError::SessionEnded(session_id));
    }
    let expires_at = expiry(&command, now);
    let queued = repo::session_commands::insert(
        conn,
        session_id,
        session.tenant_id,
        &command,
        now,
        expires_at,
    )
    .await?;
    notify(conn, Event::Command(session_id)).await?;
    Ok(queued)
}

/// [`enqueue`] in a transaction of its own, then [`wake`]: for callers with nothing else
/// to write (audit the command yourself if it needs it — this does not).
pub async fn send(
    db: &Database,
    session_id: Uuid,
    command: SessionCommand,
) -> Result<QueuedCommand, ControlError> {
    let mut tx = db.begin().await?;
    let queued = enqueue(&mut tx, session_id, command).await?;
    tx.commit().await.map_err(DbError::from)?;
    wake();
    Ok(queued)
}

/// What [`log_off`] queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedOff {
    /// The session as it was before.
    pub before: Session,
    /// The Logoff command for the gateway node that holds the RDP connection, if any.
    pub command: QueuedCommand,
    /// The logoff for the host's agent.
    pub host_command: HostCommand,
}

/// Logs session `session_id` off at `now`: the row goes `ended`, the gateway node holding
/// its RDP connection (if any) gets a Logoff command (closes the browser with 4300 and the
/// RDP connection), and the host gets a logoff [`HostCommand`] for its agent. The caller
/// audits and commits, then calls [`wake`].
pub async fn log_off(
    conn: &mut AnyConnection,
    session_id: Uuid,
    reason: &str,
    cause: EndCause,
    now: OffsetDateTime,
) -> Result<LoggedOff, ControlError> {
    let command = SessionCommand::Logoff {
        reason: reason.to_owned(),
        cause,
    };
    command.validate()?;
    let before = repo::sessions::get(conn, session_id)
        .await?
        .ok_or(ControlError::UnknownSession(session_id))?;
    if before.state == SessionState::Ended {
        return Err(ControlError::SessionEnded(session_id));
    }
    let host_command = repo::host_commands::insert(
        conn,
        &NewHostCommand {
            host_id: before.host_id,
            tenant_id: Some(before.tenant_id),
            session_id: Some(session_id),
            user_id: Some(before.user_id),
            kind: HostCommandKind::Logoff,
            reason: reason.to_owned(),
        },
        now,
    )
    .await?;
    let command = repo::session_commands::insert(
        conn,
        session_id,
        before.tenant_id,
        &command,
        now,
        now + ENDING_LIFETIME,
    )
    .await?;
    repo::sessions::set_state(conn, session_id, SessionState::Ended, now).await?;
    notify(conn, Event::Command(session_id)).await?;
    Ok(LoggedOff {
        before,
        command,
        host_command,
    })
}

/// Claims, for gateway node `node`, the pending commands of the sessions it serves, oldest
/// first. Each command is returned to exactly one caller.
pub async fn claim(
    conn: &mut AnyConnection,
    node: &str,
    sessions: &[Uuid],
    now: OffsetDateTime,
) -> Result<Vec<QueuedCommand>, DbError> {
    if sessions.is_empty() {
        return Ok(Vec::new());
    }
    repo::session_commands::claim(conn, node, sessions, now).await
}

/// The session's task acted on a claimed command; `outcome` says how.
pub async fn mark_done(
    conn: &mut AnyConnection,
    id: Uuid,
    outcome: &str,
    now: OffsetDateTime,
) -> Result<bool, DbError> {
    repo::session_commands::finish(conn, id, CommandState::Done, outcome, now).await
}

/// The session's task could not act on a claimed command (e.g. it ended meanwhile).
pub async fn mark_failed(
    conn: &mut AnyConnection,
    id: Uuid,
    outcome: &str,
    now: OffsetDateTime,
) -> Result<bool, DbError> {
    repo::session_commands::finish(conn, id, CommandState::Failed, outcome, now).await
}

/// A session's commands, oldest first (the newest 100).
pub async fn commands_of(
    conn: &mut AnyConnection,
    session_id: Uuid,
) -> Result<Vec<QueuedCommand>, DbError> {
    repo::session_commands::list_for_session(conn, session_id, 100).await
}

/// The janitor's part: unclaimed commands past their expiry, and claims of dead nodes.
pub async fn expire(conn: &mut AnyConnection, now: OffsetDateTime) -> Result<u64, DbError> {
    repo::session_commands::expire(conn, now, now - CLAIM_TIMEOUT).await
}

fn wake_channel() -> &'static watch::Sender<u64> {
    static WAKE: OnceLock<watch::Sender<u64>> = OnceLock::new();
    WAKE.get_or_init(|| watch::channel(0).0)
}

/// Tells the gateway nodes of this process to poll now (call after the commit).
pub fn wake() {
    wake_channel().send_modify(|n| *n = n.wrapping_add(1));
}

/// Subscribes to [`wake`]: a wake between two polls is never lost.
pub fn subscribe() -> Wake {
    Wake(wake_channel().subscribe())
}

/// A gateway node's subscription to [`wake`].
#[derive(Debug)]
pub struct Wake(watch::Receiver<u64>);

impl Wake {
    /// Resolves at the next [`wake`] since the last time this returned.
    pub async fn woken(&mut self) {
        // The sender lives in a static and is never dropped, so this only ever waits.
        if self.0.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// The PostgreSQL notification channel of node-to-node events.
pub const CHANNEL: &str = "hamn_events";
/// How long a [`listen`] task waits before connecting again after a failure.
const LISTEN_RETRY: Duration = Duration::from_secs(2);

/// What a notification on [`CHANNEL`] announces. The payload is only a hint (`command:<id>`,
/// `host:<id>`): a listener polls the database for the truth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A command for this session was queued (or the session was logged off).
    Command(Uuid),
    /// This host's state changed (drain, back in service, …).
    Host(Uuid),
}

impl Event {
    fn payload(self) -> String {
        match self {
            Event::Command(id) => format!("command:{id}"),
            Event::Host(id) => format!("host:{id}"),
        }
    }
}

/// Announces `event` to the other nodes, inside the caller's transaction: on PostgreSQL a
/// `pg_notify` on [`CHANNEL`], delivered at the commit; on SQLite nothing (every node is
/// this process; call [`wake`] after the commit as always).
pub async fn notify(conn: &mut AnyConnection, event: Event) -> Result<(), DbError> {
    if !conn.backend_name().eq_ignore_ascii_case("postgresql") {
        return Ok(());
    }
    // pg_notify returns `void`, a type the `Any` driver cannot describe: count instead.
    sqlx::query("SELECT COUNT(*) FROM (SELECT pg_notify($1, $2)) AS sent")
        .bind(CHANNEL)
        .bind(event.payload())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// This node's listener: LISTENs on [`CHANNEL`] on a connection of its own to
/// `database_url` and calls [`wake`] for every notification until `shutdown`. Does nothing
/// on SQLite. A lost connection is opened again (after [`LISTEN_RETRY`]), followed by a
/// wake, since notifications sent meanwhile are gone; the callers' polls cover the gap.
pub async fn listen(database_url: String, shutdown: CancellationToken) {
    if !(database_url.starts_with("postgres://") || database_url.starts_with("postgresql://")) {
        return;
    }
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            Err(error) = listen_once(&database_url) => {
                tracing::warn!(%error, "node event listener failed; polling covers meanwhile");
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(LISTEN_RETRY) => {}
        }
    }
}

/// One connection's worth of [`listen`]: returns only with the error that ended it.
async fn listen_once(database_url: &str) -> Result<std::convert::Infallible, sqlx::Error> {
    let mut listener = sqlx::postgres::PgListener::connect(database_url).await?;
    listener.listen(CHANNEL).await?;
    tracing::debug!(channel = CHANNEL, "listening for node events");
    // Whatever was sent before this connection listened is picked up by a poll now.
    wake();
    loop {
        // `try_recv` answers `None` when the connection was lost; the next call connects
        // again, and what was sent meanwhile is gone.
        match listener.try_recv().await? {
            Some(notification) => {
                tracing::trace!(payload = notification.payload(), "node event");
                wake();
            }
            None => {
                tracing::info!("node event listener reconnecting");
                wake();
            }
        }
    }
}
