// Section "Pooler och värdar": the host pools (an operator sees every pool; a tenant-admin
// the pools dedicated to their tenant or used by its apps), each with its seats now
// (GET /pools/{id}/capacity) and its hosts: state, health, the last load report
// (GET /hosts/{id}/load) and drain / maintenance / back to active behind a confirmation.
// The broker lets a tenant-admin change the state only of hosts in a pool dedicated to
// their tenant; a shared pool's hosts are the operators' and the refusal says so.
// Operators also create pools and hosts and edit a pool's placement settings.

import { actionButton, badge, confirmAction, field, form, h, problemText, table, when } from "../ui.js";
import { t } from "../i18n.js";
import { alertLine, all, facts, failed, opener } from "./configuration-common.js";

const texts = {
  sv: {
    "hosts-pools": "Pooler",
    "hosts-none": "Det finns inga pooler att visa. En organisationsadministratör ser de pooler som organisationens applikationer använder.",
    "hosts-shared": "Delad pool",
    "hosts-dedicated": (name) => `Egen pool för ${name}`,
    "hosts-shared-note": "Delad pool: värdarna betjänar även andra organisationer, så bara driften ändrar deras läge.",
    "hosts-capacity": "Platser",
    "hosts-capacity-line": (c) => `${c.free} lediga av ${c.capacity_usable} användbara (${Math.round(c.free_percent)} %), ${c.sessions_total} sessioner totalt, ${c.hosts_usable} av ${c.hosts} värdar tar emot nya sessioner.`,
    "hosts-capacity-low": "Låg kapacitet",
    "hosts-capacity-ok": "Tillräcklig kapacitet",
    "hosts-caption": (name) => `Värdar i ${name}`,
    "hosts-empty": "Poolen har inga värdar.",
    "hosts-name": "Värd",
    "hosts-state": "Läge",
    "hosts-health": "Hälsa",
    "hosts-load": "Sessioner och last",
    "hosts-seats": "Platser",
    "hosts-version": "Version",
    "hosts-state-active": "I drift",
    "hosts-state-drain": "Dräneras",
    "hosts-state-maintenance": "Underhåll",
    "hosts-health-healthy": "Frisk",
    "hosts-health-unhealthy": "Svarar inte",
    "hosts-health-unknown": "Okänd",
    "hosts-no-report": "Ingen lastrapport",
    "hosts-load-line": (l) => `${l.sessions} sessioner, CPU ${Math.round(l.cpu_percent)} %, minne ${Math.round(l.memory_percent)} %`,
    "hosts-reported": (at) => `rapporterad ${at}`,
    "hosts-to-drain": (name) => `Dränera ${name}`,
    "hosts-to-maintenance": (name) => `Underhåll för ${name}`,
    "hosts-to-active": (name) => `Sätt ${name} i drift`,
    "hosts-ask-drain": (name) => `Dränera ${name}? Värden tar inte emot nya sessioner; pågående sessioner fortsätter.`,
    "hosts-ask-maintenance": (name) => `Sätta ${name} i underhåll? Värden tar inte emot nya sessioner.`,
    "hosts-ask-active": (name) => `Sätta ${name} i drift igen? Värden tar emot nya sessioner.`,
    "hosts-confirm-drain": "Dränera",
    "hosts-confirm-maintenance": "Sätt i underhåll",
    "hosts-confirm-active": "Sätt i drift",
    "hosts-changed": (x) => `${x.name}: ${x.state}.`,
    "hosts-refused-shared": "Du kan inte ändra läget för en värd i en delad pool: den betjänar även andra organisationer. Kontakta driften.",
    "hosts-new-pool": "Ny pool",
    "hosts-pool-name": "Poolens namn",
    "hosts-pool-description": "Beskrivning",
    "hosts-pool-strategy": "Placering av sessioner",
    "hosts-strategy-breadth_first": "Sprid över värdarna",
    "hosts-strategy-depth_first": "Fyll en värd i taget",
    "hosts-pool-dedicated": "Tillhör organisation",
    "hosts-pool-shared-option": "Ingen (delad pool)",
    "hosts-create-pool": "Skapa pool",
    "hosts-new-host": (name) => `Ny värd i ${name}`,
    "hosts-host-name": "Värdens namn",
    "hosts-host-address": "Adress (DNS-namn eller IP)",
    "hosts-host-port": "Port",
    "hosts-host-capacity": "Högst antal sessioner",
    "hosts-create-host": "Lägg till värd",
    "hosts-placement": (name) => `Placering i ${name}`,
    "hosts-weight-sessions": "Vikt: sessioner (0–100)",
    "hosts-weight-cpu": "Vikt: CPU (0–100)",
    "hosts-weight-memory": "Vikt: minne (0–100)",
    "hosts-max-logons": "Högst samtidiga inloggningar per värd (0: ingen gräns)",
    "hosts-report-age": "Lastrapport gäller i (sekunder)",
    "hosts-alarm-percent": "Larm när lediga platser understiger (procent)",
    "hosts-save-placement": "Spara placeringen",
  },
  en: {
    "hosts-pools": "Pools",
    "hosts-none": "There are no pools to show. An organisation administrator sees the pools the organisation's apps use.",
    "hosts-shared": "Shared pool",
    "hosts-dedicated": (name) => `Own pool of ${name}`,
    "hosts-shared-note": "Shared pool: its hosts serve other organisations too, so only operations change their state.",
    "hosts-capacity": "Seats",
    "hosts-capacity-line": (c) => `${c.free} free of ${c.capacity_usable} usable (${Math.round(c.free_percent)} %), ${c.sessions_total} sessions in all, ${c.hosts_usable} of ${c.hosts} hosts take new sessions.`,
    "hosts-capacity-low": "Low capacity",
    "hosts-capacity-ok": "Enough capacity",
    "hosts-caption": (name) => `Hosts in ${name}`,
    "hosts-empty": "The pool has no hosts.",
    "hosts-name": "Host",
    "hosts-state": "State",
    "hosts-health": "Health",
    "hosts-load": "Sessions and load",
    "hosts-seats": "Seats",
    "hosts-version": "Version",
    "hosts-state-active": "Active",
    "hosts-state-drain": "Draining",
    "hosts-state-maintenance": "Maintenance",
    "hosts-health-healthy": "Healthy",
    "hosts-health-unhealthy": "Not answering",
    "hosts-health-unknown": "Unknown",
    "hosts-no-report": "No load report",
    "hosts-load-line": (l) => `${l.sessions} sessions, CPU ${Math.round(l.cpu_percent)} %, memory ${Math.round(l.memory_percent)} %`,
    "hosts-reported": (at) => `reported ${at}`,
    "hosts-to-drain": (name) => `Drain ${name}`,
    "hosts-to-maintenance": (name) => `Maintenance for ${name}`,
    "hosts-to-active": (name) => `Set ${name} active`,
    "hosts-ask-drain": (name) => `Drain ${name}? The host takes no new sessions; current sessions go on.`,
    "hosts-ask-maintenance": (name) => `Put ${name} in maintenance? The host takes no new sessions.`,
    "hosts-ask-active": (name) => `Set ${name} active again? The host takes new sessions.`,
    "hosts-confirm-drain": "Drain",
    "hosts-confirm-maintenance": "Put in maintenance",
    "hosts-confirm-active": "Set active",
    "hosts-changed": (x) => `${x.name}: ${x.state}.`,
    "hosts-refused-shared": "You cannot change the state of a host in a shared pool: it serves other organisations too. Contact operations.",
    "hosts-new-pool": "New pool",
    "hosts-pool-name": "Pool name",
    "hosts-pool-description": "Description",
    "hosts-pool-strategy": "Placing sessions",
    "hosts-strategy-breadth_first": "Spread over the hosts",
    "hosts-strategy-depth_first": "Fill one host at a time",
    "hosts-pool-dedicated": "Belongs to organisation",
    "hosts-pool-shared-option": "None (shared pool)",
    "hosts-create-pool": "Create pool",
    "hosts-new-host": (name) => `New host in ${name}`,
    "hosts-host-name": "Host name",
    "hosts-host-address": "Address (DNS name or IP)",
    "hosts-host-port": "Port",
    "hosts-host-capacity": "Most sessions",
    "hosts-create-host": "Add host",
    "hosts-placement": (name) => `Placement in ${name}`,
    "hosts-weight-sessions": "Weight: sessions (0–100)",
    "hosts-weight-cpu": "Weight: CPU (0–100)",
    "hosts-weight-memory": "Weight: memory (0–100)",
    "hosts-max-logons": "Most logons at once per host (0: no limit)",
    "hosts-report-age": "A load report counts for (seconds)",
    "hosts-alarm-percent": "Alarm when free seats fall under (percent)",
    "hosts-save-placement": "Save the placement",
  },
};

const STATE_KIND = { active: "ok", drain: "warn", maintenance: "bad" };
const HEALTH_KIND = { healthy: "ok", unhealthy: "bad", unknown: "info" };

function stateBadge(state) {
  return badge(t(`hosts-state-${state}`), STATE_KIND[state] ?? "info");
}

async function loadCell(ctx, host) {
  const answer = await ctx.api("GET", `/api/v1/hosts/${host.id}/load`);
  if (!answer.ok) return h("span", { class: "empty" }, t("hosts-no-report"));
  return h("span", null, t("hosts-load-line", answer.body), h("br"),
    h("small", null, t("hosts-reported", when(answer.body.reported_at, ctx.lang))));
}

function stateButtons(ctx, host, alert) {
  return ["drain", "maintenance", "active"].filter((s) => s !== host.state).map((state) =>
    actionButton(t(`hosts-to-${state}`, host.name), async () => {
      alert.clear();
      if (!(await confirmAction(t(`hosts-ask-${state}`, host.name), t(`hosts-confirm-${state}`)))) return;
      const answer = await ctx.api("PUT", `/api/v1/hosts/${host.id}/state`, { state });
      if (!answer.ok) {
        alert.show(answer, answer.status === 403
          ? `${t("hosts-refused-shared")} (${answer.body?.detail ?? ""})`.replace(" ()", "")
          : problemText(answer));
        alert.focus();
        return;
      }
      ctx.say(t("hosts-changed", { name: host.name, state: t(`hosts-state-${answer.body.state}`) }));
      await ctx.rerender();
      document.querySelector(`[data-host="${host.id}"]`)?.focus();
    }, { class: state === "active" ? null : "secondary", dataset: { host: host.id, state } }));
}

async function poolPart(ctx, pool, tenants, alert) {
  const headingId = `pool-${pool.id}`;
  const owner = tenants.find((x) => x.id === pool.dedicated_tenant_id);
  const part = h("section", { class: "pool", "aria-labelledby": headingId },
    h("h3", { id: headingId }, pool.name, " ",
      pool.dedicated_tenant_id ? badge(t("hosts-dedicated", owner?.name ?? ctx.tenant.name), "info") : badge(t("hosts-shared"), "info")));
  if (pool.description) part.append(h("p", null, pool.description));
  const operator = ctx.role === "operator";
  if (!operator && !pool.dedicated_tenant_id) part.append(h("p", { class: "note" }, t("hosts-shared-note")));
  const capacity = await ctx.api("GET", `/api/v1/pools/${pool.id}/capacity`);
  if (capacity.ok) {
    part.append(facts([[t("hosts-capacity"), h("span", null,
      capacity.body.capacity_low ? badge(t("hosts-capacity-low"), "bad") : badge(t("hosts-capacity-ok"), "ok"),
      " ", t("hosts-capacity-line", capacity.body))]]));
  }
  let hosts;
  try {
    hosts = await all(ctx, `/api/v1/pools/${pool.id}/hosts`);
  } catch (answer) {
    part.append(failed(answer));
    return part;
  }
  const loads = new Map(await Promise.all(hosts.map(async (x) => [x.id, await loadCell(ctx, x)])));
  part.append(table({
    caption: t("hosts-caption", pool.name),
    rows: hosts,
    empty: t("hosts-empty"),
    columns: [
      { label: t("hosts-name"), value: (x) => h("span", null, x.name, h("br"), h("small", null, `${x.address}:${x.port}`)) },
      { label: t("hosts-state"), value: (x) => stateBadge(x.state) },
      { label: t("hosts-health"), value: (x) => h("span", null, badge(t(`hosts-health-${x.health}`), HEALTH_KIND[x.health] ?? "info"),
        x.health_checked_at ? h("small", null, " ", when(x.health_checked_at, ctx.lang)) : null) },
      { label: t("hosts-load"), value: (x) => loads.get(x.id) },
      { label: t("hosts-seats"), value: (x) => String(x.capacity) },
      { label: t("hosts-version"), value: (x) => x.version ?? t("config-none") },
      { label: t("actions"), value: (x) => h("div", null, stateButtons(ctx, x, alert)) },
    ],
  }));
  if (operator) {
    part.append(opener(t("hosts-new-host", pool.name), form({
      legend: t("hosts-new-host", pool.name),
      fields: [
        field({ name: "name", label: t("hosts-host-name"), required: true, maxlength: 200 }),
        field({ name: "address", label: t("hosts-host-address"), required: true, maxlength: 253 }),
        field({ name: "port", label: t("hosts-host-port"), type: "number", min: 1, max: 65535, value: 3389, required: true }),
        field({ name: "capacity", label: t("hosts-host-capacity"), type: "number", min: 1, max: 10000, value: 20, required: true }),
      ],
      submit: t("hosts-create-host"),
      ctx,
      onSubmit: (v) => ctx.api("POST", `/api/v1/pools/${pool.id}/hosts`, v),
      onDone: () => ctx.rerender(),
    })));
    const placement = await ctx.api("GET", `/api/v1/pools/${pool.id}/placement`);
    if (placement.ok) {
      const p = placement.body;
      part.append(opener(t("hosts-placement", pool.name), form({
        legend: t("hosts-placement", pool.name),
        fields: [
          field({ name: "weight_sessions", label: t("hosts-weight-sessions"), type: "number", min: 0, max: 100, value: p.weight_sessions, required: true }),
          field({ name: "weight_cpu", label: t("hosts-weight-cpu"), type: "number", min: 0, max: 100, value: p.weight_cpu, required: true }),
          field({ name: "weight_memory", label: t("hosts-weight-memory"), type: "number", min: 0, max: 100, value: p.weight_memory, required: true }),
          field({ name: "max_logons_per_host", label: t("hosts-max-logons"), type: "number", min: 0, value: p.max_logons_per_host, required: true }),
          field({ name: "load_report_max_age_s", label: t("hosts-report-age"), type: "number", min: 1, value: p.load_report_max_age_s, required: true }),
          field({ name: "capacity_alarm_percent", label: t("hosts-alarm-percent"), type: "number", min: 0, max: 100, value: p.capacity_alarm_percent }),
        ],
        submit: t("hosts-save-placement"),
        ctx,
        onSubmit: (v) => ctx.api("PUT", `/api/v1/pools/${pool.id}/placement`, v),
        onDone: () => ctx.rerender(),
      })));
    }
  }
  return part;
}

async function render(container, ctx) {
  const alert = alertLine();
  container.replaceChildren(alert);
  const operator = ctx.role === "operator";
  let pools;
  let used;
  try {
    pools = await all(ctx, "/api/v1/pools");
    // A tenant-admin watches the pools its tenant's apps run on and its own pools.
    const apps = await all(ctx, `/api/v1/tenants/${ctx.tenantId}/apps`);
    used = new Set(apps.map((a) => a.pool_id));
  } catch (answer) {
    container.append(failed(answer));
    return;
  }
  const shown = operator ? pools : pools.filter((p) => used.has(p.id) || p.dedicated_tenant_id === ctx.tenantId);
  container.append(h("h2", null, t("hosts-pools")));
  if (shown.length === 0) container.append(h("p", { class: "empty" }, t("hosts-none")));
  for (const pool of shown) container.append(await poolPart(ctx, pool, ctx.tenants, alert));
  if (operator) {
    container.append(h("h2", null, t("hosts-new-pool")), form({
      legend: t("hosts-new-pool"),
      fields: [
        field({ name: "name", label: t("hosts-pool-name"), required: true, maxlength: 200 }),
        field({ name: "description", label: t("hosts-pool-description"), type: "textarea", maxlength: 2000 }),
        field({ name: "strategy", label: t("hosts-pool-strategy"), type: "select",
          options: ["breadth_first", "depth_first"].map((s) => ({ value: s, label: t(`hosts-strategy-${s}`) })) }),
        field({ name: "dedicated_tenant_id", label: t("hosts-pool-dedicated"), type: "select",
          options: [{ value: "", label: t("hosts-pool-shared-option") }, ...ctx.tenants.map((x) => ({ value: x.id, label: x.name }))] }),
      ],
      submit: t("hosts-create-pool"),
      ctx,
      onSubmit: (v) => ctx.api("POST", "/api/v1/pools", { ...v, description: v.description ?? "" }),
      onDone: () => ctx.rerender(),
    }));
  }
}

export default { id: "hosts", label: { sv: "Pooler och värdar", en: "Pools and hosts" }, texts, render };
