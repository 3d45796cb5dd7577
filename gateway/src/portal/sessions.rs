//! The logged-in user's own sessions ("Mina sessioner"), as Citrix Workspace shows them:
//! `GET /portal/api/sessions` lists the ones not ended (launching, active, disconnected)
//! with their app and environment, and `POST /portal/api/sessions/{id}/logoff` logs one
//! off through the broker's command channel ([`session_control::log_off`]): a browser
//! holding it is closed with 4304, the row ends, and the host's agent is asked to log the
//! Windows user off. Reconnecting is a launch of the same app, which roams to the session.
//! Another user's session does not exist here (404), so ids leak nothing.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hamn_broker::db::DbError;
use hamn_broker::model::{
    ActorKind, AuditOutcome, EndCause, EnvironmentKind, NewAuditEvent, SessionState,
};
use hamn_broker::repo;
use hamn_broker::session_control::{self, ControlError};
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::api::{PortalApi, Source, no_store};
use super::lang::Lang;
use super::problem::Problem;
use super::web_session::WebUser;

/// More live sessions than one person can use; the list stops there.
const MAX_LISTED: u32 = 50;

#[derive(Debug, Serialize)]
pub struct MySessions {
    pub sessions: Vec<MySession>,
}

#[derive(Debug, Serialize)]
pub struct MySession {
    pub id: Uuid,
    pub app_id: Uuid,
    pub app_name: String,
    /// `PROD` or `UTB`, so the list marks UTB as the tiles do.
    pub environment: Option<EnvironmentKind>,
    pub state: SessionState,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub started_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub disconnected_at: Option<OffsetDateTime>,
}

async fn live_sessions(api: &PortalApi, who: &WebUser) -> Result<MySessions, DbError> {
    let mut conn = api.database.acquire().await?;
    let rows = repo::sessions::live_of_user(&mut conn, who.user.id, MAX_LISTED).await?;
    let mut kinds: HashMap<Uuid, Option<EnvironmentKind>> = HashMap::new();
    let mut sessions = Vec::with_capacity(rows.len());
    for s in rows {
        let app = repo::apps::get(&mut conn, s.app_id).await?;
        let (app_name, environment_id) = match &app {
            Some(a) => (a.display_name.clone(), Some(a.environment_id)),
            None => (String::new(), None),
        };
        let environment = match environment_id {
            Some(env) => match kinds.get(&env) {
                Some(kind) => *kind,
                None => {
                    let kind = repo::environments::get(&mut conn, env)
                        .await?
                        .map(|e| e.kind);
                    kinds.insert(env, kind);
                    kind
                }
            },
            None => None,
        };
        sessions.push(MySession {
            id: s.id,
            app_id: s.app_id,
            app_name,
            environment,
            state: s.state,
            created_at: s.created_at,
            started_at: s.started_at,
            disconnected_at: s.disconnected_at,
        });
    }
    Ok(MySessions { sessions })
}

/// `GET /portal/api/sessions`.
pub async fn list(State(api): State<Arc<PortalApi>>, lang: Lang, who: WebUser) -> Response {
    match live_sessions(&api, &who).await {
        Ok(list) => no_store(Json(list).into_response()),
        Err(error) => {
            tracing::error!(%error, "session list failed");
            Problem::unavailable(lang).into_response()
        }
    }
}

fn unknown_session(lang: Lang) -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "unknown_session",
        lang,
        "Sessionen finns inte eller är redan avslutad.",
        "The session does not exist or has already ended.",
    )
}

fn still_launching(lang: Lang) -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        "session_launching",
        lang,
        "Sessionen startar fortfarande. Försök igen om en stund.",
        "The session is still starting. Please try again shortly.",
    )
}

enum Refused {
    Unknown,
    Launching,
}

/// Logs `id` off for `who`, audited as `session.user_logoff` in the same transaction.
async fn log_off(
    api: &PortalApi,
    who: &WebUser,
    id: Uuid,
    source: Option<&str>,
) -> Result<Result<(), Refused>, ControlError> {
    let mut tx = api.database.begin().await?;
    let Some(session) = repo::sessions::get(&mut tx, id)
        .await?
        .filter(|s| s.user_id == who.user.id)
    else {
        return Ok(Err(Refused::Unknown));
    };
    match session.state {
        SessionState::Active | SessionState::Disconnected => {}
        SessionState::Launching => return Ok(Err(Refused::Launching)),
        SessionState::Ended => return Ok(Err(Refused::Unknown)),
    }
    let done = session_control::log_off(
        &mut tx,
        id,
        "Utloggad av användaren / logged off by the user",
        EndCause::User,
        hamn_broker::db::row::now(),
    )
    .await?;
    let event = NewAuditEvent {
        tenant_id: Some(session.tenant_id),
        actor_kind: ActorKind::User,
        actor_id: Some(who.user.id.to_string()),
        actor_name: who.user.display_name.clone(),
        action: "session.user_logoff".into(),
        target_type: Some("session".into()),
        target_id: Some(id.to_string()),
        outcome: AuditOutcome::Success,
        source_address: source.map(str::to_owned),
        before: serde_json::to_value(&session).ok(),
        after: None,
        detail: Some(format!(
            "app {}; host command {}",
            session.app_id, done.host_command.id
        )),
    };
    repo::audit::insert(&mut tx, &event).await?;
    tx.commit().await.map_err(DbError::from)?;
    session_control::wake();
    Ok(Ok(()))
}

/// `POST /portal/api/sessions/{id}/logoff`.
pub async fn logoff(
    State(api): State<Arc<PortalApi>>,
    lang: Lang,
    Source(source): Source,
    who: WebUser,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = Uuid::parse_str(id.trim()) else {
        return unknown_session(lang).into_response();
    };
    match log_off(&api, &who, id, source.as_deref()).await {
        Ok(Ok(())) => no_store(StatusCode::NO_CONTENT.into_response()),
        Ok(Err(Refused::Unknown))
        | Err(ControlError::UnknownSession(_) | ControlError::SessionEnded(_)) => {
            unknown_session(lang).into_response()
        }
        Ok(Err(Refused::Launching)) => still_launching(lang).into_response(),
        Err(error) => {
            tracing::error!(%error, "user logoff failed");
            Problem::unavailable(lang).into_response()
        }
    }
}
