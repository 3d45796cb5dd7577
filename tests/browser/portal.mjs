// Opens the portal in Debian's headless Chromium and checks what a user sees: the Swedish
// landing page, a live "in operation" status, the English switch and that it is remembered.
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
  await page.click("#lang-toggle");
  expect((await page.textContent("h1")) === "Welcome to Hamn", "English heading missing after switch");
  expect((await page.getAttribute("html", "lang")) === "en", "page language is not en after switch");
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
