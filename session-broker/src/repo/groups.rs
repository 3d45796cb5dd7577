//! The `groups` and `group_members` tables.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe};
use uuid::Uuid;

use super::sql::Sql;
use crate::db::DbError;
use crate::db::row::{get_opt_string, get_string, get_time, get_uuid, millis, now};
use crate::model::Role;
use crate::model::{Group, GroupMember, NewGroup, Page, PageRequest};

const SELECT: &str =
    "SELECT id, tenant_id, name, external_id, grants_role, created_at, updated_at FROM groups";

fn from_row(r: &AnyRow) -> Result<Group, DbError> {
    Ok(Group {
        id: get_uuid(r, "id")?,
        tenant_id: get_uuid(r, "tenant_id")?,
        name: get_string(r, "name")?,
        external_id: get_opt_string(r, "external_id")?,
        grants_role: get_opt_string(r, "grants_role")?
            .map(|t| {
                t.parse::<Role>()
                    .map_err(|e| DbError::Corrupt(format!("column grants_role: {e}")))
            })
            .transpose()?,
        created_at: get_time(r, "created_at")?,
        updated_at: get_time(r, "updated_at")?,
    })
}

pub async fn insert(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
    new: &NewGroup,
) -> Result<Group, DbError> {
    let now = now();
    let g = Group {
        id: super::new_id(),
        tenant_id,
        name: new.name.clone(),
        external_id: new.external_id.clone(),
        grants_role: new.grants_role,
        created_at: now,
        updated_at: now,
    };
    sqlx::query(
        "INSERT INTO groups (id, tenant_id, name, external_id, grants_role, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(g.id.to_string())
    .bind(tenant_id.to_string())
    .bind(g.name.as_str())
    .bind(g.external_id.clone())
    .bind(g.grants_role.map(|r| r.as_str().to_owned()))
    .bind(millis(now))
    .bind(millis(now))
    .execute(conn)
    .await?;
    Ok(g)
}

pub async fn get(conn: &mut AnyConnection, id: Uuid) -> Result<Option<Group>, DbError> {
    let row = sqlx::query(AssertSqlSafe(format!("{SELECT} WHERE id = $1")))
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn get_by_name(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
    name: &str,
) -> Result<Option<Group>, DbError> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "{SELECT} WHERE tenant_id = $1 AND name = $2"
    )))
    .bind(tenant_id.to_string())
    .bind(name)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn update(conn: &mut AnyConnection, g: &Group) -> Result<Group, DbError> {
    let mut g = g.clone();
    g.updated_at = now();
    sqlx::query(
        "UPDATE groups SET name = $1, external_id = $2, grants_role = $3, updated_at = $4 \
         WHERE id = $5",
    )
    .bind(g.name.as_str())
    .bind(g.external_id.clone())
    .bind(g.grants_role.map(|r| r.as_str().to_owned()))
    .bind(millis(g.updated_at))
    .bind(g.id.to_string())
    .execute(conn)
    .await?;
    Ok(g)
}

/// Deletes the group; its memberships and entitlements go with it.
pub async fn delete(conn: &mut AnyConnection, id: Uuid) -> Result<bool, DbError> {
    let r = sqlx::query("DELETE FROM groups WHERE id = $1")
        .bind(id.to_string())
        .execute(conn)
        .await?;
    Ok(r.rows_affected() > 0)
}

pub async fn list(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
    page: PageRequest,
) -> Result<Page<Group>, DbError> {
    let mut sql = Sql::new(SELECT);
    sql.and_uuid("tenant_id", Some(tenant_id)).page(page, false);
    let rows = sql.fetch_all(conn).await?;
    let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, page.limit, |g| g.id))
}

fn member_from_row(r: &AnyRow) -> Result<GroupMember, DbError> {
    Ok(GroupMember {
        group_id: get_uuid(r, "group_id")?,
        user_id: get_uuid(r, "user_id")?,
        tenant_id: get_uuid(r, "tenant_id")?,
        created_at: get_time(r, "created_at")?,
    })
}

/// Adds a member. Group and user must belong to `tenant_id` (enforced by foreign keys).
pub async fn add_member(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
    group_id: Uuid,
    user_id: Uuid,
) -> Result<GroupMember, DbError> {
    let m = GroupMember {
        group_id,
        user_id,
        tenant_id,
        created_at: now(),
    };
    sqlx::query(
        "INSERT INTO group_members (tenant_id, group_id, user_id, created_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(tenant_id.to_string())
    .bind(group_id.to_string())
    .bind(user_id.to_string())
    .bind(millis(m.created_at))
    .execute(conn)
    .await?;
    Ok(m)
}

pub async fn get_member(
    conn: &mut AnyConnection,
    group_id: Uuid,
    user_id: Uuid,
) -> Result<Option<GroupMember>, DbError> {
    let row = sqlx::query(
        "SELECT tenant_id, group_id, user_id, created_at FROM group_members \
         WHERE group_id = $1 AND user_id = $2",
    )
    .bind(group_id.to_string())
    .bind(user_id.to_string())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(member_from_row).transpose()
}

pub async fn remove_member(
    conn: &mut AnyConnection,
    group_id: Uuid,
    user_id: Uuid,
) -> Result<bool, DbError> {
    let r = sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2")
        .bind(group_id.to_string())
        .bind(user_id.to_string())
        .execute(conn)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// Members of a group, paged by user id.
pub async fn list_members(
    conn: &mut AnyConnection,
    group_id: Uuid,
    page: PageRequest,
) -> Result<Page<GroupMember>, DbError> {
    let mut sql = Sql::new("SELECT tenant_id, group_id, user_id, created_at FROM group_members");
    sql.and_uuid("group_id", Some(group_id))
        .page_by("user_id", page, false);
    let rows = sql.fetch_all(conn).await?;
    let items = rows
        .iter()
        .map(member_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, page.limit, |m| m.user_id))
}
