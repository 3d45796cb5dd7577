//! Fuzzes the health probe's Connection Confirm parser: arbitrary bytes from a host must
//! give a typed error or a confirm, never a panic, and a confirm only for a packet whose
//! TPKT length is the length read. The module is the broker's own source file.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../src/health/probe.rs"]
mod probe;

fuzz_target!(|data: &[u8]| {
    if probe::parse_confirm(data).is_ok() {
        assert!(data.len() <= probe::MAX_CONFIRM);
        assert_eq!(
            usize::from(u16::from_be_bytes([data[2], data[3]])),
            data.len()
        );
    }
    if let Some(header) = data
        .get(..probe::TPKT_HEADER)
        .and_then(|h| <[u8; 4]>::try_from(h).ok())
    {
        if let Ok(length) = probe::tpkt_length(header) {
            assert!(length <= probe::MAX_CONFIRM);
        }
    }
});
