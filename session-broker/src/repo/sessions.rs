//! The `sessions` table.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe};
use time::OffsetDateTime;
use uuid::Uuid;

use super::sql::Sql;
use crate::db::DbError;
use crate::db::row::{get_enum, get_i64, get_opt_time, get_time, get_uuid, millis, now};
use crate::model::{NewSession, Page, PageRequest, Session, SessionFilter, SessionState};

const SELECT: &str = "SELECT id, tenant_id, user_id, app_id, host_id, state, created_at, \
                      started_at, disconnected_at, ended_at, updated_at, bytes_to_client, \
                      bytes_from_host, frames_sent FROM sessions";

fn from_row(r: &AnyRow) -> Result<Session, DbError> {
    Ok(Session {
        id: get_uuid(r, "id")?,
        tenant_id: get_uuid(r, "tenant_id")?,
        user_id: get_uuid(r, "user_id")?,
        app_id: get_uuid(r, "app_id")?,
        host_id: get_uuid(r, "host_id")?,
        state: get_enum(r, "state")?,
        created_at: get_time(r, "created_at")?,
        started_at: get_opt_time(r, "started_at")?,
        disconnected_at: get_opt_time(r, "disconnected_at")?,
        ended_at: get_opt_time(r, "ended_at")?,
        updated_at: get_time(r, "updated_at")?,
        bytes_to_client: get_i64(r, "bytes_to_client")?,
        bytes_from_host: get_i64(r, "bytes_from_host")?,
        frames_sent: get_i64(r, "frames_sent")?,
    })
}

/// A session's traffic totals, as the gateway counts them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    pub bytes_to_client: u64,
    pub bytes_from_host: u64,
    pub frames: u64,
}

/// Stores the totals so far (they only grow; the gateway sends totals, not increments, so
/// a lost report costs nothing).
pub async fn set_traffic(
    conn: &mut AnyConnection,
    id: Uuid,
    traffic: &Traffic,
) -> Result<bool, DbError> {
    let clamp = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let r = sqlx::query(
        "UPDATE sessions SET bytes_to_client = $1, bytes_from_host = $2, frames_sent = $3 \
         WHERE id = $4",
    )
    .bind(clamp(traffic.bytes_to_client))
    .bind(clamp(traffic.bytes_from_host))
    .bind(clamp(traffic.frames))
    .bind(id.to_string())
    .execute(conn)
    .await?;
    Ok(r.rows_affected() > 0)
}

/// A new session in state `launching`, not yet stored: a launch names it in its ticket
/// and audit event first and stores it last ([`insert_prepared`]), so the tenant's
/// `tenant_usage` row its insert locks (trigger, migration 0014) is held briefly.
pub fn prepare(new: &NewSession) -> Session {
    let now = now();
    Session {
        id: super::new_id(),
        tenant_id: new.tenant_id,
        user_id: new.user_id,
        app_id: new.app_id,
        host_id: new.host_id,
        state: SessionState::Launching,
        created_at: now,
        started_at: None,
        disconnected_at: None,
        ended_at: None,
        updated_at: now,
        bytes_to_client: 0,
        bytes_from_host: 0,
        frames_sent: 0,
    }
}

/// Stores a session made by [`prepare`].
pub async fn insert_prepared(conn: &mut AnyConnection, s: &Session) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO sessions (id, tenant_id, user_id, app_id, host_id, state, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(s.id.to_string())
    .bind(s.tenant_id.to_string())
    .bind(s.user_id.to_string())
    .bind(s.app_id.to_string())
    .bind(s.host_id.to_string())
    .bind(s.state.as_str())
    .bind(millis(s.created_at))
    .bind(millis(s.updated_at))
    .execute(conn)
    .await?;
    Ok(())
}

/// Records a session in state `launching`.
pub async fn insert(conn: &mut AnyConnection, new: &NewSession) -> Result<Session, DbError> {
    let s = prepare(new);
    insert_prepared(conn, &s).await?;
    Ok(s)
}

/// The user's newest live session for the app (launching, active or disconnected), and
/// how many live sessions the user has in all: what a launch needs to know about the
/// user's sessions, in one round trip.
pub async fn live_for_launch(
    conn: &mut AnyConnection,
    user_id: Uuid,
    app_id: Uuid,
) -> Result<(Option<Session>, u64), DbError> {
    let live = super::load::LIVE_STATES;
    let sql = format!(
        "SELECT c.user_live AS user_live, s.* FROM \
         (SELECT COUNT(*) AS user_live FROM sessions WHERE user_id = $1 AND state IN ({live})) c \
         LEFT JOIN ({SELECT} WHERE user_id = $1 AND app_id = $2 AND state IN ({live}) \
         ORDER BY created_at DESC, id DESC LIMIT 1) s ON 1 = 1"
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(user_id.to_string())
        .bind(app_id.to_string())
        .fetch_one(&mut *conn)
        .await?;
    let user_live = u64::try_from(get_i64(&row, "user_live")?)
        .map_err(|e| DbError::Corrupt(format!("user_live: {e}")))?;
    let session = match crate::db::row::get_opt_string(&row, "id")? {
        Some(_) => Some(from_row(&row)?),
        None => None,
    };
    Ok((session, user_live))
}

pub async fn get(conn: &mut AnyConnection, id: Uuid) -> Result<Option<Session>, DbError> {
    let row = sqlx::query(AssertSqlSafe(format!("{SELECT} WHERE id = $1")))
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Moves a session to `state` at `at`, stamping the matching timestamp. `started_at` keeps
/// the first connection (a resume or a roam does not restart the clock of the pool's
/// maximum session length).
pub async fn set_state(
    conn: &mut AnyConnection,
    id: Uuid,
    state: SessionState,
    at: OffsetDateTime,
) -> Result<bool, DbError> {
    let assignment = match state {
        SessionState::Launching => "created_at = $2",
        SessionState::Active => "started_at = COALESCE(started_at, $2)",
        SessionState::Disconnected => "disconnected_at = $2",
        SessionState::Ended => "ended_at = $2",
    };
    let r = sqlx::query(AssertSqlSafe(format!(
        "UPDATE sessions SET state = $1, {assignment}, updated_at = $2 WHERE id = $3"
    )))
    .bind(state.as_str())
    .bind(millis(at))
    .bind(id.to_string())
    .execute(conn)
    .await?;
    Ok(r.rows_affected() > 0)
}

/// The user's sessions that have not ended (launching, active, disconnected), newest
/// first; at most `limit`.
pub async fn live_of_user(
    conn: &mut AnyConnection,
    user_id: Uuid,
    limit: u32,
) -> Result<Vec<Session>, DbError> {
    let sql = format!(
        "{SELECT} WHERE user_id = $1 AND state IN ({}) ORDER BY created_at DESC, id DESC \
         LIMIT {}",
        super::load::LIVE_STATES,
        limit.clamp(1, 500)
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(user_id.to_string())
        .fetch_all(conn)
        .await?;
    rows.iter().map(from_row).collect()
}

/// Newest first.
pub async fn list(
    conn: &mut AnyConnection,
    filter: &SessionFilter,
    page: PageRequest,
) -> Result<Page<Session>, DbError> {
    let mut sql = Sql::new(SELECT);
    sql.and_uuid("tenant_id", filter.tenant_id)
        .and_uuid("user_id", filter.user_id)
        .and_uuid("host_id", filter.host_id)
        .and_text("state", filter.state.map(SessionState::as_str))
        .and_time("created_at", ">=", filter.from)
        .and_time("created_at", "<", filter.to)
        .page(page, true);
    let rows = sql.fetch_all(conn).await?;
    let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, page.limit, |s| s.id))
}
