//! The capacity alarm: when a pool's free seats fall under its threshold (a percentage of
//! the usable capacity, or a number of seats; `pool_placement`), the broker raises an ops
//! event, `pool.capacity_low`, and `pool.capacity_ok` when they recover. Only transitions
//! are audited: the alarm's state is stored with the pool's settings. Launches check it in
//! their own transaction (the seat they take can ring it); every broker's janitor checks
//! every pool each minute, which notices recovery as sessions end. The same numbers are
//! served by `GET /pools/{id}/capacity` for people and a metrics exporter.

use sqlx::AnyConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::row::from_millis;
use crate::db::{Database, DbError};
use crate::model::{ActorKind, AuditOutcome, NewAuditEvent, PoolCapacity};
use crate::placement::{self, PoolView, engine};
use crate::repo;

/// The pool's capacity as the admin API shows it.
pub fn report(pool_id: Uuid, view: &PoolView) -> PoolCapacity {
    // Seats do not depend on the strategy; any will do for the rules.
    let rules = view.rules(crate::model::PoolStrategy::BreadthFirst);
    let seats = engine::seats(&rules, &view.hosts, view.now_ms);
    let alarm = view.settings.alarm();
    PoolCapacity {
        pool_id,
        hosts: u32::try_from(view.hosts.len()).unwrap_or(u32::MAX),
        hosts_usable: u32::try_from(view.hosts.iter().filter(|h| h.accepts_new()).count())
            .unwrap_or(u32::MAX),
        capacity_total: seats.total,
        capacity_usable: seats.usable,
        sessions_usable: seats.used,
        sessions_total: seats.used_total,
        logons_in_progress: view.hosts.iter().map(|h| u64::from(h.logons)).sum(),
        free: seats.free,
        free_percent: if seats.usable == 0 {
            0.0
        } else {
            (seats.free as f64 * 10_000.0 / seats.usable as f64).round() / 100.0
        },
        capacity_alarm_percent: alarm.percent,
        capacity_alarm_seats: alarm.seats,
        capacity_low: alarm.is_low(&seats),
        capacity_changed_at: view.alarm.changed_at,
    }
}

/// Compares the pool's alarm with its stored state and, on a change, stores the new state
/// and audits `pool.capacity_low` or `pool.capacity_ok` on `conn` (the caller's
/// transaction). Returns the new state when it changed. The store is conditional on the
/// old state, so when two brokers see one transition at once only one audits it.
pub async fn check(
    conn: &mut AnyConnection,
    pool_id: Uuid,
    view: &PoolView,
) -> Result<Option<bool>, DbError> {
    let capacity = report(pool_id, view);
    if capacity.capacity_low == view.alarm.low {
        return Ok(None);
    }
    let now = from_millis(view.now_ms).map_err(|e| DbError::Corrupt(format!("clock: {e}")))?;
    if !repo::load::set_capacity_low(conn, pool_id, capacity.capacity_low, now).await? {
        // Another broker stored (and audited) the same transition first.
        return Ok(None);
    }
    let tenant = repo::pools::get(conn, pool_id)
        .await?
        .and_then(|p| p.dedicated_tenant_id);
    let (action, words) = if capacity.capacity_low {
        (
            "pool.capacity_low",
            "free capacity under the alarm threshold",
        )
    } else {
        (
            "pool.capacity_ok",
            "free capacity back over the alarm threshold",
        )
    };
    repo::audit::insert(
        conn,
        &NewAuditEvent {
            tenant_id: tenant,
            actor_kind: ActorKind::System,
            actor_id: None,
            actor_name: "broker".to_owned(),
            action: action.to_owned(),
            target_type: Some("pool".to_owned()),
            target_id: Some(pool_id.to_string()),
            outcome: AuditOutcome::Success,
            source_address: None,
            before: Some(serde_json::json!({ "capacity_low": view.alarm.low })),
            after: serde_json::to_value(&capacity).ok(),
            detail: Some(format!(
                "{words}: {} of {} usable seats free ({} %); thresholds {} % / {} seats",
                capacity.free,
                capacity.capacity_usable,
                capacity.free_percent,
                capacity
                    .capacity_alarm_percent
                    .map_or_else(|| "-".to_owned(), |p| p.to_string()),
                capacity
                    .capacity_alarm_seats
                    .map_or_else(|| "-".to_owned(), |s| s.to_string()),
            )),
        },
    )
    .await?;
    tracing::warn!(pool = %pool_id, action, free = capacity.free, "capacity alarm");
    Ok(Some(capacity.capacity_low))
}

/// Checks every pool's alarm, each in a transaction of its own with the pool locked (the
/// same order launches take), so two brokers sweeping at once audit a change once.
pub async fn sweep(db: &Database, now: OffsetDateTime) -> Result<u64, DbError> {
    let ids: Vec<Uuid> = {
        let mut conn = db.acquire().await?;
        let rows = sqlx::query("SELECT id FROM host_pools")
            .fetch_all(&mut *conn)
            .await?;
        rows.iter()
            .map(|r| crate::db::row::get_uuid(r, "id"))
            .collect::<Result<_, _>>()?
    };
    let mut changed = 0;
    for id in ids {
        let mut tx = db.begin().await?;
        repo::load::lock_pool(&mut tx, id).await?;
        let view = placement::view(&mut tx, id, now).await?;
        if check(&mut tx, id, &view).await?.is_some() {
            changed += 1;
        }
        tx.commit().await.map_err(DbError::from)?;
    }
    Ok(changed)
}
