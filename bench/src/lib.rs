//! Shared pieces of Hamn's benchmarks: latency samples and their summary, and the
//! synthetic load client ([`load`]) behind `hamn-load` and the scale-out benchmark. Benchmarks
//! report ratios against a baseline measured in the same process, never absolute
//! thresholds, because machines differ and a ratio survives that.

use std::time::Duration;

use sqlx::Connection;

pub mod load;

/// Latencies of one operation, and the wall time they took together.
#[derive(Debug, Clone, Default)]
pub struct Samples {
    latencies: Vec<Duration>,
    wall: Duration,
}

/// Throughput and latency percentiles of one operation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub count: usize,
    pub ops_per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

impl Summary {
    /// The mean of two measurements of the same operation (e.g. a baseline taken before
    /// and after the measured work).
    pub fn mean(&self, other: &Summary) -> Summary {
        Summary {
            count: self.count + other.count,
            ops_per_sec: (self.ops_per_sec + other.ops_per_sec) / 2.0,
            p50_ms: (self.p50_ms + other.p50_ms) / 2.0,
            p99_ms: (self.p99_ms + other.p99_ms) / 2.0,
        }
    }
}

impl Samples {
    pub fn new(mut latencies: Vec<Duration>, wall: Duration) -> Self {
        latencies.sort_unstable();
        Self { latencies, wall }
    }

    /// Nearest-rank percentile (`q` in 0..=1).
    pub fn percentile(&self, q: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let rank = (q * self.latencies.len() as f64).ceil() as usize;
        self.latencies[rank.clamp(1, self.latencies.len()) - 1]
    }

    pub fn summary(&self) -> Summary {
        let secs = self.wall.as_secs_f64();
        Summary {
            count: self.latencies.len(),
            ops_per_sec: if secs > 0.0 {
                self.latencies.len() as f64 / secs
            } else {
                0.0
            },
            p50_ms: self.percentile(0.50).as_secs_f64() * 1e3,
            p99_ms: self.percentile(0.99).as_secs_f64() * 1e3,
        }
    }
}

/// A database of its own on the PostgreSQL server, dropped afterwards.
pub struct PgScratch {
    admin_url: String,
    name: String,
    /// The scratch database's URL.
    pub url: String,
}

impl PgScratch {
    /// Creates `hamn_bench_<pid><suffix>` on the server at `admin_url`.
    pub async fn create(admin_url: &str, suffix: &str) -> anyhow::Result<Self> {
        let mut conn = sqlx::PgConnection::connect(admin_url).await?;
        let name = format!("hamn_bench_{}{suffix}", std::process::id());
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name}"
        )))
        .execute(&mut conn)
        .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await?;
        let base = admin_url
            .rsplit_once('/')
            .map_or(admin_url, |(base, _)| base);
        Ok(Self {
            admin_url: admin_url.to_owned(),
            url: format!("{base}/{name}"),
            name,
        })
    }

    /// Drops the database (with FORCE: pools may still hold connections).
    pub async fn drop(self) {
        if let Ok(mut conn) = sqlx::PgConnection::connect(&self.admin_url).await {
            // The name is ours (pid-derived), never input: safe to splice.
            let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
            let _ = sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut conn)
                .await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let samples = Samples::new(
            (1..=100).rev().map(Duration::from_millis).collect(),
            Duration::from_secs(2),
        );
        assert_eq!(samples.percentile(0.5), Duration::from_millis(50));
        assert_eq!(samples.percentile(0.99), Duration::from_millis(99));
        assert_eq!(samples.percentile(1.0), Duration::from_millis(100));
        let summary = samples.summary();
        assert_eq!(summary.count, 100);
        assert!((summary.ops_per_sec - 50.0).abs() < 1e-9);
    }

    #[test]
    fn empty_samples_summarise_to_zero() {
        let summary = Samples::default().summary();
        assert_eq!(summary.count, 0);
        assert_eq!(summary.p99_ms, 0.0);
    }
}
