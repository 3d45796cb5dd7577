//! One browser session's websocket after the upgrade: `ClientHello`, the RDP connection
//! with the browser's size, `ServerHello`, then the loop of frames, acks, input and pings
//! until the browser, the host or a protocol violation ends it.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use hamn_broker::db::DbError;
use hamn_broker::model::{ActorKind, AuditOutcome, HostCertCheck, NewAuditEvent, SessionState};
use hamn_broker::repo;
use hamn_broker::ticket::Claims;
use tokio::time::MissedTickBehavior;

use super::sink::SharedScreen;
use super::{SessionError, SessionService};
use crate::display::{Encoder, Encoding, Frame, TileOp};
use crate::rdp::{self, CertPolicy, HostCredentials, RdpError, RdpParams, SessionEnd};
use crate::wire::{
    self, Capabilities, ClientHello, ClientMessage, ClientStream, CloseCode, FrameWindow,
    ServerHello, ServerMessage, StatusCode, TileEncoding, WireError,
};

/// How long the RDP task gets to finish after the gateway closed it.
const RDP_CLOSE_WAIT: Duration = Duration::from_secs(5);
/// How long the browser gets to answer our close frame.
const CLOSE_HANDSHAKE_WAIT: Duration = Duration::from_secs(2);

/// How a session ended.
enum End {
    /// The gateway closes with this code; the detail goes to the log and the Close message.
    Close(CloseCode, String),
    /// The browser closed or the websocket broke: nothing more can be sent.
    ClientGone,
}

impl End {
    fn wire(error: &WireError) -> Self {
        End::Close(error.close_code(), error.to_string())
    }

    fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "browser session failed in the gateway");
        End::Close(CloseCode::InternalError, error.to_string())
    }
}

/// Runs the session on `socket` until it ends, then records the end.
pub(super) async fn run(
    mut socket: WebSocket,
    service: Arc<SessionService>,
    claims: Claims,
    source: Option<String>,
) {
    let mut connected = false;
    let end = serve(
        &mut socket,
        &service,
        &claims,
        source.as_deref(),
        &mut connected,
    )
    .await;
    let (code, detail) = match &end {
        End::Close(code, detail) => (Some(*code), detail.clone()),
        End::ClientGone => (None, "the browser closed the connection".to_owned()),
    };
    tracing::info!(
        session = %claims.session_id,
        code = code.map(CloseCode::as_u16),
        %detail,
        "browser session ended"
    );
    if let End::Close(code, detail) = end {
        close(&mut socket, code, &detail).await;
    }
    let what = if connected {
        "session.disconnect"
    } else {
        "session.connect"
    };
    let outcome = if connected {
        AuditOutcome::Success
    } else {
        AuditOutcome::Failed
    };
    let detail = match code {
        Some(code) => format!("close {} {}: {detail}", code.as_u16(), code.ws_reason()),
        None => detail,
    };
    record(
        &service,
        &claims,
        SessionState::Ended,
        what,
        outcome,
        detail,
        source.as_deref(),
    )
    .await;
}

async fn serve(
    socket: &mut WebSocket,
    service: &SessionService,
    claims: &Claims,
    source: Option<&str>,
    connected: &mut bool,
) -> End {
    let config = &service.config;
    let mut stream = ClientStream::new(config.limits);
    let hello =
        match tokio::time::timeout(config.hello_timeout, first_hello(socket, &mut stream)).await {
            Ok(Ok(hello)) => hello,
            Ok(Err(end)) => return end,
            Err(_) => {
                return End::Close(
                    CloseCode::UnexpectedMessage,
                    "no ClientHello in time".to_owned(),
                );
            }
        };
    let Some(version) = stream.version() else {
        return End::internal("hello accepted without a version");
    };

    let params = match host_params(service, claims, &hello).await {
        Ok(params) => params,
        Err(error) => return End::internal(error),
    };
    let host = format!("{}:{}", params.host, params.port);
    let rdp_session = match rdp::connect(params).await {
        Ok(session) => session,
        Err(error) => {
            tracing::info!(%error, %host, session = %claims.session_id, "host connection failed");
            return End::Close(close_code_of(&error, false), error.to_string());
        }
    };
    let (width, height) = rdp_session.desktop_size();
    let screen = match SharedScreen::new(width, height) {
        Ok(screen) => screen,
        Err(error) => return End::internal(error),
    };
    let (handle, task) = rdp_session.start(screen.sink());
    *connected = true;
    record(
        service,
        claims,
        SessionState::Active,
        "session.connect",
        AuditOutcome::Success,
        format!("host {host} {width}x{height}"),
        source,
    )
    .await;

    let hello = ServerMessage::ServerHello(ServerHello {
        version,
        session_id: claims.session_id.into_bytes(),
        width,
        height,
        resume_token: Vec::new(),
        capabilities: Capabilities(Capabilities::UNICODE_INPUT),
    });
    let mut task = std::pin::pin!(task.wait());
    let end = if send(socket, &hello).await.is_err() {
        End::ClientGone
    } else {
        let mut frames = FrameLoop {
            screen,
            encoder: Some(Encoder::new(config.encoder.clone())),
            window: FrameWindow::new(),
            in_flight: None,
            size: (width, height),
        };
        let mut tick = tokio::time::interval(pacing(config.max_fps));
        tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                ended = &mut task => {
                    break match ended {
                        Ok(SessionEnd::HostEnded(reason)) => {
                            End::Close(CloseCode::HostDisconnected, reason)
                        }
                        Ok(SessionEnd::Closed) => End::internal("the RDP session closed itself"),
                        Err(error) => End::Close(close_code_of(&error, true), error.to_string()),
                    };
                }
                received = socket.recv() => {
                    let bytes = match received {
                        Some(Ok(Message::Binary(bytes))) => bytes,
                        Some(Ok(Message::Text(_))) => break End::Close(
                            CloseCode::ProtocolError,
                            "text message on a binary protocol".to_owned(),
                        ),
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                        Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break End::ClientGone,
                    };
                    let message = match stream.receive(&bytes) {
                        Ok(message) => message,
                        Err(error) => break End::wire(&error),
                    };
                    match message {
                        ClientMessage::FrameAck { frame_id } => {
                            if let Err(error) = frames.ack(frame_id) {
                                break End::wire(&error);
                            }
                        }
                        ClientMessage::Ping { timestamp } => {
                            if send(socket, &ServerMessage::Pong { timestamp }).await.is_err() {
                                break End::ClientGone;
                            }
                        }
                        ClientMessage::ResizeRequest { .. } => {
                            if send(socket, &status(StatusCode::ResizeUnsupported)).await.is_err() {
                                break End::ClientGone;
                            }
                        }
                        ClientMessage::ClipboardText(_) => {
                            if send(socket, &status(StatusCode::ClipboardDisabled)).await.is_err() {
                                break End::ClientGone;
                            }
                        }
                        other => {
                            let inputs = super::input::to_rdp(&other);
                            // A gone session is reported by the task branch next.
                            if !inputs.is_empty() && handle.input(inputs).await.is_err() {
                                continue;
                            }
                        }
                    }
                }
                _ = tick.tick(), if frames.can_send() => {
                    match frames.next_frame().await {
                        Ok(Some(frame)) => {
                            if let Err(end) = frames.send_frame(socket, frame).await {
                                break end;
                            }
                        }
                        Ok(None) => {}
                        Err(end) => break end,
                    }
                }
            }
        }
    };
    handle.close();
    if tokio::time::timeout(RDP_CLOSE_WAIT, &mut task)
        .await
        .is_err()
    {
        tracing::warn!(session = %claims.session_id, "RDP task did not finish after close");
    }
    end
}

/// Waits for the first binary message and checks it is a valid `ClientHello`.
async fn first_hello(
    socket: &mut WebSocket,
    stream: &mut ClientStream,
) -> Result<ClientHello, End> {
    loop {
        let bytes = match socket.recv().await {
            Some(Ok(Message::Binary(bytes))) => bytes,
            Some(Ok(Message::Text(_))) => {
                return Err(End::Close(
                    CloseCode::ProtocolError,
                    "text message on a binary protocol".to_owned(),
                ));
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return Err(End::ClientGone),
        };
        return match stream.receive(&bytes) {
            Ok(ClientMessage::ClientHello(hello)) => Ok(hello),
            Ok(other) => Err(End::Close(
                CloseCode::UnexpectedMessage,
                format!("{} before ClientHello", other.kind()),
            )),
            Err(error) => Err(End::wire(&error)),
        };
    }
}

/// The host of the ticket, its pool's credentials and certificate policy, and the
/// browser's size clamped to what RDP accepts.
async fn host_params(
    service: &SessionService,
    claims: &Claims,
    hello: &ClientHello,
) -> Result<RdpParams, SessionError> {
    let mut conn = service
        .database
        .pool()
        .acquire()
        .await
        .map_err(DbError::from)?;
    let host = repo::hosts::get(&mut conn, claims.host_id)
        .await?
        .ok_or(SessionError::UnknownHost(claims.host_id))?;
    let pool = repo::pools::get(&mut conn, host.pool_id)
        .await?
        .ok_or(SessionError::UnknownPool(host.pool_id))?;
    drop(conn);
    let cert_policy = match pool.host_cert_check() {
        HostCertCheck::Verify { ca_pem } => CertPolicy::Verify {
            ca_pem: ca_pem.map(str::to_owned),
        },
        HostCertCheck::Pin(sha256) => CertPolicy::Pin { sha256 },
        HostCertCheck::Ignore => CertPolicy::Ignore,
    };
    let credentials =
        hamn_broker::credentials::resolve(&service.database, &service.secrets, pool.id).await?;
    let mut params = RdpParams::new(
        host.address,
        host.port,
        HostCredentials {
            username: credentials.username,
            domain: credentials.domain,
            password: credentials.password.expose().to_owned(),
        },
        cert_policy,
    );
    params.width = hello
        .width
        .clamp(rdp::config::MIN_DESKTOP, rdp::config::MAX_DESKTOP);
    params.height = hello
        .height
        .clamp(rdp::config::MIN_DESKTOP, rdp::config::MAX_DESKTOP);
    params.connect_timeout = service.config.connect_timeout;
    Ok(params)
}

/// The browser's close code for an RDP failure; `connected` tells a lost connection
/// mid-session (the host went away) from one lost while connecting (not reachable).
fn close_code_of(error: &RdpError, connected: bool) -> CloseCode {
    match error {
        RdpError::HostUnreachable { .. } => CloseCode::HostUnreachable,
        RdpError::AuthenticationFailed(_) | RdpError::LogonNotConfirmed(_) => {
            CloseCode::HostAuthFailed
        }
        RdpError::HostDisconnected(_) => CloseCode::HostDisconnected,
        RdpError::ConnectionLost { .. } if connected => CloseCode::HostDisconnected,
        RdpError::ConnectionLost { .. } => CloseCode::HostUnreachable,
        RdpError::Timeout { .. } => CloseCode::HostNotResponding,
        RdpError::CertificateRejected(_)
        | RdpError::Tls(_)
        | RdpError::SecurityNegotiation(_)
        | RdpError::Protocol { .. }
        | RdpError::Redirected => CloseCode::HostProtocolError,
        RdpError::InvalidParams(_) | RdpError::Panicked(_) => CloseCode::InternalError,
    }
}

fn pacing(max_fps: u32) -> Duration {
    Duration::from_secs(1) / max_fps.clamp(1, 240)
}

fn status(code: StatusCode) -> ServerMessage {
    ServerMessage::Status {
        code,
        seconds: 0,
        detail: String::new(),
    }
}

/// The frame side of a session: encoder, flow window and the size the browser knows.
struct FrameLoop {
    screen: SharedScreen,
    /// `None` only while a frame is being encoded on the blocking pool.
    encoder: Option<Encoder>,
    window: FrameWindow,
    /// The encoder's id of the frame in flight.
    in_flight: Option<u64>,
    size: (u16, u16),
}

impl FrameLoop {
    fn can_send(&self) -> bool {
        self.window.can_send()
    }

    fn ack(&mut self, frame_id: u32) -> Result<(), WireError> {
        self.window.ack(frame_id)?;
        if let (Some(encoder), Some(id)) = (self.encoder.as_mut(), self.in_flight.take()) {
            encoder.ack(id);
        }
        Ok(())
    }

    /// Encodes what changed (off the async workers: a keyframe takes tens of ms).
    async fn next_frame(&mut self) -> Result<Option<Frame>, End> {
        let Some(mut encoder) = self.encoder.take() else {
            return Err(End::internal("encoder lost"));
        };
        let screen = self.screen.clone();
        let (encoder, frame) = tokio::task::spawn_blocking(move || {
            let frame = encoder.take_frame(&screen.lock());
            (encoder, frame)
        })
        .await
        .map_err(End::internal)?;
        self.encoder = Some(encoder);
        frame.map_err(End::internal)
    }

    async fn send_frame(&mut self, socket: &mut WebSocket, frame: Frame) -> Result<(), End> {
        let size = (
            u16::try_from(frame.width).map_err(End::internal)?,
            u16::try_from(frame.height).map_err(End::internal)?,
        );
        if size != self.size {
            self.size = size;
            let resized = ServerMessage::Resized {
                width: size.0,
                height: size.1,
            };
            send(socket, &resized).await.map_err(|_| End::ClientGone)?;
        }
        for op in &frame.ops {
            let message = op_message(op).map_err(End::internal)?;
            send(socket, &message).await.map_err(|_| End::ClientGone)?;
        }
        let Some(frame_id) = self.window.begin_frame() else {
            return Err(End::internal("a frame was encoded while one was in flight"));
        };
        self.in_flight = Some(frame.id);
        send(socket, &ServerMessage::FrameEnd { frame_id })
            .await
            .map_err(|_| End::ClientGone)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("rectangle outside the wire's 16-bit range")]
struct OutOfRange;

fn u16_of(value: u32) -> Result<u16, OutOfRange> {
    u16::try_from(value).map_err(|_| OutOfRange)
}

/// One display operation as its wire message.
fn op_message(op: &TileOp) -> Result<ServerMessage, OutOfRange> {
    Ok(match op {
        TileOp::Tile(tile) => ServerMessage::Tile(wire::Tile {
            x: u16_of(tile.rect.x)?,
            y: u16_of(tile.rect.y)?,
            w: u16_of(tile.rect.width)?,
            h: u16_of(tile.rect.height)?,
            encoding: match tile.encoding {
                Encoding::Png => TileEncoding::Png,
                Encoding::WebP => TileEncoding::Webp,
                Encoding::Jpeg { .. } => TileEncoding::Jpeg,
            },
            data: tile.bytes.clone(),
        }),
        TileOp::CopyRect { src, dst } => ServerMessage::CopyRect(wire::CopyRect {
            src_x: u16_of(src.x)?,
            src_y: u16_of(src.y)?,
            w: u16_of(src.width)?,
            h: u16_of(src.height)?,
            dst_x: u16_of(dst.x)?,
            dst_y: u16_of(dst.y)?,
        }),
    })
}

async fn send(socket: &mut WebSocket, message: &ServerMessage) -> Result<(), axum::Error> {
    socket
        .send(Message::Binary(wire::encode_server(message).into()))
        .await
}

/// Sends the `Close` message and the websocket close frame with the same code, then waits
/// briefly for the browser's close frame.
async fn close(socket: &mut WebSocket, code: CloseCode, detail: &str) {
    let mut reason = detail.to_owned();
    if reason.len() > wire::MAX_DETAIL {
        let mut cut = wire::MAX_DETAIL;
        while !reason.is_char_boundary(cut) {
            cut -= 1;
        }
        reason.truncate(cut);
    }
    let _ = send(socket, &ServerMessage::Close { code, reason }).await;
    let frame = CloseFrame {
        code: code.as_u16(),
        reason: code.ws_reason().into(),
    };
    if socket.send(Message::Close(Some(frame))).await.is_err() {
        return;
    }
    let _ = tokio::time::timeout(CLOSE_HANDSHAKE_WAIT, async {
        while let Some(Ok(_)) = socket.recv().await {}
    })
    .await;
}

/// Moves the `sessions` row to `state` and audits `action`. Failures are logged: the
/// session itself must not fail on bookkeeping.
async fn record(
    service: &SessionService,
    claims: &Claims,
    state: SessionState,
    action: &str,
    outcome: AuditOutcome,
    detail: String,
    source: Option<&str>,
) {
    let result = async {
        let mut conn = service
            .database
            .pool()
            .acquire()
            .await
            .map_err(DbError::from)?;
        repo::sessions::set_state(
            &mut conn,
            claims.session_id,
            state,
            time::OffsetDateTime::now_utc(),
        )
        .await?;
        let actor_name = repo::users::get(&mut conn, claims.user_id)
            .await?
            .map_or_else(|| claims.user_id.to_string(), |u| u.display_name);
        let event = NewAuditEvent {
            tenant_id: Some(claims.tenant_id),
            actor_kind: ActorKind::User,
            actor_id: Some(claims.user_id.to_string()),
            actor_name,
            action: action.to_owned(),
            target_type: Some("session".to_owned()),
            target_id: Some(claims.session_id.to_string()),
            outcome,
            source_address: source.map(str::to_owned),
            before: None,
            after: None,
            detail: Some(format!(
                "{detail}; host {} gateway {}",
                claims.host_id, service.config.node
            )),
        };
        repo::audit::insert(&mut conn, &event).await?;
        Ok::<(), DbError>(())
    }
    .await;
    if let Err(error) = result {
        tracing::warn!(%error, session = %claims.session_id, action, "session bookkeeping failed");
    }
}
