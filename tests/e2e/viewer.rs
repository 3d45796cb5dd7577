//! The session viewer end to end the way a user gets there: `hamn up` (demo login on),
//! headless Chromium logs in to the portal as "demo" and presses "Öppna" on the PROD
//! Procapita tile; on the viewer page that opens, the canvas must show the demo app's real
//! pixels, typed text (å ä ö as Unicode, a scancode key) must change the app, and the
//! spent ticket must be refused on a second try. `HAMN_E2E_KEEP_SCREENSHOTS=DIR` keeps the
//! screenshots (`session.png`, `session-replay.png`).

use crate::metrics::scrape;
use crate::support::{HamnUp, TempDir, browser_script};

#[test]
fn viewer_shows_the_demo_app_and_types_into_it() {
    let up = HamnUp::start(&[]);
    let scratch = TempDir::new("viewer");
    let shot = scratch.0.join("session.png");
    let url = format!("https://localhost:{}/", up.ports.gateway);
    browser_script(
        "session viewer",
        "session.mjs",
        &[std::ffi::OsStr::new(&url), shot.as_os_str()],
        Some(&up),
    );
    assert!(
        std::fs::metadata(&shot).is_ok_and(|m| m.len() > 1000),
        "no session screenshot"
    );
    the_session_is_in_the_metrics(&up);
    if let Ok(dir) = std::env::var("HAMN_E2E_KEEP_SCREENSHOTS") {
        for name in ["session.png", "session-replay.png"] {
            let _ = std::fs::copy(scratch.0.join(name), std::path::Path::new(&dir).join(name));
        }
    }
}

/// `hamn up`'s one `/metrics` counted the browser session the viewer drove: the login and
/// launch (broker side), frames, tiles and bytes both ways (gateway side), and no live
/// session once the user logged it off.
fn the_session_is_in_the_metrics(up: &HamnUp) {
    let scrape = scrape(&up.certs().join("ca.crt"), up.ports.metrics);
    let launches = scrape.sum("hamn_launches_total", &[]);
    assert!(scrape.sum("hamn_launches_total", &[("outcome", "granted")]) >= 1.0);
    assert_eq!(
        scrape.sum("hamn_launch_duration_seconds_count", &[]),
        launches
    );
    assert!(
        scrape.sum(
            "hamn_logins_total",
            &[("method", "demo"), ("outcome", "success")]
        ) >= 1.0
    );
    let frames = scrape.sum("hamn_gateway_frames_total", &[]);
    assert!(frames >= 1.0, "frames: {frames}");
    // Every tile of those frames was encoded and timed.
    assert!(scrape.sum("hamn_tile_encode_seconds_count", &[]) >= 1.0);
    for direction in ["to_client", "from_client"] {
        let bytes = scrape.sum(
            "hamn_gateway_bytes_total",
            &[("client", "browser"), ("direction", direction)],
        );
        assert!(bytes > 0.0, "browser bytes {direction}: {bytes}");
    }
    // The script logs the session off in "Mina sessioner": read from the database, the
    // gauge has no live session left.
    assert_eq!(
        scrape.types.get("hamn_sessions").map(String::as_str),
        Some("gauge")
    );
    assert_eq!(
        scrape.sum("hamn_sessions", &[]),
        0.0,
        "{:?}",
        scrape.samples
    );
    assert_eq!(scrape.sum("hamn_native_tunnels", &[]), 0.0);
}
