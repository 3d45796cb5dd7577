//! `/pools`: operators manage pools; tenant clients see the pools they may publish on.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use sqlx::AnyConnection;
use uuid::Uuid;

use super::ListQuery;
use crate::api::AdminState;
use crate::api::caller::{Caller, Operator};
use crate::api::extract::{Body, Ids, Params};
use crate::api::mutation::{Change, Mutation};
use crate::api::problem::ApiError;
use crate::model::{HostPool, HostPoolPatch, NewHostPool, Page, ValidationErrors};
use crate::repo::{pools, tenants};

const UNIQUE: &[&str] = &["name"];

/// A pool the caller may see: operators see all, tenants the shared ones and their own.
pub async fn visible_pool(
    conn: &mut AnyConnection,
    caller: &Caller,
    id: Uuid,
) -> Result<HostPool, ApiError> {
    match pools::get(conn, id).await? {
        Some(p) if caller.tenant().is_none_or(|t| p.serves(t)) => Ok(p),
        _ => Err(ApiError::not_found("pool")),
    }
}

async fn check_dedicated(conn: &mut AnyConnection, tenant: Option<Uuid>) -> Result<(), ApiError> {
    if let Some(t) = tenant
        && tenants::get(conn, t).await?.is_none()
    {
        return Err(ValidationErrors::single("dedicated_tenant_id", "no such tenant").into());
    }
    Ok(())
}

pub async fn list(
    State(s): State<AdminState>,
    caller: Caller,
    Params(q): Params<ListQuery>,
) -> Result<Json<Page<HostPool>>, ApiError> {
    let page = q.page()?;
    let mut conn = s.conn().await?;
    Ok(Json(pools::list(&mut conn, caller.tenant(), page).await?))
}

pub async fn create(
    State(s): State<AdminState>,
    Operator(caller): Operator,
    Body(mut new): Body<NewHostPool>,
) -> Result<(StatusCode, Json<HostPool>), ApiError> {
    new.validate()?;
    new.normalize();
    let mut m = Mutation::begin(s.db(), &caller).await?;
    check_dedicated(m.conn(), new.dedicated_tenant_id).await?;
    let p = pools::insert(m.conn(), &new)
        .await
        .map_err(|e| ApiError::from_db(e, UNIQUE))?;
    m.commit(Change::created(
        "pool.create",
        p.dedicated_tenant_id,
        "pool",
        p.id,
        &p,
    ))
    .await?;
    Ok((StatusCode::CREATED, Json(p)))
}

pub async fn get(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
) -> Result<Json<HostPool>, ApiError> {
    let mut conn = s.conn().await?;
    Ok(Json(visible_pool(&mut conn, &caller, ids.id()).await?))
}

pub async fn update(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
    Body(patch): Body<HostPoolPatch>,
) -> Result<Json<HostPool>, ApiError> {
    patch.validate()?;
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let before = visible_pool(m.conn(), &caller, ids.id()).await?;
    caller.require_operator()?;
    let mut p = before.clone();
    patch.apply(&mut p)?;
    check_dedicated(m.conn(), p.dedicated_tenant_id).await?;
    let after = pools::update(m.conn(), &p)
        .await
        .map_err(|e| ApiError::from_db(e, UNIQUE))?;
    m.commit(Change::updated(
        "pool.update",
        p.dedicated_tenant_id,
        "pool",
        p.id,
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
    let before = visible_pool(m.conn(), &caller, ids.id()).await?;
    caller.require_operator()?;
    pools::delete(m.conn(), before.id).await?;
    m.commit(Change::deleted(
        "pool.delete",
        before.dedicated_tenant_id,
        "pool",
        before.id,
        &before,
    ))
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
