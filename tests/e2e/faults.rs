//! Fault injection (issue 10 item 2): real `hamn` processes, real demo hosts, real
//! PostgreSQL, and one fault each — a websocket dropped 100 times, a host killed mid-session,
//! the gateway killed with SIGKILL, the broker (and the launching gateway) restarted while
//! users launch, PostgreSQL restarted under running sessions, a full disk under the print
//! service. Each test ends by printing `fault <name>: survived, lost=0, …`, the line
//! `scripts/reliability-report` reads. The browser side is a Rust websocket client that
//! speaks the wire protocol (docs/wire-protocol.md), as the gateway's session tests do.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use hamn_gateway::wire::{
    ClientHello, ClientMessage, Limits, MouseButton, ServerHello, ServerMessage, StatusCode,
    decode_server, encode_client,
};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

use crate::metrics::scrape;
use crate::support::{
    HamnUp, ScratchDatabase, TempDir, browser_script, curl, free_ports, hamn_bin, terminate,
};

type Ws = WebSocketStream<TlsStream<TcpStream>>;

/// How long any one step may take before the test gives up (a hang is a failure, not a
/// timing assert: nothing is measured against it).
const WAIT: Duration = Duration::from_secs(60);
const DEMO_PASSWORD: &str = "Hamn-demo-2026";

// ---------------------------------------------------------------------------------------
// The browser side: portal API by curl, the session websocket in Rust.
// ---------------------------------------------------------------------------------------

/// One user's portal web session (cookie jar + CSRF token) at one gateway.
struct Portal {
    ca: PathBuf,
    base: String,
    jar: PathBuf,
    csrf: String,
    _dir: TempDir,
}

impl Portal {
    /// Logs `username` in through the demo login.
    fn login(ca: &Path, gateway_port: u16, username: &str) -> Portal {
        let dir = TempDir::new("portal");
        let mut portal = Portal {
            ca: ca.to_owned(),
            base: format!("https://localhost:{gateway_port}"),
            jar: dir.0.join("jar"),
            csrf: String::new(),
            _dir: dir,
        };
        let (code, body) =
            portal.post("demo-login", &format!(r#"{{"username":"{username}"}}"#), 10);
        assert_eq!(code, 200, "demo login {username}: {body}");
        let answer: serde_json::Value = serde_json::from_str(&body).expect("login answer");
        portal.csrf = answer["csrf_token"]
            .as_str()
            .expect("csrf_token")
            .to_owned();
        portal
    }

    /// POST `/portal/api/{path}`; curl gives up after `max_secs` (status 0).
    fn post(&self, path: &str, body: &str, max_secs: u32) -> (u16, String) {
        let jar = self.jar.display().to_string();
        let origin = format!("Origin: {}", self.base);
        let csrf = format!("X-CSRF-Token: {}", self.csrf);
        let max = max_secs.to_string();
        let args = [
            "-c",
            &jar,
            "-b",
            &jar,
            "-H",
            &origin,
            "-H",
            &csrf,
            "-H",
            "content-type: application/json",
            "-H",
            "accept-language: sv-SE",
            "--max-time",
            &max,
            "-d",
            body,
        ];
        curl(&self.ca, &args, &format!("{}/portal/api/{path}", self.base))
    }

    /// The demo tenant's apps by environment kind: (PROD app, UTB app).
    fn apps(&self) -> (String, String) {
        let jar = self.jar.display().to_string();
        let (code, body) = curl(
            &self.ca,
            &["-b", &jar],
            &format!("{}/portal/api/apps", self.base),
        );
        assert_eq!(code, 200, "{body}");
        let apps: serde_json::Value = serde_json::from_str(&body).expect("apps");
        let app_of = |kind: &str| {
            apps["environments"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|env| env["kind"] == kind)
                .flat_map(|env| env["apps"].as_array().cloned().unwrap_or_default())
                .find_map(|app| app["id"].as_str().map(str::to_owned))
                .unwrap_or_else(|| panic!("a {kind} app in {apps}"))
        };
        (app_of("PROD"), app_of("UTB"))
    }

    /// `POST /portal/api/launch`: (status, answer as JSON or the text as a JSON string).
    fn launch(&self, app: &str, max_secs: u32) -> (u16, serde_json::Value) {
        let (code, body) = self.post("launch", &format!(r#"{{"app_id":"{app}"}}"#), max_secs);
        let value = serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body));
        (code, value)
    }

    /// A launch that must be granted: (ticket, session id).
    fn launch_ok(&self, app: &str) -> (String, String) {
        let (code, answer) = self.launch(app, 30);
        assert_eq!(code, 200, "launch {app}: {answer}");
        granted(&answer).unwrap_or_else(|| panic!("no ticket in {answer}"))
    }
}

/// The ticket and session id of a granted launch answer.
fn granted(answer: &serde_json::Value) -> Option<(String, String)> {
    let ticket = answer["viewer_url"]
        .as_str()?
        .split_once("#ticket=")?
        .1
        .split('&')
        .next()?
        .to_owned();
    let session = answer["session_id"].as_str()?.to_owned();
    Some((ticket, session))
}

/// A TLS connection to the gateway on `port` trusting the dev CA at `ca`.
async fn tls_connect(ca: &Path, port: u16) -> TlsStream<TcpStream> {
    let pem = std::fs::read(ca).expect("CA PEM");
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        roots.add(cert.expect("CA PEM")).expect("CA");
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let tcp = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect to the gateway");
    let name = rustls_pki_types::ServerName::try_from("localhost").expect("name");
    TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .expect("TLS handshake")
}

/// Opens the session websocket (with a ticket, or bare for a resume).
async fn open(ca: &Path, port: u16, ticket: Option<&str>) -> Ws {
    let url = match ticket {
        Some(t) => format!("wss://localhost:{port}/ws/session?ticket={t}"),
        None => format!("wss://localhost:{port}/ws/session"),
    };
    let tls = tls_connect(ca, port).await;
    tokio_tungstenite::client_async(url, tls)
        .await
        .map(|(ws, _)| ws)
        .expect("websocket upgrade")
}

fn hello(token: Option<Vec<u8>>) -> ClientMessage {
    ClientMessage::ClientHello(ClientHello {
        version: hamn_gateway::wire::PROTOCOL_VERSION,
        width: 1280,
        height: 800,
        scale_percent: 100,
        resume_token: token,
        keyboard_layout: "sv-SE".to_owned(),
    })
}

async fn send(ws: &mut Ws, message: &ClientMessage) {
    ws.send(Message::Binary(encode_client(message).into()))
        .await
        .expect("send");
}

/// The next protocol message, or the websocket close code (None: no close frame).
async fn next(ws: &mut Ws) -> Result<ServerMessage, Option<u16>> {
    loop {
        let Ok(message) = tokio::time::timeout(WAIT, ws.next()).await else {
            panic!("no message from the gateway in {WAIT:?}");
        };
        match message {
            Some(Ok(Message::Binary(bytes))) => {
                return Ok(decode_server(&bytes, &Limits::default()).expect("valid server message"));
            }
            Some(Ok(Message::Close(frame))) => return Err(frame.map(|f| u16::from(f.code))),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return Err(None),
        }
    }
}

/// A new session: the ticket's websocket and its ServerHello.
async fn connect(ca: &Path, port: u16, ticket: &str) -> (Ws, ServerHello) {
    let mut ws = open(ca, port, Some(ticket)).await;
    send(&mut ws, &hello(None)).await;
    match next(&mut ws).await {
        Ok(ServerMessage::ServerHello(h)) => (ws, h),
        other => panic!("expected ServerHello, got {other:?}"),
    }
}

/// Reads one whole frame (acking it): the share of the screen its tiles and copies covered,
/// in per cent. Status and cursor messages in between are fine.
async fn one_frame(ws: &mut Ws, width: u16, height: u16) -> u32 {
    let mut covered = Coverage::new(width, height);
    loop {
        match next(ws).await {
            Ok(ServerMessage::Tile(t)) => covered.mark(t.x, t.y, t.w, t.h),
            Ok(ServerMessage::CopyRect(c)) => covered.mark(c.dst_x, c.dst_y, c.w, c.h),
            Ok(ServerMessage::FrameEnd { frame_id }) => {
                send(ws, &ClientMessage::FrameAck { frame_id }).await;
                return covered.percent();
            }
            Ok(ServerMessage::Close { code, reason }) => {
                panic!("closed with {code:?} ({reason}) while frames were expected")
            }
            Ok(_) => {}
            Err(code) => panic!("socket closed ({code:?}) while frames were expected"),
        }
    }
}

/// Which pixels of the screen one frame painted.
struct Coverage {
    width: usize,
    height: usize,
    painted: Vec<bool>,
}

impl Coverage {
    fn new(width: u16, height: u16) -> Self {
        let (width, height) = (usize::from(width), usize::from(height));
        Coverage {
            width,
            height,
            painted: vec![false; width * height],
        }
    }

    fn mark(&mut self, x: u16, y: u16, w: u16, h: u16) {
        let (x, y) = (usize::from(x), usize::from(y));
        for row in y..(y + usize::from(h)).min(self.height) {
            for col in x..(x + usize::from(w)).min(self.width) {
                self.painted[row * self.width + col] = true;
            }
        }
    }

    fn percent(&self) -> u32 {
        let n = self.painted.iter().filter(|p| **p).count();
        u32::try_from(n * 100 / self.painted.len().max(1)).unwrap_or(100)
    }
}

/// Ping → Pong (acking frames in between): the websocket and the gateway's session loop
/// are alive.
async fn ping(ws: &mut Ws, stamp: u32) {
    send(ws, &ClientMessage::Ping { timestamp: stamp }).await;
    loop {
        match next(ws).await {
            Ok(ServerMessage::Pong { timestamp }) if timestamp == stamp => return,
            Ok(ServerMessage::FrameEnd { frame_id }) => {
                send(ws, &ClientMessage::FrameAck { frame_id }).await;
            }
            Ok(ServerMessage::Close { code, reason }) => {
                panic!("closed with {code:?} ({reason}) instead of a Pong")
            }
            Ok(_) => {}
            Err(code) => panic!("socket closed ({code:?}) instead of a Pong"),
        }
    }
}

/// Clicks two rows of the demo app's client list (the selection moves, so the host
/// repaints), then reads one frame: frames flow.
async fn frames_flow(ws: &mut Ws, row: u16) -> u32 {
    for r in [row % 3, (row + 1) % 3] {
        let (x, y) = (200, 124 + 32 * r);
        send(ws, &ClientMessage::MouseMove { x, y }).await;
        for down in [true, false] {
            let click = ClientMessage::MouseButton {
                button: MouseButton::Left,
                down,
                x,
                y,
            };
            send(ws, &click).await;
        }
    }
    one_frame(ws, 1280, 800).await
}

/// Reads until the close: (close code from the Close message or frame, reason text).
async fn close_of(ws: &mut Ws) -> (Option<u16>, String) {
    let mut reason_text = String::new();
    let mut message_code = None;
    loop {
        match next(ws).await {
            Ok(ServerMessage::Close { code, reason }) => {
                message_code = Some(code.as_u16());
                reason_text = reason;
            }
            Ok(ServerMessage::FrameEnd { frame_id }) => {
                send(ws, &ClientMessage::FrameAck { frame_id }).await;
            }
            Ok(_) => {}
            Err(code) => return (message_code.or(code), reason_text),
        }
    }
}

fn uuid_bytes(id: &str) -> [u8; 16] {
    let hex: String = id.chars().filter(|c| *c != '-').collect();
    let mut out = [0u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2).unwrap_or("zz"), 16)
            .unwrap_or_else(|_| panic!("not a uuid: {id}"));
    }
    out
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn kill(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status();
}

/// Waits until `port` on loopback takes connections (`true`) or refuses them (`false`).
fn wait_port(port: u16, open: bool) {
    let deadline = Instant::now() + WAIT;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() != open {
        assert!(Instant::now() < deadline, "port {port} never became {open}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

// ---------------------------------------------------------------------------------------
// Processes: a demo host of its own, and broker + gateway as separate processes.
// ---------------------------------------------------------------------------------------

/// A `hamn-demo-host` process (built beside `hamn`), killed on drop.
struct DemoHost {
    child: Child,
}

impl DemoHost {
    fn start(certs: &Path, port: u16) -> DemoHost {
        let binary = Path::new(hamn_bin()).with_file_name("hamn-demo-host");
        let child = Command::new(&binary)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--cert")
            .arg(certs.join("server.crt"))
            .arg("--key")
            .arg(certs.join("server.key"))
            .env("HAMN_DEMO_HOST_USERNAME", "demo")
            .env("HAMN_DEMO_HOST_PASSWORD", DEMO_PASSWORD)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "{} ({e}): cargo build --manifest-path demo-host/Cargo.toml",
                    binary.display()
                )
            });
        wait_port(port, true);
        DemoHost { child }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for DemoHost {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `hamn broker` and `hamn gateway` as separate processes on one PostgreSQL database, with
/// a demo host of their own (the broker seeds the demo tenant pointing at it).
struct Split {
    data: TempDir,
    db_url: String,
    broker_port: u16,
    gateway_port: u16,
    host_port: u16,
    host: Option<DemoHost>,
    broker: Option<Child>,
    gateway: Option<Child>,
    starts: usize,
}

impl Split {
    fn start(db_url: String) -> Split {
        let data = TempDir::new("faults");
        let [broker_port, gateway_port, host_port] = free_ports();
        let mut split = Split {
            host_port,
            host: None,
            data,
            db_url,
            broker_port,
            gateway_port,
            broker: None,
            gateway: None,
            starts: 0,
        };
        let dir = split.dir();
        split.run_ok(&["certs", "init", "--data-dir", &dir]);
        hamn_broker::TicketKeys::load_or_create(&split.data.0).expect("ticket key");
        hamn_broker::load_or_create_secrets_key(&split.data.0).expect("secrets key");
        split.run_ok(&["migrate", "--data-dir", &dir]);
        split.host = Some(DemoHost::start(&split.certs(), host_port));
        split.start_broker();
        split.start_gateway();
        split
    }

    fn dir(&self) -> String {
        self.data.0.display().to_string()
    }

    fn certs(&self) -> PathBuf {
        self.data.0.join("certs")
    }

    fn ca(&self) -> PathBuf {
        self.certs().join("ca.crt")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(hamn_bin());
        command
            .args(args)
            .env_remove("RUST_LOG")
            .env("HAMN_DATABASE__URL", &self.db_url)
            .env("HAMN_METRICS__LISTEN", "")
            .env(
                "HAMN_BROKER__SECRETS_KEY_FILE",
                self.data.0.join("secrets_key"),
            )
            .env(
                "HAMN_BROKER__LISTEN",
                format!("127.0.0.1:{}", self.broker_port),
            )
            .env(
                "HAMN_GATEWAY__LISTEN",
                format!("127.0.0.1:{}", self.gateway_port),
            )
            .env(
                "HAMN_GATEWAY__PUBLIC_URL",
                format!("https://localhost:{}", self.gateway_port),
            )
            .env("HAMN_GATEWAY__REDIRECT_LISTEN", "")
            .env("HAMN_GATEWAY__SITHS_LISTEN", "")
            .env(
                "HAMN_DEMO_HOST__LISTEN",
                format!("127.0.0.1:{}", self.host_port),
            );
        command
    }

    fn run_ok(&self, args: &[&str]) {
        let output = self.command(args).output().expect("run hamn");
        assert!(
            output.status.success(),
            "hamn {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Starts `service`, its log in the data dir (one file per start), and waits until
    /// `/readyz` answers 200.
    fn spawn(&mut self, service: &str) -> Child {
        self.starts += 1;
        let log = self.data.0.join(format!("{service}-{}.log", self.starts));
        let log = std::fs::File::create(log).expect("log file");
        let dir = self.dir();
        let mut child = self
            .command(&[service, "--data-dir", &dir])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn hamn");
        let url = match service {
            "broker" => format!("https://127.0.0.1:{}/readyz", self.broker_port),
            _ => format!("https://localhost:{}/readyz", self.gateway_port),
        };
        let deadline = Instant::now() + WAIT;
        while curl(&self.ca(), &[], &url).0 != 200 {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("hamn {service} exited with {status}:\n{}", self.logs());
            }
            assert!(Instant::now() < deadline, "{url} never became ready");
            std::thread::sleep(Duration::from_millis(200));
        }
        child
    }

    fn start_broker(&mut self) {
        let child = self.spawn("broker");
        self.broker = Some(child);
    }

    fn start_gateway(&mut self) {
        let child = self.spawn("gateway");
        self.gateway = Some(child);
    }

    /// Signals the broker or the gateway and waits until it is gone; SIGTERM must end it
    /// with 0.
    fn stop(&mut self, service: &str, signal: &str) {
        let slot = match service {
            "broker" => &mut self.broker,
            _ => &mut self.gateway,
        };
        let Some(mut child) = slot.take() else {
            return;
        };
        if signal == "TERM" {
            let status = terminate(&mut child);
            assert_eq!(
                status.and_then(|s| s.code()),
                Some(0),
                "{service} on SIGTERM"
            );
        } else {
            kill(child.id(), signal);
            let _ = child.wait();
        }
    }

    fn logs(&self) -> String {
        let mut all = String::new();
        if let Ok(entries) = std::fs::read_dir(&self.data.0) {
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "log") {
                    all.push_str(&format!("== {}\n", path.display()));
                    all.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
                }
            }
        }
        all
    }

    /// One SQL query's rows (`psql -At`, `|` between columns).
    fn sql(&self, query: &str) -> Vec<String> {
        psql(&self.db_url, query)
    }
}

impl Drop for Split {
    fn drop(&mut self) {
        for child in [self.gateway.take(), self.broker.take()]
            .into_iter()
            .flatten()
        {
            let mut child = child;
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn psql(url: &str, query: &str) -> Vec<String> {
    let output = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-qAtc", query])
        .output()
        .expect("psql");
    assert!(
        output.status.success(),
        "psql {query}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Seat counters agree with the rows: every host's `live_sessions`/`logons` and every
/// tenant's `tenant_usage.sessions` equal what COUNT(*) over `sessions` says.
fn seats_consistent(split: &Split) {
    let hosts = split.sql(
        "SELECT h.name, h.live_sessions, h.logons, \
         (SELECT COUNT(*) FROM sessions s WHERE s.host_id = h.id AND s.state <> 'ended'), \
         (SELECT COUNT(*) FROM sessions s WHERE s.host_id = h.id AND s.state = 'launching') \
         FROM hosts h",
    );
    for row in &hosts {
        let f: Vec<&str> = row.split('|').collect();
        assert_eq!(f[1], f[3], "host live_sessions vs rows: {row}");
        assert_eq!(f[2], f[4], "host logons vs rows: {row}");
    }
    let tenants = split.sql(
        "SELECT u.tenant_id, u.sessions, \
         (SELECT COUNT(*) FROM sessions s WHERE s.tenant_id = u.tenant_id AND s.state <> 'ended') \
         FROM tenant_usage u",
    );
    for row in &tenants {
        let f: Vec<&str> = row.split('|').collect();
        assert_eq!(f[1], f[2], "tenant_usage vs rows: {row}");
    }
}

// ---------------------------------------------------------------------------------------
// The faults.
// ---------------------------------------------------------------------------------------

/// The browser's websocket drops (TCP gone, no close) 100 times in a row; every time the
/// same session resumes with the newest token, Status Resumed, and a full frame that covers
/// the whole screen. Every tenth time the test first waits until the row says
/// `disconnected`, so both the noticed and the not-yet-noticed drop are taken.
#[test]
fn fault_websocket_drops_100_times_and_the_same_session_resumes() {
    let up = HamnUp::start(&[]);
    let ca = up.certs().join("ca.crt");
    let portal = Portal::login(&ca, up.ports.gateway, "demo");
    let (prod, _) = portal.apps();
    let (ticket, session) = portal.launch_ok(&prod);
    let rt = runtime();
    let (resumes, full_frames, ws) = rt.block_on(async {
        let (mut ws, first) = connect(&ca, up.ports.gateway, &ticket).await;
        assert_eq!(first.session_id, uuid_bytes(&session));
        one_frame(&mut ws, first.width, first.height).await;
        let mut token = first.resume_token;
        let (mut resumes, mut full_frames) = (0u32, 0u32);
        for round in 0..100u32 {
            drop(ws);
            if round.is_multiple_of(10) {
                wait_session_state(&up, &session, "disconnected");
            }
            ws = open(&ca, up.ports.gateway, None).await;
            send(&mut ws, &hello(Some(token.clone()))).await;
            let again = match next(&mut ws).await {
                Ok(ServerMessage::ServerHello(h)) => h,
                other => panic!("round {round}: expected ServerHello, got {other:?}"),
            };
            assert_eq!(again.session_id, uuid_bytes(&session), "round {round}");
            assert_ne!(again.resume_token, token, "tokens are single use");
            token = again.resume_token.clone();
            loop {
                match next(&mut ws).await {
                    Ok(ServerMessage::Status {
                        code: StatusCode::Resumed,
                        ..
                    }) => break,
                    Ok(ServerMessage::Status { .. }) => {}
                    other => panic!("round {round}: expected Status Resumed, got {other:?}"),
                }
            }
            resumes += 1;
            if one_frame(&mut ws, again.width, again.height).await == 100 {
                full_frames += 1;
            }
        }
        ping(&mut ws, 100).await;
        (resumes, full_frames, ws)
    });
    assert_eq!(resumes, 100);
    assert_eq!(full_frames, 100, "every resume repaints the whole screen");
    // While the last websocket is open: the row is active, and it is the only live one.
    wait_session_state(&up, &session, "active");
    let (_, all) = up.operator("GET", "/sessions?state=active", None);
    let live = all["items"].as_array().map_or(0, Vec::len);
    assert_eq!(live, 1, "one session, resumed, never a second: {all}");
    drop(ws);
    println!(
        "fault websocket-drop-x100: survived, lost=0, resumes={resumes}, full_frames={full_frames}, session={session}"
    );
}

/// A host dies mid-session: the user on it is told with a 42xx close code and its text,
/// the session row leaves `active`, and another user's session on another host streams on.
#[test]
fn fault_a_host_dies_mid_session_and_only_its_users_are_told() {
    let up = HamnUp::start(&[]);
    let ca = up.certs().join("ca.crt");
    // A second demo host in the demo pool; the pool's credentials fit it too.
    let [port] = free_ports();
    let mut doomed = DemoHost::start(&up.certs(), port);
    let pools = up.operator_ok("GET", "/pools", None);
    let pool = pools["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == hamn_broker::seed::DEMO_POOL_NAME)
        .and_then(|p| p["id"].as_str())
        .unwrap_or_else(|| panic!("the demo pool in {pools}"))
        .to_owned();
    let hosts = up.operator_ok("GET", &format!("/pools/{pool}/hosts"), None);
    let demo_host = hosts["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|h| h["port"] == up.ports.demo_host)
        .cloned()
        .unwrap_or_else(|| panic!("the demo host in {hosts}"));
    let demo_id = demo_host["id"].as_str().expect("host id").to_owned();
    let capacity = demo_host["capacity"].clone();
    // The first session goes to the doomed host (the demo host has no seat for a moment),
    // the second to the demo host (the doomed one is full).
    up.operator_ok(
        "PATCH",
        &format!("/hosts/{demo_id}"),
        Some(serde_json::json!({"capacity": 0})),
    );
    let doomed_id = up.operator_create(
        &format!("/pools/{pool}/hosts"),
        serde_json::json!({"name": "doomed", "address": "127.0.0.1", "port": port, "capacity": 1}),
    );
    let portal = Portal::login(&ca, up.ports.gateway, "demo");
    let (prod, utb) = portal.apps();
    let (ticket1, session1) = portal.launch_ok(&prod);
    up.operator_ok(
        "PATCH",
        &format!("/hosts/{demo_id}"),
        Some(serde_json::json!({"capacity": capacity})),
    );
    let (ticket2, session2) = portal.launch_ok(&utb);
    let row1 = up.operator_ok("GET", &format!("/sessions/{session1}"), None);
    let row2 = up.operator_ok("GET", &format!("/sessions/{session2}"), None);
    assert_eq!(row1["host_id"], doomed_id.as_str(), "{row1}");
    assert_eq!(row2["host_id"], demo_id.as_str(), "{row2}");

    let rt = runtime();
    // The viewer shows its own text for the code (docs/wire-protocol.md); the gateway's
    // description of the host's failure stays in its log.
    let ((code, reason), ws2) = rt.block_on(async {
        let (mut ws1, h1) = connect(&ca, up.ports.gateway, &ticket1).await;
        let (mut ws2, h2) = connect(&ca, up.ports.gateway, &ticket2).await;
        one_frame(&mut ws1, h1.width, h1.height).await;
        one_frame(&mut ws2, h2.width, h2.height).await;
        doomed.kill();
        let told = close_of(&mut ws1).await;
        // The other user's session goes on: frames and pongs.
        ping(&mut ws2, 42).await;
        frames_flow(&mut ws2, 0).await;
        frames_flow(&mut ws2, 1).await;
        ping(&mut ws2, 43).await;
        (told, ws2)
    });
    let code = code.unwrap_or_default();
    assert!(
        (4200..4300).contains(&code),
        "a host failure is a 42xx close (docs/wire-protocol.md), got {code}"
    );
    assert_eq!(
        reason, "",
        "a host failure's close carries no internal text"
    );
    wait_session_state_not(&up, &session1, "active");
    let row1 = up.operator_ok("GET", &format!("/sessions/{session1}"), None);
    let row2 = up.operator_ok("GET", &format!("/sessions/{session2}"), None);
    assert_eq!(row2["state"], "active", "the other host's session: {row2}");
    drop(ws2);
    println!(
        "fault host-dies: survived, lost=0, close={code}, dead_session_state={}, other_session_state={}",
        row1["state"].as_str().unwrap_or("?"),
        row2["state"].as_str().unwrap_or("?")
    );
}

/// `hamn gateway` is killed with SIGKILL under a live session and started again; the user
/// launches the same app again through the portal (the viewer's relaunch, driven here) and
/// lands on the same host session, which streams again.
#[test]
fn fault_the_gateway_is_killed_and_the_user_lands_on_the_same_session() {
    let scratch = ScratchDatabase::create_named("_faults_gw");
    let mut split = Split::start(scratch.url());
    let ca = split.ca();
    let portal = Portal::login(&ca, split.gateway_port, "demo");
    let (prod, _) = portal.apps();
    let (ticket, session) = portal.launch_ok(&prod);
    let rt = runtime();
    let first = rt.block_on(async {
        let (mut ws, hello) = connect(&ca, split.gateway_port, &ticket).await;
        one_frame(&mut ws, hello.width, hello.height).await;
        ws
    });
    split.stop("gateway", "KILL");
    let (code, _) = rt.block_on(async {
        let mut ws = first;
        close_of(&mut ws).await
    });
    assert_eq!(code, None, "a killed gateway sends no close");
    split.start_gateway();
    let (ticket, again) = portal.launch_ok(&prod);
    assert_eq!(again, session, "the relaunch roams to the same session");
    let coverage = rt.block_on(async {
        let (mut ws, hello) = connect(&ca, split.gateway_port, &ticket).await;
        assert_eq!(hello.session_id, uuid_bytes(&session));
        let coverage = one_frame(&mut ws, hello.width, hello.height).await;
        ping(&mut ws, 7).await;
        coverage
    });
    let rows = split.sql("SELECT COUNT(*) FROM sessions WHERE state <> 'ended'");
    assert_eq!(rows, ["1"], "one live session, not two");
    seats_consistent(&split);
    println!(
        "fault gateway-killed: survived, lost=0, relaunches=1, same_session=true, frame_coverage={coverage}%"
    );
}

/// The broker restarts (SIGTERM, then SIGKILL) and the gateway that runs the portal's
/// launches is killed while three users launch two apps in a stream: every launch either
/// got a ticket whose session row exists, or a clear error; no user+app ever has two live
/// rows; the seat counters equal the rows afterwards.
#[test]
fn fault_broker_restarts_during_launches_lose_and_double_nothing() {
    let scratch = ScratchDatabase::create_named("_faults_launch");
    let mut split = Split::start(scratch.url());
    let ca = split.ca();
    let users = ["demo", "admin", "drift"];
    let portals: Vec<Portal> = users
        .iter()
        .map(|u| Portal::login(&ca, split.gateway_port, u))
        .collect();
    let (prod, utb) = portals[0].apps();
    let done = AtomicBool::new(false);
    let attempts = AtomicUsize::new(0);
    let wait_attempts = |n: usize| {
        let deadline = Instant::now() + WAIT;
        while attempts.load(Ordering::SeqCst) < n {
            assert!(Instant::now() < deadline, "launches stalled");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    // (user, app, status, answer)
    let results: Vec<(String, String, u16, serde_json::Value)> = std::thread::scope(|scope| {
        let workers: Vec<_> = portals
            .iter()
            .zip(users)
            .map(|(portal, user)| {
                let (prod, utb, done, attempts) = (&prod, &utb, &done, &attempts);
                scope.spawn(move || {
                    let mut out = Vec::new();
                    let mut n = 0usize;
                    while !done.load(Ordering::SeqCst) {
                        let app = if n.is_multiple_of(2) { prod } else { utb };
                        let (code, answer) = portal.launch(app, 60);
                        if code == 0 {
                            // The gateway is down: as a user would, wait a moment.
                            std::thread::sleep(Duration::from_millis(200));
                        }
                        out.push((user.to_owned(), app.clone(), code, answer));
                        attempts.fetch_add(1, Ordering::SeqCst);
                        n += 1;
                    }
                    out
                })
            })
            .collect();
        wait_attempts(15);
        split.stop("broker", "TERM");
        wait_attempts(30);
        split.start_broker();
        wait_attempts(45);
        split.stop("broker", "KILL");
        wait_attempts(60);
        split.start_broker();
        wait_attempts(75);
        split.stop("gateway", "KILL");
        std::thread::sleep(Duration::from_millis(500));
        split.start_gateway();
        let now = attempts.load(Ordering::SeqCst);
        wait_attempts(now + 15);
        split.stop("gateway", "TERM");
        split.start_gateway();
        let now = attempts.load(Ordering::SeqCst);
        wait_attempts(now + 15);
        done.store(true, Ordering::SeqCst);
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("launch worker"))
            .collect()
    });

    let mut granted_ids = std::collections::BTreeSet::new();
    let (mut ok, mut refused, mut transport) = (0usize, 0usize, 0usize);
    for (user, app, code, answer) in &results {
        match code {
            200 => {
                let (_, session) =
                    granted(answer).unwrap_or_else(|| panic!("200 without a ticket: {answer}"));
                granted_ids.insert((user.clone(), app.clone(), session));
                ok += 1;
            }
            // No HTTP answer: the gateway was down or died mid-request; curl says so.
            0 => transport += 1,
            _ => {
                let detail = answer["detail"].as_str().unwrap_or_default();
                assert!(
                    !detail.is_empty(),
                    "a refusal must say why: {code} {answer}"
                );
                refused += 1;
            }
        }
    }
    assert!(ok > 0, "no launch got through: {results:?}");
    // Every ticket handed out names a session row of that user and app.
    for (user, app, session) in &granted_ids {
        let rows = split.sql(&format!(
            "SELECT u.name_id, s.app_id FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id = '{session}'"
        ));
        assert_eq!(
            rows,
            [format!("{user}|{app}")],
            "the granted session {session} of {user}"
        );
    }
    // Never two live rows for one user and app.
    let doubled = split.sql(
        "SELECT user_id, app_id, COUNT(*) FROM sessions WHERE state <> 'ended' \
         GROUP BY user_id, app_id HAVING COUNT(*) > 1",
    );
    assert!(doubled.is_empty(), "doubled sessions: {doubled:?}");
    let distinct = granted_ids.len();
    let rows = split.sql("SELECT COUNT(*) FROM sessions");
    seats_consistent(&split);
    println!(
        "fault broker-restart-during-launches: survived, lost=0, doubled=0, launches={}, granted={ok}, refused={refused}, no_answer={transport}, sessions={distinct}, rows={}",
        results.len(),
        rows.first().map_or("?", String::as_str)
    );
}

/// A PostgreSQL cluster of the test's own (initdb + pg_ctl on a free port), stopped and
/// removed on drop. Restarting it never touches the machine's shared server.
struct OwnPostgres {
    bin: PathBuf,
    dir: TempDir,
    port: u16,
}

impl OwnPostgres {
    fn start() -> OwnPostgres {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL (./scripts/test installs it)")
            .flatten()
            .map(|e| e.path().join("bin"))
            .filter(|p| p.join("pg_ctl").is_file())
            .max()
            .expect("a PostgreSQL bin dir");
        let dir = TempDir::new("pg");
        let [port] = free_ports();
        let _ = Command::new("chown")
            .args(["postgres"])
            .arg(&dir.0)
            .status();
        let pg = OwnPostgres { bin, dir, port };
        pg.as_postgres(
            "initdb",
            &["-A", "trust", "-U", "postgres", "-D", &pg.data()],
        );
        pg.ctl("start");
        pg.as_postgres(
            "createdb",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-U",
                "postgres",
                "hamn",
            ],
        );
        pg
    }

    fn data(&self) -> String {
        self.dir.0.join("data").display().to_string()
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/hamn", self.port)
    }

    fn as_postgres(&self, tool: &str, args: &[&str]) {
        let output = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join(tool))
            .args(args)
            .output()
            .expect("runuser");
        assert!(
            output.status.success(),
            "{tool} {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn ctl(&self, action: &str) {
        let data = self.data();
        let log = self.dir.0.join("log").display().to_string();
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.dir.0.display()
        );
        let mut args = vec!["-D", data.as_str(), "-w", "-l", log.as_str()];
        if action == "stop" {
            args.extend(["-m", "fast"]);
        } else {
            args.extend(["-o", options.as_str()]);
        }
        args.push(action);
        self.as_postgres("pg_ctl", &args);
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let data = self.data();
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .args(["-D", &data, "-m", "immediate", "stop"])
            .output();
    }
}

/// PostgreSQL stops under a running session and comes back: the websocket stays up and
/// frames flow throughout, a launch during the outage fails with a clear message, and
/// launches succeed again once the database is back.
#[test]
fn fault_postgres_restarts_under_running_sessions() {
    let pg = OwnPostgres::start();
    let split = Split::start(pg.url());
    let ca = split.ca();
    let portal = Portal::login(&ca, split.gateway_port, "demo");
    let (prod, utb) = portal.apps();
    let (ticket, session) = portal.launch_ok(&prod);
    let rt = runtime();
    let mut ws = rt.block_on(async {
        let (mut ws, hello) = connect(&ca, split.gateway_port, &ticket).await;
        one_frame(&mut ws, hello.width, hello.height).await;
        ws
    });

    pg.ctl("stop");
    let mut frames_in_outage = 0u32;
    rt.block_on(async {
        for (i, row) in [0u16, 1, 2, 0, 1].into_iter().enumerate() {
            frames_flow(&mut ws, row).await;
            ping(&mut ws, u32::try_from(i).unwrap_or(0)).await;
            frames_in_outage += 1;
        }
    });
    let (code, answer) = portal.launch(&utb, 90);
    assert_ne!(code, 200, "a launch without a database: {answer}");
    assert!(
        code == 0 || answer["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "the outage refusal says why: {code} {answer}"
    );
    let outage_refusal = code;
    rt.block_on(async {
        frames_flow(&mut ws, 2).await;
    });

    pg.ctl("start");
    let deadline = Instant::now() + WAIT;
    let (ticket2, _session2) = loop {
        let (code, answer) = portal.launch(&utb, 30);
        if code == 200 {
            break granted(&answer).expect("a ticket");
        }
        assert!(
            Instant::now() < deadline,
            "launches never recovered: {code} {answer}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    rt.block_on(async {
        let (mut ws2, hello) = connect(&ca, split.gateway_port, &ticket2).await;
        one_frame(&mut ws2, hello.width, hello.height).await;
        frames_flow(&mut ws, 0).await;
        ping(&mut ws, 99).await;
    });
    let state = split.sql(&format!(
        "SELECT state FROM sessions WHERE id = '{session}'"
    ));
    assert_eq!(state, ["active"], "the running session's row");
    println!(
        "fault postgres-restart: survived, lost=0, frames_during_outage={frames_in_outage}, outage_launch_status={outage_refusal}, launches_recovered=true"
    );
}

/// The print service's data dir is a tiny tmpfs, filled up: the demo app's print is
/// refused with the print service's I/O reason (the viewer's notice says so, once), no
/// spool or PDF file is left behind, and the session goes on (print.mjs checks the viewer).
#[test]
fn fault_disk_full_refuses_the_print_job_cleanly() {
    let mount = TempDir::new("print-full");
    let status = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&mount.0)
        .status()
        .expect("mount (the tests run as root)");
    assert!(status.success(), "mount a tmpfs at {}", mount.0.display());
    let _unmount = Unmount(mount.0.clone());
    // Fill it: the demo app's PDF (about 2 KB) has nowhere to go.
    let filler = mount.0.join("filler");
    let _ = Command::new("dd")
        .args(["if=/dev/zero", "bs=4k"])
        .arg(format!("of={}", filler.display()))
        .output();
    let up = HamnUp::start(&[("HAMN_PRINT__DATA_DIR", mount.0.display().to_string())]);
    let scratch = TempDir::new("print-full-out");
    let pdf = scratch.0.join("never.pdf");
    let url = format!("https://localhost:{}/", up.ports.gateway);
    let stdout = browser_script(
        "a print on a full disk",
        "print.mjs",
        &[
            std::ffi::OsStr::new(&url),
            pdf.as_os_str(),
            "".as_ref(),
            "refused".as_ref(),
            // ENOSPC while spooling: the print service's I/O refusal.
            "io".as_ref(),
        ],
        Some(&up),
    );
    assert!(!pdf.exists(), "no PDF for a refused job");
    let result: serde_json::Value = stdout
        .lines()
        .find_map(|l| l.strip_prefix("result "))
        .and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_else(|| panic!("a result line in {stdout}"));
    let reason = result["last"]["reason"].as_str().unwrap_or("?").to_owned();
    // Nothing but the filler and directories is left on the full disk.
    let mut leftovers = Vec::new();
    let mut stack = vec![mount.0.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path != filler {
                leftovers.push(path);
            }
        }
    }
    assert!(leftovers.is_empty(), "partial files left: {leftovers:?}");
    // The job was counted once, as refused.
    let refused = scrape(&up.certs().join("ca.crt"), up.ports.metrics)
        .sum("hamn_print_jobs_total", &[("outcome", "refused")]);
    assert_eq!(refused, 1.0, "one refused job");
    println!(
        "fault print-disk-full: survived, lost=0, refused_reason={reason}, partial_files=0, refused_jobs={refused}"
    );
}

/// Unmounts the tmpfs on drop (also when the test fails).
struct Unmount(PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn wait_session_state(up: &HamnUp, session: &str, state: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        let row = up.operator_ok("GET", &format!("/sessions/{session}"), None);
        if row["state"] == state {
            return;
        }
        assert!(Instant::now() < deadline, "never {state}: {row}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn wait_session_state_not(up: &HamnUp, session: &str, state: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        let row = up.operator_ok("GET", &format!("/sessions/{session}"), None);
        if row["state"] != state {
            return;
        }
        assert!(Instant::now() < deadline, "still {state}: {row}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
