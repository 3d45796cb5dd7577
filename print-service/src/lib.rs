//! The print service: print jobs in, PDFs out. Hosts print over IPP Everywhere to a
//! per-session printer URI (`POST /ipp/print/{token}`, [`ipp`]); the gateway's redirected
//! RDP printer sends its jobs the same way. [`jobs`] spools, renders ([`render`]) and
//! records each job, audits it and notifies the owner's session; [`store`] keeps the PDFs
//! per tenant under `print.data_dir` and purges them after `print.retention_hours`.

pub mod ipp;
pub mod jobs;
pub mod render;
pub mod store;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use hamn_broker::db::{Database, DatabaseConfig};
use hamn_broker::model::PrintJobState;
use hamn_certs::ServerCertFiles;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

pub use jobs::{JobLimits, Pipeline};
pub use store::Store;

/// How often retention and abandoned jobs are swept.
pub const PURGE_INTERVAL: Duration = Duration::from_secs(60);
/// A job created without its document is given up after this (IPP's
/// multiple-operation-time-out, with some slack).
pub const PENDING_TIMEOUT: Duration = Duration::from_secs(120);
/// A job still `processing` this long after it was created was left behind by a print
/// service that stopped mid-job (a 128 MiB document at 40 KB/s still arrives within it);
/// it is refused and its spool files go.
pub const PROCESSING_TIMEOUT: Duration = Duration::from_secs(3600);

/// What the print service needs to run.
#[derive(Debug, Clone)]
pub struct PrintConfig {
    pub listen: SocketAddr,
    pub tls: ServerCertFiles,
    pub database: DatabaseConfig,
    /// `print.data_dir`: tenants' spool and job directories.
    pub data_dir: PathBuf,
    /// `print.retention_hours`.
    pub retention: Duration,
    /// `print.max_job_bytes` and the render options (Ghostscript).
    pub limits: JobLimits,
    /// `print.public_url`: `https://host:port` the printer URIs are made from.
    pub public_url: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PrintError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Tls(#[from] hamn_certs::ServerTlsError),
    #[error(transparent)]
    Database(#[from] hamn_broker::DbError),
    #[error("cannot create {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("listener failed: {0}")]
    Serve(std::io::Error),
}

/// What the routes share.
#[derive(Debug)]
pub struct PrintState {
    pub pipeline: Pipeline,
    /// `https://host:port`, for printer URIs.
    pub public_url: String,
    /// When this service came up (printer-up-time counts from here).
    pub up_since: OffsetDateTime,
}

/// The print service's HTTPS routes.
pub fn router(state: Arc<PrintState>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/ipp/print/{token}", post(ipp::endpoint::handle))
        .route("/ipp/icon.png", get(ipp::endpoint::icon))
        .with_state(state)
}

/// The shared state of a print service on `db`.
pub fn state(db: Database, config: &PrintConfig) -> Arc<PrintState> {
    let store = Store::new(config.data_dir.clone(), config.retention);
    Arc::new(PrintState {
        pipeline: Pipeline::new(db, store, config.limits.clone()),
        public_url: config.public_url.clone(),
        up_since: OffsetDateTime::now_utc(),
    })
}

/// One sweep: expired PDFs deleted and their rows marked, abandoned jobs refused.
pub async fn sweep(pipeline: &Pipeline, now: OffsetDateTime) {
    match pipeline.store().purge(pipeline.db(), now).await {
        Ok(r) if r.jobs > 0 => tracing::info!(jobs = r.jobs, files = r.files, "print retention"),
        Ok(_) => {}
        Err(e) => tracing::warn!("print retention: {e}"),
    }
    for (state, timeout) in [
        (PrintJobState::Pending, PENDING_TIMEOUT),
        (PrintJobState::Processing, PROCESSING_TIMEOUT),
    ] {
        if let Err(e) = pipeline.abort_stale(now, state, timeout).await {
            tracing::warn!("abandoned print jobs: {e}");
        }
    }
    let removed = pipeline
        .store()
        .remove_stale_spool(now, PROCESSING_TIMEOUT)
        .await;
    if removed > 0 {
        tracing::info!(files = removed, "stale spool files removed");
    }
}

/// The listener's TLS configuration: the shared one, without TLS 1.3 session tickets.
/// CUPS' GnuTLS client (ipptool, the ipps backend) takes the tickets a server sends after
/// the handshake for the end of the connection and retries forever; printers do not
/// resume sessions anyway.
pub fn tls_config(
    files: &ServerCertFiles,
) -> Result<Arc<rustls::ServerConfig>, hamn_certs::ServerTlsError> {
    let shared = hamn_certs::server::server_config(files)?;
    let mut config = (*shared).clone();
    config.send_tls13_tickets = 0;
    Ok(Arc::new(config))
}

/// Runs the print service until `shutdown` is cancelled. The database must be migrated.
pub async fn run(config: PrintConfig, shutdown: CancellationToken) -> Result<(), PrintError> {
    let tls = tls_config(&config.tls)?;
    std::fs::create_dir_all(&config.data_dir).map_err(|source| PrintError::DataDir {
        path: config.data_dir.clone(),
        source,
    })?;
    let db = Database::connect(&config.database).await?;
    let state = state(db, &config);
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| PrintError::Bind {
            addr: config.listen,
            source,
        })?;
    let sweeper = {
        let (state, shutdown) = (Arc::clone(&state), shutdown.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(PURGE_INTERVAL);
            loop {
                tokio::select! {
                    _ = tick.tick() => sweep(&state.pipeline, OffsetDateTime::now_utc()).await,
                    () = shutdown.cancelled() => return,
                }
            }
        })
    };
    tracing::info!(addr = %config.listen, "print service listening");
    let served = hamn_certs::serve(listener, tls, router(Arc::clone(&state)), shutdown)
        .await
        .map_err(PrintError::Serve);
    sweeper.abort();
    state.pipeline.db().close().await;
    served
}
