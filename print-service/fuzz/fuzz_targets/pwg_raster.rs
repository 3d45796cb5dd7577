//! Whatever a host sends as image/pwg-raster, the renderer refuses it as malformed or
//! bounded, or writes a PDF that our own checker accepts with the same page count —
//! never a panic. Small bounds keep each run fast.
#![no_main]

use hamn_print_fuzz::convert::convert;
use hamn_print_fuzz::pdf_check::check;
use hamn_print_fuzz::{DocumentFormat, RenderOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let options = RenderOptions {
        max_pages: 8,
        max_output_bytes: 4 << 20,
        ..RenderOptions::default()
    };
    let mut out = Vec::new();
    if let Ok(summary) = convert(DocumentFormat::PwgRaster, data, &options, &mut out) {
        assert_eq!(summary.bytes, out.len() as u64);
        assert_eq!(check(&out, 8).ok(), Some(summary.pages));
    }
});
