//! Public status routes, no login. `GET /status`: the status page, server-rendered without
//! script, Swedish or English (`?lang=`, else `Accept-Language`): each environment's state
//! now (in operation, disturbance, service window in progress; from host health, incidents
//! and windows, [`hamn_broker::status`]), open and recently resolved incidents with their
//! updates, the service windows of the next 60 days, availability over 30 and 90 days as
//! the gateway nodes' probes measured it, and the calendars to subscribe to. The
//! service-window calendars are iCal feeds (RFC 5545): `GET /status/calendar.ics` lists
//! every environment's windows; `GET /status/{tenant}/{env}/calendar.ics` one environment's
//! (tenant slug, `PROD` or `UTB` in any case). Only GET (and HEAD) are routed; other
//! methods get 405.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hamn_broker::model::{EnvironmentKind, Incident, IncidentSeverity, IncidentState};
use hamn_broker::service_windows::{FeedScope, Upcoming, feed, tz, upcoming};
use hamn_broker::status::{Availability, EnvironmentState, EnvironmentStatus, overview};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::portal::{Lang, PageLang, PortalState};

/// The status routes, merged into the portal's router.
pub fn routes() -> Router<PortalState> {
    // Availability reads up to 90 days of samples per environment; a public page must not
    // do that per request.
    let cache = Arc::new(AvailabilityCache::default());
    Router::new()
        .route(
            "/status",
            get(move |state, lang| page(state, lang, cache.clone())),
        )
        .route("/status/calendar.ics", get(all))
        .route("/status/{tenant}/{env}/calendar.ics", get(environment))
}

async fn all(State(state): State<PortalState>) -> Response {
    serve(&state, &FeedScope::All, "hamn-servicefonster.ics").await
}

async fn environment(
    State(state): State<PortalState>,
    Path((tenant, env)): Path<(String, String)>,
) -> Response {
    // Slugs are short; anything longer names no tenant and is not worth a query.
    let kind = env.to_ascii_uppercase().parse::<EnvironmentKind>();
    let (Ok(kind), true) = (kind, tenant.len() <= 63) else {
        return not_found();
    };
    let filename = format!(
        "hamn-servicefonster-{}-{}.ics",
        tenant,
        kind.as_str().to_ascii_lowercase()
    );
    serve(
        &state,
        &FeedScope::Environment {
            tenant_slug: tenant,
            kind,
        },
        &filename,
    )
    .await
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "Ingen sådan miljö. / No such environment.\n",
    )
        .into_response()
}

async fn serve(state: &PortalState, scope: &FeedScope, filename: &str) -> Response {
    match feed(&state.database, scope, OffsetDateTime::now_utc()).await {
        Ok(Some(body)) => {
            let mut response = body.into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/calendar; charset=utf-8"),
            );
            // Calendar apps poll; five minutes keeps a new window visible soon enough.
            headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            );
            if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"{filename}\"")) {
                headers.insert(header::CONTENT_DISPOSITION, v);
            }
            response
        }
        Ok(None) => not_found(),
        Err(error) => {
            tracing::warn!(%error, "service-window calendar failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "Kalendern är inte tillgänglig just nu. / The calendar is unavailable right now.\n",
            )
                .into_response()
        }
    }
}

/// How far ahead the status page looks.
const PAGE_HORIZON: time::Duration = time::Duration::days(60);
/// How long an environment's computed availability is reused.
const AVAILABILITY_TTL: StdDuration = StdDuration::from_secs(300);

type Figures = (Availability, Availability);

/// Computed availability per environment, with when it was computed.
#[derive(Default)]
struct AvailabilityCache(Mutex<HashMap<Uuid, (Instant, Figures)>>);

impl AvailabilityCache {
    async fn get(
        &self,
        state: &PortalState,
        environment: Uuid,
        now: OffsetDateTime,
    ) -> Result<Figures, hamn_broker::DbError> {
        let fresh = self.0.lock().ok().and_then(|m| {
            m.get(&environment)
                .filter(|(at, _)| at.elapsed() < AVAILABILITY_TTL)
                .map(|(_, f)| *f)
        });
        if let Some(f) = fresh {
            return Ok(f);
        }
        let f = hamn_broker::status::availability_of(&state.database, environment, now).await?;
        if let Ok(mut m) = self.0.lock() {
            m.insert(environment, (Instant::now(), f));
        }
        Ok(f)
    }
}

fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn local(t: OffsetDateTime) -> String {
    let l = tz::to_local(t);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        l.year(),
        u8::from(l.month()),
        l.day(),
        l.hour(),
        l.minute()
    )
}

/// A `<time>` element showing Stockholm time.
fn time_el(t: OffsetDateTime) -> String {
    let iso = t
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    format!("<time datetime=\"{iso}\">{}</time>", local(t))
}

/// The words of the page in one language.
struct Words {
    title: &'static str,
    skip: &'static str,
    other_lang_label: &'static str,
    other_lang_name: &'static str,
    other_lang_tag: &'static str,
    lang_nav: &'static str,
    intro: &'static str,
    updated: &'static str,
    now_heading: &'static str,
    now_caption: &'static str,
    customer: &'static str,
    environment: &'static str,
    state: &'static str,
    until: &'static str,
    operating: &'static str,
    disturbance: &'static str,
    window: &'static str,
    no_environments: &'static str,
    open_heading: &'static str,
    no_open: &'static str,
    resolved_heading: &'static str,
    no_resolved: &'static str,
    severity: &'static str,
    incident_state: &'static str,
    started: &'static str,
    resolved_at: &'static str,
    all_environments: &'static str,
    updates: &'static str,
    windows_heading: &'static str,
    windows_caption: &'static str,
    no_windows: &'static str,
    start: &'static str,
    end: &'static str,
    description: &'static str,
    calendar: &'static str,
    emergency: &'static str,
    availability_heading: &'static str,
    availability_intro: &'static str,
    availability_caption: &'static str,
    days_30: &'static str,
    days_90: &'static str,
    not_measured: &'static str,
    measured: &'static str,
    feeds_heading: &'static str,
    feeds_intro: &'static str,
    feed_all: &'static str,
    feed_one: &'static str,
    unavailable: &'static str,
}

const SV: Words = Words {
    title: "Driftstatus",
    skip: "Hoppa till innehållet",
    other_lang_label: "Read this page in English",
    other_lang_name: "English",
    other_lang_tag: "en",
    lang_nav: "Språk",
    intro: "Läget för tjänsten just nu, störningar, planerade servicefönster och uppmätt \
            tillgänglighet. Alla tider i svensk tid.",
    updated: "Sidan skapades",
    now_heading: "Läget just nu",
    now_caption: "Status per kund och miljö",
    customer: "Kund",
    environment: "Miljö",
    state: "Status",
    until: "till",
    operating: "I drift",
    disturbance: "Störning",
    window: "Servicefönster pågår",
    no_environments: "Inga miljöer finns ännu.",
    open_heading: "Pågående störningar",
    no_open: "Inga pågående störningar.",
    resolved_heading: "Avslutade störningar de senaste 7 dagarna",
    no_resolved: "Inga avslutade störningar de senaste 7 dagarna.",
    severity: "Allvarlighetsgrad",
    incident_state: "Läge",
    started: "Började",
    resolved_at: "Avslutad",
    all_environments: "alla miljöer",
    updates: "Uppdateringar",
    windows_heading: "Kommande servicefönster",
    windows_caption: "Planerade servicefönster de kommande 60 dagarna",
    no_windows: "Inga planerade servicefönster de kommande 60 dagarna.",
    start: "Start",
    end: "Slut",
    description: "Beskrivning",
    calendar: "Kalender",
    emergency: " (akut)",
    availability_heading: "Tillgänglighet",
    availability_intro: "Mäts varje minut av tjänstens egna hälsokontroller: en minut är \
                         tillgänglig när en värd i varje värdpool tar emot anslutningar. \
                         Minuter i servicefönster räknas inte. Löftet är 99 % utanför \
                         servicefönster.",
    availability_caption: "Tillgänglighet utanför servicefönster",
    days_30: "Senaste 30 dagarna",
    days_90: "Senaste 90 dagarna",
    not_measured: "Inte mätt ännu",
    measured: "mätt",
    feeds_heading: "Prenumerera på servicefönster",
    feeds_intro: "Kalenderfiler (iCal) som kalenderprogram kan prenumerera på:",
    feed_all: "Alla miljöer",
    feed_one: "Servicefönster för",
    unavailable: "Driftstatus är inte tillgänglig just nu. Försök igen om en stund.",
};

const EN: Words = Words {
    title: "Service status",
    skip: "Skip to content",
    other_lang_label: "Läs sidan på svenska",
    other_lang_name: "Svenska",
    other_lang_tag: "sv",
    lang_nav: "Language",
    intro: "The state of the service now, disturbances, planned service windows and measured \
            availability. All times are Swedish time.",
    updated: "Page generated",
    now_heading: "Current state",
    now_caption: "State per customer and environment",
    customer: "Customer",
    environment: "Environment",
    state: "State",
    until: "until",
    operating: "In operation",
    disturbance: "Disturbance",
    window: "Service window in progress",
    no_environments: "There are no environments yet.",
    open_heading: "Ongoing disturbances",
    no_open: "No ongoing disturbances.",
    resolved_heading: "Disturbances resolved in the last 7 days",
    no_resolved: "No disturbances were resolved in the last 7 days.",
    severity: "Severity",
    incident_state: "Status",
    started: "Started",
    resolved_at: "Resolved",
    all_environments: "all environments",
    updates: "Updates",
    windows_heading: "Upcoming service windows",
    windows_caption: "Service windows planned for the next 60 days",
    no_windows: "No service windows are planned for the next 60 days.",
    start: "Start",
    end: "End",
    description: "Description",
    calendar: "Calendar",
    emergency: " (emergency)",
    availability_heading: "Availability",
    availability_intro: "Measured every minute by the service's own health checks: a minute \
                         is available when a host in every host pool accepts connections. \
                         Minutes inside service windows are not counted. The promise is 99% \
                         outside service windows.",
    availability_caption: "Availability outside service windows",
    days_30: "Last 30 days",
    days_90: "Last 90 days",
    not_measured: "Not measured yet",
    measured: "measured",
    feeds_heading: "Subscribe to service windows",
    feeds_intro: "Calendar files (iCal) that calendar apps can subscribe to:",
    feed_all: "All environments",
    feed_one: "Service windows of",
    unavailable: "The service status is unavailable right now. Please try again shortly.",
};

fn words(lang: Lang) -> &'static Words {
    lang.pick(&SV, &EN)
}

fn state_text(w: &Words, s: EnvironmentState) -> (&'static str, &'static str, &'static str) {
    // (class, symbol, words): the symbol differs in shape, the words say it; colour only
    // repeats them.
    match s {
        EnvironmentState::Operating => ("state-ok", "✓", w.operating),
        EnvironmentState::Disturbance => ("state-disturbance", "⚠", w.disturbance),
        EnvironmentState::ServiceWindow => ("state-window", "◷", w.window),
    }
}

fn severity_text(lang: Lang, s: IncidentSeverity) -> &'static str {
    match s {
        IncidentSeverity::Disturbance => lang.pick("Störning", "Disturbance"),
        IncidentSeverity::Outage => lang.pick("Avbrott", "Outage"),
    }
}

fn incident_state_text(lang: Lang, s: IncidentState) -> &'static str {
    match s {
        IncidentState::Investigating => lang.pick("Felsökning pågår", "Investigating"),
        IncidentState::Identified => lang.pick("Orsaken är känd", "Identified"),
        IncidentState::Monitoring => lang.pick("Åtgärdat, bevakas", "Monitoring"),
        IncidentState::Resolved => lang.pick("Löst", "Resolved"),
    }
}

fn percent(lang: Lang, value: f64) -> String {
    let s = format!("{value:.2}");
    lang.pick(format!("{} %", s.replace('.', ",")), format!("{s}%"))
}

fn availability_cell(lang: Lang, w: &Words, a: &Availability) -> String {
    match (a.percent(), a.coverage_percent()) {
        (Some(p), Some(c)) => format!(
            "{} <span class=\"coverage\">({} {})</span>",
            percent(lang, p),
            w.measured,
            percent(lang, c)
        ),
        _ => w.not_measured.to_owned(),
    }
}

fn feed_path(tenant_slug: &str, kind: EnvironmentKind) -> String {
    format!(
        "/status/{}/{}/calendar.ics",
        tenant_slug,
        kind.as_str().to_ascii_lowercase()
    )
}

/// What the page is made of.
struct PageData<'a> {
    now: OffsetDateTime,
    environments: &'a [EnvironmentStatus],
    availability: &'a [Figures],
    incidents: &'a [Incident],
    windows: &'a [Upcoming],
}

/// The whole page in `lang`.
fn render(lang: Lang, d: &PageData<'_>) -> String {
    let w = words(lang);
    let mut b = String::with_capacity(16 * 1024);
    let _ = write!(
        b,
        "<!doctype html>\n<html lang=\"{tag}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} – Hamn</title>\
         <link rel=\"stylesheet\" href=\"/static/portal.css\">\
         <link rel=\"stylesheet\" href=\"/static/status.css\"></head><body>\n\
         <a class=\"skip\" href=\"#main\">{skip}</a>\n\
         <header class=\"banner\"><p class=\"brand\">Hamn</p>\
         <nav aria-label=\"{nav}\"><a href=\"/status?lang={other}\" hreflang=\"{other}\" \
         lang=\"{other}\" aria-label=\"{other_label}\">{other_name}</a></nav></header>\n\
         <main id=\"main\">\n<h1>{title}</h1>\n<p>{intro}</p>\n<p class=\"updated\">{updated} {now}.</p>\n",
        tag = lang.tag(),
        title = w.title,
        skip = w.skip,
        nav = w.lang_nav,
        other = w.other_lang_tag,
        other_label = w.other_lang_label,
        other_name = w.other_lang_name,
        intro = w.intro,
        updated = w.updated,
        now = time_el(d.now),
    );

    // The state now.
    let _ = write!(
        b,
        "<section aria-labelledby=\"now\">\n<h2 id=\"now\">{}</h2>\n",
        w.now_heading
    );
    if d.environments.is_empty() {
        let _ = writeln!(b, "<p>{}</p>", w.no_environments);
    } else {
        let _ = write!(
            b,
            "<table class=\"states\">\n<caption>{}</caption>\n<thead><tr><th scope=\"col\">{}</th>\
             <th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead>\n<tbody>\n",
            w.now_caption, w.customer, w.environment, w.state
        );
        for e in d.environments {
            let (class, symbol, text) = state_text(w, e.state);
            let window = match (&e.window, e.state) {
                (Some((title, until)), EnvironmentState::ServiceWindow) => format!(
                    "<br><span class=\"detail\">{} {} {}</span>",
                    escape_html(title),
                    w.until,
                    time_el(*until)
                ),
                _ => String::new(),
            };
            let _ = writeln!(
                b,
                "<tr data-environment=\"{slug}-{kind_lc}\"><th scope=\"row\">{tenant}</th>\
                 <td>{kind}</td><td><span class=\"state {class}\"><span aria-hidden=\"true\">\
                 {symbol}</span> {text}</span>{window}</td></tr>",
                slug = escape_html(&e.tenant_slug),
                kind_lc = e.kind.as_str().to_ascii_lowercase(),
                tenant = escape_html(&e.tenant_name),
                kind = e.kind,
            );
        }
        b.push_str("</tbody></table>\n");
    }
    b.push_str("</section>\n");

    // Incidents.
    let (open, resolved): (Vec<&Incident>, Vec<&Incident>) =
        d.incidents.iter().partition(|i| i.is_open());
    for (id, heading, empty, list) in [
        ("open", w.open_heading, w.no_open, &open),
        ("resolved", w.resolved_heading, w.no_resolved, &resolved),
    ] {
        let _ = write!(
            b,
            "<section aria-labelledby=\"{id}\" class=\"incidents\">\n<h2 id=\"{id}\">{heading}</h2>\n"
        );
        if list.is_empty() {
            let _ = writeln!(b, "<p>{empty}</p>");
        }
        for i in list.iter() {
            incident(&mut b, lang, w, d.environments, i);
        }
        b.push_str("</section>\n");
    }

    // Upcoming windows: one row per line, as the calendar test reads them.
    let _ = write!(
        b,
        "<section aria-labelledby=\"windows\">\n<h2 id=\"windows\">{}</h2>\n",
        w.windows_heading
    );
    if d.windows.is_empty() {
        let _ = writeln!(b, "<p>{}</p>", w.no_windows);
    } else {
        let _ = write!(
            b,
            "<table>\n<caption>{}</caption>\n<thead><tr><th scope=\"col\">{}</th>\
             <th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th>\
             <th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead>\n<tbody>\n",
            w.windows_caption, w.customer, w.environment, w.start, w.end, w.description, w.calendar
        );
        for r in d.windows {
            let _ = writeln!(
                b,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td>\
                 <td><a href=\"{}\">iCal<span class=\"visually-hidden\"> {} {} {}</span></a></td></tr>",
                escape_html(&r.tenant_name),
                r.environment,
                local(r.start),
                local(r.end),
                escape_html(&r.title),
                if r.emergency { w.emergency } else { "" },
                escape_html(&feed_path(&r.tenant_slug, r.environment)),
                w.feed_one,
                escape_html(&r.tenant_name),
                r.environment,
            );
        }
        b.push_str("</tbody></table>\n");
    }
    b.push_str("</section>\n");

    // Availability.
    let _ = write!(
        b,
        "<section aria-labelledby=\"availability\">\n<h2 id=\"availability\">{}</h2>\n<p>{}</p>\n",
        w.availability_heading, w.availability_intro
    );
    if !d.environments.is_empty() {
        let _ = write!(
            b,
            "<table class=\"availability\">\n<caption>{}</caption>\n<thead><tr>\
             <th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th>\
             <th scope=\"col\">{}</th></tr></thead>\n<tbody>\n",
            w.availability_caption, w.customer, w.environment, w.days_30, w.days_90
        );
        for (e, (a30, a90)) in d.environments.iter().zip(d.availability) {
            let _ = writeln!(
                b,
                "<tr data-environment=\"{}-{}\"><th scope=\"row\">{}</th><td>{}</td>\
                 <td>{}</td><td>{}</td></tr>",
                escape_html(&e.tenant_slug),
                e.kind.as_str().to_ascii_lowercase(),
                escape_html(&e.tenant_name),
                e.kind,
                availability_cell(lang, w, a30),
                availability_cell(lang, w, a90),
            );
        }
        b.push_str("</tbody></table>\n");
    }
    b.push_str("</section>\n");

    // Feeds.
    let _ = write!(
        b,
        "<section aria-labelledby=\"feeds\">\n<h2 id=\"feeds\">{}</h2>\n<p>{}</p>\n<ul>\n\
         <li><a href=\"/status/calendar.ics\">{}</a></li>\n",
        w.feeds_heading, w.feeds_intro, w.feed_all
    );
    for e in d.environments {
        let _ = writeln!(
            b,
            "<li><a href=\"{}\">{} {} {}</a></li>",
            escape_html(&feed_path(&e.tenant_slug, e.kind)),
            w.feed_one,
            escape_html(&e.tenant_name),
            e.kind
        );
    }
    b.push_str("</ul>\n</section>\n</main>\n</body></html>\n");
    b
}

/// One incident as an article: title, what it concerns, its facts and its updates.
fn incident(b: &mut String, lang: Lang, w: &Words, envs: &[EnvironmentStatus], i: &Incident) {
    let tenant = envs
        .iter()
        .find(|e| e.tenant_id == i.tenant_id)
        .map(|e| e.tenant_name.clone())
        .unwrap_or_default();
    let scope = match i.environment_id {
        Some(id) => envs
            .iter()
            .find(|e| e.environment_id == id)
            .map(|e| e.kind.as_str().to_owned())
            .unwrap_or_default(),
        None => w.all_environments.to_owned(),
    };
    let heading_id = format!("incident-{}", i.id);
    let _ = write!(
        b,
        "<article class=\"incident severity-{sev_class}\" aria-labelledby=\"{heading_id}\">\n\
         <h3 id=\"{heading_id}\">{title}</h3>\n<p class=\"scope\">{tenant}, {scope}</p>\n<dl>\
         <dt>{severity_label}</dt><dd>{severity}</dd>\
         <dt>{state_label}</dt><dd>{state}</dd>\
         <dt>{started_label}</dt><dd>{started}</dd>",
        sev_class = i.severity.as_str(),
        title = escape_html(&i.title),
        tenant = escape_html(&tenant),
        scope = escape_html(&scope),
        severity_label = w.severity,
        severity = severity_text(lang, i.severity),
        state_label = w.incident_state,
        state = incident_state_text(lang, i.state),
        started_label = w.started,
        started = time_el(i.started_at),
    );
    if let Some(r) = i.resolved_at {
        let _ = write!(b, "<dt>{}</dt><dd>{}</dd>", w.resolved_at, time_el(r));
    }
    let _ = write!(
        b,
        "</dl>\n<h4 class=\"visually-hidden\">{}</h4>\n<ol class=\"updates\" reversed>\n",
        w.updates
    );
    // Newest first, as readers want the latest word.
    for u in i.updates.iter().rev() {
        let _ = writeln!(
            b,
            "<li><p class=\"when\">{} – <strong>{}</strong></p><p>{}</p></li>",
            time_el(u.created_at),
            incident_state_text(lang, u.state),
            escape_html(&u.message).replace('\n', "<br>"),
        );
    }
    b.push_str("</ol>\n</article>\n");
}

/// `GET /status`.
async fn page(
    State(state): State<PortalState>,
    PageLang(lang): PageLang,
    cache: Arc<AvailabilityCache>,
) -> Response {
    let now = OffsetDateTime::now_utc();
    let loaded = async {
        let o = overview(&state.database, now).await?;
        let windows = upcoming(&state.database, now, PAGE_HORIZON).await?;
        let mut figures = Vec::with_capacity(o.environments.len());
        for e in &o.environments {
            figures.push(cache.get(&state, e.environment_id, now).await?);
        }
        Ok::<_, hamn_broker::DbError>((o, windows, figures))
    }
    .await;
    let (o, windows, figures) = match loaded {
        Ok(x) => x,
        Err(error) => {
            tracing::warn!(%error, "status page failed");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                format!("{}\n", words(lang).unavailable),
            )
                .into_response();
        }
    };
    let body = render(
        lang,
        &PageData {
            now,
            environments: &o.environments,
            availability: &figures,
            incidents: &o.incidents,
            windows: &windows,
        },
    );
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_LANGUAGE,
        HeaderValue::from_static(lang.tag()),
    );
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Language"));
    // Short: an incident an operator posts should reach readers within a minute.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=30"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use hamn_broker::model::IncidentUpdate;
    use time::macros::datetime;

    fn env(state: EnvironmentState) -> EnvironmentStatus {
        EnvironmentStatus {
            environment_id: Uuid::from_u128(1),
            tenant_id: Uuid::from_u128(2),
            tenant_slug: "demo".into(),
            tenant_name: "Demo <kommun>".into(),
            kind: EnvironmentKind::Prod,
            name: "PROD".into(),
            state,
            window: None,
        }
    }

    #[test]
    fn the_page_says_the_state_in_words_escapes_text_and_links_the_other_language() {
        let now = datetime!(2026-12-07 12:00 UTC);
        let t = now - time::Duration::hours(1);
        let incident = Incident {
            id: Uuid::from_u128(3),
            tenant_id: Uuid::from_u128(2),
            environment_id: Some(Uuid::from_u128(1)),
            title: "Inloggning <misslyckas>".into(),
            severity: IncidentSeverity::Outage,
            state: IncidentState::Identified,
            started_at: t,
            resolved_at: None,
            created_at: t,
            updated_at: t,
            updates: vec![IncidentUpdate {
                id: Uuid::from_u128(4),
                incident_id: Uuid::from_u128(3),
                state: IncidentState::Identified,
                message: "Rad ett\nrad två".into(),
                author: "Dag Drift".into(),
                created_at: t,
            }],
        };
        let envs = [env(EnvironmentState::Disturbance)];
        let figures = [(
            Availability {
                counted_minutes: 100,
                sampled_minutes: 50,
                available_minutes: 49,
            },
            Availability::default(),
        )];
        let data = PageData {
            now,
            environments: &envs,
            availability: &figures,
            incidents: std::slice::from_ref(&incident),
            windows: &[],
        };
        let sv = render(Lang::Sv, &data);
        assert!(sv.contains("<html lang=\"sv\">"), "{sv}");
        assert!(
            sv.contains("<span aria-hidden=\"true\">⚠</span> Störning"),
            "{sv}"
        );
        assert!(
            sv.contains("Demo &lt;kommun&gt;") && !sv.contains("<kommun>"),
            "{sv}"
        );
        assert!(sv.contains("Inloggning &lt;misslyckas&gt;"), "{sv}");
        assert!(sv.contains("Rad ett<br>rad två"), "{sv}");
        assert!(
            sv.contains("Avbrott") && sv.contains("Orsaken är känd"),
            "{sv}"
        );
        assert!(
            sv.contains("98,00 % <span class=\"coverage\">(mätt 50,00 %)</span>"),
            "{sv}"
        );
        assert!(sv.contains("Inte mätt ännu"), "{sv}");
        assert!(sv.contains("Inga planerade servicefönster"), "{sv}");
        assert!(sv.contains("href=\"/status?lang=en\""), "{sv}");
        assert!(!sv.contains("Dag Drift"), "authors stay in the console");
        assert!(
            !sv.contains("style="),
            "no inline styles: the CSP forbids them"
        );
        let en = render(Lang::En, &data);
        assert!(en.contains("<html lang=\"en\">"), "{en}");
        assert!(en.contains("Disturbance") && en.contains("98.00%"), "{en}");
        assert!(en.contains("href=\"/status?lang=sv\""), "{en}");
    }
}
