//! The `login_throttle` table: failed logins per key and the time until which the key is
//! refused. Rows are shared by every gateway node, so the backoff holds across them.

use sqlx::AnyConnection;
use time::OffsetDateTime;

use crate::db::DbError;
use crate::db::row::{from_millis, get_i64, millis};

/// A key's failures and block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleRow {
    pub failures: u32,
    pub last_failure_at: OffsetDateTime,
    pub blocked_until: OffsetDateTime,
}

fn time_of(ms: i64) -> Result<OffsetDateTime, DbError> {
    from_millis(ms).map_err(|e| DbError::Corrupt(format!("login_throttle time: {e}")))
}

pub async fn get(conn: &mut AnyConnection, key: &str) -> Result<Option<ThrottleRow>, DbError> {
    let row = sqlx::query(
        "SELECT failures, last_failure_at, blocked_until FROM login_throttle \
         WHERE throttle_key = $1",
    )
    .bind(key)
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Ok(ThrottleRow {
            failures: u32::try_from(get_i64(&r, "failures")?.max(0)).unwrap_or(u32::MAX),
            last_failure_at: time_of(get_i64(&r, "last_failure_at")?)?,
            blocked_until: time_of(get_i64(&r, "blocked_until")?)?,
        })
    })
    .transpose()
}

/// Counts one failure at `at` in one statement (so concurrent nodes never lose a count);
/// a key whose last failure is before `forget_before` starts again at 1. Returns the new
/// count.
pub async fn add_failure(
    conn: &mut AnyConnection,
    key: &str,
    at: OffsetDateTime,
    forget_before: OffsetDateTime,
) -> Result<u32, DbError> {
    let failures: i64 = sqlx::query_scalar(
        "INSERT INTO login_throttle (throttle_key, failures, last_failure_at, blocked_until) \
         VALUES ($1, 1, $2, 0) ON CONFLICT (throttle_key) DO UPDATE SET \
         failures = CASE WHEN login_throttle.last_failure_at < $3 THEN 1 \
         ELSE login_throttle.failures + 1 END, last_failure_at = $2 \
         RETURNING failures",
    )
    .bind(key)
    .bind(millis(at))
    .bind(millis(forget_before))
    .fetch_one(conn)
    .await?;
    Ok(u32::try_from(failures.max(0)).unwrap_or(u32::MAX))
}

/// Refuses the key until `until` (never shortening a longer block).
pub async fn block_until(
    conn: &mut AnyConnection,
    key: &str,
    until: OffsetDateTime,
) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE login_throttle SET blocked_until = CASE WHEN blocked_until > $1 \
         THEN blocked_until ELSE $1 END WHERE throttle_key = $2",
    )
    .bind(millis(until))
    .bind(key)
    .execute(conn)
    .await?;
    Ok(())
}

/// Forgets a key (a successful login clears its account's failures).
pub async fn clear(conn: &mut AnyConnection, key: &str) -> Result<(), DbError> {
    sqlx::query("DELETE FROM login_throttle WHERE throttle_key = $1")
        .bind(key)
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes keys without a failure since `before` and not blocked any more; returns how many.
pub async fn prune(conn: &mut AnyConnection, before: OffsetDateTime) -> Result<u64, DbError> {
    let r =
        sqlx::query("DELETE FROM login_throttle WHERE last_failure_at < $1 AND blocked_until < $1")
            .bind(millis(before))
            .execute(conn)
            .await?;
    Ok(r.rows_affected())
}
