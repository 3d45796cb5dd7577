//! Process-wide metrics in the Prometheus text exposition format (version 0.0.4).
//!
//! One registry per process, shared by the broker, the gateway and the print service when
//! `hamn up` runs them together: the metrics are statics that each service's code paths
//! count into, and [`serve`] answers `GET /metrics` on its own (loopback) listener. It is
//! a few atomics and mutexes rather than a crate because the set is small and fixed.
//!
//! Labels are bounded: every label value a code path passes is a `&'static str` word
//! (reasons, methods, outcomes); the only values from data are tenant slugs and pool
//! names, read from the database at scrape time. [`label_value`] is the last guard: a
//! value shaped like an id (a UUID, an HSA-ID, anything long or with odd characters) is
//! exported as `other`, so a user or session id can never become a series.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex, PoisonError};
use std::time::Duration;

use sqlx::AnyPool;
use tokio_util::sync::CancellationToken;

use crate::db::row::{get_i64, get_string};
use crate::db::{Database, DbError};

/// Buckets of latencies in seconds, from a fast launch to a slow one.
const LAUNCH_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];
/// Buckets of one tile's encode time in seconds.
const ENCODE_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
];
/// Most (state, tenant, pool) rows a scrape reads: a bound on the session gauge's series
/// even for an installation with very many tenants.
const MAX_SESSION_SERIES: i64 = 2000;

/// A label value as exported: `value` when it is a short word of letters, digits, `_`,
/// `-` and `.` that does not look like an id, else `other`.
pub fn label_value(value: &str) -> &str {
    let word = !value.is_empty()
        && value.len() <= 40
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    // A UUID (with or without dashes) or an HSA-ID-like run of digits is an identity.
    let digits = value.bytes().filter(u8::is_ascii_digit).count();
    let hex = value.bytes().filter(u8::is_ascii_hexdigit).count();
    let id_like = uuid::Uuid::parse_str(value).is_ok()
        || digits >= 6
        || (value.len() >= 16 && hex == value.len());
    if word && !id_like { value } else { "other" }
}

/// A counter family with fixed label names.
pub struct CounterVec {
    name: &'static str,
    help: &'static str,
    labels: &'static [&'static str],
    values: Mutex<BTreeMap<Vec<&'static str>, u64>>,
}

impl CounterVec {
    const fn new(name: &'static str, help: &'static str, labels: &'static [&'static str]) -> Self {
        Self {
            name,
            help,
            labels,
            values: Mutex::new(BTreeMap::new()),
        }
    }

    /// Adds `n` to the series of `values` (one per label name, in order).
    pub fn add(&self, values: &[&'static str], n: u64) {
        debug_assert_eq!(values.len(), self.labels.len(), "{}", self.name);
        let mut map = self.values.lock().unwrap_or_else(PoisonError::into_inner);
        *map.entry(values.to_vec()).or_insert(0) += n;
    }

    /// Adds one.
    pub fn inc(&self, values: &[&'static str]) {
        self.add(values, 1);
    }

    fn render(&self, out: &mut String) {
        header(out, self.name, self.help, "counter");
        let map = self.values.lock().unwrap_or_else(PoisonError::into_inner);
        for (values, n) in map.iter() {
            let _ = writeln!(out, "{}{} {n}", self.name, labels(self.labels, values));
        }
    }
}

/// One series of a counter family whose label values are fixed where it is defined, on
/// an atomic: the gateway's per-message paths count into these without a lock.
pub struct Counter {
    name: &'static str,
    help: &'static str,
    /// `{name="value",…}` as exported, or empty.
    labels: &'static str,
    value: AtomicU64,
}

impl Counter {
    const fn new(name: &'static str, help: &'static str, labels: &'static str) -> Self {
        Self {
            name,
            help,
            labels,
            value: AtomicU64::new(0),
        }
    }

    pub fn add(&self, n: u64) {
        self.value.fetch_add(n, Ordering::Relaxed);
    }
}

/// Renders the series of one family (all with the same name) under one header.
fn render_family(out: &mut String, series: &[&Counter]) {
    let Some(first) = series.first() else { return };
    header(out, first.name, first.help, "counter");
    for c in series {
        let _ = writeln!(
            out,
            "{}{} {}",
            c.name,
            c.labels,
            c.value.load(Ordering::Relaxed)
        );
    }
}

/// A gauge without labels that code moves up and down.
pub struct Gauge {
    name: &'static str,
    help: &'static str,
    value: AtomicI64,
}

impl Gauge {
    const fn new(name: &'static str, help: &'static str) -> Self {
        Self {
            name,
            help,
            value: AtomicI64::new(0),
        }
    }

    pub fn inc(&self) {
        self.value.fetch_add(1, Ordering::Relaxed);
    }

    pub fn dec(&self) {
        self.value.fetch_sub(1, Ordering::Relaxed);
    }

    /// Counts one up now and down when the guard drops, so every exit path counts down.
    pub fn track(&'static self) -> GaugeGuard {
        self.inc();
        GaugeGuard(self)
    }

    fn render(&self, out: &mut String) {
        header(out, self.name, self.help, "gauge");
        let _ = writeln!(out, "{} {}", self.name, self.value.load(Ordering::Relaxed));
    }
}

/// Holds one unit of a [`Gauge`] until dropped.
pub struct GaugeGuard(&'static Gauge);

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[derive(Default)]
struct HistogramData {
    /// Per bucket (not cumulative; summed when rendered).
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

/// A histogram family with fixed buckets and label names.
pub struct HistogramVec {
    name: &'static str,
    help: &'static str,
    labels: &'static [&'static str],
    buckets: &'static [f64],
    values: Mutex<BTreeMap<Vec<&'static str>, HistogramData>>,
}

impl HistogramVec {
    const fn new(
        name: &'static str,
        help: &'static str,
        labels: &'static [&'static str],
        buckets: &'static [f64],
    ) -> Self {
        Self {
            name,
            help,
            labels,
            buckets,
            values: Mutex::new(BTreeMap::new()),
        }
    }

    /// Records one observation of `duration` in the series of `values`.
    pub fn observe(&self, values: &[&'static str], duration: Duration) {
        let seconds = duration.as_secs_f64();
        let mut map = self.values.lock().unwrap_or_else(PoisonError::into_inner);
        let data = map.entry(values.to_vec()).or_default();
        if data.counts.is_empty() {
            data.counts = vec![0; self.buckets.len()];
        }
        if let Some(i) = self.buckets.iter().position(|b| seconds <= *b) {
            data.counts[i] += 1;
        }
        data.sum += seconds;
        data.count += 1;
    }

    fn render(&self, out: &mut String) {
        header(out, self.name, self.help, "histogram");
        let map = self.values.lock().unwrap_or_else(PoisonError::into_inner);
        for (values, data) in map.iter() {
            let mut names = self.labels.to_vec();
            names.push("le");
            let mut cumulative = 0;
            for (bound, n) in self.buckets.iter().zip(&data.counts) {
                cumulative += n;
                let mut with_le = values.clone();
                let le = bound.to_string();
                with_le.push(&le);
                let _ = writeln!(
                    out,
                    "{}_bucket{} {cumulative}",
                    self.name,
                    labels(&names, &with_le)
                );
            }
            let mut with_le = values.clone();
            with_le.push("+Inf");
            let _ = writeln!(
                out,
                "{}_bucket{} {}",
                self.name,
                labels(&names, &with_le),
                data.count
            );
            let plain = labels(self.labels, values);
            let _ = writeln!(out, "{}_sum{plain} {}", self.name, data.sum);
            let _ = writeln!(out, "{}_count{plain} {}", self.name, data.count);
        }
    }
}

fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// `{a="x",b="y"}` with each value through [`label_value`]; empty without labels.
fn labels(names: &[&str], values: &[&str]) -> String {
    if names.is_empty() {
        return String::new();
    }
    let pairs: Vec<String> = names
        .iter()
        .zip(values)
        .map(|(n, v)| {
            // `le` is a number the registry itself writes; it keeps its digits.
            let v = if *n == "le" { v } else { label_value(v) };
            format!("{n}=\"{v}\"")
        })
        .collect();
    format!("{{{}}}", pairs.join(","))
}

/// Launch attempts by how they ended: `granted`, `refused` (the user's request was
/// refused, see [`LAUNCH_REFUSALS`]) or `failed` (the broker failed).
pub static LAUNCHES: CounterVec = CounterVec::new(
    "hamn_launches_total",
    "Launch attempts by outcome (granted, refused, failed).",
    &["outcome"],
);
/// Refused launches by the refusal's reason word.
pub static LAUNCH_REFUSALS: CounterVec = CounterVec::new(
    "hamn_launch_refusals_total",
    "Refused launches by reason.",
    &["reason"],
);
/// Time from a launch request to its ticket (or refusal).
pub static LAUNCH_DURATION: HistogramVec = HistogramVec::new(
    "hamn_launch_duration_seconds",
    "Time the broker took to answer a launch request, by outcome.",
    &["outcome"],
    LAUNCH_BUCKETS,
);
const BYTES_HELP: &str =
    "Bytes the gateway relayed on session connections, by client (browser, native) and direction.";
/// Bytes the gateway sent to browsers on session websockets.
pub static BYTES_TO_BROWSER: Counter = Counter::new(
    "hamn_gateway_bytes_total",
    BYTES_HELP,
    "{client=\"browser\",direction=\"to_client\"}",
);
/// Bytes browsers sent to the gateway on session websockets.
pub static BYTES_FROM_BROWSER: Counter = Counter::new(
    "hamn_gateway_bytes_total",
    BYTES_HELP,
    "{client=\"browser\",direction=\"from_client\"}",
);
/// Bytes the gateway sent to native RDP clients through their tunnels.
pub static BYTES_TO_NATIVE: Counter = Counter::new(
    "hamn_gateway_bytes_total",
    BYTES_HELP,
    "{client=\"native\",direction=\"to_client\"}",
);
/// Bytes native RDP clients sent through their tunnels.
pub static BYTES_FROM_NATIVE: Counter = Counter::new(
    "hamn_gateway_bytes_total",
    BYTES_HELP,
    "{client=\"native\",direction=\"from_client\"}",
);
/// Display frames the gateway sent to browsers.
pub static FRAMES: Counter = Counter::new(
    "hamn_gateway_frames_total",
    "Display frames the gateway sent to browser session clients.",
    "",
);
/// One tile's encode time, by encoding.
pub static TILE_ENCODE: HistogramVec = HistogramVec::new(
    "hamn_tile_encode_seconds",
    "Time to encode one display tile, by encoding (png, webp, jpeg).",
    &["encoding"],
    ENCODE_BUCKETS,
);
/// Native RDP client tunnels open now (RD Gateway and websocket transport).
pub static NATIVE_TUNNELS: Gauge =
    Gauge::new("hamn_native_tunnels", "Native RDP client tunnels open now.");
/// Print jobs by outcome.
pub static PRINT_JOBS: CounterVec = CounterVec::new(
    "hamn_print_jobs_total",
    "Print jobs received by the print service, by outcome.",
    &["outcome"],
);
/// Logins by method and outcome.
pub static LOGINS: CounterVec = CounterVec::new(
    "hamn_logins_total",
    "Portal logins by method (siths, saml, demo) and outcome (success, refused).",
    &["method", "outcome"],
);
/// Security events by kind.
pub static SECURITY_EVENTS: CounterVec = CounterVec::new(
    "hamn_security_events_total",
    "Security events by kind.",
    &["kind"],
);

/// The database pools of this process, for the pool-use gauges.
static POOLS: LazyLock<Mutex<Vec<AnyPool>>> = LazyLock::new(|| Mutex::new(Vec::new()));

/// Lists `pool` for the pool-use gauges until it is closed.
pub fn register_pool(pool: &AnyPool) {
    let mut pools = POOLS.lock().unwrap_or_else(PoisonError::into_inner);
    pools.retain(|p| !p.is_closed());
    pools.push(pool.clone());
}

fn render_pools(out: &mut String) {
    let (mut size, mut idle, mut max) = (0u64, 0u64, 0u64);
    {
        let mut pools = POOLS.lock().unwrap_or_else(PoisonError::into_inner);
        pools.retain(|p| !p.is_closed());
        for pool in pools.iter() {
            size += u64::from(pool.size());
            idle += pool.num_idle() as u64;
            max += u64::from(pool.options().get_max_connections());
        }
    }
    header(
        out,
        "hamn_db_pool_connections",
        "Database connections of this process's pools, by state (idle, in_use).",
        "gauge",
    );
    let _ = writeln!(
        out,
        "hamn_db_pool_connections{{state=\"idle\"}} {idle}\nhamn_db_pool_connections{{state=\"in_use\"}} {}",
        size.saturating_sub(idle)
    );
    header(
        out,
        "hamn_db_pool_max_connections",
        "Upper bound of database connections of this process's pools.",
        "gauge",
    );
    let _ = writeln!(out, "hamn_db_pool_max_connections {max}");
}

/// Live sessions (not ended) by state, tenant slug and pool name, from the database.
async fn render_sessions(database: &Database, out: &mut String) -> Result<(), DbError> {
    let rows = sqlx::query(
        "SELECT s.state AS state, t.slug AS tenant, p.name AS pool, COUNT(*) AS n \
         FROM sessions s JOIN tenants t ON t.id = s.tenant_id \
         JOIN hosts h ON h.id = s.host_id JOIN host_pools p ON p.id = h.pool_id \
         WHERE s.state <> 'ended' GROUP BY s.state, t.slug, p.name \
         ORDER BY t.slug, p.name, s.state LIMIT $1",
    )
    .bind(MAX_SESSION_SERIES)
    .fetch_all(database.pool())
    .await?;
    header(
        out,
        "hamn_sessions",
        "Sessions that have not ended, by state, tenant and pool.",
        "gauge",
    );
    for row in &rows {
        // Pool names are free text; spaces become `_` so a name like "Demo pool" stays
        // readable instead of turning into `other`.
        let (state, tenant, pool) = (
            get_string(row, "state")?,
            get_string(row, "tenant")?,
            get_string(row, "pool")?.replace(' ', "_"),
        );
        let _ = writeln!(
            out,
            "hamn_sessions{} {}",
            labels(&["state", "tenant", "pool"], &[&state, &tenant, &pool]),
            get_i64(row, "n")?
        );
    }
    Ok(())
}

/// Every metric in the text format; the session gauge is left out (logged) when the
/// database does not answer, so the rest still reaches Prometheus.
pub async fn render(database: &Database) -> String {
    let mut out = String::new();
    if let Err(error) = render_sessions(database, &mut out).await {
        tracing::warn!(%error, "metrics: sessions by state could not be read");
    }
    render_counters(&mut out);
    render_pools(&mut out);
    out
}

/// The metrics that live in this process (everything but the database gauges).
pub fn render_counters(out: &mut String) {
    LAUNCHES.render(out);
    LAUNCH_REFUSALS.render(out);
    LAUNCH_DURATION.render(out);
    render_family(
        out,
        &[
            &BYTES_TO_BROWSER,
            &BYTES_FROM_BROWSER,
            &BYTES_TO_NATIVE,
            &BYTES_FROM_NATIVE,
        ],
    );
    render_family(out, &[&FRAMES]);
    TILE_ENCODE.render(out);
    NATIVE_TUNNELS.render(out);
    PRINT_JOBS.render(out);
    LOGINS.render(out);
    SECURITY_EVENTS.render(out);
}

/// Errors of the metrics listener.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("metrics listener {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    #[error("metrics listener: {0}")]
    Serve(std::io::Error),
    #[error("metrics listener certificate: {0}")]
    Tls(#[from] hamn_certs::ServerTlsError),
}

/// Binds `listen` now (so a taken port fails the start) and returns the server to run
/// until `shutdown`: HTTPS with the process's own server certificate `tls` (it reloads
/// like every listener's), `GET /metrics` only. Meant for a loopback or management address
/// that Prometheus reaches; it is not the portal's origin. No listener of Hamn but the
/// redirect speaks plaintext, and this one is no exception.
pub async fn bind(
    listen: SocketAddr,
    tls: &hamn_certs::ServerCertFiles,
    database: Database,
    shutdown: CancellationToken,
) -> Result<
    (
        SocketAddr,
        impl std::future::Future<Output = Result<(), MetricsError>> + use<>,
    ),
    MetricsError,
> {
    let tls = hamn_certs::server::server_config(tls)?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| MetricsError::Bind(listen, e))?;
    let local = listener
        .local_addr()
        .map_err(|e| MetricsError::Bind(listen, e))?;
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let database = database.clone();
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    render(&database).await,
                )
            }
        }),
    );
    tracing::info!(%local, "metrics listening");
    let serve = async move {
        hamn_certs::serve(listener, tls, app, shutdown)
            .await
            .map_err(MetricsError::Serve)
    };
    Ok((local, serve))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_label_value_can_be_a_user_or_session_id() {
        for id in [
            uuid::Uuid::new_v4().to_string(),
            uuid::Uuid::new_v4().simple().to_string(),
            uuid::Uuid::now_v7().to_string(),
            "SE2321000016-1003".to_owned(),
            "199001011234".to_owned(),
            "anna.andersson@example.org".to_owned(),
            "Anna Andersson".to_owned(),
            "a".repeat(41),
            "x\"} 1\nevil 2".to_owned(),
            String::new(),
        ] {
            assert_eq!(label_value(&id), "other", "{id:?} would become a series");
        }
        for word in ["granted", "no_host_available", "demo", "region-syd", "v1.2"] {
            assert_eq!(label_value(word), word);
        }
    }

    #[test]
    fn a_rendered_series_never_carries_an_id() {
        static TEST: CounterVec = CounterVec::new("hamn_test_total", "test", &["who"]);
        let id: &'static str = Box::leak(uuid::Uuid::new_v4().to_string().into_boxed_str());
        TEST.inc(&[id]);
        TEST.inc(&["word"]);
        let mut out = String::new();
        TEST.render(&mut out);
        assert!(!out.contains(id), "{out}");
        assert!(out.contains("hamn_test_total{who=\"other\"} 1"), "{out}");
        assert!(out.contains("hamn_test_total{who=\"word\"} 1"), "{out}");
    }

    /// Every family this registry exports, with its type (the session gauge comes from the
    /// database and is added by hand).
    fn families() -> BTreeMap<String, String> {
        let mut out = String::new();
        render_counters(&mut out);
        render_pools(&mut out);
        let mut families: BTreeMap<String, String> = out
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.split_once(' '))
            .map(|(n, k)| (n.to_owned(), k.to_owned()))
            .collect();
        families.insert("hamn_sessions".into(), "gauge".into());
        families
    }

    #[test]
    fn the_dashboard_and_the_docs_use_exactly_the_exported_names() {
        let dashboard = include_str!("../../docs/grafana-dashboard.json");
        let docs = include_str!("../../docs/operations.md");
        let families = families();
        let mut used = std::collections::BTreeSet::new();
        for (i, _) in dashboard.match_indices("hamn_") {
            let name: String = dashboard[i..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            let base = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .filter(|b| families.get(*b).map(String::as_str) == Some("histogram"))
                .unwrap_or(&name)
                .to_owned();
            assert!(
                families.contains_key(&base),
                "dashboard uses unknown {name}"
            );
            used.insert(base);
        }
        for name in families.keys() {
            assert!(used.contains(name), "{name} is not on the dashboard");
            assert!(
                docs.contains(&format!("`{name}`")),
                "{name} not in docs/operations.md"
            );
        }
    }

    #[tokio::test]
    async fn the_session_gauge_counts_live_sessions_on_sqlite() {
        let dir = std::env::temp_dir().join(format!("hamn-metrics-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let url = format!("sqlite://{}/hamn.db?mode=rwc", dir.display());
        let db = Database::connect(&crate::db::DatabaseConfig {
            url,
            max_connections: 2,
        })
        .await
        .expect("connect");
        db.migrate().await.expect("migrate");
        let ids = crate::seed::demo(&db, crate::seed::DemoSeed::default())
            .await
            .expect("seed");
        for (n, state) in ["active", "active", "disconnected", "ended"]
            .iter()
            .enumerate()
        {
            sqlx::query(
                "INSERT INTO sessions (id, tenant_id, user_id, app_id, host_id, state, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
            )
            .bind(uuid::Uuid::new_v4().to_string())
            .bind(ids.tenant.to_string())
            .bind(ids.user.to_string())
            .bind(ids.app_prod.to_string())
            .bind(ids.host.to_string())
            .bind(*state)
            .bind(n as i64)
            .execute(db.pool())
            .await
            .expect("session row");
        }
        let mut out = String::new();
        let read = render_sessions(&db, &mut out).await;
        db.close().await;
        let _ = std::fs::remove_dir_all(&dir);
        assert!(read.is_ok(), "{read:?}");
        assert!(out.contains("# TYPE hamn_sessions gauge"), "{out}");
        assert!(
            out.contains("hamn_sessions{state=\"active\",tenant=\"demo\",pool=\"Demopool\"} 2\n"),
            "{out}"
        );
        assert!(
            out.contains(
                "hamn_sessions{state=\"disconnected\",tenant=\"demo\",pool=\"Demopool\"} 1\n"
            ),
            "{out}"
        );
        assert!(!out.contains("\"ended\""), "{out}");
    }

    #[test]
    fn histograms_are_cumulative_with_sum_and_count() {
        static TEST: HistogramVec =
            HistogramVec::new("hamn_test_seconds", "test", &["k"], &[0.1, 1.0]);
        TEST.observe(&["a"], Duration::from_millis(50));
        TEST.observe(&["a"], Duration::from_millis(500));
        TEST.observe(&["a"], Duration::from_secs(5));
        let mut out = String::new();
        TEST.render(&mut out);
        assert!(
            out.contains("hamn_test_seconds_bucket{k=\"a\",le=\"0.1\"} 1\n"),
            "{out}"
        );
        assert!(
            out.contains("hamn_test_seconds_bucket{k=\"a\",le=\"1\"} 2\n"),
            "{out}"
        );
        assert!(
            out.contains("hamn_test_seconds_bucket{k=\"a\",le=\"+Inf\"} 3\n"),
            "{out}"
        );
        assert!(
            out.contains("hamn_test_seconds_count{k=\"a\"} 3\n"),
            "{out}"
        );
        assert!(
            out.contains("hamn_test_seconds_sum{k=\"a\"} 5.55\n"),
            "{out}"
        );
    }
}
