//! Fuzzes what the SP reads after the signatures are checked: the assertion (and the
//! response around it) that `verify` reduced to signed content. An IdP that signs is not
//! therefore well-behaved — its assertion may be odd, huge or hostile — so any document
//! read as an `Assertion` or a `Response` must give a typed refusal or a login, never a
//! panic, and a login only with a clean NameID, the IdP as issuer, an accepted MFA class
//! and a replay window that ends after `now`. No signature is needed: `read_verified` is
//! the post-verification half of `response::verify`. The modules are the broker's own
//! source files.

#![no_main]

use chrono::{DateTime, Duration, Utc};
use libfuzzer_sys::fuzz_target;
use samael::schema::{Assertion, Response};

#[allow(dead_code)]
#[path = "../../src/saml/decrypt.rs"]
mod decrypt;
#[allow(dead_code)]
#[path = "../../src/saml/metadata.rs"]
mod metadata;
#[allow(dead_code)]
#[path = "../../src/saml/prescan.rs"]
mod prescan;
#[allow(dead_code)]
#[path = "../../src/saml/response.rs"]
mod response;

use response::{SpExpectations, read_verified};

const IDP: &str = "https://idp.example/metadata";
const ACS: &str = "https://hamn.example/saml/t1/acs";
const SP: &str = "https://hamn.example/saml/t1/metadata";
const MFA: &str = "http://id.elegnamnden.se/loa/1.0/loa3";
/// 2026-12-08T12:01:00Z: the seeds are issued a minute before.
const NOW: i64 = 1_796_731_260;

fuzz_target!(|data: &[u8]| {
    let Ok(xml) = std::str::from_utf8(data) else {
        return;
    };
    let Some(now) = DateTime::<Utc>::from_timestamp(NOW, 0) else {
        return;
    };
    let mfa = [MFA.to_owned()];
    let sp = SpExpectations {
        entity_id: SP,
        acs_url: ACS,
        accepted_mfa: &mfa,
        request_id: "_req1",
        skew: SpExpectations::DEFAULT_SKEW,
        max_age: SpExpectations::DEFAULT_MAX_AGE,
    };
    // The unsigned envelope as the prescan saw it, when the text scans.
    let envelope = prescan::scan(xml.to_owned(), prescan::Root::Response).unwrap_or_default();
    let mut outcomes = Vec::new();
    if let Ok(assertion) = xml.parse::<Assertion>() {
        outcomes.push(read_verified(None, &assertion, &envelope, IDP, &sp, now));
    }
    if let Ok(response) = xml.parse::<Response>()
        && let Some(assertion) = &response.assertion
    {
        outcomes.push(read_verified(
            Some(&response),
            assertion,
            &envelope,
            IDP,
            &sp,
            now,
        ));
    }
    for outcome in outcomes {
        match outcome {
            Ok(login) => {
                assert_eq!(login.issuer, IDP);
                assert!(!login.name_id.is_empty());
                assert!(!login.name_id.chars().any(char::is_control));
                assert_eq!(login.authn_context, MFA);
                assert!(login.replay_until > now);
                assert!(login.replay_until <= now + Duration::days(365 * 10_000));
                assert!(login.session_not_on_or_after.is_none_or(|end| end > now));
            }
            Err(refusal) => {
                let _ = (refusal.reason(), refusal.to_string());
            }
        }
    }
});
