//! The service-window scheduler: every broker node runs [`run_scheduler`], which calls
//! [`tick`] on a timer with the wall clock; tests call [`tick`] with a clock of their own.
//!
//! For every occurrence of every window, in order:
//!
//! 1. **Warnings** `warn:N` at N minutes before the start (`broker.service_window_warnings`,
//!    default 30, 10, 2): every live session of the environment's apps gets a service-window
//!    warning through the session command channel. Each is sent once; a node that comes
//!    late sends only the latest warning due and records the older ones as skipped.
//! 2. **Start** at the start: the hosts of the environment's pools go to drain (a pool that
//!    also serves an environment not in a window at that moment is left alone and named in
//!    the audit event), each with the state it had recorded; rollout steps due in this
//!    environment begin ([`crate::rollouts`]). New launches are refused from the start by
//!    [`crate::launch`] itself, whatever the scheduler has done.
//! 3. **Logoff** at start + the window's `logoff_after_minutes`: every live session of the
//!    environment's apps is logged off.
//! 4. **End**: every host the occurrence drained returns to the state it had, unless an
//!    operator changed it meanwhile or a rollout still waits for it to be recycled.
//!
//! Multi-node safety: each step is claimed by inserting its row in `service_window_steps`
//! (primary key window, occurrence, step) in the step's own transaction, with its audit
//! events; of several nodes exactly one inserts it and acts, and a step that fails rolls
//! back with its claim and is retried on the next tick. Restores are claimed by the
//! conditional UPDATE of their `service_window_drains` row.

use std::collections::BTreeSet;
use std::time::Duration as StdDuration;

use sqlx::{AnyConnection, AssertSqlSafe};
use time::{Duration, OffsetDateTime};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::db::row::get_uuid;
use crate::db::{Database, DbError};
use crate::model::service_window::Occurrence;
use crate::model::{ActorKind, AuditOutcome, HostState, NewAuditEvent, ServiceWindow};
use crate::repo;

/// How the scheduler runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedulerConfig {
    /// Between two ticks.
    pub interval: StdDuration,
    /// Minutes before a start at which users are warned.
    pub warnings: Vec<u32>,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            interval: StdDuration::from_secs(20),
            warnings: vec![30, 10, 2],
        }
    }
}

/// What one tick did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tick {
    /// Warning steps carried out, and sessions warned by them.
    pub warnings: u64,
    pub sessions_warned: u64,
    /// Occurrences started, and hosts drained by them.
    pub started: u64,
    pub hosts_drained: u64,
    /// Logoff steps carried out, and sessions logged off by them.
    pub logoffs: u64,
    pub sessions_logged_off: u64,
    /// Hosts returned to their previous state.
    pub hosts_restored: u64,
    /// Occurrences ended.
    pub ended: u64,
    /// Rollout steps begun or finished.
    pub rollout_steps: u64,
}

/// How far back ended occurrences are still closed (a node down longer misses the `end`
/// audit event, not the restore, which follows the drains table).
const CATCH_UP: Duration = Duration::days(2);

/// An audit event the broker itself writes (scheduler, rollouts).
pub(crate) fn system_event(
    tenant: Option<Uuid>,
    action: &str,
    target: (&str, String),
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
    detail: String,
) -> NewAuditEvent {
    NewAuditEvent {
        tenant_id: tenant,
        actor_kind: ActorKind::System,
        actor_id: Some("scheduler".into()),
        actor_name: "broker".into(),
        action: action.into(),
        target_type: Some(target.0.into()),
        target_id: Some(target.1),
        outcome: AuditOutcome::Success,
        source_address: None,
        before,
        after,
        detail: Some(detail),
    }
}

fn describe(w: &ServiceWindow, o: &Occurrence) -> String {
    format!(
        "service window {} \"{}\" {} to {}",
        w.id, w.title, o.start, o.end
    )
}

/// One pass at `now`.
pub async fn tick(
    db: &Database,
    config: &SchedulerConfig,
    now: OffsetDateTime,
) -> Result<Tick, DbError> {
    let mut done = Tick::default();
    let mut offsets: Vec<u32> = config.warnings.clone();
    offsets.sort_unstable_by(|a, b| b.cmp(a));
    offsets.dedup();
    let lead = Duration::minutes(i64::from(offsets.first().copied().unwrap_or(0)));

    let windows = {
        let mut conn = db.acquire().await?;
        repo::service_windows::list_live(&mut conn, None, now - CATCH_UP, 10_000).await?
    };
    for w in &windows {
        for o in w.occurrences(now - CATCH_UP, now + lead + Duration::milliseconds(1)) {
            if now < o.start {
                warn(db, w, &o, &offsets, now, &mut done).await?;
            } else if now < o.end {
                start(db, w, &o, now, &mut done).await?;
                let logoff_at = o.start + Duration::minutes(i64::from(w.logoff_after_minutes));
                if now >= logoff_at {
                    logoff(db, w, &o, now, &mut done).await?;
                }
            } else {
                end(db, w, &o, now, &mut done).await?;
            }
        }
    }
    restore(db, now, &mut done).await?;
    done.rollout_steps += crate::rollouts::advance(db, now).await?;
    Ok(done)
}

/// The live sessions of the apps of `w`'s environment.
async fn sessions_of(
    conn: &mut AnyConnection,
    w: &ServiceWindow,
    states: &str,
) -> Result<Vec<Uuid>, DbError> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT s.id AS id FROM sessions s JOIN apps a ON a.id = s.app_id \
         WHERE a.environment_id = $1 AND s.state IN ({states}) ORDER BY s.id"
    )))
    .bind(w.environment_id.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| get_uuid(r, "id")).collect()
}

async fn warn(
    db: &Database,
    w: &ServiceWindow,
    o: &Occurrence,
    offsets: &[u32],
    now: OffsetDateTime,
    done: &mut Tick,
) -> Result<(), DbError> {
    let due: Vec<u32> = offsets
        .iter()
        .copied()
        .filter(|m| o.start - Duration::minutes(i64::from(*m)) <= now)
        .collect();
    let Some(&latest) = due.last() else {
        return Ok(());
    };
    let mut tx = db.begin().await?;
    for &m in &due[..due.len() - 1] {
        repo::service_windows::claim_step(
            &mut tx,
            w.id,
            o.start,
            &format!("warn:{m}"),
            "skipped",
            Some("a later warning was due already"),
            now,
        )
        .await?;
    }
    let claimed = repo::service_windows::claim_step(
        &mut tx,
        w.id,
        o.start,
        &format!("warn:{latest}"),
        "done",
        None,
        now,
    )
    .await?;
    if claimed {
        let minutes = u32::try_from((o.start - now).whole_minutes().max(0) + 1)
            .unwrap_or(latest)
            .min(latest);
        let sessions = sessions_of(&mut tx, w, "'active', 'disconnected'").await?;
        let mut warned = 0;
        for s in &sessions {
            if super::notify::warn(&mut tx, *s, w, o, minutes, now).await? {
                warned += 1;
            }
        }
        repo::audit::insert(
            &mut tx,
            &system_event(
                Some(w.tenant_id),
                "service_window.warn",
                ("service_window", w.id.to_string()),
                None,
                None,
                format!(
                    "{}: {warned} sessions warned {latest} minutes ahead",
                    describe(w, o)
                ),
            ),
        )
        .await?;
        done.warnings += 1;
        done.sessions_warned += warned;
    }
    tx.commit().await.map_err(DbError::from)?;
    super::notify::wake();
    Ok(())
}

/// The pools the apps of `environment_id` run on.
async fn pools_of(conn: &mut AnyConnection, environment_id: Uuid) -> Result<Vec<Uuid>, DbError> {
    let rows =
        sqlx::query("SELECT DISTINCT pool_id FROM apps WHERE environment_id = $1 ORDER BY pool_id")
            .bind(environment_id.to_string())
            .fetch_all(conn)
            .await?;
    rows.iter().map(|r| get_uuid(r, "pool_id")).collect()
}

/// The environments whose apps run on `pool_id`.
async fn environments_on(conn: &mut AnyConnection, pool_id: Uuid) -> Result<Vec<Uuid>, DbError> {
    let rows = sqlx::query(
        "SELECT DISTINCT environment_id FROM apps WHERE pool_id = $1 ORDER BY environment_id",
    )
    .bind(pool_id.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| get_uuid(r, "environment_id")).collect()
}

/// Drains every active host of `pool_id` for the occurrence, recording each host's state
/// before; returns how many it drained.
pub(crate) async fn drain_pool(
    conn: &mut AnyConnection,
    w: &ServiceWindow,
    o: &Occurrence,
    pool_id: Uuid,
    tenant: Option<Uuid>,
) -> Result<u64, DbError> {
    let hosts = repo::hosts::in_pool(conn, pool_id).await?;
    let mut drained = 0;
    for h in hosts {
        if h.state != HostState::Active {
            continue;
        }
        if !repo::service_windows::record_drain(conn, w.id, (o.start, o.end), h.id, h.state).await?
        {
            continue;
        }
        let mut after = h.clone();
        after.state = HostState::Drain;
        let after = repo::hosts::update(conn, &after).await?;
        repo::audit::insert(
            conn,
            &system_event(
                tenant,
                "host.state_change",
                ("host", h.id.to_string()),
                serde_json::to_value(&h).ok(),
                serde_json::to_value(&after).ok(),
                format!("drained for {}", describe(w, o)),
            ),
        )
        .await?;
        drained += 1;
    }
    Ok(drained)
}

async fn start(
    db: &Database,
    w: &ServiceWindow,
    o: &Occurrence,
    now: OffsetDateTime,
    done: &mut Tick,
) -> Result<(), DbError> {
    let mut tx = db.begin().await?;
    if !repo::service_windows::claim_step(&mut tx, w.id, o.start, "start", "done", None, now)
        .await?
    {
        return Ok(());
    }
    let mut drained = 0;
    let mut skipped = BTreeSet::new();
    for pool in pools_of(&mut tx, w.environment_id).await? {
        // A pool shared with an environment that is open now keeps serving it.
        let mut open = Vec::new();
        for env in environments_on(&mut tx, pool).await? {
            if env != w.environment_id
                && repo::service_windows::active_in(&mut tx, env, now)
                    .await?
                    .is_none()
            {
                open.push(env);
            }
        }
        if open.is_empty() {
            let tenant = repo::pools::get(&mut tx, pool)
                .await?
                .and_then(|p| p.dedicated_tenant_id);
            drained += drain_pool(&mut tx, w, o, pool, tenant).await?;
        } else {
            skipped.insert(format!(
                "pool {pool} (also serves {})",
                open.iter()
                    .map(Uuid::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    let rollout_steps = crate::rollouts::begin_due_steps(&mut tx, w, o, now).await?;
    let mut detail = format!(
        "{}: launches refused, {drained} hosts drained, {rollout_steps} rollout steps begun",
        describe(w, o)
    );
    if !skipped.is_empty() {
        detail.push_str("; not drained: ");
        detail.push_str(&skipped.into_iter().collect::<Vec<_>>().join("; "));
    }
    repo::audit::insert(
        &mut tx,
        &system_event(
            Some(w.tenant_id),
            "service_window.start",
            ("service_window", w.id.to_string()),
            None,
            None,
            detail,
        ),
    )
    .await?;
    tx.commit().await.map_err(DbError::from)?;
    done.started += 1;
    done.hosts_drained += drained;
    done.rollout_steps += rollout_steps;
    Ok(())
}

async fn logoff(
    db: &Database,
    w: &ServiceWindow,
    o: &Occurrence,
    now: OffsetDateTime,
    done: &mut Tick,
) -> Result<(), DbError> {
    let mut tx = db.begin().await?;
    if !repo::service_windows::claim_step(&mut tx, w.id, o.start, "logoff", "done", None, now)
        .await?
    {
        return Ok(());
    }
    let sessions = sessions_of(&mut tx, w, "'launching', 'active', 'disconnected'").await?;
    let mut logged_off = 0;
    for s in &sessions {
        if super::notify::logoff(&mut tx, *s, w, o, now).await? {
            logged_off += 1;
        }
    }
    repo::audit::insert(
        &mut tx,
        &system_event(
            Some(w.tenant_id),
            "service_window.logoff",
            ("service_window", w.id.to_string()),
            None,
            None,
            format!("{}: {logged_off} sessions logged off", describe(w, o)),
        ),
    )
    .await?;
    tx.commit().await.map_err(DbError::from)?;
    super::notify::wake();
    done.logoffs += 1;
    done.sessions_logged_off += logged_off;
    Ok(())
}

async fn end(
    db: &Database,
    w: &ServiceWindow,
    o: &Occurrence,
    now: OffsetDateTime,
    done: &mut Tick,
) -> Result<(), DbError> {
    let mut tx = db.begin().await?;
    if !repo::service_windows::claim_step(&mut tx, w.id, o.start, "end", "done", None, now).await? {
        return Ok(());
    }
    repo::audit::insert(
        &mut tx,
        &system_event(
            Some(w.tenant_id),
            "service_window.end",
            ("service_window", w.id.to_string()),
            None,
            None,
            format!("{}: ended; launches accepted again", describe(w, o)),
        ),
    )
    .await?;
    tx.commit().await.map_err(DbError::from)?;
    done.ended += 1;
    Ok(())
}

/// Gives back the hosts of every ended occurrence.
async fn restore(db: &Database, now: OffsetDateTime, done: &mut Tick) -> Result<(), DbError> {
    let drains = {
        let mut conn = db.acquire().await?;
        repo::service_windows::drains_to_restore(&mut conn, now).await?
    };
    for d in drains {
        let mut tx = db.begin().await?;
        let Some(host) = repo::hosts::get(&mut tx, d.host_id).await? else {
            // The host is gone: nothing to give back.
            repo::service_windows::mark_restored(&mut tx, &d, now).await?;
            tx.commit().await.map_err(DbError::from)?;
            continue;
        };
        if host.recycle_to.is_some() {
            // A rollout waits for this host's new build: it stays drained until then.
            continue;
        }
        // Another window of the same host still running keeps it drained.
        if still_drained_by_another(&mut tx, &d, now).await? {
            continue;
        }
        if !repo::service_windows::mark_restored(&mut tx, &d, now).await? {
            continue;
        }
        let pool_tenant = repo::pools::get(&mut tx, host.pool_id)
            .await?
            .and_then(|p| p.dedicated_tenant_id);
        if host.state == HostState::Drain && d.previous_state != HostState::Drain {
            let mut after = host.clone();
            after.state = d.previous_state;
            let after = repo::hosts::update(&mut tx, &after).await?;
            repo::audit::insert(
                &mut tx,
                &system_event(
                    pool_tenant,
                    "host.state_change",
                    ("host", host.id.to_string()),
                    serde_json::to_value(&host).ok(),
                    serde_json::to_value(&after).ok(),
                    format!(
                        "service window {} ended at {}: back to {}",
                        d.window_id, d.occurrence_end, d.previous_state
                    ),
                ),
            )
            .await?;
            done.hosts_restored += 1;
        }
        tx.commit().await.map_err(DbError::from)?;
    }
    Ok(())
}

async fn still_drained_by_another(
    conn: &mut AnyConnection,
    d: &repo::service_windows::Drain,
    now: OffsetDateTime,
) -> Result<bool, DbError> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM service_window_drains WHERE host_id = $1 \
         AND restored_at IS NULL AND occurrence_end > $2",
    )
    .bind(d.host_id.to_string())
    .bind(crate::db::row::millis(now))
    .fetch_one(conn)
    .await?;
    Ok(crate::db::row::get_i64(&row, "n")? > 0)
}

/// Ticks every `config.interval` until `shutdown`; a failed tick is logged and retried.
pub async fn run_scheduler(db: Database, config: SchedulerConfig, shutdown: CancellationToken) {
    let mut interval = tokio::time::interval(config.interval);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = interval.tick() => match tick(&db, &config, OffsetDateTime::now_utc()).await {
                Ok(done) if done != Tick::default() => tracing::info!(?done, "service-window scheduler"),
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "service-window scheduler tick failed"),
            },
        }
    }
}
