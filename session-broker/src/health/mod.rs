//! Host health: the broker probes every host of every pool on a timer, with a TCP connect
//! and an RDP X.224 Connection Request that must get a Connection Confirm ([`probe`]).
//!
//! - `failures_to_unhealthy` misses in a row make a host `unhealthy`; placement then skips
//!   it. One answer makes it `healthy` again.
//! - Every probe stamps `health_checked_at`. Every change of health is written together
//!   with its `host.health` audit event (actor `system`), in one transaction.
//! - Several brokers on one database each probe. Their writes agree, because health follows
//!   the host, not the broker. Each broker may audit the same change once.

pub mod probe;

use std::collections::HashMap;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::db::{Database, DbError};
use crate::model::{ActorKind, AuditOutcome, Host, HostHealth, NewAuditEvent};
use crate::repo;

pub use probe::Confirm;

/// How the monitor probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthConfig {
    /// Between the starts of two sweeps.
    pub interval: Duration,
    /// For the TCP connect and for the confirm, each.
    pub timeout: Duration,
    /// Misses in a row before a host counts as unhealthy.
    pub failures_to_unhealthy: u32,
    /// Probes in flight at once.
    pub concurrency: usize,
}

impl Default for HealthConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(15),
            timeout: Duration::from_secs(5),
            failures_to_unhealthy: 2,
            concurrency: 32,
        }
    }
}

/// What one probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// An RDP stack answered.
    Answered(Confirm),
    /// No answer an RDP host would give, and why.
    Failed(String),
}

/// Probes `address:port` once.
pub async fn probe_host(address: &str, port: u16, timeout: Duration) -> ProbeOutcome {
    let connect = tokio::time::timeout(timeout, TcpStream::connect((address, port))).await;
    let mut stream = match connect {
        Ok(Ok(stream)) => stream,
        Ok(Err(error)) => return ProbeOutcome::Failed(format!("TCP connect: {error}")),
        Err(_) => return ProbeOutcome::Failed(format!("TCP connect: no answer in {timeout:?}")),
    };
    let exchange = async {
        stream.write_all(&probe::connection_request()).await?;
        let mut header = [0u8; probe::TPKT_HEADER];
        stream.read_exact(&mut header).await?;
        let length = match probe::tpkt_length(header) {
            Ok(length) => length,
            Err(error) => return Ok(Err(error)),
        };
        let mut pdu = vec![0u8; length];
        pdu[..probe::TPKT_HEADER].copy_from_slice(&header);
        stream.read_exact(&mut pdu[probe::TPKT_HEADER..]).await?;
        Ok::<_, std::io::Error>(probe::parse_confirm(&pdu))
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(Ok(Ok(confirm))) => ProbeOutcome::Answered(confirm),
        Ok(Ok(Err(error))) => ProbeOutcome::Failed(format!("not an RDP answer: {error}")),
        Ok(Err(error)) => ProbeOutcome::Failed(format!("connection request: {error}")),
        Err(_) => ProbeOutcome::Failed(format!("no connection confirm in {timeout:?}")),
    }
}

/// One host's health after a probe, and whether it changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub host: Uuid,
    pub health: HostHealth,
    pub changed: bool,
    pub outcome: ProbeOutcome,
}

/// Misses in a row per host, kept between sweeps.
#[derive(Debug, Default)]
pub struct Misses(HashMap<Uuid, u32>);

/// The health a host has after `outcome`, given its misses so far (updated).
fn judge(
    current: HostHealth,
    outcome: &ProbeOutcome,
    misses: &mut u32,
    threshold: u32,
) -> HostHealth {
    match outcome {
        ProbeOutcome::Answered(_) => {
            *misses = 0;
            HostHealth::Healthy
        }
        ProbeOutcome::Failed(_) => {
            *misses = misses.saturating_add(1);
            if *misses >= threshold.max(1) {
                HostHealth::Unhealthy
            } else {
                current
            }
        }
    }
}

/// Probes every host once and records the results.
pub async fn sweep(
    db: &Database,
    config: &HealthConfig,
    misses: &mut Misses,
) -> Result<Vec<Checked>, DbError> {
    let hosts = all_hosts(db).await?;
    let mut probes = JoinSet::new();
    let mut results = Vec::with_capacity(hosts.len());
    let mut pending = hosts.iter();
    loop {
        while probes.len() < config.concurrency.max(1) {
            let Some(host) = pending.next() else { break };
            let (id, address, port, timeout) =
                (host.id, host.address.clone(), host.port, config.timeout);
            probes.spawn(async move { (id, probe_host(&address, port, timeout).await) });
        }
        match probes.join_next().await {
            Some(Ok(result)) => results.push(result),
            // A probe task cannot panic by design; if one did, its host is simply not
            // judged this sweep.
            Some(Err(error)) => tracing::warn!(%error, "health probe task failed"),
            None => break,
        }
    }
    let mut checked = Vec::with_capacity(results.len());
    for (id, outcome) in results {
        let Some(host) = hosts.iter().find(|h| h.id == id) else {
            continue;
        };
        let count = misses.0.entry(id).or_default();
        let health = judge(host.health, &outcome, count, config.failures_to_unhealthy);
        let changed = health != host.health;
        record(db, host, health, &outcome).await?;
        checked.push(Checked {
            host: id,
            health,
            changed,
            outcome,
        });
    }
    Ok(checked)
}

async fn all_hosts(db: &Database) -> Result<Vec<Host>, DbError> {
    let mut conn = db.acquire().await?;
    repo::hosts::all(&mut conn).await
}

/// Stamps the probe time; a change of health goes with its audit event.
async fn record(
    db: &Database,
    host: &Host,
    health: HostHealth,
    outcome: &ProbeOutcome,
) -> Result<(), DbError> {
    let now = OffsetDateTime::now_utc();
    let mut tx = db.begin().await?;
    repo::hosts::set_health(&mut tx, host.id, health, now).await?;
    if health != host.health {
        let detail = match outcome {
            ProbeOutcome::Answered(confirm) => format!("answered: {confirm:?}"),
            ProbeOutcome::Failed(reason) => reason.clone(),
        };
        tracing::info!(host = %host.name, from = host.health.as_str(), to = health.as_str(), %detail, "host health changed");
        repo::audit::insert(
            &mut tx,
            &NewAuditEvent {
                tenant_id: None,
                actor_kind: ActorKind::System,
                actor_id: None,
                actor_name: "health probe".to_owned(),
                action: "host.health".to_owned(),
                target_type: Some("host".to_owned()),
                target_id: Some(host.id.to_string()),
                outcome: AuditOutcome::Success,
                source_address: None,
                before: Some(serde_json::json!({ "health": host.health.as_str() })),
                after: Some(serde_json::json!({ "health": health.as_str() })),
                detail: Some(format!(
                    "{} ({}:{}): {detail}",
                    host.name, host.address, host.port
                )),
            },
        )
        .await?;
    }
    tx.commit().await.map_err(DbError::from)
}

/// Sweeps every `config.interval` until `shutdown`; a failed sweep is logged and retried
/// at the next interval.
pub async fn run_monitor(db: Database, config: HealthConfig, shutdown: CancellationToken) {
    let mut misses = Misses::default();
    let mut tick = tokio::time::interval(config.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {
                if let Err(error) = sweep(&db, &config, &mut misses).await {
                    tracing::warn!(%error, "host health sweep failed");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misses_in_a_row_make_a_host_unhealthy_and_one_answer_heals_it() {
        let failed = ProbeOutcome::Failed("refused".to_owned());
        let answered = ProbeOutcome::Answered(Confirm::Plain);
        let mut misses = 0;
        assert_eq!(
            judge(HostHealth::Unknown, &failed, &mut misses, 2),
            HostHealth::Unknown
        );
        assert_eq!(
            judge(HostHealth::Unknown, &failed, &mut misses, 2),
            HostHealth::Unhealthy
        );
        assert_eq!(
            judge(HostHealth::Unhealthy, &answered, &mut misses, 2),
            HostHealth::Healthy
        );
        assert_eq!(misses, 0);
        assert_eq!(
            judge(HostHealth::Healthy, &failed, &mut misses, 2),
            HostHealth::Healthy,
            "one miss is not enough"
        );
        assert_eq!(
            judge(HostHealth::Healthy, &failed, &mut misses, 0),
            HostHealth::Unhealthy,
            "a threshold of 0 counts as 1"
        );
    }
}
