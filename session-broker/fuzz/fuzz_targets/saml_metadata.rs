//! Fuzzes the judging of a tenant's IdP metadata (`saml/metadata.rs`): the document comes
//! from a URL or an administrator's paste, so any text must give a typed refusal or
//! metadata with an entity id and at least one signing certificate valid at `now` —
//! never a panic. The module is the broker's own source file.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../src/saml/metadata.rs"]
mod metadata;

/// 2026-12-08T12:00:00Z, inside the seed certificate's validity.
const NOW: i64 = 1_796_731_200;

fuzz_target!(|data: &[u8]| {
    let Ok(xml) = std::str::from_utf8(data) else {
        return;
    };
    match metadata::parse(xml, NOW) {
        Ok(idp) => {
            assert!(xml.len() <= metadata::MAX_METADATA_BYTES);
            assert!(!idp.entity_id.is_empty());
            assert!(!idp.signing_certs.is_empty());
        }
        Err(error) => {
            let _ = (error.reason(), error.to_string());
        }
    }
});
