//! Public status routes: the service-window calendars as iCal feeds (RFC 5545), for
//! calendar apps to subscribe to. `GET /status/calendar.ics` lists every environment's
//! windows; `GET /status/{tenant}/{env}/calendar.ics` one environment's (tenant slug,
//! `PROD` or `UTB` in any case). No login: service windows are announced to everyone.
//! Only GET (and HEAD) are routed; other methods get 405.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hamn_broker::model::EnvironmentKind;
use hamn_broker::service_windows::{FeedScope, feed};
use time::OffsetDateTime;

use crate::portal::PortalState;

/// The status routes, merged into the portal's router.
pub fn routes() -> Router<PortalState> {
    Router::new()
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
