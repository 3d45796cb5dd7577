//! The broker's host health probe against real peers: the bundled demo host (TLS and NLA)
//! answers the RDP connection request; a closed port, a host that accepts TCP but stays
//! silent, and an HTTP server do not, each with its own reason. A sweep over the seeded demo
//! pool marks the demo host healthy (audited), and unhealthy once it is gone — then
//! placement has no host for the pool.

use std::time::Duration;

use hamn_broker::health::{Confirm, HealthConfig, Misses, ProbeOutcome, probe_host, sweep};
use hamn_broker::model::HostHealth;
use hamn_broker::{placement, repo};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::rdp::peers::DemoHost;
use crate::session::Gateway;

const TIMEOUT: Duration = Duration::from_secs(3);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_probe_tells_an_rdp_host_from_everything_else() {
    for security in ["tls", "nla"] {
        let host = DemoHost::start(security);
        match probe_host("127.0.0.1", host.port, TIMEOUT).await {
            // PROTOCOL_SSL (1) or PROTOCOL_HYBRID (2): what we asked for.
            ProbeOutcome::Answered(Confirm::Selected { protocol }) => {
                assert!(protocol == 1 || protocol == 2, "{security}: {protocol}")
            }
            other => panic!("the demo host ({security}) did not answer: {other:?}"),
        }
    }

    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let closed_port = closed.local_addr().expect("addr").port();
    drop(closed);
    let outcome = probe_host("127.0.0.1", closed_port, TIMEOUT).await;
    assert!(
        matches!(&outcome, ProbeOutcome::Failed(r) if r.starts_with("TCP connect")),
        "{outcome:?}"
    );

    // Accepts and says nothing.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let silent_port = silent.local_addr().expect("addr").port();
    let keep = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let outcome = probe_host("127.0.0.1", silent_port, Duration::from_millis(500)).await;
    assert!(
        matches!(&outcome, ProbeOutcome::Failed(r) if r.starts_with("no connection confirm")),
        "{outcome:?}"
    );
    keep.abort();

    // Answers like a web server.
    let web = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let web_port = web.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = web.accept().await {
            let mut request = [0u8; 64];
            let _ = socket.read(&mut request).await;
            let _ = socket
                .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                .await;
        }
    });
    let outcome = probe_host("127.0.0.1", web_port, TIMEOUT).await;
    assert!(
        matches!(&outcome, ProbeOutcome::Failed(r) if r.starts_with("not an RDP answer")),
        "{outcome:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_follows_the_demo_host_up_and_down() {
    let mut gateway = Gateway::start().await;
    let config = HealthConfig {
        timeout: TIMEOUT,
        ..HealthConfig::default()
    };
    let mut misses = Misses::default();
    let checked = sweep(&gateway.database, &config, &mut misses)
        .await
        .expect("sweep");
    assert_eq!(checked.len(), 1, "{checked:?}");
    assert_eq!(
        (checked[0].health, checked[0].changed),
        (HostHealth::Healthy, true)
    );
    let host_id = checked[0].host;
    assert_eq!(
        gateway.audit_actions(host_id).await,
        ["host.create", "host.health"],
        "the seed created it; unknown → healthy is audited"
    );

    gateway.stop_host();
    for _ in 0..2 {
        sweep(&gateway.database, &config, &mut misses)
            .await
            .expect("sweep");
    }
    let mut conn = gateway.database.pool().acquire().await.expect("conn");
    let host = repo::hosts::get(&mut conn, host_id)
        .await
        .expect("get")
        .expect("host");
    assert_eq!(host.health, HostHealth::Unhealthy);
    assert!(
        placement::choose_host(&mut conn, host.pool_id)
            .await
            .expect("placement")
            .is_none(),
        "no host for the pool while its only host is down"
    );
    drop(conn);
    assert_eq!(
        gateway.audit_actions(host_id).await,
        ["host.create", "host.health", "host.health"]
    );
}
