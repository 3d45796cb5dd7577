//! The `host_commands` table: what a host agent on an RDP host is asked to do (today: log
//! a Windows user off, which a browser RDP client cannot do by protocol).

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::DbError;
use crate::db::row::{
    get_enum, get_opt_string, get_opt_time, get_opt_uuid, get_string, get_time, get_uuid, millis,
};
use crate::model::{HostCommand, HostCommandKind, HostCommandState};

const COLUMNS: &str = "id, host_id, tenant_id, session_id, user_id, kind, reason, state, \
                       created_at, finished_at, outcome";

fn from_row(r: &AnyRow) -> Result<HostCommand, DbError> {
    Ok(HostCommand {
        id: get_uuid(r, "id")?,
        host_id: get_uuid(r, "host_id")?,
        tenant_id: get_opt_uuid(r, "tenant_id")?,
        session_id: get_opt_uuid(r, "session_id")?,
        user_id: get_opt_uuid(r, "user_id")?,
        kind: get_enum(r, "kind")?,
        reason: get_string(r, "reason")?,
        state: get_enum(r, "state")?,
        created_at: get_time(r, "created_at")?,
        finished_at: get_opt_time(r, "finished_at")?,
        outcome: get_opt_string(r, "outcome")?,
    })
}

/// What to queue for a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewHostCommand {
    pub host_id: Uuid,
    pub tenant_id: Option<Uuid>,
    pub session_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub kind: HostCommandKind,
    pub reason: String,
}

pub async fn insert(
    conn: &mut AnyConnection,
    new: &NewHostCommand,
    now: OffsetDateTime,
) -> Result<HostCommand, DbError> {
    let c = HostCommand {
        id: super::new_id(),
        host_id: new.host_id,
        tenant_id: new.tenant_id,
        session_id: new.session_id,
        user_id: new.user_id,
        kind: new.kind,
        reason: new.reason.clone(),
        state: HostCommandState::Pending,
        created_at: now,
        finished_at: None,
        outcome: None,
    };
    sqlx::query(
        "INSERT INTO host_commands (id, host_id, tenant_id, session_id, user_id, kind, reason, \
         state, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(c.id.to_string())
    .bind(c.host_id.to_string())
    .bind(c.tenant_id.map(|t| t.to_string()))
    .bind(c.session_id.map(|t| t.to_string()))
    .bind(c.user_id.map(|t| t.to_string()))
    .bind(c.kind.as_str())
    .bind(c.reason.clone())
    .bind(c.state.as_str())
    .bind(millis(now))
    .execute(conn)
    .await?;
    Ok(c)
}

pub async fn get(conn: &mut AnyConnection, id: Uuid) -> Result<Option<HostCommand>, DbError> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM host_commands WHERE id = $1"
    )))
    .bind(id.to_string())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// A host's commands, oldest first; only pending ones when `pending_only` (an agent's poll).
pub async fn list_for_host(
    conn: &mut AnyConnection,
    host_id: Uuid,
    pending_only: bool,
    limit: u32,
) -> Result<Vec<HostCommand>, DbError> {
    let filter = if pending_only {
        " AND state = 'pending'"
    } else {
        ""
    };
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM host_commands WHERE host_id = $1{filter} ORDER BY id LIMIT $2"
    )))
    .bind(host_id.to_string())
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// A session's host commands, oldest first.
pub async fn list_for_session(
    conn: &mut AnyConnection,
    session_id: Uuid,
) -> Result<Vec<HostCommand>, DbError> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM host_commands WHERE session_id = $1 ORDER BY id"
    )))
    .bind(session_id.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Records an agent's report; false unless the command was pending.
pub async fn finish(
    conn: &mut AnyConnection,
    id: Uuid,
    state: HostCommandState,
    outcome: &str,
    now: OffsetDateTime,
) -> Result<bool, DbError> {
    let r = sqlx::query(
        "UPDATE host_commands SET state = $1, finished_at = $2, outcome = $3 \
         WHERE id = $4 AND state = 'pending'",
    )
    .bind(state.as_str())
    .bind(millis(now))
    .bind(outcome.to_owned())
    .bind(id.to_string())
    .execute(conn)
    .await?;
    Ok(r.rows_affected() > 0)
}

/// Deletes finished commands created before `before`.
pub async fn prune(conn: &mut AnyConnection, before: OffsetDateTime) -> Result<u64, DbError> {
    let r = sqlx::query("DELETE FROM host_commands WHERE created_at < $1 AND state <> 'pending'")
        .bind(millis(before))
        .execute(conn)
        .await?;
    Ok(r.rows_affected())
}
