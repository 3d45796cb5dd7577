//! The job pipeline on both databases, with real files and `pdftotext`/`pdfinfo` reading
//! the results: a text job becomes a PDF, audited and notified; a job too large, cut
//! short, malformed, or in a refused format is refused with its code, audited and
//! notified, and leaves no file anywhere; retention deletes files first, then marks rows,
//! and survives a file already gone.

use std::time::Duration;

use axum::body::{Body, Bytes};
use hamn_broker::model::{AuditFilter, PageRequest, PrintJobState, PrintSource};
use hamn_broker::repo;
use hamn_broker::session_control::{self, SessionCommand};
use hamn_print::jobs::{Document, JobLimits, JobRequest};
use time::OffsetDateTime;

use crate::both;
use crate::support::{Backend, Service, pdf_pages, pdftotext, text_document};

fn request(title: &str, format: Option<&str>) -> JobRequest {
    JobRequest {
        title: title.to_owned(),
        source: PrintSource::Ipp,
        requesting_user: Some("mallory".to_owned()),
        document_format: format.map(str::to_owned),
        source_address: Some("127.0.0.1".to_owned()),
    }
}

/// The commands queued for the service's session, claimed as a gateway node would.
async fn notifications(s: &Service) -> Vec<SessionCommand> {
    let mut conn = s.db.acquire().await.expect("conn");
    session_control::claim(
        &mut conn,
        "test-node",
        &[s.session_id],
        OffsetDateTime::now_utc(),
    )
    .await
    .expect("claim")
    .into_iter()
    .map(|c| c.command)
    .collect()
}

async fn print_events(s: &Service) -> Vec<hamn_broker::model::AuditEvent> {
    let mut conn = s.db.acquire().await.expect("conn");
    let filter = AuditFilter {
        action: Some("print.job".into()),
        ..AuditFilter::default()
    };
    repo::audit::list(&mut conn, &filter, PageRequest::default())
        .await
        .expect("audit")
        .items
}

async fn text_job_becomes_a_pdf(b: Backend) {
    let s = Service::start(b).await;
    let who = s.resolved().await;
    let pipeline = &s.state.pipeline;
    let job = pipeline
        .create(
            &who,
            &request("Journal Åsa", Some("text/plain; charset=utf-8")),
        )
        .await
        .expect("create");
    let text = text_document(3);
    let done = pipeline
        .print(
            &who,
            &job,
            Some("text/plain"),
            Document::from_bytes(text.clone()),
            None,
        )
        .await
        .expect("print");
    assert_eq!(done.state, PrintJobState::Ready, "{:?}", done.reason);
    assert_eq!(
        done.user_id, s.ids.user,
        "the token decides, not requesting-user-name"
    );
    assert_eq!(done.requesting_user.as_deref(), Some("mallory"));
    assert_eq!(done.received_bytes, text.len() as u64);
    let pdf = s.pdf_path(&done);
    assert_eq!(pdf_pages(&pdf), 3);
    assert_eq!(done.pages, Some(3));
    assert_eq!(
        done.bytes,
        Some(std::fs::metadata(&pdf).expect("pdf").len())
    );
    let extracted = pdftotext(&pdf);
    assert!(extracted.contains("Åsa Öberg"), "{extracted}");
    assert!(extracted.contains("å ä ö Å Ä Ö"), "{extracted}");
    assert_eq!(
        s.files(),
        std::slice::from_ref(&pdf),
        "only the PDF, nothing in spool"
    );

    let events = print_events(&s).await;
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.actor_id.as_deref(), Some(s.ids.user.to_string().as_str()));
    assert_eq!(e.actor_name, "demo");
    assert_eq!(e.tenant_id, Some(s.ids.tenant));
    let after = e.after.clone().expect("after");
    assert_eq!(after["pages"], 3);
    assert_eq!(after["outcome"], "ready");
    assert_eq!(after["session_id"], s.session_id.to_string());
    let recorded = serde_json::to_string(e).expect("json");
    assert!(!recorded.contains("Journalanteckning") && !recorded.contains(&s.token));

    assert_eq!(
        notifications(&s).await,
        [SessionCommand::PrintReady {
            job_id: done.id,
            title: "Journal Åsa".into(),
            pages: 3
        }]
    );
    s.finish().await;
}
both!(text_job_becomes_a_pdf);

/// A body that yields `head` and then fails, as a connection cut mid-job does.
fn cut_body(head: &'static [u8]) -> Body {
    let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
        Ok(Bytes::from_static(head)),
        Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "connection reset",
        )),
    ];
    Body::from_stream(futures_util::stream::iter(chunks))
}

async fn bad_jobs_are_refused_and_leave_nothing(b: Backend) {
    let limits = JobLimits {
        max_job_bytes: 64 * 1024,
        ..JobLimits::default()
    };
    let s = Service::start_with(b, limits).await;
    let who = s.resolved().await;
    let pipeline = &s.state.pipeline;
    let cases: Vec<(&str, Option<&str>, Document, &str)> = vec![
        (
            "too large",
            Some("text/plain"),
            Document {
                head: Bytes::from(vec![b'a'; 40 * 1024]),
                body: Body::from(vec![b'b'; 40 * 1024]),
            },
            "job_too_large",
        ),
        (
            "cut short",
            Some("application/pdf"),
            Document {
                head: Bytes::new(),
                body: cut_body(b"%PDF-1.7\n1 0 obj"),
            },
            "job_truncated",
        ),
        (
            "malformed",
            Some("application/pdf"),
            Document::from_bytes(&b"%PDF-1.7\nthis is no PDF at all\n%%EOF"[..]),
            "malformed_pdf",
        ),
        (
            "postscript without ghostscript",
            Some("application/postscript"),
            Document::from_bytes(&b"%!PS-Adobe-3.0\nshowpage\n"[..]),
            "postscript_unavailable",
        ),
        (
            "unknown format",
            Some("application/x-unknown"),
            Document::from_bytes(&b"whatever"[..]),
            "unsupported_format",
        ),
    ];
    let mut expected = Vec::new();
    for (title, format, document, code) in cases {
        let job = pipeline
            .create(&who, &request(title, format))
            .await
            .expect("create");
        let done = pipeline
            .print(&who, &job, format, document, None)
            .await
            .expect("print");
        assert_eq!(
            (done.state, done.reason.as_deref()),
            (PrintJobState::Refused, Some(code)),
            "{title}"
        );
        assert!(s.files().is_empty(), "{title}: {:?}", s.files());
        expected.push(SessionCommand::PrintRefused {
            job_id: done.id,
            title: title.to_owned(),
            reason: code.to_owned(),
        });
    }
    assert_eq!(notifications(&s).await, expected);
    let events = print_events(&s).await;
    assert_eq!(events.len(), expected.len());
    assert!(
        events
            .iter()
            .all(|e| e.outcome == hamn_broker::model::AuditOutcome::Refused)
    );
    // The listing shows them, refused, with their reasons.
    let jobs = s.jobs().await;
    assert!(
        jobs.iter()
            .all(|j| j.state == PrintJobState::Refused && j.reason.is_some())
    );
    s.finish().await;
}
both!(bad_jobs_are_refused_and_leave_nothing);

async fn retention_deletes_files_then_marks_rows(b: Backend) {
    let s = Service::start(b).await;
    let who = s.resolved().await;
    let pipeline = &s.state.pipeline;
    let mut ready = Vec::new();
    for title in ["a", "b"] {
        let job = pipeline
            .create(&who, &request(title, None))
            .await
            .expect("create");
        let done = pipeline
            .print(&who, &job, None, Document::from_bytes("hej å ä ö"), None)
            .await
            .expect("print");
        assert_eq!(done.state, PrintJobState::Ready, "{:?}", done.reason);
        ready.push(done);
    }
    // One file is already gone (an operator cleaned up by hand): no error.
    std::fs::remove_file(s.pdf_path(&ready[0])).expect("remove");
    let store = pipeline.store();
    let now = OffsetDateTime::now_utc();
    let none = store.purge(&s.db, now).await.expect("purge");
    assert_eq!(none.jobs, 0);
    assert_eq!(s.files().len(), 1);

    let later = now + store.retention() + Duration::from_secs(1);
    let first = store.purge(&s.db, later).await.expect("purge");
    assert_eq!((first.jobs, first.files), (2, 1));
    assert!(s.files().is_empty());
    let again = store.purge(&s.db, later).await.expect("purge again");
    assert_eq!((again.jobs, again.files), (0, 0));
    assert!(s.jobs().await.is_empty(), "purged jobs leave the listing");
    let mut conn = s.db.acquire().await.expect("conn");
    let row = repo::print_jobs::get(&mut conn, ready[1].id)
        .await
        .expect("get")
        .expect("the row stays");
    assert!(row.purged_at.is_some());
    assert_eq!(row.title, "", "the title goes with the document");
    drop(conn);
    s.finish().await;
}
both!(retention_deletes_files_then_marks_rows);

async fn abandoned_jobs_are_refused(b: Backend) {
    let s = Service::start(b).await;
    let who = s.resolved().await;
    let pipeline = &s.state.pipeline;
    let job = pipeline
        .create(&who, &request("never sent", None))
        .await
        .expect("create");
    let now = OffsetDateTime::now_utc();
    assert_eq!(
        pipeline
            .abort_stale(now, PrintJobState::Pending, Duration::from_secs(120))
            .await
            .expect("sweep"),
        0
    );
    let later = now + Duration::from_secs(121);
    assert_eq!(
        pipeline
            .abort_stale(later, PrintJobState::Pending, Duration::from_secs(120))
            .await
            .expect("sweep"),
        1
    );
    let jobs = s.jobs().await;
    assert_eq!(jobs[0].id, job.id);
    assert_eq!(jobs[0].reason.as_deref(), Some("job_truncated"));
    s.finish().await;
}
both!(abandoned_jobs_are_refused);

/// A print service that stopped mid-job leaves the job `processing` and its spool file
/// behind; the next sweep past the processing timeout refuses the job and removes the file,
/// and leaves a younger job's files alone.
async fn a_job_a_crash_left_processing_is_refused_and_its_spool_removed(b: Backend) {
    let s = Service::start(b).await;
    let who = s.resolved().await;
    let pipeline = &s.state.pipeline;
    let job = pipeline
        .create(&who, &request("mitt i", None))
        .await
        .expect("create");
    let now = OffsetDateTime::now_utc();
    {
        let mut conn = s.db.acquire().await.expect("conn");
        repo::print_jobs::start(&mut conn, job.id, "text/plain", now)
            .await
            .expect("processing");
    }
    let spool = s.data_dir().join(job.tenant_id.to_string()).join("spool");
    std::fs::create_dir_all(&spool).expect("spool dir");
    let left = spool.join(format!("{}.document", job.id));
    std::fs::write(&left, b"half a document").expect("spool file");

    hamn_print::sweep(pipeline, now).await;
    assert!(left.exists(), "a young job's spool file stays");
    assert_eq!(s.jobs().await[0].state, PrintJobState::Processing);

    let later = now + hamn_print::PROCESSING_TIMEOUT + Duration::from_secs(1);
    hamn_print::sweep(pipeline, later).await;
    assert!(!left.exists(), "the stale spool file is removed");
    let jobs = s.jobs().await;
    assert_eq!(jobs[0].id, job.id);
    assert_eq!(jobs[0].state, PrintJobState::Refused);
    assert_eq!(jobs[0].reason.as_deref(), Some("job_truncated"));
    s.finish().await;
}
both!(a_job_a_crash_left_processing_is_refused_and_its_spool_removed);
