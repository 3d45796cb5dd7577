//! The job pipeline, one way for every job (IPP from hosts, the gateway's RDP printer
//! through the same endpoint): record the job, spool its document into the tenant's
//! spool directory within `print.max_job_bytes`, render it to PDF ([`crate::render`])
//! into another spool file, rename that into `jobs/`, then in one transaction end the row,
//! write the `print.job` audit event and queue PrintReady (or PrintRefused) for the
//! owner's session, and wake the gateways after the commit. A refusal takes the same
//! path with its code; every spool file is deleted on every way out, so nothing partial
//! is ever left behind.

use axum::body::{Body, Bytes};
use hamn_broker::db::{Database, DbError};
use hamn_broker::model::{
    ActorKind, AuditOutcome, NewAuditEvent, NewPrintJob, PrintJob, PrintJobState, PrintSource,
};
use hamn_broker::print::tokens::ResolvedToken;
use hamn_broker::repo;
use hamn_broker::repo::print_jobs::JobEnd;
use hamn_broker::session_control::{self, ControlError, SessionCommand};
use http_body_util::BodyExt;
use time::OffsetDateTime;
use tokio::io::AsyncWriteExt;

use crate::render::{self, DocumentFormat, RenderOptions};
use crate::store::{SpoolFile, Store};

/// The default bound on a job's document.
pub const DEFAULT_MAX_JOB_BYTES: u64 = 128 * 1024 * 1024;
/// Longest job title kept (characters).
pub const MAX_TITLE_CHARS: usize = 255;

/// Job-level refusal codes (the render codes are [`render::RenderError::code`]).
pub mod code {
    /// The document is larger than `print.max_job_bytes`.
    pub const JOB_TOO_LARGE: &str = "job_too_large";
    /// The document ended before the sender finished it (connection cut, or a job whose
    /// document never came).
    pub const JOB_TRUNCATED: &str = "job_truncated";
    /// Cancelled by the sender.
    pub const CANCELLED: &str = "cancelled";
    /// A document format the service does not take.
    pub const UNSUPPORTED_FORMAT: &str = "unsupported_format";
    /// The service could not read or write its own files.
    pub const IO: &str = "io";
}

/// Bounds and rendering choices for jobs.
#[derive(Debug, Clone)]
pub struct JobLimits {
    pub max_job_bytes: u64,
    pub render: RenderOptions,
}

impl Default for JobLimits {
    fn default() -> Self {
        Self {
            max_job_bytes: DEFAULT_MAX_JOB_BYTES,
            render: RenderOptions::default(),
        }
    }
}

/// What a new job says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRequest {
    pub title: String,
    pub source: PrintSource,
    /// The sender's claim, recorded only.
    pub requesting_user: Option<String>,
    pub document_format: Option<String>,
    /// The sender's address, for the audit event.
    pub source_address: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Database(#[from] DbError),
    #[error("the job is not waiting for a document")]
    NotPending,
    #[error(transparent)]
    Control(#[from] ControlError),
}

/// The pipeline's shared parts.
#[derive(Debug, Clone)]
pub struct Pipeline {
    db: Database,
    store: Store,
    limits: JobLimits,
}

/// A document's bytes: what the endpoint already read, then the rest of the body.
pub struct Document {
    pub head: Bytes,
    pub body: Body,
}

impl Document {
    pub fn from_bytes(bytes: impl Into<Bytes>) -> Self {
        Self {
            head: bytes.into(),
            body: Body::empty(),
        }
    }
}

impl Pipeline {
    pub fn new(db: Database, store: Store, limits: JobLimits) -> Self {
        Self { db, store, limits }
    }

    pub fn db(&self) -> &Database {
        &self.db
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn limits(&self) -> &JobLimits {
        &self.limits
    }

    /// Records a `pending` job for the token's owner.
    pub async fn create(
        &self,
        who: &ResolvedToken,
        req: &JobRequest,
    ) -> Result<PrintJob, JobError> {
        let now = OffsetDateTime::now_utc();
        let mut tx = self.db.begin().await?;
        let job = repo::print_jobs::insert(
            &mut tx,
            &NewPrintJob {
                tenant_id: who.owner.tenant_id,
                user_id: who.owner.user_id,
                session_id: who.owner.session_id,
                token_id: who.token_id,
                title: clean_title(&req.title),
                source: req.source,
                document_format: req.document_format.clone(),
                requesting_user: req.requesting_user.as_deref().map(clean_title),
                expires_at: self.store.expires_at(now),
            },
            now,
        )
        .await?;
        tx.commit().await.map_err(DbError::from)?;
        Ok(job)
    }

    /// Receives, renders and stores the document of pending job `job`, then records,
    /// audits and notifies. Refusals are outcomes (the returned job says `refused` and
    /// why), not errors.
    pub async fn print(
        &self,
        who: &ResolvedToken,
        job: &PrintJob,
        mime: Option<&str>,
        document: Document,
        source_address: Option<&str>,
    ) -> Result<PrintJob, JobError> {
        let declared = mime
            .filter(|m| !m.eq_ignore_ascii_case("application/octet-stream"))
            .map(str::to_owned);
        {
            let mut conn = self.db.acquire().await?;
            let shown = declared.as_deref().unwrap_or("application/octet-stream");
            if !repo::print_jobs::start(&mut conn, job.id, shown, OffsetDateTime::now_utc()).await?
            {
                return Err(JobError::NotPending);
            }
        }
        let end = self.produce(job, declared.as_deref(), document).await;
        self.finish(who, job, end, source_address).await
    }

    /// Spools, renders and keeps: the job's end and the document bytes read.
    async fn produce(
        &self,
        job: &PrintJob,
        declared: Option<&str>,
        document: Document,
    ) -> Produced {
        let doc = match self.store.spool(job.tenant_id, job.id, "doc").await {
            Ok(f) => f,
            Err(e) => return Produced::refused(code::IO, 0, &e),
        };
        let (received, head) = match spool(&doc, document, self.limits.max_job_bytes).await {
            Ok(r) => r,
            Err(Spooled {
                code,
                received,
                why,
            }) => {
                return Produced::refused(code, received, &why);
            }
        };
        let format = match declared {
            Some(m) => DocumentFormat::from_mime(m),
            None => Some(sniff(&head)),
        };
        let Some(format) = format else {
            return Produced::refused(code::UNSUPPORTED_FORMAT, received, &"declared format");
        };
        let pdf = match self.store.spool(job.tenant_id, job.id, "pdf").await {
            Ok(f) => f,
            Err(e) => return Produced::refused(code::IO, received, &e),
        };
        let summary =
            match render::render(format, doc.path(), pdf.path(), &self.limits.render).await {
                Ok(s) => s,
                Err(e) => return Produced::refused(e.code(), received, &e),
            };
        drop(doc);
        if let Err(e) = self.store.keep(pdf, job.tenant_id, job.id).await {
            return Produced::refused(code::IO, received, &e);
        }
        Produced {
            end: Ended::Ready {
                pages: summary.pages,
                bytes: summary.bytes,
            },
            received,
            format: Some(format),
        }
    }

    /// Ends the row, audits and notifies in one transaction; wakes after the commit. If a
    /// cancel ended the job first, the stored PDF is deleted again.
    async fn finish(
        &self,
        who: &ResolvedToken,
        job: &PrintJob,
        produced: Produced,
        source_address: Option<&str>,
    ) -> Result<PrintJob, JobError> {
        let now = OffsetDateTime::now_utc();
        let end = match &produced.end {
            Ended::Ready { pages, bytes } => JobEnd::Ready {
                pages: *pages,
                bytes: *bytes,
            },
            Ended::Refused(code) => JobEnd::Refused { reason: code },
        };
        let mut tx = self.db.begin().await?;
        let ended = repo::print_jobs::finish(&mut tx, job.id, &end, produced.received, now).await?;
        if !ended {
            tx.rollback().await.map_err(DbError::from)?;
            if matches!(produced.end, Ended::Ready { .. }) {
                let _ = self.store.delete(job.tenant_id, job.id).await;
            }
            return self.reload(job).await;
        }
        let (outcome, reason, pages, bytes) = match &produced.end {
            Ended::Ready { pages, bytes } => ("ready", None, Some(*pages), Some(*bytes)),
            Ended::Refused(code) => ("refused", Some(*code), None, None),
        };
        let after = serde_json::json!({
            "session_id": job.session_id,
            "source": job.source,
            "format": produced.format.map(DocumentFormat::mime),
            "received_bytes": produced.received,
            "pages": pages,
            "bytes": bytes,
            "outcome": outcome,
            "reason": reason,
        });
        audit(&mut tx, who, job, outcome, reason, after, source_address).await?;
        let command = match &produced.end {
            Ended::Ready { pages, .. } => SessionCommand::PrintReady {
                job_id: job.id,
                title: job.title.clone(),
                pages: *pages,
            },
            Ended::Refused(code) => SessionCommand::PrintRefused {
                job_id: job.id,
                title: job.title.clone(),
                reason: (*code).to_owned(),
            },
        };
        notify(&mut tx, job, command).await?;
        tx.commit().await.map_err(DbError::from)?;
        hamn_broker::metrics::PRINT_JOBS.inc(&[outcome]);
        session_control::wake();
        self.reload(job).await
    }

    /// Refuses pending job `job` with `code` before any document arrived (format refused
    /// up front, or the sender never sent it).
    pub async fn refuse(
        &self,
        who: &ResolvedToken,
        job: &PrintJob,
        code: &'static str,
        source_address: Option<&str>,
    ) -> Result<PrintJob, JobError> {
        let produced = Produced {
            end: Ended::Refused(code),
            received: 0,
            format: None,
        };
        self.finish(who, job, produced, source_address).await
    }

    /// Cancels `job` if it has not ended: true when this call cancelled it.
    pub async fn cancel(
        &self,
        who: &ResolvedToken,
        job: &PrintJob,
        source_address: Option<&str>,
    ) -> Result<bool, JobError> {
        let now = OffsetDateTime::now_utc();
        let mut tx = self.db.begin().await?;
        let received = job.received_bytes;
        if !repo::print_jobs::finish(&mut tx, job.id, &JobEnd::Cancelled, received, now).await? {
            tx.rollback().await.map_err(DbError::from)?;
            return Ok(false);
        }
        let after = serde_json::json!({
            "session_id": job.session_id,
            "source": job.source,
            "outcome": "cancelled",
        });
        audit(&mut tx, who, job, "cancelled", None, after, source_address).await?;
        tx.commit().await.map_err(DbError::from)?;
        hamn_broker::metrics::PRINT_JOBS.inc(&["cancelled"]);
        Ok(true)
    }

    async fn reload(&self, job: &PrintJob) -> Result<PrintJob, JobError> {
        let mut conn = self.db.acquire().await?;
        repo::print_jobs::get(&mut conn, job.id)
            .await?
            .ok_or_else(|| {
                JobError::Database(DbError::Corrupt(format!("print job {} vanished", job.id)))
            })
    }

    /// Refuses the jobs in `state` created longer than `timeout` ago (`job_truncated`): a
    /// document that never came, or a job a stopped print service left `processing`.
    pub async fn abort_stale(
        &self,
        now: OffsetDateTime,
        state: PrintJobState,
        timeout: std::time::Duration,
    ) -> Result<usize, JobError> {
        let before = now - time::Duration::try_from(timeout).unwrap_or(time::Duration::MINUTE);
        let stale = {
            let mut conn = self.db.acquire().await?;
            repo::print_jobs::stale(&mut conn, state, before, 500).await?
        };
        let mut n = 0;
        for job in stale {
            let who = {
                let mut conn = self.db.acquire().await?;
                owner_of(&mut conn, &job).await?
            };
            if self
                .refuse(&who, &job, code::JOB_TRUNCATED, None)
                .await?
                .state
                == PrintJobState::Refused
            {
                n += 1;
            }
        }
        Ok(n)
    }
}

/// The token owner of a stored job (for work the janitor does on its behalf).
async fn owner_of(
    conn: &mut repo::AnyConnection,
    job: &PrintJob,
) -> Result<ResolvedToken, DbError> {
    let user = repo::users::get(conn, job.user_id).await?;
    Ok(ResolvedToken {
        token_id: job.token_id,
        owner: hamn_broker::print::tokens::PrintOwner {
            session_id: job.session_id,
            tenant_id: job.tenant_id,
            user_id: job.user_id,
            username: user.map(|u| u.name_id).unwrap_or_default(),
        },
    })
}

async fn audit(
    conn: &mut repo::AnyConnection,
    who: &ResolvedToken,
    job: &PrintJob,
    outcome: &str,
    reason: Option<&str>,
    after: serde_json::Value,
    source_address: Option<&str>,
) -> Result<(), DbError> {
    let detail = match reason {
        Some(r) => format!("{} job {outcome}: {r}", job.source),
        None => format!("{} job {outcome}", job.source),
    };
    repo::audit::insert(
        conn,
        &NewAuditEvent {
            tenant_id: Some(who.owner.tenant_id),
            actor_kind: ActorKind::User,
            actor_id: Some(who.owner.user_id.to_string()),
            actor_name: who.owner.username.clone(),
            action: "print.job".into(),
            target_type: Some("print_job".into()),
            target_id: Some(job.id.to_string()),
            outcome: if outcome == "refused" {
                AuditOutcome::Refused
            } else {
                AuditOutcome::Success
            },
            source_address: source_address.map(str::to_owned),
            before: None,
            after: Some(after),
            detail: Some(detail),
        },
    )
    .await?;
    Ok(())
}

/// Queues the notification for the job's session; a session that has ended meanwhile
/// (its token still works for a while) gets none — the job is in "Mina utskrifter".
async fn notify(
    conn: &mut repo::AnyConnection,
    job: &PrintJob,
    command: SessionCommand,
) -> Result<(), JobError> {
    match session_control::enqueue(conn, job.session_id, command).await {
        Ok(_) | Err(ControlError::SessionEnded(_) | ControlError::UnknownSession(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

enum Ended {
    Ready { pages: u32, bytes: u64 },
    Refused(&'static str),
}

struct Produced {
    end: Ended,
    received: u64,
    format: Option<DocumentFormat>,
}

impl Produced {
    fn refused(code: &'static str, received: u64, why: &dyn std::fmt::Display) -> Self {
        tracing::info!(code, "print job refused: {why}");
        Self {
            end: Ended::Refused(code),
            received,
            format: None,
        }
    }
}

struct Spooled {
    code: &'static str,
    received: u64,
    why: String,
}

/// Bytes kept from a document's start, to recognise its format.
const SNIFF_BYTES: usize = 16;

/// Writes `document` to the spool file within `max` bytes: the bytes written and the
/// document's first [`SNIFF_BYTES`]. Stops reading as soon as the bound is passed.
async fn spool(file: &SpoolFile, document: Document, max: u64) -> Result<(u64, Vec<u8>), Spooled> {
    let io = |received: u64| {
        move |e: std::io::Error| Spooled {
            code: code::IO,
            received,
            why: e.to_string(),
        }
    };
    let mut out = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(file.path())
        .await
        .map_err(io(0))?;
    let mut received = 0u64;
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    let mut body = document.body;
    let mut chunk = Some(document.head);
    loop {
        let data = match chunk.take() {
            Some(d) => d,
            None => match body.frame().await {
                None => break,
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(d) => d,
                    Err(_) => continue,
                },
                Some(Err(e)) => {
                    return Err(Spooled {
                        code: code::JOB_TRUNCATED,
                        received,
                        why: e.to_string(),
                    });
                }
            },
        };
        received += data.len() as u64;
        if received > max {
            return Err(Spooled {
                code: code::JOB_TOO_LARGE,
                received,
                why: format!("more than {max} bytes"),
            });
        }
        let want = SNIFF_BYTES.saturating_sub(head.len()).min(data.len());
        head.extend_from_slice(&data[..want]);
        out.write_all(&data).await.map_err(io(received))?;
    }
    out.flush().await.map_err(io(received))?;
    out.sync_all().await.map_err(io(received))?;
    Ok((received, head))
}

/// The format of a document sent as application/octet-stream (IPP's "auto-sense"), from
/// its first bytes; anything unrecognised is taken as text, which the text renderer
/// checks.
pub fn sniff(head: &[u8]) -> DocumentFormat {
    if head.starts_with(b"%PDF-") {
        DocumentFormat::Pdf
    } else if head.starts_with(b"RaS2") {
        DocumentFormat::PwgRaster
    } else if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        DocumentFormat::Jpeg
    } else if head.starts_with(b"%!") || head.starts_with(b"\x04%!") {
        DocumentFormat::PostScript
    } else {
        DocumentFormat::Text
    }
}

/// A title as stored and shown: control characters gone, at most [`MAX_TITLE_CHARS`].
pub fn clean_title(title: &str) -> String {
    title
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_TITLE_CHARS)
        .collect::<String>()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn octet_streams_are_recognised_by_their_first_bytes() {
        assert_eq!(sniff(b"%PDF-1.7\n"), DocumentFormat::Pdf);
        assert_eq!(sniff(b"RaS2PwgRaster"), DocumentFormat::PwgRaster);
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), DocumentFormat::Jpeg);
        assert_eq!(sniff(b"%!PS-Adobe-3.0"), DocumentFormat::PostScript);
        assert_eq!(sniff("Hej på dig".as_bytes()), DocumentFormat::Text);
        assert_eq!(sniff(b""), DocumentFormat::Text);
    }

    #[test]
    fn titles_lose_control_characters_and_length() {
        assert_eq!(clean_title(" Journal\u{7}\n å "), "Journal å");
        assert_eq!(
            clean_title(&"x".repeat(300)).chars().count(),
            MAX_TITLE_CHARS
        );
    }
}
