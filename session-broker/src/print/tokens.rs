//! Printer tokens: the secret path segment of a session's IPP printer URI
//! (`ipps://{print host}/ipp/print/{token}`). A token is 256 random bits in base64url; the
//! database keeps only its SHA-256, bound to the session's tenant and user, so whoever
//! holds the URI prints as that user and nobody can choose whom by `requesting-user-name`.
//! A token works while its session lives and for [`GRACE_AFTER_END`] after it ended, so
//! jobs a host spools at logoff still arrive.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::{SecureRandom, SystemRandom};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::DbError;
use crate::db::row::now as db_now;
use crate::model::SessionState;
use crate::repo;
use crate::repo::AnyConnection;
use crate::web_session::hex_sha256;

/// Random bytes in a token.
pub const TOKEN_BYTES: usize = 32;
/// Characters of a token in its base64url form.
pub const TOKEN_CHARS: usize = 43;
/// How long a token outlives its session.
pub const GRACE_AFTER_END: Duration = Duration::from_secs(10 * 60);

/// A session's printer token. `Debug` never prints it; neither should anyone log it.
#[derive(Clone, PartialEq, Eq)]
pub struct PrinterToken(String);

impl std::fmt::Debug for PrinterToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrinterToken([redacted])")
    }
}

impl PrinterToken {
    /// The token text for the printer URI's path.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whose jobs a token's printer receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintOwner {
    pub session_id: Uuid,
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    /// The user's name (`users.name_id`).
    pub username: String,
}

/// A token that works, with the row id its jobs are counted under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedToken {
    /// `print_tokens.id`: names the printer without its secret.
    pub token_id: Uuid,
    pub owner: PrintOwner,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("session {0} does not exist")]
    UnknownSession(Uuid),
    #[error("session {0} has ended")]
    SessionEnded(Uuid),
    #[error("no randomness for a printer token")]
    Random,
    #[error(transparent)]
    Database(#[from] DbError),
}

/// Issues a new printer token for live session `session_id`.
pub async fn issue(conn: &mut AnyConnection, session_id: Uuid) -> Result<PrinterToken, TokenError> {
    issue_at(conn, session_id, db_now()).await
}

/// [`issue`] at a given time.
pub async fn issue_at(
    conn: &mut AnyConnection,
    session_id: Uuid,
    now: OffsetDateTime,
) -> Result<PrinterToken, TokenError> {
    let session = repo::sessions::get(conn, session_id)
        .await?
        .ok_or(TokenError::UnknownSession(session_id))?;
    if session.state == SessionState::Ended {
        return Err(TokenError::SessionEnded(session_id));
    }
    let mut bytes = [0u8; TOKEN_BYTES];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| TokenError::Random)?;
    let token = PrinterToken(URL_SAFE_NO_PAD.encode(bytes));
    repo::print_tokens::insert(
        conn,
        &hex_sha256(&token.0),
        session_id,
        session.tenant_id,
        session.user_id,
        now,
    )
    .await?;
    Ok(token)
}

/// Who prints through `token`, or `None` when it is malformed, unknown, or its session
/// ended more than [`GRACE_AFTER_END`] ago (the caller cannot tell which).
pub async fn resolve(conn: &mut AnyConnection, token: &str) -> Result<Option<PrintOwner>, DbError> {
    Ok(resolve_at(conn, token, db_now()).await?.map(|r| r.owner))
}

/// [`resolve`] at `now`, with the token's row id.
pub async fn resolve_at(
    conn: &mut AnyConnection,
    token: &str,
    now: OffsetDateTime,
) -> Result<Option<ResolvedToken>, DbError> {
    if !well_formed(token) {
        return Ok(None);
    }
    let Some(row) = repo::print_tokens::by_hash(conn, &hex_sha256(token)).await? else {
        return Ok(None);
    };
    let alive = match (row.session_state, row.session_ended_at) {
        (SessionState::Ended, Some(ended)) => now < ended + GRACE_AFTER_END,
        (SessionState::Ended, None) => false,
        _ => true,
    };
    Ok(alive.then_some(ResolvedToken {
        token_id: row.id,
        owner: PrintOwner {
            session_id: row.session_id,
            tenant_id: row.tenant_id,
            user_id: row.user_id,
            username: row.username,
        },
    }))
}

/// The exact shape of a token, so arbitrary path text never reaches the database.
pub fn well_formed(token: &str) -> bool {
    token.len() == TOKEN_CHARS
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_token_shape_is_looked_up() {
        assert!(well_formed(&"A".repeat(TOKEN_CHARS)));
        assert!(!well_formed(&"A".repeat(TOKEN_CHARS - 1)));
        assert!(!well_formed(&"A".repeat(TOKEN_CHARS + 1)));
        assert!(!well_formed(&format!("{}=", "A".repeat(TOKEN_CHARS - 1))));
        assert!(!well_formed(&format!("{}/", "A".repeat(TOKEN_CHARS - 1))));
    }

    #[test]
    fn debug_hides_the_token() {
        let t = PrinterToken("secret".into());
        assert_eq!(format!("{t:?}"), "PrinterToken([redacted])");
    }
}
