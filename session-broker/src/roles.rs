//! Roles of portal users: `user` (launch entitled apps), `tenant_admin` (the admin API for
//! their own tenant) and `operator` (every tenant). A user's role is the strongest of the
//! one assigned directly (`PUT /users/{id}/role`) and those their groups grant
//! (`groups.grants_role`), so a SAML login that syncs group memberships by
//! `groups.external_id` gives roles with no further call. It is read at every request, so
//! a removed membership or assignment takes effect at once.

use sqlx::AnyConnection;

use crate::api::{Caller, Scope};
use crate::db::DbError;
use crate::model::{Role, User, UserRoles};
use crate::repo;

/// The user's direct role, the groups that grant one, and the effective role.
pub async fn user_roles(conn: &mut AnyConnection, user: &User) -> Result<UserRoles, DbError> {
    let direct = repo::access::direct_role(conn, user.id).await?;
    let via_groups = repo::access::group_grants(conn, user.id).await?;
    let effective = via_groups
        .iter()
        .fold(direct, |best, grant| best.max(grant.role));
    Ok(UserRoles {
        user_id: user.id,
        tenant_id: user.tenant_id,
        direct,
        via_groups,
        effective,
    })
}

/// The strongest role the user holds.
pub async fn effective_role(conn: &mut AnyConnection, user: &User) -> Result<Role, DbError> {
    Ok(user_roles(conn, user).await?.effective)
}

/// What a role may touch through the admin API: `None` for plain users.
pub fn scope_of(role: Role, user: &User) -> Option<Scope> {
    match role {
        Role::User => None,
        Role::TenantAdmin => Some(Scope::Tenant(user.tenant_id)),
        Role::Operator => Some(Scope::Operator),
    }
}

/// The admin API caller for a logged-in portal user, or `None` when their role is `user`.
pub async fn caller_for_user(
    conn: &mut AnyConnection,
    user: &User,
    source_address: Option<String>,
) -> Result<Option<Caller>, DbError> {
    let role = effective_role(conn, user).await?;
    Ok(scope_of(role, user).map(|scope| Caller {
        subject_cn: String::new(),
        client_id: None,
        name: user.display_name.clone(),
        scope,
        source_address,
        user_id: Some(user.id),
        host_id: None,
    }))
}
