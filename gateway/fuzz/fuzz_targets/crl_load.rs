//! Whatever bytes a CRL source holds (a hostile file, a truncated download), the SITHS CRL
//! loader returns a validated CRL or a refusal — never a panic — and accepts nothing that is
//! not signed by the test CA and current. The seed corpus is a CRL of the dev PKI's test
//! SITHS CA (revoking card 2), in DER and PEM.
#![no_main]

use hamn_gateway_fuzz::crl_parse::{CrlError, CrlSet, MAX_CRL_BYTES, validate_crl};
use libfuzzer_sys::fuzz_target;
use rustls_pki_types::CertificateDer;

/// The dev PKI's test SITHS CA that signed the seed corpus.
const CA: &[u8] = include_bytes!("crl_load_ca.der");
/// Inside the seed CRLs' validity, so valid inputs reach the end of validation.
const NOW: i64 = 1796083200;

fuzz_target!(|data: &[u8]| {
    let cas = [CertificateDer::from(CA)];
    match validate_crl(data, &cas, NOW) {
        Ok(crl) => {
            assert!(crl.this_update <= NOW && NOW < crl.next_update);
            let mut set = CrlSet::default();
            set.offer(crl.clone());
            let _ = set.status(&crl.issuer, data.get(..20).unwrap_or(data), NOW);
        }
        Err(CrlError::TooLarge) => assert!(data.len() > MAX_CRL_BYTES),
        Err(_) => {}
    }
});
