// The admin console's day-to-day sections in Chromium, as a tenant-admin of Demo kommun:
// sessions (a colleague's live session in a second browser: a message shown in their
// viewer, a disconnect that closes it, a logoff after confirming), a service window announced 10 days
// ahead (in the calendar and the list), one under 7 days refused by the form and, with the
// browser's clock behind, by the broker (both in Swedish, naming the rule), an access
// revoked from the access review and the review downloaded as CSV, the audit log filtered
// and exported as CSV and JSON lines, quotas and security events; another tenant's ids are
// 404 through /api/v1 on this origin and nothing of it shows; the operator is offered
// emergency windows and sets a limit. axe-core on every section in
// Swedish and on one in English; screenshots B-<section>[-en].
// Usage: node admin_operations.mjs URL CONFIG.json   (exit 0 on success, 1 with a reason)
//   CONFIG: { login, operator, victim: {name_id, display_name}, session_user, window_title,
//             other: {tenant, environment, window, user, words: [text that must not show]} }
import { readFileSync } from "node:fs";
import { checkA11y, expect, launch, newContext } from "./lib.mjs";

const [base, configPath] = process.argv.slice(2);
const config = JSON.parse(readFileSync(configPath, "utf8"));
const url = base.replace(/\/$/, "");
const DAY = 24 * 3600 * 1000;

/** Stockholm calendar day ("YYYY-MM-DD") of an instant. */
function stockholmDate(ms) {
  return new Intl.DateTimeFormat("sv-SE", { timeZone: "Europe/Stockholm", year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date(ms));
}

async function login(page, name = config.login) {
  await page.goto(`${url}/`);
  await page.waitForSelector("#login:not([hidden])");
  await page.fill("#username", name);
  await page.press("#username", "Enter");
  await page.waitForSelector("#apps:not([hidden])", { timeout: 15000 });
}

const LABELS = {
  sessions: "Sessioner",
  "service-windows": "Servicefönster",
  quotas: "Kvoter och användning",
  "access-review": "Behörighetsgranskning",
  audit: "Granskningslogg",
  "security-events": "Säkerhetshändelser",
};

/** Opens a section (by its link in the navigation, as a keyboard user would reach it)
 * and waits until its heading and `ready` are there. */
async function section(page, id, ready) {
  if (!page.url().includes("/admin")) {
    await page.goto(`${url}/admin`);
    await page.waitForSelector("#section-links a", { timeout: 15000 });
  }
  await page.focus(`#section-links a[href="#/${id}"]`);
  await page.keyboard.press("Enter");
  await page.waitForFunction((label) => document.querySelector("#view h1")?.textContent === label, LABELS[id], { timeout: 15000 });
  expect((await page.getAttribute(`#section-links a[href="#/${id}"]`, "aria-current")) === "page", `${id} is not marked current`);
  await page.waitForSelector(`#view .section-body ${ready}`, { timeout: 15000 });
}

/** Waits for the live region to say something starting with `start`; fails with what it
 * said instead. */
async function message(page, start) {
  try {
    await page.waitForFunction((s) => document.getElementById("message")?.textContent.startsWith(s), start, { timeout: 15000 });
  } catch {
    throw new Error(`expected a message starting "${start}", the page said "${await page.textContent("#message")}"`);
  }
  return page.textContent("#message");
}

/** What must never appear for this tenant-admin: another tenant's names. */
async function nothingOfTheOther(page, where) {
  const text = await page.evaluate(() => document.body.innerText);
  for (const word of config.other.words) expect(!text.includes(word), `${where} shows ${word} of another tenant`);
}

/** An admin API call from the page (same origin, this session, its CSRF token). */
async function apiFromPage(page, method, path, body) {
  return page.evaluate(async ({ method, path, body }) => {
    const me = await (await fetch("/portal/api/me", { credentials: "same-origin" })).json();
    const response = await fetch(path, {
      method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": me.csrf_token, "Accept": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, text: await response.text() };
  }, { method, path, body });
}

async function downloadOf(page, click) {
  const [download] = await Promise.all([page.waitForEvent("download", { timeout: 15000 }), click()]);
  return { name: download.suggestedFilename(), text: readFileSync(await download.path(), "utf8") };
}

const browser = await launch();
let failed = null;
try {
  const context = await newContext(browser);
  const page = await context.newPage();
  const posts = [];
  page.on("request", (r) => { if (r.method() !== "GET") posts.push(`${r.method()} ${new URL(r.url()).pathname}`); });
  await login(page);

  // The colleague opens Procapita in the browser: a live session on the demo host.
  const colleagueContext = await newContext(browser);
  const colleague = await colleagueContext.newPage();
  await colleague.goto(`${url}/`);
  await colleague.waitForSelector("#login:not([hidden])");
  await colleague.fill("#username", config.victim.name_id);
  await colleague.press("#username", "Enter");
  const tile = colleague.locator(".env-prod .tile", { has: colleague.locator("h4", { hasText: /^Procapita$/ }) });
  await tile.getByRole("button", { name: "Öppna", exact: true }).click();
  await colleague.waitForURL((u) => u.pathname === "/static/session.html", { waitUntil: "load" });
  await colleague.waitForFunction(() => document.body.dataset.state === "connected", null, { timeout: 30000 });

  // Sessions: listed as active; a message reaches the viewer; a disconnect closes it; a
  // logoff (after confirming) ends it.
  const who = config.session_user;
  await section(page, "sessions", "form[role=search]");
  await page.waitForSelector(`tbody tr:has-text("${who}") :text("aktiv")`, { timeout: 15000 });
  await checkA11y(page, "B-sessions");
  await page.click(`button[aria-label="Skicka meddelande: ${who}"]`);
  await page.fill("textarea[name=text]", "Procapita startas om 18:00.");
  await page.fill("input[name=sender]", "Anna på IT");
  await page.click("form.admin-form button[type=submit]");
  expect((await message(page, "Meddelandet till")).includes(who), "no message receipt");
  await colleague.waitForFunction(() => document.body.dataset.adminMessages === "1", null, { timeout: 15000 });
  expect((await colleague.textContent("#message-text")) === "Procapita startas om 18:00.", "the viewer does not show the message");
  expect((await colleague.textContent("#message-from")).includes("Anna på IT"), "the viewer does not name the sender");
  await page.click(`button[aria-label="Koppla från: ${who}"]`);
  await message(page, `${who} är frånkopplad`);
  await colleague.waitForFunction(() => document.body.dataset.state === "closed", null, { timeout: 15000 });
  await page.selectOption("select[name=state]", "");
  await page.click("form[role=search] button[type=submit]");
  await page.waitForSelector(`tbody tr:has-text("${who}") :text("frånkopplad")`, { timeout: 15000 });
  await page.click(`button[aria-label="Logga ut: ${who}"]`);
  await page.waitForSelector("dialog.confirm[open]");
  expect((await page.textContent("dialog.confirm p")).includes("osparat arbete"), "logoff is not explained before confirming");
  await page.click("dialog.confirm button.danger");
  await message(page, `${who} loggas ut`);
  await page.waitForSelector(`tbody tr:has-text("${who}") :text("avslutad")`, { timeout: 15000 });
  await colleagueContext.close();
  await nothingOfTheOther(page, "sessions");

  // Service windows: announce one 10 days ahead, 22:00-02:00 Swedish time, in PROD.
  await section(page, "service-windows", "table.month");
  expect(await page.$("input[name=emergency]") === null, "a tenant-admin is offered emergency windows");
  const start = stockholmDate(Date.now() + 10 * DAY);
  const end = stockholmDate(Date.now() + 11 * DAY);
  const prod = await page.$eval("select[name=environment_id]", (s) => [...s.options].find((o) => o.textContent.startsWith("PROD"))?.value);
  await page.selectOption("select[name=environment_id]", prod);
  await page.fill("input[name=title]", config.window_title);
  await page.fill("textarea[name=description]", "Procapita är inte tillgängligt medan lagringen byts.");
  await page.fill("input[name=start_date]", start);
  await page.fill("input[name=start_time]", "22:00");
  await page.fill("input[name=end_date]", end);
  await page.fill("input[name=end_time]", "02:00");
  await page.fill("input[name=logoff_after_minutes]", "15");
  await page.click("form.admin-form button[type=submit]");
  await message(page, `Servicefönstret ”${config.window_title}” är inlagt`);
  expect(await page.evaluate(() => document.activeElement?.dataset?.window !== undefined), "focus is not on the new window's row");
  const row = await page.textContent(`.window-list tbody tr:has-text("${config.window_title}")`);
  expect(row.includes("PROD") && row.includes("15 min efter start") && row.includes("planerat"), `list row: ${row}`);
  // The calendar: forward to the window's month; its day lists it as text.
  const months = (Number(start.slice(0, 4)) * 12 + Number(start.slice(5, 7))) - (Number(stockholmDate(Date.now()).slice(0, 4)) * 12 + Number(stockholmDate(Date.now()).slice(5, 7)));
  for (let i = 0; i < months; i += 1) {
    await page.focus("button[data-nav='1']");
    await page.keyboard.press("Enter");
  }
  const cell = await page.textContent(`table.month td[data-day="${start}"]`);
  expect(cell.includes(`22:00–24:00 PROD: ${config.window_title}`), `calendar day ${start}: ${cell}`);
  expect((await page.textContent("table.month caption")).startsWith("Servicefönster i"), "calendar caption");
  await page.click(`table.month td[data-day="${start}"] button.link`);
  expect(await page.evaluate(() => document.activeElement?.dataset?.window !== undefined), "the calendar entry does not lead to the list");
  await checkA11y(page, "B-service-windows");

  // A weekly window (Mondays and Thursdays 19:00, an hour) is listed by its rule, shows on
  // its days, and is cancelled after a confirmation.
  await page.selectOption("select[name=kind]", "weekly");
  await page.waitForSelector("fieldset.days");
  await page.selectOption("select[name=environment_id]", prod);
  await page.fill("input[name=title]", "Veckovis omstart");
  await page.check("fieldset.days input[value=MO]");
  await page.check("fieldset.days input[value=TH]");
  await page.fill("input[name=start_time]", "19:00");
  await page.fill("input[name=duration_minutes]", "60");
  await page.fill("input[name=first_date]", start);
  await page.click("form.admin-form button[type=submit]");
  await message(page, "Servicefönstret ”Veckovis omstart” är inlagt");
  const weekly = await page.textContent(".window-list tbody tr:has-text('Veckovis omstart')");
  // The broker keeps a weekly rule from its first occurrence: the first Monday or Thursday.
  const firstOccurrence = [0, 1, 2, 3, 4, 5, 6]
    .map((i) => new Date(Date.parse(`${start}T12:00:00Z`) + i * DAY).toISOString().slice(0, 10))
    .find((d) => [1, 4].includes(new Date(`${d}T12:00:00Z`).getUTCDay()));
  expect(weekly.includes(`Varje måndag och torsdag 19:00–20:00 (60 min), från ${firstOccurrence}`), `weekly row: ${weekly}`);
  const weeklyDays = await page.$$eval("table.month td", (cells) => cells
    .filter((c) => c.textContent.includes("19:00–20:00 PROD: Veckovis omstart")).map((c) => c.dataset.day));
  const starting = (await page.$$eval("table.month td", (cells) => cells.map((c) => c.dataset.day))).filter((d) => d >= start);
  const expected = starting.filter((d) => [1, 4].includes(new Date(`${d}T12:00:00Z`).getUTCDay()));
  expect(weeklyDays.length > 0 && weeklyDays.join() === expected.join(), `weekly days ${weeklyDays} (expected ${expected})`);
  await page.click("button[aria-label='Ställ in: Veckovis omstart']");
  await page.waitForSelector("dialog.confirm[open]");
  await page.click("dialog.confirm button.danger");
  await message(page, "Servicefönstret ”Veckovis omstart” är inställt");
  expect(await page.$(".window-list tbody tr:has-text('Veckovis omstart')") === null, "the cancelled window is still listed");
  expect(!(await page.textContent("table.month")).includes("Veckovis omstart"), "the cancelled window is still in the calendar");
  await page.selectOption("select[name=kind]", "once");
  await page.waitForSelector("input[name=start_date]");

  // Under 7 days: the form refuses it itself, naming the rule, and sends nothing.
  const before = posts.length;
  await page.selectOption("select[name=environment_id]", prod);
  await page.fill("input[name=title]", "För tidigt");
  await page.fill("input[name=start_date]", stockholmDate(Date.now() + 3 * DAY));
  await page.fill("input[name=start_time]", "22:00");
  await page.fill("input[name=end_date]", stockholmDate(Date.now() + 4 * DAY));
  await page.fill("input[name=end_time]", "02:00");
  await page.click("form.admin-form button[type=submit]");
  await page.waitForSelector("form.admin-form .form-error:not([hidden])");
  const refusal = await page.textContent("form.admin-form .form-error");
  expect(refusal.includes("minst 7 dagar i förväg") && refusal.includes("7 dagars varsel"), `form refusal: ${refusal}`);
  expect((await page.getAttribute("input[name=start_date]", "aria-invalid")) === "true", "the start date is not marked");
  expect(posts.length === before, `the form sent a refused window: ${posts.slice(before)}`);
  await nothingOfTheOther(page, "service windows");

  // Quotas: limits and use, read-only for a tenant-admin.
  await section(page, "quotas", "table");
  expect((await page.textContent("#view")).includes("Gränserna sätts av driften"), "quotas are not read-only for a tenant-admin");
  await checkA11y(page, "B-quotas");

  // Access review: revoke the victim in one step, then download the CSV.
  await section(page, "access-review", "table");
  const victim = config.victim.display_name;
  expect((await page.textContent(`tbody tr:has-text("${victim}")`)).includes("Procapita"), "the victim has no access to revoke");
  await checkA11y(page, "B-access-review");
  await page.click(`button[aria-label="Ta bort åtkomst: ${victim}"]`);
  await page.waitForSelector("dialog.confirm[open]");
  await page.click("dialog.confirm button.danger");
  const revoked = await message(page, "Åtkomsten för");
  expect(revoked.includes(victim) && revoked.includes("1 direkta behörigheter"), `revoke receipt: ${revoked}`);
  const after = await page.textContent(`tbody tr:has-text("${victim}")`);
  expect(after.includes("ingen") && !after.includes("Procapita ("), `after revoke: ${after}`);
  const csv = await downloadOf(page, () => page.click("text=Ladda ner som CSV"));
  expect(/^access-review-demo-\d{4}-\d{2}-\d{2}\.csv$/.test(csv.name), `CSV name ${csv.name}`);
  expect(csv.text.startsWith("user_id,name_id,display_name"), `CSV header: ${csv.text.slice(0, 80)}`);
  expect(csv.text.includes(config.victim.name_id), "the victim is not in the CSV");
  await nothingOfTheOther(page, "access review");

  // Audit log: filtered to the revoke; exported as CSV and JSON lines.
  await section(page, "audit", "form[role=search]");
  await page.fill("input[name=action]", "access.revoke");
  await page.click("form[role=search] button[type=submit]");
  await page.waitForFunction(() => document.querySelectorAll("tbody tr").length === 1, null, { timeout: 15000 });
  expect((await page.textContent("tbody tr")).includes("access.revoke"), "filtered audit row");
  await page.click("tbody tr summary");
  expect((await page.textContent("tbody tr details")).includes("direct_entitlements"), "audit details lack the change");
  await checkA11y(page, "B-audit");
  const auditCsv = await downloadOf(page, () => page.click("text=Exportera CSV"));
  const lines = auditCsv.text.trim().split("\r\n");
  expect(lines[0].startsWith("id,at,tenant_id,actor_kind"), `audit CSV header: ${lines[0]}`);
  expect(lines.length === 2 && lines[1].includes(",access.revoke,"), `audit CSV: ${auditCsv.text}`);
  const jsonl = await downloadOf(page, () => page.click("text=Exportera JSON lines"));
  const events = jsonl.text.trim().split("\n").map((l) => JSON.parse(l));
  expect(jsonl.name.endsWith(".jsonl") && events.length === 1 && events[0].action === "access.revoke", `JSON lines: ${jsonl.text}`);
  expect(events[0].actor_kind === "user", `the revoke is not the admin's: ${jsonl.text}`);
  await nothingOfTheOther(page, "audit log");

  // Security events.
  await section(page, "security-events", "form[role=search]");
  await page.waitForSelector("#view table, #view .empty", { timeout: 15000 });
  await checkA11y(page, "B-security-events");

  // Another tenant does not exist here: its ids are 404 through /api/v1 on this origin.
  const o = config.other;
  for (const [method, path, body] of [
    ["GET", `/api/v1/tenants/${o.tenant}`],
    ["GET", `/api/v1/environments/${o.environment}`],
    ["GET", `/api/v1/service-windows/${o.window}`],
    ["GET", `/api/v1/users/${o.user}`],
    ["GET", `/api/v1/tenants/${o.tenant}/service-windows`],
    ["GET", `/api/v1/tenants/${o.tenant}/access-review`],
    ["GET", `/api/v1/tenants/${o.tenant}/limits`],
    ["POST", `/api/v1/environments/${o.environment}/service-windows`, { title: "x", starts_at: new Date(Date.now() + 9 * DAY).toISOString(), ends_at: new Date(Date.now() + 9 * DAY + 3600000).toISOString() }],
    ["PATCH", `/api/v1/service-windows/${o.window}`, { title: "x" }],
    ["DELETE", `/api/v1/service-windows/${o.window}`],
    ["POST", `/api/v1/tenants/${o.tenant}/access-review/revoke`, { user_id: o.user }],
  ]) {
    const answer = await apiFromPage(page, method, path, body);
    expect(answer.status === 404, `${method} ${path} answered ${answer.status}: ${answer.text}`);
  }
  for (const path of [`/api/v1/audit?tenant_id=${o.tenant}`, `/api/v1/sessions?tenant_id=${o.tenant}`, `/api/v1/security-events?tenant_id=${o.tenant}`]) {
    const answer = await apiFromPage(page, "GET", path);
    expect(answer.status === 200 && JSON.parse(answer.text).items.length === 0, `${path}: ${answer.text}`);
  }
  const foreignExport = await apiFromPage(page, "GET", `/api/v1/audit/export?format=jsonl&tenant_id=${o.tenant}`);
  expect(foreignExport.status === 200 && foreignExport.text === "", `foreign export: ${foreignExport.text}`);

  // English, on the service windows.
  await section(page, "service-windows", "table.month");
  await page.click("#lang-toggle");
  await page.waitForFunction(() => document.querySelector("#view h1")?.textContent === "Service windows", null, { timeout: 15000 });
  await page.waitForSelector("table.month caption:has-text('Service windows in')");
  expect((await page.getAttribute("html", "lang")) === "en", "lang is not en");
  await checkA11y(page, "B-service-windows-en");
  await page.click("#lang-toggle");
  await page.waitForFunction(() => document.querySelector("#view h1")?.textContent === "Servicefönster", null, { timeout: 15000 });

  // A browser whose clock is 5 days behind lets a window 3 days ahead through the form;
  // the broker refuses it and the console says why in Swedish.
  const behind = await newContext(browser);
  const late = await behind.newPage();
  await late.clock.install({ time: new Date(Date.now() - 5 * DAY) });
  await login(late);
  await section(late, "service-windows", "table.month");
  const lateProd = await late.$eval("select[name=environment_id]", (s) => [...s.options].find((x) => x.textContent.startsWith("PROD"))?.value);
  await late.selectOption("select[name=environment_id]", lateProd);
  await late.fill("input[name=title]", "För tidigt enligt brokern");
  await late.fill("input[name=start_date]", stockholmDate(Date.now() + 3 * DAY));
  await late.fill("input[name=start_time]", "22:00");
  await late.fill("input[name=end_date]", stockholmDate(Date.now() + 4 * DAY));
  await late.fill("input[name=end_time]", "02:00");
  const [refused] = await Promise.all([
    late.waitForResponse((r) => r.request().method() === "POST" && r.url().includes("/service-windows"), { timeout: 15000 }),
    late.click("form.admin-form button[type=submit]"),
  ]);
  expect(refused.status() === 422, `the broker answered ${refused.status()}`);
  await late.waitForSelector("form.admin-form .form-error:not([hidden])");
  const serverRefusal = await late.textContent("form.admin-form .form-error");
  expect(serverRefusal.includes("minst 7 dagar i förväg") && serverRefusal.includes("Startdatum"), `broker refusal: ${serverRefusal}`);
  expect(!/announced|ahead/.test(serverRefusal), `the refusal is not in Swedish: ${serverRefusal}`);
  await behind.close();

  // The operator (drift): the emergency choice is offered, and the limits can be set.
  const operatorContext = await newContext(browser);
  const operator = await operatorContext.newPage();
  await login(operator, config.operator);
  await section(operator, "service-windows", "table.month");
  expect(await operator.$("input[name=emergency]") !== null, "an operator is not offered emergency windows");
  await section(operator, "quotas", "form.admin-form");
  await operator.fill("input[name=max_sessions]", "40");
  await operator.click("form.admin-form button[type=submit]");
  await message(operator, "Gränserna är sparade");
  const limitRow = await operator.textContent("tbody tr:has-text('Samtidiga sessioner i organisationen')");
  expect(limitRow.includes("40") && limitRow.includes("gott om utrymme"), `limit row: ${limitRow}`);
  await checkA11y(operator, "B-quotas-operator");
  await operatorContext.close();
  await context.close();
} catch (error) {
  failed = error;
} finally {
  await browser.close();
}
if (failed) {
  console.error(`admin operations check failed: ${failed.stack ?? failed.message}`);
  process.exit(1);
}
console.log("admin operations: ok");
