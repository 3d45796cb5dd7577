//! Little-endian reader and writer over one websocket message.
//!
//! The reader never panics: every read checks the remaining length and reports
//! [`WireError::Truncated`] naming the message being decoded, so a fuzzer or a hostile
//! browser can only ever produce an error value.

use super::error::WireError;

/// Reads fields front to back from one message body.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    /// The message kind, for error texts.
    kind: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8], kind: &'static str) -> Self {
        Self { bytes, kind }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if self.bytes.len() < n {
            return Err(WireError::Truncated {
                kind: self.kind,
                needed: n,
                remaining: self.bytes.len(),
            });
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], WireError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, WireError> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    pub(crate) fn i16(&mut self) -> Result<i16, WireError> {
        Ok(i16::from_le_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, WireError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub(crate) fn bytes16(&mut self) -> Result<[u8; 16], WireError> {
        self.array()
    }

    /// A boolean is one byte, 0 or 1; anything else is a malformed message rather than
    /// "true", so both implementations agree on every accepted byte string.
    pub(crate) fn bool(&mut self, field: &'static str) -> Result<bool, WireError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            value => Err(WireError::InvalidValue {
                field,
                value: u32::from(value),
            }),
        }
    }

    /// A byte string prefixed by its u8 length.
    pub(crate) fn short_bytes(&mut self) -> Result<&'a [u8], WireError> {
        let len = self.u8()?;
        self.take(usize::from(len))
    }

    /// A UTF-8 string prefixed by its u16 length, at most `max` bytes.
    pub(crate) fn text16(&mut self, field: &'static str, max: usize) -> Result<String, WireError> {
        let len = usize::from(self.u16()?);
        if len > max {
            return Err(WireError::TextTooLong { field, len, max });
        }
        utf8(self.take(len)?, field)
    }

    /// Everything left in the message.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.bytes)
    }

    /// Fails when bytes are left over: a longer message than its layout is malformed, not
    /// an extension point (extensions come with a new protocol version).
    pub(crate) fn finish(self) -> Result<(), WireError> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(WireError::TrailingBytes {
                kind: self.kind,
                extra: self.bytes.len(),
            })
        }
    }
}

/// Validates UTF-8 without copying twice.
pub(crate) fn utf8(bytes: &[u8], field: &'static str) -> Result<String, WireError> {
    std::str::from_utf8(bytes)
        .map(str::to_owned)
        .map_err(|_| WireError::InvalidUtf8 { field })
}

/// Appends fields to one message.
pub(crate) struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    pub(crate) fn new(message_type: u8, capacity: usize) -> Self {
        let mut buf = Vec::with_capacity(capacity + 1);
        buf.push(message_type);
        Self { buf }
    }

    pub(crate) fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }

    pub(crate) fn u16(&mut self, v: u16) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub(crate) fn i16(&mut self, v: i16) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub(crate) fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub(crate) fn bool(&mut self, v: bool) -> &mut Self {
        self.u8(u8::from(v))
    }

    pub(crate) fn raw(&mut self, v: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(v);
        self
    }

    /// Writes a u8-length-prefixed byte string. Longer input is cut at 255 bytes; callers
    /// only pass values whose type already bounds them (tokens, layout tags).
    pub(crate) fn short_bytes(&mut self, v: &[u8]) -> &mut Self {
        let len = v.len().min(usize::from(u8::MAX));
        self.u8(len as u8).raw(v.get(..len).unwrap_or_default())
    }

    /// Writes a u16-length-prefixed UTF-8 string, cut at a character boundary if it is
    /// longer than 65 535 bytes so the encoder can never emit a length that lies.
    pub(crate) fn text16(&mut self, v: &str) -> &mut Self {
        let cut = floor_char_boundary(v, usize::from(u16::MAX));
        self.u16(cut.len() as u16).raw(cut.as_bytes())
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
pub(crate) fn floor_char_boundary(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default()
}
