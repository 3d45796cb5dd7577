//! The demo IdP's own guard in the gateway: [`hamn_gateway::run`] refuses to start it
//! without the demo login (whatever the configuration layer let through), before anything
//! listens or is read. The whole login through it runs end to end in the root crate's
//! `e2e::demo_idp` (under `hamn up`, with curl and Chromium).

use hamn_broker::db::DatabaseConfig;
use hamn_gateway::{DemoIdpConfig, GatewayConfig, GatewayError};
use tokio_util::sync::CancellationToken;

fn config(demo_login: bool) -> GatewayConfig {
    let dir = std::env::temp_dir().join("hamn-demo-idp-guard-does-not-exist");
    GatewayConfig {
        listen: "127.0.0.1:0".parse().expect("addr"),
        public_url: "https://localhost:1".into(),
        redirect_listen: None,
        tls: hamn_certs::server::ServerCertFiles::new(dir.join("s.crt"), dir.join("s.key")),
        database: DatabaseConfig {
            url: "sqlite::memory:".into(),
            max_connections: 1,
        },
        data_dir: dir.clone(),
        secrets_key: None,
        session: hamn_gateway::session::SessionConfig::default(),
        ticket_issuer: None,
        demo_login,
        siths: None,
        web_sessions: hamn_broker::WebSessionPolicy::default(),
        launch_min_loa: None,
        saml: None,
        demo_idp: Some(DemoIdpConfig {
            key: dir.join("idp.key"),
            cert: dir.join("idp.crt"),
        }),
        rdp_signing: None,
        print_data_dir: std::path::PathBuf::from("/nonexistent/prints"),
        print_public_url: None,
        availability: None,
    }
}

#[tokio::test]
async fn the_demo_idp_refuses_to_start_without_the_demo_login() {
    let result = hamn_gateway::run(config(false), CancellationToken::new()).await;
    assert!(
        matches!(result, Err(GatewayError::DemoIdpOutsideDemo)),
        "{result:?}"
    );
    // With the demo login the guard passes and the run fails later, on the missing files.
    let result = hamn_gateway::run(config(true), CancellationToken::new()).await;
    assert!(
        !matches!(result, Err(GatewayError::DemoIdpOutsideDemo)) && result.is_err(),
        "{result:?}"
    );
}
