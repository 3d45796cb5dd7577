//! Verification of TLS client certificates at the application layer.
//!
//! INTERFACE STUB — bodies are being implemented; signatures are fixed.

use std::path::Path;

use rustls_pki_types::{CertificateDer, UnixTime};

/// What a verified client certificate says about its holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIdentity {
    /// Subject commonName.
    pub subject_cn: Option<String>,
    /// Subject serialNumber attribute (2.5.4.5): the HSA-ID on SITHS cards.
    pub subject_serial_number: Option<String>,
    /// Lower-case hex SHA-256 of the DER certificate.
    pub sha256_fingerprint: String,
}

/// Why a client certificate was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ClientCertError {
    #[error("no client certificate was presented")]
    Missing,
    #[error("the client certificate is not issued by a trusted CA")]
    UntrustedIssuer,
    #[error("the client certificate has expired")]
    Expired,
    #[error("the client certificate is not yet valid")]
    NotYetValid,
    #[error("the client certificate lacks the clientAuth extended key usage")]
    MissingClientAuthEku,
    #[error("the client certificate is malformed: {0}")]
    Malformed(String),
}

/// Verifies client chains against a fixed set of CA certificates.
#[derive(Debug, Clone)]
pub struct ClientCertVerifier {}

impl ClientCertVerifier {
    /// Loads trusted CA certificates from a PEM file (one or more certificates).
    pub fn from_ca_pem_file(path: &Path) -> Result<Self, crate::ServerTlsError> {
        let _ = path;
        todo!()
    }

    /// Verifies the chain as presented (end entity first) at `now`: chain to a trusted CA,
    /// validity period, and the clientAuth EKU, which must be present.
    pub fn verify(
        &self,
        chain: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientIdentity, ClientCertError> {
        let _ = (chain, now);
        todo!()
    }
}
