//! Create, read, update and delete of every admin resource, as the operator.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::both;
use crate::support::{Backend, Harness, id_of};

async fn tenants_crud(b: Backend) {
    let h = Harness::new(b).await;
    let r = h
        .op(
            Method::POST,
            "/api/v1/tenants",
            Some(json!({"slug": "vaxjo", "name": "Växjö kommun"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:#}", r.json);
    let id = id_of(&r.json);
    assert_eq!(r.json["slug"], "vaxjo");
    assert_eq!(r.json["name"], "Växjö kommun");

    let got = h
        .op(Method::GET, &format!("/api/v1/tenants/{id}"), None)
        .await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.json, r.json, "read back what was created");

    let list = h.op(Method::GET, "/api/v1/tenants", None).await;
    assert_eq!(list.json["items"].as_array().map(Vec::len), Some(1));

    let p = h
        .op(
            Method::PATCH,
            &format!("/api/v1/tenants/{id}"),
            Some(json!({"name": "Växjö"})),
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{:#}", p.json);
    assert_eq!(p.json["name"], "Växjö");
    assert_eq!(p.json["slug"], "vaxjo", "untouched fields stay");

    let d = h
        .op(Method::DELETE, &format!("/api/v1/tenants/{id}"), None)
        .await;
    assert_eq!(d.status, StatusCode::NO_CONTENT);
    let gone = h
        .op(Method::GET, &format!("/api/v1/tenants/{id}"), None)
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    h.finish().await;
}
both!(tenants_crud);

async fn whole_model_crud(b: Backend) {
    let h = Harness::new(b).await;
    let f = h.tenant_with_app("lund").await;

    // environments: UTB next to PROD, listing, rename
    let utb = h
        .create(
            &format!("/api/v1/tenants/{}/environments", f.tenant),
            json!({"kind": "UTB", "name": "Utbildning"}),
        )
        .await;
    let envs = h
        .op(
            Method::GET,
            &format!("/api/v1/tenants/{}/environments", f.tenant),
            None,
        )
        .await;
    let kinds: Vec<_> = envs.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, ["PROD", "UTB"]);
    let e = h
        .op(
            Method::PATCH,
            &format!("/api/v1/environments/{utb}"),
            Some(json!({"name": "UTB-miljö"})),
        )
        .await;
    assert_eq!(e.json["name"], "UTB-miljö");

    // hosts: create, patch, state change, list
    let host = h
        .create(
            &format!("/api/v1/pools/{}/hosts", f.pool),
            json!({"name": "rdsh01", "address": "10.0.0.5", "capacity": 30}),
        )
        .await;
    let got = h
        .op(Method::GET, &format!("/api/v1/hosts/{host}"), None)
        .await;
    assert_eq!(
        (
            got.json["port"].as_u64(),
            got.json["state"].as_str(),
            got.json["health"].as_str()
        ),
        (Some(3389), Some("active"), Some("unknown"))
    );
    let p = h
        .op(
            Method::PATCH,
            &format!("/api/v1/hosts/{host}"),
            Some(json!({"capacity": 40, "address": "rdsh01.lund.example"})),
        )
        .await;
    assert_eq!(
        (p.json["capacity"].as_u64(), p.json["address"].as_str()),
        (Some(40), Some("rdsh01.lund.example"))
    );
    for state in ["drain", "maintenance", "active"] {
        let s = h
            .op(
                Method::PUT,
                &format!("/api/v1/hosts/{host}/state"),
                Some(json!({"state": state})),
            )
            .await;
        assert_eq!(s.status, StatusCode::OK, "{:#}", s.json);
        assert_eq!(s.json["state"], state);
    }
    let hosts = h
        .op(
            Method::GET,
            &format!("/api/v1/pools/{}/hosts", f.pool),
            None,
        )
        .await;
    assert_eq!(hosts.json["items"][0]["id"], host.as_str());

    // apps: desktop app in UTB, filter by environment, disable
    let desk = h.create(&format!("/api/v1/tenants/{}/apps", f.tenant), json!({"environment_id": utb, "pool_id": f.pool, "display_name": "Skrivbord", "kind": "desktop"})).await;
    let utb_apps = h
        .op(
            Method::GET,
            &format!("/api/v1/tenants/{}/apps?environment_id={utb}", f.tenant),
            None,
        )
        .await;
    let ids: Vec<_> = utb_apps.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(ids, std::slice::from_ref(&desk));
    let a = h
        .op(
            Method::PATCH,
            &format!("/api/v1/apps/{}", f.app),
            Some(json!({"enabled": false, "args": "/demo"})),
        )
        .await;
    assert_eq!(
        (a.json["enabled"].as_bool(), a.json["args"].as_str()),
        (Some(false), Some("/demo"))
    );

    // users, groups, membership, entitlements
    let user = h.create(&format!("/api/v1/tenants/{}/users", f.tenant), json!({"name_id": "asa@lund.example", "hsa_id": "SE2321000016-0001", "display_name": "Åsa Öberg"})).await;
    let u = h
        .op(
            Method::PATCH,
            &format!("/api/v1/users/{user}"),
            Some(json!({"hsa_id": null})),
        )
        .await;
    assert!(
        u.json["hsa_id"].is_null(),
        "explicit null clears: {:#}",
        u.json
    );
    let group = h
        .create(
            &format!("/api/v1/tenants/{}/groups", f.tenant),
            json!({"name": "Hemtjänst", "external_id": "grp-42"}),
        )
        .await;
    let add = h
        .op(
            Method::PUT,
            &format!("/api/v1/groups/{group}/members/{user}"),
            None,
        )
        .await;
    assert_eq!(add.status, StatusCode::CREATED, "{:#}", add.json);
    let again = h
        .op(
            Method::PUT,
            &format!("/api/v1/groups/{group}/members/{user}"),
            None,
        )
        .await;
    assert_eq!(again.status, StatusCode::OK, "adding twice is idempotent");
    let members = h
        .op(
            Method::GET,
            &format!("/api/v1/groups/{group}/members"),
            None,
        )
        .await;
    assert_eq!(members.json["items"][0]["user_id"], user.as_str());
    let ent = h
        .create(
            &format!("/api/v1/apps/{}/entitlements", f.app),
            json!({"group_id": group}),
        )
        .await;
    let ent_user = h
        .create(
            &format!("/api/v1/apps/{desk}/entitlements"),
            json!({"user_id": user}),
        )
        .await;
    let ents = h
        .op(
            Method::GET,
            &format!("/api/v1/apps/{}/entitlements", f.app),
            None,
        )
        .await;
    assert_eq!(ents.json["items"][0]["group_id"], group.as_str());
    let mut conn = h.db().pool().acquire().await.unwrap();
    let app_id = f.app.parse().unwrap();
    let user_id = user.parse().unwrap();
    assert!(
        hamn_broker::repo::entitlements::is_entitled(&mut conn, app_id, user_id)
            .await
            .unwrap(),
        "entitled through the group"
    );
    drop(conn);

    // deletions, innermost first; referenced rows refuse with 409
    let busy = h
        .op(Method::DELETE, &format!("/api/v1/pools/{}", f.pool), None)
        .await;
    assert_eq!(
        busy.status,
        StatusCode::CONFLICT,
        "a pool with hosts and apps is referenced: {:#}",
        busy.json
    );
    for path in [
        format!("/api/v1/entitlements/{ent}"),
        format!("/api/v1/entitlements/{ent_user}"),
        format!("/api/v1/groups/{group}/members/{user}"),
        format!("/api/v1/groups/{group}"),
        format!("/api/v1/users/{user}"),
        format!("/api/v1/apps/{desk}"),
        format!("/api/v1/apps/{}", f.app),
        format!("/api/v1/hosts/{host}"),
        format!("/api/v1/pools/{}", f.pool),
        format!("/api/v1/environments/{utb}"),
        format!("/api/v1/environments/{}", f.prod),
        format!("/api/v1/tenants/{}", f.tenant),
    ] {
        let d = h.op(Method::DELETE, &path, None).await;
        assert_eq!(
            d.status,
            StatusCode::NO_CONTENT,
            "DELETE {path}: {:#}",
            d.json
        );
        let again = h.op(Method::DELETE, &path, None).await;
        assert_eq!(again.status, StatusCode::NOT_FOUND, "DELETE {path} twice");
    }
    h.finish().await;
}
both!(whole_model_crud);

async fn api_clients_crud(b: Backend) {
    let h = Harness::new(b).await;
    let t = h
        .create(
            "/api/v1/tenants",
            json!({"slug": "umea", "name": "Umeå kommun"}),
        )
        .await;
    let c = h.op(Method::POST, "/api/v1/api-clients", Some(json!({"name": "Umeå RPA", "subject_cn": "umea-rpa", "scope": "tenant", "tenant_id": t}))).await;
    assert_eq!(c.status, StatusCode::CREATED, "{:#}", c.json);
    let id = id_of(&c.json);
    assert_eq!(
        (c.json["enabled"].as_bool(), c.json["scope"].as_str()),
        (Some(true), Some("tenant"))
    );
    let p = h
        .op(
            Method::PATCH,
            &format!("/api/v1/api-clients/{id}"),
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(p.json["enabled"], false);
    let list = h.op(Method::GET, "/api/v1/api-clients", None).await;
    assert_eq!(list.json["items"][0]["subject_cn"], "umea-rpa");
    let d = h
        .op(Method::DELETE, &format!("/api/v1/api-clients/{id}"), None)
        .await;
    assert_eq!(d.status, StatusCode::NO_CONTENT);
    h.finish().await;
}
both!(api_clients_crud);

async fn whoami_describes_the_caller(b: Backend) {
    let h = Harness::new(b).await;
    let r = h.op(Method::GET, "/api/v1/whoami", None).await;
    assert_eq!(r.status, StatusCode::OK);
    expect_test::expect![[r#"
        {
          "client_id": null,
          "name": "hamn-operator",
          "scope": "operator",
          "source_address": "192.0.2.7:40000",
          "subject_cn": "hamn-operator"
        }"#]]
    .assert_eq(&serde_json::to_string_pretty(&r.json).unwrap());
    h.finish().await;
}
both!(whoami_describes_the_caller);
