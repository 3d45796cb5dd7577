//! Bad input is a 4xx problem document naming the field; duplicates 409; unknown ids 404.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::both;
use crate::support::{Backend, Harness, fields};

async fn validation_names_the_field(b: Backend) {
    let h = Harness::new(b).await;
    let r = h
        .op(
            Method::POST,
            "/api/v1/tenants",
            Some(json!({"slug": "Bad Slug!", "name": "  "})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.content_type, "application/problem+json");
    assert_eq!(fields(&r.json), ["slug", "name"], "every problem at once");
    assert_eq!(r.json["status"], 422);
    assert_eq!(r.json["type"], "urn:hamn:problem:validation");

    let f = h.tenant_with_app("kiruna").await;
    let cases = [
        (
            format!("/api/v1/tenants/{}/apps", f.tenant),
            json!({"environment_id": f.prod, "pool_id": f.pool, "display_name": "X", "kind": "program"}),
            "program",
        ),
        (
            format!("/api/v1/tenants/{}/apps", f.tenant),
            json!({"environment_id": f.prod, "pool_id": f.pool, "display_name": "X", "kind": "desktop", "program": "x"}),
            "program",
        ),
        (
            format!("/api/v1/tenants/{}/apps", f.tenant),
            json!({"environment_id": f.prod, "pool_id": uuid::Uuid::now_v7(), "display_name": "X", "kind": "desktop"}),
            "pool_id",
        ),
        (
            format!("/api/v1/tenants/{}/apps", f.tenant),
            json!({"environment_id": uuid::Uuid::now_v7(), "pool_id": f.pool, "display_name": "X", "kind": "desktop"}),
            "environment_id",
        ),
        (
            format!("/api/v1/pools/{}/hosts", f.pool),
            json!({"name": "h", "address": "not an address!", "capacity": 1}),
            "address",
        ),
        (
            format!("/api/v1/pools/{}/hosts", f.pool),
            json!({"name": "h", "address": "10.0.0.1", "port": 0, "capacity": 1}),
            "port",
        ),
        (
            format!("/api/v1/pools/{}/hosts", f.pool),
            json!({"name": "h", "address": "10.0.0.1", "capacity": 100000}),
            "capacity",
        ),
        (
            format!("/api/v1/tenants/{}/users", f.tenant),
            json!({"name_id": "a", "hsa_id": "nope", "display_name": "A"}),
            "hsa_id",
        ),
        (
            format!("/api/v1/apps/{}/entitlements", f.app),
            json!({}),
            "group_id",
        ),
        (
            "/api/v1/api-clients".to_owned(),
            json!({"name": "x", "subject_cn": "x", "scope": "tenant"}),
            "tenant_id",
        ),
        (
            "/api/v1/pools".to_owned(),
            json!({"name": "p2", "dedicated_tenant_id": uuid::Uuid::now_v7()}),
            "dedicated_tenant_id",
        ),
    ];
    for (path, body, field) in cases {
        let r = h.op(Method::POST, &path, Some(body.clone())).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "POST {path} {body}: {:#}",
            r.json
        );
        assert_eq!(fields(&r.json), [field], "POST {path} {body}");
    }
    h.finish().await;
}
both!(validation_names_the_field);

async fn malformed_requests_are_400(b: Backend) {
    let h = Harness::new(b).await;
    let op = h.operator.clone();
    let post = |body: &'static str| {
        let op = op.clone();
        let h = &h;
        async move {
            h.raw(
                Some(&op),
                Method::POST,
                "/api/v1/tenants",
                Some("application/json"),
                body.as_bytes().to_vec(),
            )
            .await
        }
    };
    let cases = [
        // cut off inside a value: the field being read is named
        (r#"{"slug": "a", "name": "#, "name"),
        ("not json", "body"),
        (r#"{"slug": 5, "name": "A"}"#, "slug"),
        (r#"{"slug": "a", "name": "A", "colour": "red"}"#, "colour"),
        (r#"{"name": "A"}"#, "slug"),
        (r#"[1, 2]"#, "body"),
    ];
    for (body, field) in cases {
        let r = post(body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {:#}", r.json);
        assert_eq!(r.content_type, "application/problem+json");
        assert_eq!(fields(&r.json), [field], "{body}: {:#}", r.json);
    }
    let wrong_type = h
        .raw(
            Some(&op),
            Method::POST,
            "/api/v1/tenants",
            Some("text/plain"),
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(wrong_type.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(fields(&wrong_type.json), ["content-type"]);

    let bad_enum = h
        .op(
            Method::POST,
            "/api/v1/pools",
            Some(json!({"name": "p", "strategy": "round_robin"})),
        )
        .await;
    assert_eq!(
        (bad_enum.status, fields(&bad_enum.json)),
        (StatusCode::BAD_REQUEST, vec!["strategy".to_owned()])
    );

    for (path, field) in [
        ("/api/v1/tenants/not-a-uuid", "id"),
        (
            "/api/v1/groups/00000000-0000-0000-0000-000000000000/members/xyz",
            "user_id",
        ),
        ("/api/v1/tenants?limit=abc", "limit"),
        ("/api/v1/tenants?limit=0", "limit"),
        ("/api/v1/tenants?limit=501", "limit"),
        ("/api/v1/tenants?cursor=zzz", "cursor"),
        ("/api/v1/tenants?sort=name", "sort"),
        ("/api/v1/audit?from=yesterday", "from"),
        ("/api/v1/sessions?state=sleeping", "state"),
    ] {
        let method = if path.contains("/members/") {
            Method::PUT
        } else {
            Method::GET
        };
        let r = h.op(method, path, None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}: {:#}", r.json);
        assert_eq!(fields(&r.json), [field], "{path}: {:#}", r.json);
    }
    h.finish().await;
}
both!(malformed_requests_are_400);

async fn duplicates_are_409(b: Backend) {
    let h = Harness::new(b).await;
    let f = h.tenant_with_app("boras").await;
    let cases = [
        (
            "/api/v1/tenants".to_owned(),
            json!({"slug": "boras", "name": "Annan"}),
            "slug",
        ),
        (
            format!("/api/v1/tenants/{}/environments", f.tenant),
            json!({"kind": "PROD"}),
            "kind",
        ),
        (
            "/api/v1/pools".to_owned(),
            json!({"name": "pool-boras"}),
            "name",
        ),
        (
            format!("/api/v1/tenants/{}/apps", f.tenant),
            json!({"environment_id": f.prod, "pool_id": f.pool, "display_name": "Procapita", "kind": "desktop"}),
            "display_name",
        ),
    ];
    for (path, body, field) in cases {
        let r = h.op(Method::POST, &path, Some(body.clone())).await;
        assert_eq!(
            r.status,
            StatusCode::CONFLICT,
            "POST {path} {body}: {:#}",
            r.json
        );
        assert_eq!(fields(&r.json), [field], "POST {path}");
        assert_eq!(r.content_type, "application/problem+json");
    }
    h.create(
        &format!("/api/v1/tenants/{}/groups", f.tenant),
        json!({"name": "G1", "external_id": "ext-1"}),
    )
    .await;
    let g = h
        .op(
            Method::POST,
            &format!("/api/v1/tenants/{}/groups", f.tenant),
            Some(json!({"name": "G2", "external_id": "ext-1"})),
        )
        .await;
    assert_eq!(
        (g.status, fields(&g.json)),
        (StatusCode::CONFLICT, vec!["external_id".to_owned()])
    );
    let g = h
        .op(
            Method::POST,
            &format!("/api/v1/tenants/{}/groups", f.tenant),
            Some(json!({"name": "G1"})),
        )
        .await;
    assert_eq!(
        (g.status, fields(&g.json)),
        (StatusCode::CONFLICT, vec!["name".to_owned()])
    );

    // A rename onto an existing slug is a conflict too.
    let other = h
        .create(
            "/api/v1/tenants",
            json!({"slug": "alingsas", "name": "Alingsås"}),
        )
        .await;
    let r = h
        .op(
            Method::PATCH,
            &format!("/api/v1/tenants/{other}"),
            Some(json!({"slug": "boras"})),
        )
        .await;
    assert_eq!(
        (r.status, fields(&r.json)),
        (StatusCode::CONFLICT, vec!["slug".to_owned()])
    );
    // Deleting a tenant that still has resources is a conflict, not a 500.
    let r = h
        .op(
            Method::DELETE,
            &format!("/api/v1/tenants/{}", f.tenant),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:#}", r.json);
    h.finish().await;
}
both!(duplicates_are_409);

async fn unknown_ids_are_404(b: Backend) {
    let h = Harness::new(b).await;
    let nil = uuid::Uuid::now_v7();
    for (method, path) in [
        (Method::GET, format!("/api/v1/tenants/{nil}")),
        (Method::PATCH, format!("/api/v1/tenants/{nil}")),
        (Method::DELETE, format!("/api/v1/tenants/{nil}")),
        (Method::GET, format!("/api/v1/tenants/{nil}/environments")),
        (Method::POST, format!("/api/v1/tenants/{nil}/users")),
        (Method::GET, format!("/api/v1/pools/{nil}")),
        (Method::POST, format!("/api/v1/pools/{nil}/hosts")),
        (Method::PUT, format!("/api/v1/hosts/{nil}/state")),
        (Method::GET, format!("/api/v1/apps/{nil}/entitlements")),
        (Method::DELETE, format!("/api/v1/entitlements/{nil}")),
        (Method::GET, format!("/api/v1/sessions/{nil}")),
        (Method::GET, format!("/api/v1/audit/{nil}")),
        (Method::GET, format!("/api/v1/api-clients/{nil}")),
    ] {
        let body = match method {
            Method::PATCH => Some(json!({})),
            Method::POST => Some(
                json!({"name_id": "x", "display_name": "X", "name": "h", "address": "10.0.0.1", "capacity": 1}),
            ),
            Method::PUT => Some(json!({"state": "drain"})),
            _ => None,
        };
        // The body only has to be well-formed for the resource; unknown fields would be 400.
        let body = body.map(|b| match path.as_str() {
            p if p.ends_with("/users") => {
                json!({"name_id": b["name_id"], "display_name": b["display_name"]})
            }
            p if p.ends_with("/hosts") => {
                json!({"name": b["name"], "address": b["address"], "capacity": b["capacity"]})
            }
            _ => b,
        });
        let r = h.op(method.clone(), &path, body).await;
        assert_eq!(
            r.status,
            StatusCode::NOT_FOUND,
            "{method} {path}: {:#}",
            r.json
        );
        assert_eq!(r.json["type"], "urn:hamn:problem:not-found");
    }
    let r = h.op(Method::GET, "/api/v1/nothing-here", None).await;
    assert_eq!(
        (r.status, r.json["type"].as_str()),
        (StatusCode::NOT_FOUND, Some("urn:hamn:problem:no-route"))
    );
    let r = h.op(Method::PUT, "/api/v1/tenants", None).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    h.finish().await;
}
both!(unknown_ids_are_404);
