//! The `tenants` table.
//!
//! (In every repository, dynamic SQL is built from constant fragments only; values are
//! always bound parameters, hence `AssertSqlSafe`.)

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe};
use uuid::Uuid;

use super::sql::Sql;
use crate::db::DbError;
use crate::db::row::{get_string, get_time, get_uuid, millis, now};
use crate::model::{NewTenant, Page, PageRequest, Tenant};

const SELECT: &str = "SELECT id, slug, name, created_at, updated_at FROM tenants";

fn from_row(r: &AnyRow) -> Result<Tenant, DbError> {
    Ok(Tenant {
        id: get_uuid(r, "id")?,
        slug: get_string(r, "slug")?,
        name: get_string(r, "name")?,
        created_at: get_time(r, "created_at")?,
        updated_at: get_time(r, "updated_at")?,
    })
}

pub async fn insert(conn: &mut AnyConnection, new: &NewTenant) -> Result<Tenant, DbError> {
    let now = now();
    let t = Tenant {
        id: super::new_id(),
        slug: new.slug.clone(),
        name: new.name.clone(),
        created_at: now,
        updated_at: now,
    };
    sqlx::query(
        "INSERT INTO tenants (id, slug, name, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(t.id.to_string())
    .bind(t.slug.as_str())
    .bind(t.name.as_str())
    .bind(millis(now))
    .bind(millis(now))
    .execute(conn)
    .await?;
    Ok(t)
}

pub async fn get(conn: &mut AnyConnection, id: Uuid) -> Result<Option<Tenant>, DbError> {
    let row = sqlx::query(AssertSqlSafe(format!("{SELECT} WHERE id = $1")))
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn get_by_slug(conn: &mut AnyConnection, slug: &str) -> Result<Option<Tenant>, DbError> {
    let row = sqlx::query(AssertSqlSafe(format!("{SELECT} WHERE slug = $1")))
        .bind(slug)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Writes the mutable fields of `t` and returns it with the new `updated_at`.
pub async fn update(conn: &mut AnyConnection, t: &Tenant) -> Result<Tenant, DbError> {
    let mut t = t.clone();
    t.updated_at = now();
    sqlx::query("UPDATE tenants SET slug = $1, name = $2, updated_at = $3 WHERE id = $4")
        .bind(t.slug.as_str())
        .bind(t.name.as_str())
        .bind(millis(t.updated_at))
        .bind(t.id.to_string())
        .execute(conn)
        .await?;
    Ok(t)
}

/// True when a row was deleted.
pub async fn delete(conn: &mut AnyConnection, id: Uuid) -> Result<bool, DbError> {
    let r = sqlx::query("DELETE FROM tenants WHERE id = $1")
        .bind(id.to_string())
        .execute(conn)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// Lists tenants, optionally only `only` (the caller's own tenant).
pub async fn list(
    conn: &mut AnyConnection,
    only: Option<Uuid>,
    page: PageRequest,
) -> Result<Page<Tenant>, DbError> {
    let mut sql = Sql::new(SELECT);
    sql.and_uuid("id", only).page(page, false);
    let rows = sql.fetch_all(conn).await?;
    let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, page.limit, |t| t.id))
}
