//! The `print_tokens` table: printer tokens by their SHA-256. The API callers use is
//! [`crate::print::tokens`]; this module is only its SQL.

use sqlx::AnyConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::DbError;
use crate::db::row::{get_opt_time, get_string, get_uuid, millis};
use crate::model::SessionState;

/// A token row joined with what decides whether it still works.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    pub id: Uuid,
    pub session_id: Uuid,
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    /// The user's `name_id`.
    pub username: String,
    pub session_state: SessionState,
    pub session_ended_at: Option<OffsetDateTime>,
}

pub async fn insert(
    conn: &mut AnyConnection,
    token_hash: &str,
    session_id: Uuid,
    tenant_id: Uuid,
    user_id: Uuid,
    now: OffsetDateTime,
) -> Result<Uuid, DbError> {
    let id = super::new_id();
    sqlx::query(
        "INSERT INTO print_tokens (id, token_hash, session_id, tenant_id, user_id, jobs, \
         created_at) VALUES ($1, $2, $3, $4, $5, 0, $6)",
    )
    .bind(id.to_string())
    .bind(token_hash)
    .bind(session_id.to_string())
    .bind(tenant_id.to_string())
    .bind(user_id.to_string())
    .bind(millis(now))
    .execute(conn)
    .await?;
    Ok(id)
}

/// The token whose hash is `token_hash`, with its session's state and its user's name.
pub async fn by_hash(
    conn: &mut AnyConnection,
    token_hash: &str,
) -> Result<Option<TokenRow>, DbError> {
    let row = sqlx::query(
        "SELECT t.id, t.session_id, t.tenant_id, t.user_id, u.name_id, s.state, s.ended_at \
         FROM print_tokens t JOIN sessions s ON s.id = t.session_id \
         JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(conn)
    .await?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some(TokenRow {
        id: get_uuid(&r, "id")?,
        session_id: get_uuid(&r, "session_id")?,
        tenant_id: get_uuid(&r, "tenant_id")?,
        user_id: get_uuid(&r, "user_id")?,
        username: get_string(&r, "name_id")?,
        session_state: crate::db::row::get_enum(&r, "state")?,
        session_ended_at: get_opt_time(&r, "ended_at")?,
    }))
}

/// Deletes the tokens that can never work again and that no job names: their session
/// ended before `ended_before` (the caller passes now minus the grace period). A token
/// some job arrived through stays with that job's row, for the audit trail.
pub async fn prune_dead(
    conn: &mut AnyConnection,
    ended_before: OffsetDateTime,
) -> Result<u64, DbError> {
    let done = sqlx::query(
        "DELETE FROM print_tokens WHERE session_id IN \
         (SELECT id FROM sessions WHERE state = 'ended' AND ended_at < $1) \
         AND NOT EXISTS (SELECT 1 FROM print_jobs j WHERE j.token_id = print_tokens.id)",
    )
    .bind(millis(ended_before))
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}
