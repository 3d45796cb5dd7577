//! The browser session endpoint end to end: a migrated and seeded SQLite database, the
//! bundled demo host, the gateway's router on a loopback TLS listener and a Rust websocket
//! client that speaks the wire protocol, paints the tiles it receives and checks pixels.
//! Also: a replayed ticket is refused before the upgrade; a malformed client message
//! closes the session with the wire's close code; a dropped websocket resumes the same RDP
//! session with the ServerHello's token (single use, taken over by a second window,
//! refused after the grace period), and the session row follows with its traffic.
//! Lifecycle: an operator's actions through the admin API reach the browser through the
//! command channel and this node's poll — an
//! administrator's message (once, the session goes on), a disconnect (4300, row
//! disconnected, the next launch roams back), a logoff (4300, row ended, host logoff
//! queued) — and the pool's idle timeout warns, is lifted by input, then closes with 4301.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use hamn_broker::db::{Database, DatabaseConfig};
use hamn_broker::model::{CommandState, SessionState};
use hamn_broker::session_control;
use hamn_broker::ticket::keys::PUBLIC_KEY_FILE;
use hamn_broker::{
    LaunchPath, Secret, SecretsKey, TicketIssuer, TicketKeys, TicketVerifier, issue_launch_ticket,
    repo,
};
use hamn_gateway::PortalState;
use hamn_gateway::session::{SessionConfig, SessionService};
use hamn_gateway::wire::{
    ClientHello, ClientMessage, CloseCode, Limits, ServerMessage, StatusCode, TileEncoding,
    decode_client, decode_server, encode_client,
};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::display::{decode_png, decode_webp};
use crate::rdp::peers::{DEMO_PASSWORD, DEMO_USER, DemoHost};

const TITLE_BAR: [u8; 3] = [31, 78, 121];
const SELECTED_ROW: [u8; 3] = [204, 228, 247];
const WAIT: Duration = Duration::from_secs(60);

type Ws = WebSocketStream<TlsStream<TcpStream>>;

/// The RDP host a test gateway's seeded pool points at.
pub(crate) struct HostSpec {
    pub port: u16,
    pub username: String,
    pub password: String,
}

/// A gateway serving the session endpoint, with its database and ticket issuer.
pub(crate) struct Gateway {
    pub port: u16,
    pub database: Database,
    issuer: TicketIssuer,
    user: Uuid,
    app: Uuid,
    ca_pem: Vec<u8>,
    sessions: Arc<SessionService>,
    shutdown: CancellationToken,
    /// The host process(es), stopped on drop.
    _host: Box<dyn std::any::Any + Send>,
    _dir: tempfile::TempDir,
}

impl Gateway {
    pub(crate) async fn start() -> Gateway {
        Self::start_with(SessionConfig::default()).await
    }

    pub(crate) async fn start_with(config: SessionConfig) -> Gateway {
        let host = DemoHost::start("nla");
        let spec = HostSpec {
            port: host.port,
            username: DEMO_USER.to_owned(),
            password: DEMO_PASSWORD.to_owned(),
        };
        Self::start_for(spec, Box::new(host), config).await
    }

    /// A gateway whose demo pool holds the one host `spec` (certificate policy "ignore",
    /// as for lab pools); `host` is kept alive as long as the gateway.
    pub(crate) async fn start_for(
        spec: HostSpec,
        host: Box<dyn std::any::Any + Send>,
        config: SessionConfig,
    ) -> Gateway {
        let dir = tempfile::tempdir().expect("temp dir");
        let database = Database::connect(&DatabaseConfig {
            url: format!("sqlite://{}?mode=rwc", dir.path().join("hamn.db").display()),
            max_connections: 5,
        })
        .await
        .expect("open SQLite");
        database.migrate().await.expect("migrations");
        let secrets = SecretsKey::generate().expect("secrets key");
        let ids = hamn_broker::seed::demo(
            &database,
            hamn_broker::DemoSeed {
                host_address: "127.0.0.1".to_owned(),
                host_port: spec.port,
                host_username: spec.username.clone(),
                host_password: Secret::new(spec.password.clone()),
                secrets_key: Some(secrets.clone()),
                ..Default::default()
            },
        )
        .await
        .expect("demo seed");

        let keys = TicketKeys::load_or_create(dir.path()).expect("ticket keys");
        let issuer = TicketIssuer::new(Arc::new(keys));
        let verifier = TicketVerifier::from_public_key_files(&[dir.path().join(PUBLIC_KEY_FILE)])
            .expect("ticket public key");

        let pki = hamn_certs::DevPki::init(&dir.path().join("certs")).expect("dev PKI");
        let ca_pem =
            std::fs::read(hamn_certs::DevPkiPaths::new(&dir.path().join("certs")).ca_cert())
                .expect("CA PEM");
        let tls = hamn_certs::server::server_config(&pki.server_cert_files()).expect("TLS");
        let shutdown = CancellationToken::new();
        let sessions = SessionService::new(
            database.clone(),
            verifier,
            secrets,
            config,
            shutdown.child_token(),
        );
        let sessions = Arc::new(sessions);
        let app = hamn_gateway::router(PortalState {
            database: database.clone(),
            sessions: Some(sessions.clone()),
            api: None,
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(hamn_certs::serve(listener, tls, app, shutdown.clone()));
        Gateway {
            port,
            database,
            issuer,
            user: ids.user,
            app: ids.app_prod,
            ca_pem,
            sessions,
            shutdown,
            _host: host,
            _dir: dir,
        }
    }

    /// Stops the host process(es): the pool's host is gone.
    pub(crate) fn stop_host(&mut self) {
        self._host = Box::new(());
    }

    /// A native launch's reference (the PAA cookie / bearer token) and its session.
    pub(crate) async fn native_reference(&self) -> (String, Uuid) {
        let t = issue_launch_ticket(
            &self.database,
            &self.issuer,
            self.user,
            self.app,
            LaunchPath::Native,
        )
        .await
        .expect("native launch ticket");
        (
            t.reference.expect("native launches carry a reference"),
            t.session.id,
        )
    }

    /// A TLS connection to the gateway that trusts its dev CA.
    pub(crate) async fn tls_stream(&self) -> TlsStream<TcpStream> {
        self.tls().await
    }

    pub(crate) async fn ticket(&self) -> (String, Uuid) {
        let t = issue_launch_ticket(
            &self.database,
            &self.issuer,
            self.user,
            self.app,
            LaunchPath::Browser,
        )
        .await
        .expect("launch ticket");
        (t.ticket, t.session.id)
    }

    async fn tls(&self) -> TlsStream<TcpStream> {
        tls_connect(&self.ca_pem, self.port).await
    }

    async fn open(&self, ticket: &str) -> Result<Ws, tungstenite::Error> {
        let url = format!("wss://localhost:{}/ws/session?ticket={ticket}", self.port);
        let tls = self.tls().await;
        tokio_tungstenite::client_async(url, tls)
            .await
            .map(|(ws, _)| ws)
    }

    /// A websocket without a ticket, for resume.
    async fn open_resume(&self) -> Ws {
        let url = format!("wss://localhost:{}/ws/session", self.port);
        let tls = self.tls().await;
        tokio_tungstenite::client_async(url, tls)
            .await
            .map(|(ws, _)| ws)
            .expect("upgrade without a ticket")
    }

    async fn session(&self, id: Uuid) -> hamn_broker::model::Session {
        let mut conn = self.database.pool().acquire().await.expect("conn");
        repo::sessions::get(&mut conn, id)
            .await
            .expect("session row")
            .expect("session exists")
    }

    /// The audit actions about session `id`, oldest first.
    pub(crate) async fn audit_actions(&self, id: Uuid) -> Vec<String> {
        let mut conn = self.database.pool().acquire().await.expect("conn");
        let filter = hamn_broker::model::AuditFilter {
            target_id: Some(id.to_string()),
            ..Default::default()
        };
        let page = repo::audit::list(
            &mut conn,
            &filter,
            hamn_broker::model::PageRequest {
                limit: 500,
                cursor: None,
            },
        )
        .await
        .expect("audit");
        let mut actions: Vec<String> = page.items.into_iter().map(|e| e.action).collect();
        actions.reverse();
        actions
    }

    pub(crate) async fn session_state(&self, id: Uuid) -> SessionState {
        self.session(id).await.state
    }

    pub(crate) async fn wait_state(&self, id: Uuid, state: SessionState) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while self.session_state(id).await != state {
            assert!(
                tokio::time::Instant::now() < deadline,
                "session never reached {state:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A TLS connection to a gateway on `port` that trusts the dev CA in `ca_pem`.
pub async fn tls_connect(mut ca_pem: &[u8], port: u16) -> TlsStream<TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut ca_pem) {
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
        .expect("connect");
    let name = rustls_pki_types::ServerName::try_from("localhost").expect("name");
    TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .expect("TLS handshake")
}

fn hello(width: u16, height: u16) -> ClientMessage {
    resume_hello(width, height, None)
}

fn resume_hello(width: u16, height: u16, token: Option<Vec<u8>>) -> ClientMessage {
    ClientMessage::ClientHello(ClientHello {
        version: hamn_gateway::wire::PROTOCOL_VERSION,
        width,
        height,
        scale_percent: 100,
        resume_token: token,
        keyboard_layout: "sv-SE".to_owned(),
    })
}

/// Paints frames (acking each) until the demo app's title bar and selected row show.
async fn paint_until_demo_app(ws: &mut Ws, canvas: &mut Canvas) -> (u32, u32) {
    let (mut frames, mut tiles) = (0u32, 0u32);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no title bar after {frames} frames, {tiles} tiles: (700,24) is {:?}",
            canvas.pixel(700, 24)
        );
        match next(ws).await {
            Ok(ServerMessage::FrameEnd { frame_id }) => {
                frames += 1;
                send(ws, &ClientMessage::FrameAck { frame_id }).await;
                if canvas.pixel(700, 24) == TITLE_BAR && canvas.pixel(200, 124) == SELECTED_ROW {
                    return (frames, tiles);
                }
            }
            Ok(message) => {
                if matches!(message, ServerMessage::Tile(_)) {
                    tiles += 1;
                }
                canvas.apply(&message);
            }
            Err(code) => panic!("closed early with {code:?}"),
        }
    }
}

/// Sends a resume hello and returns the new ServerHello, checking that Status Resumed
/// follows.
async fn resume(
    ws: &mut Ws,
    token: Vec<u8>,
) -> Result<hamn_gateway::wire::ServerHello, Option<u16>> {
    send(ws, &resume_hello(1280, 800, Some(token))).await;
    let server_hello = match next(ws).await? {
        ServerMessage::ServerHello(h) => h,
        ServerMessage::Close { code, .. } => return Err(Some(code.as_u16())),
        other => panic!("expected ServerHello, got {other:?}"),
    };
    loop {
        match next(ws).await? {
            ServerMessage::Status {
                code: StatusCode::Resumed,
                ..
            } => break,
            ServerMessage::Status { .. } => {}
            other => panic!("expected Status Resumed before anything else, got {other:?}"),
        }
    }
    Ok(server_hello)
}

/// Reads until the socket closes; the close code.
async fn closed_with(ws: &mut Ws) -> Option<u16> {
    loop {
        if let Err(code) = next(ws).await {
            return code;
        }
    }
}

async fn send(ws: &mut Ws, message: &ClientMessage) {
    ws.send(Message::Binary(encode_client(message).into()))
        .await
        .expect("send");
}

/// The next protocol message, or the websocket close code when the socket closed.
async fn next(ws: &mut Ws) -> Result<ServerMessage, Option<u16>> {
    loop {
        let message = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a message in time");
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

/// The browser's canvas: RGB pixels painted from tiles and copies.
struct Canvas {
    width: usize,
    height: usize,
    rgb: Vec<u8>,
    jpeg_tiles: usize,
}

impl Canvas {
    fn new(width: u16, height: u16) -> Self {
        let (width, height) = (usize::from(width), usize::from(height));
        Canvas {
            width,
            height,
            rgb: vec![0; width * height * 3],
            jpeg_tiles: 0,
        }
    }

    fn pixel(&self, x: usize, y: usize) -> [u8; 3] {
        let at = (y * self.width + x) * 3;
        [self.rgb[at], self.rgb[at + 1], self.rgb[at + 2]]
    }

    fn apply(&mut self, message: &ServerMessage) {
        match message {
            ServerMessage::Tile(tile) => {
                let (w, h, rgba) = match tile.encoding {
                    TileEncoding::Webp => decode_webp(&tile.data),
                    TileEncoding::Png => decode_png(&tile.data),
                    // No JPEG decoder among the dev-dependencies; lossy tiles are refined
                    // losslessly once their cells are still.
                    TileEncoding::Jpeg => {
                        self.jpeg_tiles += 1;
                        return;
                    }
                };
                assert_eq!((w, h), (u32::from(tile.w), u32::from(tile.h)));
                for row in 0..usize::from(tile.h) {
                    for col in 0..usize::from(tile.w) {
                        let src = (row * usize::from(tile.w) + col) * 4;
                        let (x, y) = (usize::from(tile.x) + col, usize::from(tile.y) + row);
                        let dst = (y * self.width + x) * 3;
                        self.rgb[dst..dst + 3].copy_from_slice(&rgba[src..src + 3]);
                    }
                }
            }
            ServerMessage::CopyRect(copy) => {
                let snapshot = self.rgb.clone();
                for row in 0..usize::from(copy.h) {
                    let src = ((usize::from(copy.src_y) + row) * self.width
                        + usize::from(copy.src_x))
                        * 3;
                    let dst = ((usize::from(copy.dst_y) + row) * self.width
                        + usize::from(copy.dst_x))
                        * 3;
                    let len = usize::from(copy.w) * 3;
                    self.rgb[dst..dst + len].copy_from_slice(&snapshot[src..src + len]);
                }
            }
            ServerMessage::Resized { width, height } => *self = Canvas::new(*width, *height),
            _ => {}
        }
        assert!(self.rgb.len() == self.width * self.height * 3);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_session_streams_the_demo_app_with_real_pixels() {
    let gateway = Gateway::start().await;
    let (ticket, session_id) = gateway.ticket().await;
    assert_eq!(
        gateway.session_state(session_id).await,
        SessionState::Launching
    );
    let mut ws = gateway.open(&ticket).await.expect("upgrade");
    send(&mut ws, &hello(1280, 800)).await;
    let server_hello = match next(&mut ws).await {
        Ok(ServerMessage::ServerHello(h)) => h,
        other => panic!("expected ServerHello, got {other:?}"),
    };
    assert_eq!((server_hello.width, server_hello.height), (1280, 800));
    assert_eq!(server_hello.session_id, session_id.into_bytes());
    assert_eq!(
        gateway.session_state(session_id).await,
        SessionState::Active
    );

    // The replayed ticket is refused before any upgrade.
    match gateway.open(&ticket).await {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status().as_u16(), 403),
        Err(other) => panic!("expected an HTTP refusal, got {other}"),
        Ok(_) => panic!("a replayed ticket was upgraded"),
    }
    // A forged one is 401.
    match gateway.open("not-a-ticket").await {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status().as_u16(), 401),
        Err(other) => panic!("expected an HTTP refusal, got {other}"),
        Ok(_) => panic!("a forged ticket was upgraded"),
    }

    let mut canvas = Canvas::new(server_hello.width, server_hello.height);
    let (frames, tiles) = paint_until_demo_app(&mut ws, &mut canvas).await;
    eprintln!(
        "session: title bar after {frames} frames, {tiles} tiles ({} JPEG)",
        canvas.jpeg_tiles
    );
    assert_eq!(canvas.pixel(800, 600), [0xF3, 0xF3, 0xF3], "background");

    // Ping → Pong (frames may come in between).
    send(&mut ws, &ClientMessage::Ping { timestamp: 4711 }).await;
    loop {
        match next(&mut ws).await {
            Ok(ServerMessage::Pong { timestamp }) => {
                assert_eq!(timestamp, 4711);
                break;
            }
            Ok(ServerMessage::FrameEnd { frame_id }) => {
                send(&mut ws, &ClientMessage::FrameAck { frame_id }).await;
            }
            Ok(_) => {}
            Err(code) => panic!("closed early with {code:?}"),
        }
    }

    // Closing the tab keeps the session for a resume: disconnected, traffic recorded.
    ws.close(None).await.expect("close");
    gateway
        .wait_state(session_id, SessionState::Disconnected)
        .await;
    let row = gateway.session(session_id).await;
    assert!(row.bytes_to_client > 0 && row.frames_sent >= i64::from(frames));
    assert!(row.bytes_from_host > 0, "{row:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_client_message_closes_with_the_protocol_close_code() {
    let gateway = Gateway::start().await;
    let (ticket, session_id) = gateway.ticket().await;
    let mut ws = gateway.open(&ticket).await.expect("upgrade");
    send(&mut ws, &hello(1024, 768)).await;
    match next(&mut ws).await {
        // The demo host keeps its fixed desktop whatever the client asks for.
        Ok(ServerMessage::ServerHello(h)) => assert_eq!((h.width, h.height), (1280, 800)),
        other => panic!("expected ServerHello, got {other:?}"),
    }
    // KeyScancode cut short.
    let malformed = [0x82u8, 0x1E];
    let expected = decode_client(&malformed, &Limits::default())
        .expect_err("malformed")
        .close_code();
    assert_eq!(expected, CloseCode::MalformedMessage);
    ws.send(Message::Binary(malformed.to_vec().into()))
        .await
        .expect("send");
    let mut close_message = None;
    let code = loop {
        match next(&mut ws).await {
            Ok(ServerMessage::Close { code, reason }) => close_message = Some((code, reason)),
            Ok(_) => {}
            Err(code) => break code,
        }
    };
    let (code_in_message, reason) = close_message.expect("a Close message before the close frame");
    assert_eq!(code_in_message, expected, "{reason}");
    assert_eq!(code, Some(expected.as_u16()));
    // A protocol violation is not a network drop: no resume, the host connection closes
    // and the session stays on the host, disconnected.
    gateway
        .wait_state(session_id, SessionState::Disconnected)
        .await;
    assert!(
        gateway.sessions.registry.is_empty(),
        "nothing left to resume"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_websocket_resumes_the_same_session() {
    let gateway = Gateway::start_with(SessionConfig {
        reconnect_grace: Duration::from_secs(3),
        ..SessionConfig::default()
    })
    .await;
    let (ticket, session_id) = gateway.ticket().await;
    let mut ws = gateway.open(&ticket).await.expect("upgrade");
    send(&mut ws, &hello(1280, 800)).await;
    let first = match next(&mut ws).await {
        Ok(ServerMessage::ServerHello(h)) => h,
        other => panic!("expected ServerHello, got {other:?}"),
    };
    assert!(!first.resume_token.is_empty(), "a token to resume with");
    let mut canvas = Canvas::new(first.width, first.height);
    paint_until_demo_app(&mut ws, &mut canvas).await;

    // The network goes: the TCP connection drops without any close.
    drop(ws);
    gateway
        .wait_state(session_id, SessionState::Disconnected)
        .await;

    // A new websocket with the token gets the same session and a full picture.
    let mut ws = gateway.open_resume().await;
    let second = resume(&mut ws, first.resume_token.clone())
        .await
        .expect("resumed");
    assert_eq!(second.session_id, session_id.into_bytes());
    assert_ne!(
        second.resume_token, first.resume_token,
        "tokens are single use"
    );
    gateway.wait_state(session_id, SessionState::Active).await;
    let mut canvas = Canvas::new(second.width, second.height);
    paint_until_demo_app(&mut ws, &mut canvas).await;

    // The spent token is refused with 4100.
    let mut stale = gateway.open_resume().await;
    assert_eq!(
        resume(&mut stale, first.resume_token.clone()).await.err(),
        Some(Some(CloseCode::ResumeFailed.as_u16()))
    );
    // No ticket and no token: 4100 as well.
    let mut bare = gateway.open_resume().await;
    send(&mut bare, &hello(1280, 800)).await;
    assert_eq!(
        closed_with(&mut bare).await,
        Some(CloseCode::ResumeFailed.as_u16())
    );

    // A second window takes the session over; the first is told so.
    let mut other = gateway.open_resume().await;
    let third = resume(&mut other, second.resume_token.clone())
        .await
        .expect("taken over");
    assert_eq!(
        closed_with(&mut ws).await,
        Some(CloseCode::SessionTakenOver.as_u16())
    );
    let mut canvas = Canvas::new(third.width, third.height);
    paint_until_demo_app(&mut other, &mut canvas).await;

    // After the grace the host connection closes: the session stays disconnected on the
    // host and its token no longer resumes it.
    drop(other);
    gateway
        .wait_state(session_id, SessionState::Disconnected)
        .await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while !gateway.sessions.registry.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "grace never ran out"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut late = gateway.open_resume().await;
    assert_eq!(
        resume(&mut late, third.resume_token.clone()).await.err(),
        Some(Some(CloseCode::ResumeFailed.as_u16()))
    );
    assert_eq!(
        gateway.session_state(session_id).await,
        SessionState::Disconnected
    );
    let actions = gateway.audit_actions(session_id).await;
    for action in [
        "session.connect",
        "session.disconnect",
        "session.resume",
        "session.end",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
}

/// Paints frames (acking each) until `done` holds for the canvas.
async fn paint_until(ws: &mut Ws, canvas: &mut Canvas, what: &str, done: impl Fn(&Canvas) -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        assert!(tokio::time::Instant::now() < deadline, "{what}");
        match next(ws).await {
            Ok(ServerMessage::FrameEnd { frame_id }) => {
                send(ws, &ClientMessage::FrameAck { frame_id }).await;
                if done(canvas) {
                    return;
                }
            }
            Ok(message) => canvas.apply(&message),
            Err(code) => panic!("closed early with {code:?}"),
        }
    }
}

fn scancode(code: u16, down: bool) -> ClientMessage {
    ClientMessage::KeyScancode {
        scancode: hamn_gateway::wire::Scancode::new(code).expect("scancode"),
        down,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clipboard_text_from_the_browser_is_pasted_by_the_host() {
    let host = DemoHost::start("tls");
    let spec = HostSpec {
        port: host.port,
        username: DEMO_USER.to_owned(),
        password: DEMO_PASSWORD.to_owned(),
    };
    let gateway = Gateway::start_for(spec, Box::new(host), SessionConfig::default()).await;
    let (ticket, _) = gateway.ticket().await;
    let mut ws = gateway.open(&ticket).await.expect("upgrade");
    send(&mut ws, &hello(1280, 800)).await;
    let server_hello = match next(&mut ws).await {
        Ok(ServerMessage::ServerHello(h)) => h,
        other => panic!("expected ServerHello, got {other:?}"),
    };
    assert!(
        server_hello.capabilities.0 & hamn_gateway::wire::Capabilities::CLIPBOARD != 0,
        "the demo pool allows the clipboard"
    );
    let mut canvas = Canvas::new(server_hello.width, server_hello.height);
    paint_until_demo_app(&mut ws, &mut canvas).await;
    for down in [true, false] {
        send(
            &mut ws,
            &ClientMessage::MouseButton {
                button: hamn_gateway::wire::MouseButton::Left,
                down,
                x: 700,
                y: 180,
            },
        )
        .await;
    }
    // The Namn field has focus once its border takes the focus colour.
    paint_until(&mut ws, &mut canvas, "Namn never got focus", |c| {
        c.pixel(560, 164) == [46, 117, 182]
    })
    .await;
    send(
        &mut ws,
        &ClientMessage::ClipboardText("Hej från webbläsaren".to_owned()),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    for message in [
        scancode(0x1D, true),
        scancode(0x2F, true),
        scancode(0x2F, false),
        scancode(0x1D, false),
    ] {
        send(&mut ws, &message).await;
    }
    // Ctrl+C until the host's copy (the field with the pasted text) comes back: the paste
    // itself is a round trip (the host asks the gateway for the data), so an early copy
    // may still hold the field without it.
    let ctrl_c = [
        scancode(0x1D, true),
        scancode(0x2E, true),
        scancode(0x2E, false),
        scancode(0x1D, false),
    ];
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut copies = Vec::new();
    let mut copy_tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the pasted text never came back; copies: {copies:?}"
        );
        tokio::select! {
            _ = copy_tick.tick() => {
                for message in &ctrl_c {
                    send(&mut ws, message).await;
                }
            }
            message = next(&mut ws) => match message {
                Ok(ServerMessage::ClipboardText(text)) => {
                    if text.ends_with("Hej från webbläsaren") {
                        assert!(text.starts_with("Åsa Öberg"), "{text:?}");
                        break;
                    }
                    copies.push(text);
                }
                Ok(ServerMessage::FrameEnd { frame_id }) => {
                    send(&mut ws, &ClientMessage::FrameAck { frame_id }).await;
                }
                Ok(_) => {}
                Err(code) => panic!("closed early with {code:?}"),
            }
        }
    }
}

/// A second launch of the same app by the same user names the live session (the broker's
/// roaming); the gateway hands that session to the new window and closes the old one with
/// 4101 — one RDP connection throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_launch_takes_the_live_session_over() {
    let gateway = Gateway::start().await;
    let (first_ticket, session_id) = gateway.ticket().await;
    let mut first = gateway.open(&first_ticket).await.expect("upgrade");
    send(&mut first, &hello(1280, 800)).await;
    let hello_one = match next(&mut first).await {
        Ok(ServerMessage::ServerHello(h)) => h,
        other => panic!("expected ServerHello, got {other:?}"),
    };
    let mut canvas = Canvas::new(hello_one.width, hello_one.height);
    paint_until_demo_app(&mut first, &mut canvas).await;

    let (second_ticket, roamed) = gateway.ticket().await;
    assert_eq!(
        roamed, session_id,
        "the broker placed the launch on the live session"
    );
    let mut second = gateway.open(&second_ticket).await.expect("upgrade");
    send(&mut second, &hello(1280, 800)).await;
    let hello_two = match next(&mut second).await {
        Ok(ServerMessage::ServerHello(h)) => h,
        other => panic!("expected ServerHello, got {other:?}"),
    };
    assert_eq!(hello_two.session_id, session_id.into_bytes());
    assert_eq!(
        closed_with(&mut first).await,
        Some(CloseCode::SessionTakenOver.as_u16())
    );
    let mut canvas = Canvas::new(hello_two.width, hello_two.height);
    paint_until_demo_app(&mut second, &mut canvas).await;
    assert_eq!(gateway.sessions.registry.len(), 1, "still one session");
    let actions = gateway.audit_actions(session_id).await;
    assert!(actions.iter().any(|a| a == "session.resume"), "{actions:?}");
}

// ---------------------------------------------------------------- session lifecycle

/// Reads (acking frames, painting nothing) until a message for which `pick` is `Some`.
async fn until<T>(ws: &mut Ws, what: &str, pick: impl Fn(&ServerMessage) -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        assert!(tokio::time::Instant::now() < deadline, "{what}");
        match next(ws).await {
            Ok(message) => {
                if let Some(found) = pick(&message) {
                    return found;
                }
                if let ServerMessage::FrameEnd { frame_id } = message {
                    send(ws, &ClientMessage::FrameAck { frame_id }).await;
                }
            }
            Err(code) => panic!("closed with {code:?} while waiting for {what}"),
        }
    }
}

/// Reads (acking frames) until the socket closes: the Close message's code and reason.
async fn close_message(ws: &mut Ws) -> (CloseCode, String) {
    let mut seen = None;
    loop {
        match next(ws).await {
            Ok(ServerMessage::Close { code, reason }) => seen = Some((code, reason)),
            Ok(ServerMessage::FrameEnd { frame_id }) => {
                // The session may already be gone; a failed ack is part of the close.
                let _ = ws
                    .send(Message::Binary(
                        encode_client(&ClientMessage::FrameAck { frame_id }).into(),
                    ))
                    .await;
            }
            Ok(_) => {}
            Err(ws_code) => {
                let (code, reason) = seen.expect("a Close message before the close frame");
                assert_eq!(
                    ws_code,
                    Some(code.as_u16()),
                    "close frame and message agree"
                );
                return (code, reason);
            }
        }
    }
}

impl Gateway {
    /// Opens a new session and paints until the demo app shows.
    async fn connected(&self) -> (Ws, Uuid) {
        let (ticket, session_id) = self.ticket().await;
        let mut ws = self.open(&ticket).await.expect("upgrade");
        send(&mut ws, &hello(1280, 800)).await;
        let server_hello = match next(&mut ws).await {
            Ok(ServerMessage::ServerHello(h)) => h,
            other => panic!("expected ServerHello, got {other:?}"),
        };
        let mut canvas = Canvas::new(server_hello.width, server_hello.height);
        paint_until_demo_app(&mut ws, &mut canvas).await;
        (ws, session_id)
    }

    /// An admin API request as the dev PKI's operator, straight into the broker's router
    /// on this gateway's database (the TLS layer's work — the client certificate in the
    /// request — done by hand): the status and the JSON answer.
    async fn admin(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        use tower::ServiceExt as _;
        let paths = hamn_certs::DevPkiPaths::new(&self._dir.path().join("certs"));
        let verifier =
            hamn_certs::ClientCertVerifier::from_ca_pem_file(&paths.api_ca_cert()).expect("API CA");
        let state = hamn_broker::AdminState::new(
            self.database.clone(),
            verifier,
            vec![hamn_certs::pki::OPERATOR_CN.to_owned()],
        );
        let pem = std::fs::read(paths.api_operator_cert()).expect("operator certificate");
        let chain = rustls_pemfile::certs(&mut pem.as_slice())
            .collect::<Result<Vec<_>, _>>()
            .expect("PEM");
        let mut request = axum::http::Request::builder()
            .method("POST")
            .uri(path)
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body.to_string()))
            .expect("request");
        request
            .extensions_mut()
            .insert(hamn_certs::PeerCertificates(Arc::new(chain)));
        let peer: std::net::SocketAddr = "127.0.0.1:40000".parse().expect("address");
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(peer));
        let response = hamn_broker::router(state)
            .oneshot(request)
            .await
            .expect("answer");
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        (status, serde_json::from_slice(&bytes).expect("JSON"))
    }

    /// `POST /api/v1/sessions/{session}/{action}` as the operator: the queued command's id.
    pub(crate) async fn admin_action(
        &self,
        session: Uuid,
        action: &str,
        body: serde_json::Value,
    ) -> Uuid {
        let (status, answer) = self
            .admin(&format!("/api/v1/sessions/{session}/{action}"), body)
            .await;
        assert_eq!(status, 200, "{action}: {answer:#}");
        answer["command"]["id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .expect("the command's id")
    }

    async fn command_row(&self, id: Uuid) -> hamn_broker::model::QueuedCommand {
        let mut conn = self.database.pool().acquire().await.expect("conn");
        repo::session_commands::get(&mut conn, id)
            .await
            .expect("command")
            .expect("row")
    }

    /// Waits until the session's task has finished command `id`.
    pub(crate) async fn finished(&self, id: Uuid) -> hamn_broker::model::QueuedCommand {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let row = self.command_row(id).await;
            if row.finished_at.is_some() {
                return row;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "never finished: {row:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub(crate) async fn set_pool(&self, change: impl FnOnce(&mut hamn_broker::model::HostPool)) {
        let mut conn = self.database.pool().acquire().await.expect("conn");
        let app = repo::apps::get(&mut conn, self.app)
            .await
            .expect("app")
            .expect("row");
        let mut pool = repo::pools::get(&mut conn, app.pool_id)
            .await
            .expect("pool")
            .expect("row");
        change(&mut pool);
        repo::pools::update(&mut conn, &pool).await.expect("update");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrators_message_reaches_the_browser_and_the_session_goes_on() {
    let gateway = Gateway::start().await;
    let (mut ws, session_id) = gateway.connected().await;
    let id = gateway
        .admin_action(
            session_id,
            "message",
            serde_json::json!({
                "text": "Procapita startas om kl. 18:00.\nSpara ditt arbete.",
                "sender": "Driften i Ale",
            }),
        )
        .await;
    let (sender, text) = until(&mut ws, "the administrator's message", |m| match m {
        ServerMessage::AdminMessage { sender, text } => Some((sender.clone(), text.clone())),
        _ => None,
    })
    .await;
    assert_eq!(sender, "Driften i Ale");
    assert_eq!(text, "Procapita startas om kl. 18:00.\nSpara ditt arbete.");
    let row = gateway.finished(id).await;
    assert_eq!(row.state, CommandState::Done, "{row:?}");
    assert_eq!(row.claimed_by.as_deref(), Some("gateway"));
    // Exactly once: nothing is left to claim, and the session is still live.
    let mut conn = gateway.database.pool().acquire().await.expect("conn");
    let again = session_control::claim(
        &mut conn,
        "other-node",
        &[session_id],
        time::OffsetDateTime::now_utc(),
    )
    .await
    .expect("claim");
    assert!(again.is_empty());
    drop(conn);
    send(&mut ws, &ClientMessage::Ping { timestamp: 7 }).await;
    until(&mut ws, "the pong", |m| {
        matches!(m, ServerMessage::Pong { timestamp: 7 }).then_some(())
    })
    .await;
    assert_eq!(
        gateway.session_state(session_id).await,
        SessionState::Active
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrators_disconnect_closes_4300_and_the_next_launch_roams_back() {
    let gateway = Gateway::start().await;
    let (mut ws, session_id) = gateway.connected().await;
    let id = gateway
        .admin_action(
            session_id,
            "disconnect",
            serde_json::json!({ "reason": "Värden startas om" }),
        )
        .await;
    let (code, reason) = close_message(&mut ws).await;
    assert_eq!(code, CloseCode::EndedByAdmin);
    assert_eq!(reason, "Värden startas om");
    gateway
        .wait_state(session_id, SessionState::Disconnected)
        .await;
    assert_eq!(gateway.finished(id).await.state, CommandState::Done);
    let deadline = tokio::time::Instant::now() + WAIT;
    while !gateway.sessions.registry.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the RDP connection stayed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The Windows session is still there: the next launch is the same session.
    let (mut ws, again) = gateway.connected().await;
    assert_eq!(
        again, session_id,
        "the launch roamed back to the disconnected session"
    );
    gateway.wait_state(session_id, SessionState::Active).await;
    drop(ws.close(None).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrators_logoff_ends_the_session_and_queues_the_host_logoff() {
    let gateway = Gateway::start().await;
    let (mut ws, session_id) = gateway.connected().await;
    let id = gateway
        .admin_action(
            session_id,
            "logoff",
            serde_json::json!({ "reason": "Utloggad av driften" }),
        )
        .await;
    let (code, reason) = close_message(&mut ws).await;
    assert_eq!(code, CloseCode::EndedByAdmin);
    assert_eq!(reason, "Utloggad av driften");
    gateway.wait_state(session_id, SessionState::Ended).await;
    assert_eq!(gateway.finished(id).await.state, CommandState::Done);
    let mut conn = gateway.database.pool().acquire().await.expect("conn");
    let host = repo::host_commands::list_for_session(&mut conn, session_id)
        .await
        .expect("host commands");
    assert_eq!(host.len(), 1, "the host agent is asked to log the user off");
    drop(conn);
    // The session is gone: the next launch is a new one.
    let (_, next_session) = gateway.ticket().await;
    assert_ne!(next_session, session_id);
    // The task records its end once the RDP connection is closed.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let actions = gateway.audit_actions(session_id).await;
        if actions.iter().any(|a| a == "session.end") {
            assert!(
                actions.iter().any(|a| a == "session.admin_logoff"),
                "{actions:?}"
            );
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{actions:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(gateway.session_state(session_id).await, SessionState::Ended);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_session_is_warned_then_closed_with_4301_unless_input_arrives() {
    let gateway = Gateway::start().await;
    gateway
        .set_pool(|pool| {
            pool.idle_timeout_secs = 8;
            pool.timeout_warning_secs = 4;
        })
        .await;
    let (mut ws, session_id) = gateway.connected().await;
    let moved = |x| ClientMessage::MouseMove { x, y: 300 };
    send(&mut ws, &moved(400)).await;

    // No input: the warning comes with the seconds left.
    let seconds = until(&mut ws, "the idle warning", |m| match m {
        ServerMessage::Status {
            code: StatusCode::IdleWarning,
            seconds,
            ..
        } => Some(*seconds),
        _ => None,
    })
    .await;
    assert!((1..=4).contains(&seconds), "{seconds}");

    // Input lifts it.
    send(&mut ws, &moved(410)).await;
    until(&mut ws, "the warning lifted", |m| {
        matches!(
            m,
            ServerMessage::Status {
                code: StatusCode::IdleWarningCleared,
                ..
            }
        )
        .then_some(())
    })
    .await;
    assert_eq!(
        gateway.session_state(session_id).await,
        SessionState::Active
    );

    // No more input: warned again, then closed with 4301; the session stays on the host.
    until(&mut ws, "the second idle warning", |m| {
        matches!(
            m,
            ServerMessage::Status {
                code: StatusCode::IdleWarning,
                ..
            }
        )
        .then_some(())
    })
    .await;
    let (code, _) = close_message(&mut ws).await;
    assert_eq!(code, CloseCode::IdleTimeout);
    gateway
        .wait_state(session_id, SessionState::Disconnected)
        .await;
}

/// The print service is down: the demo app's "Skriv ut" goes to the session's redirected
/// printer, the gateway cannot reach the print service, the job fails on the host (an IRP
/// error) and the browser is told why (`PrintNotice` refused, `print_unavailable`), while
/// the session goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_print_service_outage_fails_the_job_and_tells_the_browser() {
    // A port nothing listens on any more.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let gateway = Gateway::start_with(SessionConfig {
        printing: Some(Arc::new(hamn_gateway::print::PrintClientConfig {
            url: format!("https://127.0.0.1:{dead}"),
            ca_pem: None,
            printer_name: "Hamn PDF".to_owned(),
        })),
        ..SessionConfig::default()
    })
    .await;
    let (mut ws, _) = gateway.connected().await;
    // The printer is announced after logon; then "Skriv ut" (x 758–858, y 320–356).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (x, y) = (808, 338);
    send(&mut ws, &ClientMessage::MouseMove { x, y }).await;
    for down in [true, false] {
        let button = ClientMessage::MouseButton {
            button: hamn_gateway::wire::MouseButton::Left,
            down,
            x,
            y,
        };
        send(&mut ws, &button).await;
    }
    let reason = until(&mut ws, "the print refusal", |m| match m {
        ServerMessage::PrintNotice {
            outcome: hamn_gateway::wire::PrintOutcome::Refused { reason },
            ..
        } => Some(reason.clone()),
        _ => None,
    })
    .await;
    assert_eq!(reason, "print_unavailable");
    send(&mut ws, &ClientMessage::Ping { timestamp: 9 }).await;
    until(&mut ws, "the pong after the failed job", |m| {
        matches!(m, ServerMessage::Pong { timestamp: 9 }).then_some(())
    })
    .await;
}
