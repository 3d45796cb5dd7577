//! Integration tests for `hamn-certs` at its boundaries: files written by the dev PKI, client
//! certificate verification, and real TLS listeners on 127.0.0.1 with ephemeral ports.

mod client_auth;
mod listener;
mod pki;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use hamn_certs::DevPki;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A dev PKI in a fresh temporary directory (kept alive by the returned guard).
pub fn init_pki() -> (tempfile::TempDir, DevPki) {
    let dir = tempfile::tempdir().unwrap();
    let pki = DevPki::init(dir.path()).unwrap();
    (dir, pki)
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn certs_from_pem(pem: &str) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<_, _>>()
        .unwrap()
}

/// A rustls client trusting `ca_pem`, optionally presenting `client` (cert PEM, key PEM).
pub fn client_config(
    ca_pem: &str,
    client: Option<(&str, &str)>,
    alpn: &[&[u8]],
) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in certs_from_pem(ca_pem) {
        roots.add(cert).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    let mut config = match client {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => builder
            .with_client_auth_cert(
                certs_from_pem(cert),
                PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
            )
            .unwrap(),
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    // Every request is a full handshake, so the tests see the certificate served right now
    // rather than the one remembered from a resumed session.
    config.resumption = rustls::client::Resumption::disabled();
    Arc::new(config)
}

pub struct Response {
    pub status: u16,
    pub body: String,
    /// The leaf certificate the server presented.
    pub server_cert: CertificateDer<'static>,
}

/// One HTTP/1.1 GET over a fresh TLS connection to `addr`, as host `localhost`.
pub async fn get(addr: SocketAddr, config: Arc<rustls::ClientConfig>, path: &str) -> Response {
    try_get(addr, config, path)
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

/// Like [`get`], but reports a failed handshake or an absent response as an error.
pub async fn try_get(
    addr: SocketAddr,
    config: Arc<rustls::ClientConfig>,
    path: &str,
) -> Result<Response, String> {
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let connector = tokio_rustls::TlsConnector::from(config);
    let mut tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let server_cert = tls.get_ref().1.peer_certificates().unwrap()[0]
        .clone()
        .into_owned();
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    tls.write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    // rustls reports a missing close_notify as an error after the data has been read, so
    // judge by what arrived.
    let read_result = tls.read_to_end(&mut raw).await;
    let text = String::from_utf8(raw).map_err(|e| e.to_string())?;
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return Err(format!("no response ({read_result:?}): {text:?}"));
    };
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or(head.to_owned())?;
    Ok(Response {
        status,
        body: body.to_owned(),
        server_cert,
    })
}
