//! `/tenants`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use super::ListQuery;
use crate::api::AdminState;
use crate::api::caller::{Caller, Operator};
use crate::api::extract::{Body, Ids, Params};
use crate::api::mutation::{Change, Mutation};
use crate::api::problem::ApiError;
use crate::model::{NewTenant, Page, Tenant, TenantPatch};
use crate::repo::tenants;

const UNIQUE: &[&str] = &["slug"];

pub async fn list(
    State(s): State<AdminState>,
    caller: Caller,
    Params(q): Params<ListQuery>,
) -> Result<Json<Page<Tenant>>, ApiError> {
    let page = q.page()?;
    let mut conn = s.conn().await?;
    Ok(Json(tenants::list(&mut conn, caller.tenant(), page).await?))
}

pub async fn create(
    State(s): State<AdminState>,
    Operator(caller): Operator,
    Body(new): Body<NewTenant>,
) -> Result<(StatusCode, Json<Tenant>), ApiError> {
    new.validate()?;
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let t = tenants::insert(m.conn(), &new)
        .await
        .map_err(|e| ApiError::from_db(e, UNIQUE))?;
    m.commit(Change::created(
        "tenant.create",
        Some(t.id),
        "tenant",
        t.id,
        &t,
    ))
    .await?;
    Ok((StatusCode::CREATED, Json(t)))
}

pub async fn get(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
) -> Result<Json<Tenant>, ApiError> {
    let mut conn = s.conn().await?;
    let t = tenants::get(&mut conn, ids.id()).await?;
    Ok(Json(caller.visible(t, |t| t.id, "tenant")?))
}

pub async fn update(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
    Body(patch): Body<TenantPatch>,
) -> Result<Json<Tenant>, ApiError> {
    patch.validate()?;
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let before = caller.visible(tenants::get(m.conn(), ids.id()).await?, |t| t.id, "tenant")?;
    let mut t = before.clone();
    patch.apply(&mut t);
    let after = tenants::update(m.conn(), &t)
        .await
        .map_err(|e| ApiError::from_db(e, UNIQUE))?;
    m.commit(Change::updated(
        "tenant.update",
        Some(t.id),
        "tenant",
        t.id,
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
    let before = caller.visible(tenants::get(m.conn(), ids.id()).await?, |t| t.id, "tenant")?;
    caller.require_operator()?;
    tenants::delete(m.conn(), before.id).await?;
    m.commit(Change::deleted(
        "tenant.delete",
        Some(before.id),
        "tenant",
        before.id,
        &before,
    ))
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
