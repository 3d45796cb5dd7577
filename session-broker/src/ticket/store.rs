//! The `launch_tickets` table: every issued ticket is recorded, and spending one is a
//! single conditional UPDATE, so of several gateways presenting the same ticket at once
//! exactly one sees a changed row.

use sqlx::AnyConnection;

use super::codec::{self, Claims, KeyId};
use super::keys::{Refusal, TicketVerifier};
use crate::db::row::{millis, now};
use crate::db::{Database, DbError};

/// How long after expiry a row is kept before [`prune_expired`] removes it: longer than any
/// clock-skew allowance, so a pruned ticket is always refused as expired first.
pub const PRUNE_GRACE_MS: i64 = 10 * 60_000;

/// Why [`consume`] did not hand out the claims.
#[derive(Debug, thiserror::Error)]
pub enum ConsumeError {
    /// The ticket is refused; `claims` are known when the signature verified (expired,
    /// not yet valid, replayed), for the audit event.
    #[error("{reason}")]
    Refused {
        reason: Refusal,
        claims: Option<Claims>,
    },
    #[error(transparent)]
    Database(#[from] DbError),
}

impl ConsumeError {
    /// The refusal, if the ticket (not the database) was at fault.
    pub fn refusal(&self) -> Option<Refusal> {
        match self {
            Self::Refused { reason, .. } => Some(*reason),
            Self::Database(_) => None,
        }
    }
}

/// Records an issued ticket (in the caller's transaction).
pub async fn record(conn: &mut AnyConnection, key_id: KeyId, c: &Claims) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO launch_tickets (id, key_id, tenant_id, user_id, session_id, host_id, \
         app_id, path, issued_at, expires_at, consumed_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL)",
    )
    .bind(c.ticket_id.to_string())
    .bind(key_id.to_string())
    .bind(c.tenant_id.to_string())
    .bind(c.user_id.to_string())
    .bind(c.session_id.to_string())
    .bind(c.host_id.to_string())
    .bind(c.app_id.to_string())
    .bind(c.path.as_str())
    .bind(c.issued_at_ms)
    .bind(c.expires_at_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// Verifies `ticket` and spends it, now. See [`consume_at`].
pub async fn consume(
    db: &Database,
    verifier: &TicketVerifier,
    ticket: &str,
) -> Result<Claims, ConsumeError> {
    let mut conn = db.acquire().await?;
    consume_at(&mut conn, verifier, ticket, millis(now())).await
}

/// Verifies `ticket` at `now_ms` (signature, key, lifetime with the verifier's clock-skew
/// allowance) and marks it consumed. Succeeds once per ticket: a second call, on any
/// node, is [`Refusal::Replayed`], as is a ticket no broker on this database recorded.
pub async fn consume_at(
    conn: &mut AnyConnection,
    verifier: &TicketVerifier,
    ticket: &str,
    now_ms: i64,
) -> Result<Claims, ConsumeError> {
    let claims = match verifier.verify(ticket, now_ms) {
        Ok(c) => c,
        Err(reason) => {
            // Lifetime refusals come after the signature verified, so the claims are
            // genuine and worth auditing.
            let claims = matches!(reason, Refusal::Expired | Refusal::NotYetValid)
                .then(|| codec::decode(ticket).ok().map(|p| p.claims))
                .flatten();
            return Err(ConsumeError::Refused { reason, claims });
        }
    };
    let r = sqlx::query(
        "UPDATE launch_tickets SET consumed_at = $1 WHERE id = $2 AND consumed_at IS NULL \
         AND expires_at > $3 AND session_id = $4 AND user_id = $5 AND host_id = $6",
    )
    .bind(now_ms)
    .bind(claims.ticket_id.to_string())
    .bind(now_ms.saturating_sub(verifier.clock_skew_ms()))
    .bind(claims.session_id.to_string())
    .bind(claims.user_id.to_string())
    .bind(claims.host_id.to_string())
    .execute(conn)
    .await
    .map_err(DbError::from)?;
    if r.rows_affected() == 1 {
        Ok(claims)
    } else {
        Err(ConsumeError::Refused {
            reason: Refusal::Replayed,
            claims: Some(claims),
        })
    }
}

/// Deletes tickets that expired more than [`PRUNE_GRACE_MS`] ago; returns how many.
/// Call it periodically (any node; it is idempotent).
pub async fn prune_expired(db: &Database) -> Result<u64, DbError> {
    let r = sqlx::query("DELETE FROM launch_tickets WHERE expires_at < $1")
        .bind(millis(now()).saturating_sub(PRUNE_GRACE_MS))
        .execute(db.pool())
        .await?;
    Ok(r.rows_affected())
}
