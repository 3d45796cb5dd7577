//! Keyset paging: pages follow `next_cursor` without gaps or repeats; session listing
//! filters.

use std::collections::HashSet;

use axum::http::{Method, StatusCode};
use hamn_broker::model::{NewSession, SessionState};
use hamn_broker::repo;
use serde_json::{Value, json};

use crate::both;
use crate::support::{Backend, Harness, client_cert, id_of};

async fn follow(h: &Harness, path: &str, limit: u32) -> Vec<Vec<Value>> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = match &cursor {
            Some(c) => format!("{path}{sep}limit={limit}&cursor={c}"),
            None => format!("{path}{sep}limit={limit}"),
        };
        let r = h.op(Method::GET, &url, None).await;
        assert_eq!(r.status, StatusCode::OK, "{url}: {:#}", r.json);
        pages.push(r.json["items"].as_array().unwrap().clone());
        match r.json["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
        assert!(pages.len() < 50, "paging does not end");
    }
    pages
}

async fn pages_cover_everything_once(b: Backend) {
    let h = Harness::new(b).await;
    let mut made = Vec::new();
    for i in 0..7 {
        made.push(
            h.create(
                "/api/v1/tenants",
                json!({"slug": format!("t{i}"), "name": format!("T{i}")}),
            )
            .await,
        );
    }
    let pages = follow(&h, "/api/v1/tenants", 3).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [3, 3, 1]);
    let seen: Vec<_> = pages.iter().flatten().map(id_of).collect();
    assert_eq!(seen, made, "creation order, nothing skipped or repeated");

    // Audit: newest first across pages.
    let audit = follow(&h, "/api/v1/audit?action=tenant.create", 2).await;
    let slugs: Vec<_> = audit
        .iter()
        .flatten()
        .map(|e| e["after"]["slug"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(slugs, ["t6", "t5", "t4", "t3", "t2", "t1", "t0"]);
    let exact = follow(&h, "/api/v1/tenants", 7).await;
    assert_eq!(exact.len(), 1, "a full last page has no next cursor");
    h.finish().await;
}
both!(pages_cover_everything_once);

async fn sessions_are_listed_with_filters(b: Backend) {
    let h = Harness::new(b).await;
    let f = h.tenant_with_app("eda").await;
    let other = h.tenant_with_app("ovanaker").await;
    let host = h
        .create(
            &format!("/api/v1/pools/{}/hosts", f.pool),
            json!({"name": "h", "address": "10.0.0.9", "capacity": 10}),
        )
        .await;
    let other_host = h
        .create(
            &format!("/api/v1/pools/{}/hosts", other.pool),
            json!({"name": "h", "address": "10.0.0.8", "capacity": 10}),
        )
        .await;
    let u1 = h
        .create(
            &format!("/api/v1/tenants/{}/users", f.tenant),
            json!({"name_id": "u1", "display_name": "U1"}),
        )
        .await;
    let u2 = h
        .create(
            &format!("/api/v1/tenants/{}/users", f.tenant),
            json!({"name_id": "u2", "display_name": "U2"}),
        )
        .await;
    let u3 = h
        .create(
            &format!("/api/v1/tenants/{}/users", other.tenant),
            json!({"name_id": "u3", "display_name": "U3"}),
        )
        .await;

    let mut conn = h.db().pool().acquire().await.unwrap();
    let mut ids = Vec::new();
    for (tenant, user, app, host) in [
        (&f.tenant, &u1, &f.app, &host),
        (&f.tenant, &u2, &f.app, &host),
        (&f.tenant, &u1, &f.app, &host),
        (&other.tenant, &u3, &other.app, &other_host),
    ] {
        let s = repo::sessions::insert(
            &mut conn,
            &NewSession {
                tenant_id: tenant.parse().unwrap(),
                user_id: user.parse().unwrap(),
                app_id: app.parse().unwrap(),
                host_id: host.parse().unwrap(),
            },
        )
        .await
        .unwrap();
        ids.push(s.id);
    }
    let now = time::OffsetDateTime::now_utc();
    assert!(
        repo::sessions::set_state(&mut conn, ids[0], SessionState::Active, now)
            .await
            .unwrap()
    );
    assert!(
        repo::sessions::set_state(&mut conn, ids[2], SessionState::Ended, now)
            .await
            .unwrap()
    );
    drop(conn);

    let list = |q: String| {
        let h = &h;
        async move {
            let r = h
                .op(Method::GET, &format!("/api/v1/sessions?{q}"), None)
                .await;
            assert_eq!(r.status, StatusCode::OK, "{q}: {:#}", r.json);
            r.json["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(id_of)
                .collect::<HashSet<_>>()
        }
    };
    let s = |i: usize| ids[i].to_string();
    assert_eq!(list(String::new()).await.len(), 4);
    assert_eq!(
        list(format!("tenant_id={}", f.tenant)).await,
        HashSet::from([s(0), s(1), s(2)])
    );
    assert_eq!(
        list(format!("user_id={u1}")).await,
        HashSet::from([s(0), s(2)])
    );
    assert_eq!(list("state=active".into()).await, HashSet::from([s(0)]));
    assert_eq!(
        list("state=launching".into()).await,
        HashSet::from([s(1), s(3)])
    );
    assert_eq!(
        list("from=2000-01-01T00:00:00Z&to=2001-01-01T00:00:00Z".into()).await,
        HashSet::new()
    );

    let one = h
        .op(Method::GET, &format!("/api/v1/sessions/{}", s(0)), None)
        .await;
    assert_eq!(
        (one.json["state"].as_str(), one.json["host_id"].as_str()),
        (Some("active"), Some(host.as_str()))
    );
    assert!(one.json["started_at"].is_string());

    // A tenant client sees its own sessions only.
    h.create("/api/v1/api-clients", json!({"name": "Eda", "subject_cn": "eda-client", "scope": "tenant", "tenant_id": f.tenant})).await;
    let me = client_cert("eda-client");
    let r = h.as_(&me, Method::GET, "/api/v1/sessions", None).await;
    assert_eq!(r.json["items"].as_array().map(Vec::len), Some(3));
    let r = h
        .as_(
            &me,
            Method::GET,
            &format!("/api/v1/sessions/{}", s(3)),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    h.finish().await;
}
both!(sessions_are_listed_with_filters);
