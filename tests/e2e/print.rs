//! Printing from a browser session end to end: `hamn up` (gateway, broker, print service,
//! demo host), headless Chromium logs in as "demo", opens Procapita and presses the demo
//! app's "Skriv ut". The demo host prints the selected client through the gateway's
//! redirected RDP printer ("Hamn PDF"), the gateway streams the job to the print service
//! as an IPP Print-Job, and the viewer shows "Utskrift klar — Öppna PDF"; the PDF opens in
//! a new tab and downloads, and `pdftotext` finds the client's name with å ä ö in it.
//! `HAMN_E2E_KEEP_SCREENSHOTS=DIR` keeps `print.png`.

use std::process::Command;

use crate::metrics::scrape;
use crate::support::{HamnUp, TempDir, browser_script};

#[test]
fn a_print_from_the_demo_app_reaches_the_browser_as_a_pdf() {
    let up = HamnUp::start(&[]);
    let scratch = TempDir::new("print");
    let pdf = scratch.0.join("utskrift.pdf");
    let shot = scratch.0.join("print.png");
    let url = format!("https://localhost:{}/", up.ports.gateway);
    let stdout = browser_script(
        "printing",
        "print.mjs",
        &[
            std::ffi::OsStr::new(&url),
            pdf.as_os_str(),
            shot.as_os_str(),
        ],
        Some(&up),
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
    print_jobs_counted(&up, "ready");
}

/// A print service whose job bound the demo app's PDF (about 2 KB) exceeds: it refuses the
/// job as too large while it arrives, the write on the host fails, the viewer shows that one
/// refusal (no second word from the gateway), and the session goes on.
#[test]
fn a_job_over_the_print_bound_is_refused_once_and_the_session_goes_on() {
    let up = HamnUp::start(&[("HAMN_PRINT__MAX_JOB_BYTES", "1024".to_owned())]);
    let scratch = TempDir::new("print-bound");
    let pdf = scratch.0.join("never.pdf");
    let url = format!("https://localhost:{}/", up.ports.gateway);
    let stdout = browser_script(
        "a refused print",
        "print.mjs",
        &[
            std::ffi::OsStr::new(&url),
            pdf.as_os_str(),
            "".as_ref(),
            "refused".as_ref(),
        ],
        Some(&up),
    );
    eprintln!("{stdout}");
    assert!(!pdf.exists(), "no PDF for a refused job");
    let result: serde_json::Value = stdout
        .lines()
        .find_map(|l| l.strip_prefix("result "))
        .and_then(|json| serde_json::from_str(json).ok())
        .expect("a result line");
    assert_eq!(result["last"]["reason"], "job_too_large", "{result}");
    print_jobs_counted(&up, "refused");
}

/// `hamn up`'s `/metrics` counted the one job the test printed, with its outcome.
fn print_jobs_counted(up: &HamnUp, outcome: &str) {
    let scrape = scrape(&up.certs().join("ca.crt"), up.ports.metrics);
    assert_eq!(
        scrape.sum("hamn_print_jobs_total", &[("outcome", outcome)]),
        1.0,
        "{:?}",
        scrape.samples
    );
    assert_eq!(scrape.sum("hamn_print_jobs_total", &[]), 1.0);
}
