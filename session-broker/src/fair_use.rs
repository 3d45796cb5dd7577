//! Fair use between tenants: one tenant's automated jobs must not crowd out the others.
//! A tenant may be limited in live sessions, sessions per user, launches per minute and
//! admin API requests per minute ([`crate::model::TenantLimits`]).
//!
//! Counting lives in the database, never in a node's memory, so every broker and gateway
//! on one PostgreSQL sees the same numbers: per-minute counts are one atomic upsert on a
//! `rate_counters` row (fixed windows aligned to the minute), and a launch that checks a
//! session limit first locks the tenant's `tenant_limits` row, so two nodes cannot both
//! take the last seat. A refused launch rolls its count back.

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

/// The tenant's limits, locked for the transaction when it has any, so launches of one
/// tenant are counted one at a time across nodes.
pub async fn limits_for_launch(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
) -> Result<TenantLimits, DbError> {
    Ok(load::tenant_limits(conn, tenant_id, true).await?.0)
}

/// Counts a launch in the current minute, refusing it when that passes the tenant's
/// launches per minute. Call inside the launch's transaction: a later refusal or failure
/// rolls the count back with everything else.
pub async fn count_launch(
    conn: &mut AnyConnection,
    limits: &TenantLimits,
    now: OffsetDateTime,
) -> Result<Result<(), Over>, DbError> {
    let (start, retry_after_s) = window(millis(now));
    let n = load::bump(conn, limits.tenant_id, Counter::Launch, start).await?;
    Ok(match limits.launches_per_minute {
        Some(limit) if n > u64::from(limit) => Err(Over::LaunchRate {
            limit,
            retry_after_s,
        }),
        _ => Ok(()),
    })
}

/// Checks the session limits before a new session of `user_id` is recorded.
pub async fn check_new_session(
    conn: &mut AnyConnection,
    limits: &TenantLimits,
    user_id: Uuid,
) -> Result<Result<(), Over>, DbError> {
    if let Some(limit) = limits.max_sessions
        && load::tenant_sessions(conn, limits.tenant_id).await? >= u64::from(limit)
    {
        return Ok(Err(Over::TenantSessions { limit }));
    }
    if let Some(limit) = limits.max_sessions_per_user
        && load::user_sessions(conn, user_id).await? >= u64::from(limit)
    {
        return Ok(Err(Over::UserSessions { limit }));
    }
    Ok(Ok(()))
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
