// Section "Grupper, användare och behörigheter": the tenant's users (create; a user's
// roles: assigned directly, granted by groups, in force; assign one), its groups and
// their members (add, remove), and per app who may launch it (entitle a group or a user,
// revoke). Views: `#/groups`, `#/groups?user=ID`, `#/groups?group=ID`, `#/groups?app=ID`.

import { actionButton, badge, confirmAction, field, form, h, table, when } from "../ui.js";
import { t } from "../i18n.js";
import { alertLine, all, envTag, facts, failed, opener } from "./configuration-common.js";

const texts = {
  sv: {
    "groups-users": "Användare",
    "groups-users-caption": "Organisationens användare",
    "groups-users-empty": "Organisationen har inga användare än.",
    "groups-user-name": "Namn",
    "groups-user-name-id": "Användarnamn (SAML NameID)",
    "groups-user-hsa": "HSA-id",
    "groups-user-last-login": "Senast inloggad",
    "groups-user-open": (name) => `Roller för ${name}`,
    "groups-user-new": "Ny användare",
    "groups-user-create": "Skapa användare",
    "groups-role": "Roll",
    "groups-role-user": "Användare",
    "groups-role-tenant_admin": "Organisationsadministratör",
    "groups-role-operator": "Driftoperatör",
    "groups-role-none": "Ingen",
    "groups-role-direct": "Tilldelad roll",
    "groups-role-via": "Roller genom grupper",
    "groups-role-effective": "Gällande roll",
    "groups-role-assign": (name) => `Tilldela ${name} en roll`,
    "groups-role-save": "Spara rollen",
    "groups-role-hint": "Den starkaste av tilldelad roll och gruppernas roller gäller.",
    "groups-back": "Tillbaka till grupper och användare",
    "groups-groups": "Grupper",
    "groups-groups-caption": "Organisationens grupper",
    "groups-groups-empty": "Organisationen har inga grupper än.",
    "groups-group-name": "Grupp",
    "groups-group-external": "Id hos IdP:n",
    "groups-group-external-hint": "Gruppens värde i IdP:ns gruppattribut; medlemskapen följer då inloggningen.",
    "groups-group-grants": "Ger rollen",
    "groups-group-open": (name) => `Medlemmar i ${name}`,
    "groups-group-new": "Ny grupp",
    "groups-group-create": "Skapa grupp",
    "groups-group-delete": (name) => `Ta bort gruppen ${name}`,
    "groups-group-delete-ask": (name) => `Ta bort gruppen ${name} med dess medlemskap och behörigheter?`,
    "groups-group-deleted": "Gruppen är borttagen.",
    "groups-members-caption": (name) => `Medlemmar i ${name}`,
    "groups-members-empty": "Gruppen har inga medlemmar.",
    "groups-member-since": "Medlem sedan",
    "groups-member-add": (name) => `Lägg till medlem i ${name}`,
    "groups-member-user": "Användare",
    "groups-member-save": "Lägg till",
    "groups-member-remove": (name) => `Ta bort ${name} ur gruppen`,
    "groups-member-remove-ask": (name) => `Ta bort ${name} ur gruppen? Behörigheter genom gruppen upphör direkt.`,
    "groups-member-removed": "Medlemmen är borttagen ur gruppen.",
    "groups-entitlements": "Behörigheter per applikation",
    "groups-entitlements-hint": "Välj en applikation för att se och ändra vilka som får starta den.",
    "groups-app-open": (name) => `Behörigheter till ${name}`,
    "groups-ent-caption": (name) => `Vem får starta ${name}`,
    "groups-ent-empty": "Ingen har behörighet till applikationen.",
    "groups-ent-who": "Grupp eller användare",
    "groups-ent-kind": "Slag",
    "groups-ent-group": (name) => `Grupp: ${name}`,
    "groups-ent-user": (name) => `Användare: ${name}`,
    "groups-ent-kind-group": "Grupp",
    "groups-ent-kind-user": "Användare",
    "groups-ent-since": "Sedan",
    "groups-ent-add": (name) => `Ge behörighet till ${name}`,
    "groups-ent-save": "Ge behörighet",
    "groups-ent-revoke": (name) => `Återkalla behörigheten för ${name}`,
    "groups-ent-revoke-ask": (name) => `Återkalla behörigheten för ${name}? Den gäller inte längre från nästa start.`,
    "groups-ent-revoked": "Behörigheten är återkallad.",
    "groups-unknown": "(okänd)",
  },
  en: {
    "groups-users": "Users",
    "groups-users-caption": "The organisation's users",
    "groups-users-empty": "The organisation has no users yet.",
    "groups-user-name": "Name",
    "groups-user-name-id": "User name (SAML NameID)",
    "groups-user-hsa": "HSA ID",
    "groups-user-last-login": "Last login",
    "groups-user-open": (name) => `Roles of ${name}`,
    "groups-user-new": "New user",
    "groups-user-create": "Create user",
    "groups-role": "Role",
    "groups-role-user": "User",
    "groups-role-tenant_admin": "Organisation administrator",
    "groups-role-operator": "Operator",
    "groups-role-none": "None",
    "groups-role-direct": "Assigned role",
    "groups-role-via": "Roles through groups",
    "groups-role-effective": "Role in force",
    "groups-role-assign": (name) => `Assign ${name} a role`,
    "groups-role-save": "Save the role",
    "groups-role-hint": "The strongest of the assigned role and the groups' roles is in force.",
    "groups-back": "Back to groups and users",
    "groups-groups": "Groups",
    "groups-groups-caption": "The organisation's groups",
    "groups-groups-empty": "The organisation has no groups yet.",
    "groups-group-name": "Group",
    "groups-group-external": "ID at the IdP",
    "groups-group-external-hint": "The group's value in the IdP's group attribute; memberships then follow the login.",
    "groups-group-grants": "Grants the role",
    "groups-group-open": (name) => `Members of ${name}`,
    "groups-group-new": "New group",
    "groups-group-create": "Create group",
    "groups-group-delete": (name) => `Delete the group ${name}`,
    "groups-group-delete-ask": (name) => `Delete the group ${name} with its memberships and entitlements?`,
    "groups-group-deleted": "The group is deleted.",
    "groups-members-caption": (name) => `Members of ${name}`,
    "groups-members-empty": "The group has no members.",
    "groups-member-since": "Member since",
    "groups-member-add": (name) => `Add a member to ${name}`,
    "groups-member-user": "User",
    "groups-member-save": "Add",
    "groups-member-remove": (name) => `Remove ${name} from the group`,
    "groups-member-remove-ask": (name) => `Remove ${name} from the group? Access through the group ends at once.`,
    "groups-member-removed": "The member is removed from the group.",
    "groups-entitlements": "Entitlements per app",
    "groups-entitlements-hint": "Choose an app to see and change who may start it.",
    "groups-app-open": (name) => `Entitlements to ${name}`,
    "groups-ent-caption": (name) => `Who may start ${name}`,
    "groups-ent-empty": "Nobody is entitled to the app.",
    "groups-ent-who": "Group or user",
    "groups-ent-kind": "Kind",
    "groups-ent-group": (name) => `Group: ${name}`,
    "groups-ent-user": (name) => `User: ${name}`,
    "groups-ent-kind-group": "Group",
    "groups-ent-kind-user": "User",
    "groups-ent-since": "Since",
    "groups-ent-add": (name) => `Entitle someone to ${name}`,
    "groups-ent-save": "Entitle",
    "groups-ent-revoke": (name) => `Revoke the entitlement of ${name}`,
    "groups-ent-revoke-ask": (name) => `Revoke the entitlement of ${name}? It no longer applies from the next start.`,
    "groups-ent-revoked": "The entitlement is revoked.",
    "groups-unknown": "(unknown)",
  },
};

const roleWord = (role) => t(`groups-role-${role ?? "user"}`);
const ROLE_KIND = { user: "info", tenant_admin: "warn", operator: "bad" };

/** Runs a consequential change after asking; reports refusals in the section's line. */
function confirmed(ctx, alert, text, question, confirmLabel, method, path, done) {
  return actionButton(text, async () => {
    alert.clear();
    if (!(await confirmAction(question, confirmLabel))) return;
    const answer = await ctx.api(method, path);
    if (!answer.ok) { alert.show(answer); alert.focus(); return; }
    ctx.say(done);
    ctx.rerender();
  }, { class: "secondary" });
}

async function userView(container, ctx, id) {
  const [user, roles] = await Promise.all([ctx.api("GET", `/api/v1/users/${id}`), ctx.api("GET", `/api/v1/users/${id}/role`)]);
  if (!user.ok || !roles.ok) { container.append(failed(user.ok ? roles : user)); return; }
  const u = user.body;
  const r = roles.body;
  const choices = ["user", "tenant_admin", ...(ctx.role === "operator" ? ["operator"] : [])];
  container.append(h("h2", null, u.display_name),
    facts([
      [t("groups-user-name-id"), u.name_id],
      [t("groups-user-hsa"), u.hsa_id],
      [t("groups-user-last-login"), when(u.last_login_at, ctx.lang)],
      [t("groups-role-direct"), roleWord(r.direct)],
      [t("groups-role-via"), r.via_groups.length
        ? r.via_groups.map((g) => `${g.group_name}: ${roleWord(g.role)}`).join(", ") : t("groups-role-none")],
      [t("groups-role-effective"), badge(roleWord(r.effective), ROLE_KIND[r.effective])],
    ]),
    form({
      legend: t("groups-role-assign", u.display_name),
      fields: [field({ name: "role", label: t("groups-role"), type: "select", value: r.direct, hint: t("groups-role-hint"),
        options: choices.map((c) => ({ value: c, label: roleWord(c) })) })],
      submit: t("groups-role-save"),
      ctx,
      onSubmit: (v) => ctx.api("PUT", `/api/v1/users/${u.id}/role`, v),
      onDone: () => ctx.rerender(),
    }));
}

async function groupView(container, ctx, id, users, alert) {
  const got = await ctx.api("GET", `/api/v1/groups/${id}`);
  if (!got.ok) { container.append(failed(got)); return; }
  const g = got.body;
  let members;
  try {
    members = await all(ctx, `/api/v1/groups/${g.id}/members`);
  } catch (answer) {
    container.append(failed(answer));
    return;
  }
  const nameOf = (uid) => users.find((u) => u.id === uid)?.display_name ?? t("groups-unknown");
  const inGroup = new Set(members.map((m) => m.user_id));
  container.append(h("h2", null, g.name),
    facts([[t("groups-group-external"), g.external_id], [t("groups-group-grants"), g.grants_role ? roleWord(g.grants_role) : t("groups-role-none")]]),
    table({
      caption: t("groups-members-caption", g.name),
      rows: members,
      empty: t("groups-members-empty"),
      columns: [
        { label: t("groups-user-name"), value: (m) => nameOf(m.user_id) },
        { label: t("groups-member-since"), value: (m) => when(m.created_at, ctx.lang) },
        { label: t("actions"), value: (m) => confirmed(ctx, alert, t("groups-member-remove", nameOf(m.user_id)),
          t("groups-member-remove-ask", nameOf(m.user_id)), t("groups-member-remove", nameOf(m.user_id)),
          "DELETE", `/api/v1/groups/${g.id}/members/${m.user_id}`, t("groups-member-removed")) },
      ],
    }));
  const candidates = users.filter((u) => !inGroup.has(u.id));
  if (candidates.length) {
    container.append(form({
      legend: t("groups-member-add", g.name),
      fields: [field({ name: "user_id", label: t("groups-member-user"), type: "select", required: true,
        options: candidates.map((u) => ({ value: u.id, label: `${u.display_name} (${u.name_id})` })) })],
      submit: t("groups-member-save"),
      ctx,
      onSubmit: (v) => ctx.api("PUT", `/api/v1/groups/${g.id}/members/${v.user_id}`),
      onDone: () => ctx.rerender(),
    }));
  }
}

async function appView(container, ctx, id, users, groups, envs, alert) {
  const got = await ctx.api("GET", `/api/v1/apps/${id}`);
  if (!got.ok) { container.append(failed(got)); return; }
  const app = got.body;
  let ents;
  try {
    ents = await all(ctx, `/api/v1/apps/${app.id}/entitlements`);
  } catch (answer) {
    container.append(failed(answer));
    return;
  }
  const who = (e) => e.group_id
    ? t("groups-ent-group", groups.find((g) => g.id === e.group_id)?.name ?? t("groups-unknown"))
    : t("groups-ent-user", users.find((u) => u.id === e.user_id)?.display_name ?? t("groups-unknown"));
  const env = envs.find((e) => e.id === app.environment_id);
  container.append(h("h2", null, app.display_name, " ", env ? envTag(env.kind, true) : null),
    table({
      caption: t("groups-ent-caption", app.display_name),
      rows: ents,
      empty: t("groups-ent-empty"),
      columns: [
        { label: t("groups-ent-who"), value: who },
        { label: t("groups-ent-since"), value: (e) => when(e.created_at, ctx.lang) },
        { label: t("actions"), value: (e) => confirmed(ctx, alert, t("groups-ent-revoke", who(e)), t("groups-ent-revoke-ask", who(e)),
          t("groups-ent-revoke", who(e)), "DELETE", `/api/v1/entitlements/${e.id}`, t("groups-ent-revoked")) },
      ],
    }));
  const taken = new Set(ents.map((e) => e.group_id ?? e.user_id));
  const options = [
    ...groups.filter((g) => !taken.has(g.id)).map((g) => ({ value: `g:${g.id}`, label: t("groups-ent-group", g.name) })),
    ...users.filter((u) => !taken.has(u.id)).map((u) => ({ value: `u:${u.id}`, label: t("groups-ent-user", `${u.display_name} (${u.name_id})`) })),
  ];
  if (options.length) {
    container.append(form({
      legend: t("groups-ent-add", app.display_name),
      fields: [field({ name: "who", label: t("groups-ent-who"), type: "select", required: true, options })],
      submit: t("groups-ent-save"),
      ctx,
      onSubmit: (v) => {
        const [kind, ref] = String(v.who).split(":");
        return ctx.api("POST", `/api/v1/apps/${app.id}/entitlements`, kind === "g" ? { group_id: ref } : { user_id: ref });
      },
      onDone: () => ctx.rerender(),
    }));
  }
}

async function overview(container, ctx, users, groups, apps, envs, alert) {
  container.append(h("h2", null, t("groups-users")), table({
    caption: t("groups-users-caption"),
    rows: users,
    empty: t("groups-users-empty"),
    columns: [
      { label: t("groups-user-name"), value: (u) => u.display_name },
      { label: t("groups-user-name-id"), value: (u) => u.name_id },
      { label: t("groups-user-hsa"), value: (u) => u.hsa_id ?? t("config-none") },
      { label: t("groups-user-last-login"), value: (u) => when(u.last_login_at, ctx.lang) },
      { label: t("actions"), value: (u) => h("a", { href: `#/groups?user=${u.id}` }, t("groups-user-open", u.display_name)) },
    ],
  }), opener(t("groups-user-new"), form({
    legend: t("groups-user-new"),
    fields: [
      field({ name: "display_name", label: t("groups-user-name"), required: true, maxlength: 200 }),
      field({ name: "name_id", label: t("groups-user-name-id"), required: true, maxlength: 500 }),
      field({ name: "hsa_id", label: t("groups-user-hsa"), maxlength: 64 }),
    ],
    submit: t("groups-user-create"),
    ctx,
    onSubmit: (v) => ctx.api("POST", `/api/v1/tenants/${ctx.tenantId}/users`, v),
    onDone: () => ctx.rerender(),
  })));
  container.append(h("h2", null, t("groups-groups")), table({
    caption: t("groups-groups-caption"),
    rows: groups,
    empty: t("groups-groups-empty"),
    columns: [
      { label: t("groups-group-name"), value: (g) => g.name },
      { label: t("groups-group-external"), value: (g) => g.external_id ?? t("config-none") },
      { label: t("groups-group-grants"), value: (g) => g.grants_role ? badge(roleWord(g.grants_role), ROLE_KIND[g.grants_role]) : t("groups-role-none") },
      { label: t("actions"), value: (g) => h("div", null,
        h("a", { href: `#/groups?group=${g.id}` }, t("groups-group-open", g.name)), " ",
        confirmed(ctx, alert, t("groups-group-delete", g.name), t("groups-group-delete-ask", g.name), t("groups-group-delete", g.name),
          "DELETE", `/api/v1/groups/${g.id}`, t("groups-group-deleted"))) },
    ],
  }), opener(t("groups-group-new"), form({
    legend: t("groups-group-new"),
    fields: [
      field({ name: "name", label: t("groups-group-name"), required: true, maxlength: 200 }),
      field({ name: "external_id", label: t("groups-group-external"), maxlength: 500, hint: t("groups-group-external-hint") }),
      field({ name: "grants_role", label: t("groups-group-grants"), type: "select",
        options: [{ value: "", label: t("groups-role-none") }, { value: "tenant_admin", label: roleWord("tenant_admin") },
          ...(ctx.role === "operator" ? [{ value: "operator", label: roleWord("operator") }] : [])] }),
    ],
    submit: t("groups-group-create"),
    ctx,
    onSubmit: (v) => ctx.api("POST", `/api/v1/tenants/${ctx.tenantId}/groups`, v),
    onDone: () => ctx.rerender(),
  })));
  container.append(h("h2", null, t("groups-entitlements")), h("p", null, t("groups-entitlements-hint")),
    h("ul", { class: "link-list" }, apps.map((a) => {
      const env = envs.find((e) => e.id === a.environment_id);
      return h("li", null, h("a", { href: `#/groups?app=${a.id}` }, t("groups-app-open", a.display_name)), " ",
        env ? envTag(env.kind, true) : null);
    })));
}

async function render(container, ctx) {
  const alert = alertLine();
  container.replaceChildren(alert);
  let users;
  let groups;
  let apps;
  let envs;
  try {
    [users, groups, apps, envs] = await Promise.all([
      all(ctx, `/api/v1/tenants/${ctx.tenantId}/users`),
      all(ctx, `/api/v1/tenants/${ctx.tenantId}/groups`),
      all(ctx, `/api/v1/tenants/${ctx.tenantId}/apps`),
      all(ctx, `/api/v1/tenants/${ctx.tenantId}/environments`),
    ]);
  } catch (answer) {
    container.append(failed(answer));
    return;
  }
  const { params } = ctx;
  if (params.get("user") || params.get("group") || params.get("app")) {
    container.append(h("p", null, h("a", { href: "#/groups" }, t("groups-back"))));
    if (params.get("user")) await userView(container, ctx, params.get("user"));
    else if (params.get("group")) await groupView(container, ctx, params.get("group"), users, alert);
    else await appView(container, ctx, params.get("app"), users, groups, envs, alert);
    return;
  }
  await overview(container, ctx, users, groups, apps, envs, alert);
}

export default {
  id: "groups",
  label: { sv: "Grupper, användare och behörigheter", en: "Groups, users and entitlements" },
  texts,
  render,
};
