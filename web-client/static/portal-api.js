// The portal API client: JSON in and out, same-origin credentials, the chosen language in
// Accept-Language, and refusals (problem+json) turned into the message the server wrote
// for the user. Never throws: a network failure is { ok: false, status: 0 }.
//
// State changes carry the session's CSRF token in X-CSRF-Token: the gateway hands it out
// with the user (GET /portal/api/me and the login answer) and refuses a logged-in POST,
// PUT, PATCH or DELETE without it. It is kept in memory only, never in storage.

let csrfToken = null;

export function csrf() {
  return csrfToken;
}

export async function api(method, path, lang, body) {
  const headers = { "Accept": "application/json", "Accept-Language": lang };
  const init = { method, headers, credentials: "same-origin", cache: "no-store" };
  const changes = method !== "GET" && method !== "HEAD";
  if (changes) {
    // JSON plus the browser's Origin header is what the gateway's CSRF layer requires.
    headers["Content-Type"] = "application/json";
    if (csrfToken) headers["X-CSRF-Token"] = csrfToken;
  }
  if (body !== undefined) init.body = JSON.stringify(body);
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    return { ok: false, status: 0, message: null, body: null };
  }
  let parsed = null;
  if ((response.headers.get("content-type") ?? "").includes("json")) {
    try {
      parsed = await response.json();
    } catch {
      parsed = null;
    }
  }
  if (response.ok && typeof parsed?.csrf_token === "string") csrfToken = parsed.csrf_token;
  if (response.status === 401 || (changes && path === "/portal/api/logout" && response.ok)) {
    csrfToken = null;
  }
  const message = !response.ok && typeof parsed?.detail === "string" ? parsed.detail : null;
  return { ok: response.ok, status: response.status, message, body: parsed };
}

/** GET /portal/api/prints: the user's print jobs, newest first; `null` when the list could
 * not be fetched (network, 5xx), with the answer for its status. */
export async function prints(lang) {
  const answer = await api("GET", "/portal/api/prints", lang);
  const jobs = answer.ok && Array.isArray(answer.body?.jobs) ? answer.body.jobs : null;
  return { ...answer, jobs };
}

// A state change whose answer is a file (an .rdp file for the native client): the same
// headers as api(), the body as a Blob when it worked, the refusal's message when not.
export async function download(path, lang, body) {
  const headers = {
    "Accept": "application/x-rdp, application/problem+json",
    "Accept-Language": lang,
    "Content-Type": "application/json",
  };
  if (csrfToken) headers["X-CSRF-Token"] = csrfToken;
  let response;
  try {
    response = await fetch(path, {
      method: "POST", headers, credentials: "same-origin", cache: "no-store",
      body: JSON.stringify(body ?? {}),
    });
  } catch {
    return { ok: false, status: 0, message: null, blob: null };
  }
  if (response.status === 401) csrfToken = null;
  if (response.ok) {
    try {
      return { ok: true, status: response.status, message: null, blob: await response.blob() };
    } catch {
      return { ok: false, status: 0, message: null, blob: null };
    }
  }
  let message = null;
  try {
    const parsed = await response.json();
    if (typeof parsed?.detail === "string") message = parsed.detail;
  } catch {
    message = null;
  }
  return { ok: false, status: response.status, message, blob: null };
}
