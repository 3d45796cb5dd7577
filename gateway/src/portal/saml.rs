//! The SAML 2.0 service provider of each tenant, on the portal origin:
//!
//! - `GET /saml/{tenant}/metadata`: our SP metadata (signing and `use="encryption"` keys);
//! - `GET /saml/{tenant}/login`: a signed AuthnRequest over HTTP-Redirect; its random
//!   request id is stored with an opaque RelayState handle and bound to this browser by
//!   the `__Host-hamn_saml` cookie (SameSite=None: the ACS POST comes from the IdP's site);
//! - `POST /saml/{tenant}/acs`: the IdP's Response (HTTP-POST, bounded body). The login
//!   attempt is taken (first use only), the response is verified
//!   ([`hamn_broker::saml::response`]), its assertion id enters the replay cache, the user
//!   is created or updated just in time with its groups, and a web session with method
//!   `saml` starts (a new token: no fixation), capped by SessionNotOnOrAfter; the browser
//!   gets the session cookie and a 303 to the portal;
//! - `POST /saml/{tenant}/logout` (from the portal's own origin): ends the web session and
//!   answers where to go next — the IdP's SingleLogoutService with a signed LogoutRequest
//!   when it offers one, else the portal. `GET` of the same path returns to the portal
//!   (where an IdP sends its LogoutResponse).
//!
//! Every refusal is an audited `user.login` refusal with a reason word and a page in
//! Swedish or English (problem+json when asked for).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hamn_broker::db::DbError;
use hamn_broker::model::{LoginMethod, Tenant, TenantSaml};
use hamn_broker::repo::saml::{SamlRequest, SamlSession, TakenRequest};
use hamn_broker::saml::{IdpMetadata, SamlRefusal, SpCredentials, SpExpectations, SpUrls};
use hamn_broker::throttle::{self, Attempt, Verdict};
use hamn_broker::{SessionToken, WebSessionPolicy, repo, saml, web_session};

use super::api::{PortalApi, Source, no_store};
use super::lang::Lang;
use super::problem::{Problem, refusal_page};
use super::siths::PageLang;
use super::web_session::{set_cookie, token};

/// The login-attempt cookie: binds an AuthnRequest to the browser that started it.
pub const ATTEMPT_COOKIE: &str = "__Host-hamn_saml";
/// How long a login at the IdP may take.
pub const ATTEMPT_LIFETIME: Duration = Duration::from_secs(10 * 60);
/// Largest ACS body read (a base64 response of at most
/// [`hamn_broker::saml::prescan::MAX_BASE64`] characters, URL-encoded, and RelayState).
pub const MAX_ACS_BODY: usize = 400 * 1024;

/// What the SAML endpoints need.
#[derive(Debug)]
pub struct SamlLogin {
    pub api: Arc<PortalApi>,
    /// The SP key (signs requests, decrypts assertions) and certificate.
    pub sp: SpCredentials,
    /// The portal's public URL: the base of every SP URL and where logins land.
    pub public_url: String,
}

/// The SAML routes, with the portal's security headers.
pub fn saml_router(login: Arc<SamlLogin>) -> Router {
    Router::new()
        .route("/saml/{tenant}/metadata", get(metadata))
        .route("/saml/{tenant}/login", get(self::login))
        .route("/saml/{tenant}/acs", axum::routing::post(acs))
        .route("/saml/{tenant}/logout", get(logged_out).post(logout))
        .with_state(login)
        .layer(axum::middleware::map_response(crate::headers::add))
}

/// Why a login was refused before or apart from response verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No such tenant, or SAML is off for it.
    SamlOff,
    /// The stored IdP metadata fails its checks now (expired, no signing certificate…).
    IdpMetadata(&'static str),
    /// A response that answers no request of ours (no RelayState).
    Unsolicited,
    /// The RelayState names no live login attempt (expired, used, or never issued).
    UnknownRequest,
    /// The attempt belongs to another browser (login CSRF or a stolen response).
    WrongBrowser,
    /// The assertion id was seen before.
    Replayed,
    /// The ACS body is larger than [`MAX_ACS_BODY`] or has no SAMLResponse.
    BadForm,
    /// The response itself was refused.
    Response(SamlRefusal),
}

impl Refusal {
    pub fn reason(&self) -> &'static str {
        match self {
            Self::SamlOff => "saml_off",
            Self::IdpMetadata(reason) => reason,
            Self::Unsolicited => "unsolicited",
            Self::UnknownRequest => "unknown_request",
            Self::WrongBrowser => "wrong_browser",
            Self::Replayed => "replayed",
            Self::BadForm => "malformed_response",
            Self::Response(r) => r.reason(),
        }
    }

    fn problem(&self, lang: Lang) -> Problem {
        use SamlRefusal as R;
        let (status, sv, en) = match self {
            Self::SamlOff => (
                StatusCode::NOT_FOUND,
                "Organisationen har ingen SAML-inloggning i Hamn.",
                "This organisation has no SAML login in Hamn.",
            ),
            Self::IdpMetadata(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Organisationens inloggningstjänst (IdP) är inte korrekt konfigurerad just nu: \
                 dess metadata eller signeringscertifikat är ogiltigt eller har gått ut. \
                 Kontakta din administratör.",
                "Your organisation's identity provider is not correctly configured right now: \
                 its metadata or signing certificate is invalid or has expired. Please contact \
                 your administrator.",
            ),
            Self::Unsolicited => (
                StatusCode::FORBIDDEN,
                "Inloggningssvaret hörde inte till någon inloggning som startats här. Börja om \
                 från portalen.",
                "The login response does not belong to a login started here. Please start \
                 again from the portal.",
            ),
            Self::UnknownRequest => (
                StatusCode::FORBIDDEN,
                "Inloggningsförsöket har redan använts eller gått ut. Börja om från portalen.",
                "The login attempt has already been used or has expired. Please start again \
                 from the portal.",
            ),
            Self::WrongBrowser => (
                StatusCode::FORBIDDEN,
                "Inloggningen startades i en annan webbläsare. Börja om från portalen.",
                "The login was started in another browser. Please start again from the portal.",
            ),
            Self::Replayed => (
                StatusCode::FORBIDDEN,
                "Inloggningssvaret har redan använts en gång och avvisades.",
                "The login response has already been used once and was refused.",
            ),
            Self::BadForm | Self::Response(R::Malformed(_) | R::Unreadable(_)) => (
                StatusCode::BAD_REQUEST,
                "Inloggningssvaret från IdP kunde inte läsas.",
                "The login response from the identity provider could not be read.",
            ),
            Self::Response(R::Structure(_)) => (
                StatusCode::FORBIDDEN,
                "Inloggningssvaret har en otillåten struktur och avvisades.",
                "The login response has a structure that is not allowed and was refused.",
            ),
            Self::Response(R::Unsigned | R::BadSignature) => (
                StatusCode::FORBIDDEN,
                "Inloggningssvaret saknar en giltig signatur från organisationens IdP.",
                "The login response lacks a valid signature of your organisation's identity \
                 provider.",
            ),
            Self::Response(R::WeakAlgorithm(_)) => (
                StatusCode::FORBIDDEN,
                "Inloggningssvaret är signerat med en för svag algoritm (minst SHA-256 krävs).",
                "The login response is signed with too weak an algorithm (SHA-256 or stronger \
                 is required).",
            ),
            Self::Response(R::Decrypt(_)) => (
                StatusCode::FORBIDDEN,
                "Det krypterade inloggningssvaret kunde inte dekrypteras.",
                "The encrypted login response could not be decrypted.",
            ),
            Self::Response(
                R::WrongDestination(_) | R::WrongRecipient(_) | R::NoAudience | R::WrongAudience,
            ) => (
                StatusCode::FORBIDDEN,
                "Inloggningssvaret var inte avsett för Hamn.",
                "The login response was not meant for Hamn.",
            ),
            Self::Response(R::WrongInResponseTo(_)) => (
                StatusCode::FORBIDDEN,
                "Inloggningssvaret hör inte till den här inloggningen. Börja om från portalen.",
                "The login response does not belong to this login. Please start again from \
                 the portal.",
            ),
            Self::Response(R::WrongIssuer(_)) => (
                StatusCode::FORBIDDEN,
                "Inloggningssvaret kom inte från organisationens IdP.",
                "The login response did not come from your organisation's identity provider.",
            ),
            Self::Response(R::IdpStatus(_)) => (
                StatusCode::FORBIDDEN,
                "Organisationens IdP kunde inte logga in dig.",
                "Your organisation's identity provider could not log you in.",
            ),
            Self::Response(R::Expired(_)) => (
                StatusCode::FORBIDDEN,
                "Inloggningssvaret har gått ut. Börja om från portalen.",
                "The login response has expired. Please start again from the portal.",
            ),
            Self::Response(R::NotYetValid(_)) => (
                StatusCode::FORBIDDEN,
                "Inloggningssvaret gäller inte ännu (kontrollera klockan).",
                "The login response is not valid yet (check the clock).",
            ),
            Self::Response(R::NoNameId | R::NoBearer) => (
                StatusCode::FORBIDDEN,
                "Inloggningssvaret saknar uppgifter som krävs.",
                "The login response lacks required information.",
            ),
            Self::Response(R::NotMfa(_)) => (
                StatusCode::FORBIDDEN,
                "Inloggningen saknar tvåfaktorsautentisering (kräver tillitsnivå 3 eller \
                 motsvarande). Logga in med tvåfaktor hos din organisation.",
                "The login lacks multi-factor authentication (assurance level 3 or equivalent \
                 is required). Please log in with multi-factor at your organisation.",
            ),
        };
        Problem::new(status, self.reason(), lang, sv, en)
    }
}

/// A tenant whose SAML is on, with its IdP metadata judged now.
struct TenantSp {
    tenant: Tenant,
    config: TenantSaml,
    idp: IdpMetadata,
    urls: SpUrls,
}

async fn tenant_sp(login: &SamlLogin, slug: &str) -> Result<Result<TenantSp, Refusal>, DbError> {
    let mut conn = login.api.database.acquire().await?;
    let Some(tenant) = repo::tenants::get_by_slug(&mut conn, slug).await? else {
        return Ok(Err(Refusal::SamlOff));
    };
    let Some(config) = repo::saml::get(&mut conn, tenant.id)
        .await?
        .filter(|c| c.enabled)
    else {
        return Ok(Err(Refusal::SamlOff));
    };
    let idp = match saml::metadata::parse(&config.idp_metadata_xml, now_unix()) {
        Ok(idp) => idp,
        Err(e) => {
            tracing::warn!(tenant = %tenant.slug, error = %e, "tenant IdP metadata refused");
            return Ok(Err(Refusal::IdpMetadata(e.reason())));
        }
    };
    let urls = SpUrls::new(&login.public_url, &tenant.slug);
    Ok(Ok(TenantSp {
        tenant,
        config,
        idp,
        urls,
    }))
}

fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// `GET /saml/{tenant}/metadata`.
async fn metadata(
    State(login): State<Arc<SamlLogin>>,
    Path(slug): Path<String>,
    PageLang(lang): PageLang,
    headers: HeaderMap,
) -> Response {
    let found = async {
        let mut conn = login.api.database.acquire().await?;
        let Some(tenant) = repo::tenants::get_by_slug(&mut conn, &slug).await? else {
            return Ok::<_, DbError>(None);
        };
        Ok(repo::saml::get(&mut conn, tenant.id)
            .await?
            .map(|c| (tenant, c)))
    }
    .await;
    match found {
        Ok(Some((tenant, config))) => {
            let urls = SpUrls::new(&login.public_url, &tenant.slug);
            let xml = saml::sp::sp_metadata(&config.sp_entity_id, &urls, &login.sp.cert_der);
            let mut response = xml.into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/samlmetadata+xml"),
            );
            response
        }
        Ok(None) => page(&headers, Refusal::SamlOff.problem(lang), &login.public_url),
        Err(error) => {
            tracing::error!(%error, "SAML metadata failed");
            page(&headers, Problem::unavailable(lang), &login.public_url)
        }
    }
}

fn attempt_cookie(token: &SessionToken) -> HeaderValue {
    let value = format!(
        "{ATTEMPT_COOKIE}={}; Max-Age={}; Path=/; Secure; HttpOnly; SameSite=None",
        token.expose(),
        ATTEMPT_LIFETIME.as_secs()
    );
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static(""))
}

/// The login-attempt token in the request's cookies, when well-formed.
fn attempt_token(headers: &HeaderMap) -> Option<SessionToken> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .take(64)
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == ATTEMPT_COOKIE)
        .and_then(|(_, value)| SessionToken::parse(value.trim()))
}

fn after(d: Duration) -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc() + d
}

/// `GET /saml/{tenant}/login`.
async fn login(
    State(login): State<Arc<SamlLogin>>,
    Path(slug): Path<String>,
    PageLang(lang): PageLang,
    Source(source): Source,
    headers: HeaderMap,
) -> Response {
    let sp = match tenant_sp(&login, &slug).await {
        Ok(Ok(sp)) => sp,
        Ok(Err(refusal)) => {
            return refuse(&login, &headers, lang, source, &slug, None, refusal).await;
        }
        Err(error) => {
            tracing::error!(%error, "SAML login failed");
            return page(&headers, Problem::unavailable(lang), &login.public_url);
        }
    };
    let started = async {
        // One cookie per browser serves several attempts (tabs); a fresh one otherwise.
        let browser = match attempt_token(&headers) {
            Some(t) => t,
            None => SessionToken::generate().map_err(|e| e.to_string())?,
        };
        let request_id = saml::request::random_id("_").map_err(|e| e.to_string())?;
        let relay_state = saml::request::random_handle().map_err(|e| e.to_string())?;
        let xml = saml::request::authn_request_xml(&saml::request::AuthnRequestSpec {
            id: &request_id,
            sp_entity_id: &sp.config.sp_entity_id,
            acs_url: &sp.urls.acs,
            sso_url: &sp.idp.sso_redirect,
            authn_contexts: &sp.config.requested_authn_contexts,
            force_authn: sp.config.force_authn,
        })
        .map_err(|e| e.to_string())?;
        let url = saml::request::redirect_url(
            &sp.idp.sso_redirect,
            "SAMLRequest",
            &xml,
            Some(&relay_state),
            &login.sp.key,
        )
        .map_err(|e| e.to_string())?;
        let now = time::OffsetDateTime::now_utc();
        let mut conn = login
            .api
            .database
            .acquire()
            .await
            .map_err(|e| e.to_string())?;
        // Logins carry the clean-up of expired attempts and replay-cache entries.
        repo::saml::prune(&mut conn, now)
            .await
            .map_err(|e| e.to_string())?;
        repo::saml::insert_request(
            &mut conn,
            &SamlRequest {
                relay_state,
                request_id,
                tenant_id: sp.tenant.id,
                browser_hash: browser.hash(),
                expires_at: after(ATTEMPT_LIFETIME),
            },
            now,
        )
        .await
        .map_err(|e| e.to_string())?;
        Ok::<_, String>((browser, url))
    }
    .await;
    match started {
        Ok((browser, url)) => {
            let mut response = no_store(StatusCode::SEE_OTHER.into_response());
            let h = response.headers_mut();
            h.insert(header::SET_COOKIE, attempt_cookie(&browser));
            match HeaderValue::from_str(&url) {
                Ok(location) => {
                    h.insert(header::LOCATION, location);
                    response
                }
                Err(_) => page(&headers, Problem::unavailable(lang), &login.public_url),
            }
        }
        Err(error) => {
            tracing::error!(%error, "SAML login failed");
            page(&headers, Problem::unavailable(lang), &login.public_url)
        }
    }
}

/// The fields of the ACS form.
fn acs_form(body: &[u8]) -> Option<(String, Option<String>)> {
    let mut response = None;
    let mut relay = None;
    for (key, value) in form_urlencoded::parse(body).take(16) {
        match key.as_ref() {
            "SAMLResponse" if response.is_none() => response = Some(value.into_owned()),
            "RelayState" if relay.is_none() => relay = Some(value.into_owned()),
            _ => {}
        }
    }
    Some((response?, relay.filter(|r| !r.is_empty())))
}

/// `POST /saml/{tenant}/acs`.
async fn acs(
    State(login): State<Arc<SamlLogin>>,
    Path(slug): Path<String>,
    PageLang(lang): PageLang,
    Source(source): Source,
    request: Request,
) -> Response {
    let headers = request.headers().clone();
    let who = format!("saml:{}", slug.chars().take(64).collect::<String>());
    // Failed ACS posts are held back per address before any XML is looked at: signature
    // checks are the expensive part an attacker would make us repeat.
    let by_address = Attempt {
        source_address: source.as_deref(),
        account: None,
    };
    let at = login.api.access.clock.now();
    match throttle::check(&login.api.database, &by_address, at).await {
        Ok(Verdict::Allowed) => {}
        Ok(Verdict::Blocked { retry_after, .. }) => {
            if let Err(error) = web_session::audit_login_refused(
                &login.api.database,
                &who,
                None,
                LoginMethod::Saml,
                source.as_deref(),
                "throttled",
            )
            .await
            {
                tracing::warn!(%error, "refused login not audited");
            }
            return page(
                &headers,
                Problem::throttled(lang, retry_after),
                &login.public_url,
            );
        }
        Err(error) => {
            tracing::error!(%error, "login throttle unavailable");
            return page(&headers, Problem::unavailable(lang), &login.public_url);
        }
    }
    let body = axum::body::to_bytes(request.into_body(), MAX_ACS_BODY).await;
    let Some((encoded, relay_state)) = body.ok().as_deref().and_then(acs_form) else {
        return refuse(&login, &headers, lang, source, &who, None, Refusal::BadForm).await;
    };
    let sp = match tenant_sp(&login, &slug).await {
        Ok(Ok(sp)) => sp,
        Ok(Err(refusal)) => {
            return refuse(&login, &headers, lang, source, &who, None, refusal).await;
        }
        Err(error) => {
            tracing::error!(%error, "SAML ACS failed");
            return page(&headers, Problem::unavailable(lang), &login.public_url);
        }
    };
    match complete(
        &login,
        &sp,
        &headers,
        source.as_deref(),
        &encoded,
        relay_state,
    )
    .await
    {
        Ok(Ok(response)) => response,
        Ok(Err((refusal, name))) => {
            let who = match name {
                Some(name_id) => format!("{who} {}", name_id.chars().take(120).collect::<String>()),
                None => who,
            };
            refuse(
                &login,
                &headers,
                lang,
                source,
                &who,
                Some(&sp.tenant),
                refusal,
            )
            .await
        }
        Err(error) => {
            tracing::error!(%error, "SAML ACS failed");
            page(&headers, Problem::unavailable(lang), &login.public_url)
        }
    }
}

type Refused = (Refusal, Option<String>);

async fn complete(
    login: &SamlLogin,
    sp: &TenantSp,
    headers: &HeaderMap,
    source: Option<&str>,
    encoded: &str,
    relay_state: Option<String>,
) -> Result<Result<Response, Refused>, String> {
    let db = &login.api.database;
    let Some(relay_state) = relay_state else {
        return Ok(Err((Refusal::Unsolicited, None)));
    };
    let browser = attempt_token(headers).map(|t| t.hash());
    let now = time::OffsetDateTime::now_utc();
    let taken = {
        let mut conn = db.acquire().await.map_err(|e| e.to_string())?;
        repo::saml::take_request(
            &mut conn,
            &relay_state,
            sp.tenant.id,
            browser.as_deref(),
            now,
        )
        .await
        .map_err(|e| e.to_string())?
    };
    let request = match taken {
        TakenRequest::Taken(r) => r,
        TakenRequest::Unknown => return Ok(Err((Refusal::UnknownRequest, None))),
        TakenRequest::OtherBrowser => return Ok(Err((Refusal::WrongBrowser, None))),
    };
    let scanned = match saml::prescan::decode_response(encoded) {
        Ok(s) => s,
        Err(e) => return Ok(Err((Refusal::Response(e.into()), None))),
    };
    // The replay cache by the (not yet verified) assertion id: a hit is refused whether
    // it is a replay or a forgery; the id is recorded only after verification.
    if let Some(id) = scanned.assertion_id.as_deref() {
        let mut conn = db.acquire().await.map_err(|e| e.to_string())?;
        if repo::saml::assertion_seen(&mut conn, &sp.idp.entity_id, id)
            .await
            .map_err(|e| e.to_string())?
        {
            return Ok(Err((Refusal::Replayed, None)));
        }
    }
    let idp = sp.idp.clone();
    let key = login.sp.key.clone();
    let entity_id = sp.config.sp_entity_id.clone();
    let acs_url = sp.urls.acs.clone();
    let accepted = sp.config.accepted_mfa_contexts.clone();
    let request_id = request.request_id.clone();
    // xmlsec and RSA are CPU work: off the async threads.
    let verified = tokio::task::spawn_blocking(move || {
        let expect = SpExpectations {
            entity_id: &entity_id,
            acs_url: &acs_url,
            accepted_mfa: &accepted,
            request_id: &request_id,
            skew: SpExpectations::DEFAULT_SKEW,
            max_age: SpExpectations::DEFAULT_MAX_AGE,
        };
        saml::response::verify(&scanned, &idp, &key, &expect, chrono::Utc::now())
    })
    .await
    .map_err(|e| e.to_string())?;
    let verified = match verified {
        Ok(v) => v,
        Err(refusal) => return Ok(Err((Refusal::Response(refusal), None))),
    };

    // Replay cache, user and groups in one transaction.
    let replay_until =
        time::OffsetDateTime::from_unix_timestamp(verified.replay_until.timestamp()).unwrap_or(now);
    let mut tx = db.begin().await.map_err(|e| e.to_string())?;
    match repo::saml::record_assertion(
        &mut tx,
        &verified.issuer,
        &verified.assertion_id,
        sp.tenant.id,
        replay_until,
    )
    .await
    {
        Ok(()) => {}
        Err(DbError::Unique(_)) => {
            return Ok(Err((Refusal::Replayed, Some(verified.name_id.clone()))));
        }
        Err(e) => return Err(e.to_string()),
    }
    let user = saml::provision::provision(&mut tx, &sp.config, &verified, now)
        .await
        .map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())?;

    // The IdP's SessionNotOnOrAfter caps the web session.
    let mut policy: WebSessionPolicy = login.api.web_sessions;
    if let Some(end) = verified.session_not_on_or_after {
        let left = Duration::from_secs(
            u64::try_from(end.timestamp() - now.unix_timestamp())
                .unwrap_or(1)
                .max(1),
        );
        policy.max = policy.max.min(left);
        policy.idle = policy.idle.min(policy.max);
    }
    // A browser that was logged in is logged out first; the new session has a new token
    // either way, so a planted cookie never becomes a logged-in one (no fixation).
    if let Some(previous) = token(headers)
        && let Err(error) = web_session::logout(db, &previous, source).await
    {
        tracing::warn!(%error, "previous web session not ended");
    }
    let (session_token, session) = web_session::login(db, policy, &user, LoginMethod::Saml, source)
        .await
        .map_err(|e| e.to_string())?;
    {
        let mut conn = db.acquire().await.map_err(|e| e.to_string())?;
        repo::saml::insert_session(
            &mut conn,
            &SamlSession {
                web_session_id: session.id,
                tenant_id: sp.tenant.id,
                name_id: verified.name_id.clone(),
                name_id_format: verified.name_id_format.clone(),
                session_index: verified.session_index.clone(),
            },
        )
        .await
        .map_err(|e| e.to_string())?;
    }
    tracing::info!(user = %user.id, tenant = %sp.tenant.slug, "SAML login");
    let mut response = no_store(StatusCode::SEE_OTHER.into_response());
    let h = response.headers_mut();
    h.insert(header::SET_COOKIE, set_cookie(&session_token, policy));
    if let Ok(location) = HeaderValue::from_str(&login.public_url) {
        h.insert(header::LOCATION, location);
    }
    Ok(Ok(response))
}

/// `GET /saml/{tenant}/logout`: where an IdP returns after single logout.
async fn logged_out(State(login): State<Arc<SamlLogin>>) -> Response {
    let mut response = no_store(StatusCode::SEE_OTHER.into_response());
    if let Ok(location) = HeaderValue::from_str(&login.public_url) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// `POST /saml/{tenant}/logout`: only from the portal's origin (a cross-site page cannot
/// log a user out). Answers `{"redirect": URL}`: the IdP's SLO with a signed
/// LogoutRequest, or the portal.
async fn logout(
    State(login): State<Arc<SamlLogin>>,
    Path(slug): Path<String>,
    lang: Lang,
    Source(source): Source,
    headers: HeaderMap,
) -> Response {
    let own = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|o| o.eq_ignore_ascii_case(&login.api.origin));
    if !own {
        return Problem::new(
            StatusCode::FORBIDDEN,
            "cross_site_request",
            lang,
            "Begäran kom inte från portalen och avvisades.",
            "The request did not come from the portal and was refused.",
        )
        .into_response();
    }
    let result = async {
        let db = &login.api.database;
        let Some(session_token) = token(&headers) else {
            return Ok::<_, String>(login.public_url.clone());
        };
        let live = web_session::authenticate(db, login.api.web_sessions, &session_token)
            .await
            .map_err(|e| e.to_string())?;
        let saml_session = match &live {
            Some((session, _)) => {
                let mut conn = db.acquire().await.map_err(|e| e.to_string())?;
                repo::saml::get_session(&mut conn, session.id)
                    .await
                    .map_err(|e| e.to_string())?
            }
            None => None,
        };
        web_session::logout(db, &session_token, source.as_deref())
            .await
            .map_err(|e| e.to_string())?;
        let Some(saml_session) = saml_session else {
            return Ok(login.public_url.clone());
        };
        let sp = match tenant_sp(&login, &slug).await.map_err(|e| e.to_string())? {
            Ok(sp) if sp.tenant.id == saml_session.tenant_id => sp,
            _ => return Ok(login.public_url.clone()),
        };
        let Some(slo) = sp.idp.slo_redirect.as_deref() else {
            return Ok(login.public_url.clone());
        };
        let id = saml::request::random_id("_").map_err(|e| e.to_string())?;
        let xml = saml::request::logout_request_xml(
            &id,
            &sp.config.sp_entity_id,
            slo,
            &saml_session.name_id,
            saml_session.name_id_format.as_deref(),
            saml_session.session_index.as_deref(),
        )
        .map_err(|e| e.to_string())?;
        saml::request::redirect_url(slo, "SAMLRequest", &xml, None, &login.sp.key)
            .map_err(|e| e.to_string())
    }
    .await;
    match result {
        Ok(redirect) => {
            let mut response =
                no_store(axum::Json(serde_json::json!({ "redirect": redirect })).into_response());
            response.headers_mut().insert(
                header::SET_COOKIE,
                HeaderValue::from_static(super::web_session::CLEAR_COOKIE),
            );
            response
        }
        Err(error) => {
            tracing::error!(%error, "SAML logout failed");
            Problem::unavailable(lang).into_response()
        }
    }
}

async fn refuse(
    login: &SamlLogin,
    headers: &HeaderMap,
    lang: Lang,
    source: Option<String>,
    attempted: &str,
    tenant: Option<&Tenant>,
    refusal: Refusal,
) -> Response {
    tracing::info!(reason = refusal.reason(), detail = ?refusal, "SAML login refused");
    let attempt = Attempt {
        source_address: source.as_deref(),
        account: None,
    };
    let at = login.api.access.clock.now();
    if let Err(error) = throttle::record_failure(
        &login.api.database,
        &login.api.access.throttle,
        &attempt,
        at,
    )
    .await
    {
        tracing::warn!(%error, "failed login not counted");
    }
    let name = match tenant {
        Some(t) => format!("{attempted} ({})", t.slug),
        None => attempted.to_owned(),
    };
    if let Err(error) = web_session::audit_login_refused(
        &login.api.database,
        &name,
        None,
        LoginMethod::Saml,
        source.as_deref(),
        refusal.reason(),
    )
    .await
    {
        tracing::warn!(%error, "refused login not audited");
    }
    page(headers, refusal.problem(lang), &login.public_url)
}

fn page(headers: &HeaderMap, problem: Problem, portal_url: &str) -> Response {
    refusal_page(
        headers,
        problem,
        portal_url,
        ("Inloggningen nekades", "Login refused"),
    )
}

#[cfg(test)]
mod tests {
    use super::acs_form;

    #[test]
    fn the_acs_form_takes_the_first_response_and_relay_state() {
        assert_eq!(
            acs_form(b"SAMLResponse=abc%2B&RelayState=r1&SAMLResponse=evil&RelayState=r2"),
            Some(("abc+".to_owned(), Some("r1".to_owned())))
        );
        // An empty RelayState is none: the response is then unsolicited.
        assert_eq!(
            acs_form(b"SAMLResponse=abc&RelayState="),
            Some(("abc".to_owned(), None))
        );
    }

    #[test]
    fn malformed_acs_forms_are_refused_or_read_safely() {
        for body in [
            &b""[..],
            b"RelayState=r1",
            b"samlresponse=abc",
            b"&&&=&=",
            b"\xff\xfe\x00",
        ] {
            assert_eq!(acs_form(body), None, "{body:?}");
        }
        // Only the first 16 pairs are looked at, so a flood of pairs costs nothing more.
        let mut flood = "x=1&".repeat(16);
        flood.push_str("SAMLResponse=late");
        assert_eq!(acs_form(flood.as_bytes()), None);
        // Invalid UTF-8 in a value is replaced, never a panic.
        assert!(acs_form(b"SAMLResponse=%ff%fe").is_some());
    }
}
