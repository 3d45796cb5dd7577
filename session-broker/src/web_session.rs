//! Web sessions of the portal: what a login (demo, SITHS card or SAML) leaves behind, so
//! any gateway node recognises the browser. The browser holds a
//! random 256-bit token; the database holds only its SHA-256 ([`SessionToken::hash`]).
//! A login writes the session, the user's `last_login_at` and its `user.login` audit event
//! in one transaction; refusals and logouts are audited too. Every login makes a new token,
//! so a token planted in a browser before login never becomes a logged-in one (no session
//! fixation).
//!
//! Lifetimes are per tenant (`tenant_web_session_settings`, else the gateway's
//! [`WebSessionPolicy`]); a tenant that shortens them shortens live sessions at their next
//! use. Each session has a CSRF token derived from its cookie token ([`csrf_token`]), of
//! which the row keeps only the hash: the portal reads it from `/portal/api/me` and sends
//! it back in `X-CSRF-Token` on every state-changing request.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::digest::{SHA256, digest};
use ring::rand::{SecureRandom, SystemRandom};
use time::OffsetDateTime;

use crate::db::row::now;
use crate::db::{Database, DbError};
use crate::model::{
    ActorKind, AuditOutcome, LoginMethod, NewAuditEvent, NewWebSession, User, WebSession,
};
use crate::repo;

/// Random bytes in a token.
pub const TOKEN_BYTES: usize = 32;
/// Characters of a token in its base64url form.
pub const TOKEN_CHARS: usize = 43;

/// The secret a browser presents. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(String);

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken([redacted])")
    }
}

impl SessionToken {
    /// A fresh random token.
    pub fn generate() -> Result<Self, WebSessionError> {
        let mut bytes = [0u8; TOKEN_BYTES];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| WebSessionError::Random)?;
        Ok(Self(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// A token as a browser sent it; `None` unless it has the exact shape of one, so
    /// arbitrary cookie text never reaches the database.
    pub fn parse(text: &str) -> Option<Self> {
        let well_formed = text.len() == TOKEN_CHARS
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        well_formed.then(|| Self(text.to_owned()))
    }

    /// The text for the cookie.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What the database stores: lower-case hex SHA-256 of the token text.
    pub fn hash(&self) -> String {
        hex_sha256(&self.0)
    }
}

/// How long a web session lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebSessionPolicy {
    /// Ends a session not used for this long.
    pub idle: Duration,
    /// Ends any session this long after login.
    pub max: Duration,
}

impl Default for WebSessionPolicy {
    fn default() -> Self {
        Self {
            idle: Duration::from_secs(30 * 60),
            max: Duration::from_secs(10 * 60 * 60),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WebSessionError {
    #[error(transparent)]
    Database(#[from] DbError),
    #[error("no randomness for a session token")]
    Random,
}

fn after(at: OffsetDateTime, d: Duration) -> OffsetDateTime {
    at.checked_add(time::Duration::try_from(d).unwrap_or(time::Duration::DAY))
        .unwrap_or(at)
}

/// Lower-case hex SHA-256 of `text`: how tokens and other secrets are kept at rest.
pub(crate) fn hex_sha256(text: &str) -> String {
    digest(&SHA256, text.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The CSRF token of the session behind `token`: base64url SHA-256 of a label and the
/// cookie token. Only a page that can ask `/portal/api/me` with the (HttpOnly) cookie
/// learns it; a cross-site page can neither read the cookie nor the answer.
pub fn csrf_token(token: &SessionToken) -> String {
    let d = digest(
        &SHA256,
        format!("hamn-csrf-v1:{}", token.expose()).as_bytes(),
    );
    URL_SAFE_NO_PAD.encode(d.as_ref())
}

/// Whether `sent` (an `X-CSRF-Token` header) is the CSRF token of `session`.
pub fn csrf_matches(session: &WebSession, sent: &str) -> bool {
    // Compared as hashes of what was sent, so the comparison learns nothing usable.
    !session.csrf_hash.is_empty() && sent.len() <= 128 && hex_sha256(sent) == session.csrf_hash
}

/// The lifetimes of `tenant_id`'s web sessions: its own settings, else `default`.
pub async fn policy_for(
    conn: &mut sqlx::AnyConnection,
    tenant_id: uuid::Uuid,
    default: WebSessionPolicy,
) -> Result<WebSessionPolicy, DbError> {
    Ok(
        match repo::access::web_session_settings(conn, tenant_id).await? {
            Some((idle, max)) => WebSessionPolicy {
                idle: Duration::from_secs(idle),
                max: Duration::from_secs(max),
            },
            None => default,
        },
    )
}

/// Starts a web session for `user` and audits `user.login` with `method` and the source
/// address, in one transaction. Returns the token for the browser. `policy` is the
/// default lifetime; the user's tenant may have its own.
pub async fn login(
    db: &Database,
    policy: WebSessionPolicy,
    user: &User,
    method: LoginMethod,
    source_address: Option<&str>,
) -> Result<(SessionToken, WebSession), WebSessionError> {
    login_at(db, policy, user, method, None, source_address, now()).await
}

/// [`login`] at a given time (a [`crate::clock::Clock`]'s), recording the level of
/// assurance `loa` (1 to 4) the login established, if known; the audit detail names it.
pub async fn login_at(
    db: &Database,
    default: WebSessionPolicy,
    user: &User,
    method: LoginMethod,
    loa: Option<u8>,
    source_address: Option<&str>,
    at: OffsetDateTime,
) -> Result<(SessionToken, WebSession), WebSessionError> {
    let token = SessionToken::generate()?;
    let mut tx = db.begin().await?;
    // Logins are rare enough to carry the clean-up of expired sessions.
    repo::web_sessions::prune_expired(&mut tx, at).await?;
    let policy = policy_for(&mut tx, user.tenant_id, default).await?;
    let session = repo::web_sessions::insert(
        &mut tx,
        &NewWebSession {
            token_hash: token.hash(),
            tenant_id: user.tenant_id,
            user_id: user.id,
            method,
            loa,
            source_address: source_address.map(str::to_owned),
            idle_expires_at: after(at, policy.idle),
            expires_at: after(at, policy.max),
            csrf_hash: hex_sha256(&csrf_token(&token)),
            created_at: at,
        },
    )
    .await?;
    repo::users::touch_login(&mut tx, user.id, at).await?;
    let mut event = user_event(user, "user.login", method, source_address, None);
    if let (Some(loa), Some(detail)) = (loa, event.detail.as_mut()) {
        detail.push_str(&format!("; loa{loa}"));
    }
    repo::audit::insert(&mut tx, &event).await?;
    tx.commit().await.map_err(DbError::from)?;
    crate::metrics::LOGINS.inc(&[method.as_str(), "success"]);
    Ok((token, session))
}

/// Audits a refused login: `attempted` is the name the browser gave (cut to 200
/// characters), `user` the matching user when there was one, `reason` a stable word.
pub async fn audit_login_refused(
    db: &Database,
    attempted: &str,
    user: Option<&User>,
    method: LoginMethod,
    source_address: Option<&str>,
    reason: &str,
) -> Result<(), DbError> {
    let event = match user {
        Some(u) => user_event(u, "user.login", method, source_address, Some(reason)),
        None => NewAuditEvent {
            tenant_id: None,
            actor_kind: ActorKind::Anonymous,
            actor_id: None,
            actor_name: attempted.chars().take(200).collect(),
            action: "user.login".into(),
            target_type: None,
            target_id: None,
            outcome: AuditOutcome::Refused,
            source_address: source_address.map(str::to_owned),
            before: None,
            after: None,
            detail: Some(format!("method {method}; refused: {reason}")),
        },
    };
    // Counted before the audit write: the refusal happened even if the audit fails.
    crate::metrics::LOGINS.inc(&[method.as_str(), "refused"]);
    let mut conn = db.acquire().await?;
    repo::audit::insert(&mut conn, &event).await.map(drop)
}

fn user_event(
    user: &User,
    action: &str,
    method: LoginMethod,
    source_address: Option<&str>,
    refused: Option<&str>,
) -> NewAuditEvent {
    let hsa = user
        .hsa_id
        .as_deref()
        .map(|h| format!("; hsa_id {h}"))
        .unwrap_or_default();
    NewAuditEvent {
        tenant_id: Some(user.tenant_id),
        actor_kind: ActorKind::User,
        actor_id: Some(user.id.to_string()),
        actor_name: user.display_name.clone(),
        action: action.into(),
        target_type: Some("user".into()),
        target_id: Some(user.id.to_string()),
        outcome: if refused.is_some() {
            AuditOutcome::Refused
        } else {
            AuditOutcome::Success
        },
        source_address: source_address.map(str::to_owned),
        before: None,
        after: None,
        detail: Some(match refused {
            Some(reason) => format!("method {method}{hsa}; refused: {reason}"),
            None => format!("method {method}{hsa}"),
        }),
    }
}

/// The live session and its user for a token, moving the idle expiry forward; `None` when
/// the token is unknown, expired or its user is gone. `policy` is the default lifetime;
/// the tenant's own settings win, and a shortened one ends a session that outlived it.
pub async fn authenticate(
    db: &Database,
    policy: WebSessionPolicy,
    token: &SessionToken,
) -> Result<Option<(WebSession, User)>, DbError> {
    authenticate_at(db, policy, token, now()).await
}

/// [`authenticate`] at a given time (a [`crate::clock::Clock`]'s).
pub async fn authenticate_at(
    db: &Database,
    default: WebSessionPolicy,
    token: &SessionToken,
    at: OffsetDateTime,
) -> Result<Option<(WebSession, User)>, DbError> {
    let mut conn = db.pool().acquire().await?;
    let Some(mut session) = repo::web_sessions::find_live(&mut conn, &token.hash(), at).await?
    else {
        return Ok(None);
    };
    let Some(user) = repo::users::get(&mut conn, session.user_id).await? else {
        return Ok(None);
    };
    let policy = policy_for(&mut conn, session.tenant_id, default).await?;
    // The tenant may have shortened its lifetimes since this session began.
    let expires_at = session
        .expires_at
        .min(after(session.created_at, policy.max));
    let idle_deadline = session
        .idle_expires_at
        .min(after(session.last_seen_at, policy.idle));
    if at >= expires_at || at >= idle_deadline {
        repo::web_sessions::delete(&mut conn, session.id).await?;
        return Ok(None);
    }
    let idle_expires_at = after(at, policy.idle).min(expires_at);
    repo::web_sessions::extend(&mut conn, session.id, at, idle_expires_at, expires_at).await?;
    session.last_seen_at = at;
    session.idle_expires_at = idle_expires_at;
    session.expires_at = expires_at;
    Ok(Some((session, user)))
}

/// Ends the session behind `token` and audits `user.logout`; `None` when there was none.
pub async fn logout(
    db: &Database,
    token: &SessionToken,
    source_address: Option<&str>,
) -> Result<Option<WebSession>, DbError> {
    let mut tx = db.begin().await?;
    let Some(session) = repo::web_sessions::delete_by_hash(&mut tx, &token.hash()).await? else {
        return Ok(None);
    };
    if let Some(user) = repo::users::get(&mut tx, session.user_id).await? {
        repo::audit::insert(
            &mut tx,
            &user_event(&user, "user.logout", session.method, source_address, None),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Some(session))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_parse_back() {
        let Ok(a) = SessionToken::generate() else {
            panic!("randomness")
        };
        let Ok(b) = SessionToken::generate() else {
            panic!("randomness")
        };
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), TOKEN_CHARS);
        assert_eq!(SessionToken::parse(a.expose()), Some(a.clone()));
        assert_eq!(a.hash().len(), 64);
        assert_ne!(a.hash(), a.expose());
        assert!(!format!("{a:?}").contains(a.expose()));
        // The CSRF token is as long, differs per session and is not the cookie token.
        let (ca, cb) = (csrf_token(&a), csrf_token(&b));
        assert_eq!(ca.len(), TOKEN_CHARS);
        assert_ne!(ca, cb);
        assert_ne!(ca, a.expose());
    }

    #[test]
    fn malformed_tokens_are_refused() {
        for text in [
            "",
            "short",
            &"a".repeat(TOKEN_CHARS + 1),
            &format!("{}=", "a".repeat(TOKEN_CHARS - 1)),
            &format!("{}ä", "a".repeat(TOKEN_CHARS - 2)),
        ] {
            assert_eq!(SessionToken::parse(text), None, "{text:?}");
        }
    }
}
