//! `/audit`: the audit log, read-only, filtered and paged, newest first. Tenant clients see
//! their own tenant's events only.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::api::AdminState;
use crate::api::caller::Caller;
use crate::api::extract::{Ids, Params, page};
use crate::api::problem::ApiError;
use crate::model::{AuditEvent, AuditFilter, AuditOutcome, Page};
use crate::repo::audit;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    pub tenant_id: Option<Uuid>,
    /// Exact action, e.g. `tenant.create`.
    pub action: Option<String>,
    pub actor_id: Option<String>,
    pub outcome: Option<AuditOutcome>,
    pub target_id: Option<String>,
    /// RFC 3339; events at or after.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub from: Option<OffsetDateTime>,
    /// RFC 3339; events before.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub to: Option<OffsetDateTime>,
    pub limit: Option<u32>,
    pub cursor: Option<Uuid>,
}

pub async fn list(
    State(s): State<AdminState>,
    caller: Caller,
    Params(q): Params<AuditQuery>,
) -> Result<Json<Page<AuditEvent>>, ApiError> {
    let page = page(q.limit, q.cursor)?;
    let tenant_id = match (caller.tenant(), q.tenant_id) {
        (None, t) => t,
        (Some(own), None) => Some(own),
        (Some(own), Some(t)) if t == own => Some(own),
        (Some(_), Some(_)) => {
            return Ok(Json(Page {
                items: Vec::new(),
                next_cursor: None,
            }));
        }
    };
    let filter = AuditFilter {
        tenant_id,
        action: q.action,
        actor_id: q.actor_id,
        outcome: q.outcome,
        target_id: q.target_id,
        from: q.from,
        to: q.to,
    };
    let mut conn = s.conn().await?;
    Ok(Json(audit::list(&mut conn, &filter, page).await?))
}

pub async fn get(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
) -> Result<Json<AuditEvent>, ApiError> {
    let mut conn = s.conn().await?;
    let found = audit::get(&mut conn, ids.id()).await?;
    // Events without a tenant (operator actions, refusals) are for operators only.
    match found {
        Some(e) if caller.is_operator() || e.tenant_id.is_some_and(|t| caller.sees(t)) => {
            Ok(Json(e))
        }
        _ => Err(ApiError::not_found("audit event")),
    }
}
