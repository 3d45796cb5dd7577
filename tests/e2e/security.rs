//! The security checks of issue 10 (item 4) against a real `hamn up`: TLS on every
//! listener (a hand-made ClientHello offering each weak protocol and suite, openssl as the
//! positive control), security headers and cookie flags on every route (the routes read
//! from the gateway's source and the admin API's OpenAPI document), CSRF on every
//! state-changing route, tenant isolation on every route that takes an id, ticket forgery
//! and replay on the browser and both native paths (`/wst/`, the RD Gateway's PAA cookie),
//! SAML and SITHS attack inputs, login throttling and the per-tenant API limit, and no
//! secret in the logs of a full run.
//! Every test adds to one tally and prints the running total
//! `security: <n> routes checked, <n> attack inputs tried, <n> refused as expected`; the
//! last such line printed is the suite's (`cargo test --test e2e security -- --nocapture`).
//! The larger SAML and SITHS corpora run in the gateway suite (`gateway/tests/gateway/
//! saml.rs`, `siths.rs`); the XSW files of `tests/fixtures/saml/xsw/` run here against
//! the live ACS.
//! Run under `flock /tmp/hamn-xrdp.lock` (one test drives Chromium).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hamn_broker::ticket::{Claims, TicketKeys};
use serde_json::{Value, json};

use crate::support::{HamnUp, TempDir, browser_script, id, repo};

// ---------------------------------------------------------------------------------------
// The tally and each test's findings

struct Tally {
    routes: BTreeSet<String>,
    tried: usize,
    refused: usize,
}

static TALLY: Mutex<Tally> = Mutex::new(Tally {
    routes: BTreeSet::new(),
    tried: 0,
    refused: 0,
});

/// What one test saw: routes it checked, attacks and whether each was refused, and every
/// failure (collected, so one run names them all).
struct Findings {
    name: &'static str,
    routes: BTreeSet<String>,
    tried: usize,
    refused: usize,
    failures: Vec<String>,
}

impl Findings {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            routes: BTreeSet::new(),
            tried: 0,
            refused: 0,
            failures: Vec::new(),
        }
    }

    fn route(&mut self, method: &str, path: &str) {
        self.routes.insert(format!("{method} {path}"));
    }

    /// One hostile input; `refused` says whether Hamn refused it as it must.
    fn attack(&mut self, what: impl std::fmt::Display, refused: bool) {
        self.tried += 1;
        if refused {
            self.refused += 1;
        } else {
            self.failures.push(format!("NOT REFUSED: {what}"));
        }
    }

    fn fail(&mut self, what: impl std::fmt::Display) {
        self.failures.push(what.to_string());
    }

    fn check(&mut self, ok: bool, what: impl std::fmt::Display) {
        if !ok {
            self.fail(what);
        }
    }

    /// Adds to the tally, prints this test's figures and the running total, then fails
    /// with every finding.
    fn finish(self) {
        let mut tally = TALLY
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        tally.routes.extend(self.routes.iter().cloned());
        tally.tried += self.tried;
        tally.refused += self.refused;
        println!(
            "security {}: {} routes, {} attack inputs, {} refused, {} findings",
            self.name,
            self.routes.len(),
            self.tried,
            self.refused,
            self.failures.len()
        );
        println!(
            "security: {} routes checked, {} attack inputs tried, {} refused as expected",
            tally.routes.len(),
            tally.tried,
            tally.refused
        );
        drop(tally);
        assert!(
            self.failures.is_empty(),
            "security {}: {} findings:\n{}",
            self.name,
            self.failures.len(),
            self.failures.join("\n")
        );
    }
}

// ---------------------------------------------------------------------------------------
// HTTP through curl

#[derive(Debug, Clone)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// A portal problem document refusing for CSRF reasons.
    fn csrf_refusal(&self) -> bool {
        self.status == 403
            && (self.body.contains("\"csrf_token\"") || self.body.contains("cross_site_request"))
    }

    fn short(&self) -> String {
        let body: String = self.body.chars().take(300).collect();
        format!("{} {body}", self.status)
    }
}

/// One request by curl (HTTP/1.1, so websocket upgrades are asked the way browsers do),
/// `ca` trusted; the status, every header and the body.
fn http(
    ca: &Path,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
    extra: &[&str],
) -> Resp {
    let scratch = std::env::temp_dir().join(format!(
        "hamn-security-{}-{}",
        std::process::id(),
        hex(&random_bytes(8))
    ));
    let mut command = Command::new("curl");
    command
        .args([
            "-sS",
            "--http1.1",
            "--max-time",
            "10",
            "-D",
            "-",
            "--cacert",
        ])
        .arg(ca)
        .args(extra);
    if method == "HEAD" {
        command.arg("-I");
    } else if method != "GET" {
        command.args(["-X", method]);
    }
    for (name, value) in headers {
        command.arg("-H").arg(format!("{name}: {value}"));
    }
    if let Some(body) = body {
        std::fs::write(&scratch, body).expect("write request body");
        command
            .arg("--data-binary")
            .arg(format!("@{}", scratch.display()));
    }
    let output = command
        .args(["-w", "\n%{http_code}", url])
        .output()
        .expect("run curl");
    let _ = std::fs::remove_file(&scratch);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let (all, code) = stdout.rsplit_once('\n').unwrap_or(("", &stdout));
    let (head, body) = all.split_once("\r\n\r\n").unwrap_or((all, ""));
    let headers = head
        .lines()
        .skip(1)
        .filter_map(|l| {
            let (n, v) = l.split_once(':')?;
            Some((n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        })
        .collect();
    Resp {
        status: code.trim().parse().unwrap_or(0),
        headers,
        body: body.to_owned(),
    }
}

fn ca(up: &HamnUp) -> PathBuf {
    up.certs().join("ca.crt")
}

fn portal_url(up: &HamnUp) -> String {
    format!("https://localhost:{}", up.ports.gateway)
}

/// The `name=value` of a `Set-Cookie` header.
fn cookie_pair(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// An id no object has.
const UNKNOWN_ID: &str = "0193f1e2-7a40-7000-8000-00000000dead";

/// Bytes from the standard library's per-process random hash keys.
fn random_bytes(n: usize) -> Vec<u8> {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        out.extend(hasher.finish().to_le_bytes());
    }
    out.truncate(n);
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Base64, standard with padding or URL-safe without.
fn b64_encode(bytes: &[u8], url: bool) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            let c = B64[((n >> (18 - 6 * i)) & 63) as usize];
            out.push(match (url, c) {
                (true, b'+') => '-',
                (true, b'/') => '_',
                _ => char::from(c),
            });
        }
        if !url {
            out.push_str(&"=".repeat(3 - chunk.len()));
        }
    }
    out
}

/// Either base64 alphabet, padded or not; what is not base64 is skipped.
fn unb64(text: &str) -> Vec<u8> {
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => continue,
        };
        bits = bits << 6 | u32::from(v);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push(((bits >> count) & 0xff) as u8);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// A person logged in to the portal

/// How a state-changing request presents itself to the CSRF layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Csrf {
    Right,
    Missing,
    Wrong,
    ForeignOrigin,
    NoOrigin,
    NotJson,
}

const HOSTILE: [Csrf; 5] = [
    Csrf::Missing,
    Csrf::Wrong,
    Csrf::ForeignOrigin,
    Csrf::NoOrigin,
    Csrf::NotJson,
];

#[derive(Debug, Clone)]
struct Portal {
    base: String,
    ca: PathBuf,
    /// `__Host-hamn_session=…`.
    cookie: String,
    csrf: String,
    me: Value,
    /// Every `Set-Cookie` the login answered with.
    set_cookies: Vec<String>,
}

impl Portal {
    /// The demo login (a name, no password; `tenant` when the name is in several).
    fn demo_login(up: &HamnUp, username: &str, tenant: Option<&str>) -> Result<Self, Resp> {
        let base = portal_url(up);
        let body = json!({"username": username, "tenant": tenant}).to_string();
        let answer = http(
            &ca(up),
            "POST",
            &format!("{base}/portal/api/demo-login"),
            &[("Origin", &base), ("Content-Type", "application/json")],
            Some(body.as_bytes()),
            &[],
        );
        if answer.status != 200 {
            return Err(answer);
        }
        let set_cookies: Vec<String> = answer
            .all("set-cookie")
            .into_iter()
            .map(str::to_owned)
            .collect();
        let cookie = set_cookies
            .iter()
            .find(|c| c.starts_with("__Host-hamn_session="))
            .map(|c| cookie_pair(c))
            .ok_or_else(|| answer.clone())?;
        Ok(Self::with_cookie(up, cookie, set_cookies))
    }

    fn with_cookie(up: &HamnUp, cookie: String, set_cookies: Vec<String>) -> Self {
        let base = portal_url(up);
        let me = http(
            &ca(up),
            "GET",
            &format!("{base}/portal/api/me"),
            &[("Cookie", &cookie)],
            None,
            &[],
        );
        assert_eq!(me.status, 200, "me: {}", me.short());
        let me = me.json();
        let csrf = me["csrf_token"].as_str().unwrap_or_default().to_owned();
        Self {
            base,
            ca: ca(up),
            cookie,
            csrf,
            me,
            set_cookies,
        }
    }

    fn login(up: &HamnUp, username: &str, tenant: Option<&str>) -> Self {
        Self::demo_login(up, username, tenant)
            .unwrap_or_else(|r| panic!("demo login {username}: {}\n{}", r.short(), up.logs()))
    }

    fn token(&self) -> &str {
        self.cookie.split_once('=').map_or("", |(_, v)| v)
    }

    fn get(&self, path: &str) -> Resp {
        http(
            &self.ca,
            "GET",
            &format!("{}{path}", self.base),
            &[("Cookie", &self.cookie)],
            None,
            &[],
        )
    }

    /// A request as the portal's page sends it, or as a forger would (`mode`).
    fn send(&self, method: &str, path: &str, body: Option<&Value>, mode: Csrf) -> Resp {
        if method == "GET" || method == "HEAD" {
            return self.get(path);
        }
        let foreign = "https://evil.example";
        let wrong = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        let mut headers: Vec<(&str, &str)> = vec![("Cookie", &self.cookie)];
        match mode {
            Csrf::ForeignOrigin => headers.push(("Origin", foreign)),
            Csrf::NoOrigin => {}
            _ => headers.push(("Origin", &self.base)),
        }
        match mode {
            Csrf::NotJson => headers.push(("Content-Type", "text/plain")),
            _ => headers.push(("Content-Type", "application/json")),
        }
        match mode {
            Csrf::Missing => {}
            Csrf::Wrong => headers.push(("X-CSRF-Token", wrong)),
            _ => headers.push(("X-CSRF-Token", &self.csrf)),
        }
        let text = body.map(Value::to_string).unwrap_or_else(|| "{}".into());
        http(
            &self.ca,
            method,
            &format!("{}{path}", self.base),
            &headers,
            Some(text.as_bytes()),
            &[],
        )
    }

    fn ok(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let answer = self.send(method, path, body, Csrf::Right);
        assert!(
            (200..300).contains(&answer.status),
            "{method} {path}: {}",
            answer.short()
        );
        answer.json()
    }
}

/// The seeded demo tenant's id and its app named `name`.
fn demo_app(up: &HamnUp, name: &str) -> (String, String) {
    let tenants = up.operator_ok("GET", "/tenants", None);
    let demo = tenants["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["slug"] == "demo")
        .map(id)
        .unwrap_or_else(|| panic!("no demo tenant in {tenants}"));
    let apps = up.operator_ok("GET", &format!("/tenants/{demo}/apps"), None);
    let app = apps["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["display_name"] == name)
        .map(id)
        .unwrap_or_else(|| panic!("no {name} in {apps}"));
    (demo, app)
}

/// Launches `app` on the browser path; (session id, ticket).
fn launch(portal: &Portal, app: &str) -> (String, String) {
    let launched = portal.ok("POST", "/portal/api/launch", Some(&json!({"app_id": app})));
    let ticket = launched["viewer_url"]
        .as_str()
        .and_then(|u| u.split_once("#ticket="))
        // The fragment goes on with `&app=…` (the viewer's relaunch).
        .and_then(|(_, t)| t.split('&').next())
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no ticket in {launched}"));
    (id_of(&launched["session_id"]), ticket)
}

fn id_of(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

/// The native launch's `.rdp` file and the reference in it (`gatewayaccesstoken`).
fn rdp_reference(portal: &Portal, app: &str) -> String {
    let answer = portal.send(
        "POST",
        &format!("/portal/api/apps/{app}/rdp"),
        Some(&json!({})),
        Csrf::Right,
    );
    assert_eq!(answer.status, 200, "rdp file: {}", answer.short());
    // UTF-16LE: the ASCII letters with NULs between them.
    let text: String = answer.body.chars().filter(|c| *c != '\0').collect();
    text.lines()
        .find_map(|l| l.trim().strip_prefix("gatewayaccesstoken:s:"))
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no gatewayaccesstoken in {text}"))
}

/// A websocket upgrade of `path`; the status (101: accepted) once the answer's head is in.
fn upgrade(up: &HamnUp, path: &str, bearer: Option<&str>) -> Resp {
    let auth = bearer.map(|b| format!("Bearer {b}"));
    let mut headers = vec![
        ("Connection", "Upgrade"),
        ("Upgrade", "websocket"),
        ("Sec-WebSocket-Version", "13"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];
    if let Some(auth) = &auth {
        headers.push(("Authorization", auth));
    }
    // After a 101 curl waits for a body that never ends: the time limit ends it.
    http(
        &ca(up),
        "GET",
        &format!("{}{path}", portal_url(up)),
        &headers,
        None,
        &["--max-time", "3"],
    )
}

// ---------------------------------------------------------------------------------------
// 1. TLS

/// What a listener answered to a ClientHello.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hello {
    /// A ServerHello choosing this suite.
    Accepted(u16),
    /// A TLS alert with this description.
    Alert(u8),
    /// The connection closed, or something that is not TLS came back.
    Closed,
}

/// A TLS ClientHello with `version` in the hello, offering only `suites`, with the
/// extensions a modern client sends (SNI, groups, point formats, signature algorithms).
fn client_hello(version: u16, suites: &[u16]) -> Vec<u8> {
    fn u16s(out: &mut Vec<u8>, values: &[u16]) {
        for v in values {
            out.extend(v.to_be_bytes());
        }
    }
    fn with_len(out: &mut Vec<u8>, inner: &[u8]) {
        out.extend(u16::try_from(inner.len()).unwrap_or(0).to_be_bytes());
        out.extend(inner);
    }
    let mut ext = Vec::new();
    // server_name
    let host = b"localhost";
    let mut name = vec![0u8];
    with_len(&mut name, host);
    let mut list = Vec::new();
    with_len(&mut list, &name);
    ext.extend(0u16.to_be_bytes());
    with_len(&mut ext, &list);
    // supported_groups: x25519, secp256r1, secp384r1
    let mut groups = Vec::new();
    u16s(&mut groups, &[0x001d, 0x0017, 0x0018]);
    let mut body = Vec::new();
    with_len(&mut body, &groups);
    ext.extend(0x000au16.to_be_bytes());
    with_len(&mut ext, &body);
    // ec_point_formats: uncompressed
    ext.extend(0x000bu16.to_be_bytes());
    with_len(&mut ext, &[1, 0]);
    // signature_algorithms
    let mut algs = Vec::new();
    u16s(
        &mut algs,
        &[
            0x0403, 0x0503, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0201,
        ],
    );
    let mut body = Vec::new();
    with_len(&mut body, &algs);
    ext.extend(0x000du16.to_be_bytes());
    with_len(&mut ext, &body);

    let mut hello = Vec::new();
    hello.extend(version.to_be_bytes());
    hello.extend(random_bytes(32));
    hello.push(0); // no session id
    let mut list = Vec::new();
    u16s(&mut list, suites);
    with_len(&mut hello, &list);
    hello.extend([1, 0]); // null compression only
    with_len(&mut hello, &ext);

    let mut handshake = vec![1u8];
    handshake.extend(&u32::try_from(hello.len()).unwrap_or(0).to_be_bytes()[1..]);
    handshake.extend(hello);
    let mut record = vec![0x16, 0x03, 0x01];
    with_len(&mut record, &handshake);
    record
}

fn send_hello(port: u16, hello: &[u8]) -> Hello {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return Hello::Closed;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    if stream.write_all(hello).is_err() {
        return Hello::Closed;
    }
    let mut head = [0u8; 5];
    if stream.read_exact(&mut head).is_err() {
        return Hello::Closed;
    }
    let len = usize::from(u16::from_be_bytes([head[3], head[4]]));
    let mut body = vec![0u8; len.min(16 * 1024)];
    if stream.read_exact(&mut body).is_err() {
        return Hello::Closed;
    }
    match head[0] {
        0x15 if body.len() >= 2 => Hello::Alert(body[1]),
        // ServerHello: type, length(3), version(2), random(32), session id, suite.
        0x16 if body.first() == Some(&2) && body.len() > 39 => {
            let sid = usize::from(body[38]);
            match body.get(39 + sid..41 + sid) {
                Some(s) => Hello::Accepted(u16::from_be_bytes([s[0], s[1]])),
                None => Hello::Closed,
            }
        }
        _ => Hello::Closed,
    }
}

/// The suites a strong TLS 1.2 server may choose: ECDHE with AES-GCM or ChaCha20-Poly1305.
const STRONG_TLS12: [u16; 6] = [0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca8, 0xcca9];

/// Weak suites, each offered alone: (name, code point).
const WEAK_SUITES: &[(&str, u16)] = &[
    ("NULL-MD5", 0x0001),
    ("NULL-SHA", 0x0002),
    ("NULL-SHA256", 0x003b),
    ("ECDHE-ECDSA-NULL-SHA", 0xc006),
    ("ECDHE-RSA-NULL-SHA", 0xc010),
    ("EXP-RC4-MD5", 0x0003),
    ("EXP-RC2-CBC-MD5", 0x0006),
    ("EXP-DES-CBC-SHA", 0x0008),
    ("EXP-EDH-RSA-DES-CBC-SHA", 0x0014),
    ("RC4-MD5", 0x0004),
    ("RC4-SHA", 0x0005),
    ("ECDHE-ECDSA-RC4-SHA", 0xc007),
    ("ECDHE-RSA-RC4-SHA", 0xc011),
    ("DES-CBC-SHA", 0x0009),
    ("DES-CBC3-SHA", 0x000a),
    ("ECDHE-ECDSA-DES-CBC3-SHA", 0xc008),
    ("ECDHE-RSA-DES-CBC3-SHA", 0xc012),
    ("AES128-SHA", 0x002f),
    ("AES256-SHA", 0x0035),
    ("AES128-SHA256", 0x003c),
    ("AES128-GCM-SHA256 (no forward secrecy)", 0x009c),
    ("AES256-GCM-SHA384 (no forward secrecy)", 0x009d),
    ("DHE-RSA-AES128-SHA", 0x0033),
    ("ECDHE-ECDSA-AES128-SHA", 0xc009),
    ("ECDHE-RSA-AES128-SHA", 0xc013),
    ("ECDHE-RSA-AES256-SHA", 0xc014),
    ("ECDHE-ECDSA-AES128-SHA256", 0xc023),
    ("ECDHE-RSA-AES128-SHA256", 0xc027),
    ("ADH-RC4-MD5", 0x0018),
    ("ADH-AES128-SHA", 0x0034),
    ("AECDH-AES128-SHA", 0xc018),
];

/// openssl s_client's output for one handshake.
fn s_client(port: u16, args: &[&str]) -> (bool, String) {
    let output = Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .args(["-servername", "localhost"])
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run openssl s_client");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let ok = output.status.success() && !text.contains("Cipher is (NONE)");
    (ok, text)
}

#[test]
fn security_tls_listeners_speak_only_strong_tls() {
    let up = HamnUp::start(&[]);
    let mut f = Findings::new("tls");
    let listeners = [
        ("portal", up.ports.gateway),
        ("SITHS", up.ports.siths),
        ("broker admin API", up.ports.broker),
        ("print service", up.ports.print),
        ("metrics", up.ports.metrics),
    ];
    for (name, port) in listeners {
        f.route("TLS", name);
        // Positive controls: the raw hello and openssl get through with strong settings,
        // so a refusal below is the server's.
        match send_hello(port, &client_hello(0x0303, &STRONG_TLS12)) {
            Hello::Accepted(suite) => f.check(
                STRONG_TLS12.contains(&suite),
                format!("{name}: TLS 1.2 chose suite {suite:#06x}"),
            ),
            other => f.fail(format!("{name}: a strong TLS 1.2 hello got {other:?}")),
        }
        for (version, flag) in [("TLSv1.2", "-tls1_2"), ("TLSv1.3", "-tls1_3")] {
            let (ok, text) = s_client(port, &[flag]);
            f.check(
                ok && text.contains(&format!("Protocol  : {version}"))
                    || text.contains(&format!("New, {version}")),
                format!("{name}: openssl {flag} did not connect: {text}"),
            );
            if version == "TLSv1.2" {
                let chosen = text
                    .lines()
                    .find_map(|l| l.trim().strip_prefix("Cipher    : "))
                    .unwrap_or_default()
                    .to_owned();
                f.check(
                    chosen.starts_with("ECDHE-")
                        && (chosen.contains("GCM") || chosen.contains("CHACHA20")),
                    format!("{name}: TLS 1.2 negotiated {chosen:?}"),
                );
            }
        }
        // Old protocol versions with strong suites: refused for the version.
        for (label, version) in [
            ("SSL 3.0", 0x0300),
            ("TLS 1.0", 0x0301),
            ("TLS 1.1", 0x0302),
        ] {
            let answer = send_hello(port, &client_hello(version, &STRONG_TLS12));
            f.attack(
                format!("{name}: {label} hello answered {answer:?}"),
                !matches!(answer, Hello::Accepted(_)),
            );
        }
        for (flag, label) in [("-tls1", "TLS 1.0"), ("-tls1_1", "TLS 1.1")] {
            let (ok, text) = s_client(port, &[flag, "-cipher", "DEFAULT:@SECLEVEL=0"]);
            // The server's alert proves the hello left the client (OpenSSL 3 may refuse
            // old versions itself, which would prove nothing).
            f.attack(
                format!("{name}: openssl {label}: {text}"),
                !ok && text.contains("alert"),
            );
        }
        // Each weak suite alone, in a TLS 1.2 hello.
        for (suite, code) in WEAK_SUITES {
            let answer = send_hello(port, &client_hello(0x0303, &[*code]));
            f.attack(
                format!("{name}: {suite} answered {answer:?}"),
                !matches!(answer, Hello::Accepted(_)),
            );
        }
    }

    // The plaintext listener only redirects, whatever it is asked, and speaks no TLS.
    f.route("HTTP", "redirect");
    let portal = portal_url(&up);
    for (method, path) in [
        ("GET", "/"),
        ("GET", "/portal/api/me"),
        ("POST", "/portal/api/demo-login"),
        ("GET", "/api/v1/tenants"),
        ("PUT", "/api/v1/tenants"),
    ] {
        let answer = http(
            &ca(&up),
            method,
            &format!("http://127.0.0.1:{}{path}", up.ports.redirect),
            &[("Content-Type", "application/json")],
            (method != "GET").then_some(b"{\"username\":\"demo\"}".as_slice()),
            &[],
        );
        let location = answer.header("location").unwrap_or_default().to_owned();
        f.attack(
            format!(
                "plaintext {method} {path}: {} to {location:?}",
                answer.short()
            ),
            (301..=308).contains(&answer.status)
                && location == format!("{portal}{path}")
                && !answer.body.contains("csrf"),
        );
    }
    let answer = send_hello(up.ports.redirect, &client_hello(0x0303, &STRONG_TLS12));
    f.check(
        !matches!(answer, Hello::Accepted(_)),
        format!("the redirect listener speaks TLS: {answer:?}"),
    );
    f.finish();
}

// ---------------------------------------------------------------------------------------
// 2 and 3. Headers, cookies and CSRF on every route

/// A route of the gateway as its source declares it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct SourceRoute {
    method: String,
    path: String,
    file: String,
}

/// Every `.route("path", method(…)…)` in the gateway's and the web client's sources
/// (test modules left out), so a route added there is checked without editing this file.
fn source_routes() -> Vec<SourceRoute> {
    let mut files = Vec::new();
    let mut dirs = vec![repo().join("gateway/src"), repo().join("web-client/src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read source dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let mut routes = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read source");
        let text = text.split("#[cfg(test)]").next().unwrap_or_default();
        let name = file
            .strip_prefix(repo())
            .unwrap_or(&file)
            .display()
            .to_string();
        let mut rest = text;
        while let Some(at) = rest.find(".route(") {
            rest = &rest[at + 7..];
            let arg = rest.trim_start();
            let path = if let Some(lit) = arg.strip_prefix('"') {
                lit.split('"').next().unwrap_or_default().to_owned()
            } else {
                let ident: String = arg
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                    .collect();
                let ident = ident.rsplit("::").next().unwrap_or_default();
                const_str(text, ident).unwrap_or_else(|| panic!("{name}: route {ident}?"))
            };
            let end = [".route(", ".with_state(", ".layer(", ".merge(", ";"]
                .iter()
                .filter_map(|m| rest.find(m))
                .min()
                .unwrap_or(rest.len());
            let segment = &rest[..end];
            let mut methods = BTreeSet::new();
            for (word, method) in [
                ("get(", "GET"),
                ("post(", "POST"),
                ("put(", "PUT"),
                ("patch(", "PATCH"),
                ("delete(", "DELETE"),
                ("any(", "ANY"),
            ] {
                let mut from = 0;
                while let Some(i) = segment[from..].find(word) {
                    let at = from + i;
                    let before = segment[..at].chars().next_back().unwrap_or(' ');
                    if !(before.is_alphanumeric() || before == '_') {
                        methods.insert(method);
                    }
                    from = at + word.len();
                }
            }
            for method in methods {
                routes.insert(SourceRoute {
                    method: method.to_owned(),
                    path: path.clone(),
                    file: name.clone(),
                });
            }
        }
    }
    routes.into_iter().collect()
}

/// The value of `const NAME: &str = "…";` in a source text.
fn const_str(text: &str, name: &str) -> Option<String> {
    let at = text.find(&format!("const {name}: &str = \""))?;
    let rest = &text[at..];
    let start = rest.find('"')? + 1;
    let len = rest[start..].find('"')?;
    Some(rest[start..start + len].to_owned())
}

/// The admin API's operations from its OpenAPI document: (method, path below `/api/v1`,
/// operation).
fn openapi_routes(up: &HamnUp) -> Vec<(String, String, Value)> {
    let doc = http(
        &ca(up),
        "GET",
        &format!("https://127.0.0.1:{}/api/openapi.json", up.ports.broker),
        &[],
        None,
        &[],
    );
    assert_eq!(doc.status, 200, "openapi: {}", doc.short());
    let doc = doc.json();
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            let method = method.to_ascii_uppercase();
            if ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method.as_str()) {
                let path = path.strip_prefix("/api/v1").unwrap_or(path).to_owned();
                out.push((method, path, op.clone()));
            }
        }
    }
    assert!(out.len() > 50, "too few operations in the OpenAPI document");
    out
}

/// A concrete path for a route template: `{tenant}` the demo tenant, `{env}` prod, a
/// static file for `{*path}`, an unknown id elsewhere.
fn concrete(path: &str) -> String {
    let mut out = String::new();
    for (i, part) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        out.push_str(match part {
            "{tenant}" => "demo",
            "{env}" => "prod",
            "{*path}" => "portal.js",
            p if p.starts_with('{') => UNKNOWN_ID,
            p => p,
        });
    }
    out
}

/// The security headers every answer of the portal origin and the SITHS listener carries
/// (gateway/src/headers.rs), each checked for its strong value.
fn missing_headers(answer: &Resp) -> Vec<String> {
    let mut missing = Vec::new();
    let has = |name: &str, test: &dyn Fn(&str) -> bool| answer.header(name).is_some_and(test);
    if !has("strict-transport-security", &|v| {
        v.split(';')
            .find_map(|p| p.trim().strip_prefix("max-age="))
            .and_then(|s| s.parse::<u64>().ok())
            .is_some_and(|s| s >= 31_536_000)
    }) {
        missing.push("HSTS max-age >= 1 year".into());
    }
    if !has("content-security-policy", &|v| {
        v.contains("default-src 'self'")
            && v.contains("frame-ancestors 'none'")
            && v.contains("object-src 'none'")
            && v.contains("base-uri 'none'")
            && !v.contains("unsafe-inline")
            && !v.contains("unsafe-eval")
    }) {
        missing.push(
            "CSP (default-src 'self', frame-ancestors/object-src/base-uri 'none', no unsafe-*)"
                .into(),
        );
    }
    if !has("x-content-type-options", &|v| {
        v.eq_ignore_ascii_case("nosniff")
    }) {
        missing.push("X-Content-Type-Options: nosniff".into());
    }
    if !has("x-frame-options", &|v| v.eq_ignore_ascii_case("deny")) {
        missing.push("X-Frame-Options: DENY".into());
    }
    if !has("referrer-policy", &|v| {
        ["no-referrer", "same-origin", "strict-origin"].contains(&v)
    }) {
        missing.push("Referrer-Policy".into());
    }
    if !has("permissions-policy", &|v| v.contains("camera=()")) {
        missing.push("Permissions-Policy".into());
    }
    missing
}

/// What is wrong with a `Set-Cookie`: every cookie Hamn sets is `__Host-`, Secure,
/// HttpOnly, Path=/, without Domain, with an explicit SameSite.
fn cookie_problems(set_cookie: &str) -> Vec<&'static str> {
    let parts: Vec<String> = set_cookie
        .split(';')
        .map(|p| p.trim().to_ascii_lowercase())
        .collect();
    let has = |name: &str| {
        parts
            .iter()
            .skip(1)
            .any(|p| p == name || p.starts_with(&format!("{name}=")))
    };
    let mut problems = Vec::new();
    if !set_cookie.starts_with("__Host-") {
        problems.push("no __Host- prefix");
    }
    if !has("secure") {
        problems.push("not Secure");
    }
    if !has("httponly") {
        problems.push("not HttpOnly");
    }
    if !parts
        .iter()
        .any(|p| ["samesite=lax", "samesite=strict", "samesite=none"].contains(&p.as_str()))
    {
        problems.push("no SameSite");
    }
    if !parts.iter().any(|p| p == "path=/") {
        problems.push("Path is not /");
    }
    if has("domain") {
        problems.push("has a Domain");
    }
    problems
}

/// State-changing routes outside the CSRF layer, each with why and what protects it.
const CSRF_EXEMPT: &[(&str, &str)] = &[
    (
        "/saml/{tenant}/acs",
        "the IdP's cross-site POST; bound to the browser by the signed InResponseTo and the attempt cookie (SAML corpus below)",
    ),
    (
        "/saml/{tenant}/logout",
        "its own same-origin check (checked below with a foreign Origin)",
    ),
    (
        "/siths/login",
        "the organisation choice: same-origin Origin and a __Host- double-submit token (checked below)",
    ),
    (
        "/demo-idp/sso",
        "the demo IdP's own form (demo configuration only); its answer is useless without the victim's attempt cookie",
    ),
    (
        "/remoteDesktopGateway/",
        "native clients: no cookie read, the single-use launch reference is the credential",
    ),
    ("/remoteDesktopGateway", "as /remoteDesktopGateway/"),
    ("/wst/", "as /remoteDesktopGateway/"),
    ("/wst", "as /remoteDesktopGateway/"),
    (
        "/rpc/rpcproxy.dll",
        "refused outright (RPC over HTTP is not served)",
    ),
];

#[test]
fn security_headers_cookies_and_csrf_on_every_route() {
    let up = HamnUp::start(&[]);
    let mut f = Findings::new("headers+csrf");
    let ca = ca(&up);
    let portal = portal_url(&up);
    let siths = format!("https://localhost:{}", up.ports.siths);
    let operator = Portal::login(&up, "drift", None);
    f.check(
        operator.me["role"] == "operator",
        format!("drift is not an operator: {}", operator.me),
    );
    let mut cookies: Vec<(String, String)> = operator
        .set_cookies
        .iter()
        .map(|c| ("demo login".to_owned(), c.clone()))
        .collect();

    // Every route of the source, with its own method, as the logged-in operator.
    let routes = source_routes();
    assert!(routes.len() >= 25, "too few routes read: {routes:?}");
    for route in &routes {
        let on_siths = route.file.ends_with("portal/siths.rs");
        let base = if on_siths { &siths } else { &portal };
        let single = [route.method.as_str()];
        let methods: &[&str] = if route.method == "ANY" {
            &["GET", "POST"]
        } else {
            &single
        };
        for method in methods {
            f.route(method, &route.path);
            let path = concrete(&route.path);
            // Logging out ends the session the rest of the loop uses: a throwaway one.
            let who = if route.path.ends_with("/logout") && *method == "POST" {
                Portal::login(&up, "drift", None)
            } else {
                operator.clone()
            };
            let answer = if *method == "GET" {
                http(
                    &ca,
                    "GET",
                    &format!("{base}{path}"),
                    &[("Cookie", &who.cookie)],
                    None,
                    &[],
                )
            } else {
                http(
                    &ca,
                    method,
                    &format!("{base}{path}"),
                    &[
                        ("Cookie", &who.cookie),
                        ("Origin", &portal),
                        ("Content-Type", "application/json"),
                        ("X-CSRF-Token", &who.csrf),
                    ],
                    Some(b"{}"),
                    &[],
                )
            };
            let missing = missing_headers(&answer);
            f.check(
                missing.is_empty() && answer.status != 0,
                format!(
                    "{method} {path} ({}): {} lacks {missing:?}",
                    route.file, answer.status
                ),
            );
            for c in answer.all("set-cookie") {
                cookies.push((format!("{method} {path}"), c.to_owned()));
            }
        }
    }

    // Every admin API operation on the portal origin.
    let operations = openapi_routes(&up);
    for (method, path, _) in &operations {
        f.route(method, &format!("/api/v1{path}"));
        let concrete_path = format!("/api/v1{}", concrete(path));
        let answer = operator.send(method, &concrete_path, Some(&json!({})), Csrf::Right);
        let missing = missing_headers(&answer);
        f.check(
            missing.is_empty() && answer.status != 0,
            format!(
                "{method} {concrete_path}: {} lacks {missing:?}",
                answer.status
            ),
        );
        f.check(
            !answer.csrf_refusal(),
            format!(
                "{method} {concrete_path}: refused with the right token: {}",
                answer.short()
            ),
        );
    }

    // CSRF: every state-changing route inside the layer, forged five ways, then right.
    let mut state_changing: Vec<(String, String)> = routes
        .iter()
        .filter(|r| !r.file.ends_with("portal/siths.rs"))
        .filter(|r| ["POST", "PUT", "PATCH", "DELETE"].contains(&r.method.as_str()))
        .filter(|r| !CSRF_EXEMPT.iter().any(|(p, _)| *p == r.path))
        .map(|r| (r.method.clone(), concrete(&r.path)))
        .collect();
    let unexplained: Vec<&SourceRoute> = routes
        .iter()
        .filter(|r| r.method == "ANY" && !CSRF_EXEMPT.iter().any(|(p, _)| *p == r.path))
        .collect();
    f.check(
        unexplained.is_empty(),
        format!("routes for any method outside the CSRF allow-list: {unexplained:?}"),
    );
    state_changing.extend(
        operations
            .iter()
            .filter(|(m, _, _)| m != "GET")
            .map(|(m, p, _)| (m.clone(), format!("/api/v1{}", concrete(p)))),
    );
    assert!(state_changing.len() > 40, "{state_changing:?}");
    let victim = Portal::login(&up, "drift", None);
    for (method, path) in &state_changing {
        for mode in HOSTILE {
            let answer = victim.send(method, path, Some(&json!({})), mode);
            f.attack(
                format!("{method} {path} {mode:?}: {}", answer.short()),
                answer.csrf_refusal(),
            );
        }
        if path.ends_with("/logout") {
            continue;
        }
        let answer = victim.send(method, path, Some(&json!({})), Csrf::Right);
        f.check(
            !answer.csrf_refusal(),
            format!(
                "{method} {path}: the right token refused: {}",
                answer.short()
            ),
        );
    }
    // The session survived every forgery (none logged it out).
    f.check(
        victim.get("/portal/api/me").status == 200,
        "a forged logout ended the session",
    );
    let answer = victim.send("POST", "/portal/api/logout", None, Csrf::Right);
    f.check(answer.status < 300, format!("logout: {}", answer.short()));
    for c in answer.all("set-cookie") {
        cookies.push(("logout".into(), c.to_owned()));
    }
    f.check(
        victim.get("/portal/api/me").status == 401,
        "the session outlived its logout",
    );

    // The exempt routes' own protections.
    let saml_logout = Portal::login(&up, "drift", None);
    let answer = http(
        &ca,
        "POST",
        &format!("{portal}/saml/demo/logout"),
        &[
            ("Cookie", &saml_logout.cookie),
            ("Origin", "https://evil.example"),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        Some(b"x=1"),
        &[],
    );
    f.attack(
        format!("SAML logout from a foreign origin: {}", answer.short()),
        answer.status == 403 && saml_logout.get("/portal/api/me").status == 200,
    );
    let card = format!(
        "{}:{}",
        up.certs().join("siths-card-1.p12").display(),
        hamn_certs::pki::P12_PASSWORD
    );
    let card_args = ["--cert-type", "P12", "--cert", card.as_str()];
    let forged_choice =
        format!("tenant={UNKNOWN_ID}&csrf=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    for (what, origin, cookie, reason) in [
        (
            "from a foreign origin",
            "https://evil.example",
            "",
            "cross_site_request",
        ),
        (
            "with a token that is not the browser's",
            siths.as_str(),
            "__Host-hamn_siths_choice=BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
            "choice_token",
        ),
    ] {
        let mut headers = vec![
            ("Origin", origin),
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Accept", "application/json"),
        ];
        if !cookie.is_empty() {
            headers.push(("Cookie", cookie));
        }
        let answer = http(
            &ca,
            "POST",
            &format!("{siths}/siths/login"),
            &headers,
            Some(forged_choice.as_bytes()),
            &card_args,
        );
        f.attack(
            format!("SITHS organisation choice {what}: {}", answer.short()),
            answer.status == 403 && answer.body.contains(reason),
        );
    }
    let answer = http(
        &ca,
        "GET",
        &format!("{siths}/siths/login"),
        &[],
        None,
        &card_args,
    );
    f.check(
        answer.status == 303,
        format!("card login: {}", answer.short()),
    );
    for c in answer.all("set-cookie") {
        cookies.push(("SITHS login".into(), c.to_owned()));
    }
    let answer = http(
        &ca,
        "GET",
        &format!("{portal}/saml/demo/login"),
        &[],
        None,
        &[],
    );
    f.check(
        answer.status == 303,
        format!("SAML login: {}", answer.short()),
    );
    for c in answer.all("set-cookie") {
        cookies.push(("SAML login".into(), c.to_owned()));
    }

    // Every cookie any of that set.
    f.check(
        cookies.len() >= 4,
        format!("too few cookies seen: {cookies:?}"),
    );
    let mut names = BTreeSet::new();
    for (at, c) in &cookies {
        names.insert(c.split('=').next().unwrap_or_default().to_owned());
        let problems = cookie_problems(c);
        f.check(
            problems.is_empty(),
            format!("Set-Cookie at {at}: {problems:?}: {c}"),
        );
    }
    println!("security headers+csrf: cookies seen {names:?}");
    f.finish();
}

// ---------------------------------------------------------------------------------------
// 4. Tenant isolation

/// The other tenant's objects by the path segment that names their kind.
type Ids = BTreeMap<&'static str, String>;

/// A body that passes validation, so the scope check is what answers.
fn isolation_body(method: &str, path: &str, b: &Ids) -> Option<Value> {
    let in_nine_days = time::OffsetDateTime::now_utc() + time::Duration::days(9);
    let rfc = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    };
    let user = b.get("users").cloned().unwrap_or_default();
    let body = match (method, path) {
        ("GET" | "DELETE", _) => return None,
        ("PATCH", _) => json!({}),
        ("PUT", "/tenants/{id}/web-session-settings") => {
            json!({"idle_timeout_secs": 1800, "max_lifetime_secs": 28800})
        }
        ("POST", "/tenants/{id}/access-review/revoke") => json!({"user_id": user}),
        ("PUT", "/tenants/{id}/saml") => json!({
            "enabled": false, "sp_entity_id": "https://evil.example/sp",
            "idp_metadata_xml": "<EntityDescriptor/>",
            "requested_authn_contexts": [],
            "accepted_mfa_contexts": ["urn:oasis:names:tc:SAML:2.0:ac:classes:TimeSyncToken"]
        }),
        ("POST", "/tenants/{id}/environments") => json!({"kind": "UTB"}),
        ("PUT", "/pools/{id}/credentials") => json!({"username": "x", "password": "y"}),
        ("POST", "/pools/{id}/hosts") => {
            json!({"name": "evil", "address": "127.0.0.1", "port": 9, "capacity": 1})
        }
        ("PUT", "/hosts/{id}/state") => json!({"state": "maintenance"}),
        ("PUT", "/hosts/{id}/version") => json!({"version": "evil"}),
        ("PUT", "/hosts/{id}/load") => {
            json!({"sessions": 0, "cpu_percent": 1.0, "memory_percent": 1.0})
        }
        ("PUT", "/pools/{id}/placement" | "/tenants/{id}/limits") => json!({}),
        ("POST", "/host-commands/{id}/report") => json!({"state": "done", "outcome": "x"}),
        ("POST", "/tenants/{id}/apps") => json!({
            "environment_id": b.get("environments"), "pool_id": b.get("pools"),
            "display_name": "Evil", "kind": "desktop"
        }),
        ("POST", "/environments/{id}/service-windows") => json!({
            "title": "Evil", "starts_at": rfc(in_nine_days),
            "ends_at": rfc(in_nine_days + time::Duration::hours(1))
        }),
        ("POST", "/tenants/{id}/incidents") => {
            json!({"title": "Evil", "severity": "disturbance", "message": "x"})
        }
        ("POST", "/incidents/{id}/updates") => json!({"message": "evil"}),
        ("POST", "/tenants/{id}/announcements" | "/announcements") => json!({
            "title": "Evil", "body": "x", "ends_at": rfc(in_nine_days)
        }),
        ("POST", "/apps/{id}/rollouts") => json!({"version": "evil"}),
        ("POST", "/tenants/{id}/users") => json!({"name_id": "evil", "display_name": "Evil"}),
        ("PUT", "/users/{id}/role") => json!({"role": "tenant_admin"}),
        ("POST", "/tenants/{id}/groups") => json!({"name": "Evil"}),
        ("POST", "/apps/{id}/entitlements") => json!({"user_id": user}),
        ("POST", "/sessions/{id}/message") => json!({"text": "evil"}),
        _ => json!({}),
    };
    Some(body)
}

/// Builds the second tenant "Grannby" with one of everything; its ids by kind and the
/// words that must never reach the first tenant.
struct OtherTenant {
    ids: Ids,
    words: Vec<String>,
    user: Portal,
    print: String,
}

fn ipp_print_job(printer_uri: &str, text: &str) -> Vec<u8> {
    fn attr(out: &mut Vec<u8>, tag: u8, name: &str, value: &str) {
        out.push(tag);
        out.extend(u16::try_from(name.len()).unwrap_or(0).to_be_bytes());
        out.extend(name.as_bytes());
        out.extend(u16::try_from(value.len()).unwrap_or(0).to_be_bytes());
        out.extend(value.as_bytes());
    }
    let mut out = vec![0x02, 0x00, 0x00, 0x02, 0, 0, 0, 1, 0x01];
    attr(&mut out, 0x47, "attributes-charset", "utf-8");
    attr(&mut out, 0x48, "attributes-natural-language", "en");
    attr(&mut out, 0x45, "printer-uri", printer_uri);
    attr(&mut out, 0x42, "requesting-user-name", "hamn");
    attr(&mut out, 0x42, "job-name", "security check");
    attr(&mut out, 0x49, "document-format", "text/plain");
    out.push(0x03);
    out.extend(text.as_bytes());
    out
}

/// Prints `text` in `session` through its printer token (the operator issues it, as a
/// host agent would be given it); (printer token, the print job's id as its owner sees it).
fn print_in(up: &HamnUp, owner: &Portal, session: &str, text: &str) -> (String, String) {
    let (code, printer) = up.operator("POST", &format!("/sessions/{session}/printer"), None);
    assert_eq!(code, 201, "printer: {printer}");
    let uri = printer["uri"]
        .as_str()
        .or_else(|| printer["printer_uri"].as_str())
        .unwrap_or_else(|| panic!("no printer uri in {printer}"))
        .to_owned();
    let token = uri.rsplit('/').next().unwrap_or_default().to_owned();
    let answer = http(
        &ca(up),
        "POST",
        &format!("https://127.0.0.1:{}/ipp/print/{token}", up.ports.print),
        &[("Content-Type", "application/ipp")],
        Some(&ipp_print_job(&uri, text)),
        &[],
    );
    assert_eq!(answer.status, 200, "IPP Print-Job: {}", answer.short());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let jobs = owner.get("/portal/api/prints").json();
        let listed = jobs["jobs"].as_array().cloned().unwrap_or_default();
        assert!(
            !listed.iter().any(|j| j["state"] == "refused"),
            "the print job was refused: {jobs}"
        );
        let ready = listed
            .iter()
            .find(|j| j["state"] == "ready")
            .map(|j| id_of(&j["id"]));
        if let Some(job) = ready {
            return (token, job);
        }
        assert!(
            Instant::now() < deadline,
            "no ready print job: {jobs}\n{}",
            up.logs()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn other_tenant(up: &HamnUp) -> OtherTenant {
    let mut ids = Ids::new();
    let tenant = up.operator_create(
        "/tenants",
        json!({"slug": "grannby", "name": "Grannby kommun"}),
    );
    let env = up.operator_create(
        &format!("/tenants/{tenant}/environments"),
        json!({"kind": "PROD"}),
    );
    let pool = up.operator_create(
        "/pools",
        json!({"name": "Grannbys pool", "dedicated_tenant_id": tenant, "host_cert_policy": "ignore"}),
    );
    let host = up.operator_create(
        &format!("/pools/{pool}/hosts"),
        json!({"name": "grannby-host-1", "address": "127.0.0.1", "port": up.ports.demo_host, "capacity": 5}),
    );
    let app = up.operator_create(
        &format!("/tenants/{tenant}/apps"),
        json!({"environment_id": env, "pool_id": pool, "display_name": "Grannbys journal", "kind": "desktop"}),
    );
    let user = up.operator_create(
        &format!("/tenants/{tenant}/users"),
        json!({"name_id": "gunnel", "display_name": "Gunnel Grann"}),
    );
    let admin = up.operator_create(
        &format!("/tenants/{tenant}/users"),
        json!({"name_id": "greta", "display_name": "Greta Grannadmin"}),
    );
    up.operator_ok(
        "PUT",
        &format!("/users/{admin}/role"),
        Some(json!({"role": "tenant_admin"})),
    );
    let group = up.operator_create(
        &format!("/tenants/{tenant}/groups"),
        json!({"name": "Grannbys grupp"}),
    );
    let (code, _) = up.operator("PUT", &format!("/groups/{group}/members/{user}"), None);
    assert!((200..300).contains(&code), "group member: {code}");
    let entitlement = up.operator_create(
        &format!("/apps/{app}/entitlements"),
        json!({"user_id": user}),
    );
    up.operator_create(
        &format!("/apps/{app}/entitlements"),
        json!({"user_id": admin}),
    );
    let in_nine_days = time::OffsetDateTime::now_utc() + time::Duration::days(9);
    let rfc = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .expect("format")
    };
    let window = up.operator_create(
        &format!("/environments/{env}/service-windows"),
        json!({"title": "Grannbys serverflytt", "starts_at": rfc(in_nine_days), "ends_at": rfc(in_nine_days + time::Duration::hours(3))}),
    );
    let incident = up.operator_create(
        &format!("/tenants/{tenant}/incidents"),
        json!({"title": "Grannbys störning", "severity": "disturbance", "message": "Grannby undersöker"}),
    );
    let announcement = up.operator_create(
        &format!("/tenants/{tenant}/announcements"),
        json!({"title": "Grannbys meddelande", "body": "Hej Grannby", "ends_at": rfc(in_nine_days)}),
    );
    let rollout = up.operator_create(
        &format!("/apps/{app}/rollouts"),
        json!({"version": "grannby-2.0"}),
    );
    let client = up.operator_create(
        "/api-clients",
        json!({"name": "Grannbys integration", "subject_cn": "grannby-integration", "scope": "tenant", "tenant_id": tenant}),
    );
    // The optional parts each route with an id reads: a load report, host credentials,
    // a SAML IdP (the demo IdP's metadata stands in for Grannby's).
    up.operator_ok(
        "PUT",
        &format!("/hosts/{host}/load"),
        Some(json!({"sessions": 0, "cpu_percent": 10.0, "memory_percent": 10.0})),
    );
    up.operator_ok(
        "PUT",
        &format!("/pools/{pool}/credentials"),
        Some(json!({"username": "grannby-svc", "password": "Grannby-lösen-1"})),
    );
    let idp = http(
        &ca(up),
        "GET",
        &format!("{}/demo-idp/metadata", portal_url(up)),
        &[],
        None,
        &[],
    );
    assert_eq!(idp.status, 200, "demo IdP metadata: {}", idp.short());
    up.operator_ok(
        "PUT",
        &format!("/tenants/{tenant}/saml"),
        Some(json!({
            "enabled": true,
            "idp_metadata_xml": idp.body,
            "sp_entity_id": format!("{}/saml/grannby/metadata", portal_url(up)),
            "requested_authn_contexts": [],
            "accepted_mfa_contexts": ["urn:oasis:names:tc:SAML:2.0:ac:classes:TimeSyncToken"],
        })),
    );
    up.operator_ok(
        "PUT",
        &format!("/tenants/{tenant}/web-session-settings"),
        Some(json!({"idle_timeout_secs": 1800, "max_lifetime_secs": 28800})),
    );

    // Its people log in and launch; one session ends in a logoff (a host command).
    let gunnel = Portal::login(up, "gunnel", Some("grannby"));
    let (session, _ticket) = launch(&gunnel, &app);
    let greta = Portal::login(up, "greta", Some("grannby"));
    // Greta's session goes through the native path: the relay makes it active without
    // host credentials, and only a session past launching can be logged off.
    let reference = rdp_reference(&greta, &app);
    let opened = upgrade(up, "/wst/", Some(&reference));
    assert_eq!(opened.status, 101, "greta's tunnel: {}", opened.short());
    let mine = greta.get("/portal/api/sessions").json();
    let second = id_of(&mine["sessions"][0]["id"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while up.operator_ok("GET", &format!("/sessions/{second}"), None)["state"] == "launching" {
        assert!(
            Instant::now() < deadline,
            "greta's session stays launching: {mine}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    up.operator_ok(
        "POST",
        &format!("/sessions/{second}/logoff"),
        Some(json!({})),
    );
    let commands = up.operator_ok("GET", &format!("/hosts/{host}/commands?state=all"), None);
    let host_command = commands["items"]
        .as_array()
        .or_else(|| commands["commands"].as_array())
        .into_iter()
        .flatten()
        .find_map(|c| c["id"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("no host command: {commands}"));
    let (_, print) = print_in(up, &gunnel, &session, "Grannbys hemliga utskrift\n");
    let audit = up.operator_ok("GET", &format!("/audit?tenant_id={tenant}&limit=1"), None);
    let audit_event = audit["items"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    for (kind, value) in [
        ("tenants", tenant),
        ("environments", env),
        ("pools", pool),
        ("hosts", host),
        ("host-commands", host_command),
        ("apps", app),
        ("users", user),
        ("groups", group),
        ("entitlements", entitlement),
        ("service-windows", window),
        ("incidents", incident),
        ("announcements", announcement),
        ("rollouts", rollout),
        ("sessions", session),
        ("audit", audit_event),
        ("api-clients", client),
    ] {
        assert!(!value.is_empty(), "no {kind} id");
        ids.insert(kind, value);
    }
    let words = [
        "grannby",
        "Grannby kommun",
        "Gunnel Grann",
        "Greta Grannadmin",
        "Grannbys pool",
        "grannby-host-1",
        "Grannbys journal",
        "Grannbys grupp",
        "Grannbys serverflytt",
        "Grannbys störning",
        "Grannbys meddelande",
        "grannby-2.0",
        "Grannbys integration",
        "Grannbys hemliga utskrift",
    ]
    .iter()
    .map(|w| (*w).to_owned())
    .chain(ids.values().cloned())
    .chain([print.clone()])
    .collect();
    OtherTenant {
        ids,
        words,
        user: gunnel,
        print,
    }
}

/// Routes whose `{id}` kind the test cannot make an object of for another tenant, each
/// still tried with an unknown id.
const NO_OBJECT: &[(&str, &str)] = &[(
    "security-events",
    "raised by the janitor's minute sweep over refused logins; tried with an unknown id",
)];

/// The words of `words` that appear in `body`, except those the request itself named.
fn leaked<'a>(body: &str, words: &'a [String], asked: &str) -> Vec<&'a str> {
    words
        .iter()
        .filter(|w| !asked.contains(w.as_str()) && body.contains(w.as_str()))
        .map(String::as_str)
        .collect()
}

#[test]
fn security_tenants_are_isolated_on_every_route_that_takes_an_id() {
    let up = HamnUp::start(&[]);
    let mut f = Findings::new("tenant isolation");
    let (demo, procapita) = demo_app(&up, "Procapita");
    let other = other_tenant(&up);
    let admin = Portal::login(&up, "admin", Some("demo"));
    let user = Portal::login(&up, "demo", Some("demo"));
    f.check(
        admin.me["role"] == "tenant_admin",
        format!("admin: {}", admin.me),
    );
    f.check(user.me["role"] == "user", format!("demo: {}", user.me));
    // The first tenant's own session and print, which the second tenant's user must not reach.
    let (own_session, _) = launch(&user, &procapita);
    let (_, own_print) = print_in(&up, &user, &own_session, "Demo kommuns utskrift\n");

    // Lists and filters naming the other tenant show nothing of it (first: the refusals
    // below are audited in this tenant, naming the ids that were tried).
    let t = &other.ids["tenants"];
    let listings = [
        "/tenants".to_owned(),
        "/pools".to_owned(),
        "/sessions".to_owned(),
        "/audit?limit=500".to_owned(),
        "/audit/export?format=jsonl".to_owned(),
        "/security-events".to_owned(),
        "/whoami".to_owned(),
        "/announcements".to_owned(),
        "/api-clients".to_owned(),
        format!("/sessions?tenant_id={t}"),
        format!("/sessions?user_id={}", other.ids["users"]),
        format!("/sessions?host_id={}", other.ids["hosts"]),
        format!("/audit?tenant_id={t}"),
        format!("/audit?target_id={}", other.ids["apps"]),
        format!("/audit/export?format=csv&tenant_id={t}"),
        format!("/security-events?tenant_id={t}"),
        format!(
            "/tenants/{demo}/apps?environment_id={}",
            other.ids["environments"]
        ),
        format!("/tenants/{demo}/access-review"),
        format!("/tenants/{demo}/users"),
        format!("/tenants/{demo}/announcements"),
    ];
    for listing in &listings {
        f.route(
            "GET",
            &format!("/api/v1{}", listing.split('?').next().unwrap_or_default()),
        );
        for (who, portal) in [("tenant-admin", &admin), ("user", &user)] {
            let answer = portal.get(&format!("/api/v1{listing}"));
            let words = leaked(&answer.body, &other.words, listing);
            f.attack(
                format!(
                    "{who} GET /api/v1{listing}: {} leaked {words:?}",
                    answer.status
                ),
                words.is_empty() && (who == "tenant-admin" || answer.status == 403),
            );
        }
    }

    let operations = openapi_routes(&up);
    let mut unexercised = Vec::new();
    for (method, path, _) in &operations {
        let kinds: Vec<&str> = path
            .split('/')
            .collect::<Vec<_>>()
            .windows(2)
            .filter(|w| w[1].starts_with('{'))
            .map(|w| if w[1] == "{user_id}" { "users" } else { w[0] })
            .collect();
        if kinds.is_empty() {
            continue;
        }
        let mut concrete_path = String::new();
        let mut ok = true;
        let mut unknown = false;
        let mut previous = "";
        for segment in path.split('/') {
            if !concrete_path.is_empty() || !segment.is_empty() {
                concrete_path.push('/');
            }
            if segment.starts_with('{') {
                let kind = if segment == "{user_id}" {
                    "users"
                } else {
                    previous
                };
                match other.ids.get(kind) {
                    Some(value) => concrete_path.push_str(value),
                    None => {
                        if !NO_OBJECT.iter().any(|(k, _)| *k == kind) {
                            ok = false;
                        }
                        unknown = true;
                        concrete_path.push_str(UNKNOWN_ID);
                    }
                }
            } else {
                concrete_path.push_str(segment);
            }
            previous = segment;
        }
        if !ok {
            unexercised.push(format!("{method} {path}"));
            continue;
        }
        f.route(method, &format!("/api/v1{path}"));
        // Control: the id names a real object (the operator reads it), so a refusal below
        // is the scope's, not a miss.
        if method == "GET" && !unknown {
            let (code, _) = up.operator("GET", &concrete_path, None);
            f.check(
                (200..300).contains(&code),
                format!("control: operator GET {concrete_path}: {code}"),
            );
        }
        let body = isolation_body(method, path, &other.ids);
        for (who, portal) in [("tenant-admin", &admin), ("user", &user)] {
            let answer = portal.send(
                method,
                &format!("/api/v1{concrete_path}"),
                body.as_ref(),
                Csrf::Right,
            );
            let words = leaked(&answer.body, &other.words, &concrete_path);
            f.attack(
                format!(
                    "{who} {method} /api/v1{concrete_path}: {} leaked {words:?}",
                    answer.short()
                ),
                (answer.status == 403 || answer.status == 404) && words.is_empty(),
            );
        }
    }
    f.check(
        unexercised.is_empty(),
        format!("routes with an id kind the test has no object of (add it to other_tenant or NO_OBJECT): {unexercised:?}"),
    );

    // The portal's own routes that take an id, with the other tenant's ids.
    let b = &other.ids;
    let portal_attacks: Vec<(&str, String, Option<Value>)> = vec![
        (
            "POST",
            "/portal/api/launch".into(),
            Some(json!({"app_id": b["apps"]})),
        ),
        (
            "POST",
            format!("/portal/api/apps/{}/rdp", b["apps"]),
            Some(json!({})),
        ),
        (
            "POST",
            format!("/portal/api/sessions/{}/logoff", b["sessions"]),
            Some(json!({})),
        ),
        (
            "GET",
            format!("/portal/api/prints/{}/pdf", other.print),
            None,
        ),
        (
            "GET",
            format!("/portal/api/prints/{}/pdf?download=1", other.print),
            None,
        ),
    ];
    for route in source_routes() {
        if route.path.starts_with("/portal/api/") && route.path.contains('{') {
            let known = portal_attacks.iter().any(|(m, p, _)| {
                *m == route.method && {
                    let prefix = route.path.split('{').next().unwrap_or_default();
                    p.starts_with(prefix)
                }
            });
            f.check(
                known,
                format!(
                    "portal route {} {} is not tried with another tenant's id",
                    route.method, route.path
                ),
            );
        }
    }
    for (method, path, body) in &portal_attacks {
        f.route(
            method,
            path.split('/')
                .take(4)
                .collect::<Vec<_>>()
                .join("/")
                .as_str(),
        );
        for (who, portal) in [("tenant-admin", &admin), ("user", &user)] {
            let answer = portal.send(method, path, body.as_ref(), Csrf::Right);
            let words = leaked(&answer.body, &other.words, path);
            f.attack(
                format!("{who} {method} {path}: {} leaked {words:?}", answer.short()),
                (answer.status == 403 || answer.status == 404) && words.is_empty(),
            );
        }
    }
    // And the other way: the second tenant's user cannot reach the first's session or print.
    for (method, path) in [
        ("POST", format!("/portal/api/sessions/{own_session}/logoff")),
        ("GET", format!("/portal/api/prints/{own_print}/pdf")),
    ] {
        let answer = other
            .user
            .send(method, &path, Some(&json!({})), Csrf::Right);
        f.attack(
            format!("grannby user {method} {path}: {}", answer.short()),
            answer.status == 404 || answer.status == 403,
        );
    }
    // The other tenant's session and print are still there: nothing above changed them.
    let session = up.operator_ok("GET", &format!("/sessions/{}", b["sessions"]), None);
    f.check(
        session["state"] != "ended",
        format!("the other tenant's session was ended: {session}"),
    );
    let pdf = other
        .user
        .get(&format!("/portal/api/prints/{}/pdf", other.print));
    f.check(
        pdf.status == 200,
        format!("the owner lost the print: {}", pdf.status),
    );
    f.finish();
}

// ---------------------------------------------------------------------------------------
// 5 and 6. Tickets, SAML and SITHS attack inputs

/// The broker's ticket key, from the data directory of `hamn up`.
fn ticket_keys(up: &HamnUp) -> TicketKeys {
    let pem = std::fs::read_to_string(up.data.0.join(hamn_broker::ticket::keys::KEY_FILE))
        .expect("read the ticket signing key");
    TicketKeys::from_pem(&pem, "ticket key").expect("parse the ticket key")
}

/// Flips one bit of the base64url text's decoded byte `at`.
fn flip(ticket: &str, at: usize) -> String {
    let mut raw = unb64(ticket);
    raw[at] ^= 0x01;
    b64_encode(&raw, true)
}

/// One MS-TSGU tunnel at `/remoteDesktopGateway/` (websocket transport, as FreeRDP opens
/// it) offering `cookie` as the PAA cookie, driven through `openssl s_client`: the status
/// of the gateway's TunnelResponse, or `None` when none came.
fn rdg_tunnel_status(up: &HamnUp, cookie: &str) -> Option<u32> {
    use hamn_gateway::rdg::{Packet, codec::client};
    fn frame(payload: &[u8]) -> Vec<u8> {
        // A masked binary frame; the all-zero mask keeps the payload as it is.
        let mut out = vec![0x82];
        match u16::try_from(payload.len()) {
            Ok(n) if n < 126 => out.push(0x80 | u8::try_from(n).unwrap_or(0)),
            Ok(n) => {
                out.push(0x80 | 126);
                out.extend(n.to_be_bytes());
            }
            Err(_) => return Vec::new(),
        }
        out.extend([0, 0, 0, 0]);
        out.extend(payload);
        out
    }
    let mut child = Command::new("openssl")
        .args(["s_client", "-quiet", "-connect"])
        .arg(format!("127.0.0.1:{}", up.ports.gateway))
        .args(["-servername", "localhost"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run openssl s_client");
    let mut stdin = child.stdin.take().expect("piped stdin");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let head = format!(
        "RDG_OUT_DATA /remoteDesktopGateway/ HTTP/1.1\r\nHost: localhost:{}\r\n\
         Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        up.ports.gateway
    );
    let mut sent = stdin.write_all(head.as_bytes()).is_ok();
    for packet in [client::handshake(true), client::tunnel_create(Some(cookie))] {
        sent &= stdin.write_all(&frame(&packet)).is_ok();
    }
    let _ = stdin.flush();
    let mut data = Vec::new();
    let mut status = None;
    let deadline = Instant::now() + Duration::from_secs(10);
    while sent && status.is_none() && Instant::now() < deadline {
        let Ok(chunk) = rx.recv_timeout(Duration::from_millis(200)) else {
            continue;
        };
        data.extend(chunk);
        let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        // The server's frames after the 101: unmasked, one packet each.
        let mut rest = &data[at + 4..];
        while rest.len() >= 2 {
            let (len, start) = match rest[1] & 0x7f {
                126 if rest.len() >= 4 => (usize::from(u16::from_be_bytes([rest[2], rest[3]])), 4),
                126 | 127 => break,
                n => (usize::from(n), 2),
            };
            let Some(payload) = rest.get(start..start + len) else {
                break;
            };
            if let Ok(Packet::TunnelResponse(answer)) = Packet::decode(payload) {
                status = Some(answer.status.0);
            }
            rest = &rest[start + len..];
        }
    }
    drop(stdin);
    let _ = child.kill();
    let _ = child.wait();
    status
}

#[test]
fn security_tickets_cannot_be_forged_or_replayed_and_saml_attacks_fail() {
    let up = HamnUp::start(&[]);
    let mut f = Findings::new("tickets+saml");
    let (_, procapita) = demo_app(&up, "Procapita");
    let demo = Portal::login(&up, "demo", Some("demo"));
    f.route("GET", "/ws/session");
    f.route("GET", "/wst/");

    // A genuine ticket opens the websocket once; every copy after is refused.
    let (_, ticket) = launch(&demo, &procapita);
    let first = upgrade(&up, &format!("/ws/session?ticket={ticket}"), None);
    f.check(
        first.status == 101,
        format!("a fresh ticket: {}", first.short()),
    );
    let again = upgrade(&up, &format!("/ws/session?ticket={ticket}"), None);
    f.attack(
        format!("replayed ticket: {}", again.short()),
        again.status == 403,
    );

    // Forgeries of a fresh, unspent ticket.
    let (_, fresh) = launch(&demo, &procapita);
    let keys = ticket_keys(&up);
    let parsed = hamn_broker::ticket::codec::decode(&fresh).expect("decode ticket");
    let claims = parsed.claims;
    let now_ms = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default(),
    )
    .unwrap_or_default();
    let (other_keys, _) = TicketKeys::generate().expect("a key");
    let mut splice = hamn_broker::ticket::codec::decode(&other_keys.sign(&claims)).expect("decode");
    splice.signed[1..5].copy_from_slice(&keys.key_id().0);
    let spliced = hamn_broker::ticket::codec::encode(&splice.signed, &splice.signature);
    let resign = |change: &dyn Fn(&mut Claims)| {
        let mut c = claims;
        change(&mut c);
        keys.sign(&c)
    };
    let forged: Vec<(&str, String, u16)> = vec![
        ("signature bit flipped", flip(&fresh, 150), 401),
        ("user id altered", flip(&fresh, 25), 401),
        ("session id altered", flip(&fresh, 60), 401),
        ("host id altered", flip(&fresh, 75), 401),
        ("expiry extended", flip(&fresh, 112), 401),
        ("path altered to native", flip(&fresh, 101), 401),
        ("signed by another key", other_keys.sign(&claims), 401),
        ("another key under the broker's key id", spliced, 401),
        (
            "expired (the broker's key)",
            resign(&|c| {
                c.issued_at_ms = now_ms - 600_000;
                c.expires_at_ms = now_ms - 300_000;
            }),
            401,
        ),
        (
            "issued in the future (the broker's key)",
            resign(&|c| {
                c.issued_at_ms = now_ms + 600_000;
                c.expires_at_ms = now_ms + 660_000;
            }),
            401,
        ),
        (
            "never issued: new ticket id (the broker's key)",
            resign(&|c| c.ticket_id = c.session_id),
            403,
        ),
        (
            "another user's claims (the broker's key)",
            resign(&|c| c.user_id = c.host_id),
            403,
        ),
        ("empty", String::new(), 401),
        ("not base64", "!!!!".repeat(61), 401),
        ("too long", "A".repeat(600), 401),
        ("truncated", fresh[..200].to_owned(), 401),
        ("version 0", flip(&fresh, 0), 401),
    ];
    for (what, text, expected) in &forged {
        let answer = upgrade(&up, &format!("/ws/session?ticket={text}"), None);
        f.attack(
            format!("{what}: {} (expected {expected})", answer.short()),
            answer.status == 401 || answer.status == 403,
        );
    }
    // The genuine ticket was never spent by any of them.
    let genuine = upgrade(&up, &format!("/ws/session?ticket={fresh}"), None);
    f.check(
        genuine.status == 101,
        format!("the fresh ticket after the forgeries: {}", genuine.short()),
    );

    // The native path: the .rdp file's reference works once at /wst/; forgeries never.
    let reference = rdp_reference(&demo, &procapita);
    let first = upgrade(&up, "/wst/", Some(&reference));
    f.check(
        first.status == 101,
        format!("a fresh reference: {}", first.short()),
    );
    let (_, browser_ticket) = launch(&demo, &procapita);
    let mut flipped = reference.clone().into_bytes();
    flipped[3] = if flipped[3] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap_or_default();
    for (what, bearer) in [
        ("replayed reference", reference.as_str()),
        ("reference with one letter changed", flipped.as_str()),
        ("random reference", "AAAAAAAAAAAAAAAAAAAAAAAA"),
        ("malformed reference", "not a reference"),
        (
            "a browser ticket at the native path",
            browser_ticket.as_str(),
        ),
        ("empty bearer", ""),
    ] {
        let answer = upgrade(&up, "/wst/", Some(bearer));
        f.attack(
            format!("/wst/ {what}: {}", answer.short()),
            [401, 403].contains(&answer.status),
        );
    }
    let answer = upgrade(&up, &format!("/ws/session?ticket={reference}"), None);
    f.attack(
        format!("a native reference at /ws/session: {}", answer.short()),
        [401, 403].contains(&answer.status),
    );
    let spare = rdp_reference(&demo, &procapita);
    let answer = upgrade(&up, &format!("/ws/session?ticket={spare}"), None);
    f.attack(
        format!(
            "an unspent native reference at /ws/session: {}",
            answer.short()
        ),
        [401, 403].contains(&answer.status),
    );

    // The RD Gateway path: the reference as PAA cookie at the tunnel create.
    f.route("RDG_OUT_DATA", "/remoteDesktopGateway/");
    let denied = hamn_gateway::rdg::HResult::E_PROXY_COOKIE_AUTHENTICATION_ACCESS_DENIED.0;
    let reference = rdp_reference(&demo, &procapita);
    let first = rdg_tunnel_status(&up, &reference);
    f.check(first == Some(0), format!("a fresh PAA cookie: {first:x?}"));
    let (_, browser_ticket) = launch(&demo, &procapita);
    for (what, cookie) in [
        ("replayed PAA cookie", reference.as_str()),
        ("random PAA cookie", "AAAAAAAAAAAAAAAAAAAAAAAA"),
        ("malformed PAA cookie", "not a reference"),
        ("a browser ticket as PAA cookie", browser_ticket.as_str()),
    ] {
        let status = rdg_tunnel_status(&up, cookie);
        f.attack(
            format!("RD Gateway {what}: {status:x?}"),
            status == Some(denied),
        );
    }

    saml_attacks(&up, &mut f);
    f.finish();
}

/// A fresh SAML login attempt through the demo IdP: (cookie jar args, RelayState, the
/// signed SAMLResponse the IdP answered).
fn saml_attempt(up: &HamnUp, jar: &Path) -> (String, String) {
    let portal = portal_url(up);
    let jar_args = [
        "-b",
        jar.to_str().unwrap_or_default(),
        "-c",
        jar.to_str().unwrap_or_default(),
    ];
    let login = http(
        &ca(up),
        "GET",
        &format!("{portal}/saml/demo/login"),
        &[],
        None,
        &jar_args,
    );
    assert_eq!(login.status, 303, "SAML login: {}", login.short());
    let location = login.header("location").unwrap_or_default().to_owned();
    let picker = http(&ca(up), "GET", &location, &[], None, &jar_args);
    let input = |page: &str, name: &str| -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let at = page.find(&marker).map(|i| i + marker.len()).unwrap_or(0);
        let value = &page[at..];
        value[..value.find('"').unwrap_or(0)]
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    };
    let request = input(&picker.body, "SAMLRequest");
    let relay = input(&picker.body, "RelayState");
    let form = format!(
        "SAMLRequest={}&RelayState={}&user=demo",
        urlencode(&request),
        urlencode(&relay)
    );
    let answer = http(
        &ca(up),
        "POST",
        &format!("{portal}/demo-idp/sso"),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some(form.as_bytes()),
        &jar_args,
    );
    assert_eq!(answer.status, 200, "demo IdP: {}", answer.short());
    (relay, input(&answer.body, "SAMLResponse"))
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn post_acs(up: &HamnUp, jar: &Path, relay: &str, response: &str) -> Resp {
    let jar_args = [
        "-b",
        jar.to_str().unwrap_or_default(),
        "-c",
        jar.to_str().unwrap_or_default(),
    ];
    let form = format!(
        "SAMLResponse={}&RelayState={}",
        urlencode(response),
        urlencode(relay)
    );
    http(
        &ca(up),
        "POST",
        &format!("{}/saml/demo/acs", portal_url(up)),
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Accept", "application/json"),
        ],
        Some(form.as_bytes()),
        &jar_args,
    )
}

fn b64(bytes: &[u8]) -> String {
    b64_encode(bytes, false)
}

/// The XSW corpus and hand-made hostile responses at the live ACS, each with a fresh
/// login attempt (so only the response is wrong), then a genuine login and its replay.
fn saml_attacks(up: &HamnUp, f: &mut Findings) {
    f.route("POST", "/saml/{tenant}/acs");
    let scratch = TempDir::new("saml-attacks");
    let mut n = 0;
    let mut attempt = || {
        n += 1;
        let jar = scratch.0.join(format!("jar-{n}"));
        let (relay, response) = saml_attempt(up, &jar);
        (jar, relay, response)
    };
    let refused = |answer: &Resp| {
        (400..500).contains(&answer.status)
            && answer
                .all("set-cookie")
                .iter()
                .all(|c| !c.starts_with("__Host-hamn_session=") || c.contains("Max-Age=0"))
    };
    let xsw_dir = repo().join("tests/fixtures/saml/xsw");
    let mut xsw: Vec<PathBuf> = std::fs::read_dir(&xsw_dir)
        .expect("the XSW corpus")
        .flatten()
        .map(|e| e.path())
        .collect();
    xsw.sort();
    assert!(xsw.len() >= 8, "XSW corpus: {xsw:?}");
    for file in &xsw {
        let (jar, relay, _) = attempt();
        let xml = std::fs::read(file).expect("read XSW file");
        let answer = post_acs(up, &jar, &relay, &b64(&xml));
        f.attack(
            format!("SAML {}: {}", file.display(), answer.short()),
            refused(&answer),
        );
    }
    // Hostile variants of a genuine, signed response of the demo IdP, each made from the
    // response to its own attempt (an attempt is spent by its first answer).
    fn without_signature(xml: &str) -> String {
        match (xml.find("<ds:Signature"), xml.find("</ds:Signature>")) {
            (Some(a), Some(b)) => format!("{}{}", &xml[..a], &xml[b + 15..]),
            _ => xml.replacen("Signature", "Signatur", 2),
        }
    }
    type Change = fn(&str) -> String;
    let variants: [(&str, Change); 6] = [
        ("NameID changed after signing", |x| {
            x.replacen(">demo<", ">admin<", 1)
        }),
        ("a DOCTYPE with an external entity", |x| {
            x.replacen(
                "?>",
                "?><!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>",
                1,
            )
        }),
        ("a comment inside the NameID", |x| {
            x.replacen(">demo<", ">de<!---->mo<", 1)
        }),
        ("the signature removed", without_signature),
        ("not XML", |_| "this is not a SAML response".into()),
        ("truncated", |x| x[..x.len() / 2].to_owned()),
    ];
    for (what, change) in variants {
        let (jar, relay, genuine) = attempt();
        let xml = String::from_utf8(unb64(&genuine)).expect("response XML");
        let body = change(&xml);
        f.check(body != xml, format!("SAML variant {what} changed nothing"));
        let answer = post_acs(up, &jar, &relay, &b64(body.as_bytes()));
        f.attack(format!("SAML {what}: {}", answer.short()), refused(&answer));
    }
    // Unsolicited: a genuine response without RelayState, and with another browser's.
    let (_, other_relay, other_response) = attempt();
    let stranger = scratch.0.join("stranger");
    let answer = post_acs(up, &stranger, &other_relay, &other_response);
    f.attack(
        format!(
            "SAML response in a browser that did not ask: {}",
            answer.short()
        ),
        refused(&answer),
    );
    let (jar, _, genuine) = attempt();
    let answer = post_acs(up, &jar, "", &genuine);
    f.attack(
        format!("SAML response without RelayState: {}", answer.short()),
        refused(&answer),
    );
    // The genuine one in its own browser logs in; its second use is a replay.
    let (jar, relay, response) = attempt();
    let answer = post_acs(up, &jar, &relay, &response);
    f.check(
        answer.status == 303,
        format!("the genuine SAML login: {}", answer.short()),
    );
    let answer = post_acs(up, &jar, &relay, &response);
    f.attack(format!("SAML replay: {}", answer.short()), refused(&answer));
}

// ---------------------------------------------------------------------------------------
// 6 (SITHS) and 7. Card attacks, login throttling and the API limit

#[test]
fn security_logins_are_throttled_bad_cards_refused_and_the_api_limited() {
    let up = HamnUp::start(&[]);
    let mut f = Findings::new("rate limits+siths");
    let ca = ca(&up);
    let portal = portal_url(&up);
    let siths = format!("https://localhost:{}/siths/login", up.ports.siths);
    f.route("GET", "/siths/login");
    f.route("POST", "/portal/api/demo-login");
    // Logged in before the address is held back below.
    let admin = Portal::login(&up, "admin", Some("demo"));

    // SITHS attack cards: each refused by the listener.
    let certs = up.certs();
    let read = |file: &str| std::fs::read_to_string(certs.join(file)).expect("read dev PKI file");
    let (siths_ca, siths_key) = (read("siths-ca.crt"), read("siths-ca.key"));
    let (api_ca, api_key) = (read("api-ca.crt"), read("api-ca.key"));
    let now = std::time::SystemTime::now();
    let day = Duration::from_secs(86_400);
    let scratch = TempDir::new("siths-attacks");
    let hsa = Some("SE2321000016-0001".to_owned());
    let cards: Vec<(&str, &str, &str, hamn_certs::pki::ClientCertOptions)> = vec![
        (
            "expired card",
            siths_ca.as_str(),
            siths_key.as_str(),
            hamn_certs::pki::ClientCertOptions {
                subject_serial_number: hsa.clone(),
                extended_key_usage: hamn_certs::pki::ClientEku::ClientAuth,
                validity: Some((now - 60 * day, now - 30 * day)),
                person_name: None,
                ocsp_url: None,
            },
        ),
        (
            "card without clientAuth",
            siths_ca.as_str(),
            siths_key.as_str(),
            hamn_certs::pki::ClientCertOptions {
                subject_serial_number: hsa.clone(),
                extended_key_usage: hamn_certs::pki::ClientEku::Absent,
                validity: None,
                person_name: None,
                ocsp_url: None,
            },
        ),
        (
            "card of another CA",
            api_ca.as_str(),
            api_key.as_str(),
            hamn_certs::pki::ClientCertOptions {
                subject_serial_number: hsa.clone(),
                extended_key_usage: hamn_certs::pki::ClientEku::ClientAuth,
                validity: None,
                person_name: None,
                ocsp_url: None,
            },
        ),
        (
            "card without an HSA-ID",
            siths_ca.as_str(),
            siths_key.as_str(),
            hamn_certs::pki::ClientCertOptions {
                subject_serial_number: None,
                extended_key_usage: hamn_certs::pki::ClientEku::ClientAuth,
                validity: None,
                person_name: None,
                ocsp_url: None,
            },
        ),
        (
            "card with a malformed HSA-ID",
            siths_ca.as_str(),
            siths_key.as_str(),
            hamn_certs::pki::ClientCertOptions {
                subject_serial_number: Some("SE' OR '1'='1".into()),
                extended_key_usage: hamn_certs::pki::ClientEku::ClientAuth,
                validity: None,
                person_name: None,
                ocsp_url: None,
            },
        ),
    ];
    for (n, (what, issuer, key, options)) in cards.iter().enumerate() {
        let issued = hamn_certs::pki::issue_client_cert(issuer, key, "Åsa Öberg", options)
            .expect("issue a test card");
        let cert = scratch.0.join(format!("card-{n}.crt"));
        let key_file = scratch.0.join(format!("card-{n}.key"));
        std::fs::write(&cert, &issued.cert_pem).expect("write card");
        std::fs::write(&key_file, &issued.key_pem).expect("write key");
        let answer = http(
            &ca,
            "GET",
            &siths,
            &[("Accept", "application/json")],
            None,
            &[
                "--cert",
                &cert.display().to_string(),
                "--key",
                &key_file.display().to_string(),
            ],
        );
        f.attack(
            format!("SITHS {what}: {}", answer.short()),
            [0, 401, 403].contains(&answer.status) && answer.header("set-cookie").is_none(),
        );
    }

    // Demo login: one name failing again and again is held back, with Retry-After; the
    // real user from the same address still gets in.
    let mut throttled = None;
    for attempt in 0..12 {
        let answer = http(
            &ca,
            "POST",
            &format!("{portal}/portal/api/demo-login"),
            &[("Origin", &portal), ("Content-Type", "application/json")],
            Some(json!({"username": "mallory"}).to_string().as_bytes()),
            &[],
        );
        f.attack(
            format!(
                "demo login as an unknown name #{attempt}: {}",
                answer.short()
            ),
            [401, 429].contains(&answer.status),
        );
        if answer.status == 429 {
            throttled = Some(answer);
            break;
        }
    }
    match throttled {
        Some(answer) => f.check(
            answer
                .header("retry-after")
                .and_then(|v| v.parse::<u64>().ok())
                .is_some_and(|s| s >= 1),
            format!(
                "throttled demo login without Retry-After: {:?}",
                answer.headers
            ),
        ),
        None => f.fail("the demo login was never throttled"),
    }
    f.check(
        Portal::demo_login(&up, "demo", Some("demo")).is_ok(),
        "the real user was locked out by another name's failures",
    );

    // SITHS: logins without a card fail and are counted per address until 429.
    let mut throttled = None;
    for attempt in 0..40 {
        let answer = http(
            &ca,
            "GET",
            &siths,
            &[("Accept", "application/json")],
            None,
            &[],
        );
        f.attack(
            format!("SITHS login without a card #{attempt}: {}", answer.short()),
            [401, 429].contains(&answer.status),
        );
        if answer.status == 429 {
            throttled = Some(answer);
            break;
        }
    }
    match throttled {
        Some(answer) => f.check(
            answer
                .header("retry-after")
                .and_then(|v| v.parse::<u64>().ok())
                .is_some_and(|s| s >= 1),
            format!(
                "throttled SITHS login without Retry-After: {:?}",
                answer.headers
            ),
        ),
        None => f.fail("SITHS logins were never throttled"),
    }

    // The admin API's per-tenant limit, on the portal origin and by mTLS.
    let (demo, _) = demo_app(&up, "Procapita");
    up.operator_ok(
        "PUT",
        &format!("/tenants/{demo}/limits"),
        Some(json!({"api_requests_per_minute": 5})),
    );
    f.route("GET", "/api/v1/whoami");
    let mut limited = None;
    for _ in 0..30 {
        let answer = admin.get("/api/v1/whoami");
        if answer.status == 429 {
            limited = Some(answer);
            break;
        }
        f.check(answer.status == 200, format!("whoami: {}", answer.short()));
    }
    f.attack(
        "31 admin API requests on the portal origin with a limit of 5 per minute",
        limited.is_some(),
    );
    if let Some(answer) = limited {
        f.check(
            answer
                .header("retry-after")
                .and_then(|v| v.parse::<u64>().ok())
                .is_some_and(|s| (1..=60).contains(&s)),
            format!("API 429 without Retry-After: {:?}", answer.headers),
        );
    }
    let client_cn = "demo-integration";
    up.operator_create(
        "/api-clients",
        json!({"name": "Demo kommuns integration", "subject_cn": client_cn, "scope": "tenant", "tenant_id": demo}),
    );
    let options = hamn_certs::pki::ClientCertOptions {
        subject_serial_number: None,
        extended_key_usage: hamn_certs::pki::ClientEku::ClientAuth,
        validity: None,
        person_name: None,
        ocsp_url: None,
    };
    let issued = hamn_certs::pki::issue_client_cert(&api_ca, &api_key, client_cn, &options)
        .expect("issue a client certificate");
    let cert = scratch.0.join("client.crt");
    let key_file = scratch.0.join("client.key");
    std::fs::write(&cert, &issued.cert_pem).expect("write cert");
    std::fs::write(&key_file, &issued.key_pem).expect("write key");
    let mut limited = None;
    for _ in 0..30 {
        let answer = http(
            &ca,
            "GET",
            &format!("https://127.0.0.1:{}/api/v1/whoami", up.ports.broker),
            &[],
            None,
            &[
                "--cert",
                &cert.display().to_string(),
                "--key",
                &key_file.display().to_string(),
            ],
        );
        if answer.status == 429 {
            limited = Some(answer);
            break;
        }
        f.check(
            answer.status == 200,
            format!("mTLS whoami: {}", answer.short()),
        );
    }
    f.attack(
        "31 admin API requests by mTLS with a limit of 5 per minute",
        limited.is_some(),
    );
    if let Some(answer) = limited {
        f.check(
            answer.header("retry-after").is_some(),
            format!("mTLS 429 without Retry-After: {:?}", answer.headers),
        );
    }
    f.finish();
}

// ---------------------------------------------------------------------------------------
// 8. Secrets absent from the logs

/// Runs of 43 or more base64url characters mixing upper case, lower case and digits: the
/// shape of every random token Hamn issues (cookies, CSRF tokens, tickets, printer tokens).
fn token_shaped(line: &str) -> Vec<&str> {
    line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .filter(|w| {
            w.len() >= 43
                && w.chars().any(|c| c.is_ascii_uppercase())
                && w.chars().any(|c| c.is_ascii_lowercase())
                && w.chars().any(|c| c.is_ascii_digit())
        })
        .collect()
}

#[test]
fn security_logs_of_a_full_run_hold_no_secret() {
    let mut up = HamnUp::start(&[(
        "RUST_LOG",
        "info,hamn=debug,hamn_gateway=debug,hamn_broker=debug,hamn_print=debug,hamn_certs=debug"
            .into(),
    )]);
    let mut f = Findings::new("logs");
    let ca = ca(&up);
    let portal = portal_url(&up);
    let (demo_tenant, procapita) = demo_app(&up, "Procapita");
    let mut secrets: Vec<(String, String)> = Vec::new();
    let scratch = TempDir::new("log-secrets");

    // First a whole browser session (it ends by logging off): Chromium logs in, the
    // gateway connects to the demo host with the pool's credentials (the demo host
    // password), and a ticket is replayed.
    let shot = scratch.0.join("session.png");
    browser_script(
        "session viewer",
        "session.mjs",
        &[
            std::ffi::OsStr::new(&format!("{portal}/")),
            shot.as_os_str(),
        ],
        Some(&up),
    );

    // Logins of every kind, launches on both paths, a print, admin actions, refusals.
    let demo = Portal::login(&up, "demo", Some("demo"));
    secrets.push(("session cookie".into(), demo.token().to_owned()));
    secrets.push(("CSRF token".into(), demo.csrf.clone()));
    let (session, ticket) = launch(&demo, &procapita);
    secrets.push(("ticket".into(), ticket.clone()));
    // Printed while the session is launching (a spent ticket's websocket that never
    // speaks ends it).
    let (printer_token, job) = print_in(
        &up,
        &demo,
        &session,
        "Utskrift med personnummer 19121212-1212\n",
    );
    secrets.push(("printer token".into(), printer_token));
    let pdf = demo.get(&format!("/portal/api/prints/{job}/pdf"));
    f.check(pdf.status == 200, format!("the PDF: {}", pdf.status));
    let _ = upgrade(&up, &format!("/ws/session?ticket={ticket}"), None);
    let _ = upgrade(&up, &format!("/ws/session?ticket={ticket}"), None);
    let reference = rdp_reference(&demo, &procapita);
    secrets.push(("native reference".into(), reference.clone()));
    let _ = upgrade(&up, "/wst/", Some(&reference));
    let _ = upgrade(&up, "/wst/", Some(&reference));

    let card = format!(
        "{}:{}",
        up.certs().join("siths-card-1.p12").display(),
        hamn_certs::pki::P12_PASSWORD
    );
    let answer = http(
        &ca,
        "GET",
        &format!("https://localhost:{}/siths/login", up.ports.siths),
        &[],
        None,
        &["--cert-type", "P12", "--cert", &card],
    );
    f.check(
        answer.status == 303,
        format!("card login: {}", answer.short()),
    );
    if let Some(c) = answer
        .all("set-cookie")
        .iter()
        .find(|c| c.starts_with("__Host-hamn_session="))
    {
        let pair = cookie_pair(c);
        secrets.push((
            "SITHS session cookie".into(),
            pair.split_once('=')
                .map(|(_, v)| v.to_owned())
                .unwrap_or_default(),
        ));
    }

    let jar = scratch.0.join("saml-jar");
    let (relay, response) = saml_attempt(&up, &jar);
    let answer = post_acs(&up, &jar, &relay, &response);
    f.check(
        answer.status == 303,
        format!("SAML login: {}", answer.short()),
    );
    secrets.push(("SAMLResponse".into(), response.clone()));
    let assertion = String::from_utf8(unb64(&response)).unwrap_or_default();
    if let Some(signature) = assertion
        .split("<ds:SignatureValue>")
        .nth(1)
        .and_then(|s| s.split('<').next())
    {
        secrets.push(("SAML signature value".into(), signature.trim().to_owned()));
    }
    if let Ok(jar_text) = std::fs::read_to_string(&jar) {
        for line in jar_text.lines().filter(|l| l.contains("__Host-hamn_")) {
            if let Some(value) = line.split('\t').nth(6) {
                secrets.push(("SAML browser cookie".into(), value.trim().to_owned()));
            }
        }
    }

    let admin = Portal::login(&up, "admin", Some("demo"));
    secrets.push(("admin session cookie".into(), admin.token().to_owned()));
    secrets.push(("admin CSRF token".into(), admin.csrf.clone()));
    admin.ok(
        "POST",
        &format!("/api/v1/tenants/{demo_tenant}/users"),
        Some(&json!({"name_id": "loggtest", "display_name": "Logg Testsson"})),
    );
    let pool = up.operator_create(
        "/pools",
        json!({"name": "Loggpoolen", "host_cert_policy": "ignore"}),
    );
    let pool_password = "Pool-Lösen-7f3a9c!";
    up.operator_ok(
        "PUT",
        &format!("/pools/{pool}/credentials"),
        Some(json!({"username": "svc-hamn", "domain": "DEMO", "password": pool_password})),
    );
    secrets.push(("pool password".into(), pool_password.into()));
    let _ = Portal::demo_login(&up, "mallory", None);
    let forged_cookie = "Forged-cookie-value-1234567890abcdefghijklmnop";
    let _ = http(
        &ca,
        "GET",
        &format!("{portal}/portal/api/me"),
        &[("Cookie", &format!("__Host-hamn_session={forged_cookie}"))],
        None,
        &[],
    );
    secrets.push(("forged cookie".into(), forged_cookie.into()));

    // Stop, so every line is written, then read everything hamn and its child wrote.
    let status = up.terminate();
    f.check(
        status.is_some_and(|s| s.success()),
        format!("exit: {status:?}"),
    );
    let logs = format!("{}\n{}", up.logs(), up.banner());
    secrets.push(("demo host password".into(), "Hamn-demo-2026".into()));
    let secrets_key = std::fs::read_to_string(up.data.0.join("secrets_key")).unwrap_or_default();
    secrets.push(("secrets_key".into(), secrets_key.trim().to_owned()));
    let ticket_key =
        std::fs::read_to_string(up.data.0.join("ticket_signing_key")).unwrap_or_default();
    for line in ticket_key.lines().filter(|l| !l.starts_with("-----")) {
        secrets.push(("ticket signing key".into(), line.trim().to_owned()));
    }
    for entry in std::fs::read_dir(up.certs())
        .into_iter()
        .flatten()
        .flatten()
    {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "key") {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            if let Some(line) = text.lines().nth(1) {
                secrets.push((format!("{} PEM", path.display()), line.trim().to_owned()));
            }
        }
    }
    for (what, secret) in &secrets {
        f.check(
            secret.len() >= 8,
            format!("{what} was not captured: {secret:?}"),
        );
        let prefix: String = secret.chars().take(16).collect();
        f.attack(
            format!("{what} ({prefix}…) in the logs"),
            !logs.contains(secret.as_str()) && !logs.contains(&prefix),
        );
    }
    for marker in [
        "PRIVATE KEY",
        "BEGIN CERTIFICATE",
        "SAMLResponse=",
        "<saml:Assertion",
        "<saml2:Assertion",
        "Assertion ID=",
        "X-CSRF-Token: ",
        "Bearer ",
        "password=",
        "\"password\":",
    ] {
        f.attack(format!("{marker:?} in the logs"), !logs.contains(marker));
    }
    for line in logs.lines() {
        let tokens = token_shaped(line);
        f.check(
            tokens.is_empty(),
            format!("a token-shaped string in the log: {line}"),
        );
    }
    // The run logged what happened (so the logs are the full story, debug included).
    for expected in ["ticket refused", "demo IdP answered", "demo login refused"] {
        f.check(
            logs.contains(expected),
            format!("the logs lack {expected:?}"),
        );
    }
    let debug = logs.lines().filter(|l| l.contains("DEBUG")).count();
    println!("security logs: {debug} debug lines");
    let lines = logs.lines().count();
    f.check(
        lines > 30,
        format!("too few log lines to mean anything: {lines}"),
    );
    println!(
        "security logs: {lines} log lines, {} secrets looked for",
        secrets.len()
    );
    f.finish();
}
