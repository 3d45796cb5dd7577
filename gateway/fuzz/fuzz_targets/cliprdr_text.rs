//! Whatever a (broken or hostile) RDP host puts on the clipboard channel, the gateway's
//! clipboard codec returns text within the limit or a refusal with its size — never a panic —
//! and the chunk guard judges every chunk. Accepted text re-encodes to UTF-16 that decodes
//! to the same text.
#![no_main]

use hamn_gateway_fuzz::clipboard_codec::{
    ChunkGuard, decode_ansi_text, decode_unicode_text, encode_unicode_text, max_wire_bytes,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&limit, data)) = data.split_first() else {
        return;
    };
    let max_bytes = usize::from(limit) * 16;
    match decode_unicode_text(data, max_bytes) {
        Ok(text) => {
            assert!(text.len() <= max_bytes);
            assert!(!text.contains('\0'));
            assert_eq!(
                decode_unicode_text(&encode_unicode_text(&text), max_bytes).as_deref(),
                Ok(text.as_str())
            );
        }
        Err(size) => assert!(size > max_bytes),
    }
    match decode_ansi_text(data, max_bytes) {
        Ok(text) => assert!(text.len() <= max_bytes && !text.contains('\0')),
        Err(size) => assert!(size > max_bytes),
    }
    // The same bytes as a sequence of channel chunks, split at 0xFF.
    let mut guard = ChunkGuard::new(max_wire_bytes(max_bytes));
    for chunk in data.split(|b| *b == 0xFF) {
        let _ = guard.judge(chunk);
    }
});
