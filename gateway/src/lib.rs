//! The gateway: Hamn's TLS front door. Serves the portal (the web client) and the health
//! endpoints today; browser session streaming and the RD Gateway protocol grow here.
//!
//! [`run`] is the service's one entry: it binds its listeners, serves until the shutdown
//! token is cancelled, then lets in-flight requests finish.

pub mod display;
mod headers;
mod portal;
pub mod rdp;
mod redirect;
pub mod wire;

use std::net::SocketAddr;

use hamn_broker::db::{Database, DatabaseConfig};
use hamn_certs::ServerCertFiles;
use tokio_util::sync::CancellationToken;

pub use portal::router;

/// What the gateway needs to run.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// The HTTPS listener for the portal and sessions.
    pub listen: SocketAddr,
    /// The URL users reach the portal at (redirect target).
    pub public_url: String,
    /// A plaintext listener that only redirects to `public_url`.
    pub redirect_listen: Option<SocketAddr>,
    pub tls: ServerCertFiles,
    pub database: DatabaseConfig,
}

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Tls(#[from] hamn_certs::ServerTlsError),
    #[error(transparent)]
    Database(#[from] hamn_broker::db::DbError),
    #[error("listener failed: {0}")]
    Serve(std::io::Error),
}

/// Runs the gateway until `shutdown` is cancelled.
pub async fn run(config: GatewayConfig, shutdown: CancellationToken) -> Result<(), GatewayError> {
    let database = Database::connect(&config.database).await?;
    let tls = hamn_certs::server::server_config(&config.tls)?;
    let listener = bind(config.listen).await?;
    tracing::info!(addr = %config.listen, url = %config.public_url, "gateway listening");

    let redirect = match config.redirect_listen {
        Some(addr) => {
            let listener = bind(addr).await?;
            tracing::info!(%addr, "plaintext redirect listening");
            Some(tokio::spawn(redirect::serve(
                listener,
                config.public_url.clone(),
                shutdown.clone(),
            )))
        }
        None => None,
    };

    let app = router(portal::PortalState { database });
    let served = hamn_certs::serve(listener, tls, app, shutdown.clone()).await;
    shutdown.cancel();
    if let Some(task) = redirect {
        // The redirect only answers with a Location; its failure must not mask the main one.
        if let Ok(Err(error)) = task.await {
            tracing::warn!(%error, "redirect listener failed");
        }
    }
    served.map_err(GatewayError::Serve)
}

async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, GatewayError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| GatewayError::Bind { addr, source })
}
