//! Printing's broker side on both databases: printer tokens resolve to their session's
//! user while the session lives and ten minutes after it ended, never when malformed,
//! unknown or later; print jobs count IPP job-ids per token, end once, list only their
//! user's; PrintReady/PrintRefused go through the command channel and come back intact.

use std::time::Duration;

use hamn_broker::model::{NewPrintJob, PrintJobState, PrintSource, SessionState};
use hamn_broker::print::tokens::{self, GRACE_AFTER_END, TokenError};
use hamn_broker::repo;
use hamn_broker::repo::print_jobs::JobEnd;
use hamn_broker::session_control::{self, SessionCommand};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::both;
use crate::session_commands::two_sessions;
use crate::support::{Backend, Harness};

async fn tokens_resolve_while_the_session_lives(b: Backend) {
    let h = Harness::new(b).await;
    let (ids, first, second) = two_sessions(&h).await;
    let mut conn = h.db().acquire().await.expect("conn");

    let token = tokens::issue(&mut conn, first).await.expect("issue");
    let other = tokens::issue(&mut conn, second).await.expect("issue");
    assert_ne!(token.as_str(), other.as_str());
    assert_eq!(token.as_str().len(), tokens::TOKEN_CHARS);
    let owner = tokens::resolve(&mut conn, token.as_str())
        .await
        .expect("resolve")
        .expect("a live session's token works");
    assert_eq!(owner.session_id, first);
    assert_eq!(owner.user_id, ids.user);
    assert_eq!(owner.tenant_id, ids.tenant);
    assert_eq!(owner.username, "demo");

    // Only the hash is stored.
    let stored: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM print_tokens")
        .fetch_all(&mut *conn)
        .await
        .expect("hashes");
    assert!(stored.iter().all(|h| h.len() == 64 && h != token.as_str()));

    // Unknown and malformed tokens resolve to nothing.
    let unknown = "A".repeat(tokens::TOKEN_CHARS);
    for bad in [unknown.as_str(), "", "../etc/passwd", &token.as_str()[1..]] {
        assert!(
            tokens::resolve(&mut conn, bad)
                .await
                .expect("resolve")
                .is_none()
        );
    }

    // Ended: still works inside the grace period, not after it.
    let ended = OffsetDateTime::now_utc();
    repo::sessions::set_state(&mut conn, first, SessionState::Ended, ended)
        .await
        .expect("end");
    let inside = ended + GRACE_AFTER_END - Duration::from_secs(1);
    let after = ended + GRACE_AFTER_END;
    assert!(
        tokens::resolve_at(&mut conn, token.as_str(), inside)
            .await
            .expect("resolve")
            .is_some()
    );
    assert!(
        tokens::resolve_at(&mut conn, token.as_str(), after)
            .await
            .expect("resolve")
            .is_none()
    );
    // The janitor deletes it once the grace is over and no job names it; others stay.
    assert_eq!(
        repo::print_tokens::prune_dead(&mut conn, ended)
            .await
            .expect("prune"),
        0
    );
    assert_eq!(
        repo::print_tokens::prune_dead(&mut conn, ended + Duration::from_millis(1))
            .await
            .expect("prune"),
        1
    );
    assert!(
        tokens::resolve_at(&mut conn, token.as_str(), inside)
            .await
            .expect("resolve")
            .is_none()
    );
    assert!(
        tokens::resolve(&mut conn, other.as_str())
            .await
            .expect("resolve")
            .is_some()
    );
    // An ended session gets no new token; an unknown one neither.
    assert!(matches!(
        tokens::issue(&mut conn, first).await,
        Err(TokenError::SessionEnded(id)) if id == first
    ));
    assert!(matches!(
        tokens::issue(&mut conn, Uuid::now_v7()).await,
        Err(TokenError::UnknownSession(_))
    ));
    drop(conn);
    h.finish().await;
}
both!(tokens_resolve_while_the_session_lives);

async fn jobs_count_per_token_and_end_once(b: Backend) {
    let h = Harness::new(b).await;
    let (ids, first, second) = two_sessions(&h).await;
    let mut conn = h.db().acquire().await.expect("conn");
    let now = OffsetDateTime::now_utc();
    let job_of = async |conn: &mut repo::AnyConnection, session: Uuid| {
        let token = tokens::issue(conn, session).await.expect("issue");
        let resolved = tokens::resolve_at(conn, token.as_str(), now)
            .await
            .expect("resolve")
            .expect("live");
        let new = NewPrintJob {
            tenant_id: resolved.owner.tenant_id,
            user_id: resolved.owner.user_id,
            session_id: resolved.owner.session_id,
            token_id: resolved.token_id,
            title: "Journal å ä ö".into(),
            source: PrintSource::Ipp,
            document_format: None,
            requesting_user: Some("someone-else".into()),
            expires_at: now + Duration::from_secs(3600),
        };
        let a = repo::print_jobs::insert(conn, &new, now)
            .await
            .expect("job");
        let b = repo::print_jobs::insert(conn, &new, now)
            .await
            .expect("job");
        (resolved.token_id, a, b)
    };
    let (token_id, a, b2) = job_of(&mut conn, first).await;
    let (_, c, _) = job_of(&mut conn, second).await;
    assert_eq!((a.ipp_job_id, b2.ipp_job_id, c.ipp_job_id), (1, 2, 1));
    assert_eq!(a.state, PrintJobState::Pending);

    assert!(
        repo::print_jobs::start(&mut conn, a.id, "application/pdf", now)
            .await
            .expect("start")
    );
    assert!(
        !repo::print_jobs::start(&mut conn, a.id, "application/pdf", now)
            .await
            .expect("again")
    );
    let ready = JobEnd::Ready {
        pages: 3,
        bytes: 1234,
    };
    assert!(
        repo::print_jobs::finish(&mut conn, a.id, &ready, 999, now)
            .await
            .expect("finish")
    );
    assert!(
        !repo::print_jobs::finish(&mut conn, a.id, &JobEnd::Cancelled, 0, now)
            .await
            .expect("once")
    );
    let refused = JobEnd::Refused {
        reason: "job_too_large",
    };
    assert!(
        repo::print_jobs::finish(&mut conn, b2.id, &refused, 5, now)
            .await
            .expect("refuse")
    );

    let got = repo::print_jobs::get_by_ipp_id(&mut conn, token_id, 1)
        .await
        .expect("get")
        .expect("job 1");
    assert_eq!(
        (got.state, got.pages, got.bytes, got.received_bytes),
        (PrintJobState::Ready, Some(3), Some(1234), 999)
    );
    assert_eq!(got.document_format.as_deref(), Some("application/pdf"));
    assert_eq!(got.requesting_user.as_deref(), Some("someone-else"));
    let b2 = repo::print_jobs::get(&mut conn, b2.id)
        .await
        .expect("get")
        .expect("b");
    assert_eq!(
        (b2.state, b2.reason.as_deref()),
        (PrintJobState::Refused, Some("job_too_large"))
    );

    let of_token = repo::print_jobs::list_for_token(&mut conn, token_id, 10)
        .await
        .expect("list");
    assert_eq!(
        of_token.iter().map(|j| j.ipp_job_id).collect::<Vec<_>>(),
        [2, 1]
    );
    let of_user = repo::print_jobs::list_for_user(&mut conn, ids.user, 10)
        .await
        .expect("list");
    assert_eq!(of_user.len(), 4, "two jobs in each of two sessions");
    assert!(
        repo::print_jobs::list_for_user(&mut conn, Uuid::now_v7(), 10)
            .await
            .expect("list")
            .is_empty()
    );

    // Retention: expired rows come back until marked purged, then leave the listing.
    let later = now + Duration::from_secs(3601);
    assert!(
        repo::print_jobs::expired(&mut conn, now, 10)
            .await
            .expect("expired")
            .is_empty()
    );
    let expired = repo::print_jobs::expired(&mut conn, later, 10)
        .await
        .expect("expired");
    assert_eq!(expired.len(), 4);
    for job in &expired {
        assert!(
            repo::print_jobs::mark_purged(&mut conn, job.id, later)
                .await
                .expect("purge")
        );
        assert!(
            !repo::print_jobs::mark_purged(&mut conn, job.id, later)
                .await
                .expect("again")
        );
    }
    assert!(
        repo::print_jobs::expired(&mut conn, later, 10)
            .await
            .expect("expired")
            .is_empty()
    );
    assert!(
        repo::print_jobs::list_for_user(&mut conn, ids.user, 10)
            .await
            .expect("list")
            .is_empty()
    );
    // Tokens jobs arrived through stay with the jobs' rows, even after their sessions end.
    let tokens_before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM print_tokens")
        .fetch_one(&mut *conn)
        .await
        .expect("count");
    for session in [first, second] {
        repo::sessions::set_state(&mut conn, session, SessionState::Ended, now)
            .await
            .expect("end");
    }
    assert_eq!(
        repo::print_tokens::prune_dead(&mut conn, later)
            .await
            .expect("prune"),
        0
    );
    let tokens_after: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM print_tokens")
        .fetch_one(&mut *conn)
        .await
        .expect("count");
    assert_eq!(tokens_after, tokens_before);
    drop(conn);
    h.finish().await;
}
both!(jobs_count_per_token_and_end_once);

async fn print_commands_travel_the_command_channel(b: Backend) {
    let h = Harness::new(b).await;
    let (_, first, _) = two_sessions(&h).await;
    let job_id = Uuid::now_v7();
    let ready = SessionCommand::PrintReady {
        job_id,
        title: "Journal å ä ö".into(),
        pages: 12,
    };
    let refused = SessionCommand::PrintRefused {
        job_id,
        title: "Rapport".into(),
        reason: "malformed_pdf".into(),
    };
    let mut tx = h.db().begin().await.expect("tx");
    session_control::enqueue(&mut tx, first, ready.clone())
        .await
        .expect("ready");
    session_control::enqueue(&mut tx, first, refused.clone())
        .await
        .expect("refused");
    tx.commit().await.expect("commit");
    let mut conn = h.db().acquire().await.expect("conn");
    let claimed = session_control::claim(&mut conn, "node", &[first], OffsetDateTime::now_utc())
        .await
        .expect("claim");
    let got: Vec<_> = claimed.into_iter().map(|c| c.command).collect();
    assert_eq!(got, [ready, refused]);
    drop(conn);
    h.finish().await;
}
both!(print_commands_travel_the_command_channel);

/// `POST /sessions/{id}/printer`: the operator, the session's host agent and its tenant
/// get a printer URI whose token resolves to the session's user; another host's agent and
/// another tenant find no session; an ended session gets none; without the print
/// service's URL the broker says 503. The audit event never holds the token.
async fn printer_uris_come_from_the_admin_api(b: Backend) {
    use axum::http::{Method, StatusCode};
    use serde_json::json;

    use crate::support::client_cert;

    let unconfigured = Harness::new(b).await;
    let (_, session, _) = two_sessions(&unconfigured).await;
    let r = unconfigured
        .op(
            Method::POST,
            &format!("/api/v1/sessions/{session}/printer"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{:#}", r.json);
    unconfigured.finish().await;

    let Harness { t, state, operator } = Harness::new(b).await;
    let h = Harness {
        t,
        state: state.with_print_public_url(Some("https://print.example:8631".into())),
        operator,
    };
    let (ids, first, second) = two_sessions(&h).await;
    let path = format!("/api/v1/sessions/{first}/printer");
    let r = h.op(Method::POST, &path, None).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:#}", r.json);
    let uri = r.json["printer_uri"]
        .as_str()
        .expect("printer_uri")
        .to_owned();
    let token = uri
        .strip_prefix("ipps://print.example:8631/ipp/print/")
        .expect("an ipps URI under the print service");
    let mut conn = h.db().acquire().await.expect("conn");
    let owner = tokens::resolve(&mut conn, token)
        .await
        .expect("resolve")
        .expect("works");
    assert_eq!((owner.session_id, owner.user_id), (first, ids.user));
    drop(conn);

    // The host agent of the session's host may; an agent of another host may not.
    let mut conn = h.db().acquire().await.expect("conn");
    let host = repo::sessions::get(&mut conn, first)
        .await
        .expect("get")
        .expect("session")
        .host_id;
    drop(conn);
    let agent_cn = format!("agent-{}", Uuid::now_v7().simple());
    h.create(
        "/api/v1/api-clients",
        json!({"name": "agent", "subject_cn": agent_cn, "scope": "host_agent", "host_id": host}),
    )
    .await;
    let r = h
        .as_(&client_cert(&agent_cn), Method::POST, &path, None)
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:#}", r.json);
    let other_host = h
        .create(
            &format!("/api/v1/pools/{}/hosts", ids.pool),
            json!({"name": "rdsh-other", "address": "10.0.0.99", "capacity": 10}),
        )
        .await;
    let stranger_cn = format!("agent-{}", Uuid::now_v7().simple());
    h.create(
        "/api/v1/api-clients",
        json!({"name": "stranger", "subject_cn": stranger_cn, "scope": "host_agent", "host_id": other_host}),
    )
    .await;
    let r = h
        .as_(&client_cert(&stranger_cn), Method::POST, &path, None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{:#}", r.json);

    // Another tenant's client finds no such session.
    let other = h.tenant_with_app("annan").await;
    h.create(
        "/api/v1/api-clients",
        json!({"name": "annan", "subject_cn": "annan-client", "scope": "tenant", "tenant_id": other.tenant}),
    )
    .await;
    let r = h
        .as_(&client_cert("annan-client"), Method::POST, &path, None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{:#}", r.json);

    // Ended: no printer.
    let mut conn = h.db().acquire().await.expect("conn");
    repo::sessions::set_state(
        &mut conn,
        second,
        SessionState::Ended,
        OffsetDateTime::now_utc(),
    )
    .await
    .expect("end");
    drop(conn);
    let r = h
        .op(
            Method::POST,
            &format!("/api/v1/sessions/{second}/printer"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:#}", r.json);

    let events = h.audit("action=session.printer").await;
    assert_eq!(events.len(), 2, "{events:#?}");
    assert!(events.iter().all(|e| !e.to_string().contains(token)));
    h.finish().await;
}
both!(printer_uris_come_from_the_admin_api);
