//! `/apps/{id}/rollouts` and `/rollouts/{id}`: release rings. Operators start rollouts
//! (they recycle a pool's hosts); a tenant's clients see their own and may halt them
//! (e.g. after testing the build in UTB).

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
use crate::model::{NewRollout, Page, Rollout, ValidationErrors};
use crate::repo::{apps, rollouts};
use crate::rollouts::RolloutError;

fn refused(e: RolloutError) -> ApiError {
    match e {
        RolloutError::SameVersion => {
            ValidationErrors::single("version", "the app runs this version already").into()
        }
        RolloutError::Open => {
            ApiError::conflict(None, "a rollout of this app is scheduled or in progress")
                .with_field("app_id", "has an open rollout")
        }
        RolloutError::Finished(state) => {
            ApiError::conflict(None, format!("the rollout is {state} and cannot be halted"))
                .with_field("state", state.as_str())
        }
        RolloutError::Database(e) => e.into(),
    }
}

pub async fn create(
    State(s): State<AdminState>,
    Operator(caller): Operator,
    ids: Ids,
    Body(new): Body<NewRollout>,
) -> Result<(StatusCode, Json<Rollout>), ApiError> {
    new.validate()?;
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let app = caller.visible(apps::get(m.conn(), ids.id()).await?, |a| a.tenant_id, "app")?;
    let r = crate::rollouts::create(m.conn(), &app, &new, crate::db::row::now())
        .await
        .map_err(refused)?;
    m.commit(Change::created(
        "rollout.create",
        Some(r.tenant_id),
        "rollout",
        r.id,
        &r,
    ))
    .await?;
    Ok((StatusCode::CREATED, Json(r)))
}

pub async fn list(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
    Params(q): Params<ListQuery>,
) -> Result<Json<Page<Rollout>>, ApiError> {
    let page = q.page()?;
    let mut conn = s.conn().await?;
    let app = caller.visible(
        apps::get(&mut conn, ids.id()).await?,
        |a| a.tenant_id,
        "app",
    )?;
    Ok(Json(rollouts::list_for_app(&mut conn, app.id, page).await?))
}

pub async fn get(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
) -> Result<Json<Rollout>, ApiError> {
    let mut conn = s.conn().await?;
    let r = rollouts::get(&mut conn, ids.id()).await?;
    Ok(Json(caller.visible(r, |r| r.tenant_id, "rollout")?))
}

pub async fn halt(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
) -> Result<Json<Rollout>, ApiError> {
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let before = caller.visible(
        rollouts::get(m.conn(), ids.id()).await?,
        |r| r.tenant_id,
        "rollout",
    )?;
    let after = crate::rollouts::halt(m.conn(), &before, OffsetDateTime::now_utc())
        .await
        .map_err(refused)?;
    m.commit(Change::updated(
        "rollout.halt",
        Some(after.tenant_id),
        "rollout",
        after.id,
        &before,
        &after,
    ))
    .await?;
    Ok(Json(after))
}
