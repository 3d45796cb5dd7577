// What the day-to-day sections (operations.js) share: Europe/Stockholm wall-clock time in
// and out (the console shows and takes every time as Swedish time, whatever the browser's
// own zone), query strings from filters, and files from the admin API (CSV, JSON lines),
// which `ctx.api` cannot carry because it reads JSON only.

const ZONE = "Europe/Stockholm";

const partsFormat = new Intl.DateTimeFormat("en-GB", {
  timeZone: ZONE, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
  hour: "2-digit", minute: "2-digit", second: "2-digit", weekday: "short",
});
const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/** Stockholm wall-clock parts of an instant (Date, ISO string or milliseconds):
 * `{ date: "YYYY-MM-DD", time: "HH:MM", weekday: 0 (Monday) … 6 }`. */
export function stockholm(value) {
  const parts = Object.fromEntries(partsFormat.formatToParts(new Date(value)).map((p) => [p.type, p.value]));
  return {
    date: `${parts.year}-${parts.month}-${parts.day}`,
    time: `${parts.hour}:${parts.minute}`,
    weekday: WEEKDAYS.indexOf(parts.weekday),
  };
}

/** The instant at Stockholm wall-clock `date` ("YYYY-MM-DD") `time` ("HH:MM"), read as
 * the broker reads one (`service_windows::tz::from_local`, RFC 5545): in the autumn hour
 * that occurs twice, the first (summer-time) one; in the spring hour that does not exist,
 * with the offset before the gap (02:30 is 03:30 summer time). */
export function fromStockholm(date, time) {
  const [y, m, d] = date.split("-").map(Number);
  const [hh, mm] = (time || "00:00").split(":").map(Number);
  const wall = Date.UTC(y, m - 1, d, hh, mm);
  const HOUR = 3600000;
  for (const offset of [2 * HOUR, HOUR]) {
    const candidate = wall - offset;
    const back = stockholm(candidate);
    const [by, bm, bd] = back.date.split("-").map(Number);
    const [bh, bmin] = back.time.split(":").map(Number);
    if (Date.UTC(by, bm - 1, bd, bh, bmin) === wall) return new Date(candidate);
  }
  return new Date(wall - HOUR);
}

/** A `datetime-local` value ("YYYY-MM-DDTHH:MM") read as Stockholm time, as RFC 3339. */
export function stockholmInput(value) {
  if (!value) return null;
  const [date, time] = value.split("T");
  return fromStockholm(date, time).toISOString();
}

/** Days as "YYYY-MM-DD" strings: `addDays("2026-12-31", 1)` is "2027-01-01". */
export function addDays(date, days) {
  const [y, m, d] = date.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/** Monday-based weekday (0-6) of a "YYYY-MM-DD" day. */
export function weekdayOf(date) {
  const [y, m, d] = date.split("-").map(Number);
  return (new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7;
}

/** `?a=1&b=2` of the non-empty values of `params` (an object), or "". */
export function query(params) {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "" && value !== false) q.set(key, String(value));
  }
  const text = q.toString();
  return text ? `?${text}` : "";
}

/** GET a file from the admin API on this origin: `{ ok, status, text, filename, body }`;
 * `body` is the problem document of a refusal (for `problemText`), `filename` the one the
 * server named. Never throws: a network failure is status 0. */
export async function getFile(path, lang, accept) {
  let response;
  try {
    response = await fetch(path, {
      headers: { "Accept": `${accept}, application/problem+json`, "Accept-Language": lang },
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch {
    return { ok: false, status: 0, text: null, filename: null, body: null };
  }
  const disposition = response.headers.get("content-disposition") ?? "";
  const filename = /filename="([^"]+)"/.exec(disposition)?.[1] ?? null;
  if (response.ok) return { ok: true, status: response.status, text: await response.text(), filename, body: null };
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  return { ok: false, status: response.status, text: null, filename: null, body };
}

/** Every item of a paged listing (`path` without limit/cursor), up to `max`. */
export async function everything(ctx, path, max = 5000) {
  const items = [];
  let cursor = null;
  const sep = path.includes("?") ? "&" : "?";
  do {
    const answer = await ctx.api("GET", `${path}${sep}limit=500${cursor ? `&cursor=${cursor}` : ""}`);
    if (!answer.ok) return { ok: false, answer, items };
    items.push(...(answer.body?.items ?? []));
    cursor = answer.body?.next_cursor ?? null;
  } while (cursor && items.length < max);
  return { ok: true, items };
}
