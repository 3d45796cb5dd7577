//! What the SP sends: AuthnRequests and LogoutRequests over the HTTP-Redirect binding
//! (deflate, base64, query string signed with RSA-SHA256 by the SP key). Request ids are
//! 128 random bits; RelayState is an opaque random handle the database maps back to the
//! login attempt, never a URL. samael's `AuthnRequest::post()` HTML is never used (it does
//! not escape RelayState).

use std::io::Write as _;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::Utc;
use flate2::Compression;
use flate2::write::DeflateEncoder;
use openssl::pkey::{PKey, Private};
use ring::rand::{SecureRandom, SystemRandom};
use samael::metadata::HTTP_POST_BINDING;
use samael::schema::{
    AuthnContextClassRef, AuthnContextComparison, AuthnRequest, Issuer, LogoutRequest, NameID,
    RequestedAuthnContext,
};
use samael::traits::ToXml;

const ENTITY_FORMAT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("no randomness")]
    Random,
    #[error("building the request failed: {0}")]
    Build(String),
}

/// `prefix` + 128 random bits in hex: an XML NCName (SAML IDs must be one).
pub fn random_id(prefix: &str) -> Result<String, RequestError> {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| RequestError::Random)?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("{prefix}{hex}"))
}

/// A random opaque handle (128 bits, base64url).
pub fn random_handle() -> Result<String, RequestError> {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| RequestError::Random)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// Deflates and base64-encodes `xml` into `destination`'s query as `param`, with
/// RelayState, and signs the query (SAML bindings §3.4.4.1).
pub fn redirect_url(
    destination: &str,
    param: &str,
    xml: &str,
    relay_state: Option<&str>,
    key: &PKey<Private>,
) -> Result<String, RequestError> {
    let build = |e: &dyn std::fmt::Display| RequestError::Build(e.to_string());
    let mut deflated = Vec::new();
    {
        let mut encoder = DeflateEncoder::new(&mut deflated, Compression::default());
        encoder.write_all(xml.as_bytes()).map_err(|e| build(&e))?;
        encoder.finish().map_err(|e| build(&e))?;
    }
    let mut url = url::Url::parse(destination).map_err(|e| build(&e))?;
    url.query_pairs_mut()
        .append_pair(param, &STANDARD.encode(&deflated));
    if let Some(relay) = relay_state {
        url.query_pairs_mut().append_pair("RelayState", relay);
    }
    let signed = samael::crypto::sign_url(url, key).map_err(|e| build(&e))?;
    Ok(signed.to_string())
}

/// What an AuthnRequest asks for.
#[derive(Debug, Clone)]
pub struct AuthnRequestSpec<'a> {
    pub id: &'a str,
    pub sp_entity_id: &'a str,
    pub acs_url: &'a str,
    pub sso_url: &'a str,
    /// RequestedAuthnContext classes, compared `exact`.
    pub authn_contexts: &'a [String],
    pub force_authn: bool,
}

/// The AuthnRequest XML.
pub fn authn_request_xml(spec: &AuthnRequestSpec<'_>) -> Result<String, RequestError> {
    let request = AuthnRequest {
        id: spec.id.to_owned(),
        version: "2.0".into(),
        issue_instant: Utc::now(),
        destination: Some(spec.sso_url.to_owned()),
        issuer: Some(Issuer {
            format: Some(ENTITY_FORMAT.into()),
            value: Some(spec.sp_entity_id.to_owned()),
            ..Issuer::default()
        }),
        requested_authn_context: (!spec.authn_contexts.is_empty()).then(|| RequestedAuthnContext {
            authn_context_class_refs: Some(
                spec.authn_contexts
                    .iter()
                    .map(|c| AuthnContextClassRef {
                        value: Some(c.clone()),
                    })
                    .collect(),
            ),
            authn_context_decl_refs: None,
            comparison: Some(AuthnContextComparison::Exact),
        }),
        force_authn: Some(spec.force_authn),
        assertion_consumer_service_url: Some(spec.acs_url.to_owned()),
        protocol_binding: Some(HTTP_POST_BINDING.into()),
        ..AuthnRequest::default()
    };
    request
        .to_string()
        .map_err(|e| RequestError::Build(format!("{e:?}")))
}

/// The LogoutRequest XML for a SAML session.
pub fn logout_request_xml(
    id: &str,
    sp_entity_id: &str,
    slo_url: &str,
    name_id: &str,
    name_id_format: Option<&str>,
    session_index: Option<&str>,
) -> Result<String, RequestError> {
    let request = LogoutRequest {
        id: Some(id.to_owned()),
        version: Some("2.0".into()),
        issue_instant: Some(Utc::now()),
        destination: Some(slo_url.to_owned()),
        issuer: Some(Issuer {
            format: Some(ENTITY_FORMAT.into()),
            value: Some(sp_entity_id.to_owned()),
            ..Issuer::default()
        }),
        signature: None,
        session_index: session_index.map(str::to_owned),
        name_id: Some(NameID {
            format: name_id_format.map(str::to_owned),
            value: name_id.to_owned(),
        }),
    };
    request
        .to_string()
        .map_err(|e| RequestError::Build(format!("{e:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_long_random_ncnames() {
        let a = random_id("_").expect("id");
        let b = random_id("_").expect("id");
        assert_ne!(a, b);
        assert_eq!(a.len(), 33);
        assert!(a.starts_with('_'));
        assert_eq!(random_handle().expect("handle").len(), 22);
    }
}
