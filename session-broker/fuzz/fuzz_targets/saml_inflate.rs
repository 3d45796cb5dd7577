//! Fuzzes the bounded HTTP-Redirect decoding the demo IdP applies to AuthnRequests
//! (base64, inflate with an output limit): any input gives text within the limit or a
//! typed error, never a panic or an unbounded allocation. The module is the broker's own
//! source file.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../src/saml/inflate.rs"]
mod inflate;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(out) = inflate::inflate(text, 8 * 1024, 32 * 1024) {
            assert!(out.len() <= 32 * 1024);
        }
    }
});
