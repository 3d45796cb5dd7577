//! SITHS smart-card login: `GET /siths/login` on the SITHS listener, the only listener
//! that asks for a client certificate (browsers show a certificate picker whenever a server
//! asks). The handshake proves key possession only; here the card certificate is judged —
//! chain to the SITHS CA bundle, validity, clientAuth EKU ([`ClientCertVerifier`]), then
//! [`hsa_id_of`] — and an HSA-ID that belongs to a user becomes a web session with method
//! `siths`, after which the browser is sent (303) to the portal. Every refusal is a page in
//! Swedish or English (problem+json when asked for) and an audited `user.login` refusal.
//! Revocation is checked against the SITHS CAs' CRLs (`gateway.siths_crl`, reloaded in
//! place by [`hamn_certs::Revocation`]); OCSP is not used yet.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Extension, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hamn_broker::model::{LoginMethod, User};
use hamn_broker::{repo, web_session};
use hamn_certs::{ClientCertError, ClientCertVerifier, ClientIdentity, PeerCertificates};
use rustls_pki_types::UnixTime;

use super::api::{PortalApi, Source, no_store};
use super::lang::Lang;
use super::problem::Problem;
use super::web_session::{set_cookie, token};

/// What the SITHS listener needs.
#[derive(Debug)]
pub struct SithsLogin {
    /// The portal API's state: database, web session policy.
    pub api: Arc<PortalApi>,
    /// Judges card certificates against the SITHS CA bundle (`gateway.siths_ca`) and its
    /// CRLs (`gateway.siths_crl`).
    pub verifier: ClientCertVerifier,
    /// Where an accepted card is sent: the portal's public URL.
    pub portal_url: String,
}

/// The SITHS listener's routes, with the portal's security headers.
pub fn siths_router(login: Arc<SithsLogin>) -> Router {
    Router::new()
        .route("/siths/login", get(self::login))
        .with_state(login)
        .layer(axum::middleware::map_response(crate::headers::add))
}

/// Longest HSA-ID accepted (the HSA specification allows 31 characters).
const MAX_HSA_ID: usize = 31;

/// Why a card was refused; [`Self::reason`] is the word in the audit log and in
/// problem+json.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SithsRefusal {
    NoCertificate,
    UntrustedIssuer,
    Expired,
    NotYetValid,
    NoClientAuth,
    Malformed,
    /// The card's serial is on its CA's current CRL.
    Revoked,
    /// No current CRL from the card's CA is loaded (`gateway.siths_revocation = "require"`).
    RevocationUnknown,
    /// serialNumber of 12 digits: a personnummer, no HSA-ID.
    PersonnummerOnly,
    /// No serialNumber, or one that is not `SE<10 digits>-<id>`.
    NoHsaId,
    /// An HSA-ID but no person: neither givenName nor surname in the subject.
    FunctionCertificate,
    /// A valid card whose HSA-ID belongs to no user.
    UnknownHsaId,
    /// The HSA-ID belongs to users of several tenants.
    AmbiguousHsaId,
}

impl SithsRefusal {
    pub fn reason(self) -> &'static str {
        match self {
            Self::NoCertificate => "no_certificate",
            Self::UntrustedIssuer => "untrusted_issuer",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::NoClientAuth => "no_client_auth",
            Self::Malformed => "malformed_certificate",
            Self::Revoked => "revoked",
            Self::RevocationUnknown => "revocation_unknown",
            Self::PersonnummerOnly => "personnummer_only",
            Self::NoHsaId => "no_hsa_id",
            Self::FunctionCertificate => "function_certificate",
            Self::UnknownHsaId => "unknown_hsa_id",
            Self::AmbiguousHsaId => "ambiguous_hsa_id",
        }
    }

    fn problem(self, lang: Lang) -> Problem {
        let (status, sv, en) = match self {
            Self::NoCertificate => (
                StatusCode::UNAUTHORIZED,
                "Inget SITHS-kort valdes. Sätt i kortet, välj dess certifikat och försök igen.",
                "No SITHS card was chosen. Insert the card, choose its certificate and try again.",
            ),
            Self::UntrustedIssuer => (
                StatusCode::FORBIDDEN,
                "Kortets certifikat är inte utfärdat av en betrodd SITHS-utfärdare.",
                "The card's certificate is not issued by a trusted SITHS CA.",
            ),
            Self::Expired => (
                StatusCode::FORBIDDEN,
                "Kortets certifikat har gått ut.",
                "The card's certificate has expired.",
            ),
            Self::NotYetValid => (
                StatusCode::FORBIDDEN,
                "Kortets certifikat gäller inte ännu.",
                "The card's certificate is not valid yet.",
            ),
            Self::NoClientAuth => (
                StatusCode::FORBIDDEN,
                "Kortets certifikat får inte användas för inloggning (clientAuth saknas).",
                "The card's certificate may not be used to log in (no clientAuth).",
            ),
            Self::Malformed => (
                StatusCode::FORBIDDEN,
                "Kortets certifikat kunde inte läsas.",
                "The card's certificate could not be read.",
            ),
            Self::Revoked => (
                StatusCode::FORBIDDEN,
                "Kortets certifikat är spärrat. Kontakta din administratör.",
                "The card's certificate has been revoked. Please contact your administrator.",
            ),
            Self::RevocationUnknown => (
                StatusCode::FORBIDDEN,
                "Det går inte att kontrollera om kortet är spärrat just nu. Försök igen senare.",
                "Whether the card has been revoked cannot be checked right now. Please try \
                 again later.",
            ),
            Self::PersonnummerOnly => (
                StatusCode::FORBIDDEN,
                "Kortets certifikat har bara personnummer och inget HSA-id. Använd ditt \
                 SITHS-kort för tjänsteidentitet.",
                "The card's certificate carries only a personal identity number, no HSA-ID. \
                 Use your SITHS card for your professional identity.",
            ),
            Self::NoHsaId => (
                StatusCode::FORBIDDEN,
                "Kortets certifikat har inget giltigt HSA-id.",
                "The card's certificate has no valid HSA-ID.",
            ),
            Self::FunctionCertificate => (
                StatusCode::FORBIDDEN,
                "Funktionscertifikat kan inte användas för att logga in en person.",
                "A function certificate cannot be used to log a person in.",
            ),
            Self::UnknownHsaId | Self::AmbiguousHsaId => (
                StatusCode::FORBIDDEN,
                "Kortets HSA-id har inget konto i Hamn. Kontakta din administratör.",
                "The card's HSA-ID has no Hamn account. Please contact your administrator.",
            ),
        };
        Problem::new(status, self.reason(), lang, sv, en)
    }
}

impl From<ClientCertError> for SithsRefusal {
    fn from(error: ClientCertError) -> Self {
        match error {
            ClientCertError::Missing => Self::NoCertificate,
            ClientCertError::UntrustedIssuer => Self::UntrustedIssuer,
            ClientCertError::Expired => Self::Expired,
            ClientCertError::NotYetValid => Self::NotYetValid,
            ClientCertError::MissingClientAuthEku => Self::NoClientAuth,
            ClientCertError::Revoked => Self::Revoked,
            ClientCertError::RevocationUnknown => Self::RevocationUnknown,
            ClientCertError::Malformed(_) => Self::Malformed,
        }
    }
}

/// `SE` + 10 digits (the organisation number with its country prefix) + `-` + 1 to 18
/// letters or digits, at most 31 characters in all.
pub fn is_hsa_id(text: &str) -> bool {
    let Some(rest) = text.strip_prefix("SE") else {
        return false;
    };
    let Some((org, local)) = rest.split_once('-') else {
        return false;
    };
    text.len() <= MAX_HSA_ID
        && org.len() == 10
        && org.bytes().all(|b| b.is_ascii_digit())
        && !local.is_empty()
        && local.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The HSA-ID of a verified card certificate, or why it cannot log a person in. A SITHS
/// person certificate names its holder (givenName and surname) and carries the HSA-ID in
/// subject serialNumber; a certificate with only a personnummer there (12 digits) is not
/// a SITHS professional identity, and one with an HSA-ID but no person name is a function
/// certificate (issued to a system or role, not to a person).
pub fn hsa_id_of(identity: &ClientIdentity) -> Result<&str, SithsRefusal> {
    let serial = identity
        .subject_serial_number
        .as_deref()
        .map(str::trim)
        .ok_or(SithsRefusal::NoHsaId)?;
    if serial.len() == 12 && serial.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SithsRefusal::PersonnummerOnly);
    }
    if !is_hsa_id(serial) {
        return Err(SithsRefusal::NoHsaId);
    }
    if identity.given_name.is_none() && identity.surname.is_none() {
        return Err(SithsRefusal::FunctionCertificate);
    }
    Ok(serial)
}

/// The language of the page: `?lang=en|sv` wins over `Accept-Language`.
pub(super) struct PageLang(pub(super) Lang);

impl<S: Send + Sync> FromRequestParts<S> for PageLang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let asked = parts.uri.query().and_then(|q| {
            q.split('&').take(16).find_map(|pair| match pair {
                "lang=en" => Some(Lang::En),
                "lang=sv" => Some(Lang::Sv),
                _ => None,
            })
        });
        let Ok(header_lang) = Lang::from_request_parts(parts, state).await;
        Ok(Self(asked.unwrap_or(header_lang)))
    }
}

/// What the refused card said about itself, for the audit event's actor name.
fn attempted(identity: Option<&ClientIdentity>) -> String {
    identity.map_or_else(
        || "(no certificate)".to_owned(),
        |i| {
            let name = i.subject_cn.as_deref().unwrap_or("(no CN)");
            let serial = i.subject_serial_number.as_deref().unwrap_or("-");
            format!("{name} [{serial}] sha256:{}", i.sha256_fingerprint)
        },
    )
}

/// `GET /siths/login`.
async fn login(
    State(siths): State<Arc<SithsLogin>>,
    PageLang(lang): PageLang,
    Source(source): Source,
    headers: HeaderMap,
    peer: Option<Extension<PeerCertificates>>,
) -> Response {
    let chain = peer.map(|Extension(p)| p.0).unwrap_or_default();
    let identity = match siths.verifier.verify(&chain, UnixTime::now()) {
        Ok(identity) => identity,
        Err(error @ (ClientCertError::Revoked | ClientCertError::RevocationUnknown)) => {
            // The chain verified, so the card's own name is trustworthy for the audit log.
            let claimed = chain
                .first()
                .and_then(|der| hamn_certs::client_auth::claimed_identity(der.as_ref()));
            let name = attempted(claimed.as_ref());
            return refuse(&siths, &headers, lang, source, &name, None, error.into()).await;
        }
        Err(error) => {
            // The chain failed, so its subject is not trusted; the fingerprint of what was
            // presented still tells an auditor which certificate it was.
            let presented = chain.first().map(|der| {
                use sha2::Digest as _;
                let hex: String = sha2::Sha256::digest(der.as_ref())
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                format!("(unverified certificate) sha256:{hex}")
            });
            let name = presented.unwrap_or_else(|| attempted(None));
            return refuse(&siths, &headers, lang, source, &name, None, error.into()).await;
        }
    };
    let hsa_id = match hsa_id_of(&identity) {
        Ok(hsa_id) => hsa_id.to_owned(),
        Err(refusal) => {
            let name = attempted(Some(&identity));
            return refuse(&siths, &headers, lang, source, &name, None, refusal).await;
        }
    };
    let found = async {
        let mut conn = siths.api.database.pool().acquire().await?;
        repo::users::find_by_hsa_id(&mut conn, &hsa_id, 2).await
    }
    .await;
    let user = match found {
        Ok(mut users) if users.len() == 1 => users.remove(0),
        Ok(users) => {
            let refusal = if users.is_empty() {
                SithsRefusal::UnknownHsaId
            } else {
                SithsRefusal::AmbiguousHsaId
            };
            let name = attempted(Some(&identity));
            return refuse(&siths, &headers, lang, source, &name, None, refusal).await;
        }
        Err(error) => {
            tracing::error!(%error, "SITHS login failed");
            return page(&headers, Problem::unavailable(lang), &siths.portal_url);
        }
    };
    // A browser that was logged in is logged out first; the new session has a new token
    // either way, so a planted cookie never becomes a logged-in one (no fixation).
    if let Some(previous) = token(&headers)
        && let Err(error) =
            web_session::logout(&siths.api.database, &previous, source.as_deref()).await
    {
        tracing::warn!(%error, "previous web session not ended");
    }
    let login = web_session::login(
        &siths.api.database,
        siths.api.web_sessions,
        &user,
        LoginMethod::Siths,
        source.as_deref(),
    )
    .await;
    match login {
        Ok((token, _session)) => {
            tracing::info!(user = %user.id, "SITHS login");
            let mut response = no_store(StatusCode::SEE_OTHER.into_response());
            let headers = response.headers_mut();
            headers.insert(
                header::SET_COOKIE,
                set_cookie(&token, siths.api.web_sessions),
            );
            if let Ok(location) = HeaderValue::from_str(&siths.portal_url) {
                headers.insert(header::LOCATION, location);
            }
            response
        }
        Err(error) => {
            tracing::error!(%error, "SITHS login failed");
            page(&headers, Problem::unavailable(lang), &siths.portal_url)
        }
    }
}

async fn refuse(
    siths: &SithsLogin,
    headers: &HeaderMap,
    lang: Lang,
    source: Option<String>,
    attempted: &str,
    user: Option<&User>,
    refusal: SithsRefusal,
) -> Response {
    tracing::info!(reason = refusal.reason(), "SITHS login refused");
    if let Err(error) = web_session::audit_login_refused(
        &siths.api.database,
        attempted,
        user,
        LoginMethod::Siths,
        source.as_deref(),
        refusal.reason(),
    )
    .await
    {
        tracing::warn!(%error, "refused login not audited");
    }
    page(headers, refusal.problem(lang), &siths.portal_url)
}

/// The refusal as problem+json when the client asks for JSON, else a small HTML page
/// with a way back to the portal.
fn page(headers: &HeaderMap, problem: Problem, portal_url: &str) -> Response {
    super::problem::refusal_page(
        headers,
        problem,
        portal_url,
        ("Inloggning med SITHS-kort nekades", "SITHS login refused"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(serial: Option<&str>, person: bool) -> ClientIdentity {
        ClientIdentity {
            subject_cn: Some("x".into()),
            subject_serial_number: serial.map(str::to_owned),
            given_name: person.then(|| "Åsa".to_owned()),
            surname: person.then(|| "Öberg".to_owned()),
            sha256_fingerprint: "00".into(),
        }
    }

    #[test]
    fn hsa_ids_have_the_exact_shape() {
        for good in [
            "SE2321000016-0001",
            "SE2321000016-abcXYZ9",
            "SE0123456789-1",
        ] {
            assert!(is_hsa_id(good), "{good}");
        }
        for bad in [
            "",
            "SE",
            "SE2321000016-",
            "SE2321000016",
            "SE232100001-0001",
            "SE23210000166-0001",
            "se2321000016-0001",
            "SE2321000016-00 1",
            "SE2321000016-0001-2",
            "SE2321000016-ÅÄÖ",
            "SE2321000016-0123456789012345678",
            "198001011234",
        ] {
            assert!(!is_hsa_id(bad), "{bad}");
        }
    }

    #[test]
    fn only_person_certificates_with_an_hsa_id_log_in() {
        assert_eq!(
            hsa_id_of(&identity(Some("SE2321000016-0001"), true)),
            Ok("SE2321000016-0001")
        );
        assert_eq!(
            hsa_id_of(&identity(Some("197001011234"), true)),
            Err(SithsRefusal::PersonnummerOnly)
        );
        assert_eq!(
            hsa_id_of(&identity(Some("SE2321000016-F001"), false)),
            Err(SithsRefusal::FunctionCertificate)
        );
        assert_eq!(hsa_id_of(&identity(None, true)), Err(SithsRefusal::NoHsaId));
        assert_eq!(
            hsa_id_of(&identity(Some("19700101-1234"), true)),
            Err(SithsRefusal::NoHsaId)
        );
    }
}
