//! The device-redirection policy of pools for native RDP clients: drives, printers, COM
//! ports and PnP devices, with safe defaults (only printers on), switchable one by one
//! through the admin API, audited, and read by the gateway as one `NativeRedirection`.

use axum::http::{Method, StatusCode};
use hamn_broker::model::{HostPool, NativeRedirection, PrintDriver};
use serde_json::json;

use crate::both;
use crate::support::{Backend, Harness, fields, id_of};

async fn native_redirection_defaults_update_and_audit(b: Backend) {
    let h = Harness::new(b).await;
    let r = h
        .op(Method::POST, "/api/v1/pools", Some(json!({"name": "p1"})))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:#}", r.json);
    assert_eq!(r.json["drives_enabled"], false, "drives off by default");
    assert_eq!(r.json["printers_enabled"], true, "printers on by default");
    assert_eq!(r.json["com_ports_enabled"], false, "ports off by default");
    assert_eq!(r.json["pnp_devices_enabled"], false, "PnP off by default");
    assert_eq!(r.json["native_remote_apps"], true, "RemoteApps by default");
    let pool: HostPool = serde_json::from_value(r.json.clone()).unwrap();
    assert_eq!(
        pool.native_redirection(),
        NativeRedirection {
            drives: false,
            printers: true,
            com_ports: false,
            pnp_devices: false,
            clipboard: true,
        }
    );
    let id = id_of(&r.json);

    // Wrong types are refused naming the field, on create and on update.
    for field in [
        "drives_enabled",
        "printers_enabled",
        "com_ports_enabled",
        "pnp_devices_enabled",
        "native_remote_apps",
    ] {
        let r = h
            .op(
                Method::POST,
                "/api/v1/pools",
                Some(json!({"name": "p2", field: "ja"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{field}: {:#}", r.json);
        assert_eq!(fields(&r.json), [field], "{:#}", r.json);
        let r = h
            .op(
                Method::PATCH,
                &format!("/api/v1/pools/{id}"),
                Some(json!({field: 1})),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{field}: {:#}", r.json);
        assert_eq!(fields(&r.json), [field], "{:#}", r.json);
    }

    // Set at creation.
    let r = h
        .op(
            Method::POST,
            "/api/v1/pools",
            Some(
                json!({"name": "p3", "drives_enabled": true, "printers_enabled": false,
                        "com_ports_enabled": true, "pnp_devices_enabled": true,
                        "clipboard_enabled": false}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:#}", r.json);
    let all: HostPool = serde_json::from_value(r.json.clone()).unwrap();
    assert_eq!(
        all.native_redirection(),
        NativeRedirection {
            drives: true,
            printers: false,
            com_ports: true,
            pnp_devices: true,
            clipboard: false,
        }
    );

    // Patch: each field on its own, the others stay.
    let r = h
        .op(
            Method::PATCH,
            &format!("/api/v1/pools/{id}"),
            Some(json!({"drives_enabled": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.json);
    assert_eq!(r.json["drives_enabled"], true);
    assert_eq!(r.json["printers_enabled"], true, "printers stay");
    let r = h
        .op(
            Method::PATCH,
            &format!("/api/v1/pools/{id}"),
            Some(
                json!({"printers_enabled": false, "pnp_devices_enabled": true,
                        "native_remote_apps": false}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.json);
    let got = h
        .op(Method::GET, &format!("/api/v1/pools/{id}"), None)
        .await;
    let pool: HostPool = serde_json::from_value(got.json.clone()).unwrap();
    assert_eq!(
        pool.native_redirection(),
        NativeRedirection {
            drives: true,
            printers: false,
            com_ports: false,
            pnp_devices: true,
            clipboard: true,
        },
        "stored and read back"
    );

    // Both changes are audited with the policy after them.
    let audit = h.audit("action=pool.update").await;
    assert_eq!(audit[0]["after"]["printers_enabled"], false);
    assert_eq!(audit[0]["after"]["pnp_devices_enabled"], true);
    assert_eq!(audit[0]["before"]["printers_enabled"], true);
    assert_eq!(audit[0]["after"]["native_remote_apps"], false);
    assert!(!pool.native_remote_apps, "stored and read back");
    assert_eq!(audit[1]["after"]["drives_enabled"], true);
    assert_eq!(audit[1]["before"]["drives_enabled"], false);

    // The OpenAPI document describes every field for admins.
    let doc = h
        .raw(None, Method::GET, "/api/openapi.json", None, Vec::new())
        .await;
    for schema in ["HostPool", "NewHostPool", "HostPoolPatch"] {
        for field in [
            "drives_enabled",
            "printers_enabled",
            "com_ports_enabled",
            "pnp_devices_enabled",
            "native_remote_apps",
        ] {
            let described = &doc.json["components"]["schemas"][schema]["properties"][field];
            assert!(
                described["description"]
                    .as_str()
                    .is_some_and(|d| d.to_lowercase().contains("native")),
                "{schema}.{field}: {described:#}"
            );
        }
    }
    h.finish().await;
}
both!(native_redirection_defaults_update_and_audit);

/// The driver of the printer browser sessions get: `pdf` unless a pool asks for PostScript,
/// anything else refused naming the field, stored, audited and described for admins.
async fn print_driver_defaults_update_and_validation(b: Backend) {
    let h = Harness::new(b).await;
    let r = h
        .op(Method::POST, "/api/v1/pools", Some(json!({"name": "p1"})))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:#}", r.json);
    assert_eq!(r.json["print_driver"], "pdf", "PDF by default");
    let id = id_of(&r.json);

    for bad in [json!("ps"), json!(""), json!(1), json!(null)] {
        let r = h
            .op(
                Method::POST,
                "/api/v1/pools",
                Some(json!({"name": "p2", "print_driver": bad})),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {:#}", r.json);
        assert_eq!(fields(&r.json), ["print_driver"], "{:#}", r.json);
    }
    let r = h
        .op(
            Method::PATCH,
            &format!("/api/v1/pools/{id}"),
            Some(json!({"print_driver": "PostScript"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:#}", r.json);
    assert_eq!(fields(&r.json), ["print_driver"], "{:#}", r.json);

    let r = h
        .op(
            Method::PATCH,
            &format!("/api/v1/pools/{id}"),
            Some(json!({"print_driver": "postscript"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.json);
    let got = h
        .op(Method::GET, &format!("/api/v1/pools/{id}"), None)
        .await;
    let pool: HostPool = serde_json::from_value(got.json.clone()).unwrap();
    assert_eq!(
        pool.print_driver,
        PrintDriver::PostScript,
        "stored and read back"
    );
    let audit = h.audit("action=pool.update").await;
    assert_eq!(audit[0]["before"]["print_driver"], "pdf");
    assert_eq!(audit[0]["after"]["print_driver"], "postscript");

    let r = h
        .op(
            Method::POST,
            "/api/v1/pools",
            Some(json!({"name": "p3", "print_driver": "postscript"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:#}", r.json);
    assert_eq!(r.json["print_driver"], "postscript");

    let doc = h
        .raw(None, Method::GET, "/api/openapi.json", None, Vec::new())
        .await;
    for schema in ["HostPool", "NewHostPool", "HostPoolPatch"] {
        let described = &doc.json["components"]["schemas"][schema]["properties"]["print_driver"];
        assert!(
            described.to_string().contains("PrintDriver") || described["description"].is_string(),
            "{schema}.print_driver: {described:#}"
        );
    }
    h.finish().await;
}
both!(print_driver_defaults_update_and_validation);
