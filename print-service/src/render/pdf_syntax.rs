//! A bounded reader for PDF's object syntax (ISO 32000-1 7.2-7.3): numbers, names,
//! strings, arrays, dictionaries, references, streams and `N G obj ... endobj`. Enough
//! to check a received PDF's structure; it keeps no string contents, only the shape.

/// Nesting deeper than this is refused (real files nest a handful of levels).
const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq)]
pub enum Obj {
    Null,
    Bool(bool),
    Int(i64),
    Real,
    Name(Vec<u8>),
    Str,
    Array(Vec<Obj>),
    Dict(Dict),
    Ref(u32, u16),
    /// A stream: its dictionary and where its data lies in the buffer parsed.
    Stream(Dict, std::ops::Range<usize>),
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Dict(pub Vec<(Vec<u8>, Obj)>);

impl Dict {
    pub fn get(&self, key: &[u8]) -> Option<&Obj> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn int(&self, key: &[u8]) -> Option<i64> {
        match self.get(key) {
            Some(Obj::Int(value)) => Some(*value),
            _ => None,
        }
    }

    pub fn name_is(&self, key: &[u8], name: &[u8]) -> bool {
        matches!(self.get(key), Some(Obj::Name(n)) if n == name)
    }
}

fn is_white(b: u8) -> bool {
    matches!(b, 0 | b'\t' | b'\n' | 0x0C | b'\r' | b' ')
}

fn is_delimiter(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

fn is_regular(b: u8) -> bool {
    !is_white(b) && !is_delimiter(b)
}

pub struct Lexer<'a> {
    pub data: &'a [u8],
    pub at: usize,
}

impl<'a> Lexer<'a> {
    pub fn new(data: &'a [u8], at: usize) -> Self {
        Self { data, at }
    }

    fn peek(&self) -> Option<u8> {
        self.data.get(self.at).copied()
    }

    pub fn skip_white(&mut self) {
        while let Some(b) = self.peek() {
            if is_white(b) {
                self.at += 1;
            } else if b == b'%' {
                while let Some(c) = self.peek() {
                    if c == b'\n' || c == b'\r' {
                        break;
                    }
                    self.at += 1;
                }
            } else {
                break;
            }
        }
    }

    /// A run of regular characters (a keyword or number), after white space.
    pub fn token(&mut self) -> &'a [u8] {
        self.skip_white();
        let start = self.at;
        while self.peek().is_some_and(is_regular) {
            self.at += 1;
        }
        &self.data[start..self.at]
    }

    pub fn expect(&mut self, keyword: &[u8]) -> Result<(), String> {
        let at = self.at;
        let token = self.token();
        if token == keyword {
            Ok(())
        } else {
            Err(format!(
                "expected `{}` at byte {at}",
                String::from_utf8_lossy(keyword)
            ))
        }
    }

    pub fn unsigned(&mut self) -> Result<u64, String> {
        let at = self.at;
        let token = self.token();
        std::str::from_utf8(token)
            .ok()
            .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| format!("expected a number at byte {at}"))
    }

    /// One object (not an indirect definition).
    pub fn object(&mut self, depth: usize) -> Result<Obj, String> {
        if depth > MAX_DEPTH {
            return Err("objects nested too deeply".into());
        }
        self.skip_white();
        let at = self.at;
        let Some(first) = self.peek() else {
            return Err("unexpected end of data".into());
        };
        match first {
            b'/' => {
                self.at += 1;
                Ok(Obj::Name(self.name_body()?))
            }
            b'(' => {
                self.literal_string()?;
                Ok(Obj::Str)
            }
            b'<' if self.data.get(self.at + 1) == Some(&b'<') => {
                self.at += 2;
                let mut entries = Vec::new();
                loop {
                    self.skip_white();
                    if self.data.get(self.at..self.at + 2) == Some(b">>") {
                        self.at += 2;
                        return Ok(Obj::Dict(Dict(entries)));
                    }
                    match self.object(depth + 1)? {
                        Obj::Name(key) => {
                            let value = self.object(depth + 1)?;
                            entries.push((key, value));
                        }
                        _ => return Err(format!("dictionary key is not a name near byte {at}")),
                    }
                }
            }
            b'<' => {
                self.at += 1;
                while let Some(b) = self.peek() {
                    self.at += 1;
                    match b {
                        b'>' => return Ok(Obj::Str),
                        b if b.is_ascii_hexdigit() || is_white(b) => {}
                        _ => return Err(format!("bad hex string at byte {at}")),
                    }
                }
                Err("unterminated hex string".into())
            }
            b'[' => {
                self.at += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_white();
                    if self.peek() == Some(b']') {
                        self.at += 1;
                        return Ok(Obj::Array(items));
                    }
                    items.push(self.object(depth + 1)?);
                }
            }
            b'+' | b'-' | b'.' | b'0'..=b'9' => self.number_or_ref(),
            _ => {
                let token = self.token();
                match token {
                    b"true" => Ok(Obj::Bool(true)),
                    b"false" => Ok(Obj::Bool(false)),
                    b"null" => Ok(Obj::Null),
                    _ => Err(format!(
                        "unexpected `{}` at byte {at}",
                        String::from_utf8_lossy(token)
                    )),
                }
            }
        }
    }

    fn name_body(&mut self) -> Result<Vec<u8>, String> {
        let mut name = Vec::new();
        while let Some(b) = self.peek().filter(|b| is_regular(*b)) {
            self.at += 1;
            if b == b'#' {
                let hex = self
                    .data
                    .get(self.at..self.at + 2)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or("bad #xx escape in a name")?;
                self.at += 2;
                name.push(hex);
            } else {
                name.push(b);
            }
        }
        Ok(name)
    }

    fn literal_string(&mut self) -> Result<(), String> {
        let mut depth = 0usize;
        while let Some(b) = self.peek() {
            self.at += 1;
            match b {
                b'\\' => self.at += 1,
                b'(' => depth += 1,
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(());
                    }
                }
                _ => {}
            }
        }
        Err("unterminated string".into())
    }

    fn number_or_ref(&mut self) -> Result<Obj, String> {
        let at = self.at;
        let token = self.token();
        let text = std::str::from_utf8(token).map_err(|_| format!("bad number at byte {at}"))?;
        if let Ok(value) = text.parse::<i64>() {
            // `N G R` is a reference; look ahead without consuming otherwise.
            let save = self.at;
            if value >= 0
                && let Ok(generation) = self.unsigned()
                && self.token() == b"R"
                && let (Ok(number), Ok(generation)) =
                    (u32::try_from(value), u16::try_from(generation))
            {
                return Ok(Obj::Ref(number, generation));
            }
            self.at = save;
            return Ok(Obj::Int(value));
        }
        let digits = text.trim_start_matches(['+', '-']);
        let valid = !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            && digits.bytes().filter(|b| *b == b'.').count() == 1
            && digits != ".";
        if valid {
            Ok(Obj::Real)
        } else {
            Err(format!("bad number `{text}` at byte {at}"))
        }
    }

    /// `N G obj <object> [stream ... endstream] endobj` at the current position.
    pub fn indirect(&mut self) -> Result<(u32, Obj), String> {
        let number = u32::try_from(self.unsigned()?).map_err(|_| "object number too large")?;
        self.unsigned()?;
        self.expect(b"obj")?;
        let object = self.object(0)?;
        let save = self.at;
        let token = self.token();
        if token == b"stream" {
            let Obj::Dict(dict) = object else {
                return Err(format!("object {number}: stream without a dictionary"));
            };
            // The keyword ends with CRLF or LF (a lone CR is tolerated).
            match self.data.get(self.at..self.at + 2) {
                Some(b"\r\n") => self.at += 2,
                Some([b'\n' | b'\r', _]) => self.at += 1,
                _ => return Err(format!("object {number}: no line end after `stream`")),
            }
            let start = self.at;
            let declared = dict
                .int(b"Length")
                .and_then(|n| usize::try_from(n).ok())
                .and_then(|n| start.checked_add(n))
                .filter(|end| self.ends_stream_at(*end));
            let end = match declared {
                Some(end) => end,
                // An indirect or wrong /Length: the data ends before the first `endstream`
                // that `endobj` follows (binary data, a JPEG say, may hold the word itself).
                None => self
                    .closing_endstream(start)
                    .ok_or_else(|| format!("object {number}: no `endstream`"))?,
            };
            self.at = end;
            self.expect(b"endstream")?;
            self.expect(b"endobj")?;
            return Ok((number, Obj::Stream(dict, start..end)));
        }
        if token != b"endobj" {
            self.at = save;
            return Err(format!("object {number}: expected `endobj` at byte {save}"));
        }
        Ok((number, object))
    }

    /// The first `endstream` at or after `from` that is followed by `endobj`; every byte is
    /// looked at a bounded number of times (each search starts past the previous hit).
    fn closing_endstream(&self, mut from: usize) -> Option<usize> {
        loop {
            let at = from + find(self.data.get(from..)?, b"endstream")?;
            let mut lexer = Lexer::new(self.data, at + b"endstream".len());
            if lexer.token() == b"endobj" {
                return Some(at);
            }
            from = at + 1;
        }
    }

    fn ends_stream_at(&self, end: usize) -> bool {
        let mut lexer = Lexer::new(self.data, end);
        end <= self.data.len() && lexer.token() == b"endstream"
    }
}

pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nested_objects_and_references() {
        let data =
            b"<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 /X (a(b)\\)) /Y <4F 4b> /Z -1.5 >>";
        let object = Lexer::new(data, 0).object(0).expect("parses");
        let Obj::Dict(dict) = object else {
            panic!("not a dict")
        };
        assert!(dict.name_is(b"Type", b"Pages"));
        assert_eq!(
            dict.get(b"Kids"),
            Some(&Obj::Array(vec![Obj::Ref(3, 0), Obj::Ref(4, 0)]))
        );
        assert_eq!(dict.int(b"Count"), Some(2));
        assert_eq!(dict.get(b"Z"), Some(&Obj::Real));
    }

    #[test]
    fn refuses_broken_syntax() {
        for bad in [
            &b"<< /A >>"[..],
            b"<< 1 2 >>",
            b"[1 2",
            b"(abc",
            b"<4G>",
            b"<< /A 1.2.3 >>",
            b"bogus",
        ] {
            assert!(
                Lexer::new(bad, 0).object(0).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let deep = "[".repeat(100);
        assert!(Lexer::new(deep.as_bytes(), 0).object(0).is_err());
    }
}
