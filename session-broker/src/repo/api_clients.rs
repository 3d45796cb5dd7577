//! The `api_clients` table.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe};
use uuid::Uuid;

use super::sql::Sql;
use crate::db::DbError;
use crate::db::row::{
    get_bool, get_enum, get_opt_uuid, get_string, get_time, get_uuid, millis, now,
};
use crate::model::{ApiClient, NewApiClient, Page, PageRequest};

const SELECT: &str = "SELECT id, name, subject_cn, scope, tenant_id, host_id, enabled, \
                      created_at, updated_at FROM api_clients";

fn from_row(r: &AnyRow) -> Result<ApiClient, DbError> {
    Ok(ApiClient {
        id: get_uuid(r, "id")?,
        name: get_string(r, "name")?,
        subject_cn: get_string(r, "subject_cn")?,
        scope: get_enum(r, "scope")?,
        tenant_id: get_opt_uuid(r, "tenant_id")?,
        host_id: get_opt_uuid(r, "host_id")?,
        enabled: get_bool(r, "enabled")?,
        created_at: get_time(r, "created_at")?,
        updated_at: get_time(r, "updated_at")?,
    })
}

pub async fn insert(conn: &mut AnyConnection, new: &NewApiClient) -> Result<ApiClient, DbError> {
    let now = now();
    let c = ApiClient {
        id: super::new_id(),
        name: new.name.clone(),
        subject_cn: new.subject_cn.clone(),
        scope: new.scope,
        tenant_id: new.tenant_id,
        host_id: new.host_id,
        enabled: new.enabled,
        created_at: now,
        updated_at: now,
    };
    sqlx::query(
        "INSERT INTO api_clients (id, name, subject_cn, scope, tenant_id, host_id, enabled, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(c.id.to_string())
    .bind(c.name.as_str())
    .bind(c.subject_cn.as_str())
    .bind(c.scope.as_str())
    .bind(c.tenant_id.map(|t| t.to_string()))
    .bind(c.host_id.map(|h| h.to_string()))
    .bind(c.enabled)
    .bind(millis(now))
    .bind(millis(now))
    .execute(conn)
    .await?;
    Ok(c)
}

pub async fn get(conn: &mut AnyConnection, id: Uuid) -> Result<Option<ApiClient>, DbError> {
    let row = sqlx::query(AssertSqlSafe(format!("{SELECT} WHERE id = $1")))
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn get_by_cn(conn: &mut AnyConnection, cn: &str) -> Result<Option<ApiClient>, DbError> {
    let row = sqlx::query(AssertSqlSafe(format!("{SELECT} WHERE subject_cn = $1")))
        .bind(cn)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn update(conn: &mut AnyConnection, c: &ApiClient) -> Result<ApiClient, DbError> {
    let mut c = c.clone();
    c.updated_at = now();
    sqlx::query("UPDATE api_clients SET name = $1, enabled = $2, updated_at = $3 WHERE id = $4")
        .bind(c.name.as_str())
        .bind(c.enabled)
        .bind(millis(c.updated_at))
        .bind(c.id.to_string())
        .execute(conn)
        .await?;
    Ok(c)
}

pub async fn delete(conn: &mut AnyConnection, id: Uuid) -> Result<bool, DbError> {
    let r = sqlx::query("DELETE FROM api_clients WHERE id = $1")
        .bind(id.to_string())
        .execute(conn)
        .await?;
    Ok(r.rows_affected() > 0)
}

pub async fn list(conn: &mut AnyConnection, page: PageRequest) -> Result<Page<ApiClient>, DbError> {
    let mut sql = Sql::new(SELECT);
    sql.page(page, false);
    let rows = sql.fetch_all(conn).await?;
    let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, page.limit, |c| c.id))
}
