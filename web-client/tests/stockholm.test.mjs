// Tests for the admin console's Swedish-time helpers (static/admin/sections/
// operations-common.js): wall-clock times read as the broker's `tz::from_local` reads them,
// across both daylight-saving changes, and the day arithmetic the service-window calendar
// uses. Run: node --test web-client/tests/   (cargo test -p hamn-gateway runs it too)

import { test } from "node:test";
import assert from "node:assert/strict";
import {
  addDays, fromStockholm, query, stockholm, stockholmInput, weekdayOf,
} from "../static/admin/sections/operations-common.js";

const iso = (date, time) => fromStockholm(date, time).toISOString();

test("winter and summer times read with their own offset", () => {
  assert.equal(iso("2026-12-20", "22:00"), "2026-12-20T21:00:00.000Z");
  assert.equal(iso("2026-07-01", "08:00"), "2026-07-01T06:00:00.000Z");
  assert.equal(iso("2027-01-01", ""), "2026-12-31T23:00:00.000Z");
});

test("the spring gap and the autumn overlap as the broker reads them", () => {
  // 29 March 2026: 02:00 CET becomes 03:00 CEST; 02:30 does not exist and is 03:30 CEST.
  assert.equal(iso("2026-03-29", "02:30"), "2026-03-29T01:30:00.000Z");
  assert.equal(iso("2026-03-29", "03:00"), "2026-03-29T01:00:00.000Z");
  // 25 October 2026: 02:30 happens twice; the first (CEST) one.
  assert.equal(iso("2026-10-25", "02:30"), "2026-10-25T00:30:00.000Z");
  assert.equal(iso("2026-10-25", "03:00"), "2026-10-25T02:00:00.000Z");
});

test("instants back to Stockholm wall-clock parts", () => {
  assert.deepEqual(stockholm("2026-12-20T21:00:00Z"), { date: "2026-12-20", time: "22:00", weekday: 6 });
  assert.deepEqual(stockholm(Date.parse("2026-06-01T22:30:00Z")), { date: "2026-06-02", time: "00:30", weekday: 1 });
  for (const [date, time] of [["2026-03-29", "01:59"], ["2026-03-29", "03:00"], ["2026-10-25", "01:00"], ["2026-10-25", "04:15"]]) {
    const back = stockholm(fromStockholm(date, time));
    assert.deepEqual([back.date, back.time], [date, time]);
  }
  assert.equal(stockholmInput("2026-12-07T10:00"), "2026-12-07T09:00:00.000Z");
  assert.equal(stockholmInput(""), null);
});

test("days, weekdays and query strings", () => {
  assert.equal(addDays("2026-12-31", 1), "2027-01-01");
  assert.equal(addDays("2028-03-01", -1), "2028-02-29");
  assert.equal(addDays("2026-03-28", 2), "2026-03-30", "a DST change is still one day");
  assert.equal(weekdayOf("2026-12-07"), 0);
  assert.equal(weekdayOf("2026-12-13"), 6);
  assert.equal(query({ a: "", b: null, c: "x y&z", d: 0, e: false }), "?c=x+y%26z&d=0");
  assert.equal(query({}), "");
});
