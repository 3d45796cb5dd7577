//! The service-window calendar as iCalendar (RFC 5545), sans-IO: windows in, text out.
//!
//! - Lines end in CRLF and are folded so no line exceeds 75 octets (continuations start
//!   with a space; a UTF-8 character is never split).
//! - TEXT values escape backslash, semicolon, comma and newlines.
//! - Every event has a UID (the window's id) and a DTSTAMP (its last change, UTC).
//! - One-off windows carry DTSTART/DTEND in UTC; weekly ones DTSTART with
//!   TZID=Europe/Stockholm, a DURATION and an RRULE (FREQ=WEEKLY;BYDAY=…;UNTIL=…Z), and the
//!   calendar carries the VTIMEZONE that defines the zone by the same EU rule the broker
//!   computes with ([`super::tz`]).

use std::fmt::Write as _;

use time::{Duration, OffsetDateTime, UtcOffset};

pub use super::ical_text::{escape_text, push_line};
use super::tz;
use crate::model::{EnvironmentKind, ServiceWindow};

/// A window with the names a calendar shows.
#[derive(Debug, Clone)]
pub struct FeedEntry {
    pub window: ServiceWindow,
    pub tenant_name: String,
    pub environment: EnvironmentKind,
}

const VTIMEZONE: &[&str] = &[
    "BEGIN:VTIMEZONE",
    "TZID:Europe/Stockholm",
    "BEGIN:DAYLIGHT",
    "TZOFFSETFROM:+0100",
    "TZOFFSETTO:+0200",
    "TZNAME:CEST",
    "DTSTART:19700329T020000",
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
    "END:DAYLIGHT",
    "BEGIN:STANDARD",
    "TZOFFSETFROM:+0200",
    "TZOFFSETTO:+0100",
    "TZNAME:CET",
    "DTSTART:19701025T030000",
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
    "END:STANDARD",
    "END:VTIMEZONE",
];

fn utc_stamp(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn local_stamp(t: OffsetDateTime) -> String {
    let t = tz::to_local(t);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn duration(d: Duration) -> String {
    let minutes = d.whole_minutes().max(0);
    let (h, m) = (minutes / 60, minutes % 60);
    match (h, m) {
        (h, 0) => format!("PT{h}H"),
        (0, m) => format!("PT{m}M"),
        (h, m) => format!("PT{h}H{m}M"),
    }
}

/// The calendar named `name` with one VEVENT per entry.
pub fn calendar(name: &str, entries: &[FeedEntry]) -> String {
    let mut out = String::new();
    for l in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Hamn//Servicefönster//SV",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    ] {
        push_line(&mut out, l);
    }
    push_line(&mut out, &format!("X-WR-CALNAME:{}", escape_text(name)));
    push_line(&mut out, &format!("X-WR-TIMEZONE:{}", tz::TZID));
    for l in VTIMEZONE {
        push_line(&mut out, l);
    }
    for e in entries {
        event(&mut out, e);
    }
    push_line(&mut out, "END:VCALENDAR");
    out
}

fn event(out: &mut String, e: &FeedEntry) {
    let w = &e.window;
    push_line(out, "BEGIN:VEVENT");
    push_line(out, &format!("UID:{}@hamn", w.id));
    push_line(out, &format!("DTSTAMP:{}", utc_stamp(w.updated_at)));
    push_line(out, &format!("CREATED:{}", utc_stamp(w.created_at)));
    push_line(out, &format!("LAST-MODIFIED:{}", utc_stamp(w.updated_at)));
    match &w.recurrence {
        None => {
            push_line(out, &format!("DTSTART:{}", utc_stamp(w.starts_at)));
            push_line(out, &format!("DTEND:{}", utc_stamp(w.ends_at)));
        }
        Some(rule) => {
            push_line(
                out,
                &format!("DTSTART;TZID={}:{}", tz::TZID, local_stamp(w.starts_at)),
            );
            push_line(out, &format!("DURATION:{}", duration(w.duration())));
            let days: Vec<&str> = rule.days.iter().map(|d| d.as_str()).collect();
            let mut rrule = format!("RRULE:FREQ=WEEKLY;BYDAY={}", days.join(","));
            if let Some(until) = w.until() {
                // UNTIL is inclusive and, with a zoned DTSTART, in UTC (§3.3.10).
                let _ = write!(rrule, ";UNTIL={}", utc_stamp(until - Duration::seconds(1)));
            }
            push_line(out, &rrule);
        }
    }
    let mut summary = format!(
        "Servicefönster {} {}: {}",
        e.tenant_name, e.environment, w.title
    );
    if w.emergency {
        summary.push_str(" (akut)");
    }
    push_line(out, &format!("SUMMARY:{}", escape_text(&summary)));
    if !w.description.is_empty() {
        push_line(out, &format!("DESCRIPTION:{}", escape_text(&w.description)));
    }
    push_line(
        out,
        &format!("CATEGORIES:{}", escape_text(e.environment.as_str())),
    );
    push_line(out, "TRANSP:OPAQUE");
    push_line(out, "STATUS:CONFIRMED");
    push_line(out, "END:VEVENT");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_written_in_hours_and_minutes() {
        assert_eq!(duration(Duration::hours(4)), "PT4H");
        assert_eq!(duration(Duration::minutes(90)), "PT1H30M");
        assert_eq!(duration(Duration::minutes(45)), "PT45M");
    }
}
