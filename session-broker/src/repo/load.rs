//! The tables of placement by load and of fair use: `host_load_reports`, `pool_placement`,
//! `tenant_limits` and `rate_counters`, and the session counts placement and the limits
//! read. Pools and tenants without a settings row get the defaults of [`crate::model`].

use std::collections::HashMap;

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::DbError;
use crate::db::row::{get_bool, get_enum, get_i64, get_opt_time, get_time, get_uuid, millis};
use crate::model::{HostLoad, HostLoadReport, PoolPlacement, TenantLimits};
use crate::placement::engine::{HostView, Report};

/// Sessions that hold a seat on their host.
pub const LIVE_STATES: &str = "'launching', 'active', 'disconnected'";

fn is_postgres(conn: &AnyConnection) -> bool {
    conn.backend_name().eq_ignore_ascii_case("postgresql")
}

fn u32_of(r: &AnyRow, col: &str) -> Result<u32, DbError> {
    u32::try_from(get_i64(r, col)?).map_err(|e| DbError::Corrupt(format!("column {col}: {e}")))
}

fn opt_u32_of(r: &AnyRow, col: &str) -> Result<Option<u32>, DbError> {
    use sqlx::Row;
    r.try_get::<Option<i64>, _>(col)
        .map_err(|e| DbError::Corrupt(format!("column {col}: {e}")))?
        .map(|v| u32::try_from(v).map_err(|e| DbError::Corrupt(format!("column {col}: {e}"))))
        .transpose()
}

// ---- host load reports ----

/// Stores `report` as the host's last one, at `at`.
pub async fn put_host_load(
    conn: &mut AnyConnection,
    host_id: Uuid,
    report: &HostLoadReport,
    at: OffsetDateTime,
) -> Result<HostLoad, DbError> {
    let (cpu, mem) = (
        crate::model::load::to_bp(report.cpu_percent),
        crate::model::load::to_bp(report.memory_percent),
    );
    sqlx::query(
        "INSERT INTO host_load_reports (host_id, sessions, cpu_bp, memory_bp, reported_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (host_id) DO UPDATE SET \
         sessions = excluded.sessions, cpu_bp = excluded.cpu_bp, \
         memory_bp = excluded.memory_bp, reported_at = excluded.reported_at",
    )
    .bind(host_id.to_string())
    .bind(i64::from(report.sessions))
    .bind(i64::from(cpu))
    .bind(i64::from(mem))
    .bind(millis(at))
    .execute(&mut *conn)
    .await?;
    get_host_load(conn, host_id)
        .await?
        .ok_or_else(|| DbError::Corrupt("load report vanished".into()))
}

pub async fn get_host_load(
    conn: &mut AnyConnection,
    host_id: Uuid,
) -> Result<Option<HostLoad>, DbError> {
    let row = sqlx::query(
        "SELECT host_id, sessions, cpu_bp, memory_bp, reported_at FROM host_load_reports \
         WHERE host_id = $1",
    )
    .bind(host_id.to_string())
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Ok(HostLoad {
            host_id: get_uuid(&r, "host_id")?,
            sessions: u32_of(&r, "sessions")?,
            cpu_percent: crate::model::load::from_bp(u32_of(&r, "cpu_bp")?),
            memory_percent: crate::model::load::from_bp(u32_of(&r, "memory_bp")?),
            reported_at: get_time(&r, "reported_at")?,
        })
    })
    .transpose()
}

// ---- pool placement settings and the capacity alarm's state ----

/// The capacity alarm's last state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AlarmState {
    pub low: bool,
    pub changed_at: Option<OffsetDateTime>,
}

/// The pool's settings (defaults when it has no row) and its alarm state.
pub async fn pool_placement(
    conn: &mut AnyConnection,
    pool_id: Uuid,
) -> Result<(PoolPlacement, AlarmState), DbError> {
    let row = sqlx::query(
        "SELECT weight_sessions, weight_cpu, weight_memory, max_logons_per_host, \
         load_report_max_age_s, capacity_alarm_percent, capacity_alarm_seats, capacity_low, \
         capacity_changed_at FROM pool_placement WHERE pool_id = $1",
    )
    .bind(pool_id.to_string())
    .fetch_optional(conn)
    .await?;
    let Some(r) = row else {
        return Ok((PoolPlacement::defaults(pool_id), AlarmState::default()));
    };
    Ok((
        PoolPlacement {
            pool_id,
            weight_sessions: u32_of(&r, "weight_sessions")?,
            weight_cpu: u32_of(&r, "weight_cpu")?,
            weight_memory: u32_of(&r, "weight_memory")?,
            max_logons_per_host: u32_of(&r, "max_logons_per_host")?,
            load_report_max_age_s: u32_of(&r, "load_report_max_age_s")?,
            capacity_alarm_percent: opt_u32_of(&r, "capacity_alarm_percent")?,
            capacity_alarm_seats: opt_u32_of(&r, "capacity_alarm_seats")?,
        },
        AlarmState {
            low: get_bool(&r, "capacity_low")?,
            changed_at: get_opt_time(&r, "capacity_changed_at")?,
        },
    ))
}

/// Stores the pool's settings, keeping its alarm state.
pub async fn put_pool_placement(
    conn: &mut AnyConnection,
    p: &PoolPlacement,
    now: OffsetDateTime,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO pool_placement (pool_id, weight_sessions, weight_cpu, weight_memory, \
         max_logons_per_host, load_report_max_age_s, capacity_alarm_percent, \
         capacity_alarm_seats, capacity_low, capacity_changed_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, $10) \
         ON CONFLICT (pool_id) DO UPDATE SET weight_sessions = excluded.weight_sessions, \
         weight_cpu = excluded.weight_cpu, weight_memory = excluded.weight_memory, \
         max_logons_per_host = excluded.max_logons_per_host, \
         load_report_max_age_s = excluded.load_report_max_age_s, \
         capacity_alarm_percent = excluded.capacity_alarm_percent, \
         capacity_alarm_seats = excluded.capacity_alarm_seats, updated_at = excluded.updated_at",
    )
    .bind(p.pool_id.to_string())
    .bind(i64::from(p.weight_sessions))
    .bind(i64::from(p.weight_cpu))
    .bind(i64::from(p.weight_memory))
    .bind(i64::from(p.max_logons_per_host))
    .bind(i64::from(p.load_report_max_age_s))
    .bind(p.capacity_alarm_percent.map(i64::from))
    .bind(p.capacity_alarm_seats.map(i64::from))
    .bind(false)
    .bind(millis(now))
    .execute(conn)
    .await?;
    Ok(())
}

/// Records the alarm's new state; a pool without a settings row gets one with defaults.
pub async fn set_capacity_low(
    conn: &mut AnyConnection,
    pool_id: Uuid,
    low: bool,
    now: OffsetDateTime,
) -> Result<(), DbError> {
    let (settings, _) = pool_placement(conn, pool_id).await?;
    put_pool_placement(conn, &settings, now).await?;
    sqlx::query(
        "UPDATE pool_placement SET capacity_low = $1, capacity_changed_at = $2 \
         WHERE pool_id = $3",
    )
    .bind(low)
    .bind(millis(now))
    .bind(pool_id.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

/// Serialises launches into `pool_id` for the rest of the transaction. On PostgreSQL the
/// pool's row is locked; on SQLite the transaction already holds the database's write lock
/// (`BEGIN IMMEDIATE`).
pub async fn lock_pool(conn: &mut AnyConnection, pool_id: Uuid) -> Result<(), DbError> {
    if is_postgres(conn) {
        sqlx::query("SELECT id FROM host_pools WHERE id = $1 FOR UPDATE")
            .bind(pool_id.to_string())
            .fetch_optional(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Every host of the pool as placement sees it: seats held and logons in progress counted
/// from `sessions`, the last load report joined. `in_service_window` is left false here;
/// the service-window code sets it.
pub async fn pool_hosts(conn: &mut AnyConnection, pool_id: Uuid) -> Result<Vec<HostView>, DbError> {
    let rows = sqlx::query(
        "SELECT h.id AS id, h.capacity AS capacity, h.state AS state, h.health AS health, \
         r.sessions AS r_sessions, r.cpu_bp AS r_cpu, r.memory_bp AS r_memory, \
         r.reported_at AS r_at \
         FROM hosts h LEFT JOIN host_load_reports r ON r.host_id = h.id \
         WHERE h.pool_id = $1",
    )
    .bind(pool_id.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let counts = sqlx::query(AssertSqlSafe(format!(
        "SELECT s.host_id AS host_id, s.state AS state, COUNT(*) AS n FROM sessions s \
         JOIN hosts h ON h.id = s.host_id WHERE h.pool_id = $1 AND s.state IN ({LIVE_STATES}) \
         GROUP BY s.host_id, s.state"
    )))
    .bind(pool_id.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let mut seats: HashMap<Uuid, (u32, u32)> = HashMap::new();
    for r in &counts {
        let n = u32_of(r, "n")?;
        let e = seats.entry(get_uuid(r, "host_id")?).or_default();
        e.0 += n;
        if crate::db::row::get_string(r, "state")? == "launching" {
            e.1 += n;
        }
    }
    let mut hosts = Vec::with_capacity(rows.len());
    for r in &rows {
        let id = get_uuid(r, "id")?;
        let (sessions, logons) = seats.get(&id).copied().unwrap_or_default();
        let report = match opt_u32_of(r, "r_sessions")? {
            Some(reported) => Some(Report {
                sessions: reported,
                cpu_bp: u32_of(r, "r_cpu")?,
                memory_bp: u32_of(r, "r_memory")?,
                at_ms: get_i64(r, "r_at")?,
            }),
            None => None,
        };
        hosts.push(HostView {
            id,
            capacity: u32_of(r, "capacity")?,
            sessions,
            logons,
            state: get_enum(r, "state")?,
            health: get_enum(r, "health")?,
            in_service_window: false,
            report,
        });
    }
    Ok(hosts)
}

// ---- tenant limits ----

/// The tenant's limits (none when it has no row). With `lock` on PostgreSQL the row is
/// locked for the transaction, so concurrent launches of the tenant count one at a time.
pub async fn tenant_limits(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
    lock: bool,
) -> Result<(TenantLimits, bool), DbError> {
    let suffix = if lock && is_postgres(conn) {
        " FOR UPDATE"
    } else {
        ""
    };
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT max_sessions, max_sessions_per_user, launches_per_minute, \
         api_requests_per_minute FROM tenant_limits WHERE tenant_id = $1{suffix}"
    )))
    .bind(tenant_id.to_string())
    .fetch_optional(conn)
    .await?;
    let Some(r) = row else {
        return Ok((TenantLimits::none(tenant_id), false));
    };
    Ok((
        TenantLimits {
            tenant_id,
            max_sessions: opt_u32_of(&r, "max_sessions")?,
            max_sessions_per_user: opt_u32_of(&r, "max_sessions_per_user")?,
            launches_per_minute: opt_u32_of(&r, "launches_per_minute")?,
            api_requests_per_minute: opt_u32_of(&r, "api_requests_per_minute")?,
        },
        true,
    ))
}

pub async fn put_tenant_limits(
    conn: &mut AnyConnection,
    l: &TenantLimits,
    now: OffsetDateTime,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO tenant_limits (tenant_id, max_sessions, max_sessions_per_user, \
         launches_per_minute, api_requests_per_minute, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id) DO UPDATE SET \
         max_sessions = excluded.max_sessions, \
         max_sessions_per_user = excluded.max_sessions_per_user, \
         launches_per_minute = excluded.launches_per_minute, \
         api_requests_per_minute = excluded.api_requests_per_minute, \
         updated_at = excluded.updated_at",
    )
    .bind(l.tenant_id.to_string())
    .bind(l.max_sessions.map(i64::from))
    .bind(l.max_sessions_per_user.map(i64::from))
    .bind(l.launches_per_minute.map(i64::from))
    .bind(l.api_requests_per_minute.map(i64::from))
    .bind(millis(now))
    .execute(conn)
    .await?;
    Ok(())
}

/// Live sessions of the tenant.
pub async fn tenant_sessions(conn: &mut AnyConnection, tenant_id: Uuid) -> Result<u64, DbError> {
    count(
        conn,
        &format!(
            "SELECT COUNT(*) AS n FROM sessions WHERE tenant_id = $1 AND state IN ({LIVE_STATES})"
        ),
        tenant_id,
    )
    .await
}

/// Live sessions of the user.
pub async fn user_sessions(conn: &mut AnyConnection, user_id: Uuid) -> Result<u64, DbError> {
    count(
        conn,
        &format!(
            "SELECT COUNT(*) AS n FROM sessions WHERE user_id = $1 AND state IN ({LIVE_STATES})"
        ),
        user_id,
    )
    .await
}

/// Live sessions of the tenant's busiest user.
pub async fn busiest_user_sessions(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
) -> Result<u64, DbError> {
    count(
        conn,
        &format!(
            "SELECT COALESCE(MAX(c), 0) AS n FROM (SELECT COUNT(*) AS c FROM sessions \
             WHERE tenant_id = $1 AND state IN ({LIVE_STATES}) GROUP BY user_id) per_user"
        ),
        tenant_id,
    )
    .await
}

async fn count(conn: &mut AnyConnection, sql: &str, id: Uuid) -> Result<u64, DbError> {
    let row = sqlx::query(AssertSqlSafe(sql.to_owned()))
        .bind(id.to_string())
        .fetch_one(conn)
        .await?;
    u64::try_from(get_i64(&row, "n")?).map_err(|e| DbError::Corrupt(format!("count: {e}")))
}

// ---- per-minute counters ----

/// Which counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    Launch,
    Api,
}

impl Counter {
    fn as_str(self) -> &'static str {
        match self {
            Self::Launch => "launch",
            Self::Api => "api",
        }
    }
}

/// Adds one to the tenant's counter of the window and returns the new count: one atomic
/// upsert, so every node sharing the database counts the same. Inside a transaction the
/// row stays locked until it ends, and a rollback takes the increment back.
pub async fn bump(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
    counter: Counter,
    window_start_ms: i64,
) -> Result<u64, DbError> {
    let row = sqlx::query(
        "INSERT INTO rate_counters (tenant_id, kind, window_start, count) VALUES ($1, $2, $3, 1) \
         ON CONFLICT (tenant_id, kind, window_start) DO UPDATE SET count = rate_counters.count + 1 \
         RETURNING count",
    )
    .bind(tenant_id.to_string())
    .bind(counter.as_str())
    .bind(window_start_ms)
    .fetch_one(conn)
    .await?;
    u64::try_from(get_i64(&row, "count")?).map_err(|e| DbError::Corrupt(format!("count: {e}")))
}

/// The tenant's count in the window.
pub async fn counted(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
    counter: Counter,
    window_start_ms: i64,
) -> Result<u64, DbError> {
    let row = sqlx::query(
        "SELECT count FROM rate_counters WHERE tenant_id = $1 AND kind = $2 AND window_start = $3",
    )
    .bind(tenant_id.to_string())
    .bind(counter.as_str())
    .bind(window_start_ms)
    .fetch_optional(conn)
    .await?;
    match row {
        Some(r) => u64::try_from(get_i64(&r, "count")?)
            .map_err(|e| DbError::Corrupt(format!("count: {e}"))),
        None => Ok(0),
    }
}

/// Deletes counters of windows that started before `before_ms`.
pub async fn prune_counters(conn: &mut AnyConnection, before_ms: i64) -> Result<u64, DbError> {
    let r = sqlx::query("DELETE FROM rate_counters WHERE window_start < $1")
        .bind(before_ms)
        .execute(conn)
        .await?;
    Ok(r.rows_affected())
}
