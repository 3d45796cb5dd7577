// The admin console's set-up sections in Debian's headless Chromium, as the demo's two
// admins use them. The tenant-admin `admin` logs in through the portal's demo login, opens
// /admin, sees only their own organisation, drains a host of a pool dedicated to it and sets
// it active again (each behind the confirmation dialog), is refused in Swedish on a shared
// pool's host, and creates a group with the keyboard alone. The operator `drift` sees every
// organisation. Every set-up section passes axe-core (WCAG 2.1 A/AA, nothing serious) in
// Swedish, the pools and hosts also in English; screenshots are kept as artefacts.
// Usage: node admin_console.mjs GATEWAY_URL OWN_HOST SHARED_HOST OTHER_TENANT
//   (exit 0 on success, 1 with a reason otherwise)
import { checkA11y, expect, launch, newContext, tabOrder } from "./lib.mjs";

const [gateway, ownHost, sharedHost, otherTenant] = process.argv.slice(2);
const base = gateway.replace(/\/$/, "");

async function demoLogin(page, name) {
  await page.goto(`${base}/`);
  await page.waitForSelector("#login:not([hidden])");
  await page.fill("#username", name);
  await page.press("#username", "Enter");
  await page.waitForSelector("#apps:not([hidden])", { timeout: 10000 });
}

/** Opens a section and waits until it has rendered `selector`. */
async function section(page, id, selector) {
  await page.goto(`${base}/admin#/${id}`);
  await page.waitForSelector(selector, { timeout: 15000 });
}

const hostRow = (name) => `tr:has(th:has-text("${name}"))`;

/** Clicks `button` and confirms in the dialog it opens. */
async function confirmed(page, button) {
  await page.click(button);
  await page.waitForSelector("dialog.confirm[open]");
  const question = await page.textContent("dialog.confirm p");
  await page.click("dialog.confirm button.danger");
  await page.waitForSelector("dialog.confirm", { state: "detached" });
  return question;
}

async function stateOf(page, name) {
  return (await page.textContent(`${hostRow(name)} td:nth-of-type(1)`)).trim();
}

/** axe with every disclosure open, so the forms inside are checked too. */
async function audit(page, name) {
  await page.evaluate(() => { for (const d of document.querySelectorAll("details")) d.open = true; });
  await checkA11y(page, name);
}

let failed = null;
const browser = await launch();
try {
  // The tenant-admin.
  const context = await newContext(browser);
  const page = await context.newPage();
  page.on("pageerror", (error) => { failed ??= `page error: ${error.message}`; });
  await demoLogin(page, "admin");
  await section(page, "tenants", "h2:has-text('Inställningar för Demo kommun')");
  expect((await page.getAttribute("html", "lang")) === "sv", "the console is not in Swedish");
  expect((await page.textContent("#who")).includes("Anna Admin"), "the tenant-admin is not named");
  expect(await page.isHidden("#tenant-picker"), "a tenant-admin is offered other organisations");
  const links = await page.$$eval("#section-links a", (all) => all.map((a) => a.textContent));
  for (const wanted of ["Organisationer", "Miljöer", "Pooler och värdar", "Applikationer och versioner", "Grupper, användare och behörigheter"]) {
    expect(links.includes(wanted), `no section "${wanted}" in ${links}`);
  }
  expect(!(await page.textContent("main")).includes(otherTenant), `the tenant-admin sees ${otherTenant}`);
  await page.waitForSelector("h3:has-text('Inloggning med SAML (IdP)')");
  await page.waitForSelector("h3:has-text('Webbsessioner')");
  await audit(page, "A-tenants");

  await section(page, "environments", "table");
  const kinds = await page.$$eval(".env-tag", (all) => all.map((x) => ({
    text: x.textContent, border: getComputedStyle(x).borderTopStyle })));
  const prod = kinds.find((k) => k.text.includes("PROD"));
  const utb = kinds.find((k) => k.text.includes("UTB"));
  expect(prod?.text.startsWith("■") && utb?.text.startsWith("▨"), `environment marks: ${JSON.stringify(kinds)}`);
  expect(prod.border === "solid" && utb.border === "dashed", `environment frames: ${JSON.stringify(kinds)}`);
  await audit(page, "A-environments");

  // Pools and hosts: drain the own pool's host and set it active again.
  await section(page, "hosts", hostRow(ownHost));
  expect(await page.isVisible(hostRow(sharedHost)), "the shared pool the demo apps use is not shown");
  expect((await page.$$("form")).length === 0, "a tenant-admin is offered the operators' pool and host forms");
  expect((await stateOf(page, ownHost)).includes("I drift"), `state before: ${await stateOf(page, ownHost)}`);
  const question = await confirmed(page, `button:has-text("Dränera ${ownHost}")`);
  expect(question.startsWith(`Dränera ${ownHost}?`), `confirmation: ${question}`);
  await page.waitForFunction((name) => [...document.querySelectorAll("tr")]
    .some((tr) => tr.querySelector("th")?.textContent.includes(name) && tr.textContent.includes("Dräneras")), ownHost, { timeout: 10000 });
  expect((await page.textContent("#message")).includes("Dräneras"), "the drain is not announced");
  expect(await page.evaluate(() => document.activeElement?.dataset.host !== undefined), "focus is lost after the drain");
  await audit(page, "A-hosts");
  // Cancelling changes nothing.
  await page.click(`button:has-text("Sätt ${ownHost} i drift")`);
  await page.waitForSelector("dialog.confirm[open]");
  await page.keyboard.press("Escape");
  await page.waitForSelector("dialog.confirm", { state: "detached" });
  expect((await stateOf(page, ownHost)).includes("Dräneras"), "cancel changed the state");
  await confirmed(page, `button:has-text("Sätt ${ownHost} i drift")`);
  await page.waitForFunction((name) => [...document.querySelectorAll("tr")]
    .some((tr) => tr.querySelector("th")?.textContent.includes(name) && tr.textContent.includes("I drift")), ownHost, { timeout: 10000 });

  // A shared pool's host: refused, in Swedish, and the host stays active.
  await confirmed(page, `button:has-text("Dränera ${sharedHost}")`);
  await page.waitForSelector("p.form-error[role=alert]:not([hidden])", { timeout: 10000 });
  const refusal = await page.textContent("p.form-error[role=alert]:not([hidden])");
  expect(refusal.startsWith("Du kan inte ändra läget för en värd i en delad pool"), `refusal: ${refusal}`);
  expect((await stateOf(page, sharedHost)).includes("I drift"), "the shared host changed state");
  await audit(page, "A-hosts-refused");

  // The same section in English.
  await page.click("#lang-toggle");
  await page.waitForSelector("h2:has-text('Pools')");
  expect((await page.getAttribute("html", "lang")) === "en", "the console did not switch to English");
  expect((await stateOf(page, ownHost)).includes("Active"), "host states are not in English");
  await audit(page, "A-hosts-en");
  await page.click("#lang-toggle");
  await page.waitForSelector("h2:has-text('Pooler')");

  await section(page, "apps", "h2:has-text('Applikationer i')");
  expect((await page.textContent("main")).includes("Procapita UTB"), "the UTB app is not listed");
  await audit(page, "A-apps");
  await page.click("a:has-text('Versioner och inställningar för Procapita UTB')");
  await page.waitForSelector("h3:has-text('Utrullningar')");
  await audit(page, "A-apps-detail");

  // Groups: a new group with the keyboard alone, after checking focus is visible all the way.
  await section(page, "groups", "h2:has-text('Grupper')");
  await audit(page, "A-groups");
  await page.evaluate(() => { for (const d of document.querySelectorAll("details")) d.open = false; });
  const order = await tabOrder(page, 200);
  const invisible = order.filter((x) => !x.outline);
  expect(invisible.length === 0, `focus not visible on: ${JSON.stringify(invisible.slice(0, 5))}`);
  expect(order.some((x) => x.tag === "SUMMARY" && x.text === "Ny grupp"), "the new-group form is not reachable by Tab");
  await page.evaluate(() => document.activeElement?.blur());
  await page.keyboard.press("Tab");
  for (let i = 0; i < 200; i += 1) {
    if (await page.evaluate(() => document.activeElement?.tagName === "SUMMARY" && document.activeElement.textContent === "Ny grupp")) break;
    await page.keyboard.press("Tab");
  }
  await page.keyboard.press("Enter");
  await page.keyboard.press("Tab");
  expect(await page.evaluate(() => document.activeElement?.name === "name"), "Tab after opening does not reach the name field");
  await page.keyboard.type("Kvällspersonal");
  await page.keyboard.press("Enter");
  await page.waitForSelector(`${hostRow("Kvällspersonal")}`, { timeout: 10000 });
  await page.click("a:has-text('Medlemmar i Kvällspersonal')");
  await page.waitForSelector("form legend:has-text('Lägg till medlem i Kvällspersonal')");
  await audit(page, "A-groups-members");
  await page.goto(`${base}/admin#/groups`);
  await page.click("a:has-text('Roller för Anna Admin')");
  await page.waitForSelector("dd:has-text('Organisationsadministratör')");
  await audit(page, "A-groups-user");
  await context.close();

  // The operator sees every organisation.
  const opContext = await newContext(browser);
  const op = await opContext.newPage();
  op.on("pageerror", (error) => { failed ??= `page error: ${error.message}`; });
  await demoLogin(op, "drift");
  await section(op, "tenants", `th:has-text("${otherTenant}")`);
  expect((await op.textContent("#who")).includes("Dag Drift"), "the operator is not named");
  expect(await op.isVisible("#tenant-picker"), "the operator has no organisation picker");
  const offered = await op.$$eval("#tenant-select option", (all) => all.map((o) => o.textContent));
  expect(offered.includes("Demo kommun") && offered.includes(otherTenant), `picker: ${offered}`);
  await audit(op, "A-tenants-operator");
  await section(op, "hosts", "legend:has-text('Ny pool')");
  expect(await op.isVisible(hostRow(ownHost)) && await op.isVisible(hostRow(sharedHost)), "the operator does not see every host");
  await audit(op, "A-hosts-operator");
  await opContext.close();
} catch (error) {
  failed ??= error.stack ?? String(error);
} finally {
  await browser.close();
}
if (failed) {
  console.error(failed);
  process.exit(1);
}
console.log("admin console ok");
