//! Print rendering throughput: text jobs typeset to PDF pages, and A4 300-dpi PWG raster
//! pages (bi-level, 8-bit grey, 24-bit colour) made into lossless PDF pages, through
//! `hamn_print::render::convert` (the sans-IO converter `render` runs on the blocking
//! pool; file I/O is left out).
//!
//! Baselines, measured in the same run on the same bytes: for text, Flate (level 6, the
//! level our content streams use) of the job's text; for raster, Flate (level 1, the level
//! our image streams use) of the page's decoded pixels. The ratio says what typesetting
//! or PWG decoding plus PDF structure cost on top of the compression a PDF needs anyway.
//! printpdf is not in the baseline: it is not a dependency (heavy to build); the issue's
//! figures for it on this machine were ~220–300 text pages/s and 0.7 colour raster
//! pages/s (lossless Flate).
//!
//! Measured on the 2-core dev machine with other helpers' builds running (so ±20 %; a
//! ratio under 1 is that noise): text 1,347 pages/s (aim ≥ 50: PASS; 15.8× the Flate
//! baseline, i.e. the layout and glyph lookup cost more than compressing the text);
//! raster bi-level 36.4, grey 7.4, colour 5.7 pages/s at 0.92×, 1.48× and 1.22× the
//! Flate of the pixels alone, so decoding and PDF structure add little to the
//! compression any lossless page needs. The synthetic pages' ink is noise-like, a worst
//! case for compression (1.2–1.3 MB per grey or colour page; real text pages are smaller).
//!
//! Run: `cargo bench -p hamn-bench --bench print_render`.

use std::io::Write;
use std::time::{Duration, Instant};

use flate2::Compression;
use flate2::write::ZlibEncoder;
use hamn_print::render::convert::convert;
use hamn_print::render::pwg::{PixelFormat, encode};
use hamn_print::render::{DocumentFormat, RenderOptions};

const TEXT_PAGES: usize = 200;
const RASTER_PAGES: usize = 4;
const A4_300DPI: (u32, u32) = (2480, 3508);
const AIM_TEXT_PAGES_PER_S: f64 = 50.0;

fn main() -> anyhow::Result<()> {
    let options = RenderOptions::default();
    println!("| job | pages/s | MB/s in | PDF bytes/page | baseline | ratio (time vs baseline) |");
    println!("|---|---|---|---|---|---|");

    let text = text_job(TEXT_PAGES);
    let (elapsed, pdf_len) = best_of(3, || {
        let mut out = Vec::new();
        convert(DocumentFormat::Text, text.as_bytes(), &options, &mut out)?;
        Ok(out.len())
    })?;
    let baseline = best_of(3, || flate(text.as_bytes(), 6))?.0;
    let pages_per_s = TEXT_PAGES as f64 / elapsed.as_secs_f64();
    row(
        "text, 80 × 66, UTF-8 Swedish",
        TEXT_PAGES,
        text.len(),
        elapsed,
        pdf_len,
        "Flate-6 of the text",
        baseline,
    );
    println!();
    println!(
        "text aim (≥ {AIM_TEXT_PAGES_PER_S} pages/s): {} ({pages_per_s:.0} pages/s)",
        if pages_per_s >= AIM_TEXT_PAGES_PER_S {
            "PASS"
        } else {
            "MISS"
        }
    );
    println!();
    println!("| job | pages/s | MB/s in | PDF bytes/page | baseline | ratio (time vs baseline) |");
    println!("|---|---|---|---|---|---|");
    for (name, format) in [
        ("A4 300 dpi raster, bi-level (black_1)", PixelFormat::Black1),
        ("A4 300 dpi raster, grey (sgray_8)", PixelFormat::Gray8),
        ("A4 300 dpi raster, colour (srgb_8)", PixelFormat::Rgb8),
    ] {
        let (job, pixels) = raster_job(format, RASTER_PAGES);
        let (elapsed, pdf_len) = best_of(2, || {
            let mut out = Vec::new();
            convert(DocumentFormat::PwgRaster, &job, &options, &mut out)?;
            Ok(out.len())
        })?;
        let baseline = best_of(2, || flate(&pixels, 1))?.0 * RASTER_PAGES as u32;
        row(
            name,
            RASTER_PAGES,
            job.len(),
            elapsed,
            pdf_len,
            "Flate-1 of the pixels",
            baseline,
        );
    }
    Ok(())
}

fn row(
    name: &str,
    pages: usize,
    input: usize,
    elapsed: Duration,
    pdf_len: usize,
    baseline_name: &str,
    baseline: Duration,
) {
    let secs = elapsed.as_secs_f64();
    println!(
        "| {name} | {:.1} | {:.1} | {} | {baseline_name}: {:.1} ms | {:.2}× |",
        pages as f64 / secs,
        input as f64 / secs / 1e6,
        pdf_len / pages,
        baseline.as_secs_f64() * 1e3,
        secs / baseline.as_secs_f64(),
    );
}

/// The fastest of `runs` runs (the least disturbed by other work on the machine).
fn best_of<T>(
    runs: usize,
    mut op: impl FnMut() -> anyhow::Result<T>,
) -> anyhow::Result<(Duration, T)> {
    let mut best: Option<(Duration, T)> = None;
    for _ in 0..runs {
        let start = Instant::now();
        let value = op()?;
        let elapsed = start.elapsed();
        if best.as_ref().is_none_or(|(b, _)| elapsed < *b) {
            best = Some((elapsed, value));
        }
    }
    best.ok_or_else(|| anyhow::anyhow!("no runs"))
}

fn flate(bytes: &[u8], level: u32) -> anyhow::Result<usize> {
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::new(level));
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?.len())
}

/// A register-style report: 66 lines of 80 columns per page, form feeds between pages.
fn text_job(pages: usize) -> String {
    let names = [
        "Åsa Öberg",
        "Märta Ängström",
        "Örjan Åkesson",
        "Per Nilsson",
    ];
    let mut text = String::new();
    for page in 0..pages {
        if page > 0 {
            text.push('\u{0C}');
        }
        for line in 0..66 {
            let n = page * 66 + line;
            text.push_str(&format!(
                "{n:6}  {:<20}\t{:>10.2} €  Växjö  {:<24}\n",
                names[n % names.len()],
                n as f64 * 12.5,
                "räksmörgås".repeat(1 + n % 2)
            ));
        }
    }
    text
}

/// A document-like page: margins, bands of glyph-sized ink blobs, and in colour a
/// gradient logo. Returns the PWG job and one page's decoded pixels.
fn raster_job(format: PixelFormat, pages: usize) -> (Vec<u8>, Vec<u8>) {
    let (width, height) = A4_300DPI;
    let mut lines = Vec::with_capacity(height as usize);
    for y in 0..height {
        let in_band = (150..3350).contains(&y) && (y % 50) < 30;
        let line: Vec<u8> = match format {
            PixelFormat::Black1 | PixelFormat::Gray1 => {
                let mut bits = vec![0u8; width.div_ceil(8) as usize];
                for x in 0..width {
                    if in_band && ink(x, y) {
                        bits[(x / 8) as usize] |= 0x80 >> (x % 8);
                    }
                }
                bits
            }
            PixelFormat::Gray8 | PixelFormat::Black8 => (0..width)
                .map(|x| {
                    if in_band && ink(x, y) {
                        ((x ^ y) & 0x3F) as u8
                    } else {
                        0xFF
                    }
                })
                .collect(),
            PixelFormat::Rgb8 => (0..width)
                .flat_map(|x| {
                    if (200..700).contains(&x) && (3400..3500).contains(&y)
                        || (1800..2300).contains(&x) && (100..600).contains(&y)
                    {
                        [(x / 2) as u8, (y / 3) as u8, 0x80]
                    } else if in_band && ink(x, y) {
                        [0x10, 0x10, 0x40]
                    } else {
                        [0xFF; 3]
                    }
                })
                .collect(),
        };
        lines.push(line);
    }
    let pixels = lines.concat();
    let header = encode::header(width, height, 300, format);
    let page = (header, lines, format);
    let all: Vec<_> = (0..pages).map(|_| page.clone()).collect();
    (encode::stream(&all), pixels)
}

/// Glyph-like ink: 25-pixel cells with 5-pixel gaps, a fifth of each cell inked.
fn ink(x: u32, y: u32) -> bool {
    (200..2280).contains(&x)
        && x % 30 < 25
        && (x.wrapping_mul(7) ^ y.wrapping_mul(13) ^ (x / 30).wrapping_mul(31)).is_multiple_of(5)
}
