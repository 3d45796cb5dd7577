//! The portal's routes: the embedded web client, the health endpoints and the browser
//! session websocket (`/ws/session`, see [`crate::session`]).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use hamn_broker::db::Database;

/// Shared state of the portal's handlers.
#[derive(Clone)]
pub struct PortalState {
    pub database: Database,
    /// The session endpoint's needs; `None` answers `/ws/session` with 503.
    pub sessions: crate::session::Sessions,
}

/// The gateway's HTTPS routes, with security headers on every response.
pub fn router(state: PortalState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/ws/session", get(crate::session::ws_session))
        .merge(hamn_web::router())
        .layer(axum::middleware::map_response(crate::headers::add))
        .with_state(state)
}

/// The process is up and serving.
async fn healthz() -> &'static str {
    "ok"
}

/// The database answers and its migrations are applied, so requests can be served.
async fn readyz(State(state): State<PortalState>) -> (StatusCode, &'static str) {
    match state.database.migrations_done().await {
        Ok(true) => (StatusCode::OK, "ready"),
        Ok(false) => (StatusCode::SERVICE_UNAVAILABLE, "migrations pending"),
        Err(error) => {
            tracing::warn!(%error, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "not ready")
        }
    }
}
