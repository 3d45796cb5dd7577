//! The database layer: migrations, readiness, the demo seed, constraint mapping.

use axum::http::{Method, StatusCode};
use hamn_broker::db::DbError;
use hamn_broker::model::{NewTenant, PageRequest};
use hamn_broker::repo;
use hamn_broker::seed::{self, DemoSeed};

use crate::both;
use crate::support::{Backend, Harness, TestDb};

async fn migrations_and_readiness(b: Backend) {
    let t = TestDb::empty(b).await;
    t.db.ping().await.expect("ping");
    assert!(
        !t.db.migrations_done().await.expect("check"),
        "nothing applied yet"
    );
    t.db.migrate().await.expect("migrate");
    assert!(t.db.migrations_done().await.expect("check"));
    t.db.migrate().await.expect("migrating twice is a no-op");
    t.finish().await;
}
both!(migrations_and_readiness);

async fn readyz_reflects_migrations(b: Backend) {
    let h = Harness::new(b).await;
    let r = h.raw(None, Method::GET, "/readyz", None, Vec::new()).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = h.raw(None, Method::GET, "/healthz", None, Vec::new()).await;
    assert_eq!((r.status, r.json.as_str()), (StatusCode::OK, Some("ok")));
    // A broker on an unmigrated database is alive but not ready.
    let bare = TestDb::empty(b).await;
    let verifier = hamn_certs::ClientCertVerifier::from_ca_pem_file(
        &crate::support::certs().pki.paths.api_ca_cert(),
    )
    .unwrap();
    let state = hamn_broker::AdminState::new(bare.db.clone(), verifier, Vec::new());
    let resp = tower::ServiceExt::oneshot(
        hamn_broker::router(state),
        axum::http::Request::get("/readyz")
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    bare.finish().await;
    h.finish().await;
}
both!(readyz_reflects_migrations);

async fn repositories_map_constraints(b: Backend) {
    let t = TestDb::new(b).await;
    let mut conn = t.db.pool().acquire().await.unwrap();
    let new = NewTenant {
        slug: "dup".into(),
        name: "Dup".into(),
    };
    let first = repo::tenants::insert(&mut conn, &new).await.unwrap();
    let err = repo::tenants::insert(&mut conn, &new).await.unwrap_err();
    assert!(
        matches!(err, DbError::Unique(ref w) if w.contains("slug")),
        "{err:?}"
    );
    let env = repo::environments::insert(
        &mut conn,
        first.id,
        &hamn_broker::model::NewEnvironment {
            kind: hamn_broker::model::EnvironmentKind::Prod,
            name: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(env.name, "PROD");
    let err = repo::tenants::delete(&mut conn, first.id)
        .await
        .unwrap_err();
    assert!(
        matches!(err, DbError::ForeignKey(_)),
        "foreign keys are on: {err:?}"
    );
    let page = repo::tenants::list(&mut conn, None, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(
        page.items,
        vec![first.clone()],
        "round trip is lossless (ms times)"
    );
    drop(conn);
    t.finish().await;
}
both!(repositories_map_constraints);

async fn demo_seed_is_idempotent(b: Backend) {
    let h = Harness::new(b).await;
    let first = seed::demo(h.db(), DemoSeed::default()).await.expect("seed");
    let events = h.audit("").await.len();
    assert_eq!(
        events, 21,
        "each created record (three example service windows, the admins' roles too) audited once"
    );
    let again = seed::demo(h.db(), DemoSeed::default())
        .await
        .expect("seed again");
    assert_eq!(first, again);
    assert_eq!(
        h.audit("").await.len(),
        events,
        "second run creates nothing"
    );

    let t = h
        .op(
            Method::GET,
            &format!("/api/v1/tenants/{}", first.tenant),
            None,
        )
        .await;
    assert_eq!(
        (t.json["slug"].as_str(), t.json["name"].as_str()),
        (Some("demo"), Some("Demo kommun"))
    );
    let apps = h
        .op(
            Method::GET,
            &format!("/api/v1/tenants/{}/apps", first.tenant),
            None,
        )
        .await;
    let names: Vec<_> = apps.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["display_name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["Procapita", "Procapita UTB"]);
    let mut conn = h.db().pool().acquire().await.unwrap();
    for app in [first.app_prod, first.app_utb] {
        assert!(
            repo::entitlements::is_entitled(&mut conn, app, first.user)
                .await
                .unwrap()
        );
    }
    drop(conn);
    // The demo admins: entitled like the demo user (the demo login wants that), each with
    // their role.
    for (user, role) in [(first.admin, "tenant_admin"), (first.operator, "operator")] {
        let roles = h
            .op(Method::GET, &format!("/api/v1/users/{user}/role"), None)
            .await;
        assert_eq!(
            (
                roles.json["direct"].as_str(),
                roles.json["effective"].as_str()
            ),
            (Some(role), Some(role)),
            "{}",
            roles.json
        );
        let mut conn = h.db().pool().acquire().await.unwrap();
        assert!(
            repo::entitlements::is_entitled(&mut conn, first.app_prod, user)
                .await
                .unwrap()
        );
    }
    let sys = h.audit("action=tenant.create").await;
    assert_eq!(
        (sys[0]["actor_kind"].as_str(), sys[0]["actor_name"].as_str()),
        (Some("system"), Some("demo seed"))
    );
    h.finish().await;
}
both!(demo_seed_is_idempotent);
