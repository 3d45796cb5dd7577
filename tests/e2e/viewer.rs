//! The session viewer end to end the way a user gets there: `hamn up` (demo login on),
//! headless Chromium logs in to the portal as "demo" and presses "Öppna" on the PROD
//! Procapita tile; on the viewer page that opens, the canvas must show the demo app's real
//! pixels, typed text (å ä ö as Unicode, a scancode key) must change the app, and the
//! spent ticket must be refused on a second try. `HAMN_E2E_KEEP_SCREENSHOTS=DIR` keeps the
//! screenshots (`session.png`, `session-replay.png`).

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
    if let Ok(dir) = std::env::var("HAMN_E2E_KEEP_SCREENSHOTS") {
        for name in ["session.png", "session-replay.png"] {
            let _ = std::fs::copy(scratch.0.join(name), std::path::Path::new(&dir).join(name));
        }
    }
}
