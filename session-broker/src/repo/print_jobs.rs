//! The `print_jobs` table. The pipeline that fills it is `hamn_print::jobs`; every change
//! there shares a transaction with its audit event.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::DbError;
use crate::db::row::{
    get_enum, get_i64, get_opt_i64, get_opt_string, get_opt_time, get_string, get_time, get_uuid,
    millis,
};
use crate::model::{NewPrintJob, PrintJob, PrintJobState};

const SELECT: &str = "SELECT id, tenant_id, user_id, session_id, token_id, ipp_job_id, title, \
                      source, document_format, requesting_user, state, reason, received_bytes, \
                      pages, bytes, created_at, updated_at, completed_at, expires_at, purged_at \
                      FROM print_jobs";

fn unsigned<T: TryFrom<i64>>(value: i64, column: &str) -> Result<T, DbError> {
    T::try_from(value).map_err(|_| DbError::Corrupt(format!("print_jobs.{column}: {value}")))
}

fn signed(value: u64, column: &str) -> Result<i64, DbError> {
    i64::try_from(value).map_err(|_| DbError::Check(format!("{column} out of range")))
}

fn from_row(r: &AnyRow) -> Result<PrintJob, DbError> {
    Ok(PrintJob {
        id: get_uuid(r, "id")?,
        tenant_id: get_uuid(r, "tenant_id")?,
        user_id: get_uuid(r, "user_id")?,
        session_id: get_uuid(r, "session_id")?,
        token_id: get_uuid(r, "token_id")?,
        ipp_job_id: unsigned(get_i64(r, "ipp_job_id")?, "ipp_job_id")?,
        title: get_string(r, "title")?,
        source: get_enum(r, "source")?,
        document_format: get_opt_string(r, "document_format")?,
        requesting_user: get_opt_string(r, "requesting_user")?,
        state: get_enum(r, "state")?,
        reason: get_opt_string(r, "reason")?,
        received_bytes: unsigned(get_i64(r, "received_bytes")?, "received_bytes")?,
        pages: get_opt_i64(r, "pages")?
            .map(|p| unsigned(p, "pages"))
            .transpose()?,
        bytes: get_opt_i64(r, "bytes")?
            .map(|b| unsigned(b, "bytes"))
            .transpose()?,
        created_at: get_time(r, "created_at")?,
        updated_at: get_time(r, "updated_at")?,
        completed_at: get_opt_time(r, "completed_at")?,
        expires_at: get_time(r, "expires_at")?,
        purged_at: get_opt_time(r, "purged_at")?,
    })
}

/// Records a new `pending` job at `now`. Its IPP job-id is the token's next, taken under
/// the token row's lock, so concurrent jobs of one printer never share one.
pub async fn insert(
    conn: &mut AnyConnection,
    new: &NewPrintJob,
    now: OffsetDateTime,
) -> Result<PrintJob, DbError> {
    let counted: Option<i64> =
        sqlx::query_scalar("UPDATE print_tokens SET jobs = jobs + 1 WHERE id = $1 RETURNING jobs")
            .bind(new.token_id.to_string())
            .fetch_optional(&mut *conn)
            .await?;
    let ipp_job_id = counted
        .ok_or_else(|| DbError::Check(format!("printer token {} does not exist", new.token_id)))?;
    let job = PrintJob {
        id: super::new_id(),
        tenant_id: new.tenant_id,
        user_id: new.user_id,
        session_id: new.session_id,
        token_id: new.token_id,
        ipp_job_id: u32::try_from(ipp_job_id)
            .ok()
            .filter(|id| i32::try_from(*id).is_ok())
            .ok_or_else(|| DbError::Check("the printer has used up its job-ids".into()))?,
        title: new.title.clone(),
        source: new.source,
        document_format: new.document_format.clone(),
        requesting_user: new.requesting_user.clone(),
        state: PrintJobState::Pending,
        reason: None,
        received_bytes: 0,
        pages: None,
        bytes: None,
        created_at: now,
        updated_at: now,
        completed_at: None,
        expires_at: new.expires_at,
        purged_at: None,
    };
    sqlx::query(
        "INSERT INTO print_jobs (id, tenant_id, user_id, session_id, token_id, ipp_job_id, \
         title, source, document_format, requesting_user, state, received_bytes, created_at, \
         updated_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, $12, $12, $13)",
    )
    .bind(job.id.to_string())
    .bind(job.tenant_id.to_string())
    .bind(job.user_id.to_string())
    .bind(job.session_id.to_string())
    .bind(job.token_id.to_string())
    .bind(ipp_job_id)
    .bind(job.title.as_str())
    .bind(job.source.as_str())
    .bind(job.document_format.clone())
    .bind(job.requesting_user.clone())
    .bind(job.state.as_str())
    .bind(millis(now))
    .bind(millis(job.expires_at))
    .execute(conn)
    .await?;
    Ok(job)
}

pub async fn get(conn: &mut AnyConnection, id: Uuid) -> Result<Option<PrintJob>, DbError> {
    let row = sqlx::query(AssertSqlSafe(format!("{SELECT} WHERE id = $1")))
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The job with IPP job-id `ipp_job_id` of printer token `token_id`.
pub async fn get_by_ipp_id(
    conn: &mut AnyConnection,
    token_id: Uuid,
    ipp_job_id: u32,
) -> Result<Option<PrintJob>, DbError> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "{SELECT} WHERE token_id = $1 AND ipp_job_id = $2"
    )))
    .bind(token_id.to_string())
    .bind(i64::from(ipp_job_id))
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// The jobs of printer token `token_id`, newest first; at most `limit`.
pub async fn list_for_token(
    conn: &mut AnyConnection,
    token_id: Uuid,
    limit: u32,
) -> Result<Vec<PrintJob>, DbError> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "{SELECT} WHERE token_id = $1 ORDER BY ipp_job_id DESC LIMIT $2"
    )))
    .bind(token_id.to_string())
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// The user's jobs whose retention has not ended, newest first; at most `limit`.
pub async fn list_for_user(
    conn: &mut AnyConnection,
    user_id: Uuid,
    limit: u32,
) -> Result<Vec<PrintJob>, DbError> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "{SELECT} WHERE user_id = $1 AND purged_at IS NULL ORDER BY id DESC LIMIT $2"
    )))
    .bind(user_id.to_string())
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// A `pending` job's document starts arriving in `document_format`. False when the job
/// is no longer pending (cancelled meanwhile, or a second document).
pub async fn start(
    conn: &mut AnyConnection,
    id: Uuid,
    document_format: &str,
    now: OffsetDateTime,
) -> Result<bool, DbError> {
    let r = sqlx::query(
        "UPDATE print_jobs SET state = 'processing', document_format = $1, updated_at = $2 \
         WHERE id = $3 AND state = 'pending'",
    )
    .bind(document_format)
    .bind(millis(now))
    .bind(id.to_string())
    .execute(conn)
    .await?;
    Ok(r.rows_affected() > 0)
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobEnd<'a> {
    /// The PDF is stored.
    Ready {
        pages: u32,
        bytes: u64,
    },
    /// Refused with a code.
    Refused {
        reason: &'a str,
    },
    Cancelled,
}

/// Ends a job that has not ended yet; `received_bytes` is the document bytes read. False
/// when it had already ended (a cancel won the race).
pub async fn finish(
    conn: &mut AnyConnection,
    id: Uuid,
    end: &JobEnd<'_>,
    received_bytes: u64,
    now: OffsetDateTime,
) -> Result<bool, DbError> {
    let (state, reason, pages, bytes) = match end {
        JobEnd::Ready { pages, bytes } => (
            PrintJobState::Ready,
            None,
            Some(i64::from(*pages)),
            Some(signed(*bytes, "bytes")?),
        ),
        JobEnd::Refused { reason } => (PrintJobState::Refused, Some(*reason), None, None),
        JobEnd::Cancelled => (PrintJobState::Cancelled, None, None, None),
    };
    let r = sqlx::query(
        "UPDATE print_jobs SET state = $1, reason = $2, pages = $3, bytes = $4, \
         received_bytes = $5, updated_at = $6, completed_at = $6 \
         WHERE id = $7 AND state IN ('pending', 'processing')",
    )
    .bind(state.as_str())
    .bind(reason)
    .bind(pages)
    .bind(bytes)
    .bind(signed(received_bytes, "received_bytes")?)
    .bind(millis(now))
    .bind(id.to_string())
    .execute(conn)
    .await?;
    Ok(r.rows_affected() > 0)
}

/// Jobs whose retention ended by `now` and whose files are not yet purged, oldest first;
/// at most `limit`.
pub async fn expired(
    conn: &mut AnyConnection,
    now: OffsetDateTime,
    limit: u32,
) -> Result<Vec<PrintJob>, DbError> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "{SELECT} WHERE purged_at IS NULL AND expires_at <= $1 ORDER BY expires_at LIMIT $2"
    )))
    .bind(millis(now))
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Marks job `id`'s file purged (idempotent). The title goes too: it may name a patient,
/// and the row outlives the document only as an audit trail.
pub async fn mark_purged(
    conn: &mut AnyConnection,
    id: Uuid,
    now: OffsetDateTime,
) -> Result<bool, DbError> {
    let r = sqlx::query(
        "UPDATE print_jobs SET purged_at = $1, updated_at = $1, title = '' \
         WHERE id = $2 AND purged_at IS NULL",
    )
    .bind(millis(now))
    .bind(id.to_string())
    .execute(conn)
    .await?;
    Ok(r.rows_affected() > 0)
}

/// Jobs still in `state` since they were created before `before`, at most `limit`:
/// `pending` ones (created, no document) whose sender gave up (IPP's
/// multiple-operation-time-out), `processing` ones a crashed print service left behind.
pub async fn stale(
    conn: &mut AnyConnection,
    state: PrintJobState,
    before: OffsetDateTime,
    limit: u32,
) -> Result<Vec<PrintJob>, DbError> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "{SELECT} WHERE state = $3 AND created_at < $1 ORDER BY created_at LIMIT $2"
    )))
    .bind(millis(before))
    .bind(i64::from(limit))
    .bind(state.as_str())
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}
