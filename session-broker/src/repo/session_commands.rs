//! The `session_commands` table: the broker → gateway command channel's rows. The API
//! callers use is [`crate::session_control`]; this module is only its SQL.

use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::DbError;
use crate::db::row::{
    from_millis, get_enum, get_opt_string, get_opt_time, get_string, get_time, get_uuid, millis,
};
use crate::model::{CommandState, EndCause, QueuedCommand, SessionCommand, WarningKind};

const COLUMNS: &str = "id, session_id, tenant_id, kind, payload, state, created_at, \
                       expires_at, claimed_by, claimed_at, finished_at, outcome";

/// Most session ids in one `IN (…)` list: far below either engine's parameter limit.
pub const CLAIM_CHUNK: usize = 500;

/// The stored JSON of a command's fields; `kind` says which are present.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Payload {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sender: Option<String>,
    /// Unix milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cause: Option<EndCause>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    job_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pages: Option<u32>,
}

fn payload(command: &SessionCommand) -> String {
    let p = match command {
        SessionCommand::Message { text, sender } => Payload {
            text: Some(text.clone()),
            sender: Some(sender.clone()),
            ..Payload::default()
        },
        SessionCommand::Warning { text, at, .. } => Payload {
            text: Some(text.clone()),
            at: Some(millis(*at)),
            ..Payload::default()
        },
        SessionCommand::Disconnect { reason, cause } | SessionCommand::Logoff { reason, cause } => {
            Payload {
                reason: Some(reason.clone()),
                cause: Some(*cause),
                ..Payload::default()
            }
        }
        SessionCommand::PrintReady {
            job_id,
            title,
            pages,
        } => Payload {
            job_id: Some(*job_id),
            title: Some(title.clone()),
            pages: Some(*pages),
            ..Payload::default()
        },
        SessionCommand::PrintRefused {
            job_id,
            title,
            reason,
        } => Payload {
            job_id: Some(*job_id),
            title: Some(title.clone()),
            reason: Some(reason.clone()),
            ..Payload::default()
        },
    };
    serde_json::to_string(&p).unwrap_or_else(|_| "{}".to_owned())
}

fn command(kind: &str, json: &str) -> Result<SessionCommand, DbError> {
    let corrupt = |what: &str| DbError::Corrupt(format!("session_commands.payload: {what}"));
    let p: Payload = serde_json::from_str(json).map_err(|e| corrupt(&e.to_string()))?;
    let text = || p.text.clone().ok_or_else(|| corrupt("text missing"));
    let reason = || p.reason.clone().ok_or_else(|| corrupt("reason missing"));
    let job_id = || p.job_id.ok_or_else(|| corrupt("job_id missing"));
    let title = || p.title.clone().ok_or_else(|| corrupt("title missing"));
    let warning = |kind| -> Result<SessionCommand, DbError> {
        let at = p.at.ok_or_else(|| corrupt("at missing"))?;
        Ok(SessionCommand::Warning {
            kind,
            text: text()?,
            at: from_millis(at).map_err(|e| corrupt(&e.to_string()))?,
        })
    };
    match kind {
        "message" => Ok(SessionCommand::Message {
            text: text()?,
            sender: p.sender.clone().ok_or_else(|| corrupt("sender missing"))?,
        }),
        "idle_warning" => warning(WarningKind::Idle),
        "service_window_warning" => warning(WarningKind::ServiceWindow),
        "session_limit_warning" => warning(WarningKind::SessionLimit),
        "disconnect" => Ok(SessionCommand::Disconnect {
            reason: reason()?,
            cause: p.cause.unwrap_or_default(),
        }),
        "logoff" => Ok(SessionCommand::Logoff {
            reason: reason()?,
            cause: p.cause.unwrap_or_default(),
        }),
        "print_ready" => Ok(SessionCommand::PrintReady {
            job_id: job_id()?,
            title: title()?,
            pages: p.pages.ok_or_else(|| corrupt("pages missing"))?,
        }),
        "print_refused" => Ok(SessionCommand::PrintRefused {
            job_id: job_id()?,
            title: title()?,
            reason: reason()?,
        }),
        other => Err(corrupt(&format!("unknown kind {other}"))),
    }
}

fn from_row(r: &AnyRow) -> Result<QueuedCommand, DbError> {
    Ok(QueuedCommand {
        id: get_uuid(r, "id")?,
        session_id: get_uuid(r, "session_id")?,
        tenant_id: get_uuid(r, "tenant_id")?,
        command: command(&get_string(r, "kind")?, &get_string(r, "payload")?)?,
        state: get_enum(r, "state")?,
        created_at: get_time(r, "created_at")?,
        expires_at: get_time(r, "expires_at")?,
        claimed_by: get_opt_string(r, "claimed_by")?,
        claimed_at: get_opt_time(r, "claimed_at")?,
        finished_at: get_opt_time(r, "finished_at")?,
        outcome: get_opt_string(r, "outcome")?,
    })
}

/// Stores a pending command.
pub async fn insert(
    conn: &mut AnyConnection,
    session_id: Uuid,
    tenant_id: Uuid,
    command: &SessionCommand,
    now: OffsetDateTime,
    expires_at: OffsetDateTime,
) -> Result<QueuedCommand, DbError> {
    let queued = QueuedCommand {
        id: super::new_id(),
        session_id,
        tenant_id,
        command: command.clone(),
        state: CommandState::Pending,
        created_at: now,
        expires_at,
        claimed_by: None,
        claimed_at: None,
        finished_at: None,
        outcome: None,
    };
    sqlx::query(
        "INSERT INTO session_commands (id, session_id, tenant_id, kind, payload, state, \
         created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(queued.id.to_string())
    .bind(session_id.to_string())
    .bind(tenant_id.to_string())
    .bind(command.kind())
    .bind(payload(command))
    .bind(CommandState::Pending.as_str())
    .bind(millis(now))
    .bind(millis(expires_at))
    .execute(conn)
    .await?;
    Ok(queued)
}

pub async fn get(conn: &mut AnyConnection, id: Uuid) -> Result<Option<QueuedCommand>, DbError> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM session_commands WHERE id = $1"
    )))
    .bind(id.to_string())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// A session's commands, oldest first (at most `limit`, the newest ones kept).
pub async fn list_for_session(
    conn: &mut AnyConnection,
    session_id: Uuid,
    limit: u32,
) -> Result<Vec<QueuedCommand>, DbError> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM session_commands WHERE session_id = $1 ORDER BY id DESC LIMIT $2"
    )))
    .bind(session_id.to_string())
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await?;
    let mut out = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    out.reverse();
    Ok(out)
}

/// Whether `session_id` ever got a command of `kind` (e.g. was already warned).
pub async fn exists(
    conn: &mut AnyConnection,
    session_id: Uuid,
    kind: &str,
) -> Result<bool, DbError> {
    let row = sqlx::query(
        "SELECT 1 AS one FROM session_commands WHERE session_id = $1 AND kind = $2 LIMIT 1",
    )
    .bind(session_id.to_string())
    .bind(kind)
    .fetch_optional(conn)
    .await?;
    Ok(row.is_some())
}

fn placeholders(from: usize, count: usize) -> String {
    (from..from + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Claims the pending, unexpired commands of `sessions` for `node`, oldest first. First a
/// read (cheap, and on SQLite it takes no write lock when there is nothing to do), then one
/// conditional UPDATE … RETURNING: a row another node claimed meanwhile no longer matches
/// `state = 'pending'`, so each command is claimed exactly once.
pub async fn claim(
    conn: &mut AnyConnection,
    node: &str,
    sessions: &[Uuid],
    now: OffsetDateTime,
) -> Result<Vec<QueuedCommand>, DbError> {
    let mut claimed = Vec::new();
    for chunk in sessions.chunks(CLAIM_CHUNK) {
        let sql = format!(
            "SELECT id FROM session_commands WHERE state = 'pending' AND expires_at > $1 \
             AND session_id IN ({})",
            placeholders(2, chunk.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(millis(now));
        for id in chunk {
            q = q.bind(id.to_string());
        }
        let ids = q
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| get_string(r, "id"))
            .collect::<Result<Vec<_>, _>>()?;
        if ids.is_empty() {
            continue;
        }
        let sql = format!(
            "UPDATE session_commands SET state = 'claimed', claimed_by = $1, claimed_at = $2 \
             WHERE state = 'pending' AND id IN ({}) RETURNING {COLUMNS}",
            placeholders(3, ids.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql))
            .bind(node.to_owned())
            .bind(millis(now));
        for id in ids {
            q = q.bind(id);
        }
        for row in q.fetch_all(&mut *conn).await? {
            claimed.push(from_row(&row)?);
        }
    }
    // RETURNING promises no order; ids are UUID v7, so this is the order of enqueueing.
    claimed.sort_by_key(|c| c.id);
    Ok(claimed)
}

/// Finishes a claimed command as `done` or `failed` with what happened. False when it was
/// not claimed (finished already, or expired by the janitor).
pub async fn finish(
    conn: &mut AnyConnection,
    id: Uuid,
    state: CommandState,
    outcome: &str,
    now: OffsetDateTime,
) -> Result<bool, DbError> {
    let r = sqlx::query(
        "UPDATE session_commands SET state = $1, finished_at = $2, outcome = $3 \
         WHERE id = $4 AND state = 'claimed'",
    )
    .bind(state.as_str())
    .bind(millis(now))
    .bind(outcome.to_owned())
    .bind(id.to_string())
    .execute(conn)
    .await?;
    Ok(r.rows_affected() > 0)
}

/// Pending commands past their expiry become `expired`; commands claimed before
/// `claimed_before` and never finished (their node died) become `failed`.
pub async fn expire(
    conn: &mut AnyConnection,
    now: OffsetDateTime,
    claimed_before: OffsetDateTime,
) -> Result<u64, DbError> {
    let expired = sqlx::query(
        "UPDATE session_commands SET state = 'expired', finished_at = $1, \
         outcome = 'no gateway node served the session before the command expired' \
         WHERE state = 'pending' AND expires_at <= $1",
    )
    .bind(millis(now))
    .execute(&mut *conn)
    .await?
    .rows_affected();
    let lost = sqlx::query(
        "UPDATE session_commands SET state = 'failed', finished_at = $1, \
         outcome = 'the gateway node that claimed it never finished it' \
         WHERE state = 'claimed' AND claimed_at < $2",
    )
    .bind(millis(now))
    .bind(millis(claimed_before))
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(expired + lost)
}

/// Deletes finished commands created before `before`.
pub async fn prune(conn: &mut AnyConnection, before: OffsetDateTime) -> Result<u64, DbError> {
    let r = sqlx::query(
        "DELETE FROM session_commands WHERE created_at < $1 \
         AND state IN ('done', 'failed', 'expired')",
    )
    .bind(millis(before))
    .execute(conn)
    .await?;
    Ok(r.rows_affected())
}
