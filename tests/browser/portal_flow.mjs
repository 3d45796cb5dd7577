// The portal as a user lives it, in Debian's headless Chromium at 1280×1024 (workstream D):
// logged out (axe, keyboard), login through the demo IdP (SAML), PROD and UTB apps told
// apart by more than colour, the open incident, the service-window banner and the admin message (hidden for
// the session, brought back), Procapita launched in the browser (the viewer connects to
// the demo host; axe on the viewer), back to "Mina sessioner" and "Återanslut" to the same
// session, an .rdp download, log off from "Mina sessioner", English chosen and found again
// in a fresh browser after login, log out. Then an admin: the portal's link to the
// console, the `notices` section (axe in Swedish and English), an announcement published
// and ended there.
// Usage: node portal_flow.mjs PORTAL_URL WINDOW_TITLE MESSAGE_TITLE ADMIN_NAME OUT_DIR INCIDENT_TITLE
// Prints "result {json}" and exits 0, or exits 1 with the reason.
import { checkA11y, expect, launch, newContext, tabOrder } from "./lib.mjs";

const [portal, windowTitle, messageTitle, adminName, outDir, incidentTitle] = process.argv.slice(2);
const origin = new URL(portal).origin;
const result = {};
const log = [];

function watch(page) {
  page.on("console", (m) => { if (m.type() === "error" || /Content Security Policy/i.test(m.text())) log.push(`console.${m.type()}: ${m.text()}`); });
  page.on("pageerror", (e) => log.push(`pageerror: ${e.message}`));
}

// SAML through the demo IdP, as a person clicks it.
async function samlLogin(page) {
  await page.goto(portal);
  await page.waitForSelector("#saml:not([hidden])", { timeout: 10000 });
  await Promise.all([
    page.waitForURL((u) => u.pathname === "/demo-idp/sso", { timeout: 20000 }),
    page.click("#saml-login"),
  ]);
  await page.click("button[name=user][value=demo]");
  const go = page.locator("form button[type=submit]").first();
  await Promise.all([
    page.waitForURL((u) => u.origin === origin && !u.pathname.startsWith("/saml/") && !u.pathname.startsWith("/demo-idp/"), { timeout: 20000 }),
    go.click(),
  ]);
  await page.waitForSelector("#apps:not([hidden])", { timeout: 10000 });
}

async function viewerConnected(page) {
  await page.waitForURL((u) => u.pathname === "/static/session.html", { timeout: 20000 });
  await page.waitForFunction(
    () => document.body.dataset.state === "closed"
      || (document.body.dataset.state === "connected" && Number(document.body.dataset.frames) >= 1),
    null, { timeout: 30000 });
  const state = await page.evaluate(() => document.body.dataset.state);
  expect(state === "connected", `the viewer did not connect (${state}): ${await page.textContent("#overlay-text")}`);
}

const mySessions = (page) => page.evaluate(async () => {
  const r = await fetch("/portal/api/sessions", { headers: { Accept: "application/json" } });
  return (await r.json()).sessions;
});

const browser = await launch();
let failed = null;
try {
  // --- Logged out ---------------------------------------------------------------------
  const context = await newContext(browser, { locale: "sv-SE", acceptDownloads: true });
  const page = await context.newPage();
  watch(page);
  await page.goto(portal);
  await page.waitForSelector("#login:not([hidden])", { timeout: 10000 });
  expect(await page.getAttribute("html", "lang") === "sv", "the portal starts in Swedish");
  await page.waitForFunction(() => document.getElementById("status-text").dataset.i18n !== "status-checking");
  expect(await page.getAttribute("#status-link", "href") === "/status", "Driftstatus links to /status");
  await checkA11y(page, "d-portal-login");
  const tabs = await tabOrder(page, 12);
  expect(tabs.length >= 4, `keyboard reaches the controls: ${JSON.stringify(tabs)}`);
  expect(tabs[0].text.startsWith("Hoppa"), `the skip link comes first: ${JSON.stringify(tabs[0])}`);
  const unmarked = tabs.filter((x) => !x.outline);
  expect(unmarked.length === 0, `focus not visible on ${JSON.stringify(unmarked)}`);
  // Refused: a name that does not exist, said in words and marked on the field.
  await page.fill("#username", "finns-inte");
  await page.click("#login-button");
  await page.waitForFunction(() => document.getElementById("message").textContent !== "");
  const refused = await page.textContent("#message");
  expect(/nekades/.test(refused), `login refusal: ${refused}`);
  expect(await page.getAttribute("#username", "aria-invalid") === "true", "the refused name is marked invalid");
  await checkA11y(page, "d-portal-refused");

  // --- Logged in: apps, banners --------------------------------------------------------
  await samlLogin(page);
  expect(await page.isHidden("#admin-link"), "a plain user sees no admin link");
  const prod = page.locator(".env[data-kind=PROD]");
  const utb = page.locator(".env[data-kind=UTB]");
  expect(await prod.locator(".tile h4", { hasText: /^Procapita$/ }).count() === 1, "Procapita in PROD");
  expect(await utb.locator(".tile h4", { hasText: /^Procapita UTB$/ }).count() === 1, "Procapita UTB in UTB");
  const look = (loc) => loc.evaluate((el) => ({ border: getComputedStyle(el).borderTopStyle, badge: el.querySelector(".env-badge").textContent, note: el.querySelector(".env-note").textContent }));
  const [prodLook, utbLook] = [await look(prod), await look(utb)];
  expect(prodLook.badge === "PROD" && utbLook.badge === "UTB", `badges ${prodLook.badge}/${utbLook.badge}`);
  expect(prodLook.border !== utbLook.border, `PROD and UTB frames differ in shape, not just colour: ${prodLook.border}/${utbLook.border}`);
  expect(/Inte riktiga uppgifter/.test(utbLook.note), `UTB says it is not real data: ${utbLook.note}`);

  await page.waitForSelector("#notices:not([hidden])", { timeout: 10000 });
  const banners = () => page.$$eval("#notices-list .notice-banner", (els) => els.map((e) => ({ key: e.dataset.key, heading: e.querySelector("h3").textContent, text: e.textContent })));
  let shown = await banners();
  const windowBanner = shown.find((b) => b.heading.includes(windowTitle));
  const messageBanner = shown.find((b) => b.heading.includes(messageTitle));
  expect(windowBanner && /servicefönster/i.test(windowBanner.heading) && /UTB/.test(windowBanner.text), `window banner: ${JSON.stringify(shown)}`);
  expect(messageBanner && /Viktigt/.test(messageBanner.heading), `message banner: ${JSON.stringify(shown)}`);
  // An open incident comes first, its kind in words, its state and the operator's word.
  expect(shown[0]?.heading.includes(incidentTitle) && /Driftstörning/.test(shown[0].heading) &&
    /PROD.*felsökning pågår/.test(shown[0].text) && shown[0].text.includes("Vi felsöker databasen."),
    `incident banner first: ${JSON.stringify(shown)}`);
  expect(await page.getAttribute("#notices", "aria-labelledby") === "notices-heading", "the banners are a labelled region");
  await checkA11y(page, "d-portal-apps");
  // Keyboard: from the top, every control of the logged-in page takes focus visibly, the
  // banners' "Dölj" and both buttons of each tile among them.
  await page.evaluate(() => document.activeElement?.blur());
  const loggedInTabs = await tabOrder(page, 40);
  const hiddenFocus = loggedInTabs.filter((x) => !x.outline);
  expect(hiddenFocus.length === 0, `focus not visible on ${JSON.stringify(hiddenFocus)}`);
  const reached = loggedInTabs.map((x) => x.text);
  for (const want of ["Dölj", "Öppna", "Öppna i fjärrskrivbordsklient", "Logga ut", "In English"]) {
    expect(reached.includes(want), `Tab never reaches "${want}": ${JSON.stringify(reached)}`);
  }
  // Hidden for now, by keyboard: gone from the list, one button brings it back; a reload in
  // the same browser session keeps it hidden.
  const hide = page.locator(`.notice-banner[data-key="${messageBanner.key}"] .notice-dismiss`);
  await hide.focus();
  await page.keyboard.press("Enter");
  shown = await banners();
  expect(!shown.some((b) => b.key === messageBanner.key), "the message is hidden");
  const restore = (await page.textContent("#notices-restore")).trim();
  expect(restore === "Visa 1 dolt meddelande", `restore button: ${restore}`);
  await page.reload();
  await page.waitForSelector("#apps:not([hidden])");
  expect(!(await banners()).some((b) => b.key === messageBanner.key), "still hidden after a reload");
  await page.click("#notices-restore");
  expect((await banners()).some((b) => b.key === messageBanner.key), "brought back");
  result.banners = (await banners()).map((b) => b.heading);

  // --- Launch in the browser, come back, reconnect -------------------------------------
  await prod.locator(".tile", { has: page.locator("h4", { hasText: /^Procapita$/ }) }).getByRole("button", { name: "Öppna", exact: true }).click();
  await viewerConnected(page);
  await checkA11y(page, "d-viewer");
  const first = (await mySessions(page)).filter((s) => s.app_name === "Procapita");
  expect(first.length === 1, `one Procapita session: ${JSON.stringify(first)}`);
  result.session = first[0].id;

  await page.goto(portal);
  await page.waitForSelector("#apps:not([hidden])");
  const row = page.locator(`#sessions-list li[data-session-id="${result.session}"]`);
  await row.waitFor({ timeout: 10000 });
  expect(/Procapita \(PROD\)/.test(await row.textContent()), `Mina sessioner: ${await row.textContent()}`);
  await row.getByRole("button", { name: "Återanslut" }).click();
  await viewerConnected(page);
  const again = (await mySessions(page)).filter((s) => s.app_name === "Procapita");
  expect(again.length === 1 && again[0].id === result.session, `reconnected to ${JSON.stringify(again)}, wanted ${result.session}`);

  // --- .rdp for the native client ------------------------------------------------------
  await page.goto(portal);
  await page.waitForSelector("#apps:not([hidden])");
  const [download] = await Promise.all([
    page.waitForEvent("download", { timeout: 15000 }),
    prod.locator(".tile button.native").first().click(),
  ]);
  const rdpPath = `${outDir}/procapita.rdp`;
  await download.saveAs(rdpPath);
  result.rdp = { filename: download.suggestedFilename(), path: rdpPath };
  await page.waitForFunction(() => document.getElementById("message").textContent.includes(".rdp"));

  // --- Log off from "Mina sessioner" -----------------------------------------------------
  await page.reload();
  await page.waitForSelector("#apps:not([hidden])");
  const live = page.locator(`#sessions-list li[data-session-id="${result.session}"]`);
  await live.waitFor();
  await live.getByRole("button", { name: "Logga ut" }).click();
  await page.waitForFunction(() => /utloggad/.test(document.getElementById("message").textContent), null, { timeout: 15000 });
  expect(await page.evaluate(() => document.activeElement?.id) === "sessions-heading", "focus moves to Mina sessioner");
  expect(await live.count() === 0, "the session left the list");
  expect(!(await mySessions(page)).some((s) => s.id === result.session), "the session is logged off");

  // --- English, remembered for the user -------------------------------------------------
  const [chosen] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === "/portal/api/me/language"),
    page.click("#lang-toggle"),
  ]);
  expect(chosen.status() === 200, `PUT me/language answered ${chosen.status()}`);
  expect(await page.getAttribute("html", "lang") === "en", "the page is English");
  expect((await page.textContent("#apps-heading")).trim() === "Your applications", "English headings");
  expect(/service window/i.test(await page.textContent("#notices")), "banners in English");
  expect((await page.textContent("#message")) === "", "no Swedish message left after the switch");
  await checkA11y(page, "d-portal-apps-en");
  await context.close();

  const fresh = await newContext(browser, { locale: "sv-SE" });
  const other = await fresh.newPage();
  watch(other);
  await other.goto(portal);
  await other.waitForSelector("#login:not([hidden])");
  expect(await other.getAttribute("html", "lang") === "sv", "a new browser starts in Swedish before login");
  await samlLogin(other);
  await other.waitForFunction(() => document.documentElement.lang === "en");
  expect((await other.textContent("#apps-heading")).trim() === "Your applications", "English after login in a fresh browser");
  // The viewer follows the same choice.
  await other.locator(".env[data-kind=UTB] .tile").getByRole("button", { name: "Open", exact: true }).click();
  await viewerConnected(other);
  expect(await other.getAttribute("html", "lang") === "en", "the viewer speaks English too");
  await checkA11y(other, "d-viewer-en");
  await other.goto(portal);
  await other.waitForSelector("#apps:not([hidden])");
  // Single logout: through the demo IdP's SLO and back to the portal, which says so.
  await other.click("#logout");
  await other.waitForFunction(() => /You are logged out/.test(document.getElementById("message")?.textContent ?? ""), null, { timeout: 15000 });
  expect(await other.isVisible("#login"), "the login view after logout");
  const after = await other.evaluate(async () => (await fetch("/portal/api/me")).status);
  expect(after === 401, `after logout /me answers ${after}`);
  await checkA11y(other, "d-portal-login-en");
  await fresh.close();

  // --- An admin: the console link and the notices section --------------------------------
  const adminContext = await newContext(browser, { locale: "sv-SE" });
  const admin = await adminContext.newPage();
  watch(admin);
  await admin.goto(portal);
  await admin.waitForSelector("#login:not([hidden])");
  await admin.fill("#username", adminName);
  await admin.click("#login-button");
  await admin.waitForSelector("#apps:not([hidden])");
  await admin.waitForSelector("#admin-link:not([hidden])");
  await Promise.all([admin.waitForURL((u) => u.pathname === "/admin"), admin.click("#admin-link")]);
  await admin.goto(`${origin}/admin#/notices`);
  await admin.waitForSelector("#view form");
  await admin.waitForSelector("#view table, #view p.empty");
  expect((await admin.textContent("#view")).includes(messageTitle), "the console lists the message the API created");
  await checkA11y(admin, "d-admin-notices");
  const title = `Test ${Date.now()}`;
  await admin.getByLabel("Rubrik").fill(title);
  await admin.getByLabel("Text", { exact: true }).fill("Kort avbrott i kväll.");
  await admin.getByLabel("Typ").selectOption("warning");
  await admin.getByRole("button", { name: "Publicera meddelandet" }).click();
  const created = admin.locator("#view tbody tr", { hasText: title });
  await created.waitFor({ timeout: 10000 });
  expect(/Visas nu/.test(await created.textContent()), `new message state: ${await created.textContent()}`);
  await created.getByRole("button", { name: `Avsluta meddelandet ”${title}”` }).click();
  await admin.locator("dialog.confirm").getByRole("button", { name: "Avsluta" }).click();
  await admin.waitForFunction((t) => [...document.querySelectorAll("#view tbody tr")].some((r) => r.textContent.includes(t) && r.textContent.includes("Avslutat")), title, { timeout: 10000 });
  result.adminMessage = title;
  await admin.click("#lang-toggle");
  await admin.waitForFunction(() => document.documentElement.lang === "en");
  await admin.waitForSelector("#view form");
  await admin.waitForFunction(() => document.querySelector("#view legend")?.textContent === "New message");
  await checkA11y(admin, "d-admin-notices-en");
  await adminContext.close();

  const csp = log.filter((l) => /Content Security Policy/i.test(l));
  expect(csp.length === 0, `CSP violations: ${csp.join("; ")}`);
} catch (error) {
  failed = error;
}
await browser.close();
if (failed) {
  console.error(`portal flow failed: ${failed.message}\n${log.join("\n")}`);
  process.exit(1);
}
console.log(`result ${JSON.stringify(result)}`);
