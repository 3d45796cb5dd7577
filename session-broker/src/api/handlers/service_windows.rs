//! `/environments/{id}/service-windows`, `/tenants/{id}/service-windows` and
//! `/service-windows/{id}`: a tenant's announced maintenance windows. A window must start
//! at least 7 days after it is created unless it is marked emergency (422 naming the
//! field); one in progress cannot be deleted (409). A tenant's admins (and its API
//! clients) announce, change and cancel the windows of their own tenant's environments
//! (another tenant's are 404, as everywhere); emergency windows, which skip the notice
//! everyone else is promised, are the operators' alone: creating one, and changing or
//! cancelling one, is 403 for anyone else. A window only drains pools no other open
//! environment uses (the scheduler), so a tenant's window never takes another's service.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use time::OffsetDateTime;

use super::ListQuery;
use crate::api::AdminState;
use crate::api::caller::Caller;
use crate::api::extract::{Body, Ids, Params};
use crate::api::mutation::{Change, Mutation};
use crate::api::problem::ApiError;
use crate::model::{NewServiceWindow, Page, ServiceWindow, ServiceWindowPatch};
use crate::repo::{environments, service_windows, tenants};

pub async fn list_for_environment(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
    Params(q): Params<ListQuery>,
) -> Result<Json<Page<ServiceWindow>>, ApiError> {
    let page = q.page()?;
    let mut conn = s.conn().await?;
    let e = caller.visible(
        environments::get(&mut conn, ids.id()).await?,
        |e| e.tenant_id,
        "environment",
    )?;
    Ok(Json(
        service_windows::list(&mut conn, e.tenant_id, Some(e.id), page).await?,
    ))
}

pub async fn list_for_tenant(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
    Params(q): Params<ListQuery>,
) -> Result<Json<Page<ServiceWindow>>, ApiError> {
    let page = q.page()?;
    let mut conn = s.conn().await?;
    let t = caller.visible(tenants::get(&mut conn, ids.id()).await?, |t| t.id, "tenant")?;
    Ok(Json(
        service_windows::list(&mut conn, t.id, None, page).await?,
    ))
}

pub async fn create(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
    Body(new): Body<NewServiceWindow>,
) -> Result<(StatusCode, Json<ServiceWindow>), ApiError> {
    if new.emergency && !caller.is_operator() {
        return Err(ApiError::forbidden(
            "emergency service windows (less than 7 days' notice) are announced by operators only",
        )
        .with_field("emergency", "operators only"));
    }
    let timing = new.validate(OffsetDateTime::now_utc())?;
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let e = caller.visible(
        environments::get(m.conn(), ids.id()).await?,
        |e| e.tenant_id,
        "environment",
    )?;
    let w = service_windows::insert(m.conn(), e.tenant_id, e.id, &new, &timing).await?;
    m.commit(Change::created(
        "service_window.create",
        Some(w.tenant_id),
        "service_window",
        w.id,
        &w,
    ))
    .await?;
    Ok((StatusCode::CREATED, Json(w)))
}

pub async fn get(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
) -> Result<Json<ServiceWindow>, ApiError> {
    let mut conn = s.conn().await?;
    let w = service_windows::get(&mut conn, ids.id()).await?;
    Ok(Json(caller.visible(
        w,
        |w| w.tenant_id,
        "service window",
    )?))
}

/// A window the caller may change or cancel: one of its tenant (else 404), and, if it is
/// an emergency window, only for operators (403).
fn changeable(caller: &Caller, found: Option<ServiceWindow>) -> Result<ServiceWindow, ApiError> {
    let w = caller.visible(found, |w| w.tenant_id, "service window")?;
    if w.emergency && !caller.is_operator() {
        return Err(ApiError::forbidden(
            "emergency service windows are changed and cancelled by operators only",
        ));
    }
    Ok(w)
}

pub async fn update(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
    Body(patch): Body<ServiceWindowPatch>,
) -> Result<Json<ServiceWindow>, ApiError> {
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let before = changeable(&caller, service_windows::get(m.conn(), ids.id()).await?)?;
    let mut w = before.clone();
    patch.apply(&mut w)?;
    let after = service_windows::update(m.conn(), &w).await?;
    m.commit(Change::updated(
        "service_window.update",
        Some(w.tenant_id),
        "service_window",
        w.id,
        &before,
        &after,
    ))
    .await?;
    Ok(Json(after))
}

pub async fn delete(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
) -> Result<StatusCode, ApiError> {
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let before = changeable(&caller, service_windows::get(m.conn(), ids.id()).await?)?;
    // Its hosts are drained and the scheduler gives them back at its end; deleting it now
    // would leave users refused by a window nobody can see.
    if let Some(o) = before.active_at(OffsetDateTime::now_utc()) {
        return Err(ApiError::conflict(
            None,
            format!(
                "the window is in progress until {}; it cannot be deleted now",
                o.end
            ),
        )
        .with_field("id", "in progress"));
    }
    service_windows::delete(m.conn(), before.id).await?;
    m.commit(Change::deleted(
        "service_window.delete",
        Some(before.tenant_id),
        "service_window",
        before.id,
        &before,
    ))
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
