//! `.rdp` files for native clients through the portal API (`POST /portal/api/apps/{id}/rdp`):
//! the file names the placed host and this gateway, carries a reference the broker spends
//! exactly once, asks for what the pool's policy allows, is refused like a browser launch
//! (entitlement, CSRF, level of assurance), and, with a signing certificate, carries an
//! rdpsign.exe signature that `openssl cms -verify` accepts and rejects once a signed
//! setting changes. Real peers: FreeRDP 2.11 reads a file from the builder (its RD Gateway
//! request reaches the gateway named in the file, with the PAA scheme of the token) and
//! Chromium saves the file from the portal's button. The xfreerdp and Chromium tests start
//! Xvfb or Chromium: run them under `flock /tmp/hamn-xrdp.lock`.

use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{Method, StatusCode, header};
use hamn_broker::model::NativeRedirection;
use hamn_broker::ticket::reference::{REFERENCE_LEN, consume_at};
use hamn_broker::ticket::{ConsumeError, LaunchPath, Refusal};
use hamn_broker::{LaunchError, repo};
use hamn_gateway::CSRF_HEADER;
use hamn_gateway::rdp_file::{RdpFile, RdpFileInput, RemoteApp};
use hamn_gateway::rdp_sign::RdpSigner;
use serde_json::json;
use tokio::io::AsyncBufReadExt as _;
use uuid::Uuid;

use crate::portal::{Answer, Portal, PortalOptions};

fn now_ms() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_millis(),
    )
    .expect("ms")
}

/// The text of an `.rdp` file: UTF-16LE after a byte-order mark, CRLF lines.
fn decode(bytes: &[u8]) -> String {
    assert_eq!(&bytes[..2], &[0xff, 0xfe], "no UTF-16LE byte-order mark");
    assert_eq!(bytes.len() % 2, 0);
    let units: Vec<u16> = bytes[2..]
        .chunks(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let text = String::from_utf16(&units).expect("UTF-16");
    assert!(text.ends_with("\r\n"));
    assert!(
        !text.replace("\r\n", "").contains(['\r', '\n']),
        "a bare CR or LF"
    );
    text
}

/// The value of setting `name` (`name:type:value`).
fn value<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.split("\r\n").find_map(|line| {
        let (n, rest) = line.split_once(':')?;
        (n == name).then(|| rest.split_once(':').map_or("", |(_, v)| v))
    })
}

async fn rdp(portal: &Portal, token: &str, app: &str, lang: &'static str) -> Answer {
    portal
        .call(
            Method::POST,
            &format!("/portal/api/apps/{app}/rdp"),
            Some(token),
            &[(header::ACCEPT_LANGUAGE, lang)],
            Some(json!({})),
        )
        .await
}

#[tokio::test]
async fn an_rdp_file_names_the_host_and_gateway_and_its_reference_is_spent_once() {
    let portal = Portal::start_native(PortalOptions::default()).await;
    let token = portal.login("demo").await;
    let app = portal.ids.app_prod;
    let answer = rdp(&portal, &token, &app.to_string(), "sv").await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    let h = |name| {
        answer
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(h(header::CONTENT_TYPE), "application/x-rdp");
    assert_eq!(
        h(header::CONTENT_DISPOSITION),
        "attachment; filename=\"Procapita.rdp\"; filename*=UTF-8''Procapita.rdp"
    );
    assert_eq!(h(header::CACHE_CONTROL), "no-store");
    let text = decode(&answer.bytes);

    // The host the broker placed, exactly as the database has it, and this gateway.
    let launches = portal.audit("session.launch").await;
    assert_eq!(launches.len(), 1);
    assert!(
        launches[0]
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("path native")),
        "{launches:?}"
    );
    let session: Uuid = launches[0]
        .target_id
        .as_deref()
        .and_then(|s| s.parse().ok())
        .expect("session id");
    let mut conn = portal.database.pool().acquire().await.expect("conn");
    let host = repo::hosts::get(&mut conn, portal.ids.host)
        .await
        .expect("host")
        .expect("the demo host");
    let address = format!("{}:{}", host.address, host.port);
    assert_eq!(value(&text, "full address"), Some(address.as_str()));
    assert_eq!(
        value(&text, "alternate full address"),
        Some(address.as_str())
    );
    assert_eq!(value(&text, "gatewayhostname"), Some("localhost:8443"));
    assert_eq!(value(&text, "gatewayusagemethod"), Some("1"));
    assert_eq!(value(&text, "gatewaycredentialssource"), Some("5"));
    assert_eq!(value(&text, "gatewayprofileusagemethod"), Some("1"));
    // The demo app is a program, but the demo pool's host has no RemoteApp: its desktop.
    assert_eq!(value(&text, "remoteapplicationmode"), None);
    assert_eq!(value(&text, "remoteapplicationprogram"), None);
    // The demo pool's policy: printers and clipboard, nothing else.
    assert_eq!(value(&text, "redirectprinters"), Some("1"));
    assert_eq!(value(&text, "redirectclipboard"), Some("1"));
    assert_eq!(value(&text, "redirectdrives"), Some("0"));
    assert_eq!(value(&text, "redirectcomports"), Some("0"));
    assert_eq!(value(&text, "drivestoredirect"), None);
    assert_eq!(value(&text, "devicestoredirect"), None);
    assert_eq!(value(&text, "signature"), None, "no signing certificate");

    // The token is the launch's reference: spendable once, naming this launch.
    let reference = value(&text, "gatewayaccesstoken").expect("a token");
    assert_eq!(reference.len(), REFERENCE_LEN);
    let claims = consume_at(&mut conn, reference, 0, now_ms())
        .await
        .expect("the reference is good once");
    assert_eq!(claims.session_id, session);
    assert_eq!(claims.host_id, host.id);
    assert_eq!(claims.app_id, app);
    assert_eq!(claims.user_id, portal.ids.user);
    assert_eq!(claims.path, LaunchPath::Native);
    match consume_at(&mut conn, reference, 0, now_ms()).await {
        Err(ConsumeError::Refused {
            reason: Refusal::Replayed,
            ..
        }) => {}
        other => panic!("a spent reference was not refused as replayed: {other:?}"),
    }

    // A pool that allows more gets files that ask for more.
    let mut pool = repo::pools::get(&mut conn, portal.ids.pool)
        .await
        .expect("pool")
        .expect("the demo pool");
    pool.drives_enabled = true;
    pool.pnp_devices_enabled = true;
    pool.printers_enabled = false;
    pool.clipboard_enabled = false;
    pool.native_remote_apps = true;
    repo::pools::update(&mut conn, &pool).await.expect("update");
    drop(conn);
    let again = rdp(&portal, &token, &app.to_string(), "sv").await;
    assert_eq!(again.status, StatusCode::OK, "{:?}", again.body);
    let text = decode(&again.bytes);
    assert_eq!(value(&text, "redirectdrives"), Some("1"));
    assert_eq!(value(&text, "drivestoredirect"), Some("*"));
    assert_eq!(value(&text, "devicestoredirect"), Some("*"));
    assert_eq!(value(&text, "redirectprinters"), Some("0"));
    assert_eq!(value(&text, "redirectclipboard"), Some("0"));
    // On a pool whose hosts publish RemoteApps, the program opens as one.
    assert_eq!(value(&text, "remoteapplicationmode"), Some("1"));
    assert_eq!(
        value(&text, "remoteapplicationprogram"),
        Some("||procapita")
    );
    assert_eq!(value(&text, "remoteapplicationname"), Some("Procapita"));
    assert_ne!(
        value(&text, "gatewayaccesstoken"),
        Some(reference),
        "every file is a launch of its own"
    );
    portal.finish().await;
}

#[tokio::test]
async fn rdp_files_are_refused_like_browser_launches() {
    let portal = Portal::start_native(PortalOptions::default()).await;
    let token = portal.login("demo").await;
    // An app of the tenant the demo user is not entitled to.
    let hidden = {
        let mut conn = portal.database.pool().acquire().await.expect("conn");
        repo::apps::insert(
            &mut conn,
            portal.ids.tenant,
            &hamn_broker::model::NewApp {
                environment_id: portal.ids.prod,
                pool_id: portal.ids.pool,
                display_name: "Lönesystem".to_owned(),
                kind: hamn_broker::model::AppKind::Desktop,
                program: None,
                args: None,
                enabled: true,
                version: None,
            },
        )
        .await
        .expect("app")
        .id
    };
    for (app, error, status) in [
        (
            hidden.to_string(),
            LaunchError::NotEntitled,
            StatusCode::FORBIDDEN,
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
    ] {
        let sv = rdp(&portal, &token, &app, "sv-SE").await;
        assert_eq!(sv.status, status, "{app}: {:?}", sv.body);
        assert_eq!(sv.detail(), error.message_sv(), "{app}");
        assert_eq!(sv.body["reason"], error.reason());
        let en = rdp(&portal, &token, &app, "en").await;
        assert_eq!(en.detail(), error.message_en(), "{app}");
    }
    let refused = portal.audit("session.launch").await;
    assert!(
        refused.iter().any(|e| e
            .detail
            .as_deref()
            .is_some_and(|d| d.ends_with("refused: not_entitled"))),
        "{refused:?}"
    );

    let path = format!("/portal/api/apps/{}/rdp", portal.ids.app_prod);
    // Not by a link: GET is no route, and a POST needs the portal's CSRF token.
    let get = portal
        .call(Method::GET, &path, Some(&token), &[], None)
        .await;
    assert_eq!(get.status, StatusCode::METHOD_NOT_ALLOWED);
    let no_token = portal
        .call(
            Method::POST,
            &path,
            Some(&token),
            &[(CSRF_HEADER.parse().expect("name"), "")],
            Some(json!({})),
        )
        .await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    assert_eq!(no_token.body["reason"], "csrf_token");
    let anonymous = portal
        .call(Method::POST, &path, None, &[], Some(json!({})))
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let launches = portal.audit("session.launch").await;
    assert!(
        launches
            .iter()
            .all(|e| e.outcome == hamn_broker::model::AuditOutcome::Refused),
        "nothing above launched: {launches:?}"
    );
    portal.finish().await;

    // A login below gateway.launch_min_loa gets no file either (the demo login has none).
    let strict = Portal::start_native(PortalOptions {
        launch_min_loa: Some(3),
        ..PortalOptions::default()
    })
    .await;
    let token = strict.login("demo").await;
    let low = rdp(&strict, &token, &strict.ids.app_prod.to_string(), "sv").await;
    assert_eq!(low.status, StatusCode::FORBIDDEN);
    assert_eq!(low.body["reason"], "loa_too_low");
    strict.finish().await;
}

/// The dev PKI in `dir`: its `.rdp` signer and CA file.
fn dev_signer(dir: &Path) -> (Arc<RdpSigner>, std::path::PathBuf) {
    let pki = hamn_certs::DevPki::init(dir).expect("dev PKI");
    let signer = RdpSigner::load(&pki.paths.rdp_signing_cert(), &pki.paths.rdp_signing_key())
        .expect("the dev signing certificate loads");
    (Arc::new(signer), pki.paths.ca_cert())
}

/// What the signature of `text` covers, rebuilt from its `signscope` the way a verifier
/// does: each named setting's line (the scope name in lower case is the setting's name),
/// then the `signscope` line, CRLF each, a NUL, all UTF-16LE.
fn signed_content(text: &str) -> Vec<u8> {
    let scope = value(text, "signscope").expect("signscope");
    let mut signed = String::new();
    for name in scope.split(',') {
        let name = name.to_lowercase();
        let line = text
            .split("\r\n")
            .find(|l| l.split(':').next() == Some(name.as_str()))
            .unwrap_or_else(|| panic!("{name} is in the scope but not in the file"));
        signed.push_str(line);
        signed.push_str("\r\n");
    }
    signed.push_str(&format!("signscope:s:{scope}\r\n\0"));
    signed.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// `openssl cms -verify` of a detached DER signature over `content`.
fn openssl_verifies(dir: &Path, der: &[u8], content: &[u8], ca: &Path) -> (bool, String) {
    let (sig, data) = (dir.join("signature.der"), dir.join("content.bin"));
    std::fs::write(&sig, der).expect("write signature");
    std::fs::write(&data, content).expect("write content");
    let out = std::process::Command::new("openssl")
        .args([
            "cms", "-verify", "-binary", "-inform", "DER", "-purpose", "any",
        ])
        .arg("-in")
        .arg(&sig)
        .arg("-content")
        .arg(&data)
        .arg("-CAfile")
        .arg(ca)
        .args(["-out", "/dev/null"])
        .output()
        .expect("run openssl");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn a_signed_file_verifies_with_openssl_until_a_setting_changes() {
    let pki_dir = tempfile::tempdir().expect("temp dir");
    let (signer, ca) = dev_signer(pki_dir.path());
    let portal = Portal::start_native(PortalOptions {
        rdp_signer: Some(signer),
        ..PortalOptions::default()
    })
    .await;
    let token = portal.login("demo").await;
    let answer = rdp(&portal, &token, &portal.ids.app_prod.to_string(), "sv").await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    let text = decode(&answer.bytes);
    let lines: Vec<&str> = text.trim_end().split("\r\n").collect();
    assert!(lines[lines.len() - 2].starts_with("signscope:s:Full Address,Alternate Full Address,"));
    assert!(lines[lines.len() - 1].starts_with("signature:s:"));
    let scope = value(&text, "signscope").expect("signscope");
    for signed in [
        "GatewayHostname",
        "GatewayUsageMethod",
        "GatewayCredentialsSource",
        "RedirectDrives",
        "RedirectClipboard",
    ] {
        assert!(scope.split(',').any(|s| s == signed), "{signed} not signed");
    }

    use base64::Engine as _;
    let blob = base64::engine::general_purpose::STANDARD
        .decode(
            value(&text, "signature")
                .expect("signature")
                .replace(' ', ""),
        )
        .expect("base64");
    assert_eq!(
        &blob[..8],
        &[1, 0, 1, 0, 1, 0, 0, 0],
        "rdpsign.exe's header"
    );
    let len = u32::from_le_bytes(blob[8..12].try_into().expect("length")) as usize;
    assert_eq!(len, blob.len() - 12);
    let der = &blob[12..];

    let work = tempfile::tempdir().expect("temp dir");
    let content = signed_content(&text);
    let (ok, why) = openssl_verifies(work.path(), der, &content, &ca);
    assert!(ok, "openssl refused the signature: {why}");

    // SHA-256, and no signed attributes (what rdpsign.exe makes).
    std::fs::write(work.path().join("p7.der"), der).expect("write");
    let printed = std::process::Command::new("openssl")
        .args(["cms", "-cmsout", "-print", "-inform", "DER", "-in"])
        .arg(work.path().join("p7.der"))
        .output()
        .expect("run openssl");
    let printed = String::from_utf8_lossy(&printed.stdout);
    assert!(printed.contains("algorithm: sha256"), "{printed}");
    assert!(
        !printed.contains("messageDigest"),
        "signed attributes: {printed}"
    );

    // One changed setting, and the signature no longer holds.
    let tampered = text.replace(
        &format!(
            "full address:s:{}",
            value(&text, "full address").unwrap_or_default()
        ),
        "full address:s:evil.example:3389",
    );
    assert_ne!(tampered, text);
    let (ok, _) = openssl_verifies(work.path(), der, &signed_content(&tampered), &ca);
    assert!(!ok, "a changed full address still verified");
    let tampered = text.replace("redirectdrives:i:0", "redirectdrives:i:1");
    let (ok, _) = openssl_verifies(work.path(), der, &signed_content(&tampered), &ca);
    assert!(!ok, "a changed drive redirection still verified");
    // A foreign CA does not vouch for the publisher.
    let foreign = hamn_certs::pki::generate_ca("Not Hamn").expect("CA");
    let foreign_ca = work.path().join("foreign.crt");
    std::fs::write(&foreign_ca, foreign.cert_pem).expect("write");
    let (ok, _) = openssl_verifies(work.path(), der, &content, &foreign_ca);
    assert!(!ok, "verified against a CA that did not issue the signer");
    portal.finish().await;
}

#[test]
fn the_signer_refuses_a_key_that_is_not_its_certificates() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pki = hamn_certs::DevPki::init(dir.path()).expect("dev PKI");
    let wrong = RdpSigner::load(&pki.paths.rdp_signing_cert(), &pki.paths.server_key());
    assert!(
        matches!(
            wrong,
            Err(hamn_gateway::rdp_sign::RdpSignError::KeyMismatch)
        ),
        "{wrong:?}"
    );
    let missing = RdpSigner::load(&dir.path().join("nope.crt"), &pki.paths.rdp_signing_key());
    assert!(matches!(
        missing,
        Err(hamn_gateway::rdp_sign::RdpSignError::Read { .. })
    ));
}

/// A TLS listener that records the first line and headers of each request and answers
/// 404: where FreeRDP's RD Gateway request lands.
async fn capture_gateway(
    dir: &Path,
) -> (
    u16,
    Arc<Mutex<Vec<String>>>,
    tokio_util::sync::CancellationToken,
) {
    let pki = hamn_certs::DevPki::init(dir).expect("dev PKI");
    let tls = hamn_certs::server::server_config(&pki.server_cert_files()).expect("TLS");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let router = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let record = record.clone();
        async move {
            let mut text = format!("{} {}\n", request.method(), request.uri());
            for (name, value) in request.headers() {
                text.push_str(&format!(
                    "{}: {}\n",
                    name,
                    value.to_str().unwrap_or_default()
                ));
            }
            record.lock().expect("lock").push(text);
            StatusCode::NOT_FOUND
        }
    });
    let shutdown = tokio_util::sync::CancellationToken::new();
    tokio::spawn(hamn_certs::serve(listener, tls, router, shutdown.clone()));
    (port, seen, shutdown)
}

/// Xvfb on a display of its own choosing; the display name and the process.
async fn xvfb() -> (String, tokio::process::Child) {
    let mut child = tokio::process::Command::new("Xvfb")
        .args([
            "-displayfd",
            "1",
            "-screen",
            "0",
            "1024x768x24",
            "-nolisten",
            "tcp",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("run Xvfb (./scripts/test installs it)");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let display = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("Xvfb named its display")
        .expect("read")
        .expect("a display number");
    (format!(":{}", display.trim()), child)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn freerdp_reads_the_file_and_asks_the_gateway_it_names() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (port, seen, shutdown) = capture_gateway(&dir.path().join("certs")).await;
    let gateway = format!("localhost:{port}");
    let file = RdpFile::build(&RdpFileInput {
        // Nothing listens there: the client must go through the gateway, never direct.
        host_address: "127.0.0.1",
        host_port: 9,
        gateway: &gateway,
        access_token: "AbCdEfGhIjKlMnOpQrStUv_-",
        remote_app: Some(RemoteApp {
            program: "||procapita",
            name: "Procapita",
            args: None,
        }),
        redirection: NativeRedirection {
            drives: false,
            printers: true,
            com_ports: false,
            pnp_devices: false,
            clipboard: true,
        },
    })
    .expect("file");
    let path = dir.path().join("Procapita.rdp");
    std::fs::write(&path, file.to_bytes()).expect("write the file");

    let (display, _xvfb) = xvfb().await;
    let mut client = tokio::process::Command::new("xfreerdp")
        .arg(&path)
        // The capture listener's certificate is the dev CA's, unknown to FreeRDP.
        .arg("/cert:ignore")
        .env("DISPLAY", &display)
        .env("HOME", dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("run xfreerdp (freerdp2-x11)");
    let request = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            if let Some(first) = seen.lock().expect("lock").first().cloned() {
                return first;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("xfreerdp reached the gateway named in the file");
    let _ = client.kill().await;
    shutdown.cancel();
    let lower = request.to_lowercase();
    assert!(
        request.starts_with("RDG_OUT_DATA /remoteDesktopGateway/"),
        "{request}"
    );
    assert!(lower.contains("\nhost: localhost"), "{request}");
    assert!(lower.contains("\nrdg-connection-id: "), "{request}");
    // The token from the file: FreeRDP announces the PAA scheme only when it has one
    // (without a token it sends no request at all, wanting a gateway password).
    assert!(lower.contains("\nrdg-auth-scheme: paa"), "{request}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portal_button_saves_the_file_in_chromium() {
    let portal = Portal::start_native(PortalOptions {
        own_origin: true,
        ..PortalOptions::default()
    })
    .await;
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("saved.rdp");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf();
    let url = format!("https://localhost:{}/", portal.port);
    let run = tokio::process::Command::new("node")
        .arg(repo.join("tests/browser/rdp.mjs"))
        .arg(&url)
        .arg(&out)
        .current_dir(repo.join("tests"))
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the browser script finished in time")
        .expect("run node (./scripts/test installs it)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let result: serde_json::Value = stdout
        .lines()
        .find_map(|l| l.strip_prefix("result "))
        .and_then(|j| serde_json::from_str(j).ok())
        .expect("a result line");
    assert_eq!(result["label"], "Öppna i fjärrskrivbordsklient");
    assert_eq!(result["filename"], "Procapita.rdp");
    assert!(
        result["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Procapita.rdp är nedladdad.")),
        "{result}"
    );
    let text = decode(&std::fs::read(&out).expect("the saved file"));
    let gateway = format!("localhost:{}", portal.port);
    assert_eq!(value(&text, "gatewayhostname"), Some(gateway.as_str()));
    assert_eq!(value(&text, "gatewayusagemethod"), Some("1"));
    assert_eq!(value(&text, "gatewaycredentialssource"), Some("5"));
    let reference = value(&text, "gatewayaccesstoken").expect("a token");
    assert_eq!(reference.len(), REFERENCE_LEN);
    let mut conn = portal.database.pool().acquire().await.expect("conn");
    let claims = consume_at(&mut conn, reference, 0, now_ms())
        .await
        .expect("the downloaded reference is good");
    assert_eq!(claims.app_id, portal.ids.app_prod);
    drop(conn);
    portal.finish().await;
}
