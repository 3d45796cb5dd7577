// Logs in through the built-in demo IdP (`gateway.demo_idp`, `hamn up`) in Debian's
// headless Chromium, as a newcomer would: the login view lists "Demo kommun", "Logga in med
// e-legitimation" goes to the SP's /saml/demo/login and on to /demo-idp/sso, the user picks
// the demo user and presses "Fortsätt" (no script does it for them: the portal's CSP allows
// none inline), the ACS sets the session and the portal shows the user's apps.
// Usage: node demo_idp.mjs PORTAL_URL DISPLAY_NAME   (exit 0 on success, 1 with a reason)
import { chromium } from "playwright-core";

const [url, displayName] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
let failed = null;
try {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, locale: "sv-SE" });
  const page = await context.newPage();
  const violations = [];
  page.on("console", (m) => { if (/Content Security Policy/i.test(m.text())) violations.push(m.text()); });
  const expect = (ok, what) => { if (!ok) throw new Error(what); };
  await page.goto(url);
  await page.waitForSelector("#saml:not([hidden])", { timeout: 10000 });
  const options = await page.$$eval("#organisation option", (os) => os.map((o) => o.textContent));
  expect(options.some((o) => o.includes("Demo kommun")), `organisations: ${JSON.stringify(options)}`);
  await Promise.all([
    page.waitForURL((u) => u.pathname === "/demo-idp/sso", { timeout: 20000 }),
    page.click("#saml-login"),
  ]);
  await page.waitForSelector("button[name=user][value=demo]", { timeout: 10000 });
  await page.click("button[name=user][value=demo]");
  await page.waitForSelector("button:has-text('Fortsätt')", { timeout: 10000 });
  await Promise.all([
    page.waitForURL((u) => u.toString().startsWith(url) && !u.pathname.startsWith("/saml/") && !u.pathname.startsWith("/demo-idp/"), { timeout: 20000 }),
    page.click("button:has-text('Fortsätt')"),
  ]);
  await page.waitForSelector("#apps:not([hidden])", { timeout: 10000 });
  const who = await page.textContent("#who");
  expect(who.includes(displayName), `portal shows "${who}", wanted ${displayName}`);
  expect(violations.length === 0, `CSP violations: ${violations.join("; ")}`);
} catch (error) {
  failed = error;
}
await browser.close();
if (failed) {
  console.error(`demo IdP check failed: ${failed.message}`);
  process.exit(1);
}
console.log("demo IdP check passed");
