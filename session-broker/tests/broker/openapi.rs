//! The OpenAPI document lists every route, and every documented operation is routed.

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use hamn_broker::api::api_routes;

use crate::both;
use crate::support::{Backend, Harness};

async fn document_matches_the_router(b: Backend) {
    let h = Harness::new(b).await;
    let r = h
        .raw(None, Method::GET, "/api/openapi.json", None, Vec::new())
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let doc = r.json;
    assert_eq!(
        doc["openapi"].as_str().map(|v| v.starts_with("3.")),
        Some(true)
    );

    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|k| ["get", "post", "put", "patch", "delete"].contains(&k.as_str()))
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect();
    let routed: BTreeSet<(String, String)> = api_routes()
        .iter()
        .map(|r| (r.method.to_string(), format!("/api/v1{}", r.path)))
        .collect();
    assert_eq!(documented, routed);
    assert!(routed.len() >= 50, "{}", routed.len());

    // Every schema a document operation refers to exists.
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let text = doc.to_string();
    for piece in text.split("#/components/schemas/").skip(1) {
        let name: String = piece.chars().take_while(|c| c.is_alphanumeric()).collect();
        assert!(schemas.contains_key(&name), "missing schema {name}");
    }

    // Every documented operation reaches its handler: not the no-route or 405 fallbacks,
    // and never a 500, even with a made-up id and an empty body.
    let nil = uuid::Uuid::now_v7().to_string();
    for (method, path) in &documented {
        let path = path.replace("{id}", &nil).replace("{user_id}", &nil);
        let method: Method = method.parse().unwrap();
        let body = matches!(method, Method::POST | Method::PATCH | Method::PUT)
            .then(|| serde_json::json!({}));
        let r = h.op(method.clone(), &path, body).await;
        assert_ne!(
            r.json["type"], "urn:hamn:problem:no-route",
            "{method} {path}"
        );
        assert_ne!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert!(
            r.status.is_success() || r.status.is_client_error(),
            "{method} {path}: {}",
            r.status
        );
    }
    h.finish().await;
}
both!(document_matches_the_router);
