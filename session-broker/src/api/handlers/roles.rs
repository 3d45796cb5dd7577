//! `/users/{id}/role`: a user's roles (direct, granted by groups, effective) and the
//! direct assignment. Only operators make operators; a tenant-admin administers roles of
//! their own tenant.

use axum::Json;
use axum::extract::State;

use crate::api::AdminState;
use crate::api::caller::Caller;
use crate::api::extract::{Body, Ids};
use crate::api::mutation::{Change, Mutation};
use crate::api::problem::ApiError;
use crate::model::{Role, RoleAssignment, UserRoles};
use crate::repo::users;
use crate::roles;

pub async fn get(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
) -> Result<Json<UserRoles>, ApiError> {
    let mut conn = s.conn().await?;
    let u = caller.visible(
        users::get(&mut conn, ids.id()).await?,
        |u| u.tenant_id,
        "user",
    )?;
    Ok(Json(roles::user_roles(&mut conn, &u).await?))
}

pub async fn set(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
    Body(assignment): Body<RoleAssignment>,
) -> Result<Json<UserRoles>, ApiError> {
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let u = caller.visible(
        users::get(m.conn(), ids.id()).await?,
        |u| u.tenant_id,
        "user",
    )?;
    let before = roles::user_roles(m.conn(), &u).await?;
    // Making or unmaking an operator reaches beyond the tenant.
    if (assignment.role == Role::Operator || before.direct == Role::Operator)
        && !caller.is_operator()
    {
        return Err(ApiError::forbidden(
            "only operators assign or remove the operator role",
        ));
    }
    crate::repo::access::set_direct_role(m.conn(), u.tenant_id, u.id, assignment.role).await?;
    let after = roles::user_roles(m.conn(), &u).await?;
    m.commit(Change::updated(
        "user.role_set",
        Some(u.tenant_id),
        "user",
        u.id,
        &before,
        &after,
    ))
    .await?;
    Ok(Json(after))
}
