//! The IPP/1.1 and 2.0 message encoding (RFC 8010), sans-IO: a bounded parser of a
//! request's header and attribute groups (the document data that follows is the caller's
//! to stream), and an encoder for responses. Values stay raw bytes with their tag; the
//! accessors check a value's shape only when it is read.
//!
//! Bounds: the attribute section may be at most [`MAX_ATTRIBUTE_BYTES`] and hold at most
//! [`MAX_VALUES`] values, collections nest at most [`MAX_COLLECTION_DEPTH`] deep, so a
//! hostile sender costs at most that much memory before it is refused.

/// Most bytes of header and attribute groups before the document data.
pub const MAX_ATTRIBUTE_BYTES: usize = 64 * 1024;
/// Most values (all attributes together, collection members included).
pub const MAX_VALUES: usize = 2048;
/// Deepest nesting of collections.
pub const MAX_COLLECTION_DEPTH: usize = 8;

/// Delimiter tags.
pub mod group {
    pub const OPERATION: u8 = 0x01;
    pub const JOB: u8 = 0x02;
    pub const END: u8 = 0x03;
    pub const PRINTER: u8 = 0x04;
    pub const UNSUPPORTED: u8 = 0x05;
}

/// Value tags.
pub mod tag {
    pub const UNSUPPORTED: u8 = 0x10;
    pub const UNKNOWN: u8 = 0x12;
    pub const NO_VALUE: u8 = 0x13;
    pub const INTEGER: u8 = 0x21;
    pub const BOOLEAN: u8 = 0x22;
    pub const ENUM: u8 = 0x23;
    pub const OCTET_STRING: u8 = 0x30;
    pub const DATE_TIME: u8 = 0x31;
    pub const RESOLUTION: u8 = 0x32;
    pub const RANGE: u8 = 0x33;
    pub const BEGIN_COLLECTION: u8 = 0x34;
    pub const TEXT_WITH_LANGUAGE: u8 = 0x35;
    pub const NAME_WITH_LANGUAGE: u8 = 0x36;
    pub const END_COLLECTION: u8 = 0x37;
    pub const TEXT: u8 = 0x41;
    pub const NAME: u8 = 0x42;
    pub const KEYWORD: u8 = 0x44;
    pub const URI: u8 = 0x45;
    pub const URI_SCHEME: u8 = 0x46;
    pub const CHARSET: u8 = 0x47;
    pub const NATURAL_LANGUAGE: u8 = 0x48;
    pub const MIME_MEDIA_TYPE: u8 = 0x49;
    pub const MEMBER_NAME: u8 = 0x4A;
}

/// Why a request could not be read. Each is answered with client-error-bad-request and
/// this text as status-message, except [`ParseError::TooLarge`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("malformed IPP request: {0}")]
    Malformed(&'static str),
    #[error("the IPP attributes exceed {MAX_ATTRIBUTE_BYTES} bytes or {MAX_VALUES} values")]
    TooLarge,
}

/// One value with its tag, as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    pub tag: u8,
    pub data: Vec<u8>,
}

impl Value {
    /// An integer or enum.
    pub fn integer(&self) -> Option<i32> {
        match (self.tag, <[u8; 4]>::try_from(self.data.as_slice())) {
            (tag::INTEGER | tag::ENUM, Ok(b)) => Some(i32::from_be_bytes(b)),
            _ => None,
        }
    }

    pub fn boolean(&self) -> Option<bool> {
        match (self.tag, self.data.as_slice()) {
            (tag::BOOLEAN, [0]) => Some(false),
            (tag::BOOLEAN, [1]) => Some(true),
            _ => None,
        }
    }

    /// Any character-string value (text, name, keyword, uri, charset, language, MIME
    /// type) as UTF-8, or the text part of a text/nameWithLanguage.
    pub fn text(&self) -> Option<&str> {
        let bytes = match self.tag {
            0x40..=0x49 => self.data.as_slice(),
            tag::TEXT_WITH_LANGUAGE | tag::NAME_WITH_LANGUAGE => with_language_text(&self.data)?,
            _ => return None,
        };
        std::str::from_utf8(bytes).ok()
    }
}

fn with_language_text(data: &[u8]) -> Option<&[u8]> {
    let lang_len = usize::from(u16::from_be_bytes([*data.first()?, *data.get(1)?]));
    let rest = data.get(2 + lang_len..)?;
    let text_len = usize::from(u16::from_be_bytes([*rest.first()?, *rest.get(1)?]));
    let text = rest.get(2..)?;
    (text.len() == text_len).then_some(text)
}

/// An attribute: a name and one or more values (a collection's members are kept
/// flattened between its begin and end values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub name: String,
    pub values: Vec<Value>,
}

impl Attribute {
    pub fn first(&self) -> Option<&Value> {
        self.values.first()
    }
}

/// An attribute group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub tag: u8,
    pub attributes: Vec<Attribute>,
}

impl Group {
    pub fn new(tag: u8) -> Self {
        Self {
            tag,
            attributes: Vec::new(),
        }
    }

    pub fn get(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// Adds an attribute with one or more values of one tag.
    pub fn add(&mut self, name: &str, tag: u8, values: Vec<Vec<u8>>) -> &mut Self {
        self.attributes.push(Attribute {
            name: name.to_owned(),
            values: values.into_iter().map(|data| Value { tag, data }).collect(),
        });
        self
    }

    pub fn add_values(&mut self, name: &str, values: Vec<Value>) -> &mut Self {
        self.attributes.push(Attribute {
            name: name.to_owned(),
            values,
        });
        self
    }

    pub fn text(&mut self, name: &str, tag: u8, value: &str) -> &mut Self {
        self.add(name, tag, vec![value.as_bytes().to_vec()])
    }

    pub fn texts(&mut self, name: &str, tag: u8, values: &[&str]) -> &mut Self {
        self.add(
            name,
            tag,
            values.iter().map(|v| v.as_bytes().to_vec()).collect(),
        )
    }

    pub fn integer(&mut self, name: &str, value: i32) -> &mut Self {
        self.add(name, tag::INTEGER, vec![value.to_be_bytes().to_vec()])
    }

    pub fn integers(&mut self, name: &str, tag: u8, values: &[i32]) -> &mut Self {
        self.add(
            name,
            tag,
            values.iter().map(|v| v.to_be_bytes().to_vec()).collect(),
        )
    }

    pub fn enumeration(&mut self, name: &str, value: i32) -> &mut Self {
        self.add(name, tag::ENUM, vec![value.to_be_bytes().to_vec()])
    }

    pub fn boolean(&mut self, name: &str, value: bool) -> &mut Self {
        self.add(name, tag::BOOLEAN, vec![vec![u8::from(value)]])
    }
}

/// A request's header and attribute groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub version: (u8, u8),
    pub operation: u16,
    pub request_id: u32,
    pub groups: Vec<Group>,
}

impl Request {
    /// The operation attributes group (always the first; [`parse`] checks it).
    pub fn operation_attributes(&self) -> &Group {
        static NONE: Group = Group {
            tag: group::OPERATION,
            attributes: Vec::new(),
        };
        self.groups.first().unwrap_or(&NONE)
    }

    /// The first value of operation attribute `name` as text.
    pub fn op_text(&self, name: &str) -> Option<&str> {
        self.operation_attributes().get(name)?.first()?.text()
    }

    pub fn op_integer(&self, name: &str) -> Option<i32> {
        self.operation_attributes().get(name)?.first()?.integer()
    }

    pub fn op_boolean(&self, name: &str) -> Option<bool> {
        self.operation_attributes().get(name)?.first()?.boolean()
    }

    /// The attributes of the job-attributes group, if any.
    pub fn job_attributes(&self) -> Option<&Group> {
        self.groups.iter().find(|g| g.tag == group::JOB)
    }
}

/// A request read so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// Not all of the attribute section has arrived yet.
    Incomplete,
    /// The request, and where its document data starts in the buffer.
    Complete {
        request: Request,
        data_offset: usize,
    },
}

struct Cursor<'a> {
    buf: &'a [u8],
    at: usize,
}

/// Either a parse error or "need more bytes".
enum Short {
    More,
    Err(ParseError),
}

impl From<ParseError> for Short {
    fn from(e: ParseError) -> Self {
        Short::Err(e)
    }
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Short> {
        let end = self.at.checked_add(n).ok_or(Short::More)?;
        let s = self.buf.get(self.at..end).ok_or(Short::More)?;
        self.at = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, Short> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, Short> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
}

/// Reads a request from the start of `buf`: the 8-byte header, the attribute groups up to
/// end-of-attributes-tag. Call again with more bytes while it says [`Parsed::Incomplete`].
pub fn parse(buf: &[u8]) -> Result<Parsed, ParseError> {
    let window = &buf[..buf.len().min(MAX_ATTRIBUTE_BYTES)];
    match parse_inner(window) {
        Ok(parsed) => Ok(parsed),
        Err(Short::Err(e)) => Err(e),
        Err(Short::More) if buf.len() >= MAX_ATTRIBUTE_BYTES => Err(ParseError::TooLarge),
        Err(Short::More) => Ok(Parsed::Incomplete),
    }
}

fn parse_inner(buf: &[u8]) -> Result<Parsed, Short> {
    let mut c = Cursor { buf, at: 0 };
    let version = (c.u8()?, c.u8()?);
    let operation = c.u16()?;
    let id = c.take(4)?;
    let request_id = u32::from_be_bytes([id[0], id[1], id[2], id[3]]);
    let mut groups: Vec<Group> = Vec::new();
    let mut values = 0usize;
    let mut depth = 0usize;
    loop {
        let t = c.u8()?;
        if t <= 0x0F {
            if depth != 0 {
                return Err(ParseError::Malformed("a collection is not closed").into());
            }
            match t {
                group::END => break,
                0x00 | 0x06..=0x0F => {
                    return Err(ParseError::Malformed("unknown delimiter tag").into());
                }
                _ => groups.push(Group::new(t)),
            }
            continue;
        }
        let Some(current) = groups.last_mut() else {
            return Err(ParseError::Malformed("a value before any attribute group").into());
        };
        let name_len = usize::from(c.u16()?);
        let name = c.take(name_len)?;
        let value_len = usize::from(c.u16()?);
        let data = c.take(value_len)?.to_vec();
        values += 1;
        if values > MAX_VALUES {
            return Err(ParseError::TooLarge.into());
        }
        if t == 0x7F {
            return Err(ParseError::Malformed("extended value tags are not supported").into());
        }
        check_value(t, &data)?;
        if !name.is_empty() {
            if depth != 0 {
                return Err(ParseError::Malformed("a named attribute inside a collection").into());
            }
            let name = std::str::from_utf8(name)
                .ok()
                .filter(|n| n.bytes().all(|b| b.is_ascii_graphic()))
                .ok_or(ParseError::Malformed("an attribute name is not a keyword"))?;
            current.attributes.push(Attribute {
                name: name.to_owned(),
                values: Vec::new(),
            });
        }
        let Some(attribute) = current.attributes.last_mut() else {
            return Err(ParseError::Malformed("an additional value without an attribute").into());
        };
        match t {
            tag::BEGIN_COLLECTION => {
                depth += 1;
                if depth > MAX_COLLECTION_DEPTH {
                    return Err(ParseError::Malformed("collections nest too deep").into());
                }
            }
            tag::END_COLLECTION => {
                depth = depth
                    .checked_sub(1)
                    .ok_or(ParseError::Malformed("a collection end without a begin"))?;
            }
            _ => {}
        }
        attribute.values.push(Value { tag: t, data });
    }
    validate_operation_group(&groups)?;
    Ok(Parsed::Complete {
        request: Request {
            version,
            operation,
            request_id,
            groups,
        },
        data_offset: c.at,
    })
}

/// The shapes RFC 8010 fixes; anything else is refused, not guessed at.
fn check_value(t: u8, data: &[u8]) -> Result<(), ParseError> {
    let ok = match t {
        0x10..=0x1F => data.is_empty(),
        tag::INTEGER | tag::ENUM => data.len() == 4,
        tag::BOOLEAN => data.len() == 1 && data[0] <= 1,
        tag::DATE_TIME => data.len() == 11,
        tag::RESOLUTION => data.len() == 9,
        tag::RANGE => data.len() == 8,
        tag::END_COLLECTION => data.is_empty(),
        tag::TEXT_WITH_LANGUAGE | tag::NAME_WITH_LANGUAGE => with_language_text(data).is_some(),
        tag::TEXT | tag::NAME => std::str::from_utf8(data).is_ok(),
        0x44..=0x4A => data.iter().all(|b| b.is_ascii() && !b.is_ascii_control()),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(ParseError::Malformed("a value does not fit its tag"))
    }
}

/// RFC 8011 §4.1.4: the operation attributes come first, and start with
/// attributes-charset then attributes-natural-language.
fn validate_operation_group(groups: &[Group]) -> Result<(), ParseError> {
    let first =
        groups
            .first()
            .filter(|g| g.tag == group::OPERATION)
            .ok_or(ParseError::Malformed(
                "the operation attributes group is missing",
            ))?;
    let names: Vec<&str> = first.attributes.iter().map(|a| a.name.as_str()).collect();
    if names.first() != Some(&"attributes-charset")
        || names.get(1) != Some(&"attributes-natural-language")
    {
        return Err(ParseError::Malformed(
            "attributes-charset and attributes-natural-language must come first",
        ));
    }
    if groups.iter().filter(|g| g.tag == group::OPERATION).count() > 1 {
        return Err(ParseError::Malformed("two operation attributes groups"));
    }
    for g in groups {
        let mut seen = std::collections::HashSet::new();
        if !g.attributes.iter().all(|a| seen.insert(a.name.as_str())) {
            return Err(ParseError::Malformed(
                "an attribute appears twice in a group",
            ));
        }
    }
    Ok(())
}

/// A response to encode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub version: (u8, u8),
    pub status: u16,
    pub request_id: u32,
    pub groups: Vec<Group>,
}

impl Response {
    /// The RFC 8010 bytes. Names and values longer than 65535 bytes are cut, which only
    /// text we build ourselves could reach.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1024);
        out.extend([self.version.0, self.version.1]);
        out.extend(self.status.to_be_bytes());
        out.extend(self.request_id.to_be_bytes());
        for g in &self.groups {
            out.push(g.tag);
            for a in &g.attributes {
                for (i, v) in a.values.iter().enumerate() {
                    out.push(v.tag);
                    let name = if i == 0 { a.name.as_bytes() } else { &[] };
                    push_counted(&mut out, name);
                    push_counted(&mut out, &v.data);
                }
            }
        }
        out.push(group::END);
        out
    }
}

fn push_counted(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = bytes.len().min(usize::from(u16::MAX));
    out.extend(u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes());
    out.extend(&bytes[..len]);
}

/// Value builders for the odd shapes.
pub fn resolution(x: i32, y: i32, dots_per_inch: bool) -> Vec<u8> {
    let mut v = Vec::with_capacity(9);
    v.extend(x.to_be_bytes());
    v.extend(y.to_be_bytes());
    v.push(if dots_per_inch { 3 } else { 4 });
    v
}

pub fn range(low: i32, high: i32) -> Vec<u8> {
    let mut v = Vec::with_capacity(8);
    v.extend(low.to_be_bytes());
    v.extend(high.to_be_bytes());
    v
}

/// RFC 2579 DateAndTime in UTC.
pub fn date_time(t: time::OffsetDateTime) -> Vec<u8> {
    let t = t.to_offset(time::UtcOffset::UTC);
    let year = u16::try_from(t.year()).unwrap_or(1970);
    let mut v = Vec::with_capacity(11);
    v.extend(year.to_be_bytes());
    v.extend([
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        u8::try_from(t.millisecond() / 100).unwrap_or(0),
        b'+',
        0,
        0,
    ]);
    v
}

/// A collection value: begin, members (each a member-name value then its values), end.
pub fn collection(members: &[(&str, Vec<Value>)]) -> Vec<Value> {
    let mut out = vec![Value {
        tag: tag::BEGIN_COLLECTION,
        data: Vec::new(),
    }];
    for (name, values) in members {
        out.push(Value {
            tag: tag::MEMBER_NAME,
            data: name.as_bytes().to_vec(),
        });
        out.extend(values.iter().cloned());
    }
    out.push(Value {
        tag: tag::END_COLLECTION,
        data: Vec::new(),
    });
    out
}

#[cfg(test)]
mod tests;
