//! Where a new session goes. For now: the active, not unhealthy host of the pool with the
//! fewest live sessions and room left; the full placement (existing sessions first, pool
//! strategy, service windows, quotas) replaces this function.

use sqlx::AnyConnection;
use uuid::Uuid;

use crate::db::DbError;
use crate::db::row::{get_i64, get_uuid};
use crate::model::Host;
use crate::repo;

/// The host for a new session in `pool_id`, or `None` when no host can take one.
pub async fn choose_host(conn: &mut AnyConnection, pool_id: Uuid) -> Result<Option<Host>, DbError> {
    // Launching, active and disconnected sessions all hold a seat on the host.
    let rows = sqlx::query(
        "SELECT h.id AS id, h.capacity AS capacity, \
         (SELECT COUNT(*) FROM sessions s WHERE s.host_id = h.id \
          AND s.state IN ('launching', 'active', 'disconnected')) AS load \
         FROM hosts h WHERE h.pool_id = $1 AND h.state = 'active' \
         AND h.health IN ('unknown', 'healthy') ORDER BY h.name, h.id",
    )
    .bind(pool_id.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let mut best: Option<(i64, Uuid)> = None;
    for r in &rows {
        let (id, capacity, load) = (
            get_uuid(r, "id")?,
            get_i64(r, "capacity")?,
            get_i64(r, "load")?,
        );
        if load < capacity && best.is_none_or(|(l, _)| load < l) {
            best = Some((load, id));
        }
    }
    match best {
        Some((_, id)) => repo::hosts::get(conn, id).await,
        None => Ok(None),
    }
}
