//! Placement by load and fair use on both databases, through the public API: host agents
//! report load (and nothing else), fresh reports steer placement and stale ones do not,
//! the logon-storm limit refuses with a retry time, the capacity alarm audits its
//! transitions, tenant and user limits refuse launches with when to retry, API requests
//! over a tenant's limit get 429, and two broker instances on one database launching at
//! once keep every limit.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use hamn_broker::db::{Database, DatabaseConfig};
use hamn_broker::launch::{LaunchError, issue_launch_ticket};
use hamn_broker::model::SessionState;
use hamn_broker::repo;
use hamn_broker::ticket::LaunchPath;
use serde_json::json;
use uuid::Uuid;

use crate::both;
use crate::placement::{issuer, live_per_host, pool_of_three};
use crate::support::{Backend, Harness, client_cert};

async fn put_ok(h: &Harness, path: &str, body: serde_json::Value) -> serde_json::Value {
    let r = h.op(Method::PUT, path, Some(body)).await;
    assert_eq!(r.status, StatusCode::OK, "PUT {path}: {:#}", r.json);
    r.json
}

async fn set_all_sessions(h: &Harness, state: SessionState) {
    let mut conn = h.db().pool().acquire().await.expect("conn");
    let rows: Vec<(String,)> = sqlx::query_as("SELECT id FROM sessions WHERE state <> 'ended'")
        .fetch_all(&mut *conn)
        .await
        .expect("sessions");
    for (id,) in rows {
        repo::sessions::set_state(
            &mut conn,
            id.parse().expect("uuid"),
            state,
            time::OffsetDateTime::now_utc(),
        )
        .await
        .expect("state");
    }
}

/// Waits, when needed, so the next `need_s` seconds stay in one counting minute.
async fn inside_one_minute(need_s: u32) {
    let now = hamn_broker::db::row::millis(time::OffsetDateTime::now_utc());
    let (_, left) = hamn_broker::fair_use::window(now);
    if left < need_s {
        tokio::time::sleep(std::time::Duration::from_millis(
            u64::from(left) * 1000 + 50,
        ))
        .await;
    }
}

async fn host_agents_report_only_their_own_host(b: Backend) {
    let h = Harness::new(b).await;
    let (ids, hosts, _) = pool_of_three(&h, 4, 0).await;
    let agent_cn = format!("agent-{}", Uuid::now_v7().simple());
    let client = h
        .create(
            "/api/v1/api-clients",
            json!({"name": "rdsh01 agent", "subject_cn": agent_cn, "scope": "host_agent", "host_id": hosts[0]}),
        )
        .await;
    let agent = client_cert(&agent_cn);
    let report = json!({"sessions": 3, "cpu_percent": 42.5, "memory_percent": 61.25});

    let r = h
        .as_(
            &agent,
            Method::PUT,
            &format!("/api/v1/hosts/{}/load", hosts[0]),
            Some(report.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.json);
    assert_eq!(r.json["sessions"], 3);
    assert_eq!(r.json["cpu_percent"], 42.5);
    assert_eq!(r.json["memory_percent"], 61.25);
    let r = h
        .as_(
            &agent,
            Method::GET,
            &format!("/api/v1/hosts/{}/load", hosts[0]),
            None,
        )
        .await;
    assert_eq!(
        (r.status, r.json["sessions"].as_i64()),
        (StatusCode::OK, Some(3))
    );
    let me = h.as_(&agent, Method::GET, "/api/v1/whoami", None).await;
    assert_eq!(me.json["scope"], "host_agent", "{:#}", me.json);
    assert_eq!(me.json["host_id"], hosts[0].to_string());
    // Its own host's commands and build report; a command id it cannot see is 404.
    let r = h
        .as_(
            &agent,
            Method::GET,
            &format!("/api/v1/hosts/{}/commands", hosts[0]),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.json);
    assert_eq!(r.json["items"], json!([]));
    let r = h
        .as_(
            &agent,
            Method::PUT,
            &format!("/api/v1/hosts/{}/version", hosts[0]),
            Some(json!({"version": "2026.12"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.json);
    assert_eq!(r.json["version"], "2026.12");
    let r = h
        .as_(
            &agent,
            Method::POST,
            &format!("/api/v1/host-commands/{}/report", Uuid::now_v7()),
            Some(json!({"state": "done", "outcome": "logged off"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{:#}", r.json);

    // Another host's load, any other resource: refused and audited.
    for (method, path, body) in [
        (
            Method::PUT,
            format!("/api/v1/hosts/{}/load", hosts[1]),
            Some(report.clone()),
        ),
        (Method::GET, "/api/v1/tenants".to_owned(), None),
        (
            Method::GET,
            format!("/api/v1/hosts/{}/commands", hosts[1]),
            None,
        ),
        (Method::GET, format!("/api/v1/hosts/{}", hosts[0]), None),
        (
            Method::GET,
            format!("/api/v1/pools/{}/capacity", ids.pool),
            None,
        ),
    ] {
        let r = h.as_(&agent, method.clone(), &path, body).await;
        assert_eq!(
            r.status,
            StatusCode::FORBIDDEN,
            "{method} {path}: {:#}",
            r.json
        );
    }
    let refusals = h.audit("action=api.auth_refused").await;
    assert!(refusals.len() >= 4, "{refusals:#?}");

    // Tenant clients may not report load.
    h.create("/api/v1/api-clients", json!({"name": "Demo", "subject_cn": "demo-tenant-client", "scope": "tenant", "tenant_id": ids.tenant})).await;
    let tenant = client_cert("demo-tenant-client");
    let r = h
        .as_(
            &tenant,
            Method::PUT,
            &format!("/api/v1/hosts/{}/load", hosts[0]),
            Some(report.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:#}", r.json);

    // Bad reports and bad clients name the field.
    let r = h
        .op(
            Method::PUT,
            &format!("/api/v1/hosts/{}/load", hosts[0]),
            Some(json!({"sessions": 1, "cpu_percent": 150, "memory_percent": -1})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:#}", r.json);
    let fields: Vec<_> = r.json["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fields, ["cpu_percent", "memory_percent"]);
    let r = h
        .op(
            Method::PUT,
            &format!("/api/v1/hosts/{}/load", Uuid::now_v7()),
            Some(report.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    for (body, field) in [
        (
            json!({"name": "x", "subject_cn": "x1", "scope": "host_agent"}),
            "host_id",
        ),
        (
            json!({"name": "x", "subject_cn": "x2", "scope": "host_agent", "host_id": hosts[0], "tenant_id": ids.tenant}),
            "tenant_id",
        ),
        (
            json!({"name": "x", "subject_cn": "x3", "scope": "operator", "host_id": hosts[0]}),
            "host_id",
        ),
        (
            json!({"name": "x", "subject_cn": "x4", "scope": "host_agent", "host_id": Uuid::now_v7()}),
            "host_id",
        ),
    ] {
        let r = h.op(Method::POST, "/api/v1/api-clients", Some(body)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:#}", r.json);
        assert_eq!(r.json["errors"][0]["field"], field, "{:#}", r.json);
    }
    // A disabled agent is refused like any client.
    let r = h
        .op(
            Method::PATCH,
            &format!("/api/v1/api-clients/{client}"),
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = h
        .as_(
            &agent,
            Method::PUT,
            &format!("/api/v1/hosts/{}/load", hosts[0]),
            Some(report),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    h.finish().await;
}
both!(host_agents_report_only_their_own_host);

async fn fresh_load_reports_steer_placement_and_stale_ones_do_not(b: Backend) {
    let h = Harness::new(b).await;
    let (ids, hosts, users) = pool_of_three(&h, 10, 4).await;
    let issuer = issuer();
    // Host 0 reports a busy CPU and memory, host 1 a calm one, host 2 nothing.
    put_ok(
        &h,
        &format!("/api/v1/hosts/{}/load", hosts[0]),
        json!({"sessions": 0, "cpu_percent": 97, "memory_percent": 90}),
    )
    .await;
    put_ok(
        &h,
        &format!("/api/v1/hosts/{}/load", hosts[1]),
        json!({"sessions": 0, "cpu_percent": 3, "memory_percent": 5}),
    )
    .await;
    // Weigh CPU and memory only: host 1 (calm) is lighter than host 2 (no report, load 0
    // by sessions alone is a tie with nothing) — so put one session on host 2 first.
    let settings = put_ok(
        &h,
        &format!("/api/v1/pools/{}/placement", ids.pool),
        json!({"weight_sessions": 10, "weight_cpu": 60, "weight_memory": 30}),
    )
    .await;
    assert_eq!(settings["weight_cpu"], 60);
    assert_eq!(settings["max_logons_per_host"], 10, "unchanged default");
    let first = issue_launch_ticket(h.db(), &issuer, users[0], ids.app_prod, LaunchPath::Browser)
        .await
        .expect("launch");
    assert_ne!(
        first.host.id, hosts[0],
        "never the busy host while others are calm"
    );
    for user in &users[1..3] {
        let t = issue_launch_ticket(h.db(), &issuer, *user, ids.app_prod, LaunchPath::Browser)
            .await
            .expect("launch");
        assert_ne!(t.host.id, hosts[0], "busy host avoided");
    }
    // The busy host's report grows old: placement goes back to sessions alone, and the
    // host with no sessions wins.
    let mut conn = h.db().pool().acquire().await.expect("conn");
    sqlx::query("UPDATE host_load_reports SET reported_at = reported_at - 600000")
        .execute(&mut *conn)
        .await
        .expect("age reports");
    drop(conn);
    let t = issue_launch_ticket(h.db(), &issuer, users[3], ids.app_prod, LaunchPath::Browser)
        .await
        .expect("launch");
    assert_eq!(t.host.id, hosts[0], "a stale report is ignored");
    // An agent that sees more sessions than the broker fills the host for placement.
    put_ok(
        &h,
        &format!("/api/v1/hosts/{}/load", hosts[0]),
        json!({"sessions": 10, "cpu_percent": 1, "memory_percent": 1}),
    )
    .await;
    let cap = h
        .op(
            Method::GET,
            &format!("/api/v1/pools/{}/capacity", ids.pool),
            None,
        )
        .await;
    assert_eq!(cap.status, StatusCode::OK);
    assert_eq!(cap.json["capacity_usable"], 30);
    assert_eq!(
        cap.json["sessions_usable"].as_u64(),
        Some(10 + 3),
        "{:#}",
        cap.json
    );
    h.finish().await;
}
both!(fresh_load_reports_steer_placement_and_stale_ones_do_not);

async fn the_storm_limit_refuses_with_a_retry_time(b: Backend) {
    let h = Harness::new(b).await;
    let (ids, hosts, users) = pool_of_three(&h, 5, 4).await;
    let issuer = issuer();
    put_ok(
        &h,
        &format!("/api/v1/pools/{}/placement", ids.pool),
        json!({"max_logons_per_host": 1}),
    )
    .await;
    let mut used = std::collections::BTreeSet::new();
    for user in &users[..3] {
        let t = issue_launch_ticket(h.db(), &issuer, *user, ids.app_prod, LaunchPath::Browser)
            .await
            .expect("launch");
        used.insert(t.host.id);
    }
    assert_eq!(
        used,
        hosts.iter().copied().collect(),
        "one logon per host at a time"
    );
    let refused = issue_launch_ticket(h.db(), &issuer, users[3], ids.app_prod, LaunchPath::Browser)
        .await
        .expect_err("every host is logging someone on");
    assert!(
        matches!(refused, LaunchError::LogonStorm { retry_after_s: 10 }),
        "{refused:?}"
    );
    assert!(
        refused.message_sv().contains("Försök igen om 10 sekunder"),
        "{}",
        refused.message_sv()
    );
    assert!(refused.message_en().contains("try again in 10 seconds"));
    assert_eq!(refused.retry_after_s(), Some(10));
    let audit = h.audit("action=session.launch&outcome=refused").await;
    assert!(
        audit[0]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("retry after 10 s") && d.ends_with("refused: logon_storm")),
        "{:#}",
        audit[0]
    );
    // Logons finish: the next launch goes through.
    set_all_sessions(&h, SessionState::Active).await;
    issue_launch_ticket(h.db(), &issuer, users[3], ids.app_prod, LaunchPath::Browser)
        .await
        .expect("launch after the storm");
    let cap = h
        .op(
            Method::GET,
            &format!("/api/v1/pools/{}/capacity", ids.pool),
            None,
        )
        .await;
    assert_eq!(cap.json["logons_in_progress"], 1, "{:#}", cap.json);
    h.finish().await;
}
both!(the_storm_limit_refuses_with_a_retry_time);

async fn the_capacity_alarm_audits_its_transitions(b: Backend) {
    let h = Harness::new(b).await;
    let (ids, _, users) = pool_of_three(&h, 2, 6).await;
    let issuer = issuer();
    put_ok(
        &h,
        &format!("/api/v1/pools/{}/placement", ids.pool),
        json!({"capacity_alarm_percent": null, "capacity_alarm_seats": 2}),
    )
    .await;
    let mut sessions = Vec::new();
    for user in &users[..4] {
        sessions.push(
            issue_launch_ticket(h.db(), &issuer, *user, ids.app_prod, LaunchPath::Browser)
                .await
                .expect("launch")
                .session
                .id,
        );
    }
    assert!(
        h.audit("action=pool.capacity_low").await.is_empty(),
        "2 of 6 free is not under 2"
    );
    for user in &users[4..6] {
        sessions.push(
            issue_launch_ticket(h.db(), &issuer, *user, ids.app_prod, LaunchPath::Browser)
                .await
                .expect("launch")
                .session
                .id,
        );
    }
    let low = h.audit("action=pool.capacity_low").await;
    assert_eq!(low.len(), 1, "one event per transition: {low:#?}");
    assert_eq!(low[0]["target_id"], ids.pool.to_string());
    assert_eq!(low[0]["actor_kind"], "system");
    let cap = h
        .op(
            Method::GET,
            &format!("/api/v1/pools/{}/capacity", ids.pool),
            None,
        )
        .await;
    assert_eq!(cap.status, StatusCode::OK);
    assert_eq!(
        (
            cap.json["free"].as_u64(),
            cap.json["capacity_low"].as_bool(),
            cap.json["capacity_usable"].as_u64()
        ),
        (Some(0), Some(true), Some(6)),
        "{:#}",
        cap.json
    );
    assert!(cap.json["capacity_changed_at"].is_string());
    // A sweep while still low changes nothing.
    assert_eq!(
        hamn_broker::janitor::load_sweep(h.db(), time::OffsetDateTime::now_utc())
            .await
            .expect("sweep"),
        0
    );
    // Three sessions end; the janitor's sweep notices the recovery.
    let mut conn = h.db().pool().acquire().await.expect("conn");
    for id in &sessions[..3] {
        repo::sessions::set_state(
            &mut conn,
            *id,
            SessionState::Ended,
            time::OffsetDateTime::now_utc(),
        )
        .await
        .expect("end");
    }
    drop(conn);
    assert_eq!(
        hamn_broker::janitor::load_sweep(h.db(), time::OffsetDateTime::now_utc())
            .await
            .expect("sweep"),
        1
    );
    let ok = h.audit("action=pool.capacity_ok").await;
    assert_eq!(ok.len(), 1, "{ok:#?}");
    assert!(
        ok[0]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("3 of 6 usable seats free")),
        "{:#}",
        ok[0]
    );
    let cap = h
        .op(
            Method::GET,
            &format!("/api/v1/pools/{}/capacity", ids.pool),
            None,
        )
        .await;
    assert_eq!(cap.json["capacity_low"], false);
    // Settings are operators' business; a tenant client cannot read or change them.
    h.create("/api/v1/api-clients", json!({"name": "Demo", "subject_cn": "demo-cap-client", "scope": "tenant", "tenant_id": ids.tenant})).await;
    let tenant = client_cert("demo-cap-client");
    let r = h
        .as_(
            &tenant,
            Method::PUT,
            &format!("/api/v1/pools/{}/placement", ids.pool),
            Some(json!({"weight_cpu": 0})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = h
        .op(
            Method::PUT,
            &format!("/api/v1/pools/{}/placement", ids.pool),
            Some(json!({"weight_cpu": 101, "load_report_max_age_s": 0})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.json["errors"].as_array().map(Vec::len),
        Some(2),
        "{:#}",
        r.json
    );
    assert_eq!(h.audit("action=pool.placement_update").await.len(), 1);
    h.finish().await;
}
both!(the_capacity_alarm_audits_its_transitions);

async fn tenant_limits_refuse_launches_with_when_to_retry(b: Backend) {
    let h = Harness::new(b).await;
    let (ids, _, users) = pool_of_three(&h, 10, 5).await;
    let issuer = issuer();
    let limits = put_ok(
        &h,
        &format!("/api/v1/tenants/{}/limits", ids.tenant),
        json!({"max_sessions": 4, "max_sessions_per_user": 1}),
    )
    .await;
    assert_eq!(limits["max_sessions"], 4);
    assert!(limits["launches_per_minute"].is_null());
    inside_one_minute(10).await;

    // Per user: the second app is refused, a reconnect to the first is not.
    issue_launch_ticket(h.db(), &issuer, users[0], ids.app_prod, LaunchPath::Browser)
        .await
        .expect("launch");
    let e = issue_launch_ticket(h.db(), &issuer, users[0], ids.app_utb, LaunchPath::Browser)
        .await
        .expect_err("one per user");
    assert!(
        matches!(e, LaunchError::UserSessionLimit { limit: 1 }),
        "{e:?}"
    );
    assert!(e.message_sv().contains("1 sessioner"), "{}", e.message_sv());
    issue_launch_ticket(h.db(), &issuer, users[0], ids.app_prod, LaunchPath::Native)
        .await
        .expect("roaming is not a new session");
    // Per tenant.
    for user in &users[1..4] {
        issue_launch_ticket(h.db(), &issuer, *user, ids.app_prod, LaunchPath::Browser)
            .await
            .expect("launch");
    }
    let e = issue_launch_ticket(h.db(), &issuer, users[4], ids.app_prod, LaunchPath::Browser)
        .await
        .expect_err("tenant full");
    assert!(
        matches!(e, LaunchError::TenantSessionLimit { limit: 4 }),
        "{e:?}"
    );
    assert_eq!(
        e.retry_after_s(),
        Some(hamn_broker::fair_use::SESSION_LIMIT_RETRY_AFTER_S)
    );
    assert!(e.message_en().contains("limit of 4 concurrent sessions"));

    // Launches per minute: 5 granted so far this minute (the refusals are not counted).
    put_ok(
        &h,
        &format!("/api/v1/tenants/{}/limits", ids.tenant),
        json!({"max_sessions": null, "launches_per_minute": 6}),
    )
    .await;
    issue_launch_ticket(h.db(), &issuer, users[4], ids.app_prod, LaunchPath::Browser)
        .await
        .expect("the sixth launch");
    let e = issue_launch_ticket(h.db(), &issuer, users[1], ids.app_prod, LaunchPath::Browser)
        .await
        .expect_err("the seventh");
    let LaunchError::LaunchRateLimit {
        limit: 6,
        retry_after_s,
    } = e
    else {
        panic!("{e:?}")
    };
    assert!((1..=60).contains(&retry_after_s), "{retry_after_s}");
    assert!(
        e.message_sv()
            .contains(&format!("Försök igen om {retry_after_s} sekunder"))
    );

    let usage = h
        .op(
            Method::GET,
            &format!("/api/v1/tenants/{}/usage", ids.tenant),
            None,
        )
        .await;
    assert_eq!(usage.status, StatusCode::OK, "{:#}", usage.json);
    assert_eq!(usage.json["sessions"], 5, "{:#}", usage.json);
    assert_eq!(usage.json["max_sessions_of_a_user"], 1);
    assert_eq!(usage.json["launches_this_minute"], 6);
    assert_eq!(usage.json["limits"]["launches_per_minute"], 6);
    assert!(usage.json["limits"]["max_sessions"].is_null());

    // Tenants read their own limits and use, never another's, and cannot change them.
    let other = h.tenant_with_app("bjuv").await;
    h.create("/api/v1/api-clients", json!({"name": "Demo", "subject_cn": "demo-limits-client", "scope": "tenant", "tenant_id": ids.tenant})).await;
    let me = client_cert("demo-limits-client");
    for path in ["limits", "usage"] {
        let r = h
            .as_(
                &me,
                Method::GET,
                &format!("/api/v1/tenants/{}/{path}", ids.tenant),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        let r = h
            .as_(
                &me,
                Method::GET,
                &format!("/api/v1/tenants/{}/{path}", other.tenant),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
    }
    let r = h
        .as_(
            &me,
            Method::PUT,
            &format!("/api/v1/tenants/{}/limits", ids.tenant),
            Some(json!({"launches_per_minute": null})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = h
        .as_(
            &me,
            Method::PUT,
            &format!("/api/v1/tenants/{}/limits", other.tenant),
            Some(json!({})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = h
        .op(
            Method::PUT,
            &format!("/api/v1/tenants/{}/limits", ids.tenant),
            Some(json!({"max_sessions": -1})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:#}", r.json);
    let audit = h.audit("action=tenant.limits_update").await;
    assert_eq!(audit.len(), 2);
    assert_eq!(audit[0]["after"]["launches_per_minute"], 6);
    h.finish().await;
}
both!(tenant_limits_refuse_launches_with_when_to_retry);

async fn api_requests_over_the_tenant_limit_get_429(b: Backend) {
    let h = Harness::new(b).await;
    let f = h.tenant_with_app("ale").await;
    put_ok(
        &h,
        &format!("/api/v1/tenants/{}/limits", f.tenant),
        json!({"api_requests_per_minute": 3}),
    )
    .await;
    h.create("/api/v1/api-clients", json!({"name": "Ale RPA", "subject_cn": "ale-rpa", "scope": "tenant", "tenant_id": f.tenant})).await;
    let rpa = client_cert("ale-rpa");
    inside_one_minute(10).await;
    for _ in 0..3 {
        let r = h
            .as_(
                &rpa,
                Method::GET,
                &format!("/api/v1/tenants/{}", f.tenant),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
    }
    for _ in 0..3 {
        let r = h
            .as_(
                &rpa,
                Method::GET,
                &format!("/api/v1/tenants/{}", f.tenant),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{:#}", r.json);
        assert_eq!(r.content_type, "application/problem+json");
        let after = r.json["retry_after"].as_u64().expect("retry_after");
        assert!((1..=60).contains(&after));
        assert!(
            r.json["detail"]
                .as_str()
                .unwrap()
                .contains("3 API requests per minute")
        );
    }
    // Operators are not counted; the refusal is audited once per minute.
    let r = h
        .op(Method::GET, &format!("/api/v1/tenants/{}", f.tenant), None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let audit = h.audit("action=api.rate_limited").await;
    assert_eq!(audit.len(), 1, "{audit:#?}");
    assert_eq!(audit[0]["tenant_id"], f.tenant);
    let usage = h
        .op(
            Method::GET,
            &format!("/api/v1/tenants/{}/usage", f.tenant),
            None,
        )
        .await;
    assert_eq!(usage.json["api_requests_this_minute"], 6);
    h.finish().await;
}
both!(api_requests_over_the_tenant_limit_get_429);

/// Two broker instances, each with a connection pool of its own on the one database,
/// launch at once: no host over capacity, no host over its storm limit, the tenant's
/// session limit and launches per minute hold.
async fn two_brokers_launching_at_once_keep_every_limit(b: Backend) {
    let h = Harness::new(b).await;
    let (ids, hosts, users) = pool_of_three(&h, 4, 24).await;
    put_ok(
        &h,
        &format!("/api/v1/pools/{}/placement", ids.pool),
        json!({"max_logons_per_host": 3}),
    )
    .await;
    put_ok(
        &h,
        &format!("/api/v1/tenants/{}/limits", ids.tenant),
        json!({"max_sessions": 8, "launches_per_minute": 20}),
    )
    .await;
    inside_one_minute(10).await;
    let url = h.db().pool().connect_options().database_url.to_string();
    let second = Database::connect(&DatabaseConfig {
        url,
        max_connections: 5,
    })
    .await
    .expect("second broker");
    let brokers = [h.db().clone(), second.clone()];
    let issuer = issuer();
    let mut launches = tokio::task::JoinSet::new();
    for (n, user) in users.iter().enumerate() {
        let (db, issuer, app, user) = (
            brokers[n % 2].clone(),
            Arc::clone(&issuer),
            ids.app_prod,
            *user,
        );
        launches.spawn(async move {
            (
                user,
                issue_launch_ticket(&db, &issuer, user, app, LaunchPath::Browser).await,
            )
        });
    }
    let (mut placed, mut storm, mut tenant_full) = (0, 0, 0);
    let mut waiting = Vec::new();
    while let Some(r) = launches.join_next().await {
        let (user, r) = r.expect("task");
        if r.is_err() {
            waiting.push(user);
        }
        match r {
            Ok(_) => placed += 1,
            Err(LaunchError::LogonStorm { .. }) => storm += 1,
            Err(LaunchError::TenantSessionLimit { .. }) => tenant_full += 1,
            Err(other) => panic!("unexpected: {other}"),
        }
    }
    let per_host = live_per_host(&h).await;
    assert!(
        per_host.values().all(|&n| n <= 3),
        "storm limit 3 per host: {per_host:?}"
    );
    assert_eq!(
        placed, 8,
        "the tenant's 8 sessions: {per_host:?} storm {storm} full {tenant_full}"
    );
    assert_eq!(placed + storm + tenant_full, 24);
    let usage = h
        .op(
            Method::GET,
            &format!("/api/v1/tenants/{}/usage", ids.tenant),
            None,
        )
        .await;
    assert_eq!(usage.json["sessions"], 8);
    assert_eq!(
        usage.json["launches_this_minute"], 8,
        "refusals roll their count back"
    );

    // Logons finish, the session and storm limits go, hosts grow: now the launch rate is
    // what stops them (8 of 20 used this minute).
    set_all_sessions(&h, SessionState::Active).await;
    put_ok(
        &h,
        &format!("/api/v1/tenants/{}/limits", ids.tenant),
        json!({"max_sessions": null}),
    )
    .await;
    put_ok(
        &h,
        &format!("/api/v1/pools/{}/placement", ids.pool),
        json!({"max_logons_per_host": 0}),
    )
    .await;
    for host in &hosts {
        let r = h
            .op(
                Method::PATCH,
                &format!("/api/v1/hosts/{host}"),
                Some(json!({"capacity": 10})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
    }
    let mut launches = tokio::task::JoinSet::new();
    for (n, user) in waiting.iter().enumerate() {
        let (db, issuer, app, user) = (
            brokers[n % 2].clone(),
            Arc::clone(&issuer),
            ids.app_prod,
            *user,
        );
        launches.spawn(async move {
            issue_launch_ticket(&db, &issuer, user, app, LaunchPath::Browser).await
        });
    }
    let (mut placed, mut refused) = (0, 0);
    while let Some(r) = launches.join_next().await {
        match r.expect("task") {
            Ok(_) => placed += 1,
            Err(LaunchError::LaunchRateLimit { .. }) => refused += 1,
            Err(other) => panic!("unexpected: {other}"),
        }
    }
    let usage = h
        .op(
            Method::GET,
            &format!("/api/v1/tenants/{}/usage", ids.tenant),
            None,
        )
        .await;
    assert_eq!(usage.json["launches_this_minute"], 20, "{:#}", usage.json);
    assert_eq!((placed, refused), (12, 4), "20 launches this minute in all");
    let per_host = live_per_host(&h).await;
    assert_eq!(per_host.values().sum::<usize>(), 20);
    assert!(
        per_host.values().all(|&n| n <= 10),
        "capacity 10 per host: {per_host:?}"
    );
    second.close().await;
    h.finish().await;
}
both!(two_brokers_launching_at_once_keep_every_limit);
