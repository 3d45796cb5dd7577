//! Native RDP clients through the gateway (`hamn_gateway::native`), with real peers:
//! Debian's xfreerdp 2.11 under Xvfb (`tests/tools/rdp-screenshot.sh`) as an RD Gateway
//! client (`/g: /gt:http /gat:<reference>`) to the demo host, xrdp and freerdp-shadow with
//! NLA, each proven by a screenshot that equals what xfreerdp shows when it connects to the
//! host directly; its refusals (wrong, reused, other host, a host that does not answer) read
//! from xfreerdp's own log and the audit log. FreeRDP 3's websocket transport (not
//! installable here) is exercised by a Rust websocket client with the bearer header that
//! gets the demo host's real X.224 Connection Confirm back. The legacy HTTP transport and
//! RPC over HTTP get their plain-text answers.
//!
//! Run the xfreerdp tests one process at a time: `flock /tmp/hamn-xrdp.lock cargo test …`.

use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use hamn_broker::health::probe;
use hamn_broker::model::{AuditFilter, AuditOutcome, PageRequest, SessionState};
use hamn_broker::repo;
use hamn_gateway::rdg::{self, codec::client};
use hamn_gateway::session::SessionConfig;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use uuid::Uuid;

use crate::rdp::peers::{self, DEMO_PASSWORD, DEMO_USER, DemoHost};
use crate::session::{Gateway, HostSpec};

/// A well-formed reference no broker issued.
const UNKNOWN_REFERENCE: &str = "AAAAAAAAAAAAAAAAAAAAAAAA";

async fn demo_gateway() -> Gateway {
    Gateway::start_with(SessionConfig::default()).await
}

/// Audit events with `action`, newest first.
async fn audit_events(gateway: &Gateway, action: &str) -> Vec<hamn_broker::model::AuditEvent> {
    let mut conn = gateway.database.pool().acquire().await.expect("conn");
    let filter = AuditFilter {
        action: Some(action.to_owned()),
        ..Default::default()
    };
    repo::audit::list(
        &mut conn,
        &filter,
        PageRequest {
            limit: 100,
            cursor: None,
        },
    )
    .await
    .expect("audit")
    .items
}

/// One raw HTTP/1.1 request over TLS; the status and body of the answer.
async fn raw_request(gateway: &Gateway, head: &str) -> (u16, String) {
    let mut tls = gateway.tls_stream().await;
    tls.write_all(head.as_bytes()).await.expect("send");
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_legacy_http_transport_and_rpc_over_http_are_refused_in_plain_text() {
    let gateway = demo_gateway().await;
    // FreeRDP's two-connection HTTP transport (no websocket upgrade).
    let (status, body) = raw_request(
        &gateway,
        "RDG_OUT_DATA /remoteDesktopGateway/ HTTP/1.1\r\nHost: localhost\r\n\
         Connection: close\r\nRDG-Connection-Id: {00000000-0000-4000-8000-000000000000}\r\n\
         RDG-Auth-Scheme: PAA\r\nContent-Length: 0\r\n\r\n",
    )
    .await;
    assert_eq!(status, 426, "{body}");
    assert!(body.contains("only the websocket transport"), "{body}");
    let (status, body) = raw_request(
        &gateway,
        "RDG_IN_DATA /remoteDesktopGateway/ HTTP/1.1\r\nHost: localhost\r\n\
         Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    )
    .await;
    assert_eq!(status, 426, "{body}");
    // RPC over HTTP, where its clients look for it and on the gateway path.
    for path in ["/rpc/rpcproxy.dll?localhost:3388", "/remoteDesktopGateway/"] {
        let (status, body) = raw_request(
            &gateway,
            &format!(
                "RPC_IN_DATA {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
                 Content-Length: 0\r\n\r\n"
            ),
        )
        .await;
        assert_eq!(status, 501, "{path}: {body}");
        assert!(body.contains("does not support RPC over HTTP"), "{body}");
    }
    // A browser's GET is not a gateway request.
    let (status, _) = raw_request(
        &gateway,
        "GET /remoteDesktopGateway/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, 400);
}

type ClientWs =
    tokio_tungstenite::WebSocketStream<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>;

/// FreeRDP 3's websocket transport: GET `/wst/` with `Authorization: Bearer`.
async fn open_wst(
    gateway: &Gateway,
    bearer: Option<&str>,
) -> Result<ClientWs, tokio_tungstenite::tungstenite::Error> {
    let mut request = format!("wss://localhost:{}/wst/", gateway.port)
        .into_client_request()
        .expect("request");
    if let Some(bearer) = bearer {
        request.headers_mut().insert(
            "authorization",
            format!("Bearer {bearer}").parse().expect("header"),
        );
    }
    let tls = gateway.tls_stream().await;
    tokio_tungstenite::client_async(request, tls)
        .await
        .map(|(ws, _)| ws)
}

fn http_status(error: tokio_tungstenite::tungstenite::Error) -> u16 {
    match error {
        tokio_tungstenite::tungstenite::Error::Http(response) => response.status().as_u16(),
        other => panic!("expected an HTTP refusal, got {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn freerdp_3s_websocket_transport_reaches_the_demo_host_with_the_bearer_reference() {
    let gateway = demo_gateway().await;
    let (reference, session) = gateway.native_reference().await;
    let mut ws = open_wst(&gateway, Some(&reference))
        .await
        .expect("upgrade with the bearer reference");
    gateway.wait_state(session, SessionState::Active).await;

    // The RDP connection's first bytes, as any client sends them; the demo host's confirm
    // comes back in binary messages, split wherever the relay read it.
    ws.send(Message::binary(probe::connection_request()))
        .await
        .expect("send X.224 request");
    let mut confirm = Vec::new();
    while confirm.len() < probe::TPKT_HEADER
        || confirm.len()
            < probe::tpkt_length(confirm[..4].try_into().expect("header")).expect("TPKT length")
    {
        match tokio::time::timeout(Duration::from_secs(20), ws.next()).await {
            Ok(Some(Ok(Message::Binary(bytes)))) => confirm.extend_from_slice(&bytes),
            other => panic!("no confirm from the host: {other:?}"),
        }
    }
    let answer = probe::parse_confirm(&confirm).expect("a real X.224 Connection Confirm");
    assert!(
        matches!(answer, probe::Confirm::Selected { .. }),
        "{answer:?}"
    );
    ws.close(None).await.expect("close");
    drop(ws);
    gateway
        .wait_state(session, SessionState::Disconnected)
        .await;
    let actions = gateway.audit_actions(session).await;
    for expected in ["ticket.consumed", "session.connect", "session.disconnect"] {
        assert!(
            actions.iter().any(|a| a == expected),
            "{expected} in {actions:?}"
        );
    }
    let row = {
        let mut conn = gateway.database.pool().acquire().await.expect("conn");
        repo::sessions::get(&mut conn, session)
            .await
            .expect("row")
            .expect("session")
    };
    assert!(
        row.bytes_from_host >= confirm.len() as i64,
        "traffic stored: {row:?}"
    );

    // The same reference again: spent (403), audited against the session.
    let refused = open_wst(&gateway, Some(&reference))
        .await
        .expect_err("reused");
    assert_eq!(http_status(refused), 403);
    // A reference no broker issued, and none at all: 401.
    let refused = open_wst(&gateway, Some(UNKNOWN_REFERENCE))
        .await
        .expect_err("unknown reference");
    assert_eq!(http_status(refused), 403, "unknown and spent look alike");
    let refused = open_wst(&gateway, Some("not-a-reference"))
        .await
        .expect_err("malformed reference");
    assert_eq!(http_status(refused), 401);
    let refused = open_wst(&gateway, None).await.expect_err("no bearer");
    assert_eq!(http_status(refused), 401);
    let refusals = audit_events(&gateway, "ticket.refused").await;
    assert!(
        refusals
            .iter()
            .any(|e| e.target_id.as_deref() == Some(&session.to_string())
                && e.outcome == AuditOutcome::Refused),
        "the reuse is audited against the session: {refusals:?}"
    );
    assert!(refusals.len() >= 3, "{refusals:?}");
    for event in &refusals {
        let detail = event.detail.clone().unwrap_or_default();
        assert!(
            !detail.contains(&reference),
            "no reference in the audit log"
        );
    }
}

/// A port on 127.0.0.1 whose listener never accepts and whose backlog is full: a TCP
/// connection to it gets no answer at all (the SYN is dropped), like a host that is off.
struct SilentPort {
    port: u16,
    _listener: tokio::net::TcpListener,
    _held: std::net::TcpStream,
}

fn silent_port() -> SilentPort {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind("127.0.0.1:0".parse().expect("addr"))
        .expect("bind");
    let listener = socket.listen(0).expect("listen");
    let port = listener.local_addr().expect("addr").port();
    let held = std::net::TcpStream::connect(("127.0.0.1", port)).expect("fill the backlog");
    let probe = std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(500),
    );
    assert!(probe.is_err(), "the backlog should be full");
    SilentPort {
        port,
        _listener: listener,
        _held: held,
    }
}

async fn silent_gateway(connect_timeout: Duration) -> Gateway {
    let silent = silent_port();
    let spec = HostSpec {
        port: silent.port,
        username: DEMO_USER.to_owned(),
        password: DEMO_PASSWORD.to_owned(),
    };
    let config = SessionConfig {
        native_connect_timeout: connect_timeout,
        ..SessionConfig::default()
    };
    Gateway::start_for(spec, Box::new(silent), config).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn freerdp_3s_websocket_transport_to_a_silent_host_gets_504_within_the_timeout() {
    let gateway = silent_gateway(Duration::from_secs(2)).await;
    let (reference, session) = gateway.native_reference().await;
    let refused = open_wst(&gateway, Some(&reference))
        .await
        .expect_err("host does not answer");
    assert_eq!(http_status(refused), 504);
    assert_eq!(gateway.session_state(session).await, SessionState::Ended);
    let connects = audit_events(&gateway, "session.connect").await;
    let event = connects
        .iter()
        .find(|e| e.target_id.as_deref() == Some(&session.to_string()))
        .expect("session.connect audited");
    assert_eq!(event.outcome, AuditOutcome::Failed);
    assert!(
        event
            .detail
            .as_deref()
            .unwrap_or_default()
            .contains("did not answer within 2 s"),
        "{event:?}"
    );
}

/// What xfreerdp 2.11 did through the gateway: the screenshot (RGB, 1280×800) or its log.
enum Run {
    Shown(Vec<u8>),
    Failed(String),
}

/// xfreerdp (`rdp-screenshot.sh`) to `target:port` through the gateway on `gateway_port`
/// with the PAA cookie `cookie`; `None` for the gateway connects to the host directly.
fn xfreerdp(
    gateway: Option<(u16, &str)>,
    target: &str,
    port: u16,
    user: &str,
    password: &str,
    security: Option<&str>,
) -> Run {
    xfreerdp_for(gateway, target, port, user, password, security, 10)
}

/// [`xfreerdp`], taking the screenshot after `seconds` unless xfreerdp ends sooner.
fn xfreerdp_for(
    gateway: Option<(u16, &str)>,
    target: &str,
    port: u16,
    user: &str,
    password: &str,
    security: Option<&str>,
    seconds: u32,
) -> Run {
    let dir = tempfile::tempdir().expect("temp dir");
    let png = dir.path().join("xfreerdp.png");
    let raw = dir.path().join("xfreerdp.rgb");
    let log = dir.path().join("xfreerdp.log");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/tools/rdp-screenshot.sh"
    );
    let mut extra = "/cert:ignore".to_owned();
    if let Some((gateway_port, cookie)) = gateway {
        extra.push_str(&format!(
            " /g:127.0.0.1:{gateway_port} /gt:http /gat:{cookie}"
        ));
    }
    let mut command = std::process::Command::new(script);
    command
        .args([target, &port.to_string(), user, password])
        .arg(&png)
        .arg(seconds.to_string())
        .env("RDP_SCREENSHOT_EXTRA", extra)
        .env("RDP_SCREENSHOT_LOG", &log);
    if let Some(security) = security {
        command.env("RDP_SCREENSHOT_SEC", security);
    }
    let output = command.output().expect("run rdp-screenshot.sh");
    if !output.status.success() {
        let log = std::fs::read_to_string(&log).unwrap_or_default();
        return Run::Failed(format!(
            "{log}\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let converted = std::process::Command::new("convert")
        .arg(&png)
        .arg(format!("rgb:{}", raw.display()))
        .status()
        .expect("run convert");
    assert!(converted.success());
    let picture = std::fs::read(&raw).expect("raw screenshot");
    assert_eq!(picture.len(), 1280 * 800 * 3);
    Run::Shown(picture)
}

fn shown(run: Run, what: &str) -> Vec<u8> {
    match run {
        Run::Shown(picture) => picture,
        Run::Failed(log) => panic!("xfreerdp failed for {what}:\n{log}"),
    }
}

fn refused(run: Run, what: &str) -> String {
    match run {
        Run::Shown(_) => panic!("xfreerdp showed {what}; it should have been refused"),
        Run::Failed(log) => log,
    }
}

fn region(picture: &[u8], (x, y, w, h): (usize, usize, usize, usize)) -> Vec<u8> {
    let mut out = Vec::with_capacity(w * h * 3);
    for row in y..y + h {
        let start = (row * 1280 + x) * 3;
        out.extend_from_slice(&picture[start..start + w * 3]);
    }
    out
}

fn differing(a: &[u8], b: &[u8]) -> usize {
    a.chunks(3).zip(b.chunks(3)).filter(|(a, b)| a != b).count()
}

/// The gateway's session bookkeeping after a shown-then-closed xfreerdp session.
async fn assert_recorded(gateway: &Gateway, session: Uuid) {
    gateway
        .wait_state(session, SessionState::Disconnected)
        .await;
    let actions = gateway.audit_actions(session).await;
    for expected in ["ticket.consumed", "session.connect", "session.disconnect"] {
        assert!(
            actions.iter().any(|a| a == expected),
            "{expected} in {actions:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xfreerdp_through_the_rd_gateway_shows_the_demo_host_and_a_cookie_works_once() {
    let host = DemoHost::start("nla");
    let host_port = host.port;
    let spec = HostSpec {
        port: host_port,
        username: DEMO_USER.to_owned(),
        password: DEMO_PASSWORD.to_owned(),
    };
    let gateway = Gateway::start_for(spec, Box::new(host), SessionConfig::default()).await;
    let direct = shown(
        xfreerdp(None, "127.0.0.1", host_port, DEMO_USER, DEMO_PASSWORD, None),
        "the demo host directly",
    );
    let (cookie, session) = gateway.native_reference().await;
    let via = shown(
        xfreerdp(
            Some((gateway.port, &cookie)),
            "127.0.0.1",
            host_port,
            DEMO_USER,
            DEMO_PASSWORD,
            None,
        ),
        "the demo host through the gateway",
    );
    // Title bar, client list and form: the same picture as the direct connection.
    let area = (0, 0, 1280, 400);
    let diff = differing(&region(&direct, area), &region(&via, area));
    assert_eq!(diff, 0, "{diff} pixels differ from the direct connection");
    assert_recorded(&gateway, session).await;

    // The cookie is spent: the tunnel create is refused with the cookie access-denied code.
    let log = refused(
        xfreerdp(
            Some((gateway.port, &cookie)),
            "127.0.0.1",
            host_port,
            DEMO_USER,
            DEMO_PASSWORD,
            None,
        ),
        "a reused cookie",
    );
    assert!(
        log.contains("E_PROXY_COOKIE_AUTHENTICATION_ACCESS_DENIED"),
        "{log}"
    );
    let refusals = audit_events(&gateway, "ticket.refused").await;
    assert!(
        refusals
            .iter()
            .any(|e| e.target_id.as_deref() == Some(&session.to_string())),
        "{refusals:?}"
    );

    // A cookie no broker issued.
    let before = audit_events(&gateway, "ticket.refused").await.len();
    let log = refused(
        xfreerdp(
            Some((gateway.port, UNKNOWN_REFERENCE)),
            "127.0.0.1",
            host_port,
            DEMO_USER,
            DEMO_PASSWORD,
            None,
        ),
        "a wrong cookie",
    );
    assert!(
        log.contains("E_PROXY_COOKIE_AUTHENTICATION_ACCESS_DENIED"),
        "{log}"
    );
    assert_eq!(
        audit_events(&gateway, "ticket.refused").await.len(),
        before + 1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xfreerdp_may_reach_only_the_host_its_cookie_names() {
    let host = DemoHost::start("nla");
    let host_port = host.port;
    let spec = HostSpec {
        port: host_port,
        username: DEMO_USER.to_owned(),
        password: DEMO_PASSWORD.to_owned(),
    };
    let gateway = Gateway::start_for(spec, Box::new(host), SessionConfig::default()).await;
    // Another port on the same address, and the same port under another name: neither is
    // the ticket's host as written in the pool.
    for (target, port) in [
        ("127.0.0.1", host_port.wrapping_add(1)),
        ("localhost", host_port),
    ] {
        let (cookie, session) = gateway.native_reference().await;
        let log = refused(
            xfreerdp(
                Some((gateway.port, &cookie)),
                target,
                port,
                DEMO_USER,
                DEMO_PASSWORD,
                None,
            ),
            "another host",
        );
        assert!(
            log.contains("E_PROXY_RAP_ACCESSDENIED"),
            "{target}:{port}: {log}"
        );
        let actions = gateway.audit_actions(session).await;
        assert!(
            actions.iter().any(|a| a == "native.channel_refused"),
            "{target}:{port}: {actions:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xfreerdp_to_a_silent_host_gets_connect_failed_within_the_timeout() {
    let gateway = silent_gateway(Duration::from_secs(2)).await;
    let (cookie, session) = gateway.native_reference().await;
    let silent_port = {
        let mut conn = gateway.database.pool().acquire().await.expect("conn");
        let row = repo::sessions::get(&mut conn, session)
            .await
            .expect("row")
            .expect("session");
        repo::hosts::get(&mut conn, row.host_id)
            .await
            .expect("host")
            .expect("host row")
            .port
    };
    let log = refused(
        xfreerdp(
            Some((gateway.port, &cookie)),
            "127.0.0.1",
            silent_port,
            DEMO_USER,
            DEMO_PASSWORD,
            None,
        ),
        "a silent host",
    );
    assert!(log.contains("E_PROXY_TS_CONNECTFAILED"), "{log}");
    assert_eq!(gateway.session_state(session).await, SessionState::Ended);
    let connects = audit_events(&gateway, "session.connect").await;
    assert!(
        connects
            .iter()
            .any(|e| e.target_id.as_deref() == Some(&session.to_string())
                && e.outcome == AuditOutcome::Failed
                && e.detail
                    .as_deref()
                    .unwrap_or_default()
                    .contains("did not answer within 2 s")),
        "{connects:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xfreerdp_through_the_rd_gateway_shows_the_xrdp_session() {
    if let Some(reason) = peers::xrdp_unavailable() {
        panic!("xrdp cannot run: {reason}");
    }
    let _one_xrdp = peers::XRDP_LOCK.lock().await;
    let xrdp = peers::Xrdp::start();
    let port = xrdp.port;
    let spec = HostSpec {
        port,
        username: peers::XRDP_USER.to_owned(),
        password: peers::XRDP_PASSWORD.to_owned(),
    };
    let gateway = Gateway::start_for(spec, Box::new(xrdp), SessionConfig::default()).await;
    let (via, direct) = via_and_direct(
        &gateway,
        port,
        (peers::XRDP_USER, peers::XRDP_PASSWORD),
        "tls",
        "xrdp",
    )
    .await;
    // The xmessage window (each connection is a fresh X session showing the same).
    assert_eq!(&via[(150 * 1280 + 150) * 3..][..3], peers::XRDP_WINDOW_BG);
    let area = (96, 96, 420, 120);
    let diff = differing(&region(&direct, area), &region(&via, area));
    assert_eq!(diff, 0, "{diff} pixels differ from the direct connection");
}

/// xfreerdp to `127.0.0.1:port` through the gateway with a fresh native reference (its
/// session then recorded as for browser sessions), then directly: both pictures.
async fn via_and_direct(
    gateway: &Gateway,
    port: u16,
    (user, password): (&str, &str),
    security: &str,
    what: &str,
) -> (Vec<u8>, Vec<u8>) {
    let (cookie, session) = gateway.native_reference().await;
    let via = shown(
        xfreerdp(
            Some((gateway.port, &cookie)),
            "127.0.0.1",
            port,
            user,
            password,
            Some(security),
        ),
        &format!("{what} through the gateway"),
    );
    assert_recorded(gateway, session).await;
    let direct = shown(
        xfreerdp(None, "127.0.0.1", port, user, password, Some(security)),
        &format!("{what} directly"),
    );
    (via, direct)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xfreerdp_through_the_rd_gateway_shows_freerdp_shadow_over_nla() {
    if let Some(reason) = peers::shadow_unavailable() {
        panic!("freerdp-shadow cannot run: {reason}");
    }
    let shadow = peers::Shadow::start();
    let port = shadow.port;
    let spec = HostSpec {
        port,
        username: peers::SHADOW_USER.to_owned(),
        password: peers::SHADOW_PASSWORD.to_owned(),
    };
    let gateway = Gateway::start_for(spec, Box::new(shadow), SessionConfig::default()).await;
    let (via, direct) = via_and_direct(
        &gateway,
        port,
        (peers::SHADOW_USER, peers::SHADOW_PASSWORD),
        "nla",
        "freerdp-shadow",
    )
    .await;
    // The shadowed display's xmessage window (+100+100, 400×100).
    assert_eq!(&via[(150 * 1280 + 150) * 3..][..3], peers::XRDP_WINDOW_BG);
    let area = (100, 100, 400, 100);
    let diff = differing(&region(&direct, area), &region(&via, area));
    assert_eq!(diff, 0, "{diff} pixels differ from the direct connection");
}

/// xfreerdp through the gateway to the demo host in the background, for `seconds` at most.
fn xfreerdp_in_background(
    gateway: &Gateway,
    cookie: &str,
    host_port: u16,
    seconds: u32,
) -> tokio::task::JoinHandle<Run> {
    let (gateway_port, cookie) = (gateway.port, cookie.to_owned());
    tokio::task::spawn_blocking(move || {
        xfreerdp_for(
            Some((gateway_port, &cookie)),
            "127.0.0.1",
            host_port,
            DEMO_USER,
            DEMO_PASSWORD,
            None,
            seconds,
        )
    })
}

async fn demo_host_gateway() -> (Gateway, u16) {
    let host = DemoHost::start("nla");
    let host_port = host.port;
    let spec = HostSpec {
        port: host_port,
        username: DEMO_USER.to_owned(),
        password: DEMO_PASSWORD.to_owned(),
    };
    (
        Gateway::start_for(spec, Box::new(host), SessionConfig::default()).await,
        host_port,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrators_message_and_disconnect_reach_xfreerdp_through_the_tunnel() {
    let (gateway, host_port) = demo_host_gateway().await;
    let (cookie, session) = gateway.native_reference().await;
    let client = xfreerdp_in_background(&gateway, &cookie, host_port, 90);
    gateway.wait_state(session, SessionState::Active).await;
    let message = gateway
        .admin_action(
            session,
            "message",
            serde_json::json!({
                "text": "Procapita startas om kl. 18:00. Spara ditt arbete.",
                "sender": "Driften i Ale",
            }),
        )
        .await;
    let row = gateway.finished(message).await;
    assert_eq!(row.state, hamn_broker::model::CommandState::Done, "{row:?}");
    // Let the client show it before the tunnel closes.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let disconnect = gateway
        .admin_action(
            session,
            "disconnect",
            serde_json::json!({ "reason": "Värden startas om" }),
        )
        .await;
    let row = gateway.finished(disconnect).await;
    assert_eq!(row.state, hamn_broker::model::CommandState::Done, "{row:?}");
    // The closed tunnel ends xfreerdp long before its screenshot was due.
    let log = refused(
        client.await.expect("xfreerdp thread"),
        "a disconnected session",
    );
    assert!(log.contains("Service message:"), "{log}");
    assert!(
        log.contains("Driften i Ale: Procapita startas om kl. 18:00. Spara ditt arbete."),
        "{log}"
    );
    gateway
        .wait_state(session, SessionState::Disconnected)
        .await;
    let disconnects = audit_events(&gateway, "session.disconnect").await;
    assert!(
        disconnects
            .iter()
            .any(|e| e.target_id.as_deref() == Some(&session.to_string())
                && e.detail
                    .as_deref()
                    .unwrap_or_default()
                    .contains("Värden startas om")),
        "the broker's reason is recorded: {disconnects:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_native_launch_of_the_session_takes_it_over() {
    let (gateway, host_port) = demo_host_gateway().await;
    let (first_cookie, session) = gateway.native_reference().await;
    let first = xfreerdp_in_background(&gateway, &first_cookie, host_port, 90);
    gateway.wait_state(session, SessionState::Active).await;
    // The user launches again (another thin client): the broker names the live session.
    let (second_cookie, again) = gateway.native_reference().await;
    assert_eq!(
        again, session,
        "the broker's roaming names the live session"
    );
    let second = xfreerdp_in_background(&gateway, &second_cookie, host_port, 10);
    let log = refused(
        first.await.expect("xfreerdp thread"),
        "the taken-over client",
    );
    assert!(!log.is_empty());
    let picture = shown(second.await.expect("xfreerdp thread"), "the newer client");
    assert!(
        picture.iter().any(|&b| b != 0),
        "the newer client shows the app"
    );
    gateway
        .wait_state(session, SessionState::Disconnected)
        .await;
    let actions = gateway.audit_actions(session).await;
    let connects = actions.iter().filter(|a| *a == "session.connect").count();
    assert_eq!(connects, 2, "{actions:?}");
    let disconnects = audit_events(&gateway, "session.disconnect").await;
    assert!(
        disconnects.iter().any(|e| e
            .detail
            .as_deref()
            .unwrap_or_default()
            .contains("a newer launch of the same session took it over")),
        "the gateway closed the older tunnel: {disconnects:?}"
    );
}

/// A websocket to `/remoteDesktopGateway/` opened the way FreeRDP does it: `RDG_OUT_DATA`,
/// a 15-character key, `RDG-Auth-Scheme: PAA`, and `Authorization: Bearer` when given
/// (FreeRDP 3's bearer variant). Checks the 101 and its accept key.
async fn open_rdg(gateway: &Gateway, bearer: Option<&str>) -> ClientWs {
    let key = "ABCDEFGHIJKLMNO";
    let mut head = format!(
        "RDG_OUT_DATA /remoteDesktopGateway/ HTTP/1.1\r\nCache-Control: no-cache\r\n\
         Pragma: no-cache\r\nAccept: */*\r\nUser-Agent: MS-RDGateway/1.0\r\nHost: localhost\r\n\
         Connection: Upgrade\r\nUpgrade: websocket\r\nSec-Websocket-Version: 13\r\n\
         Sec-Websocket-Key: {key}\r\nRDG-Connection-Id: {{00000000-0000-4000-8000-000000000000}}\r\n"
    );
    if let Some(bearer) = bearer {
        head.push_str(&format!("Authorization: Bearer {bearer}\r\n"));
    } else {
        head.push_str("RDG-Auth-Scheme: PAA\r\n");
    }
    head.push_str("Content-Length: 0\r\n\r\n");
    let mut tls = gateway.tls_stream().await;
    tls.write_all(head.as_bytes()).await.expect("send");
    let mut answer = Vec::new();
    while !answer.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        assert_eq!(
            tls.read(&mut byte).await.expect("read"),
            1,
            "answer cut short"
        );
        answer.push(byte[0]);
    }
    let answer = String::from_utf8_lossy(&answer).to_ascii_lowercase();
    assert!(answer.starts_with("http/1.1 101"), "{answer}");
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    assert!(
        answer.contains(&format!(
            "sec-websocket-accept: {}",
            accept.to_ascii_lowercase()
        )),
        "{answer}"
    );
    tokio_tungstenite::WebSocketStream::from_raw_socket(
        tls,
        tokio_tungstenite::tungstenite::protocol::Role::Client,
        None,
    )
    .await
}

/// The next MS-TSGU packet from the gateway (one per websocket message).
async fn next_packet(ws: &mut ClientWs) -> Option<rdg::Packet> {
    loop {
        match tokio::time::timeout(Duration::from_secs(20), ws.next()).await {
            Ok(Some(Ok(Message::Binary(bytes)))) => {
                return Some(rdg::Packet::decode(&bytes).expect("a packet from the gateway"));
            }
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
            Ok(_) => return None,
            Err(_) => panic!("no packet from the gateway in time"),
        }
    }
}

/// Handshake (extended auth `ext_auth`), tunnel create with `cookie`, auth, channel to
/// `host:port`: the channel response's status.
async fn open_channel(
    ws: &mut ClientWs,
    ext_auth: u16,
    cookie: Option<&str>,
    port: u16,
) -> rdg::HResult {
    let handshake = rdg::Packet::HandshakeRequest(rdg::codec::HandshakeRequest {
        version_major: 1,
        version_minor: 0,
        client_version: 0,
        extended_auth: ext_auth,
    })
    .encode()
    .expect("handshake");
    for packet in [
        handshake,
        client::tunnel_create(cookie),
        client::tunnel_auth("THINCLIENT-1"),
        client::channel_create("127.0.0.1", port),
    ] {
        ws.send(Message::binary(packet)).await.expect("send");
    }
    loop {
        match next_packet(ws).await.expect("an answer") {
            rdg::Packet::HandshakeResponse(r) => assert!(r.status.is_success(), "{r:?}"),
            rdg::Packet::TunnelResponse(r) if !r.status.is_success() => return r.status,
            rdg::Packet::TunnelAuthResponse(r) if !r.status.is_success() => return r.status,
            rdg::Packet::ChannelResponse(r) => return r.status,
            _ => {}
        }
    }
}

/// Sends the X.224 Connection Request in a data packet; the host's confirm from the data
/// packets that come back.
async fn x224_through(ws: &mut ClientWs) -> probe::Confirm {
    ws.send(Message::binary(client::data(&probe::connection_request())))
        .await
        .expect("send");
    let mut confirm = Vec::new();
    while confirm.len() < probe::TPKT_HEADER
        || confirm.len()
            < probe::tpkt_length(confirm[..4].try_into().expect("header")).expect("TPKT length")
    {
        match next_packet(ws).await.expect("data from the host") {
            rdg::Packet::Data(bytes) => confirm.extend_from_slice(&bytes),
            rdg::Packet::Keepalive | rdg::Packet::ServiceMessage(_) => {}
            other => panic!("expected data, got {other:?}"),
        }
    }
    probe::parse_confirm(&confirm).expect("a real X.224 Connection Confirm")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rd_gateways_bearer_variant_opens_a_channel_and_a_malformed_tunnel_affects_no_other() {
    let (gateway, host_port) = demo_host_gateway().await;
    // FreeRDP 3's bearer variant: extended auth 0x08, no PAA cookie, the reference on the
    // HTTP request.
    let (reference, session) = gateway.native_reference().await;
    let mut good = open_rdg(&gateway, Some(&reference)).await;
    let status = open_channel(&mut good, 0x08, None, host_port).await;
    assert!(status.is_success(), "{status:?}");
    gateway.wait_state(session, SessionState::Active).await;

    // Another tunnel that sends garbage: it is closed with an error code...
    let mut bad = open_rdg(&gateway, None).await;
    bad.send(Message::binary(vec![
        0x01, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0x7f,
    ]))
    .await
    .expect("send");
    match next_packet(&mut bad).await.expect("a refusal") {
        rdg::Packet::HandshakeResponse(r) => assert!(!r.status.is_success(), "{r:?}"),
        other => panic!("expected a failed handshake response, got {other:?}"),
    }
    assert!(
        next_packet(&mut bad).await.is_none(),
        "the bad tunnel is closed"
    );
    // ... and one with a spent cookie is refused at the tunnel create.
    let mut spent = open_rdg(&gateway, None).await;
    let status = open_channel(&mut spent, 0x02, Some(&reference), host_port).await;
    assert_eq!(
        status,
        rdg::HResult::E_PROXY_COOKIE_AUTHENTICATION_ACCESS_DENIED
    );

    // The good tunnel goes on: the demo host's real confirm comes back through it.
    let confirm = x224_through(&mut good).await;
    assert!(
        matches!(confirm, probe::Confirm::Selected { .. }),
        "{confirm:?}"
    );
    // Its close: the client's close channel is answered and the session is left disconnected.
    good.send(Message::binary(client::close_channel(
        rdg::HResult::ERROR_SUCCESS,
    )))
    .await
    .expect("send");
    loop {
        match next_packet(&mut good).await {
            Some(rdg::Packet::CloseChannelResponse(_)) | None => break,
            Some(_) => {}
        }
    }
    gateway
        .wait_state(session, SessionState::Disconnected)
        .await;
}

/// Carries bytes between `pipe` and the websocket, one binary message per read.
async fn bridge(mut ws: ClientWs, mut pipe: tokio::io::DuplexStream) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        tokio::select! {
            read = pipe.read(&mut buf) => match read {
                Ok(0) | Err(_) => {
                    let _ = ws.close(None).await;
                    return;
                }
                Ok(n) => {
                    if ws.send(Message::binary(buf[..n].to_vec())).await.is_err() {
                        return;
                    }
                }
            },
            received = ws.next() => match received {
                Some(Ok(Message::Binary(bytes))) => {
                    if pipe.write_all(&bytes).await.is_err() {
                        return;
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => {
                    let _ = pipe.shutdown().await;
                    return;
                }
            },
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateways_rdp_client_reaches_the_demo_app_through_freerdp_3s_websocket_transport() {
    let host = DemoHost::start("nla");
    let params = host.params(DEMO_PASSWORD);
    let spec = HostSpec {
        port: host.port,
        username: DEMO_USER.to_owned(),
        password: DEMO_PASSWORD.to_owned(),
    };
    let gateway = Gateway::start_for(spec, Box::new(host), SessionConfig::default()).await;
    let (reference, session) = gateway.native_reference().await;
    let ws = open_wst(&gateway, Some(&reference))
        .await
        .expect("upgrade with the bearer reference");
    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    tokio::spawn(bridge(ws, theirs));
    // A whole RDP connection (X.224, TLS, NLA, activation, logon) inside the websocket.
    let rdp = hamn_gateway::rdp::connect_over(
        params,
        hamn_gateway::rdp::HostStream::Pipe(ours),
        "127.0.0.1:50000".parse().expect("address"),
    )
    .await
    .expect("RDP through FreeRDP 3's websocket transport");
    let sink = peers::FrameSink::default();
    let (handle, task) = rdp.start(sink.clone());
    crate::rdp::wait_for_app(&sink).await;
    handle.close();
    task.wait().await.expect("clean close");
    // The client's close reaches the host (which hangs up) and the gateway (websocket
    // close) at about the same time: either ending is recorded.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let state = gateway.session_state(session).await;
        if matches!(state, SessionState::Disconnected | SessionState::Ended) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "still {state:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let actions = gateway.audit_actions(session).await;
    assert!(
        actions
            .iter()
            .any(|a| a == "session.disconnect" || a == "session.end"),
        "{actions:?}"
    );
}

/// A TCP echo server on loopback: the host of the two-way relay test.
async fn echo_host() -> (u16, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = stream.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    (port, task)
}

/// Heavy traffic both ways at once (a client writing tens of megabytes while the host
/// echoes them back) goes through the relay intact and in order. (The relay benchmark
/// once stalled the relay this way with a client that writes a window before it reads;
/// this test, reading while it writes, checks the bytes rather than that timing.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_carries_heavy_traffic_both_ways_at_once() {
    let (port, echo) = echo_host().await;
    let spec = HostSpec {
        port,
        username: DEMO_USER.to_owned(),
        password: DEMO_PASSWORD.to_owned(),
    };
    let gateway = Gateway::start_for(spec, Box::new(echo), SessionConfig::default()).await;
    let (reference, _session) = gateway.native_reference().await;
    let ws = open_wst(&gateway, Some(&reference))
        .await
        .expect("the websocket transport opens");
    let (mut sink, mut stream) = ws.split();
    // Well beyond what loopback socket buffers absorb (a few MiB each way).
    const TOTAL: usize = 32 * 1024 * 1024;
    const CHUNK: usize = 32 * 1024;
    let pattern = |i: usize| (i % 251) as u8;
    let writer = tokio::spawn(async move {
        let mut sent = 0;
        while sent < TOTAL {
            let chunk: Vec<u8> = (sent..sent + CHUNK).map(pattern).collect();
            sink.send(Message::binary(chunk)).await.expect("send");
            sent += CHUNK;
        }
        sink
    });
    let mut received = 0;
    let echoed = tokio::time::timeout(Duration::from_secs(60), async {
        while received < TOTAL {
            match stream.next().await {
                Some(Ok(Message::Binary(bytes))) => {
                    for (k, b) in bytes.iter().enumerate() {
                        assert_eq!(*b, pattern(received + k), "byte {}", received + k);
                    }
                    received += bytes.len();
                }
                Some(Ok(_)) => {}
                other => panic!("the relay ended after {received} bytes: {other:?}"),
            }
        }
    })
    .await;
    assert!(
        echoed.is_ok(),
        "only {received} of {TOTAL} bytes came back: the relay stalled"
    );
    let _sink = writer.await.expect("writer");
}
