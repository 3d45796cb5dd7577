//! The print service: print jobs in (RDP printer redirection via the gateway, IPP
//! Everywhere from hosts), PDFs out. Today it runs its HTTPS listener with the health
//! endpoints that load balancers and `hamn up` rely on; the job pipeline grows here.

pub mod render;

use std::net::SocketAddr;

use axum::Router;
use axum::routing::get;
use hamn_certs::ServerCertFiles;
use tokio_util::sync::CancellationToken;

/// What the print service needs to run.
#[derive(Debug, Clone)]
pub struct PrintConfig {
    pub listen: SocketAddr,
    pub tls: ServerCertFiles,
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
    #[error("listener failed: {0}")]
    Serve(std::io::Error),
}

/// The print service's HTTPS routes.
pub fn router() -> Router {
    Router::new().route("/healthz", get(|| async { "ok" }))
}

/// Runs the print service until `shutdown` is cancelled.
pub async fn run(config: PrintConfig, shutdown: CancellationToken) -> Result<(), PrintError> {
    let tls = hamn_certs::server::server_config(&config.tls)?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| PrintError::Bind {
            addr: config.listen,
            source,
        })?;
    tracing::info!(addr = %config.listen, "print service listening");
    hamn_certs::serve(listener, tls, router(), shutdown)
        .await
        .map_err(PrintError::Serve)
}
