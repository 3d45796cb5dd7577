//! `/tenants/{id}/users` and `/users/{id}`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use super::ListQuery;
use crate::api::AdminState;
use crate::api::caller::Caller;
use crate::api::extract::{Body, Ids, Params};
use crate::api::mutation::{Change, Mutation};
use crate::api::problem::ApiError;
use crate::model::{NewUser, Page, User, UserPatch};
use crate::repo::{tenants, users};

const UNIQUE: &[&str] = &["name_id"];

pub async fn list(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
    Params(q): Params<ListQuery>,
) -> Result<Json<Page<User>>, ApiError> {
    let page = q.page()?;
    let mut conn = s.conn().await?;
    let t = caller.visible(tenants::get(&mut conn, ids.id()).await?, |t| t.id, "tenant")?;
    Ok(Json(users::list(&mut conn, t.id, page).await?))
}

pub async fn create(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
    Body(new): Body<NewUser>,
) -> Result<(StatusCode, Json<User>), ApiError> {
    new.validate()?;
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let t = caller.visible(tenants::get(m.conn(), ids.id()).await?, |t| t.id, "tenant")?;
    let u = users::insert(m.conn(), t.id, &new)
        .await
        .map_err(|e| ApiError::from_db(e, UNIQUE))?;
    m.commit(Change::created("user.create", Some(t.id), "user", u.id, &u))
        .await?;
    Ok((StatusCode::CREATED, Json(u)))
}

pub async fn get(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
) -> Result<Json<User>, ApiError> {
    let mut conn = s.conn().await?;
    let u = users::get(&mut conn, ids.id()).await?;
    Ok(Json(caller.visible(u, |u| u.tenant_id, "user")?))
}

pub async fn update(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
    Body(patch): Body<UserPatch>,
) -> Result<Json<User>, ApiError> {
    patch.validate()?;
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let before = caller.visible(
        users::get(m.conn(), ids.id()).await?,
        |u| u.tenant_id,
        "user",
    )?;
    let mut u = before.clone();
    patch.apply(&mut u);
    let after = users::update(m.conn(), &u).await?;
    m.commit(Change::updated(
        "user.update",
        Some(u.tenant_id),
        "user",
        u.id,
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
        users::get(m.conn(), ids.id()).await?,
        |u| u.tenant_id,
        "user",
    )?;
    users::delete(m.conn(), before.id).await?;
    m.commit(Change::deleted(
        "user.delete",
        Some(before.tenant_id),
        "user",
        before.id,
        &before,
    ))
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
