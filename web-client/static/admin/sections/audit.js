// The audit log: filters (action, outcome, actor, target, from/to in Swedish time), cursor
// paging, each event's details (before and after) on demand, and the same selection
// exported by the broker as CSV or JSON lines (GET /audit/export, itself audited).
// Operators read one organisation's log or, with "all organisations", every event,
// including those of no organisation (refused certificates, operator actions).

import { badge, download, field, h, paged, problemText, table, when } from "../ui.js";
import { getLang, t } from "../i18n.js";
import { getFile, query, stockholmInput } from "./operations-common.js";

const P = "audit";
const OUTCOMES = ["success", "refused", "failed"];
const OUTCOME_BADGE = { success: "ok", refused: "warn", failed: "bad" };

const texts = {
  sv: {
    "audit-filters": "Urval",
    "audit-action": "Åtgärd",
    "audit-action-hint": "Exakt namn, till exempel service_window.create eller access.revoke.",
    "audit-outcome": "Utfall",
    "audit-outcome-any": "Alla utfall",
    "audit-outcome-success": "lyckades",
    "audit-outcome-refused": "nekades",
    "audit-outcome-failed": "misslyckades",
    "audit-actor": "Utförare (id)",
    "audit-target": "Mål (id)",
    "audit-from": "Från och med (svensk tid)",
    "audit-to": "Till (svensk tid)",
    "audit-all-tenants": "Alla organisationer (även händelser utan organisation)",
    "audit-filter": "Visa",
    "audit-export-csv": "Exportera CSV",
    "audit-export-jsonl": "Exportera JSON lines",
    "audit-exported": (name) => `${name} är nedladdad.`,
    "audit-caption": "Granskningslogg, nyast först",
    "audit-empty": "Inga händelser matchar urvalet.",
    "audit-at": "Tid",
    "audit-who": "Utförare",
    "audit-what": "Mål",
    "audit-details": "Detaljer",
    "audit-show": "Visa detaljer",
    "audit-before": "Före",
    "audit-after": "Efter",
    "audit-source": "Från adress",
    "audit-detail": "Beskrivning",
    "audit-actor-api_client": "API-klient",
    "audit-actor-operator": "operatör",
    "audit-actor-user": "användare",
    "audit-actor-system": "systemet",
    "audit-actor-anonymous": "okänd",
    "problem-export-too-large": "Urvalet är för stort för en export (högst 50 000 händelser). Begränsa tiden med Från och Till.",
  },
  en: {
    "audit-filters": "Filters",
    "audit-action": "Action",
    "audit-action-hint": "The exact name, for example service_window.create or access.revoke.",
    "audit-outcome": "Outcome",
    "audit-outcome-any": "All outcomes",
    "audit-outcome-success": "succeeded",
    "audit-outcome-refused": "refused",
    "audit-outcome-failed": "failed",
    "audit-actor": "Actor (id)",
    "audit-target": "Target (id)",
    "audit-from": "From (Swedish time)",
    "audit-to": "Until (Swedish time)",
    "audit-all-tenants": "All organisations (also events of none)",
    "audit-filter": "Show",
    "audit-export-csv": "Export CSV",
    "audit-export-jsonl": "Export JSON lines",
    "audit-exported": (name) => `${name} is downloaded.`,
    "audit-caption": "Audit log, newest first",
    "audit-empty": "No events match the filters.",
    "audit-at": "Time",
    "audit-who": "Actor",
    "audit-what": "Target",
    "audit-details": "Details",
    "audit-show": "Show details",
    "audit-before": "Before",
    "audit-after": "After",
    "audit-source": "From address",
    "audit-detail": "Description",
    "audit-actor-api_client": "API client",
    "audit-actor-operator": "operator",
    "audit-actor-user": "user",
    "audit-actor-system": "the system",
    "audit-actor-anonymous": "unknown",
    "problem-export-too-large": "The selection is too large for one export (at most 50,000 events). Narrow the time with From and Until.",
  },
};

function details(e) {
  const json = (v) => (v === null || v === undefined ? "–" : JSON.stringify(v, null, 2));
  return h("details", null, h("summary", null, t(`${P}-show`)),
    h("dl", null,
      h("dt", null, t(`${P}-detail`)), h("dd", null, e.detail ?? "–"),
      h("dt", null, t(`${P}-source`)), h("dd", null, e.source_address ?? "–"),
      h("dt", null, t(`${P}-before`)), h("dd", null, h("pre", null, json(e.before))),
      h("dt", null, t(`${P}-after`)), h("dd", null, h("pre", null, json(e.after)))));
}

async function render(container, ctx) {
  container.classList.add("ops");
  const lang = getLang();
  const p = (k) => ctx.params.get(k) ?? "";
  const fields = {
    action: field({ name: "action", label: t(`${P}-action`), value: p("action"), hint: t(`${P}-action-hint`) }),
    outcome: field({
      name: "outcome", label: t(`${P}-outcome`), type: "select", value: p("outcome"),
      options: [{ value: "", label: t(`${P}-outcome-any`) }, ...OUTCOMES.map((o) => ({ value: o, label: t(`${P}-outcome-${o}`) }))],
    }),
    actor_id: field({ name: "actor_id", label: t(`${P}-actor`), value: p("actor_id") }),
    target_id: field({ name: "target_id", label: t(`${P}-target`), value: p("target_id") }),
    from: field({ name: "from", label: t(`${P}-from`), type: "datetime-local", value: p("from") }),
    to: field({ name: "to", label: t(`${P}-to`), type: "datetime-local", value: p("to") }),
  };
  const all = ctx.role === "operator" ? field({ name: "all", label: t(`${P}-all-tenants`), type: "checkbox" }) : null;
  const results = h("div");

  const selection = () => ({
    tenant_id: all?.control.checked ? null : ctx.tenantId,
    action: fields.action.control.value.trim(),
    outcome: fields.outcome.control.value,
    actor_id: fields.actor_id.control.value.trim(),
    target_id: fields.target_id.control.value.trim(),
    from: stockholmInput(fields.from.control.value),
    to: stockholmInput(fields.to.control.value),
  });

  const show = () => {
    const chosen = selection();
    return paged(results,
      (cursor) => ctx.api("GET", `/api/v1/audit${query({ ...chosen, limit: 50, cursor })}`),
      (items) => table({
        caption: t(`${P}-caption`),
        empty: t(`${P}-empty`),
        rows: items,
        columns: [
          { label: t(`${P}-at`), value: (e) => when(e.at, lang) },
          { label: t(`${P}-action`), value: (e) => h("code", null, e.action) },
          { label: t(`${P}-outcome`), value: (e) => badge(t(`${P}-outcome-${e.outcome}`), OUTCOME_BADGE[e.outcome]) },
          { label: t(`${P}-who`), value: (e) => `${e.actor_name} (${t(`${P}-actor-${e.actor_kind}`)}${e.actor_id ? `, ${e.actor_id}` : ""})` },
          { label: t(`${P}-what`), value: (e) => (e.target_type ? `${e.target_type} ${e.target_id ?? ""}` : "–") },
          { label: t(`${P}-details`), value: (e) => details(e) },
        ],
      }), ctx);
  };

  const exporter = (format, label, type) => {
    const button = h("button", { type: "button", class: "secondary" }, label);
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const file = await getFile(`/api/v1/audit/export${query({ format, ...selection() })}`, lang, type);
        if (!file.ok) {
          ctx.say(problemText(file));
          return;
        }
        const name = file.filename ?? `audit.${format}`;
        download(name, type, file.text);
        ctx.say(t(`${P}-exported`, name));
      } finally {
        button.disabled = false;
      }
    });
    return button;
  };

  const filterForm = h("form", { class: "toolbar filters", role: "search", "aria-label": t(`${P}-filters`) },
    Object.values(fields), all, h("button", { type: "submit" }, t(`${P}-filter`)));
  filterForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    await show();
    const first = results.querySelector("caption, .empty, .form-error");
    first?.setAttribute("tabindex", "-1");
    first?.focus();
  });
  container.replaceChildren(
    h("h2", null, t(`${P}-filters`)), filterForm,
    h("div", { class: "toolbar" }, exporter("csv", t(`${P}-export-csv`), "text/csv"), exporter("jsonl", t(`${P}-export-jsonl`), "application/x-ndjson")),
    results);
  await show();
}

export default { id: P, label: { sv: "Granskningslogg", en: "Audit log" }, texts, render };
