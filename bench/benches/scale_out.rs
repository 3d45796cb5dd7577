//! Scale-out (issue 9, "Benchmark"): launches and sessions per second through two
//! `hamn broker` + two `hamn gateway` processes against one of each, on one PostgreSQL
//! (a scratch database of its own per shape), in one run; the ratio two/one is the figure.
//! The load is the load client's ([`hamn_bench::load`]): users log in through the demo
//! login, round-robin over the gateways, and
//!
//! - **launches/s**: launch again and again on one login (`POST /portal/api/launch`:
//!   fair use, placement, ticket, audit — the database path);
//! - **sessions/s**: log in, launch, open `wss /ws/session`, wait for the first frame from
//!   a demo host (an RDP connection through the gateway), close, log off, log out.
//!
//! Both unpaced, from [`USERS`] users at once, on real demo hosts. The portal's launches
//! run in the gateway processes; brokers serve the admin API (provisioning here) and run
//! the background jobs. On this 2-core machine the processes, PostgreSQL, the demo hosts
//! and the load client share two cores, so the ratio shows contention as much as scale:
//! it is printed with the core count and said so.
//!
//! Run: `cargo bench -p hamn-bench --bench scale_out` after `cargo build --release -p hamn`
//! and the demo host (`HAMN_BIN`, `HAMN_DEMO_HOST_BIN` override where they are looked for);
//! `HAMN_TEST_DATABASE_URL` names the PostgreSQL server (default the test one).

use std::time::Duration;

use hamn_bench::PgScratch;
use hamn_bench::load::stack::{Binaries, Stack};
use hamn_bench::load::{Cycle, Options, Profile, Report, run};

const USERS: usize = 8;
const LAUNCH_PHASE: Duration = Duration::from_secs(20);
const SESSION_PHASE: Duration = Duration::from_secs(30);
const DEMO_HOSTS: usize = 2;

struct Shape {
    name: &'static str,
    brokers: usize,
    gateways: usize,
    launches: Report,
    sessions: Report,
}

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(bench())
}

async fn bench() -> anyhow::Result<()> {
    let admin_url = std::env::var("HAMN_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let bins = Binaries::locate()?;
    let mut shapes = Vec::new();
    for (name, n) in [
        ("one broker + one gateway", 1),
        ("two brokers + two gateways", 2),
    ] {
        let database = match PgScratch::create(&admin_url, &format!("_scale{n}")).await {
            Ok(database) => database,
            Err(error) => {
                println!("scale-out skipped: PostgreSQL at {admin_url} unavailable ({error:#})");
                return Ok(());
            }
        };
        eprintln!("scale-out: {name}");
        let result = measure(&bins, &database.url, n).await;
        database.drop().await;
        let (launches, sessions) = result?;
        shapes.push(Shape {
            name,
            brokers: n,
            gateways: n,
            launches,
            sessions,
        });
    }
    print!("{}", render(&shapes));
    Ok(())
}

async fn measure(bins: &Binaries, url: &str, n: usize) -> anyhow::Result<(Report, Report)> {
    let mut stack = Stack::split(bins, url, n, n, DEMO_HOSTS).await?;
    let base = Options {
        sessions: USERS,
        tunnels: 0,
        launch_rate: None,
        lifetime: Duration::ZERO,
        ..Profile::Short.options()
    };
    let launches = run(
        &stack,
        &Options {
            duration: LAUNCH_PHASE,
            cycle: Cycle::LaunchOnly,
            ..base.clone()
        },
    )
    .await;
    let sessions = match &launches {
        Ok(_) => {
            run(
                &stack,
                &Options {
                    duration: SESSION_PHASE,
                    cycle: Cycle::Full,
                    ..base
                },
            )
            .await
        }
        Err(_) => Err(anyhow::anyhow!("not run")),
    };
    let logs = stack.logs();
    stack.stop();
    let with_logs = |e: anyhow::Error| e.context(logs.clone());
    Ok((launches.map_err(with_logs)?, sessions.map_err(with_logs)?))
}

fn per_second(count: u64, report: &Report) -> f64 {
    count as f64 / report.duration.as_secs_f64().max(1e-9)
}

fn render(shapes: &[Shape]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let _ = writeln!(
        out,
        "\nscale-out on PostgreSQL: {USERS} users unpaced, {DEMO_HOSTS} demo hosts; {cores} CPU cores \
         shared by every process, PostgreSQL, the demo hosts and this load client"
    );
    let _ = writeln!(
        out,
        "{:<36} | {:>10} | {:>15} | {:>10} | {:>15} | {:>6}",
        "shape", "launches/s", "launch p50/p99", "sessions/s", "ready p50/p99", "errors"
    );
    for shape in shapes {
        let (l, s) = (&shape.launches, &shape.sessions);
        let _ = writeln!(
            out,
            "{:<36} | {:>10.1} | {:>6.1}/{:>6.1} ms | {:>10.2} | {:>6.0}/{:>6.0} ms | {:>6}",
            format!("{} ({}b+{}g)", shape.name, shape.brokers, shape.gateways),
            per_second(l.launches, l),
            l.launch.p50,
            l.launch.p99,
            per_second(s.sessions_opened, s),
            s.latency.p50,
            s.latency.p99,
            l.errors + s.errors
        );
        for text in l.error_texts.iter().chain(&s.error_texts).take(5) {
            let _ = writeln!(out, "  error: {text}");
        }
    }
    if let [one, two] = shapes {
        let ratio = |a: f64, b: f64| if a > 0.0 { b / a } else { 0.0 };
        let _ = writeln!(
            out,
            "scale-out ratio (two/one): launches/s {:.2}×, sessions/s {:.2}×",
            ratio(
                per_second(one.launches.launches, &one.launches),
                per_second(two.launches.launches, &two.launches)
            ),
            ratio(
                per_second(one.sessions.sessions_opened, &one.sessions),
                per_second(two.sessions.sessions_opened, &two.sessions)
            )
        );
        let _ = writeln!(
            out,
            "(CPU-bound: on {cores} cores a second process of each kind adds no cores, only \
             parallel database work; this ratio is a lower bound, not the gain on separate machines)"
        );
    }
    out
}
