//! Verifying a SAML `Response` posted to the ACS: everything samael leaves to the
//! application, in one place and in a fixed order. The prescan ([`super::prescan`]) has
//! bounded the input and refused wrapping shapes; then
//!
//! 1. signature and digest algorithms must be SHA-256 or stronger;
//! 2. xmlsec verifies every signature against the IdP's current signing certificates and
//!    reduces the document to what they cover (samael's `ValidateAndMarkNoAncestors`), so
//!    nothing unsigned is read afterwards; an unsigned document is refused;
//! 3. an `EncryptedAssertion` is decrypted with the SP key ([`super::decrypt`]); if the
//!    response itself was not signed, the decrypted assertion must be;
//! 4. the response (when signed): Destination is our ACS, InResponseTo our request, the
//!    Issuer the IdP, the status Success, IssueInstant recent; unsigned envelope fields
//!    that are present must agree too;
//! 5. the assertion: Issuer, IssueInstant, Conditions with NotBefore/NotOnOrAfter, an
//!    AudienceRestriction naming our entity id (required, samael only checks it when
//!    present), a NameID, a bearer SubjectConfirmation whose Recipient is our ACS,
//!    InResponseTo our request and NotOnOrAfter in the future, and an AuthnStatement whose
//!    AuthnContextClassRef the tenant accepts as multi-factor; SessionNotOnOrAfter is
//!    returned so the web session ends no later.
//!
//! The replay cache (assertion ids until they expire) and the single use of request ids
//! live in the database ([`crate::repo::saml`]); this module is pure given the clock.

use chrono::{DateTime, Duration, Utc};
use openssl::pkey::{PKey, Private};
use samael::crypto::{AllowedSignatureAlgorithm, Crypto, CryptoProvider, ReduceMode};
use samael::schema::{Assertion, Response};

use super::decrypt::{self, DecryptError};
use super::metadata::IdpMetadata;
use super::prescan::{self, PrescanError, Root, Scanned};

const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";

/// Signature algorithms accepted: SHA-256 or stronger (samael's default allows SHA-1).
pub const ALLOWED_ALGORITHMS: &[AllowedSignatureAlgorithm] = &[
    AllowedSignatureAlgorithm::RsaSha256,
    AllowedSignatureAlgorithm::RsaSha384,
    AllowedSignatureAlgorithm::RsaSha512,
    AllowedSignatureAlgorithm::EcdsaSha256,
    AllowedSignatureAlgorithm::EcdsaSha384,
    AllowedSignatureAlgorithm::EcdsaSha512,
];

/// Why a response was refused. [`Self::reason`] is the word in the audit log, the
/// problem document and the refusal page.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SamlRefusal {
    #[error("malformed response: {0}")]
    Malformed(PrescanError),
    #[error("response structure refused (signature wrapping?): {0}")]
    Structure(PrescanError),
    #[error("the response and its assertion are unsigned")]
    Unsigned,
    #[error("signature or digest algorithm not accepted: {0}")]
    WeakAlgorithm(String),
    #[error("signature does not verify against the IdP's certificates")]
    BadSignature,
    #[error("encrypted assertion: {0}")]
    Decrypt(DecryptError),
    #[error("the signed content cannot be read: {0}")]
    Unreadable(String),
    #[error("Destination {0:?} is not this ACS")]
    WrongDestination(Option<String>),
    #[error("Recipient {0:?} is not this ACS")]
    WrongRecipient(Option<String>),
    #[error("InResponseTo {0:?} is not the request of this login")]
    WrongInResponseTo(Option<String>),
    #[error("issuer {0:?} is not the tenant's IdP")]
    WrongIssuer(Option<String>),
    #[error("the IdP answered {0}")]
    IdpStatus(String),
    #[error("expired at {0}")]
    Expired(String),
    #[error("not valid before {0}")]
    NotYetValid(String),
    #[error("no AudienceRestriction")]
    NoAudience,
    #[error("audience does not name this SP")]
    WrongAudience,
    #[error("no NameID")]
    NoNameId,
    #[error("no bearer SubjectConfirmation")]
    NoBearer,
    #[error("AuthnContextClassRef {0:?} is not an accepted multi-factor class")]
    NotMfa(Option<String>),
}

impl SamlRefusal {
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Malformed(_) | Self::Unreadable(_) => "malformed_response",
            Self::Structure(_) => "response_structure",
            Self::Unsigned => "unsigned",
            Self::WeakAlgorithm(_) => "weak_signature_algorithm",
            Self::BadSignature => "bad_signature",
            Self::Decrypt(_) => "decryption_failed",
            Self::WrongDestination(_) => "wrong_destination",
            Self::WrongRecipient(_) => "wrong_recipient",
            Self::WrongInResponseTo(_) => "wrong_in_response_to",
            Self::WrongIssuer(_) => "wrong_issuer",
            Self::IdpStatus(_) => "idp_status",
            Self::Expired(_) => "expired",
            Self::NotYetValid(_) => "not_yet_valid",
            Self::NoAudience => "no_audience",
            Self::WrongAudience => "wrong_audience",
            Self::NoNameId => "no_name_id",
            Self::NoBearer => "no_bearer_confirmation",
            Self::NotMfa(_) => "authn_context_not_mfa",
        }
    }
}

impl From<PrescanError> for SamlRefusal {
    fn from(e: PrescanError) -> Self {
        if e.is_structural() {
            Self::Structure(e)
        } else {
            Self::Malformed(e)
        }
    }
}

/// What the SP is and expects for one tenant.
#[derive(Debug, Clone)]
pub struct SpExpectations<'a> {
    /// Our entity id: the audience.
    pub entity_id: &'a str,
    /// Our ACS URL: Destination and Recipient.
    pub acs_url: &'a str,
    /// AuthnContextClassRefs accepted as multi-factor.
    pub accepted_mfa: &'a [String],
    /// The ID of the AuthnRequest this browser sent.
    pub request_id: &'a str,
    /// Clock skew tolerated both ways.
    pub skew: Duration,
    /// Oldest IssueInstant accepted (plus skew).
    pub max_age: Duration,
}

impl SpExpectations<'_> {
    pub const DEFAULT_SKEW: Duration = Duration::minutes(3);
    pub const DEFAULT_MAX_AGE: Duration = Duration::minutes(10);
}

/// A verified login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedLogin {
    pub issuer: String,
    pub assertion_id: String,
    pub name_id: String,
    pub name_id_format: Option<String>,
    pub session_index: Option<String>,
    pub authn_context: String,
    /// The IdP's cap on the session (earliest SessionNotOnOrAfter).
    pub session_not_on_or_after: Option<DateTime<Utc>>,
    /// Keep the assertion id in the replay cache until then.
    pub replay_until: DateTime<Utc>,
    /// (Name, FriendlyName, values) of every attribute.
    pub attributes: Vec<(String, Option<String>, Vec<String>)>,
}

impl VerifiedLogin {
    /// The values of the attribute with this Name (or FriendlyName).
    pub fn attribute(&self, name: &str) -> Option<&[String]> {
        self.attributes
            .iter()
            .find(|(n, f, _)| n == name || f.as_deref() == Some(name))
            .map(|(_, _, v)| v.as_slice())
    }

    /// The first non-empty value of an attribute.
    pub fn first(&self, name: &str) -> Option<&str> {
        self.attribute(name)?
            .iter()
            .map(|v| v.trim())
            .find(|v| !v.is_empty())
    }
}

fn check_algorithms(scanned: &Scanned) -> Result<(), SamlRefusal> {
    for alg in &scanned.algorithms {
        let ok = ALLOWED_ALGORITHMS
            .iter()
            .any(|a| a.signature_uri() == alg || a.digest_uri() == alg);
        if !ok {
            return Err(SamlRefusal::WeakAlgorithm(alg.clone()));
        }
    }
    Ok(())
}

fn reduce(xml: &str, idp: &IdpMetadata) -> Result<String, SamlRefusal> {
    Crypto::reduce_xml_to_signed_with_allowed_algorithms(
        xml,
        &idp.signing_certs,
        ReduceMode::ValidateAndMarkNoAncestors,
        Some(ALLOWED_ALGORITHMS),
    )
    .map_err(|_| SamlRefusal::BadSignature)
}

fn decrypt_assertion(envelope: &Scanned, key: &PKey<Private>) -> Result<Scanned, SamlRefusal> {
    let encrypted = envelope
        .encrypted_parts
        .as_ref()
        .ok_or(SamlRefusal::Unreadable("no EncryptedAssertion".into()))?;
    let plain = decrypt::decrypt(encrypted, key).map_err(SamlRefusal::Decrypt)?;
    let scanned = prescan::scan(plain, Root::Assertion)?;
    check_algorithms(&scanned)?;
    Ok(scanned)
}

fn parse_assertion(xml: &str) -> Result<Assertion, SamlRefusal> {
    xml.parse::<Assertion>()
        .map_err(|e| SamlRefusal::Unreadable(format!("{e}")))
}

fn parse_response(xml: &str) -> Result<Response, SamlRefusal> {
    xml.parse::<Response>()
        .map_err(|e| SamlRefusal::Unreadable(format!("{e}")))
}

/// The response's own fields; an encrypted assertion is cut out first (samael's type for
/// it insists on details IdPs need not write; [`decrypt_assertion`] reads it instead).
fn parse_envelope(scanned: &Scanned) -> Result<Response, SamlRefusal> {
    if !scanned.encrypted {
        return parse_response(&scanned.xml);
    }
    let xml = &scanned.xml;
    let cut = xml
        .find("EncryptedAssertion")
        .and_then(|at| xml[..at].rfind('<'))
        .and_then(|start| {
            let close = xml.rfind("EncryptedAssertion>")? + "EncryptedAssertion>".len();
            (close > start).then_some((start, close))
        })
        .ok_or(SamlRefusal::Unreadable(
            "EncryptedAssertion not found".into(),
        ))?;
    let mut without = String::with_capacity(xml.len());
    without.push_str(&xml[..cut.0]);
    without.push_str(&xml[cut.1..]);
    parse_response(&without)
}

/// The assertion and, when it was signed, the response around it.
fn verified_parts(
    scanned: &Scanned,
    idp: &IdpMetadata,
    key: &PKey<Private>,
) -> Result<(Option<Response>, Assertion), SamlRefusal> {
    check_algorithms(scanned)?;
    if scanned.encrypted && !scanned.response_signed {
        // The only signature can be inside the ciphertext: decrypt, then the assertion
        // must verify on its own.
        let inner = decrypt_assertion(scanned, key)?;
        if inner.signatures == 0 {
            return Err(SamlRefusal::Unsigned);
        }
        let reduced = reduce(&inner.xml, idp)?;
        if prescan::root_of(&reduced) != Some(Root::Assertion) {
            return Err(SamlRefusal::BadSignature);
        }
        return Ok((None, parse_assertion(&reduced)?));
    }
    if scanned.signatures == 0 {
        return Err(SamlRefusal::Unsigned);
    }
    let reduced = reduce(&scanned.xml, idp)?;
    match prescan::root_of(&reduced) {
        Some(Root::Response) => {
            // The verified document, scanned again: only what the signature covers.
            let verified = prescan::scan(reduced, Root::Response)?;
            let response = parse_envelope(&verified)?;
            let assertion = if verified.encrypted {
                let inner = decrypt_assertion(&verified, key)?;
                // Covered by the response's signature; a signature of its own must verify too.
                let text = if inner.signatures > 0 {
                    reduce(&inner.xml, idp)?
                } else {
                    inner.xml
                };
                parse_assertion(&text)?
            } else {
                response
                    .assertion
                    .clone()
                    .ok_or(SamlRefusal::Unreadable("no Assertion".into()))?
            };
            Ok((Some(response), assertion))
        }
        Some(Root::Assertion) => Ok((None, parse_assertion(&reduced)?)),
        None => Err(SamlRefusal::BadSignature),
    }
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn check_instant(
    issued: DateTime<Utc>,
    now: DateTime<Utc>,
    sp: &SpExpectations<'_>,
) -> Result<(), SamlRefusal> {
    if issued > now + sp.skew {
        return Err(SamlRefusal::NotYetValid(stamp(issued)));
    }
    if issued + sp.max_age + sp.skew < now {
        return Err(SamlRefusal::Expired(stamp(issued + sp.max_age)));
    }
    Ok(())
}

/// Verifies a scanned response for one login attempt at `now`.
pub fn verify(
    scanned: &Scanned,
    idp: &IdpMetadata,
    key: &PKey<Private>,
    sp: &SpExpectations<'_>,
    now: DateTime<Utc>,
) -> Result<VerifiedLogin, SamlRefusal> {
    let (response, assertion) = verified_parts(scanned, idp, key)?;
    read_verified(
        response.as_ref(),
        &assertion,
        scanned,
        &idp.entity_id,
        sp,
        now,
    )
}

/// Everything after the signatures: reads the assertion (and the response around it when
/// that was signed) that [`verify`] reduced to signed content, checking steps 4 and 5.
/// `envelope` is the prescan of the posted document (its unsigned fields must still agree)
/// and `idp_entity_id` the tenant's IdP. Apart from [`verify`] so the fuzz target
/// `saml_verified` can drive it with assertions nobody signed.
pub fn read_verified(
    response: Option<&Response>,
    assertion: &Assertion,
    envelope: &Scanned,
    idp_entity_id: &str,
    sp: &SpExpectations<'_>,
    now: DateTime<Utc>,
) -> Result<VerifiedLogin, SamlRefusal> {
    // The envelope: signed fields when the response was signed; unsigned ones that are
    // present must still agree (they cannot help an attacker, but a mismatch is a sign).
    let (destination, in_response_to) = match response {
        Some(r) => (r.destination.clone(), r.in_response_to.clone()),
        None => (
            envelope.destination.clone(),
            envelope.in_response_to.clone(),
        ),
    };
    if let Some(r) = response {
        if r.destination.as_deref() != Some(sp.acs_url) {
            return Err(SamlRefusal::WrongDestination(destination));
        }
        if r.in_response_to.as_deref() != Some(sp.request_id) {
            return Err(SamlRefusal::WrongInResponseTo(in_response_to));
        }
        if let Some(issuer) = r.issuer.as_ref().and_then(|i| i.value.as_deref())
            && issuer != idp_entity_id
        {
            return Err(SamlRefusal::WrongIssuer(Some(issuer.to_owned())));
        }
        let status = r
            .status
            .as_ref()
            .and_then(|s| s.status_code.value.clone())
            .unwrap_or_default();
        if status != SUCCESS {
            return Err(SamlRefusal::IdpStatus(status));
        }
        check_instant(r.issue_instant, now, sp)?;
    } else {
        if destination.as_deref().is_some_and(|d| d != sp.acs_url) {
            return Err(SamlRefusal::WrongDestination(destination));
        }
        if in_response_to
            .as_deref()
            .is_some_and(|i| i != sp.request_id)
        {
            return Err(SamlRefusal::WrongInResponseTo(in_response_to));
        }
    }

    // The assertion.
    if assertion.issuer.value.as_deref() != Some(idp_entity_id) {
        return Err(SamlRefusal::WrongIssuer(assertion.issuer.value.clone()));
    }
    check_instant(assertion.issue_instant, now, sp)?;
    let conditions = assertion
        .conditions
        .as_ref()
        .ok_or(SamlRefusal::NoAudience)?;
    if let Some(nb) = conditions.not_before
        && nb > now + sp.skew
    {
        return Err(SamlRefusal::NotYetValid(stamp(nb)));
    }
    let mut replay_until = now + sp.max_age;
    if let Some(noa) = conditions.not_on_or_after {
        if noa + sp.skew <= now {
            return Err(SamlRefusal::Expired(stamp(noa)));
        }
        replay_until = replay_until.max(noa + sp.skew);
    }
    let restrictions = conditions
        .audience_restrictions
        .as_deref()
        .filter(|r| !r.is_empty())
        .ok_or(SamlRefusal::NoAudience)?;
    // Every restriction must be met (SAML core §2.5.1.4).
    if !restrictions
        .iter()
        .all(|r| r.audience.iter().any(|a| a.trim() == sp.entity_id))
    {
        return Err(SamlRefusal::WrongAudience);
    }

    let subject = assertion.subject.as_ref().ok_or(SamlRefusal::NoNameId)?;
    let name_id = subject
        .name_id
        .as_ref()
        .filter(|n| {
            let v = n.value.trim();
            !v.is_empty() && v.chars().count() <= 256 && !v.chars().any(char::is_control)
        })
        .ok_or(SamlRefusal::NoNameId)?;

    // A bearer confirmation that meets every condition; otherwise the first problem found.
    let mut first_problem = None;
    let mut confirmed = false;
    for confirmation in subject.subject_confirmations.iter().flatten() {
        if confirmation.method.as_deref() != Some(BEARER) {
            continue;
        }
        let Some(data) = confirmation.subject_confirmation_data.as_ref() else {
            first_problem.get_or_insert(SamlRefusal::NoBearer);
            continue;
        };
        let problem = if data.recipient.as_deref() != Some(sp.acs_url) {
            Some(SamlRefusal::WrongRecipient(data.recipient.clone()))
        } else if data.in_response_to.as_deref() != Some(sp.request_id) {
            Some(SamlRefusal::WrongInResponseTo(data.in_response_to.clone()))
        } else if let Some(nb) = data.not_before.filter(|nb| *nb > now + sp.skew) {
            Some(SamlRefusal::NotYetValid(stamp(nb)))
        } else {
            match data.not_on_or_after {
                None => Some(SamlRefusal::NoBearer),
                Some(noa) if noa + sp.skew <= now => Some(SamlRefusal::Expired(stamp(noa))),
                Some(noa) => {
                    replay_until = replay_until.max(noa + sp.skew);
                    None
                }
            }
        };
        match problem {
            None => {
                confirmed = true;
                break;
            }
            Some(p) => {
                first_problem.get_or_insert(p);
            }
        }
    }
    if !confirmed {
        return Err(first_problem.unwrap_or(SamlRefusal::NoBearer));
    }

    let statements = assertion.authn_statements.as_deref().unwrap_or_default();
    let class = statements
        .iter()
        .filter_map(|s| s.authn_context.as_ref()?.value.as_ref()?.value.clone())
        .map(|c| c.trim().to_owned())
        .next();
    match &class {
        Some(c) if sp.accepted_mfa.iter().any(|a| a == c) => {}
        _ => return Err(SamlRefusal::NotMfa(class)),
    }
    let session_not_on_or_after = statements
        .iter()
        .filter_map(|s| s.session_not_on_or_after)
        .min();
    if let Some(end) = session_not_on_or_after
        && end <= now
    {
        return Err(SamlRefusal::Expired(stamp(end)));
    }
    let session_index = statements.iter().find_map(|s| s.session_index.clone());

    let attributes = assertion
        .attribute_statements
        .iter()
        .flatten()
        .flat_map(|s| &s.attributes)
        .map(|a| {
            (
                a.name.clone().unwrap_or_default(),
                a.friendly_name.clone(),
                a.values.iter().filter_map(|v| v.value.clone()).collect(),
            )
        })
        .collect();

    Ok(VerifiedLogin {
        issuer: idp_entity_id.to_owned(),
        assertion_id: assertion.id.clone(),
        name_id: name_id.value.trim().to_owned(),
        name_id_format: name_id.format.clone(),
        session_index,
        authn_context: class.unwrap_or_default(),
        session_not_on_or_after,
        replay_until,
        attributes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDP: &str = "https://idp.example/metadata";
    const ACS: &str = "https://hamn.example/saml/t1/acs";
    const SP: &str = "https://hamn.example/saml/t1/metadata";
    const MFA: &str = "http://id.elegnamnden.se/loa/1.0/loa3";

    /// An assertion as it reads after signature reduction, issued at 12:00:00.
    fn assertion(audience: &str, name_id: &str) -> String {
        format!(
            r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a1" Version="2.0" IssueInstant="2026-12-08T12:00:00Z">
  <saml:Issuer>{IDP}</saml:Issuer>
  <saml:Subject>
    <saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified">{name_id}</saml:NameID>
    <saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">
      <saml:SubjectConfirmationData NotOnOrAfter="2026-12-08T12:05:00Z" Recipient="{ACS}" InResponseTo="_req1"/>
    </saml:SubjectConfirmation>
  </saml:Subject>
  <saml:Conditions NotBefore="2026-12-08T11:59:00Z" NotOnOrAfter="2026-12-08T12:05:00Z">
    <saml:AudienceRestriction><saml:Audience>{audience}</saml:Audience></saml:AudienceRestriction>
  </saml:Conditions>
  <saml:AuthnStatement AuthnInstant="2026-12-08T12:00:00Z" SessionIndex="_s1" SessionNotOnOrAfter="2026-12-08T20:00:00Z">
    <saml:AuthnContext><saml:AuthnContextClassRef>{MFA}</saml:AuthnContextClassRef></saml:AuthnContext>
  </saml:AuthnStatement>
  <saml:AttributeStatement>
    <saml:Attribute Name="urn:oid:1.2.752.29.6.2.1" FriendlyName="employeeHsaId">
      <saml:AttributeValue>SE2321000016-1234</saml:AttributeValue>
    </saml:Attribute>
  </saml:AttributeStatement>
</saml:Assertion>"#
        )
    }

    fn read(xml: &str, envelope: &Scanned) -> Result<VerifiedLogin, SamlRefusal> {
        let assertion = parse_assertion(xml)?;
        let mfa = [MFA.to_owned()];
        let sp = SpExpectations {
            entity_id: SP,
            acs_url: ACS,
            accepted_mfa: &mfa,
            request_id: "_req1",
            skew: SpExpectations::DEFAULT_SKEW,
            max_age: SpExpectations::DEFAULT_MAX_AGE,
        };
        let now = "2026-12-08T12:01:00Z"
            .parse::<DateTime<Utc>>()
            .map_err(|e| SamlRefusal::Unreadable(e.to_string()))?;
        read_verified(None, &assertion, envelope, IDP, &sp, now)
    }

    #[test]
    fn a_verified_assertion_reads_into_a_login() {
        let login = read(&assertion(SP, "anna"), &Scanned::default()).unwrap();
        assert_eq!(login.issuer, IDP);
        assert_eq!(login.assertion_id, "_a1");
        assert_eq!(login.name_id, "anna");
        assert_eq!(login.session_index.as_deref(), Some("_s1"));
        assert_eq!(login.authn_context, MFA);
        assert_eq!(login.first("employeeHsaId"), Some("SE2321000016-1234"));
    }

    #[test]
    fn a_verified_assertion_is_still_refused_when_it_does_not_fit_this_login() {
        let unsigned_envelope = Scanned {
            destination: Some("https://elsewhere.example/acs".into()),
            ..Scanned::default()
        };
        assert_eq!(
            read(&assertion(SP, "anna"), &unsigned_envelope),
            Err(SamlRefusal::WrongDestination(Some(
                "https://elsewhere.example/acs".into()
            )))
        );
        assert_eq!(
            read(
                &assertion("https://other-sp.example", "anna"),
                &Scanned::default()
            ),
            Err(SamlRefusal::WrongAudience)
        );
        assert_eq!(
            read(&assertion(SP, "an\u{7}na"), &Scanned::default()),
            Err(SamlRefusal::NoNameId)
        );
    }

    #[test]
    fn malformed_signed_content_is_unreadable_not_a_panic() {
        for xml in ["", "<saml:Assertion", "<x/>", &assertion(SP, "anna")[..200]] {
            assert!(matches!(
                read(xml, &Scanned::default()),
                Err(SamlRefusal::Unreadable(_))
            ));
        }
    }
}
