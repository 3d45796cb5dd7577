//! Availability as the service promise counts it, sans-IO: of the minutes some gateway
//! node sampled inside a period, the share in which the environment was available, leaving
//! out every minute that touches one of its service windows (the promise is 99 % outside
//! windows). Minutes nobody sampled (no gateway ran) are unknown and left out as well, and
//! reported, so a page can say how much of the period was measured.

use time::OffsetDateTime;

/// A minute as stored: whole minutes since the unix epoch.
pub fn minute_of(t: OffsetDateTime) -> i64 {
    t.unix_timestamp().div_euclid(60)
}

/// What a period's samples add up to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Availability {
    /// Minutes of the period outside service windows.
    pub counted_minutes: u64,
    /// Of those, minutes with a sample.
    pub sampled_minutes: u64,
    /// Of those, minutes that were available.
    pub available_minutes: u64,
}

impl Availability {
    /// Available share of the sampled minutes, in percent; `None` without samples.
    pub fn percent(&self) -> Option<f64> {
        (self.sampled_minutes > 0)
            .then(|| self.available_minutes as f64 * 100.0 / self.sampled_minutes as f64)
    }

    /// Share of the counted minutes that were sampled, in percent; `None` when windows
    /// covered the whole period.
    pub fn coverage_percent(&self) -> Option<f64> {
        (self.counted_minutes > 0)
            .then(|| self.sampled_minutes as f64 * 100.0 / self.counted_minutes as f64)
    }
}

/// Sorted, merged half-open minute ranges of `windows` (instants), each widened to whole
/// minutes: a minute a window touches is left out entirely.
fn window_minutes(windows: &[(OffsetDateTime, OffsetDateTime)]) -> Vec<(i64, i64)> {
    let mut ranges: Vec<(i64, i64)> = windows
        .iter()
        .filter(|(s, e)| e > s)
        .map(|(s, e)| {
            let end = e.unix_timestamp() + i64::from(e.nanosecond() > 0);
            (
                minute_of(*s),
                end.div_euclid(60) + i64::from(end.rem_euclid(60) > 0),
            )
        })
        .collect();
    ranges.sort_unstable();
    let mut merged: Vec<(i64, i64)> = Vec::with_capacity(ranges.len());
    for (s, e) in ranges {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    merged
}

/// Availability over the minutes `[from, to)` given the service-window occurrences that
/// overlap it and the samples `(minute, available)` (sorted or not; one per minute, as the
/// table's key makes them).
pub fn availability(
    from: i64,
    to: i64,
    windows: &[(OffsetDateTime, OffsetDateTime)],
    samples: &[(i64, bool)],
) -> Availability {
    if to <= from {
        return Availability::default();
    }
    let ranges = window_minutes(windows);
    let in_window = |m: i64| {
        // The last range starting at or before m.
        let i = ranges.partition_point(|(s, _)| *s <= m);
        i > 0 && m < ranges[i - 1].1
    };
    let excluded: i64 = ranges
        .iter()
        .map(|(s, e)| ((*e).min(to) - (*s).max(from)).max(0))
        .sum();
    let mut out = Availability {
        counted_minutes: u64::try_from(to - from - excluded).unwrap_or(0),
        ..Availability::default()
    };
    for &(minute, available) in samples {
        if minute < from || minute >= to || in_window(minute) {
            continue;
        }
        out.sampled_minutes += 1;
        out.available_minutes += u64::from(available);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-12-01 00:00 UTC);

    fn m(t: OffsetDateTime) -> i64 {
        minute_of(t)
    }

    #[test]
    fn no_samples_is_unknown_not_zero() {
        let a = availability(m(T0), m(T0) + 60, &[], &[]);
        assert_eq!(a.counted_minutes, 60);
        assert_eq!(a.sampled_minutes, 0);
        assert_eq!(a.percent(), None);
        assert_eq!(a.coverage_percent(), Some(0.0));
    }

    #[test]
    fn minutes_in_windows_are_left_out_even_when_down() {
        let from = m(T0);
        // Down for the 30 minutes of the window, up for the other 30.
        let samples: Vec<(i64, bool)> = (0..60).map(|i| (from + i, i >= 30)).collect();
        let window = (T0, T0 + Duration::minutes(30));
        let a = availability(from, from + 60, &[window], &samples);
        assert_eq!(a.counted_minutes, 30);
        assert_eq!(a.sampled_minutes, 30);
        assert_eq!(a.percent(), Some(100.0));
        // Without the window the same samples are 50 %.
        assert_eq!(
            availability(from, from + 60, &[], &samples).percent(),
            Some(50.0)
        );
    }

    #[test]
    fn a_window_covering_the_whole_period_leaves_nothing_to_count() {
        let from = m(T0);
        let samples: Vec<(i64, bool)> = (0..60).map(|i| (from + i, false)).collect();
        let a = availability(
            from,
            from + 60,
            &[(T0 - Duration::hours(1), T0 + Duration::hours(2))],
            &samples,
        );
        assert_eq!(a, Availability::default());
        assert_eq!(a.percent(), None);
        assert_eq!(a.coverage_percent(), None);
    }

    #[test]
    fn partial_data_counts_only_sampled_minutes() {
        let from = m(T0);
        // 10 of 100 minutes sampled, one of them down; samples outside the period ignored.
        let mut samples: Vec<(i64, bool)> = (0..10).map(|i| (from + i * 10, i != 3)).collect();
        samples.push((from - 1, false));
        samples.push((from + 100, false));
        let a = availability(from, from + 100, &[], &samples);
        assert_eq!(
            (a.counted_minutes, a.sampled_minutes, a.available_minutes),
            (100, 10, 9)
        );
        assert_eq!(a.percent(), Some(90.0));
        assert_eq!(a.coverage_percent(), Some(10.0));
    }

    #[test]
    fn overlapping_and_partial_minute_windows_are_merged_and_widened() {
        let from = m(T0);
        let samples: Vec<(i64, bool)> = (0..10).map(|i| (from + i, false)).collect();
        let windows = [
            // 00:01:30–00:03:10 touches minutes 1, 2 and 3.
            (T0 + Duration::seconds(90), T0 + Duration::seconds(190)),
            // Overlaps it: minutes 2..5.
            (T0 + Duration::minutes(2), T0 + Duration::minutes(5)),
            // Before the period: only its overlap counts.
            (T0 - Duration::minutes(5), T0 + Duration::minutes(1)),
        ];
        let a = availability(from, from + 10, &windows, &samples);
        // Minutes 0..5 are in windows; 5..10 counted, all down.
        assert_eq!(
            (a.counted_minutes, a.sampled_minutes, a.available_minutes),
            (5, 5, 0)
        );
        assert_eq!(a.percent(), Some(0.0));
    }

    #[test]
    fn an_empty_or_reversed_period_is_empty() {
        assert_eq!(
            availability(10, 10, &[], &[(10, true)]),
            Availability::default()
        );
        assert_eq!(
            availability(10, 5, &[], &[(7, true)]),
            Availability::default()
        );
    }
}
