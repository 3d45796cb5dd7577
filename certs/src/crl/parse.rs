//! The sans-IO half of CRL checking: a bounded parser for CRLs in DER or PEM, validation
//! against trusted CA certificates (signature, thisUpdate, nextUpdate), and the set of
//! current CRLs by issuer. It depends on nothing of this crate, so the fuzz workspace
//! compiles it by path.

use std::collections::{HashMap, HashSet};

use rustls_pki_types::CertificateDer;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::revocation_list::CertificateRevocationList;

/// Largest CRL accepted. National CAs publish CRLs of a few megabytes; anything far beyond
/// that is not a CRL we should hold in memory.
pub const MAX_CRL_BYTES: usize = 32 << 20;

/// Why a CRL was not accepted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CrlError {
    #[error("larger than {MAX_CRL_BYTES} bytes")]
    TooLarge,
    #[error("not a CRL: {0}")]
    Malformed(String),
    #[error("issued by no CA in the trusted bundle")]
    UnknownIssuer,
    #[error("the signature does not verify with the issuing CA's key")]
    BadSignature,
    #[error("thisUpdate is in the future")]
    NotYetValid,
    #[error("nextUpdate has passed")]
    Expired,
    #[error("has no nextUpdate, so it can never be known to be current")]
    NoNextUpdate,
}

/// A validated CRL: who issued it, until when it is current, and the revoked serials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crl {
    /// DER of the issuer's distinguished name.
    pub issuer: Vec<u8>,
    /// thisUpdate and nextUpdate, seconds since the Unix epoch.
    pub this_update: i64,
    pub next_update: i64,
    /// Revoked serial numbers, big-endian without leading zero bytes.
    revoked: HashSet<Vec<u8>>,
}

impl Crl {
    /// Whether `serial` (big-endian, as in the certificate) is revoked.
    pub fn is_revoked(&self, serial: &[u8]) -> bool {
        self.revoked.contains(strip_zeros(serial))
    }

    /// How many serials this CRL revokes.
    pub fn revoked_count(&self) -> usize {
        self.revoked.len()
    }
}

fn strip_zeros(serial: &[u8]) -> &[u8] {
    let start = serial.iter().position(|b| *b != 0).unwrap_or(serial.len());
    &serial[start..]
}

/// The DER of a CRL given as DER or as PEM (`-----BEGIN X509 CRL-----`).
pub fn crl_der(bytes: &[u8]) -> Result<Vec<u8>, CrlError> {
    if bytes.len() > MAX_CRL_BYTES {
        return Err(CrlError::TooLarge);
    }
    let trimmed = bytes.trim_ascii_start();
    if !trimmed.starts_with(b"-----BEGIN") {
        return Ok(bytes.to_vec());
    }
    use rustls_pki_types::CertificateRevocationListDer;
    use rustls_pki_types::pem::PemObject;
    CertificateRevocationListDer::from_pem_slice(trimmed)
        .map(|der| der.as_ref().to_vec())
        .map_err(|e| CrlError::Malformed(format!("PEM: {e}")))
}

/// Parses and validates one CRL (DER or PEM) against the trusted CAs at `now` (seconds
/// since the Unix epoch): it must be signed by a CA of `cas` with its issuer name, be
/// current (thisUpdate ≤ now < nextUpdate) and carry nothing after its DER.
pub fn validate_crl(bytes: &[u8], cas: &[CertificateDer<'_>], now: i64) -> Result<Crl, CrlError> {
    let der = crl_der(bytes)?;
    let (rest, crl) = CertificateRevocationList::from_der(&der)
        .map_err(|e| CrlError::Malformed(e.to_string()))?;
    if !rest.is_empty() {
        return Err(CrlError::Malformed("trailing data after the CRL".into()));
    }
    let issuer = crl.issuer().as_raw();
    let mut named = false;
    let mut signed = false;
    for ca in cas {
        let Ok((_, ca)) = X509Certificate::from_der(ca.as_ref()) else {
            continue;
        };
        if ca.subject().as_raw() != issuer {
            continue;
        }
        named = true;
        if crl.verify_signature(ca.public_key()).is_ok() {
            signed = true;
            break;
        }
    }
    if !named {
        return Err(CrlError::UnknownIssuer);
    }
    if !signed {
        return Err(CrlError::BadSignature);
    }
    let this_update = crl.last_update().timestamp();
    let next_update = crl.next_update().ok_or(CrlError::NoNextUpdate)?.timestamp();
    if this_update > now {
        return Err(CrlError::NotYetValid);
    }
    if next_update <= now {
        return Err(CrlError::Expired);
    }
    let revoked = crl
        .iter_revoked_certificates()
        .map(|r| strip_zeros(r.raw_serial()).to_vec())
        .collect();
    Ok(Crl {
        issuer: issuer.to_vec(),
        this_update,
        next_update,
        revoked,
    })
}

/// Why a certificate's revocation status is not "good".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationStatus {
    Good,
    Revoked,
    /// No current CRL from the certificate's issuer.
    Unknown,
}

/// Current CRLs by issuer name.
#[derive(Debug, Default, Clone)]
pub struct CrlSet {
    by_issuer: HashMap<Vec<u8>, Crl>,
}

impl CrlSet {
    /// The status of the certificate with `serial` from `issuer` (DER name) at `now`.
    pub fn status(&self, issuer: &[u8], serial: &[u8], now: i64) -> RevocationStatus {
        match self.by_issuer.get(issuer) {
            Some(crl) if crl.this_update <= now && now < crl.next_update => {
                if crl.is_revoked(serial) {
                    RevocationStatus::Revoked
                } else {
                    RevocationStatus::Good
                }
            }
            _ => RevocationStatus::Unknown,
        }
    }

    /// Keeps `crl` unless an accepted CRL of the same issuer is newer.
    pub fn offer(&mut self, crl: Crl) {
        match self.by_issuer.get(&crl.issuer) {
            Some(held) if held.this_update > crl.this_update => {}
            _ => {
                self.by_issuer.insert(crl.issuer.clone(), crl);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newer_crl_wins_and_an_unknown_issuer_is_unknown() {
        let mut set = CrlSet::default();
        let crl = |this_update, serial: u8| Crl {
            issuer: b"ca".to_vec(),
            this_update,
            next_update: this_update + 100,
            revoked: [vec![serial]].into_iter().collect(),
        };
        set.offer(crl(10, 1));
        set.offer(crl(5, 2));
        assert_eq!(set.status(b"ca", &[1], 20), RevocationStatus::Revoked);
        assert_eq!(set.status(b"ca", &[2], 20), RevocationStatus::Good);
        assert_eq!(set.status(b"ca", &[2], 110), RevocationStatus::Unknown);
        assert_eq!(set.status(b"other", &[2], 20), RevocationStatus::Unknown);
    }
}
