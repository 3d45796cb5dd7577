// Logs in through a SAML IdP in Debian's headless Chromium, as a user would: the portal's
// login view lists the organisation, "Logga in med e-legitimation" goes to the gateway's
// /saml/{tenant}/login, which sends the browser to the IdP (the pysaml2 IdP of
// tests/saml_idp.py), whose page posts the response back to the ACS; the gateway sets the
// session cookie and sends the browser to the portal, which must show the user's apps.
// Then "Logga ut" performs single logout at the IdP.
// Usage: node saml.mjs PORTAL_URL DISPLAY_NAME   (exit 0 on success, 1 with a reason)
import { chromium } from "playwright-core";

const [url, displayName] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
let failed = null;
try {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  const expect = (ok, what) => { if (!ok) throw new Error(what); };
  await page.goto(url);
  await page.waitForSelector("#saml:not([hidden])", { timeout: 10000 });
  expect((await page.textContent("label[for=organisation]")) === "Välj organisation", "no organisation label");
  expect((await page.textContent("#saml-login")).trim() === "Logga in med e-legitimation", "no e-ID button");
  await Promise.all([
    page.waitForURL((u) => u.toString().startsWith(url) && !u.pathname.startsWith("/saml/"), { timeout: 20000 }),
    page.click("#saml-login"),
  ]);
  await page.waitForSelector("#apps:not([hidden])", { timeout: 10000 });
  const who = await page.textContent("#who");
  expect(who.includes(displayName), `portal shows "${who}", wanted ${displayName}`);
  const cookies = await context.cookies(url);
  const session = cookies.find((c) => c.name === "__Host-hamn_session");
  expect(session && session.httpOnly && session.secure && session.sameSite === "Lax", `session cookie ${JSON.stringify(session)}`);
  // Single logout: the portal ends the session, the browser lands on the IdP's logout.
  await Promise.all([
    page.waitForSelector("#slo", { timeout: 20000 }),
    page.click("#logout"),
  ]);
  const after = await context.cookies(url);
  expect(!after.some((c) => c.name === "__Host-hamn_session" && c.value), "session cookie still set");
} catch (error) {
  failed = error;
}
await browser.close();
if (failed) {
  console.error(`saml check failed: ${failed.message}`);
  process.exit(1);
}
console.log("saml check passed");
