//! Public status routes: `GET /status`, a page listing the service windows of the next 60
//! days (Swedish, server-rendered, no script), and the service-window calendars as iCal
//! feeds (RFC 5545), for calendar apps to subscribe to. `GET /status/calendar.ics` lists every environment's
//! windows; `GET /status/{tenant}/{env}/calendar.ics` one environment's (tenant slug,
//! `PROD` or `UTB` in any case). No login: service windows are announced to everyone.
//! Only GET (and HEAD) are routed; other methods get 405.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hamn_broker::model::EnvironmentKind;
use hamn_broker::service_windows::{FeedScope, feed, tz, upcoming};
use time::OffsetDateTime;

use crate::portal::PortalState;

/// The status routes, merged into the portal's router.
pub fn routes() -> Router<PortalState> {
    Router::new()
        .route("/status", get(page))
        .route("/status/calendar.ics", get(all))
        .route("/status/{tenant}/{env}/calendar.ics", get(environment))
}

async fn all(State(state): State<PortalState>) -> Response {
    serve(&state, &FeedScope::All, "hamn-servicefonster.ics").await
}

async fn environment(
    State(state): State<PortalState>,
    Path((tenant, env)): Path<(String, String)>,
) -> Response {
    // Slugs are short; anything longer names no tenant and is not worth a query.
    let kind = env.to_ascii_uppercase().parse::<EnvironmentKind>();
    let (Ok(kind), true) = (kind, tenant.len() <= 63) else {
        return not_found();
    };
    let filename = format!(
        "hamn-servicefonster-{}-{}.ics",
        tenant,
        kind.as_str().to_ascii_lowercase()
    );
    serve(
        &state,
        &FeedScope::Environment {
            tenant_slug: tenant,
            kind,
        },
        &filename,
    )
    .await
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "Ingen sådan miljö. / No such environment.\n",
    )
        .into_response()
}

async fn serve(state: &PortalState, scope: &FeedScope, filename: &str) -> Response {
    match feed(&state.database, scope, OffsetDateTime::now_utc()).await {
        Ok(Some(body)) => {
            let mut response = body.into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/calendar; charset=utf-8"),
            );
            // Calendar apps poll; five minutes keeps a new window visible soon enough.
            headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            );
            if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"{filename}\"")) {
                headers.insert(header::CONTENT_DISPOSITION, v);
            }
            response
        }
        Ok(None) => not_found(),
        Err(error) => {
            tracing::warn!(%error, "service-window calendar failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "Kalendern är inte tillgänglig just nu. / The calendar is unavailable right now.\n",
            )
                .into_response()
        }
    }
}

/// How far ahead the status page looks.
const PAGE_HORIZON: time::Duration = time::Duration::days(60);

fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn local(t: OffsetDateTime) -> String {
    let l = tz::to_local(t);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        l.year(),
        u8::from(l.month()),
        l.day(),
        l.hour(),
        l.minute()
    )
}

/// `GET /status`: the coming service windows, Stockholm time, with the feeds to subscribe to.
async fn page(State(state): State<PortalState>) -> Response {
    let now = OffsetDateTime::now_utc();
    let rows = match upcoming(&state.database, now, PAGE_HORIZON).await {
        Ok(rows) => rows,
        Err(error) => {
            tracing::warn!(%error, "status page failed");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "Driftstatus är inte tillgänglig just nu.\n",
            )
                .into_response();
        }
    };
    let mut body = String::from(
        "<!doctype html>\n<html lang=\"sv\"><head><meta charset=\"utf-8\">\
         <title>Driftstatus – servicefönster</title></head><body>\n\
         <h1>Servicefönster</h1>\n<p>Tider i svensk tid. Prenumerera på \
         <a href=\"/status/calendar.ics\">kalendern för alla miljöer</a>.</p>\n",
    );
    if rows.is_empty() {
        body.push_str("<p>Inga planerade servicefönster de kommande 60 dagarna.</p>\n");
    } else {
        body.push_str(
            "<table>\n<thead><tr><th>Kund</th><th>Miljö</th><th>Start</th><th>Slut</th>\
             <th>Beskrivning</th><th>Kalender</th></tr></thead>\n<tbody>\n",
        );
        for r in &rows {
            let env = r.environment.as_str();
            let feed = format!(
                "/status/{}/{}/calendar.ics",
                r.tenant_slug,
                env.to_ascii_lowercase()
            );
            body.push_str(&format!(
                "<tr><td>{}</td><td>{env}</td><td>{}</td><td>{}</td><td>{}{}</td>\
                 <td><a href=\"{}\">iCal</a></td></tr>\n",
                escape_html(&r.tenant_name),
                local(r.start),
                local(r.end),
                escape_html(&r.title),
                if r.emergency { " (akut)" } else { "" },
                escape_html(&feed),
            ));
        }
        body.push_str("</tbody></table>\n");
    }
    body.push_str("</body></html>\n");
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    response
}
