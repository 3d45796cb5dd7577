//! Web sessions: a logged-in browser of the portal, whoever authenticated it (demo login
//! now, SAML and SITHS with the identity work). The cookie token itself is never a field:
//! only its hash is stored.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

text_enum! {
    /// How the user proved who they are.
    LoginMethod { Demo = "demo", Saml = "saml", Siths = "siths" }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WebSession {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub method: LoginMethod,
    /// Level of assurance of the login, 1 to 4 (loa1–loa4); `None`: none established.
    pub loa: Option<u8>,
    pub source_address: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen_at: OffsetDateTime,
    /// Moves forward on every use, never past `expires_at`.
    #[serde(with = "time::serde::rfc3339")]
    pub idle_expires_at: OffsetDateTime,
    /// Absolute end, set at login.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Lower-case hex SHA-256 of the session's CSRF token; never serialized.
    #[serde(skip)]
    pub csrf_hash: String,
}

/// A session to record at login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebSession {
    /// Lower-case hex SHA-256 of the cookie token.
    pub token_hash: String,
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub method: LoginMethod,
    /// Level of assurance of the login, 1 to 4; `None`: none established.
    pub loa: Option<u8>,
    pub source_address: Option<String>,
    pub idle_expires_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    /// Lower-case hex SHA-256 of the CSRF token.
    pub csrf_hash: String,
    /// The login's time (the clock's, which tests hold).
    pub created_at: OffsetDateTime,
}
