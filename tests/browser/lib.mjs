// What every browser script shares: Debian's Chromium with the project's flags, the
// accessibility check (axe-core, WCAG 2.1 A and AA rules) and screenshots kept as test
// artefacts in HAMN_ARTIFACTS (default: <repo>/test-artifacts), one PNG per page name.
import { chromium } from "playwright-core";
import { readFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

/** The artefact directory for screenshots and accessibility reports (created). */
export function artifacts() {
  const dir = process.env.HAMN_ARTIFACTS ?? resolve(here, "..", "..", "test-artifacts");
  mkdirSync(join(dir, "screenshots"), { recursive: true });
  return dir;
}

/** Headless Debian Chromium with the flags every test uses. */
export function launch() {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}

/** A context for the dev certificates at 1280×1024, the smallest size the portal promises. */
export function newContext(browser, options = {}) {
  return browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 1024 }, ...options });
}

/** Throws `what` unless `ok`. */
export function expect(ok, what) {
  if (!ok) throw new Error(what);
}

/** Saves a full-page screenshot as artefact `<name>.png` and returns its path. */
export async function screenshot(page, name) {
  const path = join(artifacts(), "screenshots", `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Runs axe-core on the page as it is now (WCAG 2.0/2.1 A and AA) and throws when any
 * violation is serious or critical; lesser ones are written to the report beside the
 * screenshots. The script is evaluated through the debugger, so the page's own CSP (which
 * allows no injected script) stays on. Also saves the screenshot `name`. */
export async function checkA11y(page, name) {
  await page.evaluate(AXE);
  const result = await page.evaluate(() => globalThis.axe.run(document, {
    runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
    resultTypes: ["violations"],
  }));
  await screenshot(page, name);
  const lines = result.violations.map((v) =>
    `${v.impact}: ${v.id} (${v.help}) at ${v.nodes.slice(0, 5).map((n) => n.target.join(" ")).join(", ")}`);
  const { writeFileSync } = await import("node:fs");
  writeFileSync(join(artifacts(), "screenshots", `${name}.axe.txt`), `${lines.join("\n")}\n`);
  const serious = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  if (serious.length > 0) {
    throw new Error(`accessibility (${name}): ${serious.length} serious violation(s):\n${lines.join("\n")}`);
  }
  return result.violations;
}

/** Tab through the page from the top and return what received focus, so a test can
 * check that every control is reachable by keyboard and shows where focus is. */
export async function tabOrder(page, steps = 60) {
  const seen = [];
  await page.keyboard.press("Tab");
  for (let i = 0; i < steps; i += 1) {
    const info = await page.evaluate(() => {
      const el = document.activeElement;
      if (!el || el === document.body) return null;
      const style = getComputedStyle(el);
      return { tag: el.tagName, text: (el.textContent ?? "").trim().slice(0, 60), id: el.id, outline: style.outlineStyle !== "none" || style.boxShadow !== "none" };
    });
    if (!info) break;
    seen.push(info);
    await page.keyboard.press("Tab");
  }
  return seen;
}
