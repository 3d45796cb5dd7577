//! Idle sessions: how much memory each costs the gateway and how many this machine holds.
//! Sessions are opened through the gateway's endpoint against the demo host (one host process
//! serves them all) in steps; after each step every session must answer a Ping, and the
//! process's resident memory, the demo host's, and the idle CPU are read.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hamn_bench::Samples;

use crate::gateway::{Client, Gateway};
use crate::measure::{self, MIB};

/// Sessions opened at once while ramping.
const BATCH: usize = 20;
/// Settling time after a step before memory and CPU are read.
const SETTLE: Duration = Duration::from_secs(3);
/// The idle CPU window.
const IDLE_WINDOW: Duration = Duration::from_secs(5);
const PONG_WAIT: Duration = Duration::from_secs(15);

pub struct Step {
    /// Sessions open after the step.
    pub sessions: usize,
    /// Sessions of this step that failed to open.
    pub failed: usize,
    /// Open sessions that answered a Ping.
    pub alive: usize,
    pub gateway_rss: u64,
    pub host_rss: Option<u64>,
    /// Gateway process CPU per session-second while every session is idle.
    pub idle_cpu_ms: f64,
    /// Demo host CPU per session-second meanwhile.
    pub host_idle_cpu_ms: Option<f64>,
    /// Ticket to ServerHello, this step's sessions.
    pub open: Samples,
    pub first_error: Option<String>,
}

pub struct Capacity {
    /// The desktop size the host gave the sessions.
    pub desktop: Option<(u16, u16)>,
    pub baseline_rss: u64,
    pub host_baseline_rss: Option<u64>,
    pub steps: Vec<Step>,
    /// Why the ramp stopped before its last step, if it did.
    pub stopped: Option<String>,
}

impl Capacity {
    /// Resident MiB per session at a step, over the baseline.
    pub fn mib_per_session(&self, step: &Step) -> f64 {
        (step.gateway_rss.saturating_sub(self.baseline_rss)) as f64 / MIB / step.sessions as f64
    }

    pub fn host_mib_per_session(&self, step: &Step) -> Option<f64> {
        Some(
            step.host_rss?.saturating_sub(self.host_baseline_rss?) as f64
                / MIB
                / step.sessions as f64,
        )
    }
}

/// Ramps to each of `steps` sessions, stopping early when opens fail, sessions stop
/// answering, or the machine's memory would run short.
pub async fn ramp(
    gateway: Arc<Gateway>,
    host_pid: Option<u32>,
    steps: &[usize],
) -> anyhow::Result<Capacity> {
    let mut clients: Vec<Client> = Vec::new();
    let baseline_rss = measure::rss(None)?;
    let host_baseline_rss = host_pid.and_then(|pid| measure::rss(Some(pid)).ok());
    let mut capacity = Capacity {
        desktop: None,
        baseline_rss,
        host_baseline_rss,
        steps: Vec::new(),
        stopped: None,
    };
    for &target in steps {
        if let Some(last) = capacity.steps.last() {
            // Each further session costs what the ones so far cost on average, in the
            // gateway and the host; keep a margin for the other builds on this machine.
            let per_session = (capacity.mib_per_session(last)
                + capacity.host_mib_per_session(last).unwrap_or(0.0))
                * MIB;
            let needed = per_session * target.saturating_sub(clients.len()) as f64;
            let available = measure::mem_available()? as f64;
            if needed * 1.5 + 2.0 * 1024.0 * MIB > available {
                capacity.stopped = Some(format!(
                    "{target} sessions would need ~{:.0} MiB more, {:.0} MiB available",
                    needed / MIB,
                    available / MIB
                ));
                break;
            }
        }
        let (opened, open, failed, first_error) =
            open_many(&gateway, target.saturating_sub(clients.len())).await;
        clients.extend(opened);
        capacity.desktop = capacity.desktop.or(clients.first().map(|c| c.size));
        tokio::time::sleep(SETTLE).await;

        let cpu = measure::cpu_time()?;
        let host_cpu = host_pid.and_then(|pid| measure::cpu_time_of(Some(pid)).ok());
        let started = Instant::now();
        tokio::time::sleep(IDLE_WINDOW).await;
        let secs = started.elapsed().as_secs_f64();
        let session_secs = secs * clients.len().max(1) as f64;
        let idle_cpu_ms =
            measure::cpu_time()?.saturating_sub(cpu).as_secs_f64() * 1e3 / session_secs;
        let host_idle_cpu_ms = match (host_pid, host_cpu) {
            (Some(pid), Some(before)) => measure::cpu_time_of(Some(pid))
                .ok()
                .map(|after| after.saturating_sub(before).as_secs_f64() * 1e3 / session_secs),
            _ => None,
        };
        let gateway_rss = measure::rss(None)?;
        let host_rss = host_pid.and_then(|pid| measure::rss(Some(pid)).ok());
        let alive = ping_all(&clients).await;
        let step = Step {
            sessions: clients.len(),
            failed,
            alive,
            gateway_rss,
            host_rss,
            idle_cpu_ms,
            host_idle_cpu_ms,
            open,
            first_error,
        };
        let healthy = step.failed == 0 && step.alive == step.sessions;
        eprintln!(
            "capacity: {} sessions, {} failed, {} alive, gateway {:.0} MiB",
            step.sessions,
            step.failed,
            step.alive,
            step.gateway_rss as f64 / MIB
        );
        capacity.steps.push(step);
        if !healthy {
            capacity.stopped = Some("sessions failed to open or to answer".to_owned());
            break;
        }
    }
    close_all(clients).await;
    Ok(capacity)
}

/// Opens `count` sessions, [`BATCH`] at a time.
async fn open_many(
    gateway: &Arc<Gateway>,
    count: usize,
) -> (Vec<Client>, Samples, usize, Option<String>) {
    let mut clients = Vec::with_capacity(count);
    let mut times = Vec::with_capacity(count);
    let (mut failed, mut first_error) = (0, None);
    let started = Instant::now();
    let mut left = count;
    while left > 0 {
        let batch = left.min(BATCH);
        left -= batch;
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..batch {
            let gateway = gateway.clone();
            tasks.spawn(async move {
                let started = Instant::now();
                let client = gateway.open(1280, 1024, None).await;
                (client, started.elapsed())
            });
        }
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok((Ok(client), took)) => {
                    clients.push(client);
                    times.push(took);
                }
                Ok((Err(error), _)) => {
                    failed += 1;
                    first_error.get_or_insert_with(|| format!("{error:#}"));
                }
                Err(error) => {
                    failed += 1;
                    first_error.get_or_insert_with(|| error.to_string());
                }
            }
        }
    }
    (
        clients,
        Samples::new(times, started.elapsed()),
        failed,
        first_error,
    )
}

/// How many sessions answer a Ping (all asked at once).
async fn ping_all(clients: &[Client]) -> usize {
    let pending: Vec<_> = clients
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.ping(i as u32).ok())
        .collect();
    let mut alive = 0;
    let deadline = tokio::time::Instant::now() + PONG_WAIT;
    for pong in pending {
        if let Ok(Ok(())) = tokio::time::timeout_at(deadline, pong).await {
            alive += 1;
        }
    }
    alive
}

async fn close_all(clients: Vec<Client>) {
    let mut tasks = tokio::task::JoinSet::new();
    for client in clients {
        tasks.spawn(client.close());
    }
    while tasks.join_next().await.is_some() {}
}
