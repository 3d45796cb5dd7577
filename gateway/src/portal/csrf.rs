//! Cross-site request forgery guard of the portal API: a request that changes state must
//! come from the portal's own origin (`Origin` header equal to the public URL's origin)
//! and carry `Content-Type: application/json`, which a cross-site form cannot send
//! without a CORS preflight this gateway never grants. Together with the `SameSite=Lax`
//! cookie (never sent on cross-site subrequests) this refuses forged logins, launches and
//! logouts with 403.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::api::PortalApi;
use super::lang::Lang;
use super::problem::Problem;

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsrfRefusal {
    NotJson,
    NoOrigin,
    ForeignOrigin,
}

/// Checks the headers of a state-changing request; safe methods always pass.
pub fn check(method: &Method, headers: &HeaderMap, origin: &str) -> Result<(), CsrfRefusal> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
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
    match headers.get(header::ORIGIN).map(|v| v.to_str()) {
        None => Err(CsrfRefusal::NoOrigin),
        Some(Ok(sent)) if sent.eq_ignore_ascii_case(origin) => Ok(()),
        Some(_) => Err(CsrfRefusal::ForeignOrigin),
    }
}

/// The middleware: refuses with a 403 problem document.
pub async fn guard(State(api): State<Arc<PortalApi>>, request: Request, next: Next) -> Response {
    match check(request.method(), request.headers(), &api.origin) {
        Ok(()) => next.run(request).await,
        Err(refusal) => {
            let lang = request
                .headers()
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .map(Lang::from_accept_language)
                .unwrap_or_default();
            tracing::info!(?refusal, path = %request.uri().path(), "cross-site request refused");
            Problem::new(
                StatusCode::FORBIDDEN,
                "cross_site_request",
                lang,
                "Begäran kom inte från portalen och avvisades.",
                "The request did not come from the portal and was refused.",
            )
            .into_response()
        }
    }
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
                &Method::POST,
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
                    &Method::POST,
                    &headers(&[json.clone(), (header::ORIGIN, foreign)]),
                    ORIGIN
                ),
                Err(CsrfRefusal::ForeignOrigin),
                "{foreign}"
            );
        }
    }
}
