//! The demo IdP's SAML side (`gateway.demo_idp`, `hamn up` only): its metadata, the
//! bounded decoding of the AuthnRequests our own SP sends it over HTTP-Redirect, and the
//! signed Response (RSA-SHA256, SHA-256 digest) it answers with for a fixed demo user.
//! It exists so that a newcomer sees the real SP path — the one production tenants use —
//! without an external IdP; it authenticates nobody and must never face a network.

use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{Duration, Utc};
use samael::attribute::{Attribute, AttributeValue};
use samael::crypto::{CertificateDer, Crypto, CryptoProvider};
use samael::schema::{
    Assertion, AttributeStatement, AudienceRestriction, AuthnContext, AuthnContextClassRef,
    AuthnRequest, AuthnStatement, Conditions, Issuer, Response, Status, StatusCode, Subject,
    SubjectConfirmation, SubjectConfirmationData, SubjectNameID,
};
use samael::signature::{DigestAlgorithm, Signature};
use samael::traits::ToXml;

use super::inflate::{InflateError, inflate};
use super::request::random_id;
use super::sp::{SpCredentials, xml_escape};
use crate::model::saml::{ATTR_DISPLAY_NAME, ATTR_HSA_ID, LOA3};

/// Longest base64 `SAMLRequest` accepted (our SP's requests are under 1 KiB).
pub const MAX_REQUEST_BASE64: usize = 8 * 1024;
/// Largest inflated AuthnRequest accepted (a deflate bomb stops here).
pub const MAX_REQUEST_XML: usize = 32 * 1024;
/// The attribute carrying group names (eduPersonIsMemberOf, as the SP tests use).
pub const ATTR_GROUPS: &str = "urn:oid:1.3.6.1.4.1.5923.1.5.1.1";
const URI_FORMAT: &str = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri";

/// A user the demo IdP offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoUser {
    /// NameID: `demo` is the seeded demo user's key (and demo login name).
    pub name_id: &'static str,
    pub hsa_id: &'static str,
    pub display_name: &'static str,
    pub groups: &'static [&'static str],
}

/// The demo users: the seeded `demo` user (as the seed and the first SITHS test card name
/// them) and one the SP creates just in time. The group value matches no group's external
/// id in the seed, so memberships stay as seeded.
pub const DEMO_USERS: &[DemoUser] = &[
    DemoUser {
        name_id: "demo",
        hsa_id: "SE2321000016-0001",
        display_name: "Åsa Öberg",
        groups: &["Alla användare"],
    },
    DemoUser {
        name_id: "anna.demo",
        hsa_id: "SE2321000016-0002",
        display_name: "Anna Demosson",
        groups: &["Alla användare"],
    },
];

/// The demo IdP's URLs under the portal's public URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoIdpUrls {
    /// Also the IdP's entity id.
    pub metadata: String,
    pub sso: String,
    pub slo: String,
}

impl DemoIdpUrls {
    pub fn new(public_url: &str) -> Self {
        let base = format!("{}/demo-idp", public_url.trim_end_matches('/'));
        Self {
            metadata: format!("{base}/metadata"),
            sso: format!("{base}/sso"),
            slo: format!("{base}/slo"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DemoIdpError {
    #[error("SAMLRequest longer than {MAX_REQUEST_BASE64} characters")]
    TooLong,
    #[error("SAMLRequest is not base64")]
    Base64,
    #[error("SAMLRequest does not inflate or exceeds {MAX_REQUEST_XML} bytes")]
    Inflate,
    #[error("SAMLRequest is not an AuthnRequest")]
    NotAuthnRequest,
    #[error("AuthnRequest lacks {0}")]
    Missing(&'static str),
    #[error("the AssertionConsumerServiceURL is not one of this portal's SPs")]
    ForeignAcs,
    #[error("signing the response failed: {0}")]
    Sign(String),
}

/// What the demo IdP needs from an AuthnRequest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoAuthnRequest {
    pub id: String,
    pub sp_entity_id: String,
    pub acs_url: String,
}

/// Decodes a `SAMLRequest` query value (base64 of raw deflate), bounded at every step, and
/// accepts it only when its ACS is an SP of this portal (`{public_url}/saml/{tenant}/acs`):
/// the demo IdP signs for nobody else.
pub fn decode_request(value: &str, public_url: &str) -> Result<DemoAuthnRequest, DemoIdpError> {
    let xml = inflate(value, MAX_REQUEST_BASE64, MAX_REQUEST_XML).map_err(|e| match e {
        InflateError::TooLong => DemoIdpError::TooLong,
        InflateError::Base64 => DemoIdpError::Base64,
        InflateError::Inflate => DemoIdpError::Inflate,
        InflateError::NotText => DemoIdpError::NotAuthnRequest,
    })?;
    if xml.contains("<!") {
        // No DOCTYPE, comments or CDATA in a request our SP made.
        return Err(DemoIdpError::NotAuthnRequest);
    }
    let request = AuthnRequest::from_str(&xml).map_err(|_| DemoIdpError::NotAuthnRequest)?;
    let sp_entity_id = request
        .issuer
        .and_then(|i| i.value)
        .ok_or(DemoIdpError::Missing("Issuer"))?;
    let acs_url = request
        .assertion_consumer_service_url
        .ok_or(DemoIdpError::Missing("AssertionConsumerServiceURL"))?;
    if request.id.is_empty() {
        return Err(DemoIdpError::Missing("ID"));
    }
    let base = format!("{}/saml/", public_url.trim_end_matches('/'));
    let ours = acs_url.strip_prefix(&base).is_some_and(|rest| {
        rest.strip_suffix("/acs").is_some_and(|slug| {
            !slug.is_empty()
                && slug
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
    });
    if !ours {
        return Err(DemoIdpError::ForeignAcs);
    }
    Ok(DemoAuthnRequest {
        id: request.id,
        sp_entity_id,
        acs_url,
    })
}

fn attribute(name: &str, friendly: &str, values: &[&str]) -> Attribute {
    Attribute {
        friendly_name: Some(friendly.to_owned()),
        name: Some(name.to_owned()),
        name_format: Some(URI_FORMAT.to_owned()),
        values: values
            .iter()
            .map(|v| AttributeValue {
                attribute_type: Some("xs:string".to_owned()),
                value: Some((*v).to_owned()),
            })
            .collect(),
    }
}

/// The signed Response (base64, as the HTTP-POST binding carries it) for `user`: the
/// whole Response is signed (RSA-SHA256 over a SHA-256 digest); its assertion has the
/// AudienceRestriction, bearer confirmation to the ACS, InResponseTo the request, LoA3
/// and the attributes the demo tenant maps.
pub fn signed_response(
    idp: &SpCredentials,
    urls: &DemoIdpUrls,
    request: &DemoAuthnRequest,
    user: &DemoUser,
) -> Result<String, DemoIdpError> {
    let sign = |e: &dyn std::fmt::Display| DemoIdpError::Sign(e.to_string());
    let now = Utc::now();
    let issuer = Issuer {
        value: Some(urls.metadata.clone()),
        format: Some("urn:oasis:names:tc:SAML:2.0:nameid-format:entity".into()),
        ..Issuer::default()
    };
    let response_id = random_id("_r").map_err(|e| sign(&e))?;
    let assertion_id = random_id("_a").map_err(|e| sign(&e))?;
    let session_index = random_id("_s").map_err(|e| sign(&e))?;
    let mut signature =
        Signature::template(&response_id, &CertificateDer::from(idp.cert_der.clone()));
    for reference in &mut signature.signed_info.reference {
        reference.digest_method.algorithm = DigestAlgorithm::Sha256;
    }
    let response = Response {
        id: response_id,
        in_response_to: Some(request.id.clone()),
        version: "2.0".into(),
        issue_instant: now,
        destination: Some(request.acs_url.clone()),
        consent: None,
        issuer: Some(issuer.clone()),
        signature: Some(signature),
        status: Some(Status {
            status_code: StatusCode {
                value: Some("urn:oasis:names:tc:SAML:2.0:status:Success".into()),
            },
            status_message: None,
            status_detail: None,
        }),
        encrypted_assertion: None,
        assertion: Some(Assertion {
            id: assertion_id,
            issue_instant: now,
            version: "2.0".into(),
            issuer,
            signature: None,
            subject: Some(Subject {
                name_id: Some(SubjectNameID {
                    format: Some("urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified".into()),
                    value: user.name_id.to_owned(),
                }),
                subject_confirmations: Some(vec![SubjectConfirmation {
                    method: Some("urn:oasis:names:tc:SAML:2.0:cm:bearer".into()),
                    name_id: None,
                    subject_confirmation_data: Some(SubjectConfirmationData {
                        not_before: None,
                        not_on_or_after: Some(now + Duration::minutes(5)),
                        recipient: Some(request.acs_url.clone()),
                        in_response_to: Some(request.id.clone()),
                        address: None,
                        content: None,
                    }),
                }]),
            }),
            conditions: Some(Conditions {
                not_before: Some(now - Duration::minutes(1)),
                not_on_or_after: Some(now + Duration::minutes(5)),
                audience_restrictions: Some(vec![AudienceRestriction {
                    audience: vec![request.sp_entity_id.clone()],
                }]),
                one_time_use: None,
                proxy_restriction: None,
            }),
            authn_statements: Some(vec![AuthnStatement {
                authn_instant: Some(now),
                session_index: Some(session_index),
                session_not_on_or_after: Some(now + Duration::hours(8)),
                subject_locality: None,
                authn_context: Some(AuthnContext {
                    value: Some(AuthnContextClassRef {
                        value: Some(LOA3.into()),
                    }),
                }),
            }]),
            attribute_statements: Some(vec![AttributeStatement {
                attributes: vec![
                    attribute(ATTR_HSA_ID, "employeeHsaId", &[user.hsa_id]),
                    attribute(ATTR_DISPLAY_NAME, "displayName", &[user.display_name]),
                    attribute(ATTR_GROUPS, "groups", user.groups),
                ],
            }]),
        }),
    };
    let unsigned = response.to_string().map_err(|e| sign(&format!("{e:?}")))?;
    let key_der = idp.key.private_key_to_der().map_err(|e| sign(&e))?;
    let signed = Crypto::sign_xml(unsigned.as_str(), &key_der).map_err(|e| sign(&e))?;
    Ok(STANDARD.encode(signed))
}

/// The demo IdP's metadata: signing certificate, SSO over HTTP-Redirect, SLO. It does not
/// claim to want signed requests: it does not check the SP's signature (anyone can have
/// the SP sign a request, and the demo IdP logs anyone in anyway); it only limits whom it
/// answers to this portal's ACS URLs.
pub fn idp_metadata(urls: &DemoIdpUrls, cert_der: &[u8]) -> String {
    let cert = STANDARD.encode(cert_der);
    let entity = xml_escape(&urls.metadata);
    let sso = xml_escape(&urls.sso);
    let slo = xml_escape(&urls.slo);
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{entity}">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>
    </md:KeyDescriptor>
    <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{slo}"/>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{sso}"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    fn deflate_b64(xml: &[u8]) -> String {
        let mut out = Vec::new();
        let mut e = flate2::write::DeflateEncoder::new(&mut out, flate2::Compression::default());
        e.write_all(xml).expect("deflate");
        e.finish().expect("deflate");
        STANDARD.encode(out)
    }

    const PORTAL: &str = "https://localhost:8443";

    fn request_xml(acs: &str) -> String {
        super::super::request::authn_request_xml(&super::super::request::AuthnRequestSpec {
            id: "_abc",
            sp_entity_id: "https://localhost:8443/saml/demo/metadata",
            acs_url: acs,
            sso_url: "https://localhost:8443/demo-idp/sso",
            authn_contexts: &[LOA3.to_owned()],
            force_authn: false,
        })
        .expect("request")
    }

    #[test]
    fn our_sps_request_decodes() {
        let value = deflate_b64(request_xml("https://localhost:8443/saml/demo/acs").as_bytes());
        let got = decode_request(&value, PORTAL).expect("decodes");
        assert_eq!(got.id, "_abc");
        assert_eq!(got.acs_url, "https://localhost:8443/saml/demo/acs");
        assert_eq!(
            got.sp_entity_id,
            "https://localhost:8443/saml/demo/metadata"
        );
    }

    #[test]
    fn malformed_and_foreign_requests_are_refused() {
        let foreign = deflate_b64(request_xml("https://evil.example/saml/demo/acs").as_bytes());
        assert_eq!(
            decode_request(&foreign, PORTAL),
            Err(DemoIdpError::ForeignAcs)
        );
        let sneaky =
            deflate_b64(request_xml("https://localhost:8443/saml/demo/../../x/acs").as_bytes());
        assert_eq!(
            decode_request(&sneaky, PORTAL),
            Err(DemoIdpError::ForeignAcs)
        );
        assert_eq!(
            decode_request(&"A".repeat(MAX_REQUEST_BASE64 + 1), PORTAL),
            Err(DemoIdpError::TooLong)
        );
        assert_eq!(decode_request("%%%", PORTAL), Err(DemoIdpError::Base64));
        assert_eq!(
            decode_request(&STANDARD.encode(b"not deflate at all"), PORTAL),
            Err(DemoIdpError::Inflate)
        );
        // A deflate bomb: tiny input, far more than the limit inflated.
        let bomb = deflate_b64(&vec![b'a'; MAX_REQUEST_XML * 4]);
        assert!(bomb.len() < MAX_REQUEST_BASE64);
        assert_eq!(decode_request(&bomb, PORTAL), Err(DemoIdpError::Inflate));
        let doctype = deflate_b64(b"<!DOCTYPE x><x/>");
        assert_eq!(
            decode_request(&doctype, PORTAL),
            Err(DemoIdpError::NotAuthnRequest)
        );
        let other = deflate_b64(b"<a>b</a>");
        assert_eq!(
            decode_request(&other, PORTAL),
            Err(DemoIdpError::NotAuthnRequest)
        );
    }
}
