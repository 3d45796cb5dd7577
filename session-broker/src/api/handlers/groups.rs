//! `/tenants/{id}/groups`, `/groups/{id}` and `/groups/{id}/members/{user_id}`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use super::ListQuery;
use crate::api::AdminState;
use crate::api::caller::Caller;
use crate::api::extract::{Body, Ids, Params};
use crate::api::mutation::{Change, Mutation};
use crate::api::problem::ApiError;
use crate::model::{Group, GroupMember, GroupPatch, NewGroup, Page, Role, ValidationErrors};
use crate::repo::{groups, tenants, users};

// external_id first: its constraint name also contains "name".
const UNIQUE: &[&str] = &["external_id", "name"];

/// A group granting the operator role reaches beyond its tenant: only operators create,
/// change, fill, empty or delete one.
fn guard_operator_grant(caller: &Caller, role: Option<Role>) -> Result<(), ApiError> {
    if role == Some(Role::Operator) && !caller.is_operator() {
        return Err(ApiError::forbidden(
            "only operators manage groups that grant the operator role",
        ));
    }
    Ok(())
}

pub async fn list(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
    Params(q): Params<ListQuery>,
) -> Result<Json<Page<Group>>, ApiError> {
    let page = q.page()?;
    let mut conn = s.conn().await?;
    let t = caller.visible(tenants::get(&mut conn, ids.id()).await?, |t| t.id, "tenant")?;
    Ok(Json(groups::list(&mut conn, t.id, page).await?))
}

pub async fn create(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
    Body(new): Body<NewGroup>,
) -> Result<(StatusCode, Json<Group>), ApiError> {
    new.validate()?;
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let t = caller.visible(tenants::get(m.conn(), ids.id()).await?, |t| t.id, "tenant")?;
    guard_operator_grant(&caller, new.grants_role)?;
    let g = groups::insert(m.conn(), t.id, &new)
        .await
        .map_err(|e| ApiError::from_db(e, UNIQUE))?;
    m.commit(Change::created(
        "group.create",
        Some(t.id),
        "group",
        g.id,
        &g,
    ))
    .await?;
    Ok((StatusCode::CREATED, Json(g)))
}

pub async fn get(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
) -> Result<Json<Group>, ApiError> {
    let mut conn = s.conn().await?;
    let g = groups::get(&mut conn, ids.id()).await?;
    Ok(Json(caller.visible(g, |g| g.tenant_id, "group")?))
}

pub async fn update(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
    Body(patch): Body<GroupPatch>,
) -> Result<Json<Group>, ApiError> {
    patch.validate()?;
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let before = caller.visible(
        groups::get(m.conn(), ids.id()).await?,
        |g| g.tenant_id,
        "group",
    )?;
    let mut g = before.clone();
    patch.apply(&mut g);
    guard_operator_grant(&caller, before.grants_role)?;
    guard_operator_grant(&caller, g.grants_role)?;
    let after = groups::update(m.conn(), &g)
        .await
        .map_err(|e| ApiError::from_db(e, UNIQUE))?;
    m.commit(Change::updated(
        "group.update",
        Some(g.tenant_id),
        "group",
        g.id,
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
        groups::get(m.conn(), ids.id()).await?,
        |g| g.tenant_id,
        "group",
    )?;
    guard_operator_grant(&caller, before.grants_role)?;
    groups::delete(m.conn(), before.id).await?;
    m.commit(Change::deleted(
        "group.delete",
        Some(before.tenant_id),
        "group",
        before.id,
        &before,
    ))
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_members(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
    Params(q): Params<ListQuery>,
) -> Result<Json<Page<GroupMember>>, ApiError> {
    let page = q.page()?;
    let mut conn = s.conn().await?;
    let g = caller.visible(
        groups::get(&mut conn, ids.id()).await?,
        |g| g.tenant_id,
        "group",
    )?;
    Ok(Json(groups::list_members(&mut conn, g.id, page).await?))
}

/// Idempotent: adding an existing member returns it unchanged (200), a new one 201.
pub async fn add_member(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
) -> Result<(StatusCode, Json<GroupMember>), ApiError> {
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let g = caller.visible(
        groups::get(m.conn(), ids.get("id")).await?,
        |g| g.tenant_id,
        "group",
    )?;
    let u = caller.visible(
        users::get(m.conn(), ids.get("user_id")).await?,
        |u| u.tenant_id,
        "user",
    )?;
    if u.tenant_id != g.tenant_id {
        return Err(
            ValidationErrors::single("user_id", "the user belongs to another tenant").into(),
        );
    }
    guard_operator_grant(&caller, g.grants_role)?;
    if let Some(existing) = groups::get_member(m.conn(), g.id, u.id).await? {
        return Ok((StatusCode::OK, Json(existing)));
    }
    let member = groups::add_member(m.conn(), g.tenant_id, g.id, u.id).await?;
    m.commit(Change::created(
        "group.member_add",
        Some(g.tenant_id),
        "group",
        g.id,
        &member,
    ))
    .await?;
    Ok((StatusCode::CREATED, Json(member)))
}

pub async fn remove_member(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
) -> Result<StatusCode, ApiError> {
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let g = caller.visible(
        groups::get(m.conn(), ids.get("id")).await?,
        |g| g.tenant_id,
        "group",
    )?;
    let member = groups::get_member(m.conn(), g.id, ids.get("user_id"))
        .await?
        .ok_or_else(|| ApiError::not_found("group member"))?;
    guard_operator_grant(&caller, g.grants_role)?;
    groups::remove_member(m.conn(), g.id, member.user_id).await?;
    m.commit(Change::deleted(
        "group.member_remove",
        Some(g.tenant_id),
        "group",
        g.id,
        &member,
    ))
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
