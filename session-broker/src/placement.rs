//! Where a launch goes: reads the pool's state inside the launch's transaction and asks the
//! sans-IO core ([`engine`]) to decide.
//!
//! 1. **Roaming.** The user's live session for the app is reused: one that is launching,
//!    active or disconnected, on any host, even one in drain or maintenance. It follows the
//!    user between devices, and the gateway hands a session that is still attached over to
//!    the new window. Only an unhealthy host's session is left behind.
//! 2. **A new session.** Otherwise the pool's hosts that are active, not unhealthy, outside
//!    a service window and have a free seat compete by the pool's strategy on load: the
//!    weighted mean of sessions over capacity and, from a fresh agent report
//!    (`PUT /hosts/{id}/load`), CPU and memory. Breadth-first takes the lowest load,
//!    depth-first the highest; ties are broken at random. A host with as many logons in
//!    progress as the pool's storm limit is skipped; when every host with room is, the
//!    launch is refused with a time to retry.
//!
//! Launches into one pool are serialised, so several brokers on one database never overfill
//! a host. On PostgreSQL the pool's row is locked (`FOR UPDATE`) for the launch's
//! transaction. On SQLite every write transaction already holds the database's write lock
//! (`BEGIN IMMEDIATE`).

pub mod engine;

use ring::rand::{SecureRandom, SystemRandom};
use sqlx::{AnyConnection, AssertSqlSafe};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::DbError;
use crate::db::row::{get_uuid, millis};
use crate::model::{Host, PoolPlacement, Session};
use crate::repo;
use crate::repo::load::{AlarmState, LIVE_STATES};
use engine::{Decision, HostView, Rules};

/// The outcome of placement.
#[derive(Debug, Clone)]
pub enum Placement {
    /// The user's live session for the app, on its host.
    Existing { session: Session, host: Host },
    /// A host for a new session.
    New(Host),
    /// Every host with room is at its logon-storm limit.
    LogonStorm { retry_after_s: u32 },
    /// No host can take a session.
    Full,
}

/// What placement saw of the pool, for the capacity alarm.
#[derive(Debug, Clone)]
pub struct PoolView {
    pub settings: PoolPlacement,
    pub alarm: AlarmState,
    pub hosts: Vec<HostView>,
    pub now_ms: i64,
}

impl PoolView {
    pub fn rules(&self, strategy: crate::model::PoolStrategy) -> Rules {
        Rules {
            strategy,
            weights: self.settings.weights(),
            max_logons_per_host: self.settings.max_logons_per_host,
            report_max_age_ms: i64::from(self.settings.load_report_max_age_s) * 1000,
        }
    }

    /// Counts a new session on `host` (placement's own decision, before the next read).
    pub fn add_session(&mut self, host: Uuid) {
        if let Some(h) = self.hosts.iter_mut().find(|h| h.id == host) {
            h.sessions += 1;
            h.logons += 1;
        }
    }
}

/// Reads the pool's settings, alarm state and hosts. Call with the pool locked.
pub async fn view(
    conn: &mut AnyConnection,
    pool_id: Uuid,
    now: OffsetDateTime,
) -> Result<PoolView, DbError> {
    let (settings, alarm) = repo::load::pool_placement(conn, pool_id).await?;
    let hosts = repo::load::pool_hosts(conn, pool_id).await?;
    Ok(PoolView {
        settings,
        alarm,
        hosts,
        now_ms: millis(now),
    })
}

/// Places a launch of `app_id` for `user_id` in `pool_id`, and returns what it saw of the
/// pool. Call inside the launch's transaction.
pub async fn place(
    conn: &mut AnyConnection,
    user_id: Uuid,
    app_id: Uuid,
    pool_id: Uuid,
    now: OffsetDateTime,
) -> Result<(Placement, Option<PoolView>), DbError> {
    repo::load::lock_pool(conn, pool_id).await?;
    let Some(pool) = repo::pools::get(conn, pool_id).await? else {
        return Ok((Placement::Full, None));
    };
    let existing = match live_session(conn, user_id, app_id).await? {
        Some(session) => repo::hosts::get(conn, session.host_id)
            .await?
            .map(|host| (session, host)),
        None => None,
    };
    let view = view(conn, pool_id, now).await?;
    let decision = engine::decide(
        &view.rules(pool.strategy),
        view.now_ms,
        existing.as_ref().map(|(s, h)| engine::Existing {
            session_id: s.id,
            host_id: h.id,
            host_health: h.health,
        }),
        &view.hosts,
        tie_breaker(),
    );
    let placement = match decision {
        Decision::Reuse { .. } => match existing {
            Some((session, host)) => Placement::Existing { session, host },
            None => Placement::Full,
        },
        Decision::New { host_id } => match repo::hosts::get(conn, host_id).await? {
            Some(host) => Placement::New(host),
            None => Placement::Full,
        },
        Decision::LogonStorm { retry_after_s } => Placement::LogonStorm { retry_after_s },
        Decision::Full => Placement::Full,
    };
    Ok((placement, Some(view)))
}

/// The user's newest live session for the app.
async fn live_session(
    conn: &mut AnyConnection,
    user_id: Uuid,
    app_id: Uuid,
) -> Result<Option<Session>, DbError> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT id FROM sessions WHERE user_id = $1 AND app_id = $2 AND state IN ({LIVE_STATES}) \
         ORDER BY created_at DESC, id DESC LIMIT 1"
    )))
    .bind(user_id.to_string())
    .bind(app_id.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => repo::sessions::get(conn, get_uuid(&row, "id")?).await,
        None => Ok(None),
    }
}

/// The host for a new session in `pool_id` by the pool's rules, or `None` when no host
/// can take one now (full or storming).
pub async fn choose_host(conn: &mut AnyConnection, pool_id: Uuid) -> Result<Option<Host>, DbError> {
    let Some(pool) = repo::pools::get(conn, pool_id).await? else {
        return Ok(None);
    };
    let view = view(conn, pool_id, crate::db::row::now()).await?;
    match engine::decide(
        &view.rules(pool.strategy),
        view.now_ms,
        None,
        &view.hosts,
        tie_breaker(),
    ) {
        Decision::New { host_id } => repo::hosts::get(conn, host_id).await,
        _ => Ok(None),
    }
}

/// A random number to break ties with (0 when the system has no randomness: the first of
/// the equals then wins, which is still a valid choice).
fn tie_breaker() -> u32 {
    let mut bytes = [0u8; 4];
    match SystemRandom::new().fill(&mut bytes) {
        Ok(()) => u32::from_le_bytes(bytes),
        Err(_) => 0,
    }
}
