//! Placement on both databases: the pool's strategy (breadth-first spreads, depth-first
//! fills), roaming (a second launch of the same app reuses the user's live session, even
//! on a host in drain), and concurrent launches that never put more sessions on a host
//! than its capacity.

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::Method;
use hamn_broker::launch::{LaunchError, issue_launch_ticket};
use hamn_broker::model::SessionState;
use hamn_broker::repo;
use hamn_broker::seed::{self, DemoIds, DemoSeed};
use hamn_broker::ticket::{LaunchPath, TicketIssuer, TicketKeys};
use serde_json::json;
use uuid::Uuid;

use crate::both;
use crate::support::{Backend, Harness};

pub(crate) fn issuer() -> Arc<TicketIssuer> {
    Arc::new(TicketIssuer::new(Arc::new(
        TicketKeys::generate().expect("key").0,
    )))
}

/// The demo tenant with three hosts of `capacity` each and `users` more entitled users.
pub(crate) async fn pool_of_three(
    h: &Harness,
    capacity: u32,
    users: usize,
) -> (DemoIds, Vec<Uuid>, Vec<Uuid>) {
    let ids = seed::demo(h.db(), DemoSeed::default()).await.expect("seed");
    let r = h
        .op(
            Method::PATCH,
            &format!("/api/v1/hosts/{}", ids.host),
            Some(json!({"capacity": capacity})),
        )
        .await;
    assert!(r.status.is_success(), "{:#}", r.json);
    let mut hosts = vec![ids.host];
    for n in 2..=3 {
        let id = h
            .create(
                &format!("/api/v1/pools/{}/hosts", ids.pool),
                json!({"name": format!("rdsh0{n}"), "address": "127.0.0.1", "port": 3389 + n, "capacity": capacity}),
            )
            .await;
        hosts.push(id.parse().expect("uuid"));
    }
    let mut people = Vec::new();
    for n in 0..users {
        let id = h
            .create(
                &format!("/api/v1/tenants/{}/users", ids.tenant),
                json!({"name_id": format!("user{n}@demo.example"), "display_name": format!("User {n}")}),
            )
            .await;
        let r = h
            .op(
                Method::PUT,
                &format!("/api/v1/groups/{}/members/{id}", ids.group),
                None,
            )
            .await;
        assert!(r.status.is_success(), "{:#}", r.json);
        people.push(id.parse().expect("uuid"));
    }
    (ids, hosts, people)
}

pub(crate) async fn live_per_host(h: &Harness) -> HashMap<Uuid, usize> {
    let mut conn = h.db().pool().acquire().await.expect("conn");
    let page = repo::sessions::list(
        &mut conn,
        &Default::default(),
        hamn_broker::model::PageRequest {
            limit: 500,
            cursor: None,
        },
    )
    .await
    .expect("sessions");
    let mut per_host = HashMap::new();
    for s in page.items {
        if matches!(
            s.state,
            SessionState::Launching | SessionState::Active | SessionState::Disconnected
        ) {
            *per_host.entry(s.host_id).or_default() += 1;
        }
    }
    per_host
}

async fn breadth_first_spreads_and_depth_first_fills(b: Backend) {
    let h = Harness::new(b).await;
    let (ids, hosts, users) = pool_of_three(&h, 4, 5).await;
    let issuer = issuer();
    for user in &users[..3] {
        issue_launch_ticket(h.db(), &issuer, *user, ids.app_prod, LaunchPath::Browser)
            .await
            .expect("launch");
    }
    let spread = live_per_host(&h).await;
    assert_eq!(spread.len(), 3, "one session on each host: {spread:?}");

    let r = h
        .op(
            Method::PATCH,
            &format!("/api/v1/pools/{}", ids.pool),
            Some(json!({"strategy": "depth_first"})),
        )
        .await;
    assert!(r.status.is_success(), "{:#}", r.json);
    let a = issue_launch_ticket(h.db(), &issuer, users[3], ids.app_prod, LaunchPath::Browser)
        .await
        .expect("launch");
    let b2 = issue_launch_ticket(h.db(), &issuer, users[4], ids.app_prod, LaunchPath::Browser)
        .await
        .expect("launch");
    assert_eq!(a.host.id, b2.host.id, "depth-first fills one host");
    assert!(hosts.contains(&a.host.id));
    assert_eq!(live_per_host(&h).await.get(&a.host.id), Some(&3));
}
both!(breadth_first_spreads_and_depth_first_fills);

async fn a_second_launch_roams_to_the_live_session(b: Backend) {
    let h = Harness::new(b).await;
    let (ids, _, _) = pool_of_three(&h, 4, 0).await;
    let issuer = issuer();
    let first = issue_launch_ticket(h.db(), &issuer, ids.user, ids.app_prod, LaunchPath::Browser)
        .await
        .expect("launch");
    // The host goes into drain: new sessions avoid it, the user's own session does not.
    let r = h
        .op(
            Method::PUT,
            &format!("/api/v1/hosts/{}/state", first.host.id),
            Some(json!({"state": "drain"})),
        )
        .await;
    assert!(r.status.is_success(), "{:#}", r.json);
    let second = issue_launch_ticket(h.db(), &issuer, ids.user, ids.app_prod, LaunchPath::Native)
        .await
        .expect("launch again");
    assert_eq!(second.session.id, first.session.id, "the same session");
    assert_eq!(
        second.host.id, first.host.id,
        "on its host, though draining"
    );
    assert_ne!(
        second.claims.ticket_id, first.claims.ticket_id,
        "a ticket of its own"
    );
    assert!(
        second.expires_at > time::OffsetDateTime::now_utc(),
        "a fresh ticket"
    );

    // Once the session has ended, the next launch gets a new one, not on the draining host.
    let mut conn = h.db().pool().acquire().await.expect("conn");
    repo::sessions::set_state(
        &mut conn,
        first.session.id,
        SessionState::Ended,
        time::OffsetDateTime::now_utc(),
    )
    .await
    .expect("end");
    drop(conn);
    let third = issue_launch_ticket(h.db(), &issuer, ids.user, ids.app_prod, LaunchPath::Browser)
        .await
        .expect("launch after the end");
    assert_ne!(third.session.id, first.session.id);
    assert_ne!(third.host.id, first.host.id);
}
both!(a_second_launch_roams_to_the_live_session);

async fn concurrent_launches_never_overfill_a_host(b: Backend) {
    let h = Harness::new(b).await;
    let (ids, _, users) = pool_of_three(&h, 2, 10).await;
    let issuer = issuer();
    let mut launches = tokio::task::JoinSet::new();
    for user in users {
        let (db, issuer, app) = (h.db().clone(), issuer.clone(), ids.app_prod);
        launches.spawn(async move {
            issue_launch_ticket(&db, &issuer, user, app, LaunchPath::Browser).await
        });
    }
    let (mut placed, mut full) = (0, 0);
    while let Some(result) = launches.join_next().await {
        match result.expect("task") {
            Ok(_) => placed += 1,
            Err(LaunchError::NoHostAvailable) => full += 1,
            Err(other) => panic!("unexpected launch error: {other}"),
        }
    }
    assert_eq!((placed, full), (6, 4), "three hosts of two seats");
    let per_host = live_per_host(&h).await;
    assert!(per_host.values().all(|&n| n == 2), "{per_host:?}");
}
both!(concurrent_launches_never_overfill_a_host);
