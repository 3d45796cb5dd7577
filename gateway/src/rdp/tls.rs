//! The TLS upgrade of the RDP connection (rustls with the ring provider) under the pool's
//! host-certificate policy, and the server public key CredSSP binds to.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::config::CertPolicy;
use super::error::{Phase, RdpError};

/// Where the system's CA bundle lives on Debian (overridable with `SSL_CERT_FILE`).
const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Runs the TLS handshake over `stream` and returns the TLS stream with the server's
/// public key (the subjectPublicKey bits, as CredSSP's public-key binding wants them).
pub async fn upgrade<S>(
    stream: S,
    host: &str,
    policy: &CertPolicy,
) -> Result<(TlsStream<S>, Vec<u8>), RdpError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let config = client_config(policy)?;
    let server_name = ServerName::try_from(host.to_owned()).map_err(|e| {
        RdpError::InvalidParams(format!("host is not a valid TLS server name: {e}"))
    })?;
    if matches!(policy, CertPolicy::Ignore) {
        tracing::warn!(
            host,
            "host certificate not verified (certificate policy: ignore)"
        );
    }
    let tls = TlsConnector::from(Arc::new(config))
        .connect(server_name, stream)
        .await
        .map_err(classify_handshake_error)?;
    let (_, connection) = tls.get_ref();
    let leaf = connection
        .peer_certificates()
        .and_then(|certs| certs.first())
        .ok_or_else(|| RdpError::Tls("the host sent no certificate".to_owned()))?;
    let public_key = subject_public_key(leaf)?;
    Ok((tls, public_key))
}

/// The SHA-256 of a certificate's DER encoding, the form [`CertPolicy::Pin`] takes.
pub fn certificate_sha256(der: &[u8]) -> [u8; 32] {
    Sha256::digest(der).into()
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

pub(crate) fn client_config(policy: &CertPolicy) -> Result<rustls::ClientConfig, RdpError> {
    let provider = provider();
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| RdpError::Tls(e.to_string()))?;
    let mut config = match policy {
        CertPolicy::Verify { ca_pem } => {
            let roots = root_store(ca_pem.as_deref())?;
            let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .map_err(|e| RdpError::InvalidParams(format!("CA certificates: {e}")))?;
            builder.with_webpki_verifier(verifier).with_no_client_auth()
        }
        CertPolicy::Pin { sha256 } => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(LeafVerifier {
                pins: Some(sha256.clone()),
                algorithms: provider.signature_verification_algorithms,
            }))
            .with_no_client_auth(),
        CertPolicy::Ignore => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(LeafVerifier {
                pins: None,
                algorithms: provider.signature_verification_algorithms,
            }))
            .with_no_client_auth(),
    };
    // CredSSP binds to the TLS channel; RDP hosts commonly mishandle resumed sessions.
    config.resumption = rustls::client::Resumption::disabled();
    Ok(config)
}

fn root_store(ca_pem: Option<&str>) -> Result<RootCertStore, RdpError> {
    let pem = match ca_pem {
        Some(pem) => pem.as_bytes().to_vec(),
        None => {
            let path = std::env::var_os("SSL_CERT_FILE").unwrap_or_else(|| SYSTEM_CA_BUNDLE.into());
            std::fs::read(&path).map_err(|e| {
                RdpError::InvalidParams(format!(
                    "cannot read system CA bundle {}: {e}",
                    path.to_string_lossy()
                ))
            })?
        }
    };
    let mut roots = RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        let cert = cert.map_err(|e| RdpError::InvalidParams(format!("CA PEM: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| RdpError::InvalidParams(format!("CA certificate: {e}")))?;
    }
    if roots.is_empty() {
        return Err(RdpError::InvalidParams(
            "no CA certificate in the CA PEM".to_owned(),
        ));
    }
    Ok(roots)
}

fn classify_handshake_error(error: std::io::Error) -> RdpError {
    let rustls_error = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    match rustls_error {
        Some(rustls::Error::InvalidCertificate(reason)) => {
            RdpError::CertificateRejected(format!("{reason:?}"))
        }
        Some(other) => RdpError::Tls(other.to_string()),
        None => RdpError::from_io(Phase::Tls, &error),
    }
}

fn subject_public_key(cert: &CertificateDer<'_>) -> Result<Vec<u8>, RdpError> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref())
        .map_err(|e| RdpError::Tls(format!("cannot parse the host certificate: {e}")))?;
    Ok(parsed.public_key().subject_public_key.data.to_vec())
}

/// Accepts a leaf by pin (or any leaf when `pins` is `None`); handshake signatures are still
/// verified, so the peer must hold the certificate's key.
#[derive(Debug)]
struct LeafVerifier {
    pins: Option<Vec<[u8; 32]>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for LeafVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match &self.pins {
            None => Ok(ServerCertVerified::assertion()),
            Some(pins) => {
                let digest = certificate_sha256(end_entity.as_ref());
                if pins.contains(&digest) {
                    Ok(ServerCertVerified::assertion())
                } else {
                    Err(rustls::Error::InvalidCertificate(
                        rustls::CertificateError::ApplicationVerificationFailure,
                    ))
                }
            }
        }
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
