//! `/tenants/{id}/web-session-settings`: a tenant's idle timeout and absolute lifetime of
//! portal web sessions. Without its own, the defaults (`WebSessionPolicy::default`) apply.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use uuid::Uuid;

use crate::api::AdminState;
use crate::api::caller::Caller;
use crate::api::extract::{Body, Ids};
use crate::api::mutation::{Change, Mutation};
use crate::api::problem::ApiError;
use crate::model::{SetWebSessionSettings, WebSessionSettings};
use crate::repo::{access, tenants};
use crate::web_session::WebSessionPolicy;

async fn current(
    conn: &mut sqlx::AnyConnection,
    tenant_id: Uuid,
) -> Result<WebSessionSettings, ApiError> {
    let own = access::web_session_settings(conn, tenant_id).await?;
    let d = WebSessionPolicy::default();
    let (idle, max) = own.unwrap_or((d.idle.as_secs(), d.max.as_secs()));
    Ok(WebSessionSettings {
        tenant_id,
        idle_timeout_secs: idle,
        max_lifetime_secs: max,
        customised: own.is_some(),
    })
}

pub async fn get(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
) -> Result<Json<WebSessionSettings>, ApiError> {
    let mut conn = s.conn().await?;
    let t = caller.visible(tenants::get(&mut conn, ids.id()).await?, |t| t.id, "tenant")?;
    Ok(Json(current(&mut conn, t.id).await?))
}

pub async fn set(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
    Body(new): Body<SetWebSessionSettings>,
) -> Result<Json<WebSessionSettings>, ApiError> {
    new.validate()?;
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let t = caller.visible(tenants::get(m.conn(), ids.id()).await?, |t| t.id, "tenant")?;
    let before = current(m.conn(), t.id).await?;
    access::set_web_session_settings(m.conn(), t.id, new.idle_timeout_secs, new.max_lifetime_secs)
        .await?;
    let after = current(m.conn(), t.id).await?;
    m.commit(Change::updated(
        "tenant.web_session_settings",
        Some(t.id),
        "tenant",
        t.id,
        &before,
        &after,
    ))
    .await?;
    Ok(Json(after))
}

pub async fn reset(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
) -> Result<StatusCode, ApiError> {
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let t = caller.visible(tenants::get(m.conn(), ids.id()).await?, |t| t.id, "tenant")?;
    let before = current(m.conn(), t.id).await?;
    access::clear_web_session_settings(m.conn(), t.id).await?;
    m.commit(Change::deleted(
        "tenant.web_session_settings",
        Some(t.id),
        "tenant",
        t.id,
        &before,
    ))
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
