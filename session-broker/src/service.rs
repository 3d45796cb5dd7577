//! The broker service: connect and migrate the database, then serve the admin API with
//! `/healthz` and `/readyz` over TLS that asks for client certificates.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use hamn_certs::server::server_config_requesting_client_cert;
use hamn_certs::{ClientCertVerifier, ServerTlsError};
use tokio_util::sync::CancellationToken;

use crate::api::{AdminState, admin_router};
use crate::config::BrokerConfig;
use crate::db::{Database, DbError};

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error(transparent)]
    Database(#[from] DbError),
    #[error("TLS configuration: {0}")]
    Tls(#[from] ServerTlsError),
    #[error("broker.api_ca {path}: {reason}")]
    ApiCa { path: PathBuf, reason: String },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("admin API server failed: {0}")]
    Serve(#[source] std::io::Error),
}

/// Everything the broker's listener serves: the admin API, `/healthz` and `/readyz`.
pub fn router(state: AdminState) -> Router {
    let probes = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state.clone());
    admin_router(state).merge(probes)
}

/// Process up.
async fn healthz() -> &'static str {
    "ok"
}

/// Database answering and every migration applied.
async fn readyz(State(state): State<AdminState>) -> (StatusCode, &'static str) {
    let db = state.db();
    match (db.ping().await, db.migrations_done().await) {
        (Ok(()), Ok(true)) => (StatusCode::OK, "ready"),
        (Ok(()), _) => (StatusCode::SERVICE_UNAVAILABLE, "migrations pending"),
        (Err(_), _) => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable"),
    }
}

/// How often the broker's clean-up runs.
const JANITOR_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// Runs the broker until `shutdown` is cancelled: connects to the database (migrating it
/// when `config.migrate_on_start`), loads the API CA, and serves [`router`] on
/// `config.listen` with the certificate in `config.tls`, asking clients for a certificate from the
/// API CA. Also runs the clean-up ([`crate::janitor`]), the service-window scheduler
/// ([`crate::service_windows::scheduler`]) and, when configured, the host health probes. Returns after in-flight requests finish.
pub async fn run(config: BrokerConfig, shutdown: CancellationToken) -> Result<(), BrokerError> {
    let db = Database::connect(&config.database).await?;
    if config.migrate_on_start {
        db.migrate().await?;
    }
    let verifier =
        ClientCertVerifier::from_ca_pem_file(&config.api_ca).map_err(|e| BrokerError::ApiCa {
            path: config.api_ca.clone(),
            reason: e.to_string(),
        })?;
    let tls_config: Arc<rustls::ServerConfig> =
        server_config_requesting_client_cert(&config.tls, &config.api_ca)?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| BrokerError::Bind {
            addr: config.listen,
            source,
        })?;
    tracing::info!(listen = %config.listen, backend = ?db.backend(), "broker admin API listening");
    let state = AdminState::with_secrets_key(
        db.clone(),
        verifier,
        config.operator_cns.clone(),
        config.secrets_key.clone(),
    )
    .with_print_public_url(config.print_public_url.clone())
    .with_print_data_dir(config.print_data_dir.clone());
    let janitor = tokio::spawn(crate::janitor::run_janitor(
        db.clone(),
        JANITOR_INTERVAL,
        config.audit_retention,
        shutdown.child_token(),
    ));
    let sealer = tokio::spawn(crate::janitor::run_audit_sealer(
        db.clone(),
        crate::janitor::AUDIT_SEAL_INTERVAL,
        shutdown.child_token(),
    ));
    let scheduler = tokio::spawn(crate::service_windows::run_scheduler(
        db.clone(),
        config.service_windows.clone(),
        shutdown.child_token(),
    ));
    let monitor = config.health.map(|health| {
        tracing::info!(interval = ?health.interval, "host health probes on");
        tokio::spawn(crate::health::run_monitor(
            db.clone(),
            health,
            shutdown.child_token(),
        ))
    });
    let result = hamn_certs::serve(listener, tls_config, router(state), shutdown.clone()).await;
    shutdown.cancel();
    if let Some(monitor) = monitor {
        let _ = monitor.await;
    }
    let _ = janitor.await;
    let _ = sealer.await;
    let _ = scheduler.await;
    db.close().await;
    result.map_err(BrokerError::Serve)
}
