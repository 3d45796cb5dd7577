//! The system under load, as real processes on loopback: `hamn up` (one process: broker,
//! gateway, print service, with its demo host as a child), or for scale-out `hamn broker`
//! and `hamn gateway` processes apart on one PostgreSQL. Either way extra
//! `hamn-demo-host` processes can join the demo pool. Every listener gets a free port.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use hamn_broker::client::AdminClient;

use super::Tls;
use super::portal::Portal;
use super::procfs;

/// The demo host's lab account (`config/demo.toml`); every extra demo host takes it, as
/// the pool has one set of credentials.
const DEMO_USER: &str = "demo";
const DEMO_PASSWORD: &str = "Hamn-demo-2026";
const START_WAIT: Duration = Duration::from_secs(90);

/// Where the binaries are.
#[derive(Debug, Clone)]
pub struct Binaries {
    pub hamn: PathBuf,
    pub demo_host: PathBuf,
}

impl Binaries {
    /// `HAMN_BIN` / `HAMN_DEMO_HOST_BIN`, else beside this executable or in the profile
    /// directories of the target dir it lives in.
    pub fn locate() -> anyhow::Result<Binaries> {
        Ok(Binaries {
            hamn: find("HAMN_BIN", "hamn", "cargo build --release -p hamn")?,
            demo_host: find(
                "HAMN_DEMO_HOST_BIN",
                "hamn-demo-host",
                "cargo build --release --manifest-path demo-host/Cargo.toml",
            )?,
        })
    }
}

fn find(variable: &str, name: &str, how: &str) -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os(variable) {
        return Ok(PathBuf::from(path));
    }
    let exe = std::env::current_exe()?;
    // target/<profile>/hamn-load, or target/<profile>/deps/<test binary>.
    let mut candidates = Vec::new();
    for dir in exe.ancestors().skip(1).take(3) {
        candidates.push(dir.join(name));
        for profile in ["release", "debug"] {
            candidates.push(dir.join(profile).join(name));
        }
    }
    // The demo host has its own workspace and target dir.
    if let Some(root) = option_env!("CARGO_MANIFEST_DIR")
        .map(Path::new)
        .and_then(Path::parent)
    {
        for profile in ["release", "debug"] {
            candidates.push(root.join("demo-host/target").join(profile).join(name));
        }
    }
    candidates
        .into_iter()
        .find(|c| c.is_file())
        .with_context(|| {
            format!(
                "{name} not found beside {}: build it (`{how}`) or set {variable}",
                exe.display()
            )
        })
}

/// `n` ports nobody listens on now, all different.
pub fn free_ports(n: usize) -> anyhow::Result<Vec<u16>> {
    let held = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()?;
    held.iter().map(|l| Ok(l.local_addr()?.port())).collect()
}

/// A running system to put load on.
pub struct Stack {
    /// Gateways' portal ports (`https://localhost:PORT`).
    pub gateways: Vec<u16>,
    /// Brokers' admin API ports.
    pub brokers: Vec<u16>,
    /// The dev PKI: `ca.crt`, `api-operator.crt`/`.key`.
    pub certs: PathBuf,
    /// The Hamn processes whose memory and CPU are measured.
    pub measured: Vec<u32>,
    /// Demo host processes (reported apart).
    pub hosts: Vec<u32>,
    /// Ports of demo hosts that are not yet in the pool.
    pub extra_host_ports: Vec<u16>,
    children: Vec<Child>,
    dir: tempfile::TempDir,
}

impl Stack {
    /// `hamn up` on free ports with `extra_hosts` more demo hosts beside its own.
    pub async fn up(bins: &Binaries, extra_hosts: usize) -> anyhow::Result<Stack> {
        let dir = tempfile::Builder::new().prefix("hamn-load-").tempdir()?;
        let ports = free_ports(7)?;
        let [gateway, redirect, siths, broker, print, demo, metrics] = ports[..] else {
            bail!("ports");
        };
        let log = std::fs::File::create(dir.path().join("hamn.log"))?;
        let child = Command::new(&bins.hamn)
            .args(["up", "--data-dir"])
            .arg(dir.path())
            .env("HAMN_GATEWAY__LISTEN", format!("127.0.0.1:{gateway}"))
            .env(
                "HAMN_GATEWAY__PUBLIC_URL",
                format!("https://localhost:{gateway}"),
            )
            .env(
                "HAMN_GATEWAY__REDIRECT_LISTEN",
                format!("127.0.0.1:{redirect}"),
            )
            .env("HAMN_GATEWAY__SITHS_LISTEN", format!("127.0.0.1:{siths}"))
            .env("HAMN_BROKER__LISTEN", format!("127.0.0.1:{broker}"))
            .env("HAMN_PRINT__LISTEN", format!("127.0.0.1:{print}"))
            .env("HAMN_DEMO_HOST__LISTEN", format!("127.0.0.1:{demo}"))
            .env("HAMN_METRICS__LISTEN", format!("127.0.0.1:{metrics}"))
            .env("HAMN_DEMO_HOST__COMMAND", &bins.demo_host)
            .env("HAMN_LOG__LEVEL", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", bins.hamn.display()))?;
        let pid = child.id();
        let mut stack = Stack {
            gateways: vec![gateway],
            brokers: vec![broker],
            certs: dir.path().join("certs"),
            measured: vec![pid],
            hosts: Vec::new(),
            extra_host_ports: Vec::new(),
            children: vec![child],
            dir,
        };
        stack.wait_ready().await?;
        stack.hosts = procfs::children(pid);
        for _ in 0..extra_hosts {
            stack.start_demo_host(bins).await?;
        }
        Ok(stack)
    }

    /// A Hamn someone else runs: its portal and broker ports on loopback, its dev PKI,
    /// the pids to measure.
    pub fn external(
        gateway: u16,
        broker: u16,
        certs: PathBuf,
        pids: Vec<u32>,
    ) -> anyhow::Result<Stack> {
        Ok(Stack {
            gateways: vec![gateway],
            brokers: vec![broker],
            certs,
            measured: pids,
            hosts: Vec::new(),
            extra_host_ports: Vec::new(),
            children: Vec::new(),
            dir: tempfile::Builder::new().prefix("hamn-load-").tempdir()?,
        })
    }

    /// `brokers` × `hamn broker` and `gateways` × `hamn gateway` on the PostgreSQL
    /// database `database_url` (empty; migrated and seeded here), with `demo_hosts` demo
    /// hosts in the demo pool.
    pub async fn split(
        bins: &Binaries,
        database_url: &str,
        brokers: usize,
        gateways: usize,
        demo_hosts: usize,
    ) -> anyhow::Result<Stack> {
        let dir = tempfile::Builder::new().prefix("hamn-scale-").tempdir()?;
        let data = dir.path().display().to_string();
        let key = hamn_broker::SecretsKey::generate()?;
        let common: Vec<(&str, String)> = vec![
            ("HAMN_DATABASE__URL", database_url.to_owned()),
            ("HAMN_GATEWAY__REDIRECT_LISTEN", String::new()),
            ("HAMN_GATEWAY__SITHS_LISTEN", String::new()),
            ("HAMN_GATEWAY__DEMO_LOGIN", "true".to_owned()),
            ("HAMN_METRICS__LISTEN", String::new()),
            ("HAMN_BROKER__SECRETS_KEY", key.to_base64()),
            ("HAMN_LOG__LEVEL", "warn".to_owned()),
        ];
        for args in [["certs", "init"], ["migrate", ""]] {
            let mut command = Command::new(&bins.hamn);
            command.args(args.iter().filter(|a| !a.is_empty()));
            command
                .args(["--data-dir", &data])
                .envs(common.iter().cloned());
            let output = command.output()?;
            if !output.status.success() {
                bail!("hamn {args:?}: {}", String::from_utf8_lossy(&output.stderr));
            }
        }
        let mut stack = Stack {
            gateways: Vec::new(),
            brokers: Vec::new(),
            certs: dir.path().join("certs"),
            measured: Vec::new(),
            hosts: Vec::new(),
            extra_host_ports: Vec::new(),
            children: Vec::new(),
            dir,
        };
        let first_host = stack.start_demo_host(bins).await?;
        stack.extra_host_ports.clear();
        for _ in 1..demo_hosts {
            stack.start_demo_host(bins).await?;
        }
        let database = hamn_broker::Database::connect(&hamn_broker::DatabaseConfig {
            url: database_url.to_owned(),
            max_connections: 2,
        })
        .await?;
        hamn_broker::seed::demo(
            &database,
            hamn_broker::DemoSeed {
                host_port: first_host,
                host_capacity: 10_000,
                secrets_key: Some(key),
                ..Default::default()
            },
        )
        .await
        .context("seeding the demo tenant")?;
        database.close().await;
        hamn_broker::TicketKeys::load_or_create(stack.dir.path())?;

        // Each process gets its own port and an unused one for the other service's
        // listener (configuration refuses the two on one address, even unused).
        let ports = free_ports(2 * (brokers + gateways))?;
        for (n, pair) in ports.chunks(2).enumerate() {
            let (port, other) = (&pair[0], pair[1]);
            let service = if n < brokers { "broker" } else { "gateway" };
            let (broker_port, gateway_port) = if n < brokers {
                (*port, other)
            } else {
                (other, *port)
            };
            let log = std::fs::File::create(stack.dir.path().join(format!("{service}-{n}.log")))?;
            let child = Command::new(&bins.hamn)
                .args([service, "--data-dir", &data])
                .envs(common.iter().cloned())
                .env("HAMN_BROKER__LISTEN", format!("127.0.0.1:{broker_port}"))
                .env("HAMN_GATEWAY__LISTEN", format!("127.0.0.1:{gateway_port}"))
                .env(
                    "HAMN_GATEWAY__PUBLIC_URL",
                    format!("https://localhost:{gateway_port}"),
                )
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()?;
            stack.measured.push(child.id());
            stack.children.push(child);
            if n < brokers {
                stack.brokers.push(*port);
            } else {
                stack.gateways.push(*port);
            }
        }
        stack.wait_ready().await?;
        Ok(stack)
    }

    /// Starts a `hamn-demo-host` on a free port with the data dir's server certificate;
    /// its port joins [`Self::extra_host_ports`].
    async fn start_demo_host(&mut self, bins: &Binaries) -> anyhow::Result<u16> {
        let paths = hamn_certs::DevPkiPaths::new(&self.certs);
        if !paths.server_cert().is_file() {
            hamn_certs::DevPki::init(&self.certs)?;
        }
        let port = free_ports(1)?[0];
        let log = std::fs::File::create(self.dir.path().join(format!("demo-host-{port}.log")))?;
        let mut child = Command::new(&bins.demo_host)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--cert")
            .arg(paths.server_cert())
            .arg("--key")
            .arg(paths.server_key())
            .env("HAMN_DEMO_HOST_USERNAME", DEMO_USER)
            .env("HAMN_DEMO_HOST_PASSWORD", DEMO_PASSWORD)
            .env("HAMN_DEMO_HOST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", bins.demo_host.display()))?;
        let deadline = Instant::now() + START_WAIT;
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            if let Some(status) = child.try_wait()? {
                bail!("the demo host exited: {status}");
            }
            if Instant::now() > deadline {
                bail!("the demo host did not listen on {port}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.hosts.push(child.id());
        self.children.push(child);
        self.extra_host_ports.push(port);
        Ok(port)
    }

    /// The operator's admin API client for broker `n`.
    pub fn admin(&self, n: usize) -> anyhow::Result<AdminClient> {
        let paths = hamn_certs::DevPkiPaths::new(&self.certs);
        Ok(AdminClient::new(
            &format!("https://127.0.0.1:{}", self.brokers[n % self.brokers.len()]),
            &paths.ca_cert(),
            &paths.api_operator_cert(),
            &paths.api_operator_key(),
        )?)
    }

    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + START_WAIT;
        loop {
            for child in &mut self.children {
                if let Some(status) = child.try_wait()? {
                    bail!("a hamn process exited: {status}\n{}", self.logs());
                }
            }
            if self.ready().await {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("hamn did not become ready\n{}", self.logs());
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    async fn ready(&self) -> bool {
        if !self.certs.join("ca.crt").is_file() {
            return false;
        }
        let Ok(tls) = Tls::from_ca(&self.certs.join("ca.crt")) else {
            return false;
        };
        for &port in &self.gateways {
            let Ok(mut portal) = Portal::connect(&tls, port).await else {
                return false;
            };
            if !matches!(portal.status("/readyz").await, Ok(200)) {
                return false;
            }
        }
        for n in 0..self.brokers.len() {
            let Ok(admin) = self.admin(n) else {
                return false;
            };
            // /readyz answers text, which the JSON client reports as NotJson with its status.
            if !matches!(
                admin.get("/readyz").await,
                Err(hamn_broker::ClientError::NotJson { status: 200, .. })
            ) {
                return false;
            }
        }
        true
    }

    /// Every log the processes wrote, for a failure's message.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        if let Ok(entries) = std::fs::read_dir(self.dir.path()) {
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "log") {
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    let tail: Vec<&str> = text.lines().rev().take(40).collect();
                    out.push_str(&format!("--- {}\n", path.display()));
                    for line in tail.into_iter().rev() {
                        out.push_str(line);
                        out.push('\n');
                    }
                }
            }
        }
        out
    }

    /// SIGTERM to every process (newest first), then SIGKILL after a grace.
    pub fn stop(&mut self) {
        for child in self.children.iter().rev() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        for child in self.children.iter_mut().rev() {
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        self.children.clear();
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        for pid in self.measured.iter().flat_map(|p| procfs::children(*p)) {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
