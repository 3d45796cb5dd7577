// Messages from admins shown as banners in the portal (workstream D's list of sections:
// just this one, `notices`, whose id is also the list's file name). The section:
// announcements to the portal's users, through /api/v1/…/announcements. A form (title, text,
// information or warning, from, until, and for operators: this organisation or every
// one) and the list with each one's state in words (shown now / coming / ended) and
// "Avsluta" for those not yet ended, after a confirmation.

import { actionButton, badge, confirmAction, field, form, h, paged, problemText, table, when } from "../ui.js";

const texts = {
  sv: {
    "notices-intro": "Meddelanden visas som banderoller i portalen för användarna mellan " +
      "start och slut. Servicefönster visas där av sig själva; skriv här om annat användarna " +
      "behöver veta.",
    "notices-new": "Nytt meddelande",
    "notices-title": "Rubrik",
    "notices-body": "Text",
    "notices-body-hint": "Högst 2000 tecken. Skriv vad användarna behöver göra, om något.",
    "notices-severity": "Typ",
    "notices-info": "Information",
    "notices-warning": "Viktigt",
    "notices-from": "Visas från",
    "notices-from-hint": "Lämna tomt för att visa meddelandet direkt. Svensk tid.",
    "notices-until": "Visas till",
    "notices-until-hint": "Högst 90 dagar efter start. Svensk tid.",
    "notices-audience": "Till",
    "notices-audience-tenant": (name) => `Användarna i ${name}`,
    "notices-audience-all": "Användarna i alla organisationer",
    "notices-create": "Publicera meddelandet",
    "notices-created": (title) => `Meddelandet ”${title}” är publicerat.`,
    "notices-list": "Meddelanden",
    "notices-caption": (name) => `Meddelanden till ${name} och till alla organisationer, nyast först`,
    "notices-empty": "Det finns inga meddelanden. Det du publicerar visas här.",
    "notices-to": "Till",
    "notices-to-all": "Alla organisationer",
    "notices-shown": "Visas",
    "notices-state": "Läge",
    "notices-state-now": "Visas nu",
    "notices-state-coming": "Kommande",
    "notices-state-ended": "Avslutat",
    "notices-end": "Avsluta",
    "notices-end-label": (title) => `Avsluta meddelandet ”${title}”`,
    "notices-end-confirm": (title) => `Avsluta ”${title}” nu? Det slutar visas i portalen direkt.`,
    "notices-ended": (title) => `Meddelandet ”${title}” är avslutat.`,
    "notices-operator-only": "Bara driften kan avsluta meddelanden till alla organisationer.",
    "notices-already-ended": (title) => `Meddelandet ”${title}” var redan avslutat.`,
  },
  en: {
    "notices-intro": "Messages are shown as banners in the portal to users between their " +
      "start and end. Service windows are shown there by themselves; write here about " +
      "anything else users need to know.",
    "notices-new": "New message",
    "notices-title": "Title",
    "notices-body": "Text",
    "notices-body-hint": "At most 2000 characters. Say what users need to do, if anything.",
    "notices-severity": "Kind",
    "notices-info": "Information",
    "notices-warning": "Important",
    "notices-from": "Shown from",
    "notices-from-hint": "Leave empty to show the message at once. Swedish time.",
    "notices-until": "Shown until",
    "notices-until-hint": "At most 90 days after the start. Swedish time.",
    "notices-audience": "To",
    "notices-audience-tenant": (name) => `The users of ${name}`,
    "notices-audience-all": "The users of every organisation",
    "notices-create": "Publish the message",
    "notices-created": (title) => `The message “${title}” is published.`,
    "notices-list": "Messages",
    "notices-caption": (name) => `Messages to ${name} and to every organisation, newest first`,
    "notices-empty": "There are no messages. What you publish is listed here.",
    "notices-to": "To",
    "notices-to-all": "Every organisation",
    "notices-shown": "Shown",
    "notices-state": "State",
    "notices-state-now": "Shown now",
    "notices-state-coming": "Upcoming",
    "notices-state-ended": "Ended",
    "notices-end": "End",
    "notices-end-label": (title) => `End the message “${title}”`,
    "notices-end-confirm": (title) => `End “${title}” now? It stops showing in the portal at once.`,
    "notices-ended": (title) => `The message “${title}” has ended.`,
    "notices-operator-only": "Only operations can end messages to every organisation.",
    "notices-already-ended": (title) => `The message “${title}” had already ended.`,
  },
};

// A datetime-local value is wall-clock time; the console works in Swedish time, which is
// the browser's at the municipalities. The API wants RFC 3339.
function instant(local) {
  if (!local) return null;
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? local : date.toISOString();
}

// Two hours ahead, to the minute, as a datetime-local value: the form's suggested end.
function localIn(hours) {
  const date = new Date(Date.now() + hours * 3600_000);
  date.setSeconds(0, 0);
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

function stateOf(a, now) {
  const from = Date.parse(a.starts_at);
  const until = Date.parse(a.ends_at);
  if (until <= now) return "ended";
  return from <= now ? "now" : "coming";
}

async function render(container, ctx) {
  const { t } = ctx;
  const operator = ctx.role === "operator";
  const tenantName = ctx.tenant?.name ?? "";
  const listPath = `/api/v1/tenants/${encodeURIComponent(ctx.tenantId)}/announcements`;

  const fields = [
    field({ name: "title", label: t("notices-title"), required: true, maxlength: 200 }),
    field({ name: "body", label: t("notices-body"), type: "textarea", maxlength: 2000, hint: t("notices-body-hint") }),
    field({ name: "severity", label: t("notices-severity"), type: "select", value: "info",
      options: [{ value: "info", label: t("notices-info") }, { value: "warning", label: t("notices-warning") }] }),
    field({ name: "starts_at", label: t("notices-from"), type: "datetime-local", hint: t("notices-from-hint") }),
    field({ name: "ends_at", label: t("notices-until"), type: "datetime-local", required: true, value: localIn(24), hint: t("notices-until-hint") }),
  ];
  if (operator) {
    fields.push(field({ name: "audience", label: t("notices-audience"), type: "select", value: "tenant",
      options: [{ value: "tenant", label: t("notices-audience-tenant", tenantName) }, { value: "all", label: t("notices-audience-all") }] }));
  }
  const listHeading = h("h2", { id: "notices-list-heading", tabindex: "-1" }, t("notices-list"));
  const listBody = h("div", { class: "notices-table" });

  const create = form({
    legend: t("notices-new"),
    fields,
    submit: t("notices-create"),
    ctx,
    onSubmit: (v) => {
      const body = { title: v.title, body: v.body ?? "", severity: v.severity ?? "info", ends_at: instant(v.ends_at) };
      if (v.starts_at) body.starts_at = instant(v.starts_at);
      const path = operator && v.audience === "all" ? "/api/v1/announcements" : listPath;
      return ctx.api("POST", path, body);
    },
    onDone: async (answer) => {
      ctx.say(t("notices-created", answer.body.title));
      for (const f of fields) {
        if (f.fieldName === "title" || f.fieldName === "body" || f.fieldName === "starts_at") f.control.value = "";
      }
      await load();
      listHeading.focus();
    },
  });

  const load = () => paged(listBody, (cursor) => ctx.api("GET", cursor ? `${listPath}?cursor=${encodeURIComponent(cursor)}` : listPath), (items) => {
    const now = Date.now();
    return table({
      caption: t("notices-caption", tenantName),
      empty: t("notices-empty"),
      rows: items,
      columns: [
        { label: t("notices-title"), value: (a) => h("span", { class: "notice-title" }, a.title, a.body ? h("span", { class: "notice-body" }, ` – ${a.body}`) : null) },
        { label: t("notices-severity"), value: (a) => a.severity === "warning" ? badge(t("notices-warning"), "warn") : badge(t("notices-info"), "info") },
        { label: t("notices-to"), value: (a) => (a.tenant_id ? tenantName : t("notices-to-all")) },
        { label: t("notices-shown"), value: (a) => `${when(a.starts_at, ctx.lang)} – ${when(a.ends_at, ctx.lang)}` },
        { label: t("notices-state"), value: (a) => {
          const state = stateOf(a, now);
          return badge(t(`notices-state-${state}`), state === "now" ? "ok" : state === "coming" ? "info" : "bad");
        } },
        { label: t("actions"), value: (a) => {
          if (stateOf(a, now) === "ended") return "";
          if (!a.tenant_id && !operator) return t("notices-operator-only");
          return actionButton(t("notices-end"), async () => {
            if (!(await confirmAction(t("notices-end-confirm", a.title), t("notices-end")))) return;
            const answer = await ctx.api("POST", `/api/v1/announcements/${encodeURIComponent(a.id)}/end`);
            if (!answer.ok) {
              // 409: someone ended it meanwhile; say that rather than the generic clash.
              ctx.say(answer.status === 409 ? t("notices-already-ended", a.title) : problemText(answer));
              if (answer.status === 409) await load();
              return;
            }
            ctx.say(t("notices-ended", a.title));
            await load();
            listHeading.focus();
          }, { class: "danger", "aria-label": t("notices-end-label", a.title) });
        } },
      ],
    });
  }, ctx);

  container.replaceChildren(
    h("p", { class: "section-intro" }, t("notices-intro")),
    h("section", { "aria-labelledby": "notices-new-heading" },
      h("h2", { id: "notices-new-heading" }, t("notices-new")), create),
    h("section", { "aria-labelledby": "notices-list-heading" }, listHeading, listBody));
  await load();
}

const notices = {
  id: "notices",
  label: { sv: "Meddelanden", en: "Messages" },
  roles: ["tenant_admin", "operator"],
  texts,
  render,
};

export default [notices];
