//! Fuzzes the launch ticket parser and verifier: arbitrary text and bytes must give a
//! typed error or valid claims, never a panic, and nothing but a genuine signature may
//! verify. The modules are the broker's own source files, included by path.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

// At the crate root, so `keys`' `super::codec` finds its sibling as in the broker.
#[allow(dead_code)]
#[path = "../../src/ticket/codec.rs"]
mod codec;
#[allow(dead_code)]
#[path = "../../src/ticket/keys.rs"]
mod keys;

use keys::{TicketKeys, TicketVerifier};

/// One key per process: generating keys per input would dominate the run.
fn verifier() -> &'static TicketVerifier {
    static V: OnceLock<TicketVerifier> = OnceLock::new();
    V.get_or_init(|| match TicketKeys::generate() {
        Ok((keys, _)) => keys.verifier(),
        Err(e) => panic!("key generation failed: {e}"),
    })
}

fuzz_target!(|data: &[u8]| {
    // As transport text (what a client sends) ...
    if let Ok(text) = std::str::from_utf8(data) {
        let decoded = codec::decode(text);
        let verified = verifier().verify(text, 1_800_000_000_000);
        // A random input cannot carry our signature.
        assert!(verified.is_err());
        if let Ok(p) = decoded {
            assert!(p.claims.expires_at_ms >= p.claims.issued_at_ms);
        }
    }
    // ... and as the binary form after base64url.
    if let Ok(p) = codec::decode_bytes(data) {
        assert_eq!(data.len(), codec::TICKET_LEN);
        assert_eq!(p.signed[..], data[..codec::SIGNED_LEN]);
    }
});
