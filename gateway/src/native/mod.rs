//! Native RDP clients (mstsc, the Windows App, FreeRDP on thin clients) reach their app
//! through the gateway's TLS port, with the same launch tickets, bookkeeping and audit as
//! browser sessions; the client speaks RDP to the host itself, the gateway only relays.
//!
//! ```text
//! RDG_OUT_DATA /remoteDesktopGateway/ + Upgrade ─101─▶ websocket ─MS-TSGU (crate::rdg)─▶
//!   handshake · tunnel create (PAA cookie = launch reference, or FreeRDP 3's bearer) ·
//!   tunnel auth (pool policy) · channel create (only the ticket's host:port) ─TCP─▶ host
//! GET /wst/ + Upgrade + Authorization: Bearer REF ─101─▶ raw RDP bytes ─TCP─▶ ticket's host
//! ```
//!
//! - [`http`]: the handshake by hand (any method, FreeRDP 2.11's short key) and the plain
//!   refusals of the legacy HTTP transport (426) and RPC over HTTP (501).
//! - [`launch`]: the reference is spent once ([`hamn_broker::ticket::reference`]), audited
//!   `ticket.consumed` / `ticket.refused`; the host and pool are loaded; only the ticket's
//!   host and port may be reached; the TCP connection has `gateway.native_connect_timeout`.
//! - `tunnel`: drives the sans-IO MS-TSGU state machine over the websocket.
//! - [`wst`]: FreeRDP 3's websocket transport (raw bytes; everything checked before 101).
//! - [`relay`]: the connected session: bytes both ways, the registry (broker commands:
//!   messages and warnings as service messages, disconnect and logoff close the tunnel; a
//!   newer launch of the session takes it over), the `sessions` row and audit events.
//!
//! The endpoints need the session service (the registry and the broker command poll);
//! without it they answer 503. Documented for users and admins in `docs/native-clients.md`.

pub mod http;
mod launch;
mod relay;
mod tunnel;
mod wst;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::connect_info::ConnectInfo;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::any;
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

use crate::portal::PortalState;
use crate::session::SessionService;
use hamn_broker::model::{AuditOutcome, SessionState};
use http::{Request as Asked, Unsupported};
use launch::{ConnectFailed, Denied};

/// The RD Gateway endpoint's path (fixed by the clients).
pub const RDG_PATH: &str = "/remoteDesktopGateway/";
/// The path of FreeRDP 3's websocket transport (the client takes it from its `url:`).
pub const WST_PATH: &str = "/wst/";
/// The path RPC-over-HTTP clients use; answered with a refusal.
pub const RPC_PATH: &str = "/rpc/rpcproxy.dll";
/// The largest websocket message or frame a native client may send (a data packet
/// carries at most 64 KiB; the rest is slack for framing).
pub const MAX_MESSAGE: usize = 128 * 1024;

/// The native routes; outside the portal's CSRF layer (native clients send no Origin, and
/// their methods are not GET).
pub fn routes(state: PortalState) -> Router {
    Router::new()
        .route(RDG_PATH, any(rdg))
        .route("/remoteDesktopGateway", any(rdg))
        .route(WST_PATH, any(wst))
        .route("/wst", any(wst))
        .route(RPC_PATH, any(rpc))
        .with_state(state)
}

type Ws = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

fn source_of(request: &Request) -> Option<String> {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
}

fn unavailable() -> Response {
    http::plain(
        StatusCode::SERVICE_UNAVAILABLE,
        "Native RDP clients are not served by this gateway (no session service).\n",
    )
}

/// Takes the connection after the 101 and hands it, as a server websocket, to `serve`.
fn upgrade<F, Fut>(request: &mut Request, key: &str, serve: F) -> Response
where
    F: FnOnce(Ws) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let Some(on_upgrade) = request
        .extensions_mut()
        .remove::<hyper::upgrade::OnUpgrade>()
    else {
        return http::not_supported(Unsupported::NotAGatewayRequest);
    };
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let config = WebSocketConfig::default()
                    .max_message_size(Some(MAX_MESSAGE))
                    .max_frame_size(Some(MAX_MESSAGE));
                let socket = WebSocketStream::from_raw_socket(
                    TokioIo::new(upgraded),
                    Role::Server,
                    Some(config),
                )
                .await;
                serve(socket).await;
            }
            Err(error) => tracing::info!(%error, "native client upgrade failed"),
        }
    });
    http::switching_protocols(key)
}

/// `/remoteDesktopGateway/`: MS-TSGU over a websocket; the reference is checked at the
/// tunnel create, where the protocol has an access-denied code for it.
async fn rdg(State(state): State<PortalState>, mut request: Request) -> Response {
    let Some(service) = state.sessions.clone() else {
        return unavailable();
    };
    let source = source_of(&request);
    match http::classify(request.method(), request.headers(), true) {
        Asked::Unsupported(what) => {
            tracing::info!(method = %request.method(), ?what, "native transport refused");
            http::not_supported(what)
        }
        Asked::Websocket { key, bearer } => upgrade(&mut request, &key, move |socket| {
            tunnel::serve(socket, service, bearer, source)
        }),
    }
}

/// `/wst/`: FreeRDP 3's websocket transport; reference and host before the 101.
async fn wst(State(state): State<PortalState>, mut request: Request) -> Response {
    let Some(service) = state.sessions.clone() else {
        return unavailable();
    };
    let source = source_of(&request);
    let (key, bearer) = match http::classify(request.method(), request.headers(), false) {
        Asked::Unsupported(what) => return http::not_supported(what),
        Asked::Websocket { key, bearer } => (key, bearer),
    };
    let Some(reference) = bearer else {
        let mut response = http::plain(
            StatusCode::UNAUTHORIZED,
            "The launch reference is missing: send it as Authorization: Bearer (FreeRDP \
             /gateway:url:wss://…/wst/,bearer:REFERENCE).\n",
        );
        response.headers_mut().insert(
            axum::http::header::WWW_AUTHENTICATE,
            axum::http::HeaderValue::from_static("Bearer"),
        );
        return response;
    };
    let launch = match launch::spend(&service, &reference, source.as_deref()).await {
        Ok(launch) => launch,
        Err(Denied::Refused(reason)) => {
            let status =
                StatusCode::from_u16(reason.http_status()).unwrap_or(StatusCode::UNAUTHORIZED);
            return http::plain(
                status,
                "The launch reference is not valid (wrong, expired or already used). Start the app again from the portal.\n",
            );
        }
        Err(Denied::WrongPath) => {
            return http::plain(
                StatusCode::FORBIDDEN,
                "This launch is for the browser, not a native client.\n",
            );
        }
        Err(Denied::Unavailable(_)) => {
            return http::plain(StatusCode::SERVICE_UNAVAILABLE, "Try again.\n");
        }
    };
    let host = match launch::connect(&launch.host, service.config.native_connect_timeout).await {
        Ok(host) => host,
        Err(error) => {
            let status = match error {
                ConnectFailed::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
                ConnectFailed::Refused { .. } => StatusCode::BAD_GATEWAY,
            };
            connect_failed(
                &service,
                &launch,
                &error,
                "FreeRDP websocket",
                source.as_deref(),
            )
            .await;
            return http::plain(
                status,
                "The app's host cannot be reached now. Try again later.\n",
            );
        }
    };
    upgrade(&mut request, &key, move |socket| async move {
        relay::Relay {
            service,
            launch,
            socket,
            host,
            source,
        }
        .run(wst::RawFraming::default())
        .await;
    })
}

/// `/rpc/rpcproxy.dll`: RPC over HTTP is refused in plain text.
async fn rpc() -> Response {
    http::not_supported(Unsupported::RpcOverHttp)
}

/// Records a launch whose host could not be reached (row `ended`, `session.connect`
/// failed), as a browser session does.
async fn connect_failed(
    service: &Arc<SessionService>,
    launch: &launch::Launch,
    error: &ConnectFailed,
    transport: &str,
    source: Option<&str>,
) {
    tracing::info!(%error, session = %launch.claims.session_id, "native host connection failed");
    crate::session::live::record(
        service,
        &launch.claims,
        SessionState::Ended,
        "session.connect",
        AuditOutcome::Failed,
        format!("native client via {transport}: {error}"),
        source,
    )
    .await;
}
