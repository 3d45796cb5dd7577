//! Launch tickets with a database: issuing for an entitled user (session row, ticket row,
//! audit), refusals with their Swedish and English messages, single use, expiry, a race
//! of concurrent consumers with exactly one winner, auditing and pruning.

use std::sync::Arc;

use hamn_broker::db::row::millis;
use hamn_broker::launch::{LaunchError, issue_launch_ticket};
use hamn_broker::model::{HostState, NewUser, SessionState};
use hamn_broker::repo;
use hamn_broker::seed::{self, DemoIds, DemoSeed};
use hamn_broker::ticket::{
    self, ConsumeError, Grant, LaunchPath, Refusal, TicketIssuer, TicketKeys,
};

use crate::both;
use crate::support::{Backend, Harness};

fn new_issuer() -> TicketIssuer {
    TicketIssuer::new(Arc::new(TicketKeys::generate().expect("key").0))
}

async fn demo(h: &Harness) -> DemoIds {
    seed::demo(h.db(), DemoSeed::default()).await.expect("seed")
}

fn refusal(e: ConsumeError) -> Refusal {
    e.refusal()
        .unwrap_or_else(|| panic!("not a refusal: {e:?}"))
}

async fn launch_issues_a_single_use_ticket(b: Backend) {
    let h = Harness::new(b).await;
    let ids = demo(&h).await;
    let issuer = new_issuer();
    let verifier = issuer.keys().verifier();
    let t = issue_launch_ticket(h.db(), &issuer, ids.user, ids.app_prod, LaunchPath::Browser)
        .await
        .expect("entitled demo user launches");
    assert_eq!(t.host.id, ids.host);
    assert_eq!(t.session.state, SessionState::Launching);
    assert_eq!(
        (
            t.claims.user_id,
            t.claims.tenant_id,
            t.claims.app_id,
            t.claims.session_id
        ),
        (ids.user, ids.tenant, ids.app_prod, t.session.id)
    );
    let mut conn = h.db().pool().acquire().await.unwrap();
    let stored = repo::sessions::get(&mut conn, t.session.id).await.unwrap();
    assert_eq!(stored.map(|s| s.state), Some(SessionState::Launching));
    drop(conn);
    let launches = h.audit("action=session.launch").await;
    assert_eq!(launches.len(), 1);
    assert_eq!(launches[0]["outcome"], "success");
    assert_eq!(launches[0]["target_id"], t.session.id.to_string());
    assert!(
        !launches[0].to_string().contains(&t.ticket),
        "the ticket itself is never audited"
    );

    let claims = ticket::consume(h.db(), &verifier, &t.ticket)
        .await
        .expect("first use");
    assert_eq!(claims, t.claims);
    let again = ticket::consume(h.db(), &verifier, &t.ticket)
        .await
        .unwrap_err();
    assert_eq!(refusal(again), Refusal::Replayed, "replay refused");

    // The audit helpers record both outcomes.
    let mut conn = h.db().pool().acquire().await.unwrap();
    ticket::audit_consumed(&mut conn, &claims, "gw-1", Some("192.0.2.1"))
        .await
        .unwrap();
    ticket::audit_refused(&mut conn, Refusal::Replayed, Some(&claims), "gw-2", None)
        .await
        .unwrap();
    ticket::audit_refused(&mut conn, Refusal::BadSignature, None, "gw-2", None)
        .await
        .unwrap();
    drop(conn);
    let consumed = h.audit("action=ticket.consumed").await;
    assert_eq!(
        (
            consumed[0]["actor_name"].as_str(),
            consumed[0]["tenant_id"].as_str()
        ),
        (Some("Åsa Öberg"), Some(ids.tenant.to_string().as_str()))
    );
    let refused = h.audit("action=ticket.refused").await;
    assert_eq!(refused.len(), 2);
    assert!(refused.iter().all(|e| e["outcome"] == "refused"));
    assert!(
        refused[0]["detail"]
            .as_str()
            .unwrap()
            .starts_with("bad_signature")
    );
    assert_eq!(refused[0]["actor_kind"], "anonymous");
    h.finish().await;
}
both!(launch_issues_a_single_use_ticket);

async fn launch_refusals_are_typed_and_audited(b: Backend) {
    let h = Harness::new(b).await;
    let ids = demo(&h).await;
    let issuer = new_issuer();
    let mut conn = h.db().pool().acquire().await.unwrap();
    let outsider = repo::users::insert(
        &mut conn,
        ids.tenant,
        &NewUser {
            name_id: "bo@demo.example".into(),
            hsa_id: None,
            display_name: "Bo Ek".into(),
        },
    )
    .await
    .unwrap();
    drop(conn);
    let e = issue_launch_ticket(
        h.db(),
        &issuer,
        outsider.id,
        ids.app_prod,
        LaunchPath::Browser,
    )
    .await
    .unwrap_err();
    assert!(matches!(e, LaunchError::NotEntitled), "{e:?}");
    assert_eq!(
        e.message_sv(),
        "Du har inte behörighet att starta den här applikationen."
    );
    assert_eq!(
        e.message_en(),
        "You are not entitled to launch this application."
    );
    let refused = h.audit("action=session.launch&outcome=refused").await;
    assert_eq!(refused.len(), 1);
    assert!(
        refused[0]["detail"]
            .as_str()
            .unwrap()
            .contains("not_entitled")
    );

    // Another tenant's app does not exist for this user.
    let other = h.tenant_with_app("annan").await;
    let other_app = other.app.parse().unwrap();
    let e = issue_launch_ticket(h.db(), &issuer, ids.user, other_app, LaunchPath::Native)
        .await
        .unwrap_err();
    assert!(matches!(e, LaunchError::UnknownApp), "{e:?}");

    // A disabled app.
    let mut conn = h.db().pool().acquire().await.unwrap();
    let mut app = repo::apps::get(&mut conn, ids.app_utb)
        .await
        .unwrap()
        .unwrap();
    app.enabled = false;
    repo::apps::update(&mut conn, &app).await.unwrap();
    drop(conn);
    let e = issue_launch_ticket(h.db(), &issuer, ids.user, ids.app_utb, LaunchPath::Browser)
        .await
        .unwrap_err();
    assert!(matches!(e, LaunchError::AppDisabled), "{e:?}");
    assert!(!e.message_sv().is_empty() && e.message_sv() != e.message_en());

    // No host: the only one is in maintenance, then full.
    let mut conn = h.db().pool().acquire().await.unwrap();
    let mut host = repo::hosts::get(&mut conn, ids.host)
        .await
        .unwrap()
        .unwrap();
    host.state = HostState::Maintenance;
    repo::hosts::update(&mut conn, &host).await.unwrap();
    drop(conn);
    let e = issue_launch_ticket(h.db(), &issuer, ids.user, ids.app_prod, LaunchPath::Browser)
        .await
        .unwrap_err();
    assert!(matches!(e, LaunchError::NoHostAvailable), "{e:?}");
    assert!(e.message_sv().contains("Försök igen"));
    let mut conn = h.db().pool().acquire().await.unwrap();
    host.state = HostState::Active;
    host.capacity = 1;
    repo::hosts::update(&mut conn, &host).await.unwrap();
    drop(conn);
    let seated = issue_launch_ticket(h.db(), &issuer, ids.user, ids.app_prod, LaunchPath::Browser)
        .await
        .expect("one seat");
    // The same user again roams to that session; another user needs a seat of their own.
    let again = issue_launch_ticket(h.db(), &issuer, ids.user, ids.app_prod, LaunchPath::Browser)
        .await
        .expect("roams");
    assert_eq!(again.session.id, seated.session.id);
    let mut conn = h.db().pool().acquire().await.unwrap();
    let colleague = repo::users::insert(
        &mut conn,
        ids.tenant,
        &NewUser {
            name_id: "kim@demo.example".into(),
            hsa_id: None,
            display_name: "Kim Lind".into(),
        },
    )
    .await
    .unwrap();
    repo::groups::add_member(&mut conn, ids.tenant, ids.group, colleague.id)
        .await
        .unwrap();
    drop(conn);
    let e = issue_launch_ticket(
        h.db(),
        &issuer,
        colleague.id,
        ids.app_prod,
        LaunchPath::Browser,
    )
    .await
    .unwrap_err();
    assert!(matches!(e, LaunchError::NoHostAvailable), "full: {e:?}");

    let e = issue_launch_ticket(
        h.db(),
        &issuer,
        uuid::Uuid::now_v7(),
        ids.app_prod,
        LaunchPath::Browser,
    )
    .await
    .unwrap_err();
    assert!(matches!(e, LaunchError::UnknownUser), "{e:?}");
    h.finish().await;
}
both!(launch_refusals_are_typed_and_audited);

async fn expired_unknown_and_foreign_tickets_are_refused(b: Backend) {
    let h = Harness::new(b).await;
    let ids = demo(&h).await;
    let issuer = new_issuer();
    let verifier = issuer.keys().verifier().with_clock_skew_ms(2_000);
    let grant = Grant {
        user_id: ids.user,
        tenant_id: ids.tenant,
        session_id: uuid::Uuid::now_v7(),
        host_id: ids.host,
        app_id: ids.app_prod,
        path: LaunchPath::Browser,
    };
    let now = millis(hamn_broker::db::row::now());
    let mut conn = h.db().pool().acquire().await.unwrap();

    // Expired (beyond the skew allowance), even though recorded and unused.
    let old = issuer.claims(&grant, now - 120_000).unwrap();
    ticket::record(&mut conn, issuer.keys().key_id(), &old)
        .await
        .unwrap();
    let e = ticket::consume_at(&mut conn, &verifier, &issuer.sign(&old), now)
        .await
        .unwrap_err();
    assert!(
        matches!(e, ConsumeError::Refused { reason: Refusal::Expired, claims: Some(c) } if c == old),
        "{e:?}"
    );

    // Just past expiry but within the skew: still accepted, once.
    let late = issuer.claims(&grant, now - 61_000).unwrap();
    ticket::record(&mut conn, issuer.keys().key_id(), &late)
        .await
        .unwrap();
    ticket::consume_at(&mut conn, &verifier, &issuer.sign(&late), now)
        .await
        .expect("within the clock-skew allowance");

    // Validly signed but never recorded: refused like a replay.
    let unknown = issuer.claims(&grant, now).unwrap();
    let e = ticket::consume_at(&mut conn, &verifier, &issuer.sign(&unknown), now)
        .await
        .unwrap_err();
    assert_eq!(refusal(e), Refusal::Replayed);

    // Recorded here, but signed by a key this gateway does not trust.
    let stranger = new_issuer();
    let foreign = stranger.claims(&grant, now).unwrap();
    ticket::record(&mut conn, stranger.keys().key_id(), &foreign)
        .await
        .unwrap();
    let e = ticket::consume_at(&mut conn, &verifier, &stranger.sign(&foreign), now)
        .await
        .unwrap_err();
    assert!(matches!(refusal(e), Refusal::UnknownKey(_)));
    let e = ticket::consume_at(&mut conn, &verifier, "garbage!", now)
        .await
        .unwrap_err();
    assert!(matches!(refusal(e), Refusal::Malformed(_)));

    // Pruning removes long-expired rows only.
    let ancient = issuer.claims(&grant, now - 3_600_000).unwrap();
    ticket::record(&mut conn, issuer.keys().key_id(), &ancient)
        .await
        .unwrap();
    drop(conn);
    assert_eq!(ticket::prune_expired(h.db()).await.unwrap(), 1);
    assert_eq!(ticket::prune_expired(h.db()).await.unwrap(), 0);
    h.finish().await;
}
both!(expired_unknown_and_foreign_tickets_are_refused);

async fn concurrent_consumers_one_wins(b: Backend) {
    let h = Harness::new(b).await;
    let ids = demo(&h).await;
    let issuer = new_issuer();
    let verifier = Arc::new(issuer.keys().verifier());
    for round in 0..5 {
        let t = issue_launch_ticket(h.db(), &issuer, ids.user, ids.app_prod, LaunchPath::Browser)
            .await
            .expect("launch");
        // Two gateways (separate connections) present the same ticket at once.
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let mut tasks = Vec::new();
        for _ in 0..2 {
            let (db, v, ticket, barrier) = (
                h.db().clone(),
                verifier.clone(),
                t.ticket.clone(),
                barrier.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let mut conn = db.pool().acquire().await.expect("conn");
                barrier.wait().await;
                let now = millis(hamn_broker::db::row::now());
                ticket::consume_at(&mut conn, &v, &ticket, now).await
            }));
        }
        let mut wins = 0;
        for task in tasks {
            match task.await.expect("join") {
                Ok(_) => wins += 1,
                Err(e) => assert_eq!(refusal(e), Refusal::Replayed),
            }
        }
        assert_eq!(wins, 1, "round {round}: exactly one gateway wins");
    }
    h.finish().await;
}
both!(concurrent_consumers_one_wins);

/// The native path's short reference (the RD Gateway PAA cookie) spends the same ticket
/// row once; a browser launch has none; unknown, malformed and expired references are
/// refused with their reasons.
async fn native_references_are_single_use(b: Backend) {
    let h = Harness::new(b).await;
    let ids = demo(&h).await;
    let issuer = new_issuer();
    let skew = issuer.keys().verifier().clock_skew_ms();
    let browser = issue_launch_ticket(h.db(), &issuer, ids.user, ids.app_prod, LaunchPath::Browser)
        .await
        .expect("browser launch");
    assert!(
        browser.reference.is_none(),
        "only native launches carry a reference"
    );
    let t = issue_launch_ticket(h.db(), &issuer, ids.user, ids.app_utb, LaunchPath::Native)
        .await
        .expect("native launch");
    let reference = t
        .reference
        .clone()
        .expect("native launches carry a reference");
    assert_eq!(reference.len(), ticket::reference::REFERENCE_LEN);
    let mut conn = h.db().pool().acquire().await.unwrap();
    let now = millis(hamn_broker::db::row::now());
    let claims = ticket::reference::consume_at(&mut conn, &reference, skew, now)
        .await
        .expect("first use");
    assert_eq!(claims, t.claims, "the reference names the ticket's claims");
    let again = ticket::reference::consume_at(&mut conn, &reference, skew, now).await;
    let again = again.expect_err("second use");
    assert_eq!(refusal(again), Refusal::Replayed);
    let unknown = ticket::reference::consume_at(&mut conn, "AAAAAAAAAAAAAAAAAAAAAAAA", skew, now)
        .await
        .expect_err("never issued");
    assert_eq!(refusal(unknown), Refusal::Replayed);
    let malformed = ticket::reference::consume_at(&mut conn, "not a reference", skew, now)
        .await
        .expect_err("malformed");
    assert_eq!(refusal(malformed).reason(), "malformed");
    // The signed ticket of a native launch is not a reference, and the reference is not
    // a ticket: each is refused by the other's check.
    let crossed = ticket::reference::consume_at(&mut conn, &t.ticket, skew, now)
        .await
        .expect_err("a ticket is no reference");
    assert_eq!(refusal(crossed).reason(), "malformed");
    drop(conn);
    let late = issue_launch_ticket(h.db(), &issuer, ids.user, ids.app_utb, LaunchPath::Native)
        .await
        .expect("second native launch");
    let mut conn = h.db().pool().acquire().await.unwrap();
    let after = late.claims.expires_at_ms + skew + 1;
    let expired = ticket::reference::consume_at(
        &mut conn,
        late.reference.as_deref().expect("reference"),
        skew,
        after,
    )
    .await
    .expect_err("expired");
    assert_eq!(refusal(expired), Refusal::Expired);
    drop(conn);
    let launches = h.audit("action=session.launch").await;
    assert!(
        launches.iter().all(|e| !e.to_string().contains(&reference)),
        "the reference never reaches the audit log"
    );
    h.finish().await;
}
both!(native_references_are_single_use);
