//! Whatever a browser sends, the gateway's decoder returns a message or a typed error —
//! never a panic — and every accepted message has exactly one encoding, so a decoded
//! message re-encodes to the same bytes and the connection state machine accepts it too.
#![no_main]

use hamn_gateway_fuzz::wire::{ClientStream, Limits, decode_client, encode_client};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    if let Ok(message) = decode_client(data, &limits) {
        assert_eq!(
            encode_client(&message),
            data,
            "non-canonical encoding of {message:?}"
        );
    }
    // The same bytes split into messages at 0xFF-free boundaries exercise ordering rules.
    let mut stream = ClientStream::new(limits);
    for chunk in data.split(|b| *b == 0xFF) {
        let _ = stream.receive(chunk).map_err(|e| e.close_code());
    }
});
