// Section "Applikationer och versioner": the tenant's published apps per environment
// (PROD and UTB marked by words and shape), publishing, changing and unpublishing one,
// its current build, and its rollouts (UTB first, PROD after a delay) with their steps and
// state; operators start a rollout, admins halt one.

import { actionButton, badge, confirmAction, field, form, h, table, when } from "../ui.js";
import { t } from "../i18n.js";
import { alertLine, all, envTag, facts, failed, opener } from "./configuration-common.js";

const texts = {
  sv: {
    "apps-in": (env) => `Applikationer i ${env}`,
    "apps-caption": (env) => `Publicerade applikationer i ${env}`,
    "apps-empty": "Inga applikationer är publicerade i miljön.",
    "apps-no-envs": "Organisationen har inga miljöer. Skapa dem under Miljöer först.",
    "apps-name": "Namn",
    "apps-kind": "Slag",
    "apps-kind-program": "Program (RemoteApp)",
    "apps-kind-desktop": "Skrivbord",
    "apps-pool": "Pool",
    "apps-version": "Nuvarande version",
    "apps-state": "Läge",
    "apps-enabled": "Publicerad",
    "apps-disabled": "Avstängd",
    "apps-open": (name) => `Versioner och inställningar för ${name}`,
    "apps-unpublish": (name) => `Avpublicera ${name}`,
    "apps-unpublish-ask": (name) => `Avpublicera ${name}? Applikationen och dess behörigheter tas bort; ingen kan starta den längre.`,
    "apps-unpublished": "Applikationen är avpublicerad.",
    "apps-new": "Publicera en applikation",
    "apps-environment": "Miljö",
    "apps-program": "Program (sökväg eller ||alias)",
    "apps-program-hint": "Bara för program; tomt för skrivbord.",
    "apps-args": "Argument",
    "apps-enabled-field": "Publicerad (användarna ser den)",
    "apps-create": "Publicera",
    "apps-edit": (name) => `Ändra ${name}`,
    "apps-save": "Spara",
    "apps-back": "Tillbaka till alla applikationer",
    "apps-rollouts": "Utrullningar",
    "apps-rollouts-caption": (name) => `Utrullningar av ${name}`,
    "apps-rollouts-empty": "Inga utrullningar än.",
    "apps-rollout-version": "Version",
    "apps-rollout-state": "Läge",
    "apps-rollout-steps": "Steg",
    "apps-rollout-delay": "Dagar mellan UTB och PROD",
    "apps-rollout-created": "Startad",
    "apps-rollout-scheduled": "Planerad",
    "apps-rollout-in_progress": "Pågår",
    "apps-rollout-draining": "Värdar dräneras",
    "apps-rollout-done": "Klar",
    "apps-rollout-halted": "Stoppad",
    "apps-step": (s) => `${s.position}. ${s.environment_kind}: `,
    "apps-step-pending": (n) => `, ${n} värdar kvar`,
    "apps-step-not-before": (at) => `, tidigast ${at}`,
    "apps-halt": (v) => `Stoppa utrullningen av ${v}`,
    "apps-halt-ask": (v) => `Stoppa utrullningen av ${v}? Steg som inte är klara genomförs inte.`,
    "apps-halted": "Utrullningen är stoppad.",
    "apps-new-rollout": "Rulla ut en ny version",
    "apps-rollout-version-hint": "Avbild eller byggnummer. UTB uppdateras först, i nästa servicefönster.",
    "apps-start-rollout": "Starta utrullningen",
  },
  en: {
    "apps-in": (env) => `Apps in ${env}`,
    "apps-caption": (env) => `Published apps in ${env}`,
    "apps-empty": "No apps are published in this environment.",
    "apps-no-envs": "The organisation has no environments. Create them under Environments first.",
    "apps-name": "Name",
    "apps-kind": "Kind",
    "apps-kind-program": "Program (RemoteApp)",
    "apps-kind-desktop": "Desktop",
    "apps-pool": "Pool",
    "apps-version": "Current version",
    "apps-state": "State",
    "apps-enabled": "Published",
    "apps-disabled": "Disabled",
    "apps-open": (name) => `Versions and settings of ${name}`,
    "apps-unpublish": (name) => `Unpublish ${name}`,
    "apps-unpublish-ask": (name) => `Unpublish ${name}? The app and its entitlements are removed; nobody can start it any more.`,
    "apps-unpublished": "The app is unpublished.",
    "apps-new": "Publish an app",
    "apps-environment": "Environment",
    "apps-program": "Program (path or ||alias)",
    "apps-program-hint": "Programs only; empty for desktops.",
    "apps-args": "Arguments",
    "apps-enabled-field": "Published (users see it)",
    "apps-create": "Publish",
    "apps-edit": (name) => `Change ${name}`,
    "apps-save": "Save",
    "apps-back": "Back to all apps",
    "apps-rollouts": "Rollouts",
    "apps-rollouts-caption": (name) => `Rollouts of ${name}`,
    "apps-rollouts-empty": "No rollouts yet.",
    "apps-rollout-version": "Version",
    "apps-rollout-state": "State",
    "apps-rollout-steps": "Steps",
    "apps-rollout-delay": "Days between UTB and PROD",
    "apps-rollout-created": "Started",
    "apps-rollout-scheduled": "Scheduled",
    "apps-rollout-in_progress": "In progress",
    "apps-rollout-draining": "Hosts draining",
    "apps-rollout-done": "Done",
    "apps-rollout-halted": "Halted",
    "apps-step": (s) => `${s.position}. ${s.environment_kind}: `,
    "apps-step-pending": (n) => `, ${n} hosts to go`,
    "apps-step-not-before": (at) => `, not before ${at}`,
    "apps-halt": (v) => `Halt the rollout of ${v}`,
    "apps-halt-ask": (v) => `Halt the rollout of ${v}? Steps not done are not carried out.`,
    "apps-halted": "The rollout is halted.",
    "apps-new-rollout": "Roll out a new version",
    "apps-rollout-version-hint": "Image or build label. UTB is upgraded first, in its next service window.",
    "apps-start-rollout": "Start the rollout",
  },
};

const ROLLOUT_KIND = { scheduled: "info", in_progress: "warn", draining: "warn", done: "ok", halted: "bad" };

function appFields(ctx, envs, pools, app) {
  return [
    app ? null : field({ name: "environment_id", label: t("apps-environment"), type: "select", required: true,
      options: envs.map((e) => ({ value: e.id, label: `${e.name} (${e.kind})` })) }),
    field({ name: "display_name", label: t("apps-name"), required: true, maxlength: 200, value: app?.display_name }),
    field({ name: "kind", label: t("apps-kind"), type: "select", value: app?.kind ?? "program",
      options: ["program", "desktop"].map((k) => ({ value: k, label: t(`apps-kind-${k}`) })) }),
    field({ name: "pool_id", label: t("apps-pool"), type: "select", required: true, value: app?.pool_id,
      options: pools.map((p) => ({ value: p.id, label: p.name })) }),
    field({ name: "program", label: t("apps-program"), maxlength: 260, value: app?.program, hint: t("apps-program-hint") }),
    field({ name: "args", label: t("apps-args"), maxlength: 2000, value: app?.args }),
    field({ name: "version", label: t("apps-version"), maxlength: 100, value: app?.version }),
    field({ name: "enabled", label: t("apps-enabled-field"), type: "checkbox", value: app?.enabled ?? true }),
  ].filter(Boolean);
}

function rolloutSteps(ctx, rollout) {
  return h("ul", { class: "steps" }, rollout.steps.map((s) => h("li", null,
    t("apps-step", s), badge(t(`apps-rollout-${s.state}`), ROLLOUT_KIND[s.state]),
    s.state === "draining" ? t("apps-step-pending", s.hosts_pending) : "",
    s.not_before && s.state === "scheduled" ? t("apps-step-not-before", when(s.not_before, ctx.lang)) : "")));
}

async function detail(container, ctx, appId, envs, pools, alert) {
  const got = await ctx.api("GET", `/api/v1/apps/${appId}`);
  if (!got.ok) { container.append(failed(got)); return; }
  const app = got.body;
  const env = envs.find((e) => e.id === app.environment_id);
  container.append(h("p", null, h("a", { href: "#/apps" }, t("apps-back"))),
    h("h2", null, app.display_name),
    facts([
      [t("apps-environment"), env ? envTag(env.kind) : null],
      [t("apps-version"), app.version],
      [t("apps-pool"), pools.find((p) => p.id === app.pool_id)?.name],
      [t("apps-state"), app.enabled ? badge(t("apps-enabled"), "ok") : badge(t("apps-disabled"), "warn")],
    ]),
    opener(t("apps-edit", app.display_name), form({
      legend: t("apps-edit", app.display_name),
      fields: appFields(ctx, envs, pools, app),
      submit: t("apps-save"),
      ctx,
      onSubmit: (v) => ctx.api("PATCH", `/api/v1/apps/${app.id}`, v),
      onDone: () => ctx.rerender(),
    })));
  let rollouts;
  try {
    rollouts = await all(ctx, `/api/v1/apps/${app.id}/rollouts`);
  } catch (answer) {
    container.append(failed(answer));
    return;
  }
  container.append(h("h3", null, t("apps-rollouts")), table({
    caption: t("apps-rollouts-caption", app.display_name),
    rows: rollouts,
    empty: t("apps-rollouts-empty"),
    columns: [
      { label: t("apps-rollout-version"), value: (r) => r.version },
      { label: t("apps-rollout-state"), value: (r) => badge(t(`apps-rollout-${r.state}`), ROLLOUT_KIND[r.state]) },
      { label: t("apps-rollout-steps"), value: (r) => rolloutSteps(ctx, r) },
      { label: t("apps-rollout-delay"), value: (r) => String(r.prod_delay_days) },
      { label: t("apps-rollout-created"), value: (r) => when(r.created_at, ctx.lang) },
      { label: t("actions"), value: (r) => (r.state === "scheduled" || r.state === "in_progress")
        ? actionButton(t("apps-halt", r.version), async () => {
          if (!(await confirmAction(t("apps-halt-ask", r.version), t("apps-halt", r.version)))) return;
          const done = await ctx.api("POST", `/api/v1/rollouts/${r.id}/halt`);
          if (!done.ok) { alert.show(done); alert.focus(); return; }
          ctx.say(t("apps-halted"));
          ctx.rerender();
        }, { class: "secondary" })
        : null },
    ],
  }));
  if (ctx.role === "operator") {
    container.append(opener(t("apps-new-rollout"), form({
      legend: t("apps-new-rollout"),
      fields: [
        field({ name: "version", label: t("apps-rollout-version"), required: true, maxlength: 100, hint: t("apps-rollout-version-hint") }),
        field({ name: "prod_delay_days", label: t("apps-rollout-delay"), type: "number", min: 0, max: 90, value: 10, required: true }),
      ],
      submit: t("apps-start-rollout"),
      ctx,
      onSubmit: (v) => ctx.api("POST", `/api/v1/apps/${app.id}/rollouts`, v),
      onDone: () => ctx.rerender(),
    })));
  }
}

async function render(container, ctx) {
  const alert = alertLine();
  container.replaceChildren(alert);
  let envs;
  let pools;
  let apps;
  try {
    [envs, pools, apps] = await Promise.all([
      all(ctx, `/api/v1/tenants/${ctx.tenantId}/environments`),
      all(ctx, "/api/v1/pools"),
      all(ctx, `/api/v1/tenants/${ctx.tenantId}/apps`),
    ]);
  } catch (answer) {
    container.append(failed(answer));
    return;
  }
  // A tenant's apps run on shared pools and its own.
  pools = pools.filter((p) => !p.dedicated_tenant_id || p.dedicated_tenant_id === ctx.tenantId);
  const appId = ctx.params.get("app");
  if (appId) {
    await detail(container, ctx, appId, envs, pools, alert);
    return;
  }
  if (envs.length === 0) {
    container.append(h("p", { class: "empty" }, t("apps-no-envs")));
    return;
  }
  for (const env of envs) {
    const headingId = `apps-env-${env.id}`;
    container.append(h("section", { class: `env-section env-section-${env.kind === "UTB" ? "utb" : "prod"}`, "aria-labelledby": headingId },
      h("h2", { id: headingId }, envTag(env.kind, true), " ", t("apps-in", env.name)),
      table({
        caption: t("apps-caption", `${env.name} (${env.kind})`),
        rows: apps.filter((a) => a.environment_id === env.id),
        empty: t("apps-empty"),
        columns: [
          { label: t("apps-name"), value: (a) => a.display_name },
          { label: t("apps-kind"), value: (a) => t(`apps-kind-${a.kind}`) },
          { label: t("apps-version"), value: (a) => a.version ?? t("config-none") },
          { label: t("apps-pool"), value: (a) => pools.find((p) => p.id === a.pool_id)?.name ?? t("config-none") },
          { label: t("apps-state"), value: (a) => a.enabled ? badge(t("apps-enabled"), "ok") : badge(t("apps-disabled"), "warn") },
          { label: t("actions"), value: (a) => h("div", null,
            h("a", { href: `#/apps?app=${a.id}`, class: "button-link secondary" }, t("apps-open", a.display_name)), " ",
            actionButton(t("apps-unpublish", a.display_name), async () => {
              if (!(await confirmAction(t("apps-unpublish-ask", a.display_name), t("apps-unpublish", a.display_name)))) return;
              const done = await ctx.api("DELETE", `/api/v1/apps/${a.id}`);
              if (!done.ok) { alert.show(done); alert.focus(); return; }
              ctx.say(t("apps-unpublished"));
              ctx.rerender();
            }, { class: "secondary" })) },
        ],
      })));
  }
  container.append(opener(t("apps-new"), form({
    legend: t("apps-new"),
    fields: appFields(ctx, envs, pools, null),
    submit: t("apps-create"),
    ctx,
    onSubmit: (v) => ctx.api("POST", `/api/v1/tenants/${ctx.tenantId}/apps`, v),
    onDone: () => ctx.rerender(),
  })));
}

export default { id: "apps", label: { sv: "Applikationer och versioner", en: "Apps and versions" }, texts, render };
