// The browser side of the multi-node test (tests/e2e/multinode.rs): logs in to the portal
// through HAProxy as "demo", opens PROD Procapita and keeps the viewer open while the test
// kills or stops the gateway that serves it. It talks to the test over stdin/stdout, one
// line each way:
//   prints  `connected`                        once the viewer shows the app;
//   reads   `message N`                        waits until N administrators' messages came;
//   reads   `relaunched N`                     waits until the viewer relaunched N times in
//                                              all and shows the app again (new frames);
//   prints  `ok <json>` after each wait        (the viewer's state: closes seen, relaunches);
//   reads   `quit`                             closes the browser and exits 0.
// Any failure prints `error <reason>` and exits 1.
// Usage: node multinode.mjs PORTAL_URL
import { createInterface } from "node:readline";
import { expect, launch, newContext } from "./lib.mjs";

const [portal] = process.argv.slice(2);
const browser = await launch();
const log = [];
let code = 0;
try {
  const context = await newContext(browser, { viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.on("console", (m) => log.push(`console.${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => log.push(`pageerror: ${e.message}`));

  await page.goto(portal);
  await page.fill("#username", "demo");
  await page.click("#login-button");
  const tile = page.locator(".env-prod .tile", { has: page.locator("h4", { hasText: /^Procapita$/ }) });
  const [launched] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === "/portal/api/launch"),
    tile.getByRole("button", { name: "Öppna", exact: true }).click(),
  ]);
  expect(launched.ok(), `launch answered ${launched.status()}`);
  await page.waitForURL((u) => u.pathname === "/static/session.html", { waitUntil: "load" });
  const state = () => page.evaluate(() => ({
    state: document.body.dataset.state,
    frames: Number(document.body.dataset.frames ?? 0),
    relaunches: Number(document.body.dataset.relaunches ?? 0),
    messages: Number(document.body.dataset.adminMessages ?? 0),
    closes: document.body.dataset.closeCodes ?? "",
    overlay: document.getElementById("overlay").hidden ? "" : document.getElementById("overlay-text").textContent,
  }));
  await page.waitForFunction(
    () => document.body.dataset.state === "closed"
      || (document.body.dataset.state === "connected" && Number(document.body.dataset.frames) >= 1),
    null, { timeout: 30000 },
  );
  const first = await state();
  expect(first.state === "connected", `viewer did not connect: ${JSON.stringify(first)}`);
  console.log("connected");
  // Frames seen at the last report: a relaunched session gets a full frame of its own.
  let reported = first.frames;

  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    const [verb, arg] = line.trim().split(/\s+/);
    if (verb === "quit") break;
    const n = Number(arg);
    if (verb === "message") {
      await page.waitForFunction((n) => Number(document.body.dataset.adminMessages ?? 0) >= n, n, { timeout: 60000 })
        .catch(async () => { throw new Error(`no admin message ${n}: ${JSON.stringify(await state())}`); });
    } else if (verb === "relaunched") {
      await page.waitForFunction(
        (n) => Number(document.body.dataset.relaunches ?? 0) >= n && document.body.dataset.state === "connected",
        n, { timeout: 90000 },
      ).catch(async () => { throw new Error(`not back after relaunch ${n}: ${JSON.stringify(await state())}`); });
      // The picture is live again: frames arrive through the new gateway.
      await page.waitForFunction((b) => Number(document.body.dataset.frames) > b, reported, { timeout: 30000 })
        .catch(async () => { throw new Error(`no frame after relaunch ${n}: ${JSON.stringify(await state())}`); });
    } else {
      throw new Error(`unknown command ${line}`);
    }
    const now = await state();
    reported = now.frames;
    console.log(`ok ${JSON.stringify(now)}`);
  }
} catch (error) {
  console.log(`error ${error.message.split("\n")[0]}`);
  for (const line of log.slice(-20)) console.log(`  ${line}`);
  code = 1;
} finally {
  await browser.close();
}
process.exit(code);
