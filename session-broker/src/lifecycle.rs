//! The pool timeouts the broker enforces (the gateway enforces the idle timeout, since it
//! sees the input): a session disconnected longer than its pool's
//! `disconnect_timeout_secs` is logged off, and one older than `max_session_secs` (from
//! its first connection) is warned `timeout_warning_secs` before and then logged off.
//! Logoffs go through [`session_control::log_off`] (row ended, the gateway node holding the
//! RDP connection closes it, the host agent logs the Windows user off), warnings through
//! the command channel; each is audited as the broker. Run by the janitor on any broker
//! node at the time it is given, so tests control the clock; every step re-checks the row
//! in its transaction, so several nodes may sweep at once.

use serde_json::json;
use sqlx::AssertSqlSafe;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::row::{get_i64, get_uuid, millis};
use crate::db::{Database, DbError};
use crate::model::{ActorKind, AuditOutcome, NewAuditEvent, SessionState};
use crate::repo::{self, AnyConnection};
use crate::session_control::{self, ControlError, EndCause, SessionCommand, WarningKind};

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LifecycleSwept {
    /// Sessions logged off after too long disconnected.
    pub disconnect_timeouts: u64,
    /// Sessions warned that their maximum length is near.
    pub length_warnings: u64,
    /// Sessions logged off at their maximum length.
    pub length_logoffs: u64,
}

const FROM: &str = "FROM sessions s JOIN hosts h ON h.id = s.host_id \
                    JOIN host_pools p ON p.id = h.pool_id";

/// One pass at `now`.
pub async fn sweep(db: &Database, now: OffsetDateTime) -> Result<LifecycleSwept, DbError> {
    let at = millis(now);
    let mut swept = LifecycleSwept::default();

    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT s.id AS id, p.disconnect_timeout_secs AS limit_secs {FROM} \
         WHERE s.state = 'disconnected' AND p.disconnect_timeout_secs > 0 \
         AND s.disconnected_at + p.disconnect_timeout_secs * 1000 <= $1"
    )))
    .bind(at)
    .fetch_all(db.pool())
    .await?;
    for row in &rows {
        let (id, secs) = (get_uuid(row, "id")?, get_i64(row, "limit_secs")?);
        let reason = format!(
            "Frånkopplad längre än {} / disconnected longer than {}",
            human(secs),
            human(secs)
        );
        let due = |s: &crate::model::Session| {
            s.state == SessionState::Disconnected
                && s.disconnected_at
                    .is_some_and(|t| millis(t) + secs * 1000 <= at)
        };
        if log_off_if(db, id, due, &reason, EndCause::DisconnectTimeout, now).await? {
            swept.disconnect_timeouts += 1;
        }
    }

    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT s.id AS id, p.max_session_secs AS limit_secs {FROM} \
         WHERE s.state IN ('active', 'disconnected') AND p.max_session_secs > 0 \
         AND s.started_at IS NOT NULL AND s.started_at + p.max_session_secs * 1000 <= $1"
    )))
    .bind(at)
    .fetch_all(db.pool())
    .await?;
    for row in &rows {
        let (id, secs) = (get_uuid(row, "id")?, get_i64(row, "limit_secs")?);
        let reason = format!(
            "Längsta sessionstid {} nådd / maximum session length {} reached",
            human(secs),
            human(secs)
        );
        let due = |s: &crate::model::Session| {
            matches!(s.state, SessionState::Active | SessionState::Disconnected)
                && s.started_at.is_some_and(|t| millis(t) + secs * 1000 <= at)
        };
        if log_off_if(db, id, due, &reason, EndCause::SessionLimit, now).await? {
            swept.length_logoffs += 1;
        }
    }

    // Warned once: a session that already has a session-limit warning is not warned again.
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT s.id AS id, s.started_at AS started_at, p.max_session_secs AS limit_secs {FROM} \
         WHERE s.state = 'active' AND p.max_session_secs > 0 AND s.started_at IS NOT NULL \
         AND s.started_at + (p.max_session_secs - p.timeout_warning_secs) * 1000 <= $1 \
         AND s.started_at + p.max_session_secs * 1000 > $1 \
         AND NOT EXISTS (SELECT 1 FROM session_commands c WHERE c.session_id = s.id \
         AND c.kind = 'session_limit_warning')"
    )))
    .bind(at)
    .fetch_all(db.pool())
    .await?;
    for row in &rows {
        let id = get_uuid(row, "id")?;
        let ends = get_i64(row, "started_at")? + get_i64(row, "limit_secs")? * 1000;
        let at_end = crate::db::row::from_millis(ends)
            .map_err(|e| DbError::Corrupt(format!("session {id} length: {e}")))?;
        if warn(db, id, at_end, get_i64(row, "limit_secs")?, now).await? {
            swept.length_warnings += 1;
        }
    }
    Ok(swept)
}

/// "4 h", "90 min", "45 s".
fn human(secs: i64) -> String {
    if secs >= 3600 && secs % 3600 == 0 {
        format!("{} h", secs / 3600)
    } else if secs >= 60 && secs % 60 == 0 {
        format!("{} min", secs / 60)
    } else {
        format!("{secs} s")
    }
}

fn system_event(
    tenant: Uuid,
    session: Uuid,
    action: &str,
    before: serde_json::Value,
    after: serde_json::Value,
    detail: String,
) -> NewAuditEvent {
    NewAuditEvent {
        tenant_id: Some(tenant),
        actor_kind: ActorKind::System,
        actor_id: None,
        actor_name: "broker".to_owned(),
        action: action.to_owned(),
        target_type: Some("session".to_owned()),
        target_id: Some(session.to_string()),
        outcome: AuditOutcome::Success,
        source_address: None,
        before: Some(before),
        after: Some(after),
        detail: Some(detail),
    }
}

/// Logs `id` off if `due` still holds for its row inside the transaction.
async fn log_off_if(
    db: &Database,
    id: Uuid,
    due: impl Fn(&crate::model::Session) -> bool,
    reason: &str,
    cause: EndCause,
    now: OffsetDateTime,
) -> Result<bool, DbError> {
    let mut tx = db.begin().await?;
    let conn: &mut AnyConnection = &mut tx;
    let Some(session) = repo::sessions::get(conn, id).await? else {
        return Ok(false);
    };
    if !due(&session) {
        return Ok(false);
    }
    let done = match session_control::log_off(conn, id, reason, cause, now).await {
        Ok(done) => done,
        Err(ControlError::Database(e)) => return Err(e),
        // Ended meanwhile, or a reason the model refuses (never: it is built here).
        Err(_) => return Ok(false),
    };
    let event = system_event(
        session.tenant_id,
        id,
        "session.logoff",
        json!({ "state": session.state }),
        json!({ "state": "ended", "host_command": done.host_command.id }),
        format!(
            "{reason} ({cause}); host logoff queued for host {}",
            session.host_id
        ),
    );
    repo::audit::insert(conn, &event).await?;
    tx.commit().await.map_err(DbError::from)?;
    session_control::wake();
    Ok(true)
}

/// Warns `id` that it is logged off at `at_end`.
async fn warn(
    db: &Database,
    id: Uuid,
    at_end: OffsetDateTime,
    limit_secs: i64,
    now: OffsetDateTime,
) -> Result<bool, DbError> {
    let mut tx = db.begin().await?;
    let conn: &mut AnyConnection = &mut tx;
    // Re-checked under the write lock: another node may have warned meanwhile.
    if repo::session_commands::exists(conn, id, "session_limit_warning").await? {
        return Ok(false);
    }
    let command = SessionCommand::Warning {
        kind: WarningKind::SessionLimit,
        text: format!(
            "Längsta sessionstid / maximum session length: {}",
            human(limit_secs)
        ),
        at: at_end,
    };
    let queued = match session_control::enqueue_at(conn, id, command, now).await {
        Ok(queued) => queued,
        Err(ControlError::Database(e)) => return Err(e),
        Err(_) => return Ok(false),
    };
    let event = system_event(
        queued.tenant_id,
        id,
        "session.warning",
        json!(null),
        json!({ "command": queued.id, "kind": "session_limit", "at": millis(at_end) }),
        format!(
            "maximum session length {} reached at {at_end}; warned",
            human(limit_secs)
        ),
    );
    repo::audit::insert(conn, &event).await?;
    tx.commit().await.map_err(DbError::from)?;
    session_control::wake();
    Ok(true)
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(super::human(4 * 3600), "4 h");
        assert_eq!(super::human(90 * 60), "90 min");
        assert_eq!(super::human(45), "45 s");
        assert_eq!(super::human(3601), "3601 s");
    }
}
