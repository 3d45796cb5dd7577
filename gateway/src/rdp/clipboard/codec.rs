//! The byte-level half of the clipboard, dependency-free (the fuzz workspace compiles this
//! file by path): text as CF_UNICODETEXT and CF_TEXT, decoded leniently and bounded, and the
//! chunk guard that judges clipboard channel chunks before IronRDP reassembles them.

/// The cliprdr PDU header before the format data.
pub const CLIPRDR_HEADER: usize = 8;
/// Room for the cliprdr PDU header and a terminating NUL around the text.
pub const PDU_OVERHEAD: usize = 16;

/// The largest cliprdr PDU that can carry text of `max_bytes` UTF-8 bytes: UTF-16 takes at
/// most two bytes per UTF-8 byte (ASCII), plus the NUL and the PDU header.
pub fn max_wire_bytes(max_bytes: usize) -> usize {
    max_bytes.saturating_mul(2).saturating_add(PDU_OVERHEAD)
}

/// `text` as CF_UNICODETEXT: UTF-16LE with a terminating NUL.
pub fn encode_unicode_text(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() * 2 + 2);
    for unit in text.encode_utf16().chain([0]) {
        out.extend_from_slice(&unit.to_le_bytes());
    }
    out
}

/// Decodes CF_UNICODETEXT from the host: up to the first NUL (or the end: a missing NUL is
/// tolerated, an odd last byte ignored), unpaired surrogates replaced by U+FFFD. Refuses text
/// over `max_bytes` UTF-8 bytes before allocating it, returning its UTF-8 size.
pub fn decode_unicode_text(data: &[u8], max_bytes: usize) -> Result<String, usize> {
    let units = || {
        data.chunks_exact(2)
            .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
            .take_while(|unit| *unit != 0)
    };
    let size: usize = char::decode_utf16(units())
        .map(|c| c.map_or(char::REPLACEMENT_CHARACTER.len_utf8(), char::len_utf8))
        .sum();
    if size > max_bytes {
        return Err(size);
    }
    Ok(char::decode_utf16(units())
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect())
}

/// Decodes CF_TEXT (hosts that offer no Unicode text): bytes up to the first NUL, UTF-8 when
/// they are (xrdp and other Unix hosts), else Windows-1252's Latin-1 subset.
pub fn decode_ansi_text(data: &[u8], max_bytes: usize) -> Result<String, usize> {
    let end = data.iter().position(|b| *b == 0).unwrap_or(data.len());
    let bytes = data.get(..end).unwrap_or_default();
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => {
            let size: usize = bytes.iter().map(|b| char::from(*b).len_utf8()).sum();
            if size > max_bytes {
                return Err(size);
            }
            bytes.iter().map(|b| char::from(*b)).collect()
        }
    };
    if text.len() > max_bytes {
        return Err(text.len());
    }
    Ok(text)
}

/// The flags of a Channel PDU Header (MS-RDPBCGR 2.2.6.1.1).
const CHANNEL_FLAG_FIRST: u32 = 0x0000_0001;
const CHANNEL_FLAG_LAST: u32 = 0x0000_0002;
/// CB_FORMAT_DATA_RESPONSE, the msgType of the PDU that carries clipboard data.
const CB_FORMAT_DATA_RESPONSE: u16 = 0x0005;
/// Any other clipboard PDU (format lists with long names, capabilities) stays below this.
const MAX_CONTROL_PDU: usize = 1024 * 1024;

/// What to do with one chunk of the clipboard channel.
#[derive(Debug, PartialEq, Eq)]
pub enum ChunkVerdict {
    /// Within the limit: pass it to IronRDP.
    Pass,
    /// Part of an oversize PDU: drop it. On the first chunk of clipboard data, the data size
    /// the host announced (bytes of UTF-16 or CF_TEXT), to report once.
    Drop(Option<usize>),
}

/// Refuses oversize clipboard PDUs chunk by chunk, before IronRDP reassembles them in memory
/// (a host can announce up to 4 GiB in one channel PDU): format data over the policy's wire
/// size, any other clipboard PDU over 1 MiB.
#[derive(Debug)]
pub struct ChunkGuard {
    max_wire_bytes: usize,
    dropping: bool,
}

impl ChunkGuard {
    /// A guard for a policy whose PDUs may be `max_wire_bytes` long ([`max_wire_bytes`]).
    pub fn new(max_wire_bytes: usize) -> Self {
        Self {
            max_wire_bytes,
            dropping: false,
        }
    }

    /// Judges the user data of one clipboard channel chunk (Channel PDU Header first).
    pub fn judge(&mut self, chunk: &[u8]) -> ChunkVerdict {
        let (Some(length), Some(flags)) = (read_u32(chunk, 0), read_u32(chunk, 4)) else {
            // Too short for a header: IronRDP reports the malformed PDU.
            return ChunkVerdict::Pass;
        };
        let first = flags & CHANNEL_FLAG_FIRST != 0;
        let last = flags & CHANNEL_FLAG_LAST != 0;
        let total = usize::try_from(length).unwrap_or(usize::MAX);
        if first {
            let is_data = read_u16(chunk, 8) == Some(CB_FORMAT_DATA_RESPONSE);
            let limit = if is_data {
                self.max_wire_bytes
            } else {
                MAX_CONTROL_PDU.max(self.max_wire_bytes)
            };
            if total <= limit {
                self.dropping = false;
                return ChunkVerdict::Pass;
            }
            self.dropping = !last;
            // The cliprdr header's dataLen; the channel length when the chunk is too short.
            let data_len = read_u32(chunk, 12)
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or(total.saturating_sub(CLIPRDR_HEADER));
            return ChunkVerdict::Drop(is_data.then_some(data_len));
        }
        if self.dropping {
            if last {
                self.dropping = false;
            }
            return ChunkVerdict::Drop(None);
        }
        ChunkVerdict::Pass
    }
}

fn read_u16(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at + 2)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at + 4)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(text: &str) -> Vec<u8> {
        encode_unicode_text(text)
    }

    #[test]
    fn unicode_text_round_trips_with_its_nul() {
        let text = "Hälsning åäö … 𝄞";
        let bytes = utf16(text);
        assert_eq!(bytes.len() % 2, 0);
        assert_eq!(&bytes[bytes.len() - 2..], &[0, 0], "NUL-terminated");
        assert_eq!(decode_unicode_text(&bytes, 64).as_deref(), Ok(text));
        assert_eq!(encode_unicode_text(""), vec![0, 0]);
        assert_eq!(decode_unicode_text(&[0, 0], 0).as_deref(), Ok(""));
    }

    #[test]
    fn malformed_unicode_text_is_decoded_leniently() {
        // Missing NUL.
        let mut bytes = utf16("abc");
        bytes.truncate(6);
        assert_eq!(decode_unicode_text(&bytes, 64).as_deref(), Ok("abc"));
        // Odd byte count: the stray byte is dropped.
        bytes.push(b'x');
        assert_eq!(decode_unicode_text(&bytes, 64).as_deref(), Ok("abc"));
        // Text after the NUL is not text.
        let mut bytes = utf16("ab");
        bytes.extend_from_slice(&utf16("secret"));
        assert_eq!(decode_unicode_text(&bytes, 64).as_deref(), Ok("ab"));
        // Unpaired surrogates.
        let lone = [0x3D, 0xD8, b'a', 0, 0, 0];
        assert_eq!(decode_unicode_text(&lone, 64).as_deref(), Ok("\u{FFFD}a"));
        assert_eq!(decode_unicode_text(&[], 64).as_deref(), Ok(""));
        assert_eq!(decode_unicode_text(&[7], 64).as_deref(), Ok(""));
    }

    #[test]
    fn oversize_text_is_refused_with_its_size() {
        let text = "å".repeat(40); // 80 UTF-8 bytes, 80 UTF-16 bytes
        assert_eq!(decode_unicode_text(&utf16(&text), 64), Err(80));
        assert_eq!(
            decode_unicode_text(&utf16(&text), 80).map(|t| t.len()),
            Ok(80)
        );
        assert_eq!(decode_ansi_text(&[b'a'; 65], 64), Err(65));
        assert_eq!(decode_ansi_text(&[0xE5; 40], 64), Err(80), "Latin-1 å");
    }

    #[test]
    fn ansi_text_is_utf8_or_latin1() {
        assert_eq!(
            decode_ansi_text("åäö\0x".as_bytes(), 64).as_deref(),
            Ok("åäö")
        );
        assert_eq!(
            decode_ansi_text(&[0xE5, 0xE4, 0xF6], 64).as_deref(),
            Ok("åäö")
        );
        assert_eq!(decode_ansi_text(b"no nul", 64).as_deref(), Ok("no nul"));
    }

    /// A channel chunk; the first of a PDU starts with the cliprdr header (`msg_type`,
    /// flags, dataLen).
    fn header(length: u32, flags: u32, msg_type: u16) -> Vec<u8> {
        let mut h = length.to_le_bytes().to_vec();
        h.extend_from_slice(&flags.to_le_bytes());
        h.extend_from_slice(&msg_type.to_le_bytes());
        h.extend_from_slice(&[0, 0]);
        h.extend_from_slice(&length.saturating_sub(8).to_le_bytes());
        h.extend_from_slice(&[0; 24]);
        h
    }

    #[test]
    fn the_chunk_guard_drops_whole_oversize_pdus() {
        const DATA: u16 = CB_FORMAT_DATA_RESPONSE;
        const LIST: u16 = 0x0002;
        let mut g = ChunkGuard::new(max_wire_bytes(64));
        let limit = max_wire_bytes(64) as u32;
        assert_eq!(g.judge(&header(40, 3, DATA)), ChunkVerdict::Pass);
        assert_eq!(g.judge(&header(limit, 1, DATA)), ChunkVerdict::Pass);
        assert_eq!(g.judge(&header(limit, 2, 0)), ChunkVerdict::Pass);
        assert_eq!(
            g.judge(&header(limit + 1, 1, DATA)),
            ChunkVerdict::Drop(Some(limit as usize + 1 - 8)),
            "the announced data size"
        );
        assert_eq!(g.judge(&header(limit + 1, 0, 0)), ChunkVerdict::Drop(None));
        assert_eq!(g.judge(&header(limit + 1, 2, 0)), ChunkVerdict::Drop(None));
        assert_eq!(
            g.judge(&header(40, 3, DATA)),
            ChunkVerdict::Pass,
            "the next PDU"
        );
        assert_eq!(
            g.judge(&header(u32::MAX, 3, DATA)),
            ChunkVerdict::Drop(Some(u32::MAX as usize - 8))
        );
        assert_eq!(g.judge(&header(40, 3, DATA)), ChunkVerdict::Pass);
        // Other PDUs have their own, larger bound and are dropped without a report.
        assert_eq!(g.judge(&header(limit * 100, 1, LIST)), ChunkVerdict::Pass);
        assert_eq!(g.judge(&header(limit * 100, 2, 0)), ChunkVerdict::Pass);
        assert_eq!(
            g.judge(&header(u32::MAX, 1, LIST)),
            ChunkVerdict::Drop(None)
        );
        assert_eq!(g.judge(&header(u32::MAX, 2, 0)), ChunkVerdict::Drop(None));
        // A continuation without a start is IronRDP's to refuse.
        assert_eq!(g.judge(&header(99, 2, 0)), ChunkVerdict::Pass);
        assert_eq!(
            g.judge(&[1, 2, 3]),
            ChunkVerdict::Pass,
            "IronRDP reports it"
        );
        // A first chunk too short for dataLen: estimated from the channel length.
        let mut short = header(limit + 100, 3, DATA);
        short.truncate(12);
        assert_eq!(
            g.judge(&short),
            ChunkVerdict::Drop(Some(limit as usize + 100 - 8))
        );
        assert_eq!(g.judge(&[]), ChunkVerdict::Pass);
    }

    proptest::proptest! {
        /// What the fuzz target checks, on every test run.
        #[test]
        fn any_bytes_decode_within_the_limit_or_are_refused(
            data in proptest::collection::vec(proptest::num::u8::ANY, 0..512),
            max_bytes in 0usize..300,
        ) {
            match decode_unicode_text(&data, max_bytes) {
                Ok(text) => {
                    proptest::prop_assert!(text.len() <= max_bytes && !text.contains('\0'));
                    let again = decode_unicode_text(&encode_unicode_text(&text), max_bytes);
                    proptest::prop_assert_eq!(again.as_deref(), Ok(text.as_str()));
                }
                Err(size) => proptest::prop_assert!(size > max_bytes),
            }
            match decode_ansi_text(&data, max_bytes) {
                Ok(text) => proptest::prop_assert!(text.len() <= max_bytes),
                Err(size) => proptest::prop_assert!(size > max_bytes),
            }
            let mut guard = ChunkGuard::new(max_wire_bytes(max_bytes));
            for chunk in data.split(|b| *b == 0xFF) {
                let _ = guard.judge(chunk);
            }
        }
    }
}
