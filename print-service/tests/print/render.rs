//! Rendering against real peers: poppler's `pdftotext`, `pdfinfo` and `pdftoppm` read
//! what we write, Ghostscript converts PostScript, and the fixtures come from real
//! producers (Ghostscript's pwgraster and pdfwrite devices, ImageMagick's JPEG writer).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use hamn_print::render::pwg::PwgReader;
use hamn_print::render::{
    DocumentFormat, GhostscriptOptions, RenderError, RenderOptions, RenderSummary, TextCharset,
    render,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn tool(program: &str, args: &[&str]) -> Vec<u8> {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} (Debian poppler-utils / ghostscript): {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

fn text_of(pdf: &Path, page: Option<u32>) -> String {
    let path = pdf.to_str().expect("utf-8 path");
    let mut args = vec!["-enc", "UTF-8"];
    let page = page.map(|p| p.to_string());
    if let Some(page) = &page {
        args.extend(["-f", page, "-l", page]);
    }
    args.extend([path, "-"]);
    String::from_utf8(tool("pdftotext", &args)).expect("pdftotext gives UTF-8")
}

fn info(pdf: &Path) -> String {
    String::from_utf8_lossy(&tool("pdfinfo", &[pdf.to_str().expect("utf-8 path")])).into_owned()
}

fn info_field(info: &str, field: &str) -> String {
    info.lines()
        .find_map(|line| {
            line.strip_prefix(field)
                .map(|rest| rest.trim_start_matches(':').trim().to_owned())
        })
        .unwrap_or_else(|| panic!("no {field} in {info}"))
}

struct Job {
    dir: tempfile::TempDir,
}

impl Job {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn output(&self) -> PathBuf {
        self.dir.path().join("out.pdf")
    }

    fn input_bytes(&self, bytes: &[u8]) -> PathBuf {
        let path = self.dir.path().join("job.in");
        std::fs::write(&path, bytes).expect("write job");
        path
    }

    async fn run(
        &self,
        format: DocumentFormat,
        input: &Path,
        options: &RenderOptions,
    ) -> Result<RenderSummary, RenderError> {
        render(format, input, &self.output(), options).await
    }

    /// A refusal: its code, and nothing left at the output path.
    async fn refused(
        &self,
        format: DocumentFormat,
        input: &Path,
        options: &RenderOptions,
    ) -> &'static str {
        let result = self.run(format, input, options).await;
        assert!(
            !self.output().exists(),
            "a refused job left {}",
            self.output().display()
        );
        match result {
            Ok(summary) => panic!("expected a refusal, got {summary:?}"),
            Err(error) => error.code(),
        }
    }
}

/// Netpbm (P4, P5, P6) pixels from pdftoppm: width, height and the raster rows.
fn netpbm(bytes: &[u8]) -> (usize, usize, Vec<u8>) {
    let mut fields = Vec::new();
    let mut at = 0;
    let wanted = if &bytes[..2] == b"P4" { 3 } else { 4 };
    while fields.len() < wanted {
        while bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while !bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        fields.push(String::from_utf8_lossy(&bytes[start..at]).into_owned());
    }
    at += 1;
    let width = fields[1].parse().expect("width");
    let height = fields[2].parse().expect("height");
    (width, height, bytes[at..].to_vec())
}

#[tokio::test]
async fn a_cp1252_report_becomes_landscape_pages_whose_text_extracts() {
    let job = Job::new();
    let summary = job
        .run(
            DocumentFormat::Text,
            &fixture("report-132-cp1252.txt"),
            &RenderOptions::default(),
        )
        .await
        .expect("renders");
    assert_eq!(summary.pages, 3);
    let info = info(&job.output());
    assert_eq!(info_field(&info, "Pages"), "3");
    assert!(
        info_field(&info, "Page size").starts_with("841.89 x 595.276"),
        "{info}"
    );
    let first = text_of(&job.output(), Some(1));
    assert!(first.contains("Åsa Öberg"), "{first}");
    assert!(first.contains("Märta Ängström"), "{first}");
    assert!(first.contains("Gävle/Växjö"), "{first}");
    assert!(first.contains("€"), "{first}");
    // The 132-column rule is one line, not wrapped.
    assert!(first.lines().any(|line| line == "=".repeat(132)), "{first}");
    let second = text_of(&job.output(), Some(2));
    assert!(
        second.contains("Fortsättning") && second.contains("Sida 2"),
        "{second}"
    );
    let last = text_of(&job.output(), Some(3));
    assert!(
        last.contains("Slutsida: räksmörgås ÅÄÖ åäö € — klart"),
        "{last}"
    );
    // Fonts are embedded (pdffonts: "emb yes").
    let fonts = String::from_utf8_lossy(&tool("pdffonts", &[job.output().to_str().expect("path")]))
        .into_owned();
    assert!(
        fonts.contains("DejaVuSansMono") && fonts.contains("yes yes yes"),
        "{fonts}"
    );
}

#[tokio::test]
async fn a_utf8_letter_is_portrait_with_a_page_per_form_feed() {
    let job = Job::new();
    let summary = job
        .run(
            DocumentFormat::Text,
            &fixture("letter-utf8.txt"),
            &RenderOptions::default(),
        )
        .await
        .expect("renders");
    assert_eq!(summary.pages, 2);
    let info = info(&job.output());
    assert!(
        info_field(&info, "Page size").starts_with("595.276 x 841.89"),
        "{info}"
    );
    let text = text_of(&job.output(), None);
    assert!(text.contains("Å Ä Ö å ä ö € é"), "{text}");
    assert!(text.contains("andra sidan: räksmörgås"), "{text}");
}

#[tokio::test]
async fn an_explicit_charset_is_honoured() {
    let job = Job::new();
    // "Ã¥" when read as CP1252, though the bytes are valid UTF-8 for "å".
    let input = job.input_bytes("å".as_bytes());
    let options = RenderOptions {
        text_charset: Some(TextCharset::Cp1252),
        ..RenderOptions::default()
    };
    job.run(DocumentFormat::Text, &input, &options)
        .await
        .expect("renders");
    assert!(text_of(&job.output(), None).contains("Ã¥"));
    let binary = job.input_bytes(b"\x00\x01\x02PK");
    assert_eq!(
        job.refused(DocumentFormat::Text, &binary, &options).await,
        "malformed_text"
    );
}

/// How many samples (bits of 1-bit rows, padding excluded; bytes otherwise) of netpbm
/// rows differ from the decoded PWG lines.
fn differing(width: usize, bits: usize, got: &[u8], want: &[u8]) -> usize {
    assert_eq!(got.len(), want.len(), "pixel data sizes");
    if bits != 1 {
        return got.iter().zip(want).filter(|(a, b)| a != b).count();
    }
    let line = width.div_ceil(8);
    got.chunks(line)
        .zip(want.chunks(line))
        .map(|(g, w)| {
            (0..width)
                .filter(|x| (g[x / 8] ^ w[x / 8]) & (0x80 >> (x % 8)) != 0)
                .count()
        })
        .sum()
}

/// Renders a PWG fixture. Poppler's `pdfimages` must extract each page's image bit for
/// bit as the decoded input (lossless, same depth), and `pdftoppm` must draw each page at
/// the raster's resolution at the same pixel size and with the same picture (Splash's
/// image scaler moves some edges by a pixel even at 1:1, so 90 % identical: an inverted,
/// misplaced or rescaled page is far from that).
async fn raster_round_trip(name: &str, pdftoppm_mode: &str) {
    let job = Job::new();
    let input = fixture(name);
    let summary = job
        .run(DocumentFormat::PwgRaster, &input, &RenderOptions::default())
        .await
        .expect("renders");
    let data = std::fs::read(&input).expect("fixture");
    let mut reader = PwgReader::new(&data).expect("sync");
    let mut page = 0;
    let out = job.output();
    let out = out.to_str().expect("path");
    while let Some(header) = reader.next_header().expect("header") {
        page += 1;
        let mut expected = Vec::new();
        reader
            .decode_page(&header, |line| {
                expected.extend_from_slice(line);
                Ok(())
            })
            .expect("decodes");
        let bits = header.bits_per_pixel as usize;
        let page_arg = page.to_string();
        let prefix = job.dir.path().join(format!("image{page}"));
        tool(
            "pdfimages",
            &[
                "-f",
                &page_arg,
                "-l",
                &page_arg,
                out,
                prefix.to_str().expect("path"),
            ],
        );
        let extracted = std::fs::read_dir(job.dir.path())
            .expect("dir")
            .filter_map(Result::ok)
            .find(|entry| {
                entry
                    .file_name()
                    .to_string_lossy()
                    .starts_with(&format!("image{page}-"))
            })
            .expect("pdfimages wrote the page's image");
        let (width, height, mut pixels) = netpbm(&std::fs::read(extracted.path()).expect("image"));
        if bits == 8 && pixels.len() == 3 * expected.len() {
            // pdfimages writes 8-bit grey as PPM: grey means R = G = B.
            assert!(
                pixels.chunks(3).all(|p| p[0] == p[1] && p[1] == p[2]),
                "{name}: not grey"
            );
            pixels = pixels.chunks(3).map(|p| p[0]).collect();
        }
        assert_eq!(
            (width as u32, height as u32),
            (header.width, header.height),
            "{name} page {page}"
        );
        assert_eq!(
            differing(width, bits, &pixels, &expected),
            0,
            "{name} page {page}: image not lossless"
        );

        let dpi = header.resolution.0.to_string();
        let mut args = vec!["-r", &dpi, "-f", &page_arg, "-l", &page_arg, "-singlefile"];
        if !pdftoppm_mode.is_empty() {
            args.push(pdftoppm_mode);
        }
        args.push(out);
        let (width, height, pixels) = netpbm(&tool("pdftoppm", &args));
        assert_eq!(
            (width as u32, height as u32),
            (header.width, header.height),
            "{name} page {page}"
        );
        let off = differing(width, bits, &pixels, &expected);
        let samples = expected.len() * if bits == 1 { 8 } else { 1 };
        assert!(
            off * 10 <= samples,
            "{name} page {page}: {off} of {samples} samples differ"
        );
    }
    assert_eq!(summary.pages, page);
}

#[tokio::test]
async fn grey_raster_pages_are_lossless() {
    raster_round_trip("gs-gray8.pwg", "-gray").await;
}

#[tokio::test]
async fn bilevel_raster_pages_are_lossless() {
    raster_round_trip("gs-black1.pwg", "-mono").await;
}

#[tokio::test]
async fn colour_raster_pages_are_lossless() {
    raster_round_trip("gs-srgb8.pwg", "").await;
}

#[tokio::test]
async fn raster_bounds_and_breakage_are_refused() {
    let job = Job::new();
    let input = fixture("gs-gray8.pwg");
    let few_pages = RenderOptions {
        max_pages: 1,
        ..RenderOptions::default()
    };
    assert_eq!(
        job.refused(DocumentFormat::PwgRaster, &input, &few_pages)
            .await,
        "too_many_pages"
    );
    let small = RenderOptions {
        max_output_bytes: 2_000,
        ..RenderOptions::default()
    };
    assert_eq!(
        job.refused(DocumentFormat::PwgRaster, &input, &small).await,
        "too_large"
    );
    let data = std::fs::read(&input).expect("fixture");
    let truncated = job.input_bytes(&data[..data.len() / 2]);
    assert_eq!(
        job.refused(
            DocumentFormat::PwgRaster,
            &truncated,
            &RenderOptions::default()
        )
        .await,
        "malformed_raster"
    );
}

#[tokio::test]
async fn a_jpeg_keeps_its_density_and_its_pixels() {
    let job = Job::new();
    let input = fixture("photo-120dpi.jpg");
    job.run(DocumentFormat::Jpeg, &input, &RenderOptions::default())
        .await
        .expect("renders");
    let info = info(&job.output());
    // 240 × 160 pixels at 120 dpi: 2 × 1.333 inches.
    assert!(
        info_field(&info, "Page size").starts_with("144 x 96"),
        "{info}"
    );
    // Embedded as it is: the JPEG's bytes are in the PDF.
    let pdf = std::fs::read(job.output()).expect("output");
    let jpeg = std::fs::read(&input).expect("fixture");
    assert!(
        pdf.windows(jpeg.len()).any(|w| w == jpeg),
        "JPEG re-encoded"
    );
    let out = job.output();
    let (width, height, pixels) = netpbm(&tool(
        "pdftoppm",
        &["-r", "120", "-singlefile", out.to_str().expect("path")],
    ));
    assert_eq!((width, height), (240, 160));
    let (_, _, reference) = netpbm(&tool("convert", &[input.to_str().expect("path"), "ppm:-"]));
    assert_eq!(pixels.len(), reference.len());
    // Two JPEG decoders may round differently; the picture must be the same.
    let worst = pixels
        .iter()
        .zip(&reference)
        .map(|(a, b)| a.abs_diff(*b))
        .max()
        .unwrap_or(0);
    assert!(worst <= 8, "largest difference {worst}");
}

#[tokio::test]
async fn a_jpeg_without_density_is_fitted_on_a4() {
    let job = Job::new();
    job.run(
        DocumentFormat::Jpeg,
        &fixture("photo-no-density.jpg"),
        &RenderOptions::default(),
    )
    .await
    .expect("renders");
    assert!(info_field(&info(&job.output()), "Page size").starts_with("595.276 x 841.89"));
    let data = std::fs::read(fixture("photo-no-density.jpg")).expect("fixture");
    let truncated = job.input_bytes(&data[..data.len() - 100]);
    assert_eq!(
        job.refused(DocumentFormat::Jpeg, &truncated, &RenderOptions::default())
            .await,
        "malformed_jpeg"
    );
}

/// A fuzz finding (print-service/fuzz `jpeg`): JPEG data that holds the bytes `endstream`.
/// Its PDF gives the image's /Length indirectly, as ours do; the checker used to end the
/// stream at the word inside the data and refuse the PDF when it came back as a print.
#[tokio::test]
async fn a_jpeg_holding_the_word_endstream_renders_and_its_pdf_passes_the_check() {
    let job = Job::new();
    job.run(
        DocumentFormat::Jpeg,
        &fixture("endstream-in-data.jpg"),
        &RenderOptions::default(),
    )
    .await
    .expect("renders");
    let pdf = job.input_bytes(&std::fs::read(job.output()).expect("rendered PDF"));
    let summary = job
        .run(DocumentFormat::Pdf, &pdf, &RenderOptions::default())
        .await
        .expect("our own PDF passes the received-PDF check");
    assert_eq!(summary.pages, 1);
}

#[tokio::test]
async fn received_pdfs_pass_through_checked() {
    let job = Job::new();
    for (name, pages) in [("two-pages.pdf", 2), ("xref-stream.pdf", 3)] {
        let input = fixture(name);
        let summary = job
            .run(DocumentFormat::Pdf, &input, &RenderOptions::default())
            .await
            .expect(name);
        assert_eq!(summary.pages, pages, "{name}");
        assert_eq!(
            std::fs::read(job.output()).ok(),
            std::fs::read(&input).ok(),
            "{name}"
        );
    }
}

#[tokio::test]
async fn broken_encrypted_and_oversized_pdfs_are_refused() {
    let job = Job::new();
    let defaults = RenderOptions::default();
    assert_eq!(
        job.refused(DocumentFormat::Pdf, &fixture("encrypted.pdf"), &defaults)
            .await,
        "malformed_pdf"
    );
    let data = std::fs::read(fixture("two-pages.pdf")).expect("fixture");
    let truncated = job.input_bytes(&data[..data.len() - 200]);
    assert_eq!(
        job.refused(DocumentFormat::Pdf, &truncated, &defaults)
            .await,
        "malformed_pdf"
    );
    let not_pdf = job.input_bytes(b"%!PS-Adobe-3.0\nshowpage\n");
    assert_eq!(
        job.refused(DocumentFormat::Pdf, &not_pdf, &defaults).await,
        "malformed_pdf"
    );
    let two = RenderOptions {
        max_pages: 2,
        ..RenderOptions::default()
    };
    assert_eq!(
        job.refused(DocumentFormat::Pdf, &fixture("xref-stream.pdf"), &two)
            .await,
        "too_many_pages"
    );
    let small = RenderOptions {
        max_output_bytes: 1_000,
        ..RenderOptions::default()
    };
    assert_eq!(
        job.refused(DocumentFormat::Pdf, &fixture("two-pages.pdf"), &small)
            .await,
        "too_large"
    );
}

fn ghostscript(timeout: Duration) -> RenderOptions {
    RenderOptions {
        ghostscript: Some(GhostscriptOptions {
            program: PathBuf::from("gs"),
            timeout,
            memory_limit_bytes: 1 << 30,
        }),
        ..RenderOptions::default()
    }
}

#[tokio::test]
async fn postscript_goes_through_ghostscript() {
    let job = Job::new();
    let summary = job
        .run(
            DocumentFormat::PostScript,
            &fixture("two-pages.ps"),
            &ghostscript(Duration::from_secs(60)),
        )
        .await
        .expect("converts");
    assert_eq!(summary.pages, 2);
    let text = text_of(&job.output(), None);
    assert!(
        text.contains("Hamn PostScript page one") && text.contains("Hamn PostScript page two"),
        "{text}"
    );
    assert_eq!(
        std::fs::read_dir(job.dir.path()).expect("dir").count(),
        1,
        "scratch file left"
    );
}

#[tokio::test]
async fn postscript_faults_are_refused_with_their_reason() {
    let job = Job::new();
    let ps = fixture("two-pages.ps");
    assert_eq!(
        job.refused(DocumentFormat::PostScript, &ps, &RenderOptions::default())
            .await,
        "postscript_unavailable"
    );
    let mut missing = ghostscript(Duration::from_secs(60));
    if let Some(gs) = missing.ghostscript.as_mut() {
        gs.program = PathBuf::from("/nonexistent/gs");
    }
    assert_eq!(
        job.refused(DocumentFormat::PostScript, &ps, &missing).await,
        "postscript_unavailable"
    );
    let quick = ghostscript(Duration::from_secs(2));
    assert_eq!(
        job.refused(DocumentFormat::PostScript, &fixture("loop.ps"), &quick)
            .await,
        "render_timeout"
    );
    let generous = ghostscript(Duration::from_secs(60));
    assert_eq!(
        job.refused(DocumentFormat::PostScript, &fixture("broken.ps"), &generous)
            .await,
        "postscript_failed"
    );
    let mut starved = ghostscript(Duration::from_secs(60));
    if let Some(gs) = starved.ghostscript.as_mut() {
        gs.memory_limit_bytes = 8 << 20;
    }
    assert_eq!(
        job.refused(DocumentFormat::PostScript, &ps, &starved).await,
        "postscript_failed"
    );
    assert_eq!(
        std::fs::read_dir(job.dir.path()).expect("dir").count(),
        0,
        "files left behind"
    );
}
