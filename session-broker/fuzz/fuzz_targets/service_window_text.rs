//! Fuzzes what the service-window feed does with text from API clients (titles and
//! descriptions) and the Stockholm clock it computes times with. Any text must escape to
//! one line with no bare CR or LF, fold into lines of at most 75 octets without splitting
//! a UTF-8 character, and unfold to exactly the escaped line; any instant must survive the
//! trip to wall-clock time and back (the autumn hour reads as its first pass). The modules
//! are the broker's own source files.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../src/service_windows/ical_text.rs"]
mod ical_text;

#[allow(dead_code)]
#[path = "../../src/service_windows/tz.rs"]
mod tz;

fuzz_target!(|data: &[u8]| {
    if let Some((&head, rest)) = data.split_first() {
        let text = String::from_utf8_lossy(rest);
        let escaped = ical_text::escape_text(&text);
        assert!(!escaped.contains('\r') && !escaped.contains('\n'));
        let line = format!("DESCRIPTION:{escaped}");
        let mut out = String::new();
        ical_text::push_line(&mut out, &line);
        assert!(out.ends_with("\r\n"));
        for l in out.trim_end_matches("\r\n").split("\r\n") {
            assert!(l.len() <= 75, "{} octets", l.len());
        }
        assert_eq!(out.trim_end_matches("\r\n").replace("\r\n ", ""), line);

        // An instant from the bytes, within the years `time` represents.
        let mut secs = [0u8; 8];
        for (i, b) in data.iter().take(8).enumerate() {
            secs[i] = *b;
        }
        let secs = i64::from_le_bytes(secs).rem_euclid(4_000_000_000) + i64::from(head);
        if let Ok(utc) = time::OffsetDateTime::from_unix_timestamp(secs) {
            let local = tz::to_local(utc);
            let back = tz::from_local(local.date(), local.time());
            assert!(back == utc || back == utc - time::Duration::hours(1));
        }
    }
});
