//! The printed page read back by real tools: `pdftotext` and `pdfinfo` (poppler-utils) for
//! the PDF, Ghostscript's `ps2pdf` then `pdftotext` for the PostScript.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{Format, client_record};
use crate::app::demo_clients;

/// A file in the temp directory, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str) -> Self {
        Self(std::env::temp_dir().join(format!("hamn-demo-host-{}-{name}", std::process::id())))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn run(program: &str, args: &[&Path]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} (poppler-utils / ghostscript): {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{program} failed: {stderr}");
    // Poppler reports broken structure (bad xref offsets, syntax errors) on stderr only.
    if program.starts_with("pdf") {
        assert!(stderr.is_empty(), "{program} complained: {stderr}");
    }
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn pdftotext(pdf: &Path) -> String {
    run("pdftotext", &[pdf, Path::new("-")])
}

fn assert_record_text(text: &str) {
    for expected in [
        "Procapita – Klientregister",
        "Personnummer",
        "19400312-2385",
        "Namn",
        "Åsa Öberg",
        "Ärende",
        "Ansökan om hemtjänst",
        "Insats",
        "Hemtjänst",
        "Utskriven 2026-12-07 20:25 UTC från Procapita",
        "Beslutet följs upp inom sex månader",
        "Sida 1 av 1",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from:\n{text}");
    }
}

#[test]
fn the_pdf_reads_back_with_swedish_letters() {
    let page = client_record(&demo_clients()[0], "2026-12-07 20:25 UTC");
    let pdf = TempFile::new("record.pdf");
    std::fs::write(&pdf.0, page.render(Format::Pdf)).unwrap();
    assert_record_text(&pdftotext(&pdf.0));
    let info = run("pdfinfo", &[&pdf.0]);
    let field = |name: &str| {
        info.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
            .map(str::trim)
            .unwrap_or_else(|| panic!("no {name} in:\n{info}"))
    };
    assert_eq!(field("Pages"), "1");
    assert_eq!(field("Title"), "Procapita – Klientregister: Åsa Öberg");
    assert_eq!(field("Page size"), "595 x 842 pts (A4)");
}

#[test]
fn the_postscript_converts_to_the_same_text() {
    let page = client_record(&demo_clients()[0], "2026-12-07 20:25 UTC");
    let ps = TempFile::new("record.ps");
    let pdf = TempFile::new("record-from-ps.pdf");
    std::fs::write(&ps.0, page.render(Format::PostScript)).unwrap();
    run("ps2pdf", &[&ps.0, &pdf.0]);
    assert_record_text(&pdftotext(&pdf.0));
}
