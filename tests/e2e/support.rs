//! Helpers for driving a real `hamn` process: free ports, a temp data dir, curl calls and
//! a clean stop that proves no child process is left behind.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The `hamn` binary cargo built for these tests.
pub fn hamn_bin() -> &'static str {
    env!("CARGO_BIN_EXE_hamn")
}

/// The repository root (for fixtures and tools).
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local addr").port()
}

/// `N` ports nobody listens on right now, all different: their listeners are held until
/// every one is chosen (chosen one at a time, the kernel may hand the same port out twice).
pub fn free_ports<const N: usize>() -> [u16; N] {
    let held: Vec<TcpListener> = (0..N)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port"))
        .collect();
    std::array::from_fn(|i| held[i].local_addr().expect("local addr").port())
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(label: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let dir =
            std::env::temp_dir().join(format!("hamn-e2e-{label}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Ports of one `hamn up` instance.
#[derive(Debug, Clone, Copy)]
pub struct Ports {
    pub gateway: u16,
    pub redirect: u16,
    pub siths: u16,
    pub broker: u16,
    pub print: u16,
    pub demo_host: u16,
    pub metrics: u16,
}

impl Ports {
    pub fn free() -> Self {
        let [gateway, redirect, siths, broker, print, demo_host, metrics] = free_ports();
        Self {
            gateway,
            redirect,
            siths,
            broker,
            print,
            demo_host,
            metrics,
        }
    }
}

/// A running `hamn up` on the embedded demo configuration, moved to free ports through
/// `HAMN_…__…` environment overrides (which this also exercises).
pub struct HamnUp {
    pub child: Child,
    pub ports: Ports,
    pub data: TempDir,
    /// What hamn wrote to stderr: its logs.
    pub log: PathBuf,
    /// What hamn wrote to stdout: the start-up banner.
    pub stdout: PathBuf,
}

impl HamnUp {
    pub fn start(extra_env: &[(&str, String)]) -> Self {
        let data = TempDir::new("up");
        let ports = Ports::free();
        let log = data.0.join("hamn.log");
        let stdout = data.0.join("hamn.out");
        let log_file = std::fs::File::create(&log).expect("log file");
        let out_file = std::fs::File::create(&stdout).expect("stdout file");
        let mut command = Command::new(hamn_bin());
        command
            .args(["up", "--data-dir"])
            .arg(&data.0)
            .env(
                "HAMN_GATEWAY__LISTEN",
                format!("127.0.0.1:{}", ports.gateway),
            )
            .env(
                "HAMN_GATEWAY__PUBLIC_URL",
                format!("https://localhost:{}", ports.gateway),
            )
            .env(
                "HAMN_GATEWAY__REDIRECT_LISTEN",
                format!("127.0.0.1:{}", ports.redirect),
            )
            .env(
                "HAMN_GATEWAY__SITHS_LISTEN",
                format!("127.0.0.1:{}", ports.siths),
            )
            .env("HAMN_BROKER__LISTEN", format!("127.0.0.1:{}", ports.broker))
            .env("HAMN_PRINT__LISTEN", format!("127.0.0.1:{}", ports.print))
            .env(
                "HAMN_DEMO_HOST__LISTEN",
                format!("127.0.0.1:{}", ports.demo_host),
            )
            .env(
                "HAMN_METRICS__LISTEN",
                format!("127.0.0.1:{}", ports.metrics),
            )
            .stdin(Stdio::null())
            .stdout(out_file)
            .stderr(log_file);
        for (key, value) in extra_env {
            command.env(key, value);
        }
        let child = command.spawn().expect("spawn hamn up");
        let up = Self {
            child,
            ports,
            data,
            log,
            stdout,
        };
        up.wait_until_healthy();
        up
    }

    pub fn certs(&self) -> PathBuf {
        self.data.0.join("certs")
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn banner(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    fn wait_until_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if self.certs().join("ca.crt").exists() {
                let (status, _) = self.curl(
                    &[],
                    &format!("https://localhost:{}/healthz", self.ports.gateway),
                );
                let (broker, _) = self.curl(
                    &[],
                    &format!("https://127.0.0.1:{}/healthz", self.ports.broker),
                );
                if status == 200 && broker == 200 {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "hamn up did not become healthy:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// curl with this instance's dev CA trusted; see [`curl`].
    pub fn curl(&self, args: &[&str], url: &str) -> (u16, String) {
        curl(&self.certs().join("ca.crt"), args, url)
    }

    /// The broker's admin API as the operator (the dev PKI's mTLS client certificate):
    /// `path` below `/api/v1`, an optional JSON body; (status, JSON answer or the text).
    pub fn operator(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let certs = self.certs();
        let cert = certs.join("api-operator.crt").display().to_string();
        let key = certs.join("api-operator.key").display().to_string();
        let data = body.map(|b| b.to_string());
        let mut args = vec!["--cert", &cert, "--key", &key, "-X", method];
        if let Some(data) = &data {
            args.extend(["-H", "Content-Type: application/json", "--data", data]);
        }
        let url = format!("https://127.0.0.1:{}/api/v1{path}", self.ports.broker);
        let (code, text) = self.curl(&args, &url);
        let value = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
        (code, value)
    }

    /// [`Self::operator`] that must succeed (2xx); the answer.
    pub fn operator_ok(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> serde_json::Value {
        let (code, value) = self.operator(method, path, body);
        assert!(
            (200..300).contains(&code),
            "{method} {path}: {code} {value:#}"
        );
        value
    }

    /// Creates a resource as the operator (201) and returns its id.
    pub fn operator_create(&self, path: &str, body: serde_json::Value) -> String {
        let (code, answer) = self.operator("POST", path, Some(body));
        assert_eq!(code, 201, "POST {path}: {answer:#}");
        id(&answer)
    }

    /// Child processes of hamn (the demo host), read from /proc.
    pub fn children(&self) -> Vec<u32> {
        let pid = self.child.id();
        let path = format!("/proc/{pid}/task/{pid}/children");
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect()
    }

    /// SIGTERM, then the exit status; see [`terminate`].
    pub fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        terminate(&mut self.child)
    }
}

impl Drop for HamnUp {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            for pid in self.children() {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// curl with `ca` trusted; returns (HTTP status, body). Status 0: no HTTP answer.
pub fn curl(ca: &Path, args: &[&str], url: &str) -> (u16, String) {
    let output = Command::new("curl")
        .args(["-sS", "--max-time", "10", "--cacert"])
        .arg(ca)
        .args(args)
        .args(["-w", "\n%{http_code}", url])
        .output()
        .expect("run curl");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let (body, code) = stdout.rsplit_once('\n').unwrap_or(("", &stdout));
    (code.trim().parse().unwrap_or(0), body.to_owned())
}

/// SIGTERM, then the exit status (None if it had to be killed after 20 s).
pub fn terminate(child: &mut Child) -> Option<std::process::ExitStatus> {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// Whether a process with this pid still exists (and is not a zombie).
pub fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}

/// The `id` of an admin API answer.
pub fn id(value: &serde_json::Value) -> String {
    value["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {value:#}"))
        .to_owned()
}

/// Runs `tests/browser/<script>` under node (Chromium through playwright-core) with `args`
/// and returns what it printed; panics with its output, and `up`'s log when given, unless
/// it exits 0. `what` names the check in that message.
pub fn browser_script<S: AsRef<std::ffi::OsStr>>(
    what: &str,
    script: &str,
    args: &[S],
    up: Option<&HamnUp>,
) -> String {
    let output = Command::new("node")
        .arg(repo().join("tests/browser").join(script))
        .args(args)
        .current_dir(repo().join("tests"))
        .output()
        .expect("run node (./scripts/test installs it)");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{what} in Chromium: {stdout}{}\n{}",
        String::from_utf8_lossy(&output.stderr),
        up.map(HamnUp::logs).unwrap_or_default()
    );
    stdout
}

/// The PostgreSQL the test command provides (see scripts/test).
pub fn postgres_admin_url() -> String {
    std::env::var("HAMN_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A PostgreSQL database of its own on that server, dropped on drop (tests of several
/// processes on one PostgreSQL: scale_out, multinode).
pub struct ScratchDatabase {
    admin_url: String,
    name: String,
}

impl ScratchDatabase {
    pub fn create() -> Self {
        Self::create_named("")
    }

    /// Tests of one process that run at once need databases of their own.
    pub fn create_named(suffix: &str) -> Self {
        let admin_url = postgres_admin_url();
        let name = format!("hamn_e2e_{}{suffix}", std::process::id());
        let db = Self { admin_url, name };
        db.psql(&format!("DROP DATABASE IF EXISTS {}", db.name));
        db.psql(&format!("CREATE DATABASE {}", db.name));
        db
    }

    pub fn url(&self) -> String {
        let base = self
            .admin_url
            .rsplit_once('/')
            .map_or(self.admin_url.as_str(), |(b, _)| b);
        format!("{base}/{}", self.name)
    }

    pub fn psql(&self, sql: &str) {
        let output = Command::new("psql")
            .args([
                self.admin_url.as_str(),
                "-v",
                "ON_ERROR_STOP=1",
                "-qAtc",
                sql,
            ])
            .output()
            .expect("psql (./scripts/test installs PostgreSQL)");
        assert!(
            output.status.success(),
            "psql {sql}: {} — is PostgreSQL at {} reachable?",
            String::from_utf8_lossy(&output.stderr),
            self.admin_url
        );
    }

    pub fn tables(&self) -> String {
        let output = Command::new("psql")
            .args([self.url().as_str(), "-qAtc", "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'"])
            .output()
            .expect("psql");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([
                self.admin_url.as_str(),
                "-qAtc",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            ])
            .output();
    }
}
