//! The portal API end to end through the gateway's router: demo login (cookie flags, the
//! stored hash, audit rows with the source address, refusals in Swedish or English),
//! the CSRF layer (origin, content type and the per-session token: missing, wrong, another
//! session's, cross-origin), session fixation, timeouts on a clock the test holds, login
//! backoff (429 with when to retry), the admin API at `/api/v1` by role, the app list by
//! environment, launching (the ticket it returns opens `/ws/session` over real TLS exactly
//! once), logout, and the API's absence without demo login. The access-control tests run
//! on SQLite and on PostgreSQL (a schema of their own). Requests carry the peer address in
//! their extensions, as the TLS listener sets it.

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
    Clock, DemoIds, LaunchError, SecretsKey, SessionToken, TicketIssuer, TicketKeys,
    TicketVerifier, WebSessionPolicy, repo, web_session,
};
use hamn_gateway::session::{SessionConfig, SessionService};
use hamn_gateway::{CSRF_HEADER, PortalAccess, PortalApi, PortalState, SESSION_COOKIE, origin_of};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;
use uuid::Uuid;

use crate::session::tls_connect;

const ORIGIN: &str = "https://localhost:8443";

/// Which database the portal's broker tables live in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

/// Runs `async fn name(Backend)` once per database.
macro_rules! both {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name(super::Backend::Sqlite).await
            }
            #[tokio::test]
            async fn postgres() {
                super::$name(super::Backend::Postgres).await
            }
        }
    };
}

/// A database of its own: a SQLite file in `dir`, or a fresh PostgreSQL schema (dropped
/// by [`Portal::finish`]).
async fn open_database(
    backend: Backend,
    dir: &std::path::Path,
) -> (Database, Option<(Database, String)>) {
    match backend {
        Backend::Sqlite => {
            let db = Database::connect(&DatabaseConfig {
                url: format!("sqlite://{}?mode=rwc", dir.join("hamn.db").display()),
                max_connections: 5,
            })
            .await
            .expect("open SQLite");
            (db, None)
        }
        Backend::Postgres => {
            let base = std::env::var("HAMN_TEST_DATABASE_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
            let admin = Database::connect(&DatabaseConfig {
                url: base.clone(),
                max_connections: 1,
            })
            .await
            .unwrap_or_else(|e| {
                panic!("PostgreSQL at {base} is needed ({e}); set HAMN_TEST_DATABASE_URL")
            });
            let schema = format!("g_{}", Uuid::new_v4().simple());
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                .execute(admin.pool())
                .await
                .expect("create schema");
            let sep = if base.contains('?') { '&' } else { '?' };
            let db = Database::connect(&DatabaseConfig {
                url: format!("{base}{sep}options=-c%20search_path%3D{schema}"),
                max_connections: 5,
            })
            .await
            .expect("connect to the schema");
            (db, Some((admin, schema)))
        }
    }
}
const PEER: [u8; 4] = [192, 0, 2, 7];

pub(crate) struct Portal {
    router: Router,
    pub(crate) database: Database,
    pub(crate) ids: DemoIds,
    /// The same router over TLS, for the websocket.
    pub(crate) port: u16,
    pub(crate) ca_pem: Vec<u8>,
    shutdown: CancellationToken,
    /// The PostgreSQL schema to drop at the end.
    schema: Option<(Database, String)>,
    /// `print.data_dir`: where the portal reads the print service's PDFs.
    pub(crate) print_dir: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Value,
    /// The body as it came (files).
    pub(crate) bytes: Vec<u8>,
}

impl Answer {
    pub(crate) fn detail(&self) -> &str {
        self.body["detail"].as_str().unwrap_or_default()
    }
}

impl Portal {
    async fn start(demo_login: bool) -> Portal {
        Self::start_with(demo_login, Clock::system(), Backend::Sqlite).await
    }

    /// With the clock web sessions and throttling read (a manual one in timeout tests),
    /// on either database.
    async fn start_with(demo_login: bool, clock: Clock, backend: Backend) -> Portal {
        Self::start_full(demo_login, clock, backend, PortalOptions::default()).await
    }

    /// A demo-login portal with `options` (`.rdp` signing, its own origin), on SQLite.
    pub(crate) async fn start_native(options: PortalOptions) -> Portal {
        Self::start_full(true, Clock::system(), Backend::Sqlite, options).await
    }

    async fn start_full(
        demo_login: bool,
        clock: Clock,
        backend: Backend,
        options: PortalOptions,
    ) -> Portal {
        let dir = tempfile::tempdir().expect("temp dir");
        // Bound first, so a portal a browser talks to can have its own origin.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let origin = if options.own_origin {
            format!("https://localhost:{port}")
        } else {
            ORIGIN.to_owned()
        };
        let (database, schema) = open_database(backend, dir.path()).await;
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
                origin: origin_of(&origin),
                web_sessions: WebSessionPolicy::default(),
                demo_login: true,
                siths_login_url: None,
                launch_min_loa: options.launch_min_loa,
                access: PortalAccess {
                    clock: clock.clone(),
                    ..PortalAccess::default()
                },
                saml: false,
                rdp_signer: options.rdp_signer.clone(),
                print_data_dir: dir.path().join("prints"),
                print_public_url: Some("https://print.test:8631".to_owned()),
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
            schema,
            print_dir: dir.path().join("prints"),
            _dir: dir,
        }
    }

    /// Drops the PostgreSQL schema, if any.
    pub(crate) async fn finish(mut self) {
        self.database.close().await;
        if let Some((admin, schema)) = self.schema.take() {
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                .execute(admin.pool())
                .await
                .expect("drop schema");
            admin.close().await;
        }
    }

    /// A request as the portal page sends it: JSON from the portal's origin, with the
    /// session's CSRF token on state changes (`extra` may replace or, empty, remove any
    /// header).
    pub(crate) async fn call(
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
            if body.is_some()
                && let Some(parsed) = SessionToken::parse(token)
            {
                request = request.header(CSRF_HEADER, web_session::csrf_token(&parsed));
            }
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
            bytes: bytes.to_vec(),
        }
    }

    /// Logs `name` in; returns the cookie's token.
    pub(crate) async fn login(&self, name: &str) -> String {
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

    /// Launches the PROD app in the browser as the user of `token`; the session's id.
    pub(crate) async fn launch_prod(&self, token: &str) -> Uuid {
        let launched = self
            .call(
                Method::POST,
                "/portal/api/launch",
                Some(token),
                &[],
                Some(json!({ "app_id": self.ids.app_prod.to_string() })),
            )
            .await;
        assert_eq!(launched.status, StatusCode::OK, "{:?}", launched.body);
        launched.body["session_id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("session_id")
    }

    /// A colleague ("kollega", same tenant) with a session of the same app on the same
    /// host as `beside`: someone else's session for isolation checks.
    pub(crate) async fn colleague_session(&self, beside: Uuid) -> Uuid {
        let mut conn = self.database.acquire().await.expect("conn");
        let other = repo::users::insert(
            &mut conn,
            self.ids.tenant,
            &NewUser {
                name_id: "kollega".to_owned(),
                hsa_id: None,
                display_name: "Kollega".to_owned(),
            },
        )
        .await
        .expect("user");
        let session = repo::sessions::get(&mut conn, beside)
            .await
            .expect("get")
            .expect("session");
        repo::sessions::insert(
            &mut conn,
            &hamn_broker::model::NewSession {
                tenant_id: self.ids.tenant,
                user_id: other.id,
                app_id: session.app_id,
                host_id: session.host_id,
            },
        )
        .await
        .expect("other session")
        .id
    }

    pub(crate) async fn audit(&self, action: &str) -> Vec<AuditEvent> {
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

/// What [`Portal::start_native`] varies.
#[derive(Default)]
pub(crate) struct PortalOptions {
    /// Signs `.rdp` files.
    pub(crate) rdp_signer: Option<Arc<hamn_gateway::rdp_sign::RdpSigner>>,
    /// `https://localhost:{port}` as the portal's origin (a real browser's requests),
    /// instead of [`ORIGIN`].
    pub(crate) own_origin: bool,
    /// `gateway.launch_min_loa`.
    pub(crate) launch_min_loa: Option<u8>,
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
async fn demo_login_sets_a_lax_cookie_stores_its_hash_and_is_audited() {
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
    // Lax so the IdP's cross-site POST to the SAML ACS ends logged in; the CSRF token
    // guards state changes instead.
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
    assert_eq!(me.body["role"], "user");
    // The CSRF token: the login's answer and /me agree, the row holds only its hash.
    let csrf = me.body["csrf_token"]
        .as_str()
        .expect("csrf_token")
        .to_owned();
    assert_eq!(answer.body["csrf_token"], csrf.as_str());
    assert_eq!(csrf.len(), 43);
    assert_ne!(csrf, token);
    let stored: Vec<String> = sqlx::query_scalar("SELECT csrf_hash FROM web_sessions")
        .fetch_all(portal.database.pool())
        .await
        .expect("csrf hashes");
    assert_eq!(stored, [sha256_hex(&csrf)]);

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
    let (ticket, app) = viewer
        .strip_prefix("/static/session.html#ticket=")
        .and_then(|rest| rest.split_once("&app="))
        .expect("the viewer with the ticket and the app in the fragment");
    assert_eq!(app, portal.ids.app_prod.to_string());
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
                version: None,
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
                drives_enabled: false,
                printers_enabled: true,
                com_ports_enabled: false,
                pnp_devices_enabled: false,
                native_remote_apps: true,
                print_driver: hamn_broker::model::PrintDriver::Pdf,
                idle_timeout_secs: hamn_broker::model::pool::DEFAULT_IDLE_TIMEOUT_SECS,
                disconnect_timeout_secs: hamn_broker::model::pool::DEFAULT_DISCONNECT_TIMEOUT_SECS,
                max_session_secs: hamn_broker::model::pool::DEFAULT_MAX_SESSION_SECS,
                timeout_warning_secs: hamn_broker::model::pool::DEFAULT_TIMEOUT_WARNING_SECS,
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
                version: None,
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
        (Method::GET, "/api/v1/tenants", None),
    ] {
        let answer = portal.call(method, path, None, &[], body).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
    }
    assert!(portal.audit("user.login").await.is_empty());
}

async fn every_state_change_needs_the_sessions_csrf_token(backend: Backend) {
    let portal = Portal::start_with(true, Clock::system(), backend).await;
    let token = portal.login("demo").await;
    let other = portal.login("demo").await;
    let other_csrf = web_session::csrf_token(&SessionToken::parse(&other).expect("token"));
    let me = portal
        .call(Method::GET, "/portal/api/me", Some(&token), &[], None)
        .await;
    let csrf = me.body["csrf_token"]
        .as_str()
        .expect("csrf_token")
        .to_owned();
    let app = json!({ "app_id": portal.ids.app_prod.to_string() });
    let csrf_header = header::HeaderName::from_static(CSRF_HEADER);
    for (headers, what) in [
        (vec![(csrf_header.clone(), "")], "token missing"),
        (vec![(csrf_header.clone(), "not-the-token")], "token wrong"),
        (
            vec![(csrf_header.clone(), other_csrf.as_str())],
            "another session's token",
        ),
        (
            vec![(csrf_header.clone(), other.as_str())],
            "the cookie itself",
        ),
    ] {
        for path in ["/portal/api/launch", "/portal/api/logout"] {
            let refused = portal
                .call(
                    Method::POST,
                    path,
                    Some(&token),
                    &headers,
                    Some(app.clone()),
                )
                .await;
            assert_eq!(refused.status, StatusCode::FORBIDDEN, "{what} {path}");
            assert_eq!(refused.body["reason"], "csrf_token", "{what} {path}");
            assert!(
                refused.detail().contains("säkerhetskod"),
                "{what}: {:?}",
                refused.body
            );
        }
    }
    // The right token from a foreign origin is still refused.
    let cross = portal
        .call(
            Method::POST,
            "/portal/api/launch",
            Some(&token),
            &[
                (header::ORIGIN, "https://evil.example"),
                (csrf_header.clone(), csrf.as_str()),
            ],
            Some(app.clone()),
        )
        .await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);
    assert_eq!(cross.body["reason"], "cross_site_request");
    assert!(portal.audit("session.launch").await.is_empty());
    assert_eq!(
        portal.web_session_hashes().await.len(),
        2,
        "no forged logout"
    );
    // With its own token, as the portal page sends it, the request goes through.
    let launched = portal
        .call(
            Method::POST,
            "/portal/api/launch",
            Some(&token),
            &[(csrf_header.clone(), csrf.as_str())],
            Some(app),
        )
        .await;
    assert_eq!(launched.status, StatusCode::OK, "{:?}", launched.body);
    // A cookie of no live session carries no token and logs nobody out: 204.
    let stale = SessionToken::generate().expect("token");
    let out = portal
        .call(
            Method::POST,
            "/portal/api/logout",
            Some(stale.expose()),
            &[(csrf_header, "")],
            Some(json!({})),
        )
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert_eq!(portal.web_session_hashes().await.len(), 2);
    portal.finish().await;
}
both!(every_state_change_needs_the_sessions_csrf_token);

async fn a_token_planted_before_login_never_becomes_a_logged_in_one(backend: Backend) {
    let portal = Portal::start_with(true, Clock::system(), backend).await;
    // A well-formed token the server never issued.
    let planted = SessionToken::generate().expect("token");
    let answer = portal
        .call(
            Method::POST,
            "/portal/api/demo-login",
            Some(planted.expose()),
            &[],
            Some(json!({ "username": "demo" })),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    let issued = session_token(&answer.headers);
    assert_ne!(issued, planted.expose());
    let with_planted = portal
        .call(
            Method::GET,
            "/portal/api/me",
            Some(planted.expose()),
            &[],
            None,
        )
        .await;
    assert_eq!(with_planted.status, StatusCode::UNAUTHORIZED);
    // An attacker's own live session planted in the victim's browser: the victim's login
    // ends it and issues a new token, so the attacker's cookie logs in nobody.
    let attacker = portal.login("demo").await;
    let victim = portal
        .call(
            Method::POST,
            "/portal/api/demo-login",
            Some(&attacker),
            &[],
            Some(json!({ "username": "demo" })),
        )
        .await;
    assert_eq!(victim.status, StatusCode::OK, "{:?}", victim.body);
    let victims = session_token(&victim.headers);
    assert_ne!(victims, attacker);
    let riding = portal
        .call(Method::GET, "/portal/api/me", Some(&attacker), &[], None)
        .await;
    assert_eq!(riding.status, StatusCode::UNAUTHORIZED);
    let mine = portal
        .call(Method::GET, "/portal/api/me", Some(&victims), &[], None)
        .await;
    assert_eq!(mine.status, StatusCode::OK);
    portal.finish().await;
}
both!(a_token_planted_before_login_never_becomes_a_logged_in_one);

async fn web_sessions_end_idle_and_at_their_absolute_lifetime_on_the_clock(backend: Backend) {
    let clock = Clock::manual(hamn_broker::db::row::now());
    let portal = Portal::start_with(true, clock.clone(), backend).await;
    {
        let mut conn = portal.database.acquire().await.expect("conn");
        repo::access::set_web_session_settings(&mut conn, portal.ids.tenant, 60, 300)
            .await
            .expect("tenant lifetimes");
    }
    let me = |token: String| {
        let portal = &portal;
        async move {
            portal
                .call(Method::GET, "/portal/api/me", Some(&token), &[], None)
                .await
                .status
        }
    };
    // Idle: 59 s unused is fine, then 60 s unused ends it.
    let token = portal.login("demo").await;
    clock.advance(std::time::Duration::from_secs(59));
    assert_eq!(me(token.clone()).await, StatusCode::OK);
    clock.advance(std::time::Duration::from_secs(60));
    assert_eq!(me(token.clone()).await, StatusCode::UNAUTHORIZED);
    // Absolute: used every 50 s, it still ends 300 s after login.
    let token = portal.login("demo").await;
    for _ in 0..5 {
        clock.advance(std::time::Duration::from_secs(50));
        assert_eq!(me(token.clone()).await, StatusCode::OK);
    }
    clock.advance(std::time::Duration::from_secs(50));
    let ended = portal
        .call(Method::GET, "/portal/api/me", Some(&token), &[], None)
        .await;
    assert_eq!(ended.status, StatusCode::UNAUTHORIZED);
    assert_eq!(ended.body["reason"], "not_logged_in");
    portal.finish().await;
}
both!(web_sessions_end_idle_and_at_their_absolute_lifetime_on_the_clock);

async fn failed_logins_are_held_back_with_when_to_retry(backend: Backend) {
    let clock = Clock::manual(hamn_broker::db::row::now());
    let portal = Portal::start_with(true, clock.clone(), backend).await;
    let policy = hamn_broker::throttle::ThrottlePolicy::default();
    let attempt = |name: &'static str, lang: &'static str| {
        let portal = &portal;
        async move {
            portal
                .call(
                    Method::POST,
                    "/portal/api/demo-login",
                    None,
                    &[(header::ACCEPT_LANGUAGE, lang)],
                    Some(json!({ "username": name })),
                )
                .await
        }
    };
    for _ in 0..=policy.account_free {
        let refused = attempt("nobody", "sv").await;
        assert_eq!(
            refused.status,
            StatusCode::UNAUTHORIZED,
            "{:?}",
            refused.body
        );
    }
    let held = attempt("nobody", "sv").await;
    assert_eq!(
        held.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{:?}",
        held.body
    );
    assert_eq!(held.body["reason"], "throttled");
    assert_eq!(
        held.headers.get(header::RETRY_AFTER).map(|v| v.as_bytes()),
        Some(&b"2"[..])
    );
    assert_eq!(held.body["retry_after"], 2);
    assert_eq!(
        held.detail(),
        "För många misslyckade inloggningsförsök. Vänta 2 sekunder och försök sedan igen."
    );
    let english = attempt("Nobody", "en").await;
    assert_eq!(english.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        english
            .detail()
            .starts_with("Too many failed login attempts. Please wait 2 seconds")
    );
    // Another account from the same address is not held back.
    let other = attempt("demo", "sv").await;
    assert_eq!(other.status, StatusCode::OK, "{:?}", other.body);
    // After the hold, the account may try again; the next failure doubles it.
    clock.advance(std::time::Duration::from_secs(2));
    assert_eq!(
        attempt("nobody", "sv").await.status,
        StatusCode::UNAUTHORIZED
    );
    let doubled = attempt("nobody", "sv").await;
    assert_eq!(doubled.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(doubled.body["retry_after"], 4);
    let throttled = portal
        .audit("user.login")
        .await
        .into_iter()
        .filter(|e| e.detail.as_deref() == Some("method demo; refused: throttled"))
        .count();
    assert_eq!(throttled, 3);
    portal.finish().await;
}
both!(failed_logins_are_held_back_with_when_to_retry);

async fn the_admin_api_on_the_portal_origin_follows_the_users_role(backend: Backend) {
    let portal = Portal::start_with(true, Clock::system(), backend).await;
    let (other_tenant, other_user) = {
        let mut conn = portal.database.acquire().await.expect("conn");
        let t = repo::tenants::insert(
            &mut conn,
            &NewTenant {
                slug: "sundsvall".to_owned(),
                name: "Sundsvalls kommun".to_owned(),
            },
        )
        .await
        .expect("tenant");
        let u = repo::users::insert(
            &mut conn,
            t.id,
            &NewUser {
                name_id: "annan".to_owned(),
                hsa_id: None,
                display_name: "Annan".to_owned(),
            },
        )
        .await
        .expect("user");
        (t.id, u.id)
    };
    let nobody = portal
        .call(Method::GET, "/api/v1/tenants", None, &[], None)
        .await;
    assert_eq!(nobody.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        nobody
            .headers
            .get(header::CONTENT_TYPE)
            .map(|v| v.as_bytes()),
        Some(&b"application/problem+json"[..])
    );
    // A plain user may not.
    let token = portal.login("demo").await;
    let plain = portal
        .call(Method::GET, "/api/v1/tenants", Some(&token), &[], None)
        .await;
    assert_eq!(plain.status, StatusCode::FORBIDDEN, "{:?}", plain.body);
    let refusals = portal.audit("api.auth_refused").await;
    assert_eq!(refusals.len(), 1);
    assert_eq!(
        refusals[0].target_id.as_deref(),
        Some("GET /api/v1/tenants")
    );

    // A tenant-admin: their tenant only; other tenants' ids are 404.
    {
        let mut conn = portal.database.acquire().await.expect("conn");
        repo::access::set_direct_role(
            &mut conn,
            portal.ids.tenant,
            portal.ids.user,
            hamn_broker::model::Role::TenantAdmin,
        )
        .await
        .expect("role");
    }
    let me = portal
        .call(Method::GET, "/portal/api/me", Some(&token), &[], None)
        .await;
    assert_eq!(me.body["role"], "tenant_admin");
    let whoami = portal
        .call(Method::GET, "/api/v1/whoami", Some(&token), &[], None)
        .await;
    assert_eq!(whoami.status, StatusCode::OK, "{:?}", whoami.body);
    assert_eq!(whoami.body["tenant_id"], portal.ids.tenant.to_string());
    let tenants = portal
        .call(Method::GET, "/api/v1/tenants", Some(&token), &[], None)
        .await;
    let listed: Vec<&str> = tenants.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|t| t["slug"].as_str())
        .collect();
    assert_eq!(listed, ["demo"]);
    for path in [
        format!("/api/v1/tenants/{other_tenant}"),
        format!("/api/v1/users/{other_user}"),
        format!("/api/v1/tenants/{other_tenant}/access-review"),
    ] {
        let hidden = portal
            .call(Method::GET, &path, Some(&token), &[], None)
            .await;
        assert_eq!(hidden.status, StatusCode::NOT_FOUND, "{path}");
    }
    let patch_other = portal
        .call(
            Method::PATCH,
            &format!("/api/v1/users/{other_user}"),
            Some(&token),
            &[],
            Some(json!({ "display_name": "x" })),
        )
        .await;
    assert_eq!(patch_other.status, StatusCode::NOT_FOUND);
    let create_tenant = portal
        .call(
            Method::POST,
            "/api/v1/tenants",
            Some(&token),
            &[],
            Some(json!({ "slug": "x", "name": "X" })),
        )
        .await;
    assert_eq!(create_tenant.status, StatusCode::FORBIDDEN);
    // State changes need the CSRF token here too; with it they are audited as the user.
    let group_path = format!("/api/v1/tenants/{}/groups", portal.ids.tenant);
    let csrf_header = header::HeaderName::from_static(CSRF_HEADER);
    let forged = portal
        .call(
            Method::POST,
            &group_path,
            Some(&token),
            &[(csrf_header, "")],
            Some(json!({ "name": "Förfalskad" })),
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(forged.body["reason"], "csrf_token");
    let created = portal
        .call(
            Method::POST,
            &group_path,
            Some(&token),
            &[],
            Some(json!({ "name": "Admins" })),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let audited = portal.audit("group.create").await;
    let mine = audited
        .iter()
        .find(|e| e.target_id.as_deref() == created.body["id"].as_str())
        .expect("audited");
    assert_eq!(mine.actor_id, Some(portal.ids.user.to_string()));
    assert_eq!(mine.actor_kind, hamn_broker::model::ActorKind::User);
    // The access review, as CSV by Accept.
    let csv = portal
        .call(
            Method::GET,
            &format!("/api/v1/tenants/{}/access-review", portal.ids.tenant),
            Some(&token),
            &[(header::ACCEPT, "text/csv")],
            None,
        )
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.headers
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"text/csv"))
    );
    assert_eq!(portal.audit("access_review.export").await.len(), 1);

    // An operator by group: every tenant.
    {
        let mut conn = portal.database.acquire().await.expect("conn");
        let mut group = repo::groups::get(&mut conn, portal.ids.group)
            .await
            .expect("group")
            .expect("demo group");
        group.grants_role = Some(hamn_broker::model::Role::Operator);
        repo::groups::update(&mut conn, &group)
            .await
            .expect("grant");
    }
    let all = portal
        .call(Method::GET, "/api/v1/tenants", Some(&token), &[], None)
        .await;
    assert_eq!(
        all.body["items"].as_array().map(Vec::len),
        Some(2),
        "{:?}",
        all.body
    );
    let seen = portal
        .call(
            Method::GET,
            &format!("/api/v1/users/{other_user}"),
            Some(&token),
            &[],
            None,
        )
        .await;
    assert_eq!(seen.status, StatusCode::OK);
    portal.finish().await;
}
both!(the_admin_api_on_the_portal_origin_follows_the_users_role);

#[tokio::test]
async fn a_launch_over_a_limit_is_429_with_when_to_retry() {
    let portal = Portal::start(true).await;
    let token = portal.login("demo").await;
    {
        let mut conn = portal.database.pool().acquire().await.expect("conn");
        repo::load::put_tenant_limits(
            &mut conn,
            &hamn_broker::model::TenantLimits {
                max_sessions_per_user: Some(1),
                ..hamn_broker::model::TenantLimits::none(portal.ids.tenant)
            },
            time::OffsetDateTime::now_utc(),
        )
        .await
        .expect("limits");
    }
    let launch = |app: Uuid, lang: &'static str| {
        let token = token.clone();
        let portal = &portal;
        async move {
            portal
                .call(
                    Method::POST,
                    "/portal/api/launch",
                    Some(&token),
                    &[(header::ACCEPT_LANGUAGE, lang)],
                    Some(json!({ "app_id": app.to_string() })),
                )
                .await
        }
    };
    let first = launch(portal.ids.app_prod, "sv-SE").await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    for (lang, words) in [
        ("sv-SE", "Du har redan 1 sessioner öppna"),
        ("en", "You already have 1 sessions open"),
    ] {
        let second = launch(portal.ids.app_utb, lang).await;
        assert_eq!(
            second.status,
            StatusCode::TOO_MANY_REQUESTS,
            "{:?}",
            second.body
        );
        assert_eq!(second.body["reason"], "user_session_limit");
        assert!(second.detail().starts_with(words), "{}", second.detail());
        let after = hamn_broker::fair_use::SESSION_LIMIT_RETRY_AFTER_S.to_string();
        assert_eq!(
            second
                .headers
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok()),
            Some(after.as_str())
        );
        assert_eq!(second.body["retry_after"].to_string(), after);
    }
    let refusals = portal.audit("session.launch").await;
    assert!(
        refusals.iter().any(|e| e.outcome == AuditOutcome::Refused
            && e.detail
                .as_deref()
                .is_some_and(|d| d.ends_with("refused: user_session_limit"))),
        "{refusals:?}"
    );
}

/// From a service window's start, launches into its environment are refused with 503 and
/// a sentence naming when the service is back (Swedish by default); the other environment
/// still launches.
#[tokio::test]
async fn a_launch_in_a_service_window_is_refused_with_when_the_service_is_back() {
    let portal = Portal::start(true).await;
    let token = portal.login("demo").await;
    let now = time::OffsetDateTime::now_utc();
    let new = hamn_broker::model::NewServiceWindow {
        starts_at: Some(now - time::Duration::minutes(1)),
        ends_at: Some(now + time::Duration::hours(2)),
        recurrence: None,
        title: "Akut uppgradering".to_owned(),
        description: String::new(),
        emergency: true,
        logoff_after_minutes: 0,
    };
    let window = {
        let mut conn = portal.database.pool().acquire().await.expect("conn");
        let timing = new.validate(now).expect("an emergency may start now");
        repo::service_windows::insert(&mut conn, portal.ids.tenant, portal.ids.utb, &new, &timing)
            .await
            .expect("window")
    };
    let expected = LaunchError::ServiceWindow {
        window: window.id,
        until: window.ends_at,
    };
    for (lang, sentence) in [
        ("sv-SE", expected.message_sv()),
        ("en", expected.message_en()),
    ] {
        let r = portal
            .call(
                Method::POST,
                "/portal/api/launch",
                Some(&token),
                &[(header::ACCEPT_LANGUAGE, lang)],
                Some(json!({ "app_id": portal.ids.app_utb.to_string() })),
            )
            .await;
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{:?}", r.body);
        assert_eq!(r.body["reason"], "service_window");
        assert_eq!(r.detail(), sentence);
    }
    assert!(
        expected
            .message_sv()
            .starts_with("Tjänsten har servicefönster till kl. "),
        "{}",
        expected.message_sv()
    );
    let prod = portal
        .call(
            Method::POST,
            "/portal/api/launch",
            Some(&token),
            &[],
            Some(json!({ "app_id": portal.ids.app_prod.to_string() })),
        )
        .await;
    assert_eq!(prod.status, StatusCode::OK, "PROD is open: {:?}", prod.body);
    let refusals = portal.audit("session.launch").await;
    assert!(
        refusals.iter().any(|e| e.outcome == AuditOutcome::Refused
            && e.detail
                .as_deref()
                .is_some_and(|d| d.contains("service_window"))),
        "{refusals:?}"
    );
}

/// "Mina sessioner": the user sees their live sessions with app and environment and logs
/// one off (row ended, the gateway's Logoff and the host agent's logoff queued, audited);
/// a starting session is 409, another user's session is 404, and CSRF still applies.
#[tokio::test]
async fn a_user_lists_their_sessions_and_logs_one_off() {
    let portal = Portal::start(true).await;
    let token = portal.login("demo").await;
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
    let id = launched.body["session_id"]
        .as_str()
        .expect("session_id")
        .to_owned();

    let mine = portal
        .call(Method::GET, "/portal/api/sessions", Some(&token), &[], None)
        .await;
    assert_eq!(mine.status, StatusCode::OK, "{:?}", mine.body);
    let listed = mine.body["sessions"].as_array().expect("sessions");
    assert_eq!(listed.len(), 1, "{:?}", mine.body);
    assert_eq!(listed[0]["id"], id.as_str());
    assert_eq!(listed[0]["state"], "launching");
    assert_eq!(listed[0]["environment"], "PROD");
    assert!(
        listed[0]["app_name"]
            .as_str()
            .is_some_and(|n| !n.is_empty())
    );

    let logoff = format!("/portal/api/sessions/{id}/logoff");
    let early = portal
        .call(Method::POST, &logoff, Some(&token), &[], Some(json!({})))
        .await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{:?}", early.body);
    assert_eq!(early.body["reason"], "session_launching");

    sqlx::query("UPDATE sessions SET state = 'active', started_at = updated_at WHERE id = $1")
        .bind(&id)
        .execute(portal.database.pool())
        .await
        .expect("session active");
    // Without the session's CSRF token the logoff is refused.
    let forged = portal
        .call(
            Method::POST,
            &logoff,
            Some(&token),
            &[(header::HeaderName::from_static(CSRF_HEADER), "")],
            Some(json!({})),
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{:?}", forged.body);

    // Another user's session does not exist for this one.
    let other_session = portal
        .colleague_session(Uuid::parse_str(&id).expect("id"))
        .await;
    for path in [
        format!("/portal/api/sessions/{}/logoff", other_session),
        format!("/portal/api/sessions/{}/logoff", Uuid::now_v7()),
        "/portal/api/sessions/not-an-id/logoff".to_owned(),
    ] {
        let hidden = portal
            .call(Method::POST, &path, Some(&token), &[], Some(json!({})))
            .await;
        assert_eq!(
            hidden.status,
            StatusCode::NOT_FOUND,
            "{path}: {:?}",
            hidden.body
        );
        assert_eq!(hidden.body["reason"], "unknown_session");
    }

    let done = portal
        .call(Method::POST, &logoff, Some(&token), &[], Some(json!({})))
        .await;
    assert_eq!(done.status, StatusCode::NO_CONTENT, "{:?}", done.body);
    let (state, host_commands): (String, i64) = {
        let state = sqlx::query_scalar("SELECT state FROM sessions WHERE id = $1")
            .bind(&id)
            .fetch_one(portal.database.pool())
            .await
            .expect("state");
        let queued = sqlx::query_scalar(
            "SELECT COUNT(*) FROM host_commands WHERE session_id = $1 AND kind = 'logoff'",
        )
        .bind(&id)
        .fetch_one(portal.database.pool())
        .await
        .expect("host commands");
        (state, queued)
    };
    assert_eq!((state.as_str(), host_commands), ("ended", 1));
    let audited = portal.audit("session.user_logoff").await;
    assert_eq!(audited.len(), 1, "{audited:?}");
    assert_eq!(audited[0].target_id.as_deref(), Some(id.as_str()));
    assert_eq!(audited[0].actor_id, Some(portal.ids.user.to_string()));
    let after = portal
        .call(Method::GET, "/portal/api/sessions", Some(&token), &[], None)
        .await;
    assert_eq!(after.body["sessions"], json!([]));
    // The colleague's session was not touched.
    let untouched: String = sqlx::query_scalar("SELECT state FROM sessions WHERE id = $1")
        .bind(other_session.to_string())
        .fetch_one(portal.database.pool())
        .await
        .expect("state");
    assert_eq!(untouched, "launching");
}
