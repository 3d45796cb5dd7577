//! `/audit`: the audit log, read-only, filtered and paged, newest first; `/audit/export`:
//! the same filters as one file, CSV (through the shared injection-safe writer) or JSON
//! lines, at most [`EXPORT_MAX_ROWS`] events (more is refused with a request to narrow
//! the filters, never cut silently), itself audited as `audit.export` in the transaction
//! that read it. Tenant clients see their own tenant's events only.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::api::AdminState;
use crate::api::caller::Caller;
use crate::api::export::{CSV, JSON_LINES, attachment, push_csv_line};
use crate::api::extract::{Ids, Params, page};
use crate::api::mutation::{Change, Mutation};
use crate::api::problem::ApiError;
use crate::db::row::now;
use crate::model::{AuditEvent, AuditFilter, AuditOutcome, Page, PageRequest};
use crate::repo::audit;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    pub tenant_id: Option<Uuid>,
    /// Exact action, e.g. `tenant.create`.
    pub action: Option<String>,
    pub actor_id: Option<String>,
    pub outcome: Option<AuditOutcome>,
    pub target_id: Option<String>,
    /// RFC 3339; events at or after.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub from: Option<OffsetDateTime>,
    /// RFC 3339; events before.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub to: Option<OffsetDateTime>,
    pub limit: Option<u32>,
    pub cursor: Option<Uuid>,
}

/// The filter a caller's query comes to: a tenant client's is pinned to its tenant; `None`
/// when it names another tenant, whose events do not exist for it.
fn scoped(caller: &Caller, mut filter: AuditFilter) -> Option<AuditFilter> {
    filter.tenant_id = match (caller.tenant(), filter.tenant_id) {
        (None, t) => t,
        (Some(own), None) => Some(own),
        (Some(own), Some(t)) if t == own => Some(own),
        (Some(_), Some(_)) => return None,
    };
    Some(filter)
}

pub async fn list(
    State(s): State<AdminState>,
    caller: Caller,
    Params(q): Params<AuditQuery>,
) -> Result<Json<Page<AuditEvent>>, ApiError> {
    let page = page(q.limit, q.cursor)?;
    let filter = AuditFilter {
        tenant_id: q.tenant_id,
        action: q.action,
        actor_id: q.actor_id,
        outcome: q.outcome,
        target_id: q.target_id,
        from: q.from,
        to: q.to,
    };
    let Some(filter) = scoped(&caller, filter) else {
        return Ok(Json(Page {
            items: Vec::new(),
            next_cursor: None,
        }));
    };
    let mut conn = s.conn().await?;
    Ok(Json(audit::list(&mut conn, &filter, page).await?))
}

/// The most events one export holds (about 50-100 MB of CSV at the largest): an export is
/// built in memory, and a year of a large tenant's log is read in several time ranges.
pub const EXPORT_MAX_ROWS: u64 = 50_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `csv` or `jsonl`.
    pub format: Option<String>,
    pub tenant_id: Option<Uuid>,
    pub action: Option<String>,
    pub actor_id: Option<String>,
    pub outcome: Option<AuditOutcome>,
    pub target_id: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub from: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub to: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    JsonLines,
}

/// The export's CSV columns; `hamn audit export` writes the same file.
pub const CSV_HEADER: &[&str] = &[
    "id",
    "at",
    "tenant_id",
    "actor_kind",
    "actor_id",
    "actor_name",
    "action",
    "target_type",
    "target_id",
    "outcome",
    "source_address",
    "detail",
    "before",
    "after",
];

/// One event as a CSV line under [`CSV_HEADER`].
pub fn push_csv(out: &mut String, e: &AuditEvent) {
    let rfc =
        e.at.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
    let json =
        |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string()).unwrap_or_default();
    push_csv_line(
        out,
        [
            e.id.to_string(),
            rfc,
            e.tenant_id.map(|t| t.to_string()).unwrap_or_default(),
            e.actor_kind.to_string(),
            e.actor_id.clone().unwrap_or_default(),
            e.actor_name.clone(),
            e.action.clone(),
            e.target_type.clone().unwrap_or_default(),
            e.target_id.clone().unwrap_or_default(),
            e.outcome.to_string(),
            e.source_address.clone().unwrap_or_default(),
            e.detail.clone().unwrap_or_default(),
            json(&e.before),
            json(&e.after),
        ],
    );
}

pub async fn export(
    State(s): State<AdminState>,
    caller: Caller,
    Params(q): Params<ExportQuery>,
) -> Result<Response, ApiError> {
    let format = match q.format.as_deref() {
        Some("csv") => Format::Csv,
        Some("jsonl") => Format::JsonLines,
        _ => return Err(ApiError::bad_request("format", "must be csv or jsonl")),
    };
    let asked = AuditFilter {
        tenant_id: q.tenant_id,
        action: q.action,
        actor_id: q.actor_id,
        outcome: q.outcome,
        target_id: q.target_id,
        from: q.from,
        to: q.to,
    };
    // Another tenant's log does not exist for a tenant client: as the listing answers an
    // empty page, the export has no rows (and is audited like any other).
    let filter = scoped(&caller, asked.clone());
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let matching = match &filter {
        Some(filter) => audit::count(m.conn(), filter).await?,
        None => 0,
    };
    if matching > EXPORT_MAX_ROWS {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "export-too-large",
            "Export too large",
            format!(
                "{matching} events match; an export holds at most {EXPORT_MAX_ROWS}: narrow the filters (from, to)"
            ),
        )
        .with_field("from", format!("at most {EXPORT_MAX_ROWS} events per export")));
    }
    let mut out = String::new();
    if format == Format::Csv {
        push_csv_line(&mut out, CSV_HEADER);
    }
    let mut rows: u64 = 0;
    let mut cursor = None;
    while let Some(f) = &filter {
        let page = PageRequest {
            limit: crate::model::page::MAX_LIMIT,
            cursor,
        };
        let Page { items, next_cursor } = audit::list(m.conn(), f, page).await?;
        // Events written after the count are newer and come first; the bound still holds.
        for e in items
            .iter()
            .take(usize::try_from(EXPORT_MAX_ROWS - rows).unwrap_or(0))
        {
            rows += 1;
            match format {
                Format::Csv => push_csv(&mut out, e),
                Format::JsonLines => {
                    out.push_str(&serde_json::to_string(e).map_err(|_| ApiError::internal())?);
                    out.push('\n');
                }
            }
        }
        match next_cursor {
            Some(c) if rows < EXPORT_MAX_ROWS => cursor = Some(c),
            _ => break,
        }
    }
    let (ext, content_type) = match format {
        Format::Csv => ("csv", CSV),
        Format::JsonLines => ("jsonl", JSON_LINES),
    };
    let rfc = |t: Option<OffsetDateTime>| {
        t.and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
    };
    let tenant_id = filter.as_ref().map_or(caller.tenant(), |f| f.tenant_id);
    m.commit(Change::created(
        "audit.export",
        tenant_id,
        "audit_log",
        tenant_id.map_or_else(|| "all".to_owned(), |t| t.to_string()),
        &json!({
            "format": ext,
            "rows": rows,
            "filter": {
                "tenant_id": asked.tenant_id,
                "action": asked.action,
                "actor_id": asked.actor_id,
                "outcome": asked.outcome,
                "target_id": asked.target_id,
                "from": rfc(asked.from),
                "to": rfc(asked.to),
            },
        }),
    ))
    .await?;
    let filename = format!("audit-{}.{ext}", now().date());
    Ok(attachment(out, content_type, &filename))
}

pub async fn get(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
) -> Result<Json<AuditEvent>, ApiError> {
    let mut conn = s.conn().await?;
    let found = audit::get(&mut conn, ids.id()).await?;
    // Events without a tenant (operator actions, refusals) are for operators only.
    match found {
        Some(e) if caller.is_operator() || e.tenant_id.is_some_and(|t| caller.sees(t)) => {
            Ok(Json(e))
        }
        _ => Err(ApiError::not_found("audit event")),
    }
}
