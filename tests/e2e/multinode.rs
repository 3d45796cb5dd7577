//! Several nodes on one PostgreSQL behind HAProxy (docs/operations.md, "Multi-node"): two
//! `hamn broker` and two `hamn gateway` processes, the demo app host, and HAProxy with the
//! example configuration (docs/haproxy.cfg, moved to loopback ports); headless Chromium
//! logs in through HAProxy and keeps a session open (tests/browser/multinode.mjs).
//!
//! - Node events: the gateways poll the command channel only once an hour here, so an
//!   administrator's message sent through a broker reaches the viewer on a gateway of
//!   another process only by PostgreSQL LISTEN/NOTIFY.
//! - Failover: the gateway serving the session is killed with SIGKILL; the viewer launches
//!   again through HAProxy and lands on the same host session (same session id and host in
//!   the database) through the other gateway.
//! - Drain: the killed gateway is started again, the one now serving gets SIGTERM: the
//!   viewer sees close 4110, relaunches, and the session continues through the other one;
//!   the drained gateway exits 0.
//!
//! Run under `flock /tmp/hamn-xrdp.lock` (Chromium, fixed tools) like the other browser
//! tests.

use std::io::{BufRead, BufReader, Lines, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use crate::scale_out::{hamn, run_ok, wait_ready};
use crate::support::{ScratchDatabase, TempDir, curl, free_ports, hamn_bin, repo, terminate};

/// The browser script, driven line by line.
struct Browser {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Browser {
    fn start(url: &str) -> Self {
        let mut child = Command::new("node")
            .arg(repo().join("tests/browser/multinode.mjs"))
            .arg(url)
            .current_dir(repo().join("tests"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run node (./scripts/test installs it)");
        let stdin = child.stdin.take().expect("stdin");
        let lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        Self {
            child,
            stdin,
            lines,
        }
    }

    /// The next line the script prints; panics (with what else it printed) on `error`.
    fn line(&mut self) -> String {
        let line = match self.lines.next() {
            Some(Ok(line)) => line,
            _ => panic!("the browser script ended early"),
        };
        if line.starts_with("error") {
            let rest: Vec<String> = self.lines.by_ref().map_while(Result::ok).collect();
            panic!("browser: {line}\n{}", rest.join("\n"));
        }
        line
    }

    /// Sends `command`, returns the viewer's state the script reports.
    fn ask(&mut self, command: &str) -> serde_json::Value {
        writeln!(self.stdin, "{command}").expect("write to the browser script");
        let line = self.line();
        let json = line
            .strip_prefix("ok ")
            .unwrap_or_else(|| panic!("{command}: {line}"));
        serde_json::from_str(json).expect("state json")
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A child process killed on drop (the test's services).
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// docs/haproxy.cfg with its example addresses moved to loopback: the portal on `portal`,
/// the gateways' portal and SITHS ports, the admin API on `admin` in front of the brokers.
/// Health checks every 500 ms instead of 5 s, so the test does not wait for them, and
/// fewer connections.
fn haproxy_config(
    portal: u16,
    admin: u16,
    siths: u16,
    gateways: [u16; 2],
    brokers: [u16; 2],
) -> String {
    let example =
        std::fs::read_to_string(repo().join("docs/haproxy.cfg")).expect("docs/haproxy.cfg");
    let mut out = String::new();
    for line in example.lines() {
        let mut line = line
            .replace("bind :443", &format!("bind 127.0.0.1:{portal}"))
            .replace("bind :8445", &format!("bind 127.0.0.1:{siths}"))
            .replace("bind 10.0.1.1:8444", &format!("bind 127.0.0.1:{admin}"))
            .replace("10.0.0.11:8443", &format!("127.0.0.1:{}", gateways[0]))
            .replace("10.0.0.12:8443", &format!("127.0.0.1:{}", gateways[1]))
            .replace("10.0.0.21:8444", &format!("127.0.0.1:{}", brokers[0]))
            .replace("10.0.0.22:8444", &format!("127.0.0.1:{}", brokers[1]))
            .replace("inter 5s", "inter 500ms")
            // A test machine's file-descriptor limit is below what 20000 connections need.
            .replace("maxconn 20000", "maxconn 2000");
        // The SITHS listeners are off here; their backends are checked through the portal
        // port, as in the example.
        for (n, address) in ["10.0.0.11:8445", "10.0.0.12:8445"].iter().enumerate() {
            if line.contains(address) {
                line = line
                    .replace(address, &format!("127.0.0.1:{}", gateways[n]))
                    .replace("port 8443", &format!("port {}", gateways[n]));
            }
        }
        out.push_str(&line);
        out.push('\n');
    }
    assert!(
        !out.contains("10.0."),
        "an example address was not moved: {out}"
    );
    out
}

/// One line of `psql -qAtc` on `database`.
fn query(database: &ScratchDatabase, sql: &str) -> String {
    let output = Command::new("psql")
        .args([database.url().as_str(), "-qAtc", sql])
        .output()
        .expect("psql");
    assert!(
        output.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// The live sessions as `id host_id state`, one per line.
fn live_sessions(database: &ScratchDatabase) -> Vec<String> {
    query(
        database,
        "SELECT id || ' ' || host_id || ' ' || state FROM sessions WHERE state <> 'ended' ORDER BY id",
    )
    .lines()
    .map(str::to_owned)
    .collect()
}

/// The gateway node that last accepted a ticket for `session`.
fn serving_gateway(database: &ScratchDatabase, session: &str) -> String {
    let detail = query(
        database,
        &format!(
            "SELECT detail FROM audit_events WHERE action = 'ticket.consumed' \
             AND target_id = '{session}' ORDER BY at DESC, id DESC LIMIT 1"
        ),
    );
    detail
        .rsplit_once("gateway ")
        .map(|(_, node)| node.to_owned())
        .unwrap_or_else(|| panic!("no ticket.consumed for {session}: {detail:?}"))
}

/// Starts the demo app host (`hamn-demo-host`, built beside `hamn`) and waits until it
/// listens.
fn demo_host(data: &std::path::Path, port: u16) -> Running {
    let binary = std::path::Path::new(hamn_bin()).with_file_name("hamn-demo-host");
    assert!(
        binary.is_file(),
        "{} missing: cargo build --manifest-path demo-host/Cargo.toml",
        binary.display()
    );
    let mut child = Command::new(&binary)
        .args(["--listen", &format!("127.0.0.1:{port}"), "--cert"])
        .arg(data.join("certs/server.crt"))
        .arg("--key")
        .arg(data.join("certs/server.key"))
        .env("HAMN_DEMO_HOST_USERNAME", "demo")
        .env("HAMN_DEMO_HOST_PASSWORD", DEMO_PASSWORD)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the demo host");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    loop {
        match lines.next() {
            Some(Ok(line)) if line.contains("listening on") => break,
            Some(Ok(_)) => {}
            _ => panic!("the demo host exited before it listened"),
        }
    }
    // Keep reading so the host never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines.by_ref() {});
    Running(child)
}

/// demo.toml's lab password for the bundled demo host.
const DEMO_PASSWORD: &str = "Hamn-demo-2026";

#[test]
fn a_session_survives_its_gateway_through_haproxy() {
    let database = ScratchDatabase::create_named("_multinode");
    let data = TempDir::new("multinode");
    let dir = data.0.display().to_string();
    let config = repo().join("config/demo.toml").display().to_string();
    let [b1, b2, g1, g2, portal, admin, siths, host] = free_ports();
    let (brokers, gateways) = ([b1, b2], [g1, g2]);
    let public = format!("https://localhost:{portal}");
    let common = vec![
        ("HAMN_DATABASE__URL", database.url()),
        ("HAMN_GATEWAY__PUBLIC_URL", public.clone()),
        ("HAMN_GATEWAY__REDIRECT_LISTEN", String::new()),
        ("HAMN_GATEWAY__SITHS_LISTEN", String::new()),
        ("HAMN_DEMO_HOST__LISTEN", format!("127.0.0.1:{host}")),
        // Only LISTEN/NOTIFY brings a command to a session within the test's time.
        ("HAMN_GATEWAY__COMMAND_POLL", "3600".to_owned()),
        ("HAMN_GATEWAY__DRAIN_DEADLINE", "1".to_owned()),
        // Created below; every node opens the pools' host credentials with it.
        (
            "HAMN_BROKER__SECRETS_KEY_FILE",
            data.0.join("secrets_key").display().to_string(),
        ),
    ];
    let run = |verb: &str, extra: &[(&str, String)]| {
        let mut env = common.clone();
        env.extend_from_slice(extra);
        hamn(&[verb, "--config", &config, "--data-dir", &dir], &env)
    };
    run_ok(hamn(&["certs", "init", "--data-dir", &dir], &common));
    run_ok(run("migrate", &[]));
    // The keys every node shares, as an installation distributes them.
    hamn_broker::load_or_create_secrets_key(&data.0).expect("secrets key");
    hamn_broker::TicketKeys::load_or_create(&data.0).expect("ticket key");
    let _host = demo_host(&data.0, host);

    let ca = data.0.join("certs/ca.crt");
    let spawn = |service: &str, n: usize| {
        let name = format!(
            "{}{}",
            if service == "gateway" { "gw" } else { "broker" },
            n + 1
        );
        let mut command = run(
            service,
            &[
                ("HAMN_BROKER__LISTEN", format!("127.0.0.1:{}", brokers[n])),
                ("HAMN_GATEWAY__LISTEN", format!("127.0.0.1:{}", gateways[n])),
                ("HAMN_GATEWAY__NODE", name.clone()),
            ],
        );
        let log = std::fs::File::create(data.0.join(format!("{name}.log"))).expect("log");
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn service");
        let url = if service == "gateway" {
            format!("https://localhost:{}/readyz", gateways[n])
        } else {
            format!("https://127.0.0.1:{}/readyz", brokers[n])
        };
        wait_ready(&ca, &url, &mut child);
        Running(child)
    };
    // One broker after the other: the first seeds the demo tenant.
    let _brokers = [spawn("broker", 0), spawn("broker", 1)];
    let mut nodes = [Some(spawn("gateway", 0)), Some(spawn("gateway", 1))];

    let cfg = data.0.join("haproxy.cfg");
    std::fs::write(
        &cfg,
        haproxy_config(portal, admin, siths, gateways, brokers),
    )
    .expect("haproxy.cfg");
    let check = Command::new("haproxy")
        .arg("-c")
        .arg("-f")
        .arg(&cfg)
        .output()
        .expect("haproxy (./scripts/test installs it)");
    assert!(
        check.status.success(),
        "haproxy -c: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    let _haproxy = Running(
        Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(&cfg)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn haproxy"),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while curl(&ca, &[], &format!("{public}/readyz")).0 != 200 {
        assert!(
            Instant::now() < deadline,
            "HAProxy never passed /readyz through"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    let mut browser = Browser::start(&format!("{public}/"));
    assert_eq!(browser.line(), "connected");
    let sessions = live_sessions(&database);
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    let session = sessions[0].clone();
    let id = session.split(' ').next().expect("id").to_owned();

    // An administrator's message through the broker the test did not log in through: the
    // gateways poll once an hour, so only the notification can bring it.
    let certs = data.0.join("certs");
    let (cert, key) = (
        certs.join("api-operator.crt").display().to_string(),
        certs.join("api-operator.key").display().to_string(),
    );
    let (code, body) = curl(
        &ca,
        &[
            "--cert",
            &cert,
            "--key",
            &key,
            "-H",
            "content-type: application/json",
            "-d",
            r#"{"text":"Hej från en annan nod"}"#,
        ],
        &format!(
            "https://127.0.0.1:{}/api/v1/sessions/{id}/message",
            brokers[1]
        ),
    );
    assert!((200..300).contains(&code), "message: {code} {body}");
    let state = browser.ask("message 1");
    assert_eq!(state["messages"], 1, "{state}");

    // SIGKILL the gateway serving the session: no drain, its rows stay as they were.
    let first = serving_gateway(&database, &id);
    let killed = usize::from(first == "gw2");
    assert_eq!(first, format!("gw{}", killed + 1));
    if let Some(mut node) = nodes[killed].take() {
        let _ = node.0.kill();
        let _ = node.0.wait();
    }
    let state = browser.ask("relaunched 1");
    let other = format!("gw{}", 2 - killed);
    assert_eq!(serving_gateway(&database, &id), other, "{state}");
    let after = live_sessions(&database);
    assert_eq!(after.len(), 1, "{after:?}");
    assert!(
        after[0].starts_with(&format!(
            "{} ",
            session.rsplit_once(' ').map_or("", |(k, _)| k)
        )),
        "the same host session (id and host): before {session}, after {after:?}"
    );

    // The killed gateway comes back; the one serving now is stopped gracefully.
    nodes[killed] = Some(spawn("gateway", killed));
    // HAProxy checks every 500 ms and needs two good answers to send traffic there again.
    std::thread::sleep(Duration::from_secs(2));
    let drained = 1 - killed;
    let mut node = nodes[drained].take().expect("the serving gateway");
    let status = terminate(&mut node.0);
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(0),
        "drained gateway's exit"
    );
    let state = browser.ask("relaunched 2");
    let closes = state["closes"].as_str().unwrap_or_default();
    assert!(
        closes.split(' ').any(|c| c == "4110"),
        "no 4110 GatewayDraining: {state}"
    );
    assert_eq!(serving_gateway(&database, &id), first, "{state}");
    let last = live_sessions(&database);
    assert_eq!(last.len(), 1, "{last:?}");
    assert!(
        last[0].starts_with(&format!(
            "{} ",
            session.rsplit_once(' ').map_or("", |(k, _)| k)
        )),
        "the same host session after the drain: before {session}, after {last:?}"
    );
}
