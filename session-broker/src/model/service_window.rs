//! Service windows: announced periods when an environment is down for maintenance (the
//! service description's §4.5), one-off or weekly in Europe/Stockholm wall-clock time.
//!
//! A weekly window is stored as its first occurrence (`starts_at`/`ends_at`) plus its
//! weekdays and an optional last day; the wall-clock start and the duration follow from
//! the first occurrence, so every later one starts at the same Stockholm time whatever
//! the offset is then (DST-correct) and lasts as long.

use serde::{Deserialize, Serialize};
use time::{Date, Duration, OffsetDateTime, Time};
use uuid::Uuid;

use super::validate::ValidationErrors;
use crate::service_windows::tz;

/// How far ahead a window must be announced unless it is an emergency.
pub const NOTICE: Duration = Duration::days(7);
/// The longest one-off window.
pub const MAX_ONE_OFF: Duration = Duration::days(14);
/// The longest occurrence of a weekly window (occurrences must not run into each other).
pub const MAX_RECURRING_MINUTES: u32 = 24 * 60;

text_enum! {
    /// A day of the week by its iCal name.
    WeekDay {
        Mo = "MO", Tu = "TU", We = "WE", Th = "TH", Fr = "FR", Sa = "SA", Su = "SU",
    }
}

impl WeekDay {
    pub fn weekday(self) -> time::Weekday {
        tz::weekday_from_code(self.as_str()).unwrap_or(time::Weekday::Monday)
    }

    pub fn of(d: time::Weekday) -> Self {
        tz::weekday_code(d).parse().unwrap_or(Self::Mo)
    }
}

/// A weekly rule, in Europe/Stockholm wall-clock time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Recurrence {
    /// The weekdays it happens on.
    pub days: Vec<WeekDay>,
    /// Local start, `HH:MM`.
    pub start_time: String,
    /// Length of each occurrence, 1-1440 minutes.
    pub duration_minutes: u32,
    /// The first local day (`YYYY-MM-DD`) occurrences may start on.
    pub first_date: String,
    /// The last local day occurrences may start on; absent: no end.
    #[serde(default)]
    pub until_date: Option<String>,
}

const DATE: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");
const HHMM: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[hour]:[minute]");

fn parse_date(v: &mut ValidationErrors, field: &str, s: &str) -> Option<Date> {
    match Date::parse(s, DATE) {
        Ok(d) => Some(d),
        Err(_) => {
            v.push(field, "must be a date YYYY-MM-DD");
            None
        }
    }
}

pub fn format_date(d: Date) -> String {
    d.format(DATE).unwrap_or_default()
}

pub fn format_hhmm(t: Time) -> String {
    t.format(HHMM).unwrap_or_default()
}

/// When a window happens, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timing {
    pub starts_at: OffsetDateTime,
    pub ends_at: OffsetDateTime,
    /// `MO,TH`; `None` for a one-off window.
    pub days: Option<String>,
    /// Occurrences start before this instant (the local midnight after `until_date`).
    pub until: Option<OffsetDateTime>,
}

impl Recurrence {
    /// The stored form: the first occurrence on or after `first_date`, the day list and
    /// the end. Problems are reported under `recurrence.*`.
    fn timing(&self, v: &mut ValidationErrors) -> Option<Timing> {
        let mut days: Vec<WeekDay> = self.days.clone();
        days.sort_by_key(|d| d.weekday().number_days_from_monday());
        days.dedup();
        if days.is_empty() {
            v.push("recurrence.days", "must name at least one weekday");
        }
        let start = match Time::parse(&self.start_time, HHMM) {
            Ok(t) => Some(t),
            Err(_) => {
                v.push("recurrence.start_time", "must be a local time HH:MM");
                None
            }
        };
        v.range(
            "recurrence.duration_minutes",
            i64::from(self.duration_minutes),
            1,
            i64::from(MAX_RECURRING_MINUTES),
        );
        let first = parse_date(v, "recurrence.first_date", &self.first_date);
        let until = self
            .until_date
            .as_deref()
            .map(|s| parse_date(v, "recurrence.until_date", s));
        let (start, first, until) = (start?, first?, until.map_or(Some(None), |u| u.map(Some))?);
        if days.is_empty() || !(1..=MAX_RECURRING_MINUTES).contains(&self.duration_minutes) {
            return None;
        }
        let first_day = (0..7)
            .filter_map(|i| first.checked_add(Duration::days(i)))
            .find(|d| days.iter().any(|w| w.weekday() == d.weekday()))?;
        if let Some(u) = until
            && u < first_day
        {
            v.push(
                "recurrence.until_date",
                "must not be before the first occurrence",
            );
            return None;
        }
        let starts_at = tz::from_local(first_day, start);
        let ends_at = starts_at + Duration::minutes(i64::from(self.duration_minutes));
        let until = until
            .and_then(|u| u.next_day())
            .map(|d| tz::from_local(d, Time::MIDNIGHT));
        Some(Timing {
            starts_at,
            ends_at,
            days: Some(
                days.iter()
                    .map(|d| d.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            until,
        })
    }

    /// The rule back from its stored form.
    pub fn from_stored(
        starts_at: OffsetDateTime,
        ends_at: OffsetDateTime,
        days: &str,
        until: Option<OffsetDateTime>,
    ) -> Self {
        let local = tz::to_local(starts_at);
        Self {
            days: days.split(',').filter_map(|d| d.parse().ok()).collect(),
            start_time: format_hhmm(local.time()),
            duration_minutes: u32::try_from((ends_at - starts_at).whole_minutes()).unwrap_or(0),
            first_date: format_date(local.date()),
            until_date: until
                .map(|u| format_date(tz::to_local(u - Duration::milliseconds(1)).date())),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ServiceWindow {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub environment_id: Uuid,
    /// Start of the (first) occurrence.
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    /// End of the (first) occurrence.
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
    pub title: String,
    pub description: String,
    /// Announced with less than the usual notice.
    pub emergency: bool,
    /// Weekly rule in Europe/Stockholm time; absent for a one-off window.
    pub recurrence: Option<Recurrence>,
    /// Sessions are logged off this many minutes after an occurrence starts (0: at start).
    pub logoff_after_minutes: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl ServiceWindow {
    pub fn duration(&self) -> Duration {
        self.ends_at - self.starts_at
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewServiceWindow {
    /// One-off: its start (with `ends_at`); absent for a weekly window.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub starts_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub ends_at: Option<OffsetDateTime>,
    /// Weekly: the rule; absent for a one-off window.
    #[serde(default)]
    pub recurrence: Option<Recurrence>,
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Allows less than 7 days' notice.
    #[serde(default)]
    pub emergency: bool,
    #[serde(default)]
    pub logoff_after_minutes: u32,
}

impl NewServiceWindow {
    /// Checks the request at `now` and returns when the window happens. A window must
    /// start at least [`NOTICE`] after `now` unless it is an emergency.
    pub fn validate(&self, now: OffsetDateTime) -> Result<Timing, ValidationErrors> {
        let mut v = ValidationErrors::default();
        v.text("title", &self.title, 200);
        v.long_text("description", &self.description, 4000);
        let (timing, start_field) = match (&self.recurrence, self.starts_at, self.ends_at) {
            (Some(r), None, None) => (r.timing(&mut v), "recurrence.first_date"),
            (None, Some(starts_at), Some(ends_at)) => {
                if ends_at <= starts_at {
                    v.push("ends_at", "must be after starts_at");
                } else if ends_at - starts_at > MAX_ONE_OFF {
                    v.push("ends_at", "a window lasts at most 14 days");
                }
                let t = Timing {
                    starts_at,
                    ends_at,
                    days: None,
                    until: None,
                };
                (Some(t), "starts_at")
            }
            (Some(_), _, _) => {
                v.push(
                    "recurrence",
                    "give either recurrence or starts_at and ends_at",
                );
                (None, "")
            }
            (None, None, _) => {
                v.push("starts_at", "is required for a one-off window");
                (None, "")
            }
            (None, Some(_), None) => {
                v.push("ends_at", "is required for a one-off window");
                (None, "")
            }
        };
        if let Some(t) = &timing {
            if !self.emergency && t.starts_at < now + NOTICE {
                v.push(
                    start_field,
                    format!(
                        "a service window must be announced at least 7 days ahead (this one \
                         starts {}); mark it emergency for shorter notice",
                        t.starts_at
                            .format(&time::format_description::well_known::Rfc3339)
                            .unwrap_or_default()
                    ),
                );
            }
            if i64::from(self.logoff_after_minutes) >= (t.ends_at - t.starts_at).whole_minutes() {
                v.push(
                    "logoff_after_minutes",
                    "must fall inside the window (less than its duration)",
                );
            }
        }
        v.finish()?;
        timing.ok_or_else(|| ValidationErrors::single("body", "no timing"))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceWindowPatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub logoff_after_minutes: Option<u32>,
}

impl ServiceWindowPatch {
    pub fn apply(&self, w: &mut ServiceWindow) -> Result<(), ValidationErrors> {
        let mut v = ValidationErrors::default();
        v.opt_text("title", self.title.as_deref(), 200);
        if let Some(d) = &self.description {
            v.long_text("description", d, 4000);
        }
        if let Some(m) = self.logoff_after_minutes
            && i64::from(m) >= w.duration().whole_minutes()
        {
            v.push(
                "logoff_after_minutes",
                "must fall inside the window (less than its duration)",
            );
        }
        v.finish()?;
        if let Some(x) = &self.title {
            w.title.clone_from(x);
        }
        if let Some(x) = &self.description {
            w.description.clone_from(x);
        }
        if let Some(x) = self.logoff_after_minutes {
            w.logoff_after_minutes = x;
        }
        Ok(())
    }
}

/// One occurrence of a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occurrence {
    pub start: OffsetDateTime,
    pub end: OffsetDateTime,
}

/// At most this many occurrences are expanded per call (a year of daily windows).
pub const MAX_OCCURRENCES: usize = 400;

impl ServiceWindow {
    /// The occurrences that overlap `[from, to)`, in order, at most [`MAX_OCCURRENCES`].
    pub fn occurrences(&self, from: OffsetDateTime, to: OffsetDateTime) -> Vec<Occurrence> {
        let duration = self.duration();
        let Some(rule) = &self.recurrence else {
            return if self.starts_at < to && self.ends_at > from {
                vec![Occurrence {
                    start: self.starts_at,
                    end: self.ends_at,
                }]
            } else {
                Vec::new()
            };
        };
        let days: Vec<time::Weekday> = rule.days.iter().map(|d| d.weekday()).collect();
        let local_start = tz::to_local(self.starts_at).time();
        let until = self.until();
        // Local days from the one before `from - duration` (an occurrence that began then
        // may still run) to the day after `to`.
        let first = tz::to_local(self.starts_at.max(from - duration)).date();
        let first = first.previous_day().unwrap_or(first);
        let last = tz::to_local(to).date();
        let mut out = Vec::new();
        let mut day = first;
        while day <= last && out.len() < MAX_OCCURRENCES {
            if days.contains(&day.weekday()) {
                let start = tz::from_local(day, local_start);
                let end = start + duration;
                if start >= self.starts_at
                    && until.is_none_or(|u| start < u)
                    && start < to
                    && end > from
                {
                    out.push(Occurrence { start, end });
                }
            }
            match day.next_day() {
                Some(d) => day = d,
                None => break,
            }
        }
        out
    }

    /// Where a weekly window's occurrences stop (exclusive), if anywhere.
    pub fn until(&self) -> Option<OffsetDateTime> {
        self.recurrence
            .as_ref()?
            .until_date
            .as_deref()
            .and_then(|s| {
                Date::parse(s, DATE)
                    .ok()?
                    .next_day()
                    .map(|d| tz::from_local(d, Time::MIDNIGHT))
            })
    }

    /// The occurrence in progress at `at`, if any.
    pub fn active_at(&self, at: OffsetDateTime) -> Option<Occurrence> {
        self.occurrences(at, at + Duration::milliseconds(1))
            .into_iter()
            .find(|o| o.start <= at && at < o.end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn weekly(days: &[WeekDay], start: &str, minutes: u32, first: &str) -> NewServiceWindow {
        NewServiceWindow {
            starts_at: None,
            ends_at: None,
            recurrence: Some(Recurrence {
                days: days.to_vec(),
                start_time: start.into(),
                duration_minutes: minutes,
                first_date: first.into(),
                until_date: None,
            }),
            title: "Servicefönster".into(),
            description: String::new(),
            emergency: false,
            logoff_after_minutes: 0,
        }
    }

    fn stored(new: &NewServiceWindow, t: &Timing) -> ServiceWindow {
        ServiceWindow {
            id: Uuid::nil(),
            tenant_id: Uuid::nil(),
            environment_id: Uuid::nil(),
            starts_at: t.starts_at,
            ends_at: t.ends_at,
            title: new.title.clone(),
            description: String::new(),
            emergency: false,
            recurrence: t
                .days
                .as_deref()
                .map(|d| Recurrence::from_stored(t.starts_at, t.ends_at, d, t.until)),
            logoff_after_minutes: 0,
            created_at: t.starts_at,
            updated_at: t.starts_at,
        }
    }

    #[test]
    fn a_weekly_window_keeps_its_wall_clock_time_across_dst() {
        let now = datetime!(2026-03-01 12:00 UTC);
        let new = weekly(&[WeekDay::Sa], "22:00", 240, "2026-03-14");
        let t = new.validate(now).expect("valid");
        let w = stored(&new, &t);
        let got: Vec<_> = w
            .occurrences(now, datetime!(2026-04-05 00:00 UTC))
            .iter()
            .map(|o| (o.start, o.end))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    datetime!(2026-03-14 21:00 UTC),
                    datetime!(2026-03-15 01:00 UTC)
                ),
                (
                    datetime!(2026-03-21 21:00 UTC),
                    datetime!(2026-03-22 01:00 UTC)
                ),
                // 22:00 CET on the night summer time starts; four hours elapsed.
                (
                    datetime!(2026-03-28 21:00 UTC),
                    datetime!(2026-03-29 01:00 UTC)
                ),
                // 22:00 CEST from then on.
                (
                    datetime!(2026-04-04 20:00 UTC),
                    datetime!(2026-04-05 00:00 UTC)
                ),
            ]
        );
        assert_eq!(
            w.recurrence.as_ref().map(|r| r.start_time.as_str()),
            Some("22:00")
        );
    }

    #[test]
    fn seven_days_notice_unless_emergency() {
        let now = datetime!(2026-11-28 21:00 UTC);
        let mut new = NewServiceWindow {
            starts_at: Some(now + Duration::days(6)),
            ends_at: Some(now + Duration::days(6) + Duration::hours(4)),
            recurrence: None,
            title: "Uppgradering".into(),
            description: String::new(),
            emergency: false,
            logoff_after_minutes: 0,
        };
        let e = new.validate(now).expect_err("too short notice");
        assert_eq!(e.0[0].field, "starts_at", "{e}");
        new.emergency = true;
        new.validate(now).expect("an emergency may");
        new.emergency = false;
        new.starts_at = Some(now + NOTICE);
        new.ends_at = Some(now + NOTICE + Duration::hours(1));
        new.validate(now).expect("exactly 7 days is enough");
        let e = weekly(&[WeekDay::Mo], "08:00", 600, "2026-11-30")
            .validate(now)
            .expect_err("first occurrence too soon");
        assert_eq!(e.0[0].field, "recurrence.first_date", "{e}");
    }

    #[test]
    fn malformed_rules_name_their_fields() {
        let now = datetime!(2026-01-01 00:00 UTC);
        let mut new = weekly(&[], "25:00", 0, "2026-02-30");
        new.recurrence.as_mut().expect("rule").until_date = Some("x".into());
        let e = new.validate(now).expect_err("invalid");
        let fields: Vec<_> = e.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "recurrence.days",
                "recurrence.start_time",
                "recurrence.duration_minutes",
                "recurrence.first_date",
                "recurrence.until_date"
            ]
        );
    }
}
