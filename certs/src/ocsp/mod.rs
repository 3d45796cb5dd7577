//! OCSP for client-certificate logins, after the handshake: when a card names a responder
//! (authorityInfoAccess id-ad-ocsp), [`OcspChecker`] asks it over HTTP POST with a nonce,
//! a timeout and a bounded response, validates the answer with the sans-IO [`parse`]
//! module, and caches good and revoked answers until their nextUpdate. Under
//! [`OcspPolicy::Require`] (the default) a card whose responder gives no usable answer is
//! refused: fail closed.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rustls_pki_types::CertificateDer;
use x509_parser::prelude::{FromDer, X509Certificate};

mod parse;

pub(crate) use parse::tlv;
pub use parse::{
    CertStatus, MAX_OCSP_RESPONSE_BYTES, NONCE_BYTES, OcspAnswer, OcspError, OcspRequest,
    build_request, responder_url, validate_response,
};

/// What happens to a card that names an OCSP responder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OcspPolicy {
    /// Ask the responder; no usable answer refuses the card (fail closed).
    Require,
    /// Never ask. For labs only (CRLs still apply).
    Off,
}

/// The outcome of an OCSP check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OcspVerdict {
    /// The card names no responder, or checking is off.
    NotChecked,
    Good,
    Revoked,
    /// The responder does not know the card.
    Unknown,
    /// No usable answer: responder unreachable, slow, or its answer refused (the reason).
    Unavailable(String),
}

/// Most cached answers; past it, expired ones go, then all (a flood of distinct cards must
/// not grow memory without bound).
const MAX_CACHED: usize = 4096;

#[derive(Debug, Clone, Copy)]
struct Cached {
    status: CertStatus,
    /// nextUpdate, seconds since the Unix epoch.
    until: i64,
}

/// Asks SITHS cards' OCSP responders and remembers their answers.
#[derive(Debug)]
pub struct OcspChecker {
    policy: OcspPolicy,
    cas: Vec<CertificateDer<'static>>,
    timeout: Duration,
    cache: Mutex<HashMap<Vec<u8>, Cached>>,
    /// Requests sent since start, for status and tests (a cached answer sends none).
    requests: AtomicU64,
}

impl OcspChecker {
    /// A checker trusting the CAs in the PEM file `ca_bundle` to sign (or delegate) OCSP
    /// answers for the cards they issued; each exchange may take `timeout` in all.
    pub fn new(
        policy: OcspPolicy,
        ca_bundle: &Path,
        timeout: Duration,
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
        if policy == OcspPolicy::Off {
            tracing::warn!("SITHS OCSP checking is off: cards are not asked about (labs only)");
        }
        Ok(Self {
            policy,
            cas,
            timeout,
            cache: Mutex::new(HashMap::new()),
            requests: AtomicU64::new(0),
        })
    }

    pub fn policy(&self) -> OcspPolicy {
        self.policy
    }

    /// How many requests were sent to responders since start.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// The OCSP status of the end-entity certificate of `chain` at `now` (seconds since the
    /// Unix epoch). The chain must already have been verified.
    pub async fn check(&self, chain: &[CertificateDer<'_>], now: i64) -> OcspVerdict {
        if self.policy == OcspPolicy::Off {
            return OcspVerdict::NotChecked;
        }
        let prepared = match self.prepare(chain, now) {
            Ok(Some(prepared)) => prepared,
            Ok(None) => return OcspVerdict::NotChecked,
            Err(verdict) => return verdict,
        };
        let Prepared {
            url,
            request,
            issuer,
            key,
        } = match prepared {
            Step::Cached(status) => return verdict_of(status),
            Step::Ask(prepared) => prepared,
        };
        self.requests.fetch_add(1, Ordering::Relaxed);
        let bytes = match tokio::time::timeout(self.timeout, post(&url, request.der.clone())).await
        {
            Ok(Ok(bytes)) => bytes,
            Ok(Err(reason)) => return unavailable(&url, reason),
            Err(_) => return unavailable(&url, "no answer in time".into()),
        };
        let answer = X509Certificate::from_der(issuer.as_ref())
            .map_err(|_| OcspError::Malformed("issuer"))
            .and_then(|(_, issuer)| validate_response(&bytes, &request, &issuer, now));
        let answer = match answer {
            Ok(answer) => answer,
            Err(error) => return unavailable(&url, error.to_string()),
        };
        tracing::debug!(
            %url,
            status = ?answer.status,
            nonce = answer.nonce_echoed,
            "OCSP answer"
        );
        if let (Some(until), CertStatus::Good | CertStatus::Revoked) =
            (answer.next_update, answer.status)
        {
            self.remember(
                key,
                Cached {
                    status: answer.status,
                    until,
                },
                now,
            );
        }
        verdict_of(answer.status)
    }

    /// Everything before the network: the responder URL, the issuer, the cache, the
    /// request. `Ok(None)`: the card names no responder.
    fn prepare(&self, chain: &[CertificateDer<'_>], now: i64) -> Result<Option<Step>, OcspVerdict> {
        let fail = |reason: &str| OcspVerdict::Unavailable(reason.to_owned());
        let card_der = chain.first().ok_or_else(|| fail("no certificate"))?;
        let (_, card) = X509Certificate::from_der(card_der.as_ref())
            .map_err(|_| fail("unreadable certificate"))?;
        let Some(url) = responder_url(&card).map_err(|e| fail(&e.to_string()))? else {
            return Ok(None);
        };
        let key = [card.issuer().as_raw(), card.raw_serial()].concat();
        if let Some(cached) = self.cached(&key, now) {
            return Ok(Some(Step::Cached(cached)));
        }
        // The issuer is a CA of the bundle (or an intermediate the card presented, which
        // the chain verification already accepted) whose key signed the card.
        let issuer = self
            .cas
            .iter()
            .chain(chain.iter().skip(1))
            .find(|ca| {
                X509Certificate::from_der(ca.as_ref()).is_ok_and(|(_, ca)| {
                    ca.subject().as_raw() == card.issuer().as_raw()
                        && card.verify_signature(Some(ca.public_key())).is_ok()
                })
            })
            .ok_or_else(|| fail("the card's issuer is not in the CA bundle"))?
            .clone()
            .into_owned();
        let (_, issuer_cert) =
            X509Certificate::from_der(issuer.as_ref()).map_err(|_| fail("unreadable issuer"))?;
        let nonce = nonce().ok_or_else(|| fail("no randomness for a nonce"))?;
        let request = build_request(&card, &issuer_cert, &nonce);
        Ok(Some(Step::Ask(Prepared {
            url,
            request,
            issuer,
            key,
        })))
    }

    fn cached(&self, key: &[u8], now: i64) -> Option<CertStatus> {
        let cache = match self.cache.lock() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        };
        cache.get(key).filter(|c| now < c.until).map(|c| c.status)
    }

    fn remember(&self, key: Vec<u8>, answer: Cached, now: i64) {
        let mut cache = match self.cache.lock() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        };
        if cache.len() >= MAX_CACHED {
            cache.retain(|_, c| now < c.until);
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
        }
        cache.insert(key, answer);
    }
}

enum Step {
    Cached(CertStatus),
    Ask(Prepared),
}

struct Prepared {
    url: String,
    request: OcspRequest,
    issuer: CertificateDer<'static>,
    key: Vec<u8>,
}

fn verdict_of(status: CertStatus) -> OcspVerdict {
    match status {
        CertStatus::Good => OcspVerdict::Good,
        CertStatus::Revoked => OcspVerdict::Revoked,
        CertStatus::Unknown => OcspVerdict::Unknown,
    }
}

fn unavailable(url: &str, reason: String) -> OcspVerdict {
    tracing::warn!(%url, %reason, "OCSP responder gave no usable answer");
    OcspVerdict::Unavailable(reason)
}

fn nonce() -> Option<[u8; NONCE_BYTES]> {
    use ring::rand::SecureRandom;
    let mut nonce = [0u8; NONCE_BYTES];
    ring::rand::SystemRandom::new().fill(&mut nonce).ok()?;
    Some(nonce)
}

/// `host`, `port` and path of an `http://` URL; https responders are not supported (OCSP
/// answers are signed, and TLS to the responder would need revocation checking itself).
fn split_url(url: &str) -> Result<(String, u16, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url:?}: only http:// responders are supported"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (host, after) = v6.split_once(']').ok_or("bad IPv6 address")?;
            (host, after.strip_prefix(':'))
        }
        None => match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    let port = match port {
        Some(p) => p.parse().map_err(|_| format!("bad port in {url:?}"))?,
        None => 80,
    };
    if host.is_empty() {
        return Err(format!("no host in {url:?}"));
    }
    Ok((host.to_owned(), port, path.to_owned()))
}

/// POSTs `body` to the responder at `url` and returns at most
/// [`MAX_OCSP_RESPONSE_BYTES`] of its 200 answer.
async fn post(url: &str, body: Vec<u8>) -> Result<Vec<u8>, String> {
    use http_body_util::{BodyExt, Full, Limited};
    use hyper::body::Bytes;

    let (host, port, path) = split_url(url)?;
    let stream = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| format!("HTTP: {e}"))?;
    // The connection task ends with the exchange (or with the timeout dropping us).
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(%error, "OCSP connection ended");
        }
    });
    let host_header = if port == 80 {
        host.clone()
    } else if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let request = hyper::Request::post(path)
        .header(hyper::header::HOST, host_header)
        .header(hyper::header::CONTENT_TYPE, "application/ocsp-request")
        .header(hyper::header::ACCEPT, "application/ocsp-response")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| format!("request: {e}"))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("HTTP: {e}"))?;
    if response.status() != hyper::StatusCode::OK {
        return Err(format!("HTTP status {}", response.status()));
    }
    let body = Limited::new(response.into_body(), MAX_OCSP_RESPONSE_BYTES)
        .collect()
        .await
        .map_err(|e| format!("response body: {e}"))?;
    Ok(body.to_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_http_responder_urls_are_used() {
        assert_eq!(
            split_url("http://127.0.0.1:8888/ocsp"),
            Ok(("127.0.0.1".into(), 8888, "/ocsp".into()))
        );
        assert_eq!(
            split_url("http://ocsp.siths.se"),
            Ok(("ocsp.siths.se".into(), 80, "/".into()))
        );
        assert_eq!(
            split_url("http://[::1]:99/"),
            Ok(("::1".into(), 99, "/".into()))
        );
        for bad in [
            "https://ocsp.example/",
            "ftp://x/",
            "http://:80/",
            "http://x:port/",
            "http://[::1/",
        ] {
            assert!(split_url(bad).is_err(), "{bad}");
        }
    }
}
