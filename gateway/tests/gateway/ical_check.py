"""Parses a Hamn service-window feed with the `icalendar` package and expands it with
`recurring_ical_events`, so the Rust test can compare what a real calendar client sees with
what the broker computes. Also checks the framing RFC 5545 asks for (CRLF, lines of at most
75 octets) and that the feed's VTIMEZONE agrees with the system tz database.

Usage: ical_check.py FEED.ics FROM_ISO TO_ISO  ->  JSON on stdout."""

import datetime
import json
import sys
import zoneinfo

import icalendar
import recurring_ical_events

raw = open(sys.argv[1], "rb").read()
lines = raw.split(b"\r\n")
assert lines[-1] == b"", "the feed ends with CRLF"
for line in lines[:-1]:
    assert len(line) <= 75, f"{len(line)} octets: {line!r}"
    assert b"\n" not in line and b"\r" not in line, f"bare line break in {line!r}"
    line.decode("utf-8")  # folding never splits a character

cal = icalendar.Calendar.from_ical(raw)
start = datetime.datetime.fromisoformat(sys.argv[2])
end = datetime.datetime.fromisoformat(sys.argv[3])

# The VTIMEZONE states the same offsets as the tz database, every day for four years.
stockholm = zoneinfo.ZoneInfo("Europe/Stockholm")
vtz = [c for c in cal.walk("VTIMEZONE")]
assert [str(c["TZID"]) for c in vtz] == ["Europe/Stockholm"], vtz
feed_tz = vtz[0].to_tz()
day = datetime.datetime(start.year, 1, 1, 12, 0)
while day.year < start.year + 4:
    assert feed_tz.utcoffset(day) == stockholm.utcoffset(day), day
    day += datetime.timedelta(days=1)


def utc(dt):
    return dt.astimezone(datetime.timezone.utc).isoformat()


events = []
for ev in cal.walk("VEVENT"):
    rrule = ev.get("RRULE")
    events.append(
        {
            "uid": str(ev["UID"]),
            "summary": str(ev["SUMMARY"]),
            "description": str(ev.get("DESCRIPTION", "")),
            "dtstamp": utc(ev["DTSTAMP"].dt),
            "rrule": rrule.to_ical().decode() if rrule else None,
            "tzid": ev["DTSTART"].params.get("TZID"),
        }
    )
occurrences = []
for ev in recurring_ical_events.of(cal).between(start, end):
    occurrences.append([str(ev["UID"]), utc(ev["DTSTART"].dt), utc(ev["DTEND"].dt)])
occurrences.sort()
print(json.dumps({"events": events, "occurrences": occurrences}))
