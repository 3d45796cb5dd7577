//! `/sessions`: filtered and paged, newest first; and an administrator's actions on one
//! session — disconnect, log off, send a message — which go to the gateway node serving it
//! through the command channel ([`crate::session_control`]), audited in the same
//! transaction. Tenant clients act only on their own tenant's sessions (404 otherwise).

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::api::AdminState;
use crate::api::caller::Caller;
use crate::api::extract::{Body, Ids, Params, page};
use crate::api::mutation::{Change, Mutation};
use crate::api::problem::ApiError;
use crate::model::session_command::{MAX_REASON_CHARS, MAX_SENDER_CHARS, message_text};
use crate::model::{
    HostCommand, Page, QueuedCommand, Session, SessionFilter, SessionState, ValidationErrors,
};
use crate::repo::{AnyConnection, host_commands, sessions};
use crate::session_control::{self, ControlError, EndCause, SessionCommand};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionQuery {
    pub tenant_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub host_id: Option<Uuid>,
    pub state: Option<SessionState>,
    /// RFC 3339; sessions created at or after.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub from: Option<OffsetDateTime>,
    /// RFC 3339; sessions created before.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub to: Option<OffsetDateTime>,
    pub limit: Option<u32>,
    pub cursor: Option<Uuid>,
}

pub async fn list(
    State(s): State<AdminState>,
    caller: Caller,
    Params(q): Params<SessionQuery>,
) -> Result<Json<Page<Session>>, ApiError> {
    let page = page(q.limit, q.cursor)?;
    let tenant_id = match (caller.tenant(), q.tenant_id) {
        (None, t) => t,
        (Some(own), None) => Some(own),
        (Some(own), Some(t)) if t == own => Some(own),
        // Another tenant's sessions do not exist for this caller.
        (Some(_), Some(_)) => {
            return Ok(Json(Page {
                items: Vec::new(),
                next_cursor: None,
            }));
        }
    };
    let filter = SessionFilter {
        tenant_id,
        user_id: q.user_id,
        host_id: q.host_id,
        state: q.state,
        from: q.from,
        to: q.to,
    };
    let mut conn = s.conn().await?;
    Ok(Json(sessions::list(&mut conn, &filter, page).await?))
}

pub async fn get(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
) -> Result<Json<Session>, ApiError> {
    let mut conn = s.conn().await?;
    let found = sessions::get(&mut conn, ids.id()).await?;
    Ok(Json(caller.visible(found, |x| x.tenant_id, "session")?))
}

/// `POST /sessions/{id}/disconnect` and `/logoff`: why, shown to the user and audited.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionEndRequest {
    /// Shown to the user under the viewer's own text (≤ 500 characters); a default names
    /// the administrator.
    #[serde(default)]
    pub reason: Option<String>,
}

/// `POST /sessions/{id}/message`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionMessageRequest {
    /// The message (≤ 1000 characters, line breaks allowed).
    pub text: String,
    /// Who it is from, as the user sees it (≤ 100 characters); default: the API client's
    /// name.
    #[serde(default)]
    pub sender: Option<String>,
}

/// What an action queued: the command for the gateway node serving the session and, for a
/// logoff, the host agent's logoff.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionAction {
    pub command: QueuedCommand,
    pub host_command: Option<HostCommand>,
}

/// A session's commands and host commands, oldest first (the newest 100 commands).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionCommandList {
    pub items: Vec<QueuedCommand>,
    pub host_commands: Vec<HostCommand>,
}

fn control_error(e: ControlError) -> ApiError {
    match e {
        ControlError::UnknownSession(_) => ApiError::not_found("session"),
        ControlError::SessionEnded(_) => ApiError::conflict(None, "the session has already ended"),
        ControlError::Invalid(v) => v.into(),
        ControlError::Database(e) => e.into(),
    }
}

async fn visible_session(
    conn: &mut AnyConnection,
    caller: &Caller,
    id: Uuid,
) -> Result<Session, ApiError> {
    let found = sessions::get(conn, id).await?;
    caller.visible(found, |x| x.tenant_id, "session")
}

/// The reason of a disconnect or logoff: the request's, checked, or one naming the caller.
fn reason(req: &SessionEndRequest, default: &str) -> Result<String, ApiError> {
    match &req.reason {
        Some(text) => {
            let mut v = ValidationErrors::default();
            v.text("reason", text, MAX_REASON_CHARS);
            v.finish()?;
            Ok(text.clone())
        }
        None => Ok(default.to_owned()),
    }
}

fn ending_state(session: &Session) -> Result<(), ApiError> {
    match session.state {
        SessionState::Active | SessionState::Disconnected => Ok(()),
        SessionState::Launching => Err(ApiError::conflict(
            None,
            "the session is still launching; try again when it is active",
        )),
        SessionState::Ended => Err(ApiError::conflict(None, "the session has already ended")),
    }
}

pub async fn disconnect(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
    Body(req): Body<SessionEndRequest>,
) -> Result<Json<SessionAction>, ApiError> {
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let session = visible_session(m.conn(), &caller, ids.id()).await?;
    ending_state(&session)?;
    let reason = reason(
        &req,
        "Frånkopplad av administratör / disconnected by an administrator",
    )?;
    let command = session_control::enqueue(
        m.conn(),
        session.id,
        SessionCommand::Disconnect {
            reason,
            cause: EndCause::Admin,
        },
    )
    .await
    .map_err(control_error)?;
    m.commit(Change::updated(
        "session.admin_disconnect",
        Some(session.tenant_id),
        "session",
        session.id,
        &session,
        &command,
    ))
    .await?;
    session_control::wake();
    Ok(Json(SessionAction {
        command,
        host_command: None,
    }))
}

pub async fn logoff(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
    Body(req): Body<SessionEndRequest>,
) -> Result<Json<SessionAction>, ApiError> {
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let session = visible_session(m.conn(), &caller, ids.id()).await?;
    ending_state(&session)?;
    let reason = reason(
        &req,
        "Utloggad av administratör / logged off by an administrator",
    )?;
    let done = session_control::log_off(
        m.conn(),
        session.id,
        &reason,
        EndCause::Admin,
        crate::db::row::now(),
    )
    .await
    .map_err(control_error)?;
    let after = sessions::get(m.conn(), session.id).await?;
    m.commit(Change::updated(
        "session.admin_logoff",
        Some(session.tenant_id),
        "session",
        session.id,
        &session,
        &serde_json::json!({
            "session": after,
            "command": done.command,
            "host_command": done.host_command,
        }),
    ))
    .await?;
    session_control::wake();
    Ok(Json(SessionAction {
        command: done.command,
        host_command: Some(done.host_command),
    }))
}

pub async fn message(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
    Body(req): Body<SessionMessageRequest>,
) -> Result<Json<SessionAction>, ApiError> {
    let mut v = ValidationErrors::default();
    message_text(&mut v, "text", &req.text);
    if let Some(sender) = &req.sender {
        v.text("sender", sender, MAX_SENDER_CHARS);
    }
    v.finish()?;
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let session = visible_session(m.conn(), &caller, ids.id()).await?;
    let sender = req.sender.clone().unwrap_or_else(|| {
        // A client's name may be longer than a sender may be.
        caller.name.chars().take(MAX_SENDER_CHARS).collect()
    });
    let command = session_control::enqueue(
        m.conn(),
        session.id,
        SessionCommand::Message {
            text: req.text,
            sender,
        },
    )
    .await
    .map_err(control_error)?;
    m.commit(Change::created(
        "session.message",
        Some(session.tenant_id),
        "session",
        session.id,
        &command,
    ))
    .await?;
    session_control::wake();
    Ok(Json(SessionAction {
        command,
        host_command: None,
    }))
}

pub async fn commands(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
) -> Result<Json<SessionCommandList>, ApiError> {
    let mut conn = s.conn().await?;
    let session = visible_session(&mut conn, &caller, ids.id()).await?;
    let items = session_control::commands_of(&mut conn, session.id).await?;
    let host_commands = host_commands::list_for_session(&mut conn, session.id).await?;
    Ok(Json(SessionCommandList {
        items,
        host_commands,
    }))
}
