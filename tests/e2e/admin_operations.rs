//! The admin console's day-to-day sections on a real `hamn up`: the operator API sets the
//! scene (a colleague in Demo kommun with a direct entitlement, another tenant with a
//! window and a user), Chromium opens the colleague's app and drives the console as the
//! seeded tenant-admin `admin` (`tests/browser/admin_operations.mjs`), and the API and the
//! public calendar then show what the clicks did: the announced window in
//! `/status/calendar.ics`, the colleague's access gone, every step audited as the admin.

use serde_json::json;

use crate::support::{HamnUp, TempDir, browser_script, id};

/// A user of `tenant` with a direct entitlement to `app` (so the demo login takes them).
fn entitled_user(up: &HamnUp, tenant: &str, app: &str, name_id: &str, display: &str) -> String {
    let user = up.operator_create(
        &format!("/tenants/{tenant}/users"),
        json!({"name_id": name_id, "display_name": display}),
    );
    up.operator_create(
        &format!("/apps/{app}/entitlements"),
        json!({"user_id": user}),
    );
    user
}

#[test]
fn a_tenant_admin_runs_the_day_to_day_from_the_console() {
    let up = HamnUp::start(&[]);
    let gateway = format!("https://localhost:{}", up.ports.gateway);
    let tenants = up.operator_ok("GET", "/tenants", None);
    let demo = tenants["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["slug"] == "demo")
        .map(id)
        .unwrap_or_else(|| panic!("no demo tenant in {tenants}"));
    let apps = up.operator_ok("GET", &format!("/tenants/{demo}/apps"), None);
    let procapita = apps["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["display_name"] == "Procapita")
        .map(id)
        .unwrap_or_else(|| panic!("no Procapita in {apps}"));
    let bertil = entitled_user(&up, &demo, &procapita, "bertil", "Bertil Berg");
    let users = up.operator_ok("GET", &format!("/tenants/{demo}/users"), None);
    let admin = users["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|u| u["name_id"] == "admin")
        .map(id)
        .unwrap_or_else(|| panic!("the demo seed has no admin: {users}"));

    // Another tenant, made by the operator: nothing of it may reach Demo kommun's admin.
    let other = up.operator_create(
        "/tenants",
        json!({"slug": "grannby", "name": "Grannby kommun"}),
    );
    let other_env = up.operator_create(
        &format!("/tenants/{other}/environments"),
        json!({"kind": "PROD"}),
    );
    let in_nine_days = time::OffsetDateTime::now_utc() + time::Duration::days(9);
    let rfc = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .expect("format")
    };
    let other_window = up.operator_create(
        &format!("/environments/{other_env}/service-windows"),
        json!({"title": "Grannbys serverflytt", "starts_at": rfc(in_nine_days), "ends_at": rfc(in_nine_days + time::Duration::hours(3))}),
    );
    let other_user = up.operator_create(
        &format!("/tenants/{other}/users"),
        json!({"name_id": "gunnel", "display_name": "Gunnel Grann"}),
    );

    let scratch = TempDir::new("admin-operations");
    let config = scratch.0.join("config.json");
    let window_title = "Byte av lagringsserver";
    std::fs::write(
        &config,
        json!({
            "login": "admin",
            "operator": "drift",
            "victim": {"name_id": "bertil", "display_name": "Bertil Berg"},
            "session_user": "Bertil Berg",
            "window_title": window_title,
            "other": {
                "tenant": other, "environment": other_env, "window": other_window, "user": other_user,
                "words": ["Grannby", "Grannbys serverflytt", "Gunnel Grann", other.as_str()],
            },
        })
        .to_string(),
    )
    .expect("write config");
    browser_script(
        "admin operations",
        "admin_operations.mjs",
        &[std::ffi::OsStr::new(&gateway), config.as_os_str()],
        None,
    );

    // The window the admin announced is public, in the calendar feed, once.
    let (code, feed) = up.curl(&[], &format!("{gateway}/status/calendar.ics"));
    assert_eq!(code, 200, "{feed}");
    assert_eq!(
        feed.matches(&format!("Demo kommun PROD: {window_title}"))
            .count(),
        1,
        "{feed}"
    );
    assert!(
        !feed.contains("För tidigt"),
        "a refused window is in the feed: {feed}"
    );

    // Bertil's access is gone: no entitlement, no path in the review, no demo login.
    let entitlements = up.operator_ok("GET", &format!("/apps/{procapita}/entitlements"), None);
    assert!(
        !entitlements.to_string().contains(&bertil),
        "{entitlements}"
    );
    let review = up.operator_ok("GET", &format!("/tenants/{demo}/access-review"), None);
    let row = review["users"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|u| u["user_id"] == bertil.as_str())
        .unwrap_or_else(|| panic!("bertil not in {review}"));
    assert_eq!(row["access"], json!([]), "{row}");
    let (code, refused) = up.curl(
        &[
            "-H",
            &format!("Origin: {gateway}"),
            "-H",
            "content-type: application/json",
            "-d",
            r#"{"username":"bertil"}"#,
        ],
        &format!("{gateway}/portal/api/demo-login"),
    );
    assert_eq!(code, 401, "bertil still logs in: {refused}");

    // Each step is in the demo tenant's audit log as the admin (a portal user), and the
    // other tenant's window is untouched.
    for action in [
        "session.message",
        "session.admin_logoff",
        "service_window.create",
        "access.revoke",
        "access_review.export",
        "audit.export",
    ] {
        let events = up.operator_ok(
            "GET",
            &format!("/audit?tenant_id={demo}&action={action}"),
            None,
        );
        let by_admin = events["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["actor_kind"] == "user" && e["actor_id"] == admin.as_str())
            .count();
        assert!(by_admin >= 1, "{action} not audited as the admin: {events}");
    }
    let theirs = up.operator_ok("GET", &format!("/service-windows/{other_window}"), None);
    assert_eq!(theirs["title"], "Grannbys serverflytt", "{theirs}");
}
