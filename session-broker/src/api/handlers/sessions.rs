//! `/sessions`: read-only, filtered and paged, newest first.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::api::AdminState;
use crate::api::caller::Caller;
use crate::api::extract::{Ids, Params, page};
use crate::api::problem::ApiError;
use crate::model::{Page, Session, SessionFilter, SessionState};
use crate::repo::sessions;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionQuery {
    pub tenant_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub host_id: Option<Uuid>,
    pub state: Option<SessionState>,
    /// RFC 3339; sessions created at or after.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub from: Option<OffsetDateTime>,
    /// RFC 3339; sessions created before.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub to: Option<OffsetDateTime>,
    pub limit: Option<u32>,
    pub cursor: Option<Uuid>,
}

pub async fn list(
    State(s): State<AdminState>,
    caller: Caller,
    Params(q): Params<SessionQuery>,
) -> Result<Json<Page<Session>>, ApiError> {
    let page = page(q.limit, q.cursor)?;
    let tenant_id = match (caller.tenant(), q.tenant_id) {
        (None, t) => t,
        (Some(own), None) => Some(own),
        (Some(own), Some(t)) if t == own => Some(own),
        // Another tenant's sessions do not exist for this caller.
        (Some(_), Some(_)) => {
            return Ok(Json(Page {
                items: Vec::new(),
                next_cursor: None,
            }));
        }
    };
    let filter = SessionFilter {
        tenant_id,
        user_id: q.user_id,
        host_id: q.host_id,
        state: q.state,
        from: q.from,
        to: q.to,
    };
    let mut conn = s.conn().await?;
    Ok(Json(sessions::list(&mut conn, &filter, page).await?))
}

pub async fn get(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
) -> Result<Json<Session>, ApiError> {
    let mut conn = s.conn().await?;
    let found = sessions::get(&mut conn, ids.id()).await?;
    Ok(Json(caller.visible(found, |x| x.tenant_id, "session")?))
}
