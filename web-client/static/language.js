// The user's language, shared by portal, admin console and viewer: Swedish unless English
// was chosen. The choice is remembered in this browser (localStorage) and, once logged in,
// for the user (PUT /portal/api/me/language), so it follows them to another browser; the
// server's value (`language` in GET /portal/api/me) wins when there is one.

const KEY = "hamn.lang";

/** The language to start in, before the server has answered. */
export function storedLang() {
  return localStorage.getItem(KEY) === "en" ? "en" : "sv";
}

/** The language for a logged-in user: theirs when the server knows it, else this browser's. */
export function langOf(me) {
  const chosen = me?.language;
  if (chosen === "en" || chosen === "sv") {
    localStorage.setItem(KEY, chosen);
    return chosen;
  }
  return storedLang();
}

/** Remembers a switch here and, when `loggedIn`, for the user; never fails loudly: the
 * switch itself already happened on the page. `api` is portal-api.js's. */
export async function rememberLang(lang, api, loggedIn) {
  localStorage.setItem(KEY, lang);
  if (loggedIn) await api("PUT", "/portal/api/me/language", lang, { language: lang });
}
