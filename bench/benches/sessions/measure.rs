//! What the session benchmark reads off the machine: this process's CPU time and resident
//! memory (`/proc/self`), another process's memory, and a measurement window over one
//! session's counters (browser bytes and frames from the synthetic client, RDP bytes from the
//! gateway's process-wide counter).

use std::time::{Duration, Instant};

use anyhow::Context as _;

use crate::gateway::{ClientCounters, Counts};

/// User plus system CPU time of this whole process (every thread, live or gone).
pub fn cpu_time() -> anyhow::Result<Duration> {
    cpu_time_of(None)
}

/// User plus system CPU time of `pid`, or of this process.
pub fn cpu_time_of(pid: Option<u32>) -> anyhow::Result<Duration> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".to_owned(),
    };
    let stat = std::fs::read_to_string(&path).with_context(|| path.clone())?;
    // The command name may hold spaces; the numeric fields follow its closing parenthesis.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .context("stat without a command name")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 (utime) and 15 (stime) of proc(5); `rest` starts at field 3.
    let ticks = |index: usize| -> anyhow::Result<u64> {
        Ok(fields.get(index - 3).context("short stat")?.parse()?)
    };
    let total = ticks(14)? + ticks(15)?;
    Ok(Duration::from_secs_f64(total as f64 / clock_ticks()))
}

/// MemAvailable of the machine, in bytes.
pub fn mem_available() -> anyhow::Result<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo")?;
    let kib: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))
        .and_then(|v| v.split_whitespace().next())
        .context("no MemAvailable")?
        .parse()?;
    Ok(kib * 1024)
}

/// `sysconf(_SC_CLK_TCK)` without libc: ask getconf once.
fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// Resident memory (VmRSS) of `pid`, or of this process, in bytes.
pub fn rss(pid: Option<u32>) -> anyhow::Result<u64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/status"),
        None => "/proc/self/status".to_owned(),
    };
    let status = std::fs::read_to_string(&path).with_context(|| path.clone())?;
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .context("no VmRSS")?
        .parse()?;
    Ok(kib * 1024)
}

/// The pid of this process's child whose command name is `name` (e.g. the demo host the
/// fixture started), read from `/proc`.
pub fn child_named(name: &str) -> Option<u32> {
    let me = std::process::id();
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            let (head, rest) = stat.rsplit_once(')')?;
            let comm = head.split_once('(')?.1;
            let ppid: u32 = rest.split_whitespace().nth(1)?.parse().ok()?;
            (ppid == me && comm == name).then_some(pid)
        })
}

pub const MIB: f64 = 1024.0 * 1024.0;

/// Counters at one instant.
#[derive(Clone, Copy)]
pub struct Snapshot {
    at: Instant,
    cpu: Duration,
    client: Counts,
    rdp_bytes: u64,
}

impl Snapshot {
    pub fn take(client: &ClientCounters) -> anyhow::Result<Self> {
        Ok(Self {
            at: Instant::now(),
            cpu: cpu_time()?,
            client: client.snapshot(),
            rdp_bytes: hamn_gateway::rdp::process_bytes_in(),
        })
    }

    /// What happened between `self` and `later`.
    pub fn until(&self, later: &Snapshot) -> Window {
        let secs = later.at.duration_since(self.at).as_secs_f64().max(1e-9);
        let delta = |f: fn(&Counts) -> u64| f(&later.client).saturating_sub(f(&self.client)) as f64;
        let browser = delta(|c| c.bytes);
        let rdp = later.rdp_bytes.saturating_sub(self.rdp_bytes) as f64;
        Window {
            kbit_per_s: browser * 8.0 / 1000.0 / secs,
            rdp_kbit_per_s: rdp * 8.0 / 1000.0 / secs,
            cpu_ms_per_s: later.cpu.saturating_sub(self.cpu).as_secs_f64() * 1e3 / secs,
            fps: delta(|c| c.frames) / secs,
            copies_per_s: delta(|c| c.copies) / secs,
            tiles_per_frame: delta(|c| c.tiles) / delta(|c| c.frames).max(1.0),
            jpeg_share: (browser > 0.0).then(|| delta(|c| c.jpeg_bytes) / browser),
            ratio: (rdp > 0.0).then(|| browser / rdp),
        }
    }
}

/// One session over one measurement window.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    /// Wire bytes to the browser.
    pub kbit_per_s: f64,
    /// RDP bytes from the host.
    pub rdp_kbit_per_s: f64,
    /// Process CPU per second of session: gateway plus the non-decoding client.
    pub cpu_ms_per_s: f64,
    /// FrameEnd messages per second.
    pub fps: f64,
    /// CopyRect messages per second (scrolls the encoder found).
    pub copies_per_s: f64,
    pub tiles_per_frame: f64,
    /// Share of the browser bytes that were JPEG tiles.
    pub jpeg_share: Option<f64>,
    /// Browser bytes over RDP bytes; `None` when the host sent nothing.
    pub ratio: Option<f64>,
}
