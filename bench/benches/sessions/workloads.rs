//! Scripted desktop workloads inside the xrdp session's X display, run as the session's
//! user: an idle desktop, an xterm clock at 20 Hz, full-window scrolling text, typing at 10
//! characters per second and a large animated Tk canvas. Each workload's processes form one
//! process group that the benchmark started and stops by its id.

use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// A target a workload is held to, from the issue.
#[derive(Clone, Copy, Debug)]
pub enum Aim {
    MaxKbit(f64),
    MaxCpuMs(f64),
    MinFps(f64),
}

impl Aim {
    pub fn label(self) -> String {
        match self {
            Aim::MaxKbit(k) if k >= 1000.0 => format!("≤{} Mbit/s", k / 1000.0),
            Aim::MaxKbit(k) => format!("≤{k} kbit/s"),
            Aim::MaxCpuMs(ms) => format!("≤{ms} ms/s"),
            Aim::MinFps(fps) => format!("≥{fps} fps"),
        }
    }

    pub fn met(self, window: &crate::measure::Window) -> bool {
        match self {
            Aim::MaxKbit(k) => window.kbit_per_s <= k,
            Aim::MaxCpuMs(ms) => window.cpu_ms_per_s <= ms,
            Aim::MinFps(fps) => window.fps >= fps,
        }
    }
}

pub struct Workload {
    pub name: &'static str,
    pub aims: &'static [Aim],
    /// Programs to start in the X session, each as `[program, args…]`.
    programs: fn() -> Vec<Vec<String>>,
}

/// The clock: `HH:MM:SS.ffffff` rewritten in place every 50 ms, paced on the monotonic clock.
const CLOCK: &str = "\
import datetime, sys, time
period = 0.05
due = time.monotonic()
while True:
    sys.stdout.write('\\r' + datetime.datetime.now().strftime('%H:%M:%S.%f'))
    sys.stdout.flush()
    due += period
    time.sleep(max(0.0, due - time.monotonic()))
";

/// Lines per second of the scrolling workload.
pub const SCROLL_LINES_PER_SEC: u32 = 25;

/// A log-like stream of varied 150-character lines, steadily.
const SCROLL: &str = "\
import datetime, random, sys, time
words = ('session gateway host pool ticket frame tile encoder damage scroll copy ack '
         'input latency journal anteckning klient handläggare beslut insats').split()
rate = int(sys.argv[1])
due = time.monotonic()
n = 0
while True:
    n += 1
    text = ' '.join(random.choice(words) for _ in range(18))
    line = f'{datetime.datetime.now():%H:%M:%S.%f} INFO hamn line {n:07d}: {text}'
    sys.stdout.write(line[:150].ljust(150) + '\\n')
    sys.stdout.flush()
    due += 1.0 / rate
    time.sleep(max(0.0, due - time.monotonic()))
";

/// Typing: focus the xterm (no window manager: set the input focus directly), then type 10
/// characters per second, over and over. Debian's xdotool types twice as fast as its
/// `--delay` suggests (measured: 20 keys take 1.0 s at `--delay 100`), so 10 per second is
/// `--delay 200`.
const TYPING: &str = "\
sleep 1
xdotool search --sync --limit 1 --name '^hamn-typing$' windowfocus
while :; do
  xdotool type --delay 200 'Hamn skriver en journalanteckning, tio tecken per sekund. '
done
";

/// An 800×600 Tk canvas at 30 Hz: twenty colour bands that all change every frame and two
/// dozen moving discs, so most of the area changes in every frame.
const ANIMATION: &str = "\
import math, time, tkinter as tk
W, H, FPS = 800, 600, 30
root = tk.Tk()
root.title('hamn-anim')
root.geometry(f'{W}x{H}+240+200')
c = tk.Canvas(root, width=W, height=H, highlightthickness=0)
c.pack()
bands = [c.create_rectangle(i * W / 20, 0, (i + 1) * W / 20, H, width=0) for i in range(20)]
discs = [c.create_oval(0, 0, 80, 80, width=0) for _ in range(24)]
start = time.monotonic()
n = 0
def colour(v):
    v = int(v) % 256
    return f'#{v:02x}{(v * 7) % 256:02x}{255 - v:02x}'
def frame():
    global n
    n += 1
    t = n / FPS
    for i, b in enumerate(bands):
        c.itemconfigure(b, fill=colour(128 + 120 * math.sin(t * 2 + i * 0.5)))
    for i, d in enumerate(discs):
        x = W / 2 + (W / 2 - 50) * math.sin(t * (1 + i * 0.07) + i)
        y = H / 2 + (H / 2 - 50) * math.cos(t * (1.3 + i * 0.05) + i * 2)
        c.coords(d, x - 40, y - 40, x + 40, y + 40)
        c.itemconfigure(d, fill=colour(40 * i + 90 * t))
    delay = start + (n + 1) / FPS - time.monotonic()
    root.after(max(1, int(delay * 1000)), frame)
frame()
root.mainloop()
";

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

pub const WORKLOADS: &[Workload] = &[
    Workload {
        name: "idle desktop",
        aims: &[],
        programs: Vec::new,
    },
    Workload {
        name: "xterm clock 20 Hz",
        aims: &[Aim::MaxKbit(100.0), Aim::MaxCpuMs(25.0)],
        programs: || {
            vec![args(&[
                "xterm",
                "-title",
                "hamn-clock",
                "-fa",
                "DejaVu Sans Mono",
                "-fs",
                "11",
                "-geometry",
                "20x1+700+300",
                "-e",
                "python3",
                "-c",
                CLOCK,
            ])]
        },
    },
    Workload {
        name: "full-window scrolling",
        aims: &[Aim::MaxKbit(4000.0), Aim::MinFps(10.0)],
        programs: || {
            let rate = SCROLL_LINES_PER_SEC.to_string();
            vec![
                args(&[
                    "xterm",
                    "-title",
                    "hamn-scroll",
                    "-fa",
                    "DejaVu Sans Mono",
                    "-fs",
                    "9",
                    "-geometry",
                    "180x60+0+0",
                    "-e",
                    "python3",
                    "-c",
                    SCROLL,
                    &rate,
                ]),
                // The whole 1280×1024 desktop: there is no window manager to maximise it.
                args(&[
                    "xdotool",
                    "search",
                    "--sync",
                    "--limit",
                    "1",
                    "--name",
                    "^hamn-scroll$",
                    "windowmove",
                    "0",
                    "0",
                    "windowsize",
                    "1280",
                    "1024",
                ]),
            ]
        },
    },
    Workload {
        name: "typing 10 chars/s",
        aims: &[Aim::MaxKbit(20.0), Aim::MaxCpuMs(15.0)],
        programs: || {
            vec![
                args(&[
                    "xterm",
                    "-title",
                    "hamn-typing",
                    "-fa",
                    "DejaVu Sans Mono",
                    "-fs",
                    "11",
                    "-geometry",
                    "90x12+100+300",
                    "-e",
                    "cat",
                ]),
                args(&["sh", "-c", TYPING]),
            ]
        },
    },
    Workload {
        name: "animated 800×600 30 Hz",
        aims: &[Aim::MinFps(15.0), Aim::MaxKbit(4000.0)],
        programs: || vec![args(&["python3", "-c", ANIMATION])],
    },
];

/// The X session xrdp started for `user`: its display and credentials.
pub struct XSession {
    display: String,
    xauthority: PathBuf,
    home: PathBuf,
    user: String,
    uid: u32,
    gid: u32,
}

impl XSession {
    /// Waits for the user's Xorg (started by xrdp-sesman at logon) to answer.
    pub async fn wait(user: &str, timeout: Duration) -> anyhow::Result<XSession> {
        let deadline = Instant::now() + timeout;
        let id = |flag: &str| -> anyhow::Result<u32> {
            let out = Command::new("id").arg(flag).arg(user).output()?;
            Ok(String::from_utf8_lossy(&out.stdout).trim().parse()?)
        };
        let (uid, gid) = (id("-u")?, id("-g")?);
        let home = PathBuf::from(format!("/home/{user}"));
        loop {
            if let Some((display, auth)) = xorg_of(user) {
                let session = XSession {
                    display,
                    xauthority: if auth.is_absolute() {
                        auth
                    } else {
                        home.join(auth)
                    },
                    home: home.clone(),
                    user: user.to_owned(),
                    uid,
                    gid,
                };
                let geometry = session
                    .command("xdotool", &["getdisplaygeometry"])
                    .stderr(Stdio::null())
                    .output()?;
                if geometry.status.success() {
                    return Ok(session);
                }
            }
            if Instant::now() > deadline {
                bail!("the X session of {user} did not come up");
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    pub fn display(&self) -> &str {
        &self.display
    }

    fn command<S: AsRef<std::ffi::OsStr>>(&self, program: &str, args: &[S]) -> Command {
        let mut command = Command::new(program);
        command
            .args(args)
            .env_clear()
            .env("DISPLAY", &self.display)
            .env("XAUTHORITY", &self.xauthority)
            .env("HOME", &self.home)
            .env("USER", &self.user)
            .env("LOGNAME", &self.user)
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("LANG", "C.UTF-8")
            .current_dir(&self.home)
            .uid(self.uid)
            .gid(self.gid);
        command
    }

    /// Starts the workload's programs, each in a process group of its own.
    pub fn start(&self, workload: &Workload) -> anyhow::Result<Running> {
        let mut children = Vec::new();
        for program in (workload.programs)() {
            let (name, rest) = program.split_first().context("empty program")?;
            let child = self
                .command(name, rest)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .with_context(|| format!("start {name}"))?;
            children.push(child);
        }
        Ok(Running(children))
    }
}

/// Display and `-auth` file of `user`'s Xorg, from its command line.
fn xorg_of(user: &str) -> Option<(String, PathBuf)> {
    let out = Command::new("pgrep")
        .args(["-u", user, "-x", "Xorg"])
        .output()
        .ok()?;
    let pid = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()?
        .to_owned();
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let args: Vec<String> = cmdline
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let display = args.iter().find(|a| a.starts_with(':'))?.clone();
    let auth = args
        .iter()
        .position(|a| a == "-auth")
        .and_then(|i| args.get(i + 1))
        .map_or_else(|| PathBuf::from(".Xauthority"), PathBuf::from);
    Some((display, auth))
}

/// A workload's process groups; stopped (TERM, then KILL) on [`Running::stop`] or drop.
pub struct Running(Vec<Child>);

impl Running {
    pub fn stop(&mut self) {
        // Helpers first (the typing loop): its keys must not go astray once the window
        // they were typed into is gone.
        for child in self.0.iter_mut().rev() {
            signal_group(child.id(), "-TERM");
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        for child in &mut self.0 {
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            if matches!(child.try_wait(), Ok(None)) {
                signal_group(child.id(), "-KILL");
                let _ = child.wait();
            }
        }
        self.0.clear();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Signals the process group led by `pid`, a child this benchmark started.
fn signal_group(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .arg(signal)
        .arg("--")
        .arg(format!("-{pid}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}
