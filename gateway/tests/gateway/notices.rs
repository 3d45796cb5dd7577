//! The portal's banners and the user's language through the gateway's router:
//! `GET /portal/api/notices` lists the service windows of the environments the user has
//! apps in (in progress, or starting within seven days; not later ones, not other
//! environments') and the announcements running for their tenant and for everyone
//! (warnings first; never another tenant's, never one not yet begun or ended);
//! `PUT /portal/api/me/language` stores `sv`/`en` for the user (`language` in `me`),
//! refuses anything else and a request without the session's CSRF token, and needs a login.

use axum::http::{Method, StatusCode, header};
use hamn_broker::model::{
    AnnouncementSeverity, NewAnnouncement, NewEntitlement, NewServiceWindow, NewTenant, NewUser,
};
use hamn_broker::repo;
use hamn_gateway::CSRF_HEADER;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::portal::{Portal, PortalOptions};

async fn window(portal: &Portal, env: Uuid, title: &str, start: OffsetDateTime, hours: i64) {
    let now = OffsetDateTime::now_utc();
    let new = NewServiceWindow {
        starts_at: Some(start),
        ends_at: Some(start + Duration::hours(hours)),
        recurrence: None,
        title: title.to_owned(),
        description: format!("{title}: beskrivning"),
        emergency: true,
        logoff_after_minutes: 0,
    };
    let timing = new.validate(now).expect("valid window");
    let mut conn = portal.database.acquire().await.expect("conn");
    repo::service_windows::insert(&mut conn, portal.ids.tenant, env, &new, &timing)
        .await
        .expect("window");
}

async fn announce(
    portal: &Portal,
    tenant: Option<Uuid>,
    title: &str,
    severity: AnnouncementSeverity,
    starts_at: Option<OffsetDateTime>,
) -> Uuid {
    let now = OffsetDateTime::now_utc();
    let new = NewAnnouncement {
        title: title.to_owned(),
        body: format!("{title}: text"),
        severity,
        starts_at,
        ends_at: now + Duration::days(2),
    };
    let start = new.validate(now).expect("valid announcement");
    let mut conn = portal.database.acquire().await.expect("conn");
    repo::announcements::insert(&mut conn, tenant, &new, start)
        .await
        .expect("announcement")
        .id
}

fn titles(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|a| {
            a.iter()
                .map(|x| x["title"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn notices_show_the_users_windows_and_running_announcements() {
    let portal = Portal::start_native(PortalOptions::default()).await;
    let now = OffsetDateTime::now_utc();
    window(
        &portal,
        portal.ids.utb,
        "UTB om två dagar",
        now + Duration::days(2),
        3,
    )
    .await;
    window(
        &portal,
        portal.ids.prod,
        "PROD pågår",
        now - Duration::minutes(5),
        2,
    )
    .await;
    window(
        &portal,
        portal.ids.prod,
        "PROD om åtta dagar",
        now + Duration::days(8),
        2,
    )
    .await;
    let other = {
        let mut conn = portal.database.acquire().await.expect("conn");
        repo::tenants::insert(
            &mut conn,
            &NewTenant {
                slug: "bjuv".to_owned(),
                name: "Bjuv".to_owned(),
            },
        )
        .await
        .expect("tenant")
        .id
    };
    let tenant = portal.ids.tenant;
    announce(
        &portal,
        Some(tenant),
        "Eget",
        AnnouncementSeverity::Info,
        None,
    )
    .await;
    announce(&portal, None, "Till alla", AnnouncementSeverity::Info, None).await;
    announce(
        &portal,
        Some(tenant),
        "Varning",
        AnnouncementSeverity::Warning,
        None,
    )
    .await;
    announce(
        &portal,
        Some(other),
        "Bjuvs",
        AnnouncementSeverity::Warning,
        None,
    )
    .await;
    announce(
        &portal,
        Some(tenant),
        "Imorgon",
        AnnouncementSeverity::Info,
        Some(now + Duration::days(1)),
    )
    .await;
    let ended = announce(
        &portal,
        Some(tenant),
        "Avslutat",
        AnnouncementSeverity::Info,
        None,
    )
    .await;
    {
        let mut conn = portal.database.acquire().await.expect("conn");
        let a = repo::announcements::get(&mut conn, ended)
            .await
            .expect("get")
            .expect("found");
        repo::announcements::end(&mut conn, &a, OffsetDateTime::now_utc())
            .await
            .expect("end");
    }

    let r = portal
        .call(Method::GET, "/portal/api/notices", None, &[], None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{:?}", r.body);

    let token = portal.login("demo").await;
    let r = portal
        .call(Method::GET, "/portal/api/notices", Some(&token), &[], None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        r.headers
            .get(header::CACHE_CONTROL)
            .map(|v| v.to_str().unwrap_or_default()),
        Some("no-store")
    );
    let windows = &r.body["service_windows"];
    assert_eq!(
        titles(windows),
        ["PROD pågår", "UTB om två dagar"],
        "{windows:#}"
    );
    assert_eq!(windows[0]["in_progress"], json!(true));
    assert_eq!(windows[0]["environment"], json!("PROD"));
    assert_eq!(windows[1]["in_progress"], json!(false));
    assert_eq!(windows[1]["environment"], json!("UTB"));
    assert_eq!(
        windows[1]["description"],
        json!("UTB om två dagar: beskrivning")
    );
    let announcements = &r.body["announcements"];
    assert_eq!(
        titles(announcements),
        ["Varning", "Till alla", "Eget"],
        "{announcements:#}"
    );
    assert_eq!(announcements[0]["severity"], json!("warning"));

    // A user with PROD only sees no UTB window.
    {
        let mut conn = portal.database.acquire().await.expect("conn");
        let user = repo::users::insert(
            &mut conn,
            tenant,
            &NewUser {
                name_id: "prod.bara".to_owned(),
                hsa_id: None,
                display_name: "Bara PROD".to_owned(),
            },
        )
        .await
        .expect("user");
        repo::entitlements::insert(
            &mut conn,
            tenant,
            portal.ids.app_prod,
            &NewEntitlement {
                group_id: None,
                user_id: Some(user.id),
            },
        )
        .await
        .expect("entitlement");
    }
    let prod_only = portal.login("prod.bara").await;
    let r = portal
        .call(
            Method::GET,
            "/portal/api/notices",
            Some(&prod_only),
            &[],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(titles(&r.body["service_windows"]), ["PROD pågår"]);
    portal.finish().await;
}

#[tokio::test]
async fn a_users_language_is_kept_with_the_user() {
    let portal = Portal::start_native(PortalOptions::default()).await;
    let put =
        |token: Option<String>, body: Value, extra: Vec<(header::HeaderName, &'static str)>| {
            let portal = &portal;
            async move {
                portal
                    .call(
                        Method::PUT,
                        "/portal/api/me/language",
                        token.as_deref(),
                        &extra,
                        Some(body),
                    )
                    .await
            }
        };
    let r = put(None, json!({"language": "en"}), vec![]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{:?}", r.body);

    let token = portal.login("demo").await;
    let me = portal
        .call(Method::GET, "/portal/api/me", Some(&token), &[], None)
        .await;
    assert_eq!(
        me.body["language"],
        Value::Null,
        "never chosen: {:?}",
        me.body
    );
    let r = put(Some(token.clone()), json!({"language": "en"}), vec![]).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["language"], json!("en"));
    // Another login (another browser) finds it.
    let again = portal.login("demo").await;
    let me = portal
        .call(Method::GET, "/portal/api/me", Some(&again), &[], None)
        .await;
    assert_eq!(me.body["language"], json!("en"), "{:?}", me.body);

    for body in [
        json!({"language": "de"}),
        json!({"language": "EN"}),
        json!({}),
        json!({"language": "sv", "x": 1}),
    ] {
        let r = put(Some(token.clone()), body.clone(), vec![]).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {:?}", r.body);
    }
    // Without the session's CSRF token: refused, nothing changes.
    let r = put(
        Some(token.clone()),
        json!({"language": "sv"}),
        vec![(header::HeaderName::from_static(CSRF_HEADER), "")],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.body);
    let me = portal
        .call(Method::GET, "/portal/api/me", Some(&token), &[], None)
        .await;
    assert_eq!(me.body["language"], json!("en"));
    let r = put(Some(token.clone()), json!({"language": "sv"}), vec![]).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let me = portal
        .call(Method::GET, "/portal/api/me", Some(&token), &[], None)
        .await;
    assert_eq!(me.body["language"], json!("sv"));
    portal.finish().await;
}
