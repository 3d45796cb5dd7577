//! `/apps/{id}/entitlements` and `/entitlements/{id}`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use super::ListQuery;
use crate::api::AdminState;
use crate::api::caller::Caller;
use crate::api::extract::{Body, Ids, Params};
use crate::api::mutation::{Change, Mutation};
use crate::api::problem::ApiError;
use crate::model::{Entitlement, NewEntitlement, Page, ValidationErrors};
use crate::repo::{apps, entitlements, groups, users};

const UNIQUE: &[&str] = &["group_id", "user_id"];

pub async fn list(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
    Params(q): Params<ListQuery>,
) -> Result<Json<Page<Entitlement>>, ApiError> {
    let page = q.page()?;
    let mut conn = s.conn().await?;
    let a = caller.visible(
        apps::get(&mut conn, ids.id()).await?,
        |a| a.tenant_id,
        "app",
    )?;
    Ok(Json(
        entitlements::list_for_app(&mut conn, a.id, page).await?,
    ))
}

pub async fn create(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
    Body(new): Body<NewEntitlement>,
) -> Result<(StatusCode, Json<Entitlement>), ApiError> {
    new.validate()?;
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let a = caller.visible(apps::get(m.conn(), ids.id()).await?, |a| a.tenant_id, "app")?;
    // The grantee must be of the app's tenant; anything else does not exist for this app.
    if let Some(g) = new.group_id {
        let found = groups::get(m.conn(), g).await?;
        if found.is_none_or(|g| g.tenant_id != a.tenant_id) {
            return Err(
                ValidationErrors::single("group_id", "no such group in the app's tenant").into(),
            );
        }
    }
    if let Some(u) = new.user_id {
        let found = users::get(m.conn(), u).await?;
        if found.is_none_or(|u| u.tenant_id != a.tenant_id) {
            return Err(
                ValidationErrors::single("user_id", "no such user in the app's tenant").into(),
            );
        }
    }
    let e = entitlements::insert(m.conn(), a.tenant_id, a.id, &new)
        .await
        .map_err(|e| ApiError::from_db(e, UNIQUE))?;
    m.commit(Change::created(
        "entitlement.create",
        Some(a.tenant_id),
        "entitlement",
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
) -> Result<Json<Entitlement>, ApiError> {
    let mut conn = s.conn().await?;
    let e = entitlements::get(&mut conn, ids.id()).await?;
    Ok(Json(caller.visible(e, |e| e.tenant_id, "entitlement")?))
}

pub async fn delete(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
) -> Result<StatusCode, ApiError> {
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let before = caller.visible(
        entitlements::get(m.conn(), ids.id()).await?,
        |e| e.tenant_id,
        "entitlement",
    )?;
    entitlements::delete(m.conn(), before.id).await?;
    m.commit(Change::deleted(
        "entitlement.delete",
        Some(before.tenant_id),
        "entitlement",
        before.id,
        &before,
    ))
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
