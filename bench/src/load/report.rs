//! The load's figures: the human table and the JSON of the contract
//! (`{profile, duration_s, sessions, tunnels, launches, errors, latency_ms:{p50,p95,p99},
//! per_session:{rss_kib, cpu_ms_per_s}, memory:{start_kib, end_kib, slope_kib_per_min},
//! flat}`, plus a few fields more). Memory is judged flat when the least-squares slope of
//! the Hamn processes' RSS over the held load, projected over that window, grows less than
//! [`FLAT_GROWTH`] of the RSS the window started with.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::json;

use super::procfs::{Usage, slope};
use super::{Options, Sample, Totals};

/// The largest growth over the fitted window, as a share of its starting RSS, that still
/// counts as flat (5 %: ~23 MiB on the ~460 MiB a debug `hamn up` holds under the long
/// profile, i.e. a leak of more than ~30 KiB per launch at its 2 launches/s fails it).
pub const FLAT_GROWTH: f64 = 0.05;
/// The first third of the held window is left out of the slope: RSS climbs while every
/// session slot churns a few times and the allocator's per-thread arenas and the caches
/// fill (the first long runs climbed for ~250 s, then held level). A leak grows at the same
/// rate all the way through, so it shows in the last two thirds just the same.
const SETTLE_SHARE: u32 = 3;

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Percentiles {
    pub count: usize,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
}

impl Percentiles {
    /// Nearest-rank percentiles of `values` (milliseconds).
    pub fn of(values: &[f64]) -> Percentiles {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let at = |q: f64| {
            if sorted.is_empty() {
                return 0.0;
            }
            let rank = (q * sorted.len() as f64).ceil() as usize;
            sorted[rank.clamp(1, sorted.len()) - 1]
        };
        Percentiles {
            count: sorted.len(),
            p50: at(0.50),
            p95: at(0.95),
            p99: at(0.99),
        }
    }

    fn json(&self) -> serde_json::Value {
        json!({ "p50": round(self.p50), "p95": round(self.p95), "p99": round(self.p99) })
    }
}

fn round(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// The figures of one run.
#[derive(Debug, Clone)]
pub struct Report {
    pub profile: &'static str,
    pub duration: Duration,
    pub sessions: usize,
    pub tunnels: usize,
    pub launch_rate: Option<f64>,
    pub logins: u64,
    pub launches: u64,
    pub sessions_opened: u64,
    pub tunnels_opened: u64,
    pub errors: u64,
    pub lost: u64,
    pub error_texts: Vec<String>,
    pub frames: u64,
    pub inputs: u64,
    pub pings: u64,
    pub pongs: u64,
    /// Launch request → first frame (browser) or host's confirm (tunnel).
    pub latency: Percentiles,
    pub launch: Percentiles,
    pub first_frame: Percentiles,
    pub baseline_kib: u64,
    pub rss_per_session_kib: f64,
    pub cpu_ms_per_s_per_session: f64,
    pub hosts_cpu_ms_per_s: f64,
    pub hosts_rss_kib: u64,
    pub start_kib: u64,
    pub end_kib: u64,
    pub slope_kib_per_min: f64,
    /// The window the slope was fitted over.
    pub held: Duration,
    pub flat: bool,
    /// (seconds since the start, RSS KiB) of the held window, every tenth sample.
    pub rss_trace: Vec<(u64, u64)>,
}

impl Report {
    pub fn new(
        options: &Options,
        wall: Duration,
        baseline: Usage,
        samples: &[Sample],
        totals: Totals,
    ) -> Report {
        let users = (options.sessions + options.tunnels).max(1) as f64;
        // The held window: from the moment every user was first up to the end.
        let up = totals.all_up_at.unwrap_or_default();
        // It ends when the load does: samples taken while the users log off after the
        // run would read as a drop.
        let held: Vec<&Sample> = samples
            .iter()
            .filter(|s| s.at >= up && s.at <= options.duration)
            .collect();
        let window = match (held.first(), held.last()) {
            (Some(a), Some(b)) => b.at.saturating_sub(a.at),
            _ => Duration::ZERO,
        };
        let settle = window / SETTLE_SHARE;
        let settled: Vec<&Sample> = held
            .iter()
            .copied()
            .filter(|s| s.at >= up + settle)
            .collect();
        let points: Vec<(f64, f64)> = settled
            .iter()
            .map(|s| (s.at.as_secs_f64() / 60.0, s.hamn.rss_kib as f64))
            .collect();
        let slope_kib_per_min = slope(&points).unwrap_or(0.0);
        let start_kib = settled.first().map_or(0, |s| s.hamn.rss_kib);
        let end_kib = settled.last().map_or(0, |s| s.hamn.rss_kib);
        let fitted_window_min = match (settled.first(), settled.last()) {
            (Some(a), Some(b)) => b.at.saturating_sub(a.at).as_secs_f64() / 60.0,
            _ => 0.0,
        };
        let flat = !points.is_empty()
            && slope_kib_per_min * fitted_window_min <= FLAT_GROWTH * start_kib as f64;
        let mean_rss = if held.is_empty() {
            0.0
        } else {
            held.iter().map(|s| s.hamn.rss_kib as f64).sum::<f64>() / held.len() as f64
        };
        let per_second = |f: fn(&Sample) -> Usage| match (held.first(), held.last()) {
            (Some(a), Some(b)) if b.at > a.at => {
                f(b).cpu.saturating_sub(f(a).cpu).as_secs_f64() * 1e3
                    / b.at.saturating_sub(a.at).as_secs_f64()
            }
            _ => 0.0,
        };
        Report {
            profile: options.profile.name(),
            duration: wall,
            sessions: options.sessions,
            tunnels: options.tunnels,
            launch_rate: options.launch_rate,
            logins: totals.logins,
            launches: totals.launches,
            sessions_opened: totals.sessions_opened,
            tunnels_opened: totals.tunnels_opened,
            errors: totals.errors,
            lost: totals.lost,
            error_texts: totals.error_texts,
            frames: totals.frames,
            inputs: totals.inputs,
            pings: totals.pings,
            pongs: totals.pongs,
            latency: Percentiles::of(&totals.ready_ms),
            launch: Percentiles::of(&totals.launch_ms),
            first_frame: Percentiles::of(&totals.first_frame_ms),
            baseline_kib: baseline.rss_kib,
            rss_per_session_kib: (mean_rss - baseline.rss_kib as f64).max(0.0) / users,
            cpu_ms_per_s_per_session: per_second(|s| s.hamn) / users,
            hosts_cpu_ms_per_s: per_second(|s| s.hosts),
            hosts_rss_kib: held.last().map_or(0, |s| s.hosts.rss_kib),
            start_kib,
            end_kib,
            slope_kib_per_min,
            held: window,
            flat,
            rss_trace: held
                .iter()
                .step_by(10)
                .map(|s| (s.at.as_secs(), s.hamn.rss_kib))
                .collect(),
        }
    }

    /// Nothing failed and nothing was lost: every Ping answered.
    pub fn clean(&self) -> bool {
        self.errors == 0 && self.lost == 0 && self.pongs == self.pings
    }

    /// The contract's JSON (and more fields after them).
    pub fn json(&self) -> serde_json::Value {
        json!({
            "profile": self.profile,
            "duration_s": round(self.duration.as_secs_f64()),
            "sessions": self.sessions,
            "tunnels": self.tunnels,
            "launches": self.launches,
            "errors": self.errors,
            "latency_ms": self.latency.json(),
            "per_session": {
                "rss_kib": round(self.rss_per_session_kib),
                "cpu_ms_per_s": (self.cpu_ms_per_s_per_session * 1000.0).round() / 1000.0,
            },
            "memory": {
                "start_kib": self.start_kib,
                "end_kib": self.end_kib,
                "slope_kib_per_min": round(self.slope_kib_per_min),
                "baseline_kib": self.baseline_kib,
                "held_s": round(self.held.as_secs_f64()),
                "flat_growth_limit": FLAT_GROWTH,
            },
            "flat": self.flat,
            "lost": self.lost,
            "launch_rate": self.launch_rate,
            "logins": self.logins,
            "sessions_opened": self.sessions_opened,
            "tunnels_opened": self.tunnels_opened,
            "frames": self.frames,
            "inputs": self.inputs,
            "pings": self.pings,
            "pongs": self.pongs,
            "launch_ms": self.launch.json(),
            "first_frame_ms": self.first_frame.json(),
            "demo_hosts": { "cpu_ms_per_s": round(self.hosts_cpu_ms_per_s), "rss_kib": self.hosts_rss_kib },
            "error_samples": self.error_texts,
            "rss_trace_kib": self.rss_trace,
        })
    }

    /// The human table.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
        let rate = self
            .launch_rate
            .map_or_else(|| "unpaced".to_owned(), |r| format!("{r}/s"));
        let _ = writeln!(
            out,
            "hamn-load, profile {} — {} browser sessions + {} native tunnels, launches {rate}, \
             {:.0} s on {cores} cores (the load client shares them)",
            self.profile,
            self.sessions,
            self.tunnels,
            self.duration.as_secs_f64()
        );
        let _ = writeln!(
            out,
            "logins {} | launches {} | sessions opened {} | tunnels opened {} | errors {} | lost {}",
            self.logins,
            self.launches,
            self.sessions_opened,
            self.tunnels_opened,
            self.errors,
            self.lost
        );
        let _ = writeln!(
            out,
            "frames acked {} | inputs sent {} | pings {} answered {}",
            self.frames, self.inputs, self.pings, self.pongs
        );
        let _ = writeln!(
            out,
            "{:<40} | {:>6} | {:>8} | {:>8} | {:>8}",
            "latency (ms)", "n", "p50", "p95", "p99"
        );
        for (name, p) in [
            ("launch → first frame / host confirm", &self.latency),
            ("portal launch answered", &self.launch),
            ("ClientHello → first frame", &self.first_frame),
        ] {
            let _ = writeln!(
                out,
                "{name:<40} | {:>6} | {:>8.1} | {:>8.1} | {:>8.1}",
                p.count, p.p50, p.p95, p.p99
            );
        }
        let _ = writeln!(
            out,
            "hamn processes: baseline {} KiB; per session (browser or tunnel) {:.0} KiB RSS, \
             {:.2} ms CPU per second; demo hosts {:.0} ms CPU/s, {} KiB",
            self.baseline_kib,
            self.rss_per_session_kib,
            self.cpu_ms_per_s_per_session,
            self.hosts_cpu_ms_per_s,
            self.hosts_rss_kib
        );
        let _ = writeln!(
            out,
            "memory over {:.0} s held: start {} KiB, end {} KiB, slope {:.1} KiB/min → {} \
             (flat: fitted growth ≤ {:.0} % of the start)",
            self.held.as_secs_f64(),
            self.start_kib,
            self.end_kib,
            self.slope_kib_per_min,
            if self.flat { "flat" } else { "NOT flat" },
            FLAT_GROWTH * 100.0
        );
        for text in &self.error_texts {
            let _ = writeln!(out, "error: {text}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{Profile, Totals};

    fn sample(secs: u64, rss: u64) -> Sample {
        Sample {
            at: Duration::from_secs(secs),
            hamn: Usage {
                rss_kib: rss,
                cpu: Duration::from_millis(secs * 100),
            },
            hosts: Usage::default(),
        }
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        let p = Percentiles::of(&values);
        assert_eq!((p.count, p.p50, p.p95, p.p99), (100, 50.0, 95.0, 99.0));
        assert_eq!(Percentiles::of(&[]), Percentiles::default());
    }

    #[test]
    fn steady_memory_is_flat_and_a_leak_is_not() {
        let options = Profile::Long.options();
        let steady: Vec<Sample> = (0..600).map(|s| sample(s, 60_000 + (s % 7) * 50)).collect();
        let report = Report::new(
            &options,
            Duration::from_secs(600),
            Usage::default(),
            &steady,
            Totals::default(),
        );
        assert!(report.flat, "{}", report.table());
        // A warm-up climb of a fifth over the first 180 s, then level: flat.
        let warming: Vec<Sample> = (0..600)
            .map(|s| sample(s, 60_000 + s.min(180) * 12_000 / 180 + (s % 7) * 50))
            .collect();
        let report = Report::new(
            &options,
            Duration::from_secs(600),
            Usage::default(),
            &warming,
            Totals::default(),
        );
        assert!(report.flat, "{}", report.table());
        // 1 MiB a minute on 60 MiB: 10 MiB over ten minutes, far over 5 %.
        let leaking: Vec<Sample> = (0..600)
            .map(|s| sample(s, 60_000 + s * 1024 / 60))
            .collect();
        let report = Report::new(
            &options,
            Duration::from_secs(600),
            Usage::default(),
            &leaking,
            Totals::default(),
        );
        assert!(!report.flat, "{}", report.table());
        assert!((report.slope_kib_per_min - 1024.0).abs() < 1.0);
        let json = report.json();
        for key in [
            "profile",
            "duration_s",
            "sessions",
            "tunnels",
            "launches",
            "errors",
            "flat",
        ] {
            assert!(json.get(key).is_some(), "{key} in {json}");
        }
        assert!(json["latency_ms"]["p99"].is_number());
        assert!(json["per_session"]["cpu_ms_per_s"].is_number());
        assert!(json["memory"]["slope_kib_per_min"].is_number());
    }

    #[test]
    fn no_samples_is_not_flat() {
        let report = Report::new(
            &Profile::Short.options(),
            Duration::ZERO,
            Usage::default(),
            &[],
            Totals::default(),
        );
        assert!(!report.flat);
        assert!(report.clean());
    }
}
