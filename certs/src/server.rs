//! Server TLS configuration: certificates that reload from disk when their files change, and
//! the handshake-level client-certificate verifier used by listeners that ask for one.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, UnixTime};

/// Where a listener's certificate chain and private key live (PEM).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct ServerCertFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl ServerCertFiles {
    pub fn new(cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        Self {
            cert: cert.into(),
            key: key.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServerTlsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
}

/// How often the resolver looks at the files' metadata: often enough that a renewed
/// certificate is picked up promptly, rarely enough that handshakes do not stat files.
const RELOAD_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// A rustls server configuration (TLS 1.2 and 1.3 only, ring provider, ALPN h2 and
/// http/1.1) whose certificate is re-read when the files change on disk. No client
/// certificate is requested.
pub fn server_config(files: &ServerCertFiles) -> Result<Arc<rustls::ServerConfig>, ServerTlsError> {
    let provider = provider();
    let resolver = ReloadingCertResolver::new(files.clone(), provider.clone())?;
    let config = versions_builder(&provider, &files.cert)?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(resolver));
    Ok(finish(config))
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
    let provider = provider();
    let resolver = ReloadingCertResolver::new(files.clone(), provider.clone())?;
    let roots = load_root_store(client_ca_hints)?;
    let verifier = PossessionOnlyClientVerifier {
        hints: roots.subjects(),
        algorithms: provider.signature_verification_algorithms,
    };
    let config = versions_builder(&provider, &files.cert)?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_cert_resolver(Arc::new(resolver));
    Ok(finish(config))
}

pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn versions_builder(
    provider: &Arc<CryptoProvider>,
    path: &Path,
) -> Result<rustls::ConfigBuilder<rustls::ServerConfig, rustls::WantsVerifier>, ServerTlsError> {
    rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| invalid(path, format!("TLS configuration: {e}")))
}

fn finish(mut config: rustls::ServerConfig) -> Arc<rustls::ServerConfig> {
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Arc::new(config)
}

fn invalid(path: &Path, reason: impl Into<String>) -> ServerTlsError {
    ServerTlsError::Invalid {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, ServerTlsError> {
    std::fs::read(path).map_err(|source| ServerTlsError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Parses every certificate in a PEM document; at least one is required.
pub(crate) fn parse_pem_certs(
    path: &Path,
    pem: &[u8],
) -> Result<Vec<CertificateDer<'static>>, ServerTlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(path, format!("bad PEM certificate: {e}")))?;
    if certs.is_empty() {
        return Err(invalid(path, "no PEM certificate found"));
    }
    Ok(certs)
}

/// Parses the first private key (PKCS#8, PKCS#1 or SEC1) in a PEM document. The reason never
/// quotes the parser's message, so that no fragment of key material can reach a log.
pub(crate) fn parse_pem_key(
    path: &Path,
    pem: &[u8],
) -> Result<PrivateKeyDer<'static>, ServerTlsError> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| match e {
        rustls_pki_types::pem::Error::NoItemsFound => invalid(path, "no PEM private key found"),
        _ => invalid(path, "malformed PEM private key"),
    })
}

pub(crate) fn load_root_store(path: &Path) -> Result<RootCertStore, ServerTlsError> {
    let certs = parse_pem_certs(path, &read_file(path)?)?;
    let mut roots = RootCertStore::empty();
    for cert in certs {
        roots
            .add(cert)
            .map_err(|e| invalid(path, format!("unusable CA certificate: {e}")))?;
    }
    Ok(roots)
}

fn load_certified_key(
    files: &ServerCertFiles,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, ServerTlsError> {
    let chain = parse_pem_certs(&files.cert, &read_file(&files.cert)?)?;
    let key = parse_pem_key(&files.key, &read_file(&files.key)?)?;
    CertifiedKey::from_der(chain, key, provider).map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) => invalid(
            &files.key,
            format!("private key does not match {}", files.cert.display()),
        ),
        _ => invalid(&files.key, "unusable private key"),
    })
}

/// Identifies one on-disk version of a set of files. Length joins mtime because a rewrite
/// within the filesystem's timestamp granularity would otherwise go unnoticed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FilesStamp(Vec<Option<(SystemTime, u64)>>);

impl FilesStamp {
    fn of(paths: &[PathBuf]) -> Self {
        let stamp = |p: &PathBuf| {
            std::fs::metadata(p)
                .ok()
                .and_then(|m| Some((m.modified().ok()?, m.len())))
        };
        Self(paths.iter().map(stamp).collect())
    }
}

#[derive(Debug)]
struct ReloadState<T> {
    current: Arc<T>,
    seen: FilesStamp,
    last_check: Instant,
    /// The [`crate::reload`] generation this state has seen: a newer one forces a re-read.
    generation: u64,
}

/// A value loaded from files and loaded again when they change on disk (checked at most every
/// [`RELOAD_CHECK_INTERVAL`], at use) or when a reload is requested ([`crate::reload`]). A
/// broken or half-written set keeps the previous value in service: a renewal must never take
/// a listener down. The one reloading mechanism for certificates and CA bundles.
pub(crate) struct Reloading<T> {
    paths: Vec<PathBuf>,
    what: &'static str,
    load: Box<dyn Fn() -> Result<T, ServerTlsError> + Send + Sync>,
    state: Mutex<ReloadState<T>>,
}

impl<T> std::fmt::Debug for Reloading<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reloading")
            .field("what", &self.what)
            .field("paths", &self.paths)
            .finish_non_exhaustive()
    }
}

impl<T> Reloading<T> {
    /// Loads once now (an error fails the start) and keeps `load` for later changes.
    pub(crate) fn new(
        paths: Vec<PathBuf>,
        what: &'static str,
        load: impl Fn() -> Result<T, ServerTlsError> + Send + Sync + 'static,
    ) -> Result<Self, ServerTlsError> {
        let seen = FilesStamp::of(&paths);
        let current = Arc::new(load()?);
        Ok(Self {
            paths,
            what,
            load: Box::new(load),
            state: Mutex::new(ReloadState {
                current,
                seen,
                last_check: Instant::now(),
                generation: crate::reload::generation(),
            }),
        })
    }

    /// The value now in service, re-read first if its files changed or a reload was asked.
    pub(crate) fn current(&self) -> Arc<T> {
        // A panic elsewhere while holding the lock leaves the state consistent (every field
        // is replaced whole), so a poisoned lock is still safe to use.
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let generation = crate::reload::generation();
        let forced = generation != state.generation;
        if forced || state.last_check.elapsed() >= RELOAD_CHECK_INTERVAL {
            state.last_check = Instant::now();
            state.generation = generation;
            let stamp = FilesStamp::of(&self.paths);
            if forced || stamp != state.seen {
                // Remember the stamp even on failure so a broken set is reported once, not
                // on every use; the next write changes the stamp and is tried again.
                state.seen = stamp;
                match (self.load)() {
                    Ok(value) => {
                        tracing::info!(file = %self.paths[0].display(), what = self.what, "reloaded");
                        state.current = Arc::new(value);
                    }
                    Err(error) => tracing::warn!(
                        %error,
                        what = self.what,
                        "files changed but cannot be used; keeping the previous version"
                    ),
                }
            }
        }
        state.current.clone()
    }
}

/// Serves the certificate from `files`, re-reading it when the files change.
#[derive(Debug)]
struct ReloadingCertResolver(Reloading<CertifiedKey>);

impl ReloadingCertResolver {
    fn new(files: ServerCertFiles, provider: Arc<CryptoProvider>) -> Result<Self, ServerTlsError> {
        let paths = vec![files.cert.clone(), files.key.clone()];
        let reloading = Reloading::new(paths, "server certificate", move || {
            load_certified_key(&files, &provider)
        })?;
        Ok(Self(reloading))
    }
}

impl ResolvesServerCert for ReloadingCertResolver {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.current())
    }
}

/// Asks for a client certificate and checks only that the client holds its private key.
/// Judging the chain here would end the handshake with a TLS alert the user cannot read;
/// the application judges it instead and answers 401/403 with an audit record.
#[derive(Debug)]
struct PossessionOnlyClientVerifier {
    hints: Vec<DistinguishedName>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for PossessionOnlyClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.hints
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        // Something must be parseable as X.509, or the signature check below has no key.
        x509_parser::parse_x509_certificate(end_entity.as_ref()).map_err(|_| {
            rustls::Error::InvalidCertificate(rustls::CertificateError::BadEncoding)
        })?;
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: &str = "test.pem";

    #[test]
    fn garbage_is_not_a_certificate() {
        let err = parse_pem_certs(Path::new(P), b"hello world").unwrap_err();
        assert!(err.to_string().contains("no PEM certificate"), "{err}");
    }

    #[test]
    fn truncated_pem_certificate_is_refused() {
        let pem = b"-----BEGIN CERTIFICATE-----\nMIIB\n";
        assert!(parse_pem_certs(Path::new(P), pem).is_err());
    }

    #[test]
    fn bad_base64_in_pem_certificate_is_refused() {
        let pem = b"-----BEGIN CERTIFICATE-----\n!!!not base64!!!\n-----END CERTIFICATE-----\n";
        assert!(parse_pem_certs(Path::new(P), pem).is_err());
    }

    #[test]
    fn key_errors_do_not_quote_the_input() {
        let secret = "-----BEGIN PRIVATE KEY-----\nSECRETSECRET!!\n-----END PRIVATE KEY-----\n";
        let err = parse_pem_key(Path::new(P), secret.as_bytes()).unwrap_err();
        assert!(!err.to_string().contains("SECRET"), "{err}");
        let err = parse_pem_key(Path::new(P), b"").unwrap_err();
        assert!(err.to_string().contains("no PEM private key"), "{err}");
    }

    #[test]
    fn ca_hints_must_be_certificates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.crt");
        std::fs::write(
            &path,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        assert!(matches!(
            load_root_store(&path),
            Err(ServerTlsError::Invalid { .. })
        ));
        let missing = dir.path().join("missing.crt");
        assert!(matches!(
            load_root_store(&missing),
            Err(ServerTlsError::Read { .. })
        ));
    }

    #[test]
    fn missing_files_fail_server_config() {
        let dir = tempfile::tempdir().unwrap();
        let files = ServerCertFiles::new(dir.path().join("a.crt"), dir.path().join("a.key"));
        assert!(matches!(
            server_config(&files),
            Err(ServerTlsError::Read { .. })
        ));
    }
}
