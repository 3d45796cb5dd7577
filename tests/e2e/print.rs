//! Printing from a browser session end to end: `hamn up` (gateway, broker, print service,
//! demo host), headless Chromium logs in as "demo", opens Procapita and presses the demo
//! app's "Skriv ut". The demo host prints the selected client through the gateway's
//! redirected RDP printer ("Hamn PDF"), the gateway streams the job to the print service
//! as an IPP Print-Job, and the viewer shows "Utskrift klar — Öppna PDF"; the PDF opens in
//! a new tab and downloads, and `pdftotext` finds the client's name with å ä ö in it.
//! `HAMN_E2E_KEEP_SCREENSHOTS=DIR` keeps `print.png`.

use std::process::Command;

use crate::support::{HamnUp, TempDir, repo};

#[test]
fn a_print_from_the_demo_app_reaches_the_browser_as_a_pdf() {
    let up = HamnUp::start(&[]);
    let scratch = TempDir::new("print");
    let pdf = scratch.0.join("utskrift.pdf");
    let shot = scratch.0.join("print.png");
    let url = format!("https://localhost:{}/", up.ports.gateway);
    let output = Command::new("node")
        .arg(repo().join("tests/browser/print.mjs"))
        .arg(&url)
        .arg(&pdf)
        .arg(&shot)
        .current_dir(repo().join("tests"))
        .output()
        .expect("run node (./scripts/test installs it)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "printing in Chromium: {stdout}{}\n{}",
        String::from_utf8_lossy(&output.stderr),
        up.logs()
    );
    eprintln!("{stdout}");
    let text = Command::new("pdftotext")
        .arg(&pdf)
        .arg("-")
        .output()
        .expect("run pdftotext (poppler-utils)");
    assert!(
        text.status.success(),
        "pdftotext failed on the downloaded PDF"
    );
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("Åsa Öberg"),
        "the PDF does not name the selected client:\n{text}"
    );
    if let Ok(dir) = std::env::var("HAMN_E2E_KEEP_SCREENSHOTS") {
        let _ = std::fs::copy(&shot, std::path::Path::new(&dir).join("print.png"));
    }
}
