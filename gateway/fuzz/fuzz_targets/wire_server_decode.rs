//! Whatever a (broken or hostile) gateway sends, the Rust client decoder — used by tests
//! and the load-test client — returns a message or a typed error, never a panic; accepted
//! messages re-encode to the same bytes.
#![no_main]

use hamn_gateway_fuzz::wire::{
    Limits, PROTOCOL_VERSION, ServerStream, decode_server, encode_server,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    if let Ok(message) = decode_server(data, &limits) {
        assert_eq!(
            encode_server(&message),
            data,
            "non-canonical encoding of {message:?}"
        );
    }
    let mut stream = ServerStream::new(limits, PROTOCOL_VERSION);
    for chunk in data.split(|b| *b == 0xFF) {
        let _ = stream.receive(chunk).map_err(|e| e.close_code());
    }
});
