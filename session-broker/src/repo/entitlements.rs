//! The `entitlements` table.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe};
use uuid::Uuid;

use super::sql::Sql;
use crate::db::DbError;
use crate::db::row::{get_opt_uuid, get_time, get_uuid, millis, now};
use crate::model::{Entitlement, NewEntitlement, Page, PageRequest};

const SELECT: &str =
    "SELECT id, tenant_id, app_id, group_id, user_id, created_at FROM entitlements";

fn from_row(r: &AnyRow) -> Result<Entitlement, DbError> {
    Ok(Entitlement {
        id: get_uuid(r, "id")?,
        tenant_id: get_uuid(r, "tenant_id")?,
        app_id: get_uuid(r, "app_id")?,
        group_id: get_opt_uuid(r, "group_id")?,
        user_id: get_opt_uuid(r, "user_id")?,
        created_at: get_time(r, "created_at")?,
    })
}

/// Grants the app; app, group and user must belong to `tenant_id` (foreign keys).
pub async fn insert(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
    app_id: Uuid,
    new: &NewEntitlement,
) -> Result<Entitlement, DbError> {
    let e = Entitlement {
        id: super::new_id(),
        tenant_id,
        app_id,
        group_id: new.group_id,
        user_id: new.user_id,
        created_at: now(),
    };
    sqlx::query(
        "INSERT INTO entitlements (id, tenant_id, app_id, group_id, user_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(e.id.to_string())
    .bind(tenant_id.to_string())
    .bind(app_id.to_string())
    .bind(e.group_id.map(|g| g.to_string()))
    .bind(e.user_id.map(|u| u.to_string()))
    .bind(millis(e.created_at))
    .execute(conn)
    .await?;
    Ok(e)
}

pub async fn get(conn: &mut AnyConnection, id: Uuid) -> Result<Option<Entitlement>, DbError> {
    let row = sqlx::query(AssertSqlSafe(format!("{SELECT} WHERE id = $1")))
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn find_for_group(
    conn: &mut AnyConnection,
    app_id: Uuid,
    group_id: Uuid,
) -> Result<Option<Entitlement>, DbError> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "{SELECT} WHERE app_id = $1 AND group_id = $2"
    )))
    .bind(app_id.to_string())
    .bind(group_id.to_string())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn delete(conn: &mut AnyConnection, id: Uuid) -> Result<bool, DbError> {
    let r = sqlx::query("DELETE FROM entitlements WHERE id = $1")
        .bind(id.to_string())
        .execute(conn)
        .await?;
    Ok(r.rows_affected() > 0)
}

pub async fn list_for_app(
    conn: &mut AnyConnection,
    app_id: Uuid,
    page: PageRequest,
) -> Result<Page<Entitlement>, DbError> {
    let mut sql = Sql::new(SELECT);
    sql.and_uuid("app_id", Some(app_id)).page(page, false);
    let rows = sql.fetch_all(conn).await?;
    let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, page.limit, |e| e.id))
}

/// Whether the user may launch the app: granted directly or through a group.
pub async fn is_entitled(
    conn: &mut AnyConnection,
    app_id: Uuid,
    user_id: Uuid,
) -> Result<bool, DbError> {
    let row = sqlx::query(
        "SELECT 1 AS hit FROM entitlements e WHERE e.app_id = $1 AND (e.user_id = $2 OR \
         e.group_id IN (SELECT group_id FROM group_members WHERE user_id = $2)) LIMIT 1",
    )
    .bind(app_id.to_string())
    .bind(user_id.to_string())
    .fetch_optional(conn)
    .await?;
    Ok(row.is_some())
}
