//! The `print_jobs` table.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe};
use time::OffsetDateTime;
use uuid::Uuid;

use super::sql::Sql;
use crate::db::DbError;
use crate::db::row::{
    get_enum, get_i64, get_opt_time, get_opt_uuid, get_string, get_time, get_uuid, millis, now,
};
use crate::model::{NewPrintJob, Page, PageRequest, PrintJob, PrintJobState};

const SELECT: &str = "SELECT id, tenant_id, user_id, session_id, title, state, size_bytes, \
                      created_at, updated_at, completed_at FROM print_jobs";

fn from_row(r: &AnyRow) -> Result<PrintJob, DbError> {
    Ok(PrintJob {
        id: get_uuid(r, "id")?,
        tenant_id: get_uuid(r, "tenant_id")?,
        user_id: get_uuid(r, "user_id")?,
        session_id: get_opt_uuid(r, "session_id")?,
        title: get_string(r, "title")?,
        state: get_enum(r, "state")?,
        size_bytes: u64::try_from(get_i64(r, "size_bytes")?)
            .map_err(|e| DbError::Corrupt(format!("size_bytes: {e}")))?,
        created_at: get_time(r, "created_at")?,
        updated_at: get_time(r, "updated_at")?,
        completed_at: get_opt_time(r, "completed_at")?,
    })
}

pub async fn insert(conn: &mut AnyConnection, new: &NewPrintJob) -> Result<PrintJob, DbError> {
    let now = now();
    let size = i64::try_from(new.size_bytes)
        .map_err(|_| DbError::Check("size_bytes out of range".into()))?;
    let j = PrintJob {
        id: super::new_id(),
        tenant_id: new.tenant_id,
        user_id: new.user_id,
        session_id: new.session_id,
        title: new.title.clone(),
        state: PrintJobState::Received,
        size_bytes: new.size_bytes,
        created_at: now,
        updated_at: now,
        completed_at: None,
    };
    sqlx::query(
        "INSERT INTO print_jobs (id, tenant_id, user_id, session_id, title, state, size_bytes, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(j.id.to_string())
    .bind(j.tenant_id.to_string())
    .bind(j.user_id.to_string())
    .bind(j.session_id.map(|s| s.to_string()))
    .bind(j.title.as_str())
    .bind(j.state.as_str())
    .bind(size)
    .bind(millis(now))
    .bind(millis(now))
    .execute(conn)
    .await?;
    Ok(j)
}

pub async fn get(conn: &mut AnyConnection, id: Uuid) -> Result<Option<PrintJob>, DbError> {
    let row = sqlx::query(AssertSqlSafe(format!("{SELECT} WHERE id = $1")))
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Moves a job to `state`; terminal states stamp `completed_at`.
pub async fn set_state(
    conn: &mut AnyConnection,
    id: Uuid,
    state: PrintJobState,
    at: OffsetDateTime,
) -> Result<bool, DbError> {
    let terminal = matches!(
        state,
        PrintJobState::Delivered | PrintJobState::Failed | PrintJobState::Expired
    );
    let r = sqlx::query(
        "UPDATE print_jobs SET state = $1, updated_at = $2, \
         completed_at = CASE WHEN $3 = 1 THEN $2 ELSE completed_at END WHERE id = $4",
    )
    .bind(state.as_str())
    .bind(millis(at))
    .bind(i64::from(terminal))
    .bind(id.to_string())
    .execute(conn)
    .await?;
    Ok(r.rows_affected() > 0)
}

/// A user's jobs, newest first.
pub async fn list_for_user(
    conn: &mut AnyConnection,
    user_id: Uuid,
    page: PageRequest,
) -> Result<Page<PrintJob>, DbError> {
    let mut sql = Sql::new(SELECT);
    sql.and_uuid("user_id", Some(user_id)).page(page, true);
    let rows = sql.fetch_all(conn).await?;
    let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, page.limit, |j| j.id))
}
