//! Audit events: who did what to which resource of which tenant, when, from where, with
//! what outcome, and the resource before and after.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

text_enum! {
    ActorKind {
        ApiClient = "api_client",
        Operator = "operator",
        User = "user",
        System = "system",
        Anonymous = "anonymous",
    }
}

text_enum! {
    AuditOutcome { Success = "success", Refused = "refused", Failed = "failed" }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEvent {
    pub id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub tenant_id: Option<Uuid>,
    pub actor_kind: ActorKind,
    pub actor_id: Option<String>,
    pub actor_name: String,
    /// `tenant.create`, `host.state_change`, `api.auth_refused`, …
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub outcome: AuditOutcome,
    pub source_address: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
    pub detail: Option<String>,
}

/// An event to record; id and time are assigned when it is written.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEvent {
    pub tenant_id: Option<Uuid>,
    pub actor_kind: ActorKind,
    pub actor_id: Option<String>,
    pub actor_name: String,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub outcome: AuditOutcome,
    pub source_address: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub detail: Option<String>,
}

/// Filters of the audit listing; all optional and combined with AND.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub tenant_id: Option<Uuid>,
    pub action: Option<String>,
    pub actor_id: Option<String>,
    pub outcome: Option<AuditOutcome>,
    pub target_id: Option<String>,
    /// At or after.
    pub from: Option<OffsetDateTime>,
    /// Before.
    pub to: Option<OffsetDateTime>,
}
