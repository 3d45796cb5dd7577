//! The `audit_events` table: append-only.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe};
use uuid::Uuid;

use super::sql::Sql;
use crate::db::DbError;
use crate::db::row::{
    get_enum, get_i64, get_opt_json, get_opt_string, get_opt_uuid, get_string, get_time, get_uuid,
    millis, now,
};
use crate::model::{AuditEvent, AuditFilter, AuditOutcome, NewAuditEvent, Page, PageRequest};

const SELECT: &str = "SELECT id, at, tenant_id, actor_kind, actor_id, actor_name, action, \
                      target_type, target_id, outcome, source_address, before_json, after_json, \
                      detail FROM audit_events";

fn from_row(r: &AnyRow) -> Result<AuditEvent, DbError> {
    Ok(AuditEvent {
        id: get_uuid(r, "id")?,
        at: get_time(r, "at")?,
        tenant_id: get_opt_uuid(r, "tenant_id")?,
        actor_kind: get_enum(r, "actor_kind")?,
        actor_id: get_opt_string(r, "actor_id")?,
        actor_name: get_string(r, "actor_name")?,
        action: get_string(r, "action")?,
        target_type: get_opt_string(r, "target_type")?,
        target_id: get_opt_string(r, "target_id")?,
        outcome: get_enum(r, "outcome")?,
        source_address: get_opt_string(r, "source_address")?,
        before: get_opt_json(r, "before_json")?,
        after: get_opt_json(r, "after_json")?,
        detail: get_opt_string(r, "detail")?,
    })
}

pub async fn insert(conn: &mut AnyConnection, e: &NewAuditEvent) -> Result<AuditEvent, DbError> {
    let ev = AuditEvent {
        id: super::new_id(),
        at: now(),
        tenant_id: e.tenant_id,
        actor_kind: e.actor_kind,
        actor_id: e.actor_id.clone(),
        actor_name: e.actor_name.clone(),
        action: e.action.clone(),
        target_type: e.target_type.clone(),
        target_id: e.target_id.clone(),
        outcome: e.outcome,
        source_address: e.source_address.clone(),
        before: e.before.clone(),
        after: e.after.clone(),
        detail: e.detail.clone(),
    };
    sqlx::query(
        "INSERT INTO audit_events (id, at, tenant_id, actor_kind, actor_id, actor_name, action, \
         target_type, target_id, outcome, source_address, before_json, after_json, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(ev.id.to_string())
    .bind(millis(ev.at))
    .bind(ev.tenant_id.map(|t| t.to_string()))
    .bind(ev.actor_kind.as_str())
    .bind(ev.actor_id.clone())
    .bind(ev.actor_name.as_str())
    .bind(ev.action.as_str())
    .bind(ev.target_type.clone())
    .bind(ev.target_id.clone())
    .bind(ev.outcome.as_str())
    .bind(ev.source_address.clone())
    .bind(ev.before.as_ref().map(serde_json::Value::to_string))
    .bind(ev.after.as_ref().map(serde_json::Value::to_string))
    .bind(ev.detail.clone())
    .execute(conn)
    .await?;
    Ok(ev)
}

pub async fn get(conn: &mut AnyConnection, id: Uuid) -> Result<Option<AuditEvent>, DbError> {
    let row = sqlx::query(AssertSqlSafe(format!("{SELECT} WHERE id = $1")))
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// `filter` as conditions on `sql`.
fn filtered(sql: &mut Sql, filter: &AuditFilter) {
    sql.and_uuid("tenant_id", filter.tenant_id)
        .and_text("action", filter.action.as_deref())
        .and_text("actor_id", filter.actor_id.as_deref())
        .and_text("outcome", filter.outcome.map(AuditOutcome::as_str))
        .and_text("target_id", filter.target_id.as_deref())
        .and_time("at", ">=", filter.from)
        .and_time("at", "<", filter.to);
}

/// Newest first.
pub async fn list(
    conn: &mut AnyConnection,
    filter: &AuditFilter,
    page: PageRequest,
) -> Result<Page<AuditEvent>, DbError> {
    let mut sql = Sql::new(SELECT);
    filtered(&mut sql, filter);
    sql.page(page, true);
    let rows = sql.fetch_all(conn).await?;
    let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, page.limit, |e| e.id))
}

/// How many events match `filter`.
pub async fn count(conn: &mut AnyConnection, filter: &AuditFilter) -> Result<u64, DbError> {
    let mut sql = Sql::new("SELECT COUNT(*) AS n FROM audit_events");
    filtered(&mut sql, filter);
    let rows = sql.fetch_all(conn).await?;
    let n = match rows.first() {
        Some(r) => get_i64(r, "n")?,
        None => 0,
    };
    Ok(u64::try_from(n).unwrap_or(0))
}
