//! Fuzzes the IPP request parser (`print-service/src/ipp/codec.rs`, included by path):
//! arbitrary bytes from a host give `Incomplete`, a typed error or a request, never a
//! panic; a request's document data starts inside the input and within the attribute
//! bound, and its groups survive the encoder and the parser unchanged.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../src/ipp/codec.rs"]
mod codec;

fuzz_target!(|data: &[u8]| {
    if let Ok(codec::Parsed::Complete { request, data_offset }) = codec::parse(data) {
        assert!(data_offset <= data.len());
        assert!(data_offset <= codec::MAX_ATTRIBUTE_BYTES);
        let again = codec::Response {
            version: request.version,
            status: request.operation,
            request_id: request.request_id,
            groups: request.groups.clone(),
        }
        .encode();
        match codec::parse(&again) {
            Ok(codec::Parsed::Complete { request: back, .. }) => {
                assert_eq!(back.groups, request.groups)
            }
            other => panic!("re-encoded request does not parse: {other:?}"),
        }
    }
});
