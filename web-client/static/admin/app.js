// The admin console's shell: who is logged in (GET /portal/api/me; tenant-admins and
// operators only), the tenant an operator works on, the language, the section navigation
// and the router (#/section?param=value). Sections (sections/index.js) render into the
// main region; every call they make goes to the admin API on this origin (/api/v1), the
// same one `hamn admin` uses, with this web session and its CSRF token.

import { api } from "../portal-api.js";
import { langOf, rememberLang } from "../language.js";
import { addTexts, getLang, label, setLang, t } from "./i18n.js";
import { h, problemText } from "./ui.js";
import sections from "./sections/index.js";

const $ = (id) => document.getElementById(id);

for (const section of sections) addTexts(section.texts);

let me = null;
let tenants = [];
let tenantId = null;
let cleanup = null;

function say(message) {
  $("message").textContent = message ?? "";
}

function allowed() {
  return sections.filter((s) => !s.roles || s.roles.includes(me?.role));
}

function route() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [id, query] = raw.split("?");
  return { id: id || allowed()[0]?.id, params: new URLSearchParams(query ?? "") };
}

function context(params) {
  const lang = getLang();
  return {
    lang,
    t,
    me,
    role: me.role,
    tenantId,
    tenant: tenants.find((x) => x.id === tenantId) ?? me.tenant,
    tenants,
    params,
    api: (method, path, body) => api(method, path, lang, body),
    say,
    go: (hash) => { location.hash = hash; },
    rerender: () => show(false),
  };
}

function renderChrome() {
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-label]")) el.setAttribute("aria-label", t(el.dataset.i18nLabel));
  const toggle = $("lang-toggle");
  toggle.textContent = t("toggle");
  toggle.lang = getLang() === "sv" ? "en" : "sv";
  document.title = `Hamn – ${t("console")}`;
  if (!me) return;
  $("who").textContent = `${me.user.display_name} · ${me.tenant.name} · ${t(`role-${me.role}`)}`;
  const picker = $("tenant-picker");
  picker.hidden = me.role !== "operator";
  const select = $("tenant-select");
  select.replaceChildren(...tenants.map((x) => h("option", { value: x.id, selected: x.id === tenantId }, x.name)));
  const current = route().id;
  $("section-links").replaceChildren(...allowed().map((s) => h("li", null,
    h("a", { href: `#/${s.id}`, "aria-current": s.id === current ? "page" : null }, label(s.label)))));
}

async function show(moveFocus) {
  renderChrome();
  const view = $("view");
  if (typeof cleanup === "function") cleanup();
  cleanup = null;
  const { id, params } = route();
  const section = allowed().find((s) => s.id === id);
  if (!section) {
    view.replaceChildren(h("h1", { tabindex: "-1" }, t("no-such-section")));
    return;
  }
  const heading = h("h1", { tabindex: "-1" }, label(section.label));
  const body = h("div", { class: "section-body" });
  view.replaceChildren(heading, body);
  document.title = `${label(section.label)} – Hamn ${t("console")}`;
  if (moveFocus) heading.focus();
  try {
    cleanup = await section.render(body, context(params));
  } catch (error) {
    body.replaceChildren(h("p", { class: "form-error", role: "alert" }, t("problem-internal")));
    console.error(error);
  }
}

async function boot() {
  setLang(langOf(null));
  renderChrome();
  const answer = await api("GET", "/portal/api/me", getLang());
  if (!answer.ok) {
    $("view").replaceChildren(h("p", { class: "form-error", role: "alert" },
      answer.status === 401 ? t("not-logged-in") : problemText(answer)),
    h("p", null, h("a", { href: "/" }, t("to-portal"))));
    return;
  }
  me = answer.body;
  setLang(langOf(me));
  if (me.role !== "operator" && me.role !== "tenant_admin") {
    renderChrome();
    $("view").replaceChildren(h("p", { class: "form-error", role: "alert" }, t("not-admin")),
      h("p", null, h("a", { href: "/" }, t("to-portal"))));
    return;
  }
  tenantId = me.tenant.id;
  if (me.role === "operator") {
    const list = await api("GET", "/api/v1/tenants?limit=500", getLang());
    tenants = list.ok ? list.body.items : [];
    const chosen = sessionStorage.getItem("hamn.admin.tenant");
    if (tenants.some((x) => x.id === chosen)) tenantId = chosen;
  } else {
    tenants = [me.tenant];
  }
  await show(false);
}

// A message belongs to the view it was said in: another section or language starts silent
// (a section's own rerender keeps what its action just said).
window.addEventListener("hashchange", () => {
  say("");
  show(true);
});
$("tenant-select").addEventListener("change", (event) => {
  tenantId = event.currentTarget.value;
  sessionStorage.setItem("hamn.admin.tenant", tenantId);
  show(false);
});
$("lang-toggle").addEventListener("click", async () => {
  setLang(getLang() === "sv" ? "en" : "sv");
  say("");
  await show(false);
  await rememberLang(getLang(), api, Boolean(me));
});
$("logout").addEventListener("click", async () => {
  await api("POST", "/portal/api/logout", getLang(), {});
  location.assign("/");
});

boot();
