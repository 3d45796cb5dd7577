//! The `service_windows` table.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe};
use time::OffsetDateTime;
use uuid::Uuid;

use super::sql::Sql;
use crate::db::DbError;
use crate::db::row::{get_bool, get_string, get_time, get_uuid, millis, now};
use crate::model::{NewServiceWindow, Page, PageRequest, ServiceWindow};

const SELECT: &str = "SELECT id, tenant_id, environment_id, starts_at, ends_at, title, \
                      description, emergency, created_at, updated_at FROM service_windows";

fn from_row(r: &AnyRow) -> Result<ServiceWindow, DbError> {
    Ok(ServiceWindow {
        id: get_uuid(r, "id")?,
        tenant_id: get_uuid(r, "tenant_id")?,
        environment_id: get_uuid(r, "environment_id")?,
        starts_at: get_time(r, "starts_at")?,
        ends_at: get_time(r, "ends_at")?,
        title: get_string(r, "title")?,
        description: get_string(r, "description")?,
        emergency: get_bool(r, "emergency")?,
        created_at: get_time(r, "created_at")?,
        updated_at: get_time(r, "updated_at")?,
    })
}

pub async fn insert(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
    environment_id: Uuid,
    new: &NewServiceWindow,
) -> Result<ServiceWindow, DbError> {
    let now = now();
    let w = ServiceWindow {
        id: super::new_id(),
        tenant_id,
        environment_id,
        starts_at: new.starts_at,
        ends_at: new.ends_at,
        title: new.title.clone(),
        description: new.description.clone(),
        emergency: new.emergency,
        created_at: now,
        updated_at: now,
    };
    sqlx::query(
        "INSERT INTO service_windows (id, tenant_id, environment_id, starts_at, ends_at, title, \
         description, emergency, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(w.id.to_string())
    .bind(tenant_id.to_string())
    .bind(environment_id.to_string())
    .bind(millis(w.starts_at))
    .bind(millis(w.ends_at))
    .bind(w.title.as_str())
    .bind(w.description.as_str())
    .bind(w.emergency)
    .bind(millis(now))
    .bind(millis(now))
    .execute(conn)
    .await?;
    Ok(w)
}

pub async fn get(conn: &mut AnyConnection, id: Uuid) -> Result<Option<ServiceWindow>, DbError> {
    let row = sqlx::query(AssertSqlSafe(format!("{SELECT} WHERE id = $1")))
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn delete(conn: &mut AnyConnection, id: Uuid) -> Result<bool, DbError> {
    let r = sqlx::query("DELETE FROM service_windows WHERE id = $1")
        .bind(id.to_string())
        .execute(conn)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// Windows of an environment that have not ended by `after`, in id (creation) order.
pub async fn list_upcoming(
    conn: &mut AnyConnection,
    environment_id: Uuid,
    after: OffsetDateTime,
    page: PageRequest,
) -> Result<Page<ServiceWindow>, DbError> {
    let mut sql = Sql::new(SELECT);
    sql.and_uuid("environment_id", Some(environment_id))
        .and_time("ends_at", ">", Some(after))
        .page(page, false);
    let rows = sql.fetch_all(conn).await?;
    let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, page.limit, |w| w.id))
}
