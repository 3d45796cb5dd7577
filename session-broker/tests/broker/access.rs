//! Access control on both databases: web-session lifetimes per tenant with a clock the
//! test holds (idle, absolute, shortened for live sessions), roles assigned directly and
//! granted by groups (and who may grant operator), the access review as JSON and CSV
//! (CSV-injection safe, every export audited, other tenants 404), the one-step revoke
//! (one transaction, launch refused after it), DB-backed login backoff shared by two
//! pools as by two gateway nodes, and security events raised from refused audit events.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use hamn_broker::api::Scope;
use hamn_broker::db::row::now;
use hamn_broker::launch::{LaunchError, issue_launch_ticket};
use hamn_broker::model::{
    ActorKind, AuditOutcome, LoginMethod, NewAuditEvent, NewEntitlement, NewUser, Role,
    SecurityEventKind,
};
use hamn_broker::security::{self, DetectionPolicy};
use hamn_broker::seed::{self, DemoSeed};
use hamn_broker::throttle::{self, Attempt, ThrottlePolicy, Verdict};
use hamn_broker::ticket::{LaunchPath, TicketIssuer, TicketKeys};
use hamn_broker::web_session::{self, WebSessionPolicy};
use hamn_broker::{repo, roles};
use serde_json::json;

use crate::both;
use crate::support::{Backend, Harness, client_cert, fields, id_of};

async fn user(h: &Harness, tenant: &str, name: &str, display: &str) -> String {
    h.create(
        &format!("/api/v1/tenants/{tenant}/users"),
        json!({"name_id": name, "display_name": display}),
    )
    .await
}

async fn get_user(h: &Harness, id: uuid::Uuid) -> hamn_broker::model::User {
    let mut conn = h.db().acquire().await.expect("conn");
    repo::users::get(&mut conn, id)
        .await
        .expect("user")
        .expect("exists")
}

async fn web_sessions_follow_the_tenants_lifetimes(b: Backend) {
    let h = Harness::new(b).await;
    let ids = seed::demo(h.db(), DemoSeed::default()).await.expect("seed");
    let demo = get_user(&h, ids.user).await;
    let default = WebSessionPolicy::default();
    let t0 = now();

    // Defaults until the tenant sets its own.
    let settings = h
        .op(
            Method::GET,
            &format!("/api/v1/tenants/{}/web-session-settings", ids.tenant),
            None,
        )
        .await;
    assert_eq!(settings.status, StatusCode::OK, "{:#}", settings.json);
    assert_eq!(settings.json["idle_timeout_secs"], default.idle.as_secs());
    assert_eq!(settings.json["customised"], false);
    for (body, field) in [
        (
            json!({"idle_timeout_secs": 10, "max_lifetime_secs": 3600}),
            "idle_timeout_secs",
        ),
        (
            json!({"idle_timeout_secs": 600, "max_lifetime_secs": 10_000_000}),
            "max_lifetime_secs",
        ),
        (
            json!({"idle_timeout_secs": 7200, "max_lifetime_secs": 3600}),
            "idle_timeout_secs",
        ),
    ] {
        let bad = h
            .op(
                Method::PUT,
                &format!("/api/v1/tenants/{}/web-session-settings", ids.tenant),
                Some(body),
            )
            .await;
        assert_eq!(
            bad.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{:#}",
            bad.json
        );
        assert_eq!(fields(&bad.json), [field]);
    }
    let set = h
        .op(
            Method::PUT,
            &format!("/api/v1/tenants/{}/web-session-settings", ids.tenant),
            Some(json!({"idle_timeout_secs": 120, "max_lifetime_secs": 600})),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{:#}", set.json);
    assert_eq!(set.json["customised"], true);
    assert_eq!(h.audit("action=tenant.web_session_settings").await.len(), 1);

    // Idle: used within 120 s it lives on; 120 s unused it is gone.
    let (token, s) =
        web_session::login_at(h.db(), default, &demo, LoginMethod::Demo, None, None, t0)
            .await
            .expect("login");
    assert_eq!(s.expires_at, t0 + time::Duration::seconds(600));
    assert_eq!(s.idle_expires_at, t0 + time::Duration::seconds(120));
    let at = |secs: i64| t0 + time::Duration::seconds(secs);
    for step in [100, 200, 300, 400, 500] {
        assert!(
            web_session::authenticate_at(h.db(), default, &token, at(step))
                .await
                .expect("auth")
                .is_some(),
            "used every 100 s, alive at {step} s"
        );
    }
    // Absolute: 600 s after login, however busy.
    assert!(
        web_session::authenticate_at(h.db(), default, &token, at(600))
            .await
            .expect("auth")
            .is_none(),
        "the absolute lifetime holds"
    );
    let (idle_token, _) =
        web_session::login_at(h.db(), default, &demo, LoginMethod::Demo, None, None, t0)
            .await
            .expect("login");
    assert!(
        web_session::authenticate_at(h.db(), default, &idle_token, at(120))
            .await
            .expect("auth")
            .is_none(),
        "120 s idle ends it"
    );

    // Shortening applies to a live session at its next use.
    let (live, _) = web_session::login_at(
        h.db(),
        default,
        &demo,
        LoginMethod::Demo,
        None,
        None,
        at(1000),
    )
    .await
    .expect("login");
    h.op(
        Method::PUT,
        &format!("/api/v1/tenants/{}/web-session-settings", ids.tenant),
        Some(json!({"idle_timeout_secs": 60, "max_lifetime_secs": 300})),
    )
    .await;
    assert!(
        web_session::authenticate_at(h.db(), default, &live, at(1090))
            .await
            .expect("auth")
            .is_none(),
        "90 s idle is past the new 60 s"
    );
    // Back to the defaults.
    let reset = h
        .op(
            Method::DELETE,
            &format!("/api/v1/tenants/{}/web-session-settings", ids.tenant),
            None,
        )
        .await;
    assert_eq!(reset.status, StatusCode::NO_CONTENT);
    let (fresh, s) = web_session::login_at(
        h.db(),
        default,
        &demo,
        LoginMethod::Demo,
        None,
        None,
        at(2000),
    )
    .await
    .expect("login");
    assert_eq!(
        s.expires_at,
        at(2000) + time::Duration::try_from(default.max).expect("d")
    );
    assert!(
        web_session::authenticate_at(h.db(), default, &fresh, at(2500))
            .await
            .expect("auth")
            .is_some()
    );

    // Another tenant's settings do not exist for a tenant client.
    let other = h.tenant_with_app("other").await;
    h.create("/api/v1/api-clients", json!({"name": "Demo", "subject_cn": "demo-client", "scope": "tenant", "tenant_id": ids.tenant})).await;
    let me = client_cert("demo-client");
    let hidden = h
        .as_(
            &me,
            Method::GET,
            &format!("/api/v1/tenants/{}/web-session-settings", other.tenant),
            None,
        )
        .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    h.finish().await;
}
both!(web_sessions_follow_the_tenants_lifetimes);

async fn roles_are_assigned_or_granted_by_groups(b: Backend) {
    let h = Harness::new(b).await;
    let a = h.tenant_with_app("ale").await;
    let other = h.tenant_with_app("bjuv").await;
    let anna = user(&h, &a.tenant, "anna@ale", "Anna").await;
    let bo = user(&h, &a.tenant, "bo@ale", "Bo").await;
    let stranger = user(&h, &other.tenant, "s@bjuv", "S").await;

    let r = h
        .op(Method::GET, &format!("/api/v1/users/{anna}/role"), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.json);
    assert_eq!(
        (r.json["direct"].clone(), r.json["effective"].clone()),
        (json!("user"), json!("user"))
    );
    let set = h
        .op(
            Method::PUT,
            &format!("/api/v1/users/{anna}/role"),
            Some(json!({"role": "tenant_admin"})),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{:#}", set.json);
    assert_eq!(set.json["effective"], "tenant_admin");
    let bad = h
        .op(
            Method::PUT,
            &format!("/api/v1/users/{anna}/role"),
            Some(json!({"role": "king"})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(fields(&bad.json), ["role"]);

    // A group grants its role to every member.
    let admins = h
        .create(
            &format!("/api/v1/tenants/{}/groups", a.tenant),
            json!({"name": "IT", "external_id": "cn=it", "grants_role": "tenant_admin"}),
        )
        .await;
    let refused = h
        .op(
            Method::POST,
            &format!("/api/v1/tenants/{}/groups", a.tenant),
            Some(json!({"name": "X", "grants_role": "user"})),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&refused.json), ["grants_role"]);
    let added = h
        .op(
            Method::PUT,
            &format!("/api/v1/groups/{admins}/members/{bo}"),
            None,
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED);
    let bo_roles = h
        .op(Method::GET, &format!("/api/v1/users/{bo}/role"), None)
        .await;
    assert_eq!(bo_roles.json["direct"], "user");
    assert_eq!(bo_roles.json["effective"], "tenant_admin");
    assert_eq!(bo_roles.json["via_groups"][0]["group_id"], admins);

    // Roles map to admin API scopes.
    let bo_user = get_user(&h, bo.parse().expect("uuid")).await;
    let mut conn = h.db().acquire().await.expect("conn");
    let caller = roles::caller_for_user(&mut conn, &bo_user, None)
        .await
        .expect("caller")
        .expect("admin");
    assert_eq!(caller.scope, Scope::Tenant(bo_user.tenant_id));
    assert_eq!(caller.actor_kind(), ActorKind::User);
    let s_user = get_user(&h, stranger.parse().expect("uuid")).await;
    assert!(
        roles::caller_for_user(&mut conn, &s_user, None)
            .await
            .expect("caller")
            .is_none()
    );
    drop(conn);

    // A tenant client administers roles of its tenant only, and never makes operators.
    h.create(
        "/api/v1/api-clients",
        json!({"name": "Ale", "subject_cn": "ale-roles", "scope": "tenant", "tenant_id": a.tenant}),
    )
    .await;
    let me = client_cert("ale-roles");
    let op = h
        .as_(
            &me,
            Method::PUT,
            &format!("/api/v1/users/{bo}/role"),
            Some(json!({"role": "operator"})),
        )
        .await;
    assert_eq!(op.status, StatusCode::FORBIDDEN);
    let op_group = h
        .as_(
            &me,
            Method::POST,
            &format!("/api/v1/tenants/{}/groups", a.tenant),
            Some(json!({"name": "Ops", "grants_role": "operator"})),
        )
        .await;
    assert_eq!(op_group.status, StatusCode::FORBIDDEN);
    let foreign = h
        .as_(
            &me,
            Method::PUT,
            &format!("/api/v1/users/{stranger}/role"),
            Some(json!({"role": "tenant_admin"})),
        )
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    let foreign_get = h
        .as_(
            &me,
            Method::GET,
            &format!("/api/v1/users/{stranger}/role"),
            None,
        )
        .await;
    assert_eq!(foreign_get.status, StatusCode::NOT_FOUND);
    // Operators may; the operator group's members become operators (scope: all tenants).
    let ops = h
        .create(
            &format!("/api/v1/tenants/{}/groups", a.tenant),
            json!({"name": "Ops", "grants_role": "operator"}),
        )
        .await;
    let fill = h
        .as_(
            &me,
            Method::PUT,
            &format!("/api/v1/groups/{ops}/members/{anna}"),
            None,
        )
        .await;
    assert_eq!(
        fill.status,
        StatusCode::FORBIDDEN,
        "a tenant client cannot make an operator"
    );
    h.op(
        Method::PUT,
        &format!("/api/v1/groups/{ops}/members/{anna}"),
        None,
    )
    .await;
    let anna_user = get_user(&h, anna.parse().expect("uuid")).await;
    let mut conn = h.db().acquire().await.expect("conn");
    assert_eq!(
        roles::effective_role(&mut conn, &anna_user)
            .await
            .expect("role"),
        Role::Operator
    );
    drop(conn);
    assert_eq!(h.audit("action=user.role_set").await.len(), 1);
    h.finish().await;
}
both!(roles_are_assigned_or_granted_by_groups);

/// Anna: direct entitlement, member of Vård (entitled) and IT (not); Bo: no access, never
/// logged in, with a formula for a name; Cai: logged in, via Vård.
async fn access_review_lists_paths_as_json_and_safe_csv(b: Backend) {
    let h = Harness::new(b).await;
    let a = h.tenant_with_app("ale").await;
    let other = h.tenant_with_app("bjuv").await;
    let anna = user(&h, &a.tenant, "anna@ale", "Anna Andersson").await;
    let bo = user(&h, &a.tenant, "bo@ale", "=HYPERLINK(\"http://evil\")").await;
    let cai = user(&h, &a.tenant, "cai@ale", "Cai, Carlsson").await;
    let vard = h
        .create(
            &format!("/api/v1/tenants/{}/groups", a.tenant),
            json!({"name": "Vård"}),
        )
        .await;
    let it = h
        .create(
            &format!("/api/v1/tenants/{}/groups", a.tenant),
            json!({"name": "IT", "grants_role": "tenant_admin"}),
        )
        .await;
    for (g, u) in [(&vard, &anna), (&it, &anna), (&vard, &cai)] {
        h.op(
            Method::PUT,
            &format!("/api/v1/groups/{g}/members/{u}"),
            None,
        )
        .await;
    }
    h.create(
        &format!("/api/v1/apps/{}/entitlements", a.app),
        json!({"group_id": vard}),
    )
    .await;
    h.create(
        &format!("/api/v1/apps/{}/entitlements", a.app),
        json!({"user_id": anna}),
    )
    .await;
    // Cai logged in today.
    let cai_user = get_user(&h, cai.parse().expect("uuid")).await;
    web_session::login(
        h.db(),
        WebSessionPolicy::default(),
        &cai_user,
        LoginMethod::Demo,
        None,
    )
    .await
    .expect("login");

    let r = h
        .op(
            Method::GET,
            &format!("/api/v1/tenants/{}/access-review", a.tenant),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.json);
    let users = r.json["users"].as_array().expect("users");
    assert_eq!(users.len(), 3);
    let find = |id: &str| users.iter().find(|u| u["user_id"] == id).expect("listed");
    let anna_row = find(&anna);
    assert_eq!(anna_row["role"], "tenant_admin");
    let vias: Vec<(String, String)> = anna_row["access"]
        .as_array()
        .expect("access")
        .iter()
        .map(|p| {
            (
                p["via"].as_str().unwrap_or_default().to_owned(),
                p["group_name"].as_str().unwrap_or("-").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        vias,
        [
            ("direct".to_owned(), "-".to_owned()),
            ("group".to_owned(), "Vård".to_owned())
        ]
    );
    assert_eq!(anna_row["access"][0]["app_id"], a.app);
    assert_eq!(anna_row["groups"], json!(["IT", "Vård"]));
    assert_eq!(find(&bo)["access"], json!([]));
    assert_eq!(find(&bo)["unused"], true);
    assert_eq!(find(&cai)["unused"], false);
    assert!(find(&cai)["last_login_at"].is_string());

    // Unused accounts only.
    let unused = h
        .op(
            Method::GET,
            &format!("/api/v1/tenants/{}/access-review?unused_days=7", a.tenant),
            None,
        )
        .await;
    let listed: Vec<String> = unused.json["users"]
        .as_array()
        .expect("users")
        .iter()
        .map(|u| u["user_id"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        listed.contains(&bo) && listed.contains(&anna) && !listed.contains(&cai),
        "{listed:?}"
    );
    let bad = h
        .op(
            Method::GET,
            &format!("/api/v1/tenants/{}/access-review?unused_days=0", a.tenant),
            None,
        )
        .await;
    assert_eq!(fields(&bad.json), ["unused_days"]);
    let bad = h
        .op(
            Method::GET,
            &format!("/api/v1/tenants/{}/access-review?format=xml", a.tenant),
            None,
        )
        .await;
    assert_eq!(fields(&bad.json), ["format"]);

    // CSV: one line per path, formulas defused, separators quoted.
    let csv = h
        .op(
            Method::GET,
            &format!("/api/v1/tenants/{}/access-review?format=csv", a.tenant),
            None,
        )
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.content_type.starts_with("text/csv"),
        "{}",
        csv.content_type
    );
    let text = csv.json.as_str().expect("CSV text").to_owned();
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert!(
        lines[0].starts_with("user_id,name_id,display_name,"),
        "{}",
        lines[0]
    );
    assert_eq!(lines.len(), 1 + 2 + 1 + 1, "{text}");
    assert!(
        text.contains("\"'=HYPERLINK(\"\"http://evil\"\")\""),
        "{text}"
    );
    assert!(!text.contains(",=HYPERLINK"), "{text}");
    assert!(text.contains("\"Cai, Carlsson\""), "{text}");
    let exports = h.audit("action=access_review.export").await;
    assert_eq!(
        exports.len(),
        3,
        "two JSON, one CSV and nothing for refused queries"
    );
    assert_eq!(exports[0]["after"]["format"], "csv");
    assert_eq!(exports[0]["tenant_id"], a.tenant);

    // A tenant client: its own review; another tenant's is 404 (and not audited).
    h.create("/api/v1/api-clients", json!({"name": "Ale", "subject_cn": "ale-review", "scope": "tenant", "tenant_id": a.tenant})).await;
    let me = client_cert("ale-review");
    let own = h
        .as_(
            &me,
            Method::GET,
            &format!("/api/v1/tenants/{}/access-review", a.tenant),
            None,
        )
        .await;
    assert_eq!(own.status, StatusCode::OK);
    let theirs = h
        .as_(
            &me,
            Method::GET,
            &format!("/api/v1/tenants/{}/access-review", other.tenant),
            None,
        )
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    assert_eq!(h.audit("action=access_review.export").await.len(), 4);
    h.finish().await;
}
both!(access_review_lists_paths_as_json_and_safe_csv);

async fn revoke_takes_access_away_in_one_step(b: Backend) {
    let h = Harness::new(b).await;
    let ids = seed::demo(h.db(), DemoSeed::default()).await.expect("seed");
    let issuer = TicketIssuer::new(Arc::new(TicketKeys::generate().expect("key").0));
    // Launch honours both kinds of entitlement: the demo user through the demo group, a
    // second user directly.
    let direct = {
        let mut conn = h.db().acquire().await.expect("conn");
        let u = repo::users::insert(
            &mut conn,
            ids.tenant,
            &NewUser {
                name_id: "direkt".into(),
                hsa_id: None,
                display_name: "Direkt".into(),
            },
        )
        .await
        .expect("user");
        repo::entitlements::insert(
            &mut conn,
            ids.tenant,
            ids.app_prod,
            &NewEntitlement {
                group_id: None,
                user_id: Some(u.id),
            },
        )
        .await
        .expect("entitlement");
        u
    };
    for user in [ids.user, direct.id] {
        issue_launch_ticket(h.db(), &issuer, user, ids.app_prod, LaunchPath::Browser)
            .await
            .expect("entitled launch");
    }
    let not_direct =
        issue_launch_ticket(h.db(), &issuer, direct.id, ids.app_utb, LaunchPath::Browser).await;
    assert!(
        matches!(not_direct, Err(LaunchError::NotEntitled)),
        "{not_direct:?}"
    );

    let demo = get_user(&h, ids.user).await;
    h.op(
        Method::PUT,
        &format!("/api/v1/users/{}/role", ids.user),
        Some(json!({"role": "tenant_admin"})),
    )
    .await;
    web_session::login(
        h.db(),
        WebSessionPolicy::default(),
        &demo,
        LoginMethod::Demo,
        None,
    )
    .await
    .expect("login");
    web_session::login(
        h.db(),
        WebSessionPolicy::default(),
        &demo,
        LoginMethod::Demo,
        None,
    )
    .await
    .expect("login");

    // Another tenant's user is not there, whoever asks.
    let other = h.tenant_with_app("other").await;
    let stranger = user(&h, &other.tenant, "s@other", "S").await;
    let nope = h
        .op(
            Method::POST,
            &format!("/api/v1/tenants/{}/access-review/revoke", ids.tenant),
            Some(json!({"user_id": stranger})),
        )
        .await;
    assert_eq!(nope.status, StatusCode::NOT_FOUND, "{:#}", nope.json);

    for user in [ids.user, direct.id] {
        let r = h
            .op(
                Method::POST,
                &format!("/api/v1/tenants/{}/access-review/revoke", ids.tenant),
                Some(json!({"user_id": user})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:#}", r.json);
        if user == ids.user {
            assert_eq!(r.json["group_memberships"], 1);
            assert_eq!(r.json["direct_entitlements"], 0);
            assert_eq!(r.json["web_sessions"], 2);
            assert_eq!(r.json["role_removed"], "tenant_admin");
        } else {
            assert_eq!(r.json["direct_entitlements"], 1);
            assert_eq!(r.json["group_memberships"], 0);
        }
        let refused =
            issue_launch_ticket(h.db(), &issuer, user, ids.app_prod, LaunchPath::Browser).await;
        assert!(
            matches!(refused, Err(LaunchError::NotEntitled)),
            "{refused:?}"
        );
    }
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM web_sessions")
        .fetch_one(h.db().pool())
        .await
        .expect("count");
    assert_eq!(count, 0);
    let mut conn = h.db().acquire().await.expect("conn");
    assert_eq!(
        roles::effective_role(&mut conn, &demo).await.expect("role"),
        Role::User
    );
    drop(conn);
    let audited = h.audit("action=access.revoke").await;
    assert_eq!(audited.len(), 2);
    assert_eq!(audited[1]["target_id"], ids.user.to_string());
    assert_eq!(audited[1]["after"]["web_sessions"], 2);
    h.finish().await;
}
both!(revoke_takes_access_away_in_one_step);

async fn failed_logins_back_off_across_nodes(b: Backend) {
    let h = Harness::new(b).await;
    // A second pool on the same database stands in for a second gateway node.
    let node2 = h.t.db.clone();
    let policy = ThrottlePolicy::default();
    let t0 = now();
    let attempt = Attempt {
        source_address: Some("198.51.100.9"),
        account: Some("Demo"),
    };
    for i in 0..policy.account_free {
        let db = if i % 2 == 0 { h.db() } else { &node2 };
        assert_eq!(
            throttle::check(db, &attempt, t0).await.expect("check"),
            Verdict::Allowed
        );
        let v = throttle::record_failure(db, &policy, &attempt, t0)
            .await
            .expect("fail");
        assert_eq!(v, Verdict::Allowed, "failure {i} is free");
    }
    let v = throttle::record_failure(&node2, &policy, &attempt, t0)
        .await
        .expect("fail");
    let Verdict::Blocked { retry_after, .. } = v else {
        panic!("held back: {v:?}")
    };
    assert_eq!(retry_after, Duration::from_secs(2));
    // The same name in another case, from another address, is the same account.
    let elsewhere = Attempt {
        source_address: Some("203.0.113.5"),
        account: Some("demo"),
    };
    assert!(matches!(
        throttle::check(h.db(), &elsewhere, t0)
            .await
            .expect("check"),
        Verdict::Blocked { .. }
    ));
    // After the hold it may try again; one more failure doubles the hold.
    let later = t0 + time::Duration::seconds(2);
    assert_eq!(
        throttle::check(h.db(), &attempt, later)
            .await
            .expect("check"),
        Verdict::Allowed
    );
    let v = throttle::record_failure(h.db(), &policy, &attempt, later)
        .await
        .expect("fail");
    assert!(
        matches!(v, Verdict::Blocked { retry_after, .. } if retry_after == Duration::from_secs(4)),
        "{v:?}"
    );
    // A good login clears the account, not the address.
    throttle::record_success(h.db(), &attempt)
        .await
        .expect("success");
    let fresh = t0 + time::Duration::seconds(10);
    assert_eq!(
        throttle::check(h.db(), &elsewhere, fresh)
            .await
            .expect("check"),
        Verdict::Allowed
    );
    // The address has its own, larger allowance.
    let spray = |i: u32| format!("user{i}");
    let names: Vec<String> = (0..policy.address_free + 1).map(spray).collect();
    let mut last = Verdict::Allowed;
    for name in &names {
        let a = Attempt {
            source_address: Some("192.0.2.200"),
            account: Some(name),
        };
        last = throttle::record_failure(h.db(), &policy, &a, fresh)
            .await
            .expect("fail");
    }
    assert!(matches!(last, Verdict::Blocked { .. }), "{last:?}");
    let new_name = Attempt {
        source_address: Some("192.0.2.200"),
        account: Some("nobody-yet"),
    };
    assert!(matches!(
        throttle::check(h.db(), &new_name, fresh)
            .await
            .expect("check"),
        Verdict::Blocked { .. }
    ));
    // Failures an hour old are forgotten.
    let much_later = fresh + time::Duration::hours(2);
    let v = throttle::record_failure(h.db(), &policy, &new_name, much_later)
        .await
        .expect("fail");
    assert_eq!(v, Verdict::Allowed);
    h.finish().await;
}
both!(failed_logins_back_off_across_nodes);

fn refused_login(source: &str, name: &str, method: &str, reason: &str) -> NewAuditEvent {
    NewAuditEvent {
        tenant_id: None,
        actor_kind: ActorKind::Anonymous,
        actor_id: None,
        actor_name: name.into(),
        action: "user.login".into(),
        target_type: None,
        target_id: None,
        outcome: AuditOutcome::Refused,
        source_address: Some(source.into()),
        before: None,
        after: None,
        detail: Some(format!("method {method}; refused: {reason}")),
    }
}

const PROBER: &str = "0191b7a0-0000-7000-8000-000000000001";

async fn repeated_attack_patterns_raise_security_events(b: Backend) {
    let h = Harness::new(b).await;
    let policy = DetectionPolicy::default();
    {
        let mut conn = h.db().acquire().await.expect("conn");
        // What the SAML path will write: signature refusals and a replay, from one address.
        for _ in 0..policy.signature_failures {
            repo::audit::insert(
                &mut conn,
                &refused_login("198.51.100.1", "x", "saml", "signature_invalid"),
            )
            .await
            .expect("audit");
        }
        for _ in 0..policy.replays {
            repo::audit::insert(
                &mut conn,
                &refused_login("198.51.100.2", "y", "saml", "replayed_response"),
            )
            .await
            .expect("audit");
        }
        // Probing: many names from one address.
        for i in 0..policy.probing {
            repo::audit::insert(
                &mut conn,
                &refused_login("198.51.100.3", &format!("guess{i}"), "demo", "unknown_user"),
            )
            .await
            .expect("audit");
        }
        // Below every threshold: one refusal.
        repo::audit::insert(
            &mut conn,
            &refused_login("198.51.100.4", "z", "demo", "unknown_user"),
        )
        .await
        .expect("audit");
        // A logged-in user trying app after app they may not launch.
        for _ in 0..policy.probing {
            let mut e = refused_login("-", "Åsa", "-", "not_entitled");
            e.action = "session.launch".into();
            e.actor_kind = ActorKind::User;
            e.actor_id = Some(PROBER.into());
            e.source_address = None;
            e.target_id = Some(uuid::Uuid::now_v7().to_string());
            e.detail = Some("app x; refused: not_entitled".into());
            repo::audit::insert(&mut conn, &e).await.expect("audit");
        }
    }
    // The janitor (every minute, on any node) runs the detection.
    let swept = hamn_broker::janitor::sweep(h.db(), now())
        .await
        .expect("sweep");
    assert_eq!(swept.security_events, 4, "{swept:?}");
    let raised = h
        .op(Method::GET, "/api/v1/security-events?limit=10", None)
        .await;
    let raised: Vec<hamn_broker::model::SecurityEvent> =
        serde_json::from_value(raised.json["items"].clone()).expect("events");
    let mut kinds: Vec<(SecurityEventKind, String)> = raised
        .iter()
        .map(|e| (e.kind, e.source_address.clone().unwrap_or_default()))
        .collect();
    kinds.sort_by_key(|(k, s)| (k.as_str(), s.clone()));
    assert_eq!(
        kinds,
        [
            (SecurityEventKind::Probing, "198.51.100.3".to_owned()),
            (SecurityEventKind::Probing, format!("user:{PROBER}")),
            (SecurityEventKind::Replays, "198.51.100.2".to_owned()),
            (
                SecurityEventKind::SignatureFailures,
                "198.51.100.1".to_owned()
            ),
        ]
    );
    // Detecting again in the same window records nothing twice (any node may run it).
    assert!(
        security::detect(h.db(), &policy, now())
            .await
            .expect("detect")
            .is_empty()
    );
    assert_eq!(h.audit("action=security.event").await.len(), 4);

    let listed = h.op(Method::GET, "/api/v1/security-events", None).await;
    assert_eq!(listed.status, StatusCode::OK, "{:#}", listed.json);
    assert_eq!(listed.json["items"].as_array().map(Vec::len), Some(4));
    let sig = h
        .op(
            Method::GET,
            "/api/v1/security-events?kind=signature_failures",
            None,
        )
        .await;
    let id = id_of(&sig.json["items"][0]);
    assert_eq!(sig.json["items"][0]["count"], policy.signature_failures);
    let one = h
        .op(Method::GET, &format!("/api/v1/security-events/{id}"), None)
        .await;
    assert_eq!(one.status, StatusCode::OK);
    // Events without a tenant are for operators only.
    let t = h.tenant_with_app("ale").await;
    h.create(
        "/api/v1/api-clients",
        json!({"name": "Ale", "subject_cn": "ale-sec", "scope": "tenant", "tenant_id": t.tenant}),
    )
    .await;
    let me = client_cert("ale-sec");
    let theirs = h
        .as_(&me, Method::GET, "/api/v1/security-events", None)
        .await;
    assert_eq!(theirs.json["items"], json!([]));
    let hidden = h
        .as_(
            &me,
            Method::GET,
            &format!("/api/v1/security-events/{id}"),
            None,
        )
        .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    h.finish().await;
}
both!(repeated_attack_patterns_raise_security_events);
