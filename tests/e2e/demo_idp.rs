//! The demo IdP under `hamn up`: the demo tenant is listed under SAML, and a browser (curl
//! with a cookie jar) goes the whole real way — the SP's signed AuthnRequest to the demo
//! IdP, picking the demo user, the signed Response POSTed to the ACS, a 303 to the portal
//! and a session as the demo user (`/portal/api/me`); then Chromium does the same by
//! clicking (`tests/browser/demo_idp.mjs`). And `hamn up` refuses to start the
//! IdP outside the demo configuration.

use std::path::Path;
use std::process::Command;

use crate::support::{HamnUp, TempDir, browser_script, free_port, hamn_bin};

/// curl with the dev CA and a cookie jar; returns (status, headers, body).
fn curl(ca: &Path, jar: &Path, args: &[&str], url: &str) -> (u16, String, String) {
    let output = Command::new("curl")
        .args(["-sS", "--max-time", "10", "-D", "-", "--cacert"])
        .arg(ca)
        .arg("-b")
        .arg(jar)
        .arg("-c")
        .arg(jar)
        .args(args)
        .args(["-w", "\n%{http_code}", url])
        .output()
        .expect("run curl");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let (all, code) = stdout.rsplit_once('\n').unwrap_or(("", &stdout));
    let (headers, body) = all.split_once("\r\n\r\n").unwrap_or((all, ""));
    (
        code.trim().parse().unwrap_or(0),
        headers.to_owned(),
        body.to_owned(),
    )
}

fn header(headers: &str, name: &str) -> Option<String> {
    headers.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_owned())
    })
}

/// The value of `<input … name="NAME" value="…">` in a page, HTML-unescaped.
fn input(page: &str, name: &str) -> Option<String> {
    let at = page.find(&format!("name=\"{name}\" value=\""))?;
    let rest = &page[at + name.len() + 15..];
    let value = &rest[..rest.find('"')?];
    Some(
        value
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

fn form_action(page: &str) -> Option<String> {
    let at = page.find("<form method=\"post\" action=\"")?;
    let rest = &page[at + 28..];
    Some(rest[..rest.find('"')?].replace("&amp;", "&"))
}

#[test]
fn saml_login_through_the_demo_idp_reaches_the_portal_as_the_demo_user() {
    let up = HamnUp::start(&[]);
    let gateway = format!("https://localhost:{}", up.ports.gateway);
    let ca = up.certs().join("ca.crt");
    let jar = up.data.0.join("cookies.txt");

    // The login page's methods list the demo tenant under SAML.
    let (code, _, methods) = curl(
        &ca,
        &jar,
        &[],
        &format!("{gateway}/portal/api/login-methods"),
    );
    assert_eq!(code, 200, "{methods}");
    assert!(methods.contains("Demo kommun"), "{methods}");
    assert!(methods.contains("/saml/demo/login"), "{methods}");

    // The IdP's metadata is served and the SP's request goes to its SSO endpoint.
    let (code, _, metadata) = curl(&ca, &jar, &[], &format!("{gateway}/demo-idp/metadata"));
    assert_eq!(code, 200, "{metadata}");
    assert!(metadata.contains("IDPSSODescriptor"), "{metadata}");
    let (code, headers, body) = curl(&ca, &jar, &[], &format!("{gateway}/saml/demo/login"));
    assert_eq!(code, 303, "{headers}{body}\n{}", up.logs());
    let location = header(&headers, "location").expect("Location");
    assert!(
        location.starts_with(&format!("{gateway}/demo-idp/sso?SAMLRequest=")),
        "{location}"
    );
    assert!(location.contains("&Signature="), "{location}");

    // The picker (Swedish by default), then the picked user.
    let (code, _, picker) = curl(&ca, &jar, &[], &location);
    assert_eq!(code, 200, "{picker}");
    assert!(picker.contains("Välj vem du vill logga in som"), "{picker}");
    assert!(picker.contains("SE2321000016-0001"), "{picker}");
    assert!(!picker.contains("<script"), "no script: {picker}");
    let saml_request = input(&picker, "SAMLRequest").expect("SAMLRequest field");
    let relay_state = input(&picker, "RelayState").expect("RelayState field");
    let (code, _, answer) = curl(
        &ca,
        &jar,
        &[
            "--data-urlencode",
            &format!("SAMLRequest={saml_request}"),
            "--data-urlencode",
            &format!("RelayState={relay_state}"),
            "--data-urlencode",
            "user=demo",
        ],
        &format!("{gateway}/demo-idp/sso"),
    );
    assert_eq!(code, 200, "{answer}");
    assert!(answer.contains(">Fortsätt</button>"), "{answer}");
    assert!(!answer.contains("<script"), "no script: {answer}");
    let acs = form_action(&answer).expect("form action");
    assert_eq!(acs, format!("{gateway}/saml/demo/acs"));
    let saml_response = input(&answer, "SAMLResponse").expect("SAMLResponse field");
    assert_eq!(
        input(&answer, "RelayState").as_deref(),
        Some(relay_state.as_str())
    );

    // "Fortsätt": the form's POST to the ACS, as the browser would send it.
    let (code, headers, body) = curl(
        &ca,
        &jar,
        &[
            "-H",
            &format!("Origin: {gateway}"),
            "--data-urlencode",
            &format!("SAMLResponse={saml_response}"),
            "--data-urlencode",
            &format!("RelayState={relay_state}"),
        ],
        &acs,
    );
    assert_eq!(code, 303, "{headers}{body}\n{}", up.logs());
    let to = header(&headers, "location").unwrap_or_default();
    assert!(
        to == gateway || to.starts_with(&format!("{gateway}/")),
        "to the portal: {to}"
    );

    let (code, _, me) = curl(&ca, &jar, &[], &format!("{gateway}/portal/api/me"));
    assert_eq!(code, 200, "{me}");
    let me: serde_json::Value = serde_json::from_str(&me).expect("me JSON");
    assert_eq!(me["user"]["name_id"], "demo", "{me}");
    assert_eq!(me["user"]["hsa_id"], "SE2321000016-0001", "{me}");
    assert_eq!(me["user"]["display_name"], "Åsa Öberg", "{me}");

    // The same Response again is a replay, refused by the SP.
    let (code, _, body) = curl(
        &ca,
        &jar,
        &[
            "--data-urlencode",
            &format!("SAMLResponse={saml_response}"),
            "--data-urlencode",
            &format!("RelayState={relay_state}"),
        ],
        &acs,
    );
    assert!(code == 403 || code == 400, "{code}: {body}");

    // The second demo user, in English, is created just in time by the SP.
    let jar2 = up.data.0.join("cookies-2.txt");
    let (code, headers, _) = curl(&ca, &jar2, &[], &format!("{gateway}/saml/demo/login"));
    assert_eq!(code, 303);
    let location = header(&headers, "location").expect("Location");
    let (code, _, picker) = curl(&ca, &jar2, &["-H", "Accept-Language: en"], &location);
    assert_eq!(code, 200, "{picker}");
    assert!(picker.contains("Choose whom to log in as"), "{picker}");
    let (saml_request, relay_state) = (
        input(&picker, "SAMLRequest").expect("SAMLRequest"),
        input(&picker, "RelayState").expect("RelayState"),
    );
    let (code, _, answer) = curl(
        &ca,
        &jar2,
        &[
            "-H",
            "Accept-Language: en",
            "--data-urlencode",
            &format!("SAMLRequest={saml_request}"),
            "--data-urlencode",
            &format!("RelayState={relay_state}"),
            "--data-urlencode",
            "user=anna.demo",
        ],
        &format!("{gateway}/demo-idp/sso"),
    );
    assert_eq!(code, 200, "{answer}");
    assert!(answer.contains(">Continue</button>"), "{answer}");
    let (code, _, body) = curl(
        &ca,
        &jar2,
        &[
            "--data-urlencode",
            &format!(
                "SAMLResponse={}",
                input(&answer, "SAMLResponse").expect("SAMLResponse")
            ),
            "--data-urlencode",
            &format!("RelayState={relay_state}"),
        ],
        &acs,
    );
    assert_eq!(code, 303, "{body}");
    let (code, _, me) = curl(&ca, &jar2, &[], &format!("{gateway}/portal/api/me"));
    assert_eq!(code, 200, "{me}");
    let me: serde_json::Value = serde_json::from_str(&me).expect("me JSON");
    assert_eq!(me["user"]["name_id"], "anna.demo", "{me}");
    assert_eq!(me["user"]["hsa_id"], "SE2321000016-0002", "{me}");
    assert_eq!(me["user"]["display_name"], "Anna Demosson", "{me}");

    // An unknown user is refused by the IdP; a RelayState longer than SAML allows too.
    let (code, _, body) = curl(
        &ca,
        &jar2,
        &[
            "--data-urlencode",
            &format!("SAMLRequest={saml_request}"),
            "--data-urlencode",
            "user=root",
        ],
        &format!("{gateway}/demo-idp/sso"),
    );
    assert_eq!(code, 400, "{body}");
    let (code, _, body) = curl(
        &ca,
        &jar2,
        &[
            "--data-urlencode",
            &format!("SAMLRequest={saml_request}"),
            "--data-urlencode",
            &format!("RelayState={}", "x".repeat(81)),
            "--data-urlencode",
            "user=demo",
        ],
        &format!("{gateway}/demo-idp/sso"),
    );
    assert_eq!(code, 400, "{body}");

    // RelayState reaches the page only escaped.
    let hostile = "\"><b>x</b>&";
    let (code, _, page) = curl(
        &ca,
        &jar2,
        &[
            "-G",
            "--data-urlencode",
            &format!("SAMLRequest={saml_request}"),
            "--data-urlencode",
            &format!("RelayState={hostile}"),
        ],
        &format!("{gateway}/demo-idp/sso"),
    );
    assert_eq!(code, 200, "{page}");
    assert!(!page.contains(hostile) && !page.contains("<b>"), "{page}");
    assert!(
        page.contains("value=\"&quot;&gt;&lt;b&gt;x&lt;/b&gt;&amp;\""),
        "{page}"
    );

    // The IdP signs for no ACS but this portal's: a request naming another is refused.
    let (code, _, body) = curl(
        &ca,
        &jar,
        &[],
        &format!("{gateway}/demo-idp/sso?SAMLRequest=AAAA"),
    );
    assert_eq!(code, 400, "{body}");

    // And as a newcomer does it: Chromium clicks through the login page, the demo IdP's
    // picker and "Fortsätt", with no CSP violation, and lands on the portal's app list.
    let portal = format!("{gateway}/");
    browser_script(
        "demo IdP login",
        "demo_idp.mjs",
        &[portal.as_str(), "Åsa Öberg"],
        None,
    );
}

#[test]
fn hamn_up_refuses_the_demo_idp_outside_the_demo_configuration() {
    let data = TempDir::new("demo-idp-off");
    let output = Command::new(hamn_bin())
        .args(["up", "--data-dir"])
        .arg(&data.0)
        .env("HAMN_GATEWAY__DEMO_LOGIN", "false")
        .env("HAMN_GATEWAY__LISTEN", format!("127.0.0.1:{}", free_port()))
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run hamn up");
    assert!(!output.status.success(), "hamn up must refuse to start");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("gateway.demo_idp"), "{stderr}");
    // Nothing was started: no certificates were written, no listener opened.
    assert!(!data.0.join("certs").exists());
}
