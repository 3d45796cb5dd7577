// The portal API client: JSON in and out, same-origin credentials, the chosen language in
// Accept-Language, and refusals (problem+json) turned into the message the server wrote
// for the user. Never throws: a network failure is { ok: false, status: 0 }.

export async function api(method, path, lang, body) {
  const headers = { "Accept": "application/json", "Accept-Language": lang };
  const init = { method, headers, credentials: "same-origin", cache: "no-store" };
  if (body !== undefined) {
    // JSON plus the browser's Origin header is what the gateway's CSRF guard requires.
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
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
  const message = !response.ok && typeof parsed?.detail === "string" ? parsed.detail : null;
  return { ok: response.ok, status: response.status, message, body: parsed };
}
