//! Client-certificate authentication of `/api/v1`: refusals are 401/403 problem documents
//! and audit events.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::both;
use crate::support::{Backend, Harness, PEER, certs, client_cert};

async fn refusals_are_401_403_and_audited(b: Backend) {
    let h = Harness::new(b).await;
    let c = certs();
    // disabled client
    let t = h
        .create("/api/v1/tenants", json!({"slug": "sala", "name": "Sala"}))
        .await;
    let id = h.create("/api/v1/api-clients", json!({"name": "off", "subject_cn": "disabled-client", "scope": "tenant", "tenant_id": t, "enabled": false})).await;
    assert!(!id.is_empty());
    let disabled = client_cert("disabled-client");
    let unknown = client_cert("nobody-registered");

    let cases: [(&str, Option<&[_]>, StatusCode); 6] = [
        ("no certificate", None, StatusCode::UNAUTHORIZED),
        ("other CA", Some(&c.other_ca), StatusCode::UNAUTHORIZED),
        ("expired", Some(&c.expired), StatusCode::UNAUTHORIZED),
        ("no clientAuth EKU", Some(&c.no_eku), StatusCode::FORBIDDEN),
        ("unknown CN", Some(&unknown), StatusCode::FORBIDDEN),
        ("disabled client", Some(&disabled), StatusCode::FORBIDDEN),
    ];
    for (what, cert, status) in cases {
        let r = h
            .raw(cert, Method::GET, "/api/v1/tenants", None, Vec::new())
            .await;
        assert_eq!(r.status, status, "{what}: {:#}", r.json);
        assert_eq!(r.content_type, "application/problem+json", "{what}");
        assert_eq!(r.json["status"], status.as_u16(), "{what}");
    }
    let refused = h.audit("action=api.auth_refused").await;
    assert_eq!(refused.len(), 6, "each refusal audited: {refused:#?}");
    for e in &refused {
        assert_eq!(
            (e["outcome"].as_str(), e["source_address"].as_str()),
            (Some("refused"), Some(PEER))
        );
        assert_eq!(e["target_id"], "GET /api/v1/tenants");
    }
    let details: Vec<_> = refused
        .iter()
        .rev()
        .map(|e| e["detail"].as_str().unwrap().to_owned())
        .collect();
    assert!(details[0].contains("no client certificate"), "{details:?}");
    assert!(details[3].contains("clientAuth"), "{details:?}");
    assert!(
        details[4].contains("not a registered API client"),
        "{details:?}"
    );
    assert_eq!(refused[0]["actor_name"], "disabled-client");

    // OpenAPI, health and readiness stay public
    for path in ["/api/openapi.json", "/healthz", "/readyz"] {
        let r = h.raw(None, Method::GET, path, None, Vec::new()).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
    }
    h.finish().await;
}
both!(refusals_are_401_403_and_audited);

async fn registered_clients_pass(b: Backend) {
    let h = Harness::new(b).await;
    let id = h
        .create(
            "/api/v1/api-clients",
            json!({"name": "Drift", "subject_cn": "ops-client", "scope": "operator"}),
        )
        .await;
    let cert = client_cert("ops-client");
    let r = h.as_(&cert, Method::GET, "/api/v1/whoami", None).await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.json);
    assert_eq!(
        (
            r.json["client_id"].as_str(),
            r.json["scope"].as_str(),
            r.json["name"].as_str()
        ),
        (Some(id.as_str()), Some("operator"), Some("Drift"))
    );
    let made = h
        .as_(
            &cert,
            Method::POST,
            "/api/v1/tenants",
            Some(json!({"slug": "ops", "name": "Ops"})),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED);
    let ev = h.audit("action=tenant.create").await;
    assert_eq!(
        (ev[0]["actor_kind"].as_str(), ev[0]["actor_id"].as_str()),
        (Some("api_client"), Some(id.as_str()))
    );
    h.finish().await;
}
both!(registered_clients_pass);
