//! Any bytes as text/plain (detected charset, or the first byte choosing UTF-8 or
//! CP1252): a refusal or a PDF our checker accepts with the page count reported.
#![no_main]

use hamn_print_fuzz::convert::convert;
use hamn_print_fuzz::pdf_check::check;
use hamn_print_fuzz::{DocumentFormat, RenderOptions, TextCharset};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&choice, text)) = data.split_first() else {
        return;
    };
    let options = RenderOptions {
        max_pages: 20,
        max_output_bytes: 4 << 20,
        text_charset: match choice % 3 {
            0 => None,
            1 => Some(TextCharset::Utf8),
            _ => Some(TextCharset::Cp1252),
        },
        ..RenderOptions::default()
    };
    let mut out = Vec::new();
    if let Ok(summary) = convert(DocumentFormat::Text, text, &options, &mut out) {
        assert_eq!(check(&out, 20).ok(), Some(summary.pages));
    }
});
