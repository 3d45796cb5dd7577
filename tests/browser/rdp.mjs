// "Öppna i fjärrskrivbordsklient" in Debian's headless Chromium: logs in with the demo
// login, presses the button on the PROD app's tile, saves the download and reports what the
// page said. The caller checks the file itself.
// Usage: node rdp.mjs PORTAL_URL OUT.rdp
// Prints "result {json}" ({ filename, message, label }) and exits 0, or exits 1 with a reason.
import { chromium } from "playwright-core";

const [url, out] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
let failed = null;
try {
  // The portal's certificate is issued by the dev CA, which this browser does not know.
  const context = await browser.newContext({ ignoreHTTPSErrors: true, acceptDownloads: true });
  const page = await context.newPage();
  const expect = (ok, what) => { if (!ok) throw new Error(what); };
  const response = await page.goto(url);
  expect(response?.status() === 200, `GET ${url} answered ${response?.status()}`);
  await page.waitForSelector("#login:not([hidden])", { timeout: 10000 });
  await page.fill("#username", "demo");
  await page.press("#username", "Enter");
  await page.waitForSelector("#apps:not([hidden])", { timeout: 10000 });
  const button = page.locator(".env-prod .tile button.native");
  const label = (await button.textContent()).trim();
  const [download] = await Promise.all([
    page.waitForEvent("download", { timeout: 15000 }),
    button.click(),
  ]);
  await download.saveAs(out);
  await page.waitForFunction(() => document.getElementById("message").textContent !== "", null, { timeout: 10000 });
  const message = await page.textContent("#message");
  console.log(`result ${JSON.stringify({ filename: download.suggestedFilename(), message, label })}`);
} catch (error) {
  failed = error;
} finally {
  await browser.close();
}
if (failed) {
  console.error(`rdp download failed: ${failed.message}`);
  process.exit(1);
}
