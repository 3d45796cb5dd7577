//! What the RD Gateway path costs a native client: relay throughput and round-trip latency
//! through the real gateway's MS-TSGU tunnel (TLS, websocket, `hamn_gateway::rdg`, the
//! native relay) to a TCP echo "host", against two baselines measured in the same run: a
//! direct TCP connection to the echo host, and a bare TLS relay written here (TLS in,
//! plain TCP out, `copy_bidirectional`). Then how many idle tunnels the machine holds:
//! `HAMN_BENCH_RDG_TUNNELS` (default 2,000) opened one after another, resident memory per
//! tunnel against the same number of idle bare-TLS-relay connections. The process holds
//! both ends (clients, gateway, echo host), so the memory is per connection end to end.
//! Run: `cargo bench -p hamn-bench --bench rdg_relay`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use futures_util::{SinkExt as _, StreamExt as _};
use hamn_bench::Samples;
use hamn_broker::db::{Database, DatabaseConfig};
use hamn_broker::ticket::keys::PUBLIC_KEY_FILE;
use hamn_broker::{
    LaunchPath, Secret, SecretsKey, TicketIssuer, TicketKeys, TicketVerifier, issue_launch_ticket,
};
use hamn_gateway::PortalState;
use hamn_gateway::rdg::codec::{Packet, client};
use hamn_gateway::session::{SessionConfig, SessionService};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, TlsConnector};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Bytes each path carries to the host and back for the throughput figure.
const THROUGHPUT_BYTES: usize = 64 << 20;
/// One write: what FreeRDP puts in one data packet (one TLS record of RDP).
const CHUNK: usize = 16 * 1024;
/// Bytes in flight at once for the throughput figure (see [`throughput`]).
const WINDOW: usize = 128 * 1024;
const ROUND_TRIPS: usize = 2_000;
/// A small RDP PDU (an input event) each way.
const PING: usize = 64;
const STEP_LIMIT: Duration = Duration::from_secs(120);

type ClientTls = tokio_rustls::client::TlsStream<TcpStream>;
type Ws = WebSocketStream<ClientTls>;

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let tunnels: usize = std::env::var("HAMN_BENCH_RDG_TUNNELS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let shutdown = CancellationToken::new();
    let echo = spawn_echo(shutdown.clone()).await?;
    let gateway = Gateway::start(echo).await?;
    let relay = spawn_tls_relay(&gateway.server_tls, echo, shutdown.clone()).await?;

    println!("RD Gateway relay to a TCP echo host on loopback, 2 worker threads");
    println!(
        "{:<28} {:>10} {:>12} {:>12} {:>12}",
        "path", "MB/s", "rt p50 µs", "rt p99 µs", "rt mean µs"
    );
    let mut rows = Vec::new();
    for path in [Path::Direct, Path::TlsRelay, Path::Gateway] {
        let (latency, mean) = {
            let mut conn = within("connecting", connect(path, echo, relay, &gateway)).await?;
            within("round trips", round_trips(&mut conn)).await?
        };
        let mbps = {
            let conn = within("connecting", connect(path, echo, relay, &gateway)).await?;
            within("throughput", throughput(conn)).await?
        };
        println!(
            "{:<28} {:>10.1} {:>12.1} {:>12.1} {:>12.1}",
            path.name(),
            mbps,
            micros(latency.percentile(0.50)),
            micros(latency.percentile(0.99)),
            micros(mean),
        );
        rows.push((path, mbps, micros(mean)));
    }
    let (_, direct_mbps, direct_rt) = rows[0];
    let (_, tls_mbps, tls_rt) = rows[1];
    let (_, gw_mbps, gw_rt) = rows[2];
    println!(
        "gateway throughput: {:.2}× direct, {:.2}× bare TLS relay",
        gw_mbps / direct_mbps,
        gw_mbps / tls_mbps
    );
    println!(
        "gateway round trip: +{:.1} µs over direct ({:.2}×), +{:.1} µs over the bare TLS relay ({:.2}×)",
        gw_rt - direct_rt,
        gw_rt / direct_rt,
        gw_rt - tls_rt,
        gw_rt / tls_rt
    );

    // Idle connections: the bare relay first (its memory is the baseline), then tunnels.
    let before = rss()?;
    let mut idle_relay = Vec::with_capacity(tunnels);
    for _ in 0..tunnels {
        let mut conn = gateway.tls_to(relay).await?;
        conn.write_all(b"x").await?;
        let mut one = [0u8; 1];
        conn.read_exact(&mut one).await?;
        idle_relay.push(conn);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let relay_per = (rss()?.saturating_sub(before)) as f64 / tunnels as f64;
    drop(idle_relay);
    tokio::time::sleep(Duration::from_millis(500)).await;

    let users = gateway.users(tunnels).await?;
    let before = rss()?;
    let started = Instant::now();
    let mut idle = Vec::with_capacity(tunnels);
    let mut failure = None;
    for user in users {
        match gateway.open_tunnel(user, echo).await {
            Ok(mut ws) => match echo_once(&mut ws).await {
                Ok(()) => idle.push(ws),
                Err(error) => {
                    failure = Some(error);
                    break;
                }
            },
            Err(error) => {
                failure = Some(error);
                break;
            }
        }
    }
    let opened = idle.len();
    let open_time = started.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let tunnel_per = (rss()?.saturating_sub(before)) as f64 / opened.max(1) as f64;
    println!(
        "idle tunnels held: {opened} of {tunnels} ({:.1} ms to open each, one after another){}",
        open_time.as_secs_f64() * 1000.0 / opened.max(1) as f64,
        failure
            .map(|e| format!("; stopped: {e:#}"))
            .unwrap_or_default()
    );
    println!(
        "memory per idle connection: tunnel {:.1} KiB, bare TLS relay {:.1} KiB ({:.2}×)",
        tunnel_per / 1024.0,
        relay_per / 1024.0,
        tunnel_per / relay_per.max(1.0)
    );
    drop(idle);
    shutdown.cancel();
    gateway.shutdown.cancel();
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    Direct,
    TlsRelay,
    Gateway,
}

impl Path {
    fn name(self) -> &'static str {
        match self {
            Path::Direct => "direct TCP",
            Path::TlsRelay => "bare TLS relay",
            Path::Gateway => "gateway MS-TSGU tunnel",
        }
    }
}

/// One connection to the echo host by one of the paths.
enum Conn {
    Stream(Box<dyn Stream>),
    Tunnel(Box<Ws>),
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

async fn connect(path: Path, echo: u16, relay: u16, gateway: &Gateway) -> anyhow::Result<Conn> {
    Ok(match path {
        Path::Direct => {
            let tcp = TcpStream::connect(("127.0.0.1", echo)).await?;
            tcp.set_nodelay(true)?;
            Conn::Stream(Box::new(tcp))
        }
        Path::TlsRelay => Conn::Stream(Box::new(gateway.tls_to(relay).await?)),
        Path::Gateway => Conn::Tunnel(Box::new(gateway.open_tunnel(gateway.user, echo).await?)),
    })
}

/// Round trips of a small PDU; their percentiles and their mean.
async fn round_trips(conn: &mut Conn) -> anyhow::Result<(Samples, Duration)> {
    let ping = [0x5Au8; PING];
    let mut back = vec![0u8; PING];
    let mut pending = Vec::new();
    let mut latencies = Vec::with_capacity(ROUND_TRIPS);
    let wall = Instant::now();
    for _ in 0..ROUND_TRIPS {
        let start = Instant::now();
        match conn {
            Conn::Stream(stream) => {
                stream.write_all(&ping).await?;
                stream.read_exact(&mut back).await?;
            }
            Conn::Tunnel(ws) => {
                ws.send(Message::binary(client::data(&ping))).await?;
                while pending.len() < PING {
                    receive_data(ws, &mut pending).await?;
                }
                pending.drain(..PING);
            }
        }
        latencies.push(start.elapsed());
    }
    let mean = latencies.iter().sum::<Duration>() / ROUND_TRIPS as u32;
    Ok((Samples::new(latencies, wall.elapsed()), mean))
}

/// Megabytes per second carried to the host and back, in windows of `WINDOW` bytes: a
/// window is written, then read back. (A client that writes without reading stalls any
/// relay with bounded buffers against an echo host, once the echo fills the buffers
/// towards the client. Windows smaller than the socket buffers keep the measurement to
/// the relay's cost and apply to every path alike.)
async fn throughput(mut conn: Conn) -> anyhow::Result<f64> {
    let chunk = vec![0xA5u8; CHUNK];
    let packet = client::data(&chunk);
    let mut buffer = vec![0u8; 64 * 1024];
    let mut pending = Vec::new();
    let started = Instant::now();
    for _ in 0..THROUGHPUT_BYTES / WINDOW {
        match &mut conn {
            Conn::Stream(stream) => {
                for _ in 0..WINDOW / CHUNK {
                    stream.write_all(&chunk).await?;
                }
                let mut got = 0;
                while got < WINDOW {
                    let n = stream.read(&mut buffer).await?;
                    if n == 0 {
                        bail!("closed after {got} bytes");
                    }
                    got += n;
                }
            }
            Conn::Tunnel(ws) => {
                for _ in 0..WINDOW / CHUNK {
                    ws.feed(Message::binary(packet.clone())).await?;
                }
                ws.flush().await?;
                while pending.len() < WINDOW {
                    receive_data(ws, &mut pending).await?;
                }
                pending.clear();
            }
        }
    }
    Ok((THROUGHPUT_BYTES as f64 * 2.0) / started.elapsed().as_secs_f64() / 1e6)
}

async fn echo_once(ws: &mut Ws) -> anyhow::Result<()> {
    ws.send(Message::binary(client::data(b"x"))).await?;
    let mut pending = Vec::new();
    while pending.is_empty() {
        receive_data(ws, &mut pending).await?;
    }
    Ok(())
}

/// Appends the data of the next data packet; skips keepalives and service messages.
async fn receive_data(ws: &mut Ws, into: &mut Vec<u8>) -> anyhow::Result<()> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Binary(bytes))) => match Packet::decode(&bytes)? {
                Packet::Data(data) => {
                    into.extend_from_slice(&data);
                    return Ok(());
                }
                Packet::CloseChannel(code) => bail!("the gateway closed the channel: {code}"),
                _ => {}
            },
            Some(Ok(_)) => {}
            Some(Err(error)) => return Err(error.into()),
            None => bail!("the tunnel closed"),
        }
    }
}

/// A step that must not hang the benchmark.
async fn within<T>(
    what: &str,
    step: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    tokio::time::timeout(STEP_LIMIT, step)
        .await
        .with_context(|| format!("{what} took longer than {STEP_LIMIT:?}"))?
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

fn rss() -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .context("no VmRSS")?
        .parse()?;
    Ok(kib * 1024)
}

/// The "host": echoes every byte back.
async fn spawn_echo(shutdown: CancellationToken) -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                _ = shutdown.cancelled() => break,
                accepted = listener.accept() => accepted,
            };
            let Ok((socket, _)) = accepted else { continue };
            let _ = socket.set_nodelay(true);
            tokio::spawn(async move {
                let (mut read, mut write) = socket.into_split();
                let _ = tokio::io::copy(&mut read, &mut write).await;
            });
        }
    });
    Ok(port)
}

/// The baseline relay: TLS in (the gateway's certificate), plain TCP to the host.
async fn spawn_tls_relay(
    server_tls: &Arc<rustls::ServerConfig>,
    echo: u16,
    shutdown: CancellationToken,
) -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let acceptor = TlsAcceptor::from(server_tls.clone());
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                _ = shutdown.cancelled() => break,
                accepted = listener.accept() => accepted,
            };
            let Ok((socket, _)) = accepted else { continue };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let _ = socket.set_nodelay(true);
                let Ok(mut tls) = acceptor.accept(socket).await else {
                    return;
                };
                let Ok(mut host) = TcpStream::connect(("127.0.0.1", echo)).await else {
                    return;
                };
                let _ = host.set_nodelay(true);
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut host).await;
            });
        }
    });
    Ok(port)
}

/// The gateway's router on a loopback TLS listener, its database seeded with the echo
/// host as the demo pool's host.
struct Gateway {
    port: u16,
    database: Database,
    issuer: TicketIssuer,
    tenant: Uuid,
    user: Uuid,
    app: Uuid,
    client_tls: Arc<rustls::ClientConfig>,
    server_tls: Arc<rustls::ServerConfig>,
    shutdown: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Gateway {
    async fn start(host_port: u16) -> anyhow::Result<Gateway> {
        let dir = tempfile::tempdir()?;
        let database = Database::connect(&DatabaseConfig {
            url: format!("sqlite://{}?mode=rwc", dir.path().join("hamn.db").display()),
            max_connections: 5,
        })
        .await?;
        database.migrate().await?;
        let secrets = SecretsKey::generate()?;
        let ids = hamn_broker::seed::demo(
            &database,
            hamn_broker::DemoSeed {
                host_address: "127.0.0.1".to_owned(),
                host_port,
                host_capacity: 10_000,
                host_username: "bench".to_owned(),
                host_password: Secret::new("bench"),
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
            SessionConfig::default(),
            shutdown.child_token(),
        );
        let app = hamn_gateway::router(PortalState {
            database: database.clone(),
            sessions: Some(Arc::new(sessions)),
            api: None,
        });
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        tokio::spawn(hamn_certs::serve(
            listener,
            server_tls.clone(),
            app,
            shutdown.clone(),
        ));
        Ok(Gateway {
            port,
            database,
            issuer,
            tenant: ids.tenant,
            user: ids.user,
            app: ids.app_prod,
            client_tls: Arc::new(client_tls(&ca_pem)?),
            server_tls,
            shutdown,
            _dir: dir,
        })
    }

    /// `n` more users entitled to the app: a launch reuses its user's live session (and a
    /// new tunnel takes the old one over), so idle tunnels need a user each.
    async fn users(&self, n: usize) -> anyhow::Result<Vec<Uuid>> {
        let mut conn = self.database.pool().acquire().await?;
        let mut ids = Vec::with_capacity(n);
        for i in 0..n {
            let user = hamn_broker::repo::users::insert(
                &mut conn,
                self.tenant,
                &hamn_broker::model::NewUser {
                    name_id: format!("bench-{i}"),
                    hsa_id: None,
                    display_name: format!("Bench {i}"),
                },
            )
            .await?;
            hamn_broker::repo::entitlements::insert(
                &mut conn,
                self.tenant,
                self.app,
                &hamn_broker::model::NewEntitlement {
                    group_id: None,
                    user_id: Some(user.id),
                },
            )
            .await?;
            ids.push(user.id);
        }
        Ok(ids)
    }

    async fn tls_to(&self, port: u16) -> anyhow::Result<ClientTls> {
        let tcp = TcpStream::connect(("127.0.0.1", port)).await?;
        tcp.set_nodelay(true)?;
        let name = rustls_pki_types::ServerName::try_from("localhost")?;
        Ok(TlsConnector::from(self.client_tls.clone())
            .connect(name, tcp)
            .await?)
    }

    /// A native launch, the upgrade as FreeRDP 2.11 asks for it, and the MS-TSGU opening
    /// up to an open channel to the echo host.
    async fn open_tunnel(&self, user: Uuid, host_port: u16) -> anyhow::Result<Ws> {
        let launch = issue_launch_ticket(
            &self.database,
            &self.issuer,
            user,
            self.app,
            LaunchPath::Native,
        )
        .await?;
        let reference = launch
            .reference
            .context("a native launch carries a reference")?;
        let mut tls = self.tls_to(self.port).await?;
        let request = format!(
            "RDG_OUT_DATA /remoteDesktopGateway/ HTTP/1.1\r\nHost: localhost\r\n\
             Connection: Upgrade\r\nUpgrade: websocket\r\nSec-Websocket-Version: 13\r\n\
             Sec-Websocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             RDG-Connection-Id: {{{}}}\r\nRDG-Auth-Scheme: PAA\r\nContent-Length: 0\r\n\r\n",
            Uuid::new_v4()
        );
        tls.write_all(request.as_bytes()).await?;
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut byte = [0u8; 1];
            if tls.read(&mut byte).await? == 0 {
                bail!(
                    "closed during the upgrade: {}",
                    String::from_utf8_lossy(&head)
                );
            }
            head.push(byte[0]);
        }
        if !head.starts_with(b"HTTP/1.1 101") {
            bail!("no upgrade: {}", String::from_utf8_lossy(&head));
        }
        let mut ws = WebSocketStream::from_raw_socket(tls, Role::Client, None).await;
        for request in [
            client::handshake(true),
            client::tunnel_create(Some(&reference)),
            client::tunnel_auth("BENCH"),
            client::channel_create("127.0.0.1", host_port),
        ] {
            ws.send(Message::binary(request)).await?;
            let status = loop {
                match ws.next().await {
                    Some(Ok(Message::Binary(bytes))) => match Packet::decode(&bytes)? {
                        Packet::HandshakeResponse(r) => break r.status,
                        Packet::TunnelResponse(r) => break r.status,
                        Packet::TunnelAuthResponse(r) => break r.status,
                        Packet::ChannelResponse(r) => break r.status,
                        _ => {}
                    },
                    Some(Ok(_)) => {}
                    Some(Err(error)) => return Err(error.into()),
                    None => bail!("the gateway closed the tunnel during the opening"),
                }
            };
            if !status.is_success() {
                bail!("refused: {status}");
            }
        }
        Ok(ws)
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
