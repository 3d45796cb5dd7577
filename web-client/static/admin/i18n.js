// The admin console's words in Swedish and English. Each section brings its own texts
// (`texts` of its module), merged here under its id; `t` falls back from English to Swedish
// to the key itself, so a missing translation shows rather than breaks.

const TEXTS = {
  sv: {
    skip: "Hoppa till innehållet",
    console: "administration",
    tenant: "Organisation",
    "to-portal": "Till portalen",
    logout: "Logga ut",
    toggle: "In English",
    "nav-sections": "Administration",
    loading: "Hämtar …",
    "all-tenants": "Alla organisationer",
    "not-logged-in": "Du är inte inloggad. Logga in i portalen först.",
    "not-admin": "Ditt konto har inte behörighet till administrationen. Kontakta din systemförvaltare.",
    "network-error": "Tjänsten kunde inte nås. Kontrollera anslutningen och försök igen.",
    "no-such-section": "Den sidan finns inte i administrationen.",
    "role-operator": "driftoperatör",
    "role-tenant_admin": "organisationsadministratör",
    empty: "Inget att visa.",
    saved: "Sparat.",
    cancel: "Avbryt",
    confirm: "Bekräfta",
    close: "Stäng",
    next: "Nästa sida",
    first: "Första sidan",
    actions: "Åtgärder",
    yes: "Ja",
    no: "Nej",
    "problem-bad-request": "Uppgifterna kunde inte läsas.",
    "problem-validation": "Uppgifterna godtogs inte.",
    "problem-not-found": "Det finns inte (längre), eller så har du inte behörighet till det.",
    "problem-forbidden": "Du har inte behörighet till det här.",
    "problem-unauthorized": "Du är inte inloggad längre. Logga in igen.",
    "problem-conflict": "Det krockar med något som redan finns.",
    "problem-rate-limited": (s) => `För många förfrågningar just nu. Försök igen om ${s ?? "en stund"} sekunder.`,
    "problem-unavailable": "Tjänsten är inte tillgänglig just nu. Försök igen om en stund.",
    "problem-internal": "Något gick fel hos tjänsten. Försök igen; kontakta driften om felet finns kvar.",
    "problem-other": "Det gick inte.",
    "check-field": (name) => `Kontrollera fältet ”${name}”.`,
  },
  en: {
    skip: "Skip to content",
    console: "administration",
    tenant: "Organisation",
    "to-portal": "To the portal",
    logout: "Log out",
    toggle: "På svenska",
    "nav-sections": "Administration",
    loading: "Loading …",
    "all-tenants": "All organisations",
    "not-logged-in": "You are not logged in. Log in to the portal first.",
    "not-admin": "Your account may not use the administration. Contact your system administrator.",
    "network-error": "The service could not be reached. Check the connection and try again.",
    "no-such-section": "There is no such page in the administration.",
    "role-operator": "operator",
    "role-tenant_admin": "organisation administrator",
    empty: "Nothing to show.",
    saved: "Saved.",
    cancel: "Cancel",
    confirm: "Confirm",
    close: "Close",
    next: "Next page",
    first: "First page",
    actions: "Actions",
    yes: "Yes",
    no: "No",
    "problem-bad-request": "The request could not be read.",
    "problem-validation": "The values were not accepted.",
    "problem-not-found": "It does not exist (any more), or you may not see it.",
    "problem-forbidden": "You may not do this.",
    "problem-unauthorized": "You are no longer logged in. Log in again.",
    "problem-conflict": "It clashes with something that already exists.",
    "problem-rate-limited": (s) => `Too many requests just now. Try again in ${s ?? "a few"} seconds.`,
    "problem-unavailable": "The service is unavailable just now. Try again in a while.",
    "problem-internal": "Something went wrong in the service. Try again; contact operations if it persists.",
    "problem-other": "That did not work.",
    "check-field": (name) => `Check the field “${name}”.`,
  },
};

let lang = "sv";

export function getLang() {
  return lang;
}

export function setLang(value) {
  lang = value === "en" ? "en" : "sv";
  document.documentElement.lang = lang;
}

/** Adds a section's texts: `{ sv: {key: text}, en: {key: text} }`; keys are global, so
 * sections prefix theirs with their id ("hosts-drain"). */
export function addTexts(texts) {
  for (const code of ["sv", "en"]) Object.assign(TEXTS[code], texts?.[code] ?? {});
}

/** The text for `key` in the current language; functions are called with `arg`. */
export function t(key, arg) {
  const value = TEXTS[lang][key] ?? TEXTS.sv[key] ?? key;
  return typeof value === "function" ? value(arg) : value;
}

/** A section label `{sv, en}` in the current language. */
export function label(pair) {
  return pair?.[lang] ?? pair?.sv ?? "";
}
