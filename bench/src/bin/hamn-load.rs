//! `hamn-load`: the synthetic load client (issue 10, "Load"). Starts its own `hamn up` on
//! loopback (or loads a running one with `--target`), drives browser sessions and native
//! tunnels against demo hosts, prints a table and writes the JSON of the contract.
//!
//! ```text
//! cargo build --release -p hamn && cargo build --release --manifest-path demo-host/Cargo.toml
//! cargo run --release -p hamn-bench --bin hamn-load -- --profile short|long \
//!     [--sessions N] [--tunnels M] [--launch-rate R] [--json FILE]
//! ```
//!
//! Exit status 0 when nothing failed and nothing was lost, 1 otherwise (and, for the long
//! profile, when memory did not stay flat).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use hamn_bench::load::stack::{Binaries, Stack};
use hamn_bench::load::{Profile, run};

#[derive(Debug, Parser)]
#[command(name = "hamn-load", about = "Hamn's synthetic load client")]
struct Args {
    /// short (~60 s, CI) or long (10 minutes held, memory judged flat or not).
    #[arg(long, default_value = "short")]
    profile: String,
    /// Concurrent browser sessions.
    #[arg(long)]
    sessions: Option<usize>,
    /// Concurrent native tunnels (`/wst/`).
    #[arg(long)]
    tunnels: Option<usize>,
    /// Logins and launches per second over all users (0: unpaced).
    #[arg(long)]
    launch_rate: Option<f64>,
    /// Run time in seconds (the profile's unless given).
    #[arg(long)]
    seconds: Option<u64>,
    /// How long a user holds a session before logging off and launching again, seconds.
    #[arg(long)]
    lifetime: Option<u64>,
    /// Demo hosts beside `hamn up`'s own.
    #[arg(long, default_value_t = 0)]
    extra_hosts: usize,
    /// Write the report's JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Load a running Hamn instead: its portal, e.g. https://localhost:8443 (loopback).
    #[arg(long, requires_all = ["broker", "certs"])]
    target: Option<String>,
    /// With --target: the broker's admin API, e.g. https://127.0.0.1:8444.
    #[arg(long)]
    broker: Option<String>,
    /// With --target: its dev PKI directory (ca.crt, api-operator.crt/.key).
    #[arg(long)]
    certs: Option<PathBuf>,
    /// With --target: pids of the Hamn processes to measure.
    #[arg(long)]
    pid: Vec<u32>,
}

fn port_of(url: &str) -> anyhow::Result<u16> {
    url.trim_end_matches('/')
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .with_context(|| format!("{url}: give the port, e.g. https://localhost:8443"))
}

fn main() -> anyhow::Result<ExitCode> {
    let args = Args::parse();
    let profile = match args.profile.as_str() {
        "short" => Profile::Short,
        "long" => Profile::Long,
        other => anyhow::bail!("--profile {other}: short or long"),
    };
    let mut options = profile.options();
    if let Some(n) = args.sessions {
        options.sessions = n;
    }
    if let Some(m) = args.tunnels {
        options.tunnels = m;
    }
    if let Some(r) = args.launch_rate {
        options.launch_rate = (r > 0.0).then_some(r);
    }
    if let Some(s) = args.seconds {
        options.duration = Duration::from_secs(s);
    }
    if let Some(s) = args.lifetime {
        options.lifetime = Duration::from_secs(s);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let report = runtime.block_on(async {
        let mut stack = match &args.target {
            Some(target) => Stack::external(
                port_of(target)?,
                port_of(args.broker.as_deref().unwrap_or_default())?,
                args.certs.clone().unwrap_or_default(),
                args.pid.clone(),
            )?,
            None => Stack::up(&Binaries::locate()?, args.extra_hosts).await?,
        };
        let report = run(&stack, &options).await;
        stack.stop();
        report
    })?;
    print!("{}", report.table());
    if let Some(path) = &args.json {
        std::fs::write(path, format!("{:#}\n", report.json()))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let ok = report.clean() && (profile == Profile::Short || report.flat);
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
