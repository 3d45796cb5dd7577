//! The demo IdP (`gateway.demo_idp`, only with the demo configuration): a tiny SAML 2.0
//! identity provider on the portal origin, so that `hamn up` shows the real SAML login —
//! the same SP code path (`/saml/{tenant}/…`) a production tenant's IdP exercises —
//! without an external IdP.
//!
//! - `GET /demo-idp/metadata`: its metadata (the seeded demo tenant trusts it);
//! - `GET /demo-idp/sso`: the AuthnRequest over HTTP-Redirect (bounded decoding in
//!   [`hamn_broker::saml::demo_idp`]); a page to pick a demo user (no password: a demo);
//! - `POST /demo-idp/sso`: the picked user; answers a page whose form POSTs the signed
//!   Response to the SP's ACS with a visible "Fortsätt" button (no script: the portal's
//!   CSP allows none inline);
//! - `GET /demo-idp/slo`: logout, back to the portal.
//!
//! The request is decoded again on the POST rather than trusted from hidden fields, and
//! only ACS URLs of this portal are ever signed for.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use hamn_broker::saml::SpCredentials;
use hamn_broker::saml::demo_idp::{
    DEMO_USERS, DemoAuthnRequest, DemoIdpUrls, MAX_REQUEST_BASE64, decode_request, idp_metadata,
    signed_response,
};
use hamn_broker::saml::sp::xml_escape as escape;

use super::lang::Lang;
use super::problem::{Problem, refusal_page};
use super::siths::PageLang;

/// Largest form body the user-picking POST reads (the request, RelayState, the choice).
const MAX_FORM: usize = 2 * MAX_REQUEST_BASE64 + 4096;
/// Longest RelayState passed through (SAML bindings §3.4.3: 80 bytes; ours is 22).
const MAX_RELAY_STATE: usize = 80;

/// The demo IdP's key pair and where it lives.
#[derive(Debug)]
pub struct DemoIdp {
    /// Its signing key and certificate (`gateway.demo_idp_key`, `gateway.demo_idp_cert`).
    pub credentials: SpCredentials,
    /// The portal's public URL: the IdP's URLs are under it, and only its SPs are served.
    pub public_url: String,
}

impl DemoIdp {
    pub fn urls(&self) -> DemoIdpUrls {
        DemoIdpUrls::new(&self.public_url)
    }
}

/// The demo IdP routes, with the portal's security headers.
pub fn demo_idp_router(idp: Arc<DemoIdp>) -> Router {
    Router::new()
        .route("/demo-idp/metadata", get(metadata))
        .route("/demo-idp/sso", get(pick).post(answer))
        .route("/demo-idp/slo", get(slo))
        .with_state(idp)
        .layer(axum::middleware::map_response(crate::headers::add))
}

async fn metadata(State(idp): State<Arc<DemoIdp>>) -> Response {
    let mut response = idp_metadata(&idp.urls(), &idp.credentials.cert_der).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/samlmetadata+xml"),
    );
    response
}

async fn slo(State(idp): State<Arc<DemoIdp>>) -> Redirect {
    Redirect::to(&format!("{}/", idp.public_url))
}

fn refused(headers: &HeaderMap, lang: Lang, idp: &DemoIdp, reason: &'static str) -> Response {
    let problem = Problem::new(
        StatusCode::BAD_REQUEST,
        reason,
        lang,
        "Demo-IdP:n kunde inte läsa inloggningsbegäran. Börja om från portalen.",
        "The demo identity provider could not read the login request. Please start again \
         from the portal.",
    );
    refusal_page(
        headers,
        problem,
        &idp.public_url,
        ("Inloggningen nekades", "Login refused"),
    )
}

/// The request and RelayState, checked.
fn checked(
    idp: &DemoIdp,
    saml_request: Option<&str>,
    relay_state: Option<&str>,
) -> Result<(DemoAuthnRequest, Option<String>), &'static str> {
    let request = decode_request(saml_request.ok_or("no_request")?, &idp.public_url)
        .map_err(|_| "malformed_request")?;
    let relay = match relay_state {
        Some(r) if r.len() > MAX_RELAY_STATE => return Err("malformed_request"),
        r => r.map(str::to_owned),
    };
    Ok((request, relay))
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn html_page(lang: Lang, title: &str, body: &str) -> Response {
    let lang_tag = match lang {
        Lang::Sv => "sv",
        Lang::En => "en",
    };
    no_store(
        Html(format!(
            "<!doctype html>\n<html lang=\"{lang_tag}\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width\">\
             <title>{title}</title></head><body><main>\n{body}</main></body></html>\n",
            title = escape(title),
        ))
        .into_response(),
    )
}

/// `GET /demo-idp/sso`: the user picker.
async fn pick(
    State(idp): State<Arc<DemoIdp>>,
    PageLang(lang): PageLang,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let value = |name: &str| {
        query
            .iter()
            .take(16)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let (saml_request, relay_state) = (value("SAMLRequest"), value("RelayState"));
    let (request, relay) = match checked(&idp, saml_request, relay_state) {
        Ok(ok) => ok,
        Err(reason) => return refused(&headers, lang, &idp, reason),
    };
    let (title, intro, note) = match lang {
        Lang::Sv => (
            "Demo-IdP: välj användare",
            "Välj vem du vill logga in som hos Demo kommun.",
            "Det här är Hamns inbyggda demo-IdP för att prova SAML-inloggningen. Den \
             kontrollerar inget lösenord och får aldrig användas i drift.",
        ),
        Lang::En => (
            "Demo IdP: pick a user",
            "Choose whom to log in as at Demo kommun.",
            "This is Hamn's built-in demo IdP for trying the SAML login. It checks no \
             password and must never be used in production.",
        ),
    };
    let mut body = format!(
        "<h1>{}</h1>\n<p>{}</p>\n<p><small>{}</small></p>\n<p>SP: <code>{}</code></p>\n\
         <form method=\"post\" action=\"/demo-idp/sso\">\n\
         <input type=\"hidden\" name=\"SAMLRequest\" value=\"{}\">\n",
        escape(title),
        escape(intro),
        escape(note),
        escape(&request.sp_entity_id),
        escape(saml_request.unwrap_or_default()),
    );
    if let Some(relay) = &relay {
        body.push_str(&format!(
            "<input type=\"hidden\" name=\"RelayState\" value=\"{}\">\n",
            escape(relay)
        ));
    }
    for user in DEMO_USERS {
        body.push_str(&format!(
            "<p><button type=\"submit\" name=\"user\" value=\"{}\">{} ({})</button></p>\n",
            escape(user.name_id),
            escape(user.display_name),
            escape(user.hsa_id),
        ));
    }
    body.push_str("</form>\n");
    html_page(lang, title, &body)
}

/// `POST /demo-idp/sso`: signs the Response for the picked user.
async fn answer(
    State(idp): State<Arc<DemoIdp>>,
    PageLang(lang): PageLang,
    headers: HeaderMap,
    request: Request,
) -> Response {
    let Ok(body) = axum::body::to_bytes(request.into_body(), MAX_FORM).await else {
        return refused(&headers, lang, &idp, "malformed_request");
    };
    let (mut saml_request, mut relay_state, mut user) = (None, None, None);
    for (key, value) in form_urlencoded::parse(&body).take(16) {
        match &*key {
            "SAMLRequest" => saml_request = Some(value.into_owned()),
            "RelayState" => relay_state = Some(value.into_owned()),
            "user" => user = Some(value.into_owned()),
            _ => {}
        }
    }
    let (request, relay) = match checked(&idp, saml_request.as_deref(), relay_state.as_deref()) {
        Ok(ok) => ok,
        Err(reason) => return refused(&headers, lang, &idp, reason),
    };
    let Some(user) = DEMO_USERS
        .iter()
        .find(|u| user.as_deref() == Some(u.name_id))
    else {
        return refused(&headers, lang, &idp, "unknown_user");
    };
    let response = match signed_response(&idp.credentials, &idp.urls(), &request, user) {
        Ok(r) => r,
        Err(error) => {
            tracing::error!(%error, "demo IdP could not sign");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "demo IdP: signing failed",
            )
                .into_response();
        }
    };
    tracing::info!(user = user.name_id, sp = %request.sp_entity_id, "demo IdP answered");
    let (title, text, button) = match lang {
        Lang::Sv => (
            "Demo-IdP: fortsätt",
            format!("Inloggad som {} hos demo-IdP:n.", user.display_name),
            "Fortsätt",
        ),
        Lang::En => (
            "Demo IdP: continue",
            format!("Logged in as {} at the demo IdP.", user.display_name),
            "Continue",
        ),
    };
    let mut body = format!(
        "<h1>{}</h1>\n<p>{}</p>\n<form method=\"post\" action=\"{}\">\n\
         <input type=\"hidden\" name=\"SAMLResponse\" value=\"{}\">\n",
        escape(title),
        escape(&text),
        escape(&request.acs_url),
        escape(&response),
    );
    if let Some(relay) = &relay {
        body.push_str(&format!(
            "<input type=\"hidden\" name=\"RelayState\" value=\"{}\">\n",
            escape(relay)
        ));
    }
    body.push_str(&format!(
        "<button type=\"submit\" autofocus>{}</button>\n</form>\n",
        escape(button)
    ));
    html_page(lang, title, &body)
}
