//! The `service_windows` table, and the broker's per-occurrence records
//! (`service_window_steps`: claimed steps; `service_window_drains`: hosts to restore).

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe};
use time::OffsetDateTime;
use uuid::Uuid;

use super::sql::Sql;
use crate::db::DbError;
use crate::db::row::{
    get_bool, get_enum, get_i64, get_opt_string, get_opt_time, get_string, get_time, get_uuid,
    millis, now,
};
use crate::model::service_window::{Recurrence, Timing};
use crate::model::{HostState, NewServiceWindow, Page, PageRequest, ServiceWindow};

const SELECT: &str = "SELECT id, tenant_id, environment_id, starts_at, ends_at, title, \
                      description, emergency, recurrence_days, recurrence_until, \
                      logoff_after_minutes, created_at, updated_at FROM service_windows";

fn from_row(r: &AnyRow) -> Result<ServiceWindow, DbError> {
    let starts_at = get_time(r, "starts_at")?;
    let ends_at = get_time(r, "ends_at")?;
    let until = get_opt_time(r, "recurrence_until")?;
    let recurrence = get_opt_string(r, "recurrence_days")?
        .map(|days| Recurrence::from_stored(starts_at, ends_at, &days, until));
    Ok(ServiceWindow {
        id: get_uuid(r, "id")?,
        tenant_id: get_uuid(r, "tenant_id")?,
        environment_id: get_uuid(r, "environment_id")?,
        starts_at,
        ends_at,
        title: get_string(r, "title")?,
        description: get_string(r, "description")?,
        emergency: get_bool(r, "emergency")?,
        recurrence,
        logoff_after_minutes: u32::try_from(get_i64(r, "logoff_after_minutes")?)
            .map_err(|e| DbError::Corrupt(format!("logoff_after_minutes: {e}")))?,
        created_at: get_time(r, "created_at")?,
        updated_at: get_time(r, "updated_at")?,
    })
}

pub async fn insert(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
    environment_id: Uuid,
    new: &NewServiceWindow,
    timing: &Timing,
) -> Result<ServiceWindow, DbError> {
    let now = now();
    let id = super::new_id();
    sqlx::query(
        "INSERT INTO service_windows (id, tenant_id, environment_id, starts_at, ends_at, title, \
         description, emergency, recurrence_days, recurrence_until, logoff_after_minutes, \
         created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(id.to_string())
    .bind(tenant_id.to_string())
    .bind(environment_id.to_string())
    .bind(millis(timing.starts_at))
    .bind(millis(timing.ends_at))
    .bind(new.title.as_str())
    .bind(new.description.as_str())
    .bind(new.emergency)
    .bind(timing.days.clone())
    .bind(timing.until.map(millis))
    .bind(i64::from(new.logoff_after_minutes))
    .bind(millis(now))
    .bind(millis(now))
    .execute(&mut *conn)
    .await?;
    get(conn, id)
        .await?
        .ok_or_else(|| DbError::Corrupt("inserted service window vanished".into()))
}

pub async fn get(conn: &mut AnyConnection, id: Uuid) -> Result<Option<ServiceWindow>, DbError> {
    let row = sqlx::query(AssertSqlSafe(format!("{SELECT} WHERE id = $1")))
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Writes the mutable fields (title, description, logoff point).
pub async fn update(conn: &mut AnyConnection, w: &ServiceWindow) -> Result<ServiceWindow, DbError> {
    let mut w = w.clone();
    w.updated_at = now();
    sqlx::query(
        "UPDATE service_windows SET title = $1, description = $2, logoff_after_minutes = $3, \
         updated_at = $4 WHERE id = $5",
    )
    .bind(w.title.as_str())
    .bind(w.description.as_str())
    .bind(i64::from(w.logoff_after_minutes))
    .bind(millis(w.updated_at))
    .bind(w.id.to_string())
    .execute(conn)
    .await?;
    Ok(w)
}

pub async fn delete(conn: &mut AnyConnection, id: Uuid) -> Result<bool, DbError> {
    let r = sqlx::query("DELETE FROM service_windows WHERE id = $1")
        .bind(id.to_string())
        .execute(conn)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// A tenant's windows (optionally of one environment), in id (creation) order.
pub async fn list(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
    environment_id: Option<Uuid>,
    page: PageRequest,
) -> Result<Page<ServiceWindow>, DbError> {
    let mut sql = Sql::new(SELECT);
    sql.and_uuid("tenant_id", Some(tenant_id))
        .and_uuid("environment_id", environment_id)
        .page(page, false);
    let rows = sql.fetch_all(conn).await?;
    let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, page.limit, |w| w.id))
}

/// Windows that may still have an occurrence at or after `after`: one-offs that end after
/// it, weekly ones that have not stopped by then; optionally of one environment. At most
/// `limit`, oldest first.
pub async fn list_live(
    conn: &mut AnyConnection,
    environment_id: Option<Uuid>,
    after: OffsetDateTime,
    limit: u32,
) -> Result<Vec<ServiceWindow>, DbError> {
    let mut sql = Sql::new(&format!(
        "{SELECT} WHERE ((recurrence_days IS NULL AND ends_at > $1) OR \
         (recurrence_days IS NOT NULL AND (recurrence_until IS NULL OR recurrence_until > $1)))"
    ));
    sql.arg(super::sql::Arg::Int(millis(after)));
    sql.mark_where().and_uuid("environment_id", environment_id);
    let limit_arg = sql.arg(super::sql::Arg::Int(i64::from(limit)));
    sql.push(&format!(" ORDER BY id LIMIT {limit_arg}"));
    let rows = sql.fetch_all(conn).await?;
    rows.iter().map(from_row).collect()
}

/// The occurrence of a window of `environment_id` in progress at `at`: the window and
/// when that occurrence ends (the latest end when several overlap).
pub async fn active_in(
    conn: &mut AnyConnection,
    environment_id: Uuid,
    at: OffsetDateTime,
) -> Result<Option<(ServiceWindow, OffsetDateTime)>, DbError> {
    let windows = list_live(conn, Some(environment_id), at, 1000).await?;
    Ok(windows
        .into_iter()
        .filter_map(|w| w.active_at(at).map(|o| (w, o.end)))
        .max_by_key(|(_, end)| *end))
}

/// Claims `step` of the occurrence starting at `occurrence_start`: true when this caller
/// is the one to carry it out (the row is new). Call inside the step's transaction, so a
/// failed step releases its claim.
pub async fn claim_step(
    conn: &mut AnyConnection,
    window_id: Uuid,
    occurrence_start: OffsetDateTime,
    step: &str,
    outcome: &str,
    detail: Option<&str>,
    at: OffsetDateTime,
) -> Result<bool, DbError> {
    let r = sqlx::query(
        "INSERT INTO service_window_steps (window_id, occurrence_start, step, done_at, outcome, \
         detail) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (window_id, occurrence_start, step) DO NOTHING",
    )
    .bind(window_id.to_string())
    .bind(millis(occurrence_start))
    .bind(step)
    .bind(millis(at))
    .bind(outcome)
    .bind(detail.map(str::to_owned))
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// A claimed step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub step: String,
    pub outcome: String,
    pub detail: Option<String>,
}

/// The steps carried out for one occurrence, by name.
pub async fn steps(
    conn: &mut AnyConnection,
    window_id: Uuid,
    occurrence_start: OffsetDateTime,
) -> Result<Vec<Step>, DbError> {
    let rows = sqlx::query(
        "SELECT step, outcome, detail FROM service_window_steps \
         WHERE window_id = $1 AND occurrence_start = $2 ORDER BY step",
    )
    .bind(window_id.to_string())
    .bind(millis(occurrence_start))
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Step {
                step: get_string(r, "step")?,
                outcome: get_string(r, "outcome")?,
                detail: get_opt_string(r, "detail")?,
            })
        })
        .collect()
}

/// Records that an occurrence drained `host_id`, which was in `previous` before.
/// False when it was recorded already.
pub async fn record_drain(
    conn: &mut AnyConnection,
    window_id: Uuid,
    occurrence: (OffsetDateTime, OffsetDateTime),
    host_id: Uuid,
    previous: HostState,
) -> Result<bool, DbError> {
    let r = sqlx::query(
        "INSERT INTO service_window_drains (window_id, occurrence_start, occurrence_end, host_id, \
         previous_state) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (window_id, occurrence_start, host_id) DO NOTHING",
    )
    .bind(window_id.to_string())
    .bind(millis(occurrence.0))
    .bind(millis(occurrence.1))
    .bind(host_id.to_string())
    .bind(previous.as_str())
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// A drained host not yet given back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drain {
    pub window_id: Uuid,
    pub occurrence_start: OffsetDateTime,
    pub occurrence_end: OffsetDateTime,
    pub host_id: Uuid,
    pub previous_state: HostState,
}

/// Drains whose occurrence has ended by `at` and that are not restored yet.
pub async fn drains_to_restore(
    conn: &mut AnyConnection,
    at: OffsetDateTime,
) -> Result<Vec<Drain>, DbError> {
    let rows = sqlx::query(
        "SELECT window_id, occurrence_start, occurrence_end, host_id, previous_state \
         FROM service_window_drains WHERE restored_at IS NULL AND occurrence_end <= $1 \
         ORDER BY occurrence_end, host_id LIMIT 1000",
    )
    .bind(millis(at))
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Drain {
                window_id: get_uuid(r, "window_id")?,
                occurrence_start: get_time(r, "occurrence_start")?,
                occurrence_end: get_time(r, "occurrence_end")?,
                host_id: get_uuid(r, "host_id")?,
                previous_state: get_enum(r, "previous_state")?,
            })
        })
        .collect()
}

/// Marks a drain restored; false when another node did first (the claim of the restore).
pub async fn mark_restored(
    conn: &mut AnyConnection,
    d: &Drain,
    at: OffsetDateTime,
) -> Result<bool, DbError> {
    let r = sqlx::query(
        "UPDATE service_window_drains SET restored_at = $1 WHERE window_id = $2 \
         AND occurrence_start = $3 AND host_id = $4 AND restored_at IS NULL",
    )
    .bind(millis(at))
    .bind(d.window_id.to_string())
    .bind(millis(d.occurrence_start))
    .bind(d.host_id.to_string())
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Open drains of a host (restore pending), for a host whose recycle is confirmed.
pub async fn open_drains_of_host(
    conn: &mut AnyConnection,
    host_id: Uuid,
) -> Result<Vec<Drain>, DbError> {
    let rows = sqlx::query(
        "SELECT window_id, occurrence_start, occurrence_end, host_id, previous_state \
         FROM service_window_drains WHERE restored_at IS NULL AND host_id = $1",
    )
    .bind(host_id.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Drain {
                window_id: get_uuid(r, "window_id")?,
                occurrence_start: get_time(r, "occurrence_start")?,
                occurrence_end: get_time(r, "occurrence_end")?,
                host_id: get_uuid(r, "host_id")?,
                previous_state: get_enum(r, "previous_state")?,
            })
        })
        .collect()
}
