//! A tenant-admin and the hosts their sessions run on: they list and read the hosts (and
//! load) of pools dedicated to their tenant or used by its apps, change the state only of
//! hosts in a pool dedicated to their tenant (audited under the tenant), are refused (403)
//! on a shared pool's hosts, and find other tenants' hosts not to exist (404).

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::both;
use crate::support::{Backend, Harness, client_cert, id_of};

async fn add_host(h: &Harness, pool: &str, name: &str) -> String {
    h.create(
        &format!("/api/v1/pools/{pool}/hosts"),
        json!({"name": name, "address": "10.0.0.9", "capacity": 10}),
    )
    .await
}

async fn tenant_admins_drain_only_their_dedicated_hosts(b: Backend) {
    let h = Harness::new(b).await;
    let a = h.tenant_with_app("ale").await;
    let other = h.tenant_with_app("bjuv").await;
    let own_pool = h
        .create(
            "/api/v1/pools",
            json!({"name": "ale-egen", "dedicated_tenant_id": a.tenant}),
        )
        .await;
    let theirs_pool = h
        .create(
            "/api/v1/pools",
            json!({"name": "bjuv-egen", "dedicated_tenant_id": other.tenant}),
        )
        .await;
    let own = add_host(&h, &own_pool, "ale-01").await;
    let shared = add_host(&h, &a.pool, "delad-01").await;
    let theirs_shared = add_host(&h, &other.pool, "bjuv-delad-01").await;
    let theirs = add_host(&h, &theirs_pool, "bjuv-01").await;
    h.create(
        "/api/v1/api-clients",
        json!({"name": "Ale", "subject_cn": "ale-admin", "scope": "tenant", "tenant_id": a.tenant}),
    )
    .await;
    let me = client_cert("ale-admin");

    // Listed and read: the dedicated pool (no app on it yet) and the shared pool its app uses.
    for (pool, host) in [(&own_pool, &own), (&a.pool, &shared)] {
        let list = h
            .as_(
                &me,
                Method::GET,
                &format!("/api/v1/pools/{pool}/hosts"),
                None,
            )
            .await;
        assert_eq!(list.status, StatusCode::OK, "{:#}", list.json);
        let ids: Vec<String> = list.json["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(id_of)
            .collect();
        assert_eq!(&ids, std::slice::from_ref(host));
        let got = h
            .as_(&me, Method::GET, &format!("/api/v1/hosts/{host}"), None)
            .await;
        assert_eq!(got.status, StatusCode::OK, "{:#}", got.json);
        assert_eq!(got.json["state"], "active");
    }
    // Load: none reported yet, then the operator's report.
    let none = h
        .as_(&me, Method::GET, &format!("/api/v1/hosts/{own}/load"), None)
        .await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
    assert!(
        none.json["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("load report"),
        "{:#}",
        none.json
    );
    let put = h
        .op(
            Method::PUT,
            &format!("/api/v1/hosts/{own}/load"),
            Some(json!({"sessions": 3, "cpu_percent": 41.5, "memory_percent": 60.0})),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{:#}", put.json);
    let load = h
        .as_(&me, Method::GET, &format!("/api/v1/hosts/{own}/load"), None)
        .await;
    assert_eq!(load.status, StatusCode::OK, "{:#}", load.json);
    assert_eq!(load.json["sessions"], 3);

    // Drain, maintenance and back to active on the own pool, each audited under the tenant.
    for state in ["drain", "maintenance", "active"] {
        let r = h
            .as_(
                &me,
                Method::PUT,
                &format!("/api/v1/hosts/{own}/state"),
                Some(json!({"state": state})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{state}: {:#}", r.json);
        assert_eq!(r.json["state"], state);
    }
    let audited = h
        .audit(&format!("action=host.state_change&target_id={own}"))
        .await;
    let states: Vec<_> = audited
        .iter()
        .map(|e| e["after"]["state"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(states, ["active", "maintenance", "drain"], "newest first");
    assert!(
        audited
            .iter()
            .all(|e| e["tenant_id"] == a.tenant.as_str() && e["actor_kind"] == "api_client"),
        "{audited:#?}"
    );
    let own_log = h
        .as_(
            &me,
            Method::GET,
            "/api/v1/audit?action=host.state_change",
            None,
        )
        .await;
    assert_eq!(own_log.json["items"].as_array().map(Vec::len), Some(3));

    // A shared pool's host: readable, but its state is the operators'.
    let refused = h
        .as_(
            &me,
            Method::PUT,
            &format!("/api/v1/hosts/{shared}/state"),
            Some(json!({"state": "drain"})),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{:#}", refused.json);
    assert!(
        refused.json["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("shared pool"),
        "{:#}",
        refused.json
    );
    let still = h
        .op(Method::GET, &format!("/api/v1/hosts/{shared}"), None)
        .await;
    assert_eq!(still.json["state"], "active", "the refusal changed nothing");
    assert!(
        h.audit(&format!("action=host.state_change&target_id={shared}"))
            .await
            .is_empty()
    );

    // Other pools' hosts do not exist for them, not even to drain.
    for pool in [&theirs_pool, &other.pool] {
        let r = h
            .as_(
                &me,
                Method::GET,
                &format!("/api/v1/pools/{pool}/hosts"),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{pool}: {:#}", r.json);
    }
    for host in [&theirs, &theirs_shared] {
        for (method, path, body) in [
            (Method::GET, format!("/api/v1/hosts/{host}"), None),
            (Method::GET, format!("/api/v1/hosts/{host}/load"), None),
            (
                Method::PUT,
                format!("/api/v1/hosts/{host}/state"),
                Some(json!({"state": "drain"})),
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
        let untouched = h
            .op(Method::GET, &format!("/api/v1/hosts/{host}"), None)
            .await;
        assert_eq!(untouched.json["state"], "active");
    }

    // Everything else about hosts stays the operators', on the own pool too.
    for (method, path, body) in [
        (
            Method::POST,
            format!("/api/v1/pools/{own_pool}/hosts"),
            Some(json!({"name": "ale-02", "address": "10.0.0.10", "capacity": 1})),
        ),
        (
            Method::PATCH,
            format!("/api/v1/hosts/{own}"),
            Some(json!({"capacity": 99})),
        ),
        (Method::DELETE, format!("/api/v1/hosts/{own}"), None),
        (
            Method::PUT,
            format!("/api/v1/hosts/{own}/load"),
            Some(json!({"sessions": 0, "cpu_percent": 0.0, "memory_percent": 0.0})),
        ),
    ] {
        let r = h.as_(&me, method.clone(), &path, body).await;
        assert_eq!(
            r.status,
            StatusCode::FORBIDDEN,
            "{method} {path}: {:#}",
            r.json
        );
    }
    h.finish().await;
}
both!(tenant_admins_drain_only_their_dedicated_hosts);
