// Section "Organisationer": the tenants (operators list, create and edit every tenant; a
// tenant-admin sees and edits their own), and per tenant its SAML IdP (view; set from
// pasted metadata or a URL the broker fetches once and pins, PUT /tenants/{id}/saml) and
// its web-session lifetimes (view, set, back to the defaults).

import { actionButton, badge, confirmAction, field, form, h, table, when } from "../ui.js";
import { t } from "../i18n.js";
import { alertLine, all, facts, failed, opener } from "./configuration-common.js";

const texts = {
  sv: {
    "tenants-list": "Organisationer",
    "tenants-caption": "Organisationer i tjänsten",
    "tenants-name": "Namn",
    "tenants-slug": "Kortnamn",
    "tenants-slug-hint": "Små bokstäver, siffror och bindestreck; används i inloggningsadressen.",
    "tenants-created": "Skapad",
    "tenants-show": (name) => `Visa ${name}`,
    "tenants-new": "Ny organisation",
    "tenants-create": "Skapa organisation",
    "tenants-edit": "Ändra organisationen",
    "tenants-save": "Spara",
    "tenants-detail": (name) => `Inställningar för ${name}`,
    "tenants-saml": "Inloggning med SAML (IdP)",
    "tenants-saml-none": "Ingen SAML-inloggning är inställd. Användarna kan inte logga in med organisationens IdP förrän den ställs in.",
    "tenants-saml-enabled": "Påslagen",
    "tenants-saml-on": "På",
    "tenants-saml-off": "Av",
    "tenants-saml-idp": "IdP (entity ID)",
    "tenants-saml-sp": "Tjänstens entity ID (SP)",
    "tenants-saml-url": "Metadata hämtad från",
    "tenants-saml-contexts": "Begärd tillitsnivå (AuthnContext)",
    "tenants-saml-mfa": "Godtagna tillitsnivåer",
    "tenants-saml-force": "Kräv ny inloggning varje gång",
    "tenants-saml-updated": "Senast ändrad",
    "tenants-saml-set": "Ställ in IdP",
    "tenants-saml-change": "Ändra IdP",
    "tenants-saml-xml": "IdP:ns metadata (XML)",
    "tenants-saml-xml-hint": "Klistra in metadata, eller ange en adress nedan. Metadatan måste ha ett signeringscertifikat.",
    "tenants-saml-url-field": "Adress till IdP:ns metadata (https)",
    "tenants-saml-url-hint": "Hämtas en gång och sparas; ändras inte av sig själv.",
    "tenants-saml-contexts-hint": "En eller flera, åtskilda med kommatecken. Tomt: tillitsnivå 3.",
    "tenants-saml-save": "Spara IdP-inställningen",
    "tenants-web": "Webbsessioner",
    "tenants-web-idle": "Utloggning vid inaktivitet (minuter)",
    "tenants-web-max": "Längsta inloggning (minuter)",
    "tenants-web-own": "Egna värden",
    "tenants-web-default": "Tjänstens standardvärden",
    "tenants-web-kind": "Gäller",
    "tenants-web-set": "Ändra tiderna",
    "tenants-web-save": "Spara tiderna",
    "tenants-web-hint": "Minst 5 minuter, högst 7 dygn (10 080 minuter). Kortare tider gäller direkt även för pågående inloggningar.",
    "tenants-web-reset": "Återställ till standard",
    "tenants-web-reset-ask": "Återställa webbsessionernas tider till tjänstens standardvärden?",
    "tenants-web-reset-done": "Tiderna är återställda till standard.",
  },
  en: {
    "tenants-list": "Organisations",
    "tenants-caption": "Organisations in the service",
    "tenants-name": "Name",
    "tenants-slug": "Short name",
    "tenants-slug-hint": "Lower-case letters, digits and hyphens; part of the login address.",
    "tenants-created": "Created",
    "tenants-show": (name) => `Show ${name}`,
    "tenants-new": "New organisation",
    "tenants-create": "Create organisation",
    "tenants-edit": "Change the organisation",
    "tenants-save": "Save",
    "tenants-detail": (name) => `Settings of ${name}`,
    "tenants-saml": "SAML login (IdP)",
    "tenants-saml-none": "No SAML login is set up. Users cannot log in with the organisation's IdP until it is.",
    "tenants-saml-enabled": "Enabled",
    "tenants-saml-on": "On",
    "tenants-saml-off": "Off",
    "tenants-saml-idp": "IdP (entity ID)",
    "tenants-saml-sp": "Service entity ID (SP)",
    "tenants-saml-url": "Metadata fetched from",
    "tenants-saml-contexts": "Requested level of assurance (AuthnContext)",
    "tenants-saml-mfa": "Accepted levels of assurance",
    "tenants-saml-force": "Require a fresh login every time",
    "tenants-saml-updated": "Last changed",
    "tenants-saml-set": "Set up the IdP",
    "tenants-saml-change": "Change the IdP",
    "tenants-saml-xml": "The IdP's metadata (XML)",
    "tenants-saml-xml-hint": "Paste the metadata, or give an address below. The metadata must have a signing certificate.",
    "tenants-saml-url-field": "Address of the IdP's metadata (https)",
    "tenants-saml-url-hint": "Fetched once and kept; it does not change by itself.",
    "tenants-saml-contexts-hint": "One or more, separated by commas. Empty: level of assurance 3.",
    "tenants-saml-save": "Save the IdP setting",
    "tenants-web": "Web sessions",
    "tenants-web-idle": "Logout when idle (minutes)",
    "tenants-web-max": "Longest login (minutes)",
    "tenants-web-own": "Own values",
    "tenants-web-default": "The service's defaults",
    "tenants-web-kind": "In force",
    "tenants-web-set": "Change the times",
    "tenants-web-save": "Save the times",
    "tenants-web-hint": "At least 5 minutes, at most 7 days (10,080 minutes). Shorter times apply at once, to current logins too.",
    "tenants-web-reset": "Back to the defaults",
    "tenants-web-reset-ask": "Return the web-session times to the service's defaults?",
    "tenants-web-reset-done": "The times are back to the defaults.",
  },
};

const list = (value) => (value ? value.split(",").map((x) => x.trim()).filter(Boolean) : undefined);
const minutes = (secs) => Math.round(Number(secs) / 60);

async function samlPart(ctx, tenant, alert) {
  const part = h("section", { "aria-labelledby": `saml-${tenant.id}` },
    h("h3", { id: `saml-${tenant.id}` }, t("tenants-saml")));
  const answer = await ctx.api("GET", `/api/v1/tenants/${tenant.id}/saml`);
  const current = answer.ok ? answer.body : null;
  if (!answer.ok && answer.status !== 404) {
    part.append(failed(answer));
    return part;
  }
  part.append(current
    ? facts([
      [t("tenants-saml-enabled"), current.enabled ? badge(t("tenants-saml-on"), "ok") : badge(t("tenants-saml-off"), "warn")],
      [t("tenants-saml-idp"), current.idp_entity_id],
      [t("tenants-saml-sp"), current.sp_entity_id],
      [t("tenants-saml-url"), current.idp_metadata_url],
      [t("tenants-saml-contexts"), current.requested_authn_contexts.join(", ")],
      [t("tenants-saml-mfa"), current.accepted_mfa_contexts.join(", ")],
      [t("tenants-saml-force"), current.force_authn ? t("yes") : t("no")],
      [t("tenants-saml-updated"), when(current.updated_at, ctx.lang)],
    ])
    : h("p", { class: "empty" }, t("tenants-saml-none")));
  const fields = [
    field({ name: "sp_entity_id", label: t("tenants-saml-sp"), required: true,
      value: current?.sp_entity_id ?? `${location.origin}/saml/${tenant.slug}` }),
    field({ name: "idp_metadata_xml", label: t("tenants-saml-xml"), type: "textarea", hint: t("tenants-saml-xml-hint") }),
    field({ name: "idp_metadata_url", label: t("tenants-saml-url-field"), type: "url", hint: t("tenants-saml-url-hint"),
      value: current?.idp_metadata_url }),
    field({ name: "requested_authn_contexts", label: t("tenants-saml-contexts"), hint: t("tenants-saml-contexts-hint"),
      value: current?.requested_authn_contexts.join(", ") }),
    field({ name: "accepted_mfa_contexts", label: t("tenants-saml-mfa"), hint: t("tenants-saml-contexts-hint"),
      value: current?.accepted_mfa_contexts.join(", ") }),
    field({ name: "enabled", label: t("tenants-saml-enabled"), type: "checkbox", value: current?.enabled ?? true }),
    field({ name: "force_authn", label: t("tenants-saml-force"), type: "checkbox", value: current?.force_authn ?? false }),
  ];
  part.append(opener(current ? t("tenants-saml-change") : t("tenants-saml-set"), form({
    legend: current ? t("tenants-saml-change") : t("tenants-saml-set"),
    fields,
    submit: t("tenants-saml-save"),
    ctx,
    onSubmit: (v) => {
      const body = {
        enabled: v.enabled,
        force_authn: v.force_authn,
        sp_entity_id: v.sp_entity_id,
        // Pasted metadata wins over an address; the broker takes one of them.
        ...(v.idp_metadata_xml ? { idp_metadata_xml: v.idp_metadata_xml } : { idp_metadata_url: v.idp_metadata_url }),
        requested_authn_contexts: list(v.requested_authn_contexts),
        accepted_mfa_contexts: list(v.accepted_mfa_contexts),
        attributes: current?.attributes,
      };
      return ctx.api("PUT", `/api/v1/tenants/${tenant.id}/saml`, body);
    },
    onDone: () => { alert.clear(); ctx.rerender(); },
  })));
  return part;
}

async function webPart(ctx, tenant, alert) {
  const part = h("section", { "aria-labelledby": `web-${tenant.id}` },
    h("h3", { id: `web-${tenant.id}` }, t("tenants-web")));
  const path = `/api/v1/tenants/${tenant.id}/web-session-settings`;
  const answer = await ctx.api("GET", path);
  if (!answer.ok) {
    part.append(failed(answer));
    return part;
  }
  const s = answer.body;
  part.append(facts([
    [t("tenants-web-kind"), s.customised ? badge(t("tenants-web-own"), "info") : badge(t("tenants-web-default"), "ok")],
    [t("tenants-web-idle"), String(minutes(s.idle_timeout_secs))],
    [t("tenants-web-max"), String(minutes(s.max_lifetime_secs))],
  ]));
  const fields = [
    field({ name: "idle_timeout_secs", label: t("tenants-web-idle"), type: "number", min: 5, max: 10080, required: true,
      value: minutes(s.idle_timeout_secs), hint: t("tenants-web-hint") }),
    field({ name: "max_lifetime_secs", label: t("tenants-web-max"), type: "number", min: 5, max: 10080, required: true,
      value: minutes(s.max_lifetime_secs) }),
  ];
  part.append(opener(t("tenants-web-set"), form({
    legend: t("tenants-web-set"),
    fields,
    submit: t("tenants-web-save"),
    ctx,
    onSubmit: (v) => ctx.api("PUT", path, {
      idle_timeout_secs: Math.round(v.idle_timeout_secs * 60),
      max_lifetime_secs: Math.round(v.max_lifetime_secs * 60),
    }),
    onDone: () => { alert.clear(); ctx.rerender(); },
  })));
  if (s.customised) {
    part.append(h("p", null, actionButton(t("tenants-web-reset"), async () => {
      if (!(await confirmAction(t("tenants-web-reset-ask"), t("tenants-web-reset")))) return;
      const done = await ctx.api("DELETE", path);
      if (!done.ok) { alert.show(done); alert.focus(); return; }
      ctx.say(t("tenants-web-reset-done"));
      ctx.rerender();
    }, { class: "secondary" })));
  }
  return part;
}

async function render(container, ctx) {
  const alert = alertLine();
  container.replaceChildren(alert);
  let tenants;
  try {
    tenants = await all(ctx, "/api/v1/tenants");
  } catch (answer) {
    container.append(failed(answer));
    return;
  }
  const operator = ctx.role === "operator";
  if (operator || tenants.length > 1) {
    container.append(h("h2", null, t("tenants-list")), table({
      caption: t("tenants-caption"),
      rows: tenants,
      columns: [
        { label: t("tenants-name"), value: (x) => x.name },
        { label: t("tenants-slug"), value: (x) => x.slug },
        { label: t("tenants-created"), value: (x) => when(x.created_at, ctx.lang) },
        { label: t("actions"), value: (x) => h("a", { href: `#/tenants?id=${x.id}` }, t("tenants-show", x.name)) },
      ],
    }));
  }
  if (operator) {
    container.append(opener(t("tenants-new"), form({
      legend: t("tenants-new"),
      fields: [
        field({ name: "name", label: t("tenants-name"), required: true, maxlength: 200 }),
        field({ name: "slug", label: t("tenants-slug"), required: true, maxlength: 63, hint: t("tenants-slug-hint") }),
      ],
      submit: t("tenants-create"),
      ctx,
      onSubmit: (v) => ctx.api("POST", "/api/v1/tenants", v),
      onDone: (answer) => ctx.go(`#/tenants?id=${answer.body.id}`),
    })));
  }
  const id = ctx.params.get("id") ?? ctx.tenantId;
  const tenant = tenants.find((x) => x.id === id);
  if (!tenant) return;
  container.append(h("h2", null, t("tenants-detail", tenant.name)),
    facts([[t("tenants-slug"), tenant.slug], [t("tenants-created"), when(tenant.created_at, ctx.lang)]]),
    opener(t("tenants-edit"), form({
      legend: t("tenants-edit"),
      fields: [
        field({ name: "name", label: t("tenants-name"), required: true, maxlength: 200, value: tenant.name }),
        field({ name: "slug", label: t("tenants-slug"), required: true, maxlength: 63, value: tenant.slug, hint: t("tenants-slug-hint") }),
      ],
      submit: t("tenants-save"),
      ctx,
      onSubmit: (v) => ctx.api("PATCH", `/api/v1/tenants/${tenant.id}`, v),
      onDone: () => ctx.rerender(),
    })));
  container.append(await samlPart(ctx, tenant, alert), await webPart(ctx, tenant, alert));
}

export default { id: "tenants", label: { sv: "Organisationer", en: "Organisations" }, texts, render };
