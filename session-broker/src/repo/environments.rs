//! The `environments` table.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe};
use uuid::Uuid;

use super::sql::Sql;
use crate::db::DbError;
use crate::db::row::{get_enum, get_string, get_time, get_uuid, millis, now};
use crate::model::{Environment, EnvironmentKind, NewEnvironment, Page, PageRequest};

const SELECT: &str = "SELECT id, tenant_id, kind, name, created_at, updated_at FROM environments";

fn from_row(r: &AnyRow) -> Result<Environment, DbError> {
    Ok(Environment {
        id: get_uuid(r, "id")?,
        tenant_id: get_uuid(r, "tenant_id")?,
        kind: get_enum(r, "kind")?,
        name: get_string(r, "name")?,
        created_at: get_time(r, "created_at")?,
        updated_at: get_time(r, "updated_at")?,
    })
}

pub async fn insert(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
    new: &NewEnvironment,
) -> Result<Environment, DbError> {
    let now = now();
    let e = Environment {
        id: super::new_id(),
        tenant_id,
        kind: new.kind,
        name: new.name.clone().unwrap_or_else(|| new.kind.to_string()),
        created_at: now,
        updated_at: now,
    };
    sqlx::query(
        "INSERT INTO environments (id, tenant_id, kind, name, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(e.id.to_string())
    .bind(tenant_id.to_string())
    .bind(e.kind.as_str())
    .bind(e.name.as_str())
    .bind(millis(now))
    .bind(millis(now))
    .execute(conn)
    .await?;
    Ok(e)
}

pub async fn get(conn: &mut AnyConnection, id: Uuid) -> Result<Option<Environment>, DbError> {
    let row = sqlx::query(AssertSqlSafe(format!("{SELECT} WHERE id = $1")))
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn get_by_kind(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
    kind: EnvironmentKind,
) -> Result<Option<Environment>, DbError> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "{SELECT} WHERE tenant_id = $1 AND kind = $2"
    )))
    .bind(tenant_id.to_string())
    .bind(kind.as_str())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn update(conn: &mut AnyConnection, e: &Environment) -> Result<Environment, DbError> {
    let mut e = e.clone();
    e.updated_at = now();
    sqlx::query("UPDATE environments SET name = $1, updated_at = $2 WHERE id = $3")
        .bind(e.name.as_str())
        .bind(millis(e.updated_at))
        .bind(e.id.to_string())
        .execute(conn)
        .await?;
    Ok(e)
}

pub async fn delete(conn: &mut AnyConnection, id: Uuid) -> Result<bool, DbError> {
    let r = sqlx::query("DELETE FROM environments WHERE id = $1")
        .bind(id.to_string())
        .execute(conn)
        .await?;
    Ok(r.rows_affected() > 0)
}

pub async fn list(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
    page: PageRequest,
) -> Result<Page<Environment>, DbError> {
    let mut sql = Sql::new(SELECT);
    sql.and_uuid("tenant_id", Some(tenant_id)).page(page, false);
    let rows = sql.fetch_all(conn).await?;
    let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, page.limit, |e| e.id))
}
