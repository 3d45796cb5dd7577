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
//! Launches are not serialised per pool. The pool is read without a lock (one query: the
//! hosts with their seat counters, which triggers on `sessions` keep, migration 0014),
//! the engine decides, and the launch then takes a seat on the chosen host with
//! [`repo::hosts::take_seat`]: the host row is locked (PostgreSQL) and its counter,
//! state and health are checked again. When another launch took the last seat or the
//! host left service meanwhile, that host is read again and the engine decides anew, so
//! several brokers on one database never overfill a host. On SQLite every write
//! transaction holds the database's write lock (`BEGIN IMMEDIATE`) anyway.
//!
//! Lock order of a launch (PostgreSQL): the user's row ([`crate::launch`]), the chosen
//! host's row, then, when its session row is stored last, one shard of the tenant's
//! live-session count (trigger, `tenant_usage_shards`) and one of its launch counter
//! (`launch_counters`; all of both, in shard order, in exact mode, [`crate::fair_use`]).
//! Session changes elsewhere (gateway, janitor, logoff) lock their host's row before the
//! tenant's shard, in the trigger.

pub mod engine;

use ring::rand::{SecureRandom, SystemRandom};
use sqlx::AnyConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::DbError;
use crate::db::row::millis;
use crate::model::{Host, PoolPlacement, Session};
use crate::repo;
use crate::repo::load::AlarmState;
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

/// Reads the pool's settings, alarm state and hosts; `None` when the pool does not exist.
pub async fn view_with_strategy(
    conn: &mut AnyConnection,
    pool_id: Uuid,
    now: OffsetDateTime,
) -> Result<Option<(crate::model::PoolStrategy, PoolView)>, DbError> {
    let Some((strategy, settings, alarm, hosts)) =
        repo::load::pool_rules_and_hosts(conn, pool_id).await?
    else {
        return Ok(None);
    };
    Ok(Some((
        strategy,
        PoolView {
            settings,
            alarm,
            hosts,
            now_ms: millis(now),
        },
    )))
}

/// Reads the pool's settings, alarm state and hosts (defaults for a pool without
/// settings, no hosts for one that does not exist).
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

/// Places a launch of `app_id` for `user_id` in `pool_id`, given the user's live session
/// for the app (`existing`, with its host), and returns what it saw of the pool (`None`
/// for a reuse, which does not read it). Call inside the launch's transaction, with the
/// user's row locked, so the user's own launches cannot race each other.
pub async fn place(
    conn: &mut AnyConnection,
    existing: Option<(Session, Host)>,
    pool_id: Uuid,
    now: OffsetDateTime,
) -> Result<(Placement, Option<PoolView>), DbError> {
    let seen = existing.as_ref().map(|(s, h)| engine::Existing {
        session_id: s.id,
        host_id: h.id,
        host_health: h.health,
    });
    if let Some(Decision::Reuse { .. }) = engine::reuse(seen)
        && let Some((session, host)) = existing
    {
        return Ok((Placement::Existing { session, host }, None));
    }
    let Some((strategy, mut view)) = view_with_strategy(conn, pool_id, now).await? else {
        return Ok((Placement::Full, None));
    };
    let rules = view.rules(strategy);
    let tie = tie_breaker();
    // Each round either takes a seat or learns that a host changed under it; a host can
    // only fill up or leave service, so this ends within one round per host.
    for _ in 0..=view.hosts.len() {
        let placement = match engine::decide(&rules, view.now_ms, seen, &view.hosts, tie) {
            Decision::New { host_id } => {
                match repo::hosts::take_seat(conn, host_id, rules.max_logons_per_host).await? {
                    Some(host) => Placement::New(host),
                    None => {
                        refresh(conn, &mut view, &rules, host_id).await?;
                        continue;
                    }
                }
            }
            // Reuse was answered above; the engine gives it only for `seen`.
            Decision::Reuse { .. } | Decision::Full => Placement::Full,
            Decision::LogonStorm { retry_after_s } => Placement::LogonStorm { retry_after_s },
        };
        return Ok((placement, Some(view)));
    }
    Ok((Placement::Full, Some(view)))
}

/// Replaces the view of `host_id` with the host as it is now; a host that is gone is
/// dropped from the view.
async fn refresh(
    conn: &mut AnyConnection,
    view: &mut PoolView,
    rules: &Rules,
    host_id: Uuid,
) -> Result<(), DbError> {
    let fresh = repo::load::host_view_of(conn, host_id).await?;
    view.hosts.retain(|h| h.id != host_id);
    if let Some(mut h) = fresh {
        // The seat was refused a moment ago; should the host look free again already (a
        // session ended in between), leave it for the next launch rather than go round.
        if h.accepts_new() && h.has_room(rules, view.now_ms) && !h.storming(rules) {
            h.sessions = h.capacity;
        }
        view.hosts.push(h);
    }
    Ok(())
}

/// The host for a new session in `pool_id` by the pool's rules, or `None` when no host
/// can take one now (full or storming). Reads only: the seat is not taken.
pub async fn choose_host(conn: &mut AnyConnection, pool_id: Uuid) -> Result<Option<Host>, DbError> {
    let Some((strategy, view)) = view_with_strategy(conn, pool_id, crate::db::row::now()).await?
    else {
        return Ok(None);
    };
    match engine::decide(
        &view.rules(strategy),
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
