//! Host health sweeps on both databases: a host nobody answers for stays `unknown` after one
//! miss, turns `unhealthy` after the second (audited as `host.health`, with its reason), and
//! placement then skips it. Probes against real RDP hosts (the demo host) are in the gateway
//! suite, which has the RDP peers.

use std::time::Duration;

use axum::http::Method;
use hamn_broker::health::{HealthConfig, Misses, ProbeOutcome, sweep};
use hamn_broker::model::{AuditFilter, HostHealth, PageRequest};
use hamn_broker::{placement, repo};
use serde_json::json;
use uuid::Uuid;

use crate::both;
use crate::support::{Backend, Harness};

/// A loopback port with nothing listening.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    port
}

async fn a_host_that_never_answers_turns_unhealthy_and_is_skipped(b: Backend) {
    let h = Harness::new(b).await;
    let pool = h
        .create("/api/v1/pools", json!({"name": "Probepool"}))
        .await;
    let host = h
        .create(
            &format!("/api/v1/pools/{pool}/hosts"),
            json!({"name": "rdsh-dead", "address": "127.0.0.1", "port": closed_port(), "capacity": 5}),
        )
        .await;
    let host: Uuid = host.parse().expect("uuid");
    let pool: Uuid = pool.parse().expect("uuid");
    let config = HealthConfig {
        timeout: Duration::from_secs(2),
        ..HealthConfig::default()
    };
    let mut misses = Misses::default();

    let first = sweep(h.db(), &config, &mut misses).await.expect("sweep");
    let mine = first.iter().find(|c| c.host == host).expect("probed");
    assert!(
        matches!(&mine.outcome, ProbeOutcome::Failed(reason) if reason.starts_with("TCP connect")),
        "{mine:?}"
    );
    assert_eq!(
        (mine.health, mine.changed),
        (HostHealth::Unknown, false),
        "one miss is not enough"
    );
    let mut conn = h.db().pool().acquire().await.expect("conn");
    let row = repo::hosts::get(&mut conn, host)
        .await
        .expect("get")
        .expect("host");
    assert!(row.health_checked_at.is_some(), "every probe is stamped");
    assert!(
        placement::choose_host(&mut conn, pool)
            .await
            .expect("placement")
            .is_some(),
        "an unknown host may still be used"
    );
    drop(conn);

    let second = sweep(h.db(), &config, &mut misses).await.expect("sweep");
    let mine = second.iter().find(|c| c.host == host).expect("probed");
    assert_eq!((mine.health, mine.changed), (HostHealth::Unhealthy, true));
    let mut conn = h.db().pool().acquire().await.expect("conn");
    let row = repo::hosts::get(&mut conn, host)
        .await
        .expect("get")
        .expect("host");
    assert_eq!(row.health, HostHealth::Unhealthy);
    assert!(
        placement::choose_host(&mut conn, pool)
            .await
            .expect("placement")
            .is_none(),
        "placement skips an unhealthy host"
    );
    let audit = repo::audit::list(
        &mut conn,
        &AuditFilter {
            action: Some("host.health".to_owned()),
            target_id: Some(host.to_string()),
            ..AuditFilter::default()
        },
        PageRequest {
            limit: 10,
            cursor: None,
        },
    )
    .await
    .expect("audit");
    assert_eq!(audit.items.len(), 1, "one change, one event");
    let event = &audit.items[0];
    assert_eq!(
        event.after.as_ref().map(|a| a["health"].clone()),
        Some(json!("unhealthy"))
    );
    assert!(
        event
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("rdsh-dead") && d.contains("TCP connect")),
        "{event:?}"
    );

    // Still dead: no new event.
    sweep(h.db(), &config, &mut misses).await.expect("sweep");
    let audit = h
        .op(
            Method::GET,
            &format!("/api/v1/audit?action=host.health&target_id={host}"),
            None,
        )
        .await;
    assert_eq!(
        audit.json["items"].as_array().map(Vec::len),
        Some(1),
        "{:#}",
        audit.json
    );
}
both!(a_host_that_never_answers_turns_unhealthy_and_is_skipped);
