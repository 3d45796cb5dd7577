//! Real RDP peers for the RDP client leg's tests: the bundled demo host (a child process on a
//! free port with dev certificates), plus a [`FrameSink`] that keeps a copy of the desktop so
//! tests can look at real pixels.

#![allow(dead_code)]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hamn_gateway::rdp::{
    CertPolicy, DecodedImage, DisplaySink, HostCredentials, PointerUpdate, RdpParams, Rect,
    SecurityMode, copy_rgba,
};

pub const DEMO_USER: &str = "demo";
pub const DEMO_PASSWORD: &str = "Demo-lösen-1";

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// `target/debug` (or wherever this test binary's directory's parent is).
fn target_profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .expect("target dir")
}

pub fn demo_host_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("HAMN_DEMO_HOST_BIN") {
        return PathBuf::from(path);
    }
    let beside = target_profile_dir().join("hamn-demo-host");
    assert!(
        beside.is_file(),
        "{} is missing: build it first with `cargo build --manifest-path demo-host/Cargo.toml` \
         (scripts/test does) or set HAMN_DEMO_HOST_BIN",
        beside.display()
    );
    beside
}

/// A demo host child process; killed on drop.
pub struct DemoHost {
    pub port: u16,
    pub ca_pem: String,
    pub cert_der: Vec<u8>,
    pub other_ca_pem: String,
    child: Option<Child>,
    _dir: tempfile::TempDir,
}

impl DemoHost {
    /// Starts `hamn-demo-host` with `--security tls|nla` on a free port.
    pub fn start(security: &str) -> DemoHost {
        let dir = tempfile::tempdir().expect("temp dir");
        let pki = hamn_certs::DevPki::init(dir.path()).expect("dev PKI");
        let paths = hamn_certs::DevPkiPaths::new(dir.path());
        let ca_pem = std::fs::read_to_string(paths.ca_cert()).expect("CA PEM");
        let cert_pem = std::fs::read(paths.server_cert()).expect("server cert PEM");
        let cert_der = rustls_pemfile::certs(&mut cert_pem.as_slice())
            .next()
            .expect("a certificate")
            .expect("PEM")
            .to_vec();
        // Another CA (the SITHS-like one) that did not sign the host certificate.
        let other_ca_pem = std::fs::read_to_string(paths.siths_ca_cert()).expect("other CA PEM");
        drop(pki);
        let mut child = Command::new(demo_host_binary())
            .args(["--listen", "127.0.0.1:0", "--security", security, "--cert"])
            .arg(paths.server_cert())
            .arg("--key")
            .arg(paths.server_key())
            .env("HAMN_DEMO_HOST_USERNAME", DEMO_USER)
            .env("HAMN_DEMO_HOST_PASSWORD", DEMO_PASSWORD)
            .env("HAMN_DEMO_HOST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start hamn-demo-host");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("listening line");
        let port = line
            .trim()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected demo host line {line:?}"));
        DemoHost {
            port,
            ca_pem,
            cert_der,
            other_ca_pem,
            child: Some(child),
            _dir: dir,
        }
    }

    pub fn params(&self, password: &str) -> RdpParams {
        let mut params = RdpParams::new(
            "127.0.0.1",
            self.port,
            HostCredentials {
                username: DEMO_USER.to_owned(),
                domain: None,
                password: password.to_owned(),
            },
            CertPolicy::Verify {
                ca_pem: Some(self.ca_pem.clone()),
            },
        );
        params.security = SecurityMode::Negotiate;
        params.connect_timeout = Duration::from_secs(60);
        params
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for DemoHost {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A copy of the session's desktop (RGBA) and what happened to it.
#[derive(Default)]
pub struct Frame {
    pub width: u16,
    pub height: u16,
    pub rgba: Vec<u8>,
    pub updates: u64,
    pub resizes: Vec<(u16, u16)>,
    pub pointers: u64,
}

impl Frame {
    pub fn pixel(&self, x: u16, y: u16) -> [u8; 3] {
        let at = (usize::from(y) * usize::from(self.width) + usize::from(x)) * 4;
        [self.rgba[at], self.rgba[at + 1], self.rgba[at + 2]]
    }

    /// RGB bytes of a region, row by row.
    pub fn region_rgb(&self, x: u16, y: u16, w: u16, h: u16) -> Vec<u8> {
        let mut out = Vec::new();
        for row in y..y + h {
            for col in x..x + w {
                out.extend_from_slice(&self.pixel(col, row));
            }
        }
        out
    }
}

#[derive(Clone, Default)]
pub struct FrameSink(pub Arc<Mutex<Frame>>);

impl DisplaySink for FrameSink {
    fn resize(&mut self, width: u16, height: u16) {
        let mut f = self.0.lock().expect("frame lock");
        f.width = width;
        f.height = height;
        f.rgba = vec![0; usize::from(width) * usize::from(height) * 4];
        f.resizes.push((width, height));
    }

    fn update(&mut self, rect: Rect, image: &DecodedImage) {
        let pixels = copy_rgba(image, rect).expect("rect inside the image");
        let mut f = self.0.lock().expect("frame lock");
        let row = usize::from(rect.width) * 4;
        for (i, line) in pixels.chunks(row).enumerate() {
            let start =
                ((usize::from(rect.y) + i) * usize::from(f.width) + usize::from(rect.x)) * 4;
            f.rgba[start..start + row].copy_from_slice(line);
        }
        f.updates += 1;
    }

    fn pointer(&mut self, _update: PointerUpdate) {
        self.0.lock().expect("frame lock").pointers += 1;
    }
}

impl FrameSink {
    /// Waits until `check` holds for the frame (polling), or panics after `timeout`
    /// with `what`.
    pub async fn wait_for(&self, what: &str, timeout: Duration, check: impl Fn(&Frame) -> bool) {
        let deadline = Instant::now() + timeout;
        loop {
            if check(&self.0.lock().expect("frame lock")) {
                return;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn with<T>(&self, f: impl FnOnce(&Frame) -> T) -> T {
        f(&self.0.lock().expect("frame lock"))
    }
}
