//! Error answers of the portal API: `application/problem+json` (RFC 9457) whose `detail`
//! is the sentence the user reads, in Swedish or English, with a stable `reason` word for
//! programs and tests.

use std::borrow::Cow;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::lang::Lang;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// A refusal or failure, ready to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// `urn:hamn:problem:<reason>`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: &'static str,
    pub status: u16,
    /// What the user is told, in `lang` (some sentences name a time, e.g. when a service
    /// window ends).
    pub detail: Cow<'static, str>,
    pub reason: &'static str,
    pub lang: &'static str,
    /// Seconds until trying again may succeed; also sent as `Retry-After`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u32>,
}

impl Problem {
    /// `reason` is a stable word; `sv` and `en` the sentence in each language.
    pub fn new(
        status: StatusCode,
        reason: &'static str,
        lang: Lang,
        sv: impl Into<Cow<'static, str>>,
        en: impl Into<Cow<'static, str>>,
    ) -> Self {
        let detail = lang.pick(sv.into(), en.into());
        Self {
            kind: format!("urn:hamn:problem:{reason}"),
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail,
            reason,
            lang: lang.tag(),
            retry_after: None,
        }
    }

    /// Sets when to retry (`Retry-After`).
    pub fn retry_after(mut self, seconds: Option<u32>) -> Self {
        self.retry_after = seconds;
        self
    }

    /// Too many failed logins from this address or for this account: 429 with
    /// `Retry-After`, telling when to try again.
    pub fn throttled(lang: Lang, retry_after: Duration) -> Self {
        let secs = retry_after.as_secs().max(1);
        let (sv_wait, en_wait) = if secs >= 120 {
            let min = secs.div_ceil(60);
            (format!("{min} minuter"), format!("{min} minutes"))
        } else {
            (format!("{secs} sekunder"), format!("{secs} seconds"))
        };
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "throttled",
            lang,
            format!(
                "För många misslyckade inloggningsförsök. Vänta {sv_wait} och försök sedan igen."
            ),
            format!("Too many failed login attempts. Please wait {en_wait} and then try again."),
        )
        .retry_after(Some(u32::try_from(secs).unwrap_or(u32::MAX)))
    }

    /// The request needs a logged-in web session.
    pub fn not_logged_in(lang: Lang) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "not_logged_in",
            lang,
            "Du är inte inloggad, eller så har inloggningen gått ut. Logga in igen.",
            "You are not logged in, or your login has expired. Please log in again.",
        )
    }

    /// The request body is not what the route takes.
    pub fn bad_request(lang: Lang) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            lang,
            "Begäran kunde inte tolkas.",
            "The request could not be understood.",
        )
    }

    /// Storage failed; the cause is logged, not shown.
    pub fn unavailable(lang: Lang) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            lang,
            "Ett tekniskt fel uppstod. Försök igen om en stund.",
            "A technical error occurred. Please try again shortly.",
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        let lang = self.lang;
        let retry_after = self.retry_after;
        let mut response = (status, axum::Json(self)).into_response();
        let headers = response.headers_mut();
        if let Some(seconds) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        headers.insert(header::CONTENT_LANGUAGE, HeaderValue::from_static(lang));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

/// A refused browser login as a page: problem+json when the client asks for JSON, else a
/// small HTML page in the problem's language with the reason, the sentence and a way back
/// to the portal. `titles` is the heading in (Swedish, English).
pub fn refusal_page(
    headers: &HeaderMap,
    problem: Problem,
    portal_url: &str,
    titles: (&str, &str),
) -> Response {
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if wants_json {
        return problem.into_response();
    }
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::FORBIDDEN);
    let retry_after = problem.retry_after;
    let (title, back) = match problem.lang {
        "en" => (titles.1, "Back to the portal"),
        _ => (titles.0, "Tillbaka till portalen"),
    };
    let html = format!(
        "<!doctype html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <title>{title}</title></head><body><main><h1>{title}</h1>\
         <p id=\"detail\" data-reason=\"{reason}\">{detail}</p>\
         <p><a href=\"{url}\">{back}</a></p></main></body></html>\n",
        lang = problem.lang,
        reason = problem.reason,
        detail = escape(&problem.detail),
        url = escape(portal_url),
    );
    let mut response = (status, html).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_LANGUAGE,
        HeaderValue::from_static(problem.lang),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(secs) = retry_after {
        h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

pub(super) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
