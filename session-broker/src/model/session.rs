//! Remote Desktop sessions: which user runs which app on which host, and where in its life
//! the session is.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

text_enum! {
    SessionState {
        Launching = "launching",
        Active = "active",
        Disconnected = "disconnected",
        Ended = "ended",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Session {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub app_id: Uuid,
    pub host_id: Uuid,
    pub state: SessionState,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The first connection (kept across resumes and roaming).
    #[serde(with = "time::serde::rfc3339::option")]
    pub started_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub disconnected_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub ended_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// Payload bytes the gateway sent to the browser so far.
    pub bytes_to_client: i64,
    /// RDP bytes the gateway received from the host so far.
    pub bytes_from_host: i64,
    /// Display frames sent to the browser so far.
    pub frames_sent: i64,
}

/// A session being launched (placement has chosen the host).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub app_id: Uuid,
    pub host_id: Uuid,
}

/// Filters of the session listing; all optional and combined with AND.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionFilter {
    pub tenant_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub host_id: Option<Uuid>,
    pub state: Option<SessionState>,
    /// Created at or after.
    pub from: Option<OffsetDateTime>,
    /// Created before.
    pub to: Option<OffsetDateTime>,
}
