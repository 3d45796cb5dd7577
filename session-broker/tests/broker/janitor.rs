//! The broker's clean-up on both databases: a launch nobody took up ends (audited, its seat
//! freed, the user's next launch gets a new session); a launch whose ticket a gateway
//! consumed, and a recent one, are left alone; expired tickets are deleted.

use std::sync::Arc;

use hamn_broker::janitor::{ABANDONED_AFTER, sweep};
use hamn_broker::launch::issue_launch_ticket;
use hamn_broker::model::SessionState;
use hamn_broker::repo;
use hamn_broker::seed::{self, DemoSeed};
use hamn_broker::ticket::{self, LaunchPath, TicketIssuer, TicketKeys};
use time::OffsetDateTime;

use crate::both;
use crate::support::{Backend, Harness};

async fn launches_nobody_took_up_end_and_free_their_seat(b: Backend) {
    let h = Harness::new(b).await;
    let ids = seed::demo(h.db(), DemoSeed::default()).await.expect("seed");
    let keys = Arc::new(TicketKeys::generate().expect("key").0);
    let issuer = TicketIssuer::new(keys.clone());
    let verifier = keys.verifier();
    let abandoned =
        issue_launch_ticket(h.db(), &issuer, ids.user, ids.app_prod, LaunchPath::Browser)
            .await
            .expect("launch");
    let taken_up = issue_launch_ticket(h.db(), &issuer, ids.user, ids.app_utb, LaunchPath::Browser)
        .await
        .expect("launch");
    ticket::consume(h.db(), &verifier, &taken_up.ticket)
        .await
        .expect("a gateway takes it up");

    // Now: both are recent, nothing ends.
    let now = OffsetDateTime::now_utc();
    assert_eq!(
        sweep(h.db(), now).await.expect("sweep").abandoned_launches,
        0
    );

    // Later than a ticket's life and a connection attempt: the unused launch ends.
    let later = now
        + time::Duration::try_from(ABANDONED_AFTER).expect("duration")
        + time::Duration::minutes(1);
    let swept = sweep(h.db(), later).await.expect("sweep");
    assert_eq!(swept.abandoned_launches, 1, "{swept:?}");
    let mut conn = h.db().pool().acquire().await.expect("conn");
    let row = repo::sessions::get(&mut conn, abandoned.session.id)
        .await
        .expect("get")
        .expect("row");
    assert_eq!(row.state, SessionState::Ended);
    let row = repo::sessions::get(&mut conn, taken_up.session.id)
        .await
        .expect("get")
        .expect("row");
    assert_eq!(
        row.state,
        SessionState::Launching,
        "a consumed ticket's session is the gateway's"
    );
    drop(conn);
    assert_eq!(
        sweep(h.db(), later)
            .await
            .expect("sweep")
            .abandoned_launches,
        0,
        "idempotent"
    );

    // The next launch is a new session, not the abandoned one.
    let next = issue_launch_ticket(h.db(), &issuer, ids.user, ids.app_prod, LaunchPath::Browser)
        .await
        .expect("launch");
    assert_ne!(next.session.id, abandoned.session.id);

    let audit = h
        .op(
            axum::http::Method::GET,
            &format!(
                "/api/v1/audit?action=session.end&target_id={}",
                abandoned.session.id
            ),
            None,
        )
        .await;
    let items = audit.json["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 1, "{:#}", audit.json);
    assert!(
        items[0]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("launch abandoned")),
        "{:#}",
        audit.json
    );
}
both!(launches_nobody_took_up_end_and_free_their_seat);
