//! SITHS card logins per second on the SITHS listener, on loopback, every operation a new
//! TCP connection and TLS handshake (a browser presenting a card opens a fresh one).
//!
//! The baseline is a handshake in which the listener asks for a certificate and the client
//! sends none. Measured against it: a handshake with a test card (mutual TLS), and the whole
//! login — handshake, `GET /siths/login`, chain, EKU, CRL, HSA-ID, the user lookup, the web
//! session and its audit event in SQLite — for a card without an OCSP responder and for
//! one whose OCSP answer is cached (a real `openssl ocsp` answered the first time).
//! The baseline runs before and after the rest; the ratio uses the mean.
//! Run: `cargo bench -p hamn-bench --bench siths`.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use hamn_bench::{Samples, Summary};
use hamn_broker::db::{Database, DatabaseConfig};
use hamn_broker::{SecretsKey, TicketIssuer, TicketKeys, WebSessionPolicy};
use hamn_certs::pki::{ClientCertOptions, issue_client_cert, openssl_index_line};
use hamn_certs::{
    ClientCertVerifier, DevPki, OcspChecker, OcspPolicy, Revocation, RevocationPolicy,
};
use hamn_gateway::{PortalApi, SithsLogin, origin_of};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

const OPERATIONS: usize = 600;
const CONCURRENCY: usize = 4;

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let scratch = tempfile::tempdir()?;
        let rows = measure(scratch.path()).await?;
        print_table(&rows);
        Ok(())
    })
}

/// What one operation does.
#[derive(Clone, Copy)]
enum Op {
    /// Handshake only (with the card when the client configuration has one).
    Handshake,
    /// Handshake with the card and `GET /siths/login`, which must answer 303.
    Login,
}

async fn measure(scratch: &Path) -> anyhow::Result<Vec<(&'static str, Summary)>> {
    let pki = DevPki::init(&scratch.join("certs"))?;
    let database = Database::connect(&DatabaseConfig {
        url: format!("sqlite://{}?mode=rwc", scratch.join("hamn.db").display()),
        max_connections: 5,
    })
    .await?;
    database.migrate().await?;
    hamn_broker::seed::demo(
        &database,
        hamn_broker::DemoSeed {
            host_port: 1,
            secrets_key: Some(SecretsKey::generate()?),
            ..Default::default()
        },
    )
    .await?;
    let keys = TicketKeys::load_or_create(scratch)?;
    let ca = pki.paths.siths_ca_cert();
    let shutdown = CancellationToken::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let siths_url = format!("https://localhost:{}", addr.port());
    let api = Arc::new(PortalApi {
        database: database.clone(),
        issuer: TicketIssuer::new(Arc::new(keys)),
        origin: origin_of("https://localhost:8443"),
        web_sessions: WebSessionPolicy::default(),
        demo_login: false,
        siths_login_url: Some(format!("{siths_url}/siths/login")),
        launch_min_loa: None,
        access: hamn_gateway::PortalAccess::default(),
        saml: false,
        rdp_signer: None,
        print_data_dir: std::path::PathBuf::from("/nonexistent/prints"),
        print_public_url: None,
    });
    let revocation = Arc::new(Revocation::new(
        RevocationPolicy::Require,
        &ca,
        vec![pki.paths.siths_crl()],
    )?);
    let ocsp = Arc::new(OcspChecker::new(
        OcspPolicy::Require,
        &ca,
        Duration::from_secs(5),
    )?);
    let app = hamn_gateway::siths_router(Arc::new(SithsLogin {
        api,
        verifier: ClientCertVerifier::from_ca_pem_file(&ca)?
            .with_revocation(revocation)
            .with_ocsp(ocsp.clone()),
        portal_url: "https://localhost:8443".into(),
        loa_by_ca: [("Hamn Test SITHS CA".to_owned(), 3)].into(),
    }));
    let tls =
        hamn_certs::server::server_config_requesting_client_cert(&pki.server_cert_files(), &ca)?;
    tokio::spawn(hamn_certs::serve(listener, tls, app, shutdown.clone()));

    // A second card of card 1's holder that names a real OCSP responder.
    let ocsp_port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let issued = issue_client_cert(
        &std::fs::read_to_string(&ca)?,
        &std::fs::read_to_string(pki.paths.siths_ca_key())?,
        "Åsa Öberg",
        &ClientCertOptions {
            subject_serial_number: Some("SE2321000016-0001".into()),
            person_name: Some(("Åsa".into(), "Öberg".into())),
            ocsp_url: Some(format!("http://127.0.0.1:{ocsp_port}/")),
            ..Default::default()
        },
    )?;
    let index = scratch.join("index.txt");
    std::fs::write(&index, openssl_index_line(&issued.cert_pem, None)?)?;
    let mut responder = start_responder(&pki, &index, ocsp_port).await?;

    let roots = {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(pki.paths.ca_cert())? {
            roots.add(cert?)?;
        }
        Arc::new(roots)
    };
    let builder = || {
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map(|b| b.with_root_certificates(roots.clone()))
    };
    let no_card = Arc::new(builder()?.with_no_client_auth());
    let card = |cert: &[u8], key: &[u8]| -> anyhow::Result<Arc<rustls::ClientConfig>> {
        let chain = CertificateDer::pem_slice_iter(cert).collect::<Result<Vec<_>, _>>()?;
        let key = PrivateKeyDer::from_pem_slice(key)?;
        Ok(Arc::new(builder()?.with_client_auth_cert(chain, key)?))
    };
    let card_one = card(
        &std::fs::read(pki.paths.siths_card_cert(1))?,
        &std::fs::read(pki.paths.siths_card_key(1))?,
    )?;
    let ocsp_card = card(issued.cert_pem.as_bytes(), issued.key_pem.as_bytes())?;

    let run = |config: &Arc<rustls::ClientConfig>, op| run(addr, config.clone(), op);
    let base_before = run(&no_card, Op::Handshake).await?;
    let mutual = run(&card_one, Op::Handshake).await?;
    let login = run(&card_one, Op::Login).await?;
    let asked_before = ocsp.requests();
    let ocsp_login = run(&ocsp_card, Op::Login).await?;
    let asked = ocsp.requests() - asked_before;
    let base_after = run(&no_card, Op::Handshake).await?;
    responder.kill().await.ok();
    shutdown.cancel();
    // The first logins run concurrently and each may ask before an answer is cached;
    // after that, none should.
    if !(1..=CONCURRENCY as u64).contains(&asked) {
        bail!("the OCSP responder was asked {asked} times for {OPERATIONS} logins");
    }
    println!("OCSP requests for {OPERATIONS} logins with one card: {asked}");
    Ok(vec![
        (
            "handshake, no card (baseline)",
            base_before.mean(&base_after),
        ),
        ("handshake with a card", mutual),
        ("card login, CRL", login),
        ("card login, CRL + OCSP cached", ocsp_login),
    ])
}

/// `openssl ocsp` on `port` with the dev PKI's responder certificate; ready when it says so.
async fn start_responder(
    pki: &DevPki,
    index: &Path,
    port: u16,
) -> anyhow::Result<tokio::process::Child> {
    let mut child = tokio::process::Command::new("openssl")
        .arg("ocsp")
        .arg("-index")
        .arg(index)
        .args(["-port", &port.to_string()])
        .arg("-rsigner")
        .arg(pki.paths.siths_ocsp_cert())
        .arg("-rkey")
        .arg(pki.paths.siths_ocsp_key())
        .arg("-CA")
        .arg(pki.paths.siths_ca_cert())
        .args(["-nmin", "60"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("start openssl ocsp")?;
    let stderr = child.stderr.take().context("stderr")?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    // Drained to the end: a closed pipe would kill the responder at its next log line.
    tokio::spawn(async move {
        use tokio::io::AsyncBufReadExt;
        let mut lines = tokio::io::BufReader::new(stderr).lines();
        let mut tx = Some(tx);
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("waiting for OCSP client connections")
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(());
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(20), rx)
        .await
        .context("openssl ocsp did not start")??;
    Ok(child)
}

/// [`OPERATIONS`] of `op`, [`CONCURRENCY`] at a time.
async fn run(
    addr: std::net::SocketAddr,
    config: Arc<rustls::ClientConfig>,
    op: Op,
) -> anyhow::Result<Summary> {
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..CONCURRENCY {
        let config = config.clone();
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            for _ in (worker..OPERATIONS).step_by(CONCURRENCY) {
                let t = Instant::now();
                once(addr, config.clone(), op).await?;
                latencies.push(t.elapsed());
            }
            anyhow::Ok(latencies)
        });
    }
    let mut latencies = Vec::with_capacity(OPERATIONS);
    while let Some(done) = tasks.join_next().await {
        latencies.extend(done??);
    }
    Ok(Samples::new(latencies, started.elapsed()).summary())
}

async fn once(
    addr: std::net::SocketAddr,
    config: Arc<rustls::ClientConfig>,
    op: Op,
) -> anyhow::Result<()> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let connector = tokio_rustls::TlsConnector::from(config);
    let mut tls = connector
        .connect(ServerName::try_from("localhost")?, tcp)
        .await?;
    match op {
        Op::Handshake => {
            // TLS 1.3 sends the client's certificate with its Finished; the server has
            // judged it once it answers our close with its own, so wait for that.
            tls.shutdown().await.ok();
            let mut rest = Vec::new();
            let _ = tls.read_to_end(&mut rest).await;
            Ok(())
        }
        Op::Login => {
            tls.write_all(
                b"GET /siths/login HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n\
                  Connection: close\r\n\r\n",
            )
            .await?;
            let mut answer = Vec::new();
            // The server may close without close_notify once it has answered.
            let _ = tls.read_to_end(&mut answer).await;
            if !answer.starts_with(b"HTTP/1.1 303") {
                bail!(
                    "login refused: {}",
                    String::from_utf8_lossy(&answer[..answer.len().min(400)])
                );
            }
            Ok(())
        }
    }
}

fn print_table(rows: &[(&'static str, Summary)]) {
    let base = rows[0].1.ops_per_sec;
    println!(
        "\nSITHS listener, {OPERATIONS} new TLS connections per row, {CONCURRENCY} concurrent, loopback, SQLite"
    );
    println!(
        "{:<32} | {:>8} {:>8} {:>8} {:>7}",
        "operation", "per s", "p50 ms", "p99 ms", "×base"
    );
    for (name, s) in rows {
        println!(
            "{:<32} | {:>8.0} {:>8.2} {:>8.2} {:>7.3}",
            name,
            s.ops_per_sec,
            s.p50_ms,
            s.p99_ms,
            s.ops_per_sec / base
        );
    }
}
