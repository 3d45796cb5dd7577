//! The `users` table.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe};
use time::OffsetDateTime;
use uuid::Uuid;

use super::sql::Sql;
use crate::db::DbError;
use crate::db::row::{get_opt_string, get_opt_time, get_string, get_time, get_uuid, millis, now};
use crate::model::{NewUser, Page, PageRequest, User};

const SELECT: &str = "SELECT id, tenant_id, name_id, hsa_id, display_name, last_login_at, \
                      created_at, updated_at FROM users";

fn from_row(r: &AnyRow) -> Result<User, DbError> {
    Ok(User {
        id: get_uuid(r, "id")?,
        tenant_id: get_uuid(r, "tenant_id")?,
        name_id: get_string(r, "name_id")?,
        hsa_id: get_opt_string(r, "hsa_id")?,
        display_name: get_string(r, "display_name")?,
        last_login_at: get_opt_time(r, "last_login_at")?,
        created_at: get_time(r, "created_at")?,
        updated_at: get_time(r, "updated_at")?,
    })
}

pub async fn insert(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
    new: &NewUser,
) -> Result<User, DbError> {
    let now = now();
    let u = User {
        id: super::new_id(),
        tenant_id,
        name_id: new.name_id.clone(),
        hsa_id: new.hsa_id.clone(),
        display_name: new.display_name.clone(),
        last_login_at: None,
        created_at: now,
        updated_at: now,
    };
    sqlx::query(
        "INSERT INTO users (id, tenant_id, name_id, hsa_id, display_name, last_login_at, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, NULL, $6, $7)",
    )
    .bind(u.id.to_string())
    .bind(tenant_id.to_string())
    .bind(u.name_id.as_str())
    .bind(u.hsa_id.clone())
    .bind(u.display_name.as_str())
    .bind(millis(now))
    .bind(millis(now))
    .execute(conn)
    .await?;
    Ok(u)
}

pub async fn get(conn: &mut AnyConnection, id: Uuid) -> Result<Option<User>, DbError> {
    let row = sqlx::query(AssertSqlSafe(format!("{SELECT} WHERE id = $1")))
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The user, with their row locked for the rest of the transaction on PostgreSQL (`FOR
/// NO KEY UPDATE`; SQLite's write transaction holds the database). A launch takes it
/// first: the user's own launches then run one after the other, so the second sees the
/// first's session (roaming) and counts it (the per-user limit), while other users'
/// launches are not held up.
pub async fn get_for_launch(conn: &mut AnyConnection, id: Uuid) -> Result<Option<User>, DbError> {
    let lock = if conn.backend_name().eq_ignore_ascii_case("postgresql") {
        " FOR NO KEY UPDATE"
    } else {
        ""
    };
    let row = sqlx::query(AssertSqlSafe(format!("{SELECT} WHERE id = $1{lock}")))
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn get_by_name_id(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
    name_id: &str,
) -> Result<Option<User>, DbError> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "{SELECT} WHERE tenant_id = $1 AND name_id = $2"
    )))
    .bind(tenant_id.to_string())
    .bind(name_id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Users with `name_id` in any tenant (at most `limit`), for logins that do not name the
/// tenant: the caller decides what more than one match means.
pub async fn find_by_name_id(
    conn: &mut AnyConnection,
    name_id: &str,
    limit: u32,
) -> Result<Vec<User>, DbError> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "{SELECT} WHERE name_id = $1 ORDER BY id LIMIT $2"
    )))
    .bind(name_id)
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Users with this HSA-ID in any tenant (at most `limit`), for SITHS card logins: the
/// caller decides what more than one match means.
pub async fn find_by_hsa_id(
    conn: &mut AnyConnection,
    hsa_id: &str,
    limit: u32,
) -> Result<Vec<User>, DbError> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "{SELECT} WHERE hsa_id = $1 ORDER BY id LIMIT $2"
    )))
    .bind(hsa_id)
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

pub async fn update(conn: &mut AnyConnection, u: &User) -> Result<User, DbError> {
    let mut u = u.clone();
    u.updated_at = now();
    sqlx::query(
        "UPDATE users SET hsa_id = $1, display_name = $2, last_login_at = $3, updated_at = $4 \
         WHERE id = $5",
    )
    .bind(u.hsa_id.clone())
    .bind(u.display_name.as_str())
    .bind(u.last_login_at.map(millis))
    .bind(millis(u.updated_at))
    .bind(u.id.to_string())
    .execute(conn)
    .await?;
    Ok(u)
}

/// Records a successful login.
pub async fn touch_login(
    conn: &mut AnyConnection,
    id: Uuid,
    at: OffsetDateTime,
) -> Result<bool, DbError> {
    let r = sqlx::query("UPDATE users SET last_login_at = $1 WHERE id = $2")
        .bind(millis(at))
        .bind(id.to_string())
        .execute(conn)
        .await?;
    Ok(r.rows_affected() > 0)
}

pub async fn delete(conn: &mut AnyConnection, id: Uuid) -> Result<bool, DbError> {
    let r = sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(id.to_string())
        .execute(conn)
        .await?;
    Ok(r.rows_affected() > 0)
}

pub async fn list(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
    page: PageRequest,
) -> Result<Page<User>, DbError> {
    let mut sql = Sql::new(SELECT);
    sql.and_uuid("tenant_id", Some(tenant_id)).page(page, false);
    let rows = sql.fetch_all(conn).await?;
    let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, page.limit, |u| u.id))
}

/// The portal language the user chose (`sv` or `en`), if any.
pub async fn language(conn: &mut AnyConnection, id: Uuid) -> Result<Option<String>, DbError> {
    let row = sqlx::query("SELECT language FROM users WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    match row {
        Some(r) => get_opt_string(&r, "language"),
        None => Ok(None),
    }
}

/// Remembers the user's portal language (`sv` or `en`; the table refuses anything else).
pub async fn set_language(
    conn: &mut AnyConnection,
    id: Uuid,
    language: &str,
) -> Result<bool, DbError> {
    let r = sqlx::query("UPDATE users SET language = $1 WHERE id = $2")
        .bind(language)
        .bind(id.to_string())
        .execute(conn)
        .await?;
    Ok(r.rows_affected() > 0)
}
