//! Certificate revocation lists for client-certificate logins: a bounded parser (DER or
//! PEM), validation against the trusted CAs (signature by a CA of the bundle, thisUpdate and
//! nextUpdate), and [`Revocation`], the set of current CRLs that a periodic reload swaps
//! atomically while the listener keeps serving. A CRL that fails validation is logged and
//! the previous good one for its issuer stays.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use rustls_pki_types::CertificateDer;
use x509_parser::prelude::X509Certificate;

mod parse;

pub use parse::{Crl, CrlError, CrlSet, MAX_CRL_BYTES, RevocationStatus, crl_der, validate_crl};

/// How often CRL files are checked for changes (modification time and length).
pub const CHANGE_POLL: Duration = Duration::from_secs(2);

/// What the verifier does when no current CRL for a card's issuer is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationPolicy {
    /// Fail closed: refuse the card (`revocation_unknown`).
    Require,
    /// Do not check revocation at all. For labs only.
    Off,
}

/// A file's identity for change detection: modification time and length.
type Stamp = (Option<SystemTime>, u64);

/// The CRLs of a CA bundle, reloaded from their sources and swapped atomically.
#[derive(Debug)]
pub struct Revocation {
    policy: RevocationPolicy,
    sources: Vec<PathBuf>,
    cas: Vec<CertificateDer<'static>>,
    current: RwLock<Arc<CrlSet>>,
    stamps: Mutex<HashMap<PathBuf, Option<Stamp>>>,
    /// CRLs accepted and rejected since start, for status and tests.
    accepted: AtomicU64,
    rejected: AtomicU64,
}

impl Revocation {
    /// CRLs from `sources` (files, DER or PEM) checked against the CAs in the PEM file
    /// `ca_bundle`. Loads them once now; failures are logged, not fatal (under
    /// [`RevocationPolicy::Require`] cards are then refused until a good CRL appears).
    pub fn new(
        policy: RevocationPolicy,
        ca_bundle: &Path,
        sources: Vec<PathBuf>,
    ) -> Result<Self, crate::ServerTlsError> {
        use rustls_pki_types::pem::PemObject;
        let invalid = |reason: String| crate::ServerTlsError::Invalid {
            path: ca_bundle.to_path_buf(),
            reason,
        };
        let cas = CertificateDer::pem_file_iter(ca_bundle)
            .map_err(|e| invalid(e.to_string()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid(e.to_string()))?;
        let revocation = Self {
            policy,
            sources,
            cas,
            current: RwLock::new(Arc::new(CrlSet::default())),
            stamps: Mutex::new(HashMap::new()),
            accepted: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
        };
        if policy == RevocationPolicy::Off {
            tracing::warn!(
                "SITHS revocation checking is off: revoked cards are accepted (labs only)"
            );
        }
        revocation.reload(true);
        Ok(revocation)
    }

    /// How many CRLs were accepted and rejected since start.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.accepted.load(Ordering::Relaxed),
            self.rejected.load(Ordering::Relaxed),
        )
    }

    pub fn policy(&self) -> RevocationPolicy {
        self.policy
    }

    /// The CRLs in force now.
    pub fn current(&self) -> Arc<CrlSet> {
        match self.current.read() {
            Ok(set) => set.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Re-reads the sources: all of them when `all`, else only those whose file changed.
    /// Each good CRL replaces its issuer's; a bad one is logged and the old one kept.
    /// Returns how many CRLs were accepted.
    pub fn reload(&self, all: bool) -> usize {
        if self.policy == RevocationPolicy::Off {
            return 0;
        }
        let now = unix_now();
        let mut next = (*self.current()).clone();
        let mut accepted = 0;
        let mut stamps = match self.stamps.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        for source in &self.sources {
            let stamp = std::fs::metadata(source)
                .map(|m| (m.modified().ok(), m.len()))
                .ok();
            // A missing file has a stamp too (`None`), so it is reported once per change
            // and full refresh, not on every poll.
            if !all && stamps.get(source) == Some(&stamp) {
                continue;
            }
            stamps.insert(source.clone(), stamp);
            match read_bounded(source).and_then(|bytes| validate_crl(&bytes, &self.cas, now)) {
                Ok(crl) => {
                    tracing::info!(
                        source = %source.display(),
                        revoked = crl.revoked_count(),
                        next_update = crl.next_update,
                        "CRL loaded"
                    );
                    next.offer(crl);
                    accepted += 1;
                    self.accepted.fetch_add(1, Ordering::Relaxed);
                }
                Err(error) => {
                    self.rejected.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(source = %source.display(), reason = %error, "CRL rejected; the previous one stays");
                }
            }
        }
        drop(stamps);
        let next = Arc::new(next);
        match self.current.write() {
            Ok(mut current) => *current = next,
            Err(poisoned) => *poisoned.into_inner() = next,
        }
        accepted
    }

    /// The revocation status of the end-entity certificate `cert` now.
    pub fn status(&self, cert: &X509Certificate<'_>, now: i64) -> RevocationStatus {
        if self.policy == RevocationPolicy::Off {
            return RevocationStatus::Good;
        }
        self.current()
            .status(cert.issuer().as_raw(), cert.raw_serial(), now)
    }

    /// Reloads changed files every `poll` and everything every `refresh` or at a
    /// [`crate::reload::request`], until `stop`.
    pub async fn watch(
        self: Arc<Self>,
        refresh: Duration,
        poll: Duration,
        stop: tokio_util::sync::CancellationToken,
    ) {
        if self.policy == RevocationPolicy::Off {
            return;
        }
        let mut last_full = tokio::time::Instant::now();
        let mut requested = crate::reload::subscribe();
        loop {
            let mut forced = false;
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(poll) => {}
                // SIGHUP ([`crate::reload::request`]): every CRL now.
                changed = requested.changed() => forced = changed.is_ok(),
            }
            let all = forced || last_full.elapsed() >= refresh;
            if all {
                last_full = tokio::time::Instant::now();
            }
            let this = self.clone();
            // File reads and signature checks block; keep them off the async workers.
            if let Err(error) = tokio::task::spawn_blocking(move || this.reload(all)).await {
                tracing::warn!(%error, "CRL reload failed");
            }
        }
    }
}

/// Reads at most [`MAX_CRL_BYTES`] + 1 bytes, so an oversized file is refused unread.
fn read_bounded(path: &Path) -> Result<Vec<u8>, CrlError> {
    let file = std::fs::File::open(path).map_err(|e| CrlError::Malformed(e.to_string()))?;
    let mut bytes = Vec::new();
    file.take(MAX_CRL_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| CrlError::Malformed(e.to_string()))?;
    if bytes.len() > MAX_CRL_BYTES {
        return Err(CrlError::TooLarge);
    }
    Ok(bytes)
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::{CrlOptions, generate_ca, sign_crl};

    fn ca_der(pem: &str) -> CertificateDer<'static> {
        use rustls_pki_types::pem::PemObject;
        CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()
    }

    #[test]
    fn malformed_input_is_refused_without_panicking() {
        let ca = generate_ca("Test CA").unwrap();
        let cas = [ca_der(&ca.cert_pem)];
        for junk in [
            &b""[..],
            b"\x30",
            b"\x30\x03\x02\x01",
            b"\x30\x84\xff\xff\xff\xff",
            b"not a crl",
            b"-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n",
            b"-----BEGIN X509 CRL-----\n!!!!\n",
        ] {
            assert!(
                matches!(
                    validate_crl(junk, &cas, unix_now()),
                    Err(CrlError::Malformed(_))
                ),
                "{junk:?}"
            );
        }
        assert_eq!(
            validate_crl(&vec![0x30; MAX_CRL_BYTES + 1], &cas, unix_now()),
            Err(CrlError::TooLarge)
        );
    }

    #[test]
    fn good_crl_in_der_and_pem_with_its_revoked_serials() {
        let ca = generate_ca("Test CA").unwrap();
        let cas = [ca_der(&ca.cert_pem)];
        let now = unix_now();
        let crl = sign_crl(
            &ca.cert_pem,
            &ca.key_pem,
            &CrlOptions {
                revoked: vec![vec![0x00, 0x42], vec![7]],
                ..CrlOptions::current()
            },
        )
        .unwrap();
        let der = crl_der(crl.as_bytes()).unwrap();
        for bytes in [crl.as_bytes(), &der] {
            let crl = validate_crl(bytes, &cas, now).unwrap();
            assert!(crl.is_revoked(&[0x42]));
            assert!(crl.is_revoked(&[0x00, 0x07]));
            assert!(!crl.is_revoked(&[0x43]));
        }
        let mut trailing = der.clone();
        trailing.push(0);
        assert!(matches!(
            validate_crl(&trailing, &cas, now),
            Err(CrlError::Malformed(_))
        ));
    }

    #[test]
    fn foreign_expired_and_future_crls_are_refused() {
        let ca = generate_ca("Test CA").unwrap();
        let twin = generate_ca("Test CA").unwrap();
        let other = generate_ca("Other CA").unwrap();
        let cas = [ca_der(&ca.cert_pem)];
        let now = unix_now();
        let by = |ca: &crate::pki::IssuedCert, opts: &CrlOptions| {
            sign_crl(&ca.cert_pem, &ca.key_pem, opts).unwrap()
        };
        let current = CrlOptions::current();
        assert_eq!(
            validate_crl(by(&twin, &current).as_bytes(), &cas, now),
            Err(CrlError::BadSignature)
        );
        assert_eq!(
            validate_crl(by(&other, &current).as_bytes(), &cas, now),
            Err(CrlError::UnknownIssuer)
        );
        let day = 24 * 3600;
        let expired = CrlOptions {
            this_update: SystemTime::now() - Duration::from_secs(3 * day),
            next_update: SystemTime::now() - Duration::from_secs(day),
            ..CrlOptions::current()
        };
        assert_eq!(
            validate_crl(by(&ca, &expired).as_bytes(), &cas, now),
            Err(CrlError::Expired)
        );
        let future = CrlOptions {
            this_update: SystemTime::now() + Duration::from_secs(day),
            next_update: SystemTime::now() + Duration::from_secs(3 * day),
            ..CrlOptions::current()
        };
        assert_eq!(
            validate_crl(by(&ca, &future).as_bytes(), &cas, now),
            Err(CrlError::NotYetValid)
        );
    }
}
