//! The `security_events` table: attack patterns raised from the audit log. Inserting is
//! idempotent per `dedupe_key`, so several broker nodes detecting the same pattern record
//! it once.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe};
use uuid::Uuid;

use super::sql::Sql;
use crate::db::DbError;
use crate::db::row::{
    get_enum, get_i64, get_opt_string, get_opt_uuid, get_string, get_time, get_uuid, millis,
};
use crate::model::{Page, PageRequest, SecurityEvent, SecurityEventFilter, SecurityEventKind};

const SELECT: &str = "SELECT id, at, tenant_id, kind, source_address, event_count, \
                      window_start, window_end, detail FROM security_events";

fn from_row(r: &AnyRow) -> Result<SecurityEvent, DbError> {
    Ok(SecurityEvent {
        id: get_uuid(r, "id")?,
        at: get_time(r, "at")?,
        tenant_id: get_opt_uuid(r, "tenant_id")?,
        kind: get_enum(r, "kind")?,
        source_address: get_opt_string(r, "source_address")?,
        count: get_i64(r, "event_count")?.max(0).unsigned_abs(),
        window_start: get_time(r, "window_start")?,
        window_end: get_time(r, "window_end")?,
        detail: get_string(r, "detail")?,
    })
}

/// Records `event` unless one with the same `dedupe_key` exists; returns whether it was new.
pub async fn insert_once(
    conn: &mut AnyConnection,
    event: &SecurityEvent,
    dedupe_key: &str,
) -> Result<bool, DbError> {
    let r = sqlx::query(
        "INSERT INTO security_events (id, at, tenant_id, kind, source_address, event_count, \
         window_start, window_end, detail, dedupe_key) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(event.id.to_string())
    .bind(millis(event.at))
    .bind(event.tenant_id.map(|t| t.to_string()))
    .bind(event.kind.as_str().to_owned())
    .bind(event.source_address.clone())
    .bind(i64::try_from(event.count).unwrap_or(i64::MAX))
    .bind(millis(event.window_start))
    .bind(millis(event.window_end))
    .bind(event.detail.clone())
    .bind(dedupe_key)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() > 0)
}

pub async fn get(conn: &mut AnyConnection, id: Uuid) -> Result<Option<SecurityEvent>, DbError> {
    let row = sqlx::query(AssertSqlSafe(format!("{SELECT} WHERE id = $1")))
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Newest first.
pub async fn list(
    conn: &mut AnyConnection,
    filter: &SecurityEventFilter,
    page: PageRequest,
) -> Result<Page<SecurityEvent>, DbError> {
    let mut sql = Sql::new(SELECT);
    sql.and_uuid("tenant_id", filter.tenant_id)
        .and_text("kind", filter.kind.map(SecurityEventKind::as_str))
        .and_time("at", ">=", filter.from)
        .and_time("at", "<", filter.to)
        .page(page, true);
    let rows = sql.fetch_all(conn).await?;
    let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, page.limit, |e| e.id))
}
