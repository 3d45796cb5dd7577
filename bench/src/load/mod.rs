//! The synthetic load client behind `hamn-load` and the scale-out benchmark: N browser
//! sessions and M native tunnels against real Hamn processes and demo hosts, each one a
//! user who logs in through the demo login, launches through the portal API and holds its
//! connection for a lifetime, then logs off and comes back (so logins and launches go on
//! all run long), with launches paced at a given rate. It reports latency percentiles,
//! errors, what was lost, and the Hamn processes' memory and CPU read from `/proc`.
//!
//! Modules: [`stack`] starts the processes, [`portal`] is one user's portal, [`clients`]
//! the browser session and the tunnel, [`procfs`] the measurements, [`report`] the table
//! and the JSON of the contract (`docs/operations.md`, "Load").

pub mod clients;
pub mod portal;
pub mod procfs;
pub mod report;
pub mod stack;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use hamn_broker::client::AdminClient;
use serde_json::json;

use self::clients::{Browser, Tunnel};
use self::portal::Portal;
use self::procfs::Usage;
pub use self::report::Report;
use self::stack::Stack;

/// Errors kept word for word in the report (the rest are counted).
const KEPT_ERRORS: usize = 20;
/// Pause after a failed cycle, so a broken system is not hammered.
const RETRY_PAUSE: Duration = Duration::from_secs(1);
/// Sampling interval of memory and CPU.
const SAMPLE_EVERY: Duration = Duration::from_secs(1);

/// The client TLS configuration trusting the dev CA.
#[derive(Clone)]
pub struct Tls {
    pub http: Arc<rustls::ClientConfig>,
    pub ws: Arc<rustls::ClientConfig>,
}

impl Tls {
    pub fn from_ca(ca_pem: &Path) -> anyhow::Result<Tls> {
        let pem = std::fs::read(ca_pem).with_context(|| format!("reading {}", ca_pem.display()))?;
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_pemfile::certs(&mut &pem[..]) {
            roots.add(cert?)?;
        }
        let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let config = Arc::new(config);
        Ok(Tls {
            http: config.clone(),
            ws: config,
        })
    }
}

/// The two profiles of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// ~60 s, a handful of sessions: CI's check that nothing is lost.
    Short,
    /// Ten minutes of held load: is memory flat?
    Long,
}

impl Profile {
    pub fn name(self) -> &'static str {
        match self {
            Profile::Short => "short",
            Profile::Long => "long",
        }
    }

    /// The profile's defaults: sessions, tunnels, launches per second, run time, how long
    /// one user holds a session before logging off and launching again.
    pub fn options(self) -> Options {
        match self {
            Profile::Short => Options {
                profile: self,
                sessions: 6,
                tunnels: 2,
                launch_rate: Some(2.0),
                duration: Duration::from_secs(60),
                lifetime: Duration::from_secs(20),
                cycle: Cycle::Full,
            },
            Profile::Long => Options {
                profile: self,
                sessions: 20,
                tunnels: 6,
                launch_rate: Some(2.0),
                duration: Duration::from_secs(600),
                lifetime: Duration::from_secs(60),
                cycle: Cycle::Full,
            },
        }
    }
}

/// What one user does each time round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cycle {
    /// Log in, launch, open the session (or tunnel), hold it, log off, log out.
    Full,
    /// Launch again and again on one login (the launch path alone: ticket, placement).
    LaunchOnly,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub profile: Profile,
    pub sessions: usize,
    pub tunnels: usize,
    /// Launches per second over all users; `None`: as fast as they come.
    pub launch_rate: Option<f64>,
    pub duration: Duration,
    pub lifetime: Duration,
    pub cycle: Cycle,
}

/// Paces launches at a rate shared by every user.
struct Pacer {
    every: Option<Duration>,
    next: tokio::sync::Mutex<tokio::time::Instant>,
}

impl Pacer {
    fn new(rate: Option<f64>) -> Pacer {
        Pacer {
            every: rate
                .filter(|r| *r > 0.0)
                .map(|r| Duration::from_secs_f64(1.0 / r)),
            next: tokio::sync::Mutex::new(tokio::time::Instant::now()),
        }
    }

    async fn slot(&self) {
        let Some(every) = self.every else { return };
        let at = {
            let mut next = self.next.lock().await;
            let now = tokio::time::Instant::now();
            let at = (*next).max(now);
            *next = at + every;
            at
        };
        tokio::time::sleep_until(at).await;
    }
}

/// Everything the users counted, shared.
#[derive(Default)]
pub struct Totals {
    pub logins: u64,
    pub launches: u64,
    pub sessions_opened: u64,
    pub tunnels_opened: u64,
    /// `POST /portal/api/launch` (or the `.rdp` request) answered.
    pub launch_ms: Vec<f64>,
    /// Launch request sent → the session's first frame (browser) or the host's X.224
    /// confirm through the tunnel (native): what a user waits for.
    pub ready_ms: Vec<f64>,
    /// `ClientHello` → first frame.
    pub first_frame_ms: Vec<f64>,
    pub frames: u64,
    pub inputs: u64,
    pub pings: u64,
    pub pongs: u64,
    pub errors: u64,
    /// Failures of a session or tunnel after it was up (closed under the user, a Ping
    /// unanswered): what the load lost.
    pub lost: u64,
    pub error_texts: Vec<String>,
    /// When every user first had its session or tunnel up.
    pub all_up_at: Option<Duration>,
    up_users: usize,
}

impl Totals {
    fn error(&mut self, lost: bool, text: String) {
        self.errors += 1;
        if lost {
            self.lost += 1;
        }
        if self.error_texts.len() < KEPT_ERRORS {
            self.error_texts.push(text);
        }
    }
}

/// One memory and CPU sample.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub at: Duration,
    pub hamn: Usage,
    pub hosts: Usage,
}

/// What provisioning found: the demo tenant's users for this run.
struct Users {
    names: Vec<String>,
}

/// Creates `count` users in the demo tenant's group, lifts the demo pool's host
/// capacity and logon-storm limit (the load is the point, not the limits), and adds
/// `extra_host_ports` as demo hosts of the pool.
async fn provision(
    admin: &AdminClient,
    count: usize,
    extra_host_ports: &[u16],
) -> anyhow::Result<Users> {
    let ok = |response: hamn_broker::client::ApiResponse, what: &str| {
        if response.status.is_success() {
            Ok(response.json)
        } else {
            anyhow::bail!("{what}: {} {}", response.status, response.json)
        }
    };
    let tenants = ok(admin.get("/api/v1/tenants?limit=200").await?, "tenants")?;
    let tenant = tenants["items"]
        .as_array()
        .and_then(|t| {
            t.iter()
                .find(|t| t["slug"] == hamn_broker::seed::DEMO_TENANT_SLUG)
        })
        .and_then(|t| t["id"].as_str())
        .context("no demo tenant")?
        .to_owned();
    let groups = ok(
        admin
            .get(&format!("/api/v1/tenants/{tenant}/groups"))
            .await?,
        "groups",
    )?;
    let group = groups["items"][0]["id"]
        .as_str()
        .context("the demo tenant has no group")?
        .to_owned();
    let pools = ok(admin.get("/api/v1/pools").await?, "pools")?;
    let pools: Vec<String> = pools["items"]
        .as_array()
        .map(|p| {
            p.iter()
                .filter_map(|p| p["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    // Ports of hosts already in a pool: a second run on the same stack adds none twice.
    let mut known_ports = Vec::new();
    for pool in &pools {
        ok(
            admin
                .put(
                    &format!("/api/v1/pools/{pool}/placement"),
                    Some(json!({ "max_logons_per_host": 0 })),
                )
                .await?,
            "placement",
        )?;
        let hosts = ok(
            admin.get(&format!("/api/v1/pools/{pool}/hosts")).await?,
            "hosts",
        )?;
        for host in hosts["items"].as_array().into_iter().flatten() {
            if let Some(port) = host["port"].as_u64() {
                known_ports.push(port);
            }
            if let Some(id) = host["id"].as_str() {
                ok(
                    admin
                        .patch(
                            &format!("/api/v1/hosts/{id}"),
                            json!({ "capacity": 10_000 }),
                        )
                        .await?,
                    "host capacity",
                )?;
            }
        }
    }
    let pool = pools.first().context("no pool")?;
    for port in extra_host_ports {
        if known_ports.contains(&u64::from(*port)) {
            continue;
        }
        ok(
            admin
                .post(
                    &format!("/api/v1/pools/{pool}/hosts"),
                    json!({ "name": format!("demo-host-{port}"), "address": "127.0.0.1",
                            "port": port, "capacity": 10_000 }),
                )
                .await?,
            "extra demo host",
        )?;
    }
    // Names unique to this run, so a `--target` system can be loaded again.
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() % 1_000_000_000)
        .unwrap_or_default();
    let mut names = Vec::with_capacity(count);
    for n in 0..count {
        let name = format!("last{run}-{n}");
        let user = ok(
            admin
                .post(
                    &format!("/api/v1/tenants/{tenant}/users"),
                    json!({ "name_id": name, "display_name": format!("Lasttest {n}") }),
                )
                .await?,
            "user",
        )?;
        let id = user["id"].as_str().context("user id")?;
        ok(
            admin
                .put(&format!("/api/v1/groups/{group}/members/{id}"), None)
                .await?,
            "group member",
        )?;
        names.push(name);
    }
    Ok(Users { names })
}

/// Puts the load of `options` on `stack` and measures it.
pub async fn run(stack: &Stack, options: &Options) -> anyhow::Result<Report> {
    let tls = Tls::from_ca(&stack.certs.join("ca.crt"))?;
    let admin = stack.admin(0)?;
    let users = provision(
        &admin,
        options.sessions + options.tunnels,
        &stack.extra_host_ports,
    )
    .await
    .context("provisioning users")?;

    let baseline = Usage::of(&stack.measured);
    let started = Instant::now();
    let end = started + options.duration;
    let totals = Arc::new(Mutex::new(Totals::default()));
    let pacer = Arc::new(Pacer::new(options.launch_rate));
    let samples = Arc::new(Mutex::new(Vec::new()));
    let sampler = {
        let samples = samples.clone();
        let (measured, hosts) = (stack.measured.clone(), stack.hosts.clone());
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(SAMPLE_EVERY);
            loop {
                ticker.tick().await;
                let sample = Sample {
                    at: started.elapsed(),
                    hamn: Usage::of(&measured),
                    hosts: Usage::of(&hosts),
                };
                if let Ok(mut samples) = samples.lock() {
                    samples.push(sample);
                }
            }
        })
    };

    let mut workers = Vec::new();
    for (n, name) in users.names.into_iter().enumerate() {
        let native = n >= options.sessions;
        let worker = Worker {
            name,
            port: stack.gateways[n % stack.gateways.len()],
            native,
            tls: tls.clone(),
            totals: totals.clone(),
            pacer: pacer.clone(),
            users: options.sessions + options.tunnels,
            started,
            end,
            lifetime: options.lifetime,
            cycle: options.cycle,
        };
        workers.push(tokio::spawn(worker.run()));
    }
    for worker in workers {
        worker.await.context("a user's task")?;
    }
    let wall = started.elapsed();
    tokio::time::sleep(SAMPLE_EVERY).await;
    sampler.abort();
    let samples = samples
        .lock()
        .map_err(|_| anyhow::anyhow!("samples poisoned"))?
        .clone();
    let totals = std::mem::take(
        &mut *totals
            .lock()
            .map_err(|_| anyhow::anyhow!("totals poisoned"))?,
    );
    Ok(Report::new(options, wall, baseline, &samples, totals))
}

/// One synthetic user.
struct Worker {
    name: String,
    port: u16,
    native: bool,
    tls: Tls,
    totals: Arc<Mutex<Totals>>,
    pacer: Arc<Pacer>,
    users: usize,
    started: Instant,
    end: Instant,
    lifetime: Duration,
    cycle: Cycle,
}

/// Where a cycle failed: before its session was up, or after (lost).
struct Failure {
    lost: bool,
    error: anyhow::Error,
}

trait Stage<T> {
    fn before_up(self) -> Result<T, Failure>;
    fn after_up(self) -> Result<T, Failure>;
}

impl<T> Stage<T> for anyhow::Result<T> {
    fn before_up(self) -> Result<T, Failure> {
        self.map_err(|error| Failure { lost: false, error })
    }
    fn after_up(self) -> Result<T, Failure> {
        self.map_err(|error| Failure { lost: true, error })
    }
}

impl Worker {
    fn count(&self, f: impl FnOnce(&mut Totals)) {
        if let Ok(mut totals) = self.totals.lock() {
            f(&mut totals);
        }
    }

    async fn run(self) {
        let mut first = true;
        let mut kept: Option<(Portal, String)> = None;
        while Instant::now() < self.end {
            self.pacer.slot().await;
            if Instant::now() >= self.end {
                break;
            }
            let result = match self.cycle {
                Cycle::Full => self.full_cycle(&mut first).await,
                Cycle::LaunchOnly => self.launch_only(&mut kept).await,
            };
            if let Err(failure) = result {
                let what = if self.native { "tunnel" } else { "session" };
                self.count(|t| {
                    t.error(
                        failure.lost,
                        format!("{} ({what}): {:#}", self.name, failure.error),
                    )
                });
                kept = None;
                tokio::time::sleep(RETRY_PAUSE).await;
            }
        }
    }

    async fn login(&self) -> anyhow::Result<(Portal, String)> {
        let mut portal = Portal::connect(&self.tls, self.port).await?;
        portal.login(&self.name).await?;
        let app = portal.first_app().await?;
        self.count(|t| t.logins += 1);
        Ok((portal, app))
    }

    async fn launch_only(&self, kept: &mut Option<(Portal, String)>) -> Result<(), Failure> {
        if kept.is_none() {
            *kept = Some(self.login().await.before_up()?);
        }
        let Some((portal, app)) = kept.as_mut() else {
            return Ok(());
        };
        let sent = Instant::now();
        portal.launch(app).await.before_up()?;
        let ms = sent.elapsed().as_secs_f64() * 1e3;
        self.count(|t| {
            t.launches += 1;
            t.launch_ms.push(ms);
        });
        Ok(())
    }

    async fn full_cycle(&self, first: &mut bool) -> Result<(), Failure> {
        let (mut portal, app) = self.login().await.before_up()?;
        let sent = Instant::now();
        let until = (Instant::now() + self.lifetime).min(self.end);
        let session = if self.native {
            let reference = portal.native_reference(&app).await.before_up()?;
            let launch = sent.elapsed();
            self.count(|t| {
                t.launches += 1;
                t.launch_ms.push(launch.as_secs_f64() * 1e3);
            });
            let tunnel = Tunnel::open(&self.tls, self.port, &reference)
                .await
                .before_up()?;
            let ready = sent.elapsed();
            self.up(first, |t| {
                t.tunnels_opened += 1;
                t.ready_ms.push(ready.as_secs_f64() * 1e3);
            });
            tunnel.hold(until).await.after_up()?;
            None
        } else {
            let (ticket, session) = portal.launch(&app).await.before_up()?;
            let launch = sent.elapsed();
            self.count(|t| {
                t.launches += 1;
                t.launch_ms.push(launch.as_secs_f64() * 1e3);
            });
            let browser = Browser::open(&self.tls, self.port, &ticket)
                .await
                .before_up()?;
            let ready = sent.elapsed();
            self.up(first, |t| {
                t.sessions_opened += 1;
                t.ready_ms.push(ready.as_secs_f64() * 1e3);
            });
            let stats = browser.hold(until).await.after_up()?;
            self.count(|t| {
                t.first_frame_ms.push(stats.first_frame.as_secs_f64() * 1e3);
                t.frames += stats.frames;
                t.inputs += stats.inputs;
                t.pings += stats.pings;
                t.pongs += stats.pongs;
            });
            Some(session)
        };
        // The browser's session is logged off (the tunnel's ended when it closed); the
        // user logs out and comes back next time round.
        if let Some(session) = session {
            portal.logoff(&session).await.before_up()?;
        }
        portal.logout().await.before_up()?;
        Ok(())
    }

    /// Counts a session or tunnel that came up; the first time for every user marks the
    /// end of the ramp.
    fn up(&self, first: &mut bool, f: impl FnOnce(&mut Totals)) {
        let newly = std::mem::take(first);
        let at = self.started.elapsed();
        let users = self.users;
        self.count(|t| {
            f(t);
            if newly {
                t.up_users += 1;
                if t.up_users == users {
                    t.all_up_at = Some(at);
                }
            }
        });
    }
}
