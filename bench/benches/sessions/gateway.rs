//! The real gateway session path for the benchmark: a seeded SQLite database, the gateway's
//! router on a loopback TLS listener (as `gateway/tests/gateway/session.rs` starts it) and a
//! synthetic browser that speaks the wire protocol: it sends `ClientHello`, acknowledges every
//! `FrameEnd` at once and counts the bytes of every binary message without decoding a tile's
//! image.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use futures_util::{SinkExt as _, StreamExt as _};
use hamn_broker::db::{Database, DatabaseConfig};
use hamn_broker::ticket::keys::PUBLIC_KEY_FILE;
use hamn_broker::{
    LaunchPath, Secret, SecretsKey, TicketIssuer, TicketKeys, TicketVerifier, issue_launch_ticket,
};
use hamn_gateway::PortalState;
use hamn_gateway::session::{SessionConfig, SessionService};
use hamn_gateway::wire::{
    ClientHello, ClientMessage, Limits, PROTOCOL_VERSION, ServerMessage, TileEncoding,
    decode_server, encode_client,
};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// How long opening one session (ticket, upgrade, RDP connect, ServerHello) may take.
const OPEN_WAIT: Duration = Duration::from_secs(90);

/// The RDP host the seeded pool points at, and the account the gateway logs on with.
pub struct HostSeed {
    pub port: u16,
    pub username: String,
    pub password: String,
}

/// A gateway serving `/ws/session` on loopback, with its database and ticket issuer.
pub struct Gateway {
    port: u16,
    database: Database,
    issuer: TicketIssuer,
    user: Uuid,
    app: Uuid,
    tls: Arc<rustls::ClientConfig>,
    shutdown: CancellationToken,
    /// The dev CA (PEM) and the server certificate files it issued (`print_notify` runs the
    /// print service on them).
    ca_pem: String,
    server_certs: hamn_certs::ServerCertFiles,
    database_config: DatabaseConfig,
    _dir: tempfile::TempDir,
}

impl Gateway {
    pub async fn start(host: &HostSeed) -> anyhow::Result<Gateway> {
        let dir = tempfile::tempdir()?;
        let database_config = DatabaseConfig {
            url: format!("sqlite://{}?mode=rwc", dir.path().join("hamn.db").display()),
            max_connections: 5,
        };
        let database = Database::connect(&database_config).await?;
        database.migrate().await?;
        let secrets = SecretsKey::generate()?;
        let ids = hamn_broker::seed::demo(
            &database,
            hamn_broker::DemoSeed {
                host_address: "127.0.0.1".to_owned(),
                host_port: host.port,
                // The capacity ramp holds hundreds of sessions on one host.
                host_capacity: 10_000,
                host_username: host.username.clone(),
                host_password: Secret::new(&host.password),
                secrets_key: Some(secrets.clone()),
                ..Default::default()
            },
        )
        .await?;
        let keys = TicketKeys::load_or_create(dir.path())?;
        let issuer = TicketIssuer::new(Arc::new(keys));
        let verifier = TicketVerifier::from_public_key_files(&[dir.path().join(PUBLIC_KEY_FILE)])?;

        let certs = dir.path().join("certs");
        let pki = hamn_certs::DevPki::init(&certs)?;
        let ca_pem = std::fs::read(hamn_certs::DevPkiPaths::new(&certs).ca_cert())?;
        let server_tls = hamn_certs::server::server_config(&pki.server_cert_files())?;
        let shutdown = CancellationToken::new();
        let sessions = SessionService::new(
            database.clone(),
            verifier,
            secrets,
            SessionConfig {
                // Hundreds of sessions connect at once during the ramp on a loaded machine.
                connect_timeout: Duration::from_secs(60),
                ..SessionConfig::default()
            },
            shutdown.child_token(),
        );
        let app = hamn_gateway::router(PortalState {
            database: database.clone(),
            sessions: Some(Arc::new(sessions)),
            api: None,
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        tokio::spawn(hamn_certs::serve(
            listener,
            server_tls,
            app,
            shutdown.clone(),
        ));
        Ok(Gateway {
            port,
            database,
            issuer,
            user: ids.user,
            app: ids.app_prod,
            tls: Arc::new(client_tls(&ca_pem)?),
            shutdown,
            ca_pem: String::from_utf8_lossy(&ca_pem).into_owned(),
            server_certs: pki.server_cert_files(),
            database_config,
            _dir: dir,
        })
    }

    /// Launches the app (a real ticket), upgrades, says hello with `width`×`height` and
    /// waits for `ServerHello`. Tiles' arrival times go to `observe` when given.
    pub async fn open(
        &self,
        width: u16,
        height: u16,
        observe: Option<mpsc::UnboundedSender<Observed>>,
    ) -> anyhow::Result<Client> {
        tokio::time::timeout(OPEN_WAIT, self.open_inner(width, height, observe))
            .await
            .context("opening a session took too long")?
    }

    async fn open_inner(
        &self,
        width: u16,
        height: u16,
        observe: Option<mpsc::UnboundedSender<Observed>>,
    ) -> anyhow::Result<Client> {
        let ticket = issue_launch_ticket(
            &self.database,
            &self.issuer,
            self.user,
            self.app,
            LaunchPath::Browser,
        )
        .await?
        .ticket;
        let tcp = TcpStream::connect(("127.0.0.1", self.port)).await?;
        let name = rustls_pki_types::ServerName::try_from("localhost")?;
        let tls = TlsConnector::from(self.tls.clone())
            .connect(name, tcp)
            .await?;
        let url = format!("wss://localhost:{}/ws/session?ticket={ticket}", self.port);
        let (mut ws, _) = tokio_tungstenite::client_async(url, tls).await?;
        let hello = ClientMessage::ClientHello(ClientHello {
            version: PROTOCOL_VERSION,
            width,
            height,
            scale_percent: 100,
            resume_token: None,
            keyboard_layout: "sv-SE".to_owned(),
        });
        ws.send(Message::Binary(encode_client(&hello).into()))
            .await?;
        let counters = Arc::new(ClientCounters::default());
        let size = loop {
            let Some(message) = ws.next().await else {
                bail!("the gateway closed before ServerHello");
            };
            let Message::Binary(bytes) = message? else {
                continue;
            };
            counters.count(bytes.len());
            match decode_server(&bytes, &Limits::default())? {
                ServerMessage::ServerHello(hello) => break (hello.width, hello.height),
                ServerMessage::Close { code, reason } => {
                    bail!("closed before ServerHello: {code:?} {reason}")
                }
                other => bail!("expected ServerHello, got {other:?}"),
            }
        };
        let (commands, inbox) = mpsc::unbounded_channel();
        let task = tokio::spawn({
            let counters = counters.clone();
            async move {
                let result = drive(ws, inbox, counters.clone(), observe).await;
                let reason = match &result {
                    Ok(()) => "closed".to_owned(),
                    Err(error) => format!("{error:#}"),
                };
                *counters
                    .ended
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(reason);
                result
            }
        });
        Ok(Client {
            size,
            counters,
            commands,
            task,
        })
    }

    pub fn stop(&self) {
        self.shutdown.cancel();
    }
}

/// What `print_notify` (which shares this file) needs besides sessions.
#[allow(dead_code)]
impl Gateway {
    pub fn database(&self) -> Database {
        self.database.clone()
    }

    pub fn database_config(&self) -> DatabaseConfig {
        self.database_config.clone()
    }

    pub fn ca_pem(&self) -> String {
        self.ca_pem.clone()
    }

    pub fn server_cert_files(&self) -> hamn_certs::ServerCertFiles {
        self.server_certs.clone()
    }

    pub fn dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.child_token()
    }

    /// The newest session of the seeded user (the one [`Self::open`] just made).
    pub async fn last_session(&self) -> anyhow::Result<Uuid> {
        let mut conn = self.database.acquire().await?;
        let id: String = sqlx::query_scalar(
            "SELECT id FROM sessions WHERE user_id = $1 ORDER BY id DESC LIMIT 1",
        )
        .bind(self.user.to_string())
        .fetch_one(&mut *conn)
        .await?;
        Ok(Uuid::parse_str(&id)?)
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

fn client_tls(ca_pem: &[u8]) -> anyhow::Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut &ca_pem[..]) {
        roots.add(cert?)?;
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// What the synthetic browser received, counted as it arrives.
#[derive(Default)]
pub struct ClientCounters {
    /// Payload bytes of every binary websocket message (the wire protocol's bytes; websocket
    /// framing and TLS records add a little on top).
    pub bytes: AtomicU64,
    pub frames: AtomicU64,
    pub tiles: AtomicU64,
    pub copies: AtomicU64,
    /// Bytes of JPEG tiles' images (the lossy share).
    pub jpeg_bytes: AtomicU64,
    /// Why the session ended, once it has.
    ended: std::sync::Mutex<Option<String>>,
    /// Where administrators' messages and print notices go, with their arrival time.
    notices: std::sync::Mutex<Option<mpsc::UnboundedSender<(Instant, ServerMessage)>>>,
}

/// [`ClientCounters`] at one instant.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counts {
    pub bytes: u64,
    pub frames: u64,
    pub tiles: u64,
    pub copies: u64,
    pub jpeg_bytes: u64,
}

impl ClientCounters {
    fn count(&self, bytes: usize) {
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Why the session ended, or `None` while it runs.
    pub fn ended(&self) -> Option<String> {
        self.ended
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub fn snapshot(&self) -> Counts {
        Counts {
            bytes: self.bytes.load(Ordering::Relaxed),
            frames: self.frames.load(Ordering::Relaxed),
            tiles: self.tiles.load(Ordering::Relaxed),
            copies: self.copies.load(Ordering::Relaxed),
            jpeg_bytes: self.jpeg_bytes.load(Ordering::Relaxed),
        }
    }
}

/// A tile or copy that reached the client: when, and which rectangle (x, y, w, h).
pub type Observed = (Instant, [u16; 4]);

enum Command {
    Send(ClientMessage),
    Ping(u32, oneshot::Sender<()>),
    Close,
}

/// One synthetic browser session, driven by its own task.
pub struct Client {
    pub size: (u16, u16),
    pub counters: Arc<ClientCounters>,
    commands: mpsc::UnboundedSender<Command>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Client {
    /// Reports every AdminMessage and PrintNotice from now on to `to` (`print_notify`).
    #[allow(dead_code)]
    pub fn notices(&self, to: mpsc::UnboundedSender<(Instant, ServerMessage)>) {
        *self
            .counters
            .notices
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(to);
    }

    pub fn send(&self, message: ClientMessage) -> anyhow::Result<()> {
        self.commands
            .send(Command::Send(message))
            .map_err(|_| anyhow::anyhow!("the session has ended"))
    }

    /// Sends a Ping through the session loop; the receiver completes when its Pong arrives.
    pub fn ping(&self, timestamp: u32) -> anyhow::Result<oneshot::Receiver<()>> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::Ping(timestamp, tx))
            .map_err(|_| anyhow::anyhow!("the session has ended"))?;
        Ok(rx)
    }

    /// Closes the websocket and waits for the driver to finish.
    pub async fn close(self) {
        let _ = self.commands.send(Command::Close);
        let _ = tokio::time::timeout(Duration::from_secs(10), self.task).await;
    }
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_rustls::client::TlsStream<TcpStream>>;

/// Reads the gateway's messages (acknowledging frames at once) and sends what it is told.
async fn drive(
    mut ws: Ws,
    mut inbox: mpsc::UnboundedReceiver<Command>,
    counters: Arc<ClientCounters>,
    observe: Option<mpsc::UnboundedSender<Observed>>,
) -> anyhow::Result<()> {
    let limits = Limits::default();
    let mut pings: Vec<(u32, oneshot::Sender<()>)> = Vec::new();
    loop {
        tokio::select! {
            received = ws.next() => {
                let Some(received) = received else { return Ok(()) };
                let bytes = match received? {
                    Message::Binary(bytes) => bytes,
                    Message::Close(_) => return Ok(()),
                    _ => continue,
                };
                counters.count(bytes.len());
                // The tile's image stays undecoded: a browser's image decoding is not the
                // gateway's cost.
                match decode_server(&bytes, &limits)? {
                    ServerMessage::Tile(tile) => {
                        counters.tiles.fetch_add(1, Ordering::Relaxed);
                        if tile.encoding == TileEncoding::Jpeg {
                            counters.jpeg_bytes.fetch_add(tile.data.len() as u64, Ordering::Relaxed);
                        }
                        if let Some(observe) = &observe {
                            let _ = observe.send((Instant::now(), [tile.x, tile.y, tile.w, tile.h]));
                        }
                    }
                    ServerMessage::FrameEnd { frame_id } => {
                        counters.frames.fetch_add(1, Ordering::Relaxed);
                        let ack = ClientMessage::FrameAck { frame_id };
                        ws.send(Message::Binary(encode_client(&ack).into())).await?;
                    }
                    ServerMessage::CopyRect(copy) => {
                        counters.copies.fetch_add(1, Ordering::Relaxed);
                        if let Some(observe) = &observe {
                            let _ = observe.send((Instant::now(), [copy.dst_x, copy.dst_y, copy.w, copy.h]));
                        }
                    }
                    ServerMessage::Pong { timestamp } => {
                        if let Some(at) = pings.iter().position(|(t, _)| *t == timestamp) {
                            let _ = pings.swap_remove(at).1.send(());
                        }
                    }
                    ServerMessage::Close { code, reason } => {
                        bail!("the gateway closed the session: {code:?} {reason}")
                    }
                    message @ (ServerMessage::AdminMessage { .. } | ServerMessage::PrintNotice { .. }) => {
                        let at = Instant::now();
                        if let Some(to) = counters
                            .notices
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .as_ref()
                        {
                            let _ = to.send((at, message));
                        }
                    }
                    _ => {}
                }
            }
            command = inbox.recv() => match command {
                Some(Command::Send(message)) => {
                    ws.send(Message::Binary(encode_client(&message).into())).await?;
                }
                Some(Command::Ping(timestamp, reply)) => {
                    pings.push((timestamp, reply));
                    let ping = ClientMessage::Ping { timestamp };
                    ws.send(Message::Binary(encode_client(&ping).into())).await?;
                }
                Some(Command::Close) | None => {
                    let _ = ws.close(None).await;
                    // Drain until the gateway's close frame so it ends the session cleanly.
                    while let Ok(Some(Ok(_))) =
                        tokio::time::timeout(Duration::from_secs(5), ws.next()).await
                    {}
                    return Ok(());
                }
            }
        }
    }
}
