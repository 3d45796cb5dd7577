//! The session viewer end to end: `hamn up`, a launch ticket for the demo user's
//! "Procapita" issued through the broker library against the running instance's database
//! and keys, then headless Chromium on `session.html` — the canvas must show the demo app's
//! real pixels, typed text (å ä ö as Unicode, a scancode key) must change the app, and the
//! spent ticket must be refused on a second try. `HAMN_E2E_KEEP_SCREENSHOTS=DIR` keeps the
//! screenshots (`session.png`, `session-replay.png`).

use std::process::Command;

use hamn_broker::db::{Database, DatabaseConfig};
use hamn_broker::{LaunchPath, TicketIssuer, TicketKeys};

use crate::support::{HamnUp, TempDir, repo};

#[test]
fn viewer_shows_the_demo_app_and_types_into_it() {
    let up = HamnUp::start(&[]);
    let ticket = launch_ticket(&up);
    let scratch = TempDir::new("viewer");
    let shot = scratch.0.join("session.png");
    let url = format!(
        "https://localhost:{}/static/session.html#ticket={ticket}",
        up.ports.gateway
    );
    let output = Command::new("node")
        .arg(repo().join("tests/browser/session.mjs"))
        .arg(&url)
        .arg(&shot)
        .current_dir(repo().join("tests"))
        .output()
        .expect("run node (./scripts/test installs it)");
    assert!(
        output.status.success(),
        "session viewer in Chromium: {}{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        up.logs()
    );
    assert!(
        std::fs::metadata(&shot).is_ok_and(|m| m.len() > 1000),
        "no session screenshot"
    );
    if let Ok(dir) = std::env::var("HAMN_E2E_KEEP_SCREENSHOTS") {
        for name in ["session.png", "session-replay.png"] {
            let _ = std::fs::copy(scratch.0.join(name), std::path::Path::new(&dir).join(name));
        }
    }
}

/// A browser launch ticket for the seeded demo user and "Procapita", signed with the key
/// `hamn up` wrote to its data dir.
fn launch_ticket(up: &HamnUp) -> String {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let database = Database::connect(&DatabaseConfig {
            url: format!("sqlite://{}?mode=rwc", up.data.0.join("hamn.db").display()),
            max_connections: 2,
        })
        .await
        .expect("open the instance's database");
        // The seed is idempotent: with the same host it only returns the existing ids
        // (no secrets key: the sealed credentials stay as `hamn up` wrote them).
        let ids = hamn_broker::seed::demo(
            &database,
            hamn_broker::DemoSeed {
                host_address: "127.0.0.1".to_owned(),
                host_port: up.ports.demo_host,
                ..Default::default()
            },
        )
        .await
        .expect("demo ids");
        let keys = TicketKeys::load_or_create(&up.data.0).expect("ticket keys");
        let issuer = TicketIssuer::new(std::sync::Arc::new(keys));
        let ticket = hamn_broker::issue_launch_ticket(
            &database,
            &issuer,
            ids.user,
            ids.app_prod,
            LaunchPath::Browser,
        )
        .await
        .expect("launch ticket");
        database.close().await;
        ticket.ticket
    })
}
