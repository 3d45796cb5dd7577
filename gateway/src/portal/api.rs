//! The portal API's state and route table: the login methods on offer, demo login, who am I
//! (and the user's language), the app list, launch and logout, "Mina sessioner", "Mina
//! utskrifter" and the banners (`notices`) under `/portal/api/`, and `.rdp` files for native
//! clients. Every state-changing route of the portal passes the CSRF
//! layer ([`super::csrf`], applied in [`super::router`]); handlers live in
//! [`super::login`] and [`super::apps`].

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::connect_info::ConnectInfo;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::routing::{get, post, put};
use hamn_broker::db::Database;
use hamn_broker::throttle::ThrottlePolicy;
use hamn_broker::{Clock, SecretsKey, TicketIssuer, WebSessionPolicy};
use serde::de::DeserializeOwned;

use super::lang::Lang;
use super::problem::Problem;

/// The web session cookie. `__Host-` makes the browser insist on Secure, Path=/ and no
/// Domain, so no sibling host can set or shadow it.
pub const SESSION_COOKIE: &str = "__Host-hamn_session";

/// Largest request body the API reads.
pub const MAX_BODY: usize = 4096;

/// What the portal API needs.
pub struct PortalApi {
    pub database: Database,
    /// Signs launch tickets (the broker's key, present in the same data dir).
    pub issuer: TicketIssuer,
    /// The only origin allowed to change state (`https://host[:port]` of `public_url`).
    pub origin: String,
    pub web_sessions: WebSessionPolicy,
    /// Whether `POST /portal/api/demo-login` is served.
    pub demo_login: bool,
    /// The SITHS listener's login URL (`…/siths/login`), when it is on: the login page
    /// links to it.
    pub siths_login_url: Option<String>,
    /// Whether the SAML endpoints (`/saml/{tenant}/…`) are served: the login page then
    /// lists the organisations whose SAML login is on.
    pub saml: bool,
    /// The lowest level of assurance (1 to 4) a session needs to launch; `None`: any.
    pub launch_min_loa: Option<u8>,
    /// Time, login throttling and the admin API's secrets on the portal origin.
    pub access: PortalAccess,
    /// Signs the `.rdp` files of native launches (`gateway.rdp_signing_cert`); `None`:
    /// they go out unsigned.
    pub rdp_signer: Option<Arc<super::rdp_sign::RdpSigner>>,
    /// `print.data_dir`: where the print service keeps the finished PDFs this portal
    /// hands to their owners.
    pub print_data_dir: std::path::PathBuf,
    /// `print.public_url`, for the printer URIs of `/api/v1` on this origin.
    pub print_public_url: Option<String>,
}

/// What access control needs beyond the login methods; `Default` is production's.
#[derive(Debug, Clone, Default)]
pub struct PortalAccess {
    /// Web-session expiry and throttling read the time here (tests move a manual clock).
    pub clock: Clock,
    /// Backoff of failed logins (demo and SITHS; SAML uses the same broker functions).
    pub throttle: ThrottlePolicy,
    /// Seals host credentials for `PUT /api/v1/pools/{id}/credentials` on the portal
    /// origin; without it that operation answers 503 there.
    pub secrets_key: Option<SecretsKey>,
}

impl std::fmt::Debug for PortalApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortalApi")
            .field("issuer", &self.issuer)
            .field("origin", &self.origin)
            .field("web_sessions", &self.web_sessions)
            .field("demo_login", &self.demo_login)
            .field("siths_login_url", &self.siths_login_url)
            .field("launch_min_loa", &self.launch_min_loa)
            .field("saml", &self.saml)
            .field("rdp_signer", &self.rdp_signer)
            .finish_non_exhaustive()
    }
}

/// The routes (the CSRF layer is applied around the whole portal by [`super::router`]).
pub fn router(api: Arc<PortalApi>) -> Router {
    let mut routes = Router::new()
        .route("/portal/api/me", get(super::login::me))
        .route("/portal/api/me/language", put(super::notices::set_language))
        .route("/portal/api/notices", get(super::notices::list))
        .route("/portal/api/login-methods", get(super::login::methods))
        .route("/portal/api/logout", post(super::login::logout))
        .route("/portal/api/apps", get(super::apps::list))
        .route("/portal/api/launch", post(super::apps::launch))
        .route("/portal/api/apps/{id}/rdp", post(super::apps::rdp_file))
        .route("/portal/api/sessions", get(super::sessions::list))
        .route(
            "/portal/api/sessions/{id}/logoff",
            post(super::sessions::logoff),
        )
        .route("/portal/api/prints", get(super::prints::list))
        .route("/portal/api/prints/{id}/pdf", get(super::prints::pdf));
    if api.demo_login {
        routes = routes.route("/portal/api/demo-login", post(super::login::demo_login));
    }
    routes
        // Every body here is a few short fields.
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(api)
}

/// `https://host[:port]` of a public URL, lower-case, without a default port or path: what
/// browsers send as `Origin`.
pub fn origin_of(public_url: &str) -> String {
    let (scheme, rest) = public_url
        .split_once("://")
        .unwrap_or(("https", public_url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let scheme = scheme.to_ascii_lowercase();
    let authority = authority.to_ascii_lowercase();
    let authority = match (scheme.as_str(), authority.strip_suffix(":443")) {
        ("https", Some(host)) => host.to_owned(),
        _ => authority,
    };
    format!("{scheme}://{authority}")
}

/// Marks an answer as never to be cached: every portal API answer is about one user.
pub fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The peer's IP address, when the listener recorded it.
#[derive(Debug, Clone, Default)]
pub struct Source(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for Source {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip().to_string()),
        ))
    }
}

/// A JSON body whose rejection is a problem document in the request's language.
#[derive(Debug)]
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        let (mut parts, body) = req.into_parts();
        let Ok(lang) = Lang::from_request_parts(&mut parts, state).await;
        let req = Request::from_parts(parts, body);
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => {
                let rejection: JsonRejection = rejection;
                tracing::debug!(%rejection, "portal API body refused");
                Err(Problem::bad_request(lang))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::origin_of;

    #[test]
    fn origins_are_what_browsers_send() {
        assert_eq!(
            origin_of("https://localhost:8443"),
            "https://localhost:8443"
        );
        assert_eq!(
            origin_of("https://Hamn.Example.se/portal/"),
            "https://hamn.example.se"
        );
        assert_eq!(
            origin_of("https://hamn.example.se:443"),
            "https://hamn.example.se"
        );
    }
}
