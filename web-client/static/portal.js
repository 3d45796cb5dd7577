// Portal bootstrap: language switch (Swedish default, English remembered) and a live
// readiness line so a user sees at once whether the service answers.

const TEXTS = {
  en: {
    welcome: "Welcome to Hamn",
    intro: "Reach Procapita and other line-of-business applications hosted in the " +
      "municipalities' shared environment – in your browser or with your remote desktop client.",
    "login-soon": "Sign-in with e-ID and SITHS cards opens here. Contact your system " +
      "administrator if you need access.",
    "status-heading": "Service status",
    "status-checking": "Checking the service …",
    "status-ok": "The service is in operation.",
    "status-down": "The service is not ready right now. Try again in a while.",
    footer: "Hamn – secure access to remote applications.",
    toggle: "På svenska",
  },
  sv: {
    "status-ok": "Tjänsten är i drift.",
    "status-down": "Tjänsten är inte redo just nu. Försök igen om en stund.",
    toggle: "In English",
  },
};

const swedish = new Map();
for (const el of document.querySelectorAll("[data-i18n]")) {
  swedish.set(el.dataset.i18n, el.textContent);
}

function text(lang, key) {
  return TEXTS[lang]?.[key] ?? (lang === "sv" ? swedish.get(key) : undefined) ?? swedish.get(key) ?? key;
}

function apply(lang) {
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll("[data-i18n]")) {
    el.textContent = text(lang, el.dataset.i18n);
  }
  const toggle = document.getElementById("lang-toggle");
  const other = lang === "sv" ? "en" : "sv";
  toggle.textContent = text(lang, "toggle");
  toggle.lang = other;
  toggle.dataset.lang = other;
}

let lang = localStorage.getItem("hamn.lang") === "en" ? "en" : "sv";
let statusKey = "status-checking";

function render() {
  apply(lang);
  const status = document.getElementById("status-text");
  status.dataset.i18n = statusKey;
  status.textContent = text(lang, statusKey);
  status.className = statusKey === "status-ok" ? "ok" : statusKey === "status-down" ? "warn" : "";
}

document.getElementById("lang-toggle").addEventListener("click", (event) => {
  lang = event.currentTarget.dataset.lang === "en" ? "en" : "sv";
  localStorage.setItem("hamn.lang", lang);
  render();
});

async function checkReady() {
  try {
    const response = await fetch("/readyz", { cache: "no-store" });
    statusKey = response.ok ? "status-ok" : "status-down";
  } catch {
    statusKey = "status-down";
  }
  render();
}

render();
checkReady();
