// The portal page: language switch (Swedish default, English remembered), a live readiness
// line, and — when the gateway offers a login (GET /portal/api/me answers 401 or 200, not
// 404) — the login methods on offer (GET /portal/api/login-methods: choose organisation →
// its IdP over SAML, the demo form, the "Logga in med SITHS-kort" link to the SITHS
// listener), the user's apps grouped by
// environment (PROD and UTB told apart by label, colour and pattern) and launching one in
// the session viewer, or in the user's own remote desktop client by an .rdp file; "Mina
// sessioner" and "Mina utskrifter" (the user's print jobs as PDFs: open, download, or why
// a job was refused); banners for service windows of the user's environments and for
// admins' messages (GET /portal/api/notices), each dismissible for this browser session;
// a link to the admin console for tenant-admins and operators. The language is the user's
// (language.js: remembered for them once logged in, so it follows them between browsers).
import { api, download, prints as fetchPrints } from "./portal-api.js";
import { pdfUrl, refusalText } from "./prints.js";
import { langOf, rememberLang, storedLang } from "./language.js";

const TEXTS = {
  en: {
    skip: "Skip to content",
    "nav-lang": "Language",
    welcome: "Welcome to Hamn",
    intro: "Reach Procapita and other line-of-business applications hosted in the " +
      "municipalities' shared environment – in your browser or with your remote desktop client.",
    "login-soon": "Sign-in with e-ID and SITHS cards opens here. Contact your system " +
      "administrator if you need access.",
    "login-heading": "Log in",
    "siths-login": "Log in with a SITHS card",
    organisation: "Choose organisation",
    "saml-login": "Log in with e-ID",
    "demo-hint": "This is a demo login: enter a user name, no password is needed. " +
      "The demo user is called “demo”.",
    username: "User name",
    login: "Log in",
    "apps-heading": "Your applications",
    logout: "Log out",
    who: (me) => `Logged in as ${me.user.display_name} (${me.tenant.name}).`,
    open: "Open",
    opening: "Opening …",
    native: "Open in Remote Desktop client",
    "native-busy": "Preparing the file …",
    "native-saved": (name) => `${name}.rdp is downloaded. Open it to start ${name} in your ` +
      "Remote Desktop client. The file works once and only for a few minutes.",
    "no-apps": "You have no applications.",
    "sessions-heading": "My sessions",
    "no-sessions": "You have no open sessions.",
    "prints-heading": "My print jobs",
    "prints-note": "What you print in the applications becomes PDF files here. They are kept for a day.",
    "no-prints": "You have no print jobs.",
    "prints-error": "Your print jobs could not be fetched. Try again in a while.",
    "print-open": "Open",
    "print-download": "Download",
    "print-pages": (n) => (n === 1 ? "1 page" : `${n} pages`),
    "print-refused": "Refused",
    "print-cancelled": "Cancelled",
    "print-expires": (t) => `kept until ${t}`,
    "state-active": "In use",
    "state-disconnected": "Disconnected – your work is kept",
    "state-launching": "Starting",
    reconnect: "Reconnect",
    "session-logoff": "Log off",
    "session-logged-off": (name) => `${name} is logged off.`,
    "env-PROD": "Production",
    "env-PROD-note": "Real data about real people.",
    "env-UTB": "Training",
    "env-UTB-note": "Training and testing. Not real data – do not enter information about real people.",
    "name-required": "Enter a user name.",
    "logged-out": "You are logged out.",
    "network-error": "The service could not be reached. Check your connection and try again.",
    "status-heading": "Service status",
    "status-checking": "Checking the service …",
    "status-ok": "The service is in operation.",
    "status-down": "The service is not ready right now. Try again in a while.",
    "status-link": "Service status of every environment and planned service windows",
    admin: "Administration",
    "notices-heading": "Notices",
    "notice-window": "Service window",
    "notice-window-now": "Service window in progress",
    "notice-emergency": "Emergency service window",
    "notice-incident-disturbance": "Disturbance",
    "notice-incident-outage": "Outage",
    "notice-incident-state": (n) => `${n.env}: ${n.state} (since ${n.since}). More on the status page.`,
    "incident-investigating": "being investigated",
    "incident-identified": "cause identified",
    "incident-monitoring": "fixed, being monitored",
    "incident-all": "All environments",
    "notice-warning": "Important",
    "notice-info": "Information",
    "notice-window-text": (n) => `${n.env}: ${n.from} – ${n.to}. The applications in ` +
      `${n.env} cannot be used then; save your work before it starts.`,
    "notice-window-now-text": (n) => `${n.env} is unavailable until ${n.to}.`,
    "notice-dismiss": "Hide",
    "notice-dismiss-label": (title) => `Hide the notice “${title}” for now`,
    "notices-hidden": (n) => (n === 1 ? "Show 1 hidden notice" : `Show ${n} hidden notices`),
    "notices-error": "Notices could not be fetched. Try again in a while.",
    footer: "Hamn – secure access to remote applications.",
    toggle: "På svenska",
  },
  sv: {
    "nav-lang": "Språk",
    who: (me) => `Inloggad som ${me.user.display_name} (${me.tenant.name}).`,
    open: "Öppna",
    opening: "Öppnar …",
    native: "Öppna i fjärrskrivbordsklient",
    "native-busy": "Förbereder filen …",
    "native-saved": (name) => `${name}.rdp är nedladdad. Öppna den för att starta ${name} i ` +
      "ditt fjärrskrivbordsprogram. Filen fungerar en gång och bara några minuter.",
    "no-apps": "Du har inga applikationer.",
    "no-sessions": "Du har inga öppna sessioner.",
    "no-prints": "Du har inga utskrifter.",
    "prints-error": "Dina utskrifter kunde inte hämtas. Försök igen om en stund.",
    "print-open": "Öppna",
    "print-download": "Ladda ner",
    "print-pages": (n) => (n === 1 ? "1 sida" : `${n} sidor`),
    "print-refused": "Avvisad",
    "print-cancelled": "Avbruten",
    "print-expires": (t) => `sparas till ${t}`,
    "state-active": "Används",
    "state-disconnected": "Frånkopplad – ditt arbete finns kvar",
    "state-launching": "Startar",
    reconnect: "Återanslut",
    "session-logoff": "Logga ut",
    "session-logged-off": (name) => `${name} är utloggad.`,
    "env-PROD": "Produktion",
    "env-PROD-note": "Riktiga uppgifter om riktiga personer.",
    "env-UTB": "Utbildning",
    "env-UTB-note": "Övning och test. Inte riktiga uppgifter – skriv inte in uppgifter om riktiga personer.",
    "name-required": "Ange ett användarnamn.",
    "logged-out": "Du är utloggad.",
    "network-error": "Tjänsten kunde inte nås. Kontrollera anslutningen och försök igen.",
    "status-ok": "Tjänsten är i drift.",
    "status-down": "Tjänsten är inte redo just nu. Försök igen om en stund.",
    admin: "Administration",
    "notices-heading": "Meddelanden",
    "notice-window": "Servicefönster",
    "notice-window-now": "Pågående servicefönster",
    "notice-emergency": "Akut servicefönster",
    "notice-incident-disturbance": "Driftstörning",
    "notice-incident-outage": "Avbrott",
    "notice-incident-state": (n) => `${n.env}: ${n.state} (sedan ${n.since}). Mer på driftstatussidan.`,
    "incident-investigating": "felsökning pågår",
    "incident-identified": "orsaken är känd",
    "incident-monitoring": "åtgärdat, bevakas",
    "incident-all": "Alla miljöer",
    "notice-warning": "Viktigt",
    "notice-info": "Information",
    "notice-window-text": (n) => `${n.env}: ${n.from} – ${n.to}. Programmen i ${n.env} ` +
      "kan inte användas då; spara ditt arbete innan det börjar.",
    "notice-window-now-text": (n) => `${n.env} går inte att använda förrän ${n.to}.`,
    "notice-dismiss": "Dölj",
    "notice-dismiss-label": (title) => `Dölj meddelandet ”${title}” för stunden`,
    "notices-hidden": (n) => (n === 1 ? "Visa 1 dolt meddelande" : `Visa ${n} dolda meddelanden`),
    "notices-error": "Meddelandena kunde inte hämtas. Försök igen om en stund.",
    toggle: "In English",
  },
};

const $ = (id) => document.getElementById(id);

// The Swedish texts are the page's own.
const swedish = new Map();
for (const el of document.querySelectorAll("[data-i18n]")) {
  swedish.set(el.dataset.i18n, el.textContent);
}

function text(key, arg) {
  const value = TEXTS[lang]?.[key] ?? TEXTS.sv[key] ?? swedish.get(key) ?? key;
  return typeof value === "function" ? value(arg) : value;
}

let lang = storedLang();
let statusKey = "status-checking";
// What the page shows: null before the API answered, "none" without a login method,
// "login", or the user (GET /portal/api/me) with their apps.
let view = null;
let me = null;
let environments = [];
// GET /portal/api/sessions: the user's sessions that have not ended.
let sessions = [];
// GET /portal/api/prints: the user's print jobs, newest first; null: not fetched.
let printJobs = [];
// GET /portal/api/login-methods: which ways in the login view offers.
// organisations: [{slug, name, login_url}] whose IdP (SAML) login is on.
let methods = { demo: false, siths_url: null, organisations: [] };
// GET /portal/api/notices: { incidents, service_windows, announcements }; null: could not
// be fetched.
let notices = { incidents: [], service_windows: [], announcements: [] };
// Banners the user hid in this browser session (sessionStorage): hidden, never lost; the
// "show hidden" button brings them back, and a new browser session shows them again.
const HIDDEN_KEY = "hamn.hidden-notices";
// Set before a single logout through the IdP, read when the portal opens again.
const LOGGED_OUT_KEY = "hamn.logged-out";
// The last language switch being stored for the user (PUT /portal/api/me/language).
let remembering = Promise.resolve();
function hiddenNotices() {
  try {
    const list = JSON.parse(sessionStorage.getItem(HIDDEN_KEY) ?? "[]");
    return new Set(Array.isArray(list) ? list.filter((k) => typeof k === "string") : []);
  } catch {
    return new Set();
  }
}
function setHiddenNotices(set) {
  sessionStorage.setItem(HIDDEN_KEY, JSON.stringify([...set]));
}

function say(message) {
  // Replacing the text of the live region is what screen readers announce.
  $("message").textContent = message ?? "";
}

function render() {
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll("[data-i18n]")) {
    el.textContent = text(el.dataset.i18n);
  }
  for (const el of document.querySelectorAll("[data-i18n-label]")) {
    el.setAttribute("aria-label", text(el.dataset.i18nLabel));
  }
  const toggle = $("lang-toggle");
  const other = lang === "sv" ? "en" : "sv";
  toggle.textContent = text("toggle");
  toggle.lang = other;
  toggle.dataset.lang = other;

  const status = $("status-text");
  status.dataset.i18n = statusKey;
  status.textContent = text(statusKey);
  status.className = statusKey === "status-ok" ? "ok" : statusKey === "status-down" ? "warn" : "";

  $("login").hidden = view !== "login";
  // "Inloggning … öppnas här": only while the gateway offers no login at all.
  $("login-soon").hidden = view !== "none";
  $("demo").hidden = !methods.demo;
  $("siths").hidden = !methods.siths_url;
  $("saml").hidden = methods.organisations.length === 0;
  const select = $("organisation");
  if (select.options.length !== methods.organisations.length) {
    select.replaceChildren(...methods.organisations.map((org) => {
      const option = document.createElement("option");
      option.value = org.login_url;
      option.textContent = org.name;
      return option;
    }));
  }
  if (methods.siths_url) {
    // The SITHS listener answers its refusals as a page in the language asked for here.
    $("siths-login").href = lang === "en" ? `${methods.siths_url}?lang=en` : methods.siths_url;
  }
  $("apps").hidden = view !== "apps";
  $("notices").hidden = view !== "apps";
  const admin = $("admin-link");
  admin.hidden = !(view === "apps" && (me?.role === "tenant_admin" || me?.role === "operator"));
  if (view === "apps") {
    renderNotices();
    renderApps();
    renderSessions();
    renderPrints();
  }
}

function when(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  // Swedish time, as service windows are announced and the status page shows them.
  return date.toLocaleString(lang === "en" ? "en-GB" : "sv-SE",
    { dateStyle: "short", timeStyle: "short", timeZone: "Europe/Stockholm" });
}

// The banners: one article each with its kind in words (never colour alone), its title as
// a heading and a "Dölj" button that hides it for this browser session.
function noticeItems() {
  if (notices === null) return [];
  const windows = notices.service_windows.map((w) => ({
    key: `window:${w.id}:${w.starts_at}`,
    kind: w.in_progress ? "notice-window-now" : w.emergency ? "notice-emergency" : "notice-window",
    level: w.in_progress || w.emergency ? "warning" : "window",
    title: w.title,
    text: text(w.in_progress ? "notice-window-now-text" : "notice-window-text",
      { env: `${w.environment === "UTB" ? "UTB" : "PROD"} (${text(`env-${w.environment === "UTB" ? "UTB" : "PROD"}`)})`,
        from: when(w.starts_at), to: when(w.ends_at) }),
    detail: w.description,
  }));
  // Open incidents come first: they are why an app may not work right now.
  const incidents = (notices.incidents ?? []).map((i) => ({
    key: `incident:${i.id}:${i.updated_at}`,
    kind: i.severity === "outage" ? "notice-incident-outage" : "notice-incident-disturbance",
    level: "warning",
    title: i.title,
    text: text("notice-incident-state", {
      env: i.environment ? `${i.environment} (${text(`env-${i.environment === "UTB" ? "UTB" : "PROD"}`)})` : text("incident-all"),
      state: text(`incident-${i.state}`), since: when(i.started_at) }),
    detail: i.message,
  }));
  const messages = notices.announcements.map((a) => ({
    key: `announcement:${a.id}`,
    kind: a.severity === "warning" ? "notice-warning" : "notice-info",
    level: a.severity === "warning" ? "warning" : "info",
    title: a.title,
    text: a.body,
    detail: "",
  }));
  return [...incidents, ...messages.filter((m) => m.level === "warning"), ...windows,
    ...messages.filter((m) => m.level !== "warning")];
}

function renderNotices() {
  const list = $("notices-list");
  const hidden = hiddenNotices();
  const items = noticeItems();
  const shown = items.filter((n) => !hidden.has(n.key));
  const hiddenCount = items.length - shown.length;
  $("notices").dataset.count = String(items.length);
  // Nothing to say: the region goes away instead of an empty heading.
  $("notices").hidden = notices !== null && items.length === 0;
  list.replaceChildren();
  if (notices === null) {
    const line = document.createElement("li");
    line.textContent = text("notices-error");
    list.append(line);
  }
  for (const notice of shown) {
    const item = document.createElement("li");
    item.className = `notice-banner notice-${notice.level}`;
    item.dataset.key = notice.key;
    const article = document.createElement("article");
    const headingId = `notice-${notice.key.replace(/[^a-zA-Z0-9-]/g, "-")}`;
    article.setAttribute("aria-labelledby", headingId);
    const heading = document.createElement("h3");
    heading.id = headingId;
    const kind = document.createElement("span");
    kind.className = "notice-kind";
    kind.textContent = `${text(notice.kind)}:`;
    heading.append(kind, " ", notice.title);
    article.append(heading);
    for (const line of [notice.text, notice.detail]) {
      if (!line) continue;
      const p = document.createElement("p");
      p.textContent = line;
      article.append(p);
    }
    const hide = document.createElement("button");
    hide.type = "button";
    hide.className = "notice-dismiss secondary";
    hide.textContent = text("notice-dismiss");
    hide.setAttribute("aria-label", text("notice-dismiss-label", notice.title));
    hide.addEventListener("click", () => {
      const set = hiddenNotices();
      set.add(notice.key);
      setHiddenNotices(set);
      render();
      // Focus stays in the region: on the next banner's button, or the "show hidden" one.
      const next = document.querySelector(".notice-dismiss") ?? $("notices-restore");
      next.focus();
    });
    article.append(hide);
    item.append(article);
    list.append(item);
  }
  const restore = $("notices-restore");
  restore.hidden = hiddenCount === 0;
  restore.textContent = text("notices-hidden", hiddenCount);
}

async function loadNotices() {
  const answer = await api("GET", "/portal/api/notices", lang);
  if (answer.status === 401) return;
  notices = answer.ok && Array.isArray(answer.body?.service_windows) &&
    Array.isArray(answer.body?.announcements)
    ? answer.body
    : null;
}

// "Mina utskrifter": each job with its title and time; a ready one opens in a new tab or
// downloads, a refused one says why.
function renderPrints() {
  const list = $("prints-list");
  list.replaceChildren();
  const line = (key) => {
    const item = document.createElement("li");
    item.textContent = text(key);
    list.append(item);
  };
  if (printJobs === null) {
    line("prints-error");
    list.dataset.state = "error";
    return;
  }
  if (printJobs.length === 0) {
    line("no-prints");
    list.dataset.state = "empty";
    return;
  }
  list.dataset.state = "jobs";
  for (const job of printJobs) {
    const item = document.createElement("li");
    item.className = `print print-${job.state}`;
    item.dataset.jobId = job.id;
    const name = document.createElement("span");
    name.className = "print-title";
    name.id = `print-${job.id}`;
    name.textContent = job.title || text("prints-heading");
    const detail = document.createElement("span");
    detail.className = "print-detail";
    const created = when(job.created_at);
    if (job.state === "ready") {
      const expires = job.expires_at ? `, ${text("print-expires", when(job.expires_at))}` : "";
      detail.textContent = `${created} · ${text("print-pages", job.pages)}${expires}`;
      const open = document.createElement("a");
      open.className = "button-link";
      open.href = pdfUrl(job.id);
      open.target = "_blank";
      open.rel = "noopener";
      open.textContent = text("print-open");
      open.setAttribute("aria-describedby", name.id);
      const save = document.createElement("a");
      save.className = "button-link secondary";
      save.href = pdfUrl(job.id, true);
      save.download = "";
      save.textContent = text("print-download");
      save.setAttribute("aria-describedby", name.id);
      item.append(name, " ", detail, " ", open, " ", save);
    } else {
      const state = job.state === "cancelled" ? "print-cancelled" : "print-refused";
      const why = job.reason ? `: ${refusalText(job.reason, lang)}` : "";
      detail.textContent = `${created} · ${text(state)}${why}`;
      item.append(name, " ", detail);
    }
    list.append(item);
  }
}

async function loadPrints() {
  const answer = await fetchPrints(lang);
  if (answer.status === 401) return;
  // 404: a gateway without printing; an empty list says the same to the user.
  printJobs = answer.status === 404 ? [] : answer.jobs;
}

// "Mina sessioner": reconnect (a launch of the same app roams to the session) or log off.
function renderSessions() {
  const list = $("sessions-list");
  list.replaceChildren();
  if (sessions.length === 0) {
    const empty = document.createElement("li");
    empty.textContent = text("no-sessions");
    list.append(empty);
    return;
  }
  for (const session of sessions) {
    const kind = session.environment === "UTB" ? "UTB" : "PROD";
    const item = document.createElement("li");
    item.className = `session env-${kind.toLowerCase()}`;
    item.dataset.sessionId = session.id;
    const name = document.createElement("span");
    name.className = "session-name";
    name.id = `session-${session.id}`;
    name.textContent = `${session.app_name} (${kind})`;
    const state = document.createElement("span");
    state.className = "session-state";
    state.textContent = text(`state-${session.state}`);
    const again = document.createElement("button");
    again.type = "button";
    again.textContent = text("reconnect");
    again.setAttribute("aria-describedby", name.id);
    again.addEventListener("click", () => launch({ id: session.app_id }, again, "reconnect"));
    const off = document.createElement("button");
    off.type = "button";
    off.className = "secondary";
    off.textContent = text("session-logoff");
    off.setAttribute("aria-describedby", name.id);
    off.disabled = session.state === "launching";
    off.addEventListener("click", () => logOffSession(session, off));
    item.append(name, " ", state, " ", again, " ", off);
    list.append(item);
  }
}

async function loadSessions() {
  const answer = await api("GET", "/portal/api/sessions", lang);
  sessions = answer.ok && Array.isArray(answer.body?.sessions) ? answer.body.sessions : [];
}

async function logOffSession(session, button) {
  button.disabled = true;
  const answer = await api("POST", `/portal/api/sessions/${encodeURIComponent(session.id)}/logoff`, lang, {});
  if (!answer.ok) {
    button.disabled = false;
    say(answer.message ?? text("network-error"));
    if (answer.status === 401) showLogin();
    return;
  }
  await loadSessions();
  render();
  say(text("session-logged-off", session.app_name));
  $("sessions-heading").setAttribute("tabindex", "-1");
  $("sessions-heading").focus();
}

function renderApps() {
  $("who").textContent = text("who", me);
  const root = $("environments");
  root.replaceChildren();
  if (environments.length === 0) {
    const empty = document.createElement("p");
    empty.textContent = text("no-apps");
    root.append(empty);
    return;
  }
  for (const env of environments) {
    const kind = env.kind === "UTB" ? "UTB" : "PROD";
    const section = document.createElement("section");
    section.className = `env env-${kind.toLowerCase()}`;
    section.dataset.kind = kind;
    const headingId = `env-${env.id}`;
    section.setAttribute("aria-labelledby", headingId);

    const heading = document.createElement("h3");
    heading.id = headingId;
    const badge = document.createElement("span");
    badge.className = "env-badge";
    badge.textContent = kind;
    const title = document.createElement("span");
    title.textContent = text(`env-${kind}`);
    heading.append(badge, " ", title);
    const note = document.createElement("p");
    note.className = "env-note";
    note.textContent = text(`env-${kind}-note`);

    const list = document.createElement("ul");
    list.className = "tiles";
    for (const app of env.apps) {
      const item = document.createElement("li");
      item.className = "tile";
      item.dataset.appId = app.id;
      const name = document.createElement("h4");
      name.id = `app-${app.id}`;
      name.textContent = app.name;
      const mark = document.createElement("span");
      mark.className = "tile-env";
      mark.id = `app-env-${app.id}`;
      mark.textContent = kind;
      const open = document.createElement("button");
      open.type = "button";
      open.className = "open";
      open.textContent = text("open");
      // The button says "Öppna"; its description says what and where.
      open.setAttribute("aria-describedby", `${name.id} ${mark.id}`);
      open.addEventListener("click", () => launch(app, open));
      const native = document.createElement("button");
      native.type = "button";
      native.className = "native secondary";
      native.textContent = text("native");
      native.setAttribute("aria-describedby", `${name.id} ${mark.id}`);
      native.addEventListener("click", () => openNative(app, native));
      item.append(name, mark, open, native);
      list.append(item);
    }
    section.append(heading, note, list);
    root.append(section);
  }
}

async function showUser(who) {
  me = who;
  lang = langOf(who);
  const apps = await api("GET", "/portal/api/apps", lang);
  if (apps.status === 401) return showLogin();
  if (!apps.ok) return say(apps.message ?? text("network-error"));
  environments = apps.body.environments ?? [];
  await Promise.all([loadSessions(), loadPrints(), loadNotices()]);
  view = "apps";
  render();
}

function showLogin() {
  me = null;
  environments = [];
  sessions = [];
  printJobs = [];
  notices = { incidents: [], service_windows: [], announcements: [] };
  view = "login";
  render();
}

async function login(event) {
  event.preventDefault();
  const input = $("username");
  const username = input.value.trim();
  if (!username) {
    input.setAttribute("aria-invalid", "true");
    say(text("name-required"));
    input.focus();
    return;
  }
  input.removeAttribute("aria-invalid");
  const button = $("login-button");
  button.disabled = true;
  say("");
  try {
    const answer = await api("POST", "/portal/api/demo-login", lang, { username });
    if (!answer.ok) {
      input.setAttribute("aria-invalid", "true");
      say(answer.message ?? text("network-error"));
      input.focus();
      return;
    }
    await showUser(answer.body);
    $("apps-heading").setAttribute("tabindex", "-1");
    $("apps-heading").focus();
  } finally {
    button.disabled = false;
  }
}

async function launch(app, button, label = "open") {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  button.textContent = text("opening");
  say("");
  const answer = await api("POST", "/portal/api/launch", lang, { app_id: app.id });
  if (answer.ok && typeof answer.body.viewer_url === "string") {
    // Same tab: the ticket lives only in the fragment and is spent on first use.
    location.assign(answer.body.viewer_url);
    return;
  }
  button.disabled = false;
  button.removeAttribute("aria-busy");
  button.textContent = text(label);
  say(answer.message ?? text("network-error"));
  if (answer.status === 401) showLogin();
}

// "Öppna i fjärrskrivbordsklient": the gateway launches the app for a native client and
// answers with an .rdp file, saved as a download (the user's RDP client opens it).
async function openNative(app, button) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  button.textContent = text("native-busy");
  say("");
  const answer = await download(`/portal/api/apps/${encodeURIComponent(app.id)}/rdp`, lang, { lang });
  button.disabled = false;
  button.removeAttribute("aria-busy");
  button.textContent = text("native");
  if (!answer.ok) {
    say(answer.message ?? text("network-error"));
    if (answer.status === 401) showLogin();
    return;
  }
  const url = URL.createObjectURL(answer.blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = `${app.name}.rdp`;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  // The download has its own copy once it started.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  say(text("native-saved", app.name));
}

// Log in through the chosen organisation's IdP: a top-level navigation to its SAML login,
// which sends the browser on to the IdP (refusal pages come back in this language).
function samlLogin(event) {
  event.preventDefault();
  const url = $("organisation").value;
  if (!url.startsWith("/saml/")) return;
  location.assign(lang === "en" ? `${url}?lang=en` : url);
}

async function logout() {
  if (me?.method === "saml") {
    // Single logout: the gateway ends the session and names the IdP's logout, if any.
    const answer = await api("POST", `/saml/${encodeURIComponent(me.tenant.slug)}/logout`, lang, {});
    if (answer.ok && typeof answer.body?.redirect === "string" && answer.body.redirect.startsWith("http")) {
      // The IdP sends the browser back to the portal's front page; this tab then says the
      // logout happened, as it does without the IdP.
      sessionStorage.setItem(LOGGED_OUT_KEY, "1");
      location.assign(answer.body.redirect);
      return;
    }
  }
  await api("POST", "/portal/api/logout", lang, {});
  showLogin();
  say(text("logged-out"));
  $("username").focus();
}

async function start() {
  const offered = await api("GET", "/portal/api/login-methods", lang);
  if (offered.ok && offered.body) {
    methods = {
      demo: offered.body.demo === true,
      siths_url: typeof offered.body.siths_url === "string" ? offered.body.siths_url : null,
      organisations: Array.isArray(offered.body.organisations)
        ? offered.body.organisations.filter((o) => typeof o.login_url === "string" &&
          o.login_url.startsWith("/saml/"))
        : [],
    };
  }
  const answer = await api("GET", "/portal/api/me", lang);
  const loggedOut = sessionStorage.getItem(LOGGED_OUT_KEY) === "1";
  sessionStorage.removeItem(LOGGED_OUT_KEY);
  if (answer.status === 404) view = "none";
  else if (answer.ok) return showUser(answer.body);
  else if (answer.status === 401) view = "login";
  else say(answer.message ?? text("network-error"));
  render();
  if (view === "login" && loggedOut) say(text("logged-out"));
}

async function checkReady() {
  try {
    const response = await fetch("/readyz", { cache: "no-store" });
    statusKey = response.ok ? "status-ok" : "status-down";
  } catch {
    statusKey = "status-down";
  }
  render();
}

$("lang-toggle").addEventListener("click", (event) => {
  lang = event.currentTarget.dataset.lang === "en" ? "en" : "sv";
  // The last message was in the other language; an outdated line helps no one.
  say("");
  render();
  // Remembered here and, when logged in, for the user (their next browser starts in it).
  // One request after the other, so quick switches end with the last choice stored.
  const chosen = lang;
  const loggedIn = me !== null;
  remembering = remembering.then(() => rememberLang(chosen, api, loggedIn));
});
$("notices-restore").addEventListener("click", () => {
  setHiddenNotices(new Set());
  render();
  $("notices-heading").focus();
});
$("login-form").addEventListener("submit", login);
$("saml").addEventListener("submit", samlLogin);
$("logout").addEventListener("click", logout);

render();
checkReady();
start();
