// The list of workstream C's sections, and its one section (id `incidents`, so this file is
// both `sections/<id>.js` and the list index.js imports): incidents an operator posts and
// updates for the status page (/status): post one for an
// environment or the whole organisation, follow it with updates (state, severity), resolve
// it. Operators only; every action goes through /api/v1 (tenants/{id}/incidents,
// incidents/{id}/updates), audited by the broker.

import { badge, field, form, h, paged, problemText, when } from "../ui.js";

const STATES = ["investigating", "identified", "monitoring"];
const SEVERITIES = ["disturbance", "outage"];

const texts = {
  sv: {
    "incidents-intro": "Störningar som publiceras här visas direkt på den publika driftstatussidan, utan inloggning. Skriv för användarna: vad märks, vad görs, när nästa besked kommer.",
    "incidents-status-link": "Öppna driftstatussidan",
    "incidents-new": "Publicera en störning",
    "incidents-title": "Rubrik",
    "incidents-environment": "Miljö",
    "incidents-all-environments": "Alla miljöer",
    "incidents-severity": "Allvarlighetsgrad",
    "incidents-state": "Läge",
    "incidents-message": "Meddelande",
    "incidents-message-hint": "Visas publikt som första uppdatering.",
    "incidents-publish": "Publicera",
    "incidents-open": "Pågående störningar",
    "incidents-no-open": "Inga pågående störningar.",
    "incidents-resolved": "Avslutade störningar",
    "incidents-no-resolved": "Inga avslutade störningar.",
    "incidents-started": "Började",
    "incidents-resolved-at": "Löst",
    "incidents-updates": "Uppdateringar",
    "incidents-update": "Ny uppdatering",
    "incidents-update-for": (title) => `Ny uppdatering: ${title}`,
    "incidents-post-update": "Publicera uppdatering",
    "incidents-resolve-for": (title) => `Lös störningen: ${title}`,
    "incidents-resolve": "Markera som löst",
    "incidents-resolve-default": "Felet är åtgärdat och tjänsten fungerar som vanligt igen.",
    "incidents-posted": "Störningen är publicerad.",
    "incidents-updated": "Uppdateringen är publicerad.",
    "incidents-was-resolved": "Störningen är markerad som löst.",
    "incidents-by": (who) => `av ${who}`,
    "incidents-sev-disturbance": "Störning",
    "incidents-sev-outage": "Avbrott",
    "incidents-st-investigating": "Felsökning pågår",
    "incidents-st-identified": "Orsaken är känd",
    "incidents-st-monitoring": "Åtgärdat, bevakas",
    "incidents-st-resolved": "Löst",
    "incidents-keep": "Oförändrat",
    "problem-conflict-incident": "Störningen är redan löst. Publicera en ny störning om felet är tillbaka.",
  },
  en: {
    "incidents-intro": "Incidents published here appear at once on the public status page, without login. Write for the users: what they notice, what is being done, when the next word comes.",
    "incidents-status-link": "Open the status page",
    "incidents-new": "Post an incident",
    "incidents-title": "Title",
    "incidents-environment": "Environment",
    "incidents-all-environments": "All environments",
    "incidents-severity": "Severity",
    "incidents-state": "Status",
    "incidents-message": "Message",
    "incidents-message-hint": "Shown publicly as the first update.",
    "incidents-publish": "Publish",
    "incidents-open": "Ongoing incidents",
    "incidents-no-open": "No ongoing incidents.",
    "incidents-resolved": "Resolved incidents",
    "incidents-no-resolved": "No resolved incidents.",
    "incidents-started": "Started",
    "incidents-resolved-at": "Resolved",
    "incidents-updates": "Updates",
    "incidents-update": "New update",
    "incidents-update-for": (title) => `New update: ${title}`,
    "incidents-post-update": "Publish update",
    "incidents-resolve-for": (title) => `Resolve the incident: ${title}`,
    "incidents-resolve": "Mark as resolved",
    "incidents-resolve-default": "The fault is fixed and the service works as usual again.",
    "incidents-posted": "The incident is published.",
    "incidents-updated": "The update is published.",
    "incidents-was-resolved": "The incident is marked as resolved.",
    "incidents-by": (who) => `by ${who}`,
    "incidents-sev-disturbance": "Disturbance",
    "incidents-sev-outage": "Outage",
    "incidents-st-investigating": "Investigating",
    "incidents-st-identified": "Identified",
    "incidents-st-monitoring": "Monitoring",
    "incidents-st-resolved": "Resolved",
    "incidents-keep": "Unchanged",
    "problem-conflict-incident": "The incident is already resolved. Post a new incident if the fault is back.",
  },
};

/** A refusal in words; a resolved incident's 409 gets its own sentence. */
function refusal(ctx, answer) {
  return answer.status === 409 ? `${ctx.t("problem-conflict-incident")} (${answer.body?.detail ?? ""})` : problemText(answer);
}

function incidentView(ctx, incident, environments, open) {
  const { t, lang } = ctx;
  const headingId = `incident-${incident.id}`;
  const env = incident.environment_id
    ? environments.find((e) => e.id === incident.environment_id)?.kind ?? incident.environment_id
    : t("incidents-all-environments");
  const facts = h("dl", { class: "facts" },
    h("dt", null, t("incidents-environment")), h("dd", null, env),
    h("dt", null, t("incidents-severity")), h("dd", null,
      badge(t(`incidents-sev-${incident.severity}`), incident.severity === "outage" ? "bad" : "warn")),
    h("dt", null, t("incidents-state")), h("dd", null,
      badge(t(`incidents-st-${incident.state}`), incident.state === "resolved" ? "ok" : "warn")),
    h("dt", null, t("incidents-started")), h("dd", null, when(incident.started_at, lang)),
    incident.resolved_at ? [h("dt", null, t("incidents-resolved-at")), h("dd", null, when(incident.resolved_at, lang))] : null);
  const updates = h("ol", { class: "incident-updates", reversed: true },
    [...incident.updates].reverse().map((u) => h("li", null,
      h("p", { class: "when" }, `${when(u.created_at, lang)} · `, h("strong", null, t(`incidents-st-${u.state}`)), ` · ${t("incidents-by", u.author)}`),
      h("p", null, u.message))));
  const article = h("article", { class: "incident", "aria-labelledby": headingId, dataset: { incident: incident.id } },
    h("h3", { id: headingId }, incident.title), facts,
    h("h4", null, t("incidents-updates")), updates);
  if (open) {
    const path = `/api/v1/incidents/${incident.id}/updates`;
    const message = field({ name: "message", label: t("incidents-message"), type: "textarea", required: true, maxlength: 4000 });
    const state = field({ name: "state", label: t("incidents-state"), type: "select", value: "",
      options: [{ value: "", label: t("incidents-keep") }, ...STATES.map((s) => ({ value: s, label: t(`incidents-st-${s}`) }))] });
    const severity = field({ name: "severity", label: t("incidents-severity"), type: "select", value: "",
      options: [{ value: "", label: t("incidents-keep") }, ...SEVERITIES.map((s) => ({ value: s, label: t(`incidents-sev-${s}`) }))] });
    const done = (key) => () => { ctx.rerender(); ctx.say(t(key)); };
    article.append(form({
      legend: t("incidents-update-for", incident.title), fields: [message, state, severity], submit: t("incidents-post-update"), ctx,
      className: "incident-update",
      onSubmit: async (v) => {
        const body = { message: v.message };
        if (v.state) body.state = v.state;
        if (v.severity) body.severity = v.severity;
        const answer = await ctx.api("POST", path, body);
        if (answer.status === 409) answer.body = { ...answer.body, detail: refusal(ctx, answer) };
        return answer;
      },
      onDone: done("incidents-updated"),
    }));
    const closing = field({ name: "message", label: t("incidents-message"), type: "textarea", required: true, maxlength: 4000, value: t("incidents-resolve-default") });
    article.append(form({
      legend: t("incidents-resolve-for", incident.title), fields: [closing], submit: t("incidents-resolve"), ctx,
      className: "incident-resolve",
      onSubmit: (v) => ctx.api("POST", path, { message: v.message, state: "resolved" }),
      onDone: done("incidents-was-resolved"),
    }));
  }
  return article;
}

async function render(container, ctx) {
  const { t } = ctx;
  const tenantPath = `/api/v1/tenants/${ctx.tenantId}`;
  const envAnswer = await ctx.api("GET", `${tenantPath}/environments?limit=500`);
  if (!envAnswer.ok) {
    container.replaceChildren(h("p", { class: "form-error", role: "alert" }, problemText(envAnswer)));
    return;
  }
  const environments = envAnswer.body.items ?? [];
  const fields = [
    field({ name: "title", label: t("incidents-title"), required: true, maxlength: 200 }),
    field({ name: "environment_id", label: t("incidents-environment"), type: "select", value: "",
      options: [{ value: "", label: t("incidents-all-environments") }, ...environments.map((e) => ({ value: e.id, label: `${e.kind} – ${e.name}` }))] }),
    field({ name: "severity", label: t("incidents-severity"), type: "select", value: "disturbance",
      options: SEVERITIES.map((s) => ({ value: s, label: t(`incidents-sev-${s}`) })) }),
    field({ name: "state", label: t("incidents-state"), type: "select", value: "investigating",
      options: STATES.map((s) => ({ value: s, label: t(`incidents-st-${s}`) })) }),
    field({ name: "message", label: t("incidents-message"), type: "textarea", required: true, maxlength: 4000, hint: t("incidents-message-hint") }),
  ];
  const create = form({
    legend: t("incidents-new"), fields, submit: t("incidents-publish"), ctx, className: "incident-new",
    onSubmit: (v) => {
      const body = { title: v.title, severity: v.severity, state: v.state, message: v.message };
      if (v.environment_id) body.environment_id = v.environment_id;
      return ctx.api("POST", `${tenantPath}/incidents`, body);
    },
    onDone: () => { ctx.rerender(); ctx.say(t("incidents-posted")); },
  });
  const openList = h("div", { class: "incident-list", "aria-live": "polite" });
  const resolvedList = h("div", { class: "incident-list" });
  container.replaceChildren(
    h("p", null, t("incidents-intro"), " ", h("a", { href: `/status?lang=${ctx.lang}` }, t("incidents-status-link"))),
    h("h2", null, t("incidents-new")), create,
    h("h2", null, t("incidents-open")), openList,
    h("h2", null, t("incidents-resolved")), resolvedList);
  const show = (open) => (items) => items.length === 0
    ? h("p", { class: "empty" }, t(open ? "incidents-no-open" : "incidents-no-resolved"))
    : h("div", null, items.map((i) => incidentView(ctx, i, environments, open)));
  await paged(openList, (cursor) => ctx.api("GET", `${tenantPath}/incidents?open=true&limit=50${cursor ? `&cursor=${cursor}` : ""}`), show(true), ctx);
  await paged(resolvedList, (cursor) => ctx.api("GET", `${tenantPath}/incidents?open=false&limit=20${cursor ? `&cursor=${cursor}` : ""}`), show(false), ctx);
}

const incidents = {
  id: "incidents",
  label: { sv: "Störningar", en: "Incidents" },
  roles: ["operator"],
  texts,
  render,
};

export default [incidents];
