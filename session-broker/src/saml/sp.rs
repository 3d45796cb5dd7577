//! The SP's own side: its RSA key and certificate (`gateway.saml_sp_key` and
//! `gateway.saml_sp_cert`, written by `hamn certs init`), its metadata document with the
//! certificate for signing and, separately, with `use="encryption"`, and the URLs of a
//! tenant's endpoints under the portal origin.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;

#[derive(Debug, thiserror::Error)]
pub enum SpKeyError {
    #[error("{path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("{0}: not a PEM private key")]
    Key(String),
    #[error("{0}: not a PEM certificate")]
    Cert(String),
    #[error("the SP key must be RSA (encrypted assertions use RSA-OAEP)")]
    NotRsa,
}

/// The SP key pair. `Debug` never prints the key.
#[derive(Clone)]
pub struct SpCredentials {
    pub key: PKey<Private>,
    pub cert_der: Vec<u8>,
}

impl std::fmt::Debug for SpCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpCredentials")
            .field("cert_der_len", &self.cert_der.len())
            .finish_non_exhaustive()
    }
}

impl SpCredentials {
    pub fn load(key: &Path, cert: &Path) -> Result<Self, SpKeyError> {
        let read = |p: &Path| {
            std::fs::read(p).map_err(|error| SpKeyError::Read {
                path: p.display().to_string(),
                error,
            })
        };
        Self::from_pem(&read(key)?, &read(cert)?).map_err(|e| match e {
            SpKeyError::Key(_) => SpKeyError::Key(key.display().to_string()),
            SpKeyError::Cert(_) => SpKeyError::Cert(cert.display().to_string()),
            other => other,
        })
    }

    pub fn from_pem(key_pem: &[u8], cert_pem: &[u8]) -> Result<Self, SpKeyError> {
        let key =
            PKey::private_key_from_pem(key_pem).map_err(|_| SpKeyError::Key(String::new()))?;
        if key.rsa().is_err() {
            return Err(SpKeyError::NotRsa);
        }
        let cert = X509::from_pem(cert_pem).map_err(|_| SpKeyError::Cert(String::new()))?;
        let cert_der = cert.to_der().map_err(|_| SpKeyError::Cert(String::new()))?;
        Ok(Self { key, cert_der })
    }
}

/// The SP endpoints of a tenant under the portal's public URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpUrls {
    pub metadata: String,
    pub login: String,
    pub acs: String,
    pub logout: String,
}

impl SpUrls {
    pub fn new(public_url: &str, tenant_slug: &str) -> Self {
        let base = format!("{}/saml/{tenant_slug}", public_url.trim_end_matches('/'));
        Self {
            metadata: format!("{base}/metadata"),
            login: format!("{base}/login"),
            acs: format!("{base}/acs"),
            logout: format!("{base}/logout"),
        }
    }
}

/// XML-escapes text for an attribute or element.
pub fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// The SP metadata document: signed AuthnRequests, signed assertions wanted, the
/// certificate once for signing and once for encryption (AES-GCM and -CBC offered), the
/// ACS (HTTP-POST) and the logout endpoint (HTTP-Redirect).
pub fn sp_metadata(entity_id: &str, urls: &SpUrls, cert_der: &[u8]) -> String {
    let cert = STANDARD.encode(cert_der);
    let key = |usage: &str, methods: &str| {
        format!(
            "<md:KeyDescriptor use=\"{usage}\"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}\
             </ds:X509Certificate></ds:X509Data></ds:KeyInfo>{methods}</md:KeyDescriptor>"
        )
    };
    let methods: String = [
        "http://www.w3.org/2009/xmlenc11#aes256-gcm",
        "http://www.w3.org/2009/xmlenc11#aes128-gcm",
        "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
        "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
        "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p",
    ]
    .iter()
    .map(|m| format!("<md:EncryptionMethod Algorithm=\"{m}\"/>"))
    .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" \
         xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" entityID=\"{entity}\">\
         <md:SPSSODescriptor AuthnRequestsSigned=\"true\" WantAssertionsSigned=\"true\" \
         protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">\
         {signing}{encryption}\
         <md:SingleLogoutService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" \
         Location=\"{logout}\"/>\
         <md:AssertionConsumerService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" \
         Location=\"{acs}\" index=\"0\" isDefault=\"true\"/>\
         </md:SPSSODescriptor></md:EntityDescriptor>\n",
        entity = xml_escape(entity_id),
        signing = key("signing", ""),
        encryption = key("encryption", &methods),
        logout = xml_escape(&urls.logout),
        acs = xml_escape(&urls.acs),
    )
}
