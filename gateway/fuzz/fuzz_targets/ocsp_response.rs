//! Whatever bytes an OCSP responder sends (a hostile responder, a truncated answer), the
//! SITHS OCSP validator returns a checked answer or a refusal — never a panic — and accepts
//! nothing that is not for the card asked about, authorised by its CA and current. The
//! seeds are OpenSSL-made responses for the certs crate's fixture CA and card (good,
//! revoked, nonce echoed, and one from an unauthorised responder).
#![no_main]

use hamn_gateway_fuzz::ocsp_parse::{
    MAX_OCSP_RESPONSE_BYTES, NONCE_BYTES, OcspError, build_request, validate_response,
};
use libfuzzer_sys::fuzz_target;
use x509_parser::prelude::{FromDer, X509Certificate};

const CA: &[u8] = include_bytes!("../../../certs/src/ocsp/testdata/ca.der");
const CARD: &[u8] = include_bytes!("../../../certs/src/ocsp/testdata/card.der");
/// Inside the seed responses' validity, so valid inputs reach the end of validation.
const NOW: i64 = 1_795_900_483;

fuzz_target!(|data: &[u8]| {
    let (Ok((_, ca)), Ok((_, card))) = (
        X509Certificate::from_der(CA),
        X509Certificate::from_der(CARD),
    ) else {
        return;
    };
    let request = build_request(&card, &ca, &[7; NONCE_BYTES]);
    match validate_response(data, &request, &ca, NOW) {
        Ok(answer) => {
            assert!(answer.this_update <= NOW + 300);
            assert!(answer.next_update.is_none_or(|next| next > NOW));
        }
        Err(OcspError::TooLarge) => assert!(data.len() > MAX_OCSP_RESPONSE_BYTES),
        Err(_) => {}
    }
});
