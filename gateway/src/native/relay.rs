//! The relay of a connected native session: bytes between the client's websocket and the
//! host's TCP connection, whatever framing the transport puts around them ([`Framing`]:
//! MS-TSGU data packets or FreeRDP's raw websocket transport). It also does the session's
//! bookkeeping exactly as a browser session does: the registry entry (broker commands,
//! takeover by a newer launch), the `sessions` row (`active` at the start, `disconnected`
//! or `ended` at the end, traffic every minute and at the end) and the audit events
//! `session.connect`, `session.disconnect` / `session.end`.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use hamn_broker::model::{AuditOutcome, SessionState};
use hamn_broker::repo;
use hamn_broker::session_control::{QueuedCommand, SessionCommand};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

use super::launch::Launch;
use crate::session::SessionService;
use crate::session::commands::{self, Outcome};
use crate::session::live::{self, Finish};

/// How often a live session stores its traffic.
const TRAFFIC_EVERY: Duration = Duration::from_secs(60);
/// Bytes read from the host at once (one data packet to the client at most this big).
const HOST_READ: usize = 16 * 1024;
/// Bytes from the client that may wait for a slow host before the client is read no more.
const MAX_TO_HOST: usize = 256 * 1024;
/// How long a newer connection waits for the one it took over to record its end.
const TAKEOVER_WAIT: Duration = Duration::from_secs(5);
/// How long the client gets to answer our websocket close.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// Why the relay ends, for the transport's close (the MS-TSGU close code) and the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// The client closed its channel or the websocket, or the network dropped it.
    ClientLeft,
    /// The host closed the TCP connection (logoff in Windows, or the host went away).
    HostEnded,
    /// A broker command: disconnect (the Windows session stays on the host).
    Disconnect,
    /// A broker command: logoff.
    Logoff,
    /// A newer launch of the same session took it over.
    TakenOver,
    /// The gateway is stopping.
    Shutdown,
    /// The client broke the protocol.
    ProtocolError,
}

/// The transport's framing around the RDP bytes.
pub(crate) trait Framing: Send {
    /// Which transport, for audit details ("RD Gateway", "FreeRDP websocket").
    fn name(&self) -> &'static str;
    /// One binary websocket message from the client. `Err`: the client broke the
    /// protocol; the text says how.
    fn receive(&mut self, message: &[u8]) -> Result<(), String>;
    /// The next bytes for the host that received messages carried.
    fn next_for_host(&mut self) -> Option<Vec<u8>>;
    /// Whether the client asked to close (MS-TSGU close channel).
    fn client_closed(&self) -> bool;
    /// Carries host bytes to the client.
    fn carry_to_client(&mut self, bytes: &[u8]);
    /// A text for the user; `false` when the transport has no way to show one.
    fn message(&mut self, text: &str) -> bool;
    /// Ends the tunnel for `why` (MS-TSGU: a close packet with the matching code).
    fn close(&mut self, why: Ending);
    /// The next websocket binary message for the client.
    fn transmit(&mut self) -> Option<Vec<u8>>;
}

/// A connected native session, ready to relay.
pub(crate) struct Relay<S> {
    pub service: Arc<SessionService>,
    pub launch: Launch,
    pub socket: WebSocketStream<S>,
    pub host: TcpStream,
    pub source: Option<String>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Traffic {
    to_client: u64,
    from_host: u64,
    to_host: u64,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Relay<S> {
    /// Registers the session, records it active, relays until it ends, records the end.
    pub(crate) async fn run<F: Framing>(mut self, mut framing: F) {
        let claims = self.launch.claims;
        let session = claims.session_id;
        let (commands_tx, mut commands_rx) = mpsc::channel(commands::QUEUE);
        // Counts this tunnel for as long as it relays, whichever way it ends.
        let _tunnel = hamn_broker::metrics::NATIVE_TUNNELS.track();
        let entry = self.service.registry.insert_native(session, commands_tx);
        let _ended = entry.ended.clone().drop_guard();
        if let Some(older) = &entry.took_over {
            // The older connection records its end first, so the row ends up active.
            if tokio::time::timeout(TAKEOVER_WAIT, older.cancelled())
                .await
                .is_err()
            {
                tracing::warn!(%session, "the connection taken over did not finish in time");
            }
        }
        let addr = format!("{}:{}", self.launch.host.address, self.launch.host.port);
        live::record(
            &self.service,
            &claims,
            SessionState::Active,
            "session.connect",
            AuditOutcome::Success,
            format!("native client via {} to host {addr}", framing.name()),
            self.source.as_deref(),
        )
        .await;
        let mut traffic = Traffic::default();
        // A broker's disconnect or logoff says why, as for browser sessions.
        let mut commanded: Option<Finish> = None;
        let ending = self
            .relay(
                &mut framing,
                &mut commands_rx,
                &entry.superseded,
                &mut traffic,
                &mut commanded,
            )
            .await;
        tracing::info!(%session, ?ending, "native session ended");
        framing.close(ending);
        flush_to_client(&mut self.socket, &mut framing, &mut traffic).await;
        let _ = tokio::time::timeout(CLOSE_WAIT, async {
            if self.socket.close(None).await.is_ok() {
                while let Some(Ok(_)) = self.socket.next().await {}
            }
        })
        .await;
        let _ = self.host.shutdown().await;
        self.service.registry.remove(session, entry.generation);
        commands_rx.close();
        while let Ok(command) = commands_rx.try_recv() {
            let outcome = Outcome::Failed("the session ended before it could act".to_owned());
            commands::finish(&self.service.database, &command, outcome).await;
        }
        save_traffic(&self.service, session, traffic).await;
        let finish = commanded.unwrap_or_else(|| self.finish(ending, framing.name()));
        let action = match finish.state {
            SessionState::Ended => "session.end",
            _ => "session.disconnect",
        };
        live::record(
            &self.service,
            &claims,
            finish.state,
            action,
            finish.outcome,
            format!(
                "{}; {} bytes to the client, {} from the host, {} to the host",
                finish.detail, traffic.to_client, traffic.from_host, traffic.to_host
            ),
            self.source.as_deref(),
        )
        .await;
    }

    /// Relays until one side ends. The host's two directions never wait on each other:
    /// bytes for the host queue in `to_host` and are written when the socket takes them,
    /// while the loop keeps reading the host; a host that stops reading stops the client's
    /// reads once [`MAX_TO_HOST`] bytes wait (backpressure, not a deadlock).
    async fn relay<F: Framing>(
        &mut self,
        framing: &mut F,
        commands_rx: &mut mpsc::Receiver<QueuedCommand>,
        superseded: &tokio_util::sync::CancellationToken,
        traffic: &mut Traffic,
        commanded: &mut Option<Finish>,
    ) -> Ending {
        let mut buf = vec![0u8; HOST_READ];
        let mut to_host: Vec<u8> = Vec::new();
        let mut report = tokio::time::interval(TRAFFIC_EVERY);
        report.set_missed_tick_behavior(MissedTickBehavior::Delay);
        report.reset();
        let shutdown = self.service.shutdown.clone();
        let service = self.service.clone();
        let session = self.launch.claims.session_id;
        let socket = &mut self.socket;
        let (mut host_r, mut host_w) = self.host.split();
        loop {
            tokio::select! {
                received = socket.next(), if to_host.len() < MAX_TO_HOST => {
                    let bytes = match received {
                        Some(Ok(Message::Binary(bytes))) => bytes,
                        Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {
                            // Pongs go out with the next write; make it now.
                            if socket.flush().await.is_err() {
                                return Ending::ClientLeft;
                            }
                            continue;
                        }
                        Some(Ok(Message::Text(_))) => {
                            tracing::info!(%session, "text message on a native tunnel");
                            return Ending::ProtocolError;
                        }
                        Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return Ending::ClientLeft,
                    };
                    if let Err(why) = framing.receive(&bytes) {
                        tracing::info!(%session, %why, "native client broke the protocol");
                        return Ending::ProtocolError;
                    }
                    while let Some(data) = framing.next_for_host() {
                        traffic.to_host += data.len() as u64;
                        hamn_broker::metrics::BYTES_FROM_NATIVE.add(data.len() as u64);
                        to_host.extend_from_slice(&data);
                    }
                    if !flush_to_client(socket, framing, traffic).await {
                        return Ending::ClientLeft;
                    }
                    if framing.client_closed() {
                        return Ending::ClientLeft;
                    }
                }
                written = host_w.write(&to_host), if !to_host.is_empty() => {
                    match written {
                        Ok(0) | Err(_) => return Ending::HostEnded,
                        Ok(n) => drop(to_host.drain(..n.min(to_host.len()))),
                    }
                }
                read = host_r.read(&mut buf) => {
                    let n = match read {
                        Ok(0) | Err(_) => return Ending::HostEnded,
                        Ok(n) => n,
                    };
                    traffic.from_host += n as u64;
                    framing.carry_to_client(buf.get(..n).unwrap_or_default());
                    if !flush_to_client(socket, framing, traffic).await {
                        return Ending::ClientLeft;
                    }
                }
                Some(command) = commands_rx.recv() => {
                    if let Some(ending) = act(&service, framing, &command, commanded).await {
                        return ending;
                    }
                    if !flush_to_client(socket, framing, traffic).await {
                        return Ending::ClientLeft;
                    }
                }
                () = superseded.cancelled() => return Ending::TakenOver,
                () = shutdown.cancelled() => return Ending::Shutdown,
                _ = report.tick() => save_traffic(&service, session, *traffic).await,
            }
        }
    }

    fn finish(&self, ending: Ending, transport: &str) -> Finish {
        let disconnected = |detail: String| Finish {
            state: SessionState::Disconnected,
            outcome: AuditOutcome::Success,
            detail,
        };
        match ending {
            Ending::ClientLeft => disconnected(format!(
                "the native client closed the {transport} connection; the session stays on the host, disconnected"
            )),
            Ending::HostEnded => Finish {
                state: SessionState::Ended,
                outcome: AuditOutcome::Success,
                detail: "the host closed the connection".to_owned(),
            },
            Ending::TakenOver => {
                disconnected("a newer launch of the same session took it over".to_owned())
            }
            Ending::Shutdown => {
                disconnected("the gateway stopped; the session stays on the host".to_owned())
            }
            Ending::ProtocolError => Finish {
                state: SessionState::Disconnected,
                outcome: AuditOutcome::Failed,
                detail: format!("the native client broke the {transport} protocol; tunnel closed"),
            },
            Ending::Disconnect => {
                disconnected("disconnected by the broker; the session stays on the host".to_owned())
            }
            Ending::Logoff => Finish {
                state: SessionState::Ended,
                outcome: AuditOutcome::Success,
                detail: "logged off by the broker; the host agent logs the Windows user off"
                    .to_owned(),
            },
        }
    }
}

/// Stores the session's traffic so far (totals, so a lost report costs nothing).
/// Sends what the framing has for the client; `false` when the client is gone.
async fn flush_to_client<S, F>(
    socket: &mut WebSocketStream<S>,
    framing: &mut F,
    traffic: &mut Traffic,
) -> bool
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: Framing,
{
    let mut any = false;
    while let Some(message) = framing.transmit() {
        traffic.to_client += message.len() as u64;
        hamn_broker::metrics::BYTES_TO_NATIVE.add(message.len() as u64);
        any = true;
        if socket.feed(Message::binary(message)).await.is_err() {
            return false;
        }
    }
    !any || socket.flush().await.is_ok()
}

/// A broker command: messages and warnings become service messages where the transport
/// has them; a disconnect or logoff ends the relay.
async fn act<F: Framing>(
    service: &SessionService,
    framing: &mut F,
    command: &QueuedCommand,
    commanded: &mut Option<Finish>,
) -> Option<Ending> {
    let database = &service.database;
    let text = match &command.command {
        SessionCommand::Message { text, sender } => format!("{sender}: {text}"),
        SessionCommand::Warning { text, .. } => text.clone(),
        SessionCommand::PrintReady { .. } | SessionCommand::PrintRefused { .. } => {
            // The user's PDF is in the portal's "Mina utskrifter"; a native client has no
            // place to show a link.
            let outcome = "acknowledged; native clients get no print notification".to_owned();
            commands::finish(database, command, Outcome::Done(outcome)).await;
            return None;
        }
        SessionCommand::Disconnect { reason, cause } | SessionCommand::Logoff { reason, cause } => {
            let ending = match command.command {
                SessionCommand::Logoff { .. } => Ending::Logoff,
                _ => Ending::Disconnect,
            };
            *commanded = Some(live::ending(&command.command, *cause, reason).1);
            let outcome = format!("closed the {} tunnel", framing.name());
            commands::finish(database, command, Outcome::Done(outcome)).await;
            return Some(ending);
        }
    };
    let outcome = if framing.message(&live::truncate(&text, MAX_SERVICE_MESSAGE)) {
        Outcome::Done(format!(
            "sent to the native client as a {} service message",
            framing.name()
        ))
    } else {
        Outcome::Failed(format!(
            "the {} transport has no way to show messages",
            framing.name()
        ))
    };
    commands::finish(database, command, outcome).await;
    None
}

async fn save_traffic(service: &SessionService, session: uuid::Uuid, traffic: Traffic) {
    let result = async {
        let mut conn = service.database.acquire().await?;
        repo::sessions::set_traffic(
            &mut conn,
            session,
            &repo::sessions::Traffic {
                bytes_to_client: traffic.to_client,
                bytes_from_host: traffic.from_host,
                frames: 0,
            },
        )
        .await
    }
    .await;
    if let Err(error) = result {
        tracing::warn!(%error, %session, "native traffic not stored");
    }
}

/// The longest service message passed on (bytes of UTF-8; MS-TSGU carries UTF-16).
const MAX_SERVICE_MESSAGE: usize = 1024;
