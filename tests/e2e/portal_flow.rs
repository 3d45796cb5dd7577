//! The whole user flow of the portal on a real `hamn up` (workstream D of the web issue):
//! the operator announces an emergency service window in UTB two days ahead and a warning
//! to the demo tenant through the admin API (mTLS), makes a second demo user a
//! tenant-admin, then `tests/browser/portal_flow.mjs` drives Chromium through login by the
//! demo IdP, PROD/UTB, both banners, launch in the browser, reconnect from "Mina
//! sessioner" to the same session, the .rdp download, log off, English remembered in a
//! fresh browser, logout, and the admin console's `notices` section — with axe on every
//! page. Afterwards the API shows what the browser did: the .rdp file, the session logged
//! off, the announcement the admin published and ended, audited as theirs.

use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::support::{HamnUp, TempDir, browser_script, id};

fn rfc(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).expect("format")
}

#[test]
fn a_user_goes_through_the_portal_from_login_to_logout() {
    let up = HamnUp::start(&[]);
    let gateway = format!("https://localhost:{}", up.ports.gateway);

    let tenants = up.operator_ok("GET", "/tenants", None);
    let tenant = tenants["items"]
        .as_array()
        .and_then(|a| a.iter().find(|t| t["slug"] == "demo"))
        .map(id)
        .expect("the demo tenant");
    let envs = up.operator_ok("GET", &format!("/tenants/{tenant}/environments"), None);
    let env = |kind: &str| {
        envs["items"]
            .as_array()
            .and_then(|a| a.iter().find(|e| e["kind"] == kind))
            .map(id)
            .unwrap_or_else(|| panic!("no {kind} in {envs:#}"))
    };
    let (prod, utb) = (env("PROD"), env("UTB"));

    // An open incident in PROD: the first banner, in the operator's words.
    let incident_title = "Procapita svarar långsamt";
    up.operator_ok(
        "POST",
        &format!("/tenants/{tenant}/incidents"),
        Some(
            json!({"environment_id": prod, "title": incident_title, "severity": "disturbance",
                    "message": "Vi felsöker databasen."}),
        ),
    );

    // Two days' notice is an emergency's; it is within the portal's seven-day horizon.
    let start = (OffsetDateTime::now_utc() + Duration::days(2))
        .replace_second(0)
        .and_then(|t| t.replace_nanosecond(0))
        .expect("whole minute");
    let window_title = "Byte av databasserver";
    up.operator_ok("POST",
        &format!("/environments/{utb}/service-windows"),
        Some(
            json!({"title": window_title, "description": "Procapita UTB flyttas.", "emergency": true,
                    "starts_at": rfc(start), "ends_at": rfc(start + Duration::hours(3))}),
        ),
    );
    let message_title = "Nytt inloggningssätt från måndag";
    let message = up.operator_ok("POST",
        &format!("/tenants/{tenant}/announcements"),
        Some(
            json!({"title": message_title, "body": "Logga in med BankID eller SITHS-kort.", "severity": "warning",
                    "ends_at": rfc(OffsetDateTime::now_utc() + Duration::days(3))}),
        ),
    );
    assert_eq!(message["tenant_id"], json!(tenant));

    // A tenant-admin who may use the demo login: entitled to the PROD app.
    let admin_name = "chef.demo";
    let admin = up.operator_ok(
        "POST",
        &format!("/tenants/{tenant}/users"),
        Some(json!({"name_id": admin_name, "display_name": "Cecilia Chef"})),
    );
    let admin_id = id(&admin);
    up.operator_ok(
        "PUT",
        &format!("/users/{admin_id}/role"),
        Some(json!({"role": "tenant_admin"})),
    );
    let apps = up.operator_ok("GET", &format!("/tenants/{tenant}/apps"), None);
    let procapita = apps["items"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["display_name"] == "Procapita"))
        .map(id)
        .expect("Procapita");
    up.operator_ok(
        "POST",
        &format!("/apps/{procapita}/entitlements"),
        Some(json!({"user_id": admin_id})),
    );

    let scratch = TempDir::new("portal-flow");
    let portal = format!("{gateway}/");
    let stdout = browser_script(
        "portal flow",
        "portal_flow.mjs",
        &[
            std::ffi::OsStr::new(&portal),
            window_title.as_ref(),
            message_title.as_ref(),
            admin_name.as_ref(),
            scratch.0.as_os_str(),
            incident_title.as_ref(),
        ],
        Some(&up),
    );
    let result: Value = stdout
        .lines()
        .find_map(|l| l.strip_prefix("result "))
        .and_then(|j| serde_json::from_str(j).ok())
        .expect("result line");

    // The .rdp file the portal handed out points at this gateway.
    assert_eq!(result["rdp"]["filename"], "Procapita.rdp", "{result:#}");
    let rdp = std::fs::read(result["rdp"]["path"].as_str().expect("path")).expect("rdp file");
    let rdp = String::from_utf8_lossy(&rdp).replace('\0', "");
    assert!(rdp.contains("full address:s:"), "{rdp}");

    // The session the browser logged off has ended.
    let session = result["session"].as_str().expect("session id");
    let s = up.operator_ok("GET", &format!("/sessions/{session}"), None);
    assert_eq!(s["state"], "ended", "{s:#}");

    // The admin's message was published and ended in the console, audited as theirs.
    let title = result["adminMessage"].as_str().expect("admin message");
    let list = up.operator_ok("GET", &format!("/tenants/{tenant}/announcements"), None);
    let made = list["items"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["title"] == title))
        .cloned()
        .expect("the console's announcement");
    assert_eq!(made["severity"], "warning", "{made:#}");
    let ended = OffsetDateTime::parse(made["ends_at"].as_str().unwrap_or_default(), &Rfc3339)
        .expect("ends_at");
    assert!(ended <= OffsetDateTime::now_utc(), "{made:#}");
    let audit = up.operator_ok(
        "GET",
        &format!("/audit?action=announcement.end&target_id={}", id(&made)),
        None,
    );
    let event = &audit["items"][0];
    assert_eq!(event["actor_id"], json!(admin_id), "{audit:#}");
}
