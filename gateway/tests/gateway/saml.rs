//! SAML 2.0 login against a real, independent IdP: pysaml2 with Debian's xmlsec1
//! (`tests/saml_idp.py`), started here on loopback, signing with RSA-SHA256. The test is
//! the browser: it asks the gateway's `/saml/demo/login` for an AuthnRequest (signed
//! redirect, attempt cookie), hands the request to the IdP (which parses it with pysaml2
//! and answers for a chosen user and variant), and posts the answer to the ACS with the
//! cookie. Accepted: response signed, assertion signed, both, encrypted assertion (with
//! and without a response signature). Refused, each with its reason on the page and an
//! audited `user.login` refusal: tampered NameID, unsigned, SHA-1, expired, not yet
//! valid, wrong or missing audience, wrong Destination, wrong Recipient, wrong or reused
//! InResponseTo, replayed response, unsolicited response, AuthnContext below MFA, comment
//! in the NameID, and the XSW1–XSW8 corpus (`tests/fixtures/saml/xsw/`).

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hamn_broker::db::{Database, DatabaseConfig};
use hamn_broker::model::{
    AuditFilter, AuditOutcome, NewGroup, PageRequest, SamlAttributeMap, TenantSaml,
};
use hamn_broker::saml::{SpCredentials, SpUrls};
use hamn_broker::{DemoIds, SecretsKey, TicketIssuer, TicketKeys, WebSessionPolicy, repo};
use hamn_certs::DevPki;
use hamn_gateway::{PortalApi, PortalState, SESSION_COOKIE, SamlLogin, origin_of};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

const LOA3: &str = "http://id.elegnamnden.se/loa/1.0/loa3";

fn python() -> String {
    std::env::var("HAMN_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

struct Idp {
    child: Child,
    base: String,
}

impl Drop for Idp {
    fn drop(&mut self) {
        // Closing stdin ends the IdP; kill in case it hangs.
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Saml {
    database: Database,
    #[allow(dead_code)]
    ids: DemoIds,
    portal_url: String,
    shutdown: CancellationToken,
    dir: tempfile::TempDir,
    pki: DevPki,
    idp: Idp,
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

    fn cookie(&self, name: &str) -> Option<String> {
        self.header("set-cookie").into_iter().find_map(|c| {
            let first = c.split(';').next()?.trim().to_owned();
            let (n, v) = first.split_once('=')?;
            (n == name && !v.is_empty()).then(|| first.clone())
        })
    }

    /// The reason word of a refusal page.
    fn reason(&self) -> String {
        self.body
            .split("data-reason=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or("")
            .to_owned()
    }
}

impl Saml {
    async fn start() -> Saml {
        let dir = tempfile::tempdir().expect("temp dir");
        let database = Database::connect(&DatabaseConfig {
            url: format!("sqlite://{}?mode=rwc", dir.path().join("hamn.db").display()),
            max_connections: 5,
        })
        .await
        .expect("open SQLite");
        database.migrate().await.expect("migrations");
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
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let portal_url = format!(
            "https://localhost:{}",
            listener.local_addr().expect("addr").port()
        );
        let sp = SpCredentials::load(&pki.paths.saml_sp_key(), &pki.paths.saml_sp_cert())
            .expect("SP key pair from the dev PKI");
        let sp_entity_id = format!("{portal_url}/saml/demo/metadata");
        let urls = SpUrls::new(&portal_url, "demo");
        let sp_metadata = dir.path().join("sp-metadata.xml");
        std::fs::write(
            &sp_metadata,
            hamn_broker::saml::sp::sp_metadata(&sp_entity_id, &urls, &sp.cert_der),
        )
        .expect("write SP metadata");

        // The IdP: one JSON line with its URLs, then it serves until stdin closes.
        let idp_dir = dir.path().join("idp");
        std::fs::create_dir_all(&idp_dir).expect("idp dir");
        let mut child = Command::new(python())
            .arg(repo_root().join("tests/saml_idp.py"))
            .arg("--dir")
            .arg(&idp_dir)
            .arg("--sp-metadata")
            .arg(&sp_metadata)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the pysaml2 IdP (HAMN_TEST_PYTHON with pysaml2)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("IdP start line");
        let started: Value = serde_json::from_str(&line).expect("IdP start JSON");
        let base = started["base"].as_str().expect("base").to_owned();
        let idp_metadata =
            std::fs::read_to_string(started["metadata_file"].as_str().expect("metadata file"))
                .expect("IdP metadata");
        let idp = Idp { child, base };

        // The tenant's SAML configuration, judged as the admin API would.
        let idp_parsed = hamn_broker::saml::metadata::parse(
            &idp_metadata,
            time::OffsetDateTime::now_utc().unix_timestamp(),
        )
        .expect("pysaml2 metadata is acceptable");
        let now = time::OffsetDateTime::now_utc();
        {
            let mut conn = database.acquire().await.expect("conn");
            repo::saml::put(
                &mut conn,
                &TenantSaml {
                    tenant_id: ids.tenant,
                    enabled: true,
                    idp_metadata_xml: idp_metadata,
                    idp_metadata_url: None,
                    idp_entity_id: idp_parsed.entity_id,
                    sp_entity_id,
                    requested_authn_contexts: vec![LOA3.into()],
                    accepted_mfa_contexts: vec![LOA3.into()],
                    force_authn: false,
                    attributes: SamlAttributeMap {
                        personal_number: Some("urn:oid:1.2.752.29.4.13".into()),
                        groups: Some("urn:oid:1.3.6.1.4.1.5923.1.5.1.1".into()),
                        ..SamlAttributeMap::default()
                    },
                    created_at: now,
                    updated_at: now,
                },
            )
            .await
            .expect("tenant SAML config");
        }

        let api = Arc::new(PortalApi {
            database: database.clone(),
            issuer: TicketIssuer::new(Arc::new(keys)),
            origin: origin_of(&portal_url),
            web_sessions: WebSessionPolicy::default(),
            demo_login: false,
            siths_login_url: None,
            saml: true,
            launch_min_loa: None,
            access: hamn_gateway::PortalAccess::default(),
            rdp_signer: None,
            print_data_dir: std::path::PathBuf::from("/nonexistent/prints"),
            print_public_url: None,
        });
        let shutdown = CancellationToken::new();
        let app = hamn_gateway::router(PortalState {
            database: database.clone(),
            sessions: None,
            api: Some(api.clone()),
        })
        .merge(hamn_gateway::saml_router(Arc::new(SamlLogin {
            api,
            sp,
            public_url: portal_url.clone(),
        })));
        tokio::spawn(hamn_certs::serve(
            listener,
            hamn_certs::server::server_config(&pki.server_cert_files()).expect("TLS"),
            app,
            shutdown.clone(),
        ));
        Saml {
            database,
            ids,
            portal_url,
            shutdown,
            dir,
            pki,
            idp,
        }
    }

    async fn curl(&self, args: Vec<String>) -> Reply {
        let body_path = self.dir.path().join(format!("body-{}", rand_suffix()));
        let mut all: Vec<String> = vec![
            "-sS".into(),
            "--cacert".into(),
            self.pki.paths.ca_cert().display().to_string(),
            "-D".into(),
            "-".into(),
            "-o".into(),
            body_path.display().to_string(),
            "-w".into(),
            "\n%{http_code}".into(),
        ];
        all.extend(args);
        tokio::task::spawn_blocking(move || {
            let out = Command::new("curl").args(&all).output().expect("run curl");
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

    /// Starts a login: the IdP URL (AuthnRequest, RelayState) and the attempt cookie.
    async fn start_login(&self, cookie: Option<&str>) -> (String, String) {
        let mut args = vec![format!("{}/saml/demo/login", self.portal_url)];
        if let Some(c) = cookie {
            args.extend(["-H".into(), format!("Cookie: {c}")]);
        }
        let reply = self.curl(args).await;
        assert_eq!(reply.status, 303, "login: {}", reply.body);
        let location = reply.header("location").pop().expect("Location");
        assert!(
            location.starts_with(&format!("{}/sso?SAMLRequest=", self.idp.base)),
            "{location}"
        );
        assert!(
            location.contains("&RelayState=") && location.contains("&Signature="),
            "{location}"
        );
        let attempt = reply
            .cookie(hamn_gateway::ATTEMPT_COOKIE)
            .or_else(|| cookie.map(str::to_owned))
            .expect("attempt cookie");
        let flags = reply.header("set-cookie").join(" ");
        for flag in ["Secure", "HttpOnly", "SameSite=None", "Path=/"] {
            assert!(flags.contains(flag), "{flags}");
        }
        (location, attempt)
    }

    /// The IdP's answer to `location` for `user` with `variant` query parameters.
    async fn idp_answer(&self, location: &str, query: &str) -> Value {
        let reply = self
            .curl(vec![format!("{location}&format=json&{query}")])
            .await;
        assert_eq!(reply.status, 200, "IdP: {}", reply.body);
        serde_json::from_str(&reply.body).expect("IdP JSON")
    }

    async fn post_acs(
        &self,
        saml_response: &str,
        relay_state: Option<&str>,
        cookie: Option<&str>,
    ) -> Reply {
        let mut args = vec![
            "-H".into(),
            "Origin: null".into(),
            "-H".into(),
            "Accept-Language: en".into(),
            "--data-urlencode".into(),
            format!("SAMLResponse={saml_response}"),
        ];
        if let Some(r) = relay_state {
            args.extend(["--data-urlencode".into(), format!("RelayState={r}")]);
        }
        if let Some(c) = cookie {
            args.extend(["-H".into(), format!("Cookie: {c}")]);
        }
        args.push(format!("{}/saml/demo/acs", self.portal_url));
        self.curl(args).await
    }

    /// A whole login with `query` at the IdP; returns the ACS reply and the IdP answer.
    async fn login(&self, query: &str) -> (Reply, Value) {
        let (location, cookie) = self.start_login(None).await;
        let answer = self.idp_answer(&location, query).await;
        let reply = self
            .post_acs(
                answer["SAMLResponse"].as_str().expect("SAMLResponse"),
                answer["RelayState"].as_str(),
                Some(&cookie),
            )
            .await;
        (reply, answer)
    }

    async fn me(&self, session_cookie: &str) -> Reply {
        self.curl(vec![
            "-H".into(),
            format!("Cookie: {session_cookie}"),
            format!("{}/portal/api/me", self.portal_url),
        ])
        .await
    }

    /// Refused SAML logins with `reason` in the audit log.
    async fn refusals(&self, reason: &str) -> usize {
        let mut conn = self.database.acquire().await.expect("conn");
        let page = repo::audit::list(
            &mut conn,
            &AuditFilter {
                action: Some("user.login".into()),
                ..Default::default()
            },
            PageRequest {
                limit: 500,
                cursor: None,
            },
        )
        .await
        .expect("audit");
        let detail = format!("method saml; refused: {reason}");
        page.items
            .iter()
            .filter(|e| e.outcome == AuditOutcome::Refused && e.detail.as_deref() == Some(&detail))
            .count()
    }

    async fn assert_refused(&self, case: &str, reply: &Reply, reason: &str) {
        assert!(
            reply.status == 403 || reply.status == 400,
            "{case}: status {} body {}",
            reply.status,
            reply.body
        );
        assert_eq!(reply.reason(), reason, "{case}: {}", reply.body);
        assert!(
            reply.cookie(SESSION_COOKIE).is_none(),
            "{case}: no session cookie"
        );
        assert!(
            self.refusals(reason).await >= 1,
            "{case}: audited as {reason}"
        );
    }
}

impl Drop for Saml {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

fn rand_suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn decode(answer: &Value) -> String {
    let b64 = answer["SAMLResponse"].as_str().expect("SAMLResponse");
    String::from_utf8(STANDARD.decode(b64).expect("base64")).expect("UTF-8")
}

fn encode(xml: &str) -> String {
    STANDARD.encode(xml)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_and_encrypted_responses_log_in_with_just_in_time_users() {
    let saml = Saml::start().await;
    // A group the IdP's isMemberOf value maps to.
    {
        let mut conn = saml.database.acquire().await.expect("conn");
        repo::groups::insert(
            &mut conn,
            saml.ids.tenant,
            &NewGroup {
                name: "Hamn-användare".into(),
                external_id: Some("hamn-users".into()),
                grants_role: None,
            },
        )
        .await
        .expect("group");
    }
    for query in [
        "sign=response",
        "sign=assertion",
        "sign=both",
        "sign=both&encrypt=1",
        "sign=assertion&encrypt=1",
        "sign=response&encrypt=1",
    ] {
        let (reply, _) = saml.login(query).await;
        assert_eq!(reply.status, 303, "{query}: {}", reply.body);
        assert_eq!(
            reply.header("location"),
            vec![saml.portal_url.clone()],
            "{query}"
        );
        let cookie = reply.cookie(SESSION_COOKIE).expect("session cookie");
        let flags = reply.header("set-cookie").join(" ");
        for flag in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
            assert!(flags.contains(flag), "{query}: {flags}");
        }
        let me = saml.me(&cookie).await;
        assert_eq!(me.status, 200, "{query}: {}", me.body);
        let me: Value = serde_json::from_str(&me.body).expect("me");
        assert_eq!(me["method"], "saml", "{query}");
        assert_eq!(me["user"]["name_id"], "alice@hamn.test", "{query}");
        assert_eq!(me["user"]["hsa_id"], "SE2321000016-A001", "{query}");
        assert_eq!(me["user"]["display_name"], "Alice Andersson", "{query}");
    }
    // Just in time: one user, in the mapped group, with the personnummer kept because the
    // tenant maps it.
    let mut conn = saml.database.acquire().await.expect("conn");
    let user = repo::users::get_by_name_id(&mut conn, saml.ids.tenant, "alice@hamn.test")
        .await
        .expect("query")
        .expect("alice created at login");
    assert_eq!(
        repo::saml::personal_number(&mut conn, user.id)
            .await
            .expect("pn"),
        Some("197001011234".into())
    );
    let group = repo::groups::get_by_name(&mut conn, saml.ids.tenant, "Hamn-användare")
        .await
        .expect("query")
        .expect("group");
    assert!(
        repo::groups::get_member(&mut conn, group.id, user.id)
            .await
            .expect("member")
            .is_some()
    );
    // Bob's isMemberOf is empty: no membership.
    drop(conn);
    let (reply, _) = saml.login("user=bob").await;
    assert_eq!(reply.status, 303, "{}", reply.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_not_on_or_after_caps_the_web_session() {
    let saml = Saml::start().await;
    let (reply, _) = saml.login("session_not_on_or_after=600").await;
    assert_eq!(reply.status, 303, "{}", reply.body);
    let flags = reply.header("set-cookie").join(" ");
    let max_age: u64 = flags
        .split("Max-Age=")
        .nth(1)
        .and_then(|r| r.split(';').next())
        .and_then(|n| n.trim().parse().ok())
        .expect("Max-Age");
    assert!(max_age <= 600, "cookie lives {max_age}s, the IdP said 600");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_responses_are_refused_with_a_reason_and_an_audit_event() {
    let saml = Saml::start().await;
    for (query, reason) in [
        ("sign=none", "unsigned"),
        ("alg=sha1", "weak_signature_algorithm"),
        ("not_on_or_after=past", "expired"),
        ("not_before=future", "not_yet_valid"),
        ("audience=wrong", "wrong_audience"),
        ("audience=missing", "no_audience"),
        ("destination=wrong", "wrong_destination"),
        ("recipient=wrong", "wrong_recipient"),
        ("in_response_to=wrong", "wrong_in_response_to"),
        (
            "authn_context=urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
            "authn_context_not_mfa",
        ),
    ] {
        let (reply, _) = saml.login(query).await;
        saml.assert_refused(query, &reply, reason).await;
    }

    // Tampered NameID: a valid signed response with the NameID changed afterwards.
    let (location, cookie) = saml.start_login(None).await;
    let answer = saml.idp_answer(&location, "sign=both").await;
    let tampered = decode(&answer).replace("alice@hamn.test", "bob@hamn.test");
    let reply = saml
        .post_acs(
            &encode(&tampered),
            answer["RelayState"].as_str(),
            Some(&cookie),
        )
        .await;
    saml.assert_refused("tampered NameID", &reply, "bad_signature")
        .await;

    // Comment truncation: the IdP signs "alice@hamn.test.evil.example"; a comment after
    // "alice@hamn.test" leaves the signature valid (canonicalisation drops comments) but a
    // naive reader would see alice.
    let (location, cookie) = saml.start_login(None).await;
    let answer = saml
        .idp_answer(&location, "name_id=alice%40hamn.test.evil.example")
        .await;
    let commented = decode(&answer).replace(
        "alice@hamn.test.evil.example",
        "alice@hamn.test<!---->.evil.example",
    );
    let reply = saml
        .post_acs(
            &encode(&commented),
            answer["RelayState"].as_str(),
            Some(&cookie),
        )
        .await;
    saml.assert_refused("comment in NameID", &reply, "malformed_response")
        .await;

    // Unsolicited: an IdP-initiated response answers no request and has no RelayState.
    let reply = saml
        .curl(vec![format!("{}/unsolicited?format=json", saml.idp.base)])
        .await;
    let answer: Value = serde_json::from_str(&reply.body).expect("IdP JSON");
    let reply = saml
        .post_acs(
            answer["SAMLResponse"].as_str().expect("response"),
            None,
            None,
        )
        .await;
    saml.assert_refused("unsolicited", &reply, "unsolicited")
        .await;

    // Reused InResponseTo: after a good login, a fresh response for the same request.
    let (location, cookie) = saml.start_login(None).await;
    let first = saml.idp_answer(&location, "").await;
    let relay = first["RelayState"].as_str().expect("relay").to_owned();
    let ok = saml
        .post_acs(
            first["SAMLResponse"].as_str().expect("r"),
            Some(&relay),
            Some(&cookie),
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    let second = saml.idp_answer(&location, "").await;
    let reply = saml
        .post_acs(
            second["SAMLResponse"].as_str().expect("r"),
            Some(&relay),
            Some(&cookie),
        )
        .await;
    saml.assert_refused("reused InResponseTo", &reply, "unknown_request")
        .await;

    // Replayed: the accepted response posted again into a new login attempt.
    let (location, cookie) = saml.start_login(None).await;
    let fresh = saml.idp_answer(&location, "").await;
    let reply = saml
        .post_acs(
            first["SAMLResponse"].as_str().expect("r"),
            fresh["RelayState"].as_str(),
            Some(&cookie),
        )
        .await;
    saml.assert_refused("replayed", &reply, "replayed").await;

    // Another browser's attempt: the RelayState without its cookie.
    let (location, _cookie) = saml.start_login(None).await;
    let answer = saml.idp_answer(&location, "").await;
    let reply = saml
        .post_acs(
            answer["SAMLResponse"].as_str().expect("r"),
            answer["RelayState"].as_str(),
            Some("__Host-hamn_saml=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        )
        .await;
    saml.assert_refused("other browser", &reply, "wrong_browser")
        .await;
    // Swedish by default.
    let (location, cookie) = saml.start_login(None).await;
    let answer = saml.idp_answer(&location, "sign=none").await;
    let reply = saml
        .curl(vec![
            "--data-urlencode".into(),
            format!(
                "SAMLResponse={}",
                answer["SAMLResponse"].as_str().expect("r")
            ),
            "--data-urlencode".into(),
            format!("RelayState={}", answer["RelayState"].as_str().expect("r")),
            "-H".into(),
            format!("Cookie: {cookie}"),
            format!("{}/saml/demo/acs", saml.portal_url),
        ])
        .await;
    assert!(
        reply.body.contains("lang=\"sv\"") && reply.body.contains("signatur"),
        "{}",
        reply.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signature_wrapping_corpus_is_refused() {
    let saml = Saml::start().await;
    let dir = repo_root().join("tests/fixtures/saml/xsw");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("XSW corpus")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    files.sort();
    assert!(files.len() >= 8, "XSW1–XSW8 at least: {files:?}");
    for file in files {
        let xml = std::fs::read_to_string(&file).expect("fixture");
        let (location, cookie) = saml.start_login(None).await;
        let answer = saml.idp_answer(&location, "").await;
        let reply = saml
            .post_acs(&encode(&xml), answer["RelayState"].as_str(), Some(&cookie))
            .await;
        saml.assert_refused(&file.display().to_string(), &reply, "response_structure")
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_and_single_logout() {
    let saml = Saml::start().await;
    let reply = saml
        .curl(vec![format!("{}/saml/demo/metadata", saml.portal_url)])
        .await;
    assert_eq!(reply.status, 200);
    assert!(reply.body.contains("use=\"encryption\"") && reply.body.contains("use=\"signing\""));
    assert!(
        reply
            .body
            .contains(&format!("{}/saml/demo/acs", saml.portal_url))
    );
    let reply = saml
        .curl(vec![format!("{}/saml/nobody/login", saml.portal_url)])
        .await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.reason(), "saml_off");

    let (reply, _) = saml.login("").await;
    let cookie = reply.cookie(SESSION_COOKIE).expect("session");
    // A cross-site page cannot log the user out.
    let refused = saml
        .curl(vec![
            "-X".into(),
            "POST".into(),
            "-H".into(),
            "Origin: https://evil.example".into(),
            "-H".into(),
            format!("Cookie: {cookie}"),
            format!("{}/saml/demo/logout", saml.portal_url),
        ])
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(saml.me(&cookie).await.status, 200);
    let out = saml
        .curl(vec![
            "-X".into(),
            "POST".into(),
            "-H".into(),
            format!("Origin: {}", origin_of(&saml.portal_url)),
            "-H".into(),
            format!("Cookie: {cookie}"),
            format!("{}/saml/demo/logout", saml.portal_url),
        ])
        .await;
    assert_eq!(out.status, 200, "{}", out.body);
    let redirect: Value = serde_json::from_str(&out.body).expect("JSON");
    let slo = redirect["redirect"].as_str().expect("redirect");
    assert!(
        slo.starts_with(&format!("{}/slo?SAMLRequest=", saml.idp.base)),
        "{slo}"
    );
    assert!(slo.contains("&Signature="), "{slo}");
    assert_eq!(saml.me(&cookie).await.status, 401, "the web session ended");
    let at_idp = saml.curl(vec![slo.to_owned()]).await;
    assert_eq!(
        at_idp.status, 200,
        "the IdP took the LogoutRequest: {}",
        at_idp.body
    );
    let _ = writeln!(std::io::sink(), "{}", at_idp.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_logs_in_through_the_pysaml2_idp() {
    let saml = Saml::start().await;
    let out = tokio::process::Command::new("node")
        .arg(repo_root().join("tests/browser/saml.mjs"))
        .arg(&saml.portal_url)
        .arg("Alice Andersson")
        .current_dir(repo_root().join("tests"))
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(std::time::Duration::from_secs(120), out)
        .await
        .expect("the browser script finished in time")
        .expect("run node (./scripts/test installs it)");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Posting refused responses over and over holds the address back before any XML is
/// read: 429 with `Retry-After` and when to try again, audited as `throttled`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_posting_bad_responses_again_and_again_is_held_back() {
    let saml = Saml::start().await;
    let free = hamn_broker::throttle::ThrottlePolicy::default().address_free;
    for attempt in 0..=free {
        let reply = saml.post_acs("bm90IGEgcmVzcG9uc2U", Some("x"), None).await;
        assert!(
            (400..500).contains(&reply.status) && reply.status != 429,
            "attempt {attempt}: {} {}",
            reply.status,
            reply.body
        );
    }
    let held = saml.post_acs("bm90IGEgcmVzcG9uc2U", Some("x"), None).await;
    assert_eq!(held.status, 429, "{}", held.body);
    assert!(!held.header("retry-after").is_empty(), "{}", held.headers);
    assert!(
        held.body.contains("Too many failed login attempts"),
        "{}",
        held.body
    );
    assert_eq!(saml.refusals("throttled").await, 1);
}
