//! The admin console's set-up sections on a real `hamn up`, driven in Chromium by
//! `tests/browser/admin_console.mjs`: the demo tenant-admin drains and reactivates a host
//! of a pool dedicated to their tenant, is refused on the shared demo pool, and sees no
//! other tenant; the demo operator sees them all. The pool, host and second tenant are made
//! here through the admin API with the operator's client certificate, as an operator would;
//! afterwards the audit log must show the tenant-admin's two state changes under the tenant.

use serde_json::json;

use crate::support::{HamnUp, browser_script};

const OWN_HOST: &str = "demo-egen-01";
const OTHER_TENANT: &str = "Grannby kommun";

#[test]
fn tenant_admin_and_operator_set_up_through_the_admin_console() {
    let up = HamnUp::start(&[]);
    let gateway = format!("https://localhost:{}", up.ports.gateway);

    let (code, tenants) = up.operator("GET", "/tenants", None);
    assert_eq!(code, 200, "{tenants}");
    let demo = tenants["items"]
        .as_array()
        .and_then(|all| all.iter().find(|t| t["slug"] == "demo"))
        .and_then(|t| t["id"].as_str())
        .expect("the demo tenant is seeded")
        .to_owned();
    up.operator_create("/tenants", json!({"slug": "grannby", "name": OTHER_TENANT}));
    let pool = up.operator_create(
        "/pools",
        json!({"name": "Demo kommuns egen pool", "dedicated_tenant_id": demo,
               "host_cert_policy": "ignore"}),
    );
    let host = up.operator_create(
        &format!("/pools/{pool}/hosts"),
        json!({"name": OWN_HOST, "address": "127.0.0.1", "port": 9, "capacity": 5}),
    );

    browser_script(
        "admin console",
        "admin_console.mjs",
        &[gateway.as_str(), OWN_HOST, "demo-host", OTHER_TENANT],
        None,
    );

    // The browser's changes went through the admin API: audited as the portal user, under
    // the tenant, and the host is active again.
    let (code, audit) = up.operator(
        "GET",
        &format!("/audit?action=host.state_change&target_id={host}"),
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
    let (_, shared) = up.operator("GET", "/audit?action=host.state_change", None);
    assert_eq!(
        shared["items"].as_array().map(Vec::len),
        Some(2),
        "nothing but the own host changed state: {shared}"
    );
    let (_, h) = up.operator("GET", &format!("/hosts/{host}"), None);
    assert_eq!(h["state"], "active", "{h}");
}
