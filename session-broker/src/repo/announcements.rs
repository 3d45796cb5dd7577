//! The `announcements` table: admins' messages to one tenant's users or to everyone's.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe};
use time::OffsetDateTime;
use uuid::Uuid;

use super::sql::{Arg, Sql};
use crate::db::DbError;
use crate::db::row::{get_enum, get_opt_uuid, get_string, get_time, get_uuid, millis, now};
use crate::model::{Announcement, AnnouncementSeverity, NewAnnouncement, Page, PageRequest};

const SELECT: &str = "SELECT id, tenant_id, title, body, severity, starts_at, ends_at, \
                      created_at, updated_at FROM announcements";

fn from_row(r: &AnyRow) -> Result<Announcement, DbError> {
    Ok(Announcement {
        id: get_uuid(r, "id")?,
        tenant_id: get_opt_uuid(r, "tenant_id")?,
        title: get_string(r, "title")?,
        body: get_string(r, "body")?,
        severity: get_enum::<AnnouncementSeverity>(r, "severity")?,
        starts_at: get_time(r, "starts_at")?,
        ends_at: get_time(r, "ends_at")?,
        created_at: get_time(r, "created_at")?,
        updated_at: get_time(r, "updated_at")?,
    })
}

/// Stores a new announcement for `tenant_id` (`None`: every tenant) shown from `starts_at`.
pub async fn insert(
    conn: &mut AnyConnection,
    tenant_id: Option<Uuid>,
    new: &NewAnnouncement,
    starts_at: OffsetDateTime,
) -> Result<Announcement, DbError> {
    let now = now();
    let a = Announcement {
        id: super::new_id(),
        tenant_id,
        title: new.title.clone(),
        body: new.body.clone(),
        severity: new.severity,
        starts_at,
        ends_at: new.ends_at,
        created_at: now,
        updated_at: now,
    };
    sqlx::query(
        "INSERT INTO announcements (id, tenant_id, title, body, severity, starts_at, ends_at, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(a.id.to_string())
    .bind(tenant_id.map(|t| t.to_string()))
    .bind(a.title.as_str())
    .bind(a.body.as_str())
    .bind(a.severity.as_str())
    .bind(millis(a.starts_at))
    .bind(millis(a.ends_at))
    .bind(millis(now))
    .bind(millis(now))
    .execute(conn)
    .await?;
    Ok(a)
}

pub async fn get(conn: &mut AnyConnection, id: Uuid) -> Result<Option<Announcement>, DbError> {
    let row = sqlx::query(AssertSqlSafe(format!("{SELECT} WHERE id = $1")))
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Ends it at `at` (never before its start, so one not yet shown is never shown).
pub async fn end(
    conn: &mut AnyConnection,
    a: &Announcement,
    at: OffsetDateTime,
) -> Result<Announcement, DbError> {
    let mut a = a.clone();
    a.ends_at = at.max(a.starts_at);
    a.updated_at = now();
    sqlx::query("UPDATE announcements SET ends_at = $1, updated_at = $2 WHERE id = $3")
        .bind(millis(a.ends_at))
        .bind(millis(a.updated_at))
        .bind(a.id.to_string())
        .execute(conn)
        .await?;
    Ok(a)
}

/// Newest first: a tenant's and those to every tenant (`Some`), or all of them (`None`).
pub async fn list(
    conn: &mut AnyConnection,
    tenant_id: Option<Uuid>,
    page: PageRequest,
) -> Result<Page<Announcement>, DbError> {
    let mut sql = Sql::new(SELECT);
    if let Some(t) = tenant_id {
        let p = sql.arg(Arg::Text(t.to_string()));
        sql.push(&format!(" WHERE (tenant_id = {p} OR tenant_id IS NULL)"))
            .mark_where();
    }
    sql.page(page, true);
    let rows = sql.fetch_all(conn).await?;
    let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, page.limit, |a| a.id))
}

/// What `tenant_id`'s users see at `at`: its own and everyone's running announcements,
/// warnings first, then the newest; at most `limit`.
pub async fn shown(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
    at: OffsetDateTime,
    limit: u32,
) -> Result<Vec<Announcement>, DbError> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "{SELECT} WHERE (tenant_id = $1 OR tenant_id IS NULL) AND starts_at <= $2 \
         AND ends_at > $2 ORDER BY CASE severity WHEN 'warning' THEN 0 ELSE 1 END, id DESC \
         LIMIT $3"
    )))
    .bind(tenant_id.to_string())
    .bind(millis(at))
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}
