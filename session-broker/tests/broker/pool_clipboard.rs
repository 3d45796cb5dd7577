//! The clipboard policy of pools: on by default with a 1 MiB limit, switchable and bounded
//! (at most 16 MiB, checked by the API naming the field and by the database itself).

use axum::http::{Method, StatusCode};
use hamn_broker::model::{HostPool, MAX_CLIPBOARD_MAX_BYTES};
use serde_json::json;

use crate::both;
use crate::support::{Backend, Harness, fields, id_of};

async fn clipboard_policy_is_validated_and_exposed(b: Backend) {
    let h = Harness::new(b).await;
    let r = h
        .op(Method::POST, "/api/v1/pools", Some(json!({"name": "p1"})))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:#}", r.json);
    assert_eq!(r.json["clipboard_enabled"], true, "on by default");
    assert_eq!(r.json["clipboard_max_bytes"], 1_048_576, "1 MiB by default");
    let pool: HostPool = serde_json::from_value(r.json.clone()).unwrap();
    assert_eq!(pool.clipboard_limit(), Some(1_048_576));
    let id = id_of(&r.json);

    let r = h
        .op(
            Method::POST,
            "/api/v1/pools",
            Some(json!({"name": "p2", "clipboard_max_bytes": MAX_CLIPBOARD_MAX_BYTES + 1})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:#}", r.json);
    assert_eq!(fields(&r.json), ["clipboard_max_bytes"]);
    let r = h
        .op(
            Method::POST,
            "/api/v1/pools",
            Some(json!({"name": "p2", "clipboard_enabled": "ja"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:#}", r.json);

    let r = h
        .op(
            Method::POST,
            "/api/v1/pools",
            Some(json!({"name": "p2", "clipboard_enabled": false, "clipboard_max_bytes": 0})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:#}", r.json);
    let off: HostPool = serde_json::from_value(r.json.clone()).unwrap();
    assert_eq!(off.clipboard_limit(), None, "off means no clipboard at all");

    // Patch: each field on its own, the limit validated.
    let r = h
        .op(
            Method::PATCH,
            &format!("/api/v1/pools/{id}"),
            Some(json!({"clipboard_max_bytes": MAX_CLIPBOARD_MAX_BYTES * 2})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:#}", r.json);
    assert_eq!(fields(&r.json), ["clipboard_max_bytes"]);
    let r = h
        .op(
            Method::PATCH,
            &format!("/api/v1/pools/{id}"),
            Some(json!({"clipboard_enabled": false})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.json);
    assert_eq!(r.json["clipboard_enabled"], false);
    assert_eq!(r.json["clipboard_max_bytes"], 1_048_576, "the limit stays");
    let r = h
        .op(
            Method::PATCH,
            &format!("/api/v1/pools/{id}"),
            Some(json!({"clipboard_enabled": true, "clipboard_max_bytes": 4096})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.json);
    let got = h
        .op(Method::GET, &format!("/api/v1/pools/{id}"), None)
        .await;
    let pool: HostPool = serde_json::from_value(got.json.clone()).unwrap();
    assert_eq!(pool.clipboard_limit(), Some(4096), "stored and read back");

    let audit = h.audit("action=pool.update").await;
    assert_eq!(audit[0]["after"]["clipboard_max_bytes"], 4096);
    assert_eq!(audit[1]["after"]["clipboard_enabled"], false);

    // The database refuses what the API would, for writers that bypass it.
    let mut conn = h.db().pool().acquire().await.unwrap();
    let mut too_big = pool.clone();
    too_big.clipboard_max_bytes = MAX_CLIPBOARD_MAX_BYTES + 1;
    assert!(
        hamn_broker::repo::pools::update(&mut conn, &too_big)
            .await
            .is_err(),
        "the CHECK constraint holds"
    );
    let mut at_ceiling = pool;
    at_ceiling.clipboard_max_bytes = MAX_CLIPBOARD_MAX_BYTES;
    hamn_broker::repo::pools::update(&mut conn, &at_ceiling)
        .await
        .expect("16 MiB is allowed");
    drop(conn);
    h.finish().await;
}
both!(clipboard_policy_is_validated_and_exposed);
