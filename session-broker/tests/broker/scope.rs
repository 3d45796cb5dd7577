//! Tenant-scoped API clients see and change only their own tenant; other tenants' ids are
//! 404 and operator-only operations are 403.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::both;
use crate::support::{Backend, Harness, client_cert, id_of};

async fn tenant_clients_are_isolated(b: Backend) {
    let h = Harness::new(b).await;
    let a = h.tenant_with_app("ale").await;
    let other = h.tenant_with_app("bjuv").await;
    let other_user = h
        .create(
            &format!("/api/v1/tenants/{}/users", other.tenant),
            json!({"name_id": "b@bjuv", "display_name": "B"}),
        )
        .await;
    let other_group = h
        .create(
            &format!("/api/v1/tenants/{}/groups", other.tenant),
            json!({"name": "Bjuv"}),
        )
        .await;
    h.create("/api/v1/api-clients", json!({"name": "Ale", "subject_cn": "ale-client", "scope": "tenant", "tenant_id": a.tenant})).await;
    let me = client_cert("ale-client");

    let list = h.as_(&me, Method::GET, "/api/v1/tenants", None).await;
    let ids: Vec<_> = list.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(
        ids,
        std::slice::from_ref(&a.tenant),
        "only the own tenant is listed"
    );

    for (method, path, body) in [
        (
            Method::GET,
            format!("/api/v1/tenants/{}", other.tenant),
            None,
        ),
        (
            Method::PATCH,
            format!("/api/v1/tenants/{}", other.tenant),
            Some(json!({"name": "x"})),
        ),
        (
            Method::GET,
            format!("/api/v1/tenants/{}/environments", other.tenant),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/environments/{}", other.prod),
            None,
        ),
        (
            Method::DELETE,
            format!("/api/v1/environments/{}", other.prod),
            None,
        ),
        (Method::GET, format!("/api/v1/apps/{}", other.app), None),
        (
            Method::PATCH,
            format!("/api/v1/apps/{}", other.app),
            Some(json!({"enabled": false})),
        ),
        (
            Method::POST,
            format!("/api/v1/tenants/{}/apps", other.tenant),
            Some(
                json!({"environment_id": other.prod, "pool_id": other.pool, "display_name": "x", "kind": "desktop"}),
            ),
        ),
        (Method::GET, format!("/api/v1/users/{other_user}"), None),
        (Method::GET, format!("/api/v1/groups/{other_group}"), None),
        (
            Method::PUT,
            format!("/api/v1/groups/{other_group}/members/{other_user}"),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/apps/{}/entitlements", other.app),
            None,
        ),
    ] {
        let r = h.as_(&me, method.clone(), &path, body).await;
        assert_eq!(
            r.status,
            StatusCode::NOT_FOUND,
            "{method} {path}: {:#}",
            r.json
        );
    }
    // Another tenant's group cannot be granted on the own app either.
    let r = h
        .as_(
            &me,
            Method::POST,
            &format!("/api/v1/apps/{}/entitlements", a.app),
            Some(json!({"group_id": other_group})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    for (method, path, body) in [
        (
            Method::POST,
            "/api/v1/tenants".to_owned(),
            Some(json!({"slug": "x", "name": "X"})),
        ),
        (
            Method::DELETE,
            format!("/api/v1/tenants/{}", a.tenant),
            None,
        ),
        (
            Method::POST,
            "/api/v1/pools".to_owned(),
            Some(json!({"name": "mine"})),
        ),
        (
            Method::PATCH,
            format!("/api/v1/pools/{}", a.pool),
            Some(json!({"name": "mine"})),
        ),
        (
            Method::POST,
            format!("/api/v1/pools/{}/hosts", a.pool),
            Some(json!({"name": "h", "address": "10.0.0.1", "capacity": 1})),
        ),
        (Method::GET, "/api/v1/api-clients".to_owned(), None),
        (
            Method::POST,
            "/api/v1/api-clients".to_owned(),
            Some(json!({"name": "x", "subject_cn": "y", "scope": "operator"})),
        ),
    ] {
        let r = h.as_(&me, method.clone(), &path, body).await;
        assert_eq!(
            r.status,
            StatusCode::FORBIDDEN,
            "{method} {path}: {:#}",
            r.json
        );
        assert_eq!(r.content_type, "application/problem+json");
    }

    // Its own tenant works end to end.
    let u = h
        .as_(
            &me,
            Method::POST,
            &format!("/api/v1/tenants/{}/users", a.tenant),
            Some(json!({"name_id": "a@ale", "display_name": "A"})),
        )
        .await;
    assert_eq!(u.status, StatusCode::CREATED, "{:#}", u.json);
    let g = h
        .as_(
            &me,
            Method::POST,
            &format!("/api/v1/tenants/{}/groups", a.tenant),
            Some(json!({"name": "Ale"})),
        )
        .await;
    let e = h
        .as_(
            &me,
            Method::POST,
            &format!("/api/v1/apps/{}/entitlements", a.app),
            Some(json!({"group_id": id_of(&g.json)})),
        )
        .await;
    assert_eq!(e.status, StatusCode::CREATED, "{:#}", e.json);
    // Pools: shared ones are visible for publishing.
    let pools = h.as_(&me, Method::GET, "/api/v1/pools", None).await;
    assert_eq!(pools.json["items"].as_array().map(Vec::len), Some(2));

    // The audit log shows only its tenant's events, including its own actions.
    let ev = h.as_(&me, Method::GET, "/api/v1/audit", None).await;
    let items = ev.json["items"].as_array().unwrap();
    assert!(!items.is_empty());
    assert!(
        items.iter().all(|e| e["tenant_id"] == a.tenant.as_str()),
        "{items:#?}"
    );
    assert_eq!(items[0]["action"], "entitlement.create");
    let foreign = h
        .as_(
            &me,
            Method::GET,
            &format!("/api/v1/audit?tenant_id={}", other.tenant),
            None,
        )
        .await;
    assert_eq!(foreign.json["items"].as_array().map(Vec::len), Some(0));
    h.finish().await;
}
both!(tenant_clients_are_isolated);

async fn dedicated_pools_are_hidden_from_other_tenants(b: Backend) {
    let h = Harness::new(b).await;
    let a = h
        .create("/api/v1/tenants", json!({"slug": "ta", "name": "A"}))
        .await;
    let other = h
        .create("/api/v1/tenants", json!({"slug": "tb", "name": "B"}))
        .await;
    let mine = h
        .create(
            "/api/v1/pools",
            json!({"name": "a-only", "dedicated_tenant_id": a}),
        )
        .await;
    let theirs = h
        .create(
            "/api/v1/pools",
            json!({"name": "b-only", "dedicated_tenant_id": other}),
        )
        .await;
    let shared = h.create("/api/v1/pools", json!({"name": "shared"})).await;
    h.create(
        "/api/v1/api-clients",
        json!({"name": "A", "subject_cn": "ta-client", "scope": "tenant", "tenant_id": a}),
    )
    .await;
    let me = client_cert("ta-client");
    let list = h.as_(&me, Method::GET, "/api/v1/pools", None).await;
    let mut ids: Vec<_> = list.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    ids.sort();
    let mut want = vec![mine, shared];
    want.sort();
    assert_eq!(ids, want);
    let r = h
        .as_(&me, Method::GET, &format!("/api/v1/pools/{theirs}"), None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    h.finish().await;
}
both!(dedicated_pools_are_hidden_from_other_tenants);
