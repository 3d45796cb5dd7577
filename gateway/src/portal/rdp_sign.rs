//! The signing certificate of `.rdp` files (`gateway.rdp_signing_cert` and
//! `gateway.rdp_signing_key`): loaded once at start, it makes the PKCS#7 detached
//! SignedData rdpsign.exe puts in `signature` ([`super::rdp_file`] lays out what is signed
//! and wraps the result). OpenSSL (already linked for the SAML SP) signs with the key's
//! default digest, SHA-256 for RSA and EC keys, and no signed attributes, as rdpsign.exe.

use std::path::{Path, PathBuf};

use openssl::pkcs7::{Pkcs7, Pkcs7Flags};
use openssl::pkey::{PKey, Private};
use openssl::stack::Stack;
use openssl::x509::X509;

use super::rdp_file::RdpFile;

#[derive(Debug, thiserror::Error)]
pub enum RdpSignError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: no PEM certificate ({source})")]
    Certificate {
        path: PathBuf,
        source: openssl::error::ErrorStack,
    },
    #[error("{path}: no PEM private key ({source})")]
    Key {
        path: PathBuf,
        source: openssl::error::ErrorStack,
    },
    #[error("the signing key does not belong to the signing certificate")]
    KeyMismatch,
    #[error("signing failed: {0}")]
    Sign(#[from] openssl::error::ErrorStack),
}

/// A loaded signing certificate (first in its PEM file; the rest, its chain, travel in
/// the signature) and its key.
pub struct RdpSigner {
    cert: X509,
    chain: Stack<X509>,
    key: PKey<Private>,
}

impl std::fmt::Debug for RdpSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RdpSigner")
            .field("subject", &self.cert.subject_name())
            .finish_non_exhaustive()
    }
}

fn read(path: &Path) -> Result<Vec<u8>, RdpSignError> {
    std::fs::read(path).map_err(|source| RdpSignError::Read {
        path: path.to_path_buf(),
        source,
    })
}

impl RdpSigner {
    /// Reads the PEM certificate (chain) and PEM private key; refuses a key that is not the
    /// certificate's.
    pub fn load(cert: &Path, key: &Path) -> Result<Self, RdpSignError> {
        let mut certs = X509::stack_from_pem(&read(cert)?)
            .map_err(|source| RdpSignError::Certificate {
                path: cert.to_path_buf(),
                source,
            })?
            .into_iter();
        let Some(leaf) = certs.next() else {
            return Err(RdpSignError::Certificate {
                path: cert.to_path_buf(),
                source: openssl::error::ErrorStack::get(),
            });
        };
        let mut chain = Stack::new()?;
        for c in certs {
            chain.push(c)?;
        }
        let pkey = PKey::private_key_from_pem(&read(key)?).map_err(|source| RdpSignError::Key {
            path: key.to_path_buf(),
            source,
        })?;
        if !leaf.public_key()?.public_eq(&pkey) {
            return Err(RdpSignError::KeyMismatch);
        }
        Ok(Self {
            cert: leaf,
            chain,
            key: pkey,
        })
    }

    /// The DER PKCS#7 detached SignedData over `content`.
    pub fn sign_detached(&self, content: &[u8]) -> Result<Vec<u8>, RdpSignError> {
        let flags =
            Pkcs7Flags::DETACHED | Pkcs7Flags::BINARY | Pkcs7Flags::NOATTR | Pkcs7Flags::NOSMIMECAP;
        let p7 = Pkcs7::sign(&self.cert, &self.key, &self.chain, content, flags)?;
        Ok(p7.to_der()?)
    }

    /// Signs `file` in place: `signscope` and `signature` are added.
    pub fn sign(&self, file: &mut RdpFile) -> Result<(), RdpSignError> {
        let der = self.sign_detached(&file.signed_content())?;
        file.attach_signature(&der);
        Ok(())
    }
}
