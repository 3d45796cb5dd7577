//! Admin API throughput and p99 latency on SQLite and on PostgreSQL, printed side by side.
//!
//! Each backend gets a real broker (TLS, mTLS, audit in the same transaction) on loopback.
//! The baseline is `GET /api/v1/whoami` (TLS, HTTP, client-certificate check, no database)
//! through the same client and connection pool, so the ratios say what the database path
//! costs on top of everything else on this machine.
//! Run: `cargo bench -p hamn-bench` (PostgreSQL from HAMN_TEST_DATABASE_URL, else
//! 127.0.0.1:5432; the column says so when none answers).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use hamn_bench::{PgScratch, Samples, Summary};
use hamn_broker::client::AdminClient;
use hamn_broker::db::DatabaseConfig;
use http::Method;
use serde_json::json;
use tokio_util::sync::CancellationToken;

const OPERATIONS: usize = 1500;
const CONCURRENCY: usize = 8;

struct Row {
    name: &'static str,
    sqlite: Summary,
    postgres: Option<Summary>,
}

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let scratch = std::env::temp_dir().join(format!("hamn-bench-{}", std::process::id()));
        std::fs::create_dir_all(&scratch)?;
        let result = compare(&scratch).await;
        let _ = std::fs::remove_dir_all(&scratch);
        let rows = result?;
        print_table(&rows);
        Ok(())
    })
}

async fn compare(scratch: &std::path::Path) -> anyhow::Result<Vec<Row>> {
    let pki = hamn_certs::DevPki::init(&scratch.join("certs"))?;
    let sqlite_url = format!("sqlite://{}?mode=rwc", scratch.join("bench.db").display());
    let sqlite = measure(&pki, &sqlite_url).await.context("SQLite")?;

    let admin_url = std::env::var("HAMN_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let postgres = match PgScratch::create(&admin_url, "").await {
        Ok(db) => {
            let result = measure(&pki, &db.url).await;
            db.drop().await;
            Some(result.context("PostgreSQL")?)
        }
        Err(error) => {
            eprintln!("PostgreSQL unavailable ({error:#}); its column stays empty");
            None
        }
    };
    let names = ["whoami (baseline)", "create tenant", "read tenant"];
    Ok(names
        .iter()
        .enumerate()
        .map(|(i, name)| Row {
            name,
            sqlite: sqlite[i],
            postgres: postgres.as_ref().map(|p| p[i]),
        })
        .collect())
}

/// Starts a broker on `url` and measures the baseline, creates and reads.
async fn measure(pki: &hamn_certs::DevPki, url: &str) -> anyhow::Result<[Summary; 3]> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let shutdown = CancellationToken::new();
    let config = hamn_broker::BrokerConfig {
        listen: ([127, 0, 0, 1], port).into(),
        api_ca: pki.paths.api_ca_cert(),
        operator_cns: vec![hamn_certs::pki::OPERATOR_CN.into()],
        migrate_on_start: true,
        database: DatabaseConfig {
            url: url.to_owned(),
            max_connections: 10,
        },
        tls: pki.server_cert_files(),
        health: None,
        secrets_key: None,
        service_windows: Default::default(),
        print_public_url: None,
        print_data_dir: None,
        audit_retention: None,
    };
    let broker = tokio::spawn(hamn_broker::run(config, shutdown.clone()));
    let client = Arc::new(AdminClient::new(
        &format!("https://127.0.0.1:{port}"),
        &pki.paths.ca_cert(),
        &pki.paths.api_operator_cert(),
        &pki.paths.api_operator_key(),
    )?);
    wait_ready(&client).await?;

    let whoami = |client: Arc<AdminClient>, _| async move {
        let response = client.request(Method::GET, "/api/v1/whoami", None).await?;
        expect(response.status.as_u16(), 200, "whoami")
    };
    let baseline_before = run_concurrently(&client, whoami).await?;

    let run_id = std::process::id();
    let ids = Arc::new(std::sync::Mutex::new(Vec::with_capacity(OPERATIONS)));
    let created = {
        let ids = ids.clone();
        run_concurrently(&client, move |client, i| {
            let ids = ids.clone();
            async move {
                let body = json!({ "slug": format!("bench-{run_id}-{i}"), "name": format!("Bänkkommun {i}") });
                let response = client.request(Method::POST, "/api/v1/tenants", Some(body)).await?;
                expect(response.status.as_u16(), 201, "create tenant")?;
                let id = response.json["id"].as_str().context("created tenant has no id")?.to_owned();
                ids.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.push(id);
                Ok(())
            }
        })
        .await?
    };
    let ids: Arc<Vec<String>> = Arc::new(std::mem::take(
        &mut *ids.lock().map_err(|_| anyhow::anyhow!("poisoned"))?,
    ));
    let read = run_concurrently(&client, move |client, i| {
        let ids = ids.clone();
        async move {
            let id = &ids[i % ids.len()];
            let response = client
                .request(Method::GET, &format!("/api/v1/tenants/{id}"), None)
                .await?;
            expect(response.status.as_u16(), 200, "read tenant")
        }
    })
    .await?;

    // The baseline runs before and after, so drift in machine load during the run moves
    // both sides of the ratio alike.
    let baseline_after = run_concurrently(&client, whoami).await?;
    let baseline = baseline_before.mean(&baseline_after);

    shutdown.cancel();
    broker.await.context("broker task")?.context("broker")?;
    Ok([baseline, created, read])
}

async fn wait_ready(client: &AdminClient) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        // /readyz answers text, which the JSON client reports as NotJson with its status.
        let response = client.request(Method::GET, "/readyz", None).await;
        if let Err(hamn_broker::ClientError::NotJson { status: 200, .. }) = response {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("broker did not become ready");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn expect(got: u16, want: u16, what: &str) -> anyhow::Result<()> {
    if got == want {
        Ok(())
    } else {
        bail!("{what}: HTTP {got}, expected {want}")
    }
}

/// Runs `op` OPERATIONS times from CONCURRENCY tasks; latencies per call.
async fn run_concurrently<F, Fut>(client: &Arc<AdminClient>, op: F) -> anyhow::Result<Summary>
where
    F: Fn(Arc<AdminClient>, usize) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    // Warm the connection pool and caches outside the measurement.
    for i in 0..CONCURRENCY {
        op(client.clone(), OPERATIONS + i).await?;
    }
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..CONCURRENCY {
        let (client, op, next) = (client.clone(), op.clone(), next.clone());
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= OPERATIONS {
                    return Ok::<_, anyhow::Error>(latencies);
                }
                let start = Instant::now();
                op(client.clone(), i).await?;
                latencies.push(start.elapsed());
            }
        });
    }
    let mut all = Vec::with_capacity(OPERATIONS);
    while let Some(joined) = tasks.join_next().await {
        all.extend(joined??);
    }
    Ok(Samples::new(all, started.elapsed()).summary())
}

fn print_table(rows: &[Row]) {
    let base_sqlite = rows[0].sqlite.ops_per_sec;
    let base_pg = rows[0].postgres.map(|p| p.ops_per_sec);
    println!(
        "\nadmin API, {OPERATIONS} requests per operation, {CONCURRENCY} concurrent, mTLS on loopback"
    );
    println!(
        "{:<20} | {:>9} {:>8} {:>8} {:>7} | {:>9} {:>8} {:>8} {:>7} | {:>8}",
        "operation",
        "sqlite/s",
        "p50 ms",
        "p99 ms",
        "×base",
        "pg/s",
        "p50 ms",
        "p99 ms",
        "×base",
        "pg÷sqlite"
    );
    for row in rows {
        let s = row.sqlite;
        let left = format!(
            "{:<20} | {:>9.0} {:>8.2} {:>8.2} {:>7.3}",
            row.name,
            s.ops_per_sec,
            s.p50_ms,
            s.p99_ms,
            s.ops_per_sec / base_sqlite
        );
        let right = match (row.postgres, base_pg) {
            (Some(p), Some(base)) => format!(
                "{:>9.0} {:>8.2} {:>8.2} {:>7.3} | {:>8.3}",
                p.ops_per_sec,
                p.p50_ms,
                p.p99_ms,
                p.ops_per_sec / base,
                p.ops_per_sec / s.ops_per_sec
            ),
            _ => format!("{:>9} {:>8} {:>8} {:>7} | {:>8}", "n/a", "", "", "", ""),
        };
        println!("{left} | {right}");
    }
}
