//! The RDP client leg against real peers: the bundled demo host over TLS and NLA (pixels,
//! typing with Swedish scancodes and Unicode, wrong passwords, certificate policies, a host
//! that dies), xrdp and freerdp-shadow (see `rdp_xrdp` / `rdp_shadow` below).

#[path = "../support/rdp_peers.rs"]
pub(crate) mod peers;

use std::time::{Duration, Instant};

use hamn_gateway::rdp::{
    self, CertPolicy, MouseButton, RdpError, RdpInput, SecurityMode, SessionEnd, pixel_rgb,
    tls::certificate_sha256,
};
use peers::{DEMO_PASSWORD, DemoHost, FrameSink};

const TITLE_BAR: [u8; 3] = [31, 78, 121];
const SELECTED_ROW: [u8; 3] = [204, 228, 247];
const WAIT: Duration = Duration::from_secs(30);

/// The "Namn" field of the demo app: x 538–1018, y 164–196.
const NAME_FIELD: (u16, u16, u16, u16) = (540, 166, 476, 28);

fn key(scancode: u8) -> [RdpInput; 2] {
    [
        RdpInput::Key {
            scancode,
            extended: false,
            down: true,
        },
        RdpInput::Key {
            scancode,
            extended: false,
            down: false,
        },
    ]
}

fn click(x: u16, y: u16) -> Vec<RdpInput> {
    vec![
        RdpInput::MouseMove { x, y },
        RdpInput::MouseButton {
            button: MouseButton::Left,
            down: true,
        },
        RdpInput::MouseButton {
            button: MouseButton::Left,
            down: false,
        },
    ]
}

pub(crate) async fn wait_for_app(sink: &FrameSink) {
    sink.wait_for("the demo app's title bar and selected row", WAIT, |f| {
        f.width == 1280 && f.pixel(700, 24) == TITLE_BAR && f.pixel(200, 124) == SELECTED_ROW
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_host_over_tls_shows_the_app_with_real_pixels() {
    let host = DemoHost::start("tls");
    let mut params = host.params(DEMO_PASSWORD);
    params.security = SecurityMode::TlsOnly;
    let session = rdp::connect(params).await.expect("connect over TLS");
    assert_eq!(session.desktop_size(), (1280, 800));
    eprintln!(
        "demo host TLS: connected and logged on in {:?}",
        session.connect_time()
    );

    let sink = FrameSink::default();
    let (handle, task) = session.start(sink.clone());
    let started = Instant::now();
    wait_for_app(&sink).await;
    eprintln!(
        "demo host TLS: full screen {:?} after start",
        started.elapsed()
    );
    sink.with(|f| {
        assert_eq!(f.resizes.first(), Some(&(1280, 800)));
        // The title bar's text-free part is exactly the title colour; the title text is not.
        assert!(
            f.region_rgb(640, 0, 320, 48)
                .chunks(3)
                .all(|p| p == TITLE_BAR)
        );
        let title_text = f.region_rgb(16, 12, 250, 26);
        let distinct: std::collections::BTreeSet<&[u8]> = title_text.chunks(3).collect();
        assert!(
            distinct.len() > 8,
            "anti-aliased title text, got {} colours",
            distinct.len()
        );
        assert_eq!(f.pixel(800, 600), [0xF3, 0xF3, 0xF3], "background");
        assert_eq!(f.pixel(640, 780), [0xDD, 0xE6, 0xEE], "status bar");
    });
    let stats = handle.stats();
    eprintln!(
        "demo host TLS: full 1280×800 screen decoded in {:.1} ms of IronRDP processing ({} frames, {} bytes)",
        stats.decode_micros as f64 / 1000.0,
        stats.frames_in,
        stats.bytes_in
    );
    assert!(
        stats.bytes_in > 10_000 && stats.frames_in > 0 && stats.graphics_updates > 0,
        "{stats:?}"
    );
    assert!(
        stats.bytes_out > 0,
        "frame acknowledgements went out: {stats:?}"
    );
    assert!(
        rdp::process_bytes_in() >= stats.bytes_in,
        "the process-wide count includes this session's bytes"
    );

    handle.close();
    assert_eq!(task.wait().await.expect("clean close"), SessionEnd::Closed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_host_over_nla_with_a_pinned_certificate() {
    let host = DemoHost::start("nla");
    let mut params = host.params(DEMO_PASSWORD);
    params.cert_policy = CertPolicy::Pin {
        sha256: vec![[0; 32], certificate_sha256(&host.cert_der)],
    };
    let session = rdp::connect(params).await.expect("connect with NLA");
    eprintln!(
        "demo host NLA: connected and logged on in {:?}",
        session.connect_time()
    );
    let sink = FrameSink::default();
    let (handle, task) = session.start(sink.clone());
    wait_for_app(&sink).await;
    handle.close();
    assert_eq!(task.wait().await.expect("clean close"), SessionEnd::Closed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_are_authentication_failures() {
    for security in ["tls", "nla"] {
        let host = DemoHost::start(security);
        let result = rdp::connect(host.params("fel-lösenord")).await;
        match result {
            Err(RdpError::AuthenticationFailed(detail)) => {
                eprintln!("{security}: wrong password → AuthenticationFailed({detail})");
                assert!(
                    !detail.contains("fel-lösenord"),
                    "the password never shows: {detail}"
                );
            }
            other => panic!("{security}: expected AuthenticationFailed, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_policies_refuse_the_wrong_host_certificate() {
    let host = DemoHost::start("tls");
    let mut params = host.params(DEMO_PASSWORD);
    params.cert_policy = CertPolicy::Verify {
        ca_pem: Some(host.other_ca_pem.clone()),
    };
    let err = rdp::connect(params.clone()).await.expect_err("foreign CA");
    assert!(matches!(err, RdpError::CertificateRejected(_)), "{err:?}");

    params.cert_policy = CertPolicy::Pin {
        sha256: vec![[7; 32]],
    };
    let err = rdp::connect(params.clone()).await.expect_err("wrong pin");
    assert!(matches!(err, RdpError::CertificateRejected(_)), "{err:?}");

    params.cert_policy = CertPolicy::Ignore;
    let session = rdp::connect(params)
        .await
        .expect("ignore accepts any certificate");
    let (handle, task) = session.start(FrameSink::default());
    handle.close();
    task.wait().await.expect("clean close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_and_silent_hosts_fail_with_their_own_errors() {
    let host = DemoHost::start("tls");
    let mut params = host.params(DEMO_PASSWORD);
    params.port = peers::free_port();
    let err = rdp::connect(params.clone())
        .await
        .expect_err("nobody listens");
    assert!(matches!(err, RdpError::HostUnreachable { .. }), "{err:?}");

    // Accepts TCP, never answers the X.224 request.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    params.port = silent.local_addr().expect("addr").port();
    params.connect_timeout = Duration::from_millis(700);
    let keep = tokio::spawn(async move {
        let held = silent.accept().await;
        tokio::time::sleep(Duration::from_secs(5)).await;
        drop(held);
    });
    let err = rdp::connect(params).await.expect_err("silent host");
    assert!(
        matches!(
            err,
            RdpError::Timeout {
                phase: rdp::Phase::Negotiation,
                ..
            }
        ),
        "{err:?}"
    );
    keep.abort();
}

/// Types into the "Namn" field and returns the field's pixels.
async fn type_into_name_field(host: &DemoHost, keys: Vec<RdpInput>) -> Vec<u8> {
    let session = rdp::connect(host.params(DEMO_PASSWORD))
        .await
        .expect("connect");
    let sink = FrameSink::default();
    let (handle, task) = session.start(sink.clone());
    wait_for_app(&sink).await;
    let (x, y, w, h) = NAME_FIELD;
    let before = sink.with(|f| f.region_rgb(x, y, w, h));
    handle.input(click(700, 180)).await.expect("click");
    // Clear the field (Backspace × 12), then type.
    let mut inputs: Vec<RdpInput> = (0..12).flat_map(|_| key(0x0E)).collect();
    inputs.extend(keys);
    handle.input(inputs).await.expect("type");
    sink.wait_for("the typed text in the Namn field", WAIT, |f| {
        f.region_rgb(x, y, w, h) != before
    })
    .await;
    // Let the last characters arrive, then wait for a quiet field.
    let mut last = sink.with(|f| f.region_rgb(x, y, w, h));
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = sink.with(|f| f.region_rgb(x, y, w, h));
        if now == last {
            break;
        }
        last = now;
    }
    assert!(handle.stats().input_events >= 30, "{:?}", handle.stats());
    handle.close();
    task.wait().await.expect("clean close");
    last
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_swedish_scancodes_and_unicode_gives_the_same_text() {
    let host = DemoHost::start("tls");
    // "Åsa ÅÄÖ åäö" on the Swedish layout: Shift 0x2A, å 0x1A, ä 0x28, ö 0x27, s 0x1F,
    // a 0x1E, space 0x39.
    let shift = |down| RdpInput::Key {
        scancode: 0x2A,
        extended: false,
        down,
    };
    let mut scancodes = vec![shift(true)];
    scancodes.extend(key(0x1A));
    scancodes.push(shift(false));
    scancodes.extend([0x1F, 0x1E, 0x39].into_iter().flat_map(key));
    scancodes.push(shift(true));
    scancodes.extend([0x1A, 0x28, 0x27].into_iter().flat_map(key));
    scancodes.push(shift(false));
    scancodes.extend([0x39, 0x1A, 0x28, 0x27].into_iter().flat_map(key));
    let typed_with_scancodes = type_into_name_field(&host, scancodes).await;

    let unicode: Vec<RdpInput> = "Åsa ÅÄÖ åäö"
        .chars()
        .flat_map(|ch| {
            [
                RdpInput::Unicode { ch, down: true },
                RdpInput::Unicode { ch, down: false },
            ]
        })
        .collect();
    let typed_with_unicode = type_into_name_field(&host, unicode).await;
    assert!(
        typed_with_scancodes == typed_with_unicode,
        "Swedish scancodes and Unicode events must draw the same text"
    );

    // And it is not the text the field started with.
    let ascii: Vec<RdpInput> = [0x1F, 0x1E, 0x1F].into_iter().flat_map(key).collect();
    let typed_ascii = type_into_name_field(&host, ascii).await;
    assert!(typed_ascii != typed_with_scancodes);
}

/// xfreerdp's picture (RGB, 1280×800) of a fresh session on `port`, via tests/tools.
fn xfreerdp_picture(port: u16, user: &str, password: &str, security: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("temp dir");
    let png = dir.path().join("xfreerdp.png");
    let raw = dir.path().join("xfreerdp.rgb");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/tools/rdp-screenshot.sh"
    );
    let status = std::process::Command::new(script)
        .args(["127.0.0.1", &port.to_string(), user, password])
        .arg(&png)
        .arg("8")
        .env("RDP_SCREENSHOT_SEC", security)
        .env("RDP_SCREENSHOT_EXTRA", "/cert:ignore")
        .status()
        .expect("run rdp-screenshot.sh");
    assert!(status.success(), "rdp-screenshot.sh failed: {status}");
    let converted = std::process::Command::new("convert")
        .arg(&png)
        .arg(format!("rgb:{}", raw.display()))
        .status()
        .expect("run convert");
    assert!(converted.success());
    let picture = std::fs::read(&raw).expect("raw screenshot");
    assert_eq!(picture.len(), 1280 * 800 * 3);
    picture
}

fn region_of(picture: &[u8], x: u16, y: u16, w: u16, h: u16) -> Vec<u8> {
    let mut out = Vec::with_capacity(usize::from(w) * usize::from(h) * 3);
    for row in y..y + h {
        let start = (usize::from(row) * 1280 + usize::from(x)) * 3;
        out.extend_from_slice(&picture[start..start + usize::from(w) * 3]);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_framebuffer_equals_what_xfreerdp_shows() {
    let host = DemoHost::start("tls");
    let session = rdp::connect(host.params(DEMO_PASSWORD))
        .await
        .expect("connect");
    let sink = FrameSink::default();
    let (handle, task) = session.start(sink.clone());
    wait_for_app(&sink).await;
    tokio::time::sleep(Duration::from_secs(1)).await;

    // An independent client's view of the same (freshly started) app.
    let reference = xfreerdp_picture(host.port, peers::DEMO_USER, DEMO_PASSWORD, "tls");

    // Title bar, client list and form (the pointer is drawn by xfreerdp's X server, never by
    // the host, so it is in neither picture).
    let (x, y, w, h) = (0u16, 0u16, 1280u16, 400u16);
    let ours = sink.with(|f| f.region_rgb(x, y, w, h));
    let mut theirs = Vec::with_capacity(ours.len());
    for row in y..y + h {
        let start = (usize::from(row) * 1280 + usize::from(x)) * 3;
        theirs.extend_from_slice(&reference[start..start + usize::from(w) * 3]);
    }
    let differing = ours
        .chunks(3)
        .zip(theirs.chunks(3))
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(
        differing,
        0,
        "{differing} of {} pixels differ from xfreerdp's picture",
        w as usize * h as usize
    );
    handle.close();
    task.wait().await.expect("clean close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_dies_mid_session_ends_it_with_a_typed_error() {
    let mut host = DemoHost::start("tls");
    let session = rdp::connect(host.params(DEMO_PASSWORD))
        .await
        .expect("connect");
    assert_eq!(pixel_rgb(session.image(), 700, 24).map(|_| ()), Some(()));
    let sink = FrameSink::default();
    let (handle, task) = session.start(sink.clone());
    wait_for_app(&sink).await;
    host.kill();
    let err = tokio::time::timeout(WAIT, task.wait())
        .await
        .expect("the session notices")
        .expect_err("a dead host is an error");
    assert!(
        matches!(
            err,
            RdpError::ConnectionLost {
                phase: rdp::Phase::Session,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(handle.is_closed());
    assert!(
        handle.input(click(1, 1)).await.is_err(),
        "input to an ended session is refused"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xrdp_over_tls_logs_on_and_shows_the_x_session() {
    let _one_xrdp = peers::XRDP_LOCK.lock().await;
    let xrdp = peers::Xrdp::start();
    let session = rdp::connect(xrdp.params(peers::XRDP_PASSWORD))
        .await
        .unwrap_or_else(|e| panic!("connect to xrdp: {e}\n{}", xrdp.logs()));
    eprintln!(
        "xrdp: connected and logon confirmed in {:?}",
        session.connect_time()
    );
    let sink = FrameSink::default();
    let (handle, task) = session.start(sink.clone());
    sink.wait_for(
        "the xmessage window of the X session",
        Duration::from_secs(60),
        |f| {
            f.width == 1280
                && f.pixel(150, 150) == peers::XRDP_WINDOW_BG
                && f.pixel(1000, 700) == [0, 0, 0]
        },
    )
    .await;
    let stats = handle.stats();
    eprintln!("xrdp: {stats:?}");
    // xrdp sends the pointer shape on its own schedule, sometimes only once the pointer
    // moves; moving it over the desktop (not the window, whose click ends the session)
    // makes the shape arrive without changing what the test checks.
    handle
        .input(vec![RdpInput::MouseMove { x: 1000, y: 700 }])
        .await
        .expect("input to a live session");
    sink.wait_for(
        "the X session's pointer shape",
        Duration::from_secs(20),
        |f| f.pointers >= 1,
    )
    .await;
    handle.close();
    assert_eq!(task.wait().await.expect("clean close"), SessionEnd::Closed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xrdp_with_a_wrong_password_is_not_a_success() {
    let _one_xrdp = peers::XRDP_LOCK.lock().await;
    let xrdp = peers::Xrdp::start();
    let mut params = xrdp.params("fel-lösenord");
    params.logon_check = rdp::LogonCheck::FullDesktopPainted(Duration::from_secs(10));
    let started = Instant::now();
    match rdp::connect(params).await {
        Err(e) if e.is_authentication() => {
            eprintln!("xrdp wrong password → {e} after {:?}", started.elapsed())
        }
        other => panic!(
            "expected an authentication error, got {other:?}\n{}",
            xrdp.logs()
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn freerdp_shadow_over_nla_shows_the_x_display() {
    let shadow = peers::Shadow::start();
    let session = rdp::connect(shadow.params(peers::SHADOW_PASSWORD))
        .await
        .expect("connect to freerdp-shadow with NLA");
    eprintln!(
        "freerdp-shadow NLA: connected in {:?}, desktop {:?}",
        session.connect_time(),
        session.desktop_size()
    );
    let sink = FrameSink::default();
    let (handle, task) = session.start(sink.clone());
    sink.wait_for(
        "the xmessage window on the shadowed display",
        Duration::from_secs(60),
        |f| f.width > 500 && f.pixel(150, 150) == peers::XRDP_WINDOW_BG,
    )
    .await;
    eprintln!("freerdp-shadow: {:?}", handle.stats());
    handle.close();
    assert_eq!(task.wait().await.expect("clean close"), SessionEnd::Closed);

    let err = rdp::connect(shadow.params("fel-lösenord"))
        .await
        .expect_err("wrong password");
    assert!(err.is_authentication(), "{err:?}");
    eprintln!("freerdp-shadow wrong password → {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xrdp_takes_mouse_input() {
    let _one_xrdp = peers::XRDP_LOCK.lock().await;
    let xrdp = peers::Xrdp::start();
    let session = rdp::connect(xrdp.params(peers::XRDP_PASSWORD))
        .await
        .unwrap_or_else(|e| panic!("connect to xrdp: {e}\n{}", xrdp.logs()));
    let sink = FrameSink::default();
    let (handle, task) = session.start(sink.clone());
    sink.wait_for("the xmessage window", Duration::from_secs(60), |f| {
        f.pixel(150, 150) == peers::XRDP_WINDOW_BG
    })
    .await;
    // Click xmessage's "okay" button: the window closes, the X session ends, xrdp hangs up.
    handle.input(click(124, 188)).await.expect("click");
    let end = tokio::time::timeout(Duration::from_secs(30), task.wait())
        .await
        .expect("the session ends after the click");
    eprintln!("xrdp: after clicking okay → {end:?}");
    assert!(
        matches!(
            end,
            Ok(SessionEnd::HostEnded(_)) | Err(RdpError::ConnectionLost { .. })
        ),
        "{end:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xrdp_resizes_over_display_control() {
    let _one_xrdp = peers::XRDP_LOCK.lock().await;
    let xrdp = peers::Xrdp::start();
    let session = rdp::connect(xrdp.params(peers::XRDP_PASSWORD))
        .await
        .unwrap_or_else(|e| panic!("connect to xrdp: {e}\n{}", xrdp.logs()));
    let sink = FrameSink::default();
    let (handle, task) = session.start(sink.clone());
    sink.wait_for("the xmessage window", Duration::from_secs(60), |f| {
        f.pixel(150, 150) == peers::XRDP_WINDOW_BG
    })
    .await;
    // Display control may need a moment after logon to become ready.
    let deadline = Instant::now() + Duration::from_secs(20);
    while handle.resize(1024, 768).await.expect("session alive") == rdp::ResizeOutcome::Unsupported
    {
        assert!(
            Instant::now() < deadline,
            "xrdp never offered display control"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    sink.wait_for("the desktop at 1024×768", Duration::from_secs(30), |f| {
        f.width == 1024 && f.height == 768 && f.pixel(150, 150) == peers::XRDP_WINDOW_BG
    })
    .await;
    assert!(handle.stats().reactivations >= 1);
    handle.close();
    task.wait().await.expect("clean close");
}

struct PanickingSink;

impl rdp::DisplaySink for PanickingSink {
    fn resize(&mut self, _width: u16, _height: u16) {}
    fn update(&mut self, _rect: rdp::Rect, _image: &rdp::DecodedImage) {
        panic!("display sink bug");
    }
    fn pointer(&mut self, _update: rdp::PointerUpdate) {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_in_the_session_task_ends_only_that_session() {
    let host = DemoHost::start("tls");
    let doomed = rdp::connect(host.params(DEMO_PASSWORD))
        .await
        .expect("connect");
    let healthy = rdp::connect(host.params(DEMO_PASSWORD))
        .await
        .expect("connect");
    let (_doomed_handle, doomed_task) = doomed.start(PanickingSink);
    let sink = FrameSink::default();
    let (handle, task) = healthy.start(sink.clone());
    match doomed_task.wait().await {
        Err(RdpError::Panicked(message)) => {
            assert!(message.contains("display sink bug"), "{message}")
        }
        other => panic!("expected Panicked, got {other:?}"),
    }
    wait_for_app(&sink).await;
    handle
        .input(click(700, 180))
        .await
        .expect("the other session still takes input");
    handle.close();
    assert_eq!(task.wait().await.expect("clean close"), SessionEnd::Closed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xrdp_bitmaps_decode_exactly_like_xfreerdp_shows_them() {
    let _one_xrdp = peers::XRDP_LOCK.lock().await;
    let xrdp = peers::Xrdp::start();
    let session = rdp::connect(xrdp.params(peers::XRDP_PASSWORD))
        .await
        .unwrap_or_else(|e| panic!("connect to xrdp: {e}\n{}", xrdp.logs()));
    let sink = FrameSink::default();
    let (handle, task) = session.start(sink.clone());
    sink.wait_for("the xmessage window", Duration::from_secs(60), |f| {
        f.pixel(150, 150) == peers::XRDP_WINDOW_BG
    })
    .await;
    // The window with its text and button (RLE-compressed bitmaps from xrdp; the pointer is
    // not part of either picture). Each connection is a fresh X session showing the same.
    // Under load the text may come later than the window: wait until the region is still.
    let (x, y, w, h) = (96u16, 96u16, 420u16, 120u16);
    let mut ours = sink.with(|f| f.region_rgb(x, y, w, h));
    let (mut still, deadline) = (0, Instant::now() + Duration::from_secs(20));
    while still < 3 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(400)).await;
        let now = sink.with(|f| f.region_rgb(x, y, w, h));
        still = if now == ours { still + 1 } else { 0 };
        ours = now;
    }
    eprintln!(
        "xrdp: full 1280×800 screen decoded in {:.1} ms of IronRDP processing; {:?}",
        handle.stats().decode_micros as f64 / 1000.0,
        handle.stats()
    );
    handle.close();
    task.wait().await.expect("clean close");
    let theirs = region_of(
        &xfreerdp_picture(xrdp.port, peers::XRDP_USER, peers::XRDP_PASSWORD, "tls"),
        x,
        y,
        w,
        h,
    );
    let differing = ours
        .chunks(3)
        .zip(theirs.chunks(3))
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(
        differing, 0,
        "{differing} pixels differ from xfreerdp's picture of xrdp"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xrdp_with_remotefx_decodes_the_session() {
    let _one_xrdp = peers::XRDP_LOCK.lock().await;
    let xrdp = peers::Xrdp::start();
    let mut params = xrdp.params(peers::XRDP_PASSWORD);
    params.remotefx = true;
    let session = rdp::connect(params)
        .await
        .unwrap_or_else(|e| panic!("connect to xrdp: {e}\n{}", xrdp.logs()));
    let sink = FrameSink::default();
    let (handle, task) = session.start(sink.clone());
    // RemoteFX is lossy: the window colour arrives within a small tolerance.
    let near = |a: [u8; 3], b: [u8; 3]| a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= 6);
    sink.wait_for(
        "the xmessage window (RemoteFX)",
        Duration::from_secs(60),
        |f| near(f.pixel(300, 150), peers::XRDP_WINDOW_BG) && near(f.pixel(1000, 700), [0, 0, 0]),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let stats = handle.stats();
    eprintln!(
        "xrdp RemoteFX: full 1280×800 screen decoded in {:.1} ms of IronRDP processing; {stats:?}",
        stats.decode_micros as f64 / 1000.0
    );
    handle.close();
    task.wait().await.expect("clean close");
}

// --- Clipboard (cliprdr) --------------------------------------------------------------

const CLIP_TEXT: &str = "Hälsning åäö …";
const STATUS_BAR: (u16, u16, u16, u16) = (0, 770, 1280, 30);

fn policy(max_bytes: usize) -> Option<rdp::ClipboardPolicy> {
    Some(rdp::ClipboardPolicy { max_bytes })
}

/// Ctrl (left) + the key with `scancode`, as a Windows client sends a shortcut.
fn ctrl(scancode: u8) -> Vec<RdpInput> {
    let lctrl = |down| RdpInput::Key {
        scancode: 0x1D,
        extended: false,
        down,
    };
    let mut keys = vec![lctrl(true)];
    keys.extend(key(scancode));
    keys.push(lctrl(false));
    keys
}
const KEY_C: u8 = 0x2E;
const KEY_V: u8 = 0x2F;

async fn wait_for_offer_accepted(handle: &rdp::RdpHandle, count: u64) {
    let deadline = Instant::now() + WAIT;
    while handle.stats().clipboard_offers_accepted < count {
        assert!(
            Instant::now() < deadline,
            "the host never acknowledged our clipboard: {:?}",
            handle.stats()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_for_clipboard(sink: &FrameSink, what: &str, expected: &rdp::HostClipboard) {
    sink.wait_for(what, WAIT, |f| f.clipboard.last() == Some(expected))
        .await;
}

/// Gateway → demo host → gateway: our text is pasted into "Namn" with Ctrl+V (drawn exactly
/// as typing it draws it), then copied back with Ctrl+C.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clipboard_round_trip_through_the_demo_host() {
    let host = DemoHost::start("tls");
    // The reference picture: the same text typed as Unicode key events.
    let typed: Vec<RdpInput> = CLIP_TEXT
        .chars()
        .flat_map(|ch| {
            [
                RdpInput::Unicode { ch, down: true },
                RdpInput::Unicode { ch, down: false },
            ]
        })
        .collect();
    let expected_field = type_into_name_field(&host, typed).await;

    let mut params = host.params(DEMO_PASSWORD);
    params.clipboard = policy(1024 * 1024);
    let session = rdp::connect(params).await.expect("connect");
    let sink = FrameSink::default();
    let (handle, task) = session.start(sink.clone());
    wait_for_app(&sink).await;

    handle
        .clipboard_to_host(CLIP_TEXT.to_owned())
        .await
        .expect("within the limit");
    wait_for_offer_accepted(&handle, 1).await;
    handle.input(click(700, 180)).await.expect("focus Namn");
    let mut keys: Vec<RdpInput> = (0..12).flat_map(|_| key(0x0E)).collect();
    keys.extend(ctrl(KEY_V));
    handle.input(keys).await.expect("clear and paste");
    let (x, y, w, h) = NAME_FIELD;
    sink.wait_for("the pasted text in the Namn field", WAIT, |f| {
        f.region_rgb(x, y, w, h) == expected_field
    })
    .await;

    handle.input(ctrl(KEY_C)).await.expect("copy");
    wait_for_clipboard(
        &sink,
        "the Namn field's text from the host",
        &rdp::HostClipboard::Text(CLIP_TEXT.to_owned()),
    )
    .await;
    eprintln!("demo host clipboard: {:?}", handle.stats());
    handle.close();
    assert_eq!(task.wait().await.expect("clean close"), SessionEnd::Closed);
}

/// A session whose pool has the clipboard off offers no channel: nothing goes either way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clipboard_off_by_policy_means_no_channel_and_no_transfer() {
    let host = DemoHost::start("tls");
    let params = host.params(DEMO_PASSWORD);
    assert_eq!(
        params.clipboard, None,
        "off unless the pool's policy says so"
    );
    let session = rdp::connect(params).await.expect("connect");
    let sink = FrameSink::default();
    let (handle, task) = session.start(sink.clone());
    wait_for_app(&sink).await;
    assert_eq!(handle.clipboard_policy(), None);
    assert_eq!(
        handle.clipboard_to_host("hej".to_owned()).await,
        Err(rdp::ClipboardError::Disabled)
    );

    // Ctrl+C in "Namn": the host has no channel to announce on and says so in its status bar.
    handle.input(click(700, 180)).await.expect("focus Namn");
    let (x, y, w, h) = STATUS_BAR;
    let before = sink.with(|f| f.region_rgb(x, y, w, h));
    handle.input(ctrl(KEY_C)).await.expect("copy");
    sink.wait_for("the host's 'no clipboard' status", WAIT, |f| {
        f.region_rgb(x, y, w, h) != before
    })
    .await;
    // Ctrl+V: likewise, and the field keeps its text.
    let (fx, fy, fw, fh) = NAME_FIELD;
    let field = sink.with(|f| f.region_rgb(fx, fy, fw, fh));
    handle.input(ctrl(KEY_V)).await.expect("paste");
    handle.input(ctrl(KEY_C)).await.expect("copy again");
    // The host handles input in order; a full redraw request would be racy, so a second
    // status change (typing into the field) marks that both shortcuts were processed.
    handle.input(key(0x1E).to_vec()).await.expect("type a");
    sink.wait_for("the typed 'a'", WAIT, |f| {
        f.region_rgb(fx, fy, fw, fh) != field
    })
    .await;
    sink.with(|f| assert!(f.clipboard.is_empty(), "{:?}", f.clipboard));
    assert_eq!(handle.stats().clipboard_from_host, 0);
    handle.close();
    task.wait().await.expect("clean close");
}

/// Text over the pool's limit is refused both ways: ours before sending, the host's after
/// decoding (limit 10) or while it arrives (limit 4, the chunk guard).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_clipboard_text_is_refused_both_ways() {
    let host = DemoHost::start("tls");
    for (max_bytes, expected) in [
        // "Åsa Öberg": 11 UTF-8 bytes, decoded and then refused with its exact size.
        (10, rdp::HostClipboard::TooLarge { bytes: 11 }),
        // Cut off before IronRDP buffers it: the size is a lower bound (9 UTF-16 units).
        (4, rdp::HostClipboard::TooLarge { bytes: 9 }),
    ] {
        let mut params = host.params(DEMO_PASSWORD);
        params.clipboard = policy(max_bytes);
        let session = rdp::connect(params).await.expect("connect");
        let sink = FrameSink::default();
        let (handle, task) = session.start(sink.clone());
        wait_for_app(&sink).await;

        assert_eq!(
            handle.clipboard_to_host(CLIP_TEXT.to_owned()).await,
            Err(rdp::ClipboardError::TooLarge {
                bytes: CLIP_TEXT.len(),
                max: max_bytes
            })
        );
        handle
            .clipboard_to_host("Hej".to_owned())
            .await
            .expect("3 bytes fit");
        wait_for_offer_accepted(&handle, 1).await;
        assert_eq!(
            handle.stats().clipboard_offers_accepted,
            1,
            "one offer sent"
        );

        handle.input(click(700, 180)).await.expect("focus Namn");
        handle.input(ctrl(KEY_C)).await.expect("copy");
        wait_for_clipboard(&sink, "the refusal of the host's text", &expected).await;
        sink.with(|f| assert_eq!(f.clipboard, vec![expected.clone()]));

        // The channel still works after a refusal: a short text comes through.
        handle.input(key(0x0E).repeat(12)).await.expect("clear");
        handle.input(key(0x1E).to_vec()).await.expect("type a");
        handle.input(ctrl(KEY_C)).await.expect("copy a");
        wait_for_clipboard(
            &sink,
            "the short text after the refusal",
            &rdp::HostClipboard::Text("a".to_owned()),
        )
        .await;
        handle.close();
        task.wait().await.expect("clean close");
    }
}

/// Gateway ⇄ xrdp: xrdp-chansrv bridges cliprdr to the X session's CLIPBOARD selection,
/// read and set with xclip as the session's user.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xrdp_clipboard_round_trip_with_the_x_selection() {
    let _one_xrdp = peers::XRDP_LOCK.lock().await;
    let xrdp = peers::Xrdp::start();
    let mut params = xrdp.params(peers::XRDP_PASSWORD);
    // Small enough that a few thousand characters are over it.
    params.clipboard = policy(64);
    let session = rdp::connect(params)
        .await
        .unwrap_or_else(|e| panic!("connect to xrdp: {e}\n{}", xrdp.logs()));
    let sink = FrameSink::default();
    let (handle, task) = session.start(sink.clone());
    sink.wait_for("the xmessage window", Duration::from_secs(60), |f| {
        f.pixel(150, 150) == peers::XRDP_WINDOW_BG
    })
    .await;
    let display = xrdp
        .session_display()
        .unwrap_or_else(|| panic!("no Xorg for the test user\n{}", xrdp.logs()));

    // Gateway → X: the X clipboard's owner is now chansrv, which fetches our text on demand.
    handle
        .clipboard_to_host(CLIP_TEXT.to_owned())
        .await
        .expect("within the limit");
    wait_for_offer_accepted(&handle, 1).await;
    let read = {
        let mut cmd = xrdp.xclip(&display);
        cmd.arg("-o");
        tokio::task::spawn_blocking(move || cmd.output())
    };
    let out = tokio::time::timeout(WAIT, read)
        .await
        .expect("xclip -o finishes")
        .expect("join")
        .expect("run xclip");
    assert!(
        out.status.success(),
        "xclip -o: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), CLIP_TEXT);

    // X → gateway, then oversize X text (5000 characters: four channel chunks, refused while
    // they arrive), then short text again: the channel survives the refusal.
    let set_x_clipboard = |text: String| {
        use std::io::Write as _;
        let mut cmd = xrdp.xclip(&display);
        // xclip forks a child that owns the selection until another owner takes it.
        let mut child = cmd
            .arg("-i")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("run xclip -i");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("write to xclip");
        assert!(child.wait().expect("xclip -i").success());
    };
    let from_x = "Från X-sessionen: åäö ÅÄÖ";
    set_x_clipboard(from_x.to_owned());
    wait_for_clipboard(
        &sink,
        "the X clipboard's text",
        &rdp::HostClipboard::Text(from_x.to_owned()),
    )
    .await;
    set_x_clipboard("x".repeat(5000));
    wait_for_clipboard(
        &sink,
        "the refusal of 5000 characters",
        &rdp::HostClipboard::TooLarge { bytes: 5000 },
    )
    .await;
    set_x_clipboard("igen".to_owned());
    wait_for_clipboard(
        &sink,
        "short text after the refusal",
        &rdp::HostClipboard::Text("igen".to_owned()),
    )
    .await;
    eprintln!("xrdp clipboard: {:?}", handle.stats());
    handle.close();
    assert_eq!(task.wait().await.expect("clean close"), SessionEnd::Closed);
}
