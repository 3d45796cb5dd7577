//! The whole user flow of the portal on a real `hamn up` (workstream D of the web issue):
//! the operator announces an emergency service window in UTB two days ahead and a warning
//! to the demo tenant through the admin API (mTLS), makes a second demo user a
//! tenant-admin, then `tests/browser/portal_flow.mjs` drives Chromium through login by the
//! demo IdP, PROD/UTB, both banners, launch in the browser, reconnect from "Mina
//! sessioner" to the same session, the .rdp download, log off, English remembered in a
//! fresh browser, logout, and the admin console's `notices` section — with axe on every
//! page. Afterwards the API shows what the browser did: the .rdp file, the session logged
//! off, the announcement the admin published and ended, audited as theirs.

use std::process::Command;

use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::support::{HamnUp, TempDir, repo};

/// The operator's call to the broker's admin API: (status, JSON body).
fn operator(up: &HamnUp, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let certs = up.certs();
    let cert = certs.join("api-operator.crt").display().to_string();
    let key = certs.join("api-operator.key").display().to_string();
    let mut args = vec!["--cert", &cert, "--key", &key, "-X", method];
    let data = body.map(|b| b.to_string());
    if let Some(data) = &data {
        args.extend(["-H", "Content-Type: application/json", "--data", data]);
    }
    let (code, text) = up.curl(
        &args,
        &format!("https://127.0.0.1:{}/api/v1{path}", up.ports.broker),
    );
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (code, value)
}

fn ok(up: &HamnUp, method: &str, path: &str, body: Option<Value>) -> Value {
    let (code, value) = operator(up, method, path, body);
    assert!(
        (200..300).contains(&code),
        "{method} {path}: {code} {value:#}"
    );
    value
}

fn id(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v:#}"))
        .to_owned()
}

fn rfc(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).expect("format")
}

#[test]
fn a_user_goes_through_the_portal_from_login_to_logout() {
    let up = HamnUp::start(&[]);
    let gateway = format!("https://localhost:{}", up.ports.gateway);

    let tenants = ok(&up, "GET", "/tenants", None);
    let tenant = tenants["items"]
        .as_array()
        .and_then(|a| a.iter().find(|t| t["slug"] == "demo"))
        .map(id)
        .expect("the demo tenant");
    let envs = ok(&up, "GET", &format!("/tenants/{tenant}/environments"), None);
    let utb = envs["items"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["kind"] == "UTB"))
        .map(id)
        .expect("UTB");

    // Two days' notice is an emergency's; it is within the portal's seven-day horizon.
    let start = (OffsetDateTime::now_utc() + Duration::days(2))
        .replace_second(0)
        .and_then(|t| t.replace_nanosecond(0))
        .expect("whole minute");
    let window_title = "Byte av databasserver";
    ok(
        &up,
        "POST",
        &format!("/environments/{utb}/service-windows"),
        Some(
            json!({"title": window_title, "description": "Procapita UTB flyttas.", "emergency": true,
                    "starts_at": rfc(start), "ends_at": rfc(start + Duration::hours(3))}),
        ),
    );
    let message_title = "Nytt inloggningssätt från måndag";
    let message = ok(
        &up,
        "POST",
        &format!("/tenants/{tenant}/announcements"),
        Some(
            json!({"title": message_title, "body": "Logga in med BankID eller SITHS-kort.", "severity": "warning",
                    "ends_at": rfc(OffsetDateTime::now_utc() + Duration::days(3))}),
        ),
    );
    assert_eq!(message["tenant_id"], json!(tenant));

    // A tenant-admin who may use the demo login: entitled to the PROD app.
    let admin_name = "chef.demo";
    let admin = ok(
        &up,
        "POST",
        &format!("/tenants/{tenant}/users"),
        Some(json!({"name_id": admin_name, "display_name": "Cecilia Chef"})),
    );
    let admin_id = id(&admin);
    ok(
        &up,
        "PUT",
        &format!("/users/{admin_id}/role"),
        Some(json!({"role": "tenant_admin"})),
    );
    let apps = ok(&up, "GET", &format!("/tenants/{tenant}/apps"), None);
    let procapita = apps["items"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["display_name"] == "Procapita"))
        .map(id)
        .expect("Procapita");
    ok(
        &up,
        "POST",
        &format!("/apps/{procapita}/entitlements"),
        Some(json!({"user_id": admin_id})),
    );

    let scratch = TempDir::new("portal-flow");
    let output = Command::new("node")
        .arg(repo().join("tests/browser/portal_flow.mjs"))
        .arg(format!("{gateway}/"))
        .arg(window_title)
        .arg(message_title)
        .arg(admin_name)
        .arg(&scratch.0)
        .current_dir(repo().join("tests"))
        .output()
        .expect("run node (./scripts/test installs it)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "portal flow in Chromium: {stdout}{}\n{}",
        String::from_utf8_lossy(&output.stderr),
        up.logs()
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
    let s = ok(&up, "GET", &format!("/sessions/{session}"), None);
    assert_eq!(s["state"], "ended", "{s:#}");

    // The admin's message was published and ended in the console, audited as theirs.
    let title = result["adminMessage"].as_str().expect("admin message");
    let list = ok(
        &up,
        "GET",
        &format!("/tenants/{tenant}/announcements"),
        None,
    );
    let made = list["items"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["title"] == title))
        .cloned()
        .expect("the console's announcement");
    assert_eq!(made["severity"], "warning", "{made:#}");
    let ended = OffsetDateTime::parse(made["ends_at"].as_str().unwrap_or_default(), &Rfc3339)
        .expect("ends_at");
    assert!(ended <= OffsetDateTime::now_utc(), "{made:#}");
    let audit = ok(
        &up,
        "GET",
        &format!("/audit?action=announcement.end&target_id={}", id(&made)),
        None,
    );
    let event = &audit["items"][0];
    assert_eq!(event["actor_id"], json!(admin_id), "{audit:#}");
}
