//! Real mutual TLS: the broker served by `hamn_certs::serve`, called with the Rust
//! `AdminClient` and with curl, and `run` end to end.

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::http::StatusCode;
use hamn_broker::{AdminClient, BrokerConfig, DatabaseConfig};
use hamn_certs::ClientCertVerifier;
use hamn_certs::server::server_config_requesting_client_cert;
use tokio_util::sync::CancellationToken;

use crate::support::{Backend, OPERATOR_CN, TestDb, certs};

struct Served {
    addr: SocketAddr,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    t: TestDb,
}

async fn serve() -> Served {
    let c = certs();
    let t = TestDb::new(Backend::Sqlite).await;
    let api_ca = c.pki.paths.api_ca_cert();
    let verifier = ClientCertVerifier::from_ca_pem_file(&api_ca).unwrap();
    let state = hamn_broker::AdminState::new(t.db.clone(), verifier, vec![OPERATOR_CN.into()]);
    let tls = server_config_requesting_client_cert(&c.pki.paths.server_files(), &api_ca).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(hamn_certs::serve(
        listener,
        tls,
        hamn_broker::router(state),
        shutdown.clone(),
    ));
    Served {
        addr,
        shutdown,
        task,
        t,
    }
}

impl Served {
    fn url(&self) -> String {
        format!("https://localhost:{}", self.addr.port())
    }

    async fn stop(self) {
        self.shutdown.cancel();
        self.task.await.unwrap().unwrap();
        self.t.finish().await;
    }
}

fn pem(name: &str) -> (PathBuf, PathBuf) {
    let d = &certs().pem_dir;
    (d.join(format!("{name}.crt")), d.join(format!("{name}.key")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_client_over_mutual_tls() {
    let s = serve().await;
    let c = certs();
    let ca = c.pki.paths.ca_cert();
    let op = AdminClient::new(
        &s.url(),
        &ca,
        &c.pki.paths.api_operator_cert(),
        &c.pki.paths.api_operator_key(),
    )
    .unwrap();
    let r = op.get("/api/v1/whoami").await.unwrap();
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.json);
    assert_eq!(r.json["subject_cn"], OPERATOR_CN);
    assert!(
        r.json["source_address"]
            .as_str()
            .is_some_and(|a| a.starts_with("127.0.0.1:"))
    );
    // keep-alive: several requests on the one client, creating and reading back
    let t = op
        .post(
            "/api/v1/tenants",
            serde_json::json!({"slug": "tls", "name": "TLS"}),
        )
        .await
        .unwrap();
    assert_eq!(t.status, StatusCode::CREATED);
    let id = t.json["id"].as_str().unwrap();
    let p = op
        .patch(
            &format!("/api/v1/tenants/{id}"),
            serde_json::json!({"name": "TLS 2"}),
        )
        .await
        .unwrap();
    assert_eq!(p.json["name"], "TLS 2");
    let d = op.delete(&format!("/api/v1/tenants/{id}")).await.unwrap();
    assert_eq!(
        (d.status, d.json.clone()),
        (StatusCode::NO_CONTENT, serde_json::Value::Null)
    );

    for (name, want) in [
        ("no-eku", StatusCode::FORBIDDEN),
        ("other-ca", StatusCode::UNAUTHORIZED),
        ("expired", StatusCode::UNAUTHORIZED),
    ] {
        let (cert, key) = pem(name);
        let client = AdminClient::new(&s.url(), &ca, &cert, &key).unwrap();
        let r = client.get("/api/v1/tenants").await.unwrap();
        assert_eq!(r.status, want, "{name}: {:#}", r.json);
        assert_eq!(r.json["status"], want.as_u16());
    }
    let anon = AdminClient::without_client_cert(&s.url(), &ca).unwrap();
    let r = anon.get("/api/v1/tenants").await.unwrap();
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = anon.get("/healthz").await;
    assert!(
        matches!(
            r,
            Err(hamn_broker::ClientError::NotJson { status: 200, .. })
        ),
        "healthz answers plain text: {r:?}"
    );
    s.stop().await;
}

fn curl(args: &[&str]) -> String {
    let out = std::process::Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("curl is required for this test ({e}); ./scripts/test installs it")
        });
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_over_mutual_tls() {
    let s = serve().await;
    let c = certs();
    let ca = c.pki.paths.ca_cert().display().to_string();
    let url = format!("{}/api/v1/tenants", s.url());
    let op = (
        c.pki.paths.api_operator_cert().display().to_string(),
        c.pki.paths.api_operator_key().display().to_string(),
    );
    let url2 = url.clone();
    let ca2 = ca.clone();
    let code = tokio::task::spawn_blocking(move || {
        curl(&["--cacert", &ca2, "--cert", &op.0, "--key", &op.1, &url2])
    })
    .await
    .unwrap();
    assert_eq!(code, "200");
    for (name, want) in [("no-eku", "403"), ("other-ca", "401"), ("expired", "401")] {
        let (cert, key) = pem(name);
        let (ca, url) = (ca.clone(), url.clone());
        let code = tokio::task::spawn_blocking(move || {
            curl(&[
                "--cacert",
                &ca,
                "--cert",
                &cert.display().to_string(),
                "--key",
                &key.display().to_string(),
                &url,
            ])
        })
        .await
        .unwrap();
        assert_eq!(code, want, "{name}");
    }
    let (ca3, url3) = (ca.clone(), url.clone());
    let code = tokio::task::spawn_blocking(move || curl(&["--cacert", &ca3, &url3]))
        .await
        .unwrap();
    assert_eq!(code, "401", "no certificate");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_serves_until_cancelled() {
    let c = certs();
    let dir = tempfile::tempdir().unwrap();
    // A free port: bind, note it, release it for `run`.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = BrokerConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], port)),
        api_ca: c.pki.paths.api_ca_cert(),
        operator_cns: vec![OPERATOR_CN.into()],
        migrate_on_start: true,
        database: DatabaseConfig {
            url: format!("sqlite://{}?mode=rwc", dir.path().join("b.db").display()),
            max_connections: 4,
        },
        tls: c.pki.paths.server_files(),
        health: None,
        secrets_key: None,
        service_windows: Default::default(),
        print_public_url: None,
        print_data_dir: None,
        audit_retention: None,
    };
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(hamn_broker::run(config, shutdown.clone()));
    let client = AdminClient::new(
        &format!("https://localhost:{port}"),
        &c.pki.paths.ca_cert(),
        &c.pki.paths.api_operator_cert(),
        &c.pki.paths.api_operator_key(),
    )
    .unwrap();
    let mut ready = None;
    for _ in 0..100 {
        if let Err(hamn_broker::ClientError::NotJson { status, .. }) = client.get("/readyz").await {
            ready = Some(status);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(ready, Some(200), "readyz over TLS after migrations");
    let r = client.get("/api/v1/tenants").await.unwrap();
    assert_eq!(r.status, StatusCode::OK);
    shutdown.cancel();
    task.await.unwrap().expect("run returns Ok after shutdown");
}

#[test]
fn broker_config_defaults() {
    let c: BrokerConfig = toml_like(
        r#"{"api_ca": "/x/api-ca.crt", "database": {"url": "sqlite://x"},
            "tls": {"cert": "/x/s.crt", "key": "/x/s.key"}}"#,
    );
    assert_eq!(c.listen, "127.0.0.1:8444".parse().unwrap());
    assert!(c.operator_cns.is_empty() && c.migrate_on_start);
    let bad = serde_json::from_str::<BrokerConfig>(r#"{"api_ca": "/x", "listne": "1.2.3.4:1"}"#)
        .unwrap_err();
    assert!(bad.to_string().contains("unknown field `listne`"), "{bad}");
    let d = serde_json::from_str::<DatabaseConfig>(r#"{"url": "sqlite://x"}"#).unwrap();
    assert_eq!(d.max_connections, 10);
}

fn toml_like<T: serde::de::DeserializeOwned>(json: &str) -> T {
    serde_json::from_str(json).unwrap()
}
