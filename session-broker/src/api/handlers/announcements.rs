//! `/tenants/{id}/announcements`, `/announcements` and `/announcements/{id}`: admins'
//! messages shown as banners in the portal. Tenant-admins write their own tenant's;
//! messages to every tenant (`tenant_id` null) are operators' alone.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use time::OffsetDateTime;

use super::ListQuery;
use crate::api::AdminState;
use crate::api::caller::{Caller, Operator};
use crate::api::extract::{Body, Ids, Params};
use crate::api::mutation::{Change, Mutation};
use crate::api::problem::ApiError;
use crate::model::{Announcement, NewAnnouncement, Page};
use crate::repo::{announcements, tenants};

/// A tenant's announcements and those to every tenant, newest first.
pub async fn list_for_tenant(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
    Params(q): Params<ListQuery>,
) -> Result<Json<Page<Announcement>>, ApiError> {
    let page = q.page()?;
    let mut conn = s.conn().await?;
    let t = caller.visible(tenants::get(&mut conn, ids.id()).await?, |t| t.id, "tenant")?;
    Ok(Json(
        announcements::list(&mut conn, Some(t.id), page).await?,
    ))
}

/// Every announcement (operators).
pub async fn list(
    State(s): State<AdminState>,
    _: Operator,
    Params(q): Params<ListQuery>,
) -> Result<Json<Page<Announcement>>, ApiError> {
    let page = q.page()?;
    let mut conn = s.conn().await?;
    Ok(Json(announcements::list(&mut conn, None, page).await?))
}

pub async fn create_for_tenant(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
    Body(new): Body<NewAnnouncement>,
) -> Result<(StatusCode, Json<Announcement>), ApiError> {
    let starts_at = new.validate(OffsetDateTime::now_utc())?;
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let t = caller.visible(tenants::get(m.conn(), ids.id()).await?, |t| t.id, "tenant")?;
    let a = announcements::insert(m.conn(), Some(t.id), &new, starts_at).await?;
    m.commit(Change::created(
        "announcement.create",
        Some(t.id),
        "announcement",
        a.id,
        &a,
    ))
    .await?;
    Ok((StatusCode::CREATED, Json(a)))
}

/// An announcement to every tenant's users (operators).
pub async fn create(
    State(s): State<AdminState>,
    Operator(caller): Operator,
    Body(new): Body<NewAnnouncement>,
) -> Result<(StatusCode, Json<Announcement>), ApiError> {
    let starts_at = new.validate(OffsetDateTime::now_utc())?;
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let a = announcements::insert(m.conn(), None, &new, starts_at).await?;
    m.commit(Change::created(
        "announcement.create",
        None,
        "announcement",
        a.id,
        &a,
    ))
    .await?;
    Ok((StatusCode::CREATED, Json(a)))
}

/// Everyone sees the announcements to every tenant; a tenant's only its own callers.
fn visible(caller: &Caller, found: Option<Announcement>) -> Result<Announcement, ApiError> {
    match found {
        // Host agents never get here (`Caller::may_reach`).
        Some(a) if a.tenant_id.is_none_or(|t| caller.sees(t)) => Ok(a),
        _ => Err(ApiError::not_found("announcement")),
    }
}

pub async fn get(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
) -> Result<Json<Announcement>, ApiError> {
    let mut conn = s.conn().await?;
    let a = announcements::get(&mut conn, ids.id()).await?;
    Ok(Json(visible(&caller, a)?))
}

/// Ends an announcement now: the portal stops showing it; the row stays for the record.
pub async fn end(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
) -> Result<Json<Announcement>, ApiError> {
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let before = visible(&caller, announcements::get(m.conn(), ids.id()).await?)?;
    if before.tenant_id.is_none() {
        caller.require_operator()?;
    }
    let now = OffsetDateTime::now_utc();
    if before.ends_at <= now {
        return Err(ApiError::conflict(
            None,
            "the announcement has already ended",
        ));
    }
    let after = announcements::end(m.conn(), &before, now).await?;
    m.commit(Change::updated(
        "announcement.end",
        before.tenant_id,
        "announcement",
        before.id,
        &before,
        &after,
    ))
    .await?;
    Ok(Json(after))
}
