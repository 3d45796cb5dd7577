//! Europe/Stockholm wall-clock time, sans-IO: the EU summer-time rule (CEST, UTC+2, from
//! 01:00 UTC on the last Sunday of March to 01:00 UTC on the last Sunday of October; CET,
//! UTC+1, otherwise), which Sweden has followed since 1996. Service windows are announced
//! in this zone ("PROD 22:00–02:00"), and the iCal feed's VTIMEZONE states the same rule,
//! so what the broker acts on and what calendars show cannot disagree.
//!
//! Hand-written rather than a tz database: the rule is two lines, the feed must state it
//! as an RRULE anyway, and the broker then needs no zoneinfo files on its hosts. The broker
//! test suite checks it against the system's tz database through Python's `zoneinfo`.

use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset, Weekday};

/// The zone's IANA name, as the iCal feed's TZID.
pub const TZID: &str = "Europe/Stockholm";

const CET: i8 = 1;
const CEST: i8 = 2;

/// The last Sunday of `month` in `year`.
fn last_sunday(year: i32, month: Month) -> Option<Date> {
    let last = Date::from_calendar_date(year, month, month.length(year)).ok()?;
    let back = i64::from(last.weekday().number_days_from_sunday());
    last.checked_sub(Duration::days(back))
}

/// The UTC instants summer time starts and ends in `year`.
fn summer(year: i32) -> Option<(OffsetDateTime, OffsetDateTime)> {
    let at_one = |d: Date| -> Option<OffsetDateTime> {
        Some(PrimitiveDateTime::new(d, Time::from_hms(1, 0, 0).ok()?).assume_utc())
    };
    let start = at_one(last_sunday(year, Month::March)?)?;
    let end = at_one(last_sunday(year, Month::October)?)?;
    Some((start, end))
}

/// Stockholm's offset from UTC at `utc`.
pub fn offset_at(utc: OffsetDateTime) -> UtcOffset {
    let utc = utc.to_offset(UtcOffset::UTC);
    let hours = match summer(utc.year()) {
        Some((start, end)) if utc >= start && utc < end => CEST,
        _ => CET,
    };
    UtcOffset::from_hms(hours, 0, 0).unwrap_or(UtcOffset::UTC)
}

/// `utc` as Stockholm wall-clock time (with its offset).
pub fn to_local(utc: OffsetDateTime) -> OffsetDateTime {
    utc.to_offset(offset_at(utc))
}

/// The instant a Stockholm wall-clock time names, as RFC 5545 §3.3.5 reads one: in the
/// autumn hour that occurs twice the first (summer-time) one; in the spring hour that does
/// not exist, the time the offset before the gap gives (02:30 is 03:30 CEST).
pub fn from_local(date: Date, time: Time) -> OffsetDateTime {
    let local = PrimitiveDateTime::new(date, time);
    for hours in [CEST, CET] {
        let Ok(offset) = UtcOffset::from_hms(hours, 0, 0) else {
            continue;
        };
        let candidate = local.assume_offset(offset);
        if offset_at(candidate) == offset {
            return candidate.to_offset(UtcOffset::UTC);
        }
    }
    // The spring gap: read with the offset before it (CET).
    local
        .assume_offset(UtcOffset::from_hms(CET, 0, 0).unwrap_or(UtcOffset::UTC))
        .to_offset(UtcOffset::UTC)
}

/// The iCal two-letter name of a weekday (`MO` … `SU`).
pub fn weekday_code(d: Weekday) -> &'static str {
    match d {
        Weekday::Monday => "MO",
        Weekday::Tuesday => "TU",
        Weekday::Wednesday => "WE",
        Weekday::Thursday => "TH",
        Weekday::Friday => "FR",
        Weekday::Saturday => "SA",
        Weekday::Sunday => "SU",
    }
}

/// The weekday an iCal two-letter name stands for.
pub fn weekday_from_code(s: &str) -> Option<Weekday> {
    Some(match s {
        "MO" => Weekday::Monday,
        "TU" => Weekday::Tuesday,
        "WE" => Weekday::Wednesday,
        "TH" => Weekday::Thursday,
        "FR" => Weekday::Friday,
        "SA" => Weekday::Saturday,
        "SU" => Weekday::Sunday,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime, time};

    #[test]
    fn summer_time_starts_and_ends_at_one_utc_on_the_last_sundays() {
        // 2026: 29 March and 25 October.
        assert_eq!(
            offset_at(datetime!(2026-03-29 00:59:59 UTC)).whole_hours(),
            1
        );
        assert_eq!(offset_at(datetime!(2026-03-29 01:00 UTC)).whole_hours(), 2);
        assert_eq!(
            offset_at(datetime!(2026-10-25 00:59:59 UTC)).whole_hours(),
            2
        );
        assert_eq!(offset_at(datetime!(2026-10-25 01:00 UTC)).whole_hours(), 1);
        assert_eq!(offset_at(datetime!(2027-01-15 12:00 UTC)).whole_hours(), 1);
        assert_eq!(offset_at(datetime!(2027-07-15 12:00 UTC)).whole_hours(), 2);
    }

    #[test]
    fn wall_clock_times_map_to_instants_across_both_changes() {
        assert_eq!(
            from_local(date!(2026 - 12 - 07), time!(22:00)),
            datetime!(2026-12-07 21:00 UTC)
        );
        assert_eq!(
            from_local(date!(2026 - 06 - 07), time!(22:00)),
            datetime!(2026-06-07 20:00 UTC)
        );
        // Spring gap: 02:30 does not exist; it reads as 03:30 CEST.
        assert_eq!(
            from_local(date!(2026 - 03 - 29), time!(02:30)),
            datetime!(2026-03-29 01:30 UTC)
        );
        // Autumn: 02:30 occurs twice; the first (CEST) wins.
        assert_eq!(
            from_local(date!(2026 - 10 - 25), time!(02:30)),
            datetime!(2026-10-25 00:30 UTC)
        );
        let local = to_local(datetime!(2026-10-25 01:30 UTC));
        assert_eq!(
            (local.hour(), local.minute(), local.offset().whole_hours()),
            (2, 30, 1)
        );
    }

    #[test]
    fn weekday_codes_round_trip() {
        for d in [
            Weekday::Monday,
            Weekday::Tuesday,
            Weekday::Wednesday,
            Weekday::Thursday,
            Weekday::Friday,
            Weekday::Saturday,
            Weekday::Sunday,
        ] {
            assert_eq!(weekday_from_code(weekday_code(d)), Some(d));
        }
        assert_eq!(weekday_from_code("mo"), None);
    }

    proptest::proptest! {
        /// Every instant survives the trip to wall-clock time and back, except the second
        /// pass through the autumn hour, which reads as the first.
        #[test]
        fn to_local_and_back(secs in 1_600_000_000i64..2_200_000_000) {
            let utc = OffsetDateTime::from_unix_timestamp(secs).expect("in range");
            let local = to_local(utc);
            let back = from_local(local.date(), local.time());
            let ambiguous = back != utc && back == utc - Duration::hours(1);
            proptest::prop_assert!(back == utc || ambiguous, "{utc} -> {local} -> {back}");
        }
    }
}
