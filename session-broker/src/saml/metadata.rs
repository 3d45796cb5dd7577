//! A tenant's IdP metadata, judged before it is stored and again before each login: an
//! `EntityDescriptor` with an entityID, an `IDPSSODescriptor` with an HTTP-Redirect
//! SingleSignOnService, at least one signing certificate (samael skips signature checks
//! entirely when there is none), `validUntil` (when given) in the future and only signing
//! certificates that are valid now (samael would accept an expired one).

use openssl::asn1::Asn1Time;
use openssl::x509::X509;
use samael::crypto::CertificateDer;
use samael::metadata::{EntityDescriptor, HTTP_REDIRECT_BINDING};

/// Largest metadata document accepted.
pub const MAX_METADATA_BYTES: usize = 512 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    #[error("metadata is larger than {MAX_METADATA_BYTES} bytes")]
    TooLarge,
    #[error("metadata with a DOCTYPE is not accepted")]
    Doctype,
    #[error("not an EntityDescriptor: {0}")]
    Parse(String),
    #[error("the EntityDescriptor has no entityID")]
    NoEntityId,
    #[error("the metadata has no IDPSSODescriptor")]
    NoIdp,
    #[error("the IdP offers no HTTP-Redirect SingleSignOnService")]
    NoRedirectSso,
    #[error("the IdP metadata has no signing certificate")]
    NoSigningCertificate,
    #[error("a signing certificate cannot be read")]
    BadCertificate,
    #[error("every signing certificate of the IdP has expired or is not valid yet")]
    CertificatesExpired,
    #[error("the metadata expired (validUntil {0})")]
    Expired(String),
}

impl MetadataError {
    /// The stable word for audit and problem documents.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::NoSigningCertificate => "idp_no_signing_certificate",
            Self::CertificatesExpired => "idp_certificate_expired",
            Self::Expired(_) => "idp_metadata_expired",
            _ => "idp_metadata_invalid",
        }
    }
}

/// What the SP uses of an IdP's metadata.
#[derive(Debug, Clone)]
pub struct IdpMetadata {
    pub entity_id: String,
    /// Where AuthnRequests go (HTTP-Redirect).
    pub sso_redirect: String,
    /// Where LogoutRequests go (HTTP-Redirect), when the IdP offers it.
    pub slo_redirect: Option<String>,
    /// Signing certificates valid now (DER).
    pub signing_certs: Vec<CertificateDer>,
    /// The parsed document, for samael.
    pub descriptor: EntityDescriptor,
}

fn valid_at(der: &[u8], now_unix: i64) -> Result<bool, MetadataError> {
    let cert = X509::from_der(der).map_err(|_| MetadataError::BadCertificate)?;
    let now = Asn1Time::from_unix(now_unix).map_err(|_| MetadataError::BadCertificate)?;
    Ok(cert.not_before() <= now && cert.not_after() > now)
}

/// Parses and judges metadata at `now_unix` (seconds).
pub fn parse(xml: &str, now_unix: i64) -> Result<IdpMetadata, MetadataError> {
    if xml.len() > MAX_METADATA_BYTES {
        return Err(MetadataError::TooLarge);
    }
    if xml.contains("<!DOCTYPE") || xml.contains("<!ENTITY") {
        return Err(MetadataError::Doctype);
    }
    let descriptor: EntityDescriptor = xml
        .parse()
        .map_err(|e| MetadataError::Parse(format!("{e}")))?;
    let entity_id = descriptor
        .entity_id
        .clone()
        .filter(|e| !e.trim().is_empty())
        .ok_or(MetadataError::NoEntityId)?;
    if let Some(until) = descriptor.valid_until
        && until.timestamp() <= now_unix
    {
        return Err(MetadataError::Expired(until.to_rfc3339()));
    }
    let idps = descriptor
        .idp_sso_descriptors
        .as_deref()
        .filter(|d| !d.is_empty())
        .ok_or(MetadataError::NoIdp)?;
    let mut sso_redirect = None;
    let mut slo_redirect = None;
    let mut signing = Vec::new();
    for idp in idps {
        if let Some(until) = idp.valid_until
            && until.timestamp() <= now_unix
        {
            return Err(MetadataError::Expired(until.to_rfc3339()));
        }
        for sso in &idp.single_sign_on_services {
            if sso.binding == HTTP_REDIRECT_BINDING && sso_redirect.is_none() {
                sso_redirect = Some(sso.location.clone());
            }
        }
        for slo in &idp.single_logout_services {
            if slo.binding == HTTP_REDIRECT_BINDING && slo_redirect.is_none() {
                slo_redirect = Some(slo.location.clone());
            }
        }
        for key in &idp.key_descriptors {
            // A key without `use` serves both purposes (SAML metadata §2.4.1.1).
            let signs = key
                .key_use
                .as_deref()
                .is_none_or(|u| u.is_empty() || u == "signing");
            if !signs {
                continue;
            }
            for b64 in key.key_info.x509_data.iter().flat_map(|d| &d.certificates) {
                let cert = samael::crypto::decode_x509_cert(b64)
                    .map_err(|_| MetadataError::BadCertificate)?;
                signing.push(cert);
            }
        }
    }
    let sso_redirect = sso_redirect.ok_or(MetadataError::NoRedirectSso)?;
    if signing.is_empty() {
        return Err(MetadataError::NoSigningCertificate);
    }
    let mut valid = Vec::new();
    for cert in signing {
        if valid_at(cert.der_data(), now_unix)? {
            valid.push(cert);
        }
    }
    if valid.is_empty() {
        return Err(MetadataError::CertificatesExpired);
    }
    Ok(IdpMetadata {
        entity_id,
        sso_redirect,
        slo_redirect,
        signing_certs: valid,
        descriptor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use openssl::hash::MessageDigest;
    use openssl::pkey::PKey;
    use openssl::rsa::Rsa;
    use openssl::x509::{X509Builder, X509NameBuilder};

    const NOW: i64 = 1_800_000_000;

    /// A self-signed certificate valid from `from` to `to` (unix seconds), as base64 DER.
    fn cert(from: i64, to: i64) -> String {
        let key = PKey::from_rsa(Rsa::generate(2048).expect("rsa")).expect("key");
        let mut name = X509NameBuilder::new().expect("name");
        name.append_entry_by_text("CN", "idp").expect("cn");
        let name = name.build();
        let mut b = X509Builder::new().expect("builder");
        b.set_version(2).expect("v3");
        b.set_subject_name(&name).expect("subject");
        b.set_issuer_name(&name).expect("issuer");
        b.set_pubkey(&key).expect("pubkey");
        b.set_not_before(&Asn1Time::from_unix(from).expect("t"))
            .expect("nb");
        b.set_not_after(&Asn1Time::from_unix(to).expect("t"))
            .expect("na");
        b.sign(&key, MessageDigest::sha256()).expect("sign");
        base64::engine::general_purpose::STANDARD.encode(b.build().to_der().expect("der"))
    }

    fn doc(valid_until: &str, keys: &str, sso: bool, slo: bool) -> String {
        let sso = if sso {
            "<md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" Location=\"https://idp/sso\"/>"
        } else {
            ""
        };
        let slo = if slo {
            "<md:SingleLogoutService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" Location=\"https://idp/slo\"/>"
        } else {
            ""
        };
        format!(
            "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" \
             xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" entityID=\"https://idp/e\"{valid_until}>\
             <md:IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">\
             {keys}{slo}{sso}</md:IDPSSODescriptor></md:EntityDescriptor>"
        )
    }

    fn key(usage: &str, b64: &str) -> String {
        format!(
            "<md:KeyDescriptor{usage}><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{b64}\
             </ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
        )
    }

    #[test]
    fn good_metadata_gives_the_endpoints_and_current_signing_certificates() {
        let good = cert(NOW - 100, NOW + 100);
        let old = cert(NOW - 200, NOW - 100);
        let keys = format!(
            "{}{}{}",
            key(" use=\"signing\"", &good),
            key(" use=\"signing\"", &old),
            key(" use=\"encryption\"", &good)
        );
        let idp = parse(&doc("", &keys, true, true), NOW).expect("good");
        assert_eq!(idp.entity_id, "https://idp/e");
        assert_eq!(idp.sso_redirect, "https://idp/sso");
        assert_eq!(idp.slo_redirect.as_deref(), Some("https://idp/slo"));
        assert_eq!(idp.signing_certs.len(), 1, "the expired one is dropped");
        // A key without `use` signs too.
        assert!(parse(&doc("", &key("", &good), true, false), NOW).is_ok());
    }

    #[test]
    fn unusable_metadata_is_refused_with_its_reason() {
        let good = cert(NOW - 100, NOW + 100);
        let signing = key(" use=\"signing\"", &good);
        let cases = [
            (
                doc("", &key(" use=\"encryption\"", &good), true, false),
                "idp_no_signing_certificate",
            ),
            (doc("", "", true, false), "idp_no_signing_certificate"),
            (
                doc(
                    "",
                    &key(" use=\"signing\"", &cert(NOW - 200, NOW - 1)),
                    true,
                    false,
                ),
                "idp_certificate_expired",
            ),
            (
                doc(
                    "",
                    &key(" use=\"signing\"", &cert(NOW + 10, NOW + 100)),
                    true,
                    false,
                ),
                "idp_certificate_expired",
            ),
            (
                doc(
                    " validUntil=\"2020-01-01T00:00:00Z\"",
                    &signing,
                    true,
                    false,
                ),
                "idp_metadata_expired",
            ),
            (doc("", &signing, false, false), "idp_metadata_invalid"),
            (
                doc(
                    "",
                    &key(" use=\"signing\"", "bm90IGEgY2VydA=="),
                    true,
                    false,
                ),
                "idp_metadata_invalid",
            ),
            (
                format!("<!DOCTYPE x>{}", doc("", &signing, true, false)),
                "idp_metadata_invalid",
            ),
            ("<html/>".into(), "idp_metadata_invalid"),
            ("".into(), "idp_metadata_invalid"),
            (" ".repeat(MAX_METADATA_BYTES + 1), "idp_metadata_invalid"),
        ];
        for (xml, reason) in cases {
            let got = parse(&xml, NOW);
            assert_eq!(
                got.as_ref().map(|_| ()).map_err(MetadataError::reason),
                Err(reason),
                "{:?}",
                got.err()
            );
        }
    }
}
