//! The admin console's day-to-day sections on a real `hamn up`: the operator API sets the
//! scene (a colleague in Demo kommun with a direct entitlement, another tenant with a
//! window and a user), Chromium opens the colleague's app and drives the console as the
//! seeded tenant-admin `admin` (`tests/browser/admin_operations.mjs`), and the API and the
//! public calendar then show what the clicks did: the announced window in
//! `/status/calendar.ics`, the colleague's access gone, every step audited as the admin.

use std::process::Command;

use serde_json::{Value, json};

use crate::support::{HamnUp, TempDir, repo};

/// The admin API as the operator (the dev PKI's mTLS client certificate).
struct Operator<'a> {
    up: &'a HamnUp,
    base: String,
}

impl Operator<'_> {
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let certs = self.up.certs();
        let cert = certs.join("api-operator.crt").display().to_string();
        let key = certs.join("api-operator.key").display().to_string();
        let body = body.map(|b| b.to_string());
        let mut args = vec!["--cert", &cert, "--key", &key, "-X", method];
        if let Some(body) = &body {
            args.extend(["-H", "content-type: application/json", "-d", body]);
        }
        let (code, text) = self.up.curl(&args, &format!("{}{path}", self.base));
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (code, value)
    }

    fn create(&self, path: &str, body: Value) -> String {
        let (code, answer) = self.call("POST", path, Some(body));
        assert_eq!(code, 201, "POST {path}: {answer}");
        id(&answer)
    }

    fn get(&self, path: &str) -> Value {
        let (code, answer) = self.call("GET", path, None);
        assert_eq!(code, 200, "GET {path}: {answer}");
        answer
    }
}

fn id(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_owned()
}

/// A user of `tenant` with a direct entitlement to `app` (so the demo login takes them).
fn entitled_user(op: &Operator, tenant: &str, app: &str, name_id: &str, display: &str) -> String {
    let user = op.create(
        &format!("/api/v1/tenants/{tenant}/users"),
        json!({"name_id": name_id, "display_name": display}),
    );
    op.create(
        &format!("/api/v1/apps/{app}/entitlements"),
        json!({"user_id": user}),
    );
    user
}

#[test]
fn a_tenant_admin_runs_the_day_to_day_from_the_console() {
    let up = HamnUp::start(&[]);
    let gateway = format!("https://localhost:{}", up.ports.gateway);
    let op = Operator {
        up: &up,
        base: format!("https://127.0.0.1:{}", up.ports.broker),
    };
    let tenants = op.get("/api/v1/tenants");
    let demo = tenants["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["slug"] == "demo")
        .map(id)
        .unwrap_or_else(|| panic!("no demo tenant in {tenants}"));
    let apps = op.get(&format!("/api/v1/tenants/{demo}/apps"));
    let procapita = apps["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["display_name"] == "Procapita")
        .map(id)
        .unwrap_or_else(|| panic!("no Procapita in {apps}"));
    let bertil = entitled_user(&op, &demo, &procapita, "bertil", "Bertil Berg");
    let users = op.get(&format!("/api/v1/tenants/{demo}/users"));
    let admin = users["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|u| u["name_id"] == "admin")
        .map(id)
        .unwrap_or_else(|| panic!("the demo seed has no admin: {users}"));

    // Another tenant, made by the operator: nothing of it may reach Demo kommun's admin.
    let other = op.create(
        "/api/v1/tenants",
        json!({"slug": "grannby", "name": "Grannby kommun"}),
    );
    let other_env = op.create(
        &format!("/api/v1/tenants/{other}/environments"),
        json!({"kind": "PROD"}),
    );
    let in_nine_days = time::OffsetDateTime::now_utc() + time::Duration::days(9);
    let rfc = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .expect("format")
    };
    let other_window = op.create(
        &format!("/api/v1/environments/{other_env}/service-windows"),
        json!({"title": "Grannbys serverflytt", "starts_at": rfc(in_nine_days), "ends_at": rfc(in_nine_days + time::Duration::hours(3))}),
    );
    let other_user = op.create(
        &format!("/api/v1/tenants/{other}/users"),
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
    let output = Command::new("node")
        .arg(repo().join("tests/browser/admin_operations.mjs"))
        .arg(&gateway)
        .arg(&config)
        .current_dir(repo().join("tests"))
        .output()
        .expect("run node (./scripts/test installs it)");
    assert!(
        output.status.success(),
        "admin operations in Chromium: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
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
    let entitlements = op.get(&format!("/api/v1/apps/{procapita}/entitlements"));
    assert!(
        !entitlements.to_string().contains(&bertil),
        "{entitlements}"
    );
    let review = op.get(&format!("/api/v1/tenants/{demo}/access-review"));
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
        let events = op.get(&format!("/api/v1/audit?tenant_id={demo}&action={action}"));
        let by_admin = events["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["actor_kind"] == "user" && e["actor_id"] == admin.as_str())
            .count();
        assert!(by_admin >= 1, "{action} not audited as the admin: {events}");
    }
    let theirs = op.get(&format!("/api/v1/service-windows/{other_window}"));
    assert_eq!(theirs["title"], "Grannbys serverflytt", "{theirs}");
}
