//! The `availability_samples` table: per environment and unix minute, whether a gateway
//! node's probe found the environment available. Several nodes write the same minute; the
//! upsert keeps an available sample, so the result does not depend on their order.

use sqlx::AnyConnection;
use uuid::Uuid;

use crate::db::DbError;
use crate::db::row::{get_i64, get_string, get_uuid};

/// Records `available` for `environment_id` at `minute`; idempotent, available wins.
pub async fn record(
    conn: &mut AnyConnection,
    environment_id: Uuid,
    minute: i64,
    available: bool,
    recorded_at_ms: i64,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO availability_samples (environment_id, minute, available, recorded_at) \
         VALUES ($1, $2, $3, $4) \
         ON CONFLICT (environment_id, minute) DO UPDATE SET available = excluded.available, \
         recorded_at = excluded.recorded_at \
         WHERE excluded.available > availability_samples.available",
    )
    .bind(environment_id.to_string())
    .bind(minute)
    .bind(i64::from(available))
    .bind(recorded_at_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// `environment_id`'s samples of minutes `[from, to)`, in order.
pub async fn samples(
    conn: &mut AnyConnection,
    environment_id: Uuid,
    from: i64,
    to: i64,
) -> Result<Vec<(i64, bool)>, DbError> {
    let rows = sqlx::query(
        "SELECT minute, available FROM availability_samples \
         WHERE environment_id = $1 AND minute >= $2 AND minute < $3 ORDER BY minute",
    )
    .bind(environment_id.to_string())
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| Ok((get_i64(r, "minute")?, get_i64(r, "available")? != 0)))
        .collect()
}

/// Deletes samples of minutes before `before`.
pub async fn prune(conn: &mut AnyConnection, before: i64) -> Result<u64, DbError> {
    let r = sqlx::query("DELETE FROM availability_samples WHERE minute < $1")
        .bind(before)
        .execute(conn)
        .await?;
    Ok(r.rows_affected())
}

/// Which pools serve each environment: the pools of its apps.
pub async fn environment_pools(conn: &mut AnyConnection) -> Result<Vec<(Uuid, Uuid)>, DbError> {
    let rows = sqlx::query("SELECT DISTINCT environment_id, pool_id FROM apps")
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| Ok((get_uuid(r, "environment_id")?, get_uuid(r, "pool_id")?)))
        .collect()
}

/// Every environment: id, tenant id, tenant slug, tenant name, kind and name, by tenant
/// name then kind (PROD before UTB).
pub async fn environments(
    conn: &mut AnyConnection,
) -> Result<Vec<(Uuid, Uuid, String, String, String, String)>, DbError> {
    let rows = sqlx::query(
        "SELECT e.id AS id, e.tenant_id AS tenant_id, t.slug AS slug, t.name AS tenant_name, \
         e.kind AS kind, e.name AS name FROM environments e JOIN tenants t ON t.id = e.tenant_id \
         ORDER BY t.name, e.kind",
    )
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                get_uuid(r, "id")?,
                get_uuid(r, "tenant_id")?,
                get_string(r, "slug")?,
                get_string(r, "tenant_name")?,
                get_string(r, "kind")?,
                get_string(r, "name")?,
            ))
        })
        .collect()
}
