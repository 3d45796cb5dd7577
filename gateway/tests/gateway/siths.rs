//! SITHS smart-card login against a real TLS client: curl presents the dev PKI's test cards
//! (PKCS#12 and PEM) to the SITHS listener, which asks for a client certificate; the
//! portal listener beside it serves `/portal/api/me` with the cookie the login set. Good
//! card → 303 to the portal with a strict session cookie; every bad card, and no card,
//! → a refusal with its reason (problem+json, or a Swedish/English page) and an audited
//! `user.login` refusal. OCSP runs against a real responder: `openssl ocsp` started by the
//! test on a free port, answering from an OpenSSL index with the dev PKI's delegated
//! responder certificate. Also: the level of assurance a card's CA gives its web session
//! and the launch minimum, and the organisation choice for an HSA-ID in two tenants.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use hamn_broker::db::{Database, DatabaseConfig};
use hamn_broker::model::{AuditEvent, AuditFilter, AuditOutcome, NewTenant, NewUser, PageRequest};
use hamn_broker::{DemoIds, SecretsKey, TicketIssuer, TicketKeys, WebSessionPolicy, repo};
use hamn_certs::pki::{ClientCertOptions, ClientEku, P12_PASSWORD, generate_ca, issue_client_cert};
use hamn_certs::pki::{CrlOptions, openssl_index_line, sign_crl};
use hamn_certs::{
    ClientCertVerifier, DevPki, OcspChecker, OcspPolicy, Revocation, RevocationPolicy,
};
use hamn_gateway::{PortalApi, PortalState, SESSION_COOKIE, SithsLogin, origin_of};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

struct Siths {
    database: Database,
    ids: DemoIds,
    pki: DevPki,
    portal_url: String,
    siths_url: String,
    shutdown: CancellationToken,
    dir: tempfile::TempDir,
    /// The SITHS listener's CRLs (the dev PKI's `siths-ca.crl`), reloaded on change.
    revocation: Arc<Revocation>,
    /// Its OCSP checker: how many requests went to responders.
    ocsp: Arc<OcspChecker>,
}

/// How a test's SITHS listener is set up; the default is production's.
struct Options {
    revocation: RevocationPolicy,
    ocsp: OcspPolicy,
    loa_by_ca: HashMap<String, u8>,
    launch_min_loa: Option<u8>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            revocation: RevocationPolicy::Require,
            ocsp: OcspPolicy::Require,
            loa_by_ca: [("Hamn Test SITHS CA".to_owned(), 3)].into(),
            launch_min_loa: None,
        }
    }
}

/// What curl got back.
struct Reply {
    status: u16,
    headers: String,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Vec<String> {
        self.headers
            .lines()
            .filter_map(|l| l.split_once(':'))
            .filter(|(n, _)| n.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_owned())
            .collect()
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// How curl identifies itself.
enum Card<'a> {
    None,
    P12(PathBuf),
    Pem(&'a Path, &'a Path),
}

impl Siths {
    async fn start() -> Siths {
        Self::start_with(RevocationPolicy::Require, |_| {}).await
    }

    /// Starts with revocation `policy`; `prepare` runs on the fresh dev PKI before the CRL
    /// is first loaded.
    async fn start_with(policy: RevocationPolicy, prepare: impl FnOnce(&DevPki)) -> Siths {
        let options = Options {
            revocation: policy,
            ..Options::default()
        };
        Self::start_opts(options, prepare).await
    }

    async fn start_opts(options: Options, prepare: impl FnOnce(&DevPki)) -> Siths {
        let policy = options.revocation;
        let dir = tempfile::tempdir().expect("temp dir");
        let database = Database::connect(&DatabaseConfig {
            url: format!("sqlite://{}?mode=rwc", dir.path().join("hamn.db").display()),
            max_connections: 5,
        })
        .await
        .expect("open SQLite");
        database.migrate().await.expect("migrations");
        // The demo user carries card 1's HSA-ID.
        let ids = hamn_broker::seed::demo(
            &database,
            hamn_broker::DemoSeed {
                host_port: 1,
                secrets_key: Some(SecretsKey::generate().expect("secrets key")),
                ..Default::default()
            },
        )
        .await
        .expect("demo seed");
        let keys = TicketKeys::load_or_create(dir.path()).expect("ticket keys");
        let pki = DevPki::init(&dir.path().join("certs")).expect("dev PKI");
        prepare(&pki);

        let portal_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let siths_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let portal_url = format!(
            "https://localhost:{}",
            portal_listener.local_addr().expect("addr").port()
        );
        let siths_url = format!(
            "https://localhost:{}",
            siths_listener.local_addr().expect("addr").port()
        );
        let api = Arc::new(PortalApi {
            database: database.clone(),
            issuer: TicketIssuer::new(Arc::new(keys)),
            origin: origin_of(&portal_url),
            web_sessions: WebSessionPolicy::default(),
            demo_login: false,
            siths_login_url: Some(format!("{siths_url}/siths/login")),
            launch_min_loa: options.launch_min_loa,
            access: hamn_gateway::PortalAccess::default(),
            saml: false,
            rdp_signer: None,
            print_data_dir: std::path::PathBuf::from("/nonexistent/prints"),
            print_public_url: None,
        });
        let shutdown = CancellationToken::new();
        let portal = hamn_gateway::router(PortalState {
            database: database.clone(),
            sessions: None,
            api: Some(api.clone()),
        });
        let files = pki.server_cert_files();
        tokio::spawn(hamn_certs::serve(
            portal_listener,
            hamn_certs::server::server_config(&files).expect("TLS"),
            portal,
            shutdown.clone(),
        ));
        let ca = pki.paths.siths_ca_cert();
        let revocation = Arc::new(
            Revocation::new(policy, &ca, vec![pki.paths.siths_crl()]).expect("SITHS CRLs"),
        );
        tokio::spawn(revocation.clone().watch(
            Duration::from_secs(3600),
            hamn_certs::crl::CHANGE_POLL,
            shutdown.clone(),
        ));
        let ocsp = Arc::new(
            OcspChecker::new(options.ocsp, &ca, Duration::from_secs(3)).expect("OCSP checker"),
        );
        let siths = hamn_gateway::siths_router(Arc::new(SithsLogin {
            api,
            verifier: ClientCertVerifier::from_ca_pem_file(&ca)
                .expect("SITHS CA")
                .with_revocation(revocation.clone())
                .with_ocsp(ocsp.clone()),
            portal_url: portal_url.clone(),
            loa_by_ca: options.loa_by_ca,
        }));
        tokio::spawn(hamn_certs::serve(
            siths_listener,
            hamn_certs::server::server_config_requesting_client_cert(&files, &ca).expect("TLS"),
            siths,
            shutdown.clone(),
        ));
        Siths {
            database,
            ids,
            pki,
            portal_url,
            siths_url,
            shutdown,
            dir,
            revocation,
            ocsp,
        }
    }

    /// Waits (at most a minute) until the CRL watcher has accepted `accepted` and rejected
    /// `rejected` CRLs in all, so a test knows a file change was seen before it logs in.
    async fn crl_counts_reach(&self, accepted: u64, rejected: u64) {
        for _ in 0..600 {
            let (a, r) = self.revocation.counts();
            if a >= accepted && r >= rejected {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "CRL watcher saw {:?}, wanted ({accepted}, {rejected})",
            self.revocation.counts()
        );
    }

    /// The refused `user.login` events with `reason`.
    async fn refusals(&self, reason: &str) -> usize {
        let detail = format!("method siths; refused: {reason}");
        self.logins()
            .await
            .iter()
            .filter(|e| e.outcome == AuditOutcome::Refused && e.detail.as_deref() == Some(&detail))
            .count()
    }

    /// A card from the test SITHS CA (or `ca`), written as PEM; returns (cert, key).
    fn card(
        &self,
        name: &str,
        cn: &str,
        opts: &ClientCertOptions,
        ca: Option<(&str, &str)>,
    ) -> (PathBuf, PathBuf) {
        let read = |p: PathBuf| std::fs::read_to_string(p).expect("SITHS CA file");
        let (ca_cert, ca_key) = (
            read(self.pki.paths.siths_ca_cert()),
            read(self.pki.paths.siths_ca_key()),
        );
        let (ca_cert, ca_key) = ca.unwrap_or((&ca_cert, &ca_key));
        let issued = issue_client_cert(ca_cert, ca_key, cn, opts).expect("issue card");
        let cert = self.dir.path().join(format!("{name}.crt"));
        let key = self.dir.path().join(format!("{name}.key"));
        std::fs::write(&cert, issued.cert_pem).expect("write card");
        std::fs::write(&key, issued.key_pem).expect("write key");
        (cert, key)
    }

    async fn curl(&self, url: String, card: Card<'_>, extra: &[&str]) -> Reply {
        let mut args: Vec<String> = vec![
            "-sS".into(),
            "--cacert".into(),
            self.pki.paths.ca_cert().display().to_string(),
            "-D".into(),
            "-".into(),
            "-o".into(),
            self.dir.path().join("body").display().to_string(),
            "-w".into(),
            "\n%{http_code}".into(),
        ];
        match card {
            Card::None => {}
            Card::P12(path) => args.extend([
                "--cert-type".into(),
                "P12".into(),
                "--cert".into(),
                format!("{}:{P12_PASSWORD}", path.display()),
            ]),
            Card::Pem(cert, key) => args.extend([
                "--cert".into(),
                cert.display().to_string(),
                "--key".into(),
                key.display().to_string(),
            ]),
        }
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        args.push(url);
        let body_path = self.dir.path().join("body");
        tokio::task::spawn_blocking(move || {
            let out = std::process::Command::new("curl")
                .args(&args)
                .output()
                .expect("run curl");
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            let (headers, code) = text.rsplit_once('\n').unwrap_or((&text, "0"));
            Reply {
                status: code.trim().parse().unwrap_or(0),
                headers: headers.to_owned(),
                body: std::fs::read_to_string(&body_path).unwrap_or_default(),
            }
        })
        .await
        .expect("curl task")
    }

    async fn login(&self, card: Card<'_>, extra: &[&str]) -> Reply {
        self.curl(format!("{}/siths/login", self.siths_url), card, extra)
            .await
    }

    async fn logins(&self) -> Vec<AuditEvent> {
        let mut conn = self.database.pool().acquire().await.expect("conn");
        repo::audit::list(
            &mut conn,
            &AuditFilter {
                action: Some("user.login".to_owned()),
                ..Default::default()
            },
            PageRequest::default(),
        )
        .await
        .expect("audit")
        .items
    }
}

impl Drop for Siths {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

const JSON: [&str; 2] = ["-H", "Accept: application/json"];

fn person(hsa_id: &str) -> ClientCertOptions {
    ClientCertOptions {
        subject_serial_number: Some(hsa_id.to_owned()),
        person_name: Some(("Test".into(), "Testsson".into())),
        ..Default::default()
    }
}

#[tokio::test]
async fn card_one_logs_in_as_the_demo_user_and_the_portal_knows_them() {
    let siths = Siths::start().await;
    let reply = siths
        .login(Card::P12(siths.pki.paths.siths_card_p12(1)), &[])
        .await;
    assert_eq!(reply.status, 303, "{}\n{}", reply.headers, reply.body);
    assert_eq!(reply.header("location").concat(), siths.portal_url);
    let cookie = reply.header("set-cookie").concat();
    let attributes: Vec<&str> = cookie.split(';').map(str::trim).collect();
    // Lax, so the IdP's cross-site POST to the SAML ACS ends logged in; CSRF tokens
    // guard state changes instead.
    for wanted in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(attributes.contains(&wanted), "{wanted} missing: {cookie}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");
    let token = attributes[0]
        .strip_prefix(&format!("{SESSION_COOKIE}="))
        .expect("the session cookie");
    assert_eq!(token.len(), 43, "{cookie}");

    // Cookies are not port-specific: the portal listener takes this one.
    let cookie_header = format!("Cookie: {SESSION_COOKIE}={token}");
    let me = siths
        .curl(
            format!("{}/portal/api/me", siths.portal_url),
            Card::None,
            &["-H", &cookie_header],
        )
        .await;
    assert_eq!(me.status, 200, "{}", me.body);
    let me = me.json();
    assert_eq!(me["user"]["display_name"], "Åsa Öberg");
    assert_eq!(me["user"]["hsa_id"], "SE2321000016-0001");
    assert_eq!(me["user"]["id"], siths.ids.user.to_string());
    assert_eq!(me["method"], "siths");

    let logins = siths.logins().await;
    assert_eq!(logins.len(), 1, "{logins:?}");
    assert_eq!(logins[0].outcome, AuditOutcome::Success);
    assert_eq!(logins[0].actor_id, Some(siths.ids.user.to_string()));
    assert_eq!(logins[0].source_address.as_deref(), Some("127.0.0.1"));
    assert_eq!(
        logins[0].detail.as_deref(),
        Some("method siths; hsa_id SE2321000016-0001; loa3")
    );

    // A second login from the same browser ends the first session and issues a new token.
    let again = siths
        .login(
            Card::P12(siths.pki.paths.siths_card_p12(1)),
            &["-H", &cookie_header],
        )
        .await;
    assert_eq!(again.status, 303);
    assert!(!again.header("set-cookie").concat().contains(token));
    let old = siths
        .curl(
            format!("{}/portal/api/me", siths.portal_url),
            Card::None,
            &["-H", &cookie_header],
        )
        .await;
    assert_eq!(old.status, 401, "{}", old.body);

    // The login page learns where the SITHS listener is.
    let methods = siths
        .curl(
            format!("{}/portal/api/login-methods", siths.portal_url),
            Card::None,
            &[],
        )
        .await;
    assert_eq!(methods.status, 200);
    assert_eq!(
        methods.json()["siths_url"],
        format!("{}/siths/login", siths.siths_url)
    );
    assert_eq!(methods.json()["demo"], false);
}

#[tokio::test]
async fn bad_cards_and_no_card_are_refused_with_their_reason_and_audited() {
    let siths = Siths::start().await;
    let long_ago = SystemTime::now() - Duration::from_secs(400 * 86400);
    let expired = siths.card(
        "expired",
        "Utgången Kortsson",
        &ClientCertOptions {
            validity: Some((long_ago, long_ago + Duration::from_secs(30 * 86400))),
            ..person("SE2321000016-0001")
        },
        None,
    );
    let foreign_ca = generate_ca("Främmande CA").expect("foreign CA");
    let foreign = siths.card(
        "foreign",
        "Främling Främlingsson",
        &person("SE2321000016-0001"),
        Some((&foreign_ca.cert_pem, &foreign_ca.key_pem)),
    );
    let personnummer = siths.card(
        "personnummer",
        "Per Nummersson",
        &person("197001011234"),
        None,
    );
    // A function certificate: an HSA-ID for a system, no person named in the subject.
    let function = siths.card(
        "function",
        "Journalsystem Ekdalen",
        &ClientCertOptions {
            subject_serial_number: Some("SE2321000016-F001".into()),
            ..Default::default()
        },
        None,
    );
    let unknown = siths.card(
        "unknown",
        "Okänd Okändsson",
        &person("SE2321000016-7777"),
        None,
    );
    let no_eku = siths.card(
        "no-eku",
        "Ingen Ekusson",
        &ClientCertOptions {
            extended_key_usage: ClientEku::Absent,
            ..person("SE2321000016-0001")
        },
        None,
    );
    let broken = (
        siths.pki.paths.siths_card_broken_cert(),
        siths.pki.paths.siths_card_broken_key(),
    );
    let cases: [(&str, Card<'_>, u16, &str); 8] = [
        (
            "broken card (emailProtection only)",
            Card::Pem(&broken.0, &broken.1),
            403,
            "no_client_auth",
        ),
        (
            "no EKU at all",
            Card::Pem(&no_eku.0, &no_eku.1),
            403,
            "no_client_auth",
        ),
        ("expired", Card::Pem(&expired.0, &expired.1), 403, "expired"),
        (
            "another CA",
            Card::Pem(&foreign.0, &foreign.1),
            403,
            "untrusted_issuer",
        ),
        (
            "personnummer only",
            Card::Pem(&personnummer.0, &personnummer.1),
            403,
            "personnummer_only",
        ),
        (
            "function certificate",
            Card::Pem(&function.0, &function.1),
            403,
            "function_certificate",
        ),
        (
            "unknown HSA-ID",
            Card::Pem(&unknown.0, &unknown.1),
            403,
            "unknown_hsa_id",
        ),
        ("no certificate", Card::None, 401, "no_certificate"),
    ];
    let count = cases.len();
    for (name, card, status, reason) in cases {
        let reply = siths.login(card, &JSON).await;
        assert_eq!(reply.status, status, "{name}: {}", reply.body);
        assert!(reply.header("set-cookie").is_empty(), "{name}");
        let body = reply.json();
        assert_eq!(body["reason"], reason, "{name}: {}", reply.body);
        assert_eq!(body["lang"], "sv", "{name}");
        assert!(
            reply
                .header("content-type")
                .concat()
                .contains("problem+json"),
            "{name}"
        );
        let logins = siths.logins().await;
        let refused = logins
            .iter()
            .find(|e| {
                e.detail
                    .as_deref()
                    .is_some_and(|d| d == format!("method siths; refused: {reason}"))
            })
            .unwrap_or_else(|| panic!("{name}: no audit event in {logins:?}"));
        assert_eq!(refused.outcome, AuditOutcome::Refused, "{name}");
        assert_eq!(refused.source_address.as_deref(), Some("127.0.0.1"));
    }
    let logins = siths.logins().await;
    assert_eq!(logins.len(), count, "{logins:?}");
    assert!(logins.iter().all(|e| e.outcome == AuditOutcome::Refused));
    let sessions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM web_sessions")
        .fetch_one(siths.database.pool())
        .await
        .expect("web sessions");
    assert_eq!(sessions, 0);
    // The refused function certificate is named in the audit log by what it presented.
    assert!(
        logins.iter().any(|e| e
            .actor_name
            .starts_with("Journalsystem Ekdalen [SE2321000016-F001]")),
        "{logins:?}"
    );

    // A browser gets a page: Swedish by default, English when asked for.
    let page = siths
        .login(Card::Pem(&personnummer.0, &personnummer.1), &[])
        .await;
    assert_eq!(page.status, 403);
    assert!(
        page.header("content-type")
            .concat()
            .starts_with("text/html")
    );
    assert!(page.body.contains("personnummer"), "{}", page.body);
    assert!(
        page.body.contains("Tillbaka till portalen"),
        "{}",
        page.body
    );
    assert!(page.body.contains(&siths.portal_url), "{}", page.body);
    let english = siths
        .curl(
            format!("{}/siths/login?lang=en", siths.siths_url),
            Card::Pem(&function.0, &function.1),
            &[],
        )
        .await;
    assert_eq!(english.status, 403);
    assert!(
        english.body.contains("function certificate cannot be used"),
        "{}",
        english.body
    );
    let accept_english = siths
        .login(
            Card::Pem(&unknown.0, &unknown.1),
            &[
                "-H",
                "Accept-Language: en-GB,en;q=0.9",
                "-H",
                "Accept: application/json",
            ],
        )
        .await;
    assert_eq!(accept_english.json()["lang"], "en");
    assert!(
        accept_english.json()["detail"]
            .as_str()
            .is_some_and(|d| d.contains("HSA-ID has no Hamn account")),
        "{}",
        accept_english.body
    );
}

/// Writes `pem` over `path` atomically, as a CRL publisher (or `hamn certs revoke-card`) does.
fn replace(path: &Path, pem: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, pem).expect("write CRL");
    std::fs::rename(&tmp, path).expect("replace CRL");
}

#[tokio::test]
async fn a_revoked_card_is_refused_without_a_restart_and_a_foreign_crl_changes_nothing() {
    let siths = Siths::start().await;
    let card = || Card::P12(siths.pki.paths.siths_card_p12(1));
    assert_eq!(siths.revocation.counts(), (1, 0), "the empty dev CRL loads");
    let reply = siths.login(card(), &JSON).await;
    assert_eq!(reply.status, 303, "{}", reply.body);

    // A CRL revoking card 1 but signed by another CA with the SITHS CA's very name: its
    // signature fails, it is rejected, and the good CRL stays in force.
    let twin = generate_ca("Hamn Test SITHS CA").expect("twin CA");
    let serial = {
        use rustls_pki_types::pem::PemObject;
        use x509_parser::prelude::{FromDer, X509Certificate};
        let pem = std::fs::read(siths.pki.paths.siths_card_cert(1)).expect("card");
        let der = rustls_pki_types::CertificateDer::from_pem_slice(&pem).expect("card PEM");
        let (_, cert) = X509Certificate::from_der(der.as_ref()).expect("card DER");
        cert.raw_serial().to_vec()
    };
    let forged = sign_crl(
        &twin.cert_pem,
        &twin.key_pem,
        &CrlOptions {
            revoked: vec![serial],
            ..CrlOptions::current()
        },
    )
    .expect("forged CRL");
    replace(&siths.pki.paths.siths_crl(), &forged);
    siths.crl_counts_reach(1, 1).await;
    let reply = siths.login(card(), &JSON).await;
    assert_eq!(reply.status, 303, "forged CRL took effect: {}", reply.body);

    // The dev PKI revokes card 1; the running listener picks the new CRL up.
    siths.pki.revoke_siths_card(1).expect("revoke card 1");
    siths.crl_counts_reach(2, 1).await;
    let reply = siths.login(card(), &JSON).await;
    assert_eq!(reply.status, 403, "{}", reply.body);
    assert_eq!(reply.json()["reason"], "revoked");
    assert!(reply.header("set-cookie").is_empty());
    assert_eq!(siths.refusals("revoked").await, 1);
    // The chain verified, so the audit event names the card, not just its fingerprint.
    let logins = siths.logins().await;
    assert!(
        logins.iter().any(|e| e
            .actor_name
            .starts_with("Åsa Öberg [SE2321000016-0001] sha256:")),
        "{logins:?}"
    );
    let page = siths.login(card(), &["-H", "Accept-Language: en"]).await;
    assert_eq!(page.status, 403);
    assert!(
        page.body.contains("data-reason=\"revoked\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("has been revoked"), "{}", page.body);
    let page = siths.login(card(), &[]).await;
    assert!(page.body.contains("är spärrat"), "{}", page.body);
    assert_eq!(siths.refusals("revoked").await, 3);
}

#[tokio::test]
async fn an_expired_crl_leaves_revocation_unknown_unless_checking_is_off() {
    let expire = |pki: &DevPki| {
        let read = |p: PathBuf| std::fs::read_to_string(p).expect("SITHS CA file");
        let day = Duration::from_secs(86400);
        let expired = sign_crl(
            &read(pki.paths.siths_ca_cert()),
            &read(pki.paths.siths_ca_key()),
            &CrlOptions {
                revoked: Vec::new(),
                this_update: SystemTime::now() - 3 * day,
                next_update: SystemTime::now() - day,
            },
        )
        .expect("expired CRL");
        replace(&pki.paths.siths_crl(), &expired);
    };
    let siths = Siths::start_with(RevocationPolicy::Require, expire).await;
    assert_eq!(siths.revocation.counts(), (0, 1));
    let reply = siths
        .login(Card::P12(siths.pki.paths.siths_card_p12(1)), &JSON)
        .await;
    assert_eq!(reply.status, 403, "{}", reply.body);
    assert_eq!(reply.json()["reason"], "revocation_unknown");
    assert_eq!(siths.refusals("revocation_unknown").await, 1);

    // Off: not even a card on a current CRL is refused (labs only).
    let lab = Siths::start_with(RevocationPolicy::Off, |pki| {
        pki.revoke_siths_card(1).expect("revoke card 1");
    })
    .await;
    let reply = lab
        .login(Card::P12(lab.pki.paths.siths_card_p12(1)), &JSON)
        .await;
    assert_eq!(reply.status, 303, "{}", reply.body);
}

/// A real OCSP responder: `openssl ocsp` answering from an OpenSSL index with the dev
/// PKI's delegated responder certificate. Killed on drop.
struct Responder {
    child: Option<std::process::Child>,
    url: String,
}

/// A TCP port nothing listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

impl Responder {
    /// The URL a responder on a fresh port will have; [`Self::start`] starts it.
    fn planned() -> Responder {
        Responder {
            child: None,
            url: format!("http://127.0.0.1:{}/", free_port()),
        }
    }

    /// Starts `openssl ocsp` on this responder's port with `index` (OpenSSL CA database
    /// lines) and waits until it accepts connections.
    async fn start(&mut self, siths: &Siths, index: &str) {
        let port = self
            .url
            .trim_end_matches('/')
            .rsplit(':')
            .next()
            .expect("port")
            .to_owned();
        let index_path = siths.dir.path().join(format!("ocsp-index-{port}.txt"));
        std::fs::write(&index_path, index).expect("write index");
        let paths = &siths.pki.paths;
        let mut child = std::process::Command::new("openssl")
            .arg("ocsp")
            .arg("-index")
            .arg(&index_path)
            .args(["-port", &port])
            .arg("-rsigner")
            .arg(paths.siths_ocsp_cert())
            .arg("-rkey")
            .arg(paths.siths_ocsp_key())
            .arg("-CA")
            .arg(paths.siths_ca_cert())
            // Answers are current for five minutes: what the cache keeps them for.
            .args(["-nmin", "5"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start openssl ocsp");
        // Ready once it says so. Not by connecting: this single-threaded responder waits
        // forever for a request on a connection that sends none.
        let stderr = child.stderr.take().expect("stderr");
        self.child = Some(child);
        let (tx, rx) = tokio::sync::oneshot::channel();
        // The reader drains stderr until the responder ends: a closed pipe would kill it
        // at its next log line.
        std::thread::spawn(move || {
            use std::io::BufRead;
            let mut tx = Some(tx);
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if line.contains("waiting for OCSP client connections")
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(());
                }
            }
        });
        let ready = tokio::time::timeout(Duration::from_secs(20), rx).await;
        assert!(
            matches!(ready, Ok(Ok(()))),
            "openssl ocsp did not start on {port}"
        );
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Siths {
    /// A card of the test SITHS CA for `hsa_id` naming `ocsp_url` as its responder, and
    /// its OpenSSL index line (revoked when `revoked`).
    fn ocsp_card(
        &self,
        name: &str,
        hsa_id: &str,
        ocsp_url: &str,
        revoked: bool,
    ) -> ((PathBuf, PathBuf), String) {
        let card = self.card(
            name,
            "Test Testsson",
            &ClientCertOptions {
                ocsp_url: Some(ocsp_url.to_owned()),
                ..person(hsa_id)
            },
            None,
        );
        let pem = std::fs::read_to_string(&card.0).expect("card PEM");
        let line = openssl_index_line(
            &pem,
            revoked.then(|| SystemTime::now() - Duration::from_secs(3600)),
        )
        .expect("index line");
        (card, line)
    }
}

#[tokio::test]
async fn ocsp_good_card_is_accepted_and_its_answer_cached_until_next_update() {
    let siths = Siths::start().await;
    let mut responder = Responder::planned();
    let (good, line) = siths.ocsp_card("ocsp-good", "SE2321000016-0001", &responder.url, false);
    responder.start(&siths, &line).await;
    let reply = siths.login(Card::Pem(&good.0, &good.1), &JSON).await;
    assert_eq!(reply.status, 303, "{}", reply.body);
    assert_eq!(siths.ocsp.requests(), 1);

    // The answer is current for five minutes: the next login asks nobody, not even when
    // the responder is gone.
    responder.stop();
    let again = siths.login(Card::Pem(&good.0, &good.1), &JSON).await;
    assert_eq!(again.status, 303, "{}", again.body);
    assert_eq!(siths.ocsp.requests(), 1, "the cached answer was not used");
    let logins = siths.logins().await;
    assert_eq!(logins.len(), 2);
    assert!(logins.iter().all(|e| e.outcome == AuditOutcome::Success));

    // A card with no responder named is judged by the CRL alone.
    let plain = siths
        .login(Card::P12(siths.pki.paths.siths_card_p12(1)), &JSON)
        .await;
    assert_eq!(plain.status, 303, "{}", plain.body);
    assert_eq!(siths.ocsp.requests(), 1);
}

#[tokio::test]
async fn ocsp_revoked_and_unknown_cards_are_refused_and_audited() {
    let siths = Siths::start().await;
    let mut responder = Responder::planned();
    let (revoked, revoked_line) =
        siths.ocsp_card("ocsp-revoked", "SE2321000016-0001", &responder.url, true);
    // Issued by the CA but missing from the responder's index: "unknown".
    let (stranger, _) = siths.ocsp_card("ocsp-unknown", "SE2321000016-0001", &responder.url, false);
    responder.start(&siths, &revoked_line).await;

    // The CRL does not list it: only OCSP knows it is revoked.
    let reply = siths.login(Card::Pem(&revoked.0, &revoked.1), &JSON).await;
    assert_eq!(reply.status, 403, "{}", reply.body);
    assert_eq!(reply.json()["reason"], "revoked");
    assert!(reply.header("set-cookie").is_empty());
    assert_eq!(siths.refusals("revoked").await, 1);
    // Revoked answers are cached too: a second try asks nobody.
    let again = siths.login(Card::Pem(&revoked.0, &revoked.1), &JSON).await;
    assert_eq!(again.json()["reason"], "revoked");
    assert_eq!(siths.ocsp.requests(), 1);

    let reply = siths
        .login(
            Card::Pem(&stranger.0, &stranger.1),
            &[
                "-H",
                "Accept-Language: en",
                "-H",
                "Accept: application/json",
            ],
        )
        .await;
    assert_eq!(reply.status, 403, "{}", reply.body);
    assert_eq!(reply.json()["reason"], "ocsp_unknown");
    assert!(
        reply.json()["detail"]
            .as_str()
            .is_some_and(|d| d.contains("does not know the card")),
        "{}",
        reply.body
    );
    assert_eq!(siths.refusals("ocsp_unknown").await, 1);
    // "unknown" is not cached: the responder is asked every time.
    let _ = siths
        .login(Card::Pem(&stranger.0, &stranger.1), &JSON)
        .await;
    assert_eq!(siths.ocsp.requests(), 3);
    // The chain verified, so the audit names the card.
    assert!(siths.logins().await.iter().all(|e| {
        e.actor_name
            .starts_with("Test Testsson [SE2321000016-0001] sha256:")
    }),);
    let sessions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM web_sessions")
        .fetch_one(siths.database.pool())
        .await
        .expect("web sessions");
    assert_eq!(sessions, 0);
}

#[tokio::test]
async fn ocsp_responder_down_refuses_the_card_unless_ocsp_is_off() {
    let siths = Siths::start().await;
    // Nothing ever listens there.
    let down = Responder::planned();
    let (card, _) = siths.ocsp_card("ocsp-down", "SE2321000016-0001", &down.url, false);
    let reply = siths.login(Card::Pem(&card.0, &card.1), &JSON).await;
    assert_eq!(reply.status, 403, "{}", reply.body);
    assert_eq!(reply.json()["reason"], "revocation_unknown");
    assert_eq!(siths.refusals("revocation_unknown").await, 1);
    assert_eq!(siths.ocsp.requests(), 1);

    // With OCSP off (labs only) the same card logs in and nobody is asked.
    let lab = Siths::start_opts(
        Options {
            ocsp: OcspPolicy::Off,
            ..Options::default()
        },
        |_| {},
    )
    .await;
    let (card, _) = lab.ocsp_card("ocsp-off", "SE2321000016-0001", &down.url, false);
    let reply = lab.login(Card::Pem(&card.0, &card.1), &JSON).await;
    assert_eq!(reply.status, 303, "{}", reply.body);
    assert_eq!(lab.ocsp.requests(), 0);
}

impl Siths {
    /// `POST /siths/login` with card 1, as the organisation choice form does; empty
    /// `origin` or `cookie` headers are left out.
    async fn choose(&self, origin: &str, cookie: &str, body: String) -> Reply {
        let mut extra = vec!["-H", "Accept: application/json"];
        for header in [origin, cookie] {
            if !header.is_empty() {
                extra.extend(["-H", header]);
            }
        }
        extra.extend(["--data", &body]);
        self.login(Card::P12(self.pki.paths.siths_card_p12(1)), &extra)
            .await
    }

    /// The events of `action`.
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

    /// Logs in with test card 1 and returns the `Cookie:` header of the new session.
    async fn session_of_card_one(&self) -> String {
        let reply = self
            .login(Card::P12(self.pki.paths.siths_card_p12(1)), &JSON)
            .await;
        assert_eq!(reply.status, 303, "{}", reply.body);
        let cookie = reply.header("set-cookie").concat();
        let pair = cookie.split(';').next().expect("cookie pair").to_owned();
        format!("Cookie: {pair}")
    }

    /// `GET` on the portal listener with `cookie`.
    async fn portal_get(&self, path: &str, cookie: &str) -> Reply {
        self.curl(
            format!("{}{path}", self.portal_url),
            Card::None,
            &["-H", cookie],
        )
        .await
    }

    /// `POST /portal/api/launch` of the first app the user may launch, as the portal does.
    async fn launch_first_app(&self, cookie: &str) -> Reply {
        let apps = self.portal_get("/portal/api/apps", cookie).await;
        assert_eq!(apps.status, 200, "{}", apps.body);
        let app_id = apps.json()["environments"][0]["apps"][0]["id"]
            .as_str()
            .expect("an app")
            .to_owned();
        let origin = format!("Origin: {}", self.portal_url);
        let body = format!("{{\"app_id\":\"{app_id}\"}}");
        let me = self.portal_get("/portal/api/me", cookie).await;
        let csrf = format!(
            "X-CSRF-Token: {}",
            me.json()["csrf_token"].as_str().expect("csrf_token")
        );
        self.curl(
            format!("{}/portal/api/launch", self.portal_url),
            Card::None,
            &[
                "-H",
                cookie,
                "-H",
                &csrf,
                "-H",
                &origin,
                "-H",
                "Content-Type: application/json",
                "--data",
                &body,
            ],
        )
        .await
    }
}

#[tokio::test]
async fn the_issuing_cas_level_of_assurance_goes_with_the_session_and_launch_can_require_more() {
    // The test CA vouches for loa2 only; launching needs loa3.
    let weak = Siths::start_opts(
        Options {
            loa_by_ca: [("Hamn Test SITHS CA".to_owned(), 2)].into(),
            launch_min_loa: Some(3),
            ..Options::default()
        },
        |_| {},
    )
    .await;
    let cookie = weak.session_of_card_one().await;
    let me = weak.portal_get("/portal/api/me", &cookie).await;
    assert_eq!(me.json()["method"], "siths");
    assert_eq!(me.json()["loa"], 2, "{}", me.body);
    let launch = weak.launch_first_app(&cookie).await;
    assert_eq!(launch.status, 403, "{}", launch.body);
    assert_eq!(launch.json()["reason"], "loa_too_low");
    assert!(
        launch.json()["detail"]
            .as_str()
            .is_some_and(|d| d.contains("inte stark nog")),
        "{}",
        launch.body
    );
    let launches = weak.audit("session.launch").await;
    assert_eq!(launches.len(), 1, "{launches:?}");
    assert_eq!(launches[0].outcome, AuditOutcome::Refused);
    assert!(
        launches[0]
            .detail
            .as_deref()
            .is_some_and(|d| d.ends_with("refused: loa_too_low (loa2 < loa3)")),
        "{launches:?}"
    );
    assert!(
        weak.logins().await[0]
            .detail
            .as_deref()
            .is_some_and(|d| d.ends_with("; loa2"))
    );

    // A CA the map does not name establishes no level at all.
    let unnamed = Siths::start_opts(
        Options {
            loa_by_ca: HashMap::new(),
            launch_min_loa: Some(1),
            ..Options::default()
        },
        |_| {},
    )
    .await;
    let cookie = unnamed.session_of_card_one().await;
    let me = unnamed.portal_get("/portal/api/me", &cookie).await;
    assert_eq!(me.json()["loa"], Value::Null, "{}", me.body);
    let launch = unnamed.launch_first_app(&cookie).await;
    assert_eq!(launch.json()["reason"], "loa_too_low", "{}", launch.body);
    assert!(
        unnamed.audit("session.launch").await[0]
            .detail
            .as_deref()
            .is_some_and(|d| d.ends_with("(none < loa1)"))
    );

    // loa3 from the test CA meets the minimum: the launch is granted.
    let strong = Siths::start_opts(
        Options {
            launch_min_loa: Some(3),
            ..Options::default()
        },
        |_| {},
    )
    .await;
    let cookie = strong.session_of_card_one().await;
    let launch = strong.launch_first_app(&cookie).await;
    assert_eq!(launch.status, 200, "{}", launch.body);
    assert!(launch.json()["viewer_url"].as_str().is_some());
}

#[tokio::test]
async fn an_hsa_id_in_two_tenants_picks_its_organisation_on_a_protected_form() {
    let siths = Siths::start().await;
    // Card 1's holder also works at another organisation, with an account there.
    let (other_tenant, other_user) = {
        let mut conn = siths.database.pool().acquire().await.expect("conn");
        let tenant = repo::tenants::insert(
            &mut conn,
            &NewTenant {
                slug: "ekdalen".into(),
                name: "Ekdalens vårdcentral".into(),
            },
        )
        .await
        .expect("tenant");
        let user = repo::users::insert(
            &mut conn,
            tenant.id,
            &NewUser {
                name_id: "asa.oberg".into(),
                hsa_id: Some("SE2321000016-0001".into()),
                display_name: "Åsa Öberg".into(),
            },
        )
        .await
        .expect("user");
        (tenant.id, user.id)
    };
    let card = || Card::P12(siths.pki.paths.siths_card_p12(1));
    let page = siths.login(card(), &[]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.header("content-type")
            .concat()
            .starts_with("text/html")
    );
    for wanted in [
        "Välj organisation",
        "Ekdalens vårdcentral",
        &format!("value=\"{other_tenant}\""),
        &format!("value=\"{}\"", siths.ids.tenant),
        "action=\"/siths/login?lang=sv\"",
    ] {
        assert!(
            page.body.contains(wanted),
            "{wanted} missing: {}",
            page.body
        );
    }
    let set = page.header("set-cookie").concat();
    let attributes: Vec<&str> = set.split(';').map(str::trim).collect();
    for wanted in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(attributes.contains(&wanted), "{wanted} missing: {set}");
    }
    let token = attributes[0]
        .strip_prefix("__Host-hamn_siths_choice=")
        .expect("the choice cookie")
        .to_owned();
    let form_token = page
        .body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the form token");
    assert_eq!(form_token, token);
    // Nothing is logged in until the choice.
    assert!(siths.logins().await.is_empty());

    let cookie = format!("Cookie: __Host-hamn_siths_choice={token}");
    let own_origin = format!("Origin: {}", siths.siths_url);
    let genuine = format!("tenant={other_tenant}&csrf={token}");
    let cases = [
        (
            "Origin: https://evil.example".to_owned(),
            cookie.clone(),
            genuine.clone(),
            "cross_site_request",
        ),
        (
            String::new(),
            cookie.clone(),
            genuine.clone(),
            "cross_site_request",
        ),
        (
            own_origin.clone(),
            String::new(),
            genuine.clone(),
            "choice_token",
        ),
        (
            own_origin.clone(),
            cookie.clone(),
            format!("tenant={other_tenant}&csrf={}", "A".repeat(43)),
            "choice_token",
        ),
        (
            own_origin.clone(),
            cookie.clone(),
            format!("tenant={}&csrf={token}", uuid::Uuid::nil()),
            "tenant_not_offered",
        ),
    ];
    for (origin, cookie, body, reason) in cases {
        let reply = siths.choose(&origin, &cookie, body.clone()).await;
        assert_eq!(
            reply.status, 403,
            "{origin} {cookie} {body}: {}",
            reply.body
        );
        assert_eq!(reply.json()["reason"], reason, "{origin} {cookie} {body}");
        assert!(reply.header("set-cookie").is_empty());
        assert!(siths.refusals(reason).await >= 1, "{reason} not audited");
    }

    let chosen = siths.choose(&own_origin, &cookie, genuine).await;
    assert_eq!(chosen.status, 303, "{}", chosen.body);
    assert_eq!(chosen.header("location").concat(), siths.portal_url);
    let cookies = chosen.header("set-cookie");
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("__Host-hamn_siths_choice=;") && c.contains("Max-Age=0")),
        "{cookies:?}"
    );
    let session = cookies
        .iter()
        .find(|c| c.starts_with(&format!("{SESSION_COOKIE}=")))
        .and_then(|c| c.split(';').next())
        .expect("a session cookie");
    let me = siths
        .portal_get("/portal/api/me", &format!("Cookie: {session}"))
        .await;
    assert_eq!(
        me.json()["tenant"]["id"],
        other_tenant.to_string(),
        "{}",
        me.body
    );
    assert_eq!(me.json()["user"]["id"], other_user.to_string());
    assert_eq!(me.json()["loa"], 3);
    let success: Vec<_> = siths
        .logins()
        .await
        .into_iter()
        .filter(|e| e.outcome == AuditOutcome::Success)
        .collect();
    assert_eq!(success.len(), 1);
    assert_eq!(success[0].actor_id, Some(other_user.to_string()));

    // In English when asked for.
    let english = siths
        .curl(
            format!("{}/siths/login?lang=en", siths.siths_url),
            card(),
            &[],
        )
        .await;
    assert_eq!(english.status, 200);
    assert!(
        english.body.contains("Choose organisation"),
        "{}",
        english.body
    );
    assert!(english.body.contains("action=\"/siths/login?lang=en\""));
}

#[tokio::test]
async fn a_card_refused_again_and_again_is_held_back_with_when_to_retry() {
    let siths = Siths::start().await;
    let unknown = siths.card(
        "unknown",
        "Okänd Okändsson",
        &person("SE2321000016-7777"),
        None,
    );
    let free = hamn_broker::throttle::ThrottlePolicy::default().account_free;
    // The free failures and the one that starts the hold are refused for what they are.
    for _ in 0..=free {
        let reply = siths.login(Card::Pem(&unknown.0, &unknown.1), &JSON).await;
        assert_eq!(reply.status, 403, "{}", reply.body);
        assert_eq!(reply.json()["reason"], "unknown_hsa_id");
    }
    let held = siths.login(Card::Pem(&unknown.0, &unknown.1), &[]).await;
    assert_eq!(held.status, 429, "{}\n{}", held.headers, held.body);
    let retry: u64 = held
        .header("retry-after")
        .concat()
        .trim()
        .parse()
        .expect("Retry-After");
    assert!((1..=2).contains(&retry), "{retry}");
    assert!(
        held.body
            .contains("För många misslyckade inloggningsförsök"),
        "{}",
        held.body
    );
    assert!(held.body.contains("sekunder"), "{}", held.body);
    let english = siths
        .login(
            Card::Pem(&unknown.0, &unknown.1),
            &[
                "-H",
                "Accept: application/json",
                "-H",
                "Accept-Language: en",
            ],
        )
        .await;
    assert_eq!(english.status, 429);
    assert_eq!(english.json()["reason"], "throttled");
    assert!(
        english.json()["detail"]
            .as_str()
            .is_some_and(|d| d.starts_with("Too many failed login attempts")),
        "{}",
        english.body
    );
    assert_eq!(siths.refusals("throttled").await, 2);
    assert_eq!(
        siths.refusals("unknown_hsa_id").await,
        usize::try_from(free + 1).expect("n")
    );
    // Another card from the same address is not held back: the address has more room.
    let good = siths
        .login(Card::P12(siths.pki.paths.siths_card_p12(1)), &[])
        .await;
    assert_eq!(good.status, 303, "{}", good.body);
}
