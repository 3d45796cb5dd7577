//! Service windows and release rings on both databases, with a clock the test controls:
//! the 7-day notice and its emergency exception through the admin API (problem+json naming
//! the field), tenant scoping, weekly rules across a DST change, the scheduler's warnings
//! at 30/10/2 minutes (each once; a late node sends only the latest), launch refusal with
//! the Swedish message naming when the service is back, drain, logoff, the hosts given back
//! after, one node per step when two tick at once, and rollouts UTB → PROD.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use hamn_broker::launch::{LaunchError, issue_launch_ticket_at};
use hamn_broker::model::{
    EndCause, HostCertPolicy, HostState, NewHost, NewHostPool, PoolStrategy, ServiceWindow,
    SessionCommand, SessionState, WarningKind,
};
use hamn_broker::repo;
use hamn_broker::seed::{self, DemoIds, DemoSeed};
use hamn_broker::service_windows::{SchedulerConfig, back_at_sv, tick};
use hamn_broker::ticket::{LaunchPath, TicketIssuer, TicketKeys};
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::both;
use crate::support::{Backend, Harness, client_cert, fields, id_of};

fn at(v: &Value, key: &str) -> OffsetDateTime {
    OffsetDateTime::parse(v[key].as_str().unwrap_or_default(), &Rfc3339)
        .unwrap_or_else(|e| panic!("{key} in {v:#}: {e}"))
}

fn rfc(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).expect("format")
}

/// A whole minute at least `days` days ahead (the API checks notice against the wall clock).
fn ahead(days: i64) -> OffsetDateTime {
    let t = OffsetDateTime::now_utc() + Duration::days(days) + Duration::hours(1);
    t.replace_second(0)
        .and_then(|t| t.replace_nanosecond(0))
        .expect("whole minute")
}

async fn windows_are_announced_seven_days_ahead_and_scoped(b: Backend) {
    let h = Harness::new(b).await;
    let a = h.tenant_with_app("ale").await;
    let other = h.tenant_with_app("bjuv").await;
    let path = format!("/api/v1/environments/{}/service-windows", a.prod);

    // Six days' notice: refused, naming the field.
    let soon = ahead(6);
    let r = h
        .op(Method::POST, &path, Some(json!({"title": "Uppgradering", "starts_at": rfc(soon), "ends_at": rfc(soon + Duration::hours(4))})))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:#}", r.json);
    assert_eq!(r.content_type, "application/problem+json");
    assert_eq!(fields(&r.json), ["starts_at"], "{:#}", r.json);
    assert!(
        r.json["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("7 days"),
        "{:#}",
        r.json
    );
    // The same as an emergency: accepted.
    let r = h
        .op(Method::POST, &path, Some(json!({"title": "Akut säkerhetsuppdatering", "emergency": true, "starts_at": rfc(soon), "ends_at": rfc(soon + Duration::hours(1))})))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:#}", r.json);
    assert_eq!(r.json["emergency"], json!(true));
    // Eight days: fine.
    let later = ahead(8);
    let one_off = h
        .create(&path, json!({"title": "Uppgradering", "starts_at": rfc(later), "ends_at": rfc(later + Duration::hours(4)), "logoff_after_minutes": 15}))
        .await;
    // A weekly rule whose first occurrence is too soon names its first_date.
    let first = (OffsetDateTime::now_utc() + Duration::days(2)).date();
    let rule = |first: time::Date| json!({"title": "Veckounderhåll", "recurrence": {"days": ["MO", "TH", "SU", "SU"], "start_time": "22:00", "duration_minutes": 240, "first_date": first.to_string()}});
    let r = h.op(Method::POST, &path, Some(rule(first))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:#}", r.json);
    assert_eq!(fields(&r.json), ["recurrence.first_date"], "{:#}", r.json);
    let r = h
        .op(Method::POST, &path, Some(rule(first + Duration::days(8))))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:#}", r.json);
    assert_eq!(
        r.json["recurrence"]["days"],
        json!(["MO", "TH", "SU"]),
        "sorted, deduplicated"
    );
    assert_eq!(r.json["recurrence"]["start_time"], json!("22:00"));
    assert_eq!(
        (at(&r.json, "ends_at") - at(&r.json, "starts_at")).whole_minutes(),
        240
    );
    // Malformed: both kinds of timing, a logoff point outside the window.
    let r = h
        .op(Method::POST, &path, Some(json!({"title": "x", "starts_at": rfc(later), "ends_at": rfc(later + Duration::hours(1)), "logoff_after_minutes": 60})))
        .await;
    assert_eq!(fields(&r.json), ["logoff_after_minutes"], "{:#}", r.json);
    let r = h
        .op(Method::POST, &path, Some(json!({"title": "x", "starts_at": rfc(later), "recurrence": {"days": ["MO"], "start_time": "08:00", "duration_minutes": 60, "first_date": "2030-01-01"}})))
        .await;
    assert_eq!(fields(&r.json), ["recurrence"], "{:#}", r.json);
    assert_eq!(h.audit("action=service_window.create").await.len(), 3);

    // A tenant client sees its own windows and nothing of another tenant's.
    let theirs = h
        .create(
            &format!("/api/v1/environments/{}/service-windows", other.prod),
            json!({"title": "Bjuv", "starts_at": rfc(later), "ends_at": rfc(later + Duration::hours(1))}),
        )
        .await;
    h.create("/api/v1/api-clients", json!({"name": "Ale", "subject_cn": "ale-windows", "scope": "tenant", "tenant_id": a.tenant})).await;
    let me = client_cert("ale-windows");
    let mine = h
        .as_(
            &me,
            Method::GET,
            &format!("/api/v1/tenants/{}/service-windows", a.tenant),
            None,
        )
        .await;
    assert_eq!(
        mine.json["items"].as_array().map(Vec::len),
        Some(3),
        "{:#}",
        mine.json
    );
    // Reads: another tenant's windows do not exist for it.
    for p in [
        format!("/api/v1/service-windows/{theirs}"),
        format!("/api/v1/environments/{}/service-windows", other.prod),
        format!("/api/v1/tenants/{}/service-windows", other.tenant),
    ] {
        let r = h.as_(&me, Method::GET, &p, None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "GET {p}: {:#}", r.json);
    }
    let r = h
        .as_(
            &me,
            Method::GET,
            &format!("/api/v1/service-windows/{one_off}"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.json);
    // Another tenant's windows cannot be changed either: they do not exist for it. (What
    // a tenant may change of its own: `tenant_admins_announce_change_and_cancel_their_own`.)
    let body =
        json!({"title": "y", "starts_at": rfc(later), "ends_at": rfc(later + Duration::hours(1))});
    for (method, p, body) in [
        (
            Method::POST,
            format!("/api/v1/environments/{}/service-windows", other.prod),
            Some(body),
        ),
        (
            Method::PATCH,
            format!("/api/v1/service-windows/{theirs}"),
            Some(json!({"title": "y"})),
        ),
        (
            Method::DELETE,
            format!("/api/v1/service-windows/{theirs}"),
            None,
        ),
    ] {
        let r = h.as_(&me, method.clone(), &p, body).await;
        assert_eq!(
            r.status,
            StatusCode::NOT_FOUND,
            "{method} {p}: {:#}",
            r.json
        );
    }
    let r = h
        .op(
            Method::PATCH,
            &format!("/api/v1/service-windows/{one_off}"),
            Some(json!({"title": "Uppgradering 2026.12", "logoff_after_minutes": 30})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.json);
    assert_eq!(r.json["logoff_after_minutes"], json!(30));
    let r = h
        .op(
            Method::PATCH,
            &format!("/api/v1/service-windows/{one_off}"),
            Some(json!({"logoff_after_minutes": 240})),
        )
        .await;
    assert_eq!(fields(&r.json), ["logoff_after_minutes"], "{:#}", r.json);
    let r = h
        .op(
            Method::DELETE,
            &format!("/api/v1/service-windows/{one_off}"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:#}", r.json);
    let audit = h.audit(&format!("target_id={one_off}")).await;
    let actions: Vec<_> = audit.iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(
        actions,
        [
            "service_window.delete",
            "service_window.update",
            "service_window.create"
        ]
    );
    h.finish().await;
}
both!(windows_are_announced_seven_days_ahead_and_scoped);

/// A tenant's admin (here its API client; the portal's tenant-admins have the same scope)
/// announces, changes and cancels its own environments' windows under the same 7-day rule,
/// audited as its own actions; emergency windows stay the operators': creating one is 403,
/// and so is changing or cancelling one an operator announced.
async fn tenant_admins_announce_change_and_cancel_their_own(b: Backend) {
    let h = Harness::new(b).await;
    let a = h.tenant_with_app("ale").await;
    h.create("/api/v1/api-clients", json!({"name": "Ale admin", "subject_cn": "ale-admin", "scope": "tenant", "tenant_id": a.tenant})).await;
    let me = client_cert("ale-admin");
    let path = format!("/api/v1/environments/{}/service-windows", a.prod);
    let soon = ahead(3);
    let later = ahead(9);

    // The notice rule holds for tenants as for operators.
    let r = h
        .as_(&me, Method::POST, &path, Some(json!({"title": "Byte av server", "starts_at": rfc(soon), "ends_at": rfc(soon + Duration::hours(2))})))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:#}", r.json);
    assert_eq!(fields(&r.json), ["starts_at"], "{:#}", r.json);
    // An emergency is the operators' call, whatever the notice.
    for start in [soon, later] {
        let r = h
            .as_(&me, Method::POST, &path, Some(json!({"title": "Akut", "emergency": true, "starts_at": rfc(start), "ends_at": rfc(start + Duration::hours(1))})))
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{:#}", r.json);
        assert_eq!(fields(&r.json), ["emergency"], "{:#}", r.json);
    }
    // A week and more ahead: its own window, one-off and weekly.
    let r = h
        .as_(&me, Method::POST, &path, Some(json!({"title": "Byte av server", "description": "Procapita flyttas.", "starts_at": rfc(later), "ends_at": rfc(later + Duration::hours(2)), "logoff_after_minutes": 10})))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:#}", r.json);
    assert_eq!(r.json["emergency"], json!(false));
    let mine = id_of(&r.json);
    let first = (OffsetDateTime::now_utc() + Duration::days(10)).date();
    let r = h
        .as_(&me, Method::POST, &path, Some(json!({"title": "Veckounderhåll", "recurrence": {"days": ["WE"], "start_time": "19:00", "duration_minutes": 60, "first_date": first.to_string()}})))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:#}", r.json);
    let weekly = id_of(&r.json);
    let r = h
        .as_(
            &me,
            Method::PATCH,
            &format!("/api/v1/service-windows/{mine}"),
            Some(json!({"title": "Byte av databasserver", "logoff_after_minutes": 0})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.json);
    assert_eq!(r.json["title"], json!("Byte av databasserver"));
    let r = h
        .as_(
            &me,
            Method::DELETE,
            &format!("/api/v1/service-windows/{weekly}"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:#}", r.json);
    let r = h
        .as_(
            &me,
            Method::GET,
            &format!("/api/v1/service-windows/{weekly}"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "cancelled: {:#}", r.json);
    // Audited as the tenant's client, in the tenant's log.
    let audit = h
        .audit(&format!(
            "tenant_id={}&action=service_window.create",
            a.tenant
        ))
        .await;
    assert_eq!(audit.len(), 2, "{audit:#?}");
    assert!(
        audit
            .iter()
            .all(|e| e["actor_kind"] == "api_client" && e["actor_name"] == "Ale admin"),
        "{audit:#?}"
    );
    assert_eq!(
        h.audit(&format!("target_id={mine}&action=service_window.update"))
            .await
            .len(),
        1
    );
    assert_eq!(
        h.audit(&format!("target_id={weekly}&action=service_window.delete"))
            .await
            .len(),
        1
    );

    // An operator's emergency window in the tenant's environment: the tenant reads it but
    // neither changes nor cancels it.
    let urgent = h
        .create(&path, json!({"title": "Säkerhetsuppdatering", "emergency": true, "starts_at": rfc(soon), "ends_at": rfc(soon + Duration::hours(1))}))
        .await;
    let r = h
        .as_(
            &me,
            Method::GET,
            &format!("/api/v1/service-windows/{urgent}"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.json);
    for (method, body) in [
        (Method::PATCH, Some(json!({"title": "Senare"}))),
        (Method::DELETE, None),
    ] {
        let r = h
            .as_(
                &me,
                method.clone(),
                &format!("/api/v1/service-windows/{urgent}"),
                body,
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{method}: {:#}", r.json);
    }
    let r = h
        .op(
            Method::DELETE,
            &format!("/api/v1/service-windows/{urgent}"),
            None,
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::NO_CONTENT,
        "the operator cancels it: {:#}",
        r.json
    );
    h.finish().await;
}
both!(tenant_admins_announce_change_and_cancel_their_own);

/// The demo tenant with its UTB app moved to a pool of its own: `utb-1` (active) and
/// `utb-2` (maintenance). Returns the ids, the pool and the two hosts.
async fn utb_on_its_own_pool(h: &Harness) -> (DemoIds, Uuid, Uuid, Uuid) {
    let ids = seed::demo(h.db(), DemoSeed::default()).await.expect("seed");
    let mut conn = h.db().acquire().await.expect("conn");
    let pool = repo::pools::insert(
        &mut conn,
        &NewHostPool {
            name: "UTB-pool".into(),
            description: String::new(),
            strategy: PoolStrategy::BreadthFirst,
            dedicated_tenant_id: Some(ids.tenant),
            host_cert_policy: HostCertPolicy::Ignore,
            host_ca_pem: None,
            host_cert_pins: Vec::new(),
            clipboard_enabled: true,
            clipboard_max_bytes: hamn_broker::model::DEFAULT_CLIPBOARD_MAX_BYTES,
            drives_enabled: false,
            printers_enabled: true,
            com_ports_enabled: false,
            pnp_devices_enabled: false,
            native_remote_apps: true,
            print_driver: hamn_broker::model::PrintDriver::Pdf,
            idle_timeout_secs: hamn_broker::model::pool::DEFAULT_IDLE_TIMEOUT_SECS,
            disconnect_timeout_secs: hamn_broker::model::pool::DEFAULT_DISCONNECT_TIMEOUT_SECS,
            max_session_secs: hamn_broker::model::pool::DEFAULT_MAX_SESSION_SECS,
            timeout_warning_secs: hamn_broker::model::pool::DEFAULT_TIMEOUT_WARNING_SECS,
        },
    )
    .await
    .expect("pool");
    let mut hosts = Vec::new();
    for (name, state) in [
        ("utb-1", HostState::Active),
        ("utb-2", HostState::Maintenance),
    ] {
        let host = repo::hosts::insert(
            &mut conn,
            pool.id,
            &NewHost {
                name: name.into(),
                address: "127.0.0.1".into(),
                port: 1,
                capacity: 10,
                state,
            },
        )
        .await
        .expect("host");
        hosts.push(host.id);
    }
    let mut app = repo::apps::get(&mut conn, ids.app_utb)
        .await
        .expect("get")
        .expect("app");
    app.pool_id = pool.id;
    repo::apps::update(&mut conn, &app).await.expect("move");
    (ids, pool.id, hosts[0], hosts[1])
}

async fn host_state(h: &Harness, id: Uuid) -> HostState {
    let mut conn = h.db().acquire().await.expect("conn");
    repo::hosts::get(&mut conn, id)
        .await
        .expect("get")
        .expect("host")
        .state
}

async fn window(h: &Harness, id: &str) -> ServiceWindow {
    let mut conn = h.db().acquire().await.expect("conn");
    repo::service_windows::get(&mut conn, id.parse().expect("uuid"))
        .await
        .expect("get")
        .expect("window")
}

async fn the_scheduler_warns_refuses_drains_logs_off_and_restores(b: Backend) {
    let h = Harness::new(b).await;
    let (ids, _pool, utb1, utb2) = utb_on_its_own_pool(&h).await;
    let issuer = TicketIssuer::new(Arc::new(TicketKeys::generate().expect("key").0));
    let config = SchedulerConfig::default();

    // A session in UTB, running.
    let before = ahead(8) - Duration::days(1);
    let running = issue_launch_ticket_at(
        h.db(),
        &issuer,
        ids.user,
        ids.app_utb,
        LaunchPath::Browser,
        before,
    )
    .await
    .expect("launch before the window");
    {
        let mut conn = h.db().acquire().await.expect("conn");
        repo::sessions::set_state(&mut conn, running.session.id, SessionState::Active, before)
            .await
            .expect("active");
    }

    let start = ahead(8);
    let id = h
        .create(
            &format!("/api/v1/environments/{}/service-windows", ids.utb),
            json!({"title": "Uppgradering", "starts_at": rfc(start), "ends_at": rfc(start + Duration::hours(3)), "logoff_after_minutes": 5}),
        )
        .await;
    let w = window(&h, &id).await;
    let end = w.ends_at;

    // Before the first warning: nothing.
    let t = tick(h.db(), &config, start - Duration::minutes(31))
        .await
        .expect("tick");
    assert_eq!(t, Default::default(), "nothing due yet");
    // 30, 10 and 2 minutes before: one warning step each, each once.
    for minutes in [30, 10, 2] {
        let now = start - Duration::minutes(minutes);
        let t = tick(h.db(), &config, now).await.expect("tick");
        assert_eq!(
            (t.warnings, t.sessions_warned),
            (1, 1),
            "warn:{minutes}: {t:?}"
        );
        let again = tick(h.db(), &config, now + Duration::seconds(20))
            .await
            .expect("tick");
        assert_eq!(again.warnings, 0, "warn:{minutes} is sent once: {again:?}");
    }
    let warned = h
        .audit(&format!("action=service_window.warn&target_id={id}"))
        .await;
    assert_eq!(warned.len(), 3, "{warned:#?}");
    // The warnings went down the command channel to the running session: a countdown to
    // the logoff point, in Swedish, naming when the service is back.
    {
        let mut conn = h.db().acquire().await.expect("conn");
        let commands = repo::session_commands::list_for_session(&mut conn, running.session.id, 50)
            .await
            .expect("commands");
        assert_eq!(commands.len(), 3, "{commands:#?}");
        for (c, minutes) in commands.iter().zip([30, 10, 2]) {
            match &c.command {
                SessionCommand::Warning { kind, text, at } => {
                    assert_eq!(*kind, WarningKind::ServiceWindow);
                    assert_eq!(
                        *at,
                        start + Duration::minutes(5),
                        "counts down to the logoff"
                    );
                    assert!(text.contains(&format!("om {minutes} min")), "{text}");
                    assert!(
                        text.contains(&back_at_sv(start + Duration::hours(3))),
                        "{text}"
                    );
                }
                other => panic!("not a warning: {other:?}"),
            }
        }
    }
    assert_eq!(
        host_state(&h, utb1).await,
        HostState::Active,
        "no drain before the start"
    );

    // At the start: launches into UTB are refused in Swedish with the time it is back; PROD
    // (another environment) still launches.
    let refused = issue_launch_ticket_at(
        h.db(),
        &issuer,
        ids.user,
        ids.app_utb,
        LaunchPath::Browser,
        start,
    )
    .await
    .expect_err("UTB is in its window");
    assert!(
        matches!(refused, LaunchError::ServiceWindow { until, .. } if until == end),
        "{refused:?}"
    );
    let sv = refused.message_sv();
    assert!(
        sv.starts_with("Tjänsten har servicefönster till kl. "),
        "{sv}"
    );
    assert!(sv.contains(&back_at_sv(end)), "{sv}");
    assert!(
        refused.message_en().contains("maintenance window until"),
        "{}",
        refused.message_en()
    );
    issue_launch_ticket_at(
        h.db(),
        &issuer,
        ids.user,
        ids.app_prod,
        LaunchPath::Browser,
        start,
    )
    .await
    .expect("PROD is open");
    let audit = h.audit("action=session.launch&outcome=refused").await;
    assert!(
        audit.iter().any(|e| e["detail"]
            .as_str()
            .is_some_and(|d| d.contains("service_window"))),
        "{audit:#?}"
    );

    // Two nodes tick at the start at once: exactly one drains.
    let (a, b2) = tokio::join!(tick(h.db(), &config, start), tick(h.db(), &config, start));
    let (a, b2) = (a.expect("tick"), b2.expect("tick"));
    assert_eq!(a.started + b2.started, 1, "{a:?} {b2:?}");
    assert_eq!(
        a.hosts_drained + b2.hosts_drained,
        1,
        "only the active host: {a:?} {b2:?}"
    );
    assert_eq!(host_state(&h, utb1).await, HostState::Drain);
    assert_eq!(
        host_state(&h, utb2).await,
        HostState::Maintenance,
        "left alone"
    );
    let prod_host = host_state(&h, ids.host).await;
    assert_eq!(
        prod_host,
        HostState::Active,
        "the shared demo pool serves PROD"
    );

    // Logoff at start + 5 minutes, once.
    let t = tick(h.db(), &config, start + Duration::minutes(4))
        .await
        .expect("tick");
    assert_eq!(t.logoffs, 0, "{t:?}");
    let (a, b2) = tokio::join!(
        tick(h.db(), &config, start + Duration::minutes(5)),
        tick(h.db(), &config, start + Duration::minutes(5))
    );
    let (a, b2) = (a.expect("tick"), b2.expect("tick"));
    assert_eq!(a.logoffs + b2.logoffs, 1, "{a:?} {b2:?}");
    // The running UTB session and the UTB launch from before the window; not PROD's.
    assert_eq!(
        a.sessions_logged_off + b2.sessions_logged_off,
        1,
        "{a:?} {b2:?}"
    );
    {
        let mut conn = h.db().acquire().await.expect("conn");
        let s = repo::sessions::get(&mut conn, running.session.id)
            .await
            .expect("get")
            .expect("row");
        assert_eq!(s.state, SessionState::Ended);
        let commands = repo::session_commands::list_for_session(&mut conn, running.session.id, 50)
            .await
            .expect("commands");
        assert!(
            matches!(
                commands.last().map(|c| &c.command),
                Some(SessionCommand::Logoff {
                    cause: EndCause::ServiceWindow,
                    ..
                })
            ),
            "{commands:#?}"
        );
        let host = repo::host_commands::list_for_session(&mut conn, running.session.id)
            .await
            .expect("host commands");
        assert_eq!(
            host.len(),
            1,
            "the host's agent logs the Windows user off: {host:#?}"
        );
    }
    assert_eq!(
        h.audit(&format!("action=service_window.logoff&target_id={id}"))
            .await
            .len(),
        1
    );

    // After the window: the host is given back, launches work again.
    let t = tick(h.db(), &config, end).await.expect("tick");
    assert_eq!((t.hosts_restored, t.ended), (1, 1), "{t:?}");
    assert_eq!(host_state(&h, utb1).await, HostState::Active);
    assert_eq!(host_state(&h, utb2).await, HostState::Maintenance);
    let t = tick(h.db(), &config, end + Duration::minutes(1))
        .await
        .expect("tick");
    assert_eq!(t, Default::default(), "nothing left to do: {t:?}");
    issue_launch_ticket_at(
        h.db(),
        &issuer,
        ids.user,
        ids.app_utb,
        LaunchPath::Browser,
        end,
    )
    .await
    .expect("UTB is open again");
    let changes = h
        .audit(&format!("action=host.state_change&target_id={utb1}"))
        .await;
    assert_eq!(changes.len(), 2, "drain and restore: {changes:#?}");
    assert!(
        changes.iter().all(|e| e["actor_kind"] == json!("system")),
        "{changes:#?}"
    );
    for action in ["service_window.start", "service_window.end"] {
        assert_eq!(
            h.audit(&format!("action={action}&target_id={id}"))
                .await
                .len(),
            1,
            "{action}"
        );
    }
    h.finish().await;
}
both!(the_scheduler_warns_refuses_drains_logs_off_and_restores);

async fn a_late_node_sends_only_the_latest_warning_and_an_operator_change_is_kept(b: Backend) {
    let h = Harness::new(b).await;
    let (ids, _pool, utb1, _) = utb_on_its_own_pool(&h).await;
    let config = SchedulerConfig::default();
    let start = ahead(8);
    let id = h
        .create(
            &format!("/api/v1/environments/{}/service-windows", ids.utb),
            json!({"title": "Uppgradering", "starts_at": rfc(start), "ends_at": rfc(start + Duration::hours(1))}),
        )
        .await;
    let t = tick(h.db(), &config, start - Duration::minutes(5))
        .await
        .expect("tick");
    assert_eq!(t.warnings, 1, "{t:?}");
    let mut conn = h.db().acquire().await.expect("conn");
    let steps = repo::service_windows::steps(&mut conn, id.parse().expect("uuid"), start)
        .await
        .expect("steps");
    drop(conn);
    let steps: Vec<_> = steps
        .iter()
        .map(|s| (s.step.as_str(), s.outcome.as_str()))
        .collect();
    assert_eq!(steps, [("warn:10", "done"), ("warn:30", "skipped")]);

    tick(h.db(), &config, start).await.expect("tick");
    assert_eq!(host_state(&h, utb1).await, HostState::Drain);
    // An operator puts the host in maintenance during the window: the end keeps that.
    let r = h
        .op(
            Method::PUT,
            &format!("/api/v1/hosts/{utb1}/state"),
            Some(json!({"state": "maintenance"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.json);
    let t = tick(h.db(), &config, start + Duration::hours(1))
        .await
        .expect("tick");
    assert_eq!(t.hosts_restored, 0, "{t:?}");
    assert_eq!(host_state(&h, utb1).await, HostState::Maintenance);
    h.finish().await;
}
both!(a_late_node_sends_only_the_latest_warning_and_an_operator_change_is_kept);

async fn weekly_windows_keep_stockholm_time_across_dst(b: Backend) {
    let h = Harness::new(b).await;
    let (ids, _pool, utb1, _) = utb_on_its_own_pool(&h).await;
    let config = SchedulerConfig {
        warnings: vec![],
        ..SchedulerConfig::default()
    };
    // Every Saturday 22:00-02:00 Stockholm time from at least a week ahead, over the
    // spring change (last Sunday of March) and the autumn one (last Sunday of October).
    let first = (OffsetDateTime::now_utc() + Duration::days(8)).date();
    let id = h
        .create(
            &format!("/api/v1/environments/{}/service-windows", ids.utb),
            json!({"title": "Veckounderhåll", "recurrence": {"days": ["SA"], "start_time": "22:00", "duration_minutes": 240, "first_date": first.to_string()}}),
        )
        .await;
    let w = window(&h, &id).await;
    let year = first.year() + 1;
    let march_end = time::Date::from_calendar_date(year, time::Month::March, 31).expect("date");
    let last_sunday =
        march_end - Duration::days(i64::from(march_end.weekday().number_days_from_sunday()));
    let saturday_before = last_sunday - Duration::days(1);
    let saturday_after = saturday_before + Duration::days(7);
    let occ = w.occurrences(
        saturday_before.midnight().assume_utc(),
        (saturday_after + Duration::days(1)).midnight().assume_utc(),
    );
    let starts: Vec<_> = occ
        .iter()
        .map(|o| (o.start.date(), o.start.hour()))
        .collect();
    // 22:00 CET is 21:00 UTC; a week later 22:00 CEST is 20:00 UTC.
    assert_eq!(starts, [(saturday_before, 21), (saturday_after, 20)]);

    // The scheduler acts at 22:00 local on both sides of the change, not at 22:00 UTC-ish.
    let cest_start = occ[1].start;
    let t = tick(h.db(), &config, cest_start - Duration::minutes(1))
        .await
        .expect("tick");
    assert_eq!(t.started, 0, "{t:?}");
    let t = tick(h.db(), &config, cest_start).await.expect("tick");
    assert_eq!(t.started, 1, "{t:?}");
    assert_eq!(host_state(&h, utb1).await, HostState::Drain);
    let t = tick(h.db(), &config, occ[1].end).await.expect("tick");
    assert_eq!(t.hosts_restored, 1, "{t:?}");
    h.finish().await;
}
both!(weekly_windows_keep_stockholm_time_across_dst);

async fn rollouts_go_utb_first_then_prod_in_their_windows(b: Backend) {
    let h = Harness::new(b).await;
    let (ids, _utb_pool, utb1, _) = utb_on_its_own_pool(&h).await;
    let config = SchedulerConfig {
        warnings: vec![],
        ..SchedulerConfig::default()
    };
    // PROD on a pool of its own too (the demo pool then serves nothing but stays).
    let prod_pool = h
        .create("/api/v1/pools", json!({"name": "PROD-pool"}))
        .await;
    let prod1 = h
        .create(
            &format!("/api/v1/pools/{prod_pool}/hosts"),
            json!({"name": "prod-1", "address": "127.0.0.1", "port": 1, "capacity": 10}),
        )
        .await;
    let r = h
        .op(
            Method::PATCH,
            &format!("/api/v1/apps/{}", ids.app_prod),
            Some(json!({"pool_id": prod_pool})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.json);
    assert_eq!(r.json["version"], json!(seed::DEMO_APP_VERSION));

    h.create("/api/v1/api-clients", json!({"name": "Demo", "subject_cn": "demo-rollouts", "scope": "tenant", "tenant_id": ids.tenant})).await;
    let me = client_cert("demo-rollouts");
    let path = format!("/api/v1/apps/{}/rollouts", ids.app_prod);
    let r = h
        .as_(
            &me,
            Method::POST,
            &path,
            Some(json!({"version": "2026.12"})),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "operators start rollouts: {:#}",
        r.json
    );
    let r = h
        .op(
            Method::POST,
            &path,
            Some(json!({"version": seed::DEMO_APP_VERSION})),
        )
        .await;
    assert_eq!(fields(&r.json), ["version"], "{:#}", r.json);
    let created = h
        .op(
            Method::POST,
            &path,
            Some(json!({"version": "2026.12", "prod_delay_days": 10})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:#}", created.json);
    let rollout = id_of(&created.json);
    let r = h
        .op(Method::POST, &path, Some(json!({"version": "2026.13"})))
        .await;
    assert_eq!(
        r.status,
        StatusCode::CONFLICT,
        "one open rollout per app: {:#}",
        r.json
    );
    let steps = &created.json["steps"];
    assert_eq!(steps[0]["environment_kind"], json!("UTB"));
    assert_eq!(steps[0]["app_id"], json!(ids.app_utb.to_string()));
    assert_eq!(steps[1]["environment_kind"], json!("PROD"));
    assert_eq!(steps[1]["not_before"], Value::Null, "PROD waits for UTB");

    // UTB's window: the step drains and marks the UTB hosts for recycling.
    let utb_start = ahead(8);
    h.create(&format!("/api/v1/environments/{}/service-windows", ids.utb), json!({"title": "Uppgradering UTB", "starts_at": rfc(utb_start), "ends_at": rfc(utb_start + Duration::hours(10))})).await;
    let t = tick(h.db(), &config, utb_start).await.expect("tick");
    assert_eq!(t.rollout_steps, 1, "{t:?}");
    let r = h
        .as_(
            &me,
            Method::GET,
            &format!("/api/v1/rollouts/{rollout}"),
            None,
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "tenant clients see their rollouts: {:#}",
        r.json
    );
    assert_eq!(r.json["state"], json!("in_progress"));
    assert_eq!(r.json["steps"][0]["state"], json!("draining"));
    assert_eq!(
        r.json["steps"][0]["hosts_pending"],
        json!(2),
        "utb-1 and utb-2"
    );
    assert_eq!(host_state(&h, utb1).await, HostState::Drain);

    // The window ends before the hosts report the build: they stay drained.
    let utb_end = utb_start + Duration::hours(10);
    let t = tick(h.db(), &config, utb_end).await.expect("tick");
    assert_eq!(t.hosts_restored, 0, "{t:?}");
    assert_eq!(host_state(&h, utb1).await, HostState::Drain);
    let hosts = h
        .op(
            Method::GET,
            &format!("/api/v1/pools/{}/hosts", _utb_pool),
            None,
        )
        .await;
    for host in hosts.json["items"].as_array().expect("hosts") {
        assert_eq!(host["recycle_to"], json!("2026.12"), "{host:#}");
        let r = h
            .op(
                Method::PUT,
                &format!("/api/v1/hosts/{}/version", id_of(host)),
                Some(json!({"version": "2026.12"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:#}", r.json);
        assert_eq!(r.json["recycle_to"], Value::Null);
    }
    let done_at = utb_end + Duration::minutes(1);
    let t = tick(h.db(), &config, done_at).await.expect("tick");
    assert_eq!((t.rollout_steps, t.hosts_restored), (1, 1), "{t:?}");
    assert_eq!(host_state(&h, utb1).await, HostState::Active);
    let app = h
        .op(Method::GET, &format!("/api/v1/apps/{}", ids.app_utb), None)
        .await;
    assert_eq!(app.json["version"], json!("2026.12"));
    let r = h
        .op(Method::GET, &format!("/api/v1/rollouts/{rollout}"), None)
        .await;
    assert_eq!(r.json["steps"][0]["state"], json!("done"));
    assert_eq!(
        at(&r.json["steps"][1], "not_before"),
        done_at + Duration::days(10)
    );

    // A PROD window two days later is too early for the PROD step; one twelve days later
    // takes it.
    let prod_early = utb_start + Duration::days(2);
    let prod_late = utb_start + Duration::days(12);
    for start in [prod_early, prod_late] {
        h.create(&format!("/api/v1/environments/{}/service-windows", ids.prod), json!({"title": "Uppgradering PROD", "starts_at": rfc(start), "ends_at": rfc(start + Duration::hours(4))})).await;
    }
    let t = tick(h.db(), &config, prod_early).await.expect("tick");
    assert_eq!((t.started, t.rollout_steps), (1, 0), "{t:?}");
    tick(h.db(), &config, prod_early + Duration::hours(4))
        .await
        .expect("tick");
    let t = tick(h.db(), &config, prod_late).await.expect("tick");
    assert_eq!(t.rollout_steps, 1, "{t:?}");
    let prod1: Uuid = prod1.parse().expect("uuid");
    assert_eq!(host_state(&h, prod1).await, HostState::Drain);

    // The tenant halts it (say UTB testing found a fault): the mark goes, the host returns
    // after the window, PROD keeps its version.
    let r = h
        .as_(
            &me,
            Method::POST,
            &format!("/api/v1/rollouts/{rollout}/halt"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.json);
    assert_eq!(r.json["state"], json!("halted"));
    assert_eq!(r.json["steps"][1]["state"], json!("halted"));
    assert_eq!(r.json["steps"][1]["hosts_pending"], json!(0));
    let r = h
        .as_(
            &me,
            Method::POST,
            &format!("/api/v1/rollouts/{rollout}/halt"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:#}", r.json);
    let t = tick(h.db(), &config, prod_late + Duration::hours(4))
        .await
        .expect("tick");
    assert_eq!(t.hosts_restored, 1, "{t:?}");
    assert_eq!(host_state(&h, prod1).await, HostState::Active);
    let app = h
        .op(Method::GET, &format!("/api/v1/apps/{}", ids.app_prod), None)
        .await;
    assert_eq!(app.json["version"], json!(seed::DEMO_APP_VERSION));
    let list = h.as_(&me, Method::GET, &path, None).await;
    assert_eq!(
        list.json["items"].as_array().map(Vec::len),
        Some(1),
        "{:#}",
        list.json
    );

    // Another tenant's client sees none of it.
    let other = h.tenant_with_app("bjuv").await;
    h.create("/api/v1/api-clients", json!({"name": "Bjuv", "subject_cn": "bjuv-rollouts", "scope": "tenant", "tenant_id": other.tenant})).await;
    let them = client_cert("bjuv-rollouts");
    for (method, p) in [
        (Method::GET, format!("/api/v1/rollouts/{rollout}")),
        (Method::POST, format!("/api/v1/rollouts/{rollout}/halt")),
        (Method::GET, path.clone()),
    ] {
        let r = h.as_(&them, method.clone(), &p, None).await;
        assert_eq!(
            r.status,
            StatusCode::NOT_FOUND,
            "{method} {p}: {:#}",
            r.json
        );
    }
    for action in [
        "rollout.create",
        "rollout.step_start",
        "rollout.step_done",
        "rollout.halt",
    ] {
        assert!(
            !h.audit(&format!("action={action}")).await.is_empty(),
            "{action} audited"
        );
    }
    h.finish().await;
}
both!(rollouts_go_utb_first_then_prod_in_their_windows);
