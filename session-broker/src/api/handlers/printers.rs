//! `POST /sessions/{id}/printer`: issues a printer URI for a live session, so a host
//! agent can add a per-session IPP printer for a native session (or an administrator can
//! hand one out). Operators, the session's tenant, and the host agent of the session's
//! host may ask; for anyone else the session does not exist. The audit event records that
//! a printer was issued, never its token.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

use crate::api::AdminState;
use crate::api::caller::{Caller, Scope};
use crate::api::extract::Ids;
use crate::api::mutation::{Change, Mutation};
use crate::api::problem::ApiError;
use crate::model::SessionState;
use crate::print::tokens::{self, TokenError};
use crate::repo::sessions;

/// A session's printer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PrinterUri {
    /// `ipps://{print host:port}/ipp/print/{token}`: an IPP Everywhere printer whose jobs
    /// become PDFs for the session's user. A secret: whoever holds it prints as that user.
    pub printer_uri: String,
}

pub async fn issue(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
) -> Result<(StatusCode, Json<PrinterUri>), ApiError> {
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let found = sessions::get(m.conn(), ids.id()).await?;
    let session = if caller.scope == Scope::HostAgent {
        found
            .filter(|x| caller.host_id == Some(x.host_id))
            .ok_or_else(|| ApiError::not_found("session"))?
    } else {
        caller.visible(found, |x| x.tenant_id, "session")?
    };
    if session.state == SessionState::Ended {
        return Err(ApiError::conflict(None, "the session has ended"));
    }
    // After the session check, so an unknown session is 404 whatever the setup.
    let Some(base) = s.print_public_url().map(str::to_owned) else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "print_unavailable",
            "Printing is not configured",
            "this broker does not know the print service's public URL (print.public_url)",
        ));
    };
    let token = tokens::issue(m.conn(), session.id)
        .await
        .map_err(|e| match e {
            TokenError::SessionEnded(_) => ApiError::conflict(None, "the session has ended"),
            TokenError::UnknownSession(_) => ApiError::not_found("session"),
            TokenError::Database(db) => ApiError::from_db(db, &[]),
            TokenError::Random => ApiError::internal(),
        })?;
    m.commit(Change::created(
        "session.printer",
        Some(session.tenant_id),
        "session",
        session.id,
        &serde_json::json!({ "printer": "issued", "user_id": session.user_id }),
    ))
    .await?;
    let authority = base.trim_end_matches('/');
    let authority = authority.strip_prefix("https://").unwrap_or(authority);
    Ok((
        StatusCode::CREATED,
        Json(PrinterUri {
            printer_uri: format!("ipps://{authority}/ipp/print/{}", token.as_str()),
        }),
    ))
}
