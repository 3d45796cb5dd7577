//! Fuzzes the SAML prescan, the bounded first look at a posted `SAMLResponse` before any
//! signature is checked: arbitrary form values and arbitrary XML text must give a typed
//! refusal or a scan, never a panic; a scan is only ever of a document whose root is a
//! SAML `Response` with exactly one (Encrypted)Assertion. The module is the broker's own
//! source file.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../src/saml/prescan.rs"]
mod prescan;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        // As the form value (base64) and as the decoded document.
        let _ = prescan::decode_response(text);
        for root in [prescan::Root::Response, prescan::Root::Assertion] {
            if let Ok(found) = prescan::scan(text.to_owned(), root) {
                assert_eq!(found.xml, text);
                assert!(found.signatures <= prescan::MAX_ELEMENTS);
            }
        }
        let _ = prescan::root_of(text);
    }
});
