// The admin console's building blocks: elements, tables, forms, confirmation dialogs,
// paging, times and downloads. Sections build their views only from these, so every view
// has captions, labels, visible focus and the same refusal wording; no HTML strings are
// ever parsed (no innerHTML), so nothing the API returns can become markup.

import { t } from "./i18n.js";

/** An element: `h("button", { class: "x", type: "button", onclick: fn }, "text", child)`.
 * `text` sets textContent, `dataset` an object of data-*, `on*` functions listeners; other
 * keys become attributes (false/null/undefined are left out, true is an empty attribute). */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") el.textContent = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "value" && "value" in el) el.value = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

let unique = 0;
/** An id no other element of the page has. */
export function uid(prefix = "f") {
  unique += 1;
  return `${prefix}-${unique}`;
}

/** A data table. `columns`: [{ label, value(row) → string | Node, class? }]; the first
 * column's cells are row headers. An empty list shows `empty` (or "Inget att visa.")
 * instead of an empty table. */
export function table({ caption, columns, rows, empty }) {
  if (!rows || rows.length === 0) return h("p", { class: "empty" }, empty ?? t("empty"));
  const head = h("tr", null, columns.map((c) => h("th", { scope: "col", class: c.class }, c.label)));
  const body = rows.map((row) => h("tr", null, columns.map((c, i) => {
    const cell = c.value(row);
    return i === 0 ? h("th", { scope: "row", class: c.class }, cell ?? "") : h("td", { class: c.class }, cell ?? "");
  })));
  return h("div", { class: "table-wrap" },
    h("table", null, h("caption", null, caption), h("thead", null, head), h("tbody", null, body)));
}

/** A form field with its label (and hint). `type`: text (default), number, email,
 * datetime-local, date, time, textarea, select (`options`: [{value, label}]), checkbox.
 * Returns the wrapper; the control is `wrapper.control`. */
export function field({ name, label, type = "text", value, required, options, hint, min, max, maxlength, autocomplete }) {
  const id = uid(name);
  const hintId = hint ? `${id}-hint` : null;
  let control;
  if (type === "textarea") {
    control = h("textarea", { id, name, required, maxlength, "aria-describedby": hintId, rows: 3 });
    control.value = value ?? "";
  } else if (type === "select") {
    control = h("select", { id, name, required, "aria-describedby": hintId },
      (options ?? []).map((o) => h("option", { value: o.value, selected: String(o.value) === String(value ?? "") }, o.label)));
  } else if (type === "checkbox") {
    control = h("input", { id, name, type, "aria-describedby": hintId });
    control.checked = Boolean(value);
  } else {
    control = h("input", { id, name, type, required, min, max, maxlength, autocomplete, "aria-describedby": hintId });
    if (value !== undefined && value !== null) control.value = value;
  }
  const wrapper = type === "checkbox"
    ? h("div", { class: "field check" }, control, h("label", { for: id }, label), hint ? h("p", { id: hintId, class: "hint" }, hint) : null)
    : h("div", { class: "field" }, h("label", { for: id }, label), hint ? h("p", { id: hintId, class: "hint" }, hint) : null, control);
  wrapper.control = control;
  wrapper.fieldName = name;
  wrapper.fieldLabel = label;
  return wrapper;
}

/** A form of `fields` (from `field`). `onSubmit(values)` returns the API answer; a refusal
 * is shown in the form's own alert and the fields the problem names are marked invalid and
 * focused; success calls `onDone(answer)`. Values: checkboxes as booleans, numbers as
 * numbers, empty strings as null. */
export function form({ legend, fields, submit, onSubmit, onDone, ctx, className }) {
  const error = h("p", { class: "form-error", role: "alert", hidden: true });
  const button = h("button", { type: "submit" }, submit);
  const el = h("form", { class: `admin-form ${className ?? ""}`, novalidate: true },
    h("fieldset", null, h("legend", null, legend), fields, error, h("div", { class: "form-actions" }, button)));
  el.addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const f of fields) f.control.removeAttribute("aria-invalid");
    error.hidden = true;
    const missing = fields.find((f) => f.control.required && String(f.control.value).trim() === "");
    if (missing) {
      showError(error, t("check-field", missing.fieldLabel), [missing]);
      return;
    }
    button.disabled = true;
    try {
      const answer = await onSubmit(valuesOf(fields));
      if (answer?.ok) {
        ctx?.say(t("saved"));
        onDone?.(answer);
      } else {
        const named = fields.filter((f) => (answer?.body?.errors ?? []).some((e) => e.field === f.fieldName));
        showError(error, problemText(answer, named.map((f) => f.fieldLabel)), named);
      }
    } finally {
      button.disabled = false;
    }
  });
  return el;
}

function showError(error, message, invalid) {
  error.textContent = message;
  error.hidden = false;
  for (const f of invalid) f.control.setAttribute("aria-invalid", "true");
  (invalid[0]?.control ?? error).focus?.();
}

/** A form's values by field name. */
export function valuesOf(fields) {
  const values = {};
  for (const f of fields) {
    const c = f.control;
    if (c.type === "checkbox") values[f.fieldName] = c.checked;
    else if (c.type === "number") values[f.fieldName] = c.value === "" ? null : Number(c.value);
    else values[f.fieldName] = c.value.trim() === "" ? null : c.value.trim();
  }
  return values;
}

/** Why an API call was refused, in the console's language: a sentence by problem kind
 * (`problem-<kind>` texts, sections may add their own), the named fields, and the server's
 * own detail (the admin API writes it in English) for the specifics. */
export function problemText(answer, fieldLabels = []) {
  if (!answer || answer.status === 0) return t("network-error");
  const kind = String(answer.body?.type ?? "").replace("urn:hamn:problem:", "");
  const byStatus = { 400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "not-found", 409: "conflict", 422: "validation", 429: "rate-limited", 503: "unavailable" };
  const key = `problem-${kind || byStatus[answer.status] || (answer.status >= 500 ? "internal" : "other")}`;
  let sentence = t(key, answer.body?.retry_after);
  if (sentence === key) sentence = t("problem-other");
  const fields = fieldLabels.map((name) => t("check-field", name)).join(" ");
  const detail = answer.body?.detail ? ` (${answer.body.detail})` : "";
  return `${sentence} ${fields}${detail}`.replace(/\s+/g, " ").trim();
}

/** Asks before a consequential action with a modal <dialog>; resolves true on confirm.
 * Escape and "Avbryt" cancel; focus returns to where it was. */
export function confirmAction(question, confirmLabel) {
  return new Promise((resolve) => {
    const before = document.activeElement;
    const titleId = uid("confirm");
    const dialog = h("dialog", { class: "confirm", "aria-labelledby": titleId },
      h("p", { id: titleId }, question),
      h("div", { class: "form-actions" },
        h("button", { type: "button", class: "secondary", onclick: () => dialog.close("no") }, t("cancel")),
        h("button", { type: "button", class: "danger", onclick: () => dialog.close("yes") }, confirmLabel ?? t("confirm"))));
    dialog.addEventListener("close", () => {
      dialog.remove();
      before?.focus?.();
      resolve(dialog.returnValue === "yes");
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** Paging over the admin API's cursor pages: `load(cursor)` returns the answer of a
 * `GET …?cursor=` call; renders each page with `show(items)` into `into` and offers
 * "Nästa sida" while the API names a `next_cursor`. */
export async function paged(into, load, show, ctx) {
  const cursors = [null];
  const go = async (index) => {
    const answer = await load(cursors[index]);
    if (!answer.ok) {
      into.replaceChildren(h("p", { class: "form-error", role: "alert" }, problemText(answer)));
      return;
    }
    const items = answer.body?.items ?? [];
    const next = answer.body?.next_cursor ?? null;
    if (next && cursors.length === index + 1) cursors.push(next);
    const nav = h("div", { class: "pager" },
      index > 0 ? h("button", { type: "button", class: "secondary", onclick: () => go(0) }, t("first")) : null,
      next ? h("button", { type: "button", class: "secondary", onclick: () => go(index + 1) }, t("next")) : null);
    into.replaceChildren(show(items), nav);
    if (index > 0) ctx?.say?.("");
  };
  await go(0);
}

/** A time for people, in the console's language (ISO string or unix milliseconds). */
export function when(value, lang) {
  if (value === null || value === undefined || value === "") return "–";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return date.toLocaleString(lang === "en" ? "en-GB" : "sv-SE",
    { dateStyle: "short", timeStyle: "short", timeZone: "Europe/Stockholm" });
}

/** Saves text as a file (CSV or JSON lines exports) without leaving the page. */
export function download(filename, type, text) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = h("a", { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/** A status word with a shape and text, never colour alone: `kind` ok | warn | bad | info. */
export function badge(text, kind = "info") {
  const marks = { ok: "✓", warn: "!", bad: "✕", info: "•" };
  return h("span", { class: `badge badge-${kind}` }, h("span", { "aria-hidden": "true" }, `${marks[kind] ?? "•"} `), text);
}

/** A button that runs `action` and is disabled while it runs. */
export function actionButton(text, action, props) {
  const button = h("button", { type: "button", ...props }, text);
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await action();
    } finally {
      button.disabled = false;
    }
  });
  return button;
}
