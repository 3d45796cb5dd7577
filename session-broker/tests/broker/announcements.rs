//! Announcements (the portal's admin messages) through the admin API on both databases:
//! a tenant client announces to its own tenant, is refused another tenant's (404) and
//! messages to every tenant (403, operators only); validation names the field; ending one
//! moves its end to now and is refused twice; every change is audited with the actor; what
//! a tenant's users see (`repo::announcements::shown`) is their tenant's and everyone's
//! running ones, warnings first, never another tenant's or an ended or future one; and a
//! user's chosen language is stored and read back.

use axum::http::{Method, StatusCode};
use hamn_broker::model::AnnouncementSeverity;
use hamn_broker::repo;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::both;
use crate::support::{Backend, Harness, client_cert, fields, id_of};

fn rfc(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).expect("format")
}

fn at(v: &Value, key: &str) -> OffsetDateTime {
    OffsetDateTime::parse(v[key].as_str().unwrap_or_default(), &Rfc3339)
        .unwrap_or_else(|e| panic!("{key} in {v:#}: {e}"))
}

fn uuid(s: &str) -> Uuid {
    s.parse().expect("uuid")
}

async fn tenants_announce_to_their_own_users(b: Backend) {
    let h = Harness::new(b).await;
    let a = h.tenant_with_app("ale").await;
    let other = h.tenant_with_app("bjuv").await;
    h.create("/api/v1/api-clients", json!({"name": "Ale", "subject_cn": "ale-notices", "scope": "tenant", "tenant_id": a.tenant})).await;
    let me = client_cert("ale-notices");
    let now = OffsetDateTime::now_utc();
    let mine = format!("/api/v1/tenants/{}/announcements", a.tenant);

    // Validation: empty title, an end before the start, both named.
    let r = h
        .as_(&me, Method::POST, &mine, Some(json!({"title": " ", "starts_at": rfc(now + Duration::hours(2)), "ends_at": rfc(now + Duration::hours(1))})))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:#}", r.json);
    assert_eq!(fields(&r.json), ["title", "ends_at"], "{:#}", r.json);
    let r = h
        .as_(&me, Method::POST, &mine, Some(json!({"title": "x", "severity": "urgent", "ends_at": rfc(now + Duration::hours(1))})))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:#}", r.json);
    assert_eq!(fields(&r.json), ["severity"], "{:#}", r.json);
    let r = h
        .as_(
            &me,
            Method::POST,
            &mine,
            Some(json!({"title": "x", "ends_at": rfc(now + Duration::days(91))})),
        )
        .await;
    assert_eq!(fields(&r.json), ["ends_at"], "{:#}", r.json);

    // Created now (no start given), info by default, for this tenant.
    let r = h
        .as_(&me, Method::POST, &mine, Some(json!({"title": "Nytt inloggningssätt", "body": "Från måndag loggar du in med BankID.", "ends_at": rfc(now + Duration::days(3))})))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:#}", r.json);
    assert_eq!(r.json["tenant_id"], json!(a.tenant));
    assert_eq!(r.json["severity"], json!("info"));
    assert!(at(&r.json, "starts_at") <= OffsetDateTime::now_utc());
    let info = id_of(&r.json);
    let r = h
        .as_(&me, Method::POST, &mine, Some(json!({"title": "Procapita är långsamt", "severity": "warning", "ends_at": rfc(now + Duration::hours(5))})))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:#}", r.json);
    let warning = id_of(&r.json);
    // One that starts tomorrow is not shown yet.
    let future = h
        .as_(&me, Method::POST, &mine, Some(json!({"title": "Imorgon", "starts_at": rfc(now + Duration::days(1)), "ends_at": rfc(now + Duration::days(2))})))
        .await;
    assert_eq!(future.status, StatusCode::CREATED, "{:#}", future.json);

    // Another tenant's: does not exist for this client; every tenant's: operators only.
    let theirs = format!("/api/v1/tenants/{}/announcements", other.tenant);
    let r = h
        .as_(
            &me,
            Method::POST,
            &theirs,
            Some(json!({"title": "x", "ends_at": rfc(now + Duration::hours(1))})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{:#}", r.json);
    let r = h.as_(&me, Method::GET, &theirs, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{:#}", r.json);
    let r = h
        .as_(
            &me,
            Method::POST,
            "/api/v1/announcements",
            Some(json!({"title": "x", "ends_at": rfc(now + Duration::hours(1))})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:#}", r.json);
    let r = h.as_(&me, Method::GET, "/api/v1/announcements", None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:#}", r.json);

    // The operator's: one to everyone, one to the other tenant.
    let everyone = h
        .create(
            "/api/v1/announcements",
            json!({"title": "Driftinformation", "ends_at": rfc(now + Duration::days(1))}),
        )
        .await;
    let bjuv = h
        .create(
            &theirs,
            json!({"title": "Bara Bjuv", "ends_at": rfc(now + Duration::days(1))}),
        )
        .await;
    let r = h
        .as_(
            &me,
            Method::GET,
            &format!("/api/v1/announcements/{bjuv}"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{:#}", r.json);
    let r = h
        .as_(
            &me,
            Method::GET,
            &format!("/api/v1/announcements/{everyone}"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.json);
    assert_eq!(r.json["tenant_id"], Value::Null);

    // The tenant's list: its own and everyone's, newest first, never Bjuv's.
    let r = h.as_(&me, Method::GET, &mine, None).await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.json);
    let listed: Vec<String> = r.json["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(
        listed,
        [
            everyone.clone(),
            id_of(&future.json),
            warning.clone(),
            info.clone()
        ]
    );
    // The operator sees all five.
    let r = h.op(Method::GET, "/api/v1/announcements", None).await;
    assert_eq!(
        r.json["items"].as_array().map(Vec::len),
        Some(5),
        "{:#}",
        r.json
    );

    // What Ale's users see now: the warning first, then the newest; not tomorrow's, not Bjuv's.
    let mut conn = h.db().acquire().await.expect("conn");
    let shown =
        repo::announcements::shown(&mut conn, uuid(&a.tenant), OffsetDateTime::now_utc(), 20)
            .await
            .expect("shown");
    let ids: Vec<String> = shown.iter().map(|x| x.id.to_string()).collect();
    assert_eq!(ids, [warning.clone(), everyone.clone(), info.clone()]);
    assert_eq!(shown[0].severity, AnnouncementSeverity::Warning);

    // Ending: the client may not end everyone's; it ends its own, once.
    let r = h
        .as_(
            &me,
            Method::POST,
            &format!("/api/v1/announcements/{everyone}/end"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:#}", r.json);
    let r = h
        .as_(
            &me,
            Method::POST,
            &format!("/api/v1/announcements/{warning}/end"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.json);
    assert!(at(&r.json, "ends_at") <= OffsetDateTime::now_utc());
    let r = h
        .as_(
            &me,
            Method::POST,
            &format!("/api/v1/announcements/{warning}/end"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:#}", r.json);
    // Ending one not yet begun means it never shows.
    let r = h
        .as_(
            &me,
            Method::POST,
            &format!("/api/v1/announcements/{}/end", id_of(&future.json)),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.json);
    assert_eq!(at(&r.json, "ends_at"), at(&r.json, "starts_at"));
    let shown = repo::announcements::shown(
        &mut conn,
        uuid(&a.tenant),
        OffsetDateTime::now_utc() + Duration::days(1) + Duration::minutes(1),
        20,
    )
    .await
    .expect("shown");
    let ids: Vec<String> = shown.iter().map(|x| x.id.to_string()).collect();
    assert_eq!(
        ids,
        [info],
        "tomorrow: the ended one stays ended, everyone's has run out"
    );
    drop(conn);

    // Audited with who did it, in the tenant's log.
    let created = h.audit("action=announcement.create").await;
    assert_eq!(created.len(), 5);
    let ended = h.audit("action=announcement.end").await;
    assert_eq!(ended.len(), 2);
    let e = ended
        .iter()
        .find(|e| e["target_id"] == json!(warning))
        .expect("end of the warning");
    assert_eq!(e["tenant_id"], json!(a.tenant));
    assert_eq!(e["actor_name"], json!("Ale"));
    assert!(e["before"]["ends_at"] != e["after"]["ends_at"], "{e:#}");
    h.finish().await;
}
both!(tenants_announce_to_their_own_users);

async fn a_users_language_is_remembered(b: Backend) {
    let h = Harness::new(b).await;
    let a = h.tenant_with_app("ale").await;
    let user = h
        .create(
            &format!("/api/v1/tenants/{}/users", a.tenant),
            json!({"name_id": "anna", "display_name": "Anna"}),
        )
        .await;
    let mut conn = h.db().acquire().await.expect("conn");
    let id = uuid(&user);
    assert_eq!(
        repo::users::language(&mut conn, id).await.expect("read"),
        None
    );
    assert!(
        repo::users::set_language(&mut conn, id, "en")
            .await
            .expect("set")
    );
    assert_eq!(
        repo::users::language(&mut conn, id)
            .await
            .expect("read")
            .as_deref(),
        Some("en")
    );
    // The table holds only the two languages the portal speaks.
    assert!(
        repo::users::set_language(&mut conn, id, "de")
            .await
            .is_err()
    );
    assert!(
        !repo::users::set_language(&mut conn, Uuid::now_v7(), "sv")
            .await
            .expect("no such user")
    );
    drop(conn);
    h.finish().await;
}
both!(a_users_language_is_remembered);
