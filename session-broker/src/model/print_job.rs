//! Print jobs: documents printed in a session (through its IPP printer or the gateway's
//! redirected RDP printer), on their way to the user as PDF.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

text_enum! {
    /// Where a job is. `pending` until its document arrives (Create-Job before
    /// Send-Document), `processing` while it is spooled and rendered, then `ready` (the PDF
    /// is stored), `refused` (`reason` says why) or `cancelled`.
    PrintJobState {
        Pending = "pending",
        Processing = "processing",
        Ready = "ready",
        Refused = "refused",
        Cancelled = "cancelled",
    }
}

impl PrintJobState {
    /// Finished: nothing more will happen to the job but retention.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Ready | Self::Refused | Self::Cancelled)
    }
}

text_enum! {
    /// How the job came in: the gateway's redirected RDP printer or a host's IPP printer.
    PrintSource { Rdp = "rdp", Ipp = "ipp" }
}

/// A print job as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PrintJob {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub session_id: Uuid,
    /// The printer token the job came through (`print_tokens.id`, never the secret).
    pub token_id: Uuid,
    /// The IPP job-id, counted per printer token.
    pub ipp_job_id: u32,
    pub title: String,
    pub source: PrintSource,
    /// The document's MIME type, once known.
    pub document_format: Option<String>,
    /// What the sender claimed as IPP requesting-user-name; never used to attribute.
    pub requesting_user: Option<String>,
    pub state: PrintJobState,
    /// The refusal code of a refused job (`job_too_large`, `malformed_pdf`, …).
    pub reason: Option<String>,
    /// Document bytes received.
    pub received_bytes: u64,
    /// Pages of the finished PDF.
    pub pages: Option<u32>,
    /// Bytes of the finished PDF.
    pub bytes: Option<u64>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub completed_at: Option<OffsetDateTime>,
    /// Retention ends: the PDF is deleted then.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// When retention deleted the file.
    #[serde(with = "time::serde::rfc3339::option")]
    pub purged_at: Option<OffsetDateTime>,
}

/// A job to record; the repository assigns id, IPP job-id and times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPrintJob {
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub session_id: Uuid,
    pub token_id: Uuid,
    pub title: String,
    pub source: PrintSource,
    pub document_format: Option<String>,
    pub requesting_user: Option<String>,
    pub expires_at: OffsetDateTime,
}
