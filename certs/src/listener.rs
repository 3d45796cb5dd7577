//! The TLS accept loop shared by every Hamn listener.
//!
//! INTERFACE STUB — bodies are being implemented; signatures are fixed.

use std::sync::Arc;

use rustls_pki_types::CertificateDer;
use tokio_util::sync::CancellationToken;

/// Request extension on every request: the certificate chain the client presented during
/// the TLS handshake (end entity first), empty when it presented none. The handshake only
/// proved possession of the key; verify the chain with [`crate::ClientCertVerifier`].
#[derive(Debug, Clone, Default)]
pub struct PeerCertificates(pub Arc<Vec<CertificateDer<'static>>>);

/// Serves `app` on `listener` with TLS until `shutdown` is cancelled, then stops accepting
/// and waits for in-flight connections to finish. Every request carries
/// [`PeerCertificates`] and `axum::extract::ConnectInfo<SocketAddr>` extensions.
pub async fn serve(
    listener: tokio::net::TcpListener,
    tls: Arc<rustls::ServerConfig>,
    app: axum::Router,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let _ = (listener, tls, app, shutdown);
    todo!()
}
