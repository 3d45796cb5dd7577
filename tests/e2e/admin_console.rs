//! The admin console's set-up sections on a real `hamn up`, driven in Chromium by
//! `tests/browser/admin_console.mjs`: the demo tenant-admin drains and reactivates a host
//! of a pool dedicated to their tenant, is refused on the shared demo pool, and sees no
//! other tenant; the demo operator sees them all. The pool, host and second tenant are made
//! here through the admin API with the operator's client certificate, as an operator would;
//! afterwards the audit log must show the tenant-admin's two state changes under the tenant.

use std::process::Command;

use serde_json::{Value, json};

use crate::support::{HamnUp, repo};

const OWN_HOST: &str = "demo-egen-01";
const OTHER_TENANT: &str = "Grannby kommun";

/// The admin API as the operator (mTLS client certificate of this `hamn up`).
fn operator(up: &HamnUp, method: &str, url: &str, body: Option<Value>) -> (u16, Value) {
    let certs = up.certs();
    let cert = certs.join("api-operator.crt").display().to_string();
    let key = certs.join("api-operator.key").display().to_string();
    let payload = body.map(|b| b.to_string());
    let mut args = vec!["--cert", &cert, "--key", &key, "-X", method];
    if let Some(p) = &payload {
        args.extend(["-H", "content-type: application/json", "--data", p]);
    }
    let (code, text) = up.curl(&args, url);
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (code, value)
}

fn created(up: &HamnUp, url: &str, body: Value) -> String {
    let (code, answer) = operator(up, "POST", url, Some(body));
    assert_eq!(code, 201, "POST {url}: {answer}");
    answer["id"].as_str().expect("id").to_owned()
}

#[test]
fn tenant_admin_and_operator_set_up_through_the_admin_console() {
    let up = HamnUp::start(&[]);
    let gateway = format!("https://localhost:{}", up.ports.gateway);
    let api = format!("https://127.0.0.1:{}/api/v1", up.ports.broker);

    let (code, tenants) = operator(&up, "GET", &format!("{api}/tenants"), None);
    assert_eq!(code, 200, "{tenants}");
    let demo = tenants["items"]
        .as_array()
        .and_then(|all| all.iter().find(|t| t["slug"] == "demo"))
        .and_then(|t| t["id"].as_str())
        .expect("the demo tenant is seeded")
        .to_owned();
    created(
        &up,
        &format!("{api}/tenants"),
        json!({"slug": "grannby", "name": OTHER_TENANT}),
    );
    let pool = created(
        &up,
        &format!("{api}/pools"),
        json!({"name": "Demo kommuns egen pool", "dedicated_tenant_id": demo,
               "host_cert_policy": "ignore"}),
    );
    let host = created(
        &up,
        &format!("{api}/pools/{pool}/hosts"),
        json!({"name": OWN_HOST, "address": "127.0.0.1", "port": 9, "capacity": 5}),
    );

    let output = Command::new("node")
        .arg(repo().join("tests/browser/admin_console.mjs"))
        .arg(&gateway)
        .arg(OWN_HOST)
        .arg("demo-host")
        .arg(OTHER_TENANT)
        .current_dir(repo().join("tests"))
        .output()
        .expect("run node (./scripts/test installs it)");
    assert!(
        output.status.success(),
        "admin console in Chromium: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );

    // The browser's changes went through the admin API: audited as the portal user, under
    // the tenant, and the host is active again.
    let (code, audit) = operator(
        &up,
        "GET",
        &format!("{api}/audit?action=host.state_change&target_id={host}"),
        None,
    );
    assert_eq!(code, 200, "{audit}");
    let events = audit["items"].as_array().expect("items");
    let states: Vec<_> = events
        .iter()
        .map(|e| e["after"]["state"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(states, ["active", "drain"], "{audit}");
    assert!(
        events
            .iter()
            .all(|e| e["tenant_id"] == demo.as_str() && e["actor_name"] == "Anna Admin"),
        "{audit}"
    );
    let (_, shared) = operator(
        &up,
        "GET",
        &format!("{api}/audit?action=host.state_change"),
        None,
    );
    assert_eq!(
        shared["items"].as_array().map(Vec::len),
        Some(2),
        "nothing but the own host changed state: {shared}"
    );
    let (_, h) = operator(&up, "GET", &format!("{api}/hosts/{host}"), None);
    assert_eq!(h["state"], "active", "{h}");
}
