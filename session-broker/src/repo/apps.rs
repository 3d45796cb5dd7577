//! The `apps` table.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe};
use uuid::Uuid;

use super::sql::Sql;
use crate::db::DbError;
use crate::db::row::{
    get_bool, get_enum, get_opt_string, get_string, get_time, get_uuid, millis, now,
};
use crate::model::{App, NewApp, Page, PageRequest};

const SELECT: &str = "SELECT id, tenant_id, environment_id, pool_id, display_name, kind, \
                      program, args, enabled, version, created_at, updated_at FROM apps";

fn from_row(r: &AnyRow) -> Result<App, DbError> {
    Ok(App {
        id: get_uuid(r, "id")?,
        tenant_id: get_uuid(r, "tenant_id")?,
        environment_id: get_uuid(r, "environment_id")?,
        pool_id: get_uuid(r, "pool_id")?,
        display_name: get_string(r, "display_name")?,
        kind: get_enum(r, "kind")?,
        program: get_opt_string(r, "program")?,
        args: get_opt_string(r, "args")?,
        enabled: get_bool(r, "enabled")?,
        version: get_opt_string(r, "version")?,
        created_at: get_time(r, "created_at")?,
        updated_at: get_time(r, "updated_at")?,
    })
}

pub async fn insert(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
    new: &NewApp,
) -> Result<App, DbError> {
    let now = now();
    let a = App {
        id: super::new_id(),
        tenant_id,
        environment_id: new.environment_id,
        pool_id: new.pool_id,
        display_name: new.display_name.clone(),
        kind: new.kind,
        program: new.program.clone(),
        args: new.args.clone(),
        enabled: new.enabled,
        version: new.version.clone(),
        created_at: now,
        updated_at: now,
    };
    sqlx::query(
        "INSERT INTO apps (id, tenant_id, environment_id, pool_id, display_name, kind, program, \
         args, enabled, created_at, updated_at, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(a.id.to_string())
    .bind(tenant_id.to_string())
    .bind(a.environment_id.to_string())
    .bind(a.pool_id.to_string())
    .bind(a.display_name.as_str())
    .bind(a.kind.as_str())
    .bind(a.program.clone())
    .bind(a.args.clone())
    .bind(a.enabled)
    .bind(millis(now))
    .bind(millis(now))
    .bind(a.version.clone())
    .execute(conn)
    .await?;
    Ok(a)
}

pub async fn get(conn: &mut AnyConnection, id: Uuid) -> Result<Option<App>, DbError> {
    let row = sqlx::query(AssertSqlSafe(format!("{SELECT} WHERE id = $1")))
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn get_by_name(
    conn: &mut AnyConnection,
    environment_id: Uuid,
    display_name: &str,
) -> Result<Option<App>, DbError> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "{SELECT} WHERE environment_id = $1 AND display_name = $2"
    )))
    .bind(environment_id.to_string())
    .bind(display_name)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Whether any app of `tenant_id` is published on `pool_id` (its hosts then run the
/// tenant's sessions, so its admins may watch them).
pub async fn tenant_uses_pool(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
    pool_id: Uuid,
) -> Result<bool, DbError> {
    let found: Option<String> =
        sqlx::query_scalar("SELECT id FROM apps WHERE tenant_id = $1 AND pool_id = $2 LIMIT 1")
            .bind(tenant_id.to_string())
            .bind(pool_id.to_string())
            .fetch_optional(conn)
            .await?;
    Ok(found.is_some())
}

pub async fn update(conn: &mut AnyConnection, a: &App) -> Result<App, DbError> {
    let mut a = a.clone();
    a.updated_at = now();
    sqlx::query(
        "UPDATE apps SET pool_id = $1, display_name = $2, kind = $3, program = $4, args = $5, \
         enabled = $6, updated_at = $7, version = $9 WHERE id = $8",
    )
    .bind(a.pool_id.to_string())
    .bind(a.display_name.as_str())
    .bind(a.kind.as_str())
    .bind(a.program.clone())
    .bind(a.args.clone())
    .bind(a.enabled)
    .bind(millis(a.updated_at))
    .bind(a.id.to_string())
    .bind(a.version.clone())
    .execute(conn)
    .await?;
    Ok(a)
}

pub async fn delete(conn: &mut AnyConnection, id: Uuid) -> Result<bool, DbError> {
    let r = sqlx::query("DELETE FROM apps WHERE id = $1")
        .bind(id.to_string())
        .execute(conn)
        .await?;
    Ok(r.rows_affected() > 0)
}

pub async fn list(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
    environment_id: Option<Uuid>,
    page: PageRequest,
) -> Result<Page<App>, DbError> {
    let mut sql = Sql::new(SELECT);
    sql.and_uuid("tenant_id", Some(tenant_id))
        .and_uuid("environment_id", environment_id)
        .page(page, false);
    let rows = sql.fetch_all(conn).await?;
    let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, page.limit, |a| a.id))
}

/// The enabled apps `user_id` may launch (granted directly or through a group), by name.
/// Apps of another tenant never match: entitlements share the app's tenant (foreign key).
pub async fn list_entitled(conn: &mut AnyConnection, user_id: Uuid) -> Result<Vec<App>, DbError> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "{SELECT} WHERE enabled = $1 AND id IN (SELECT e.app_id FROM entitlements e \
         WHERE e.user_id = $2 OR e.group_id IN \
         (SELECT group_id FROM group_members WHERE user_id = $2)) \
         ORDER BY display_name, id"
    )))
    .bind(true)
    .bind(user_id.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}
