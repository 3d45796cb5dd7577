//! Fair use between tenants: one tenant's automated jobs must not crowd out the others.
//! A tenant may be limited in live sessions, sessions per user, launches per minute and
//! admin API requests per minute ([`crate::model::TenantLimits`]).
//!
//! Counting lives in the database, never in a node's memory, so every broker and gateway
//! on one PostgreSQL sees the same numbers. A tenant's live sessions and its launches per
//! minute (fixed windows aligned to the minute) are each spread over
//! [`load::SHARDS`] counter rows (migration 0020): the trigger on `sessions` raises one
//! shard of `tenant_usage_shards`, a launch one shard of `launch_counters`, so launches
//! of one tenant rarely wait for each other's row, which each holds to its commit.
//!
//! A launch reads the limits without a lock, checks the user's limit under the user's row
//! lock, and counts itself last ([`count_launch`]): its increments first, then the sums in
//! a statement of its own. Every other launch of the tenant holds at most one
//! uncommitted increment on each other shard, so a sum `S` seen after one's own
//! increment means at most `S + SHARDS - 1` can ever commit. Under
//! the limit by that slack the launch is safe without more locks; closer to the limit,
//! or over it by the sum alone, it is not sure and runs again in exact mode
//! ([`LaunchLimits::exact`]): every shard locked first ([`load::lock_fair_use`]), then the
//! sums are exact. A launch whose committed use is already that close starts in exact
//! mode. So two nodes cannot both take the tenant's last seat, and a refused launch rolls
//! its count back. On SQLite the write lock makes every sum exact.

use sqlx::AnyConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::DbError;
use crate::db::row::millis;
use crate::model::TenantLimits;
use crate::repo::load::{self, Counter};

/// Length of a counting window.
pub const WINDOW_MS: i64 = 60_000;

/// How long a user refused for a session limit is asked to wait: sessions end when people
/// log off, which the broker cannot foresee, so this is a polite pause, not a promise.
pub const SESSION_LIMIT_RETRY_AFTER_S: u32 = 60;

/// The window holding `now_ms`: its start, and whole seconds until it ends (at least 1).
pub fn window(now_ms: i64) -> (i64, u32) {
    let start = now_ms - now_ms.rem_euclid(WINDOW_MS);
    let left_ms = start + WINDOW_MS - now_ms;
    let secs = (left_ms + 999) / 1000;
    (start, u32::try_from(secs.max(1)).unwrap_or(60))
}

/// Why a launch is over a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Over {
    TenantSessions { limit: u32 },
    UserSessions { limit: u32 },
    LaunchRate { limit: u32, retry_after_s: u32 },
}

/// What a launch learns of fair use before placement, read without a lock in one round
/// trip: the limits and the use committed so far.
#[derive(Debug, Clone)]
pub struct LaunchLimits {
    pub limits: TenantLimits,
    /// The tenant's live sessions.
    pub sessions: u64,
    /// The tenant's launches this minute.
    pub launches: u64,
    retry_after_s: u32,
}

impl LaunchLimits {
    /// The limits and committed use (`sessions`, `launches`) for a launch at `now`.
    pub fn new(limits: TenantLimits, sessions: u64, launches: u64, now: OffsetDateTime) -> Self {
        Self {
            limits,
            sessions,
            launches,
            retry_after_s: window(millis(now)).1,
        }
    }

    /// An early refusal by the launch rate, which spares the placement work;
    /// [`count_launch`] decides for good.
    pub fn check_rate(&self) -> Result<(), Over> {
        match self.limits.launches_per_minute {
            Some(limit) if self.launches >= u64::from(limit) => Err(Over::LaunchRate {
                limit,
                retry_after_s: self.retry_after_s,
            }),
            _ => Ok(()),
        }
    }

    /// Whether the committed use is so close to a limit that a launch had better count in
    /// exact mode from the start rather than find out at its end and run again.
    pub fn exact(&self) -> bool {
        let near = |limit: Option<u32>, used: u64| {
            limit.is_some_and(|l| used + 2 * load::SHARDS > u64::from(l))
        };
        near(self.limits.max_sessions, self.sessions)
            || near(self.limits.launches_per_minute, self.launches)
    }
}

/// The tenant's limits and use for a launch at `now` ([`LaunchLimits`]).
pub async fn limits_for_launch(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
    now: OffsetDateTime,
) -> Result<LaunchLimits, DbError> {
    let (start, _) = window(millis(now));
    let (limits, _) = load::tenant_limits(conn, tenant_id, false).await?;
    let sessions = load::tenant_sessions(conn, tenant_id).await?;
    let launches = load::counted(conn, tenant_id, Counter::Launch, start).await?;
    Ok(LaunchLimits::new(limits, sessions, launches, now))
}

/// What [`count_launch`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// Within every limit: commit.
    Within,
    /// Over a limit: refuse (the transaction rolls the count back).
    Over(Over),
    /// Maybe over a limit, by the other launches' uncommitted counts: roll back and run
    /// the launch again in exact mode.
    NotSure,
}

/// The tenant's session limit against its live sessions before this launch's.
pub fn check_tenant_sessions(limits: &TenantLimits, sessions: u64) -> Result<(), Over> {
    match limits.max_sessions {
        Some(limit) if sessions >= u64::from(limit) => Err(Over::TenantSessions { limit }),
        _ => Ok(()),
    }
}

/// The user's session limit against the user's live sessions (counted with the user's
/// row locked) before a new one.
pub fn check_user_sessions(limits: &TenantLimits, user_live: u64) -> Result<(), Over> {
    match limits.max_sessions_per_user {
        Some(limit) if user_live >= u64::from(limit) => Err(Over::UserSessions { limit }),
        _ => Ok(()),
    }
}

/// Counts a launch in the current minute and, for a launch whose new session row is
/// already stored, checks the tenant's session limit with that session counted. Call
/// last inside the launch's transaction: a refusal or failure rolls the count (and the
/// session) back with everything else. `exact`: the shards were locked first
/// ([`load::lock_fair_use`], or SQLite's write lock), so the sums are exact; otherwise
/// a sum within [`load::SHARDS`] − 1 of a limit is [`Counted::NotSure`].
pub async fn count_launch(
    conn: &mut AnyConnection,
    limits: &TenantLimits,
    now: OffsetDateTime,
    new_session: bool,
    exact: bool,
) -> Result<Counted, DbError> {
    let (start, retry_after_s) = window(millis(now));
    let (n, sessions) = load::count_launch(conn, limits.tenant_id, start).await?;
    let slack = if exact { 0 } else { load::SHARDS - 1 };
    if let Some(limit) = limits.launches_per_minute {
        // `n` counts this launch and committed ones: over it is over for sure.
        if n > u64::from(limit) {
            return Ok(Counted::Over(Over::LaunchRate {
                limit,
                retry_after_s,
            }));
        }
        if n + slack > u64::from(limit) {
            return Ok(Counted::NotSure);
        }
    }
    if new_session && let Some(limit) = limits.max_sessions {
        // `sessions` includes this launch's own.
        if sessions > u64::from(limit) {
            return Ok(Counted::Over(Over::TenantSessions { limit }));
        }
        if sessions + slack > u64::from(limit) {
            return Ok(Counted::NotSure);
        }
    }
    Ok(Counted::Within)
}

/// What the API's rate check decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiRate {
    Allowed,
    /// Over the limit; `first` is true for the first refusal of the window (audited once,
    /// so a client hammering away cannot flood the audit log).
    Over {
        limit: u32,
        retry_after_s: u32,
        first: bool,
    },
}

/// Counts an admin API request of a tenant-scoped client.
pub async fn count_api_request(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
    now: OffsetDateTime,
) -> Result<ApiRate, DbError> {
    let (start, retry_after_s) = window(millis(now));
    let (limits, _) = load::tenant_limits(conn, tenant_id, false).await?;
    let n = load::bump(conn, tenant_id, Counter::Api, start).await?;
    Ok(match limits.api_requests_per_minute {
        Some(limit) if n > u64::from(limit) => ApiRate::Over {
            limit,
            retry_after_s,
            first: n == u64::from(limit) + 1,
        },
        _ => ApiRate::Allowed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_align_to_the_minute_and_say_how_long_is_left() {
        assert_eq!(window(120_000), (120_000, 60));
        assert_eq!(window(120_001), (120_000, 60));
        assert_eq!(window(179_000), (120_000, 1));
        assert_eq!(window(179_999), (120_000, 1));
        assert_eq!(window(150_500), (120_000, 30));
        assert_eq!(window(-1), (-60_000, 1));
    }

    proptest::proptest! {
        #[test]
        fn every_instant_is_in_its_window(now in -10_000_000_000i64..10_000_000_000i64) {
            let (start, left) = window(now);
            proptest::prop_assert!(start <= now && now < start + WINDOW_MS);
            proptest::prop_assert_eq!(start % WINDOW_MS, 0);
            proptest::prop_assert!((1..=60).contains(&left));
            proptest::prop_assert!(i64::from(left) * 1000 >= start + WINDOW_MS - now);
        }
    }
}
