//! `/tenants/{id}/apps` and `/apps/{id}`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use sqlx::AnyConnection;
use uuid::Uuid;

use crate::api::AdminState;
use crate::api::caller::Caller;
use crate::api::extract::{Body, Ids, Params, page};
use crate::api::mutation::{Change, Mutation};
use crate::api::problem::ApiError;
use crate::model::{App, AppPatch, NewApp, Page, ValidationErrors};
use crate::repo::{apps, environments, pools, tenants};

const UNIQUE: &[&str] = &["display_name"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppQuery {
    pub environment_id: Option<Uuid>,
    pub limit: Option<u32>,
    pub cursor: Option<Uuid>,
}

/// The pool must exist and serve the tenant; named as a field error otherwise.
async fn check_pool(conn: &mut AnyConnection, tenant: Uuid, pool: Uuid) -> Result<(), ApiError> {
    match pools::get(conn, pool).await? {
        Some(p) if p.serves(tenant) => Ok(()),
        Some(_) => Err(ValidationErrors::single(
            "pool_id",
            "the pool is dedicated to another tenant",
        )
        .into()),
        None => Err(ValidationErrors::single("pool_id", "no such pool").into()),
    }
}

pub async fn list(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
    Params(q): Params<AppQuery>,
) -> Result<Json<Page<App>>, ApiError> {
    let page = page(q.limit, q.cursor)?;
    let mut conn = s.conn().await?;
    let t = caller.visible(tenants::get(&mut conn, ids.id()).await?, |t| t.id, "tenant")?;
    Ok(Json(
        apps::list(&mut conn, t.id, q.environment_id, page).await?,
    ))
}

pub async fn create(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
    Body(new): Body<NewApp>,
) -> Result<(StatusCode, Json<App>), ApiError> {
    new.validate()?;
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let t = caller.visible(tenants::get(m.conn(), ids.id()).await?, |t| t.id, "tenant")?;
    match environments::get(m.conn(), new.environment_id).await? {
        Some(e) if e.tenant_id == t.id => {}
        _ => {
            return Err(ValidationErrors::single(
                "environment_id",
                "no such environment in this tenant",
            )
            .into());
        }
    }
    check_pool(m.conn(), t.id, new.pool_id).await?;
    let a = apps::insert(m.conn(), t.id, &new)
        .await
        .map_err(|e| ApiError::from_db(e, UNIQUE))?;
    m.commit(Change::created("app.create", Some(t.id), "app", a.id, &a))
        .await?;
    Ok((StatusCode::CREATED, Json(a)))
}

pub async fn get(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
) -> Result<Json<App>, ApiError> {
    let mut conn = s.conn().await?;
    let a = apps::get(&mut conn, ids.id()).await?;
    Ok(Json(caller.visible(a, |a| a.tenant_id, "app")?))
}

pub async fn update(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
    Body(patch): Body<AppPatch>,
) -> Result<Json<App>, ApiError> {
    patch.validate()?;
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let before = caller.visible(apps::get(m.conn(), ids.id()).await?, |a| a.tenant_id, "app")?;
    let mut a = before.clone();
    patch.apply(&mut a)?;
    if a.pool_id != before.pool_id {
        check_pool(m.conn(), a.tenant_id, a.pool_id).await?;
    }
    let after = apps::update(m.conn(), &a)
        .await
        .map_err(|e| ApiError::from_db(e, UNIQUE))?;
    m.commit(Change::updated(
        "app.update",
        Some(a.tenant_id),
        "app",
        a.id,
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
    let before = caller.visible(apps::get(m.conn(), ids.id()).await?, |a| a.tenant_id, "app")?;
    apps::delete(m.conn(), before.id).await?;
    m.commit(Change::deleted(
        "app.delete",
        Some(before.tenant_id),
        "app",
        before.id,
        &before,
    ))
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
