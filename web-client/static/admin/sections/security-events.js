// Security events: attack patterns the broker raised from refused logins and launches
// (many failures from one source, bad signatures, replays, probing), newest first, paged,
// each with its details; filtered by kind and time.

import { badge, field, h, paged, table, when } from "../ui.js";
import { getLang, t } from "../i18n.js";
import { query, stockholmInput } from "./operations-common.js";

const P = "security-events";
const KINDS = ["login_failures", "signature_failures", "replays", "probing"];

const texts = {
  sv: {
    "security-events-filters": "Urval",
    "security-events-kind": "Slag",
    "security-events-kind-any": "Alla slag",
    "security-events-kind-login_failures": "många nekade inloggningar",
    "security-events-kind-signature_failures": "ogiltiga signaturer",
    "security-events-kind-replays": "återuppspelade svar",
    "security-events-kind-probing": "avsökning av konton eller appar",
    "security-events-from": "Från och med (svensk tid)",
    "security-events-to": "Till (svensk tid)",
    "security-events-filter": "Visa",
    "security-events-caption": "Säkerhetshändelser, nyast först",
    "security-events-empty": "Inga säkerhetshändelser matchar urvalet.",
    "security-events-at": "Tid",
    "security-events-source": "Från adress",
    "security-events-count": "Antal",
    "security-events-period": "Period",
    "security-events-details": "Detaljer",
    "security-events-show": "Visa detaljer",
    "security-events-id": "Händelsens id",
    "security-events-detail": "Beskrivning",
  },
  en: {
    "security-events-filters": "Filters",
    "security-events-kind": "Kind",
    "security-events-kind-any": "All kinds",
    "security-events-kind-login_failures": "many refused logins",
    "security-events-kind-signature_failures": "invalid signatures",
    "security-events-kind-replays": "replayed responses",
    "security-events-kind-probing": "probing of accounts or apps",
    "security-events-from": "From (Swedish time)",
    "security-events-to": "Until (Swedish time)",
    "security-events-filter": "Show",
    "security-events-caption": "Security events, newest first",
    "security-events-empty": "No security events match the filters.",
    "security-events-at": "Time",
    "security-events-source": "From address",
    "security-events-count": "Count",
    "security-events-period": "Period",
    "security-events-details": "Details",
    "security-events-show": "Show details",
    "security-events-id": "Event id",
    "security-events-detail": "Description",
  },
};

async function render(container, ctx) {
  container.classList.add("ops");
  const lang = getLang();
  const kind = field({
    name: "kind", label: t(`${P}-kind`), type: "select", value: ctx.params.get("kind") ?? "",
    options: [{ value: "", label: t(`${P}-kind-any`) }, ...KINDS.map((k) => ({ value: k, label: t(`${P}-kind-${k}`) }))],
  });
  const from = field({ name: "from", label: t(`${P}-from`), type: "datetime-local" });
  const to = field({ name: "to", label: t(`${P}-to`), type: "datetime-local" });
  const results = h("div");
  const show = () => {
    const chosen = {
      tenant_id: ctx.tenantId,
      kind: kind.control.value,
      from: stockholmInput(from.control.value),
      to: stockholmInput(to.control.value),
    };
    return paged(results,
      (cursor) => ctx.api("GET", `/api/v1/security-events${query({ ...chosen, limit: 50, cursor })}`),
      (items) => table({
        caption: t(`${P}-caption`),
        empty: t(`${P}-empty`),
        rows: items,
        columns: [
          { label: t(`${P}-at`), value: (e) => when(e.at, lang) },
          { label: t(`${P}-kind`), value: (e) => badge(t(`${P}-kind-${e.kind}`), "bad") },
          { label: t(`${P}-source`), value: (e) => e.source_address ?? "–" },
          { label: t(`${P}-count`), value: (e) => String(e.count) },
          { label: t(`${P}-period`), value: (e) => `${when(e.window_start, lang)} – ${when(e.window_end, lang)}` },
          {
            label: t(`${P}-details`),
            value: (e) => h("details", null, h("summary", null, t(`${P}-show`)),
              h("dl", null,
                h("dt", null, t(`${P}-detail`)), h("dd", null, e.detail || "–"),
                h("dt", null, t(`${P}-id`)), h("dd", null, h("code", null, e.id)))),
          },
        ],
      }), ctx);
  };
  const filterForm = h("form", { class: "toolbar", role: "search", "aria-label": t(`${P}-filters`) },
    kind, from, to, h("button", { type: "submit" }, t(`${P}-filter`)));
  filterForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    await show();
    const first = results.querySelector("caption, .empty, .form-error");
    first?.setAttribute("tabindex", "-1");
    first?.focus();
  });
  container.replaceChildren(h("h2", null, t(`${P}-filters`)), filterForm, results);
  await show();
}

export default { id: P, label: { sv: "Säkerhetshändelser", en: "Security events" }, texts, render };
