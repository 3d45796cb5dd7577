//! The first, bounded look at a SAML `Response` posted to the ACS, before any signature
//! is checked: base64 and size limits, well-formed UTF-8 XML without a DOCTYPE (no entity
//! expansion), without comments, CDATA or processing instructions (the NameID comment-
//! truncation attack hides text from canonicalisation in exactly those), with limited depth,
//! element and attribute counts, exactly one `Response` as root, exactly one `Assertion` or
//! `EncryptedAssertion` as its direct child and nowhere else, and no ID value twice — the
//! shapes XML signature wrapping (XSW) needs. It also reads the unsigned envelope fields
//! (ID, InResponseTo, Destination, Issuer) and the signature and digest algorithms in use,
//! so a refusal can say what was wrong. Sans-IO: text in, [`Scanned`] out; fuzzed
//! (`session-broker/fuzz`, `saml_prescan`). Self-contained (quick-xml and base64 only) so
//! the fuzz build includes it by path.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

/// Longest `SAMLResponse` form value read (base64 characters).
pub const MAX_BASE64: usize = 256 * 1024;
/// Deepest element nesting accepted; SAML responses nest about ten deep.
pub const MAX_DEPTH: usize = 32;
/// Most elements in one response.
pub const MAX_ELEMENTS: usize = 4000;
/// Most attributes on one element.
pub const MAX_ATTRIBUTES: usize = 32;

pub const PROTOCOL_NS: &[u8] = b"urn:oasis:names:tc:SAML:2.0:protocol";
pub const ASSERTION_NS: &[u8] = b"urn:oasis:names:tc:SAML:2.0:assertion";
pub const DSIG_NS: &[u8] = b"http://www.w3.org/2000/09/xmldsig#";
pub const XENC_NS: &[u8] = b"http://www.w3.org/2001/04/xmlenc#";

/// What decrypting an `EncryptedAssertion` needs, read here rather than through samael's
/// types (which insist on an `xmlns:ds` declaration on `KeyInfo` that IdPs need not write).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EncryptedParts {
    /// `EncryptedData/EncryptionMethod/@Algorithm`.
    pub data_algorithm: String,
    /// `EncryptedData/CipherData/CipherValue` (base64).
    pub data_value: String,
    /// `EncryptedKey/EncryptionMethod/@Algorithm`.
    pub key_algorithm: String,
    /// `EncryptedKey/CipherData/CipherValue` (base64).
    pub key_value: String,
}

/// Why a document was refused before its signature was looked at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrescanError {
    #[error("SAMLResponse is larger than {MAX_BASE64} base64 characters")]
    TooLarge,
    #[error("SAMLResponse is not base64")]
    Base64,
    #[error("SAMLResponse is not UTF-8")]
    Utf8,
    #[error("malformed XML: {0}")]
    Xml(String),
    #[error("XML {0} are not accepted")]
    Forbidden(&'static str),
    #[error("XML nests deeper than {MAX_DEPTH}")]
    TooDeep,
    #[error("XML has more than {MAX_ELEMENTS} elements")]
    TooManyElements,
    #[error("an element has more than {MAX_ATTRIBUTES} attributes")]
    TooManyAttributes,
    #[error("the root element is not a SAML protocol {0}")]
    WrongRoot(&'static str),
    #[error("{0}")]
    Shape(&'static str),
    #[error("the ID {0:?} appears more than once")]
    DuplicateId(String),
}

impl PrescanError {
    /// Whether the document looks like signature wrapping or another structural trick
    /// rather than plain corruption.
    pub fn is_structural(&self) -> bool {
        matches!(
            self,
            Self::Shape(_) | Self::DuplicateId(_) | Self::WrongRoot(_)
        )
    }
}

/// What the scan found. The envelope fields are NOT verified: use them only to refuse.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scanned {
    /// The document text.
    pub xml: String,
    pub response_id: Option<String>,
    pub in_response_to: Option<String>,
    pub destination: Option<String>,
    pub issuer: Option<String>,
    /// The root carries its own `ds:Signature` child.
    pub response_signed: bool,
    /// The ID of the direct child `Assertion` (none when encrypted).
    pub assertion_id: Option<String>,
    /// The direct child is an `EncryptedAssertion` (else an `Assertion`).
    pub encrypted: bool,
    /// `ds:Signature` elements anywhere.
    pub signatures: usize,
    /// Every `SignatureMethod` and `DigestMethod` algorithm URI seen.
    pub algorithms: Vec<String>,
    /// The parts of the `EncryptedAssertion`, when there is one.
    pub encrypted_parts: Option<EncryptedParts>,
}

/// Decodes a posted `SAMLResponse` (base64, whitespace allowed) and scans it.
pub fn decode_response(form_value: &str) -> Result<Scanned, PrescanError> {
    if form_value.len() > MAX_BASE64 {
        return Err(PrescanError::TooLarge);
    }
    let compact: String = form_value
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let bytes = STANDARD
        .decode(compact.as_bytes())
        .map_err(|_| PrescanError::Base64)?;
    let xml = String::from_utf8(bytes).map_err(|_| PrescanError::Utf8)?;
    scan(xml, Root::Response)
}

/// The element a scanned document must have as root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Root {
    /// A protocol `Response` with exactly one (Encrypted)Assertion child.
    Response,
    /// A decrypted `Assertion` standing alone.
    Assertion,
}

fn local(start: &BytesStart<'_>) -> Vec<u8> {
    start.local_name().as_ref().to_vec()
}

fn is(ns: &ResolveResult<'_>, want: &[u8]) -> bool {
    matches!(ns, ResolveResult::Bound(n) if n.as_ref() == want)
}

/// Undoes the five predefined entities and numeric character references of an
/// attribute value; anything else is refused (no DOCTYPE means no other entities).
fn unescape(raw: &[u8]) -> Result<String, PrescanError> {
    let text = std::str::from_utf8(raw).map_err(|_| PrescanError::Utf8)?;
    if !text.contains('&') {
        return Ok(text.to_owned());
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let end = after
            .find(';')
            .filter(|&e| e <= 10)
            .ok_or_else(|| PrescanError::Xml("bad entity reference".into()))?;
        let name = &after[..end];
        let c = match name {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = if let Some(hex) = name.strip_prefix("#x") {
                    u32::from_str_radix(hex, 16).ok()
                } else if let Some(dec) = name.strip_prefix('#') {
                    dec.parse().ok()
                } else {
                    None
                };
                code.and_then(char::from_u32)
                    .ok_or_else(|| PrescanError::Xml("bad entity reference".into()))?
            }
        };
        out.push(c);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

struct Attrs {
    id: Option<String>,
    other: Vec<(Vec<u8>, String)>,
}

fn attributes(start: &BytesStart<'_>) -> Result<Attrs, PrescanError> {
    let mut attrs = Attrs {
        id: None,
        other: Vec::new(),
    };
    for (n, attr) in start.attributes().with_checks(true).enumerate() {
        if n >= MAX_ATTRIBUTES {
            return Err(PrescanError::TooManyAttributes);
        }
        let attr = attr.map_err(|e| PrescanError::Xml(e.to_string()))?;
        let key = attr.key.as_ref().to_vec();
        let value = unescape(attr.value.as_ref())?;
        // Signatures reference SAML elements by `ID`; libxml2 treats `xml:id` as an ID
        // too. Either twice is an ID-confusion attempt. (xmldsig's own `Id` attributes are
        // never referenced here, and IdPs reuse them: pysaml2 names every Signature
        // "Signature1".)
        if key == b"ID" || key == b"xml:id" {
            attrs.id = Some(value.clone());
        }
        attrs.other.push((key, value));
    }
    Ok(attrs)
}

fn attr<'a>(attrs: &'a Attrs, name: &[u8]) -> Option<&'a str> {
    attrs
        .other
        .iter()
        .find(|(k, _)| k.as_slice() == name)
        .map(|(_, v)| v.as_str())
}

/// The root element of a document, when it is a SAML protocol `Response` or an
/// `Assertion` (for output of the signature reduction, which has already been parsed).
pub fn root_of(xml: &str) -> Option<Root> {
    let mut reader = NsReader::from_str(xml);
    loop {
        match reader.read_resolved_event().ok()? {
            (ns, Event::Start(s)) | (ns, Event::Empty(s)) => {
                let name = s.local_name();
                return if is(&ns, PROTOCOL_NS) && name.as_ref() == b"Response" {
                    Some(Root::Response)
                } else if is(&ns, ASSERTION_NS) && name.as_ref() == b"Assertion" {
                    Some(Root::Assertion)
                } else {
                    None
                };
            }
            (_, Event::Eof) => return None,
            _ => {}
        }
    }
}

/// Scans a document whose root must be `root`.
pub fn scan(xml: String, root: Root) -> Result<Scanned, PrescanError> {
    let mut found = Scanned::default();
    let mut ids: Vec<String> = Vec::new();
    let mut reader = NsReader::from_str(&xml);
    // A stack of (namespace-is-protocol/assertion/dsig, local name) for the open elements.
    let mut stack: Vec<(u8, Vec<u8>)> = Vec::new();
    let mut elements = 0usize;
    let mut responses = 0usize;
    let mut assertions = 0usize;
    let mut encrypted = 0usize;
    let mut root_seen = false;
    let mut root_closed = false;
    let mut issuer_text: Option<String> = None;
    let mut in_response_issuer = false;
    // Some(true): reading the wrapped key's CipherValue; Some(false): the data's.
    let mut cipher_target: Option<bool> = None;
    loop {
        let (ns, event) = reader
            .read_resolved_event()
            .map_err(|e| PrescanError::Xml(e.to_string()))?;
        let (start, empty) = match event {
            Event::Start(s) => (s.into_owned(), false),
            Event::Empty(s) => (s.into_owned(), true),
            Event::End(_) => {
                stack.pop();
                in_response_issuer = false;
                cipher_target = None;
                if stack.is_empty() {
                    root_closed = true;
                }
                continue;
            }
            Event::Text(t) => {
                let raw = t.as_ref();
                if stack.is_empty() && !raw.iter().all(u8::is_ascii_whitespace) {
                    return Err(PrescanError::Xml("text outside the root".into()));
                }
                if in_response_issuer {
                    let text = std::str::from_utf8(raw).map_err(|_| PrescanError::Utf8)?;
                    issuer_text.get_or_insert_with(String::new).push_str(text);
                }
                if let (Some(is_key), Some(parts)) = (cipher_target, found.encrypted_parts.as_mut())
                {
                    let text = std::str::from_utf8(raw).map_err(|_| PrescanError::Utf8)?;
                    if is_key {
                        parts.key_value.push_str(text);
                    } else {
                        parts.data_value.push_str(text);
                    }
                }
                continue;
            }
            Event::GeneralRef(r) => {
                if stack.is_empty() {
                    return Err(PrescanError::Xml("reference outside the root".into()));
                }
                let mut raw = b"&".to_vec();
                raw.extend_from_slice(r.as_ref());
                raw.push(b';');
                let text = unescape(&raw)?;
                if in_response_issuer {
                    issuer_text.get_or_insert_with(String::new).push_str(&text);
                }
                continue;
            }
            Event::Decl(_) if !root_seen => continue,
            Event::Eof => break,
            Event::Comment(_) => return Err(PrescanError::Forbidden("comments")),
            Event::CData(_) => return Err(PrescanError::Forbidden("CDATA sections")),
            Event::DocType(_) => return Err(PrescanError::Forbidden("DOCTYPE declarations")),
            Event::PI(_) | Event::Decl(_) => {
                return Err(PrescanError::Forbidden("processing instructions"));
            }
        };
        if root_closed {
            return Err(PrescanError::Xml("content after the root".into()));
        }
        elements += 1;
        if elements > MAX_ELEMENTS {
            return Err(PrescanError::TooManyElements);
        }
        if stack.len() >= MAX_DEPTH {
            return Err(PrescanError::TooDeep);
        }
        let name = local(&start);
        let attrs = attributes(&start)?;
        if let Some(id) = attrs.id.clone() {
            if ids.contains(&id) {
                return Err(PrescanError::DuplicateId(id));
            }
            ids.push(id);
        }
        let kind = if is(&ns, PROTOCOL_NS) {
            1
        } else if is(&ns, ASSERTION_NS) {
            2
        } else if is(&ns, DSIG_NS) {
            3
        } else if is(&ns, XENC_NS) {
            4
        } else {
            0
        };
        let depth = stack.len();
        if !root_seen {
            root_seen = true;
            match root {
                Root::Response => {
                    if kind != 1 || name != b"Response" {
                        return Err(PrescanError::WrongRoot("Response"));
                    }
                    found.response_id = attrs.id.clone();
                    found.in_response_to = attr(&attrs, b"InResponseTo").map(str::to_owned);
                    found.destination = attr(&attrs, b"Destination").map(str::to_owned);
                }
                Root::Assertion => {
                    if kind != 2 || name != b"Assertion" {
                        return Err(PrescanError::WrongRoot("Assertion"));
                    }
                    assertions += 1;
                }
            }
        }
        match (kind, name.as_slice()) {
            (1, b"Response") => {
                responses += 1;
                if responses > 1 {
                    return Err(PrescanError::Shape("more than one Response element"));
                }
            }
            (2, b"Assertion") if depth > 0 => {
                assertions += 1;
                if assertions > 1 {
                    return Err(PrescanError::Shape("more than one Assertion element"));
                }
                if root == Root::Assertion || depth != 1 {
                    return Err(PrescanError::Shape(
                        "an Assertion that is not a direct child of the Response",
                    ));
                }
                found.assertion_id = attrs.id.clone();
            }
            (2, b"EncryptedAssertion") => {
                encrypted += 1;
                if encrypted > 1 || root == Root::Assertion || depth != 1 {
                    return Err(PrescanError::Shape(
                        "an EncryptedAssertion that is not the Response's only one",
                    ));
                }
            }
            (4, b"EncryptionMethod") if encrypted == 1 => {
                let parts = found
                    .encrypted_parts
                    .get_or_insert_with(EncryptedParts::default);
                let alg = attr(&attrs, b"Algorithm").unwrap_or_default().to_owned();
                match stack.last() {
                    Some((4, parent)) if parent == b"EncryptedKey" => parts.key_algorithm = alg,
                    Some((4, parent)) if parent == b"EncryptedData" => parts.data_algorithm = alg,
                    _ => {}
                }
            }
            (4, b"CipherValue") if encrypted == 1 && !empty => {
                // Inside EncryptedKey (at any depth) it is the wrapped key, else the data.
                cipher_target = Some(stack.iter().any(|(k, n)| *k == 4 && n == b"EncryptedKey"));
            }
            (2, b"Issuer") if depth == 1 && root == Root::Response => {
                in_response_issuer = !empty;
            }
            (3, b"Signature") => {
                found.signatures += 1;
                if depth == 1 && root == Root::Response {
                    found.response_signed = true;
                }
            }
            // Only the algorithms of signatures: a DigestMethod also appears inside
            // xmlenc's RSA-OAEP EncryptionMethod, where SHA-1 is the standard's default.
            (3, b"SignatureMethod") | (3, b"DigestMethod")
                if stack.last().is_some_and(|(k, parent)| {
                    *k == 3 && (parent == b"SignedInfo" || parent == b"Reference")
                }) =>
            {
                if let Some(alg) = attr(&attrs, b"Algorithm")
                    && !found.algorithms.iter().any(|a| a == alg)
                {
                    found.algorithms.push(alg.to_owned());
                }
            }
            _ => {}
        }
        if !empty {
            stack.push((kind, name));
        }
    }
    if !root_seen {
        return Err(PrescanError::Xml("no root element".into()));
    }
    if !stack.is_empty() {
        return Err(PrescanError::Xml("unclosed element".into()));
    }
    if root == Root::Response && assertions + encrypted != 1 {
        return Err(PrescanError::Shape(
            "the Response must carry exactly one Assertion or EncryptedAssertion",
        ));
    }
    found.encrypted = encrypted == 1;
    found.issuer = issuer_text.map(|t| t.trim().to_owned());
    drop(reader);
    found.xml = xml;
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"<?xml version="1.0"?>
<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="r1" InResponseTo="id-abc" Destination="https://sp/acs?a=1&amp;b=2">
  <saml:Issuer>https://idp.example</saml:Issuer>
  <samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>
  <saml:Assertion ID="a1"><saml:Issuer>https://idp.example</saml:Issuer>
    <saml:Subject><saml:NameID>alice@example.se</saml:NameID></saml:Subject>
  </saml:Assertion>
</samlp:Response>"#;

    fn b64(s: &str) -> String {
        STANDARD.encode(s)
    }

    #[test]
    fn a_plain_response_is_read() {
        let found = decode_response(&b64(GOOD)).expect("good response");
        expect_test::expect![[r#"
            (
                Some(
                    "r1",
                ),
                Some(
                    "id-abc",
                ),
                Some(
                    "https://sp/acs?a=1&b=2",
                ),
                Some(
                    "https://idp.example",
                ),
                false,
                false,
                0,
            )
        "#]]
        .assert_debug_eq(&(
            found.response_id,
            found.in_response_to,
            found.destination,
            found.issuer,
            found.response_signed,
            found.encrypted,
            found.signatures,
        ));
    }

    #[test]
    fn malformed_and_hostile_documents_are_refused() {
        let cases: Vec<(String, &str)> = vec![
            ("!!!".into(), "base64"),
            (b64("\u{0}\u{ff}"), "xml"),
            (STANDARD.encode([0xff, 0xfe, 0x00]), "utf8"),
            (b64(""), "xml"),
            (b64("<a>"), "root"),
            (b64("<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\">"), "xml"),
            (b64("<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\"/>"), "shape"),
            (b64(&GOOD.replace("alice@example.se", "alice@example.se<!---->.evil")), "forbidden"),
            (b64(&GOOD.replace("alice@example.se", "<![CDATA[alice]]>")), "forbidden"),
            (b64(&format!("<!DOCTYPE x [<!ENTITY e \"x\">]>{}", &GOOD[22..])), "forbidden"),
            (b64(&GOOD.replace("<saml:Issuer>https://idp.example</saml:Issuer>\n  <samlp:Status>", "<?pi x?><samlp:Status>")), "forbidden"),
            (b64(&GOOD.replace("ID=\"a1\"", "ID=\"r1\"")), "duplicate"),
            (b64(&GOOD.replace("</samlp:Response>", "<saml:Assertion ID=\"a2\"/></samlp:Response>")), "shape"),
            (b64(&GOOD.replace("<samlp:Status>", "<samlp:Extensions><saml:Assertion ID=\"a3\"/></samlp:Extensions><samlp:Status>")), "shape"),
            (b64(&GOOD.replace("samlp:Response", "samlp:Request")), "root"),
            (b64(&GOOD.replace("&amp;", "&bogus;")), "xml"),
            (b64(&format!("{}{}{}", "<x>".repeat(40), "", "</x>".repeat(40))), "root"),
            ("A".repeat(MAX_BASE64 + 4), "large"),
        ];
        for (input, want) in cases {
            let got = decode_response(&input);
            let kind = match &got {
                Err(PrescanError::TooLarge) => "large",
                Err(PrescanError::Base64) => "base64",
                Err(PrescanError::Utf8) => "utf8",
                Err(PrescanError::Xml(_)) => "xml",
                Err(PrescanError::Forbidden(_)) => "forbidden",
                Err(PrescanError::DuplicateId(_)) => "duplicate",
                Err(PrescanError::Shape(_)) => "shape",
                Err(PrescanError::WrongRoot(_)) => "root",
                Err(PrescanError::TooDeep) => "deep",
                Err(e) => panic!("unexpected {e:?}"),
                Ok(_) => "ok",
            };
            assert_eq!(kind, want, "{got:?}");
        }
    }

    #[test]
    fn depth_and_counts_are_bounded() {
        let deep = format!(
            "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\">{}{}</samlp:Response>",
            "<x>".repeat(MAX_DEPTH + 1),
            "</x>".repeat(MAX_DEPTH + 1)
        );
        assert_eq!(scan(deep, Root::Response), Err(PrescanError::TooDeep));
        let wide = format!(
            "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\">{}</samlp:Response>",
            "<x/>".repeat(MAX_ELEMENTS + 1)
        );
        assert_eq!(
            scan(wide, Root::Response),
            Err(PrescanError::TooManyElements)
        );
        let attrs: String = (0..=MAX_ATTRIBUTES)
            .map(|i| format!(" a{i}=\"v\""))
            .collect();
        let many = format!(
            "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\"><x{attrs}/></samlp:Response>"
        );
        assert_eq!(
            scan(many, Root::Response),
            Err(PrescanError::TooManyAttributes)
        );
    }

    #[test]
    fn a_decrypted_assertion_stands_alone() {
        let a = "<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"a\"><saml:Issuer>i</saml:Issuer></saml:Assertion>";
        assert!(scan(a.into(), Root::Assertion).is_ok());
        let nested = "<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"a\"><saml:Assertion ID=\"b\"/></saml:Assertion>";
        assert!(scan(nested.into(), Root::Assertion).is_err());
    }
}
