//! The portal's web sessions on both databases: a login stores only the token's hash,
//! stamps `last_login_at` and audits `user.login`; the token finds the session until the
//! idle or the absolute expiry, use moves the idle expiry (never past the absolute one),
//! logout deletes and audits, and expired rows are pruned at the next login.

use std::time::Duration;

use hamn_broker::db::row::{millis, now};
use hamn_broker::model::LoginMethod;
use hamn_broker::repo;
use hamn_broker::seed::{self, DemoSeed};
use hamn_broker::web_session::{self, SessionToken, WebSessionPolicy};

use crate::both;
use crate::support::{Backend, Harness};

async fn login_authenticate_expire_and_logout(b: Backend) {
    let h = Harness::new(b).await;
    let ids = seed::demo(h.db(), DemoSeed::default()).await.expect("seed");
    let user = {
        let mut conn = h.db().pool().acquire().await.expect("conn");
        repo::users::get(&mut conn, ids.user)
            .await
            .expect("user")
            .expect("the demo user")
    };
    assert_eq!(user.name_id, "demo", "the demo login's name");
    let policy = WebSessionPolicy {
        idle: Duration::from_secs(600),
        max: Duration::from_secs(3600),
    };
    let (token, session) =
        web_session::login(h.db(), policy, &user, LoginMethod::Demo, Some("192.0.2.1"))
            .await
            .expect("login");
    assert_eq!(session.user_id, ids.user);
    assert_eq!(session.tenant_id, ids.tenant);
    assert!(session.idle_expires_at <= session.expires_at);

    let mut conn = h.db().pool().acquire().await.expect("conn");
    // Only the hash is stored: the token itself finds nothing.
    assert!(
        repo::web_sessions::find_live(&mut conn, token.expose(), now())
            .await
            .expect("lookup")
            .is_none()
    );
    let found = repo::web_sessions::find_live(&mut conn, &token.hash(), now())
        .await
        .expect("lookup")
        .expect("live session");
    assert_eq!(found.id, session.id);
    assert_eq!(found.source_address.as_deref(), Some("192.0.2.1"));
    let stamped = repo::users::get(&mut conn, ids.user)
        .await
        .expect("user")
        .expect("user");
    assert!(stamped.last_login_at.is_some());

    // Past the idle expiry the session is gone; touching moves it, capped at the end.
    let later = session.idle_expires_at + time::Duration::seconds(1);
    assert!(
        repo::web_sessions::find_live(&mut conn, &token.hash(), later)
            .await
            .expect("lookup")
            .is_none()
    );
    let far = session.expires_at + time::Duration::hours(5);
    assert!(
        repo::web_sessions::touch(&mut conn, session.id, now(), far)
            .await
            .expect("touch")
    );
    let touched = repo::web_sessions::find_live(&mut conn, &token.hash(), later)
        .await
        .expect("lookup")
        .expect("live after use");
    assert_eq!(millis(touched.idle_expires_at), millis(touched.expires_at));
    assert!(
        repo::web_sessions::find_live(&mut conn, &token.hash(), session.expires_at)
            .await
            .expect("lookup")
            .is_none(),
        "the absolute expiry holds"
    );
    drop(conn);

    let (who, by) = web_session::authenticate(h.db(), policy, &token)
        .await
        .expect("authenticate")
        .expect("live");
    assert_eq!((who.id, by.id), (session.id, ids.user));
    let stranger = SessionToken::generate().expect("token");
    assert!(
        web_session::authenticate(h.db(), policy, &stranger)
            .await
            .expect("authenticate")
            .is_none()
    );

    let logins = h.audit("action=user.login").await;
    assert_eq!(logins.len(), 1);
    assert_eq!(logins[0]["outcome"], "success");
    assert_eq!(logins[0]["source_address"], "192.0.2.1");
    assert!(!logins[0].to_string().contains(token.expose()));

    let ended = web_session::logout(h.db(), &token, None)
        .await
        .expect("logout");
    assert_eq!(ended.map(|s| s.id), Some(session.id));
    assert!(
        web_session::authenticate(h.db(), policy, &token)
            .await
            .expect("authenticate")
            .is_none()
    );
    assert!(
        web_session::logout(h.db(), &token, None)
            .await
            .expect("logout")
            .is_none()
    );
    assert_eq!(h.audit("action=user.logout").await.len(), 1);

    // An expired session is pruned by the next login.
    let short = WebSessionPolicy {
        idle: Duration::from_secs(1),
        max: Duration::from_secs(1),
    };
    let (old, _) = web_session::login(h.db(), short, &user, LoginMethod::Demo, None)
        .await
        .expect("login");
    let mut conn = h.db().pool().acquire().await.expect("conn");
    let pruned = repo::web_sessions::prune_expired(&mut conn, now() + time::Duration::seconds(2))
        .await
        .expect("prune");
    assert_eq!(pruned, 1);
    assert!(
        repo::web_sessions::find_live(&mut conn, &old.hash(), now())
            .await
            .expect("lookup")
            .is_none()
    );
}
both!(login_authenticate_expire_and_logout);

async fn entitled_apps_and_users_by_name(b: Backend) {
    let h = Harness::new(b).await;
    let ids = seed::demo(h.db(), DemoSeed::default()).await.expect("seed");
    let mut conn = h.db().pool().acquire().await.expect("conn");
    let apps = repo::apps::list_entitled(&mut conn, ids.user)
        .await
        .expect("apps");
    let mut got: Vec<_> = apps.iter().map(|a| a.id).collect();
    got.sort();
    let mut want = vec![ids.app_prod, ids.app_utb];
    want.sort();
    assert_eq!(got, want);
    let mut app = repo::apps::get(&mut conn, ids.app_utb)
        .await
        .expect("app")
        .expect("app");
    app.enabled = false;
    repo::apps::update(&mut conn, &app).await.expect("disable");
    let apps = repo::apps::list_entitled(&mut conn, ids.user)
        .await
        .expect("apps");
    assert_eq!(
        apps.iter().map(|a| a.id).collect::<Vec<_>>(),
        [ids.app_prod]
    );

    let found = repo::users::find_by_name_id(&mut conn, "demo", 2)
        .await
        .expect("users");
    assert_eq!(found.iter().map(|u| u.id).collect::<Vec<_>>(), [ids.user]);
    assert!(
        repo::users::find_by_name_id(&mut conn, "nobody", 2)
            .await
            .expect("users")
            .is_empty()
    );
    // SITHS card logins find the user by HSA-ID.
    let found = repo::users::find_by_hsa_id(&mut conn, "SE2321000016-0001", 2)
        .await
        .expect("users");
    assert_eq!(found.iter().map(|u| u.id).collect::<Vec<_>>(), [ids.user]);
    assert!(
        repo::users::find_by_hsa_id(&mut conn, "SE2321000016-0002", 2)
            .await
            .expect("users")
            .is_empty()
    );
}
both!(entitled_apps_and_users_by_name);

/// A SITHS login's level of assurance is stored with the session, read back with it and
/// named in the audit detail; a login without one stores NULL; the column refuses levels
/// outside 1 to 4.
async fn the_level_of_assurance_goes_with_the_session(b: Backend) {
    let h = Harness::new(b).await;
    let ids = seed::demo(h.db(), DemoSeed::default()).await.expect("seed");
    let user = {
        let mut conn = h.db().pool().acquire().await.expect("conn");
        repo::users::get(&mut conn, ids.user)
            .await
            .expect("user")
            .expect("the demo user")
    };
    let policy = WebSessionPolicy::default();
    let (strong, session) = web_session::login_at(
        h.db(),
        policy,
        &user,
        LoginMethod::Siths,
        Some(3),
        None,
        hamn_broker::db::row::now(),
    )
    .await
    .expect("login");
    assert_eq!(session.loa, Some(3));
    let (weak, _) = web_session::login(h.db(), policy, &user, LoginMethod::Demo, None)
        .await
        .expect("login");
    let mut conn = h.db().pool().acquire().await.expect("conn");
    for (token, loa) in [(&strong, Some(3)), (&weak, None)] {
        let found = repo::web_sessions::find_live(&mut conn, &token.hash(), now())
            .await
            .expect("lookup")
            .expect("live session");
        assert_eq!(found.loa, loa);
    }
    let (authenticated, _) = web_session::authenticate(h.db(), policy, &strong)
        .await
        .expect("authenticate")
        .expect("live");
    assert_eq!(authenticated.loa, Some(3));
    let details: Vec<Option<String>> = sqlx::query_scalar(
        "SELECT detail FROM audit_events WHERE action = 'user.login' ORDER BY at",
    )
    .fetch_all(&mut *conn)
    .await
    .expect("audit");
    assert!(
        details
            .iter()
            .any(|d| d.as_deref() == Some("method siths; hsa_id SE2321000016-0001; loa3")),
        "{details:?}"
    );
    let out_of_range = sqlx::query("UPDATE web_sessions SET loa = 5")
        .execute(&mut *conn)
        .await;
    assert!(out_of_range.is_err(), "loa 5 was stored");
}
both!(the_level_of_assurance_goes_with_the_session);
