//! The sans-IO half of OCSP (RFC 6960) for SITHS cards: the responder URL a card names
//! (authorityInfoAccess id-ad-ocsp), the DER request for one card with a nonce, and a
//! bounded parser that accepts a response only when it is successful, answers for exactly
//! the card that was asked about, is signed by the card's CA or by a responder certificate
//! that CA issued for OCSP signing (id-kp-OCSPSigning), echoes the nonce when it carries
//! one, and is current (thisUpdate, nextUpdate). It reads no clock and opens no socket: the
//! caller passes `now` and the bytes, so the fuzz workspace compiles it by path.

use sha1::{Digest, Sha1};
use x509_parser::asn1_rs::{Any, BitString, Class, FromDer as _, Tag};
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::oid_registry::{OID_PKIX_ACCESS_DESCRIPTOR_OCSP, OID_PKIX_AUTHORITY_INFO_ACCESS};
use x509_parser::prelude::X509Certificate;
use x509_parser::time::ASN1Time;
use x509_parser::x509::AlgorithmIdentifier;

/// Largest response read. A response for one card with a responder certificate is a few
/// kilobytes; anything far bigger is not an answer we asked for.
pub const MAX_OCSP_RESPONSE_BYTES: usize = 64 << 10;
/// Bytes of the request nonce (RFC 8954 asks for 1 to 32; 16 is what OpenSSL sends).
pub const NONCE_BYTES: usize = 16;
/// How far a responder's clock may run ahead of ours (thisUpdate in the future).
pub const CLOCK_SKEW_SECS: i64 = 300;
/// A response without nextUpdate is only taken while its thisUpdate is this fresh, and
/// never cached: the responder says newer information is always available.
pub const MAX_AGE_WITHOUT_NEXT_UPDATE_SECS: i64 = 300;
/// Longest responder URL taken from a certificate.
const MAX_URL: usize = 512;
/// Most SingleResponses and certificates looked at in one response.
const MAX_ITEMS: usize = 16;

/// DER of the OIDs this module writes or compares.
const OID_SHA1: &[u8] = &[0x2b, 0x0e, 0x03, 0x02, 0x1a];
const OID_OCSP_BASIC: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01];
const OID_OCSP_NONCE: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x02];
/// Signature algorithms refused even where the library would verify them: SHA-1 based.
const WEAK_SIGNATURES: [&[u8]; 3] = [
    // sha1WithRSAEncryption
    &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05],
    // sha1WithRSA (OIW)
    &[0x2b, 0x0e, 0x03, 0x02, 0x1d],
    // ecdsa-with-SHA1
    &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01],
];

/// Why no usable OCSP answer came out of a response (or a request could not be built).
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum OcspError {
    #[error("the response is larger than {MAX_OCSP_RESPONSE_BYTES} bytes")]
    TooLarge,
    #[error("malformed: {0}")]
    Malformed(&'static str),
    #[error("the responder answered with status {0} instead of successful")]
    NotSuccessful(u8),
    #[error("the response is not a basic OCSP response")]
    NotBasic,
    #[error("the response is signed with a weak or unsupported algorithm")]
    WeakAlgorithm,
    #[error("the response is signed by neither the card's CA nor a responder it authorised")]
    UnauthorizedResponder,
    #[error("the response signature does not verify")]
    BadSignature,
    #[error("the response does not answer for the card that was asked about")]
    NotForThisCard,
    #[error("the response nonce differs from the request's")]
    NonceMismatch,
    #[error("thisUpdate is in the future")]
    NotYetValid,
    #[error("nextUpdate has passed (or, without one, thisUpdate is too old)")]
    Expired,
}

/// What the responder said about the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertStatus {
    Good,
    Revoked,
    /// The responder does not know the card: not a "good".
    Unknown,
}

/// A validated answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OcspAnswer {
    pub status: CertStatus,
    /// Seconds since the Unix epoch.
    pub this_update: i64,
    /// Until when the answer may be used; `None`: not to be cached.
    pub next_update: Option<i64>,
    /// Whether the response carried our nonce (it may carry none: pre-produced responses).
    pub nonce_echoed: bool,
}

/// The CertID of one card (SHA-1, as RFC 5019 responders expect; it names, it does not
/// protect: the response signature does).
#[derive(Debug, Clone, PartialEq, Eq)]
struct CertId {
    issuer_name_hash: Vec<u8>,
    issuer_key_hash: Vec<u8>,
    /// The serial as the INTEGER content in the card.
    serial: Vec<u8>,
}

/// A request to send, and what the response must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcspRequest {
    /// The DER to POST (`application/ocsp-request`).
    pub der: Vec<u8>,
    id: CertId,
    nonce: Vec<u8>,
}

/// The first http(s) OCSP responder URL in the card's authorityInfoAccess; `None` when it
/// names none.
pub fn responder_url(card: &X509Certificate<'_>) -> Result<Option<String>, OcspError> {
    let ext = card
        .get_extension_unique(&OID_PKIX_AUTHORITY_INFO_ACCESS)
        .map_err(|_| OcspError::Malformed("duplicate authorityInfoAccess"))?;
    let Some(ext) = ext else { return Ok(None) };
    let ParsedExtension::AuthorityInfoAccess(aia) = ext.parsed_extension() else {
        return Err(OcspError::Malformed("authorityInfoAccess"));
    };
    Ok(aia
        .accessdescs
        .iter()
        .filter(|d| d.access_method == OID_PKIX_ACCESS_DESCRIPTOR_OCSP)
        .find_map(|d| match d.access_location {
            GeneralName::URI(uri)
                if uri.len() <= MAX_URL
                    && (uri.starts_with("http://") || uri.starts_with("https://")) =>
            {
                Some(uri.to_owned())
            }
            _ => None,
        }))
}

/// The request for `card` issued by `issuer` (both DER), carrying `nonce`.
pub fn build_request(
    card: &X509Certificate<'_>,
    issuer: &X509Certificate<'_>,
    nonce: &[u8],
) -> OcspRequest {
    let id = CertId {
        issuer_name_hash: Sha1::digest(card.issuer().as_raw()).to_vec(),
        issuer_key_hash: key_hash(issuer),
        serial: card.raw_serial().to_vec(),
    };
    let cert_id = tlv(
        0x30,
        &[
            tlv(0x30, &[tlv(0x06, OID_SHA1), vec![0x05, 0x00]].concat()),
            tlv(0x04, &id.issuer_name_hash),
            tlv(0x04, &id.issuer_key_hash),
            tlv(0x02, &integer(&id.serial)),
        ]
        .concat(),
    );
    let request_list = tlv(0x30, &tlv(0x30, &cert_id));
    let nonce_ext = tlv(
        0x30,
        &[tlv(0x06, OID_OCSP_NONCE), tlv(0x04, &tlv(0x04, nonce))].concat(),
    );
    let extensions = tlv(0xa2, &tlv(0x30, &nonce_ext));
    let tbs = tlv(0x30, &[request_list, extensions].concat());
    OcspRequest {
        der: tlv(0x30, &tbs),
        id,
        nonce: nonce.to_vec(),
    }
}

/// SHA-1 of the subjectPublicKey bits, as CertID and ResponderID byKey use it.
fn key_hash(cert: &X509Certificate<'_>) -> Vec<u8> {
    Sha1::digest(&cert.public_key().subject_public_key.data).to_vec()
}

/// Validates `bytes` as the answer to `request` for a card issued by `issuer` at `now`
/// (seconds since the Unix epoch).
pub fn validate_response(
    bytes: &[u8],
    request: &OcspRequest,
    issuer: &X509Certificate<'_>,
    now: i64,
) -> Result<OcspAnswer, OcspError> {
    if bytes.len() > MAX_OCSP_RESPONSE_BYTES {
        return Err(OcspError::TooLarge);
    }
    // OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED, responseBytes [0] EXPLICIT … }
    let mut top = Seq::whole(bytes, "OCSPResponse")?;
    let status = top.next("responseStatus")?;
    universal(&status, Tag::Enumerated, "responseStatus")?;
    match status.0.data {
        [0] => {}
        [code] => return Err(OcspError::NotSuccessful(*code)),
        _ => return Err(OcspError::Malformed("responseStatus")),
    }
    let response_bytes = top.next("responseBytes")?;
    context(&response_bytes, 0, "responseBytes")?;
    top.end("OCSPResponse")?;
    let mut rb = Seq::whole(response_bytes.0.data, "ResponseBytes")?;
    let response_type = rb.next("responseType")?;
    universal(&response_type, Tag::Oid, "responseType")?;
    if response_type.0.data != OID_OCSP_BASIC {
        return Err(OcspError::NotBasic);
    }
    let response = rb.next("response")?;
    universal(&response, Tag::OctetString, "response")?;
    rb.end("ResponseBytes")?;

    // BasicOCSPResponse ::= SEQUENCE { tbsResponseData, signatureAlgorithm, signature,
    //                                  certs [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL }
    let mut basic = Seq::whole(response.0.data, "BasicOCSPResponse")?;
    let tbs = basic.next("tbsResponseData")?;
    universal(&tbs, Tag::Sequence, "tbsResponseData")?;
    let algorithm = basic.next("signatureAlgorithm")?;
    let (_, algorithm) = AlgorithmIdentifier::from_der(algorithm.1)
        .map_err(|_| OcspError::Malformed("signatureAlgorithm"))?;
    let signature = basic.next("signature")?;
    let signature =
        BitString::try_from(&signature.0).map_err(|_| OcspError::Malformed("signature"))?;
    let mut certs = Vec::new();
    if !basic.is_empty() {
        let wrapped = basic.next("certs")?;
        context(&wrapped, 0, "certs")?;
        let mut list = Seq::whole(wrapped.0.data, "certs")?;
        while !list.is_empty() {
            if certs.len() == MAX_ITEMS {
                return Err(OcspError::Malformed("too many certificates"));
            }
            let cert = list.next("certificate")?;
            let (_, cert) = X509Certificate::from_der(cert.1)
                .map_err(|_| OcspError::Malformed("certificate"))?;
            certs.push(cert);
        }
    }
    basic.end("BasicOCSPResponse")?;

    // ResponseData ::= SEQUENCE { version [0] EXPLICIT DEFAULT v1, responderID,
    //   producedAt, responses SEQUENCE OF SingleResponse, responseExtensions [1] OPTIONAL }
    let mut data = Seq::whole(tbs.1, "ResponseData")?;
    let mut responder = data.next("responderID")?;
    if is_context(&responder, 0) {
        responder = data.next("responderID")?;
    }
    let responder = ResponderId::parse(&responder)?;
    let produced_at = data.next("producedAt")?;
    universal(&produced_at, Tag::GeneralizedTime, "producedAt")?;
    let responses = data.next("responses")?;
    universal(&responses, Tag::Sequence, "responses")?;
    let mut response_nonce = None;
    if !data.is_empty() {
        let extensions = data.next("responseExtensions")?;
        context(&extensions, 1, "responseExtensions")?;
        response_nonce = nonce_of(extensions.0.data)?;
    }
    data.end("ResponseData")?;

    // Who signed it decides whether anything inside may be believed: check that first.
    let signer = match authorised_signer(&responder, &certs, issuer, now)? {
        Some(i) => certs[i].public_key(),
        None => issuer.public_key(),
    };
    if WEAK_SIGNATURES.contains(&algorithm.algorithm.as_bytes()) {
        return Err(OcspError::WeakAlgorithm);
    }
    x509_parser::verify::verify_signature(signer, &algorithm, &signature, tbs.1).map_err(|e| {
        match e {
            x509_parser::error::X509Error::SignatureUnsupportedAlgorithm => {
                OcspError::WeakAlgorithm
            }
            _ => OcspError::BadSignature,
        }
    })?;

    let nonce_echoed = match response_nonce {
        Some(nonce) if nonce == request.nonce => true,
        Some(_) => return Err(OcspError::NonceMismatch),
        None => false,
    };

    let mut list = Seq::whole(responses.1, "responses")?;
    let mut seen = 0;
    while !list.is_empty() {
        seen += 1;
        if seen > MAX_ITEMS {
            return Err(OcspError::Malformed("too many responses"));
        }
        let single = list.next("SingleResponse")?;
        if let Some(answer) = single_response(single.1, &request.id, now)? {
            return Ok(OcspAnswer {
                nonce_echoed,
                ..answer
            });
        }
    }
    Err(OcspError::NotForThisCard)
}

/// SingleResponse ::= SEQUENCE { certID, certStatus, thisUpdate, nextUpdate [0] OPTIONAL,
/// singleExtensions [1] OPTIONAL }; `None` when it is about another certificate.
fn single_response(raw: &[u8], id: &CertId, now: i64) -> Result<Option<OcspAnswer>, OcspError> {
    let mut single = Seq::whole(raw, "SingleResponse")?;
    let cert_id = single.next("certID")?;
    universal(&cert_id, Tag::Sequence, "certID")?;
    let status = single.next("certStatus")?;
    let this_update = single.next("thisUpdate")?;
    universal(&this_update, Tag::GeneralizedTime, "thisUpdate")?;
    let mut next_update = None;
    if !single.is_empty() {
        let next = single.next("nextUpdate")?;
        if is_context(&next, 0) {
            next_update = Some(time(next.0.data, "nextUpdate")?);
            if !single.is_empty() {
                let ext = single.next("singleExtensions")?;
                context(&ext, 1, "singleExtensions")?;
            }
        } else {
            context(&next, 1, "singleExtensions")?;
        }
    }
    single.end("SingleResponse")?;

    let mut fields = Seq::whole(cert_id.1, "certID")?;
    let algorithm = fields.next("hashAlgorithm")?;
    let (_, algorithm) = AlgorithmIdentifier::from_der(algorithm.1)
        .map_err(|_| OcspError::Malformed("hashAlgorithm"))?;
    let name_hash = fields.next("issuerNameHash")?;
    universal(&name_hash, Tag::OctetString, "issuerNameHash")?;
    let key_hash = fields.next("issuerKeyHash")?;
    universal(&key_hash, Tag::OctetString, "issuerKeyHash")?;
    let serial = fields.next("serialNumber")?;
    universal(&serial, Tag::Integer, "serialNumber")?;
    fields.end("certID")?;
    if algorithm.algorithm.as_bytes() != OID_SHA1
        || name_hash.0.data != id.issuer_name_hash.as_slice()
        || key_hash.0.data != id.issuer_key_hash.as_slice()
        || strip_zeros(serial.0.data) != strip_zeros(&id.serial)
    {
        return Ok(None);
    }

    let status = match (status.0.header.class(), status.0.header.tag().0) {
        (Class::ContextSpecific, 0) => CertStatus::Good,
        (Class::ContextSpecific, 1) => CertStatus::Revoked,
        (Class::ContextSpecific, 2) => CertStatus::Unknown,
        _ => return Err(OcspError::Malformed("certStatus")),
    };
    let this_update = time(this_update.1, "thisUpdate")?;
    if this_update > now.saturating_add(CLOCK_SKEW_SECS) {
        return Err(OcspError::NotYetValid);
    }
    match next_update {
        Some(next) if next <= now => return Err(OcspError::Expired),
        Some(next) if next < this_update => return Err(OcspError::Malformed("nextUpdate")),
        None if now.saturating_sub(this_update) > MAX_AGE_WITHOUT_NEXT_UPDATE_SECS => {
            return Err(OcspError::Expired);
        }
        _ => {}
    }
    Ok(Some(OcspAnswer {
        status,
        this_update,
        next_update,
        nonce_echoed: false,
    }))
}

/// ResponderID ::= CHOICE { byName [1] Name, byKey [2] KeyHash }
enum ResponderId<'a> {
    ByName(&'a [u8]),
    ByKey(&'a [u8]),
}

impl<'a> ResponderId<'a> {
    fn parse(item: &Item<'a>) -> Result<Self, OcspError> {
        if is_context(item, 1) {
            let mut name = Seq::new(item.0.data);
            let name = name.next("responderID byName")?;
            universal(&name, Tag::Sequence, "responderID byName")?;
            return Ok(Self::ByName(name.1));
        }
        if is_context(item, 2) {
            let mut key = Seq::new(item.0.data);
            let hash = key.next("responderID byKey")?;
            universal(&hash, Tag::OctetString, "responderID byKey")?;
            return Ok(Self::ByKey(hash.0.data));
        }
        Err(OcspError::Malformed("responderID"))
    }

    fn names(&self, cert: &X509Certificate<'_>) -> bool {
        match self {
            Self::ByName(name) => cert.subject().as_raw() == *name,
            Self::ByKey(hash) => key_hash(cert) == *hash,
        }
    }
}

/// Who may sign this response: the card's CA itself (`None`) when the responder ID names
/// it, else the index of a certificate from the response that the CA issued and signed,
/// with id-kp-OCSPSigning, valid now (RFC 6960 §4.2.2.2).
fn authorised_signer(
    responder: &ResponderId<'_>,
    certs: &[X509Certificate<'_>],
    issuer: &X509Certificate<'_>,
    now: i64,
) -> Result<Option<usize>, OcspError> {
    if responder.names(issuer) {
        return Ok(None);
    }
    let now = ASN1Time::from_timestamp(now).map_err(|_| OcspError::Malformed("time"))?;
    for (i, cert) in certs.iter().enumerate().filter(|(_, c)| responder.names(c)) {
        let delegated = cert.issuer().as_raw() == issuer.subject().as_raw()
            && cert.verify_signature(Some(issuer.public_key())).is_ok()
            && cert.validity().is_valid_at(now)
            && cert
                .extended_key_usage()
                .ok()
                .flatten()
                .is_some_and(|eku| eku.value.ocsp_signing);
        if delegated {
            return Ok(Some(i));
        }
    }
    Err(OcspError::UnauthorizedResponder)
}

/// The nonce in responseExtensions (`Extensions` DER), when there is one.
fn nonce_of(extensions: &[u8]) -> Result<Option<Vec<u8>>, OcspError> {
    let mut list = Seq::whole(extensions, "responseExtensions")?;
    let mut seen = 0;
    while !list.is_empty() {
        seen += 1;
        if seen > MAX_ITEMS {
            return Err(OcspError::Malformed("too many extensions"));
        }
        let ext = list.next("Extension")?;
        let mut fields = Seq::whole(ext.1, "Extension")?;
        let oid = fields.next("extnID")?;
        universal(&oid, Tag::Oid, "extnID")?;
        let mut value = fields.next("extnValue")?;
        if value.0.header.tag() == Tag::Boolean {
            value = fields.next("extnValue")?;
        }
        universal(&value, Tag::OctetString, "extnValue")?;
        fields.end("Extension")?;
        if oid.0.data == OID_OCSP_NONCE {
            // RFC 8954: the value is an OCTET STRING; some responders put the bare bytes.
            let mut inner = Seq::new(value.0.data);
            let nonce = match inner.next("nonce") {
                Ok(octets) if octets.0.header.tag() == Tag::OctetString && inner.is_empty() => {
                    octets.0.data.to_vec()
                }
                _ => value.0.data.to_vec(),
            };
            return Ok(Some(nonce));
        }
    }
    Ok(None)
}

fn time(raw: &[u8], what: &'static str) -> Result<i64, OcspError> {
    let (rest, t) = ASN1Time::from_der(raw).map_err(|_| OcspError::Malformed(what))?;
    if !rest.is_empty() {
        return Err(OcspError::Malformed(what));
    }
    Ok(t.timestamp())
}

/// One TLV: the parsed object and its raw bytes (header included).
type Item<'a> = (Any<'a>, &'a [u8]);

/// A cursor over the elements of a DER SEQUENCE (or any run of TLVs).
struct Seq<'a> {
    rest: &'a [u8],
}

impl<'a> Seq<'a> {
    fn new(rest: &'a [u8]) -> Self {
        Self { rest }
    }

    /// The elements of the SEQUENCE that is exactly `bytes`.
    fn whole(bytes: &'a [u8], what: &'static str) -> Result<Self, OcspError> {
        let mut outer = Self::new(bytes);
        let seq = outer.next(what)?;
        universal(&seq, Tag::Sequence, what)?;
        outer.end(what)?;
        Ok(Self::new(seq.0.data))
    }

    fn next(&mut self, what: &'static str) -> Result<Item<'a>, OcspError> {
        let (rest, any) = Any::from_der(self.rest).map_err(|_| OcspError::Malformed(what))?;
        let raw = &self.rest[..self.rest.len() - rest.len()];
        self.rest = rest;
        Ok((any, raw))
    }

    fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    fn end(&self, what: &'static str) -> Result<(), OcspError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(OcspError::Malformed(what))
        }
    }
}

fn universal(item: &Item<'_>, tag: Tag, what: &'static str) -> Result<(), OcspError> {
    if item.0.header.class() == Class::Universal && item.0.header.tag() == tag {
        Ok(())
    } else {
        Err(OcspError::Malformed(what))
    }
}

fn is_context(item: &Item<'_>, n: u32) -> bool {
    item.0.header.class() == Class::ContextSpecific && item.0.header.tag().0 == n
}

fn context(item: &Item<'_>, n: u32, what: &'static str) -> Result<(), OcspError> {
    if is_context(item, n) && item.0.header.is_constructed() {
        Ok(())
    } else {
        Err(OcspError::Malformed(what))
    }
}

fn strip_zeros(serial: &[u8]) -> &[u8] {
    let start = serial.iter().position(|b| *b != 0).unwrap_or(serial.len());
    &serial[start..]
}

/// The content of a DER INTEGER for a non-negative big-endian `value`.
fn integer(value: &[u8]) -> Vec<u8> {
    let trimmed = strip_zeros(value);
    match trimmed.first() {
        None => vec![0],
        Some(b) if b & 0x80 != 0 => [&[0u8][..], trimmed].concat(),
        Some(_) => trimmed.to_vec(),
    }
}

/// One DER TLV with a definite length (the dev PKI writes extensions with it too).
pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let len = content.len();
    let mut out = Vec::with_capacity(len + 6);
    out.push(tag);
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes
            .iter()
            .position(|b| *b != 0)
            .unwrap_or(bytes.len() - 1);
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

#[cfg(test)]
mod tests {
    //! Fixtures in `testdata/` were made with OpenSSL 3 (`openssl ocsp -index … -rsigner`):
    //! a fixture CA, its cards 0x1001 (good), 0x1002 (revoked) and 0x1003 (not in the
    //! index), a delegated responder, and a "rogue" responder of the same name from
    //! another CA. Their thisUpdate is [`THIS_UPDATE`]; nextUpdate ten years on, except
    //! `short.der` (one minute).
    use super::*;

    const CA: &[u8] = include_bytes!("testdata/ca.der");
    const CARD: &[u8] = include_bytes!("testdata/card.der");
    const REVOKED_CARD: &[u8] = include_bytes!("testdata/revoked-card.der");
    const STRANGER: &[u8] = include_bytes!("testdata/stranger.der");
    const GOOD: &[u8] = include_bytes!("testdata/good.der");
    const REVOKED: &[u8] = include_bytes!("testdata/revoked.der");
    const UNKNOWN: &[u8] = include_bytes!("testdata/unknown.der");
    const ROGUE: &[u8] = include_bytes!("testdata/rogue.der");
    const BY_CA: &[u8] = include_bytes!("testdata/by-ca.der");
    const NONCE: &[u8] = include_bytes!("testdata/nonce.der");
    const SHORT: &[u8] = include_bytes!("testdata/short.der");
    /// What `openssl ocsp -issuer ca -cert card -reqout` wrote, with its nonce last.
    const OPENSSL_REQUEST: &[u8] = include_bytes!("testdata/request-nonce.der");
    const THIS_UPDATE: i64 = 1_795_900_453;
    const NOW: i64 = THIS_UPDATE + 30;

    fn cert(der: &[u8]) -> X509Certificate<'_> {
        X509Certificate::from_der(der).unwrap().1
    }

    fn request_for(card: &[u8]) -> OcspRequest {
        build_request(&cert(card), &cert(CA), &[7; NONCE_BYTES])
    }

    fn openssl_nonce() -> &'static [u8] {
        &OPENSSL_REQUEST[OPENSSL_REQUEST.len() - NONCE_BYTES..]
    }

    #[test]
    fn the_request_is_byte_for_byte_what_openssl_sends() {
        let request = build_request(&cert(CARD), &cert(CA), openssl_nonce());
        assert_eq!(request.der, OPENSSL_REQUEST);
    }

    #[test]
    fn good_revoked_and_unknown_answers_from_a_delegated_responder() {
        let ca = cert(CA);
        let good = validate_response(GOOD, &request_for(CARD), &ca, NOW).unwrap();
        expect_test::expect![[r#"
            OcspAnswer {
                status: Good,
                this_update: 1795900453,
                next_update: Some(
                    2111260453,
                ),
                nonce_echoed: false,
            }
        "#]]
        .assert_debug_eq(&good);
        let revoked = validate_response(REVOKED, &request_for(REVOKED_CARD), &ca, NOW).unwrap();
        assert_eq!(revoked.status, CertStatus::Revoked);
        let unknown = validate_response(UNKNOWN, &request_for(STRANGER), &ca, NOW).unwrap();
        assert_eq!(unknown.status, CertStatus::Unknown);
        let by_ca = validate_response(BY_CA, &request_for(CARD), &ca, NOW).unwrap();
        assert_eq!(by_ca.status, CertStatus::Good);
    }

    #[test]
    fn the_nonce_must_be_ours_when_the_responder_sends_one() {
        let ca = cert(CA);
        let ours = build_request(&cert(CARD), &ca, openssl_nonce());
        let answer = validate_response(NONCE, &ours, &ca, NOW).unwrap();
        assert!(answer.nonce_echoed);
        assert_eq!(
            validate_response(NONCE, &request_for(CARD), &ca, NOW),
            Err(OcspError::NonceMismatch)
        );
    }

    #[test]
    fn an_answer_about_another_card_or_from_an_unauthorised_responder_is_refused() {
        let ca = cert(CA);
        assert_eq!(
            validate_response(GOOD, &request_for(REVOKED_CARD), &ca, NOW),
            Err(OcspError::NotForThisCard)
        );
        assert_eq!(
            validate_response(ROGUE, &request_for(CARD), &ca, NOW),
            Err(OcspError::UnauthorizedResponder)
        );
        // Signed by the CA of a different card: the responder is not that card's CA's.
        let stranger_ca = cert(STRANGER);
        assert_eq!(
            validate_response(GOOD, &request_for(CARD), &stranger_ca, NOW),
            Err(OcspError::UnauthorizedResponder)
        );
    }

    #[test]
    fn a_flipped_signature_bit_or_tbs_byte_fails_the_signature() {
        let ca = cert(CA);
        let request = request_for(CARD);
        // A byte of producedAt, inside the signed data.
        let produced = GOOD
            .windows(2)
            .position(|w| w == [0x18, 0x0f])
            .expect("a GeneralizedTime");
        let mut tbs = GOOD.to_vec();
        tbs[produced + 15] ^= 0x01;
        assert_eq!(
            validate_response(&tbs, &request, &ca, NOW),
            Err(OcspError::BadSignature)
        );
        // A byte of the signature's r: BIT STRING after ecdsa-with-SHA256, then
        // 00 (unused bits), SEQUENCE, INTEGER r.
        const ECDSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
        let alg = GOOD
            .windows(ECDSA_SHA256.len())
            .position(|w| w == ECDSA_SHA256)
            .expect("the signature algorithm")
            + ECDSA_SHA256.len();
        assert_eq!(GOOD[alg], 0x03, "the signature BIT STRING");
        let mut sig = GOOD.to_vec();
        sig[alg + 9] ^= 0x01;
        assert_eq!(
            validate_response(&sig, &request, &ca, NOW),
            Err(OcspError::BadSignature)
        );
    }

    #[test]
    fn stale_and_future_answers_are_refused() {
        let ca = cert(CA);
        let request = request_for(CARD);
        assert!(validate_response(SHORT, &request, &ca, NOW).is_ok());
        assert_eq!(
            validate_response(SHORT, &request, &ca, THIS_UPDATE + 61),
            Err(OcspError::Expired)
        );
        // Signed by the CA itself, so only thisUpdate decides.
        assert_eq!(
            validate_response(BY_CA, &request, &ca, THIS_UPDATE - CLOCK_SKEW_SECS - 1),
            Err(OcspError::NotYetValid)
        );
        assert!(validate_response(BY_CA, &request, &ca, THIS_UPDATE - 10).is_ok());
        // The delegated responder's certificate was not valid yet then either.
        assert_eq!(
            validate_response(GOOD, &request, &ca, THIS_UPDATE - 10),
            Err(OcspError::UnauthorizedResponder)
        );
    }

    #[test]
    fn malformed_and_unsuccessful_responses_are_refused_without_panicking() {
        let ca = cert(CA);
        let request = request_for(CARD);
        for junk in [
            &b""[..],
            b"\x30",
            b"\x30\x00",
            b"\x30\x03\x0a\x01\x00",
            b"\x30\x84\xff\xff\xff\xff",
            b"\x30\x05\x0a\x01\x00\xa0\x00",
            b"not an OCSP response",
        ] {
            assert!(
                matches!(
                    validate_response(junk, &request, &ca, NOW),
                    Err(OcspError::Malformed(_))
                ),
                "{junk:?}"
            );
        }
        // tryLater, unauthorized: what responders answer when they will not say.
        assert_eq!(
            validate_response(b"\x30\x03\x0a\x01\x03", &request, &ca, NOW),
            Err(OcspError::NotSuccessful(3))
        );
        assert_eq!(
            validate_response(b"\x30\x03\x0a\x01\x06", &request, &ca, NOW),
            Err(OcspError::NotSuccessful(6))
        );
        // Every truncation of a good response, and trailing bytes after it.
        for cut in 0..GOOD.len() {
            assert!(
                validate_response(&GOOD[..cut], &request, &ca, NOW).is_err(),
                "{cut}"
            );
        }
        let mut trailing = GOOD.to_vec();
        trailing.push(0);
        assert_eq!(
            validate_response(&trailing, &request, &ca, NOW),
            Err(OcspError::Malformed("OCSPResponse"))
        );
        assert_eq!(
            validate_response(&vec![0x30; MAX_OCSP_RESPONSE_BYTES + 1], &request, &ca, NOW),
            Err(OcspError::TooLarge)
        );
        // A response type other than basic (the OID's last arc changed).
        let basic = GOOD
            .windows(OID_OCSP_BASIC.len())
            .position(|w| w == OID_OCSP_BASIC)
            .expect("the basic OID");
        let mut other = GOOD.to_vec();
        other[basic + OID_OCSP_BASIC.len() - 1] = 0x05;
        assert_eq!(
            validate_response(&other, &request, &ca, NOW),
            Err(OcspError::NotBasic)
        );
    }

    #[test]
    fn cards_name_their_responder_in_authority_info_access() {
        assert_eq!(
            responder_url(&cert(CARD)),
            Ok(Some("http://127.0.0.1:9/ocsp".to_owned()))
        );
        assert_eq!(responder_url(&cert(CA)), Ok(None));
    }

    #[test]
    fn der_lengths_and_integers_are_minimal() {
        assert_eq!(tlv(0x04, &[1, 2]), vec![0x04, 2, 1, 2]);
        let long = tlv(0x04, &[0; 200]);
        assert_eq!(&long[..3], &[0x04, 0x81, 200]);
        let longer = tlv(0x04, &[0; 300]);
        assert_eq!(&longer[..4], &[0x04, 0x82, 0x01, 0x2c]);
        assert_eq!(integer(&[0x00, 0x00, 0x7f]), vec![0x7f]);
        assert_eq!(integer(&[0x80]), vec![0x00, 0x80]);
        assert_eq!(integer(&[]), vec![0x00]);
    }
}
