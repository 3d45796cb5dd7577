//! TLS identity of the demo host: PEM certificate chain and private key → a rustls acceptor
//! (ring crypto provider), plus the certificate's public key that CredSSP (NLA) binds to.

use std::path::Path;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Why the TLS identity could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read certificate file {path}: {source}")]
    Cert {
        path: String,
        source: rustls_pki_types::pem::Error,
    },
    #[error("certificate file {0} holds no certificate")]
    NoCert(String),
    #[error("cannot read private key file {path}: {source}")]
    Key {
        path: String,
        source: rustls_pki_types::pem::Error,
    },
    #[error("certificate and key are not usable together: {0}")]
    Config(#[from] rustls::Error),
    #[error("cannot find the public key in the certificate: {0}")]
    PublicKey(&'static str),
}

/// A loaded certificate and key, ready to serve.
pub struct TlsIdentity {
    pub acceptor: ironrdp_server::tokio_rustls::TlsAcceptor,
    /// The raw subjectPublicKey bits of the leaf certificate (what CredSSP's pubKeyAuth uses).
    pub public_key: Vec<u8>,
}

impl TlsIdentity {
    /// Loads a PEM certificate chain (leaf first) and a PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub fn load(cert_path: &Path, key_path: &Path) -> Result<Self, TlsError> {
        let certs = CertificateDer::pem_file_iter(cert_path)
            .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
            .map_err(|source| TlsError::Cert {
                path: cert_path.display().to_string(),
                source,
            })?;
        let leaf = certs
            .first()
            .ok_or_else(|| TlsError::NoCert(cert_path.display().to_string()))?;
        let public_key = subject_public_key(leaf.as_ref())?;
        let key = PrivateKeyDer::from_pem_file(key_path).map_err(|source| TlsError::Key {
            path: key_path.display().to_string(),
            source,
        })?;

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(certs, key)?;
        Ok(Self {
            acceptor: ironrdp_server::tokio_rustls::TlsAcceptor::from(Arc::new(config)),
            public_key,
        })
    }
}

/// One DER TLV: (tag, contents, rest of input).
fn der_next(input: &[u8]) -> Result<(u8, &[u8], &[u8]), TlsError> {
    let err = TlsError::PublicKey("truncated or malformed DER");
    let (&tag, rest) = input.split_first().ok_or(err)?;
    let (&first, mut rest) = rest.split_first().ok_or(TlsError::PublicKey("missing length"))?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7F);
        if n == 0 || n > 4 || rest.len() < n {
            return Err(TlsError::PublicKey("bad length"));
        }
        let (bytes, tail) = rest.split_at(n);
        rest = tail;
        bytes.iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
    };
    if rest.len() < len {
        return Err(TlsError::PublicKey("length exceeds input"));
    }
    let (contents, tail) = rest.split_at(len);
    Ok((tag, contents, tail))
}

/// Extracts subjectPublicKeyInfo.subjectPublicKey (without the unused-bits byte) from an X.509
/// certificate in DER.
pub fn subject_public_key(cert: &[u8]) -> Result<Vec<u8>, TlsError> {
    const SEQUENCE: u8 = 0x30;
    const BIT_STRING: u8 = 0x03;
    const VERSION: u8 = 0xA0;

    let (tag, certificate, _) = der_next(cert)?;
    if tag != SEQUENCE {
        return Err(TlsError::PublicKey("certificate is not a SEQUENCE"));
    }
    let (tag, tbs, _) = der_next(certificate)?;
    if tag != SEQUENCE {
        return Err(TlsError::PublicKey("tbsCertificate is not a SEQUENCE"));
    }
    let mut rest = tbs;
    let (tag, _, after) = der_next(rest)?;
    if tag == VERSION {
        rest = after;
    }
    // serialNumber, signature, issuer, validity, subject
    for _ in 0..5 {
        let (_, _, after) = der_next(rest)?;
        rest = after;
    }
    let (tag, spki, _) = der_next(rest)?;
    if tag != SEQUENCE {
        return Err(TlsError::PublicKey("subjectPublicKeyInfo is not a SEQUENCE"));
    }
    let (_, _, after_alg) = der_next(spki)?;
    let (tag, bits, _) = der_next(after_alg)?;
    if tag != BIT_STRING {
        return Err(TlsError::PublicKey("subjectPublicKey is not a BIT STRING"));
    }
    match bits.split_first() {
        Some((0, key)) => Ok(key.to_vec()),
        _ => Err(TlsError::PublicKey("subjectPublicKey has unused bits")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed P-256 test certificate (CN=localhost) and its key, generated with openssl.
    const CERT: &str = include_str!("../tests/fixtures/localhost.crt");
    const KEY: &str = include_str!("../tests/fixtures/localhost.key");
    /// `openssl x509 -pubkey | openssl ec -pubin -outform DER | tail -c 65`: the uncompressed point.
    const PUBLIC_KEY_HEX: &str = include_str!("../tests/fixtures/localhost.pubkey.hex");

    fn unhex(s: &str) -> Vec<u8> {
        let s = s.trim();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn extracts_the_public_key() {
        let der = CertificateDer::from_pem_slice(CERT.as_bytes()).unwrap();
        let key = subject_public_key(der.as_ref()).unwrap();
        assert_eq!(key, unhex(PUBLIC_KEY_HEX));
        assert_eq!(key.len(), 65);
        assert_eq!(key[0], 0x04);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(subject_public_key(&[]).is_err());
        assert!(subject_public_key(&[0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF]).is_err());
        assert!(subject_public_key(&[0x30, 0x03, 0x30, 0x01, 0x00]).is_err());
        let der = CertificateDer::from_pem_slice(CERT.as_bytes()).unwrap();
        for cut in 0..der.len() {
            let _ = subject_public_key(&der[..cut]);
        }
    }

    #[test]
    fn loads_pem_files() {
        let dir = std::env::temp_dir().join(format!("hamn-demo-host-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (cert, key) = (dir.join("c.crt"), dir.join("c.key"));
        std::fs::write(&cert, CERT).unwrap();
        std::fs::write(&key, KEY).unwrap();
        let identity = TlsIdentity::load(&cert, &key).unwrap();
        assert_eq!(identity.public_key, unhex(PUBLIC_KEY_HEX));
        assert!(TlsIdentity::load(&key, &key).is_err(), "a key is not a certificate");
        assert!(TlsIdentity::load(&cert, &dir.join("missing")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
