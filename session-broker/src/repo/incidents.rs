//! The `incidents` and `incident_updates` tables: an incident is read with its updates,
//! oldest first.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe};
use time::OffsetDateTime;
use uuid::Uuid;

use super::sql::{Arg, Sql};
use crate::db::DbError;
use crate::db::row::{
    get_enum, get_opt_time, get_opt_uuid, get_string, get_time, get_uuid, millis,
};
use crate::model::{Incident, IncidentSeverity, IncidentState, IncidentUpdate, Page, PageRequest};

const SELECT: &str = "SELECT id, tenant_id, environment_id, title, severity, state, started_at, \
                      resolved_at, created_at, updated_at FROM incidents";

fn from_row(r: &AnyRow) -> Result<Incident, DbError> {
    Ok(Incident {
        id: get_uuid(r, "id")?,
        tenant_id: get_uuid(r, "tenant_id")?,
        environment_id: get_opt_uuid(r, "environment_id")?,
        title: get_string(r, "title")?,
        severity: get_enum(r, "severity")?,
        state: get_enum(r, "state")?,
        started_at: get_time(r, "started_at")?,
        resolved_at: get_opt_time(r, "resolved_at")?,
        created_at: get_time(r, "created_at")?,
        updated_at: get_time(r, "updated_at")?,
        updates: Vec::new(),
    })
}

fn update_from_row(r: &AnyRow) -> Result<IncidentUpdate, DbError> {
    Ok(IncidentUpdate {
        id: get_uuid(r, "id")?,
        incident_id: get_uuid(r, "incident_id")?,
        state: get_enum(r, "state")?,
        message: get_string(r, "message")?,
        author: get_string(r, "author")?,
        created_at: get_time(r, "created_at")?,
    })
}

/// A new incident and its first update, at `now`.
#[allow(clippy::too_many_arguments)]
pub async fn insert(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
    environment_id: Option<Uuid>,
    title: &str,
    severity: IncidentSeverity,
    state: IncidentState,
    started_at: OffsetDateTime,
    message: &str,
    author: &str,
    now: OffsetDateTime,
) -> Result<Incident, DbError> {
    let id = super::new_id();
    sqlx::query(
        "INSERT INTO incidents (id, tenant_id, environment_id, title, severity, state, \
         started_at, resolved_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $9)",
    )
    .bind(id.to_string())
    .bind(tenant_id.to_string())
    .bind(environment_id.map(|e| e.to_string()))
    .bind(title)
    .bind(severity.as_str())
    .bind(state.as_str())
    .bind(millis(started_at))
    .bind(millis(now))
    .bind(millis(now))
    .execute(&mut *conn)
    .await?;
    insert_update(conn, id, state, message, author, now).await?;
    get(conn, id)
        .await?
        .ok_or_else(|| DbError::Corrupt("inserted incident vanished".into()))
}

async fn insert_update(
    conn: &mut AnyConnection,
    incident_id: Uuid,
    state: IncidentState,
    message: &str,
    author: &str,
    now: OffsetDateTime,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO incident_updates (id, incident_id, state, message, author, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(super::new_id().to_string())
    .bind(incident_id.to_string())
    .bind(state.as_str())
    .bind(message)
    .bind(author)
    .bind(millis(now))
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes `after`'s state, severity and times and appends the update that led there.
pub async fn add_update(
    conn: &mut AnyConnection,
    after: &Incident,
    message: &str,
    author: &str,
) -> Result<Incident, DbError> {
    sqlx::query(
        "UPDATE incidents SET state = $1, severity = $2, resolved_at = $3, updated_at = $4 \
         WHERE id = $5",
    )
    .bind(after.state.as_str())
    .bind(after.severity.as_str())
    .bind(after.resolved_at.map(millis))
    .bind(millis(after.updated_at))
    .bind(after.id.to_string())
    .execute(&mut *conn)
    .await?;
    insert_update(
        conn,
        after.id,
        after.state,
        message,
        author,
        after.updated_at,
    )
    .await?;
    get(conn, after.id)
        .await?
        .ok_or_else(|| DbError::Corrupt("updated incident vanished".into()))
}

/// One incident with its updates.
pub async fn get(conn: &mut AnyConnection, id: Uuid) -> Result<Option<Incident>, DbError> {
    let row = sqlx::query(AssertSqlSafe(format!("{SELECT} WHERE id = $1")))
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    let Some(mut incident) = row.as_ref().map(from_row).transpose()? else {
        return Ok(None);
    };
    with_updates(conn, std::slice::from_mut(&mut incident)).await?;
    Ok(Some(incident))
}

/// Fills in the updates of `incidents`.
async fn with_updates(conn: &mut AnyConnection, incidents: &mut [Incident]) -> Result<(), DbError> {
    for incident in incidents.iter_mut() {
        let rows = sqlx::query(
            "SELECT id, incident_id, state, message, author, created_at FROM incident_updates \
             WHERE incident_id = $1 ORDER BY id",
        )
        .bind(incident.id.to_string())
        .fetch_all(&mut *conn)
        .await?;
        incident.updates = rows.iter().map(update_from_row).collect::<Result<_, _>>()?;
    }
    Ok(())
}

/// A tenant's incidents, newest first; `open`: only those not resolved (or only resolved).
pub async fn list(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
    open: Option<bool>,
    page: PageRequest,
) -> Result<Page<Incident>, DbError> {
    let mut sql = Sql::new(SELECT);
    sql.and_uuid("tenant_id", Some(tenant_id));
    match open {
        Some(true) => {
            sql.push(" AND resolved_at IS NULL");
        }
        Some(false) => {
            sql.push(" AND resolved_at IS NOT NULL");
        }
        None => {}
    }
    sql.page(page, true);
    let rows = sql.fetch_all(conn).await?;
    let mut items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    // The extra row only tells whether another page follows; its updates are not needed.
    let shown = items.len().min(page.limit as usize);
    with_updates(conn, &mut items[..shown]).await?;
    Ok(Page::from_rows(items, page.limit, |i| i.id))
}

/// Every tenant's incidents that are open or were resolved at or after `resolved_since`,
/// newest first, at most `limit`: what the public status page shows.
pub async fn list_current(
    conn: &mut AnyConnection,
    resolved_since: OffsetDateTime,
    limit: u32,
) -> Result<Vec<Incident>, DbError> {
    let mut sql = Sql::new(&format!(
        "{SELECT} WHERE (resolved_at IS NULL OR resolved_at >= $1)"
    ));
    sql.arg(Arg::Int(millis(resolved_since)));
    let limit = sql.arg(Arg::Int(i64::from(limit)));
    sql.push(&format!(" ORDER BY started_at DESC, id DESC LIMIT {limit}"));
    let rows = sql.fetch_all(conn).await?;
    let mut items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    with_updates(conn, &mut items).await?;
    Ok(items)
}
