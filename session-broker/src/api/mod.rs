//! The admin API: JSON under `/api/v1`, authenticated by TLS client certificate, errors as
//! problem documents, every mutation audited in its own transaction; the OpenAPI document
//! at `/api/openapi.json` is generated from the same route table that builds the router,
//! so no route can be missing from it.

pub mod auth;
pub mod caller;
pub mod export;
pub mod extract;
pub mod handlers;
pub mod mutation;
pub mod openapi;
pub mod problem;
mod routes;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use hamn_certs::ClientCertVerifier;
use sqlx::Any;
use sqlx::pool::PoolConnection;

pub use caller::{Caller, Scope};
pub use problem::{ApiError, Problem};
pub use routes::{ApiRoute, Response as RouteResponse, api_routes};

use crate::db::Database;
use crate::secrets::SecretsKey;

/// Largest accepted request body; admin requests are small.
const BODY_LIMIT: usize = 256 * 1024;

/// What every handler needs.
#[derive(Clone)]
pub struct AdminState(Arc<Inner>);

struct Inner {
    db: Database,
    /// `None` for the portal's mount of the API, which web sessions authenticate.
    verifier: Option<ClientCertVerifier>,
    operator_cns: Vec<String>,
    secrets_key: Option<SecretsKey>,
    /// The print service's public `https://host:port`, for printer URIs.
    print_public_url: Option<String>,
    /// `print.data_dir`, where a purge deletes the purged users' PDFs.
    print_data_dir: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for AdminState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminState")
            .field("operator_cns", &self.0.operator_cns)
            .field("secrets_key", &self.0.secrets_key)
            .finish_non_exhaustive()
    }
}

impl AdminState {
    /// `verifier` judges client certificates against the API CA; `operator_cns` are subject
    /// CNs that are operators without an API client row.
    pub fn new(db: Database, verifier: ClientCertVerifier, operator_cns: Vec<String>) -> Self {
        Self::with_secrets_key(db, verifier, operator_cns, None)
    }

    /// Like [`Self::new`], with the key that seals host credentials; without one,
    /// `PUT /pools/{id}/credentials` answers 503.
    pub fn with_secrets_key(
        db: Database,
        verifier: ClientCertVerifier,
        operator_cns: Vec<String>,
        secrets_key: Option<SecretsKey>,
    ) -> Self {
        Self(Arc::new(Inner {
            db,
            verifier: Some(verifier),
            operator_cns,
            secrets_key,
            print_public_url: None,
            print_data_dir: None,
        }))
    }

    /// The state of `/api/v1` on the portal origin ([`v1_routes`] behind the gateway's
    /// web-session layer): no client certificates, no configured operator CNs.
    pub fn for_web_sessions(db: Database, secrets_key: Option<SecretsKey>) -> Self {
        Self(Arc::new(Inner {
            db,
            verifier: None,
            operator_cns: Vec::new(),
            secrets_key,
            print_public_url: None,
            print_data_dir: None,
        }))
    }

    /// Sets the print service's public URL (call right after construction, before the
    /// state is shared; later calls on a shared state change nothing).
    pub fn with_print_public_url(mut self, url: Option<String>) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.0) {
            inner.print_public_url = url;
        }
        self
    }

    /// Sets `print.data_dir`, where purges delete PDFs (call right after construction,
    /// like [`Self::with_print_public_url`]).
    pub fn with_print_data_dir(mut self, dir: Option<std::path::PathBuf>) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.0) {
            inner.print_data_dir = dir;
        }
        self
    }

    /// `print.data_dir`, when this node shares it with the print service.
    pub fn print_data_dir(&self) -> Option<&std::path::Path> {
        self.0.print_data_dir.as_deref()
    }

    /// The print service's public `https://host:port`, when known.
    pub fn print_public_url(&self) -> Option<&str> {
        self.0.print_public_url.as_deref()
    }

    pub fn secrets_key(&self) -> Option<&SecretsKey> {
        self.0.secrets_key.as_ref()
    }

    pub fn db(&self) -> &Database {
        &self.0.db
    }

    pub fn verifier(&self) -> Option<&ClientCertVerifier> {
        self.0.verifier.as_ref()
    }

    pub fn operator_cns(&self) -> &[String] {
        &self.0.operator_cns
    }

    /// A pooled connection for reads.
    pub async fn conn(&self) -> Result<PoolConnection<Any>, ApiError> {
        self.0
            .db
            .pool()
            .acquire()
            .await
            .map_err(|e| ApiError::from_db(e.into(), &[]))
    }
}

/// Every operation of `/api/v1` (the one route table), with the fallbacks and the body
/// limit but without authentication: the caller layers something that puts a [`Caller`]
/// into the request extensions — [`auth::authenticate`] (client certificates) here, the
/// gateway's web-session layer on the portal origin.
pub fn v1_routes() -> Router<AdminState> {
    let mut v1 = Router::new();
    for route in api_routes() {
        v1 = v1.route(route.path, route.handler);
    }
    v1.fallback(problem::no_route)
        .method_not_allowed_fallback(problem::method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
}

/// The admin API router: `/api/v1/…` behind client-certificate authentication, and the
/// OpenAPI document at `/api/openapi.json` (public: it describes, it reveals nothing).
pub fn admin_router(state: AdminState) -> Router {
    let v1 = v1_routes()
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .with_state(state);
    Router::new()
        .nest("/api/v1", v1)
        .route("/api/openapi.json", axum::routing::get(openapi::serve))
}
