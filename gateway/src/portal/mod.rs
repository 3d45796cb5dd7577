//! The portal's routes: the embedded web client, the health endpoints, the service-window
//! calendars ([`crate::status`]), the browser session
//! websocket (`/ws/session`, see [`crate::session`]) and, when a login method is on, the
//! portal API under `/portal/api/` ([`api`]) and the admin API at `/api/v1` for
//! tenant-admins and operators logged in to the portal ([`admin`]), every state-changing
//! request behind the CSRF layer ([`csrf`]); the SITHS listener's card login is
//! [`siths_router`]; the SAML service provider of each tenant is [`saml_router`]. Native
//! RDP clients get `.rdp` files from the portal API ([`rdp_file`], signed by [`rdp_sign`]).

mod admin;
mod api;
mod apps;
mod csrf;
mod demo_idp;
mod lang;
mod login;
mod notices;
mod prints;
mod problem;
pub mod rdp_file;
pub mod rdp_sign;
mod saml;
mod sessions;
mod siths;
mod web_session;

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use hamn_broker::db::Database;

pub use api::{PortalAccess, PortalApi, SESSION_COOKIE, origin_of};
pub use csrf::{CSRF_HEADER, is_exempt as csrf_exempt};
pub use demo_idp::{DemoIdp, demo_idp_router};
pub use saml::{ATTEMPT_COOKIE, SamlLogin, saml_router};
pub use siths::{SithsLogin, SithsRefusal, hsa_id_of, is_hsa_id, siths_router};
// The public status page speaks the portal's two languages the same way.
pub(crate) use lang::Lang;
pub(crate) use siths::PageLang;

/// Shared state of the portal's handlers.
#[derive(Clone)]
pub struct PortalState {
    pub database: Database,
    /// The session endpoint's needs; `None` answers `/ws/session` with 503.
    pub sessions: crate::session::Sessions,
    /// Login, app list and launch; `None` (no login method on) answers `/portal/api/*`
    /// with 404. The demo login and the SITHS card login create web sessions.
    pub api: Option<Arc<PortalApi>>,
}

/// The gateway's HTTPS routes, with security headers on every response.
pub fn router(state: PortalState) -> Router {
    let api = state.api.clone();
    let native = crate::native::routes(state.clone());
    let mut router = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/ws/session", get(crate::session::ws_session))
        .merge(crate::status::routes())
        .merge(hamn_web::router())
        .with_state(state);
    if let Some(api) = api {
        router = router
            .merge(api::router(api.clone()))
            .merge(admin::router(api.clone()))
            // Around every route merged above (add new ones before this line): the whole
            // portal, its API and the admin API. GET, HEAD and OPTIONS pass through.
            .layer(axum::middleware::from_fn_with_state(api, csrf::guard));
    }
    // Native clients send neither an Origin nor GET: outside the CSRF layer, on purpose.
    router = router.merge(native);
    router.layer(axum::middleware::map_response(crate::headers::add))
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
