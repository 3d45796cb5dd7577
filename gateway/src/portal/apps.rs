//! The logged-in user's apps and launching one on the browser path:
//! `GET /portal/api/apps` (entitled, enabled apps grouped by environment, PROD before UTB)
//! and `POST /portal/api/launch {app_id}`, which issues a launch ticket through
//! [`hamn_broker::issue_launch_ticket`] and answers with the viewer URL carrying it in the
//! fragment (never sent to a server, never in a log).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hamn_broker::db::DbError;
use hamn_broker::model::{Environment, EnvironmentKind};
use hamn_broker::{LaunchError, LaunchPath, issue_launch_ticket, repo};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::api::{Body, PortalApi, no_store};
use super::lang::Lang;
use super::problem::Problem;
use super::web_session::WebUser;

/// Where the session viewer lives; the ticket follows in the fragment.
pub const VIEWER_PATH: &str = "/static/session.html";

#[derive(Debug, Serialize)]
pub struct AppList {
    pub environments: Vec<EnvironmentApps>,
}

#[derive(Debug, Serialize)]
pub struct EnvironmentApps {
    pub id: Uuid,
    /// `PROD` or `UTB`: the portal marks them so UTB never passes for PROD.
    pub kind: EnvironmentKind,
    pub name: String,
    pub apps: Vec<AppTile>,
}

#[derive(Debug, Serialize)]
pub struct AppTile {
    pub id: Uuid,
    pub name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LaunchRequest {
    pub app_id: String,
    #[serde(default)]
    pub lang: Option<Lang>,
}

#[derive(Debug, Serialize)]
pub struct Launched {
    pub viewer_url: String,
    pub session_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

async fn entitled(api: &PortalApi, who: &WebUser) -> Result<AppList, DbError> {
    let mut conn = api.database.pool().acquire().await?;
    let apps = repo::apps::list_entitled(&mut conn, who.user.id).await?;
    let mut by_env: BTreeMap<Uuid, Vec<AppTile>> = BTreeMap::new();
    for app in apps {
        by_env.entry(app.environment_id).or_default().push(AppTile {
            id: app.id,
            name: app.display_name,
        });
    }
    let mut environments = Vec::new();
    for (id, apps) in by_env {
        let Some(env): Option<Environment> = repo::environments::get(&mut conn, id).await? else {
            continue;
        };
        environments.push(EnvironmentApps {
            id,
            kind: env.kind,
            name: env.name,
            apps,
        });
    }
    environments.sort_by_key(|e| (e.kind != EnvironmentKind::Prod, e.name.clone()));
    Ok(AppList { environments })
}

/// `GET /portal/api/apps`.
pub async fn list(State(api): State<Arc<PortalApi>>, lang: Lang, who: WebUser) -> Response {
    match entitled(&api, &who).await {
        Ok(list) => no_store(Json(list).into_response()),
        Err(error) => {
            tracing::error!(%error, "app list failed");
            Problem::unavailable(lang).into_response()
        }
    }
}

fn refusal(error: &LaunchError, lang: Lang) -> Problem {
    let status = match error {
        LaunchError::UnknownUser => StatusCode::UNAUTHORIZED,
        LaunchError::UnknownApp => StatusCode::NOT_FOUND,
        LaunchError::NotEntitled => StatusCode::FORBIDDEN,
        LaunchError::AppDisabled => StatusCode::CONFLICT,
        LaunchError::NoHostAvailable => StatusCode::SERVICE_UNAVAILABLE,
        // Fair use and the logon-storm limit: the refusal says when to come back.
        LaunchError::LogonStorm { .. }
        | LaunchError::TenantSessionLimit { .. }
        | LaunchError::UserSessionLimit { .. }
        | LaunchError::LaunchRateLimit { .. } => StatusCode::TOO_MANY_REQUESTS,
        LaunchError::ServiceWindow { .. } => StatusCode::SERVICE_UNAVAILABLE,
        LaunchError::Database(_) | LaunchError::Keys(_) => StatusCode::SERVICE_UNAVAILABLE,
    };
    Problem::new(
        status,
        error.reason(),
        lang,
        error.message_sv(),
        error.message_en(),
    )
    .retry_after(error.retry_after_s())
}

/// Refuses (and audits) a launch from a login whose level of assurance is below
/// `gateway.launch_min_loa`.
async fn loa_too_low(
    api: &PortalApi,
    who: &WebUser,
    app_id: Uuid,
    min: u8,
    lang: Lang,
) -> Response {
    let had = who
        .session
        .loa
        .map_or_else(|| "none".to_owned(), |l| format!("loa{l}"));
    let reason = format!("loa_too_low ({had} < loa{min})");
    tracing::info!(%reason, app = %app_id, "launch refused");
    if let Err(error) =
        hamn_broker::launch::audit_refused(&api.database, &who.user, app_id, &reason).await
    {
        tracing::warn!(%error, "refused launch not audited");
    }
    Problem::new(
        StatusCode::FORBIDDEN,
        "loa_too_low",
        lang,
        "Inloggningen är inte stark nog för att starta applikationer. Logga in med \
         SITHS-kort eller e-legitimation.",
        "Your login is not strong enough to launch applications. Please log in with a \
         SITHS card or an e-ID.",
    )
    .into_response()
}

/// `POST /portal/api/launch {app_id, lang?}`.
pub async fn launch(
    State(api): State<Arc<PortalApi>>,
    header_lang: Lang,
    who: WebUser,
    Body(request): Body<LaunchRequest>,
) -> Response {
    let lang = request.lang.unwrap_or(header_lang);
    let Ok(app_id) = Uuid::parse_str(request.app_id.trim()) else {
        return refusal(&LaunchError::UnknownApp, lang).into_response();
    };
    if let Some(min) = api.launch_min_loa
        && who.session.loa.is_none_or(|loa| loa < min)
    {
        return loa_too_low(&api, &who, app_id, min, lang).await;
    }
    match issue_launch_ticket(
        &api.database,
        &api.issuer,
        who.user.id,
        app_id,
        LaunchPath::Browser,
    )
    .await
    {
        Ok(granted) => no_store(
            Json(Launched {
                viewer_url: format!("{VIEWER_PATH}#ticket={}", granted.ticket),
                session_id: granted.session.id,
                expires_at: granted.expires_at,
            })
            .into_response(),
        ),
        Err(error) => {
            if error.is_refusal() {
                tracing::info!(reason = error.reason(), app = %app_id, "launch refused");
            } else {
                tracing::error!(%error, "launch failed");
            }
            refusal(&error, lang).into_response()
        }
    }
}
