//! The CSRF layer around every route of the portal (its API, the admin API at `/api/v1`,
//! and whatever is added there): a request that is not GET, HEAD or OPTIONS must
//!
//! 1. come from the portal's own origin (`Origin` equal to the public URL's) and carry
//!    `Content-Type: application/json`, which a cross-site form cannot send without a
//!    CORS preflight this gateway never grants; and
//! 2. when it carries a live web session, carry that session's CSRF token in
//!    `X-CSRF-Token` ([`hamn_broker::web_session::csrf_token`], read by the portal from
//!    `/portal/api/me`), which a cross-site page can neither read nor guess.
//!
//! The session cookie is `SameSite=Lax` (so the IdP's cross-site POST to the SAML ACS can
//! complete a login), which makes the token necessary: Lax alone still sends the cookie on
//! some cross-site requests. The only exemption is the SAML ACS ([`is_exempt`]), whose
//! POST comes from the IdP's origin and is bound to the browser by its signed response's
//! InResponseTo instead. Refusals are 403 problem documents in Swedish or English.
//! A session the layer authenticated travels on in the request's extensions, so the
//! handler does not look it up again.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hamn_broker::web_session;

use super::api::PortalApi;
use super::lang::Lang;
use super::problem::Problem;
use super::web_session::{WebUser, token};

/// The header that carries the session's CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsrfRefusal {
    NotJson,
    NoOrigin,
    ForeignOrigin,
    /// A live session but no `X-CSRF-Token`.
    TokenMissing,
    /// A live session and a token that is not its own.
    TokenWrong,
}

impl CsrfRefusal {
    fn problem(self, lang: Lang) -> Problem {
        match self {
            Self::NotJson | Self::NoOrigin | Self::ForeignOrigin => Problem::new(
                StatusCode::FORBIDDEN,
                "cross_site_request",
                lang,
                "Begäran kom inte från portalen och avvisades.",
                "The request did not come from the portal and was refused.",
            ),
            Self::TokenMissing | Self::TokenWrong => Problem::new(
                StatusCode::FORBIDDEN,
                "csrf_token",
                lang,
                "Begäran saknade portalens säkerhetskod och avvisades. Ladda om sidan och \
                 försök igen.",
                "The request lacked the portal's security code and was refused. Reload the \
                 page and try again.",
            ),
        }
    }
}

/// Whether a path is exempt: only the SAML assertion consumer service
/// (`/saml/{tenant}/acs`), which the IdP's page POSTs to cross-site.
pub fn is_exempt(path: &str) -> bool {
    let mut parts = path.split('/');
    matches!(
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next()),
        (Some(""), Some("saml"), Some(tenant), Some("acs"), None) if !tenant.is_empty()
    )
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Checks the origin and content type of a state-changing request; safe methods pass.
pub fn check(method: &Method, headers: &HeaderMap, origin: &str) -> Result<(), CsrfRefusal> {
    if is_safe(method) {
        return Ok(());
    }
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return Err(CsrfRefusal::NotJson);
    }
    same_origin(headers, origin)
}

/// The request names `origin` in its `Origin` header. Every browser sends it on a POST; a
/// form that cannot be JSON (the SITHS organisation choice) relies on this and a token.
pub fn same_origin(headers: &HeaderMap, origin: &str) -> Result<(), CsrfRefusal> {
    match headers.get(header::ORIGIN).map(|v| v.to_str()) {
        None => Err(CsrfRefusal::NoOrigin),
        Some(Ok(sent)) if sent.eq_ignore_ascii_case(origin) => Ok(()),
        Some(_) => Err(CsrfRefusal::ForeignOrigin),
    }
}

/// The token a state-changing request must carry for `session`.
pub fn check_token(
    session: &hamn_broker::model::WebSession,
    headers: &HeaderMap,
) -> Result<(), CsrfRefusal> {
    let sent = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
    match sent {
        None | Some("") => Err(CsrfRefusal::TokenMissing),
        Some(t) if web_session::csrf_matches(session, t.trim()) => Ok(()),
        Some(_) => Err(CsrfRefusal::TokenWrong),
    }
}

fn lang_of(headers: &HeaderMap) -> Lang {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(Lang::from_accept_language)
        .unwrap_or_default()
}

/// The layer: refuses with a 403 problem document.
pub async fn guard(
    State(api): State<Arc<PortalApi>>,
    mut request: Request,
    next: Next,
) -> Response {
    if is_safe(request.method()) || is_exempt(request.uri().path()) {
        return next.run(request).await;
    }
    let lang = lang_of(request.headers());
    let refuse = |refusal: CsrfRefusal, path: &str| {
        tracing::info!(?refusal, %path, "cross-site request refused");
        refusal.problem(lang).into_response()
    };
    if let Err(refusal) = check(request.method(), request.headers(), &api.origin) {
        return refuse(refusal, request.uri().path());
    }
    if let Some(cookie) = token(request.headers()) {
        let found = web_session::authenticate_at(
            &api.database,
            api.web_sessions,
            &cookie,
            api.access.clock.now(),
        )
        .await;
        match found {
            Ok(Some((session, user))) => {
                if let Err(refusal) = check_token(&session, request.headers()) {
                    return refuse(refusal, request.uri().path());
                }
                request.extensions_mut().insert(WebUser { session, user });
            }
            // No live session behind the cookie: there is nothing to ride on.
            Ok(None) => {}
            Err(error) => {
                tracing::error!(%error, "web session lookup failed");
                return Problem::unavailable(lang).into_response();
            }
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    const ORIGIN: &str = "https://localhost:8443";

    fn headers(pairs: &[(header::HeaderName, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(name.clone(), HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn state_changes_need_json_from_the_portal_origin() {
        let json = (header::CONTENT_TYPE, "application/json; charset=utf-8");
        let own = (header::ORIGIN, ORIGIN);
        assert_eq!(
            check(
                &Method::POST,
                &headers(&[json.clone(), own.clone()]),
                ORIGIN
            ),
            Ok(())
        );
        assert_eq!(check(&Method::GET, &headers(&[]), ORIGIN), Ok(()));
        assert_eq!(
            check(&Method::POST, &headers(std::slice::from_ref(&own)), ORIGIN),
            Err(CsrfRefusal::NotJson)
        );
        assert_eq!(
            check(
                &Method::DELETE,
                &headers(&[(header::CONTENT_TYPE, "text/plain"), own]),
                ORIGIN
            ),
            Err(CsrfRefusal::NotJson)
        );
        assert_eq!(
            check(&Method::POST, &headers(std::slice::from_ref(&json)), ORIGIN),
            Err(CsrfRefusal::NoOrigin)
        );
        for foreign in ["https://evil.example", "null", "https://localhost:8444"] {
            assert_eq!(
                check(
                    &Method::PUT,
                    &headers(&[json.clone(), (header::ORIGIN, foreign)]),
                    ORIGIN
                ),
                Err(CsrfRefusal::ForeignOrigin),
                "{foreign}"
            );
        }
    }

    #[test]
    fn only_the_saml_acs_is_exempt() {
        assert!(is_exempt("/saml/demo/acs"));
        for path in [
            "/saml//acs",
            "/saml/demo/acs/x",
            "/saml/demo/metadata",
            "/portal/api/logout",
            "/api/v1/saml/demo/acs",
            "/saml/acs",
        ] {
            assert!(!is_exempt(path), "{path}");
        }
    }
}
