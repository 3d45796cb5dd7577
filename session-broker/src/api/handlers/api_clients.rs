//! `/api-clients`: operators register the certificates that may call the API.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use super::ListQuery;
use crate::api::AdminState;
use crate::api::caller::Operator;
use crate::api::extract::{Body, Ids, Params};
use crate::api::mutation::{Change, Mutation};
use crate::api::problem::ApiError;
use crate::model::{ApiClient, ApiClientPatch, NewApiClient, Page, ValidationErrors};
use crate::repo::{api_clients, hosts, tenants};

const UNIQUE: &[&str] = &["subject_cn"];

pub async fn list(
    State(s): State<AdminState>,
    _: Operator,
    Params(q): Params<ListQuery>,
) -> Result<Json<Page<ApiClient>>, ApiError> {
    let page = q.page()?;
    let mut conn = s.conn().await?;
    Ok(Json(api_clients::list(&mut conn, page).await?))
}

pub async fn create(
    State(s): State<AdminState>,
    Operator(caller): Operator,
    Body(new): Body<NewApiClient>,
) -> Result<(StatusCode, Json<ApiClient>), ApiError> {
    new.validate()?;
    let mut m = Mutation::begin(s.db(), &caller).await?;
    if let Some(t) = new.tenant_id
        && tenants::get(m.conn(), t).await?.is_none()
    {
        return Err(ValidationErrors::single("tenant_id", "no such tenant").into());
    }
    if let Some(h) = new.host_id
        && hosts::get(m.conn(), h).await?.is_none()
    {
        return Err(ValidationErrors::single("host_id", "no such host").into());
    }
    let c = api_clients::insert(m.conn(), &new)
        .await
        .map_err(|e| ApiError::from_db(e, UNIQUE))?;
    m.commit(Change::created(
        "api_client.create",
        c.tenant_id,
        "api_client",
        c.id,
        &c,
    ))
    .await?;
    Ok((StatusCode::CREATED, Json(c)))
}

pub async fn get(
    State(s): State<AdminState>,
    _: Operator,
    ids: Ids,
) -> Result<Json<ApiClient>, ApiError> {
    let mut conn = s.conn().await?;
    let c = api_clients::get(&mut conn, ids.id())
        .await?
        .ok_or_else(|| ApiError::not_found("API client"))?;
    Ok(Json(c))
}

pub async fn update(
    State(s): State<AdminState>,
    Operator(caller): Operator,
    ids: Ids,
    Body(patch): Body<ApiClientPatch>,
) -> Result<Json<ApiClient>, ApiError> {
    patch.validate()?;
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let before = api_clients::get(m.conn(), ids.id())
        .await?
        .ok_or_else(|| ApiError::not_found("API client"))?;
    let mut c = before.clone();
    patch.apply(&mut c);
    let after = api_clients::update(m.conn(), &c).await?;
    m.commit(Change::updated(
        "api_client.update",
        c.tenant_id,
        "api_client",
        c.id,
        &before,
        &after,
    ))
    .await?;
    Ok(Json(after))
}

pub async fn delete(
    State(s): State<AdminState>,
    Operator(caller): Operator,
    ids: Ids,
) -> Result<StatusCode, ApiError> {
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let before = api_clients::get(m.conn(), ids.id())
        .await?
        .ok_or_else(|| ApiError::not_found("API client"))?;
    api_clients::delete(m.conn(), before.id).await?;
    m.commit(Change::deleted(
        "api_client.delete",
        before.tenant_id,
        "api_client",
        before.id,
        &before,
    ))
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
