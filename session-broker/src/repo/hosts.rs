//! The `hosts` table.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe};
use time::OffsetDateTime;
use uuid::Uuid;

use super::sql::Sql;
use crate::db::DbError;
use crate::db::row::{
    get_enum, get_i64, get_opt_string, get_opt_time, get_string, get_time, get_uuid, millis, now,
};
use crate::model::{Host, HostHealth, NewHost, Page, PageRequest};

const SELECT: &str = "SELECT id, pool_id, name, address, port, capacity, state, health, \
                      health_checked_at, version, recycle_to, created_at, updated_at FROM hosts";

fn from_row(r: &AnyRow) -> Result<Host, DbError> {
    let port = get_i64(r, "port")?;
    let capacity = get_i64(r, "capacity")?;
    Ok(Host {
        id: get_uuid(r, "id")?,
        pool_id: get_uuid(r, "pool_id")?,
        name: get_string(r, "name")?,
        address: get_string(r, "address")?,
        port: u16::try_from(port).map_err(|e| DbError::Corrupt(format!("port: {e}")))?,
        capacity: u32::try_from(capacity)
            .map_err(|e| DbError::Corrupt(format!("capacity: {e}")))?,
        state: get_enum(r, "state")?,
        health: get_enum(r, "health")?,
        health_checked_at: get_opt_time(r, "health_checked_at")?,
        version: get_opt_string(r, "version")?,
        recycle_to: get_opt_string(r, "recycle_to")?,
        created_at: get_time(r, "created_at")?,
        updated_at: get_time(r, "updated_at")?,
    })
}

pub async fn insert(
    conn: &mut AnyConnection,
    pool_id: Uuid,
    new: &NewHost,
) -> Result<Host, DbError> {
    let now = now();
    let h = Host {
        id: super::new_id(),
        pool_id,
        name: new.name.clone(),
        address: new.address.clone(),
        port: new.port,
        capacity: new.capacity,
        state: new.state,
        health: HostHealth::Unknown,
        health_checked_at: None,
        version: None,
        recycle_to: None,
        created_at: now,
        updated_at: now,
    };
    sqlx::query(
        "INSERT INTO hosts (id, pool_id, name, address, port, capacity, state, health, \
         health_checked_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $9, $10)",
    )
    .bind(h.id.to_string())
    .bind(pool_id.to_string())
    .bind(h.name.as_str())
    .bind(h.address.as_str())
    .bind(i64::from(h.port))
    .bind(i64::from(h.capacity))
    .bind(h.state.as_str())
    .bind(h.health.as_str())
    .bind(millis(now))
    .bind(millis(now))
    .execute(conn)
    .await?;
    Ok(h)
}

/// Takes a seat on `host_id` for a new session if the host may have one now: active, not
/// unhealthy, fewer live sessions (its counter) than its capacity, and fewer logons in
/// progress than `max_logons` (0: no limit). On PostgreSQL the row is locked for the rest
/// of the transaction (`FOR NO KEY UPDATE`, which the sessions foreign key's share lock
/// does not conflict with): a launch racing for the same host waits, and then sees the
/// counter the first one's session row raised, so no two brokers overfill a host. On
/// SQLite the transaction already holds the write lock. `None`: the seat is gone.
pub async fn take_seat(
    conn: &mut AnyConnection,
    id: Uuid,
    max_logons: u32,
) -> Result<Option<Host>, DbError> {
    let lock = if conn.backend_name().eq_ignore_ascii_case("postgresql") {
        " FOR NO KEY UPDATE"
    } else {
        ""
    };
    let row = sqlx::query(AssertSqlSafe(format!(
        "{SELECT} WHERE id = $1 AND state = 'active' AND health <> 'unhealthy' \
         AND live_sessions < capacity AND ($2 = 0 OR logons < $2){lock}"
    )))
    .bind(id.to_string())
    .bind(i64::from(max_logons))
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn get(conn: &mut AnyConnection, id: Uuid) -> Result<Option<Host>, DbError> {
    let row = sqlx::query(AssertSqlSafe(format!("{SELECT} WHERE id = $1")))
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn get_by_name(
    conn: &mut AnyConnection,
    pool_id: Uuid,
    name: &str,
) -> Result<Option<Host>, DbError> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "{SELECT} WHERE pool_id = $1 AND name = $2"
    )))
    .bind(pool_id.to_string())
    .bind(name)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Writes every mutable field (including state and health).
pub async fn update(conn: &mut AnyConnection, h: &Host) -> Result<Host, DbError> {
    let mut h = h.clone();
    h.updated_at = now();
    sqlx::query(
        "UPDATE hosts SET name = $1, address = $2, port = $3, capacity = $4, state = $5, \
         health = $6, health_checked_at = $7, updated_at = $8, version = $10, recycle_to = $11 \
         WHERE id = $9",
    )
    .bind(h.name.as_str())
    .bind(h.address.as_str())
    .bind(i64::from(h.port))
    .bind(i64::from(h.capacity))
    .bind(h.state.as_str())
    .bind(h.health.as_str())
    .bind(h.health_checked_at.map(millis))
    .bind(millis(h.updated_at))
    .bind(h.id.to_string())
    .bind(h.version.clone())
    .bind(h.recycle_to.clone())
    .execute(conn)
    .await?;
    Ok(h)
}

/// Every host of a pool, by name.
pub async fn in_pool(conn: &mut AnyConnection, pool_id: Uuid) -> Result<Vec<Host>, DbError> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "{SELECT} WHERE pool_id = $1 ORDER BY name"
    )))
    .bind(pool_id.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Every host of every pool (for the health monitor).
pub async fn all(conn: &mut AnyConnection) -> Result<Vec<Host>, DbError> {
    let rows = sqlx::query(AssertSqlSafe(format!("{SELECT} ORDER BY pool_id, name")))
        .fetch_all(conn)
        .await?;
    rows.iter().map(from_row).collect()
}

/// Records a probe: the host's health and when it was checked.
pub async fn set_health(
    conn: &mut AnyConnection,
    id: Uuid,
    health: HostHealth,
    at: OffsetDateTime,
) -> Result<bool, DbError> {
    let r = sqlx::query("UPDATE hosts SET health = $1, health_checked_at = $2 WHERE id = $3")
        .bind(health.as_str())
        .bind(millis(at))
        .bind(id.to_string())
        .execute(conn)
        .await?;
    Ok(r.rows_affected() > 0)
}

pub async fn delete(conn: &mut AnyConnection, id: Uuid) -> Result<bool, DbError> {
    let r = sqlx::query("DELETE FROM hosts WHERE id = $1")
        .bind(id.to_string())
        .execute(conn)
        .await?;
    Ok(r.rows_affected() > 0)
}

pub async fn list(
    conn: &mut AnyConnection,
    pool_id: Uuid,
    page: PageRequest,
) -> Result<Page<Host>, DbError> {
    let mut sql = Sql::new(SELECT);
    sql.and_uuid("pool_id", Some(pool_id)).page(page, false);
    let rows = sql.fetch_all(conn).await?;
    let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, page.limit, |h| h.id))
}
