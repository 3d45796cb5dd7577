//! The `web_sessions` table. Rows are found by the hash of the cookie token; expired rows
//! are never returned and are pruned.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::DbError;
use crate::db::row::{
    get_enum, get_opt_i64, get_opt_string, get_string, get_time, get_uuid, millis,
};
use crate::model::{NewWebSession, WebSession};

const SELECT: &str = "SELECT id, tenant_id, user_id, method, loa, source_address, \
                      created_at, last_seen_at, idle_expires_at, expires_at, csrf_hash \
                      FROM web_sessions";

fn from_row(r: &AnyRow) -> Result<WebSession, DbError> {
    Ok(WebSession {
        id: get_uuid(r, "id")?,
        tenant_id: get_uuid(r, "tenant_id")?,
        user_id: get_uuid(r, "user_id")?,
        method: get_enum(r, "method")?,
        loa: get_opt_i64(r, "loa")?
            .map(u8::try_from)
            .transpose()
            .map_err(|e| DbError::Corrupt(format!("column loa: {e}")))?,
        source_address: get_opt_string(r, "source_address")?,
        created_at: get_time(r, "created_at")?,
        last_seen_at: get_time(r, "last_seen_at")?,
        idle_expires_at: get_time(r, "idle_expires_at")?,
        expires_at: get_time(r, "expires_at")?,
        csrf_hash: get_string(r, "csrf_hash")?,
    })
}

pub async fn insert(conn: &mut AnyConnection, new: &NewWebSession) -> Result<WebSession, DbError> {
    let now = new.created_at;
    let s = WebSession {
        id: super::new_id(),
        tenant_id: new.tenant_id,
        user_id: new.user_id,
        method: new.method,
        loa: new.loa,
        source_address: new.source_address.clone(),
        created_at: now,
        last_seen_at: now,
        idle_expires_at: new.idle_expires_at.min(new.expires_at),
        expires_at: new.expires_at,
        csrf_hash: new.csrf_hash.clone(),
    };
    sqlx::query(
        "INSERT INTO web_sessions (id, token_hash, tenant_id, user_id, method, source_address, \
         created_at, last_seen_at, idle_expires_at, expires_at, loa, csrf_hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(s.id.to_string())
    .bind(new.token_hash.as_str())
    .bind(s.tenant_id.to_string())
    .bind(s.user_id.to_string())
    .bind(s.method.as_str())
    .bind(s.source_address.clone())
    .bind(millis(s.created_at))
    .bind(millis(s.last_seen_at))
    .bind(millis(s.idle_expires_at))
    .bind(millis(s.expires_at))
    .bind(s.loa.map(i64::from))
    .bind(s.csrf_hash.as_str())
    .execute(conn)
    .await?;
    Ok(s)
}

/// The session whose token hashes to `token_hash`, if it is still live at `at`.
pub async fn find_live(
    conn: &mut AnyConnection,
    token_hash: &str,
    at: OffsetDateTime,
) -> Result<Option<WebSession>, DbError> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "{SELECT} WHERE token_hash = $1 AND idle_expires_at > $2 AND expires_at > $2"
    )))
    .bind(token_hash)
    .bind(millis(at))
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Records use at `at` and moves the idle expiry to `idle_expires_at` (capped at the
/// absolute expiry).
pub async fn touch(
    conn: &mut AnyConnection,
    id: Uuid,
    at: OffsetDateTime,
    idle_expires_at: OffsetDateTime,
) -> Result<bool, DbError> {
    let r = sqlx::query(
        "UPDATE web_sessions SET last_seen_at = $1, idle_expires_at = \
         CASE WHEN $2 < expires_at THEN $2 ELSE expires_at END WHERE id = $3",
    )
    .bind(millis(at))
    .bind(millis(idle_expires_at))
    .bind(id.to_string())
    .execute(conn)
    .await?;
    Ok(r.rows_affected() > 0)
}

/// Ends the session whose token hashes to `token_hash`; returns it when there was one.
pub async fn delete_by_hash(
    conn: &mut AnyConnection,
    token_hash: &str,
) -> Result<Option<WebSession>, DbError> {
    let row = sqlx::query(AssertSqlSafe(format!("{SELECT} WHERE token_hash = $1")))
        .bind(token_hash)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(session) = row.as_ref().map(from_row).transpose()? else {
        return Ok(None);
    };
    sqlx::query("DELETE FROM web_sessions WHERE id = $1")
        .bind(session.id.to_string())
        .execute(conn)
        .await?;
    Ok(Some(session))
}

/// Deletes every session expired at `at`; returns how many.
pub async fn prune_expired(conn: &mut AnyConnection, at: OffsetDateTime) -> Result<u64, DbError> {
    let r = sqlx::query("DELETE FROM web_sessions WHERE idle_expires_at <= $1 OR expires_at <= $1")
        .bind(millis(at))
        .execute(conn)
        .await?;
    Ok(r.rows_affected())
}

/// Records use at `at` and sets both expiries (the absolute one only ever moves earlier:
/// a tenant that shortens its lifetimes shortens live sessions too).
pub async fn extend(
    conn: &mut AnyConnection,
    id: Uuid,
    at: OffsetDateTime,
    idle_expires_at: OffsetDateTime,
    expires_at: OffsetDateTime,
) -> Result<bool, DbError> {
    let r = sqlx::query(
        "UPDATE web_sessions SET last_seen_at = $1, \
         expires_at = CASE WHEN $3 < expires_at THEN $3 ELSE expires_at END, \
         idle_expires_at = CASE WHEN $2 < $3 THEN $2 ELSE $3 END WHERE id = $4",
    )
    .bind(millis(at))
    .bind(millis(idle_expires_at))
    .bind(millis(expires_at))
    .bind(id.to_string())
    .execute(conn)
    .await?;
    Ok(r.rows_affected() > 0)
}

/// Ends one session by id.
pub async fn delete(conn: &mut AnyConnection, id: Uuid) -> Result<bool, DbError> {
    let r = sqlx::query("DELETE FROM web_sessions WHERE id = $1")
        .bind(id.to_string())
        .execute(conn)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// Ends every session of a user; returns how many.
pub async fn delete_for_user(conn: &mut AnyConnection, user_id: Uuid) -> Result<u64, DbError> {
    let r = sqlx::query("DELETE FROM web_sessions WHERE user_id = $1")
        .bind(user_id.to_string())
        .execute(conn)
        .await?;
    Ok(r.rows_affected())
}
