//! `/tenants/{id}/environments` and `/environments/{id}`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use super::ListQuery;
use crate::api::AdminState;
use crate::api::caller::Caller;
use crate::api::extract::{Body, Ids, Params};
use crate::api::mutation::{Change, Mutation};
use crate::api::problem::ApiError;
use crate::model::{Environment, EnvironmentPatch, NewEnvironment, Page};
use crate::repo::{environments, tenants};

const UNIQUE: &[&str] = &["kind"];

pub async fn list(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
    Params(q): Params<ListQuery>,
) -> Result<Json<Page<Environment>>, ApiError> {
    let page = q.page()?;
    let mut conn = s.conn().await?;
    let t = caller.visible(tenants::get(&mut conn, ids.id()).await?, |t| t.id, "tenant")?;
    Ok(Json(environments::list(&mut conn, t.id, page).await?))
}

pub async fn create(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
    Body(new): Body<NewEnvironment>,
) -> Result<(StatusCode, Json<Environment>), ApiError> {
    new.validate()?;
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let t = caller.visible(tenants::get(m.conn(), ids.id()).await?, |t| t.id, "tenant")?;
    let e = environments::insert(m.conn(), t.id, &new)
        .await
        .map_err(|e| ApiError::from_db(e, UNIQUE))?;
    m.commit(Change::created(
        "environment.create",
        Some(t.id),
        "environment",
        e.id,
        &e,
    ))
    .await?;
    Ok((StatusCode::CREATED, Json(e)))
}

pub async fn get(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
) -> Result<Json<Environment>, ApiError> {
    let mut conn = s.conn().await?;
    let e = environments::get(&mut conn, ids.id()).await?;
    Ok(Json(caller.visible(e, |e| e.tenant_id, "environment")?))
}

pub async fn update(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
    Body(patch): Body<EnvironmentPatch>,
) -> Result<Json<Environment>, ApiError> {
    patch.validate()?;
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let before = caller.visible(
        environments::get(m.conn(), ids.id()).await?,
        |e| e.tenant_id,
        "environment",
    )?;
    let mut e = before.clone();
    patch.apply(&mut e);
    let after = environments::update(m.conn(), &e).await?;
    m.commit(Change::updated(
        "environment.update",
        Some(e.tenant_id),
        "environment",
        e.id,
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
    let before = caller.visible(
        environments::get(m.conn(), ids.id()).await?,
        |e| e.tenant_id,
        "environment",
    )?;
    environments::delete(m.conn(), before.id).await?;
    m.commit(Change::deleted(
        "environment.delete",
        Some(before.tenant_id),
        "environment",
        before.id,
        &before,
    ))
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
