//! `serve` on real sockets: client certificates reach the app, handshake failures do not stop
//! the loop, certificates reload from disk, and shutdown lets in-flight requests finish.

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::routing::get as route;
use axum::{Extension, Router};
use hamn_certs::pki::{
    ClientCertOptions, ClientEku, generate_ca, issue_client_cert, issue_server_cert,
};
use hamn_certs::server::{server_config, server_config_requesting_client_cert};
use hamn_certs::{ClientCertVerifier, DevPki, PeerCertificates, ServerCertFiles, serve};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{PrivateKeyDer, UnixTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::{certs_from_pem, client_config, get, init_pki, read, try_get};

struct Server {
    addr: SocketAddr,
    shutdown: CancellationToken,
    task: JoinHandle<std::io::Result<()>>,
}

async fn whoami(
    State(verifier): State<Arc<ClientCertVerifier>>,
    Extension(peer): Extension<PeerCertificates>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
) -> (StatusCode, String) {
    assert!(remote.ip().is_loopback());
    match verifier.verify(&peer.0, UnixTime::now()) {
        Ok(id) => (
            StatusCode::OK,
            format!(
                "cn={};hsa={}",
                id.subject_cn.unwrap_or_default(),
                id.subject_serial_number.unwrap_or_default()
            ),
        ),
        Err(e) => (StatusCode::UNAUTHORIZED, format!("{e:?}")),
    }
}

fn app(verifier: ClientCertVerifier) -> Router {
    Router::new()
        .route("/whoami", route(whoami))
        .route(
            "/slow",
            route(|| async {
                tokio::time::sleep(Duration::from_millis(700)).await;
                "done"
            }),
        )
        .with_state(Arc::new(verifier))
}

async fn start(tls: Arc<rustls::ServerConfig>, app: Router) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(serve(listener, tls, app, shutdown.clone()));
    Server {
        addr,
        shutdown,
        task,
    }
}

async fn start_mtls(pki: &DevPki, trusted: &std::path::Path) -> Server {
    let tls =
        server_config_requesting_client_cert(&pki.paths.server_files(), &pki.paths.api_ca_cert())
            .unwrap();
    start(
        tls,
        app(ClientCertVerifier::from_ca_pem_file(trusted).unwrap()),
    )
    .await
}

async fn stop(server: Server) {
    server.shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(15), server.task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn client_certificates_reach_the_app_and_are_judged_there() {
    let (_dir, pki) = init_pki();
    let server = start_mtls(&pki, &pki.paths.api_ca_cert()).await;
    let ca = read(&pki.paths.ca_cert());
    let (api_ca, api_key) = (
        read(&pki.paths.api_ca_cert()),
        read(&pki.paths.api_ca_key()),
    );
    let now = std::time::SystemTime::now();
    let day = Duration::from_secs(86400);
    let no_eku = issue_client_cert(
        &api_ca,
        &api_key,
        "no-eku",
        &ClientCertOptions {
            extended_key_usage: ClientEku::Absent,
            ..Default::default()
        },
    )
    .unwrap();
    let expired = issue_client_cert(
        &api_ca,
        &api_key,
        "expired",
        &ClientCertOptions {
            validity: Some((now - 10 * day, now - day)),
            ..Default::default()
        },
    )
    .unwrap();
    let foreign_ca = generate_ca("Foreign CA").unwrap();
    let foreign = issue_client_cert(
        &foreign_ca.cert_pem,
        &foreign_ca.key_pem,
        "foreign",
        &Default::default(),
    )
    .unwrap();
    let operator = (
        read(&pki.paths.api_operator_cert()),
        read(&pki.paths.api_operator_key()),
    );

    let cases = [
        (
            Some((operator.0.as_str(), operator.1.as_str())),
            200,
            "cn=hamn-operator;hsa=",
        ),
        (
            Some((no_eku.cert_pem.as_str(), no_eku.key_pem.as_str())),
            401,
            "MissingClientAuthEku",
        ),
        (
            Some((expired.cert_pem.as_str(), expired.key_pem.as_str())),
            401,
            "Expired",
        ),
        (
            Some((foreign.cert_pem.as_str(), foreign.key_pem.as_str())),
            401,
            "UntrustedIssuer",
        ),
        (None, 401, "Missing"),
    ];
    for (client, status, body) in cases {
        let response = get(server.addr, client_config(&ca, client, &[]), "/whoami").await;
        assert_eq!((response.status, response.body.as_str()), (status, body));
    }
    stop(server).await;
}

#[tokio::test]
async fn h2_is_negotiated_and_carries_the_client_certificate() {
    let (_dir, pki) = init_pki();
    let server = start_mtls(&pki, &pki.paths.api_ca_cert()).await;
    let operator = (
        read(&pki.paths.api_operator_cert()),
        read(&pki.paths.api_operator_key()),
    );
    let config = client_config(
        &read(&pki.paths.ca_cert()),
        Some((&operator.0, &operator.1)),
        &[b"h2", b"http/1.1"],
    );
    let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let tls = tokio_rustls::TlsConnector::from(config)
        .connect("localhost".try_into().unwrap(), tcp)
        .await
        .unwrap();
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut sender, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tls),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    let request = hyper::Request::get("https://localhost/whoami")
        .body(axum::body::Body::empty())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.status(), 200);
    let body = axum::body::to_bytes(axum::body::Body::new(response.into_body()), 1024)
        .await
        .unwrap();
    assert_eq!(&body[..], b"cn=hamn-operator;hsa=");
    drop(sender);
    stop(server).await;
}

/// Presents `cert_pem` but signs the handshake with `key_pem`, which need not match: rustls'
/// own client builder refuses a mismatched pair, and a forger would not ask it.
#[derive(Debug)]
struct FixedClientCert(Arc<rustls::sign::CertifiedKey>);

impl rustls::client::ResolvesClientCert for FixedClientCert {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[rustls::SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

fn client_signing_with(
    ca_pem: &str,
    cert_pem: &str,
    key_pem: &str,
    version: &'static rustls::SupportedProtocolVersion,
) -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let key = provider
        .key_provider
        .load_private_key(PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).unwrap())
        .unwrap();
    let certified = rustls::sign::CertifiedKey::new(certs_from_pem(cert_pem), key);
    let mut roots = rustls::RootCertStore::empty();
    roots.add(certs_from_pem(ca_pem)[0].clone()).unwrap();
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[version])
        .unwrap()
        .with_root_certificates(roots)
        .with_client_cert_resolver(Arc::new(FixedClientCert(Arc::new(certified))));
    config.resumption = rustls::client::Resumption::disabled();
    Arc::new(config)
}

#[tokio::test]
async fn handshake_requires_proof_of_key_possession_on_tls12_and_tls13() {
    let (_dir, pki) = init_pki();
    let server = start_mtls(&pki, &pki.paths.api_ca_cert()).await;
    let ca = read(&pki.paths.ca_cert());
    let cert = read(&pki.paths.api_operator_cert());
    let key = read(&pki.paths.api_operator_key());
    let stranger_key = read(&pki.paths.siths_card_key(1));
    for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
        let honest = client_signing_with(&ca, &cert, &key, version);
        let response = get(server.addr, honest, "/whoami").await;
        assert_eq!(
            (response.status, response.body.as_str()),
            (200, "cn=hamn-operator;hsa=")
        );
        let forger = client_signing_with(&ca, &cert, &stranger_key, version);
        let result = try_get(server.addr, forger, "/whoami").await;
        assert!(
            result.is_err(),
            "{version:?}: a certificate without its key was accepted"
        );
    }
    stop(server).await;
}

fn args(a: &[String]) -> Vec<&str> {
    a.iter().map(String::as_str).collect()
}

fn curl_available() -> bool {
    Command::new("curl")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn curl(addr: SocketAddr, pki: &DevPki, client_args: &[&str]) -> (String, String) {
    let out = Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "10",
            "-w",
            "\n%{http_code}",
            "--resolve",
        ])
        .arg(format!("localhost:{}:127.0.0.1", addr.port()))
        .arg("--cacert")
        .arg(pki.paths.ca_cert())
        .args(client_args)
        .arg(format!("https://localhost:{}/whoami", addr.port()))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (body, code) = stdout.rsplit_once('\n').unwrap();
    (code.to_owned(), body.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_with_pem_and_p12_client_certificates() {
    if !curl_available() {
        eprintln!("curl not installed; skipping");
        return;
    }
    let (dir, pki) = init_pki();
    // One CA file trusting both client CAs, as a SITHS-and-API listener might.
    let both = dir.path().join("trusted.crt");
    std::fs::write(
        &both,
        read(&pki.paths.api_ca_cert()) + &read(&pki.paths.siths_ca_cert()),
    )
    .unwrap();
    let server = start_mtls(&pki, &both).await;
    let addr = server.addr;
    let p = pki.clone();
    let results = tokio::task::spawn_blocking(move || {
        let operator = [
            "--cert".to_owned(),
            p.paths.api_operator_cert().display().to_string(),
            "--key".to_owned(),
            p.paths.api_operator_key().display().to_string(),
        ];
        let broken = [
            "--cert".to_owned(),
            p.paths.siths_card_broken_cert().display().to_string(),
            "--key".to_owned(),
            p.paths.siths_card_broken_key().display().to_string(),
        ];
        let p12 = [
            "--cert-type".to_owned(),
            "P12".to_owned(),
            "--cert".to_owned(),
            format!(
                "{}:{}",
                p.paths.siths_card_p12(1).display(),
                hamn_certs::pki::P12_PASSWORD
            ),
        ];
        [
            curl(addr, &p, &args(&operator)),
            curl(addr, &p, &args(&broken)),
            curl(addr, &p, &args(&p12)),
            curl(addr, &p, &[]),
        ]
    })
    .await
    .unwrap();
    assert_eq!(results[0], ("200".into(), "cn=hamn-operator;hsa=".into()));
    assert_eq!(results[1], ("401".into(), "MissingClientAuthEku".into()));
    assert_eq!(
        results[2],
        ("200".into(), "cn=Åsa Öberg;hsa=SE2321000016-0001".into())
    );
    assert_eq!(results[3], ("401".into(), "Missing".into()));
    stop(server).await;
}

#[tokio::test]
async fn failed_handshakes_do_not_stop_the_loop() {
    let (_dir, pki) = init_pki();
    let server = start_mtls(&pki, &pki.paths.api_ca_cert()).await;
    // Plain HTTP on the TLS port, and a client that does not trust the server.
    let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut sink = Vec::new();
    let _ = tcp.read_to_end(&mut sink).await;
    let untrusting = client_config(&generate_ca("Other").unwrap().cert_pem, None, &[]);
    let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let refused = tokio_rustls::TlsConnector::from(untrusting)
        .connect("localhost".try_into().unwrap(), tcp)
        .await;
    assert!(refused.is_err());
    // An idle half-open connection must not block anyone else either.
    let _idle = tokio::net::TcpStream::connect(server.addr).await.unwrap();

    let response = get(
        server.addr,
        client_config(&read(&pki.paths.ca_cert()), None, &[]),
        "/whoami",
    )
    .await;
    assert_eq!(response.status, 401);
    stop(server).await;
}

#[tokio::test]
async fn server_certificate_reloads_from_disk_and_survives_broken_files() {
    let (dir, pki) = init_pki();
    let files = ServerCertFiles::new(dir.path().join("live.crt"), dir.path().join("live.key"));
    std::fs::copy(pki.paths.server_cert(), &files.cert).unwrap();
    std::fs::copy(pki.paths.server_key(), &files.key).unwrap();
    let server = start(
        server_config(&files).unwrap(),
        app(ClientCertVerifier::from_ca_pem_file(&pki.paths.api_ca_cert()).unwrap()),
    )
    .await;
    let ca = read(&pki.paths.ca_cert());
    let client = client_config(&ca, None, &[]);
    let first = get(server.addr, client.clone(), "/slow").await.server_cert;
    assert_eq!(first, certs_from_pem(&read(&pki.paths.server_cert()))[0]);

    // Half-written files: the old certificate stays in service.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    std::fs::write(&files.cert, "-----BEGIN CERTIFICATE-----\nMIIB").unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        get(server.addr, client.clone(), "/slow").await.server_cert,
        first
    );

    let renewed =
        issue_server_cert(&ca, &read(&pki.paths.ca_key()), &["localhost", "127.0.0.1"]).unwrap();
    std::fs::write(&files.key, &renewed.key_pem).unwrap();
    std::fs::write(&files.cert, &renewed.cert_pem).unwrap();
    let expected = certs_from_pem(&renewed.cert_pem)[0].clone();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let served = get(server.addr, client.clone(), "/slow").await.server_cert;
        if served == expected {
            break;
        }
        assert_eq!(
            served, first,
            "served neither the old nor the new certificate"
        );
        assert!(
            Instant::now() < deadline,
            "renewed certificate not picked up"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    stop(server).await;
}

/// A reload request (what SIGHUP sends) while a connection is open: the open connection
/// keeps its TLS session and goes on answering, the very next handshake gets the new
/// certificate — even one written with the old file's timestamp and size, which the
/// change check alone would not notice.
#[tokio::test]
async fn reload_request_swaps_the_certificate_without_dropping_an_open_connection() {
    let (dir, pki) = init_pki();
    let files = ServerCertFiles::new(dir.path().join("hup.crt"), dir.path().join("hup.key"));
    // Room for a renewed pair of a few bytes more: PEM readers skip text outside the
    // armour, so the files carry padding.
    let pad = "#".repeat(512);
    std::fs::write(&files.cert, read(&pki.paths.server_cert()) + &pad).unwrap();
    std::fs::write(&files.key, read(&pki.paths.server_key()) + &pad).unwrap();
    let server = start(
        server_config(&files).unwrap(),
        app(ClientCertVerifier::from_ca_pem_file(&pki.paths.api_ca_cert()).unwrap()),
    )
    .await;
    let ca = read(&pki.paths.ca_cert());
    let client = client_config(&ca, None, &[]);
    let first = certs_from_pem(&read(&pki.paths.server_cert()))[0].clone();

    // An established connection, keep-alive, one request answered.
    let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let mut open = tokio_rustls::TlsConnector::from(client.clone())
        .connect(
            rustls_pki_types::ServerName::try_from("localhost").unwrap(),
            tcp,
        )
        .await
        .unwrap();
    assert_eq!(open.get_ref().1.peer_certificates().unwrap()[0], first);
    let ask = async |tls: &mut tokio_rustls::client::TlsStream<tokio::net::TcpStream>| {
        tls.write_all(b"GET /slow HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .unwrap();
        let mut seen = Vec::new();
        let mut buf = [0u8; 1024];
        while !String::from_utf8_lossy(&seen).ends_with("done") {
            let n = tls.read(&mut buf).await.unwrap();
            assert!(n > 0, "the open connection was closed");
            seen.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&seen).into_owned()
    };
    assert!(ask(&mut open).await.starts_with("HTTP/1.1 200"));

    // A renewed pair with the old files' modification times and (padded) sizes.
    let renewed =
        issue_server_cert(&ca, &read(&pki.paths.ca_key()), &["localhost", "127.0.0.1"]).unwrap();
    let same_stamp = |path: &std::path::Path, pem: &str| {
        let before = std::fs::metadata(path).unwrap();
        let mut text = pem.to_owned();
        let len = usize::try_from(before.len()).unwrap();
        assert!(
            text.len() <= len,
            "the renewed PEM is longer than the old one"
        );
        text.push_str(&"#".repeat(len - text.len()));
        std::fs::write(path, text).unwrap();
        let file = std::fs::File::options().write(true).open(path).unwrap();
        file.set_modified(before.modified().unwrap()).unwrap();
    };
    same_stamp(&files.key, &renewed.key_pem);
    same_stamp(&files.cert, &renewed.cert_pem);
    hamn_certs::reload::request();
    let expected = certs_from_pem(&renewed.cert_pem)[0].clone();
    assert_eq!(
        get(server.addr, client.clone(), "/slow").await.server_cert,
        expected,
        "a new handshake after the reload request"
    );
    // The open connection still works, on its original TLS session.
    assert!(ask(&mut open).await.contains("200 OK"));
    assert_eq!(open.get_ref().1.peer_certificates().unwrap()[0], first);
    drop(open);
    stop(server).await;
}

#[tokio::test]
async fn shutdown_finishes_in_flight_requests_then_stops_accepting() {
    let (_dir, pki) = init_pki();
    let server = start_mtls(&pki, &pki.paths.api_ca_cert()).await;
    let client = client_config(&read(&pki.paths.ca_cert()), None, &[]);

    // An idle keep-alive connection must not hold shutdown up until the deadline.
    let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let mut idle = tokio_rustls::TlsConnector::from(client.clone())
        .connect("localhost".try_into().unwrap(), tcp)
        .await
        .unwrap();
    idle.write_all(b"GET /whoami HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 512];
    let n = idle.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 401"));

    let in_flight = tokio::spawn(get(server.addr, client.clone(), "/slow"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    server.shutdown.cancel();
    let response = in_flight.await.unwrap();
    assert_eq!((response.status, response.body.as_str()), (200, "done"));
    tokio::time::timeout(Duration::from_secs(5), server.task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "shutdown waited for the idle connection"
    );
    assert!(
        tokio::net::TcpStream::connect(server.addr).await.is_err(),
        "still accepting"
    );
}
