//! The portal API end to end through the gateway's router: demo login (cookie flags, the
//! stored hash, audit rows with the source address, refusals in Swedish or English),
//! the CSRF guard, the app list by environment, launching (the ticket it returns opens
//! `/ws/session` over real TLS exactly once), logout, and the API's absence without demo
//! login. Requests carry the peer address in their extensions, as the TLS listener sets it.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use hamn_broker::db::{Database, DatabaseConfig};
use hamn_broker::model::{
    AppKind, AuditEvent, AuditFilter, AuditOutcome, HostCertPolicy, NewApp, NewEntitlement,
    NewHostPool, NewTenant, NewUser, PageRequest, PoolStrategy,
};
use hamn_broker::ticket::keys::PUBLIC_KEY_FILE;
use hamn_broker::{
    DemoIds, LaunchError, SecretsKey, TicketIssuer, TicketKeys, TicketVerifier, WebSessionPolicy,
    repo,
};
use hamn_gateway::session::{SessionConfig, SessionService};
use hamn_gateway::{PortalApi, PortalState, SESSION_COOKIE, origin_of};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;
use uuid::Uuid;

use crate::session::tls_connect;

const ORIGIN: &str = "https://localhost:8443";
const PEER: [u8; 4] = [192, 0, 2, 7];

struct Portal {
    router: Router,
    database: Database,
    ids: DemoIds,
    /// The same router over TLS, for the websocket.
    port: u16,
    ca_pem: Vec<u8>,
    shutdown: CancellationToken,
    _dir: tempfile::TempDir,
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Answer {
    fn detail(&self) -> &str {
        self.body["detail"].as_str().unwrap_or_default()
    }
}

impl Portal {
    async fn start(demo_login: bool) -> Portal {
        let dir = tempfile::tempdir().expect("temp dir");
        let database = Database::connect(&DatabaseConfig {
            url: format!("sqlite://{}?mode=rwc", dir.path().join("hamn.db").display()),
            max_connections: 5,
        })
        .await
        .expect("open SQLite");
        database.migrate().await.expect("migrations");
        let secrets = SecretsKey::generate().expect("secrets key");
        // No RDP here: the host only has to exist for placement.
        let ids = hamn_broker::seed::demo(
            &database,
            hamn_broker::DemoSeed {
                host_port: 1,
                secrets_key: Some(secrets.clone()),
                ..Default::default()
            },
        )
        .await
        .expect("demo seed");
        let keys = TicketKeys::load_or_create(dir.path()).expect("ticket keys");
        let verifier = TicketVerifier::from_public_key_files(&[dir.path().join(PUBLIC_KEY_FILE)])
            .expect("ticket public key");
        let api = demo_login.then(|| {
            Arc::new(PortalApi {
                database: database.clone(),
                issuer: TicketIssuer::new(Arc::new(keys)),
                origin: origin_of(ORIGIN),
                web_sessions: WebSessionPolicy::default(),
                demo_login: true,
                siths_login_url: None,
                saml: false,
            })
        });
        let router = hamn_gateway::router(PortalState {
            database: database.clone(),
            sessions: Some(Arc::new(SessionService::new(
                database.clone(),
                verifier,
                secrets,
                SessionConfig::default(),
                CancellationToken::new(),
            ))),
            api,
        });

        let pki = hamn_certs::DevPki::init(&dir.path().join("certs")).expect("dev PKI");
        let ca_pem =
            std::fs::read(hamn_certs::DevPkiPaths::new(&dir.path().join("certs")).ca_cert())
                .expect("CA PEM");
        let tls = hamn_certs::server::server_config(&pki.server_cert_files()).expect("TLS");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let shutdown = CancellationToken::new();
        tokio::spawn(hamn_certs::serve(
            listener,
            tls,
            router.clone(),
            shutdown.clone(),
        ));
        Portal {
            router,
            database,
            ids,
            port,
            ca_pem,
            shutdown,
            _dir: dir,
        }
    }

    /// A request as the portal page sends it: JSON from the portal's origin.
    async fn call(
        &self,
        method: Method,
        path: &str,
        cookie: Option<&str>,
        extra: &[(header::HeaderName, &str)],
        body: Option<Value>,
    ) -> Answer {
        let mut request = Request::builder().method(method).uri(path);
        if body.is_some() {
            request = request
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::ORIGIN, ORIGIN);
        }
        if let Some(token) = cookie {
            request = request.header(header::COOKIE, format!("{SESSION_COOKIE}={token}"));
        }
        let mut request = request
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .expect("request");
        for (name, value) in extra {
            if value.is_empty() {
                request.headers_mut().remove(name);
            } else {
                request
                    .headers_mut()
                    .insert(name.clone(), value.parse().expect("header value"));
            }
        }
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from((PEER, 50_000))));
        let response = self.router.clone().oneshot(request).await.expect("answer");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            body,
        }
    }

    /// Logs `name` in; returns the cookie's token.
    async fn login(&self, name: &str) -> String {
        let answer = self
            .call(
                Method::POST,
                "/portal/api/demo-login",
                None,
                &[],
                Some(json!({ "username": name })),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
        session_token(&answer.headers)
    }

    async fn audit(&self, action: &str) -> Vec<AuditEvent> {
        let mut conn = self.database.pool().acquire().await.expect("conn");
        repo::audit::list(
            &mut conn,
            &AuditFilter {
                action: Some(action.to_owned()),
                ..Default::default()
            },
            PageRequest::default(),
        )
        .await
        .expect("audit")
        .items
    }

    async fn web_session_hashes(&self) -> Vec<String> {
        sqlx::query_scalar("SELECT token_hash FROM web_sessions")
            .fetch_all(self.database.pool())
            .await
            .expect("web sessions")
    }
}

impl Drop for Portal {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

fn set_cookie(headers: &HeaderMap) -> String {
    headers
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .expect("Set-Cookie")
        .to_owned()
}

fn session_token(headers: &HeaderMap) -> String {
    let cookie = set_cookie(headers);
    let value = cookie
        .strip_prefix(&format!("{SESSION_COOKIE}="))
        .expect("the session cookie");
    value.split(';').next().unwrap_or_default().to_owned()
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn demo_login_sets_a_strict_cookie_stores_its_hash_and_is_audited() {
    let portal = Portal::start(true).await;
    let answer = portal
        .call(
            Method::POST,
            "/portal/api/demo-login",
            None,
            &[],
            Some(json!({ "username": "demo" })),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    assert_eq!(answer.body["user"]["name_id"], "demo");
    assert_eq!(answer.body["user"]["display_name"], "Åsa Öberg");
    assert_eq!(answer.body["tenant"]["slug"], "demo");
    assert_eq!(answer.body["method"], "demo");

    let cookie = set_cookie(&answer.headers);
    let attributes: Vec<&str> = cookie.split(';').map(str::trim).skip(1).collect();
    for wanted in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(attributes.contains(&wanted), "{wanted} missing: {cookie}");
    }
    assert!(
        !attributes.iter().any(|a| a.starts_with("Domain")),
        "{cookie}"
    );
    let token = session_token(&answer.headers);
    // 256 random bits in base64url.
    assert_eq!(token.len(), 43, "{token}");
    assert_eq!(portal.web_session_hashes().await, [sha256_hex(&token)]);

    let logins = portal.audit("user.login").await;
    assert_eq!(logins.len(), 1, "{logins:?}");
    let login = &logins[0];
    assert_eq!(login.outcome, AuditOutcome::Success);
    assert_eq!(login.actor_id, Some(portal.ids.user.to_string()));
    assert_eq!(login.tenant_id, Some(portal.ids.tenant));
    assert_eq!(login.source_address.as_deref(), Some("192.0.2.7"));
    assert!(
        login
            .detail
            .as_deref()
            .is_some_and(|d| d.starts_with("method demo")),
        "{login:?}"
    );

    let me = portal
        .call(Method::GET, "/portal/api/me", Some(&token), &[], None)
        .await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["user"]["id"], portal.ids.user.to_string());

    // Logging in again from the same browser replaces its session.
    let again = portal
        .call(
            Method::POST,
            "/portal/api/demo-login",
            Some(&token),
            &[],
            Some(json!({ "username": "demo" })),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK);
    let token = session_token(&again.headers);
    assert_eq!(portal.web_session_hashes().await, [sha256_hex(&token)]);
    assert_eq!(portal.audit("user.logout").await.len(), 1);

    let out = portal
        .call(
            Method::POST,
            "/portal/api/logout",
            Some(&token),
            &[],
            Some(json!({})),
        )
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert!(set_cookie(&out.headers).contains("Max-Age=0"));
    assert!(portal.web_session_hashes().await.is_empty());
    assert_eq!(portal.audit("user.logout").await.len(), 2);
    let after = portal
        .call(Method::GET, "/portal/api/me", Some(&token), &[], None)
        .await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    assert_eq!(after.body["reason"], "not_logged_in");
}

#[tokio::test]
async fn unknown_and_unentitled_users_are_refused_in_the_chosen_language() {
    let portal = Portal::start(true).await;
    let unknown = portal
        .call(
            Method::POST,
            "/portal/api/demo-login",
            None,
            &[],
            Some(json!({ "username": "nobody" })),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        unknown
            .headers
            .get(header::CONTENT_TYPE)
            .map(|v| v.as_bytes()),
        Some(&b"application/problem+json"[..])
    );
    assert!(unknown.headers.get(header::SET_COOKIE).is_none());
    assert!(
        unknown.detail().starts_with("Inloggningen nekades"),
        "{:?}",
        unknown.body
    );
    let english = portal
        .call(
            Method::POST,
            "/portal/api/demo-login",
            None,
            &[(header::ACCEPT_LANGUAGE, "en-GB,en;q=0.9")],
            Some(json!({ "username": "nobody" })),
        )
        .await;
    assert!(
        english.detail().starts_with("Login refused"),
        "{:?}",
        english.body
    );
    let by_field = portal
        .call(
            Method::POST,
            "/portal/api/demo-login",
            None,
            &[(header::ACCEPT_LANGUAGE, "sv")],
            Some(json!({ "username": "nobody", "lang": "en" })),
        )
        .await;
    assert!(
        by_field.detail().starts_with("Login refused"),
        "{:?}",
        by_field.body
    );

    // A user of the demo tenant in no group: exists, but may launch nothing.
    let outsider = {
        let mut conn = portal.database.pool().acquire().await.expect("conn");
        repo::users::insert(
            &mut conn,
            portal.ids.tenant,
            &NewUser {
                name_id: "utan.behorighet".to_owned(),
                hsa_id: None,
                display_name: "Utan Behörighet".to_owned(),
            },
        )
        .await
        .expect("user")
    };
    let unentitled = portal
        .call(
            Method::POST,
            "/portal/api/demo-login",
            None,
            &[],
            Some(json!({ "username": "utan.behorighet" })),
        )
        .await;
    assert_eq!(unentitled.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unentitled.detail(), unknown.detail(), "names must not leak");

    for (body, what) in [
        (json!({ "username": "" }), "empty name"),
        (json!({ "username": "x".repeat(201) }), "long name"),
        (json!({ "user": "demo" }), "wrong field"),
        (json!({ "username": 7 }), "wrong type"),
    ] {
        let bad = portal
            .call(
                Method::POST,
                "/portal/api/demo-login",
                None,
                &[],
                Some(body),
            )
            .await;
        assert_eq!(
            bad.status,
            StatusCode::BAD_REQUEST,
            "{what}: {:?}",
            bad.body
        );
        assert!(!bad.detail().is_empty(), "{what}");
    }
    assert!(portal.web_session_hashes().await.is_empty());

    let refused = portal.audit("user.login").await;
    assert_eq!(refused.len(), 4, "{refused:?}");
    assert!(refused.iter().all(|e| e.outcome == AuditOutcome::Refused));
    assert!(
        refused
            .iter()
            .all(|e| e.source_address.as_deref() == Some("192.0.2.7"))
    );
    let outsider_event = refused
        .iter()
        .find(|e| e.actor_id == Some(outsider.id.to_string()))
        .expect("the unentitled user's refusal");
    assert!(
        outsider_event
            .detail
            .as_deref()
            .is_some_and(|d| d.ends_with("refused: not_entitled")),
        "{outsider_event:?}"
    );
    assert_eq!(
        refused
            .iter()
            .filter(|e| e.actor_name == "nobody"
                && e.detail.as_deref() == Some("method demo; refused: unknown_user"))
            .count(),
        3
    );
}

#[tokio::test]
async fn a_name_in_two_tenants_needs_the_tenant() {
    let portal = Portal::start(true).await;
    {
        let mut conn = portal.database.pool().acquire().await.expect("conn");
        let other = repo::tenants::insert(
            &mut conn,
            &NewTenant {
                slug: "sundsvall".to_owned(),
                name: "Sundsvalls kommun".to_owned(),
            },
        )
        .await
        .expect("tenant");
        repo::users::insert(
            &mut conn,
            other.id,
            &NewUser {
                name_id: "demo".to_owned(),
                hsa_id: None,
                display_name: "Annan Demo".to_owned(),
            },
        )
        .await
        .expect("user");
    }
    let ambiguous = portal
        .call(
            Method::POST,
            "/portal/api/demo-login",
            None,
            &[],
            Some(json!({ "username": "demo" })),
        )
        .await;
    assert_eq!(ambiguous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(ambiguous.body["reason"], "tenant_required");
    // The other tenant's "demo" exists but may launch nothing there.
    let elsewhere = portal
        .call(
            Method::POST,
            "/portal/api/demo-login",
            None,
            &[],
            Some(json!({ "username": "demo", "tenant": "sundsvall" })),
        )
        .await;
    assert_eq!(elsewhere.body["reason"], "login_refused");
    let named = portal
        .call(
            Method::POST,
            "/portal/api/demo-login",
            None,
            &[],
            Some(json!({ "username": "demo", "tenant": "demo" })),
        )
        .await;
    assert_eq!(named.status, StatusCode::OK, "{:?}", named.body);
    assert_eq!(named.body["user"]["id"], portal.ids.user.to_string());
}

#[tokio::test]
async fn state_changes_need_json_from_the_portal_origin() {
    let portal = Portal::start(true).await;
    let login = Some(json!({ "username": "demo" }));
    for (headers, what) in [
        (vec![(header::ORIGIN, "")], "no Origin"),
        (
            vec![(header::ORIGIN, "https://evil.example")],
            "foreign Origin",
        ),
        (vec![(header::ORIGIN, "null")], "opaque Origin"),
        (
            vec![(header::CONTENT_TYPE, "text/plain")],
            "a form's content type",
        ),
        (
            vec![(header::CONTENT_TYPE, "application/x-www-form-urlencoded")],
            "a form's content type",
        ),
    ] {
        let answer = portal
            .call(
                Method::POST,
                "/portal/api/demo-login",
                None,
                &headers,
                login.clone(),
            )
            .await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{what}");
        assert_eq!(answer.body["reason"], "cross_site_request", "{what}");
    }
    assert!(portal.web_session_hashes().await.is_empty());
    assert!(portal.audit("user.login").await.is_empty());

    // With a session, a forged launch or logout is refused just the same.
    let token = portal.login("demo").await;
    let app = json!({ "app_id": portal.ids.app_prod.to_string() });
    let forged = portal
        .call(
            Method::POST,
            "/portal/api/launch",
            Some(&token),
            &[(header::ORIGIN, "https://evil.example")],
            Some(app),
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(portal.audit("session.launch").await.is_empty());
    let forged_out = portal
        .call(
            Method::POST,
            "/portal/api/logout",
            Some(&token),
            &[(header::CONTENT_TYPE, "text/plain")],
            Some(json!({})),
        )
        .await;
    assert_eq!(forged_out.status, StatusCode::FORBIDDEN);
    assert_eq!(portal.web_session_hashes().await.len(), 1);
    // Reading needs no Origin.
    let apps = portal
        .call(Method::GET, "/portal/api/apps", Some(&token), &[], None)
        .await;
    assert_eq!(apps.status, StatusCode::OK);
}

#[tokio::test]
async fn apps_by_environment_and_a_launch_ticket_the_session_endpoint_takes_once() {
    let portal = Portal::start(true).await;
    let anonymous = portal
        .call(Method::GET, "/portal/api/apps", None, &[], None)
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);

    let token = portal.login("demo").await;
    let apps = portal
        .call(Method::GET, "/portal/api/apps", Some(&token), &[], None)
        .await;
    assert_eq!(apps.status, StatusCode::OK);
    let environments = apps.body["environments"].as_array().expect("environments");
    let summary: Vec<(String, Vec<String>)> = environments
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap_or_default().to_owned(),
                e["apps"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|a| a["name"].as_str().unwrap_or_default().to_owned())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("PROD".to_owned(), vec!["Procapita".to_owned()]),
            ("UTB".to_owned(), vec!["Procapita UTB".to_owned()]),
        ]
    );
    assert_eq!(
        environments[0]["apps"][0]["id"],
        portal.ids.app_prod.to_string()
    );

    let launched = portal
        .call(
            Method::POST,
            "/portal/api/launch",
            Some(&token),
            &[],
            Some(json!({ "app_id": portal.ids.app_prod.to_string() })),
        )
        .await;
    assert_eq!(launched.status, StatusCode::OK, "{:?}", launched.body);
    let viewer = launched.body["viewer_url"].as_str().expect("viewer_url");
    let ticket = viewer
        .strip_prefix("/static/session.html#ticket=")
        .expect("the viewer with the ticket in the fragment");
    assert!(hamn_web::embedded("session.html").is_some());
    let session_id: Uuid = launched.body["session_id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("session id");

    // The session endpoint spends the ticket and upgrades; a second try is refused.
    let url = format!("wss://localhost:{}/ws/session?ticket={ticket}", portal.port);
    let first = tokio_tungstenite::client_async(
        url.clone(),
        tls_connect(&portal.ca_pem, portal.port).await,
    )
    .await;
    match first {
        Ok((ws, _)) => drop(ws),
        Err(error) => panic!("the portal's ticket was refused: {error}"),
    }
    let replay =
        tokio_tungstenite::client_async(url, tls_connect(&portal.ca_pem, portal.port).await).await;
    match replay {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 403);
        }
        Err(other) => panic!("expected an HTTP refusal, got {other}"),
        Ok(_) => panic!("a replayed ticket was upgraded"),
    }

    let launches = portal.audit("session.launch").await;
    assert_eq!(launches.len(), 1);
    assert_eq!(launches[0].target_id, Some(session_id.to_string()));
    assert_eq!(launches[0].actor_id, Some(portal.ids.user.to_string()));
    let consumed = portal.audit("ticket.consumed").await;
    assert_eq!(consumed.len(), 1);
    assert_eq!(consumed[0].target_id, Some(session_id.to_string()));
}

#[tokio::test]
async fn launch_refusals_say_why_in_swedish_or_english() {
    let portal = Portal::start(true).await;
    let token = portal.login("demo").await;
    // An app of the tenant the demo user is not entitled to, and one whose pool has no
    // host, which the demo group may launch.
    let (hidden, hostless) = {
        let mut conn = portal.database.pool().acquire().await.expect("conn");
        let hidden = repo::apps::insert(
            &mut conn,
            portal.ids.tenant,
            &NewApp {
                environment_id: portal.ids.prod,
                pool_id: portal.ids.pool,
                display_name: "Lönesystem".to_owned(),
                kind: AppKind::Desktop,
                program: None,
                args: None,
                enabled: true,
            },
        )
        .await
        .expect("app");
        let empty = repo::pools::insert(
            &mut conn,
            &NewHostPool {
                name: "Tom pool".to_owned(),
                description: String::new(),
                strategy: PoolStrategy::BreadthFirst,
                dedicated_tenant_id: None,
                host_cert_policy: HostCertPolicy::Ignore,
                host_ca_pem: None,
                host_cert_pins: Vec::new(),
                clipboard_enabled: true,
                clipboard_max_bytes: hamn_broker::model::DEFAULT_CLIPBOARD_MAX_BYTES,
            },
        )
        .await
        .expect("pool");
        let hostless = repo::apps::insert(
            &mut conn,
            portal.ids.tenant,
            &NewApp {
                environment_id: portal.ids.utb,
                pool_id: empty.id,
                display_name: "Procapita test".to_owned(),
                kind: AppKind::Desktop,
                program: None,
                args: None,
                enabled: true,
            },
        )
        .await
        .expect("app");
        repo::entitlements::insert(
            &mut conn,
            portal.ids.tenant,
            hostless.id,
            &NewEntitlement {
                group_id: Some(portal.ids.group),
                user_id: None,
            },
        )
        .await
        .expect("entitlement");
        (hidden.id, hostless.id)
    };
    let launch = |app: String, lang: &'static str| {
        let token = token.clone();
        let portal = &portal;
        async move {
            portal
                .call(
                    Method::POST,
                    "/portal/api/launch",
                    Some(&token),
                    &[(header::ACCEPT_LANGUAGE, lang)],
                    Some(json!({ "app_id": app })),
                )
                .await
        }
    };
    let cases = [
        (
            hidden.to_string(),
            LaunchError::NotEntitled,
            StatusCode::FORBIDDEN,
        ),
        (
            hostless.to_string(),
            LaunchError::NoHostAvailable,
            StatusCode::SERVICE_UNAVAILABLE,
        ),
        (
            Uuid::now_v7().to_string(),
            LaunchError::UnknownApp,
            StatusCode::NOT_FOUND,
        ),
        (
            "not-an-id".to_owned(),
            LaunchError::UnknownApp,
            StatusCode::NOT_FOUND,
        ),
    ];
    for (app, error, status) in cases {
        let sv = launch(app.clone(), "sv-SE").await;
        assert_eq!(sv.status, status, "{app}: {:?}", sv.body);
        assert_eq!(sv.detail(), error.message_sv(), "{app}");
        assert_eq!(sv.body["reason"], error.reason(), "{app}");
        let en = launch(app.clone(), "en").await;
        assert_eq!(en.detail(), error.message_en(), "{app}");
    }
    // The hidden app never shows in the list; the hostless one does (it may come back).
    let apps = portal
        .call(Method::GET, "/portal/api/apps", Some(&token), &[], None)
        .await;
    let listed = apps.body.to_string();
    assert!(!listed.contains("Lönesystem"), "{listed}");
    assert!(listed.contains("Procapita test"), "{listed}");
    let refusals = portal.audit("session.launch").await;
    assert!(
        refusals.iter().any(|e| e.outcome == AuditOutcome::Refused
            && e.detail
                .as_deref()
                .is_some_and(|d| d.ends_with("refused: not_entitled"))),
        "{refusals:?}"
    );
}

#[tokio::test]
async fn without_demo_login_the_portal_api_is_not_there() {
    let portal = Portal::start(false).await;
    for (method, path, body) in [
        (
            Method::POST,
            "/portal/api/demo-login",
            Some(json!({ "username": "demo" })),
        ),
        (Method::GET, "/portal/api/me", None),
        (Method::GET, "/portal/api/apps", None),
        (
            Method::POST,
            "/portal/api/launch",
            Some(json!({ "app_id": "x" })),
        ),
    ] {
        let answer = portal.call(method, path, None, &[], body).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
    }
    assert!(portal.audit("user.login").await.is_empty());
}
