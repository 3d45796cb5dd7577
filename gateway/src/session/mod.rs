//! Browser sessions: the `GET /ws/session?ticket=…` websocket endpoint that joins a launch
//! ticket, the RDP leg, the display encoder and the wire protocol.
//!
//! ```text
//! ticket ──consume──▶ upgrade ──ClientHello──▶ rdp::connect ──ServerHello──▶ loop
//!   loop: host updates ─▶ SharedScreen (Framebuffer) ─pacing tick─▶ Encoder ─▶ Tile/CopyRect/FrameEnd
//!         FrameAck ─▶ Encoder::ack · input ─▶ RdpInput · Ping ─▶ Pong
//! ```
//!
//! - Before the upgrade the ticket is verified and spent ([`hamn_broker::ticket::consume`]);
//!   a refusal answers 401 or 403 ([`Refusal::http_status`]) without upgrading and is
//!   audited as `ticket.refused`, an acceptance as `ticket.consumed`.
//! - After the upgrade ([`connection`]) the first message must be `ClientHello`; the host,
//!   its pool's credentials and certificate policy come from the broker's database, the RDP
//!   desktop gets the browser's size (clamped to what RDP accepts), and the `sessions` row
//!   goes `launching → active → ended` with `session.connect` / `session.disconnect` audit
//!   events.
//! - Frames: one in flight ([`crate::wire::FrameWindow`]), started by a pacing tick
//!   ([`SessionConfig::max_fps`]) only when the host changed the screen or the encoder may
//!   have lossy cells to refine.
//! - Malformed client input closes only that websocket with the wire close code; host
//!   failures close with the matching 42xx code. Either way the RDP connection ends.
//!
//! - Resume ([`registry`], [`live`]): ServerHello carries a single-use resume token; when
//!   the websocket drops, the RDP connection stays up for [`SessionConfig::reconnect_grace`]
//!   and the row goes `disconnected`; a websocket without a ticket whose ClientHello
//!   carries the token gets the session back (`active`, `session.resume`) with a full frame.
//! - Cursor shapes go at once, outside frames, cached per connection ([`frames`]).
//! - Resize requests go to the host's display control; a host without it keeps its size
//!   and the viewer scales (Status `ResizeUnsupported`).
//! - Every transition stores the session's traffic (bytes to the browser, bytes from the
//!   host, frames) on its row and in the audit detail.
//!
//! - Clipboard text both ways when the pool allows it (ServerHello's CLIPBOARD bit), capped
//!   at the pool's limit and the wire's.
//! - A new ticket that names a session live on this node (the broker's roaming) hands the
//!   session to the new window.
//!
//! - The broker's commands ([`commands`], [`hamn_broker::session_control`]): a task per
//!   node claims the pending commands of its live sessions (about every second, at once
//!   when the broker in this process wakes it) and hands each to its session's task: an
//!   administrator's message goes to the viewer (`AdminMessage`), a warning becomes a
//!   Status countdown, a disconnect closes with 4300 and leaves the Windows session
//!   disconnected, a logoff closes with 4300 and ends the session.
//! - Idle timeout (the pool's `idle_timeout_secs`): no input for that long, after an
//!   `IdleWarning` countdown, closes with 4301 and leaves the session disconnected.

pub(crate) mod commands;
mod frames;
pub mod input;
pub(crate) mod live;
pub mod registry;
pub mod sink;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::connect_info::ConnectInfo;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hamn_broker::SecretsKey;
use hamn_broker::db::{Database, DbError};
use hamn_broker::ticket::{self, ConsumeError, Refusal, TicketVerifier};

use tokio_util::sync::CancellationToken;

use crate::display::EncoderConfig;
use crate::portal::PortalState;
use crate::wire::Limits;
pub use registry::Registry;

/// Tunables of the browser session endpoint.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Frame pacing cap (frames started per second), 30 by default.
    pub max_fps: u32,
    /// How long the browser has to send `ClientHello` after the upgrade.
    pub hello_timeout: Duration,
    /// The whole RDP connection sequence.
    pub connect_timeout: Duration,
    /// How long the RDP connection outlives a dropped websocket, waiting for a resume.
    pub reconnect_grace: Duration,
    /// How long a native client's tunnel waits for the host's TCP connection
    /// (`gateway.native_connect_timeout`, [`crate::native`]).
    pub native_connect_timeout: Duration,
    /// Node name recorded in audit events and on the broker commands this node claims.
    pub node: String,
    /// How often the node polls the broker's command channel when nothing wakes it.
    pub command_poll: Duration,
    /// How long a stopping gateway waits for its sessions to end by themselves before it
    /// closes them with 4110 GatewayDraining (`gateway.drain_deadline`).
    pub drain_deadline: Duration,
    pub limits: Limits,
    pub encoder: EncoderConfig,
    /// The print service browser sessions' printer sends jobs to; `None`: no printer is
    /// redirected, whatever the pool says.
    pub printing: Option<Arc<crate::print::PrintClientConfig>>,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            max_fps: 30,
            hello_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(20),
            reconnect_grace: Duration::from_secs(180),
            native_connect_timeout: Duration::from_secs(10),
            node: "gateway".to_owned(),
            command_poll: hamn_broker::session_control::POLL_INTERVAL,
            drain_deadline: Duration::from_secs(30),
            limits: Limits::default(),
            encoder: EncoderConfig::default(),
            printing: None,
        }
    }
}

/// What the endpoint needs: the broker's database, the ticket verifier (public keys only)
/// and the key that opens the pools' host credentials; and the live sessions.
pub struct SessionService {
    pub database: Database,
    pub verifier: TicketVerifier,
    pub secrets: SecretsKey,
    pub config: SessionConfig,
    /// Live sessions of this node, for resume and the broker's commands.
    pub registry: Arc<Registry>,
    /// Cancelled when a stopping gateway's drain deadline has passed: every browser session
    /// closes with 4110 (reconnect elsewhere) and is left disconnected on its host.
    pub shutdown: CancellationToken,
}

impl SessionService {
    pub fn new(
        database: Database,
        verifier: TicketVerifier,
        secrets: SecretsKey,
        config: SessionConfig,
        shutdown: CancellationToken,
    ) -> Self {
        let registry = Arc::new(Registry::default());
        // The command poll runs as long as the service; without a runtime (never in the
        // gateway, which builds this inside one) the broker's commands are not picked up.
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(commands::run(
                    database.clone(),
                    registry.clone(),
                    config.node.clone(),
                    config.command_poll,
                    shutdown.clone(),
                ));
            }
            Err(_) => tracing::warn!("no async runtime: broker commands are not polled"),
        }
        Self {
            database,
            verifier,
            secrets,
            config,
            registry,
            shutdown,
        }
    }

    /// Waits until every live session has ended (after `shutdown`), at most `deadline`.
    pub async fn drained(&self, deadline: Duration) -> bool {
        let wait = async {
            while !self.registry.is_empty() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        tokio::time::timeout(deadline, wait).await.is_ok()
    }
}

impl std::fmt::Debug for SessionService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionService")
            .field("verifier", &self.verifier)
            .field("secrets", &self.secrets)
            .field("config", &self.config)
            .field("registry", &self.registry)
            .finish_non_exhaustive()
    }
}

/// Why a session could not be set up on the gateway's side (not the host's).
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Database(#[from] DbError),
    #[error("host {0} of the ticket is not in the database")]
    UnknownHost(uuid::Uuid),
    #[error("pool {0} of the host is not in the database")]
    UnknownPool(uuid::Uuid),
    #[error(transparent)]
    Credentials(#[from] hamn_broker::credentials::CredentialsError),
    #[error(transparent)]
    Display(#[from] crate::display::DisplayError),
}

/// `GET /ws/session?ticket=…`: spends the ticket, then upgrades. Without a ticket the
/// upgrade goes ahead and the first message must carry a resume token.
pub(crate) async fn ws_session(
    State(state): State<PortalState>,
    remote: Option<axum::Extension<ConnectInfo<SocketAddr>>>,
    Query(query): Query<HashMap<String, String>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let Some(service) = state.sessions.clone() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "browser sessions are not configured on this gateway",
        )
            .into_response();
    };
    let source = remote.map(|axum::Extension(ConnectInfo(addr))| addr.ip().to_string());
    let max_message = service
        .config
        .limits
        .max_client_message
        .max(service.config.limits.max_clipboard.saturating_add(1));
    let upgrade = upgrade
        .max_message_size(max_message)
        .max_frame_size(max_message);
    let Some(text) = query.get("ticket").map(String::as_str) else {
        return upgrade.on_upgrade(move |socket| live::run_resume(socket, service, source));
    };
    let claims = match ticket::consume(&service.database, &service.verifier, text).await {
        Ok(claims) => claims,
        Err(ConsumeError::Refused { reason, claims }) => {
            refuse_audit(&service, reason, claims.as_ref(), source.as_deref()).await;
            let status =
                StatusCode::from_u16(reason.http_status()).unwrap_or(StatusCode::UNAUTHORIZED);
            return (status, reason.to_string()).into_response();
        }
        Err(ConsumeError::Database(error)) => {
            tracing::error!(%error, "ticket check failed");
            return (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response();
        }
    };
    if let Err(error) = audit_consumed(&service, &claims, source.as_deref()).await {
        tracing::warn!(%error, session = %claims.session_id, "ticket.consumed not audited");
    }
    upgrade.on_upgrade(move |socket| live::run_new(socket, service, claims, source))
}

pub(crate) async fn refuse_audit(
    service: &SessionService,
    reason: Refusal,
    claims: Option<&ticket::Claims>,
    source: Option<&str>,
) {
    tracing::info!(reason = reason.reason(), "ticket refused");
    let result = async {
        let mut conn = service.database.acquire().await?;
        ticket::audit_refused(&mut conn, reason, claims, &service.config.node, source).await
    }
    .await;
    if let Err(error) = result {
        tracing::warn!(%error, "ticket.refused not audited");
    }
}

pub(crate) async fn audit_consumed(
    service: &SessionService,
    claims: &ticket::Claims,
    source: Option<&str>,
) -> Result<(), DbError> {
    let mut conn = service.database.acquire().await?;
    ticket::audit_consumed(&mut conn, claims, &service.config.node, source).await?;
    Ok(())
}

/// Shared handle for the router state.
pub type Sessions = Option<Arc<SessionService>>;
