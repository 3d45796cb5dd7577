//! Text job bytes to characters: an explicit charset is honoured; otherwise a byte-order
//! mark decides (UTF-8, UTF-16), then valid UTF-8 is UTF-8 and anything else is CP1252,
//! which is what Windows hosts' "Generic / Text Only" drivers send.

use super::super::{RenderError, TextCharset};

/// CP1252's 0x80..=0x9F; the five bytes it leaves undefined become C1 controls, which the
/// layout drops like other control characters.
const CP1252_HIGH: [char; 32] = [
    '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8D}', 'Ž', '\u{8F}',
    '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9D}', 'ž', 'Ÿ',
];

fn malformed(why: impl Into<String>) -> RenderError {
    RenderError::MalformedText(why.into())
}

impl TextCharset {
    /// The charset an IANA label names (`utf-8`, `windows-1252`, `iso-8859-1`, ...).
    pub fn from_label(label: &str) -> Option<Self> {
        let label = label.trim().trim_matches('"').to_ascii_lowercase();
        match label.as_str() {
            "utf-8" | "utf8" | "us-ascii" | "ascii" => Some(Self::Utf8),
            "windows-1252" | "cp1252" | "iso-8859-1" | "iso_8859-1" | "latin1" | "l1" => {
                Some(Self::Cp1252)
            }
            _ => None,
        }
    }

    /// The charset parameter of a MIME type (`text/plain; charset=windows-1252`), when it
    /// names one we know; `None` means detect.
    pub fn from_mime(mime: &str) -> Option<Self> {
        mime.split(';').skip(1).find_map(|parameter| {
            let (name, value) = parameter.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("charset")
                .then(|| Self::from_label(value))
                .flatten()
        })
    }
}

pub fn cp1252(data: &[u8]) -> String {
    data.iter()
        .map(|&b| match b {
            0x80..=0x9F => CP1252_HIGH[usize::from(b - 0x80)],
            _ => char::from(b),
        })
        .collect()
}

fn utf16(data: &[u8], big_endian: bool) -> Result<String, RenderError> {
    if !data.len().is_multiple_of(2) {
        return Err(malformed("UTF-16 text with an odd number of bytes"));
    }
    let units = data.chunks_exact(2).map(|pair| {
        if big_endian {
            u16::from_be_bytes([pair[0], pair[1]])
        } else {
            u16::from_le_bytes([pair[0], pair[1]])
        }
    });
    char::decode_utf16(units)
        .collect::<Result<String, _>>()
        .map_err(|_| malformed("broken UTF-16 surrogate pair"))
}

/// Decodes a text job.
pub fn decode(data: &[u8], charset: Option<TextCharset>) -> Result<String, RenderError> {
    if data.is_empty() {
        return Err(malformed("the job is empty"));
    }
    if charset.is_none() {
        if let Some(rest) = data.strip_prefix(&[0xFF, 0xFE]) {
            return utf16(rest, false);
        }
        if let Some(rest) = data.strip_prefix(&[0xFE, 0xFF]) {
            return utf16(rest, true);
        }
    }
    if let Some(at) = data.iter().position(|&b| b == 0) {
        return Err(malformed(format!(
            "binary data (a NUL byte at {at}), not text"
        )));
    }
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    match charset {
        Some(TextCharset::Utf8) => std::str::from_utf8(data)
            .map(str::to_owned)
            .map_err(|e| malformed(format!("not UTF-8 at byte {}", e.valid_up_to()))),
        Some(TextCharset::Cp1252) => Ok(cp1252(data)),
        None => Ok(std::str::from_utf8(data).map_or_else(|_| cp1252(data), str::to_owned)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_utf8_and_falls_back_to_cp1252() {
        assert_eq!(
            decode("åäö €".as_bytes(), None).ok().as_deref(),
            Some("åäö €")
        );
        assert_eq!(
            decode(b"\xE5\xE4\xF6 \x80", None).ok().as_deref(),
            Some("åäö €")
        );
        assert_eq!(
            decode(b"\xFF\xFE\xE5\x00\x0A\x00", None).ok().as_deref(),
            Some("å\n")
        );
    }

    #[test]
    fn an_explicit_charset_wins() {
        // Valid UTF-8 for "å", but the sender said CP1252.
        assert_eq!(
            decode("å".as_bytes(), Some(TextCharset::Cp1252))
                .ok()
                .as_deref(),
            Some("Ã¥")
        );
        let refused = decode(b"\xE5", Some(TextCharset::Utf8));
        assert_eq!(refused.map_err(|e| e.code()), Err("malformed_text"));
    }

    #[test]
    fn binary_and_empty_jobs_are_refused() {
        for job in [&b""[..], b"PK\x03\x04\x00\x00"] {
            assert_eq!(
                decode(job, None).map_err(|e| e.code()),
                Err("malformed_text")
            );
        }
    }

    #[test]
    fn charset_labels_from_mime() {
        assert_eq!(
            TextCharset::from_mime("text/plain; charset=\"windows-1252\""),
            Some(TextCharset::Cp1252)
        );
        assert_eq!(
            TextCharset::from_mime("text/plain;charset=UTF-8"),
            Some(TextCharset::Utf8)
        );
        assert_eq!(TextCharset::from_mime("text/plain"), None);
        assert_eq!(TextCharset::from_mime("text/plain; charset=koi8-r"), None);
    }
}
