// Live sessions of the tenant: filtered by state, user and host, paged; an admin
// disconnects one (the Windows session stays on the host), logs one off after a
// confirmation (the session ends), or sends its user a message shown in the viewer.

import { actionButton, badge, confirmAction, field, form, h, paged, problemText, table, when } from "../ui.js";
import { getLang, t } from "../i18n.js";
import { everything, query } from "./operations-common.js";

const P = "sessions";
const STATES = ["active", "disconnected", "launching", "ended"];

const texts = {
  sv: {
    "sessions-filters": "Urval",
    "sessions-state": "Läge",
    "sessions-state-any": "Alla lägen",
    "sessions-state-active": "aktiv",
    "sessions-state-disconnected": "frånkopplad",
    "sessions-state-launching": "startar",
    "sessions-state-ended": "avslutad",
    "sessions-user": "Användare",
    "sessions-user-any": "Alla användare",
    "sessions-host": "Värd",
    "sessions-host-any": "Alla värdar",
    "sessions-host-id": "Värdens id (valfritt)",
    "sessions-filter": "Visa",
    "sessions-caption": "Sessioner, nyast först",
    "sessions-empty": "Inga sessioner matchar urvalet.",
    "sessions-app": "App",
    "sessions-started": "Startad",
    "sessions-disconnect": "Koppla från",
    "sessions-logoff": "Logga ut",
    "sessions-message": "Skicka meddelande",
    "sessions-logoff-question": (who) => `Logga ut ${who}? Sessionen avslutas och osparat arbete i appen kan gå förlorat.`,
    "sessions-disconnected": (who) => `${who} är frånkopplad. Sessionen finns kvar på värden.`,
    "sessions-logged-off": (who) => `${who} loggas ut.`,
    "sessions-message-legend": (who) => `Meddelande till ${who}`,
    "sessions-message-text": "Meddelande",
    "sessions-message-sender": "Avsändare (valfri)",
    "sessions-message-send": "Skicka",
    "sessions-message-sent": (who) => `Meddelandet till ${who} är skickat.`,
  },
  en: {
    "sessions-filters": "Filters",
    "sessions-state": "State",
    "sessions-state-any": "All states",
    "sessions-state-active": "active",
    "sessions-state-disconnected": "disconnected",
    "sessions-state-launching": "starting",
    "sessions-state-ended": "ended",
    "sessions-user": "User",
    "sessions-user-any": "All users",
    "sessions-host": "Host",
    "sessions-host-any": "All hosts",
    "sessions-host-id": "Host id (optional)",
    "sessions-filter": "Show",
    "sessions-caption": "Sessions, newest first",
    "sessions-empty": "No sessions match the filters.",
    "sessions-app": "App",
    "sessions-started": "Started",
    "sessions-disconnect": "Disconnect",
    "sessions-logoff": "Log off",
    "sessions-message": "Send message",
    "sessions-logoff-question": (who) => `Log ${who} off? The session ends and unsaved work in the app may be lost.`,
    "sessions-disconnected": (who) => `${who} is disconnected. The session stays on the host.`,
    "sessions-logged-off": (who) => `${who} is being logged off.`,
    "sessions-message-legend": (who) => `Message to ${who}`,
    "sessions-message-text": "Message",
    "sessions-message-sender": "Sender (optional)",
    "sessions-message-send": "Send",
    "sessions-message-sent": (who) => `The message to ${who} is sent.`,
  },
};

const STATE_BADGE = { active: "ok", disconnected: "warn", launching: "info", ended: "bad" };

async function render(container, ctx) {
  container.classList.add("ops");
  const lang = getLang();
  const [users, apps] = await Promise.all([
    everything(ctx, `/api/v1/tenants/${ctx.tenantId}/users`),
    everything(ctx, `/api/v1/tenants/${ctx.tenantId}/apps`),
  ]);
  if (!users.ok) {
    container.replaceChildren(h("p", { class: "form-error", role: "alert" }, problemText(users.answer)));
    return;
  }
  const userById = new Map(users.items.map((u) => [u.id, u]));
  const appById = new Map((apps.items ?? []).map((a) => [a.id, a]));
  // Hosts by name where the caller may read them (operators; tenant admins for the pools
  // of their apps); otherwise the filter takes a host id.
  const hostById = new Map();
  const pools = new Set((apps.items ?? []).map((a) => a.pool_id));
  for (const pool of pools) {
    const hosts = await everything(ctx, `/api/v1/pools/${pool}/hosts`);
    for (const host of hosts.items ?? []) hostById.set(host.id, host);
  }

  const filters = {
    state: ctx.params.get("state") ?? "active",
    user_id: ctx.params.get("user_id") ?? "",
    host_id: ctx.params.get("host_id") ?? "",
  };
  const stateField = field({
    name: "state", label: t(`${P}-state`), type: "select", value: filters.state,
    options: [{ value: "", label: t(`${P}-state-any`) }, ...STATES.map((s) => ({ value: s, label: t(`${P}-state-${s}`) }))],
  });
  const userField = field({
    name: "user_id", label: t(`${P}-user`), type: "select", value: filters.user_id,
    options: [{ value: "", label: t(`${P}-user-any`) }, ...users.items.map((u) => ({ value: u.id, label: `${u.display_name} (${u.name_id})` }))],
  });
  const hostField = hostById.size > 0
    ? field({
      name: "host_id", label: t(`${P}-host`), type: "select", value: filters.host_id,
      options: [{ value: "", label: t(`${P}-host-any`) }, ...[...hostById.values()].map((x) => ({ value: x.id, label: x.name }))],
    })
    : field({ name: "host_id", label: t(`${P}-host-id`), value: filters.host_id });
  const results = h("div");
  const messages = h("div");
  const who = (s) => userById.get(s.user_id)?.display_name ?? s.user_id;

  const show = () => paged(results,
    (cursor) => ctx.api("GET", `/api/v1/sessions${query({ tenant_id: ctx.tenantId, ...filters, limit: 50, cursor })}`),
    (items) => table({
      caption: t(`${P}-caption`),
      empty: t(`${P}-empty`),
      rows: items,
      columns: [
        { label: t(`${P}-user`), value: (s) => who(s) },
        { label: t(`${P}-app`), value: (s) => appById.get(s.app_id)?.display_name ?? s.app_id },
        { label: t(`${P}-host`), value: (s) => hostById.get(s.host_id)?.name ?? s.host_id },
        { label: t(`${P}-state`), value: (s) => badge(t(`${P}-state-${s.state}`), STATE_BADGE[s.state]) },
        { label: t(`${P}-started`), value: (s) => when(s.started_at ?? s.created_at, lang) },
        { label: t("actions"), value: (s) => (s.state === "ended" ? "–" : actions(s)) },
      ],
    }), ctx);

  const actions = (s) => [
    s.state === "active"
      ? actionButton(t(`${P}-disconnect`), async () => {
        const answer = await ctx.api("POST", `/api/v1/sessions/${s.id}/disconnect`, {});
        ctx.say(answer.ok ? t(`${P}-disconnected`, who(s)) : problemText(answer));
        if (answer.ok) await show();
      }, { class: "secondary", "aria-label": `${t(`${P}-disconnect`)}: ${who(s)}` })
      : null,
    actionButton(t(`${P}-logoff`), async () => {
      if (!(await confirmAction(t(`${P}-logoff-question`, who(s)), t(`${P}-logoff`)))) return;
      const answer = await ctx.api("POST", `/api/v1/sessions/${s.id}/logoff`, {});
      ctx.say(answer.ok ? t(`${P}-logged-off`, who(s)) : problemText(answer));
      if (answer.ok) await show();
    }, { class: "danger", "aria-label": `${t(`${P}-logoff`)}: ${who(s)}` }),
    h("button", {
      type: "button", class: "secondary", "aria-label": `${t(`${P}-message`)}: ${who(s)}`,
      onclick: (event) => {
        const opener = event.currentTarget;
        const fields = [
          field({ name: "text", label: t(`${P}-message-text`), type: "textarea", required: true, maxlength: 1000 }),
          field({ name: "sender", label: t(`${P}-message-sender`), maxlength: 100 }),
        ];
        messages.replaceChildren(form({
          legend: t(`${P}-message-legend`, who(s)),
          fields,
          submit: t(`${P}-message-send`),
          ctx,
          onSubmit: (v) => ctx.api("POST", `/api/v1/sessions/${s.id}/message`, { text: v.text, sender: v.sender ?? undefined }),
          onDone: () => {
            messages.replaceChildren();
            ctx.say(t(`${P}-message-sent`, who(s)));
            opener.focus();
          },
        }));
        fields[0].control.focus();
      },
    }, t(`${P}-message`)),
  ];

  const filterForm = h("form", { class: "toolbar", role: "search", "aria-label": t(`${P}-filters`) },
    stateField, userField, hostField, h("button", { type: "submit" }, t(`${P}-filter`)));
  filterForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    filters.state = stateField.control.value;
    filters.user_id = userField.control.value;
    filters.host_id = hostField.control.value.trim();
    await show();
    results.querySelector("caption, .empty")?.setAttribute("tabindex", "-1");
    results.querySelector("caption, .empty")?.focus();
  });
  container.replaceChildren(h("h2", null, t(`${P}-filters`)), filterForm, results, messages);
  await show();
}

export default { id: P, label: { sv: "Sessioner", en: "Sessions" }, texts, render };
