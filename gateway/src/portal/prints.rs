//! The logged-in user's print jobs ("Mina utskrifter"): `GET /portal/api/prints` lists
//! their jobs whose retention has not ended, newest first, and
//! `GET /portal/api/prints/{id}/pdf` streams one finished PDF from `print.data_dir`
//! (inline, or as an attachment with `?download=1`), audited as `print.download`. Only
//! the owner sees a job; for anyone else it does not exist (404), so ids leak nothing.

use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hamn_broker::db::DbError;
use hamn_broker::model::{
    ActorKind, AuditOutcome, NewAuditEvent, PrintJob, PrintJobState, PrintSource,
};
use hamn_broker::repo;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::io::AsyncReadExt;
use uuid::Uuid;

use super::api::{PortalApi, Source, no_store};
use super::lang::Lang;
use super::problem::Problem;
use super::web_session::WebUser;

/// More jobs than a day's retention holds for one person; the list stops there.
const MAX_LISTED: u32 = 200;
/// Bytes read from the PDF per chunk of the response.
const CHUNK: usize = 64 * 1024;

#[derive(Debug, Serialize)]
pub struct MyPrints {
    pub jobs: Vec<MyPrint>,
}

/// A job as the portal shows it.
#[derive(Debug, Serialize)]
pub struct MyPrint {
    pub id: Uuid,
    pub title: String,
    /// `ready`, `refused` or `cancelled` (a job still arriving is not listed).
    pub state: PrintJobState,
    pub pages: Option<u32>,
    pub bytes: Option<u64>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// The refusal code of a refused job.
    pub reason: Option<String>,
    pub source: PrintSource,
}

impl From<PrintJob> for MyPrint {
    fn from(j: PrintJob) -> Self {
        Self {
            id: j.id,
            title: j.title,
            state: j.state,
            pages: j.pages,
            bytes: j.bytes,
            created_at: j.created_at,
            expires_at: j.expires_at,
            reason: j.reason,
            source: j.source,
        }
    }
}

/// `GET /portal/api/prints`.
pub async fn list(State(api): State<Arc<PortalApi>>, lang: Lang, who: WebUser) -> Response {
    let listed = async {
        let mut conn = api.database.acquire().await?;
        repo::print_jobs::list_for_user(&mut conn, who.user.id, MAX_LISTED).await
    };
    match listed.await {
        Ok(jobs) => {
            let jobs = jobs
                .into_iter()
                .filter(|j| j.state.is_final())
                .map(MyPrint::from)
                .collect();
            no_store(Json(MyPrints { jobs }).into_response())
        }
        Err(error) => {
            tracing::error!(%error, "print job list failed");
            Problem::unavailable(lang).into_response()
        }
    }
}

fn unknown_print(lang: Lang) -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "unknown_print",
        lang,
        "Utskriften finns inte eller har redan tagits bort.",
        "The print job does not exist or has already been removed.",
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct PdfQuery {
    #[serde(default)]
    download: Option<String>,
}

/// The user's own, finished, not yet purged job `id`.
async fn own_ready_job(
    api: &PortalApi,
    who: &WebUser,
    id: Uuid,
) -> Result<Option<PrintJob>, DbError> {
    let mut conn = api.database.acquire().await?;
    Ok(repo::print_jobs::get(&mut conn, id).await?.filter(|j| {
        j.user_id == who.user.id
            && j.tenant_id == who.user.tenant_id
            && j.state == PrintJobState::Ready
            && j.purged_at.is_none()
    }))
}

/// A filename for Content-Disposition: the title's safe characters, else the id.
fn file_name(job: &PrintJob) -> String {
    let stem: String = job
        .title
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | ' ' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    let stem = stem.trim().trim_matches('.');
    if stem.is_empty() {
        format!("utskrift-{}.pdf", job.id)
    } else {
        format!("{stem}.pdf")
    }
}

/// RFC 6266 / 8187: an ASCII fallback and the UTF-8 name.
fn disposition(kind: &str, name: &str) -> HeaderValue {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ' ') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    HeaderValue::from_str(&format!(
        "{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// The file as a streamed body, read in [`CHUNK`]s.
fn stream(file: tokio::fs::File) -> Body {
    let chunks = futures_util::stream::unfold(Some(file), |state| async move {
        let mut file = state?;
        let mut buf = vec![0u8; CHUNK];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(Bytes::from(buf)), Some(file)))
            }
            Err(e) => Some((Err(e), None)),
        }
    });
    Body::from_stream(chunks)
}

/// `GET /portal/api/prints/{id}/pdf`.
pub async fn pdf(
    State(api): State<Arc<PortalApi>>,
    lang: Lang,
    Source(source): Source,
    who: WebUser,
    UrlPath(id): UrlPath<String>,
    Query(query): Query<PdfQuery>,
) -> Response {
    let Ok(id) = Uuid::parse_str(id.trim()) else {
        return unknown_print(lang).into_response();
    };
    let job = match own_ready_job(&api, &who, id).await {
        Ok(Some(job)) => job,
        Ok(None) => return unknown_print(lang).into_response(),
        Err(error) => {
            tracing::error!(%error, "print job lookup failed");
            return Problem::unavailable(lang).into_response();
        }
    };
    let path = hamn_print::store::pdf_path(&api.print_data_dir, job.tenant_id, job.id);
    let file = match tokio::fs::File::open(&path).await {
        Ok(f) => f,
        Err(e) => {
            // Purged between the lookup and now, or storage not shared with the print
            // service: for the user, it is gone.
            tracing::warn!(job = %job.id, "print job file: {e}");
            return unknown_print(lang).into_response();
        }
    };
    let download = query.download.as_deref() == Some("1");
    let event = NewAuditEvent {
        tenant_id: Some(job.tenant_id),
        actor_kind: ActorKind::User,
        actor_id: Some(who.user.id.to_string()),
        actor_name: who.user.display_name.clone(),
        action: "print.download".into(),
        target_type: Some("print_job".into()),
        target_id: Some(job.id.to_string()),
        outcome: AuditOutcome::Success,
        source_address: source,
        before: None,
        after: Some(serde_json::json!({
            "pages": job.pages,
            "bytes": job.bytes,
            "download": download,
        })),
        detail: None,
    };
    let audited = async {
        let mut conn = api.database.acquire().await?;
        repo::audit::insert(&mut conn, &event).await
    };
    if let Err(error) = audited.await {
        // No audit, no document.
        tracing::error!(%error, "print.download audit failed");
        return Problem::unavailable(lang).into_response();
    }
    let kind = if download { "attachment" } else { "inline" };
    let mut response = stream(file).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        disposition(kind, &file_name(&job)),
    );
    if let Some(bytes) = job.bytes {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(bytes));
    }
    no_store(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispositions_carry_a_safe_ascii_name_and_the_utf8_one() {
        let v = disposition("attachment", "Journal å.pdf");
        assert_eq!(
            v.to_str().unwrap_or_default(),
            "attachment; filename=\"Journal _.pdf\"; filename*=UTF-8''Journal%20%C3%A5.pdf"
        );
    }
}
