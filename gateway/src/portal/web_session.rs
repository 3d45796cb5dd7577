//! The web session cookie on the gateway's side: reading the token from `Cookie`, the
//! `Set-Cookie` values that start and end a session, and [`WebUser`], the extractor that
//! turns a live session into its user (or a 401 problem document). The cookie is
//! `SameSite=Lax` so the IdP's cross-site POST to the SAML ACS ends in a logged-in
//! browser; the CSRF layer ([`super::csrf`]) makes up for what Strict gave.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use hamn_broker::model::{User, WebSession};
use hamn_broker::{SessionToken, WebSessionPolicy, web_session};

use super::api::{PortalApi, SESSION_COOKIE};
use super::lang::Lang;
use super::problem::Problem;

/// The session token in the request's cookies, when one is well-formed.
pub fn token(headers: &HeaderMap) -> Option<SessionToken> {
    cookie(headers, SESSION_COOKIE)
}

/// The cookie `name` when its value has the shape of a token (the SITHS organisation
/// choice's double-submit cookie has).
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<SessionToken> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .take(64)
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(found, _)| *found == name)
        .and_then(|(_, value)| SessionToken::parse(value.trim()))
}

/// `Set-Cookie` for a new session: the browser keeps it no longer than the session's
/// absolute lifetime, sends it only over HTTPS, only to this host, never to scripts, and
/// on cross-site requests only with top-level navigations (`Lax`: the browser arriving at
/// the portal from the IdP after the SAML ACS is logged in; state changes still need the
/// portal's own origin, [`super::csrf`]).
pub fn set_cookie(token: &SessionToken, policy: WebSessionPolicy) -> HeaderValue {
    let value = format!(
        "{SESSION_COOKIE}={}; Max-Age={}; Path=/; Secure; HttpOnly; SameSite=Lax",
        token.expose(),
        policy.max.as_secs()
    );
    // The token is base64url, so the value is always a valid header.
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static(CLEAR_COOKIE))
}

/// `Set-Cookie` that removes the session cookie.
pub const CLEAR_COOKIE: &str =
    "__Host-hamn_session=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax";

/// The logged-in user of a request.
#[derive(Debug, Clone)]
pub struct WebUser {
    pub session: WebSession,
    pub user: User,
}

impl FromRequestParts<Arc<PortalApi>> for WebUser {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, api: &Arc<PortalApi>) -> Result<Self, Problem> {
        // The CSRF layer authenticated state-changing requests already.
        if let Some(known) = parts.extensions.get::<WebUser>() {
            return Ok(known.clone());
        }
        let Ok(lang) = Lang::from_request_parts(parts, api).await;
        let Some(token) = token(&parts.headers) else {
            return Err(Problem::not_logged_in(lang));
        };
        match web_session::authenticate_at(
            &api.database,
            api.web_sessions,
            &token,
            api.access.clock.now(),
        )
        .await
        {
            Ok(Some((session, user))) => Ok(Self { session, user }),
            Ok(None) => Err(Problem::not_logged_in(lang)),
            Err(error) => {
                tracing::error!(%error, "web session lookup failed");
                Err(Problem::unavailable(lang))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_found_among_other_cookies_and_junk_is_ignored() {
        let Ok(t) = SessionToken::generate() else {
            panic!("randomness")
        };
        let mut headers = HeaderMap::new();
        let cookie = format!("a=b; {SESSION_COOKIE}={}; c=d", t.expose());
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&cookie).unwrap_or(HeaderValue::from_static("")),
        );
        assert_eq!(token(&headers), Some(t));
        let mut junk = HeaderMap::new();
        junk.insert(
            header::COOKIE,
            HeaderValue::from_static("__Host-hamn_session=../../etc; x"),
        );
        assert_eq!(token(&junk), None);
        assert_eq!(token(&HeaderMap::new()), None);
    }
}
