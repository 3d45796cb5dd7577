//! Every mutation writes its audit event in the same transaction; failed ones write none.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::both;
use crate::support::{Backend, Harness, OPERATOR_CN, PEER, id_of};

async fn mutations_are_audited_with_before_and_after(b: Backend) {
    let h = Harness::new(b).await;
    let t = h
        .create("/api/v1/tenants", json!({"slug": "gavle", "name": "Gävle"}))
        .await;
    h.op(
        Method::PATCH,
        &format!("/api/v1/tenants/{t}"),
        Some(json!({"name": "Gävle kommun"})),
    )
    .await;
    let pool = h.create("/api/v1/pools", json!({"name": "p"})).await;
    let host = h
        .create(
            &format!("/api/v1/pools/{pool}/hosts"),
            json!({"name": "h1", "address": "10.1.1.1", "capacity": 5}),
        )
        .await;
    h.op(
        Method::PUT,
        &format!("/api/v1/hosts/{host}/state"),
        Some(json!({"state": "drain"})),
    )
    .await;

    let created = h.audit("action=tenant.create").await;
    assert_eq!(created.len(), 1);
    let e = &created[0];
    assert_eq!(
        (
            e["tenant_id"].as_str(),
            e["target_type"].as_str(),
            e["target_id"].as_str()
        ),
        (Some(t.as_str()), Some("tenant"), Some(t.as_str()))
    );
    assert_eq!(
        (
            e["actor_kind"].as_str(),
            e["actor_name"].as_str(),
            e["actor_id"].as_str()
        ),
        (
            Some("operator"),
            Some(OPERATOR_CN),
            Some("cn:hamn-operator")
        )
    );
    assert_eq!(
        (e["outcome"].as_str(), e["source_address"].as_str()),
        (Some("success"), Some(PEER))
    );
    assert!(e["before"].is_null());
    assert_eq!(e["after"]["name"], "Gävle");

    let updated = h.audit("action=tenant.update").await;
    assert_eq!(updated[0]["before"]["name"], "Gävle");
    assert_eq!(updated[0]["after"]["name"], "Gävle kommun");

    let drained = h
        .audit(&format!("action=host.state_change&target_id={host}"))
        .await;
    assert_eq!(
        (
            drained[0]["before"]["state"].as_str(),
            drained[0]["after"]["state"].as_str()
        ),
        (Some("active"), Some("drain"))
    );

    // by tenant: only the tenant's own events
    let of_tenant = h.audit(&format!("tenant_id={t}")).await;
    let actions: Vec<_> = of_tenant
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(actions, ["tenant.update", "tenant.create"], "newest first");

    // one event by id
    let one = h
        .op(Method::GET, &format!("/api/v1/audit/{}", id_of(e)), None)
        .await;
    assert_eq!(one.json, *e);
    h.finish().await;
}
both!(mutations_are_audited_with_before_and_after);

async fn failed_mutations_leave_no_audit_row(b: Backend) {
    let h = Harness::new(b).await;
    let f = h.tenant_with_app("falun").await;
    let before = h.audit("").await.len();

    // refused by the database inside the transaction (unique constraint)
    let dup = h
        .op(
            Method::POST,
            "/api/v1/tenants",
            Some(json!({"slug": "falun", "name": "Igen"})),
        )
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    // refused after reads inside the transaction (the pool is dedicated elsewhere)
    let other = h
        .create("/api/v1/tenants", json!({"slug": "mora", "name": "Mora"}))
        .await;
    let after_other = h.audit("").await.len();
    assert_eq!(after_other, before + 1);
    let dedicated = h
        .create(
            "/api/v1/pools",
            json!({"name": "mora-only", "dedicated_tenant_id": other}),
        )
        .await;
    let r = h.op(Method::POST, &format!("/api/v1/tenants/{}/apps", f.tenant), Some(json!({"environment_id": f.prod, "pool_id": dedicated, "display_name": "Nej", "kind": "desktop"}))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // refused by a foreign key on delete
    let r = h
        .op(
            Method::DELETE,
            &format!("/api/v1/environments/{}", f.prod),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);

    let events = h.audit("").await;
    assert_eq!(
        events.len(),
        after_other + 1,
        "only the pool.create was recorded"
    );
    assert_eq!(events[0]["action"], "pool.create");
    let apps = h
        .op(
            Method::GET,
            &format!("/api/v1/tenants/{}/apps", f.tenant),
            None,
        )
        .await;
    assert_eq!(
        apps.json["items"].as_array().map(Vec::len),
        Some(1),
        "no app row either"
    );
    let env = h
        .op(
            Method::GET,
            &format!("/api/v1/environments/{}", f.prod),
            None,
        )
        .await;
    assert_eq!(env.status, StatusCode::OK, "the environment survived");
    h.finish().await;
}
both!(failed_mutations_leave_no_audit_row);

async fn audit_filters_by_time_and_outcome(b: Backend) {
    let h = Harness::new(b).await;
    h.create("/api/v1/tenants", json!({"slug": "a1", "name": "A1"}))
        .await;
    // Times are stored in milliseconds: keep the cut clear of both events' milliseconds.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let cut = time::OffsetDateTime::now_utc();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    h.create("/api/v1/tenants", json!({"slug": "a2", "name": "A2"}))
        .await;
    let fmt = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
            .replace('+', "%2B")
    };
    let later = h.audit(&format!("from={}", fmt(cut))).await;
    assert_eq!(
        later
            .iter()
            .map(|e| e["after"]["slug"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["a2"]
    );
    let earlier = h.audit(&format!("to={}", fmt(cut))).await;
    assert_eq!(
        earlier
            .iter()
            .map(|e| e["after"]["slug"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["a1"]
    );
    assert_eq!(h.audit("outcome=success").await.len(), 2);
    assert!(h.audit("outcome=refused").await.is_empty());
    h.finish().await;
}
both!(audit_filters_by_time_and_outcome);
