//! Incidents for the public status page on both databases: operators post one with its
//! first update, add updates that change state and severity, resolve it (audited in the
//! same transaction as each change); a resolved one takes no more updates; refusals name
//! the field; a tenant client reads its own tenant's incidents and nothing of another's,
//! and cannot post. The status overview counts open incidents against the environments
//! they concern, and the availability samples of several nodes agree.

use axum::http::{Method, StatusCode};
use hamn_broker::repo;
use hamn_broker::status::{EnvironmentState, minute_of, overview};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::both;
use crate::support::{Backend, Harness, client_cert, fields, id_of};

async fn operators_post_update_and_resolve_incidents_tenants_read_their_own(b: Backend) {
    let h = Harness::new(b).await;
    let a = h.tenant_with_app("ale").await;
    let other = h.tenant_with_app("bjuv").await;
    let path = format!("/api/v1/tenants/{}/incidents", a.tenant);

    // Refusals name the fields: empty title and message, an unknown severity is a 400 or
    // 422, an environment of another tenant, a new incident that is already resolved.
    let r = h
        .op(
            Method::POST,
            &path,
            Some(json!({"title": " ", "severity": "outage", "message": ""})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:#}", r.json);
    assert_eq!(fields(&r.json), ["title", "message"], "{:#}", r.json);
    let r = h
        .op(
            Method::POST,
            &path,
            Some(json!({"title": "x", "severity": "apocalypse", "message": "y"})),
        )
        .await;
    assert!(r.status.is_client_error(), "{:#}", r.json);
    let r = h
        .op(Method::POST, &path, Some(json!({"title": "x", "severity": "outage", "message": "y", "environment_id": other.prod})))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:#}", r.json);
    assert_eq!(fields(&r.json), ["environment_id"], "{:#}", r.json);
    let r = h
        .op(
            Method::POST,
            &path,
            Some(json!({"title": "x", "severity": "outage", "message": "y", "state": "resolved"})),
        )
        .await;
    assert_eq!(fields(&r.json), ["state"], "{:#}", r.json);
    assert!(h.audit("action=incident.create").await.is_empty());

    // Posted: investigating, with its first update by the operator.
    let r = h
        .op(Method::POST, &path, Some(json!({"title": "Procapita svarar inte", "severity": "disturbance", "environment_id": a.prod, "message": "Vi undersöker felet."})))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:#}", r.json);
    let incident = id_of(&r.json);
    assert_eq!(r.json["state"], json!("investigating"));
    assert_eq!(r.json["resolved_at"], json!(null));
    assert_eq!(r.json["environment_id"], json!(a.prod));
    assert_eq!(r.json["updates"].as_array().map(Vec::len), Some(1));
    assert_eq!(r.json["updates"][0]["author"], json!("hamn-operator"));
    let created = h.audit("action=incident.create").await;
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["target_id"], json!(incident));
    assert_eq!(created[0]["tenant_id"], json!(a.tenant));

    // The overview: an environment whose pool has no host is disturbed too.
    let state_of = |o: &hamn_broker::status::Overview, env: &str| {
        o.environments
            .iter()
            .find(|e| e.environment_id.to_string() == env)
            .map(|e| e.state)
    };
    let o = overview(h.db(), OffsetDateTime::now_utc())
        .await
        .expect("overview");
    assert_eq!(
        state_of(&o, &other.prod),
        Some(EnvironmentState::Disturbance),
        "no host"
    );
    for (pool, name) in [(&a.pool, "rdsh-ale"), (&other.pool, "rdsh-bjuv")] {
        h.create(
            &format!("/api/v1/pools/{pool}/hosts"),
            json!({"name": name, "address": "192.0.2.10", "port": 3389, "capacity": 5}),
        )
        .await;
    }
    // With hosts: PROD of `a` is disturbed by its incident, the other tenant's is not.
    let o = overview(h.db(), OffsetDateTime::now_utc())
        .await
        .expect("overview");
    assert_eq!(state_of(&o, &a.prod), Some(EnvironmentState::Disturbance));
    assert_eq!(state_of(&o, &other.prod), Some(EnvironmentState::Operating));
    assert_eq!(o.incidents.len(), 1);

    // An update changes state and severity; another resolves it.
    let updates = format!("/api/v1/incidents/{incident}/updates");
    let r = h
        .op(Method::POST, &updates, Some(json!({"message": "Orsaken är en full disk.", "state": "identified", "severity": "outage"})))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:#}", r.json);
    assert_eq!(
        (r.json["state"].clone(), r.json["severity"].clone()),
        (json!("identified"), json!("outage"))
    );
    let r = h
        .op(Method::POST, &updates, Some(json!({"message": ""})))
        .await;
    assert_eq!(fields(&r.json), ["message"], "{:#}", r.json);
    let r = h
        .op(
            Method::POST,
            &updates,
            Some(json!({"message": "Löst: disken är utökad.", "state": "resolved"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:#}", r.json);
    assert!(r.json["resolved_at"].is_string(), "{:#}", r.json);
    let states: Vec<&str> = r.json["updates"]
        .as_array()
        .map(|u| u.iter().filter_map(|u| u["state"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(states, ["investigating", "identified", "resolved"]);
    assert_eq!(h.audit("action=incident.update").await.len(), 1);
    let resolved = h.audit("action=incident.resolve").await;
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0]["before"]["state"], json!("identified"));
    assert_eq!(resolved[0]["after"]["state"], json!("resolved"));
    // Resolved: no more updates (and nothing written).
    let r = h
        .op(
            Method::POST,
            &updates,
            Some(json!({"message": "Igen?", "state": "investigating"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:#}", r.json);
    let r = h
        .op(Method::GET, &format!("/api/v1/incidents/{incident}"), None)
        .await;
    assert_eq!(r.json["updates"].as_array().map(Vec::len), Some(3));
    let o = overview(h.db(), OffsetDateTime::now_utc())
        .await
        .expect("overview");
    assert_eq!(
        state_of(&o, &a.prod),
        Some(EnvironmentState::Operating),
        "resolved"
    );
    assert_eq!(
        o.incidents.len(),
        1,
        "still shown among the recently resolved"
    );

    // A tenant-wide incident of the other tenant, open.
    let theirs = h
        .create(
            &format!("/api/v1/tenants/{}/incidents", other.tenant),
            json!({"title": "Inloggning fungerar inte", "severity": "outage", "message": "IdP:n svarar inte."}),
        )
        .await;

    // Listing: newest first, open filter.
    let r = h.op(Method::GET, &format!("{path}?open=true"), None).await;
    assert_eq!(r.json["items"], json!([]), "{:#}", r.json);
    let r = h
        .op(Method::GET, &format!("{path}?open=false&limit=1"), None)
        .await;
    assert_eq!(r.json["items"][0]["id"], json!(incident), "{:#}", r.json);
    assert_eq!(
        r.json["items"][0]["updates"].as_array().map(Vec::len),
        Some(3)
    );
    let r = h.op(Method::GET, &format!("{path}?bogus=1"), None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:#}", r.json);

    // A tenant client reads its own, not the other tenant's, and cannot post.
    h.create("/api/v1/api-clients", json!({"name": "Ale", "subject_cn": "ale-incidents", "scope": "tenant", "tenant_id": a.tenant})).await;
    let me = client_cert("ale-incidents");
    let r = h.as_(&me, Method::GET, &path, None).await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.json);
    assert_eq!(r.json["items"].as_array().map(Vec::len), Some(1));
    let r = h
        .as_(
            &me,
            Method::GET,
            &format!("/api/v1/incidents/{incident}"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    for p in [
        format!("/api/v1/incidents/{theirs}"),
        format!("/api/v1/tenants/{}/incidents", other.tenant),
    ] {
        let r = h.as_(&me, Method::GET, &p, None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "GET {p}: {:#}", r.json);
    }
    let r = h
        .as_(
            &me,
            Method::POST,
            &path,
            Some(json!({"title": "x", "severity": "outage", "message": "y"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:#}", r.json);
    let r = h
        .as_(
            &me,
            Method::POST,
            &format!("/api/v1/incidents/{incident}/updates"),
            Some(json!({"message": "y"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:#}", r.json);

    // Tenant-wide: every environment of that tenant is disturbed.
    let o = overview(h.db(), OffsetDateTime::now_utc())
        .await
        .expect("overview");
    assert_eq!(
        state_of(&o, &other.prod),
        Some(EnvironmentState::Disturbance)
    );
    h.finish().await;
}
both!(operators_post_update_and_resolve_incidents_tenants_read_their_own);

async fn availability_samples_of_several_nodes_agree(b: Backend) {
    let h = Harness::new(b).await;
    let a = h.tenant_with_app("ale").await;
    let env: Uuid = a.prod.parse().expect("uuid");
    let minute = minute_of(OffsetDateTime::now_utc());
    let mut conn = h.db().pool().acquire().await.expect("conn");
    // Node 1 saw it down, node 2 up, node 1 again down: available wins, in any order.
    repo::availability::record(&mut conn, env, minute, false, 1)
        .await
        .expect("record");
    repo::availability::record(&mut conn, env, minute, true, 2)
        .await
        .expect("record");
    repo::availability::record(&mut conn, env, minute, false, 3)
        .await
        .expect("record");
    repo::availability::record(&mut conn, env, minute + 1, false, 4)
        .await
        .expect("record");
    repo::availability::record(&mut conn, env, minute + 1, false, 5)
        .await
        .expect("record");
    let samples = repo::availability::samples(&mut conn, env, minute, minute + 2)
        .await
        .expect("samples");
    assert_eq!(samples, [(minute, true), (minute + 1, false)]);
    assert_eq!(
        repo::availability::prune(&mut conn, minute + 1)
            .await
            .expect("prune"),
        1
    );
    drop(conn);
    h.finish().await;
}
both!(availability_samples_of_several_nodes_agree);
