//! `hamn up` end to end: start in a temp data dir on free ports, then talk to it as its
//! users would — curl over HTTPS, the admin API with good and bad client certificates, the
//! admin CLI, Chromium on the portal, xfreerdp on the demo app host — and stop it with
//! SIGTERM, leaving no process behind.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use hamn_certs::pki::{ClientCertOptions, ClientEku};

use crate::support::{HamnUp, TempDir, browser_script, hamn_bin, process_alive, repo};

#[test]
fn hamn_up_serves_everything_and_stops_cleanly() {
    let mut up = HamnUp::start(&[("HAMN_LOG__FORMAT", "json".into())]);
    let gateway = format!("https://localhost:{}", up.ports.gateway);
    let broker = format!("https://127.0.0.1:{}", up.ports.broker);

    health_and_transport_security(&up, &gateway, &broker);
    admin_api_requires_good_client_certificates(&up, &broker);
    admin_cli_lists_the_demo_tenant(&up, &broker);
    service_window_calendar_is_public(&up, &gateway);
    siths_card_logs_in_to_the_portal(&up, &gateway);
    portal_works_in_chromium(&gateway);
    demo_host_shows_the_app_to_xfreerdp(&up);
    portal_rdp_file_opens_the_app_in_xfreerdp(&up, &gateway);
    the_native_session_is_in_the_metrics(&up);

    let children = up.children();
    assert!(
        !children.is_empty(),
        "the demo host should be a child of hamn up"
    );
    let status = up.terminate();
    assert!(
        status.is_some_and(|s| s.success()),
        "SIGTERM exit: {status:?}\n{}",
        up.logs()
    );
    for pid in children {
        assert!(!process_alive(pid), "child {pid} outlived hamn up");
    }
    let (code, _) = up.curl(&[], &format!("{gateway}/healthz"));
    assert_eq!(code, 0, "the gateway still answers after shutdown");

    assert!(
        up.banner().contains(&format!("Portal: {gateway}")),
        "{}",
        up.banner()
    );
    logs_are_json_without_secrets(&up.logs());
}

/// The seeded example service windows are in the public calendar, without a login.
fn service_window_calendar_is_public(up: &HamnUp, gateway: &str) {
    let (code, feed) = up.curl(&[], &format!("{gateway}/status/demo/prod/calendar.ics"));
    assert_eq!(code, 200, "{feed}");
    assert!(feed.starts_with("BEGIN:VCALENDAR\r\n"), "{feed}");
    assert!(
        feed.contains("Demo kommun PROD: Uppgradering Lifecare"),
        "{feed}"
    );
    assert_eq!(
        feed.matches("BEGIN:VEVENT").count(),
        1,
        "only PROD's window: {feed}"
    );
    let (code, feed) = up.curl(&[], &format!("{gateway}/status/calendar.ics"));
    assert_eq!(code, 200, "{feed}");
    assert_eq!(feed.matches("BEGIN:VEVENT").count(), 3, "{feed}");
}

/// The demo configuration's SITHS listener takes test card 1 (the demo user's HSA-ID) and
/// hands the browser a session the portal knows; the login page links to it.
fn siths_card_logs_in_to_the_portal(up: &HamnUp, gateway: &str) {
    let siths = format!("https://localhost:{}/siths/login", up.ports.siths);
    let (code, methods) = up.curl(&[], &format!("{gateway}/portal/api/login-methods"));
    assert_eq!(code, 200, "{methods}");
    assert!(methods.contains(&siths), "{methods}");
    let card = format!(
        "{}:{}",
        up.certs().join("siths-card-1.p12").display(),
        hamn_certs::pki::P12_PASSWORD
    );
    let (code, headers) = up.curl(
        &[
            "--cert-type",
            "P12",
            "--cert",
            &card,
            "-D",
            "-",
            "-o",
            "/dev/null",
        ],
        &siths,
    );
    assert_eq!(code, 303, "{headers}");
    let cookie = headers
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .unwrap_or_else(|| panic!("no session cookie: {headers}"))
        .to_owned();
    let (code, me) = up.curl(
        &["-H", &format!("Cookie: {cookie}")],
        &format!("{gateway}/portal/api/me"),
    );
    assert_eq!(code, 200, "{me}");
    assert!(me.contains("\"method\":\"siths\""), "{me}");
    assert!(me.contains("Åsa Öberg"), "{me}");
    let (code, refused) = up.curl(&[], &siths);
    assert_eq!(code, 401, "no card: {refused}");

    // `hamn certs revoke-card 1` re-signs the test CA's CRL; the running listener reloads it
    // and refuses the card from then on.
    let output = Command::new(hamn_bin())
        .args(["certs", "revoke-card", "1", "--data-dir"])
        .arg(&up.data.0)
        .output()
        .expect("run hamn certs revoke-card");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let card_login = || {
        up.curl(
            &[
                "--cert-type",
                "P12",
                "--cert",
                &card,
                "-H",
                "Accept: application/json",
            ],
            &siths,
        )
    };
    let mut last = card_login();
    for _ in 0..300 {
        if last.0 != 303 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        last = card_login();
    }
    assert_eq!(last.0, 403, "{}", last.1);
    assert!(last.1.contains("\"reason\":\"revoked\""), "{}", last.1);
}

/// With `log.format = "json"` every line hamn (and its demo host child) wrote is a JSON
/// event, and no secret the test handled appears anywhere.
fn logs_are_json_without_secrets(logs: &str) {
    let mut events = 0;
    for line in logs.lines().filter(|l| !l.trim().is_empty()) {
        let event: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(event.get("level").is_some(), "no level: {line}");
        events += 1;
    }
    assert!(events >= 5, "too few log events: {logs}");
    for secret in ["Hamn-demo-2026", "PRIVATE KEY"] {
        assert!(!logs.contains(secret), "{secret} leaked into the logs");
    }
    for expected in [
        "gateway listening",
        "broker admin API listening",
        "demo app host started",
    ] {
        assert!(logs.contains(expected), "log lacks {expected:?}");
    }
}

fn health_and_transport_security(up: &HamnUp, gateway: &str, broker: &str) {
    for base in [gateway, broker] {
        assert_eq!(
            up.curl(&[], &format!("{base}/healthz")),
            (200, "ok".into()),
            "{base}"
        );
        let (code, body) = up.curl(&[], &format!("{base}/readyz"));
        assert_eq!(code, 200, "{base}/readyz: {body}");
    }
    let (code, _) = up.curl(
        &[],
        &format!("https://127.0.0.1:{}/healthz", up.ports.print),
    );
    assert_eq!(code, 200, "print service health");

    // TLS below 1.2 is refused outright.
    let (code, _) = up.curl(&["--tls-max", "1.1"], &format!("{gateway}/healthz"));
    assert_eq!(code, 0, "TLS 1.1 must not be accepted");

    // The only plaintext listener redirects to the HTTPS portal.
    let output = Command::new("curl")
        .args([
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{redirect_url}",
        ])
        .arg(format!(
            "http://127.0.0.1:{}/some/path?x=1",
            up.ports.redirect
        ))
        .output()
        .expect("curl redirect");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("308 {gateway}/some/path?x=1")
    );

    // Every portal response carries the security headers.
    let output = Command::new("curl")
        .args(["-sS", "-D", "-", "-o", "/dev/null", "--cacert"])
        .arg(up.certs().join("ca.crt"))
        .arg(format!("{gateway}/"))
        .output()
        .expect("curl headers");
    let headers = String::from_utf8_lossy(&output.stdout).to_ascii_lowercase();
    for header in [
        "strict-transport-security:",
        "content-security-policy:",
        "x-frame-options: deny",
    ] {
        assert!(headers.contains(header), "missing {header} in {headers}");
    }
}

fn write_pem(dir: &Path, name: &str, cert: &str, key: &str) -> (String, String) {
    let cert_path = dir.join(format!("{name}.crt"));
    let key_path = dir.join(format!("{name}.key"));
    std::fs::write(&cert_path, cert).expect("write cert");
    std::fs::write(&key_path, key).expect("write key");
    (
        cert_path.display().to_string(),
        key_path.display().to_string(),
    )
}

fn admin_api_requires_good_client_certificates(up: &HamnUp, broker: &str) {
    let certs = up.certs();
    let whoami = format!("{broker}/api/v1/whoami");
    let operator = |file: &str| certs.join(file).display().to_string();

    let (code, body) = up.curl(
        &[
            "--cert",
            &operator("api-operator.crt"),
            "--key",
            &operator("api-operator.key"),
        ],
        &whoami,
    );
    assert_eq!(code, 200, "operator whoami: {body}");
    assert!(body.contains("hamn-operator"), "{body}");

    let (code, body) = up.curl(&[], &whoami);
    assert_eq!(code, 401, "no certificate: {body}");
    assert!(
        body.contains("\"status\":401"),
        "problem document expected: {body}"
    );

    let scratch = TempDir::new("certs");
    let read = |file: &str| std::fs::read_to_string(certs.join(file)).expect("read dev PKI file");
    let (api_ca, api_ca_key) = (read("api-ca.crt"), read("api-ca.key"));
    let (other_ca, other_ca_key) = (read("siths-ca.crt"), read("siths-ca.key"));
    let now = SystemTime::now();
    let day = Duration::from_secs(86_400);
    let current = Some((now - day, now + 30 * day));
    let expired = Some((now - 60 * day, now - 30 * day));
    let cases = [
        (
            "no-eku",
            &api_ca,
            &api_ca_key,
            ClientEku::Absent,
            current,
            403,
        ),
        (
            "other-ca",
            &other_ca,
            &other_ca_key,
            ClientEku::ClientAuth,
            current,
            401,
        ),
        (
            "expired",
            &api_ca,
            &api_ca_key,
            ClientEku::ClientAuth,
            expired,
            401,
        ),
    ];
    for (name, ca, ca_key, extended_key_usage, validity, expected) in cases {
        let options = ClientCertOptions {
            subject_serial_number: None,
            extended_key_usage,
            validity,
            person_name: None,
            ocsp_url: None,
        };
        let issued = hamn_certs::pki::issue_client_cert(ca, ca_key, "hamn-operator", &options)
            .expect("issue test certificate");
        let (cert, key) = write_pem(&scratch.0, name, &issued.cert_pem, &issued.key_pem);
        let (code, body) = up.curl(&["--cert", &cert, "--key", &key], &whoami);
        assert_eq!(code, expected, "{name}: {body}");
        assert!(
            body.contains(&format!("\"status\":{expected}")),
            "{name}: {body}"
        );
    }

    // Every refusal above is in the audit log.
    let (code, body) = up.curl(
        &[
            "--cert",
            &operator("api-operator.crt"),
            "--key",
            &operator("api-operator.key"),
        ],
        &format!("{broker}/api/v1/audit?action=api.auth_refused&limit=50"),
    );
    assert_eq!(code, 200, "{body}");
    let audit: serde_json::Value = serde_json::from_str(&body).expect("audit JSON");
    let refusals = audit["items"].as_array().map_or(0, Vec::len);
    assert!(
        refusals >= 4,
        "expected 4 audited refusals, got {refusals}: {body}"
    );
}

fn admin_cli_lists_the_demo_tenant(up: &HamnUp, broker: &str) {
    let run = |args: &[&str]| {
        let output = Command::new(hamn_bin())
            .args(["admin", "--data-dir"])
            .arg(&up.data.0)
            .args(["--url", broker])
            .args(args)
            .output()
            .expect("run hamn admin");
        assert!(
            output.status.success(),
            "hamn admin {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let table = run(&["tenants", "list"]);
    assert!(table.contains("Demo kommun"), "{table}");
    let json: serde_json::Value =
        serde_json::from_str(&run(&["--json", "tenants", "list"])).expect("--json output");
    assert!(json.to_string().contains("Demo kommun"), "{json}");
    let created = run(&["tenants", "create", "slug=e2e-kommun", "name=E2E kommun"]);
    assert!(created.contains("e2e-kommun"), "{created}");
    assert!(run(&["tenants", "list"]).contains("E2E kommun"));

    // The demo pool's host credentials are stored sealed: readable as a username only.
    let pools: serde_json::Value =
        serde_json::from_str(&run(&["--json", "pools", "list"])).expect("pools JSON");
    let pool = pools["items"]
        .as_array()
        .and_then(|items| items.iter().find(|p| p["name"] == "Demopool"))
        .and_then(|p| p["id"].as_str())
        .expect("the demo pool is seeded")
        .to_owned();
    let certs = up.certs();
    let (cert, key) = (
        certs.join("api-operator.crt"),
        certs.join("api-operator.key"),
    );
    let (code, body) = up.curl(
        &[
            "--cert",
            &cert.display().to_string(),
            "--key",
            &key.display().to_string(),
        ],
        &format!("{broker}/api/v1/pools/{pool}/credentials"),
    );
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("\"username\":\"demo\""), "{body}");
    assert!(
        !body.contains("Hamn-demo-2026"),
        "the password must never be returned"
    );
}

fn portal_works_in_chromium(gateway: &str) {
    let scratch = TempDir::new("portal");
    let shot = scratch.0.join("portal.png");
    let portal = format!("{gateway}/");
    browser_script(
        "portal",
        "portal.mjs",
        &[std::ffi::OsStr::new(&portal), shot.as_os_str()],
        None,
    );
    assert!(
        std::fs::metadata(&shot).is_ok_and(|m| m.len() > 1000),
        "no portal screenshot"
    );
}

/// A binary PPM (P6) image as ImageMagick writes it.
struct Ppm {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

impl Ppm {
    /// Converts a PNG to PPM beside it (ImageMagick) and reads that.
    fn from_png(png: &Path) -> Self {
        let ppm = png.with_extension("ppm");
        let status = Command::new("convert")
            .arg(png)
            .arg(&ppm)
            .status()
            .expect("convert");
        assert!(status.success(), "convert {}", png.display());
        Self::read(&ppm)
    }

    fn read(path: &Path) -> Self {
        let bytes = std::fs::read(path).expect("read ppm");
        // Header: "P6", width, height, maxval, each separated by white space.
        let mut fields = Vec::new();
        let mut at = 0;
        while fields.len() < 4 {
            while bytes[at].is_ascii_whitespace() {
                at += 1;
            }
            let start = at;
            while !bytes[at].is_ascii_whitespace() {
                at += 1;
            }
            fields.push(String::from_utf8_lossy(&bytes[start..at]).into_owned());
        }
        assert_eq!(fields[0], "P6");
        assert_eq!(fields[3], "255");
        let (width, height) = (
            fields[1].parse().expect("width"),
            fields[2].parse().expect("height"),
        );
        Self {
            width,
            height,
            pixels: bytes[at + 1..].to_vec(),
        }
    }

    fn rgb(&self, x: usize, y: usize) -> [u8; 3] {
        let i = (y * self.width + x) * 3;
        [self.pixels[i], self.pixels[i + 1], self.pixels[i + 2]]
    }
}

fn demo_host_shows_the_app_to_xfreerdp(up: &HamnUp) {
    let scratch = TempDir::new("rdp");
    let png = scratch.0.join("demo.png");
    let output = Command::new(repo().join("tests/tools/rdp-screenshot.sh"))
        .args([
            "127.0.0.1",
            &up.ports.demo_host.to_string(),
            "demo",
            "Hamn-demo-2026",
        ])
        .arg(&png)
        .output()
        .expect("run rdp-screenshot.sh");
    assert!(
        output.status.success(),
        "xfreerdp screenshot failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let image = Ppm::from_png(&png);
    assert!(
        image.width >= 1024 && image.height >= 700,
        "{}x{}",
        image.width,
        image.height
    );

    let mut colours = std::collections::HashSet::new();
    for chunk in image.pixels.chunks_exact(3).step_by(7) {
        colours.insert([chunk[0], chunk[1], chunk[2]]);
    }
    assert!(
        colours.len() > 20,
        "the screen is nearly uniform: {} colours",
        colours.len()
    );
    for (x, y, expected) in crate::smoke::DEMO_PIXELS {
        assert_eq!(image.rgb(*x, *y), *expected, "pixel at ({x},{y})");
    }
}

/// The native path end to end, as a thin-client user takes it: log in to the portal,
/// press "Öppna i fjärrskrivbordsklient" (the same POST the button makes), and open the
/// saved `.rdp` file in xfreerdp 2.11 with nothing else but the Windows login: the file's
/// gateway settings and one-time token bring it through Hamn's RD Gateway to the demo app,
/// and the same file opened again is refused.
fn portal_rdp_file_opens_the_app_in_xfreerdp(up: &HamnUp, gateway: &str) {
    let scratch = TempDir::new("rdp-file");
    let jar = scratch.0.join("cookies");
    let jar = jar.to_str().expect("utf-8 path");
    let origin = format!("Origin: {gateway}");
    let post = |path: &str, body: &str, csrf: &str, out: Option<&Path>| {
        let mut args = vec![
            "-c",
            jar,
            "-b",
            jar,
            "-H",
            origin.as_str(),
            "-H",
            "content-type: application/json",
            "-d",
            body,
        ];
        let csrf_header = format!("X-CSRF-Token: {csrf}");
        if !csrf.is_empty() {
            args.extend(["-H", csrf_header.as_str()]);
        }
        let out_arg;
        if let Some(out) = out {
            out_arg = out.to_str().expect("utf-8 path").to_owned();
            args.extend(["-o", out_arg.as_str()]);
        }
        up.curl(&args, &format!("{gateway}/portal/api/{path}"))
    };
    let (code, body) = post("demo-login", r#"{"username":"demo"}"#, "", None);
    assert_eq!(code, 200, "demo login: {body}");
    let login: serde_json::Value = serde_json::from_str(&body).expect("login answer");
    let csrf = login["csrf_token"].as_str().expect("csrf_token").to_owned();
    let (code, apps) = up.curl(&["-b", jar], &format!("{gateway}/portal/api/apps"));
    assert_eq!(code, 200, "{apps}");
    let apps: serde_json::Value = serde_json::from_str(&apps).expect("apps");
    // Procapita in PROD: the demo pool's app the demo user is entitled to.
    let app = apps["environments"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|env| env["kind"] == "PROD")
        .flat_map(|env| env["apps"].as_array().cloned().unwrap_or_default())
        .find_map(|app| app["id"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("a PROD app in {apps}"));
    let file = scratch.0.join("Procapita.rdp");
    let (code, body) = post(&format!("apps/{app}/rdp"), "{}", &csrf, Some(&file));
    assert_eq!(code, 200, "the .rdp file: {body}");
    let bytes = std::fs::read(&file).expect("saved .rdp file");
    assert_eq!(
        &bytes[..2],
        &[0xff, 0xfe],
        "UTF-16LE with a byte-order mark"
    );

    let screenshot = |png: &Path| {
        Command::new(repo().join("tests/tools/rdp-screenshot.sh"))
            // Only the Windows login: where to connect comes from the file.
            .args(["-", "0", "demo", "Hamn-demo-2026"])
            .arg(png)
            .env("RDP_SCREENSHOT_FILE", &file)
            .output()
            .expect("run rdp-screenshot.sh")
    };
    let png = scratch.0.join("native.png");
    let output = screenshot(&png);
    assert!(
        output.status.success(),
        "xfreerdp with the portal's .rdp file failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let image = Ppm::from_png(&png);
    for (x, y, expected) in crate::smoke::DEMO_PIXELS {
        assert_eq!(
            image.rgb(*x, *y),
            *expected,
            "pixel at ({x},{y}) of the app through the RD Gateway"
        );
    }
    let again = screenshot(&scratch.0.join("again.png"));
    assert!(!again.status.success(), "a used .rdp file must be refused");
    assert!(
        String::from_utf8_lossy(&again.stderr)
            .contains("E_PROXY_COOKIE_AUTHENTICATION_ACCESS_DENIED"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

/// Pixels whose colour the demo app fixes (demo-host/README.md): (x, y, rgb) — the title
/// bar right of its text, the selected first client row, and the status bar.
pub const DEMO_PIXELS: &[(usize, usize, [u8; 3])] = &[
    (700, 24, [31, 78, 121]),
    (200, 124, [204, 228, 247]),
    (1000, 792, [221, 230, 238]),
];

/// `hamn up`'s `/metrics` after the SITHS login and the `.rdp` file's session through the
/// RD Gateway: the card login, the native launch, bytes both ways through the tunnel, and
/// no tunnel left open once xfreerdp is gone.
fn the_native_session_is_in_the_metrics(up: &HamnUp) {
    let mut scrape = crate::metrics::scrape(&up.certs().join("ca.crt"), up.ports.metrics);
    assert!(
        scrape.sum(
            "hamn_logins_total",
            &[("method", "siths"), ("outcome", "success")]
        ) >= 1.0,
        "{:?}",
        scrape.samples
    );
    assert!(scrape.sum("hamn_launches_total", &[("outcome", "granted")]) >= 1.0);
    for direction in ["to_client", "from_client"] {
        let bytes = scrape.sum(
            "hamn_gateway_bytes_total",
            &[("client", "native"), ("direction", direction)],
        );
        assert!(bytes > 1000.0, "native bytes {direction}: {bytes}");
    }
    // The relay notices the client's end on its own schedule.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while scrape.sum("hamn_native_tunnels", &[]) != 0.0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(200));
        scrape = crate::metrics::scrape(&up.certs().join("ca.crt"), up.ports.metrics);
    }
    assert_eq!(scrape.sum("hamn_native_tunnels", &[]), 0.0);
}
