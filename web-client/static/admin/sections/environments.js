// Section "Miljöer": the environments of the tenant being administered (list, create,
// rename, delete an empty one). PROD and UTB are told apart by words and a shape
// (configuration-common.js `envTag`), never by colour alone.

import { actionButton, confirmAction, field, form, h, table, when } from "../ui.js";
import { t } from "../i18n.js";
import { alertLine, all, envTag, failed, opener } from "./configuration-common.js";

const texts = {
  sv: {
    "environments-caption": (name) => `Miljöer hos ${name}`,
    "environments-kind": "Slag",
    "environments-name": "Namn",
    "environments-name-hint": "Tomt: slagets namn (PROD eller UTB).",
    "environments-created": "Skapad",
    "environments-empty": "Organisationen har inga miljöer än. Skapa PROD och UTB nedan.",
    "environments-new": "Ny miljö",
    "environments-create": "Skapa miljö",
    "environments-rename": (name) => `Byt namn på ${name}`,
    "environments-save": "Spara namnet",
    "environments-delete": (name) => `Ta bort ${name}`,
    "environments-delete-ask": (name) => `Ta bort miljön ${name}? Det går bara om den saknar applikationer.`,
    "environments-deleted": "Miljön är borttagen.",
    "environments-kind-hint": "En organisation har högst en miljö av varje slag.",
  },
  en: {
    "environments-caption": (name) => `Environments of ${name}`,
    "environments-kind": "Kind",
    "environments-name": "Name",
    "environments-name-hint": "Empty: the kind's name (PROD or UTB).",
    "environments-created": "Created",
    "environments-empty": "The organisation has no environments yet. Create PROD and UTB below.",
    "environments-new": "New environment",
    "environments-create": "Create environment",
    "environments-rename": (name) => `Rename ${name}`,
    "environments-save": "Save the name",
    "environments-delete": (name) => `Delete ${name}`,
    "environments-delete-ask": (name) => `Delete the environment ${name}? Only possible when it has no apps.`,
    "environments-deleted": "The environment is deleted.",
    "environments-kind-hint": "An organisation has at most one environment of each kind.",
  },
};

async function render(container, ctx) {
  const alert = alertLine();
  container.replaceChildren(alert);
  let envs;
  try {
    envs = await all(ctx, `/api/v1/tenants/${ctx.tenantId}/environments`);
  } catch (answer) {
    container.append(failed(answer));
    return;
  }
  container.append(h("h2", null, t("environments-caption", ctx.tenant.name)), table({
    caption: t("environments-caption", ctx.tenant.name),
    rows: envs,
    empty: t("environments-empty"),
    columns: [
      { label: t("environments-name"), value: (e) => e.name },
      { label: t("environments-kind"), value: (e) => envTag(e.kind) },
      { label: t("environments-created"), value: (e) => when(e.created_at, ctx.lang) },
      { label: t("actions"), value: (e) => h("div", null,
        opener(t("environments-rename", e.name), form({
          legend: t("environments-rename", e.name),
          fields: [field({ name: "name", label: t("environments-name"), required: true, maxlength: 200, value: e.name })],
          submit: t("environments-save"),
          ctx,
          onSubmit: (v) => ctx.api("PATCH", `/api/v1/environments/${e.id}`, v),
          onDone: () => ctx.rerender(),
        })),
        actionButton(t("environments-delete", e.name), async () => {
          if (!(await confirmAction(t("environments-delete-ask", e.name), t("environments-delete", e.name)))) return;
          const done = await ctx.api("DELETE", `/api/v1/environments/${e.id}`);
          if (!done.ok) { alert.show(done); alert.focus(); return; }
          ctx.say(t("environments-deleted"));
          ctx.rerender();
        }, { class: "secondary" })) },
    ],
  }));
  container.append(opener(t("environments-new"), form({
    legend: t("environments-new"),
    fields: [
      field({ name: "kind", label: t("environments-kind"), type: "select", required: true, hint: t("environments-kind-hint"),
        options: [{ value: "PROD", label: t("config-env-PROD") }, { value: "UTB", label: t("config-env-UTB") }] }),
      field({ name: "name", label: t("environments-name"), maxlength: 200, hint: t("environments-name-hint") }),
    ],
    submit: t("environments-create"),
    ctx,
    onSubmit: (v) => ctx.api("POST", `/api/v1/tenants/${ctx.tenantId}/environments`, v),
    onDone: () => ctx.rerender(),
  }), envs.length === 0));
}

export default { id: "environments", label: { sv: "Miljöer", en: "Environments" }, texts, render };
