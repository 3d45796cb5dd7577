// Session viewer: opens /ws/session with the launch ticket from the URL fragment, paints
// the gateway's frames on a canvas and sends keyboard and mouse input back
// (docs/wire-protocol.md). Frames are applied strictly in order — tiles decode in parallel
// with createImageBitmap but are drawn in sequence, CopyRects read the canvas as it is at
// that point — and FrameAck goes out only once a frame is on the canvas, which is the
// gateway's flow control. When the websocket drops, the viewer resumes the session by
// itself with the ServerHello's token until the gateway's grace runs out. Tests read
// `body[data-state]` (connecting|connected|reconnecting|closed), `body[data-frames]` and
// `body[data-resumes]`. Administrators' messages (AdminMessage) stay on screen until
// closed (`body[data-admin-messages]` counts them); idle, service-window and maximum-length
// warnings count down to their deadline, which is also shown as a clock time. A print
// job's PrintNotice shows "Utskrift klar — Öppna PDF" (a new tab, or a download) or why it
// was refused, until closed (`body[data-prints]` counts them, `#print[data-job-id]`).
// Across gateways: on close 4110 (the gateway drains), on 4100 (the resume token is unknown
// here, e.g. the gateway that had the session died) and when resuming keeps failing until
// the grace is over, the viewer launches the same app again through the portal API (the
// app id comes in the fragment, `#ticket=…&app=…`) and opens the new ticket, which the
// broker roams onto the same host session (`body[data-relaunches]` counts these).
import { api } from "./portal-api.js";
import { pdfUrl, refusalText } from "./prints.js";
import { storedLang } from "./language.js";
import {
  CAPABILITIES, DEFAULT_LIMITS, MAX_SCALE_PERCENT, MIN_SCALE_PERCENT, ServerStream, WireError,
  closeReason, codeToScancode, decodeServer, encodeClient, statusText,
} from "./wire.js";

// The language the user chose in the portal (language.js keeps it per user and browser).
const lang = storedLang();
const TEXTS = {
  sv: {
    noTicket: "Länken saknar biljett. Starta programmet från portalen.",
    refused: "Tjänsten tog inte emot anslutningen. Länken kan vara använd eller för gammal – " +
      "starta programmet igen från portalen.",
    lost: "Anslutningen till tjänsten bröts. Starta programmet igen från portalen.",
    reconnecting: "Anslutningen bröts. Återansluter … ({s} s kvar)",
    relaunching: "Återansluter via en annan server …",
    badData: "Tjänsten skickade data som inte gick att tolka. Ladda om sidan.",
    latency: "Svarstid",
    fullscreen: "Helskärm",
    screen: "Fjärrprogrammets skärm",
    messageFrom: "Meddelande från {sender}",
    close: "Stäng",
    deadline: "(kl. {t})",
    printReady: "Utskrift klar",
    printOpen: "Öppna PDF",
    printDownload: "Ladda ner",
    printPages: "{title}, {n} sidor",
    printPage: "{title}, 1 sida",
    printRefused: "Utskriften kunde inte skapas",
  },
  en: {
    noTicket: "The link has no ticket. Start the application from the portal.",
    refused: "The service did not accept the connection. The link may have been used or be too " +
      "old – start the application again from the portal.",
    lost: "The connection to the service was lost. Start the application again from the portal.",
    reconnecting: "The connection was lost. Reconnecting … ({s} s left)",
    relaunching: "Reconnecting through another server …",
    badData: "The service sent data that could not be decoded. Reload the page.",
    latency: "Latency",
    fullscreen: "Full screen",
    screen: "The remote application's screen",
    messageFrom: "Message from {sender}",
    close: "Close",
    deadline: "(at {t})",
    printReady: "Print ready",
    printOpen: "Open PDF",
    printDownload: "Download",
    printPages: "{title}, {n} pages",
    printPage: "{title}, 1 page",
    printRefused: "The print job could not be made",
  },
};
const t = (key) => TEXTS[lang][key];

const canvas = document.getElementById("screen");
const ctx = canvas.getContext("2d", { alpha: false });
const keys = document.getElementById("keys");
const overlay = document.getElementById("overlay");
const overlayText = document.getElementById("overlay-text");
const notice = document.getElementById("notice");
const latency = document.getElementById("latency");
const fullscreen = document.getElementById("fullscreen");
const warning = document.getElementById("warning");
const warningText = document.getElementById("warning-text");
const warningDetail = document.getElementById("warning-detail");
const messageBox = document.getElementById("message");
const messageFrom = document.getElementById("message-from");
const messageText = document.getElementById("message-text");
const messageClose = document.getElementById("message-close");
const printBox = document.getElementById("print");
const printHeading = document.getElementById("print-heading");
const printText = document.getElementById("print-text");
const printOpen = document.getElementById("print-open");
const printDownload = document.getElementById("print-download");
const printClose = document.getElementById("print-close");

document.documentElement.lang = lang;
fullscreen.textContent = t("fullscreen");
latency.title = t("latency");
canvas.setAttribute("aria-label", t("screen"));
messageClose.textContent = t("close");
printClose.textContent = t("close");
printOpen.textContent = t("printOpen");
printDownload.textContent = t("printDownload");

let socket = null;
// Whether the websocket ever opened: a refused ticket fails the upgrade (401/403), which a
// browser only sees as a close before open.
let opened = false;
let stream = null;
let frames = 0;
let closeMessage = null;
let clientError = null;
let noticeTimer = 0;
let pingTimer = 0;
// Every server operation runs on this chain, so drawing keeps the order of the messages.
let queue = Promise.resolve();
const cursors = new Map();
let resumed = false;
let resumes = 0;

function setState(state) {
  document.body.dataset.state = state;
}

function showOverlay(text) {
  overlayText.textContent = text;
  overlay.hidden = false;
}

function showNotice(text, ms = 8000) {
  notice.textContent = text;
  notice.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { notice.hidden = true; }, ms);
}

// Warnings count down to a deadline; the text is rewritten every second (assistive
// technology hears the first announcement: the region's text changes only in its digits).
let warningTimer = 0;
function showWarning(code, seconds, detail) {
  const deadline = Date.now() + seconds * 1000;
  const clock = new Date(deadline).toLocaleTimeString(lang === "en" ? "en-GB" : "sv-SE",
    { hour: "2-digit", minute: "2-digit" });
  const render = () => {
    const left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    warningText.textContent =
      `${statusText(code, left, lang)} ${t("deadline").replace("{t}", clock)}`;
  };
  render();
  warningDetail.textContent = detail || "";
  warning.dataset.code = String(code);
  warning.hidden = false;
  clearInterval(warningTimer);
  warningTimer = setInterval(render, 1000);
}

function hideWarning() {
  clearInterval(warningTimer);
  warning.hidden = true;
}

let adminMessages = 0;
function showMessage(sender, text) {
  messageFrom.textContent = t("messageFrom").replace("{sender}", sender);
  messageText.textContent = text;
  messageBox.hidden = false;
  adminMessages += 1;
  document.body.dataset.adminMessages = String(adminMessages);
}

messageClose.addEventListener("click", () => {
  messageBox.hidden = true;
  keys.focus({ preventScroll: true });
});
messageBox.addEventListener("keydown", (event) => {
  if (event.key === "Escape") {
    messageBox.hidden = true;
    keys.focus({ preventScroll: true });
  }
});

// A print job's outcome stays until closed; the next one replaces it (the portal's
// "Mina utskrifter" keeps every job).
let prints = 0;
function showPrint(m) {
  const ready = m.outcome === "ready";
  printBox.dataset.jobId = m.jobId;
  printBox.dataset.outcome = m.outcome;
  printBox.dataset.reason = ready ? "" : m.reason;
  printHeading.textContent = ready
    ? `${t("printReady")} — ${t("printOpen")}`
    : t("printRefused");
  const title = m.title || "";
  printText.textContent = ready
    ? (m.pages === 1 ? t("printPage") : t("printPages")).replace("{title}", title)
      .replace("{n}", String(m.pages))
    : `${title ? `${title}: ` : ""}${refusalText(m.reason, lang)}`;
  printOpen.hidden = !ready;
  printDownload.hidden = !ready;
  if (ready) {
    printOpen.href = pdfUrl(m.jobId);
    printDownload.href = pdfUrl(m.jobId, true);
  }
  printBox.hidden = false;
  prints += 1;
  document.body.dataset.prints = String(prints);
}

function hidePrint() {
  printBox.hidden = true;
  keys.focus({ preventScroll: true });
}
printClose.addEventListener("click", hidePrint);
printBox.addEventListener("keydown", (event) => {
  if (event.key === "Escape") hidePrint();
});

function send(message) {
  if (socket?.readyState === WebSocket.OPEN && document.body.dataset.state === "connected") {
    socket.send(encodeClient(message));
  }
}

/** Shows the canvas at its own size, scaled down (never up) to fit the window. */
function fit() {
  const scale = Math.min(1, window.innerWidth / canvas.width, window.innerHeight / canvas.height);
  canvas.style.width = `${Math.floor(canvas.width * scale)}px`;
  canvas.style.height = `${Math.floor(canvas.height * scale)}px`;
}

function resizeCanvas(width, height) {
  canvas.width = width;
  canvas.height = height;
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, width, height);
  fit();
}

function windowSize() {
  const clamp = (v) => Math.max(1, Math.min(8192, Math.floor(v)));
  return { width: clamp(window.innerWidth), height: clamp(window.innerHeight) };
}

function keyboardLayout() {
  const tag = navigator.language || "";
  return /^[A-Za-z0-9-]{1,32}$/.test(tag) ? tag : "";
}

// Resume: the gateway keeps the host connection for a grace period after the websocket
// drops; ServerHello hands out a single-use token (kept in sessionStorage so a reload of
// this tab resumes too) and Status Connected carries the grace in seconds.
const RESUME_KEY = "hamn.resume";
let resumeToken = null;
let graceSeconds = 0;
let reconnectDeadline = 0;
let reconnectTimer = 0;
let attempt = 0;

function saveToken(token) {
  resumeToken = token && token.length ? token : null;
  try {
    if (resumeToken) {
      sessionStorage.setItem(RESUME_KEY, btoa(String.fromCharCode(...resumeToken)));
    } else {
      sessionStorage.removeItem(RESUME_KEY);
    }
  } catch {
    // Storage may be off; resume still works within this page.
  }
}

function storedToken() {
  try {
    const text = sessionStorage.getItem(RESUME_KEY);
    return text ? Uint8Array.from(atob(text), (c) => c.charCodeAt(0)) : null;
  } catch {
    return null;
  }
}

// The app this tab shows, for launching it again elsewhere (kept like the resume token).
const APP_KEY = "hamn.app";
let appId = null;
let relaunches = 0;
// Consecutive relaunches that did not get the session back; the budget is RELAUNCH_TRIES.
let relaunchAttempt = 0;
const RELAUNCH_TRIES = 8;

function saveApp(id) {
  appId = id && /^[0-9a-fA-F-]{36}$/.test(id) ? id : null;
  try {
    if (appId) sessionStorage.setItem(APP_KEY, appId);
  } catch {
    // Storage may be off; the relaunch still works within this page.
  }
}

function storedApp() {
  try {
    return sessionStorage.getItem(APP_KEY);
  } catch {
    return null;
  }
}

/** Launches the tab's app again through the portal API (whichever gateway the load
 * balancer picks) and opens the new ticket: roaming lands on the same host session. */
async function relaunch(text) {
  setState("reconnecting");
  showOverlay(text);
  clearInterval(reconnectTimer);
  reconnectTimer = 0;
  if (relaunchAttempt >= RELAUNCH_TRIES) {
    setState("closed");
    showOverlay(t("lost"));
    return;
  }
  const delay = relaunchAttempt === 0 ? 200 : Math.min(4000, 250 * 2 ** relaunchAttempt);
  relaunchAttempt += 1;
  await new Promise((resolve) => setTimeout(resolve, delay));
  // A fresh page holds no CSRF token: /me hands it out with the user.
  const me = await api("GET", "/portal/api/me", lang);
  const answer = me.ok
    ? await api("POST", "/portal/api/launch", lang, { app_id: appId })
    : me;
  const url = answer.ok && typeof answer.body?.viewer_url === "string"
    ? answer.body.viewer_url : null;
  const ticket = url ? new URLSearchParams(url.split("#")[1] ?? "").get("ticket") : null;
  if (ticket) {
    relaunches += 1;
    document.body.dataset.relaunches = String(relaunches);
    saveToken(null);
    open({ ticket });
    return;
  }
  if (answer.status === 401 || answer.status === 403 || answer.status === 404) {
    // Logged out, no longer entitled, or the app is gone: nothing to come back to.
    setState("closed");
    showOverlay(answer.message ?? t("lost"));
    return;
  }
  // The portal was unreachable or busy (a gateway going down): try again.
  relaunch(text);
}

function connect() {
  const params = new URLSearchParams(window.location.hash.slice(1));
  const ticket = params.get("ticket");
  saveApp(params.get("app") ?? storedApp());
  // The ticket is single use: keep it out of the history and bookmarks.
  history.replaceState(null, "", window.location.pathname + window.location.search);
  if (ticket) {
    saveToken(null);
    open({ ticket });
    return;
  }
  const token = storedToken();
  if (token) {
    // A reload of a session tab: take the session back.
    resumeToken = token;
    reconnectDeadline = Date.now() + 60000;
    open({ token });
    return;
  }
  setState("closed");
  showOverlay(t("noTicket"));
}

/** Opens a websocket with a launch ticket or a resume token. */
function open({ ticket = null, token = null }) {
  opened = false;
  closeMessage = null;
  clientError = null;
  if (!token) {
    setState("connecting");
    showOverlay(statusText(1, 0, lang));
  }
  const url = new URL("/ws/session", window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  if (ticket) url.searchParams.set("ticket", ticket);
  stream = new ServerStream();
  socket = new WebSocket(url);
  socket.binaryType = "arraybuffer";
  socket.addEventListener("open", () => {
    opened = true;
    const { width, height } = windowSize();
    const scale = Math.round((window.devicePixelRatio || 1) * 100);
    socket.send(encodeClient({
      type: "ClientHello", width, height,
      scalePercent: Math.max(MIN_SCALE_PERCENT, Math.min(MAX_SCALE_PERCENT, scale)),
      resumeToken: token, keyboardLayout: keyboardLayout(),
    }));
  });
  socket.addEventListener("message", (event) => receive(event.data));
  socket.addEventListener("close", (event) => closed(event, Boolean(token)));
}

function closed(event, wasResume) {
  clearInterval(pingTimer);
  const wasConnected = document.body.dataset.state === "connected";
  releaseHeldState();
  const final = clientError || closeMessage || (event.code >= 4000 && event.code <= 4999);
  const code = closeMessage ? closeMessage.code : event.code;
  // Every close this tab saw, oldest first, for tests (`body[data-close-codes]`).
  document.body.dataset.closeCodes = `${document.body.dataset.closeCodes ?? ""} ${code}`.trim();
  if (wasConnected) {
    reconnectDeadline = Date.now() + graceSeconds * 1000;
    relaunchAttempt = 0;
  }
  // This gateway drains (4110), or the one that had the session is gone (4100): launch
  // again elsewhere. A relaunch whose ticket was refused before opening tries again too.
  const retrying = relaunchAttempt > 0 && !opened;
  if (appId && !clientError && (code === 4110 || code === 4100 || retrying)) {
    relaunch(code === 4110 ? closeReason(4110, lang) : t("relaunching"));
    return;
  }
  if (!final && resumeToken && (wasConnected || wasResume)) {
    if (Date.now() < reconnectDeadline) {
      reconnect();
      return;
    }
    if (appId) {
      // Resuming at this address failed for the whole grace.
      relaunch(t("relaunching"));
      return;
    }
  }
  clearInterval(reconnectTimer);
  reconnectTimer = 0;
  setState("closed");
  saveToken(null);
  if (clientError) {
    showOverlay(t("badData"));
  } else if (closeMessage) {
    hideWarning();
    // An administrator's, a service window's or the length limit's reason follows the
    // viewer's own text.
    const own = closeReason(closeMessage.code, lang);
    const reasoned = [4300, 4302, 4305].includes(closeMessage.code) && closeMessage.reason;
    showOverlay(reasoned ? `${own}\n${closeMessage.reason}` : own);
  } else if (event.code >= 4000 && event.code <= 4999) {
    showOverlay(closeReason(event.code, lang));
  } else if (!opened && !wasResume) {
    showOverlay(t("refused"));
  } else {
    showOverlay(t("lost"));
  }
}

/** The websocket dropped: try again with backoff until the gateway's grace runs out. */
function reconnect() {
  setState("reconnecting");
  if (!reconnectTimer) {
    const countdown = () => {
      const left = Math.max(0, Math.ceil((reconnectDeadline - Date.now()) / 1000));
      showOverlay(t("reconnecting").replace("{s}", String(left)));
    };
    countdown();
    reconnectTimer = setInterval(countdown, 1000);
  }
  const delay = Math.min(5000, 250 * 2 ** Math.min(attempt, 5));
  attempt += 1;
  setTimeout(() => open({ token: resumeToken }), delay);
}

function closeBeforeHello(data) {
  if (!socket || document.body.dataset.state === "connected") return null;
  try {
    const m = decodeServer(data);
    return m.type === "Close" ? m : null;
  } catch {
    return null;
  }
}

function receive(data) {
  let m;
  try {
    m = stream.receive(data);
  } catch (error) {
    // A refused resume (4100) is a Close before any ServerHello: the gateway's reason,
    // not a fault of the stream, and the cue to launch again elsewhere.
    const early = closeBeforeHello(data);
    if (early) {
      closeMessage = early;
      return;
    }
    fail(error);
    return;
  }
  switch (m.type) {
    case "Tile": {
      // Start decoding now (off the main thread), draw in order.
      const decoded = createImageBitmap(new Blob([m.data], { type: `image/${m.encoding}` }));
      decoded.catch(() => {});
      const { x, y } = m;
      enqueue(async () => {
        const bitmap = await decoded;
        ctx.drawImage(bitmap, x, y);
        bitmap.close();
      });
      break;
    }
    case "CopyRect":
      enqueue(() => {
        ctx.drawImage(canvas, m.srcX, m.srcY, m.w, m.h, m.dstX, m.dstY, m.w, m.h);
      });
      break;
    case "FrameEnd":
      enqueue(() => {
        send({ type: "FrameAck", frameId: m.frameId });
        frames += 1;
        document.body.dataset.frames = String(frames);
      });
      break;
    case "ServerHello":
      saveToken(m.resumeToken);
      relaunchAttempt = 0;
      enqueue(() => {
        clearInterval(reconnectTimer);
        reconnectTimer = 0;
        attempt = 0;
        resizeCanvas(m.width, m.height);
        setState("connected");
        overlay.hidden = true;
        keys.focus();
        ping();
        pingTimer = setInterval(ping, 2000);
        if (!(m.capabilities & CAPABILITIES.UNICODE_INPUT)) unicodeInput = false;
        clipboardOn = Boolean(m.capabilities & CAPABILITIES.CLIPBOARD);
        document.body.dataset.clipboard = clipboardOn ? "on" : "off";
        syncClipboard();
      });
      break;
    case "Resized":
      enqueue(() => resizeCanvas(m.width, m.height));
      break;
    case "Status": {
      const text = statusText(m.code, m.seconds, lang);
      if (m.code === 10) {
        // ClipboardDisabled: stop offering it.
        clipboardOn = false;
      }
      if (m.code === 2) {
        // Connected carries the gateway's reconnect grace in seconds.
        graceSeconds = m.seconds;
        overlay.hidden = true;
        if (!resumed) showNotice(text, 3000);
      } else if (m.code === 8) {
        // Resumed: the picture is live again.
        resumed = true;
        overlay.hidden = true;
        resumes += 1;
        document.body.dataset.resumes = String(resumes);
        showNotice(text, 3000);
      } else if (m.code === 6 || m.code === 7 || m.code === 12) {
        // Idle, service window, maximum length: a countdown to the deadline.
        showWarning(m.code, m.seconds, m.detail);
      } else if (m.code === 13) {
        // Input arrived after an idle warning.
        hideWarning();
        showNotice(text, 3000);
      } else if (m.code === 3 || m.code === 4 || m.code === 5) {
        // The host is away or the session is ending: nothing on the canvas is current.
        showOverlay(text);
      } else {
        showNotice(text, m.seconds ? (m.seconds + 5) * 1000 : 8000);
      }
      break;
    }
    case "Close":
      closeMessage = m;
      break;
    case "AdminMessage":
      showMessage(m.sender, m.text);
      break;
    case "PrintNotice":
      showPrint(m);
      break;
    case "Pong": {
      const rtt = ((nowMillis() - m.timestamp) >>> 0);
      latency.textContent = `${rtt} ms`;
      break;
    }
    case "CursorShape":
      cursors.set(m.id, cursorCss(m));
      canvas.style.cursor = cursors.get(m.id);
      break;
    case "CursorCached":
      // Id 0 is the system arrow.
      if (m.id === 0) canvas.style.cursor = "default";
      else if (cursors.has(m.id)) canvas.style.cursor = cursors.get(m.id);
      break;
    case "CursorHidden":
      canvas.style.cursor = "none";
      break;
    case "CursorPosition":
      break;
    case "ClipboardText":
      // The host copied text: hand it to the local clipboard, and do not echo it back.
      lastClipboard = m.text;
      navigator.clipboard?.writeText(m.text).catch(() => {});
      document.body.dataset.hostClipboard = String(Number(document.body.dataset.hostClipboard ?? 0) + 1);
      break;
  }
}

function enqueue(op) {
  queue = queue.then(op).catch(fail);
}

/** A message the viewer cannot use: close with its code and say so. */
function fail(error) {
  if (clientError) return;
  clientError = error;
  console.error("session viewer:", error);
  const code = error instanceof WireError ? error.code : 4000;
  try {
    socket?.close(code, "viewer rejected a message");
  } catch {
    socket?.close();
  }
}

function cursorCss(m) {
  const c = document.createElement("canvas");
  c.width = m.w;
  c.height = m.h;
  const image = new ImageData(new Uint8ClampedArray(m.rgba), m.w, m.h);
  c.getContext("2d").putImageData(image, 0, 0);
  return `url(${c.toDataURL()}) ${m.hotspotX} ${m.hotspotY}, default`;
}

function nowMillis() {
  return Math.floor(performance.now()) >>> 0;
}

function ping() {
  send({ type: "Ping", timestamp: nowMillis() });
}

// ---- clipboard --------------------------------------------------------------------------
// Local → host: what the user pastes (the paste event needs no permission) and, when the
// window gains focus, what the clipboard holds (where the browser lets us read it).
// Host → local: ClipboardText above. Both ways only when ServerHello offers CLIPBOARD (the
// pool's policy), and never above the wire's size limit.

let clipboardOn = false;
let lastClipboard = null;
const encoder = new TextEncoder();

function offerClipboard(text) {
  if (!clipboardOn || typeof text !== "string" || text === "" || text === lastClipboard) return;
  if (encoder.encode(text).length > DEFAULT_LIMITS.maxClipboard) {
    showNotice(statusText(9, 0, lang));
    return;
  }
  lastClipboard = text;
  send({ type: "ClipboardText", text });
}

function syncClipboard() {
  if (!clipboardOn || !navigator.clipboard?.readText) return;
  navigator.clipboard.readText().then(offerClipboard).catch(() => {});
}

document.addEventListener("paste", (event) => {
  offerClipboard(event.clipboardData?.getData("text/plain") ?? "");
  event.preventDefault();
});
window.addEventListener("focus", syncClipboard);

// ---- input ------------------------------------------------------------------------------

let unicodeInput = true;
const buttonsDown = new Set();

function releaseHeldState() {
  buttonsDown.clear();
}

function position(event) {
  const rect = canvas.getBoundingClientRect();
  const x = Math.floor((event.clientX - rect.left) * canvas.width / rect.width);
  const y = Math.floor((event.clientY - rect.top) * canvas.height / rect.height);
  return {
    x: Math.max(0, Math.min(canvas.width - 1, x)),
    y: Math.max(0, Math.min(canvas.height - 1, y)),
  };
}

function unicode(text) {
  if (!unicodeInput) return;
  for (const ch of text) {
    const codepoint = ch.codePointAt(0);
    if (codepoint < 0x20 || codepoint === 0x7f) continue;
    send({ type: "KeyUnicode", codepoint, down: true });
    send({ type: "KeyUnicode", codepoint, down: false });
  }
}

function onKey(event) {
  if (document.body.dataset.state !== "connected" || event.isComposing) return;
  // Keys on the viewer's own controls (toolbar, messages, print notices) stay in the browser.
  if (event.target instanceof Element && event.target.closest("#toolbar, #message, #print")) return;
  const down = event.type === "keydown";
  const scancode = codeToScancode(event.code);
  if (scancode !== null && down && event.code === "KeyV" && (event.ctrlKey || event.metaKey)
      && clipboardOn) {
    // Let the browser raise its paste event first, so the host has the text before the
    // V of Ctrl+V arrives.
    setTimeout(() => send({ type: "KeyScancode", scancode, down }), 0);
  } else if (scancode !== null) {
    event.preventDefault();
    send({ type: "KeyScancode", scancode, down });
  } else if (event.key.length === 1 || [...event.key].length === 1) {
    event.preventDefault();
    const codepoint = event.key.codePointAt(0);
    if (unicodeInput) send({ type: "KeyUnicode", codepoint, down });
  }
  // Anything else (dead keys, IME) arrives as text through the input event below.
}

document.addEventListener("keydown", onKey);
document.addEventListener("keyup", onKey);
// Text with no key event: IME commits, on-screen keyboards, dead-key compositions.
keys.addEventListener("input", (event) => {
  if (!event.isComposing && event.data) unicode(event.data);
  keys.value = "";
});
keys.addEventListener("compositionend", () => { keys.value = ""; });

canvas.addEventListener("mousemove", (event) => {
  send({ type: "MouseMove", ...position(event) });
});
for (const type of ["mousedown", "mouseup"]) {
  canvas.addEventListener(type, (event) => {
    event.preventDefault();
    if (event.button > 4) return;
    const down = type === "mousedown";
    if (down) {
      buttonsDown.add(event.button);
      keys.focus({ preventScroll: true });
    } else {
      buttonsDown.delete(event.button);
    }
    send({ type: "MouseButton", button: event.button, down, ...position(event) });
  });
}
// A button released outside the canvas must still reach the host.
window.addEventListener("mouseup", (event) => {
  if (event.target !== canvas && buttonsDown.delete(event.button)) {
    send({ type: "MouseButton", button: event.button, down: false, ...position(event) });
  }
});
canvas.addEventListener("contextmenu", (event) => event.preventDefault());

const wheelRest = { x: 0, y: 0 };
canvas.addEventListener("wheel", (event) => {
  event.preventDefault();
  // To 1/120 notches: pixels (~100 per notch in browsers), lines (3 per notch), pages.
  const unit = event.deltaMode === 1 ? 40 : event.deltaMode === 2 ? 120 * 8 : 1.2;
  wheelRest.x += event.deltaX * unit;
  wheelRest.y += event.deltaY * unit;
  const clamp = (v) => Math.max(-0x8000, Math.min(0x7fff, Math.trunc(v)));
  const deltaX = clamp(wheelRest.x), deltaY = clamp(wheelRest.y);
  if (deltaX === 0 && deltaY === 0) return;
  wheelRest.x -= deltaX;
  wheelRest.y -= deltaY;
  send({ type: "MouseWheel", deltaX, deltaY });
}, { passive: false });

function releaseAll() {
  releaseHeldState();
  send({ type: "ReleaseAllKeys" });
}
window.addEventListener("blur", releaseAll);
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "hidden") releaseAll();
});

let resizeTimer = 0;
window.addEventListener("resize", () => {
  fit();
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => {
    const { width, height } = windowSize();
    if (width !== canvas.width || height !== canvas.height) {
      send({ type: "ResizeRequest", width, height });
    }
  }, 500);
});

fullscreen.addEventListener("click", () => {
  if (document.fullscreenElement) {
    document.exitFullscreen().catch(() => {});
  } else {
    document.documentElement.requestFullscreen().catch(() => {});
  }
  keys.focus({ preventScroll: true });
});

connect();
