//! Session lifecycle through the admin API and the janitor, on both databases: an
//! administrator's message, disconnect and logoff queue commands for the gateway (tenant
//! clients only on their own sessions, 404 otherwise; refused on ended sessions; audited);
//! a logoff queues the host agent's logoff, which the agent lists and reports; pools carry
//! their timeouts (defaults, patch, validation); the janitor logs off sessions past the
//! disconnect timeout and the maximum length, warning once before, on a clock the test
//! controls.

use axum::http::{Method, StatusCode};
use hamn_broker::janitor::sweep;
use hamn_broker::model::{CommandState, SessionState};
use hamn_broker::repo;
use hamn_broker::session_control::{EndCause, SessionCommand, WarningKind};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::both;
use crate::session_commands::two_sessions;
use crate::support::{Backend, Harness, client_cert, fields};

async fn admin_actions_are_scoped_audited_and_queued(b: Backend) {
    let h = Harness::new(b).await;
    let (ids, first, second) = two_sessions(&h).await;
    let other = h.tenant_with_app("bjuv").await;
    h.create("/api/v1/api-clients", json!({"name": "Demo IT", "subject_cn": "demo-it", "scope": "tenant", "tenant_id": ids.tenant})).await;
    h.create("/api/v1/api-clients", json!({"name": "Bjuv IT", "subject_cn": "bjuv-it", "scope": "tenant", "tenant_id": other.tenant})).await;
    let own = client_cert("demo-it");
    let stranger = client_cert("bjuv-it");

    // Another tenant's client: the session does not exist for it.
    for action in ["message", "disconnect", "logoff"] {
        let r = h
            .as_(
                &stranger,
                Method::POST,
                &format!("/api/v1/sessions/{first}/{action}"),
                Some(if action == "message" {
                    json!({"text": "hej"})
                } else {
                    json!({})
                }),
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{action}: {:#}", r.json);
    }
    let r = h
        .as_(
            &stranger,
            Method::GET,
            &format!("/api/v1/sessions/{first}/commands"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Validation names the field.
    let r = h
        .as_(
            &own,
            Method::POST,
            &format!("/api/v1/sessions/{first}/message"),
            Some(json!({"text": "  "})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:#}", r.json);
    assert_eq!(fields(&r.json), ["text"]);
    let r = h
        .as_(
            &own,
            Method::POST,
            &format!("/api/v1/sessions/{first}/message"),
            Some(json!({"text": "x", "colour": "red"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:#}", r.json);
    let r = h
        .as_(
            &own,
            Method::POST,
            &format!("/api/v1/sessions/{first}/logoff"),
            Some(json!({"reason": "x".repeat(501)})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:#}", r.json);
    assert_eq!(fields(&r.json), ["reason"]);

    // The tenant's own client sends a message; the sender defaults to its name.
    let r = h
        .as_(
            &own,
            Method::POST,
            &format!("/api/v1/sessions/{first}/message"),
            Some(json!({"text": "Procapita startas om 18:00.\nSpara ditt arbete."})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.json);
    assert_eq!(r.json["command"]["command"]["type"], "message");
    assert_eq!(r.json["command"]["command"]["sender"], "Demo IT");
    assert_eq!(r.json["command"]["state"], "pending");
    assert_eq!(r.json["host_command"], Value::Null);

    // The operator disconnects the second session: a Disconnect for the gateway, no more.
    let r = h
        .op(
            Method::POST,
            &format!("/api/v1/sessions/{second}/disconnect"),
            Some(json!({"reason": "Värden startas om"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.json);
    assert_eq!(
        r.json["command"]["command"],
        json!({"type": "disconnect", "reason": "Värden startas om", "cause": "admin"})
    );

    // And logs the first off: row ended, a Logoff for the gateway, a logoff for the host.
    let r = h
        .as_(
            &own,
            Method::POST,
            &format!("/api/v1/sessions/{first}/logoff"),
            Some(json!({})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.json);
    assert_eq!(r.json["command"]["command"]["type"], "logoff");
    assert_eq!(r.json["host_command"]["kind"], "logoff");
    assert_eq!(r.json["host_command"]["state"], "pending");
    let host_command = r.json["host_command"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let row = h
        .op(Method::GET, &format!("/api/v1/sessions/{first}"), None)
        .await;
    assert_eq!(row.json["state"], "ended");

    // An ended session takes no more actions.
    for action in ["logoff", "disconnect"] {
        let r = h
            .op(
                Method::POST,
                &format!("/api/v1/sessions/{first}/{action}"),
                Some(json!({})),
            )
            .await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{action}: {:#}", r.json);
    }
    let r = h
        .op(
            Method::POST,
            &format!("/api/v1/sessions/{first}/message"),
            Some(json!({"text": "sent"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:#}", r.json);

    let listed = h
        .as_(
            &own,
            Method::GET,
            &format!("/api/v1/sessions/{first}/commands"),
            None,
        )
        .await;
    assert_eq!(listed.status, StatusCode::OK);
    let kinds: Vec<_> = listed.json["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| c["command"]["type"].clone())
        .collect();
    assert_eq!(kinds, [json!("message"), json!("logoff")]);
    assert_eq!(
        listed.json["host_commands"].as_array().map(Vec::len),
        Some(1)
    );

    // Every action is audited with its actor, in the session's tenant.
    for (action, actor) in [
        ("session.message", "Demo IT"),
        ("session.admin_disconnect", "hamn-operator"),
        ("session.admin_logoff", "Demo IT"),
    ] {
        let events = h.audit(&format!("action={action}")).await;
        assert_eq!(events.len(), 1, "{action}: {events:#?}");
        assert_eq!(events[0]["actor_name"], actor, "{action}");
        assert_eq!(events[0]["tenant_id"], json!(ids.tenant.to_string()));
    }

    // The host agent's side: operators list the host's pending commands and report them.
    let host = ids.host;
    let r = h
        .as_(
            &own,
            Method::GET,
            &format!("/api/v1/hosts/{host}/commands"),
            None,
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "host agents are operators for now"
    );
    let r = h
        .op(Method::GET, &format!("/api/v1/hosts/{host}/commands"), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.json);
    let pending = r.json["items"].as_array().expect("items");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["session_id"], json!(first.to_string()));
    assert_eq!(pending[0]["user_id"], json!(ids.user.to_string()));
    let r = h
        .op(
            Method::POST,
            &format!("/api/v1/host-commands/{host_command}/report"),
            Some(json!({"state": "pending"})),
        )
        .await;
    assert_eq!(fields(&r.json), ["state"]);
    let r = h
        .op(
            Method::POST,
            &format!("/api/v1/host-commands/{host_command}/report"),
            Some(json!({"state": "done", "outcome": "logoff 3"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.json);
    assert_eq!(r.json["state"], "done");
    let r = h
        .op(
            Method::POST,
            &format!("/api/v1/host-commands/{host_command}/report"),
            Some(json!({"state": "failed"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "reported once");
    let r = h
        .op(Method::GET, &format!("/api/v1/hosts/{host}/commands"), None)
        .await;
    assert_eq!(r.json["items"].as_array().map(Vec::len), Some(0));
    let r = h
        .op(
            Method::GET,
            &format!("/api/v1/hosts/{host}/commands?state=all"),
            None,
        )
        .await;
    assert_eq!(r.json["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(h.audit("action=host_command.report").await.len(), 1);
    h.finish().await;
}
both!(admin_actions_are_scoped_audited_and_queued);

async fn pools_carry_their_timeouts(b: Backend) {
    let h = Harness::new(b).await;
    let pool = h.create("/api/v1/pools", json!({"name": "Timeouts"})).await;
    let r = h
        .op(Method::GET, &format!("/api/v1/pools/{pool}"), None)
        .await;
    assert_eq!(r.json["idle_timeout_secs"], 3600);
    assert_eq!(r.json["disconnect_timeout_secs"], 14400);
    assert_eq!(r.json["max_session_secs"], 43200);
    assert_eq!(r.json["timeout_warning_secs"], 300);
    let r = h
        .op(Method::PATCH, &format!("/api/v1/pools/{pool}"), Some(json!({"idle_timeout_secs": 900, "max_session_secs": 0, "timeout_warning_secs": 60})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.json);
    assert_eq!(r.json["idle_timeout_secs"], 900);
    assert_eq!(r.json["max_session_secs"], 0, "0 switches it off");
    let r = h
        .op(
            Method::PATCH,
            &format!("/api/v1/pools/{pool}"),
            Some(json!({"disconnect_timeout_secs": 2_592_001, "timeout_warning_secs": 86_401})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:#}", r.json);
    assert_eq!(
        fields(&r.json),
        ["disconnect_timeout_secs", "timeout_warning_secs"]
    );
    let r = h
        .op(
            Method::PATCH,
            &format!("/api/v1/pools/{pool}"),
            Some(json!({"idle_timeout_secs": -1})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:#}", r.json);
    let r = h
        .op(
            Method::POST,
            "/api/v1/pools",
            Some(json!({"name": "Kort", "idle_timeout_secs": 30, "timeout_warning_secs": 10})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:#}", r.json);
    assert_eq!(r.json["idle_timeout_secs"], 30);
    let events = h.audit("action=pool.update").await;
    assert_eq!(events[0]["after"]["idle_timeout_secs"], 900);
    h.finish().await;
}
both!(pools_carry_their_timeouts);

async fn the_janitor_enforces_disconnect_timeout_and_maximum_length(b: Backend) {
    let h = Harness::new(b).await;
    let (ids, first, second) = two_sessions(&h).await;
    let mut conn = h.db().acquire().await.expect("conn");
    let mut pool = repo::pools::get(&mut conn, ids.pool)
        .await
        .expect("get")
        .expect("pool");
    pool.disconnect_timeout_secs = 600;
    pool.max_session_secs = 3600;
    pool.timeout_warning_secs = 300;
    repo::pools::update(&mut conn, &pool).await.expect("update");
    let t0 = OffsetDateTime::now_utc();
    repo::sessions::set_state(&mut conn, second, SessionState::Disconnected, t0)
        .await
        .expect("disconnected");
    // A resume later does not restart the length clock: started_at is the first connection.
    let started = repo::sessions::get(&mut conn, first)
        .await
        .expect("get")
        .and_then(|s| s.started_at);
    repo::sessions::set_state(
        &mut conn,
        first,
        SessionState::Active,
        t0 + Duration::seconds(100),
    )
    .await
    .expect("resumed");
    let again = repo::sessions::get(&mut conn, first)
        .await
        .expect("get")
        .and_then(|s| s.started_at);
    assert!(started.is_some());
    assert_eq!(again, started);
    drop(conn);

    let swept = sweep(h.db(), t0).await.expect("sweep");
    assert_eq!(swept.lifecycle, Default::default(), "nothing is due yet");

    // Ten minutes disconnected: the second session is logged off.
    let swept = sweep(h.db(), t0 + Duration::seconds(601))
        .await
        .expect("sweep");
    assert_eq!(swept.lifecycle.disconnect_timeouts, 1, "{swept:?}");
    assert_eq!(
        swept.lifecycle.length_logoffs + swept.lifecycle.length_warnings,
        0
    );
    let mut conn = h.db().acquire().await.expect("conn");
    let row = repo::sessions::get(&mut conn, second)
        .await
        .expect("get")
        .expect("row");
    assert_eq!(row.state, SessionState::Ended);
    let host = repo::host_commands::list_for_session(&mut conn, second)
        .await
        .expect("host");
    assert_eq!(host.len(), 1, "the host agent logs the Windows user off");
    let queued = repo::session_commands::list_for_session(&mut conn, second, 10)
        .await
        .expect("commands");
    assert!(matches!(
        queued[0].command,
        SessionCommand::Logoff {
            cause: EndCause::DisconnectTimeout,
            ..
        }
    ));
    drop(conn);

    // 55 minutes in: the first (active) session is warned, once.
    let warn_at = t0 + Duration::seconds(3400);
    let swept = sweep(h.db(), warn_at).await.expect("sweep");
    assert_eq!(swept.lifecycle.length_warnings, 1, "{swept:?}");
    assert_eq!(
        sweep(h.db(), warn_at)
            .await
            .expect("sweep")
            .lifecycle
            .length_warnings,
        0
    );
    let mut conn = h.db().acquire().await.expect("conn");
    let queued = repo::session_commands::list_for_session(&mut conn, first, 10)
        .await
        .expect("commands");
    assert_eq!(queued.len(), 1);
    match &queued[0].command {
        SessionCommand::Warning {
            kind: WarningKind::SessionLimit,
            at,
            ..
        } => {
            let started = repo::sessions::get(&mut conn, first)
                .await
                .expect("get")
                .and_then(|s| s.started_at)
                .expect("started");
            assert_eq!(*at, started + Duration::hours(1));
        }
        other => panic!("expected a session-limit warning, got {other:?}"),
    }
    assert_eq!(queued[0].state, CommandState::Pending);
    drop(conn);

    // The hour is up: logged off with the length limit as the cause.
    let swept = sweep(h.db(), t0 + Duration::seconds(3700))
        .await
        .expect("sweep");
    assert_eq!(swept.lifecycle.length_logoffs, 1, "{swept:?}");
    let mut conn = h.db().acquire().await.expect("conn");
    let row = repo::sessions::get(&mut conn, first)
        .await
        .expect("get")
        .expect("row");
    assert_eq!(row.state, SessionState::Ended);
    let queued = repo::session_commands::list_for_session(&mut conn, first, 10)
        .await
        .expect("commands");
    assert!(matches!(
        queued.last().map(|c| &c.command),
        Some(SessionCommand::Logoff {
            cause: EndCause::SessionLimit,
            ..
        })
    ));
    drop(conn);
    let swept = sweep(h.db(), t0 + Duration::seconds(3700))
        .await
        .expect("sweep");
    assert_eq!(swept.lifecycle, Default::default(), "idempotent");

    let logoffs = h.audit("action=session.logoff").await;
    assert_eq!(logoffs.len(), 2);
    assert!(logoffs.iter().all(|e| e["actor_kind"] == "system"));
    assert_eq!(h.audit("action=session.warning").await.len(), 1);
    h.finish().await;
}
both!(the_janitor_enforces_disconnect_timeout_and_maximum_length);
