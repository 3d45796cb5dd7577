//! Test harness: per-test databases on both backends, a shared dev PKI, and a router
//! caller that presents a chosen client certificate.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use hamn_broker::api::AdminState;
use hamn_broker::db::{Database, DatabaseConfig};
use hamn_certs::pki::{ClientCertOptions, ClientEku, generate_ca, issue_client_cert};
use hamn_certs::{ClientCertVerifier, DevPki, PeerCertificates};
use http_body_util::BodyExt;
use rustls_pki_types::CertificateDer;
use serde_json::Value;
use tower::ServiceExt;

pub const OPERATOR_CN: &str = "hamn-operator";
pub const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs an async test body once per backend: `both!(name);` expects `async fn name(Backend)`.
#[macro_export]
macro_rules! both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::support::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::support::Backend::Postgres).await
            }
        }
    };
}

/// A database of its own for one test.
pub struct TestDb {
    pub db: Database,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin: Database, schema: String },
}

pub fn pg_base_url() -> String {
    std::env::var("HAMN_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_PG_URL.to_owned())
}

impl TestDb {
    /// A fresh, unmigrated database.
    pub async fn empty(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("broker.db").display()
                );
                let config = DatabaseConfig {
                    url,
                    max_connections: 5,
                };
                let db = Database::connect(&config).await.expect("open SQLite");
                Self {
                    db,
                    cleanup: Cleanup::Sqlite(dir),
                }
            }
            Backend::Postgres => {
                let base = pg_base_url();
                let admin_cfg = DatabaseConfig {
                    url: base.clone(),
                    max_connections: 1,
                };
                let admin = Database::connect(&admin_cfg).await.unwrap_or_else(|e| {
                    panic!(
                        "PostgreSQL is required for the postgres variant of this test and \
                         is not reachable at {base} ({e}); set HAMN_TEST_DATABASE_URL or \
                         run ./scripts/test, which provides one"
                    )
                });
                let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                    .execute(admin.pool())
                    .await
                    .expect("create test schema");
                let sep = if base.contains('?') { '&' } else { '?' };
                let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
                let config = DatabaseConfig {
                    url,
                    max_connections: 5,
                };
                let db = Database::connect(&config)
                    .await
                    .expect("connect to test schema");
                Self {
                    db,
                    cleanup: Cleanup::Postgres { admin, schema },
                }
            }
        }
    }

    /// A fresh, migrated database.
    pub async fn new(backend: Backend) -> Self {
        let t = Self::empty(backend).await;
        t.db.migrate().await.expect("migrate");
        t
    }

    /// Drops the PostgreSQL schema (SQLite's temp dir goes with the value).
    pub async fn finish(self) {
        self.db.close().await;
        if let Cleanup::Postgres { admin, schema } = self.cleanup {
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                .execute(admin.pool())
                .await
                .expect("drop test schema");
            admin.close().await;
        }
    }
}

/// Client certificates for the tests, issued once per test binary.
pub struct Certs {
    pub pki: DevPki,
    pub operator: Vec<CertificateDer<'static>>,
    pub no_eku: Vec<CertificateDer<'static>>,
    pub other_ca: Vec<CertificateDer<'static>>,
    pub expired: Vec<CertificateDer<'static>>,
    /// Issued by the API CA for `pem_dir/<name>.crt|.key`.
    pub pem_dir: PathBuf,
    _dir: tempfile::TempDir,
}

fn der(pem: &str) -> Vec<CertificateDer<'static>> {
    rustls_pemfile::certs(&mut pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .expect("PEM")
}

pub fn certs() -> &'static Certs {
    static CERTS: OnceLock<Certs> = OnceLock::new();
    CERTS.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let pki = DevPki::init(&dir.path().join("certs")).expect("dev PKI");
        let ca = std::fs::read_to_string(pki.paths.api_ca_cert()).expect("api ca");
        let ca_key = std::fs::read_to_string(pki.paths.api_ca_key()).expect("api ca key");
        let operator =
            der(&std::fs::read_to_string(pki.paths.api_operator_cert()).expect("operator cert"));
        let pem_dir = dir.path().join("clients");
        std::fs::create_dir_all(&pem_dir).expect("mkdir");
        let write = |name: &str, c: &hamn_certs::pki::IssuedCert| {
            std::fs::write(pem_dir.join(format!("{name}.crt")), &c.cert_pem).expect("write");
            std::fs::write(pem_dir.join(format!("{name}.key")), &c.key_pem).expect("write");
        };
        let no_eku = issue_client_cert(
            &ca,
            &ca_key,
            "no-eku-client",
            &ClientCertOptions {
                extended_key_usage: ClientEku::EmailProtectionOnly,
                ..Default::default()
            },
        )
        .expect("issue");
        write("no-eku", &no_eku);
        let foreign = generate_ca("Foreign CA").expect("ca");
        let other = issue_client_cert(
            &foreign.cert_pem,
            &foreign.key_pem,
            OPERATOR_CN,
            &ClientCertOptions::default(),
        )
        .expect("issue");
        write("other-ca", &other);
        let long_ago = SystemTime::now() - Duration::from_secs(400 * 86400);
        let expired = issue_client_cert(
            &ca,
            &ca_key,
            OPERATOR_CN,
            &ClientCertOptions {
                validity: Some((long_ago, long_ago + Duration::from_secs(30 * 86400))),
                ..Default::default()
            },
        )
        .expect("issue");
        write("expired", &expired);
        Certs {
            operator,
            no_eku: der(&no_eku.cert_pem),
            other_ca: der(&other.cert_pem),
            expired: der(&expired.cert_pem),
            pki,
            pem_dir,
            _dir: dir,
        }
    })
}

/// A client certificate from the API CA for `cn`, as DER chain, also written as PEM files
/// `pem_dir/<cn>.crt|.key`.
pub fn client_cert(cn: &str) -> Vec<CertificateDer<'static>> {
    let c = certs();
    let ca = std::fs::read_to_string(c.pki.paths.api_ca_cert()).expect("api ca");
    let key = std::fs::read_to_string(c.pki.paths.api_ca_key()).expect("api ca key");
    let issued = issue_client_cert(&ca, &key, cn, &ClientCertOptions::default()).expect("issue");
    std::fs::write(c.pem_dir.join(format!("{cn}.crt")), &issued.cert_pem).expect("write");
    std::fs::write(c.pem_dir.join(format!("{cn}.key")), &issued.key_pem).expect("write");
    der(&issued.cert_pem)
}

/// A database plus the admin router on it.
pub struct Harness {
    pub t: TestDb,
    pub state: AdminState,
    pub operator: Vec<CertificateDer<'static>>,
}

/// A response from the router.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub content_type: String,
    pub json: Value,
}

pub const PEER: &str = "192.0.2.7:40000";

impl Harness {
    pub async fn new(backend: Backend) -> Self {
        let t = TestDb::new(backend).await;
        let c = certs();
        let verifier =
            ClientCertVerifier::from_ca_pem_file(&c.pki.paths.api_ca_cert()).expect("verifier");
        let state = AdminState::new(t.db.clone(), verifier, vec![OPERATOR_CN.to_owned()]);
        Self {
            t,
            state,
            operator: c.operator.clone(),
        }
    }

    /// A harness whose admin API seals host credentials with `key`.
    pub async fn with_secrets(backend: Backend, key: hamn_broker::SecretsKey) -> Self {
        let t = TestDb::new(backend).await;
        let c = certs();
        let verifier =
            ClientCertVerifier::from_ca_pem_file(&c.pki.paths.api_ca_cert()).expect("verifier");
        let state = AdminState::with_secrets_key(
            t.db.clone(),
            verifier,
            vec![OPERATOR_CN.to_owned()],
            Some(key),
        );
        Self {
            t,
            state,
            operator: c.operator.clone(),
        }
    }

    pub fn db(&self) -> &Database {
        &self.t.db
    }

    pub async fn finish(self) {
        self.t.finish().await;
    }

    /// Sends a request presenting `cert` (None: no certificate) with a raw body.
    pub async fn raw(
        &self,
        cert: Option<&[CertificateDer<'static>]>,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Resp {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(ct) = content_type {
            req = req.header(header::CONTENT_TYPE, ct);
        }
        let mut req = req.body(Body::from(body)).expect("request");
        let chain = cert.map(<[_]>::to_vec).unwrap_or_default();
        req.extensions_mut()
            .insert(PeerCertificates(Arc::new(chain)));
        let peer: SocketAddr = PEER.parse().expect("addr");
        req.extensions_mut().insert(ConnectInfo(peer));
        let resp = hamn_broker::router(self.state.clone())
            .oneshot(req)
            .await
            .expect("infallible");
        let status = resp.status();
        let content_type = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        let json = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Resp {
            status,
            content_type,
            json,
        }
    }

    /// Sends JSON as `cert`.
    pub async fn as_(
        &self,
        cert: &[CertificateDer<'static>],
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Resp {
        let (ct, bytes) = match body {
            Some(v) => (Some("application/json"), v.to_string().into_bytes()),
            None => (None, Vec::new()),
        };
        self.raw(Some(cert), method, path, ct, bytes).await
    }

    /// Sends JSON as the operator.
    pub async fn op(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        let cert = self.operator.clone();
        self.as_(&cert, method, path, body).await
    }

    /// POSTs as the operator, expecting 201, and returns the new resource's id.
    pub async fn create(&self, path: &str, body: Value) -> String {
        let r = self.op(Method::POST, path, Some(body)).await;
        assert_eq!(r.status, StatusCode::CREATED, "POST {path}: {:#}", r.json);
        id_of(&r.json)
    }

    /// A tenant with PROD and UTB, a shared pool and a program app in PROD.
    pub async fn tenant_with_app(&self, slug: &str) -> Fixture {
        let tenant = self
            .create(
                "/api/v1/tenants",
                serde_json::json!({"slug": slug, "name": format!("Kommun {slug}")}),
            )
            .await;
        let prod = self
            .create(
                &format!("/api/v1/tenants/{tenant}/environments"),
                serde_json::json!({"kind": "PROD"}),
            )
            .await;
        let pool = self
            .create(
                "/api/v1/pools",
                serde_json::json!({"name": format!("pool-{slug}")}),
            )
            .await;
        let app = self
            .create(
                &format!("/api/v1/tenants/{tenant}/apps"),
                serde_json::json!({"environment_id": prod, "pool_id": pool, "display_name": "Procapita",
                                   "kind": "program", "program": "||procapita"}),
            )
            .await;
        Fixture {
            tenant,
            prod,
            pool,
            app,
        }
    }

    /// Audit events matching `query` (e.g. `action=tenant.create`), as the operator.
    pub async fn audit(&self, query: &str) -> Vec<Value> {
        let r = self
            .op(Method::GET, &format!("/api/v1/audit?{query}"), None)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:#}", r.json);
        r.json["items"].as_array().cloned().unwrap_or_default()
    }
}

pub struct Fixture {
    pub tenant: String,
    pub prod: String,
    pub pool: String,
    pub app: String,
}

pub fn id_of(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v:#}"))
        .to_owned()
}

/// The `field` of every entry of a problem's `errors`.
pub fn fields(v: &Value) -> Vec<String> {
    v["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
