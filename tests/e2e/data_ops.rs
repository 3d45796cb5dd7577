//! Customer-ordered data operations through `hamn admin` on a real `hamn up` (mTLS, the
//! operator's certificate): copy PROD's configuration to UTB, refuse a second copy (409,
//! exit 1), purge a user after a wrong confirmation was refused, then `hamn audit verify`
//! on the running installation's database still reports the chain intact and the purge's
//! own event names the user only by pseudonym.

use std::process::Command;

use serde_json::json;

use crate::support::{HamnUp, hamn_bin};

/// `hamn admin --json ARGS` against `up`'s broker: (exit code, stdout, stderr).
fn admin(up: &HamnUp, args: &[&str]) -> (Option<i32>, String, String) {
    let output = Command::new(hamn_bin())
        .args(["admin", "--json", "--data-dir"])
        .arg(&up.data.0)
        .args(["--url", &format!("https://127.0.0.1:{}", up.ports.broker)])
        .args(args)
        .output()
        .expect("run hamn admin");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn copy_and_purge_through_the_cli_keep_the_audit_chain_intact() {
    let up = HamnUp::start(&[]);
    let tenant = up.operator_create("/tenants", json!({"slug": "ostby", "name": "Östby kommun"}));
    let prod = up.operator_create(
        &format!("/tenants/{tenant}/environments"),
        json!({"kind": "PROD"}),
    );
    up.operator_create(
        &format!("/tenants/{tenant}/environments"),
        json!({"kind": "UTB"}),
    );
    let pool = up.operator_create("/pools", json!({"name": "ostby-pool"}));
    let app = up.operator_create(
        &format!("/tenants/{tenant}/apps"),
        json!({"environment_id": prod, "pool_id": pool, "display_name": "Procapita",
               "kind": "program", "program": "||procapita"}),
    );
    let group = up.operator_create(
        &format!("/tenants/{tenant}/groups"),
        json!({"name": "Alla"}),
    );
    up.operator_create(
        &format!("/apps/{app}/entitlements"),
        json!({"group_id": group}),
    );
    let user = up.operator_create(
        &format!("/tenants/{tenant}/users"),
        json!({"name_id": "olle@ostby", "display_name": "Olle Östling"}),
    );
    up.operator_ok("PUT", &format!("/groups/{group}/members/{user}"), None);

    let (code, out, err) = admin(
        &up,
        &[
            "tenants",
            "copy-environment",
            &tenant,
            "from=PROD",
            "to=UTB",
        ],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    let copied: serde_json::Value = serde_json::from_str(&out).expect("JSON answer");
    assert_eq!(copied["apps_created"], 1, "{copied:#}");
    assert_eq!(copied["group_entitlements"], 1, "{copied:#}");
    let (code, _, err) = admin(
        &up,
        &[
            "tenants",
            "copy-environment",
            &tenant,
            "from=PROD",
            "to=UTB",
        ],
    );
    assert_eq!(
        code,
        Some(1),
        "a second copy onto a non-empty UTB is refused: {err}"
    );

    let (code, _, err) = admin(&up, &["users", "purge", &user]);
    assert_eq!(code, Some(1), "purge without confirm: {err}");
    assert!(err.contains("confirm="), "{err}");
    let (code, _, _) = admin(&up, &["users", "purge", &user, "confirm=someone-else"]);
    assert_eq!(code, Some(1), "a wrong confirmation purges nothing");
    let (code, out, err) = admin(&up, &["users", "purge", &user, "confirm=olle@ostby"]);
    assert_eq!(code, Some(0), "{out}{err}");
    let purged: serde_json::Value = serde_json::from_str(&out).expect("JSON answer");
    assert_eq!(purged["users"], 1, "{purged:#}");
    assert_eq!(purged["group_memberships"], 1, "{purged:#}");

    let events = up.operator_ok("GET", "/audit?action=user.purge", None);
    let target = events["items"][0]["target_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(target.starts_with("p:") && target.len() == 34, "{events:#}");
    let everything = up.operator_ok("GET", "/audit?limit=500", None).to_string();
    assert!(
        !everything.contains("Olle"),
        "the name is gone from the trail"
    );
    assert!(!everything.contains(&user), "so is the id");

    let verify = Command::new(hamn_bin())
        .args(["audit", "verify", "--data-dir"])
        .arg(&up.data.0)
        .output()
        .expect("run hamn audit verify");
    let stdout = String::from_utf8_lossy(&verify.stdout);
    assert_eq!(
        verify.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    assert!(stdout.contains("audit chain intact"), "{stdout}");
}
