//! Resident memory and CPU time of the measured processes, read from `/proc`, and the
//! least-squares slope that judges whether memory stayed flat under load.

use std::time::Duration;

/// Clock ticks per second of `utime`/`stime` in `/proc/<pid>/stat`: 100 on every Linux
/// this project runs on (`getconf CLK_TCK`; reading it needs libc, which we avoid).
const TICKS_PER_SEC: u64 = 100;

/// One reading of a set of processes: summed resident memory and CPU time.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    pub rss_kib: u64,
    pub cpu: Duration,
}

impl Usage {
    /// The processes' summed usage now; a process that has gone contributes nothing.
    pub fn of(pids: &[u32]) -> Usage {
        let mut usage = Usage::default();
        for &pid in pids {
            if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
                usage.rss_kib += rss_kib(&status).unwrap_or(0);
            }
            if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
                usage.cpu += cpu_time(&stat).unwrap_or_default();
            }
        }
        usage
    }
}

/// `VmRSS` of a `/proc/<pid>/status` text, in KiB.
pub fn rss_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line["VmRSS:".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// User plus system CPU time of a `/proc/<pid>/stat` line. The command name (field 2) may
/// hold spaces and parentheses, so fields are counted after its last `)`.
pub fn cpu_time(stat: &str) -> Option<Duration> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // After the name: state is field 3, utime field 14, stime field 15.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    let ticks = utime.checked_add(stime)?;
    Some(Duration::from_millis(
        ticks.saturating_mul(1000 / TICKS_PER_SEC),
    ))
}

/// Child processes of `pid` (the demo host of `hamn up`).
pub fn children(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// Least-squares slope of `(x, y)` points, in y per x; `None` with fewer than two
/// distinct x.
pub fn slope(points: &[(f64, f64)]) -> Option<f64> {
    let n = points.len() as f64;
    if points.len() < 2 {
        return None;
    }
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    if sxx == 0.0 {
        return None;
    }
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    Some(sxy / sxx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_vmrss_in_kib() {
        let status = "Name:\thamn\nVmPeak:\t  9000 kB\nVmRSS:\t   51234 kB\nThreads:\t7\n";
        assert_eq!(rss_kib(status), Some(51234));
        assert_eq!(rss_kib("Name:\thamn\n"), None);
        assert_eq!(rss_kib("VmRSS:\tlots kB\n"), None);
    }

    #[test]
    fn cpu_time_counts_fields_after_the_last_parenthesis() {
        // A name with a space and a parenthesis; utime 250 and stime 50 ticks.
        let stat = "4242 (hamn (up) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0";
        assert_eq!(cpu_time(stat), Some(Duration::from_secs(3)));
        assert_eq!(cpu_time("4242 hamn S 1"), None);
        assert_eq!(cpu_time("4242 (hamn) S 1 2"), None);
        assert_eq!(
            cpu_time("1 (x) S 1 1 1 0 -1 0 0 0 0 0 nan 5 0"),
            None,
            "a field that is not a number"
        );
    }

    #[test]
    fn slope_of_a_line_and_of_too_few_points() {
        let points: Vec<(f64, f64)> = (0..10).map(|x| (x as f64, 3.0 * x as f64 + 7.0)).collect();
        let s = slope(&points).expect("slope");
        assert!((s - 3.0).abs() < 1e-9);
        assert_eq!(slope(&[(1.0, 2.0)]), None);
        assert_eq!(slope(&[(1.0, 2.0), (1.0, 5.0)]), None);
    }

    #[test]
    fn this_process_has_memory_and_a_cpu_time() {
        let usage = Usage::of(&[std::process::id()]);
        assert!(usage.rss_kib > 0);
        assert_eq!(Usage::of(&[u32::MAX]), Usage::default());
    }
}
