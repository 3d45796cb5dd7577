//! "Mina utskrifter" through the portal router: a user lists only their own print jobs,
//! fetches only their own PDFs (inline, or as an attachment), audited as
//! `print.download`; another user's job, a refused job, a purged one and an unknown id
//! are all the same 404.

use axum::http::{Method, StatusCode, header};
use hamn_broker::model::{NewPrintJob, PrintSource};
use hamn_broker::print::tokens;
use hamn_broker::repo;
use hamn_broker::repo::print_jobs::JobEnd;
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::portal::{Portal, PortalOptions};

const PDF: &[u8] = b"%PDF-1.4\n% a stand-in; the portal serves bytes, it does not render\n%%EOF\n";

/// A finished job of `user` in `session` with its PDF stored as the print service does.
async fn stored_job(
    portal: &Portal,
    session: Uuid,
    title: &str,
    end: JobEnd<'_>,
) -> hamn_broker::model::PrintJob {
    let mut conn = portal.database.acquire().await.expect("conn");
    let token = tokens::issue(&mut conn, session).await.expect("token");
    let who = tokens::resolve_at(&mut conn, token.as_str(), OffsetDateTime::now_utc())
        .await
        .expect("resolve")
        .expect("live");
    let now = OffsetDateTime::now_utc();
    let job = repo::print_jobs::insert(
        &mut conn,
        &NewPrintJob {
            tenant_id: who.owner.tenant_id,
            user_id: who.owner.user_id,
            session_id: session,
            token_id: who.token_id,
            title: title.to_owned(),
            source: PrintSource::Ipp,
            document_format: Some("application/pdf".into()),
            requesting_user: None,
            expires_at: now + std::time::Duration::from_secs(3600),
        },
        now,
    )
    .await
    .expect("job");
    repo::print_jobs::start(&mut conn, job.id, "application/pdf", now)
        .await
        .expect("start");
    let ready = matches!(end, JobEnd::Ready { .. });
    repo::print_jobs::finish(&mut conn, job.id, &end, PDF.len() as u64, now)
        .await
        .expect("finish");
    if ready {
        let dir = portal
            .print_dir
            .join(job.tenant_id.to_string())
            .join("jobs");
        std::fs::create_dir_all(&dir).expect("jobs dir");
        std::fs::write(dir.join(format!("{}.pdf", job.id)), PDF).expect("pdf");
    }
    repo::print_jobs::get(&mut conn, job.id)
        .await
        .expect("get")
        .expect("job")
}

#[tokio::test]
async fn users_list_and_fetch_only_their_own_prints() {
    let portal = Portal::start_native(PortalOptions::default()).await;
    let token = portal.login("demo").await;
    let mine = portal.launch_prod(&token).await;
    let theirs = portal.colleague_session(mine).await;
    let ready = JobEnd::Ready {
        pages: 2,
        bytes: PDF.len() as u64,
    };
    let own = stored_job(&portal, mine, "Journal Åsa", ready.clone()).await;
    let refused = stored_job(
        &portal,
        mine,
        "Trasig",
        JobEnd::Refused {
            reason: "malformed_pdf",
        },
    )
    .await;
    let other = stored_job(&portal, theirs, "Kollegans", ready).await;

    let list = portal
        .call(Method::GET, "/portal/api/prints", Some(&token), &[], None)
        .await;
    assert_eq!(list.status, StatusCode::OK, "{:?}", list.body);
    let jobs = list.body["jobs"].as_array().expect("jobs");
    let ids: Vec<&str> = jobs.iter().filter_map(|j| j["id"].as_str()).collect();
    assert_eq!(
        ids,
        [refused.id.to_string(), own.id.to_string()],
        "newest first, own only"
    );
    assert_eq!(jobs[0]["state"], "refused");
    assert_eq!(jobs[0]["reason"], "malformed_pdf");
    assert_eq!(jobs[1]["state"], "ready");
    assert_eq!(jobs[1]["title"], "Journal Åsa");
    assert_eq!(jobs[1]["pages"], 2);
    assert_eq!(jobs[1]["source"], "ipp");
    assert!(jobs[1]["expires_at"].is_string() && jobs[1]["reason"].is_null());

    let inline = portal
        .call(
            Method::GET,
            &format!("/portal/api/prints/{}/pdf", own.id),
            Some(&token),
            &[],
            None,
        )
        .await;
    assert_eq!(inline.status, StatusCode::OK);
    assert_eq!(inline.bytes, PDF);
    assert_eq!(inline.headers[header::CONTENT_TYPE], "application/pdf");
    let disposition = inline.headers[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap_or_default();
    assert!(disposition.starts_with("inline;"), "{disposition}");
    let download = portal
        .call(
            Method::GET,
            &format!("/portal/api/prints/{}/pdf?download=1", own.id),
            Some(&token),
            &[],
            None,
        )
        .await;
    let disposition = download.headers[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap_or_default();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert!(
        disposition.contains("filename*=UTF-8''Journal%20%C3%85sa.pdf"),
        "{disposition}"
    );

    for path in [
        format!("/portal/api/prints/{}/pdf", other.id),
        format!("/portal/api/prints/{}/pdf", refused.id),
        format!("/portal/api/prints/{}/pdf", Uuid::now_v7()),
        "/portal/api/prints/not-an-id/pdf".to_owned(),
    ] {
        let hidden = portal
            .call(Method::GET, &path, Some(&token), &[], None)
            .await;
        assert_eq!(hidden.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(hidden.body["reason"], "unknown_print", "{path}");
    }
    // Without a session: nothing.
    let anonymous = portal
        .call(
            Method::GET,
            &format!("/portal/api/prints/{}/pdf", own.id),
            None,
            &[],
            None,
        )
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);

    // Purged: gone for the owner too, and out of the list.
    {
        let mut conn = portal.database.acquire().await.expect("conn");
        repo::print_jobs::mark_purged(&mut conn, own.id, OffsetDateTime::now_utc())
            .await
            .expect("purge");
    }
    let gone = portal
        .call(
            Method::GET,
            &format!("/portal/api/prints/{}/pdf", own.id),
            Some(&token),
            &[],
            None,
        )
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);

    let downloads = portal.audit("print.download").await;
    assert_eq!(downloads.len(), 2, "one event per PDF served");
    assert!(
        downloads
            .iter()
            .all(|e| e.target_id.as_deref() == Some(own.id.to_string().as_str()))
    );
    portal.finish().await;
}

/// The per-session printer URI a host agent or an admin asks for works on the portal
/// origin too: a tenant-admin gets `ipps://` + `print.public_url` + the session's token
/// path; a plain user may not ask.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_admin_gets_a_sessions_printer_uri_on_the_portal_origin() {
    let portal = Portal::start_native(PortalOptions::default()).await;
    let token = portal.login("demo").await;
    let session = portal.launch_prod(&token).await.to_string();
    let path = format!("/api/v1/sessions/{session}/printer");
    let plain = portal
        .call(Method::POST, &path, Some(&token), &[], Some(json!({})))
        .await;
    assert_eq!(plain.status, StatusCode::FORBIDDEN, "{:?}", plain.body);
    {
        let mut conn = portal.database.acquire().await.expect("conn");
        repo::access::set_direct_role(
            &mut conn,
            portal.ids.tenant,
            portal.ids.user,
            hamn_broker::model::Role::TenantAdmin,
        )
        .await
        .expect("role");
    }
    let issued = portal
        .call(Method::POST, &path, Some(&token), &[], Some(json!({})))
        .await;
    assert_eq!(issued.status, StatusCode::CREATED, "{:?}", issued.body);
    let uri = issued.body["printer_uri"].as_str().expect("printer_uri");
    let token_part = uri
        .strip_prefix("ipps://print.test:8631/ipp/print/")
        .unwrap_or_else(|| panic!("printer URI {uri}"));
    let mut conn = portal.database.acquire().await.expect("conn");
    let who = tokens::resolve_at(&mut conn, token_part, OffsetDateTime::now_utc())
        .await
        .expect("resolve")
        .expect("the URI's token is the session's");
    assert_eq!(who.owner.session_id.to_string(), session);
    drop(conn);
    assert_eq!(portal.audit("session.printer").await.len(), 1);
    portal.finish().await;
}
