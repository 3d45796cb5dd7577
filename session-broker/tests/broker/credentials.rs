//! Host credentials per pool: the password is sealed at rest, write-only in the API,
//! absent from audit events, opened only by `resolve` with the right key; the demo seed
//! stores the demo host's credentials idempotently.

use axum::http::{Method, StatusCode};
use base64::Engine;
use hamn_broker::credentials::{self, CredentialsError};
use hamn_broker::model::HostCertPolicy;
use hamn_broker::seed::{self, DemoSeed};
use hamn_broker::{Secret, SecretsConfig, SecretsKey, load_or_create_secrets_key};
use serde_json::json;

use crate::both;
use crate::support::{Backend, Harness, client_cert};

const PASSWORD: &str = "Sommar-2026!hemligt";

async fn password_is_sealed_and_write_only(b: Backend) {
    let key = SecretsKey::generate().unwrap();
    let h = Harness::with_secrets(b, key.clone()).await;
    let f = h.tenant_with_app("kred").await;
    let path = format!("/api/v1/pools/{}/credentials", f.pool);

    let r = h.op(Method::GET, &path, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "none yet");
    let r = h
        .op(
            Method::PUT,
            &path,
            Some(json!({"username": "svc-hamn", "domain": "KOMMUN", "password": PASSWORD})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.json);
    assert_eq!(r.json["username"], "svc-hamn");
    assert_eq!(r.json["domain"], "KOMMUN");
    assert_eq!(r.json["key_id"], key.key_id());
    assert!(!r.json.to_string().contains(PASSWORD));
    assert!(r.json.get("password").is_none());
    let got = h.op(Method::GET, &path, None).await;
    assert_eq!(got.status, StatusCode::OK);
    assert!(
        !got.json.to_string().contains(PASSWORD),
        "GET never returns it"
    );

    // At rest: neither the text nor its base64 decoding holds the password.
    let row: (String, String) = sqlx::query_as(
        "SELECT secret_ciphertext, secret_nonce FROM pool_credentials WHERE pool_id = $1",
    )
    .bind(&f.pool)
    .fetch_one(h.db().pool())
    .await
    .unwrap();
    assert!(!row.0.contains(PASSWORD));
    let raw = base64::engine::general_purpose::STANDARD
        .decode(&row.0)
        .unwrap();
    assert!(
        !raw.windows(PASSWORD.len())
            .any(|w| w == PASSWORD.as_bytes())
    );

    let pool_id = f.pool.parse().unwrap();
    let creds = credentials::resolve(h.db(), &key, pool_id).await.unwrap();
    assert_eq!(
        (
            creds.username.as_str(),
            creds.domain.as_deref(),
            creds.password.expose()
        ),
        ("svc-hamn", Some("KOMMUN"), PASSWORD)
    );
    assert!(!format!("{creds:?}").contains(PASSWORD), "Debug redacts");
    let wrong = SecretsKey::generate().unwrap();
    let e = credentials::resolve(h.db(), &wrong, pool_id)
        .await
        .unwrap_err();
    assert!(
        matches!(e, CredentialsError::Undecryptable { ref stored_key_id, .. } if stored_key_id == key.key_id()),
        "{e:?}"
    );
    let e = credentials::resolve(h.db(), &key, uuid::Uuid::now_v7())
        .await
        .unwrap_err();
    assert!(matches!(e, CredentialsError::NotConfigured(_)), "{e:?}");

    // Replacing is audited with before/after, never the password.
    let r = h
        .op(
            Method::PUT,
            &path,
            Some(json!({"username": "svc-hamn2", "password": "nytt-lösen"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let events = h.audit("action=pool.credentials_set").await;
    assert_eq!(events.len(), 2);
    for e in &events {
        let text = e.to_string();
        assert!(
            !text.contains(PASSWORD) && !text.contains("nytt-lösen"),
            "{text}"
        );
    }
    assert_eq!(events[0]["before"]["username"], "svc-hamn");
    assert_eq!(events[0]["after"]["username"], "svc-hamn2");
    assert_eq!(
        credentials::resolve(h.db(), &key, pool_id)
            .await
            .unwrap()
            .password
            .expose(),
        "nytt-lösen"
    );

    // Validation, scope, unknown pool, delete.
    let r = h
        .op(
            Method::PUT,
            &path,
            Some(json!({"username": "", "password": ""})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = crate::support::fields(&r.json);
    assert!(fields.contains(&"username".to_owned()) && fields.contains(&"password".to_owned()));
    let r = h
        .op(
            Method::PUT,
            &path,
            Some(json!({"username": "a", "password": "b", "extra": 1})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    h.create(
        "/api/v1/api-clients",
        json!({"name": "Kred", "subject_cn": "kred-client", "scope": "tenant", "tenant_id": f.tenant}),
    )
    .await;
    let tenant = client_cert("kred-client");
    let r = h.as_(&tenant, Method::GET, &path, None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = h
        .as_(
            &tenant,
            Method::PUT,
            &path,
            Some(json!({"username": "x", "password": "y"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let nowhere = format!("/api/v1/pools/{}/credentials", uuid::Uuid::now_v7());
    let r = h
        .op(
            Method::PUT,
            &nowhere,
            Some(json!({"username": "x", "password": "y"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = h.op(Method::DELETE, &path, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        h.op(Method::GET, &path, None).await.status,
        StatusCode::NOT_FOUND
    );
    h.finish().await;
}
both!(password_is_sealed_and_write_only);

async fn without_a_key_credentials_cannot_be_set(b: Backend) {
    let h = Harness::new(b).await;
    let f = h.tenant_with_app("nyckellos").await;
    let r = h
        .op(
            Method::PUT,
            &format!("/api/v1/pools/{}/credentials", f.pool),
            Some(json!({"username": "x", "password": "y"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.json["detail"].as_str().unwrap().contains("secrets_key"));
    h.finish().await;
}
both!(without_a_key_credentials_cannot_be_set);

async fn demo_seed_stores_credentials_idempotently(b: Backend) {
    let key = SecretsKey::generate().unwrap();
    let h = Harness::new(b).await;
    let with_key = DemoSeed {
        secrets_key: Some(key.clone()),
        ..DemoSeed::default()
    };
    assert!(!format!("{with_key:?}").contains("Hamn-demo-2026"));
    let ids = seed::demo(h.db(), with_key.clone()).await.unwrap();
    let events = h.audit("").await.len();
    assert_eq!(
        events, 22,
        "the 16 records, 2 admin roles, 3 example service windows and the credentials"
    );
    let creds = credentials::resolve(h.db(), &key, ids.pool).await.unwrap();
    assert_eq!(
        (creds.username.as_str(), creds.password.expose()),
        ("demo", "Hamn-demo-2026")
    );
    let mut conn = h.db().pool().acquire().await.unwrap();
    let pool = hamn_broker::repo::pools::get(&mut conn, ids.pool)
        .await
        .unwrap()
        .unwrap();
    drop(conn);
    assert_eq!(pool.host_cert_policy, HostCertPolicy::Ignore);

    assert_eq!(seed::demo(h.db(), with_key.clone()).await.unwrap(), ids);
    assert_eq!(
        h.audit("").await.len(),
        events,
        "second run changes nothing"
    );

    // A changed configured password replaces the stored one.
    let changed = DemoSeed {
        host_password: Secret::new("Annat-lösen-1"),
        ..with_key
    };
    seed::demo(h.db(), changed).await.unwrap();
    assert_eq!(h.audit("").await.len(), events + 1);
    let creds = credentials::resolve(h.db(), &key, ids.pool).await.unwrap();
    assert_eq!(creds.password.expose(), "Annat-lösen-1");
    h.finish().await;
}
both!(demo_seed_stores_credentials_idempotently);

#[test]
fn secrets_key_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let k = load_or_create_secrets_key(dir.path()).unwrap();
    assert_eq!(load_or_create_secrets_key(dir.path()).unwrap(), k, "stable");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("secrets_key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let from_file = SecretsConfig {
        secrets_key: None,
        secrets_key_file: Some("secrets_key".into()),
    };
    assert_eq!(from_file.load(dir.path()).unwrap(), Some(k.clone()));
    let inline = SecretsConfig {
        secrets_key: Some(k.to_base64()),
        secrets_key_file: None,
    };
    assert_eq!(inline.load(dir.path()).unwrap(), Some(k.clone()));
    assert!(!format!("{inline:?}").contains(&k.to_base64()));
    assert_eq!(SecretsConfig::default().load(dir.path()).unwrap(), None);
    let short = SecretsConfig {
        secrets_key: Some("c2hvcnQ=".into()),
        secrets_key_file: None,
    };
    let e = short.load(dir.path()).unwrap_err().to_string();
    assert!(
        e.starts_with("broker.secrets_key: ") && e.contains("32 bytes"),
        "{e}"
    );
    let both = SecretsConfig {
        secrets_key: Some(k.to_base64()),
        secrets_key_file: Some("secrets_key".into()),
    };
    assert!(both.load(dir.path()).is_err());
}
