// The access review: who may launch which app, directly or through which group, role,
// last login and unused accounts; the API's CSV as a download; a user's access revoked in
// one step (direct entitlements, group memberships, assigned role, web sessions) after a
// confirmation. Reading the review is audited by the broker, as every export.

import { actionButton, badge, confirmAction, download, field, h, problemText, table, when } from "../ui.js";
import { getLang, t } from "../i18n.js";
import { getFile, query } from "./operations-common.js";

const P = "access-review";

const texts = {
  sv: {
    "access-review-filters": "Urval",
    "access-review-unused-days": "Bara konton som inte använts på så här många dagar",
    "access-review-unused-hint": "Lämna tomt för alla konton (oanvänt betyder då 30 dagar).",
    "access-review-show": "Visa",
    "access-review-csv": "Ladda ner som CSV",
    "access-review-downloaded": (name) => `${name} är nedladdad.`,
    "access-review-caption": (x) => `Behörigheter i ${x.tenant}, ${x.count} konton, hämtade ${x.at}`,
    "access-review-empty": "Inga konton matchar urvalet.",
    "access-review-user": "Användare",
    "access-review-role": "Roll",
    "access-review-role-user": "användare",
    "access-review-role-tenant_admin": "organisationsadministratör",
    "access-review-role-operator": "driftoperatör",
    "access-review-groups": "Grupper",
    "access-review-last-login": "Senaste inloggning",
    "access-review-never": "aldrig",
    "access-review-use": "Används",
    "access-review-unused": "oanvänt",
    "access-review-used": "i bruk",
    "access-review-access": "Åtkomst",
    "access-review-none": "ingen",
    "access-review-direct": "direkt",
    "access-review-via": (g) => `via gruppen ${g}`,
    "access-review-disabled": "avstängd",
    "access-review-revoke": "Ta bort åtkomst",
    "access-review-revoke-question": (who) => `Ta bort all åtkomst för ${who}? Direkta behörigheter, gruppmedlemskap och tilldelad roll tas bort och pågående inloggningar avslutas. Kontot finns kvar.`,
    "access-review-revoked": (x) => `Åtkomsten för ${x.who} är borttagen: ${x.direct} direkta behörigheter, ${x.groups} gruppmedlemskap, ${x.sessions} inloggningar${x.role ? `, rollen ${x.role}` : ""}.`,
  },
  en: {
    "access-review-filters": "Filters",
    "access-review-unused-days": "Only accounts unused for this many days",
    "access-review-unused-hint": "Leave empty for every account (unused then means 30 days).",
    "access-review-show": "Show",
    "access-review-csv": "Download as CSV",
    "access-review-downloaded": (name) => `${name} is downloaded.`,
    "access-review-caption": (x) => `Access in ${x.tenant}, ${x.count} accounts, read ${x.at}`,
    "access-review-empty": "No accounts match the filter.",
    "access-review-user": "User",
    "access-review-role": "Role",
    "access-review-role-user": "user",
    "access-review-role-tenant_admin": "organisation administrator",
    "access-review-role-operator": "operator",
    "access-review-groups": "Groups",
    "access-review-last-login": "Last login",
    "access-review-never": "never",
    "access-review-use": "In use",
    "access-review-unused": "unused",
    "access-review-used": "in use",
    "access-review-access": "Access",
    "access-review-none": "none",
    "access-review-direct": "direct",
    "access-review-via": (g) => `through the group ${g}`,
    "access-review-disabled": "disabled",
    "access-review-revoke": "Revoke access",
    "access-review-revoke-question": (who) => `Revoke all access of ${who}? Direct entitlements, group memberships and the assigned role are removed and live logins end. The account stays.`,
    "access-review-revoked": (x) => `Access of ${x.who} is revoked: ${x.direct} direct entitlements, ${x.groups} group memberships, ${x.sessions} logins${x.role ? `, the role ${x.role}` : ""}.`,
  },
};

async function render(container, ctx) {
  container.classList.add("ops");
  const lang = getLang();
  const unusedField = field({
    name: "unused_days", label: t(`${P}-unused-days`), type: "number", min: 1, max: 3650,
    value: ctx.params.get("unused_days") ?? "", hint: t(`${P}-unused-hint`),
  });
  const results = h("div");
  const unusedDays = () => unusedField.control.value.trim();

  const draw = async () => {
    const answer = await ctx.api("GET", `/api/v1/tenants/${ctx.tenantId}/access-review${query({ unused_days: unusedDays() })}`);
    if (!answer.ok) {
      results.replaceChildren(h("p", { class: "form-error", role: "alert" }, problemText(answer, [t(`${P}-unused-days`)])));
      return;
    }
    const review = answer.body;
    results.replaceChildren(table({
      caption: t(`${P}-caption`, { tenant: ctx.tenant?.name ?? review.tenant_slug, count: review.users.length, at: when(review.generated_at, lang) }),
      empty: t(`${P}-empty`),
      rows: review.users,
      columns: [
        { label: t(`${P}-user`), value: (u) => `${u.display_name} (${u.name_id})` },
        { label: t(`${P}-role`), value: (u) => t(`${P}-role-${u.role}`) },
        { label: t(`${P}-groups`), value: (u) => (u.groups.length ? u.groups.join(", ") : "–") },
        { label: t(`${P}-last-login`), value: (u) => (u.last_login_at ? when(u.last_login_at, lang) : t(`${P}-never`)) },
        { label: t(`${P}-use`), value: (u) => (u.unused ? badge(t(`${P}-unused`), "warn") : badge(t(`${P}-used`), "ok")) },
        {
          label: t(`${P}-access`),
          value: (u) => (u.access.length === 0
            ? t(`${P}-none`)
            : h("ul", { class: "plain" }, u.access.map((a) => h("li", null,
              `${a.app_name} (${a.environment}) – ${a.via === "group" ? t(`${P}-via`, a.group_name) : t(`${P}-direct`)}`,
              a.app_enabled ? null : [" ", badge(t(`${P}-disabled`), "bad")])))),
        },
        {
          label: t("actions"),
          value: (u) => actionButton(t(`${P}-revoke`), async () => {
            const who = `${u.display_name} (${u.name_id})`;
            if (!(await confirmAction(t(`${P}-revoke-question`, who), t(`${P}-revoke`)))) return;
            const done = await ctx.api("POST", `/api/v1/tenants/${ctx.tenantId}/access-review/revoke`, { user_id: u.user_id });
            if (!done.ok) {
              ctx.say(problemText(done));
              return;
            }
            await draw();
            ctx.say(t(`${P}-revoked`, {
              who,
              direct: done.body.direct_entitlements,
              groups: done.body.group_memberships,
              sessions: done.body.web_sessions,
              role: done.body.role_removed ? t(`${P}-role-${done.body.role_removed}`) : null,
            }));
            results.querySelector("caption")?.setAttribute("tabindex", "-1");
            results.querySelector("caption")?.focus();
          }, { class: "danger", "aria-label": `${t(`${P}-revoke`)}: ${u.display_name}` }),
        },
      ],
    }));
  };

  const filterForm = h("form", { class: "toolbar", role: "search", "aria-label": t(`${P}-filters`) },
    unusedField, h("button", { type: "submit" }, t(`${P}-show`)),
    actionButton(t(`${P}-csv`), async () => {
      const file = await getFile(`/api/v1/tenants/${ctx.tenantId}/access-review${query({ format: "csv", unused_days: unusedDays() })}`, lang, "text/csv");
      if (!file.ok) {
        ctx.say(problemText(file, [t(`${P}-unused-days`)]));
        return;
      }
      const name = file.filename ?? "access-review.csv";
      download(name, "text/csv", file.text);
      ctx.say(t(`${P}-downloaded`, name));
    }, { class: "secondary" }));
  filterForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    await draw();
    results.querySelector("caption, .form-error, .empty")?.setAttribute("tabindex", "-1");
    results.querySelector("caption, .form-error, .empty")?.focus();
  });
  container.replaceChildren(h("h2", null, t(`${P}-filters`)), filterForm, results);
  await draw();
}

export default { id: P, label: { sv: "Behörighetsgranskning", en: "Access review" }, texts, render };
