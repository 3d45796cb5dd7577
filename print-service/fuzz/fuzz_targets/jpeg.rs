//! Whatever a host sends as image/jpeg, the JPEG inspector refuses it or reads dimensions
//! within its bounds, and the renderer writes a one-page PDF — never a panic. The JPEG
//! data itself is embedded (DCTDecode), so only the header walk (markers, segment
//! lengths, SOF) sees hostile bytes.
#![no_main]

use hamn_print_fuzz::convert::convert;
use hamn_print_fuzz::jpeg::inspect;
use hamn_print_fuzz::pdf_check::check;
use hamn_print_fuzz::{DocumentFormat, RenderOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let inspected = inspect(data);
    let options = RenderOptions {
        max_pages: 2,
        max_output_bytes: 4 << 20,
        ..RenderOptions::default()
    };
    let mut out = Vec::new();
    match convert(DocumentFormat::Jpeg, data, &options, &mut out) {
        Ok(summary) => {
            assert!(inspected.is_ok(), "rendered a JPEG the inspector refuses");
            assert_eq!(summary.pages, 1);
            assert_eq!(summary.bytes, out.len() as u64);
            // Our own received-PDF check accepts what we render (the first short run found
            // JPEG data holding `endstream`, which the check used to stop at).
            if let Err(error) = check(&out, 2) {
                panic!("our PDF of a JPEG fails our own check: {error}");
            }
        }
        Err(error) => {
            let _ = error.to_string();
        }
    }
});
