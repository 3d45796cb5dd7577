//! Native-path references: the short PAA cookie a native RDP client carries to the RD
//! Gateway (`gatewayaccesstoken` in an `.rdp` file, `xfreerdp /gat:`). A signed ticket is
//! 243 characters, more than some clients pass on; a reference is 24 characters of
//! base64url (144 random bits) that point at the same `launch_tickets` row. The database
//! keeps only its SHA-256, and spending it is one conditional UPDATE, as for a ticket.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::{SecureRandom, SystemRandom};
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use super::codec::{Claims, LaunchPath, Malformed};
use super::keys::{KeyError, Refusal};
use super::store::ConsumeError;
use crate::db::DbError;
use crate::web_session::hex_sha256;

/// Random bytes in a reference.
const REFERENCE_BYTES: usize = 18;
/// Characters of a reference (base64url without padding of [`REFERENCE_BYTES`]).
pub const REFERENCE_LEN: usize = 24;

/// A fresh reference: the text for the client and the hash for the database.
pub fn generate() -> Result<(String, String), KeyError> {
    let mut raw = [0u8; REFERENCE_BYTES];
    SystemRandom::new()
        .fill(&mut raw)
        .map_err(|_| KeyError::Random)?;
    let text = URL_SAFE_NO_PAD.encode(raw);
    let hash = hex_sha256(&text);
    Ok((text, hash))
}

/// Whether `text` has the shape of a reference (checked before any database work).
pub fn is_well_formed(text: &str) -> bool {
    text.len() == REFERENCE_LEN
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Stores the hash of the reference issued with ticket `ticket_id` (the caller's
/// transaction, right after [`super::record`]).
pub async fn record(conn: &mut AnyConnection, ticket_id: Uuid, hash: &str) -> Result<(), DbError> {
    sqlx::query("UPDATE launch_tickets SET reference_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(ticket_id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// Spends `reference` at `now_ms`, allowing `skew_ms` past its expiry as tickets do, and
/// returns the claims of its ticket. A second call, on any node, is
/// [`Refusal::Replayed`]; so is a reference no broker on this database issued. A
/// reference of the wrong shape is [`Refusal::Malformed`] without touching the database.
pub async fn consume_at(
    conn: &mut AnyConnection,
    reference: &str,
    skew_ms: i64,
    now_ms: i64,
) -> Result<Claims, ConsumeError> {
    if !is_well_formed(reference) {
        return Err(ConsumeError::Refused {
            reason: Refusal::Malformed(Malformed::NotAReference),
            claims: None,
        });
    }
    let hash = hex_sha256(reference);
    let changed = sqlx::query(
        "UPDATE launch_tickets SET consumed_at = $1 WHERE reference_hash = $2 \
         AND consumed_at IS NULL AND expires_at > $3 AND issued_at <= $4 AND path = 'native'",
    )
    .bind(now_ms)
    .bind(&hash)
    .bind(now_ms.saturating_sub(skew_ms))
    .bind(now_ms.saturating_add(skew_ms))
    .execute(&mut *conn)
    .await
    .map_err(DbError::from)?
    .rows_affected();
    let row = sqlx::query(
        "SELECT id, tenant_id, user_id, session_id, host_id, app_id, path, issued_at, \
         expires_at FROM launch_tickets WHERE reference_hash = $1",
    )
    .bind(&hash)
    .fetch_optional(&mut *conn)
    .await
    .map_err(DbError::from)?;
    let Some(row) = row else {
        return Err(ConsumeError::Refused {
            reason: Refusal::Replayed,
            claims: None,
        });
    };
    let claims = claims_of(&row)?;
    if changed == 1 {
        return Ok(claims);
    }
    let reason = if claims.expires_at_ms <= now_ms.saturating_sub(skew_ms) {
        Refusal::Expired
    } else if claims.issued_at_ms > now_ms.saturating_add(skew_ms) {
        Refusal::NotYetValid
    } else {
        Refusal::Replayed
    };
    Err(ConsumeError::Refused {
        reason,
        claims: Some(claims),
    })
}

fn claims_of(row: &sqlx::any::AnyRow) -> Result<Claims, DbError> {
    let id = |name: &str| -> Result<Uuid, DbError> {
        let text: String = row.try_get(name)?;
        Uuid::parse_str(&text).map_err(|e| DbError::Corrupt(format!("launch_tickets.{name}: {e}")))
    };
    let path: String = row.try_get("path")?;
    Ok(Claims {
        ticket_id: id("id")?,
        tenant_id: id("tenant_id")?,
        user_id: id("user_id")?,
        session_id: id("session_id")?,
        host_id: id("host_id")?,
        app_id: id("app_id")?,
        path: path
            .parse::<LaunchPath>()
            .map_err(|_| DbError::Corrupt(format!("launch_tickets.path: {path}")))?,
        issued_at_ms: row.try_get("issued_at")?,
        expires_at_ms: row.try_get("expires_at")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_references_are_well_formed_and_distinct() {
        let (a, ha) = generate().unwrap();
        let (b, _) = generate().unwrap();
        assert_eq!(a.len(), REFERENCE_LEN);
        assert!(is_well_formed(&a));
        assert_ne!(a, b);
        assert_eq!(ha, hex_sha256(&a));
    }

    #[test]
    fn malformed_references_are_refused_by_shape() {
        for bad in [
            "",
            "short",
            "AAAAAAAAAAAAAAAAAAAAAAA",      // 23
            "AAAAAAAAAAAAAAAAAAAAAAAAA",    // 25
            "AAAAAAAAAAAAAAAAAAAAAA+/",     // standard alphabet
            "AAAAAAAAAAAAAAAAAAAAAA\u{e5}", // non-ASCII
            "AAAAAAAAAAAAAAAAAAAAAA==",
        ] {
            assert!(!is_well_formed(bad), "{bad:?}");
        }
    }
}
