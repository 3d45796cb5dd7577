//! Bounded decoding of an HTTP-Redirect binding value (SAML bindings §3.4.4.1: base64 of
//! raw deflate), for the demo IdP reading our SP's AuthnRequests. Every step has a limit:
//! the base64 length, and the inflated size (a deflate bomb stops at the limit).

use std::io::Read as _;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use flate2::read::DeflateDecoder;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InflateError {
    #[error("value longer than the limit")]
    TooLong,
    #[error("value is not base64")]
    Base64,
    #[error("value does not inflate, or inflates beyond the limit")]
    Inflate,
    #[error("inflated value is not UTF-8")]
    NotText,
}

/// base64-decodes and inflates `value`: at most `max_base64` characters in, at most
/// `max_text` bytes out.
pub fn inflate(value: &str, max_base64: usize, max_text: usize) -> Result<String, InflateError> {
    if value.len() > max_base64 {
        return Err(InflateError::TooLong);
    }
    let deflated = STANDARD
        .decode(value.trim())
        .map_err(|_| InflateError::Base64)?;
    let mut text = Vec::new();
    DeflateDecoder::new(deflated.as_slice())
        .take(max_text as u64 + 1)
        .read_to_end(&mut text)
        .map_err(|_| InflateError::Inflate)?;
    if text.len() > max_text {
        return Err(InflateError::Inflate);
    }
    String::from_utf8(text).map_err(|_| InflateError::NotText)
}
