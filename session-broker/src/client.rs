//! A small typed HTTPS client of the admin API, used by `hamn admin`, tests and benchmarks.
//! It presents a client certificate and keeps connections alive between requests.

use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::http::{Method, Request, StatusCode, Uri, header};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot read {path}: {reason}")]
    Pem { path: String, reason: String },
    #[error("TLS setup: {0}")]
    Tls(#[from] rustls::Error),
    #[error("invalid URL {0}")]
    Url(String),
    #[error("request failed: {0}")]
    Http(String),
    #[error("the response is not JSON ({status}): {reason}")]
    NotJson { status: u16, reason: String },
}

/// A response: status and JSON body (`null` for empty bodies such as 204).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiResponse {
    pub status: StatusCode,
    pub json: serde_json::Value,
}

/// An admin API client bound to one base URL (`https://localhost:8444`).
#[derive(Clone)]
pub struct AdminClient {
    base: String,
    http: Client<TlsConnectorService, Full<Bytes>>,
}

impl std::fmt::Debug for AdminClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, ClientError> {
    let pem_err = |reason: String| ClientError::Pem {
        path: path.display().to_string(),
        reason,
    };
    let data = std::fs::read(path).map_err(|e| pem_err(e.to_string()))?;
    let certs = rustls_pemfile::certs(&mut data.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_err(e.to_string()))?;
    if certs.is_empty() {
        return Err(pem_err("no certificate in file".into()));
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, ClientError> {
    let pem_err = |reason: String| ClientError::Pem {
        path: path.display().to_string(),
        reason,
    };
    let data = std::fs::read(path).map_err(|e| pem_err(e.to_string()))?;
    rustls_pemfile::private_key(&mut data.as_slice())
        .map_err(|e| pem_err(e.to_string()))?
        .ok_or_else(|| pem_err("no private key in file".into()))
}

impl AdminClient {
    /// A client trusting the server CA in `ca_pem_path` and presenting the given client
    /// certificate (PEM chain) and key.
    pub fn new(
        base_url: &str,
        ca_pem_path: &Path,
        client_cert_pem_path: &Path,
        client_key_pem_path: &Path,
    ) -> Result<Self, ClientError> {
        let identity = (
            read_certs(client_cert_pem_path)?,
            read_key(client_key_pem_path)?,
        );
        Self::build(base_url, ca_pem_path, Some(identity))
    }

    /// A client that presents no certificate (to see the API refuse it).
    pub fn without_client_cert(base_url: &str, ca_pem_path: &Path) -> Result<Self, ClientError> {
        Self::build(base_url, ca_pem_path, None)
    }

    fn build(
        base_url: &str,
        ca_pem_path: &Path,
        identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    ) -> Result<Self, ClientError> {
        let base = base_url.trim_end_matches('/').to_owned();
        let uri: Uri = base
            .parse()
            .map_err(|_| ClientError::Url(base_url.to_owned()))?;
        if uri.scheme_str() != Some("https") || uri.host().is_none() {
            return Err(ClientError::Url(base_url.to_owned()));
        }
        let mut roots = rustls::RootCertStore::empty();
        for cert in read_certs(ca_pem_path)? {
            roots.add(cert)?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots);
        let mut config = match identity {
            Some((chain, key)) => builder.with_client_auth_cert(chain, key)?,
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let connector = TlsConnectorService {
            tls: TlsConnector::from(Arc::new(config)),
        };
        let http = Client::builder(TokioExecutor::new()).build(connector);
        Ok(Self { base, http })
    }

    /// Sends `method path` (path relative to the base URL, e.g. `/api/v1/tenants`) with an
    /// optional JSON body.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<ApiResponse, ClientError> {
        let uri = format!("{}{}", self.base, path);
        let mut req = Request::builder()
            .method(method)
            .uri(&uri)
            .header(header::ACCEPT, "application/json");
        let bytes = match body {
            Some(v) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Bytes::from(v.to_string())
            }
            None => Bytes::new(),
        };
        let req = req
            .body(Full::new(bytes))
            .map_err(|_| ClientError::Url(uri.clone()))?;
        let resp = self
            .http
            .request(req)
            .await
            .map_err(|e| ClientError::Http(error_chain(&e)))?;
        let status = resp.status();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| ClientError::Http(e.to_string()))?
            .to_bytes();
        let json = if body.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&body).map_err(|e| ClientError::NotJson {
                status: status.as_u16(),
                reason: e.to_string(),
            })?
        };
        Ok(ApiResponse { status, json })
    }

    pub async fn get(&self, path: &str) -> Result<ApiResponse, ClientError> {
        self.request(Method::GET, path, None).await
    }

    pub async fn post(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> Result<ApiResponse, ClientError> {
        self.request(Method::POST, path, Some(body)).await
    }

    pub async fn patch(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> Result<ApiResponse, ClientError> {
        self.request(Method::PATCH, path, Some(body)).await
    }

    pub async fn put(
        &self,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<ApiResponse, ClientError> {
        self.request(Method::PUT, path, body).await
    }

    pub async fn delete(&self, path: &str) -> Result<ApiResponse, ClientError> {
        self.request(Method::DELETE, path, None).await
    }
}

/// Every cause of an error, so "handshake failed: certificate required" is not lost behind
/// "client error (Connect)".
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// Connects TCP then TLS for hyper's pooled client.
#[derive(Clone)]
struct TlsConnectorService {
    tls: TlsConnector,
}

impl tower::Service<Uri> for TlsConnectorService {
    type Response = TokioIo<TlsConn>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, io::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), io::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let tls = self.tls.clone();
        Box::pin(async move {
            let invalid = || io::Error::new(io::ErrorKind::InvalidInput, "URL without host");
            let host = uri.host().ok_or_else(invalid)?;
            // `[::1]` in a URL is `::1` to TLS and TCP.
            let host = host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned();
            let port = uri.port_u16().unwrap_or(443);
            let tcp = TcpStream::connect((host.as_str(), port)).await?;
            tcp.set_nodelay(true)?;
            let name = ServerName::try_from(host)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
            let stream = tls.connect(name, tcp).await?;
            Ok(TokioIo::new(TlsConn(stream)))
        })
    }
}

/// A TLS connection hyper can pool.
struct TlsConn(TlsStream<TcpStream>);

impl Connection for TlsConn {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

impl AsyncRead for TlsConn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsConn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}
