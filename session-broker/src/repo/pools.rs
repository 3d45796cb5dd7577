//! The `host_pools` table.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe};
use uuid::Uuid;

use super::sql::{Arg, Sql};
use crate::db::DbError;
use crate::db::row::{
    get_bool, get_enum, get_i64, get_opt_string, get_opt_uuid, get_string, get_time, get_uuid,
    millis, now,
};
use crate::model::{HostPool, NewHostPool, Page, PageRequest};

const SELECT: &str = "SELECT id, name, description, strategy, dedicated_tenant_id, \
                      host_cert_policy, host_ca_pem, host_cert_pins, clipboard_enabled, \
                      clipboard_max_bytes, drives_enabled, printers_enabled, \
                      com_ports_enabled, pnp_devices_enabled, native_remote_apps, \
                      print_driver, idle_timeout_secs, \
                      disconnect_timeout_secs, max_session_secs, timeout_warning_secs, \
                      created_at, updated_at \
                      FROM host_pools";

fn pins_json(pins: &[String]) -> String {
    serde_json::to_string(pins).unwrap_or_else(|_| "[]".to_owned())
}

/// The column is a BIGINT; validation keeps the value far below `i64::MAX`.
fn max_bytes(value: u64) -> Result<i64, DbError> {
    i64::try_from(value).map_err(|e| DbError::Corrupt(format!("clipboard_max_bytes: {e}")))
}

fn from_row(r: &AnyRow) -> Result<HostPool, DbError> {
    Ok(HostPool {
        id: get_uuid(r, "id")?,
        name: get_string(r, "name")?,
        description: get_string(r, "description")?,
        strategy: get_enum(r, "strategy")?,
        dedicated_tenant_id: get_opt_uuid(r, "dedicated_tenant_id")?,
        host_cert_policy: get_enum(r, "host_cert_policy")?,
        host_ca_pem: get_opt_string(r, "host_ca_pem")?,
        host_cert_pins: serde_json::from_str(&get_string(r, "host_cert_pins")?)
            .map_err(|e| DbError::Corrupt(format!("column host_cert_pins: {e}")))?,
        clipboard_enabled: get_bool(r, "clipboard_enabled")?,
        clipboard_max_bytes: u64::try_from(get_i64(r, "clipboard_max_bytes")?)
            .map_err(|e| DbError::Corrupt(format!("column clipboard_max_bytes: {e}")))?,
        drives_enabled: get_bool(r, "drives_enabled")?,
        printers_enabled: get_bool(r, "printers_enabled")?,
        com_ports_enabled: get_bool(r, "com_ports_enabled")?,
        pnp_devices_enabled: get_bool(r, "pnp_devices_enabled")?,
        native_remote_apps: get_bool(r, "native_remote_apps")?,
        print_driver: get_enum(r, "print_driver")?,
        idle_timeout_secs: secs(r, "idle_timeout_secs")?,
        disconnect_timeout_secs: secs(r, "disconnect_timeout_secs")?,
        max_session_secs: secs(r, "max_session_secs")?,
        timeout_warning_secs: secs(r, "timeout_warning_secs")?,
        created_at: get_time(r, "created_at")?,
        updated_at: get_time(r, "updated_at")?,
    })
}

/// A timeout column: seconds, checked by the database to fit a `u32`.
fn secs(r: &AnyRow, col: &str) -> Result<u32, DbError> {
    u32::try_from(get_i64(r, col)?).map_err(|e| DbError::Corrupt(format!("column {col}: {e}")))
}

pub async fn insert(conn: &mut AnyConnection, new: &NewHostPool) -> Result<HostPool, DbError> {
    let now = now();
    let p = HostPool {
        id: super::new_id(),
        name: new.name.clone(),
        description: new.description.clone(),
        strategy: new.strategy,
        dedicated_tenant_id: new.dedicated_tenant_id,
        host_cert_policy: new.host_cert_policy,
        host_ca_pem: new.host_ca_pem.clone(),
        host_cert_pins: new.host_cert_pins.clone(),
        clipboard_enabled: new.clipboard_enabled,
        clipboard_max_bytes: new.clipboard_max_bytes,
        drives_enabled: new.drives_enabled,
        printers_enabled: new.printers_enabled,
        com_ports_enabled: new.com_ports_enabled,
        pnp_devices_enabled: new.pnp_devices_enabled,
        native_remote_apps: new.native_remote_apps,
        print_driver: new.print_driver,
        idle_timeout_secs: new.idle_timeout_secs,
        disconnect_timeout_secs: new.disconnect_timeout_secs,
        max_session_secs: new.max_session_secs,
        timeout_warning_secs: new.timeout_warning_secs,
        created_at: now,
        updated_at: now,
    };
    sqlx::query(
        "INSERT INTO host_pools (id, name, description, strategy, dedicated_tenant_id, \
         host_cert_policy, host_ca_pem, host_cert_pins, clipboard_enabled, clipboard_max_bytes, \
         drives_enabled, printers_enabled, com_ports_enabled, pnp_devices_enabled, \
         native_remote_apps, idle_timeout_secs, disconnect_timeout_secs, max_session_secs, \
         timeout_warning_secs, created_at, updated_at, print_driver) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
         $18, $19, $20, $21, $22)",
    )
    .bind(p.id.to_string())
    .bind(p.name.as_str())
    .bind(p.description.as_str())
    .bind(p.strategy.as_str())
    .bind(p.dedicated_tenant_id.map(|t| t.to_string()))
    .bind(p.host_cert_policy.as_str())
    .bind(p.host_ca_pem.clone())
    .bind(pins_json(&p.host_cert_pins))
    .bind(p.clipboard_enabled)
    .bind(max_bytes(p.clipboard_max_bytes)?)
    .bind(p.drives_enabled)
    .bind(p.printers_enabled)
    .bind(p.com_ports_enabled)
    .bind(p.pnp_devices_enabled)
    .bind(p.native_remote_apps)
    .bind(i64::from(p.idle_timeout_secs))
    .bind(i64::from(p.disconnect_timeout_secs))
    .bind(i64::from(p.max_session_secs))
    .bind(i64::from(p.timeout_warning_secs))
    .bind(millis(now))
    .bind(millis(now))
    .bind(p.print_driver.as_str())
    .execute(conn)
    .await?;
    Ok(p)
}

pub async fn get(conn: &mut AnyConnection, id: Uuid) -> Result<Option<HostPool>, DbError> {
    let row = sqlx::query(AssertSqlSafe(format!("{SELECT} WHERE id = $1")))
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn get_by_name(
    conn: &mut AnyConnection,
    name: &str,
) -> Result<Option<HostPool>, DbError> {
    let row = sqlx::query(AssertSqlSafe(format!("{SELECT} WHERE name = $1")))
        .bind(name)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn update(conn: &mut AnyConnection, p: &HostPool) -> Result<HostPool, DbError> {
    let mut p = p.clone();
    p.updated_at = now();
    sqlx::query(
        "UPDATE host_pools SET name = $1, description = $2, strategy = $3, \
         dedicated_tenant_id = $4, host_cert_policy = $5, host_ca_pem = $6, \
         host_cert_pins = $7, clipboard_enabled = $8, clipboard_max_bytes = $9, \
         drives_enabled = $10, printers_enabled = $11, com_ports_enabled = $12, \
         pnp_devices_enabled = $13, native_remote_apps = $14, idle_timeout_secs = $15, \
         disconnect_timeout_secs = $16, max_session_secs = $17, timeout_warning_secs = $18, \
         updated_at = $19, print_driver = $21 WHERE id = $20",
    )
    .bind(p.name.as_str())
    .bind(p.description.as_str())
    .bind(p.strategy.as_str())
    .bind(p.dedicated_tenant_id.map(|t| t.to_string()))
    .bind(p.host_cert_policy.as_str())
    .bind(p.host_ca_pem.clone())
    .bind(pins_json(&p.host_cert_pins))
    .bind(p.clipboard_enabled)
    .bind(max_bytes(p.clipboard_max_bytes)?)
    .bind(p.drives_enabled)
    .bind(p.printers_enabled)
    .bind(p.com_ports_enabled)
    .bind(p.pnp_devices_enabled)
    .bind(p.native_remote_apps)
    .bind(i64::from(p.idle_timeout_secs))
    .bind(i64::from(p.disconnect_timeout_secs))
    .bind(i64::from(p.max_session_secs))
    .bind(i64::from(p.timeout_warning_secs))
    .bind(millis(p.updated_at))
    .bind(p.id.to_string())
    .bind(p.print_driver.as_str())
    .execute(conn)
    .await?;
    Ok(p)
}

pub async fn delete(conn: &mut AnyConnection, id: Uuid) -> Result<bool, DbError> {
    let r = sqlx::query("DELETE FROM host_pools WHERE id = $1")
        .bind(id.to_string())
        .execute(conn)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// Lists pools; with `usable_by`, only the shared ones and those dedicated to that tenant.
pub async fn list(
    conn: &mut AnyConnection,
    usable_by: Option<Uuid>,
    page: PageRequest,
) -> Result<Page<HostPool>, DbError> {
    let mut sql = Sql::new(SELECT);
    if let Some(t) = usable_by {
        let p = sql.arg(Arg::Text(t.to_string()));
        sql.push(&format!(
            " WHERE (dedicated_tenant_id IS NULL OR dedicated_tenant_id = {p})"
        ));
        // Later conditions continue the WHERE clause.
        sql.mark_where();
    }
    sql.page(page, false);
    let rows = sql.fetch_all(conn).await?;
    let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, page.limit, |p| p.id))
}
