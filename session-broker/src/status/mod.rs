//! The public status page's data: each environment's state now (in operation, disturbance
//! or service window, [`environment_state`]), incidents, and availability measured by the
//! gateway nodes' own probes ([`sample`], run by [`run_sampler`] on every gateway node;
//! computed by [`availability::availability`]).

pub mod availability;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::db::row::millis;
use crate::db::{Database, DbError};
use crate::health::{ProbeOutcome, probe_host};
use crate::model::{EnvironmentKind, HostHealth, HostState, Incident};
use crate::repo;

pub use availability::{Availability, minute_of};

/// An environment's state for the public.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvironmentState {
    /// In operation.
    Operating,
    /// An open incident, or no host that takes sessions.
    Disturbance,
    /// A service window is in progress.
    ServiceWindow,
}

/// The state now: an open incident is a disturbance whatever else holds (an operator said
/// so); otherwise a window in progress explains hosts being away; otherwise the environment
/// is disturbed when some pool of its apps has no host that takes sessions
/// (`hosts_accepting == Some(false)`; `None`: it has no apps, nothing to judge).
pub fn environment_state(
    window_in_progress: bool,
    open_incidents: usize,
    hosts_accepting: Option<bool>,
) -> EnvironmentState {
    if open_incidents > 0 {
        EnvironmentState::Disturbance
    } else if window_in_progress {
        EnvironmentState::ServiceWindow
    } else if hosts_accepting == Some(false) {
        EnvironmentState::Disturbance
    } else {
        EnvironmentState::Operating
    }
}

/// How the gateway samples availability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SamplerConfig {
    /// Between two sweeps (`gateway.availability_interval`).
    pub interval: Duration,
    /// For the TCP connect and for the confirm, each.
    pub timeout: Duration,
    /// Probes in flight at once.
    pub concurrency: usize,
}

impl Default for SamplerConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(60),
            timeout: Duration::from_secs(5),
            concurrency: 32,
        }
    }
}

/// How long samples are kept: the longest period shown, and some.
pub const SAMPLE_RETENTION_DAYS: i64 = 100;

/// Probes every active host of a pool that serves an app, once, and records for each
/// environment with apps whether it was available in the minute of `at`: every pool of its
/// apps has an active host whose RDP stack answered. Returns what it recorded.
pub async fn sample(
    db: &Database,
    config: &SamplerConfig,
    at: OffsetDateTime,
) -> Result<Vec<(Uuid, bool)>, DbError> {
    let (env_pools, hosts) = {
        let mut conn = db.acquire().await?;
        (
            repo::availability::environment_pools(&mut conn).await?,
            repo::hosts::all(&mut conn).await?,
        )
    };
    let pools: HashSet<Uuid> = env_pools.iter().map(|(_, p)| *p).collect();
    // Only hosts that take sessions can make an environment available; the others are not
    // worth a probe.
    let candidates: Vec<_> = hosts
        .iter()
        .filter(|h| h.state == HostState::Active && pools.contains(&h.pool_id))
        .collect();
    let mut probes = JoinSet::new();
    let mut answered: HashSet<Uuid> = HashSet::new();
    let mut pending = candidates.iter();
    loop {
        while probes.len() < config.concurrency.max(1) {
            let Some(host) = pending.next() else { break };
            let (id, pool, address, port, timeout) = (
                host.id,
                host.pool_id,
                host.address.clone(),
                host.port,
                config.timeout,
            );
            probes.spawn(async move { (id, pool, probe_host(&address, port, timeout).await) });
        }
        match probes.join_next().await {
            Some(Ok((_, pool, ProbeOutcome::Answered(_)))) => {
                answered.insert(pool);
            }
            Some(Ok((id, _, ProbeOutcome::Failed(reason)))) => {
                tracing::debug!(host = %id, %reason, "availability probe failed");
            }
            Some(Err(error)) => tracing::warn!(%error, "availability probe task failed"),
            None => break,
        }
    }
    let mut by_env: HashMap<Uuid, bool> = HashMap::new();
    for (env, pool) in &env_pools {
        let ok = answered.contains(pool);
        by_env
            .entry(*env)
            .and_modify(|all| *all &= ok)
            .or_insert(ok);
    }
    let minute = minute_of(at);
    let mut tx = db.begin().await?;
    let mut recorded: Vec<(Uuid, bool)> = by_env.into_iter().collect();
    recorded.sort_unstable();
    for (env, available) in &recorded {
        repo::availability::record(&mut tx, *env, minute, *available, millis(at)).await?;
    }
    // Once an hour, whichever node gets there: old samples go.
    if minute.rem_euclid(60) == 0 {
        repo::availability::prune(&mut tx, minute - SAMPLE_RETENTION_DAYS * 24 * 60).await?;
    }
    tx.commit().await.map_err(DbError::from)?;
    Ok(recorded)
}

/// Samples every `config.interval` until `shutdown`; a failed sweep is logged and the next
/// one tried at its time.
pub async fn run_sampler(db: Database, config: SamplerConfig, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(config.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {
                if let Err(error) = sample(&db, &config, OffsetDateTime::now_utc()).await {
                    tracing::warn!(%error, "availability sample failed");
                }
            }
        }
    }
}

/// One environment on the status page.
#[derive(Debug, Clone)]
pub struct EnvironmentStatus {
    pub environment_id: Uuid,
    pub tenant_id: Uuid,
    pub tenant_slug: String,
    pub tenant_name: String,
    pub kind: EnvironmentKind,
    pub name: String,
    pub state: EnvironmentState,
    /// The window in progress: its title and when the service is back.
    pub window: Option<(String, OffsetDateTime)>,
}

/// What the status page shows.
#[derive(Debug, Clone)]
pub struct Overview {
    pub environments: Vec<EnvironmentStatus>,
    /// Open incidents and those resolved within the page's history, newest first.
    pub incidents: Vec<Incident>,
}

/// Resolved incidents stay on the page this long.
pub const RESOLVED_SHOWN: time::Duration = time::Duration::days(7);

/// Everything the status page shows at `now`, but the upcoming windows
/// ([`crate::service_windows::upcoming`]) and availability ([`availability_of`]).
pub async fn overview(db: &Database, now: OffsetDateTime) -> Result<Overview, DbError> {
    let mut conn = db.acquire().await?;
    let envs = repo::availability::environments(&mut conn).await?;
    let env_pools = repo::availability::environment_pools(&mut conn).await?;
    let hosts = repo::hosts::all(&mut conn).await?;
    let incidents = repo::incidents::list_current(&mut conn, now - RESOLVED_SHOWN, 200).await?;
    // Pools with a host that takes sessions by the broker's health monitor (a host not yet
    // probed is given the benefit of the doubt).
    let accepting: HashSet<Uuid> = hosts
        .iter()
        .filter(|h| h.state == HostState::Active && h.health != HostHealth::Unhealthy)
        .map(|h| h.pool_id)
        .collect();
    let mut environments = Vec::with_capacity(envs.len());
    for (id, tenant_id, slug, tenant_name, kind, name) in envs {
        let kind: EnvironmentKind = kind
            .parse()
            .map_err(|e| DbError::Corrupt(format!("environment kind: {e}")))?;
        let pools: Vec<Uuid> = env_pools
            .iter()
            .filter(|(e, _)| *e == id)
            .map(|(_, p)| *p)
            .collect();
        let hosts_accepting =
            (!pools.is_empty()).then(|| pools.iter().all(|p| accepting.contains(p)));
        let window = repo::service_windows::active_in(&mut conn, id, now)
            .await?
            .map(|(w, end)| (w.title, end));
        let open = incidents
            .iter()
            .filter(|i| i.is_open() && i.tenant_id == tenant_id && i.concerns(id))
            .count();
        let state = environment_state(window.is_some(), open, hosts_accepting);
        environments.push(EnvironmentStatus {
            environment_id: id,
            tenant_id,
            tenant_slug: slug,
            tenant_name,
            kind,
            name,
            state,
            window,
        });
    }
    Ok(Overview {
        environments,
        incidents,
    })
}

/// `environment_id`'s availability over the 30 and 90 days before `now`.
pub async fn availability_of(
    db: &Database,
    environment_id: Uuid,
    now: OffsetDateTime,
) -> Result<(Availability, Availability), DbError> {
    let mut conn = db.acquire().await?;
    let now_minute = minute_of(now);
    let day = 24 * 60;
    let from90 = now_minute - 90 * day;
    let period_start = now - time::Duration::days(90);
    let occurrences: Vec<(OffsetDateTime, OffsetDateTime)> =
        repo::service_windows::list_live(&mut conn, Some(environment_id), period_start, 1000)
            .await?
            .iter()
            .flat_map(|w| w.occurrences(period_start, now))
            .map(|o| (o.start, o.end))
            .collect();
    // The samples once; 30 days is a slice of the same.
    let samples =
        repo::availability::samples(&mut conn, environment_id, from90, now_minute).await?;
    Ok((
        availability::availability(now_minute - 30 * day, now_minute, &occurrences, &samples),
        availability::availability(from90, now_minute, &occurrences, &samples),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_incident_outranks_a_window_which_explains_missing_hosts() {
        use EnvironmentState::*;
        assert_eq!(environment_state(false, 0, Some(true)), Operating);
        assert_eq!(environment_state(false, 0, None), Operating);
        assert_eq!(environment_state(false, 0, Some(false)), Disturbance);
        assert_eq!(environment_state(true, 0, Some(false)), ServiceWindow);
        assert_eq!(environment_state(true, 1, Some(true)), Disturbance);
        assert_eq!(environment_state(false, 2, Some(true)), Disturbance);
    }
}
