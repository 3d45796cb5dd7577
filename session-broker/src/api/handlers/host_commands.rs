//! `/hosts/{id}/commands` and `/host-commands/{id}/report`: what a host agent on an RDP
//! host polls and reports on. A browser RDP client cannot log a Windows user off by
//! protocol (closing the connection only disconnects the Windows session), so a logoff is
//! also queued here; an agent on the host (logoff.exe or the WTS API) carries it out.
//! Operators only for now: hosts get their own client identities later.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use crate::api::AdminState;
use crate::api::caller::Caller;
use crate::api::extract::{Body, Ids, Params};
use crate::api::mutation::{Change, Mutation};
use crate::api::problem::ApiError;
use crate::model::{HostCommand, HostCommandReport};
use crate::repo::{host_commands, hosts};

/// `?state=pending|all` (default pending) and `limit` (1-500, default 100).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostCommandQuery {
    pub state: Option<String>,
    pub limit: Option<u32>,
}

/// A host's commands, oldest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HostCommandList {
    pub items: Vec<HostCommand>,
}

pub async fn list(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
    Params(q): Params<HostCommandQuery>,
) -> Result<Json<HostCommandList>, ApiError> {
    caller.require_host(ids.id())?;
    let pending_only = match q.state.as_deref() {
        None | Some("pending") => true,
        Some("all") => false,
        Some(_) => return Err(ApiError::bad_request("state", "must be pending or all")),
    };
    let limit = match q.limit {
        None => 100,
        Some(l @ 1..=500) => l,
        Some(_) => return Err(ApiError::bad_request("limit", "must be 1-500")),
    };
    let mut conn = s.conn().await?;
    let host = hosts::get(&mut conn, ids.id())
        .await?
        .ok_or_else(|| ApiError::not_found("host"))?;
    let items = host_commands::list_for_host(&mut conn, host.id, pending_only, limit).await?;
    Ok(Json(HostCommandList { items }))
}

pub async fn report(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
    Body(report): Body<HostCommandReport>,
) -> Result<Json<HostCommand>, ApiError> {
    report.validate()?;
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let before = host_commands::get(m.conn(), ids.id())
        .await?
        // Another host's command does not exist for a host agent.
        .filter(|c| caller.reports_for(c.host_id))
        .ok_or_else(|| ApiError::not_found("host command"))?;
    let now = crate::db::row::now();
    if !host_commands::finish(m.conn(), before.id, report.state, &report.outcome, now).await? {
        return Err(ApiError::conflict(
            Some("state"),
            "the command was already reported",
        ));
    }
    let after = host_commands::get(m.conn(), before.id)
        .await?
        .ok_or_else(|| ApiError::not_found("host command"))?;
    m.commit(Change::updated(
        "host_command.report",
        before.tenant_id,
        "host_command",
        before.id,
        &before,
        &after,
    ))
    .await?;
    Ok(Json(after))
}
