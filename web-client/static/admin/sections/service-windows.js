// Service windows: a month calendar (a table, a row per week, each day's windows as text,
// in Stockholm time), the list of every window, and the form that announces one (one-off
// or weekly). The 7-day rule is checked here before sending and the broker's refusal of it
// is shown in the same words; only operators see the emergency choice (the broker refuses
// it to everyone else), and tenant admins see an operator's emergency window without the
// buttons to change or cancel it.

import { actionButton, badge, confirmAction, field, form, h, problemText, table, uid, when } from "../ui.js";
import { getLang, t } from "../i18n.js";
import { addDays, everything, fromStockholm, stockholm, weekdayOf } from "./operations-common.js";

const NOTICE_MS = 7 * 24 * 3600 * 1000;
const DAY_CODES = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];
const P = "service-windows";

const texts = {
  sv: {
    "service-windows-calendar": "Kalender",
    "service-windows-caption": (m) => `Servicefönster i ${m} (svensk tid)`,
    "service-windows-prev": "Föregående månad",
    "service-windows-next": "Nästa månad",
    "service-windows-today": "Denna månad",
    "service-windows-week": "Vecka",
    "service-windows-week-n": (n) => `v. ${n}`,
    "service-windows-today-mark": "idag",
    "service-windows-none-month": "Inga servicefönster den här månaden.",
    "service-windows-show": (title) => `Visa ”${title}” i listan`,
    "service-windows-list": "Alla servicefönster",
    "service-windows-list-caption": "Organisationens servicefönster, tidigast först",
    "service-windows-empty": "Inga servicefönster är inlagda.",
    "service-windows-title": "Rubrik",
    "service-windows-description": "Beskrivning",
    "service-windows-environment": "Miljö",
    "service-windows-when": "När (svensk tid)",
    "service-windows-logoff": "Utloggning",
    "service-windows-logoff-after": (m) => (m === 0 ? "vid start" : `${m} min efter start`),
    "service-windows-type": "Slag",
    "service-windows-emergency": "akut",
    "service-windows-planned": "planerat",
    "service-windows-weekly": (x) => `Varje ${x.days} ${x.start}–${x.end} (${x.minutes} min), från ${x.first}${x.until ? ` till ${x.until}` : ""}`,
    "service-windows-edit": "Ändra",
    "service-windows-cancel": "Ställ in",
    "service-windows-operators-only": "Bara driften kan ändra akuta fönster.",
    "service-windows-cancel-question": (title) => `Ställa in servicefönstret ”${title}”? Det försvinner ur kalendern och från statussidan.`,
    "service-windows-cancelled": (title) => `Servicefönstret ”${title}” är inställt.`,
    "service-windows-created": (title) => `Servicefönstret ”${title}” är inlagt.`,
    "service-windows-changed": (title) => `Servicefönstret ”${title}” är ändrat.`,
    "service-windows-new": "Nytt servicefönster",
    "service-windows-kind": "Slag av servicefönster",
    "service-windows-once": "Ett tillfälle",
    "service-windows-recurring": "Varje vecka",
    "service-windows-start-date": "Startdatum",
    "service-windows-start-time": "Starttid",
    "service-windows-end-date": "Slutdatum",
    "service-windows-end-time": "Sluttid",
    "service-windows-days": "Veckodagar",
    "service-windows-duration": "Längd i minuter",
    "service-windows-first-date": "Första dag",
    "service-windows-until-date": "Sista dag (valfri)",
    "service-windows-logoff-field": "Logga ut användarna så många minuter efter start",
    "service-windows-emergency-field": "Akut fönster (kortare varsel än 7 dagar)",
    "service-windows-emergency-hint": "Bara för akuta åtgärder, till exempel säkerhetsuppdateringar.",
    "service-windows-rule-hint": "Alla tider är svensk tid. Ett servicefönster ska annonseras minst 7 dagar i förväg.",
    "service-windows-save": "Lägg in servicefönstret",
    "service-windows-save-edit": "Spara ändringarna",
    "service-windows-edit-legend": (title) => `Ändra ”${title}”`,
    "service-windows-earliest": (x) => `tidigast ${x}`,
    "problem-service-windows-notice": "Ett servicefönster måste annonseras minst 7 dagar i förväg (regeln om 7 dagars varsel). Välj en senare start; bara driften kan lägga in akuta fönster.",
    "problem-service-windows-emergency": "Bara driften (operatörer) kan lägga in, ändra eller ställa in akuta servicefönster.",
    "service-windows-day-MO": "måndag", "service-windows-day-TU": "tisdag", "service-windows-day-WE": "onsdag",
    "service-windows-day-TH": "torsdag", "service-windows-day-FR": "fredag", "service-windows-day-SA": "lördag",
    "service-windows-day-SU": "söndag",
  },
  en: {
    "service-windows-calendar": "Calendar",
    "service-windows-caption": (m) => `Service windows in ${m} (Swedish time)`,
    "service-windows-prev": "Previous month",
    "service-windows-next": "Next month",
    "service-windows-today": "This month",
    "service-windows-week": "Week",
    "service-windows-week-n": (n) => `wk ${n}`,
    "service-windows-today-mark": "today",
    "service-windows-none-month": "No service windows this month.",
    "service-windows-show": (title) => `Show “${title}” in the list`,
    "service-windows-list": "All service windows",
    "service-windows-list-caption": "The organisation's service windows, earliest first",
    "service-windows-empty": "No service windows have been announced.",
    "service-windows-title": "Title",
    "service-windows-description": "Description",
    "service-windows-environment": "Environment",
    "service-windows-when": "When (Swedish time)",
    "service-windows-logoff": "Logoff",
    "service-windows-logoff-after": (m) => (m === 0 ? "at the start" : `${m} min after the start`),
    "service-windows-type": "Kind",
    "service-windows-emergency": "emergency",
    "service-windows-planned": "planned",
    "service-windows-weekly": (x) => `Every ${x.days} ${x.start}–${x.end} (${x.minutes} min), from ${x.first}${x.until ? ` until ${x.until}` : ""}`,
    "service-windows-edit": "Change",
    "service-windows-cancel": "Cancel window",
    "service-windows-operators-only": "Only operations can change emergency windows.",
    "service-windows-cancel-question": (title) => `Cancel the service window “${title}”? It disappears from the calendar and the status page.`,
    "service-windows-cancelled": (title) => `The service window “${title}” is cancelled.`,
    "service-windows-created": (title) => `The service window “${title}” is announced.`,
    "service-windows-changed": (title) => `The service window “${title}” is changed.`,
    "service-windows-new": "New service window",
    "service-windows-kind": "Kind of service window",
    "service-windows-once": "Once",
    "service-windows-recurring": "Every week",
    "service-windows-start-date": "Start date",
    "service-windows-start-time": "Start time",
    "service-windows-end-date": "End date",
    "service-windows-end-time": "End time",
    "service-windows-days": "Weekdays",
    "service-windows-duration": "Length in minutes",
    "service-windows-first-date": "First day",
    "service-windows-until-date": "Last day (optional)",
    "service-windows-logoff-field": "Log users off this many minutes after the start",
    "service-windows-emergency-field": "Emergency window (less than 7 days' notice)",
    "service-windows-emergency-hint": "Only for urgent work, such as security updates.",
    "service-windows-rule-hint": "All times are Swedish time. A service window is announced at least 7 days ahead.",
    "service-windows-save": "Announce the service window",
    "service-windows-save-edit": "Save the changes",
    "service-windows-edit-legend": (title) => `Change “${title}”`,
    "service-windows-earliest": (x) => `at the earliest ${x}`,
    "problem-service-windows-notice": "A service window must be announced at least 7 days ahead (the 7-day notice rule). Choose a later start; only operations can announce emergency windows.",
    "problem-service-windows-emergency": "Only operations (operators) can announce, change or cancel emergency service windows.",
    "service-windows-day-MO": "Monday", "service-windows-day-TU": "Tuesday", "service-windows-day-WE": "Wednesday",
    "service-windows-day-TH": "Thursday", "service-windows-day-FR": "Friday", "service-windows-day-SA": "Saturday",
    "service-windows-day-SU": "Sunday",
  },
};

function monthName(month, lang) {
  const [y, m] = month.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, 15)).toLocaleString(lang === "en" ? "en-GB" : "sv-SE", { month: "long", year: "numeric", timeZone: "UTC" });
}

function shiftMonth(month, by) {
  const [y, m] = month.split("-").map(Number);
  const d = new Date(Date.UTC(y, m - 1 + by, 1));
  return d.toISOString().slice(0, 7);
}

/** ISO week number of a "YYYY-MM-DD" day. */
function isoWeek(date) {
  const [y, m, d] = date.split("-").map(Number);
  const day = new Date(Date.UTC(y, m - 1, d));
  day.setUTCDate(day.getUTCDate() + 3 - ((day.getUTCDay() + 6) % 7));
  const jan4 = new Date(Date.UTC(day.getUTCFullYear(), 0, 4));
  return 1 + Math.round(((day - jan4) / 86400000 - 3 + ((jan4.getUTCDay() + 6) % 7)) / 7);
}

/** Each day's pieces of windows between `first` and `last` ("YYYY-MM-DD"): a map from day
 * to [{ from, to, window }], Stockholm wall-clock, a window over midnight on both days. */
function byDay(windows, first, last) {
  const days = new Map();
  const add = (w, start, end) => {
    const s = stockholm(start);
    const e = stockholm(end);
    for (let day = s.date; day <= e.date && day <= last; day = addDays(day, 1)) {
      if (day === e.date && e.time === "00:00" && day !== s.date) break;
      if (day < first) continue;
      const piece = { from: day === s.date ? s.time : "00:00", to: day === e.date ? e.time : "24:00", window: w };
      days.set(day, [...(days.get(day) ?? []), piece]);
    }
  };
  for (const w of windows) {
    const r = w.recurrence;
    if (!r) {
      add(w, w.starts_at, w.ends_at);
      continue;
    }
    const weekdays = r.days.map((code) => DAY_CODES.indexOf(code));
    // From the day before `first`: an occurrence then may run past midnight into it.
    for (let day = addDays(first, -1); day <= last; day = addDays(day, 1)) {
      if (day < r.first_date || (r.until_date && day > r.until_date)) continue;
      if (!weekdays.includes(weekdayOf(day))) continue;
      const start = fromStockholm(day, r.start_time);
      add(w, start, new Date(start.getTime() + r.duration_minutes * 60000));
    }
  }
  for (const pieces of days.values()) pieces.sort((a, b) => a.from.localeCompare(b.from));
  return days;
}

function describe(w, envs) {
  const env = envs.get(w.environment_id);
  return env ? `${env.kind}: ${w.title}` : w.title;
}

function whenText(w, lang) {
  const r = w.recurrence;
  if (!r) return `${when(w.starts_at, lang)} – ${when(w.ends_at, lang)}`;
  const end = stockholm(fromStockholm(r.first_date, r.start_time).getTime() + r.duration_minutes * 60000).time;
  const names = r.days.map((code) => t(`${P}-day-${code}`));
  const joined = names.length > 1 ? `${names.slice(0, -1).join(", ")} ${lang === "en" ? "and" : "och"} ${names.at(-1)}` : names[0];
  return t(`${P}-weekly`, { days: joined, start: r.start_time, end, minutes: r.duration_minutes, first: r.first_date, until: r.until_date });
}

/** The first instant the window starts. */
function startOf(w) {
  return new Date(w.starts_at).getTime();
}

/** A form field holding weekday checkboxes; its value is the checked days ("MO,TH"), as
 * `form`/`valuesOf` read any control's `value`. */
function daysField(name) {
  const boxes = DAY_CODES.map((code) => {
    const id = uid(`${name}-${code}`);
    const box = h("input", { type: "checkbox", id, value: code });
    return { box, el: h("span", { class: "day-choice" }, box, h("label", { for: id }, t(`${P}-day-${code}`))) };
  });
  const group = h("fieldset", { class: "field days" }, h("legend", null, t(`${P}-days`)), boxes.map((b) => b.el));
  Object.defineProperty(group, "value", { get: () => boxes.filter((b) => b.box.checked).map((b) => b.box.value).join(",") });
  group.focus = () => boxes[0].box.focus();
  group.required = true;
  const wrapper = h("div", null, group);
  wrapper.control = group;
  wrapper.fieldName = name;
  wrapper.fieldLabel = t(`${P}-days`);
  return wrapper;
}

const SERVER_FIELDS = {
  starts_at: "start_date",
  ends_at: "end_date",
  "recurrence.days": "days",
  "recurrence.start_time": "start_time",
  "recurrence.duration_minutes": "duration_minutes",
  "recurrence.first_date": "first_date",
  "recurrence.until_date": "until_date",
};

/** The broker's refusal in the form's terms: its field names, and the 7-day rule and the
 * emergency refusal as their own problem kinds (Swedish and English sentences above). */
function refusal(answer, startField, lang) {
  if (answer.ok || !answer.body) return answer;
  const errors = (answer.body.errors ?? []).map((e) => ({ ...e, field: SERVER_FIELDS[e.field] ?? e.field }));
  const notice = (answer.body.errors ?? []).some((e) => /7 days/.test(e.reason ?? ""));
  if (answer.status === 422 && notice) return noticeRefusal(startField, lang);
  if (answer.status === 403 && errors.some((e) => e.field === "emergency")) {
    return { ...answer, body: { type: `urn:hamn:problem:${P}-emergency`, errors } };
  }
  return { ...answer, body: { ...answer.body, errors } };
}

function noticeRefusal(startField, lang) {
  return {
    ok: false,
    status: 422,
    body: {
      type: `urn:hamn:problem:${P}-notice`,
      errors: [{ field: startField }],
      detail: t(`${P}-earliest`, when(Date.now() + NOTICE_MS, lang)),
    },
  };
}

async function render(container, ctx) {
  container.classList.add("ops");
  const lang = getLang();
  const operator = ctx.role === "operator";
  let month = /^\d{4}-\d{2}$/.test(ctx.params.get("month") ?? "") ? ctx.params.get("month") : stockholm(Date.now()).date.slice(0, 7);
  let kind = "once";
  let envs = new Map();
  let windows = [];

  const status = h("div");
  const calendar = h("div", { class: "calendar" });
  const list = h("div", { class: "window-list" });
  const editor = h("div");
  const creator = h("div");
  const listHeading = h("h2", { id: uid("sw-list"), tabindex: "-1" }, t(`${P}-list`));

  const focusRow = (id) => {
    const row = list.querySelector(`[data-window="${id}"]`);
    if (row) row.focus();
  };

  const drawCalendar = () => {
    const firstOfMonth = `${month}-01`;
    const lastOfMonth = addDays(`${shiftMonth(month, 1)}-01`, -1);
    const first = addDays(firstOfMonth, -weekdayOf(firstOfMonth));
    const last = addDays(lastOfMonth, 6 - weekdayOf(lastOfMonth));
    const days = byDay(windows, first, last);
    const today = stockholm(Date.now()).date;
    const head = h("tr", null, h("th", { scope: "col" }, t(`${P}-week`)),
      DAY_CODES.map((code) => h("th", { scope: "col" }, t(`${P}-day-${code}`))));
    const rows = [];
    for (let monday = first; monday <= last; monday = addDays(monday, 7)) {
      const cells = [];
      for (let i = 0; i < 7; i += 1) {
        const day = addDays(monday, i);
        const outside = day.slice(0, 7) !== month;
        const label = outside
          ? new Date(`${day}T12:00:00Z`).toLocaleString(lang === "en" ? "en-GB" : "sv-SE", { day: "numeric", month: "short", timeZone: "UTC" })
          : String(Number(day.slice(8)));
        const pieces = days.get(day) ?? [];
        cells.push(h("td", { class: `${outside ? "outside" : ""} ${pieces.length ? "busy" : ""}`, "aria-current": day === today ? "date" : null, dataset: { day } },
          h("span", { class: "day-number" }, label, day === today ? ` (${t(`${P}-today-mark`)})` : ""),
          pieces.length ? h("ul", null, pieces.map((p) => h("li", null,
            h("button", { type: "button", class: "link", title: t(`${P}-show`, p.window.title), onclick: () => focusRow(p.window.id) },
              `${p.from}–${p.to} ${describe(p.window, envs)}`),
            p.window.emergency ? [" ", badge(t(`${P}-emergency`), "warn")] : null))) : null));
      }
      rows.push(h("tr", null, h("th", { scope: "row" }, t(`${P}-week-n`, isoWeek(monday))), cells));
    }
    const inMonth = [...days.entries()].some(([day]) => day.slice(0, 7) === month);
    const nav = (by, text) => actionButton(text, async () => {
      month = by === 0 ? stockholm(Date.now()).date.slice(0, 7) : shiftMonth(month, by);
      drawCalendar();
      ctx.say(monthName(month, lang));
      calendar.querySelector(`[data-nav="${by}"]`)?.focus();
    }, { class: "secondary", dataset: { nav: String(by) } });
    calendar.replaceChildren(
      h("div", { class: "toolbar" }, nav(-1, t(`${P}-prev`)), nav(0, t(`${P}-today`)), nav(1, t(`${P}-next`))),
      h("div", { class: "table-wrap" }, h("table", { class: "month" },
        h("caption", null, t(`${P}-caption`, monthName(month, lang))),
        h("thead", null, head), h("tbody", null, rows))),
      ...(inMonth ? [] : [h("p", { class: "empty" }, t(`${P}-none-month`))]));
  };

  const drawList = () => {
    const sorted = [...windows].sort((a, b) => startOf(a) - startOf(b));
    list.replaceChildren(table({
      caption: t(`${P}-list-caption`),
      empty: t(`${P}-empty`),
      rows: sorted,
      columns: [
        { label: t(`${P}-title`), value: (w) => h("span", { tabindex: "-1", dataset: { window: w.id } }, w.title) },
        { label: t(`${P}-environment`), value: (w) => envs.get(w.environment_id)?.kind ?? "–" },
        { label: t(`${P}-when`), value: (w) => whenText(w, lang) },
        { label: t(`${P}-description`), value: (w) => w.description || "–" },
        { label: t(`${P}-logoff`), value: (w) => t(`${P}-logoff-after`, w.logoff_after_minutes) },
        { label: t(`${P}-type`), value: (w) => (w.emergency ? badge(t(`${P}-emergency`), "warn") : badge(t(`${P}-planned`), "info")) },
        {
          label: t("actions"),
          value: (w) => (w.emergency && !operator
            ? t(`${P}-operators-only`)
            : [
              h("button", { type: "button", class: "secondary", "aria-label": `${t(`${P}-edit`)}: ${w.title}`, onclick: () => edit(w) }, t(`${P}-edit`)),
              actionButton(t(`${P}-cancel`), () => cancel(w), { class: "danger", "aria-label": `${t(`${P}-cancel`)}: ${w.title}` }),
            ]),
        },
      ],
    }));
  };

  const load = async () => {
    const [e, w] = await Promise.all([
      everything(ctx, `/api/v1/tenants/${ctx.tenantId}/environments`),
      everything(ctx, `/api/v1/tenants/${ctx.tenantId}/service-windows`),
    ]);
    if (!e.ok || !w.ok) {
      status.replaceChildren(h("p", { class: "form-error", role: "alert" }, problemText(e.ok ? w.answer : e.answer)));
      return false;
    }
    status.replaceChildren();
    envs = new Map(e.items.map((x) => [x.id, x]));
    windows = w.items;
    drawCalendar();
    drawList();
    drawCreator();
    return true;
  };

  const cancel = async (w) => {
    if (!(await confirmAction(t(`${P}-cancel-question`, w.title), t(`${P}-cancel`)))) return;
    const answer = refusal(await ctx.api("DELETE", `/api/v1/service-windows/${w.id}`), "start_date", lang);
    if (!answer.ok) {
      ctx.say(problemText(answer));
      return;
    }
    editor.replaceChildren();
    await load();
    ctx.say(t(`${P}-cancelled`, w.title));
    listHeading.focus();
  };

  const edit = (w) => {
    const fields = [
      field({ name: "title", label: t(`${P}-title`), value: w.title, required: true, maxlength: 200 }),
      field({ name: "description", label: t(`${P}-description`), type: "textarea", value: w.description, maxlength: 4000 }),
      field({ name: "logoff_after_minutes", label: t(`${P}-logoff-field`), type: "number", min: 0, value: w.logoff_after_minutes }),
    ];
    editor.replaceChildren(form({
      legend: t(`${P}-edit-legend`, w.title),
      fields,
      submit: t(`${P}-save-edit`),
      ctx,
      onSubmit: async (v) => refusal(await ctx.api("PATCH", `/api/v1/service-windows/${w.id}`,
        { title: v.title, description: v.description ?? "", logoff_after_minutes: v.logoff_after_minutes ?? 0 }), "start_date", lang),
      onDone: async (answer) => {
        editor.replaceChildren();
        await load();
        ctx.say(t(`${P}-changed`, answer.body.title));
        focusRow(w.id);
      },
    }));
    fields[0].control.focus();
  };

  const drawCreator = () => {
    const kindField = field({
      name: "kind", label: t(`${P}-kind`), type: "select", value: kind,
      options: [{ value: "once", label: t(`${P}-once`) }, { value: "weekly", label: t(`${P}-recurring`) }],
    });
    kindField.control.addEventListener("change", () => {
      kind = kindField.control.value;
      drawCreator();
      creator.querySelector("select[name=kind]")?.focus();
    });
    const envOptions = [...envs.values()].map((e) => ({ value: e.id, label: `${e.kind} – ${e.name}` }));
    const common = [
      field({ name: "environment_id", label: t(`${P}-environment`), type: "select", options: envOptions, required: true }),
      field({ name: "title", label: t(`${P}-title`), required: true, maxlength: 200 }),
      field({ name: "description", label: t(`${P}-description`), type: "textarea", maxlength: 4000 }),
    ];
    const timing = kind === "once"
      ? [
        field({ name: "start_date", label: t(`${P}-start-date`), type: "date", required: true }),
        field({ name: "start_time", label: t(`${P}-start-time`), type: "time", required: true }),
        field({ name: "end_date", label: t(`${P}-end-date`), type: "date", required: true }),
        field({ name: "end_time", label: t(`${P}-end-time`), type: "time", required: true }),
      ]
      : [
        daysField("days"),
        field({ name: "start_time", label: t(`${P}-start-time`), type: "time", required: true }),
        field({ name: "duration_minutes", label: t(`${P}-duration`), type: "number", min: 1, max: 1440, required: true }),
        field({ name: "first_date", label: t(`${P}-first-date`), type: "date", required: true }),
        field({ name: "until_date", label: t(`${P}-until-date`), type: "date" }),
      ];
    const rest = [
      field({ name: "logoff_after_minutes", label: t(`${P}-logoff-field`), type: "number", min: 0, value: 0 }),
      operator ? field({ name: "emergency", label: t(`${P}-emergency-field`), type: "checkbox", hint: t(`${P}-emergency-hint`) }) : null,
    ].filter(Boolean);
    const startField = kind === "once" ? "start_date" : "first_date";
    creator.replaceChildren(
      h("p", { class: "hint" }, t(`${P}-rule-hint`)),
      kindField,
      form({
        legend: t(`${P}-new`),
        fields: [...common, ...timing, ...rest],
        submit: t(`${P}-save`),
        ctx,
        onSubmit: async (v) => {
          const emergency = Boolean(v.emergency);
          let body;
          let start;
          if (kind === "once") {
            start = fromStockholm(v.start_date, v.start_time);
            body = { starts_at: start.toISOString(), ends_at: fromStockholm(v.end_date, v.end_time).toISOString() };
          } else {
            const days = (v.days ?? "").split(",").filter(Boolean);
            let firstDay = v.first_date;
            for (let i = 0; i < 7 && days.length && !days.includes(DAY_CODES[weekdayOf(firstDay)]); i += 1) firstDay = addDays(firstDay, 1);
            start = fromStockholm(firstDay, v.start_time);
            body = { recurrence: { days, start_time: v.start_time, duration_minutes: v.duration_minutes, first_date: v.first_date, until_date: v.until_date ?? undefined } };
          }
          if (!emergency && start.getTime() < Date.now() + NOTICE_MS) return noticeRefusal(startField, lang);
          const answer = await ctx.api("POST", `/api/v1/environments/${v.environment_id}/service-windows`, {
            ...body, title: v.title, description: v.description ?? "", logoff_after_minutes: v.logoff_after_minutes ?? 0, emergency,
          });
          return refusal(answer, startField, lang);
        },
        onDone: async (answer) => {
          await load();
          ctx.say(t(`${P}-created`, answer.body.title));
          focusRow(answer.body.id);
        },
      }));
  };

  container.replaceChildren(
    status,
    h("h2", null, t(`${P}-calendar`)), calendar,
    listHeading, list, editor,
    h("h2", null, t(`${P}-new`)), creator);
  await load();
}

export default { id: P, label: { sv: "Servicefönster", en: "Service windows" }, texts, render };
