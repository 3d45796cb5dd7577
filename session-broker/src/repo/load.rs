//! The tables of placement by load and of fair use: `host_load_reports`, `pool_placement`,
//! `tenant_limits` and `rate_counters`, and the session counts placement and the limits
//! read. Pools and tenants without a settings row get the defaults of [`crate::model`].

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::row::{get_bool, get_enum, get_i64, get_opt_time, get_time, get_uuid, millis};
use crate::db::{Database, DbError};
use crate::model::{HostLoad, HostLoadReport, PoolPlacement, PoolStrategy, TenantLimits};
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

const PLACEMENT_COLUMNS: &str = "pp.pool_id AS pp_pool_id, pp.weight_sessions AS weight_sessions, \
     pp.weight_cpu AS weight_cpu, pp.weight_memory AS weight_memory, \
     pp.max_logons_per_host AS max_logons_per_host, \
     pp.load_report_max_age_s AS load_report_max_age_s, \
     pp.capacity_alarm_percent AS capacity_alarm_percent, \
     pp.capacity_alarm_seats AS capacity_alarm_seats, pp.capacity_low AS capacity_low, \
     pp.capacity_changed_at AS capacity_changed_at";

/// The settings in a row of [`PLACEMENT_COLUMNS`]; the defaults when the pool has none.
fn placement_of(r: &AnyRow, pool_id: Uuid) -> Result<(PoolPlacement, AlarmState), DbError> {
    if crate::db::row::get_opt_string(r, "pp_pool_id")?.is_none() {
        return Ok((PoolPlacement::defaults(pool_id), AlarmState::default()));
    }
    Ok((
        PoolPlacement {
            pool_id,
            weight_sessions: u32_of(r, "weight_sessions")?,
            weight_cpu: u32_of(r, "weight_cpu")?,
            weight_memory: u32_of(r, "weight_memory")?,
            max_logons_per_host: u32_of(r, "max_logons_per_host")?,
            load_report_max_age_s: u32_of(r, "load_report_max_age_s")?,
            capacity_alarm_percent: opt_u32_of(r, "capacity_alarm_percent")?,
            capacity_alarm_seats: opt_u32_of(r, "capacity_alarm_seats")?,
        },
        AlarmState {
            low: get_bool(r, "capacity_low")?,
            changed_at: get_opt_time(r, "capacity_changed_at")?,
        },
    ))
}

/// The pool's settings (defaults when it has no row) and its alarm state.
pub async fn pool_placement(
    conn: &mut AnyConnection,
    pool_id: Uuid,
) -> Result<(PoolPlacement, AlarmState), DbError> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {PLACEMENT_COLUMNS} FROM pool_placement pp WHERE pp.pool_id = $1"
    )))
    .bind(pool_id.to_string())
    .fetch_optional(conn)
    .await?;
    match row {
        Some(r) => placement_of(&r, pool_id),
        None => Ok((PoolPlacement::defaults(pool_id), AlarmState::default())),
    }
}

/// The pool's strategy with its placement settings and alarm state, in one round trip;
/// `None` when the pool does not exist.
pub async fn pool_rules(
    conn: &mut AnyConnection,
    pool_id: Uuid,
) -> Result<Option<(PoolStrategy, PoolPlacement, AlarmState)>, DbError> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT p.strategy AS strategy, {PLACEMENT_COLUMNS} FROM host_pools p \
         LEFT JOIN pool_placement pp ON pp.pool_id = p.id WHERE p.id = $1"
    )))
    .bind(pool_id.to_string())
    .fetch_optional(conn)
    .await?;
    let Some(r) = row else {
        return Ok(None);
    };
    let (settings, alarm) = placement_of(&r, pool_id)?;
    Ok(Some((get_enum(&r, "strategy")?, settings, alarm)))
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
/// Conditional on the stored state, so of several brokers that see the same transition
/// (launches no longer lock the pool) exactly one gets `true` and audits it.
pub async fn set_capacity_low(
    conn: &mut AnyConnection,
    pool_id: Uuid,
    low: bool,
    now: OffsetDateTime,
) -> Result<bool, DbError> {
    let d = PoolPlacement::defaults(pool_id);
    sqlx::query(
        "INSERT INTO pool_placement (pool_id, weight_sessions, weight_cpu, weight_memory, \
         max_logons_per_host, load_report_max_age_s, capacity_alarm_percent, \
         capacity_alarm_seats, capacity_low, capacity_changed_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, $10) \
         ON CONFLICT (pool_id) DO NOTHING",
    )
    .bind(pool_id.to_string())
    .bind(i64::from(d.weight_sessions))
    .bind(i64::from(d.weight_cpu))
    .bind(i64::from(d.weight_memory))
    .bind(i64::from(d.max_logons_per_host))
    .bind(i64::from(d.load_report_max_age_s))
    .bind(d.capacity_alarm_percent.map(i64::from))
    .bind(d.capacity_alarm_seats.map(i64::from))
    .bind(false)
    .bind(millis(now))
    .execute(&mut *conn)
    .await?;
    let r = sqlx::query(
        "UPDATE pool_placement SET capacity_low = $1, capacity_changed_at = $2 \
         WHERE pool_id = $3 AND capacity_low <> $1",
    )
    .bind(low)
    .bind(millis(now))
    .bind(pool_id.to_string())
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Serialises the capacity sweeps of `pool_id` for the rest of the transaction. On
/// PostgreSQL the pool's row is locked; on SQLite the transaction already holds the
/// database's write lock (`BEGIN IMMEDIATE`). Launches do not take it: they take a seat
/// under its host's row ([`crate::repo::hosts::take_seat`]).
pub async fn lock_pool(conn: &mut AnyConnection, pool_id: Uuid) -> Result<(), DbError> {
    if is_postgres(conn) {
        sqlx::query("SELECT id FROM host_pools WHERE id = $1 FOR UPDATE")
            .bind(pool_id.to_string())
            .fetch_optional(&mut *conn)
            .await?;
    }
    Ok(())
}

const HOST_COLUMNS: &str = "h.id AS id, h.capacity AS capacity, h.state AS state, \
     h.health AS health, h.live_sessions AS live_sessions, h.logons AS logons, \
     r.sessions AS r_sessions, r.cpu_bp AS r_cpu, r.memory_bp AS r_memory, \
     r.reported_at AS r_at";

const HOST_VIEW: &str = "SELECT h.id AS id, h.capacity AS capacity, h.state AS state, \
     h.health AS health, h.live_sessions AS live_sessions, h.logons AS logons, \
     r.sessions AS r_sessions, r.cpu_bp AS r_cpu, r.memory_bp AS r_memory, \
     r.reported_at AS r_at FROM hosts h LEFT JOIN host_load_reports r ON r.host_id = h.id";

/// [`pool_rules`] and [`pool_hosts`] in one round trip (the pool's columns repeated on
/// each host's row); `None` when the pool does not exist.
pub async fn pool_rules_and_hosts(
    conn: &mut AnyConnection,
    pool_id: Uuid,
) -> Result<Option<(PoolStrategy, PoolPlacement, AlarmState, Vec<HostView>)>, DbError> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT p.strategy AS strategy, {PLACEMENT_COLUMNS}, {HOST_COLUMNS} FROM host_pools p \
         LEFT JOIN pool_placement pp ON pp.pool_id = p.id \
         LEFT JOIN hosts h ON h.pool_id = p.id \
         LEFT JOIN host_load_reports r ON r.host_id = h.id WHERE p.id = $1"
    )))
    .bind(pool_id.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let (settings, alarm) = placement_of(first, pool_id)?;
    let strategy = get_enum(first, "strategy")?;
    let mut hosts = Vec::with_capacity(rows.len());
    for r in &rows {
        // A pool without hosts has one row, its host columns NULL.
        if crate::db::row::get_opt_string(r, "id")?.is_some() {
            hosts.push(host_view(r)?);
        }
    }
    Ok(Some((strategy, settings, alarm, hosts)))
}

fn host_view(r: &AnyRow) -> Result<HostView, DbError> {
    let report = match opt_u32_of(r, "r_sessions")? {
        Some(reported) => Some(Report {
            sessions: reported,
            cpu_bp: u32_of(r, "r_cpu")?,
            memory_bp: u32_of(r, "r_memory")?,
            at_ms: get_i64(r, "r_at")?,
        }),
        None => None,
    };
    Ok(HostView {
        id: get_uuid(r, "id")?,
        capacity: u32_of(r, "capacity")?,
        sessions: u32_of(r, "live_sessions")?,
        logons: u32_of(r, "logons")?,
        state: get_enum(r, "state")?,
        health: get_enum(r, "health")?,
        in_service_window: false,
        report,
    })
}

/// Every host of the pool as placement sees it: seats held and logons in progress from
/// the hosts' counters (kept by triggers on `sessions`, migration 0014), the last load
/// report joined; one query. `in_service_window` is left false here; the service-window
/// code sets it.
pub async fn pool_hosts(conn: &mut AnyConnection, pool_id: Uuid) -> Result<Vec<HostView>, DbError> {
    let rows = sqlx::query(AssertSqlSafe(format!("{HOST_VIEW} WHERE h.pool_id = $1")))
        .bind(pool_id.to_string())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(host_view).collect()
}

/// One host as placement sees it now (after a seat it was chosen for was taken first).
pub async fn host_view_of(
    conn: &mut AnyConnection,
    host_id: Uuid,
) -> Result<Option<HostView>, DbError> {
    let row = sqlx::query(AssertSqlSafe(format!("{HOST_VIEW} WHERE h.id = $1")))
        .bind(host_id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(host_view).transpose()
}

// ---- seat counters ----

/// What [`reconcile_seats`] corrected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reconciled {
    pub hosts: u64,
    pub tenants: u64,
}

/// Recounts the seat counters (`hosts.live_sessions`, `hosts.logons`,
/// `tenant_usage.sessions`) that disagree with `sessions`, so drift (a bug, a manual edit
/// of a counter) heals. One read finds the suspects; each is then fixed in a transaction
/// of its own that first locks the counter's row and only then counts, so a launch or a
/// session change racing with it is counted exactly once (they change the counter under
/// the same row lock).
pub async fn reconcile_seats(db: &Database) -> Result<Reconciled, DbError> {
    let (hosts, tenants) = {
        let mut conn = db.acquire().await?;
        let hosts = sqlx::query(
            "SELECT h.id AS id FROM hosts h LEFT JOIN (SELECT host_id, COUNT(*) AS n, \
             SUM(CASE WHEN state = 'launching' THEN 1 ELSE 0 END) AS l FROM sessions \
             WHERE state <> 'ended' GROUP BY host_id) c ON c.host_id = h.id \
             WHERE h.live_sessions <> COALESCE(c.n, 0) OR h.logons <> COALESCE(c.l, 0)",
        )
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| get_uuid(r, "id"))
        .collect::<Result<Vec<_>, _>>()?;
        let tenants = sqlx::query(
            "SELECT t.id AS id FROM tenants t LEFT JOIN tenant_usage u ON u.tenant_id = t.id \
             LEFT JOIN (SELECT tenant_id, COUNT(*) AS n FROM sessions WHERE state <> 'ended' \
             GROUP BY tenant_id) c ON c.tenant_id = t.id \
             WHERE COALESCE(u.sessions, -1) <> COALESCE(c.n, 0)",
        )
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| get_uuid(r, "id"))
        .collect::<Result<Vec<_>, _>>()?;
        (hosts, tenants)
    };
    let mut fixed = Reconciled::default();
    for id in hosts {
        let mut tx = db.begin().await?;
        let lock = if is_postgres(&tx) {
            " FOR NO KEY UPDATE"
        } else {
            ""
        };
        sqlx::query(AssertSqlSafe(format!(
            "SELECT id FROM hosts WHERE id = $1{lock}"
        )))
        .bind(id.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        let counts = sqlx::query(
            "SELECT COUNT(*) AS n, COALESCE(SUM(CASE WHEN state = 'launching' THEN 1 ELSE 0 END), 0) \
             AS l FROM sessions WHERE host_id = $1 AND state <> 'ended'",
        )
        .bind(id.to_string())
        .fetch_one(&mut *tx)
        .await?;
        let (n, l) = (get_i64(&counts, "n")?, get_i64(&counts, "l")?);
        let r = sqlx::query(
            "UPDATE hosts SET live_sessions = $1, logons = $2 \
             WHERE id = $3 AND (live_sessions <> $1 OR logons <> $2)",
        )
        .bind(n)
        .bind(l)
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await.map_err(DbError::from)?;
        fixed.hosts += r.rows_affected();
    }
    for id in tenants {
        let mut tx = db.begin().await?;
        lock_tenant_usage(&mut tx, id).await?;
        let n = get_i64(
            &sqlx::query(
                "SELECT COUNT(*) AS n FROM sessions WHERE tenant_id = $1 AND state <> 'ended'",
            )
            .bind(id.to_string())
            .fetch_one(&mut *tx)
            .await?,
            "n",
        )?;
        // The whole count on shard 0, the others zero: the sum is what counts.
        let r = sqlx::query(
            "UPDATE tenant_usage_shards SET sessions = CASE WHEN shard = 0 THEN $1 ELSE 0 END \
             WHERE tenant_id = $2 AND sessions <> CASE WHEN shard = 0 THEN $1 ELSE 0 END",
        )
        .bind(n)
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await.map_err(DbError::from)?;
        fixed.tenants += u64::from(r.rows_affected() > 0);
    }
    Ok(fixed)
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

/// Shards of a tenant's live-session count and of its launch counter (migration 0020):
/// a launch raises one, so launches of one tenant rarely wait for each other's row.
pub const SHARDS: u64 = 8;

/// Locks every shard row of the tenant's live-session count, in shard order, making the
/// missing ones (PostgreSQL; SQLite counts on shard 0 under its write lock): no other
/// transaction then holds an uncommitted change of the count.
async fn lock_tenant_usage(conn: &mut AnyConnection, tenant_id: Uuid) -> Result<(), DbError> {
    let sql = if is_postgres(conn) {
        "INSERT INTO tenant_usage_shards (tenant_id, shard, sessions) \
         SELECT $1, s, 0 FROM generate_series(0, 7) s ORDER BY s \
         ON CONFLICT (tenant_id, shard) DO UPDATE SET sessions = tenant_usage_shards.sessions"
    } else {
        "INSERT INTO tenant_usage_shards (tenant_id, shard, sessions) VALUES ($1, 0, 0) \
         ON CONFLICT (tenant_id, shard) DO NOTHING"
    };
    sqlx::query(sql)
        .bind(tenant_id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// Exact mode of a launch ([`crate::fair_use`]): every shard of the tenant's live-session
/// count and of its launch counter of the window locked, in the launches' lock order, so
/// the sums [`count_launch`] reads next are exact. On SQLite the write lock does it.
pub async fn lock_fair_use(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
    window_start_ms: i64,
) -> Result<(), DbError> {
    if is_postgres(conn) {
        sqlx::query("SELECT hamn_lock_fair_use($1, $2) AS done")
            .bind(tenant_id.to_string())
            .bind(window_start_ms)
            .fetch_one(conn)
            .await?;
    }
    Ok(())
}

/// Counts a launch in the tenant's window starting at `window_start_ms` and returns the
/// tenant's launches in the window and its live sessions, both read after the count (a
/// launch calls it after storing its new session row, which the trigger counted): on
/// PostgreSQL one round trip, `hamn_count_launch`, whose read is a statement of its own
/// and so sees every increment committed before it.
pub async fn count_launch(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
    window_start_ms: i64,
) -> Result<(u64, u64), DbError> {
    let row = if is_postgres(conn) {
        sqlx::query("SELECT launches, sessions FROM hamn_count_launch($1, $2)")
            .bind(tenant_id.to_string())
            .bind(window_start_ms)
            .fetch_one(&mut *conn)
            .await?
    } else {
        sqlx::query(
            "INSERT INTO launch_counters (tenant_id, window_start, shard, count) \
             VALUES ($1, $2, 0, 1) ON CONFLICT (tenant_id, window_start, shard) \
             DO UPDATE SET count = launch_counters.count + 1",
        )
        .bind(tenant_id.to_string())
        .bind(window_start_ms)
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "SELECT (SELECT CAST(COALESCE(SUM(c.count), 0) AS BIGINT) FROM launch_counters c \
             WHERE c.tenant_id = $1 AND c.window_start = $2) AS launches, \
             (SELECT CAST(COALESCE(SUM(u.sessions), 0) AS BIGINT) FROM tenant_usage_shards u \
             WHERE u.tenant_id = $1) AS sessions",
        )
        .bind(tenant_id.to_string())
        .bind(window_start_ms)
        .fetch_one(&mut *conn)
        .await?
    };
    let n = |col| {
        u64::try_from(get_i64(&row, col)?).map_err(|e| DbError::Corrupt(format!("{col}: {e}")))
    };
    Ok((n("launches")?, n("sessions")?))
}

/// What a launch needs to know before placement, read in one round trip without locks
/// (after the user's row is locked, so the user's live sessions are settled).
#[derive(Debug, Clone)]
pub struct LaunchFacts {
    pub app_tenant_id: Uuid,
    pub environment_id: Uuid,
    pub pool_id: Uuid,
    pub app_enabled: bool,
    pub entitled: bool,
    /// The environment has a service window that is not over (one-off ending later, or
    /// recurring without an end passed); only then are the windows read and judged.
    pub windows_live: bool,
    pub limits: TenantLimits,
    /// The app's tenant's live sessions and launches in the window, as committed.
    pub tenant_sessions: u64,
    pub launches: u64,
    /// The user's live sessions, and the newest of them for this app.
    pub user_live: u64,
    pub live_session: Option<Uuid>,
}

/// [`LaunchFacts`] of `user_id` launching `app_id` at `now_ms`; `None` when the app does
/// not exist. The service-window test is [`crate::repo::service_windows::list_live`]'s.
pub async fn launch_facts(
    conn: &mut AnyConnection,
    user_id: Uuid,
    app_id: Uuid,
    window_start_ms: i64,
    now_ms: i64,
) -> Result<Option<LaunchFacts>, DbError> {
    let sql = format!(
        "SELECT a.tenant_id AS app_tenant_id, a.environment_id AS environment_id, \
         a.pool_id AS pool_id, a.enabled AS enabled, \
         CASE WHEN EXISTS (SELECT 1 FROM entitlements e WHERE e.app_id = a.id AND \
         (e.user_id = $2 OR e.group_id IN (SELECT group_id FROM group_members \
         WHERE user_id = $2))) THEN CAST(1 AS BIGINT) ELSE CAST(0 AS BIGINT) END AS entitled, \
         CASE WHEN EXISTS (SELECT 1 FROM service_windows w \
         WHERE w.environment_id = a.environment_id AND \
         ((w.recurrence_days IS NULL AND w.ends_at > $4) OR (w.recurrence_days IS NOT NULL \
         AND (w.recurrence_until IS NULL OR w.recurrence_until > $4)))) \
         THEN CAST(1 AS BIGINT) ELSE CAST(0 AS BIGINT) END \
         AS windows_live, \
         l.tenant_id AS limits_tenant, l.max_sessions AS max_sessions, \
         l.max_sessions_per_user AS max_sessions_per_user, \
         l.launches_per_minute AS launches_per_minute, \
         l.api_requests_per_minute AS api_requests_per_minute, \
         (SELECT CAST(COALESCE(SUM(u.sessions), 0) AS BIGINT) FROM tenant_usage_shards u \
         WHERE u.tenant_id = a.tenant_id) AS tenant_sessions, \
         (SELECT CAST(COALESCE(SUM(c.count), 0) AS BIGINT) FROM launch_counters c \
         WHERE c.tenant_id = a.tenant_id AND c.window_start = $3) AS launches, \
         (SELECT COUNT(*) FROM sessions WHERE user_id = $2 AND state IN ({LIVE_STATES})) \
         AS user_live, \
         (SELECT s.id FROM sessions s WHERE s.user_id = $2 AND s.app_id = a.id \
         AND s.state IN ({LIVE_STATES}) ORDER BY s.created_at DESC, s.id DESC LIMIT 1) \
         AS live_session \
         FROM apps a LEFT JOIN tenant_limits l ON l.tenant_id = a.tenant_id WHERE a.id = $1"
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(app_id.to_string())
        .bind(user_id.to_string())
        .bind(window_start_ms)
        .bind(now_ms)
        .fetch_optional(conn)
        .await?;
    let Some(r) = row else {
        return Ok(None);
    };
    let n =
        |col| u64::try_from(get_i64(&r, col)?).map_err(|e| DbError::Corrupt(format!("{col}: {e}")));
    let app_tenant_id = get_uuid(&r, "app_tenant_id")?;
    let limits = if crate::db::row::get_opt_string(&r, "limits_tenant")?.is_some() {
        TenantLimits {
            tenant_id: app_tenant_id,
            max_sessions: opt_u32_of(&r, "max_sessions")?,
            max_sessions_per_user: opt_u32_of(&r, "max_sessions_per_user")?,
            launches_per_minute: opt_u32_of(&r, "launches_per_minute")?,
            api_requests_per_minute: opt_u32_of(&r, "api_requests_per_minute")?,
        }
    } else {
        TenantLimits::none(app_tenant_id)
    };
    Ok(Some(LaunchFacts {
        app_tenant_id,
        environment_id: get_uuid(&r, "environment_id")?,
        pool_id: get_uuid(&r, "pool_id")?,
        app_enabled: get_bool(&r, "enabled")?,
        entitled: get_i64(&r, "entitled")? != 0,
        windows_live: get_i64(&r, "windows_live")? != 0,
        limits,
        tenant_sessions: n("tenant_sessions")?,
        launches: n("launches")?,
        user_live: n("user_live")?,
        live_session: crate::db::row::get_opt_uuid(&r, "live_session")?,
    }))
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

/// Live sessions of the tenant: its `tenant_usage` counter (kept by triggers on
/// `sessions`; none yet is none).
pub async fn tenant_sessions(conn: &mut AnyConnection, tenant_id: Uuid) -> Result<u64, DbError> {
    count(
        conn,
        "SELECT CAST(COALESCE(SUM(sessions), 0) AS BIGINT) AS n FROM tenant_usage_shards \
         WHERE tenant_id = $1",
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
    if counter == Counter::Launch {
        // Launches count through [`count_launch`]; this adds to shard 0 and sums.
        sqlx::query(
            "INSERT INTO launch_counters (tenant_id, window_start, shard, count) \
             VALUES ($1, $2, 0, 1) ON CONFLICT (tenant_id, window_start, shard) \
             DO UPDATE SET count = launch_counters.count + 1",
        )
        .bind(tenant_id.to_string())
        .bind(window_start_ms)
        .execute(&mut *conn)
        .await?;
        return counted(conn, tenant_id, counter, window_start_ms).await;
    }
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
    let sql = match counter {
        Counter::Launch => {
            "SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) AS count FROM launch_counters \
             WHERE tenant_id = $1 AND window_start = $3 AND $2 = 'launch'"
        }
        Counter::Api => {
            "SELECT COALESCE(MAX(count), 0) AS count FROM rate_counters \
             WHERE tenant_id = $1 AND kind = $2 AND window_start = $3"
        }
    };
    let row = sqlx::query(sql)
        .bind(tenant_id.to_string())
        .bind(counter.as_str())
        .bind(window_start_ms)
        .fetch_one(conn)
        .await?;
    u64::try_from(get_i64(&row, "count")?).map_err(|e| DbError::Corrupt(format!("count: {e}")))
}

/// Deletes counters of windows that started before `before_ms`.
pub async fn prune_counters(conn: &mut AnyConnection, before_ms: i64) -> Result<u64, DbError> {
    let r = sqlx::query("DELETE FROM rate_counters WHERE window_start < $1")
        .bind(before_ms)
        .execute(&mut *conn)
        .await?;
    let l = sqlx::query("DELETE FROM launch_counters WHERE window_start < $1")
        .bind(before_ms)
        .execute(conn)
        .await?;
    Ok(r.rows_affected() + l.rows_affected())
}
