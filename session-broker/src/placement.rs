//! Where a launch goes.
//!
//! 1. **Roaming.** The user's live session for the app is reused: one that is launching,
//!    active or disconnected, on any host, even one in drain or maintenance. It follows the
//!    user between devices, and the gateway hands a session that is still attached over to
//!    the new window. Only an unhealthy host's session is left behind.
//! 2. **A new session.** Otherwise the pool's hosts that are active, not unhealthy and have
//!    room compete by the pool's strategy. Breadth-first takes the lowest load, depth-first
//!    the highest (filling hosts in turn). Load is live sessions over capacity; ties are
//!    broken at random.
//!
//! Launches into one pool are serialised, so several brokers on one database never overfill
//! a host. On PostgreSQL the pool's row is locked (`FOR UPDATE`) for the launch's
//! transaction. On SQLite every write transaction already holds the database's write lock
//! (`BEGIN IMMEDIATE`).
//!
//! Not here yet: CPU and memory reports, the logon-storm limit and service windows.

use ring::rand::{SecureRandom, SystemRandom};
use sqlx::{AnyConnection, AssertSqlSafe};
use uuid::Uuid;

use crate::db::DbError;
use crate::db::row::{get_i64, get_uuid};
use crate::model::{Host, HostHealth, PoolStrategy, Session};
use crate::repo;

/// Sessions that hold a seat on their host.
const LIVE_STATES: &str = "'launching', 'active', 'disconnected'";

/// The outcome of placement.
#[derive(Debug, Clone)]
pub enum Placement {
    /// The user's live session for the app, on its host.
    Existing { session: Session, host: Host },
    /// A host for a new session.
    New(Host),
}

/// Places a launch of `app_id` for `user_id` in `pool_id`; `None` when no host can take it.
/// Call inside the launch's transaction.
pub async fn place(
    conn: &mut AnyConnection,
    user_id: Uuid,
    app_id: Uuid,
    pool_id: Uuid,
) -> Result<Option<Placement>, DbError> {
    lock_pool(conn, pool_id).await?;
    if let Some(session) = live_session(conn, user_id, app_id).await?
        && let Some(host) = repo::hosts::get(conn, session.host_id).await?
        && host.health != HostHealth::Unhealthy
    {
        return Ok(Some(Placement::Existing { session, host }));
    }
    Ok(choose_host(conn, pool_id).await?.map(Placement::New))
}

/// Serialises launches into `pool_id` for the rest of the transaction.
async fn lock_pool(conn: &mut AnyConnection, pool_id: Uuid) -> Result<(), DbError> {
    if conn.backend_name().eq_ignore_ascii_case("postgresql") {
        sqlx::query("SELECT id FROM host_pools WHERE id = $1 FOR UPDATE")
            .bind(pool_id.to_string())
            .fetch_optional(&mut *conn)
            .await?;
    }
    Ok(())
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

/// The host for a new session in `pool_id` by the pool's strategy, or `None` when no host
/// can take one.
pub async fn choose_host(conn: &mut AnyConnection, pool_id: Uuid) -> Result<Option<Host>, DbError> {
    let Some(pool) = repo::pools::get(conn, pool_id).await? else {
        return Ok(None);
    };
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT h.id AS id, h.capacity AS capacity, \
         (SELECT COUNT(*) FROM sessions s WHERE s.host_id = h.id \
          AND s.state IN ({LIVE_STATES})) AS load \
         FROM hosts h WHERE h.pool_id = $1 AND h.state = 'active' \
         AND h.health IN ('unknown', 'healthy')"
    )))
    .bind(pool_id.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let mut candidates = Vec::with_capacity(rows.len());
    for r in &rows {
        let (id, capacity, load) = (
            get_uuid(r, "id")?,
            get_i64(r, "capacity")?,
            get_i64(r, "load")?,
        );
        if load < capacity {
            candidates.push(Candidate { id, load, capacity });
        }
    }
    match pick(&candidates, pool.strategy, tie_breaker()) {
        Some(id) => repo::hosts::get(conn, id).await,
        None => Ok(None),
    }
}

/// A host with room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Candidate {
    id: Uuid,
    load: i64,
    capacity: i64,
}

impl Candidate {
    /// Load as a fraction of capacity, compared exactly: `load / capacity` as a pair for
    /// cross-multiplication.
    fn cmp_load(&self, other: &Self) -> std::cmp::Ordering {
        (i128::from(self.load) * i128::from(other.capacity))
            .cmp(&(i128::from(other.load) * i128::from(self.capacity)))
    }
}

/// The strategy's choice among `candidates`; `tie` picks among equals.
fn pick(candidates: &[Candidate], strategy: PoolStrategy, tie: u32) -> Option<Uuid> {
    let best = candidates.iter().copied().reduce(|a, b| {
        let better = match strategy {
            PoolStrategy::BreadthFirst => b.cmp_load(&a).is_lt(),
            PoolStrategy::DepthFirst => b.cmp_load(&a).is_gt(),
        };
        if better { b } else { a }
    })?;
    let equal: Vec<Uuid> = candidates
        .iter()
        .filter(|c| c.cmp_load(&best).is_eq())
        .map(|c| c.id)
        .collect();
    equal.get(tie as usize % equal.len()).copied()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn host(n: u128, load: i64, capacity: i64) -> Candidate {
        Candidate {
            id: Uuid::from_u128(n),
            load,
            capacity,
        }
    }

    #[test]
    fn breadth_first_spreads_and_depth_first_fills() {
        let hosts = [host(1, 2, 10), host(2, 1, 10), host(3, 5, 10)];
        assert_eq!(
            pick(&hosts, PoolStrategy::BreadthFirst, 0),
            Some(Uuid::from_u128(2))
        );
        assert_eq!(
            pick(&hosts, PoolStrategy::DepthFirst, 0),
            Some(Uuid::from_u128(3))
        );
        // Load is relative to capacity: 3 of 30 is lighter than 1 of 5.
        let mixed = [host(1, 1, 5), host(2, 3, 30)];
        assert_eq!(
            pick(&mixed, PoolStrategy::BreadthFirst, 0),
            Some(Uuid::from_u128(2))
        );
        assert_eq!(pick(&[], PoolStrategy::BreadthFirst, 0), None);
    }

    #[test]
    fn ties_are_broken_by_the_random_number() {
        let hosts = [host(1, 0, 4), host(2, 0, 4), host(3, 1, 4)];
        let chosen: std::collections::BTreeSet<_> = (0..4)
            .filter_map(|tie| pick(&hosts, PoolStrategy::BreadthFirst, tie))
            .collect();
        assert_eq!(
            chosen,
            [Uuid::from_u128(1), Uuid::from_u128(2)]
                .into_iter()
                .collect()
        );
    }

    proptest::proptest! {
        /// Whatever the loads, the choice has room and no other host beats it.
        #[test]
        fn the_choice_is_always_a_best_host(
            loads in proptest::collection::vec((0i64..50, 1i64..50), 1..12),
            depth in proptest::prelude::any::<bool>(),
            tie in proptest::prelude::any::<u32>(),
        ) {
            let hosts: Vec<_> = loads
                .iter()
                .enumerate()
                .map(|(i, &(load, capacity))| host(i as u128, load, capacity))
                .collect();
            let strategy = if depth { PoolStrategy::DepthFirst } else { PoolStrategy::BreadthFirst };
            let id = pick(&hosts, strategy, tie).expect("a choice");
            let chosen = hosts.iter().find(|h| h.id == id).expect("among the candidates");
            for other in &hosts {
                let order = other.cmp_load(chosen);
                let beaten = if depth { order.is_gt() } else { order.is_lt() };
                proptest::prop_assert!(!beaten, "{other:?} beats {chosen:?}");
            }
        }
    }
}
