//! Access control tables: `user_roles` (a role assigned directly), the role groups grant
//! (`groups.grants_role`), `tenant_web_session_settings`, and the joins behind the access
//! review and its revoke. Every query names the tenant or a row that carries it.

use sqlx::AnyConnection;
use sqlx::any::AnyRow;
use uuid::Uuid;

use crate::db::DbError;
use crate::db::row::{
    get_bool, get_enum, get_i64, get_opt_uuid, get_string, get_uuid, millis, now,
};
use crate::model::{AccessPath, AccessVia, Role, RoleGrant};

fn role_of(text: &str) -> Result<Role, DbError> {
    text.parse::<Role>()
        .map_err(|e| DbError::Corrupt(format!("role {text:?}: {e}")))
}

/// The role assigned to the user directly (`User` when none).
pub async fn direct_role(conn: &mut AnyConnection, user_id: Uuid) -> Result<Role, DbError> {
    let role: Option<String> = sqlx::query_scalar("SELECT role FROM user_roles WHERE user_id = $1")
        .bind(user_id.to_string())
        .fetch_optional(conn)
        .await?;
    role.as_deref().map_or(Ok(Role::User), role_of)
}

/// Assigns `role` to the user directly (`User` removes the assignment); returns the
/// previous one.
pub async fn set_direct_role(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
    user_id: Uuid,
    role: Role,
) -> Result<Role, DbError> {
    let before = direct_role(conn, user_id).await?;
    sqlx::query("DELETE FROM user_roles WHERE user_id = $1")
        .bind(user_id.to_string())
        .execute(&mut *conn)
        .await?;
    if role != Role::User {
        sqlx::query(
            "INSERT INTO user_roles (user_id, tenant_id, role, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(user_id.to_string())
        .bind(tenant_id.to_string())
        .bind(role.as_str().to_owned())
        .bind(millis(now()))
        .execute(conn)
        .await?;
    }
    Ok(before)
}

/// The groups of the user that grant a role.
pub async fn group_grants(
    conn: &mut AnyConnection,
    user_id: Uuid,
) -> Result<Vec<RoleGrant>, DbError> {
    let rows = sqlx::query(
        "SELECT g.id AS id, g.name AS name, g.grants_role AS role FROM groups g \
         JOIN group_members m ON m.group_id = g.id AND m.tenant_id = g.tenant_id \
         WHERE m.user_id = $1 AND g.grants_role IS NOT NULL ORDER BY g.name, g.id",
    )
    .bind(user_id.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(RoleGrant {
                group_id: get_uuid(r, "id")?,
                group_name: get_string(r, "name")?,
                role: role_of(&get_string(r, "role")?)?,
            })
        })
        .collect()
}

/// A tenant's web-session lifetimes in seconds (idle, absolute), if it set its own.
pub async fn web_session_settings(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
) -> Result<Option<(u64, u64)>, DbError> {
    let row = sqlx::query(
        "SELECT idle_timeout_secs, max_lifetime_secs FROM tenant_web_session_settings \
         WHERE tenant_id = $1",
    )
    .bind(tenant_id.to_string())
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        let idle = get_i64(&r, "idle_timeout_secs")?;
        let max = get_i64(&r, "max_lifetime_secs")?;
        Ok((idle.max(0).unsigned_abs(), max.max(0).unsigned_abs()))
    })
    .transpose()
}

/// Sets a tenant's web-session lifetimes (seconds).
pub async fn set_web_session_settings(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
    idle_secs: u64,
    max_secs: u64,
) -> Result<(), DbError> {
    let idle = i64::try_from(idle_secs).unwrap_or(i64::MAX);
    let max = i64::try_from(max_secs).unwrap_or(i64::MAX);
    sqlx::query(
        "INSERT INTO tenant_web_session_settings (tenant_id, idle_timeout_secs, \
         max_lifetime_secs, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (tenant_id) DO UPDATE SET idle_timeout_secs = excluded.idle_timeout_secs, \
         max_lifetime_secs = excluded.max_lifetime_secs, updated_at = excluded.updated_at",
    )
    .bind(tenant_id.to_string())
    .bind(idle)
    .bind(max)
    .bind(millis(now()))
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes a tenant's own lifetimes (the defaults apply again).
pub async fn clear_web_session_settings(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
) -> Result<bool, DbError> {
    let r = sqlx::query("DELETE FROM tenant_web_session_settings WHERE tenant_id = $1")
        .bind(tenant_id.to_string())
        .execute(conn)
        .await?;
    Ok(r.rows_affected() > 0)
}

fn path_from_row(r: &AnyRow) -> Result<(Uuid, AccessPath), DbError> {
    let group_id = get_opt_uuid(r, "group_id")?;
    let group_name: Option<String> = sqlx::Row::try_get(r, "group_name")
        .map_err(|e| DbError::Corrupt(format!("column group_name: {e}")))?;
    Ok((
        get_uuid(r, "user_id")?,
        AccessPath {
            app_id: get_uuid(r, "app_id")?,
            app_name: get_string(r, "app_name")?,
            app_enabled: get_bool(r, "app_enabled")?,
            environment: get_enum(r, "env_kind")?,
            via: if group_id.is_some() {
                AccessVia::Group
            } else {
                AccessVia::Direct
            },
            group_id,
            group_name,
        },
    ))
}

/// Every path from a user of the tenant to an app: direct entitlements and entitlements
/// of the user's groups, ordered by user, app and group.
pub async fn access_paths(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
) -> Result<Vec<(Uuid, AccessPath)>, DbError> {
    let rows = sqlx::query(
        "SELECT e.user_id AS user_id, a.id AS app_id, a.display_name AS app_name, \
         a.enabled AS app_enabled, v.kind AS env_kind, NULL AS group_id, NULL AS group_name, \
         0 AS via_rank \
         FROM entitlements e JOIN apps a ON a.id = e.app_id AND a.tenant_id = e.tenant_id \
         JOIN environments v ON v.id = a.environment_id AND v.tenant_id = a.tenant_id \
         WHERE e.tenant_id = $1 AND e.user_id IS NOT NULL \
         UNION ALL \
         SELECT m.user_id AS user_id, a.id AS app_id, a.display_name AS app_name, \
         a.enabled AS app_enabled, v.kind AS env_kind, g.id AS group_id, g.name AS group_name, \
         1 AS via_rank \
         FROM group_members m JOIN groups g ON g.id = m.group_id AND g.tenant_id = m.tenant_id \
         JOIN entitlements e ON e.group_id = g.id AND e.tenant_id = g.tenant_id \
         JOIN apps a ON a.id = e.app_id AND a.tenant_id = e.tenant_id \
         JOIN environments v ON v.id = a.environment_id AND v.tenant_id = a.tenant_id \
         WHERE m.tenant_id = $1 \
         ORDER BY user_id, app_name, app_id, via_rank, group_name",
    )
    .bind(tenant_id.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(path_from_row).collect()
}

/// (user, group name) of every membership in the tenant.
pub async fn memberships(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
) -> Result<Vec<(Uuid, String)>, DbError> {
    let rows = sqlx::query(
        "SELECT m.user_id AS user_id, g.name AS name FROM group_members m \
         JOIN groups g ON g.id = m.group_id AND g.tenant_id = m.tenant_id \
         WHERE m.tenant_id = $1 ORDER BY m.user_id, g.name",
    )
    .bind(tenant_id.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| Ok((get_uuid(r, "user_id")?, get_string(r, "name")?)))
        .collect()
}

/// (user, directly assigned role) of the tenant.
pub async fn direct_roles(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
) -> Result<Vec<(Uuid, Role)>, DbError> {
    let rows = sqlx::query("SELECT user_id, role FROM user_roles WHERE tenant_id = $1")
        .bind(tenant_id.to_string())
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| Ok((get_uuid(r, "user_id")?, role_of(&get_string(r, "role")?)?)))
        .collect()
}

/// (user, role a group grants) of the tenant.
pub async fn granted_roles(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
) -> Result<Vec<(Uuid, Role)>, DbError> {
    let rows = sqlx::query(
        "SELECT m.user_id AS user_id, g.grants_role AS role FROM group_members m \
         JOIN groups g ON g.id = m.group_id AND g.tenant_id = m.tenant_id \
         WHERE m.tenant_id = $1 AND g.grants_role IS NOT NULL",
    )
    .bind(tenant_id.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| Ok((get_uuid(r, "user_id")?, role_of(&get_string(r, "role")?)?)))
        .collect()
}

/// Removes the user's direct entitlements; returns how many.
pub async fn delete_direct_entitlements(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
    user_id: Uuid,
) -> Result<u64, DbError> {
    let r = sqlx::query("DELETE FROM entitlements WHERE tenant_id = $1 AND user_id = $2")
        .bind(tenant_id.to_string())
        .bind(user_id.to_string())
        .execute(conn)
        .await?;
    Ok(r.rows_affected())
}

/// Removes the user from every group; returns how many memberships.
pub async fn delete_memberships(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
    user_id: Uuid,
) -> Result<u64, DbError> {
    let r = sqlx::query("DELETE FROM group_members WHERE tenant_id = $1 AND user_id = $2")
        .bind(tenant_id.to_string())
        .bind(user_id.to_string())
        .execute(conn)
        .await?;
    Ok(r.rows_affected())
}
