//! Verification of TLS client certificates at the application layer: chain, validity and a
//! *required* clientAuth EKU, revocation by CRL when configured, OCSP after the handshake
//! ([`ClientCertVerifier::check_online`]) when the card names a responder, and the identity
//! (CN, HSA-ID, issuer, fingerprint) the holder presents.

use std::path::Path;
use std::sync::Arc;

use rustls::CertificateError;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::{CertificateDer, UnixTime};
use sha2::{Digest, Sha256};
use x509_parser::oid_registry::{OID_X509_GIVEN_NAME, OID_X509_SERIALNUMBER, OID_X509_SURNAME};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::crl::{Revocation, RevocationStatus};
use crate::ocsp::{OcspChecker, OcspVerdict};
use crate::server::{Reloading, load_root_store, provider};

/// What a verified client certificate says about its holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIdentity {
    /// Subject commonName.
    pub subject_cn: Option<String>,
    /// Subject serialNumber attribute (2.5.4.5): the HSA-ID on SITHS cards.
    pub subject_serial_number: Option<String>,
    /// Subject givenName (2.5.4.42) and surname (2.5.4.4): present on SITHS person
    /// certificates, absent on function certificates.
    pub given_name: Option<String>,
    pub surname: Option<String>,
    /// The issuing CA's commonName: what decides a SITHS card's level of assurance.
    pub issuer_cn: Option<String>,
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
    #[error("the client certificate is revoked")]
    Revoked,
    #[error(
        "no current CRL from the client certificate's issuer is loaded, or its OCSP responder gave no usable answer"
    )]
    RevocationUnknown,
    #[error("the client certificate's OCSP responder does not know it")]
    UnknownToResponder,
    #[error("the client certificate is malformed: {0}")]
    Malformed(String),
}

/// The chain check against one CA bundle as loaded.
type ChainVerifier = Arc<dyn rustls::server::danger::ClientCertVerifier>;

/// Verifies client chains against the CA certificates of a PEM bundle, which is read again
/// when the file changes or a reload is requested (SIGHUP), so a CA can be added or retired
/// without a restart; a bundle that cannot be used keeps the previous one in service.
#[derive(Debug, Clone)]
pub struct ClientCertVerifier {
    chain_verifier: Arc<Reloading<ChainVerifier>>,
    /// CRLs of the trusted CAs; `None`: revocation is not checked.
    revocation: Option<Arc<Revocation>>,
    /// OCSP for cards that name a responder; `None`: not asked.
    ocsp: Option<Arc<OcspChecker>>,
}

impl ClientCertVerifier {
    /// Loads trusted CA certificates from a PEM file (one or more certificates).
    pub fn from_ca_pem_file(path: &Path) -> Result<Self, crate::ServerTlsError> {
        let bundle = path.to_path_buf();
        let chain_verifier = Reloading::new(vec![bundle.clone()], "CA bundle", move || {
            chain_verifier_of(&bundle)
        })?;
        Ok(Self {
            chain_verifier: Arc::new(chain_verifier),
            revocation: None,
            ocsp: None,
        })
    }

    /// Also asks the OCSP responder a card names, in [`Self::check_online`].
    pub fn with_ocsp(mut self, ocsp: Arc<OcspChecker>) -> Self {
        self.ocsp = Some(ocsp);
        self
    }

    /// The checks that need the network, after [`Self::verify`] accepted `chain`: OCSP
    /// when the card names a responder (answers cached until their nextUpdate).
    pub async fn check_online(
        &self,
        chain: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<(), ClientCertError> {
        let Some(ocsp) = &self.ocsp else {
            return Ok(());
        };
        let now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
        match ocsp.check(chain, now).await {
            OcspVerdict::NotChecked | OcspVerdict::Good => Ok(()),
            OcspVerdict::Revoked => Err(ClientCertError::Revoked),
            OcspVerdict::Unknown => Err(ClientCertError::UnknownToResponder),
            OcspVerdict::Unavailable(_) => Err(ClientCertError::RevocationUnknown),
        }
    }

    /// Also checks each end-entity certificate against the CRLs of `revocation`, which
    /// reloads them in place (the verifier need not be rebuilt).
    pub fn with_revocation(mut self, revocation: Arc<Revocation>) -> Self {
        self.revocation = Some(revocation);
        self
    }

    /// Verifies the chain as presented (end entity first) at `now`: chain to a trusted CA,
    /// validity period, and the clientAuth EKU, which must be present.
    pub fn verify(
        &self,
        chain: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientIdentity, ClientCertError> {
        let (end_entity, intermediates) = chain.split_first().ok_or(ClientCertError::Missing)?;
        self.chain_verifier
            .current()
            .verify_client_cert(end_entity, intermediates, now)
            .map_err(map_webpki_error)?;

        let (_, cert) = X509Certificate::from_der(end_entity.as_ref())
            .map_err(|e| ClientCertError::Malformed(e.to_string()))?;
        // webpki only checks EKU when the extension is present; a certificate without it
        // would be valid for every purpose, which a login must not accept.
        let eku = cert
            .extended_key_usage()
            .map_err(|e| ClientCertError::Malformed(format!("extendedKeyUsage: {e}")))?;
        if !eku.is_some_and(|e| e.value.client_auth) {
            return Err(ClientCertError::MissingClientAuthEku);
        }
        if let Some(revocation) = &self.revocation {
            let now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
            match revocation.status(&cert, now) {
                RevocationStatus::Good => {}
                RevocationStatus::Revoked => return Err(ClientCertError::Revoked),
                RevocationStatus::Unknown => return Err(ClientCertError::RevocationUnknown),
            }
        }

        Ok(identity_of(&cert, end_entity.as_ref()))
    }
}

/// The webpki chain check for the CAs of the PEM bundle at `path`.
fn chain_verifier_of(path: &Path) -> Result<ChainVerifier, crate::ServerTlsError> {
    let roots = Arc::new(load_root_store(path)?);
    WebPkiClientVerifier::builder_with_provider(roots, provider())
        .build()
        .map_err(|e| crate::ServerTlsError::Invalid {
            path: path.to_path_buf(),
            reason: format!("cannot build a verifier from these CAs: {e}"),
        })
}

/// What `cert` (DER `der`) says about its holder; trusted only once the chain verified.
fn identity_of(cert: &X509Certificate<'_>, der: &[u8]) -> ClientIdentity {
    let subject = cert.subject();
    let text =
        |attr: &x509_parser::x509::AttributeTypeAndValue<'_>| attr.as_str().ok().map(str::to_owned);
    ClientIdentity {
        subject_cn: subject.iter_common_name().next().and_then(text),
        subject_serial_number: subject
            .iter_by_oid(&OID_X509_SERIALNUMBER)
            .next()
            .and_then(text),
        given_name: subject
            .iter_by_oid(&OID_X509_GIVEN_NAME)
            .next()
            .and_then(text),
        surname: subject.iter_by_oid(&OID_X509_SURNAME).next().and_then(text),
        issuer_cn: cert.issuer().iter_common_name().next().and_then(text),
        sha256_fingerprint: sha256_hex(der),
    }
}

/// The identity a certificate whose chain *did* verify claims, for naming it in the audit
/// log when it is refused for revocation. `None` for unparsable input.
pub fn claimed_identity(der: &[u8]) -> Option<ClientIdentity> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    Some(identity_of(&cert, der))
}

/// Lower-case hex SHA-256 of `der`: a certificate's fingerprint.
pub fn sha256_hex(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn map_webpki_error(error: rustls::Error) -> ClientCertError {
    let rustls::Error::InvalidCertificate(cert_error) = error else {
        return ClientCertError::Malformed(error.to_string());
    };
    match cert_error {
        // A bad signature means the named issuer did not sign it: as untrusted as a stranger.
        CertificateError::UnknownIssuer | CertificateError::BadSignature => {
            ClientCertError::UntrustedIssuer
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            ClientCertError::Expired
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            ClientCertError::NotYetValid
        }
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            ClientCertError::MissingClientAuthEku
        }
        other => ClientCertError::Malformed(rustls::Error::InvalidCertificate(other).to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verifier() -> (tempfile::TempDir, ClientCertVerifier) {
        let dir = tempfile::tempdir().unwrap();
        let ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        let mut ca = ca;
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = ca.self_signed(&key).unwrap();
        let path = dir.path().join("ca.crt");
        std::fs::write(&path, cert.pem()).unwrap();
        let v = ClientCertVerifier::from_ca_pem_file(&path).unwrap();
        (dir, v)
    }

    #[test]
    fn empty_chain_is_missing() {
        let (_dir, v) = verifier();
        assert_eq!(
            v.verify(&[], UnixTime::now()),
            Err(ClientCertError::Missing)
        );
    }

    #[test]
    fn garbage_der_is_malformed() {
        let (_dir, v) = verifier();
        for junk in [&b""[..], b"\x30\x03\x02\x01", b"not a certificate at all"] {
            let chain = [CertificateDer::from(junk.to_vec())];
            assert!(
                matches!(
                    v.verify(&chain, UnixTime::now()),
                    Err(ClientCertError::Malformed(_))
                ),
                "{junk:?}"
            );
        }
    }

    #[test]
    fn ca_file_without_certificates_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.crt");
        std::fs::write(&path, "not pem").unwrap();
        assert!(ClientCertVerifier::from_ca_pem_file(&path).is_err());
    }

    #[test]
    fn fingerprint_is_lower_hex_sha256() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
