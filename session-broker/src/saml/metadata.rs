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
