// Opens the portal in Debian's headless Chromium and checks what a user sees: the Swedish
// landing page, a live "in operation" status, the demo login (a refusal read out in the
// live region, logging in with the keyboard, apps by environment with UTB marked by label,
// pattern and frame style, not colour alone, logging out), the SITHS card login link, the English switch and that it
// is remembered. Also writes SCREENSHOT with "-apps" before ".png".
// Usage: node portal.mjs URL SCREENSHOT.png   (exit 0 on success, 1 with a reason otherwise)
import { chromium } from "playwright-core";

const [url, screenshot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
let failed = null;
try {
  // The dev server certificate is issued by the dev CA, which this browser does not know.
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 1024 } });
  const page = await context.newPage();
  const response = await page.goto(url);
  const expect = (ok, what) => { if (!ok) throw new Error(what); };
  expect(response?.status() === 200, `GET ${url} answered ${response?.status()}`);
  expect(response.headers()["content-security-policy"]?.includes("default-src 'self'"), "no CSP header");
  expect((await page.getAttribute("html", "lang")) === "sv", "page language is not sv");
  expect((await page.textContent("h1")) === "Välkommen till Hamn", "Swedish heading missing");
  await page.waitForFunction(() => document.getElementById("status-text")?.textContent === "Tjänsten är i drift.", null, { timeout: 10000 });
  await page.screenshot({ path: screenshot });

  // Demo login (`hamn up` turns it on).
  await page.waitForSelector("#login:not([hidden])");
  expect((await page.textContent("label[for=username]")) === "Användarnamn", "no user name label");
  expect((await page.textContent("#demo-hint")).includes("demoinloggning"), "no demo login hint");
  // SITHS card login (`hamn up` turns its listener on): a link to that listener.
  expect((await page.textContent("#siths-login")).trim() === "Logga in med SITHS-kort", "no SITHS button");
  const sithsHref = await page.getAttribute("#siths-login", "href");
  expect(/^https:\/\/localhost:\d+\/siths\/login$/.test(sithsHref) && !sithsHref.startsWith(url), `SITHS link: ${sithsHref}`);
  expect((await page.getAttribute("#message", "aria-live")) === "polite", "messages are not a live region");
  await page.fill("#username", "okänd");
  await page.click("#login-button");
  await page.waitForFunction(() => document.getElementById("message").textContent.startsWith("Inloggningen nekades"), null, { timeout: 10000 });
  expect((await page.getAttribute("#username", "aria-invalid")) === "true", "the refused name is not marked invalid");
  await page.fill("#username", "demo");
  await page.press("#username", "Enter");
  await page.waitForSelector("#apps:not([hidden])", { timeout: 10000 });
  expect((await page.textContent("#who")).includes("Åsa Öberg"), "the logged-in user is not shown");
  const environments = await page.$$eval(".env", (all) => all.map((env) => ({
    kind: env.dataset.kind,
    badge: env.querySelector(".env-badge").textContent,
    border: getComputedStyle(env).borderTopStyle,
    pattern: getComputedStyle(env).backgroundImage,
    apps: [...env.querySelectorAll(".tile h4")].map((h) => h.textContent),
    buttons: [...env.querySelectorAll(".tile button")].map((b) => b.textContent),
  })));
  const [prod, utb] = environments;
  expect(environments.length === 2 && prod.kind === "PROD" && utb.kind === "UTB", `environments: ${JSON.stringify(environments)}`);
  expect(prod.badge === "PROD" && utb.badge === "UTB", "environment labels missing");
  expect(prod.apps.join() === "Procapita" && utb.apps.join() === "Procapita UTB", `apps: ${JSON.stringify(environments)}`);
  expect(prod.buttons.join() === "Öppna,Öppna i fjärrskrivbordsklient", `tile buttons: ${prod.buttons}`);
  // UTB must not look like PROD even without colour: another frame style and a pattern.
  expect(prod.border === "solid" && utb.border === "dashed", `frames: ${prod.border} / ${utb.border}`);
  expect(prod.pattern === "none" && utb.pattern.includes("gradient"), `patterns: ${prod.pattern} / ${utb.pattern}`);
  await page.screenshot({ path: screenshot.replace(/\.png$/, "-apps.png"), fullPage: true });
  await page.click("#logout");
  await page.waitForSelector("#login:not([hidden])", { timeout: 10000 });
  expect((await page.textContent("#message")) === "Du är utloggad.", "no logout message");

  await page.click("#lang-toggle");
  expect((await page.textContent("h1")) === "Welcome to Hamn", "English heading missing after switch");
  expect((await page.getAttribute("html", "lang")) === "en", "page language is not en after switch");
  expect((await page.textContent("#siths-login")) === "Log in with a SITHS card", "no English SITHS button");
  expect((await page.getAttribute("#siths-login", "href")).endsWith("/siths/login?lang=en"), "the SITHS link does not ask for English");
  await page.reload();
  expect((await page.textContent("h1")) === "Welcome to Hamn", "language choice was not remembered");
} catch (error) {
  failed = error;
} finally {
  await browser.close();
}
if (failed) {
  console.error(`portal check failed: ${failed.message}`);
  process.exit(1);
}
console.log("portal check passed");
