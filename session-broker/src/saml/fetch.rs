//! Fetching IdP metadata from a URL, once, when an admin configures it (the document is
//! then stored and pinned; it is never re-fetched behind the admin's back). HTTPS against
//! the system's CA bundle; plain HTTP only to a loopback host (the demo IdP, tests).
//! Bounded: 10 seconds, [`super::metadata::MAX_METADATA_BYTES`], no redirects.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper::http::{Request, StatusCode, Uri, header};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;

use super::metadata::MAX_METADATA_BYTES;

/// Where the system's trusted CAs are (Debian's ca-certificates).
pub const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("not an http(s) URL with a host")]
    BadUrl,
    #[error("plain http is only allowed to a loopback host")]
    NotLoopback,
    #[error("connecting failed: {0}")]
    Connect(String),
    #[error("the server answered {0}")]
    Status(StatusCode),
    #[error("the document is too large or could not be read")]
    Body,
    #[error("timed out")]
    Timeout,
}

fn roots() -> rustls::RootCertStore {
    let mut store = rustls::RootCertStore::empty();
    if let Ok(pem) = std::fs::read(SYSTEM_CA_BUNDLE) {
        for cert in rustls_pemfile::certs(&mut pem.as_slice()).flatten() {
            // A certificate the store cannot use is skipped, not fatal.
            let _ = store.add(cert);
        }
    }
    store
}

/// GETs `url` and returns the body as text.
pub async fn fetch_metadata(url: &str) -> Result<String, FetchError> {
    tokio::time::timeout(Duration::from_secs(10), fetch(url))
        .await
        .map_err(|_| FetchError::Timeout)?
}

async fn fetch(url: &str) -> Result<String, FetchError> {
    let uri: Uri = url.parse().map_err(|_| FetchError::BadUrl)?;
    let host = uri.host().ok_or(FetchError::BadUrl)?.to_owned();
    let bare_host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let tls = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(FetchError::BadUrl),
    };
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let tcp = TcpStream::connect((bare_host.as_str(), port))
        .await
        .map_err(|e| FetchError::Connect(e.to_string()))?;
    if !tls {
        let peer = tcp
            .peer_addr()
            .map_err(|e| FetchError::Connect(e.to_string()))?;
        if !peer.ip().is_loopback() {
            return Err(FetchError::NotLoopback);
        }
    }
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    let request = Request::get(path)
        .header(
            header::HOST,
            uri.authority().map_or(host.as_str(), |a| a.as_str()),
        )
        .header(
            header::ACCEPT,
            "application/samlmetadata+xml, application/xml, text/xml",
        )
        .body(Empty::<Bytes>::new())
        .map_err(|_| FetchError::BadUrl)?;
    let response = if tls {
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| FetchError::Connect(e.to_string()))?
        .with_root_certificates(roots())
        .with_no_client_auth();
        let name = ServerName::try_from(bare_host).map_err(|_| FetchError::BadUrl)?;
        let stream = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|e| FetchError::Connect(e.to_string()))?;
        send(TokioIo::new(stream), request).await?
    } else {
        send(TokioIo::new(tcp), request).await?
    };
    if response.status() != StatusCode::OK {
        return Err(FetchError::Status(response.status()));
    }
    let body = Limited::new(response.into_body(), MAX_METADATA_BYTES)
        .collect()
        .await
        .map_err(|_| FetchError::Body)?
        .to_bytes();
    String::from_utf8(body.to_vec()).map_err(|_| FetchError::Body)
}

async fn send<I>(
    io: I,
    request: Request<Empty<Bytes>>,
) -> Result<hyper::Response<hyper::body::Incoming>, FetchError>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| FetchError::Connect(e.to_string()))?;
    tokio::spawn(async move {
        // The connection ends with the one response; its error is the request's.
        let _ = connection.await;
    });
    sender
        .send_request(request)
        .await
        .map_err(|e| FetchError::Connect(e.to_string()))
}
