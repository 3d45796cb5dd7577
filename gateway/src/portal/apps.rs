//! The logged-in user's apps and launching one:
//! `GET /portal/api/apps` (entitled, enabled apps grouped by environment, PROD before UTB);
//! `POST /portal/api/launch {app_id}` (browser path), which issues a launch ticket through
//! [`hamn_broker::issue_launch_ticket`] and answers with the viewer URL carrying it in the
//! fragment (never sent to a server, never in a log); and
//! `POST /portal/api/apps/{id}/rdp` (native path), which answers with an `.rdp` file
//! ([`super::rdp_file`]) carrying the launch's reference. Both share the refusals.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hamn_broker::db::DbError;
use hamn_broker::model::{AppKind, Environment, EnvironmentKind};
use hamn_broker::{LaunchError, LaunchPath, LaunchTicket, issue_launch_ticket, repo};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::api::{Body, PortalApi, no_store};
use super::lang::Lang;
use super::problem::Problem;
use super::rdp_file;
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

/// Launches `app_id` (text from the client) over `path` for the logged-in user, after the
/// login's level of assurance; a refusal (audited by the broker or here) is the answer.
async fn launch_as(
    api: &PortalApi,
    who: &WebUser,
    app_id: &str,
    lang: Lang,
    path: LaunchPath,
) -> Result<LaunchTicket, Response> {
    let Ok(app_id) = Uuid::parse_str(app_id.trim()) else {
        return Err(refusal(&LaunchError::UnknownApp, lang).into_response());
    };
    if let Some(min) = api.launch_min_loa
        && who.session.loa.is_none_or(|loa| loa < min)
    {
        return Err(loa_too_low(api, who, app_id, min, lang).await);
    }
    issue_launch_ticket(&api.database, &api.issuer, who.user.id, app_id, path)
        .await
        .map_err(|error| {
            if error.is_refusal() {
                tracing::info!(reason = error.reason(), app = %app_id, %path, "launch refused");
            } else {
                tracing::error!(%error, "launch failed");
            }
            refusal(&error, lang).into_response()
        })
}

/// `POST /portal/api/launch {app_id, lang?}`.
pub async fn launch(
    State(api): State<Arc<PortalApi>>,
    header_lang: Lang,
    who: WebUser,
    Body(request): Body<LaunchRequest>,
) -> Response {
    let lang = request.lang.unwrap_or(header_lang);
    match launch_as(&api, &who, &request.app_id, lang, LaunchPath::Browser).await {
        Ok(granted) => no_store(
            Json(Launched {
                // The app rides along so the viewer can launch it again through another
                // gateway when this one drains or dies (roaming keeps the session).
                viewer_url: format!(
                    "{VIEWER_PATH}#ticket={}&app={}",
                    granted.ticket, granted.session.app_id
                ),
                session_id: granted.session.id,
                expires_at: granted.expires_at,
            })
            .into_response(),
        ),
        Err(refused) => refused,
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RdpFileRequest {
    #[serde(default)]
    pub lang: Option<Lang>,
}

/// `POST /portal/api/apps/{id}/rdp {lang?}`: launches the app on the native path and
/// answers with an `.rdp` file (a download) that sends a native RDP client through this
/// gateway with the launch's reference as its PAA cookie, asking for the redirections the
/// app's pool allows; signed when `gateway.rdp_signing_cert` is set. A POST behind the
/// CSRF layer, because every file is a launch: a link must not place sessions.
pub async fn rdp_file(
    State(api): State<Arc<PortalApi>>,
    header_lang: Lang,
    who: WebUser,
    Path(app_id): Path<String>,
    Body(request): Body<RdpFileRequest>,
) -> Response {
    let lang = request.lang.unwrap_or(header_lang);
    let granted = match launch_as(&api, &who, &app_id, lang, LaunchPath::Native).await {
        Ok(granted) => granted,
        Err(refused) => return refused,
    };
    match native_file(&api, &granted).await {
        Ok((name, bytes)) => {
            let mut response = bytes.into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(rdp_file::CONTENT_TYPE),
            );
            if let Ok(value) = HeaderValue::from_str(&rdp_file::content_disposition(&name)) {
                headers.insert(header::CONTENT_DISPOSITION, value);
            }
            no_store(response)
        }
        Err(error) => {
            // The ticket stays unspent and expires; the session row is the janitor's.
            tracing::error!(%error, session = %granted.session.id, "no .rdp file for a native launch");
            Problem::unavailable(lang).into_response()
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum NativeFileError {
    #[error(transparent)]
    Database(#[from] DbError),
    #[error("the launched app or its pool is gone")]
    Gone,
    #[error("no native reference was issued")]
    NoReference,
    #[error(transparent)]
    Build(#[from] rdp_file::RdpFileError),
    #[error(transparent)]
    Sign(#[from] super::rdp_sign::RdpSignError),
}

/// The app's name and the `.rdp` file for `granted`.
async fn native_file(
    api: &PortalApi,
    granted: &LaunchTicket,
) -> Result<(String, Vec<u8>), NativeFileError> {
    let mut conn = api.database.pool().acquire().await.map_err(DbError::from)?;
    let app = repo::apps::get(&mut conn, granted.claims.app_id)
        .await?
        .ok_or(NativeFileError::Gone)?;
    let pool = repo::pools::get(&mut conn, app.pool_id)
        .await?
        .ok_or(NativeFileError::Gone)?;
    drop(conn);
    let reference = granted
        .reference
        .as_deref()
        .ok_or(NativeFileError::NoReference)?;
    let gateway = rdp_file::gateway_host(&api.origin);
    let mut file = rdp_file::RdpFile::build(&rdp_file::RdpFileInput {
        host_address: &granted.host.address,
        host_port: granted.host.port,
        gateway: &gateway,
        access_token: reference,
        // A program app is a RemoteApp where the pool's hosts publish them; elsewhere the
        // host's desktop is the app.
        remote_app: match (app.kind, app.program.as_deref()) {
            (AppKind::Program, Some(program)) if pool.native_remote_apps => {
                Some(rdp_file::RemoteApp {
                    program,
                    name: &app.display_name,
                    args: app.args.as_deref(),
                })
            }
            _ => None,
        },
        redirection: pool.native_redirection(),
    })?;
    if let Some(signer) = &api.rdp_signer {
        signer.sign(&mut file)?;
    }
    Ok((app.display_name, file.to_bytes()))
}
