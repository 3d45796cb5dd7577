//! SITHS smart-card login: `GET /siths/login` on the SITHS listener, the only listener
//! that asks for a client certificate (browsers show a certificate picker whenever a server
//! asks). The handshake proves key possession only; here the card certificate is judged —
//! chain to the SITHS CA bundle, validity, clientAuth EKU ([`ClientCertVerifier`]), then
//! [`hsa_id_of`] — and an HSA-ID that belongs to a user becomes a web session with method
//! `siths` and the level of assurance of the card's issuing CA (`gateway.siths_loa`), after
//! which the browser is sent (303) to the portal. An HSA-ID with users in several tenants
//! gets a page to pick the organisation (`POST /siths/login`, same-origin and a
//! double-submit token). Every refusal is a page in Swedish or English (problem+json when
//! asked for) and an audited `user.login` refusal. Revocation is checked against the SITHS
//! CAs' CRLs (`gateway.siths_crl`, reloaded in place by [`hamn_certs::Revocation`]) and,
//! when the card names a responder, by OCSP ([`ClientCertVerifier::check_online`]).
//! Failed card logins are throttled per address and per HSA-ID ([`hamn_broker::throttle`]):
//! 429 with `Retry-After` and a page that says when to try again.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Extension, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hamn_broker::model::{LoginMethod, User};
use hamn_broker::throttle::{self, Attempt, Verdict};
use hamn_broker::{SessionToken, repo, web_session};
use hamn_certs::{ClientCertError, ClientCertVerifier, ClientIdentity, PeerCertificates};
use rustls_pki_types::UnixTime;

use super::api::{PortalApi, Source, no_store, origin_of};
use super::lang::Lang;
use super::problem::{Problem, escape};
use super::web_session::{cookie, set_cookie, token};

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
    /// Level of assurance (1 to 4) by the commonName of the card's issuing CA
    /// (`gateway.siths_loa`); a card from a CA not listed establishes none.
    pub loa_by_ca: HashMap<String, u8>,
}

/// The SITHS listener's routes, with the portal's security headers.
pub fn siths_router(login: Arc<SithsLogin>) -> Router {
    Router::new()
        .route("/siths/login", get(self::login).post(self::choose))
        // The organisation choice is two short fields.
        .layer(DefaultBodyLimit::max(MAX_CHOICE_BODY))
        .with_state(login)
        .layer(axum::middleware::map_response(crate::headers::add))
}

/// Longest organisation-choice form read.
const MAX_CHOICE_BODY: usize = 1024;
/// Most tenants one HSA-ID is offered in (and looked up).
const MAX_TENANTS: u32 = 20;
/// The double-submit cookie of the organisation choice; `__Host-` so no sibling host can
/// plant one.
const CHOICE_COOKIE: &str = "__Host-hamn_siths_choice";
/// How long the choice page's token lasts.
const CHOICE_SECS: u32 = 600;

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
    /// The OCSP responder the card names does not know it.
    UnknownToResponder,
    /// The organisation choice did not come from this listener's own page.
    CrossSite,
    /// The organisation choice lacks its token, or it differs from the cookie's.
    ChoiceToken,
    /// The organisation chosen is not one the card's HSA-ID has an account in.
    TenantNotOffered,
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
            Self::UnknownToResponder => "ocsp_unknown",
            Self::CrossSite => "cross_site_request",
            Self::ChoiceToken => "choice_token",
            Self::TenantNotOffered => "tenant_not_offered",
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
            Self::UnknownHsaId => (
                StatusCode::FORBIDDEN,
                "Kortets HSA-id har inget konto i Hamn. Kontakta din administratör.",
                "The card's HSA-ID has no Hamn account. Please contact your administrator.",
            ),
            Self::UnknownToResponder => (
                StatusCode::FORBIDDEN,
                "Kortets utfärdare känner inte till kortet (OCSP). Kontakta din administratör.",
                "The card's issuer does not know the card (OCSP). Please contact your \
                 administrator.",
            ),
            Self::CrossSite => (
                StatusCode::FORBIDDEN,
                "Begäran kom inte från inloggningssidan och avvisades.",
                "The request did not come from the login page and was refused.",
            ),
            Self::ChoiceToken => (
                StatusCode::FORBIDDEN,
                "Valet av organisation har gått ut. Logga in med kortet igen.",
                "The choice of organisation has expired. Please log in with your card again.",
            ),
            Self::TenantNotOffered => (
                StatusCode::FORBIDDEN,
                "Kortets HSA-id har inget konto hos den valda organisationen.",
                "The card's HSA-ID has no account with the chosen organisation.",
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
            ClientCertError::UnknownToResponder => Self::UnknownToResponder,
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
pub(crate) struct PageLang(pub(crate) Lang);

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

/// A card that passed every check: who it names and how sure we are.
struct Card {
    identity: ClientIdentity,
    hsa_id: String,
    loa: Option<u8>,
}

/// Judges the presented chain: chain, validity, EKU, CRL ([`ClientCertVerifier::verify`]),
/// OCSP ([`ClientCertVerifier::check_online`]), then the HSA-ID of a person. A refusal
/// comes with the name the audit event gives the card.
async fn judge(
    siths: &SithsLogin,
    chain: &[rustls_pki_types::CertificateDer<'static>],
) -> Result<Card, (String, SithsRefusal)> {
    let now = UnixTime::now();
    let identity = match siths.verifier.verify(chain, now) {
        Ok(identity) => identity,
        Err(error @ (ClientCertError::Revoked | ClientCertError::RevocationUnknown)) => {
            // The chain verified, so the card's own name is trustworthy for the audit log.
            let claimed = chain
                .first()
                .and_then(|der| hamn_certs::client_auth::claimed_identity(der.as_ref()));
            return Err((attempted(claimed.as_ref()), error.into()));
        }
        Err(error) => {
            // The chain failed, so its subject is not trusted; the fingerprint of what was
            // presented still tells an auditor which certificate it was.
            let presented = chain.first().map(|der| attempted_unverified(der.as_ref()));
            let name = presented.unwrap_or_else(|| attempted(None));
            return Err((name, error.into()));
        }
    };
    if let Err(error) = siths.verifier.check_online(chain, now).await {
        return Err((attempted(Some(&identity)), error.into()));
    }
    let hsa_id = match hsa_id_of(&identity) {
        Ok(hsa_id) => hsa_id.to_owned(),
        Err(refusal) => return Err((attempted(Some(&identity)), refusal)),
    };
    let loa = identity
        .issuer_cn
        .as_deref()
        .and_then(|cn| siths.loa_by_ca.get(cn))
        .copied();
    Ok(Card {
        identity,
        hsa_id,
        loa,
    })
}

/// The users the card's HSA-ID belongs to, in any tenant.
async fn users_of(siths: &SithsLogin, hsa_id: &str) -> Result<Vec<User>, hamn_broker::db::DbError> {
    let mut conn = siths.api.database.pool().acquire().await?;
    repo::users::find_by_hsa_id(&mut conn, hsa_id, MAX_TENANTS).await
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
    let at = siths.api.access.clock.now();
    let by_address = Attempt {
        source_address: source.as_deref(),
        account: None,
    };
    if let Some(blocked) = throttled(&siths, &headers, lang, &source, &by_address, at).await {
        return blocked;
    }
    let card = match judge(&siths, &chain).await {
        Ok(card) => card,
        Err((name, refusal)) => {
            return refuse(&siths, &headers, lang, source, &name, None, refusal).await;
        }
    };
    let by_card = Attempt {
        source_address: source.as_deref(),
        account: Some(&card.hsa_id),
    };
    if let Some(blocked) = throttled(&siths, &headers, lang, &source, &by_card, at).await {
        return blocked;
    }
    let mut users = match users_of(&siths, &card.hsa_id).await {
        Ok(users) => users,
        Err(error) => {
            tracing::error!(%error, "SITHS login failed");
            return page(&headers, Problem::unavailable(lang), &siths.portal_url);
        }
    };
    match users.len() {
        0 => {
            let name = attempted(Some(&card.identity));
            let refusal = SithsRefusal::UnknownHsaId;
            refuse_card(&siths, &headers, lang, source, &name, &card.hsa_id, refusal).await
        }
        1 => {
            let user = users.remove(0);
            let login = Login {
                user: &user,
                hsa_id: &card.hsa_id,
                loa: card.loa,
                at,
            };
            start_session(&siths, &headers, lang, source, login, false).await
        }
        _ => choice_page(&siths, lang, &users).await,
    }
}

/// `POST /siths/login` (form: `tenant`, `csrf`): the organisation picked on the choice
/// page. The card is judged again (this is a new request), the form must come from this
/// listener's origin and carry the token of the cookie the page set.
async fn choose(
    State(siths): State<Arc<SithsLogin>>,
    PageLang(lang): PageLang,
    Source(source): Source,
    headers: HeaderMap,
    peer: Option<Extension<PeerCertificates>>,
    body: Bytes,
) -> Response {
    let chain = peer.map(|Extension(p)| p.0).unwrap_or_default();
    let own_origin = siths.api.siths_login_url.as_deref().map(origin_of);
    let same_origin = own_origin
        .as_deref()
        .is_some_and(|origin| super::csrf::same_origin(&headers, origin).is_ok());
    let refusal = if !same_origin {
        SithsRefusal::CrossSite
    } else {
        match (choice_form(&body), cookie(&headers, CHOICE_COOKIE)) {
            (Some((tenant, sent)), Some(expected)) if sent == expected => {
                return chosen(&siths, &headers, lang, source, &chain, tenant).await;
            }
            _ => SithsRefusal::ChoiceToken,
        }
    };
    let claimed = chain.first().map(|der| attempted_unverified(der.as_ref()));
    let name = claimed.unwrap_or_else(|| attempted(None));
    refuse(&siths, &headers, lang, source, &name, None, refusal).await
}

/// The rest of [`choose`] once the form is known to be genuine.
async fn chosen(
    siths: &SithsLogin,
    headers: &HeaderMap,
    lang: Lang,
    source: Option<String>,
    chain: &[rustls_pki_types::CertificateDer<'static>],
    tenant: uuid::Uuid,
) -> Response {
    let card = match judge(siths, chain).await {
        Ok(card) => card,
        Err((name, refusal)) => {
            return refuse(siths, headers, lang, source, &name, None, refusal).await;
        }
    };
    let users = match users_of(siths, &card.hsa_id).await {
        Ok(users) => users,
        Err(error) => {
            tracing::error!(%error, "SITHS login failed");
            return page(headers, Problem::unavailable(lang), &siths.portal_url);
        }
    };
    match users.iter().find(|u| u.tenant_id == tenant) {
        Some(user) => {
            let login = Login {
                user,
                hsa_id: &card.hsa_id,
                loa: card.loa,
                at: siths.api.access.clock.now(),
            };
            start_session(siths, headers, lang, source, login, true).await
        }
        None => {
            let name = attempted(Some(&card.identity));
            refuse(
                siths,
                headers,
                lang,
                source,
                &name,
                None,
                SithsRefusal::TenantNotOffered,
            )
            .await
        }
    }
}

/// `tenant` and `csrf` of an `application/x-www-form-urlencoded` choice; `None` unless
/// both are there with the exact shape of a UUID and a token (so nothing needs decoding).
fn choice_form(body: &[u8]) -> Option<(uuid::Uuid, SessionToken)> {
    let text = std::str::from_utf8(body).ok()?;
    let (mut tenant, mut csrf) = (None, None);
    for pair in text.split('&').take(8) {
        match pair.split_once('=') {
            Some(("tenant", value)) => tenant = uuid::Uuid::parse_str(value).ok(),
            Some(("csrf", value)) => csrf = SessionToken::parse(value),
            _ => {}
        }
    }
    Some((tenant?, csrf?))
}

/// The page that lets a person whose HSA-ID has accounts in several organisations pick
/// one; it sets the double-submit cookie whose token the form carries.
async fn choice_page(siths: &SithsLogin, lang: Lang, users: &[User]) -> Response {
    let Ok(token) = SessionToken::generate() else {
        return page(
            &HeaderMap::new(),
            Problem::unavailable(lang),
            &siths.portal_url,
        );
    };
    let mut choices = Vec::new();
    {
        let Ok(mut conn) = siths.api.database.pool().acquire().await else {
            return page(
                &HeaderMap::new(),
                Problem::unavailable(lang),
                &siths.portal_url,
            );
        };
        for user in users {
            match repo::tenants::get(&mut conn, user.tenant_id).await {
                Ok(Some(tenant)) => choices.push((tenant.id, tenant.name)),
                Ok(None) => {}
                Err(error) => {
                    tracing::error!(%error, "SITHS organisation choice failed");
                    return page(
                        &HeaderMap::new(),
                        Problem::unavailable(lang),
                        &siths.portal_url,
                    );
                }
            }
        }
    }
    choices.sort_by(|a, b| a.1.cmp(&b.1));
    let (title, intro, submit, other, other_tag) = match lang {
        Lang::En => (
            "Choose organisation",
            "Your HSA-ID has accounts with several organisations. Choose the one to log in to.",
            "Log in",
            "På svenska",
            "sv",
        ),
        Lang::Sv => (
            "Välj organisation",
            "Ditt HSA-id har konton hos flera organisationer. Välj den du vill logga in hos.",
            "Logga in",
            "In English",
            "en",
        ),
    };
    let options: String = choices
        .iter()
        .map(|(id, name)| {
            format!(
                "<p><label><input type=\"radio\" name=\"tenant\" value=\"{id}\" required> \
                 {}</label></p>",
                escape(name)
            )
        })
        .collect();
    let html = format!(
        "<!doctype html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <title>{title}</title></head><body><main><h1>{title}</h1><p>{intro}</p>\
         <form method=\"post\" action=\"/siths/login?lang={lang}\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{token}\">{options}\
         <p><button type=\"submit\">{submit}</button></p></form>\
         <p><a href=\"/siths/login?lang={other_tag}\" lang=\"{other_tag}\">{other}</a></p>\
         </main></body></html>\n",
        lang = lang.tag(),
        token = token.expose(),
    );
    let mut response = (StatusCode::OK, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_LANGUAGE,
        HeaderValue::from_static(lang.tag()),
    );
    let set = format!(
        "{CHOICE_COOKIE}={}; Max-Age={CHOICE_SECS}; Path=/; Secure; HttpOnly; SameSite=Strict",
        token.expose()
    );
    if let Ok(set) = HeaderValue::from_str(&set) {
        headers.insert(header::SET_COOKIE, set);
    }
    no_store(response)
}

/// Starts the web session of `user` (ending the browser's previous one) and sends the
/// browser to the portal; `clear_choice` also removes the organisation-choice cookie.
/// Who a card login starts a session for, and when.
struct Login<'a> {
    user: &'a User,
    hsa_id: &'a str,
    loa: Option<u8>,
    at: time::OffsetDateTime,
}

async fn start_session(
    siths: &SithsLogin,
    headers: &HeaderMap,
    lang: Lang,
    source: Option<String>,
    login: Login<'_>,
    clear_choice: bool,
) -> Response {
    let Login {
        user,
        hsa_id,
        loa,
        at,
    } = login;
    // A browser that was logged in is logged out first; the new session has a new token
    // either way, so a planted cookie never becomes a logged-in one (no fixation).
    if let Some(previous) = token(headers)
        && let Err(error) =
            web_session::logout(&siths.api.database, &previous, source.as_deref()).await
    {
        tracing::warn!(%error, "previous web session not ended");
    }
    let login = web_session::login_at(
        &siths.api.database,
        siths.api.web_sessions,
        user,
        LoginMethod::Siths,
        loa,
        source.as_deref(),
        at,
    )
    .await;
    match login {
        Ok((token, _session)) => {
            tracing::info!(user = %user.id, loa, "SITHS login");
            let by_card = Attempt {
                source_address: source.as_deref(),
                account: Some(hsa_id),
            };
            if let Err(error) = throttle::record_success(&siths.api.database, &by_card).await {
                tracing::warn!(%error, "login throttle not cleared");
            }
            let mut response = no_store(StatusCode::SEE_OTHER.into_response());
            let headers = response.headers_mut();
            headers.insert(
                header::SET_COOKIE,
                set_cookie(&token, siths.api.web_sessions),
            );
            if clear_choice {
                headers.append(
                    header::SET_COOKIE,
                    HeaderValue::from_static(
                        "__Host-hamn_siths_choice=; Max-Age=0; Path=/; Secure; HttpOnly; \
                         SameSite=Strict",
                    ),
                );
            }
            if let Ok(location) = HeaderValue::from_str(&siths.portal_url) {
                headers.insert(header::LOCATION, location);
            }
            response
        }
        Err(error) => {
            tracing::error!(%error, "SITHS login failed");
            page(headers, Problem::unavailable(lang), &siths.portal_url)
        }
    }
}

/// The audit name of a certificate not (yet) verified: its fingerprint only.
fn attempted_unverified(der: &[u8]) -> String {
    let hex = hamn_certs::client_auth::sha256_hex(der);
    format!("(unverified certificate) sha256:{hex}")
}

/// The refusal page when the address or card is held back after failed logins (audited
/// as a refused `user.login`, reason `throttled`).
async fn throttled(
    siths: &SithsLogin,
    headers: &HeaderMap,
    lang: Lang,
    source: &Option<String>,
    attempt: &Attempt<'_>,
    at: time::OffsetDateTime,
) -> Option<Response> {
    match throttle::check(&siths.api.database, attempt, at).await {
        Ok(Verdict::Allowed) => None,
        Ok(Verdict::Blocked { retry_after, .. }) => {
            tracing::info!(retry_after = retry_after.as_secs(), "SITHS login throttled");
            let name = attempt.account.unwrap_or("(card not read yet)");
            if let Err(error) = web_session::audit_login_refused(
                &siths.api.database,
                name,
                None,
                LoginMethod::Siths,
                source.as_deref(),
                "throttled",
            )
            .await
            {
                tracing::warn!(%error, "refused login not audited");
            }
            Some(page(
                headers,
                Problem::throttled(lang, retry_after),
                &siths.portal_url,
            ))
        }
        Err(error) => {
            tracing::error!(%error, "login throttle unavailable");
            Some(page(headers, Problem::unavailable(lang), &siths.portal_url))
        }
    }
}

/// A refusal of a card whose HSA-ID was read: counted against the card and the address.
async fn refuse_card(
    siths: &SithsLogin,
    headers: &HeaderMap,
    lang: Lang,
    source: Option<String>,
    attempted: &str,
    hsa_id: &str,
    refusal: SithsRefusal,
) -> Response {
    count_failure(siths, source.as_deref(), Some(hsa_id)).await;
    refuse_uncounted(siths, headers, lang, source, attempted, None, refusal).await
}

async fn count_failure(siths: &SithsLogin, source: Option<&str>, account: Option<&str>) {
    let attempt = Attempt {
        source_address: source,
        account,
    };
    let at = siths.api.access.clock.now();
    if let Err(error) = throttle::record_failure(
        &siths.api.database,
        &siths.api.access.throttle,
        &attempt,
        at,
    )
    .await
    {
        tracing::warn!(%error, "failed login not counted");
    }
}

/// A refusal before an HSA-ID was read: counted against the address (unless the CRL
/// was missing, which is not the user's doing).
async fn refuse(
    siths: &SithsLogin,
    headers: &HeaderMap,
    lang: Lang,
    source: Option<String>,
    attempted: &str,
    user: Option<&User>,
    refusal: SithsRefusal,
) -> Response {
    if refusal != SithsRefusal::RevocationUnknown {
        count_failure(siths, source.as_deref(), None).await;
    }
    refuse_uncounted(siths, headers, lang, source, attempted, user, refusal).await
}

async fn refuse_uncounted(
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

    #[test]
    fn the_choice_form_needs_a_uuid_and_a_token_of_the_exact_shape() {
        let tenant = uuid::Uuid::now_v7();
        let token = SessionToken::generate().expect("token");
        let body = format!("tenant={tenant}&csrf={}", token.expose());
        assert_eq!(choice_form(body.as_bytes()), Some((tenant, token.clone())));
        for bad in [
            String::new(),
            format!("tenant={tenant}"),
            format!("csrf={}", token.expose()),
            format!("tenant=not-a-uuid&csrf={}", token.expose()),
            format!("tenant={tenant}&csrf=short"),
            format!("tenant={tenant}&csrf={}%41", &token.expose()[1..]),
            format!(
                "{}tenant={tenant}&csrf={}",
                "x=1&".repeat(8),
                token.expose()
            ),
        ] {
            assert_eq!(choice_form(bad.as_bytes()), None, "{bad}");
        }
        assert_eq!(choice_form(b"\xff\xfe=\x00"), None);
    }

    fn identity(serial: Option<&str>, person: bool) -> ClientIdentity {
        ClientIdentity {
            subject_cn: Some("x".into()),
            subject_serial_number: serial.map(str::to_owned),
            given_name: person.then(|| "Åsa".to_owned()),
            surname: person.then(|| "Öberg".to_owned()),
            issuer_cn: Some("Hamn Test SITHS CA".into()),
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
