//! The host certificate policy of pools: verify (optionally with a CA), pin (SHA-256
//! fingerprints) or ignore, validated as a whole on create and patch.

use axum::http::{Method, StatusCode};
use hamn_broker::model::{HostCertCheck, HostPool};
use serde_json::json;

use crate::both;
use crate::support::{Backend, Harness, certs, fields, id_of};

const PIN: &str = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89";

async fn policy_is_validated_and_exposed(b: Backend) {
    let h = Harness::new(b).await;
    let r = h
        .op(Method::POST, "/api/v1/pools", Some(json!({"name": "p1"})))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.json["host_cert_policy"], "verify", "the default");
    assert_eq!(r.json["host_cert_pins"], json!([]));
    assert!(r.json["host_ca_pem"].is_null());

    let r = h
        .op(
            Method::POST,
            "/api/v1/pools",
            Some(json!({"name": "p2", "host_cert_policy": "pin", "host_cert_pins": ["nope", PIN]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&r.json), ["host_cert_pins[0]"]);
    let r = h
        .op(
            Method::POST,
            "/api/v1/pools",
            Some(json!({"name": "p2", "host_cert_policy": "pin"})),
        )
        .await;
    assert_eq!(
        fields(&r.json),
        ["host_cert_pins"],
        "pin needs a fingerprint"
    );
    let r = h
        .op(
            Method::POST,
            "/api/v1/pools",
            Some(json!({"name": "p2", "host_cert_policy": "ignore", "host_ca_pem": "x"})),
        )
        .await;
    assert_eq!(fields(&r.json), ["host_ca_pem"]);
    let r = h
        .op(
            Method::POST,
            "/api/v1/pools",
            Some(json!({"name": "p2", "host_cert_policy": "verify", "host_ca_pem": "not a certificate"})),
        )
        .await;
    assert_eq!(fields(&r.json), ["host_ca_pem"]);
    let r = h
        .op(
            Method::POST,
            "/api/v1/pools",
            Some(json!({"name": "p2", "host_cert_policy": "trust-me"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    let r = h
        .op(
            Method::POST,
            "/api/v1/pools",
            Some(json!({"name": "p2", "host_cert_policy": "pin", "host_cert_pins": [PIN]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:#}", r.json);
    let normal = PIN.replace(':', "").to_lowercase();
    assert_eq!(
        r.json["host_cert_pins"],
        json!([normal]),
        "stored normalised"
    );
    let pool: HostPool = serde_json::from_value(r.json.clone()).unwrap();
    assert!(
        matches!(pool.host_cert_check(), HostCertCheck::Pin(p) if p.len() == 1 && p[0][0] == 0xab)
    );
    let id = id_of(&r.json);

    // Switching policy drops the old policy's settings.
    let r = h
        .op(
            Method::PATCH,
            &format!("/api/v1/pools/{id}"),
            Some(json!({"host_cert_policy": "ignore"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.json);
    assert_eq!(r.json["host_cert_pins"], json!([]));
    let ca = std::fs::read_to_string(certs().pki.paths.ca_cert()).unwrap();
    let r = h
        .op(
            Method::PATCH,
            &format!("/api/v1/pools/{id}"),
            Some(json!({"host_cert_policy": "verify", "host_ca_pem": ca})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.json);
    let got = h
        .op(Method::GET, &format!("/api/v1/pools/{id}"), None)
        .await;
    assert_eq!(got.json["host_cert_policy"], "verify");
    assert_eq!(got.json["host_ca_pem"].as_str(), Some(ca.as_str()));
    let r = h
        .op(
            Method::PATCH,
            &format!("/api/v1/pools/{id}"),
            Some(json!({"host_cert_pins": [PIN]})),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "pins need policy pin"
    );
    let audit = h.audit("action=pool.update").await;
    assert_eq!(audit[0]["after"]["host_cert_policy"], "verify");
    h.finish().await;
}
both!(policy_is_validated_and_exposed);
