//! Whatever arrives as application/pdf, the checker returns a page count within the bound
//! or a refusal — never a panic, a loop or an unbounded allocation.
#![no_main]

use hamn_print_fuzz::pdf_check::check;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(pages) = check(data, 50) {
        assert!((1..=50).contains(&pages));
    }
});
