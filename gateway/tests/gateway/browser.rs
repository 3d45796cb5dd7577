//! The session viewer in headless Chromium (playwright-core, `tests/browser/peer.mjs`)
//! through the gateway to each real peer: the demo host, Debian's xrdp and freerdp-shadow
//! with NLA. The canvas must show the host's real pixels; against the demo host and xrdp the
//! websocket is cut under the page (a TCP proxy between Chromium and the gateway drops every
//! connection) and the viewer must resume the same RDP session by itself within 5 s. A
//! smaller window resizes the xrdp desktop (display control) and scales the demo host's
//! (which keeps its size). Against the demo host the clipboard makes a round trip: local
//! text pasted into the app with Ctrl+V, the field copied back with Ctrl+C. An
//! administrator's message queued through the broker's command channel shows in the viewer
//! (an aria-live alert naming the sender) and closes without ending the session; the pool's
//! idle warning counts down with its deadline and is lifted by moving the mouse.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use hamn_gateway::session::SessionConfig;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use crate::rdp::peers::{self, DEMO_PASSWORD, DEMO_USER, DemoHost};
use crate::session::{Gateway, HostSpec};

/// A loopback TCP proxy whose connections can all be dropped at once, as a network loss
/// would: no close frame, no FIN from the gateway's side of the page.
struct CutProxy {
    port: u16,
    cut: std::sync::Arc<std::sync::Mutex<CancellationToken>>,
    stop: CancellationToken,
}

impl CutProxy {
    async fn start(target: u16) -> CutProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let cut = std::sync::Arc::new(std::sync::Mutex::new(CancellationToken::new()));
        let stop = CancellationToken::new();
        let (cuts, stopped) = (cut.clone(), stop.clone());
        tokio::spawn(async move {
            loop {
                let (mut inbound, _) = tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok(pair) => pair,
                        Err(_) => return,
                    },
                    () = stopped.cancelled() => return,
                };
                let token = cuts.lock().expect("cut token").clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(("127.0.0.1", target)).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        () = token.cancelled() => {
                            // Reset, not close: the browser sees a dead connection.
                            let _ = inbound.set_zero_linger();
                        }
                    }
                });
            }
        });
        CutProxy { port, cut, stop }
    }

    /// Drops every connection open now; later ones pass.
    fn cut(&self) {
        let mut token = self.cut.lock().expect("cut token");
        token.cancel();
        *token = CancellationToken::new();
    }
}

impl Drop for CutProxy {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// Runs `peer.mjs` on the viewer URL; answers its "cut-now" by cutting the proxy. Returns
/// the script's result JSON.
async fn run_viewer(
    url: &str,
    mut config: serde_json::Value,
    proxy: &CutProxy,
    message: Option<(&Gateway, uuid::Uuid)>,
) -> serde_json::Value {
    let shots = tempfile::tempdir().expect("temp dir");
    let failure_shot = shots.path().join("failure.png");
    config["failureScreenshot"] = serde_json::json!(failure_shot);
    let mut child = tokio::process::Command::new("node")
        .arg(repo().join("tests/browser/peer.mjs"))
        .arg(url)
        .arg(config.to_string())
        .current_dir(repo().join("tests"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run node (./scripts/test installs it)");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut transcript = String::new();
    let mut result = None;
    let read = async {
        while let Ok(Some(line)) = stdout.next_line().await {
            transcript.push_str(&line);
            transcript.push('\n');
            if line == "cut-now" {
                proxy.cut();
                stdin.write_all(b"cut\n").await.expect("answer the script");
            } else if line == "message-now" {
                let (gateway, session) = message.expect("a session to send the message to");
                let sent = &config["adminMessage"];
                let command = hamn_broker::session_control::SessionCommand::Message {
                    text: sent["text"].as_str().unwrap_or_default().to_owned(),
                    sender: sent["sender"].as_str().unwrap_or_default().to_owned(),
                };
                hamn_broker::session_control::send(&gateway.database, session, command)
                    .await
                    .expect("message queued");
                stdin.write_all(b"sent\n").await.expect("answer the script");
            } else if let Some(n) = line.strip_prefix("print-now ") {
                let (gateway, session) = message.expect("a session to notify");
                let n: usize = n.parse().expect("notice number");
                let sent = &config["printCommands"][n];
                let job_id = uuid::Uuid::parse_str(sent["job_id"].as_str().unwrap_or_default())
                    .expect("job id");
                let title = sent["title"].as_str().unwrap_or_default().to_owned();
                let command = match sent["reason"].as_str() {
                    Some(reason) => hamn_broker::session_control::SessionCommand::PrintRefused {
                        job_id,
                        title,
                        reason: reason.to_owned(),
                    },
                    None => hamn_broker::session_control::SessionCommand::PrintReady {
                        job_id,
                        title,
                        pages: u32::try_from(sent["pages"].as_u64().unwrap_or(1)).unwrap_or(1),
                    },
                };
                hamn_broker::session_control::send(&gateway.database, session, command)
                    .await
                    .expect("print notice queued");
                stdin.write_all(b"sent\n").await.expect("answer the script");
            } else if let Some(json) = line.strip_prefix("result ") {
                result = Some(serde_json::from_str(json).expect("result JSON"));
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(240), read)
        .await
        .expect("the browser script finished in time");
    let status = child.wait().await.expect("node exit");
    let mut stderr = String::new();
    if let Some(mut err) = child.stderr.take() {
        use tokio::io::AsyncReadExt as _;
        let _ = err.read_to_string(&mut stderr).await;
    }
    if !status.success() {
        // Keep what the page showed, for whoever reads the failure.
        let kept =
            std::env::temp_dir().join(format!("hamn-viewer-failure-{}.png", std::process::id()));
        let _ = std::fs::copy(&failure_shot, &kept);
        panic!(
            "viewer in Chromium (screenshot: {}):\n{transcript}{stderr}",
            kept.display()
        );
    }
    result.expect("a result line")
}

fn viewer_url(port: u16, ticket: &str) -> String {
    format!("https://localhost:{port}/static/session.html#ticket={ticket}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_viewer_resumes_a_demo_host_session_after_the_websocket_is_cut() {
    let host = DemoHost::start("nla");
    let spec = HostSpec {
        port: host.port,
        username: DEMO_USER.to_owned(),
        password: DEMO_PASSWORD.to_owned(),
    };
    let gateway = Gateway::start_for(spec, Box::new(host), SessionConfig::default()).await;
    let proxy = CutProxy::start(gateway.port).await;
    let (ticket, session_id) = gateway.ticket().await;
    let config = serde_json::json!({
        "pixels": [[700, 24, [31, 78, 121]], [200, 124, [204, 228, 247]], [1000, 792, [221, 230, 238]]],
        "type": { "click": [700, 180], "text": "Åsa Öberg", "region": [540, 166, 470, 28] },
        "cut": true,
        "clipboard": { "text": "Hej från webbläsaren", "region": [540, 166, 470, 28] },
        "resize": [1000, 640],
    });
    let result = run_viewer(&viewer_url(proxy.port, &ticket), config, &proxy, None).await;
    eprintln!("demo host in Chromium: {result}");
    assert_eq!(result["remoteSize"], serde_json::json!([1280, 800]));
    // The field held the typed name, then the pasted text; Ctrl+C copied all of it.
    let copied = result["clipboard"].as_str().unwrap_or_default();
    assert!(copied.starts_with("Åsa Öberg"), "{copied:?}");
    let actions = gateway.audit_actions(session_id).await;
    assert!(actions.iter().any(|a| a == "session.resume"), "{actions:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_viewer_shows_an_xrdp_session_and_resumes_it() {
    let _one_xrdp = peers::XRDP_LOCK.lock().await;
    let xrdp = peers::Xrdp::start();
    let spec = HostSpec {
        port: xrdp.port,
        username: peers::XRDP_USER.to_owned(),
        password: peers::XRDP_PASSWORD.to_owned(),
    };
    let gateway = Gateway::start_for(spec, Box::new(xrdp), SessionConfig::default()).await;
    let proxy = CutProxy::start(gateway.port).await;
    let (ticket, session_id) = gateway.ticket().await;
    // The test session's xmessage window and the black root window around it.
    let config = serde_json::json!({
        "pixels": [[150, 150, peers::XRDP_WINDOW_BG], [900, 600, [0, 0, 0]]],
        "cut": true,
        "resize": [1024, 700],
        "resizeRemote": true,
    });
    let result = run_viewer(&viewer_url(proxy.port, &ticket), config, &proxy, None).await;
    eprintln!("xrdp in Chromium: {result}");
    assert_eq!(
        result["afterResize"]["remote"],
        serde_json::json!([1024, 700])
    );
    let actions = gateway.audit_actions(session_id).await;
    assert!(actions.iter().any(|a| a == "session.resume"), "{actions:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_viewer_shows_a_freerdp_shadow_display_over_nla() {
    if let Some(reason) = peers::shadow_unavailable() {
        panic!("freerdp-shadow cannot run: {reason}");
    }
    let shadow = peers::Shadow::start();
    let spec = HostSpec {
        port: shadow.port,
        username: peers::SHADOW_USER.to_owned(),
        password: peers::SHADOW_PASSWORD.to_owned(),
    };
    let gateway = Gateway::start_for(spec, Box::new(shadow), SessionConfig::default()).await;
    let proxy = CutProxy::start(gateway.port).await;
    let (ticket, _) = gateway.ticket().await;
    let config = serde_json::json!({
        "pixels": [[150, 150, peers::XRDP_WINDOW_BG]],
    });
    let result = run_viewer(&viewer_url(proxy.port, &ticket), config, &proxy, None).await;
    eprintln!("freerdp-shadow in Chromium: {result}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_viewer_shows_an_administrators_message_and_the_idle_warning() {
    let gateway = Gateway::start().await;
    // Warned 10 s after the last input, disconnected after 40 s.
    gateway
        .set_pool(|pool| {
            pool.idle_timeout_secs = 40;
            pool.timeout_warning_secs = 30;
        })
        .await;
    let proxy = CutProxy::start(gateway.port).await;
    let (ticket, session_id) = gateway.ticket().await;
    let shot = std::env::var_os("HAMN_MESSAGE_SCREENSHOT");
    let config = serde_json::json!({
        "pixels": [[700, 24, [31, 78, 121]]],
        "adminMessage": {
            "sender": "Driften i Ale",
            "text": "Procapita startas om kl. 18:00.\nSpara ditt arbete – tack!",
        },
        "messageScreenshot": shot.map(|p| p.to_string_lossy().into_owned()),
        "idleWarning": true,
        "warningScreenshot": std::env::var_os("HAMN_WARNING_SCREENSHOT")
            .map(|p| p.to_string_lossy().into_owned()),
    });
    let result = run_viewer(
        &viewer_url(proxy.port, &ticket),
        config,
        &proxy,
        Some((&gateway, session_id)),
    )
    .await;
    eprintln!("administrator's message in Chromium: {result}");
    assert_eq!(
        result["adminMessage"]["text"],
        "Procapita startas om kl. 18:00.\nSpara ditt arbete – tack!"
    );
    assert!(result["idleWarning"].is_string(), "{result}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_viewer_shows_an_administrators_message_in_english_when_chosen() {
    let gateway = Gateway::start().await;
    let proxy = CutProxy::start(gateway.port).await;
    let (ticket, session_id) = gateway.ticket().await;
    let config = serde_json::json!({
        "lang": "en",
        "pixels": [[700, 24, [31, 78, 121]]],
        "adminMessage": { "sender": "Service desk", "text": "Please save your work." },
    });
    let result = run_viewer(
        &viewer_url(proxy.port, &ticket),
        config,
        &proxy,
        Some((&gateway, session_id)),
    )
    .await;
    assert_eq!(result["adminMessage"]["from"], "Message from Service desk");
    assert_eq!(result["adminMessage"]["button"], "Close");
}

/// The broker's print commands reach the viewer: a ready job as "Utskrift klar — Öppna PDF"
/// with links to the PDF (new tab) and its download, a refused one with its reason in words
/// — Swedish by default, English when chosen; each a polite status region, keyboard
/// operable, closed with Escape without touching the session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_viewer_shows_print_notices() {
    let gateway = Gateway::start().await;
    let proxy = CutProxy::start(gateway.port).await;
    let ready = "0190f3a0-7c1e-7b2a-9c4d-1a2b3c4d5e6f";
    let refused = "0190f3a0-7c1e-7b2a-9c4d-000000000002";
    for (lang, expected) in [
        (
            "sv",
            serde_json::json!([
                {
                    "heading": "Utskrift klar — Öppna PDF",
                    "text": "Procapita – Åsa Öberg, 3 sidor",
                    "open": format!("/portal/api/prints/{ready}/pdf"),
                    "download": format!("/portal/api/prints/{ready}/pdf?download=1"),
                },
                {
                    "heading": "Utskriften kunde inte skapas",
                    "text": "Journal: Utskriften är för stor (högst 128 MiB).",
                },
            ]),
        ),
        (
            "en",
            serde_json::json!([
                {
                    "heading": "Print ready — Open PDF",
                    "text": "Procapita – Åsa Öberg, 3 pages",
                    "open": format!("/portal/api/prints/{ready}/pdf"),
                    "download": format!("/portal/api/prints/{ready}/pdf?download=1"),
                },
                {
                    "heading": "The print job could not be made",
                    "text": "Journal: The print job is too large (at most 128 MiB).",
                },
            ]),
        ),
    ] {
        let (ticket, session_id) = gateway.ticket().await;
        let config = serde_json::json!({
            "lang": lang,
            "pixels": [[700, 24, [31, 78, 121]]],
            "prints": expected,
            "printCommands": [
                { "job_id": ready, "title": "Procapita – Åsa Öberg", "pages": 3 },
                { "job_id": refused, "title": "Journal", "reason": "job_too_large" },
            ],
            "printScreenshot": std::env::var_os("HAMN_PRINT_SCREENSHOT")
                .map(|p| p.to_string_lossy().into_owned()),
        });
        let result = run_viewer(
            &viewer_url(proxy.port, &ticket),
            config,
            &proxy,
            Some((&gateway, session_id)),
        )
        .await;
        assert_eq!(result["prints"][0]["jobId"], ready, "{result}");
        assert_eq!(result["prints"][1]["outcome"], "refused", "{result}");
    }
}
