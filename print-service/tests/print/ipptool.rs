//! ipptool (CUPS' IPP conformance tool) against the endpoint over ipps on loopback: our
//! own walk through every operation (`ipp/hamn.test`), CUPS' IPP/1.1, IPP/2.0 and IPP
//! Everywhere suites as far as they apply (see docs/printing.md, "Conformance"), and the
//! refusals around the token: an unknown token is a bare 404, and one whose session ended
//! ten minutes ago is the same.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use hamn_broker::model::{PrintJobState, SessionState};
use hamn_broker::repo;
use time::OffsetDateTime;

use crate::support::{Backend, Service, pdftotext, text_document};

fn here() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/print/ipp")
}

/// Runs ipptool on `uri` with test files, a document, and `-V version`.
async fn ipptool(uri: &str, document: &Path, version: &str, tests: &[PathBuf]) -> Output {
    let mut cmd = tokio::process::Command::new("ipptool");
    cmd.args(["-t", "-V", version, "-T", "30", "-f"])
        .arg(document)
        .arg(uri)
        .args(tests)
        .current_dir(here())
        // ipptool keeps trust-on-first-use credentials under $HOME/.cups.
        .env("HOME", document.parent().unwrap_or(Path::new("/tmp")))
        .kill_on_drop(true);
    // A peer that hangs fails the test instead of hanging it.
    tokio::time::timeout(Duration::from_secs(300), cmd.output())
        .await
        .expect("ipptool finishes")
        .expect("ipptool (cups-ipp-utils) runs")
}

fn report(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn journal(s: &Service) -> PathBuf {
    let path = s.dir.path().join("journal.txt");
    std::fs::write(&path, text_document(2)).expect("document");
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_through_ipptool() {
    let s = Service::start(Backend::Sqlite).await;
    let document = journal(&s);
    let out = ipptool(
        &s.printer_uri(),
        &document,
        "2.0",
        &[here().join("hamn.test")],
    )
    .await;
    assert!(out.status.success(), "{}", report(&out));

    let jobs = s.jobs().await;
    let states: Vec<_> = jobs.iter().map(|j| j.state).collect();
    assert_eq!(
        states,
        [
            PrintJobState::Refused,
            PrintJobState::Cancelled,
            PrintJobState::Ready,
            PrintJobState::Ready
        ]
    );
    assert!(jobs.iter().all(|j| j.user_id == s.ids.user));
    assert_eq!(jobs[3].requesting_user.as_deref(), Some("mallory"));
    let text = pdftotext(&s.pdf_path(&jobs[3]));
    assert!(
        text.contains("Åsa Öberg") && text.contains("å ä ö"),
        "{text}"
    );
    s.finish().await;
}

/// `pdfimages -list` of a PDF: per image its page, width, height, colour, bits per
/// component and encoding.
fn pdf_images(path: &Path) -> Vec<(u32, u32, u32, String, u32, String)> {
    let out = std::process::Command::new("pdfimages")
        .arg("-list")
        .arg(path)
        .output()
        .expect("pdfimages (poppler-utils) runs");
    assert!(out.status.success(), "pdfimages: {}", report(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(2)
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let n = |i: usize| f[i].parse::<u32>().expect("number");
            (n(0), n(3), n(4), f[5].to_owned(), n(7), f[8].to_owned())
        })
        .collect()
}

/// A host's IPP Everywhere driver sends raster and photos: a PWG raster page (Ghostscript's
/// pwgraster output, 8-bit grey, two pages) becomes PDF pages holding the raster at its own size and
/// depth, losslessly compressed; a JPEG keeps its bytes (DCT) and size; poppler draws both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raster_and_photo_jobs_through_ipptool_become_pdf_pages() {
    let s = Service::start(Backend::Sqlite).await;
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let raster = fixtures.join("gs-gray8.pwg");
    let photo = fixtures.join("photo-120dpi.jpg");
    let mut cmd = tokio::process::Command::new("ipptool");
    cmd.args(["-t", "-V", "2.0", "-T", "30", "-d"])
        .arg(format!("raster={}", raster.display()))
        .arg("-d")
        .arg(format!("photo={}", photo.display()))
        .arg(s.printer_uri())
        .arg(here().join("images.test"))
        .current_dir(here())
        .env("HOME", s.dir.path())
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(300), cmd.output())
        .await
        .expect("ipptool finishes")
        .expect("ipptool (cups-ipp-utils) runs");
    assert!(out.status.success(), "{}", report(&out));

    let jobs = s.jobs().await;
    assert_eq!(jobs.len(), 2, "{jobs:?}");
    assert!(jobs.iter().all(|j| j.state == PrintJobState::Ready));
    let by_name = |name: &str| {
        jobs.iter()
            .find(|j| j.title == name)
            .unwrap_or_else(|| panic!("job {name} in {jobs:?}"))
    };
    let header = {
        let data = std::fs::read(&raster).expect("fixture");
        let mut reader = hamn_print::render::pwg::PwgReader::new(&data).expect("sync");
        reader.next_header().expect("header").expect("a page")
    };
    let raster_pdf = s.pdf_path(by_name("Rasterutskrift"));
    let images = pdf_images(&raster_pdf);
    let pages = crate::support::pdf_pages(&raster_pdf);
    assert!(pages >= 1 && images.len() == pages as usize, "{images:?}");
    for (n, (page, width, height, colour, bpc, _)) in images.iter().enumerate() {
        assert_eq!(
            (*page as usize, *width, *height, colour.as_str(), *bpc),
            (n + 1, header.width, header.height, "gray", 8),
            "each raster page keeps its size and depth"
        );
    }
    let photo_pdf = s.pdf_path(by_name("Foto"));
    let images = pdf_images(&photo_pdf);
    assert_eq!(images.len(), 1, "{images:?}");
    let (_, width, height, _, _, encoding) = &images[0];
    assert_eq!((*width, *height, encoding.as_str()), (240, 160, "jpeg"));
    assert_eq!(crate::support::pdf_pages(&photo_pdf), 1);
    for pdf in [&raster_pdf, &photo_pdf] {
        let prefix = s.dir.path().join("drawn");
        let out = std::process::Command::new("pdftoppm")
            .args(["-r", "20", "-png", "-singlefile"])
            .arg(pdf)
            .arg(&prefix)
            .output()
            .expect("pdftoppm (poppler-utils) runs");
        assert!(out.status.success(), "pdftoppm: {}", report(&out));
        let png = prefix.with_extension("png");
        assert!(
            std::fs::metadata(&png)
                .map(|m| m.len() > 100)
                .unwrap_or(false)
        );
        std::fs::remove_file(&png).expect("remove");
    }
    s.finish().await;
}

/// CUPS' conformance suites, stock: ipp-everywhere.test includes ipp-2.0.test, which
/// includes ipp-1.1.test. The only failures allowed are the checks that cannot apply to
/// a PDF printer without hardware (docs/printing.md lists them, and why).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cups_conformance_suites() {
    let s = Service::start(Backend::Sqlite).await;
    let document = journal(&s);
    let suite = PathBuf::from("/usr/share/cups/ipptool/ipp-everywhere.test");
    let out = ipptool(&s.printer_uri(), &document, "2.0", &[suite]).await;
    let text = report(&out);
    let failed: Vec<&str> = text
        .lines()
        .filter(|l| l.trim_end().ends_with("[FAIL]"))
        .collect();
    let inapplicable = ["PWG 5100.14 section 5.1/5.2 - Required Operations and Attributes"];
    let unexpected: Vec<&&str> = failed
        .iter()
        .filter(|l| !inapplicable.iter().any(|name| l.contains(name)))
        .collect();
    assert!(unexpected.is_empty(), "{text}");
    // Inside the one allowed test, only the supply checks may fail.
    let reasons: Vec<&str> = text
        .lines()
        .filter(|l| l.trim_start().starts_with("EXPECTED:"))
        .collect();
    assert!(
        reasons.iter().all(|l| l.contains("printer-supply")),
        "{text}"
    );
    for must_pass in [
        "RFC 8011 section 4.1.4: No Operation Attributes",
        "RFC 8011 section 4.1.8: Unsupported IPP version 0.0",
        "RFC 8011 section 4.2.1: Print-Job Operation",
        "RFC 8011 section 4.3.1: Send-Document Operation",
        "Send-Document missing last-document: Send-Document Operation",
        "Get-Job-Attributes Until Job Complete",
        "PWG 5100.12 section 6.2 - Required Printer Description Attributes",
    ] {
        assert!(
            text.lines()
                .any(|l| l.contains(must_pass) && l.trim_end().ends_with("[PASS]")),
            "{must_pass}:\n{text}"
        );
    }
    s.finish().await;
}

/// A POST with a well-formed IPP body to `path`, by curl over TLS with the dev CA: the
/// HTTP status.
async fn post_status(s: &Service, path: &str) -> String {
    let body = s.dir.path().join("request.ipp");
    let mut b = vec![2, 0, 0, 0x0B, 0, 0, 0, 1, 1];
    for (tag, name, value) in [
        (0x47u8, "attributes-charset", "utf-8"),
        (0x48, "attributes-natural-language", "en"),
        (0x45, "printer-uri", "ipps://127.0.0.1/ipp/print/x"),
    ] {
        b.push(tag);
        b.extend((name.len() as u16).to_be_bytes());
        b.extend(name.as_bytes());
        b.extend((value.len() as u16).to_be_bytes());
        b.extend(value.as_bytes());
    }
    b.push(3);
    std::fs::write(&body, b).expect("request");
    let out = tokio::process::Command::new("curl")
        // IPP clients (CUPS, Windows) speak HTTP/1.1.
        .args([
            "-sS",
            "--http1.1",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--cacert",
        ])
        .arg(&s.ca)
        .args(["-H", "Content-Type: application/ipp", "--data-binary"])
        .arg(format!("@{}", body.display()))
        .arg(format!("https://127.0.0.1:{}{path}", s.addr.port()))
        .output()
        .await
        .expect("curl runs");
    let code = String::from_utf8_lossy(&out.stdout).into_owned();
    if code == "000" {
        return format!("no answer: {}", String::from_utf8_lossy(&out.stderr));
    }
    code
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_and_expired_tokens_are_not_found() {
    let s = Service::start(Backend::Sqlite).await;
    assert_eq!(
        post_status(&s, &format!("/ipp/print/{}", s.token)).await,
        "200"
    );
    let unknown = "A".repeat(s.token.len());
    assert_eq!(
        post_status(&s, &format!("/ipp/print/{unknown}")).await,
        "404"
    );
    assert_eq!(post_status(&s, "/ipp/print/short").await, "404");
    // The session ended eleven minutes ago: the token no longer works.
    let mut conn = s.db.acquire().await.expect("conn");
    let ended = OffsetDateTime::now_utc() - Duration::from_secs(11 * 60);
    repo::sessions::set_state(&mut conn, s.session_id, SessionState::Ended, ended)
        .await
        .expect("end");
    drop(conn);
    assert_eq!(
        post_status(&s, &format!("/ipp/print/{}", s.token)).await,
        "404"
    );
    s.finish().await;
}
