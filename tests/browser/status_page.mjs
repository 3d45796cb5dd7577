// The public status page and the incidents section of the admin console, in Debian's
// headless Chromium against a real `hamn up`: the operator `drift` posts an incident for
// PROD in the console; the status page (another browser context, no login) shows PROD in
// "Störning" with the incident and its update, UTB still "I drift", the seeded service
// window and the calendars; in English by its language link and by Accept-Language; the
// operator updates and resolves it and the page shows PROD in operation again with the
// incident among the resolved ones. axe-core on the page (sv, en) and on the section
// (sv, en), zero serious violations; screenshots `c-*` kept as artefacts.
// Usage: node status_page.mjs GATEWAY_URL   (exit 0 on success, 1 with a reason otherwise)
import { checkA11y, expect, launch, newContext, screenshot } from "./lib.mjs";

const [base] = process.argv.slice(2);
const TITLE = "Procapita svarar långsamt";
const browser = await launch();
let failed = null;

/** The state cell's text of an environment row on the status page. */
async function stateOf(page, env) {
  return (await page.textContent(`table.states tr[data-environment="demo-${env}"] td .state`))?.trim();
}

async function publicPage(context, query = "") {
  const page = await context.newPage();
  const response = await page.goto(`${base}/status${query}`);
  expect(response?.status() === 200, `GET /status${query} answered ${response?.status()}`);
  expect(response.headers()["content-security-policy"]?.includes("default-src 'self'"), "no CSP on /status");
  expect(await page.evaluate(() => document.scripts.length === 0), "the status page needs no script");
  expect(await page.evaluate(() => [...document.querySelectorAll("[style]")].length === 0), "inline styles on /status");
  const css = await page.evaluate(() => getComputedStyle(document.querySelector(".banner")).display);
  expect(css === "flex", "status.css is not applied");
  return page;
}

try {
  // The operator logs in (demo login) and opens the incidents section.
  const operator = await newContext(browser);
  const admin = await operator.newPage();
  await admin.goto(`${base}/`);
  await admin.waitForSelector("#login:not([hidden])");
  await admin.fill("#username", "drift");
  await admin.press("#username", "Enter");
  await admin.waitForSelector("#apps:not([hidden])", { timeout: 10000 });
  await admin.goto(`${base}/admin#/incidents`);
  await admin.waitForSelector("form.incident-new", { timeout: 10000 });
  expect((await admin.textContent("#view h1")) === "Störningar", "no incidents heading");
  expect((await admin.textContent(".incident-list")).includes("Inga pågående störningar."), "no empty state");
  await checkA11y(admin, "c-incidents-empty");

  // Post: PROD, disturbance.
  const create = admin.locator("form.incident-new");
  await create.getByLabel("Rubrik").fill(TITLE);
  const prodOption = await create.getByLabel("Miljö").locator("option", { hasText: "PROD" }).getAttribute("value");
  await create.getByLabel("Miljö").selectOption(prodOption);
  await create.getByLabel("Allvarlighetsgrad").selectOption("disturbance");
  await create.getByLabel("Meddelande").fill("Det tar lång tid att öppna Procapita. Vi undersöker orsaken.");
  await create.getByRole("button", { name: "Publicera" }).click();
  await admin.waitForSelector(`article.incident h3:text("${TITLE}")`, { timeout: 10000 });
  expect((await admin.textContent("#message")) === "Störningen är publicerad.", "no confirmation after posting");
  const article = admin.locator("article.incident", { hasText: TITLE });
  expect((await article.textContent()).includes("av Dag Drift"), "the update does not name its author");
  await checkA11y(admin, "c-incidents");

  // The public page, in a context that never logged in (a Swedish browser: Chromium's
  // default locale would ask for English by Accept-Language).
  const visitor = await newContext(browser, { locale: "sv-SE" });
  let page = await publicPage(visitor);
  expect((await page.getAttribute("html", "lang")) === "sv", "status page is not in Swedish");
  expect((await page.textContent("h1")) === "Driftstatus", "no Swedish heading");
  expect((await stateOf(page, "prod")) === "⚠ Störning", `PROD state: ${await stateOf(page, "prod")}`);
  expect((await stateOf(page, "utb")) === "✓ I drift", `UTB state: ${await stateOf(page, "utb")}`);
  const open = await page.textContent("section[aria-labelledby=open]");
  expect(open.includes(TITLE) && open.includes("Vi undersöker orsaken.") && open.includes("Felsökning pågår"), `open incidents: ${open}`);
  const windows = await page.textContent("section[aria-labelledby=windows] table");
  expect(windows.includes("Uppgradering Lifecare"), `the seeded window is missing: ${windows}`);
  const feeds = await page.$$eval("section[aria-labelledby=feeds] a", (links) => links.map((a) => a.getAttribute("href")));
  for (const feed of ["/status/calendar.ics", "/status/demo/prod/calendar.ics", "/status/demo/utb/calendar.ics"]) {
    expect(feeds.includes(feed), `feed link ${feed} missing: ${feeds}`);
  }
  const ical = await page.request.get(`${base}/status/demo/prod/calendar.ics`);
  expect(ical.status() === 200 && (await ical.text()).startsWith("BEGIN:VCALENDAR"), "the PROD calendar does not answer");
  expect(await page.$("table.availability caption"), "no availability table");
  await checkA11y(page, "c-status");

  // English by the language link, and by Accept-Language.
  await page.click("a[hreflang=en]");
  await page.waitForURL(/lang=en/);
  expect((await page.getAttribute("html", "lang")) === "en", "no English page");
  expect((await page.textContent("h1")) === "Service status", "no English heading");
  expect((await stateOf(page, "prod")) === "⚠ Disturbance", `PROD state (en): ${await stateOf(page, "prod")}`);
  expect((await page.textContent("section[aria-labelledby=windows]")).includes("Uppgradering Lifecare"), "window missing (en)");
  await checkA11y(page, "c-status-en");
  const english = await newContext(browser, { locale: "en-GB" });
  const byHeader = await publicPage(english);
  expect((await byHeader.textContent("h1")) === "Service status", "Accept-Language: en did not give English");
  await english.close();

  // An update, then resolve.
  const update = article.locator("form.incident-update");
  await update.getByLabel("Meddelande").fill("Orsaken är en överbelastad databas.");
  await update.getByLabel("Läge").selectOption("identified");
  await update.getByRole("button", { name: "Publicera uppdatering" }).click();
  await admin.waitForFunction(() => document.getElementById("message").textContent === "Uppdateringen är publicerad.", null, { timeout: 10000 });
  page = await publicPage(visitor);
  const updated = await page.textContent("section[aria-labelledby=open]");
  expect(updated.includes("Orsaken är en överbelastad databas.") && updated.includes("Orsaken är känd"), `update missing: ${updated}`);
  const resolve = admin.locator("article.incident", { hasText: TITLE }).first().locator("form.incident-resolve");
  await resolve.getByRole("button", { name: "Markera som löst" }).click();
  await admin.waitForFunction(() => document.getElementById("message").textContent === "Störningen är markerad som löst.", null, { timeout: 10000 });
  // The section renders again after the answer; the ongoing list empties.
  await admin.waitForFunction(() => document.querySelector(".incident-list")?.textContent.includes("Inga pågående störningar."), null, { timeout: 10000 });
  await admin.waitForFunction((title) => document.querySelectorAll(".incident-list")[1]?.textContent.includes(title), TITLE, { timeout: 10000 });
  page = await publicPage(visitor);
  expect((await stateOf(page, "prod")) === "✓ I drift", `PROD after resolve: ${await stateOf(page, "prod")}`);
  const resolved = await page.textContent("section[aria-labelledby=resolved]");
  expect(resolved.includes(TITLE) && resolved.includes("Löst"), `resolved incidents: ${resolved}`);
  expect((await page.textContent("section[aria-labelledby=open]")).includes("Inga pågående störningar."), "open list not empty");
  await screenshot(page, "c-status-resolved");

  // The console in English.
  await admin.click("#lang-toggle");
  await admin.waitForFunction(() => document.querySelector("#view h1")?.textContent === "Incidents", null, { timeout: 10000 });
  await admin.waitForSelector("form.incident-new legend:text('Post an incident')");
  await checkA11y(admin, "c-incidents-en");
} catch (error) {
  failed = error;
} finally {
  await browser.close();
}
if (failed) {
  console.error(`status page check failed: ${failed.stack ?? failed.message}`);
  process.exit(1);
}
