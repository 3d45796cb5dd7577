// What the set-up sections (configuration.js) share: whole lists from the admin API, the
// PROD/UTB mark (text and shape, never colour alone), the section's refusal line, and
// the texts these need. Built only from ui.js and i18n.js.

import { h, problemText } from "../ui.js";
import { addTexts, t } from "../i18n.js";

const texts = {
  sv: {
    "config-env-PROD": "PROD – skarp drift",
    "config-env-UTB": "UTB – utbildning och test",
    "config-env-PROD-short": "PROD",
    "config-env-UTB-short": "UTB",
    "config-load-failed": "Uppgifterna kunde inte hämtas.",
    "config-none": "–",
  },
  en: {
    "config-env-PROD": "PROD – live",
    "config-env-UTB": "UTB – training and testing",
    "config-env-PROD-short": "PROD",
    "config-env-UTB-short": "UTB",
    "config-load-failed": "The data could not be fetched.",
    "config-none": "–",
  },
};

addTexts(texts);

/** Every item of a listing (`path` without query or with one), up to 500: the admin
 * console shows one tenant's set-up, which is far smaller. Throws the answer on refusal. */
export async function all(ctx, path) {
  const sep = path.includes("?") ? "&" : "?";
  const answer = await ctx.api("GET", `${path}${sep}limit=500`);
  if (!answer.ok) throw answer;
  return answer.body?.items ?? [];
}

/** The environment mark: PROD a solid square, UTB a hatched one with a dashed frame, and
 * the words, so the two never differ by colour alone. `short`: the kind only. */
export function envTag(kind, short = false) {
  const utb = kind === "UTB";
  return h("span", { class: `env-tag ${utb ? "env-tag-utb" : "env-tag-prod"}` },
    h("span", { "aria-hidden": "true" }, utb ? "▨ " : "■ "),
    t(`config-env-${utb ? "UTB" : "PROD"}${short ? "-short" : ""}`));
}

/** A line for a refusal or failure; `show(answer)` fills it (and announces it), `clear()`
 * empties it. Sections put it at their top so every action reports in the same place. */
export function alertLine() {
  const el = h("p", { class: "form-error", role: "alert", hidden: true, tabindex: "-1" });
  el.show = (answer, words) => {
    el.textContent = words ?? problemText(answer);
    el.hidden = false;
  };
  el.clear = () => {
    el.textContent = "";
    el.hidden = true;
  };
  return el;
}

/** A failed load in words, for a section that cannot show anything else. */
export function failed(answer) {
  return h("p", { class: "form-error", role: "alert" },
    answer?.status ? problemText(answer) : t("config-load-failed"));
}

/** A term–description list from `[label, value]` pairs (value: text or node). */
export function facts(pairs) {
  return h("dl", { class: "facts" }, pairs.flatMap(([term, value]) =>
    [h("dt", null, term), h("dd", null, value ?? t("config-none"))]));
}

/** A disclosure holding a form: closed until asked for, so long pages stay readable. */
export function opener(summary, content, open = false) {
  return h("details", { class: "opener", open }, h("summary", null, summary), content);
}
