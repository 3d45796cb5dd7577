//! Print jobs: documents printed in a session, on their way to the user as PDF.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

text_enum! {
    PrintJobState {
        Received = "received",
        Converting = "converting",
        Ready = "ready",
        Delivered = "delivered",
        Failed = "failed",
        Expired = "expired",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PrintJob {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub session_id: Option<Uuid>,
    pub title: String,
    pub state: PrintJobState,
    pub size_bytes: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub completed_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPrintJob {
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub session_id: Option<Uuid>,
    pub title: String,
    pub size_bytes: u64,
}
