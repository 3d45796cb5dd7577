// Fair-use limits and current use of the tenant: each limit beside what is used now, with
// how close it is in words and shape; operators set the limits (an empty field removes
// one), tenant admins read them.

import { badge, field, form, h, problemText, table, when } from "../ui.js";
import { getLang, t } from "../i18n.js";

const P = "quotas";
const LIMITS = [
  ["max_sessions", "sessions"],
  ["max_sessions_per_user", "max_sessions_of_a_user"],
  ["launches_per_minute", "launches_this_minute"],
  ["api_requests_per_minute", "api_requests_this_minute"],
];

const texts = {
  sv: {
    "quotas-caption": "Gränser och användning just nu",
    "quotas-limit": "Gräns",
    "quotas-used": "Används nu",
    "quotas-max": "Tak",
    "quotas-level": "Läge",
    "quotas-none": "ingen gräns",
    "quotas-ok": "gott om utrymme",
    "quotas-near": "nära taket",
    "quotas-full": "taket nått",
    "quotas-unlimited": "obegränsat",
    "quotas-max_sessions": "Samtidiga sessioner i organisationen",
    "quotas-max_sessions_per_user": "Samtidiga sessioner per användare (den som har flest)",
    "quotas-launches_per_minute": "Starter per minut",
    "quotas-api_requests_per_minute": "Anrop till administrations-API:t per minut",
    "quotas-window": (x) => `Minutvärdena gäller minuten som började ${x}.`,
    "quotas-edit": "Ändra gränserna",
    "quotas-hint": "Lämna tomt för ingen gräns.",
    "quotas-save": "Spara gränserna",
    "quotas-saved": "Gränserna är sparade.",
    "quotas-read-only": "Gränserna sätts av driften. Kontakta driften om organisationen behöver mer.",
    "quotas-refresh": "Uppdatera",
  },
  en: {
    "quotas-caption": "Limits and current use",
    "quotas-limit": "Limit",
    "quotas-used": "Used now",
    "quotas-max": "Ceiling",
    "quotas-level": "State",
    "quotas-none": "no limit",
    "quotas-ok": "plenty of room",
    "quotas-near": "close to the ceiling",
    "quotas-full": "ceiling reached",
    "quotas-unlimited": "unlimited",
    "quotas-max_sessions": "Concurrent sessions of the organisation",
    "quotas-max_sessions_per_user": "Concurrent sessions per user (the busiest)",
    "quotas-launches_per_minute": "Launches per minute",
    "quotas-api_requests_per_minute": "Admin API requests per minute",
    "quotas-window": (x) => `Per-minute figures are for the minute that began ${x}.`,
    "quotas-edit": "Change the limits",
    "quotas-hint": "Leave empty for no limit.",
    "quotas-save": "Save the limits",
    "quotas-saved": "The limits are saved.",
    "quotas-read-only": "Operations set the limits. Contact operations if the organisation needs more.",
    "quotas-refresh": "Refresh",
  },
};

function level(used, max) {
  if (max === null || max === undefined) return badge(t(`${P}-unlimited`), "info");
  if (used >= max) return badge(t(`${P}-full`), "bad");
  if (used >= max * 0.8) return badge(t(`${P}-near`), "warn");
  return badge(t(`${P}-ok`), "ok");
}

async function render(container, ctx) {
  container.classList.add("ops");
  const lang = getLang();
  const view = h("div");
  const draw = async () => {
    const [limits, usage] = await Promise.all([
      ctx.api("GET", `/api/v1/tenants/${ctx.tenantId}/limits`),
      ctx.api("GET", `/api/v1/tenants/${ctx.tenantId}/usage`),
    ]);
    if (!limits.ok || !usage.ok) {
      view.replaceChildren(h("p", { class: "form-error", role: "alert" }, problemText(limits.ok ? usage : limits)));
      return;
    }
    const rows = LIMITS.map(([limit, used]) => ({ limit, used: usage.body[used], max: limits.body[limit] }));
    const parts = [
      table({
        caption: t(`${P}-caption`),
        rows,
        columns: [
          { label: t(`${P}-limit`), value: (r) => t(`${P}-${r.limit}`) },
          { label: t(`${P}-used`), value: (r) => String(r.used) },
          { label: t(`${P}-max`), value: (r) => (r.max === null ? t(`${P}-none`) : String(r.max)) },
          { label: t(`${P}-level`), value: (r) => level(r.used, r.max) },
        ],
      }),
      h("p", { class: "hint" }, t(`${P}-window`, when(usage.body.window_start, lang))),
      h("button", { type: "button", class: "secondary", onclick: async () => { await draw(); view.querySelector("caption")?.setAttribute("tabindex", "-1"); view.querySelector("caption")?.focus(); } }, t(`${P}-refresh`)),
    ];
    if (ctx.role === "operator") {
      const fields = LIMITS.map(([limit]) => field({
        name: limit, label: t(`${P}-${limit}`), type: "number", min: 0, value: limits.body[limit] ?? "",
      }));
      parts.push(h("h2", null, t(`${P}-edit`)), h("p", { class: "hint" }, t(`${P}-hint`)), form({
        legend: t(`${P}-edit`),
        fields,
        submit: t(`${P}-save`),
        ctx,
        onSubmit: (v) => ctx.api("PUT", `/api/v1/tenants/${ctx.tenantId}/limits`, v),
        onDone: async () => {
          await draw();
          ctx.say(t(`${P}-saved`));
          view.querySelector("caption")?.setAttribute("tabindex", "-1");
          view.querySelector("caption")?.focus();
        },
      }));
    } else {
      parts.push(h("p", null, t(`${P}-read-only`)));
    }
    view.replaceChildren(...parts);
  };
  container.replaceChildren(view);
  await draw();
}

export default { id: P, label: { sv: "Kvoter och användning", en: "Quotas and use" }, texts, render };
