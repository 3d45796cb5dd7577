// Drives the session viewer in Debian's headless Chromium against whatever host the
// gateway's ticket points at (the demo host, xrdp, freerdp-shadow), as the gateway's
// browser tests ask (gateway/tests/gateway/browser.rs):
//   1. the canvas shows the remote screen: exact pixels the host is known to show;
//   2. optionally a click and typed text (å ä ö) change a region of the remote app;
//   3. optionally the websocket is cut under the page (the test's TCP proxy drops every
//      connection when this script prints "cut-now" and answers "cut" on stdin): the viewer
//      must resume the same session by itself within 5 s — same session id, the typed text
//      still there, the pixels exact again;
//   4. optionally the clipboard goes both ways: local text pasted in the remote app with
//      Ctrl+V, the remote field copied back with Ctrl+C;
//   5. optionally the window shrinks: the picture follows — the remote desktop takes the new
//      size where the host has display control ("resizeRemote"), else it is scaled to fit;
//   6. optionally an administrator's message ("adminMessage"; the script prints
//      "message-now", the test queues it through the broker's command channel and answers
//      "sent"): it shows in an aria-live alert naming the sender, closes with its button,
//      and the session goes on;
//   7. optionally the pool's idle warning ("idleWarning"): a countdown alert with the
//      deadline as a clock time, lifted when the mouse moves over the canvas;
//   8. optionally print notices ("prints": a list of expected notices; for each the script
//      prints "print-now N", the test queues the N-th through the broker's command channel
//      and answers "sent"): a polite status region with the heading and text expected, for a
//      ready job links to its PDF (a new tab) and download, reachable by keyboard, closed
//      with Escape; the session goes on.
// Usage: node peer.mjs URL CONFIG_JSON   — prints one "result {json}" line, exit 0 on success.
import { chromium } from "playwright-core";
import { createInterface } from "node:readline";

const [url, configText] = process.argv.slice(2);
const config = JSON.parse(configText);
const lines = createInterface({ input: process.stdin });
const nextLine = () => new Promise((resolve) => lines.once("line", resolve));

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
const log = [];
const result = {};
let failed = null;
let page = null;
try {
  const [vw, vh] = config.viewport ?? [1280, 800];
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: vw, height: vh } });
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  // The viewer's language is the portal's choice, kept in localStorage.
  if (config.lang) await context.addInitScript((lang) => localStorage.setItem("hamn.lang", lang), config.lang);
  page = await context.newPage();
  page.on("console", (m) => log.push(`console.${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => log.push(`pageerror: ${e.message}`));
  // The client's side of the wire, by message type, for failure messages.
  page.on("websocket", (ws) => ws.on("framesent", (f) => {
    const first = typeof f.payload === "string" ? -1 : f.payload[0];
    if (first !== 0x87 && first !== 0x8b && first !== 0x84) log.push(`sent ${Buffer.from(f.payload).subarray(0, 8).toString("hex")} (${f.payload.length} B)`);
  }));
  const expect = (ok, what) => { if (!ok) throw new Error(what); };
  const state = () => page.evaluate(() => ({
    state: document.body.dataset.state,
    frames: Number(document.body.dataset.frames ?? 0),
    resumes: Number(document.body.dataset.resumes ?? 0),
    overlay: document.getElementById("overlay").hidden ? "" : document.getElementById("overlay-text").textContent,
    width: document.getElementById("screen").width,
    height: document.getElementById("screen").height,
  }));
  const pixels = (x, y, w, h) => page.evaluate(([x, y, w, h]) => Array.from(
    document.getElementById("screen").getContext("2d").getImageData(x, y, w, h).data,
  ), [x, y, w, h]);
  const poll = async (check, what, ms) => {
    const deadline = Date.now() + ms;
    for (;;) {
      const outcome = await check();
      if (outcome === true) return;
      if (Date.now() > deadline) throw new Error(`${what}: ${outcome}`);
      await page.waitForTimeout(50);
    }
  };
  const exactPixels = (what, ms) => Promise.all((config.pixels ?? []).map(([x, y, [er, eg, eb]]) => poll(async () => {
    const [r, g, b] = await pixels(x, y, 1, 1);
    return (r === er && g === eg && b === eb) || `rgb(${r},${g},${b})`;
  }, `${what}: canvas pixel (${x},${y}) is not rgb(${er},${eg},${eb})`, ms)));
  const settle = async () => {
    let last = (await state()).frames;
    for (let i = 0; i < 40; i++) {
      await page.waitForTimeout(400);
      const now = (await state()).frames;
      if (now === last) return;
      last = now;
    }
  };

  const response = await page.goto(url);
  expect(response?.status() === 200, `GET the viewer answered ${response?.status()}`);
  await poll(async () => {
    const s = await state();
    if (s.state === "closed") throw new Error(`viewer closed: ${s.overlay}`);
    return (s.state === "connected" && s.frames >= 1) || JSON.stringify(s);
  }, "viewer did not connect", 90000);
  await exactPixels("remote screen", 60000);
  const first = await state();
  result.remoteSize = [first.width, first.height];
  const sessionId = await page.evaluate(() => sessionStorage.getItem("hamn.resume")?.slice(0, 20));

  const canvasBox = async () => page.evaluate(() => {
    const c = document.getElementById("screen");
    const r = c.getBoundingClientRect();
    return { width: c.width, height: c.height, left: r.left, top: r.top, cssWidth: r.width, cssHeight: r.height };
  });
  const toPage = (box, x, y) => [
    box.left + (x + 0.5) * box.cssWidth / box.width,
    box.top + (y + 0.5) * box.cssHeight / box.height,
  ];

  let typed = null;
  if (config.type) {
    const { click: [cx, cy], text, region } = config.type;
    await page.mouse.click(...toPage(await canvasBox(), cx, cy));
    await settle();
    const before = await pixels(...region);
    await page.keyboard.type(text);
    await poll(async () => {
      const now = await pixels(...region);
      return now.some((v, i) => v !== before[i]) || "nothing changed in the region";
    }, `typing ${text} did not reach the app`, 15000);
    await settle();
    typed = await pixels(...region);
  }

  if (config.cut) {
    expect(sessionId, "no resume token stored");
    console.log("cut-now");
    await nextLine();
    const cutAt = Date.now();
    await poll(async () => {
      const s = await state();
      if (s.state === "closed") throw new Error(`viewer gave up: ${s.overlay}`);
      return (s.state === "connected" && s.resumes === 1) || JSON.stringify(s);
    }, "the session did not resume within 5 s", 5000);
    result.resumeMs = Date.now() - cutAt;
    const token = await page.evaluate(() => sessionStorage.getItem("hamn.resume")?.slice(0, 20));
    expect(token === sessionId, "the resume token names another session");
    await exactPixels("after the resume", 10000);
    if (typed) {
      await poll(async () => {
        const now = await pixels(...config.type.region);
        return now.every((v, i) => v === typed[i]) || "the typed text is gone (a new session?)";
      }, "after the resume", 10000);
    }
  }

  if (config.clipboard) {
    // Local → host: a paste in the viewer sends the text to the host; Ctrl+V then pastes
    // it in the remote app. Host → local: Ctrl+C in the remote app puts
    // the field's text on the local clipboard.
    const { text, region } = config.clipboard;
    expect((await page.evaluate(() => document.body.dataset.clipboard)) === "on", "the gateway offered no clipboard");
    await page.evaluate((t) => navigator.clipboard.writeText(t), text);
    // What a user's paste delivers (headless Chromium does not paste on a synthetic Ctrl+V).
    await page.evaluate((t) => {
      const data = new DataTransfer();
      data.setData("text/plain", t);
      document.getElementById("keys").dispatchEvent(
        new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));
    }, text);
    await page.waitForTimeout(300);
    const before = await pixels(...region);
    await page.keyboard.press("Control+V");
    await poll(async () => {
      const now = await pixels(...region);
      return now.some((v, i) => v !== before[i]) || "nothing was pasted";
    }, "Ctrl+V did not paste the local clipboard in the remote app", 15000);
    await settle();
    await page.evaluate(() => navigator.clipboard.writeText(""));
    // The paste is a round trip (the host asks for the data): copy until the copy holds it.
    let copied = "";
    await poll(async () => {
      await page.keyboard.press("Control+C");
      await page.waitForTimeout(400);
      copied = await page.evaluate(() => navigator.clipboard.readText());
      return copied.endsWith(text) || `local clipboard holds ${JSON.stringify(copied)}`;
    }, "Ctrl+C in the remote app did not reach the local clipboard", 15000);
    result.clipboard = copied;
  }

  if (config.resize) {
    const [w, h] = config.resize;
    await page.setViewportSize({ width: w, height: h });
    await poll(async () => {
      const box = await canvasBox();
      const fits = box.cssWidth <= w + 0.5 && box.cssHeight <= h + 0.5;
      const sameAspect = Math.abs(box.cssWidth / box.cssHeight - box.width / box.height) < 0.02;
      return (fits && sameAspect) || JSON.stringify(box);
    }, "the picture does not fit the smaller window", 15000);
    if (config.resizeRemote) {
      // The host follows the window (display control): the remote desktop takes the new
      // size (width rounded down to even) and its pixels are exact again.
      await poll(async () => {
        const s = await state();
        return (s.width === (w & ~1) && s.height === h) || `remote ${s.width}x${s.height}`;
      }, `the remote desktop did not take ${w}x${h}`, 30000);
      await exactPixels("after the resize", 30000);
    }
    const box = await canvasBox();
    result.afterResize = { remote: [box.width, box.height], shown: [Math.round(box.cssWidth), Math.round(box.cssHeight)] };
    const s = await state();
    expect(s.state === "connected", `viewer left the session on resize: ${JSON.stringify(s)}`);
  }

  if (config.adminMessage) {
    const { sender, text } = config.adminMessage;
    console.log("message-now");
    await nextLine();
    const shown = () => page.evaluate(() => {
      const box = document.getElementById("message");
      return {
        hidden: box.hidden,
        role: box.getAttribute("role"),
        live: box.getAttribute("aria-live"),
        from: document.getElementById("message-from").textContent,
        text: document.getElementById("message-text").textContent,
        button: document.getElementById("message-close").textContent,
        count: Number(document.body.dataset.adminMessages ?? 0),
      };
    });
    await poll(async () => {
      const m = await shown();
      return (!m.hidden && m.count === 1) || JSON.stringify(m);
    }, "the administrator's message did not show", 15000);
    const m = await shown();
    expect(m.text === text, `message text ${JSON.stringify(m.text)}`);
    const english = config.lang === "en";
    const heading = english ? `Message from ${sender}` : `Meddelande från ${sender}`;
    expect(m.from === heading, `message heading ${JSON.stringify(m.from)}`);
    expect(m.role === "alert" && m.live === "assertive", `not announced: ${JSON.stringify(m)}`);
    expect(m.button === (english ? "Close" : "Stäng"), `close button says ${JSON.stringify(m.button)}`);
    if (config.messageScreenshot) await page.screenshot({ path: config.messageScreenshot });
    await page.click("#message-close");
    await poll(async () => (await shown()).hidden || "still shown", "the message did not close", 5000);
    const s = await state();
    expect(s.state === "connected", `the message ended the session: ${JSON.stringify(s)}`);
    result.adminMessage = m;
  }

  if (config.idleWarning) {
    const warned = () => page.evaluate(() => {
      const box = document.getElementById("warning");
      return {
        hidden: box.hidden,
        code: box.dataset.code,
        role: box.getAttribute("role"),
        text: document.getElementById("warning-text").textContent,
      };
    });
    await poll(async () => {
      const w = await warned();
      return (!w.hidden && w.code === "6") || JSON.stringify(w);
    }, "no idle warning", 60000);
    const w = await warned();
    expect(/^Inaktivitet: sessionen kopplas från om \d+ s\. \(kl\. \d\d[:.]\d\d\)$/.test(w.text),
      `idle warning text ${JSON.stringify(w.text)}`);
    expect(w.role === "alert", "the warning is not announced");
    if (config.warningScreenshot) await page.screenshot({ path: config.warningScreenshot });
    const box = await canvasBox();
    await page.mouse.move(...toPage(box, 300, 300));
    await page.mouse.move(...toPage(box, 320, 310));
    await poll(async () => (await warned()).hidden || "still warned",
      "moving the mouse did not lift the idle warning", 10000);
    result.idleWarning = w.text;
  }

  if (config.prints) {
    result.prints = [];
    const shown = () => page.evaluate(() => {
      const box = document.getElementById("print");
      return {
        hidden: box.hidden,
        role: box.getAttribute("role"),
        live: box.getAttribute("aria-live"),
        outcome: box.dataset.outcome ?? null,
        jobId: box.dataset.jobId ?? null,
        heading: document.getElementById("print-heading").textContent,
        text: document.getElementById("print-text").textContent,
        open: document.getElementById("print-open").hidden ? null : document.getElementById("print-open").getAttribute("href"),
        target: document.getElementById("print-open").getAttribute("target"),
        download: document.getElementById("print-download").hidden ? null : document.getElementById("print-download").getAttribute("href"),
        count: Number(document.body.dataset.prints ?? 0),
      };
    });
    for (const [n, want] of config.prints.entries()) {
      console.log(`print-now ${n}`);
      await nextLine();
      await poll(async () => {
        const p = await shown();
        return (!p.hidden && p.count === n + 1) || JSON.stringify(p);
      }, `print notice ${n} did not show`, 15000);
      const p = await shown();
      expect(p.role === "status" && p.live === "polite", `not announced: ${JSON.stringify(p)}`);
      expect(p.heading === want.heading, `heading ${JSON.stringify(p.heading)}`);
      expect(p.text === want.text, `text ${JSON.stringify(p.text)}`);
      expect(p.open === (want.open ?? null), `open link ${p.open}`);
      expect(p.download === (want.download ?? null), `download link ${p.download}`);
      if (p.open) {
        expect(p.target === "_blank", "the PDF does not open in a new tab");
        // Reachable by keyboard: Tab from the canvas's key target lands on a control in it.
        await page.focus("#print-open");
        const focused = await page.evaluate(() => document.activeElement?.id);
        expect(focused === "print-open", `the link takes no focus: ${focused}`);
      }
      if (config.printScreenshot && n === 0) await page.screenshot({ path: config.printScreenshot });
      await page.focus("#print-close");
      await page.keyboard.press("Escape");
      await poll(async () => (await shown()).hidden || "still shown", "Escape did not close the notice", 5000);
      result.prints.push(p);
    }
    const s = await state();
    expect(s.state === "connected", `a print notice ended the session: ${JSON.stringify(s)}`);
  }

  if (config.screenshot) await page.screenshot({ path: config.screenshot });
  result.frames = (await state()).frames;
} catch (error) {
  failed = error;
  // What the user saw when it failed, for the test's message.
  if (page && config.failureScreenshot) await page.screenshot({ path: config.failureScreenshot }).catch(() => {});
} finally {
  await browser.close();
  lines.close();
}
if (failed) {
  console.log(`FAILED: ${failed.message}\n${log.slice(-60).join("\n")}`);
  process.exit(1);
}
console.log(`result ${JSON.stringify(result)}`);
