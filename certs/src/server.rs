//! Server TLS configuration: certificates that reload from disk when their files change.
//!
//! INTERFACE STUB — bodies are being implemented; signatures are fixed.

use std::path::PathBuf;
use std::sync::Arc;

/// Where a listener's certificate chain and private key live (PEM).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct ServerCertFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum ServerTlsError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
}

/// A rustls server configuration (TLS 1.2 and 1.3 only, ring provider, ALPN h2 and
/// http/1.1) whose certificate is re-read when the files change on disk. No client
/// certificate is requested.
pub fn server_config(files: &ServerCertFiles) -> Result<Arc<rustls::ServerConfig>, ServerTlsError> {
    let _ = files;
    todo!()
}

/// Like [`server_config`], but asks the client for a certificate issued by one of the CAs in
/// `client_ca_hints` without requiring one. Chain, validity and EKU are *not* judged in the
/// handshake (only proof of key possession), so that the application can answer a refusal
/// with a clear 401/403 and audit it; use [`crate::ClientCertVerifier`] on
/// [`crate::PeerCertificates`].
pub fn server_config_requesting_client_cert(
    files: &ServerCertFiles,
    client_ca_hints: &std::path::Path,
) -> Result<Arc<rustls::ServerConfig>, ServerTlsError> {
    let _ = (files, client_ca_hints);
    todo!()
}
