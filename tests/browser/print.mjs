// Printing from a browser session, as a user does it: logs in to the portal as "demo" in
// Debian's headless Chromium, opens Procapita, presses the demo app's "Skriv ut" (the first
// client, "Åsa Öberg", is selected) and waits for the viewer's notification — a polite
// status region "Utskrift klar — Öppna PDF" whose links open the PDF in a new tab and
// download it. The portal's "Mina utskrifter" is empty before (Swedish and English) and
// lists the job with Öppna and Ladda ner after.
// The downloaded PDF is saved to PDF_OUT for the test to read with pdftotext.
// With EXPECT=refused (a print service whose job bound the document exceeds) the notice must be
// the refusal, the demo app's session must go on, and no PDF is saved.
// EXPECT_REASON (default job_too_large) is the refusal's reason code, e.g. "io" on a full disk.
// Usage: node print.mjs PORTAL_URL PDF_OUT [SCREENSHOT.png] [EXPECT] [EXPECT_REASON]
//   prints one "result {json}" line; exit 0 on success, 1 with a reason otherwise.
import { chromium } from "playwright-core";

const [portal, pdfOut, screenshot, expectOutcome = "ready", expectReason = "job_too_large"] =
  process.argv.slice(2);
// The demo app's "Skriv ut" button (x 758–858, y 320–356 on its 1280×800 screen).
const PRINT_BUTTON = [808, 338];

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
let failed = null;
const log = [];
const result = {};
try {
  const context = await browser.newContext({
    ignoreHTTPSErrors: true, acceptDownloads: true, viewport: { width: 1280, height: 800 },
  });
  const page = await context.newPage();
  page.on("console", (m) => log.push(`console.${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => log.push(`pageerror: ${e.message}`));
  const expect = (ok, what) => { if (!ok) throw new Error(what); };
  const poll = async (check, what, ms) => {
    const deadline = Date.now() + ms;
    for (;;) {
      const outcome = await check();
      if (outcome === true) return;
      if (Date.now() > deadline) throw new Error(`${what}: ${outcome}`);
      await page.waitForTimeout(50);
    }
  };

  await page.goto(portal);
  await page.fill("#username", "demo");
  await page.click("#login-button");
  // "Mina utskrifter" before any job: the empty state, in Swedish and in English.
  await page.locator('#prints-list[data-state="empty"]').waitFor({ timeout: 15000 });
  const listText = async () => (await page.textContent("#prints-list")).trim();
  expect(await listText() === "Du har inga utskrifter.", `empty list says ${await listText()}`);
  await page.click("#lang-toggle");
  expect(await page.textContent("#prints-heading") === "My print jobs", "no English heading");
  expect(await listText() === "You have no print jobs.", `English empty list says ${await listText()}`);
  await page.click("#lang-toggle");
  const tile = page.locator(".env-prod .tile", { has: page.locator("h4", { hasText: /^Procapita$/ }) });
  await tile.getByRole("button", { name: "Öppna", exact: true }).click();
  await page.waitForURL((u) => u.pathname === "/static/session.html", { waitUntil: "load" });
  await poll(async () => page.evaluate(() => {
    const s = document.body.dataset.state;
    if (s === "closed") return `closed: ${document.getElementById("overlay-text").textContent}`;
    return (s === "connected" && Number(document.body.dataset.frames) >= 1) || s;
  }), "the viewer did not connect", 60000);
  // The app is drawn (the title bar's blue) before anyone clicks on it.
  await poll(async () => page.evaluate(() => {
    const [r, g, b] = document.getElementById("screen").getContext("2d").getImageData(700, 24, 1, 1).data;
    return (r === 31 && g === 78 && b === 121) || `rgb(${r},${g},${b})`;
  }), "the demo app is not on the canvas", 30000);

  // Press "Skriv ut" on the remote app (the canvas is at 1:1 in a 1280×800 window).
  const box = await page.evaluate(() => {
    const r = document.getElementById("screen").getBoundingClientRect();
    return { left: r.left, top: r.top };
  });
  await page.mouse.click(box.left + PRINT_BUTTON[0], box.top + PRINT_BUTTON[1]);

  const notice = () => page.evaluate(() => {
    const el = document.getElementById("print");
    return {
      hidden: el.hidden,
      role: el.getAttribute("role"),
      live: el.getAttribute("aria-live"),
      outcome: el.dataset.outcome ?? null,
      reason: el.dataset.reason ?? null,
      jobId: el.dataset.jobId ?? null,
      heading: document.getElementById("print-heading").textContent,
      text: document.getElementById("print-text").textContent,
      open: document.getElementById("print-open").getAttribute("href"),
      openTarget: document.getElementById("print-open").getAttribute("target"),
      download: document.getElementById("print-download").getAttribute("href"),
      count: Number(document.body.dataset.prints ?? 0),
    };
  });
  await poll(async () => {
    const n = await notice();
    return (!n.hidden && n.count >= 1) || JSON.stringify(n);
  }, "no print notification", 90000);
  const n = await notice();
  result.notice = n;
  if (expectOutcome === "refused") {
    expect(n.outcome === "refused", `expected a refusal, got ${JSON.stringify(n)}`);
    expect(n.heading === "Utskriften kunde inte skapas", `heading ${JSON.stringify(n.heading)}`);
    expect(n.role === "status" && n.live === "polite", `not announced: ${JSON.stringify(n)}`);
    // The print service refuses the oversized job and says why, once: the gateway adds no
    // word of its own. The session goes on.
    expect(n.reason === expectReason, `reason ${JSON.stringify(n.reason)}`);
    await page.waitForTimeout(3000);
    result.last = await notice();
    expect(result.last.count === 1, `more than one notice for one job: ${JSON.stringify(result.last)}`);
    const state = await page.evaluate(() => document.body.dataset.state);
    expect(state === "connected", `the refusal ended the session: ${state}`);
  } else {
    // The ready job: its links, the PDF in a new tab and as a download, "Mina utskrifter".
    expect(n.outcome === "ready", `the print job was refused: ${n.text}`);
    expect(n.heading === "Utskrift klar — Öppna PDF", `heading ${JSON.stringify(n.heading)}`);
    expect(n.role === "status" && n.live === "polite", `not announced: ${JSON.stringify(n)}`);
    expect(n.open === `/portal/api/prints/${n.jobId}/pdf` && n.openTarget === "_blank", `open link ${n.open}`);
    expect(n.download === `/portal/api/prints/${n.jobId}/pdf?download=1`, `download link ${n.download}`);
    if (screenshot) await page.screenshot({ path: screenshot });

    // "Öppna PDF" by keyboard: the link is reachable and opens a new tab that loads the PDF
    // (headless Chromium may hand a PDF to its download manager instead of a viewer; the
    // tab's navigation answer is what counts).
    const pdfAnswers = [];
    context.on("response", (r) => {
      if (new URL(r.url()).pathname === n.open) pdfAnswers.push(r);
    });
    await page.focus("#print-open");
    const [tab] = await Promise.all([context.waitForEvent("page"), page.keyboard.press("Enter")]);
    await poll(async () => pdfAnswers.length > 0 || "none yet", "the new tab did not load the PDF", 15000);
    const shown = pdfAnswers[0];
    result.openedStatus = shown.status();
    result.openedType = shown.headers()["content-type"] ?? null;
    result.openedDisposition = shown.headers()["content-disposition"] ?? "";
    expect(shown.status() === 200, `the PDF answered ${shown.status()}`);
    expect(result.openedType?.startsWith("application/pdf"), `the new tab got ${result.openedType}`);
    expect(!result.openedDisposition.startsWith("attachment"), "Öppna PDF downloads instead of showing");
    await tab.close().catch(() => {});

    // "Ladda ner": a download of the same PDF.
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#print-download")]);
    await download.saveAs(pdfOut);
    result.downloadName = download.suggestedFilename();

    // Closing the notice leaves the session running.
    await page.click("#print-close");
    await poll(async () => (await notice()).hidden || "still shown", "the notice did not close", 5000);
    const state = await page.evaluate(() => document.body.dataset.state);
    expect(state === "connected", `the print ended the session: ${state}`);

    // "Mina utskrifter" in the portal lists the job.
    const portalPage = await context.newPage();
    await portalPage.goto(portal);
    const row = portalPage.locator(`#prints-list li[data-job-id="${n.jobId}"]`);
    await row.waitFor({ timeout: 15000 });
    result.listed = await row.textContent();
    expect(await row.getByRole("link", { name: "Öppna" }).count() === 1, "no Öppna in Mina utskrifter");
    expect(await row.getByRole("link", { name: "Ladda ner" }).count() === 1, "no Ladda ner in Mina utskrifter");
  }
} catch (error) {
  failed = error;
} finally {
  await browser.close();
}
if (failed) {
  console.log(`FAILED: ${failed.message}\n${log.slice(-40).join("\n")}`);
  process.exit(1);
}
console.log(`result ${JSON.stringify(result)}`);
