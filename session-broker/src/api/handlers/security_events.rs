//! `/security-events`: attack patterns raised from refused logins and launches
//! ([`crate::security`]), newest first. Tenant-scoped callers see their tenant's only;
//! events without a tenant (anonymous sources) are for operators.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::api::AdminState;
use crate::api::caller::Caller;
use crate::api::extract::{Ids, Params, page};
use crate::api::problem::ApiError;
use crate::model::{Page, SecurityEvent, SecurityEventFilter, SecurityEventKind};
use crate::repo::security_events;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityEventQuery {
    pub tenant_id: Option<Uuid>,
    pub kind: Option<SecurityEventKind>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub from: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub to: Option<OffsetDateTime>,
    pub limit: Option<u32>,
    pub cursor: Option<Uuid>,
}

pub async fn list(
    State(s): State<AdminState>,
    caller: Caller,
    Params(q): Params<SecurityEventQuery>,
) -> Result<Json<Page<SecurityEvent>>, ApiError> {
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
    let filter = SecurityEventFilter {
        tenant_id,
        kind: q.kind,
        from: q.from,
        to: q.to,
    };
    let mut conn = s.conn().await?;
    Ok(Json(security_events::list(&mut conn, &filter, page).await?))
}

pub async fn get(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
) -> Result<Json<SecurityEvent>, ApiError> {
    let mut conn = s.conn().await?;
    match security_events::get(&mut conn, ids.id()).await? {
        Some(e) if caller.is_operator() || e.tenant_id.is_some_and(|t| caller.sees(t)) => {
            Ok(Json(e))
        }
        _ => Err(ApiError::not_found("security event")),
    }
}
