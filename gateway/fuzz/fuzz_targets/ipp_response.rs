//! Whatever the print service (or something pretending to be it) answers a Print-Job with,
//! the gateway's IPP reader returns the answer or a typed error, never a panic, and never
//! reads past its bound.
#![no_main]

use hamn_gateway_fuzz::ipp::{MAX_RESPONSE_BYTES, parse_response};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match parse_response(data) {
        Ok(answer) => {
            assert!(data.len() <= MAX_RESPONSE_BYTES);
            assert_eq!(answer.is_success(), answer.status < 0x0100);
        }
        Err(error) => {
            let _ = error.to_string();
        }
    }
});
