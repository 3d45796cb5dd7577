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
    CertPolicy, DecodedImage, DisplaySink, HostClipboard, HostCredentials, LogonCheck,
    PointerUpdate, RdpParams, Rect, SecurityMode, copy_rgba,
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
    pub rects: Vec<Rect>,
    /// What the host put on its clipboard, in order.
    pub clipboard: Vec<HostClipboard>,
}

impl Frame {
    /// The RGB of a pixel; outside the frame (or before the first picture) a colour no test
    /// expects.
    pub fn pixel(&self, x: u16, y: u16) -> [u8; 3] {
        if x >= self.width || y >= self.height {
            return [1, 2, 3];
        }
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
        f.rects.push(rect);
    }

    fn pointer(&mut self, _update: PointerUpdate) {
        self.0.lock().expect("frame lock").pointers += 1;
    }

    fn clipboard(&mut self, event: HostClipboard) {
        self.0.lock().expect("frame lock").clipboard.push(event);
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

/// Serialises the tests that run xrdp: xrdp finds its session manager on the port named in
/// `/etc/xrdp/sesman.ini` (3350), so only one xrdp instance can run at a time.
pub static XRDP_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub const XRDP_USER: &str = "hamn-xrdp-test";
pub const XRDP_PASSWORD: &str = "Xrdp-test-lösen-1";
/// The colour of the test session's window (an `xmessage` at +100+100, 400×100).
pub const XRDP_WINDOW_BG: [u8; 3] = [0xCC, 0xE4, 0xF7];

/// Debian's xrdp + xorgxrdp started for one test: its own xrdp.ini and sesman.ini in a temp
/// dir, a free port, TLS with the dev certificate, and a throwaway local user whose X session
/// is one `xmessage` window. Everything it started is stopped on drop.
pub struct Xrdp {
    pub port: u16,
    pub ca_pem: String,
    xrdp: Child,
    sesman: Child,
    dir: tempfile::TempDir,
}

fn run(cmd: &mut Command) -> std::process::Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Why xrdp cannot run here, if it cannot.
pub fn xrdp_unavailable() -> Option<String> {
    for path in [
        "/usr/sbin/xrdp",
        "/usr/sbin/xrdp-sesman",
        "/usr/lib/xorg/Xorg",
        "/usr/lib/xorg/modules/drivers/xrdpdev_drv.so",
        "/usr/bin/xmessage",
    ] {
        if !Path::new(path).exists() {
            return Some(format!(
                "{path} is missing (apt-get install xrdp xorgxrdp x11-utils)"
            ));
        }
    }
    let uid = run(Command::new("id").arg("-u")).stdout;
    if String::from_utf8_lossy(&uid).trim() != "0" {
        return Some("xrdp-sesman must run as root to start sessions for the test user".to_owned());
    }
    None
}

impl Xrdp {
    pub fn start() -> Xrdp {
        if let Some(reason) = xrdp_unavailable() {
            panic!("xrdp cannot run: {reason}");
        }
        let sesman_port = std::fs::read_to_string("/etc/xrdp/sesman.ini")
            .ok()
            .and_then(|ini| {
                ini.lines().find_map(|l| {
                    l.trim()
                        .strip_prefix("ListenPort=")
                        .map(|p| p.trim().to_owned())
                })
            })
            .unwrap_or_else(|| "3350".to_owned());
        assert!(
            std::net::TcpStream::connect(("localhost", sesman_port.parse::<u16>().unwrap_or(3350)))
                .is_err(),
            "port {sesman_port} (xrdp-sesman, fixed by /etc/xrdp/sesman.ini) is in use: another xrdp runs"
        );

        // The throwaway user and its X session.
        let exists = Command::new("id")
            .arg(XRDP_USER)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !exists {
            run(Command::new("useradd").args(["-m", "-s", "/bin/sh", XRDP_USER]));
        }
        let mut chpasswd = Command::new("chpasswd")
            .stdin(Stdio::piped())
            .spawn()
            .expect("run chpasswd");
        {
            use std::io::Write as _;
            let mut stdin = chpasswd.stdin.take().expect("chpasswd stdin");
            writeln!(stdin, "{XRDP_USER}:{XRDP_PASSWORD}").expect("write chpasswd");
        }
        assert!(
            chpasswd.wait().expect("chpasswd").success(),
            "chpasswd failed"
        );
        let home = PathBuf::from(format!("/home/{XRDP_USER}"));
        let xsession = home.join(".xsession");
        std::fs::write(
            &xsession,
            "#!/bin/sh\nexec xmessage -geometry 400x100+100+100 -bg '#cce4f7' -fg black 'Hamn xrdp-test'\n",
        )
        .expect("write .xsession");
        run(Command::new("chown")
            .arg(format!("{XRDP_USER}:"))
            .arg(&xsession));
        run(Command::new("chmod").arg("755").arg(&xsession));

        let dir = tempfile::tempdir().expect("temp dir");
        hamn_certs::DevPki::init(dir.path()).expect("dev PKI");
        let paths = hamn_certs::DevPkiPaths::new(dir.path());
        let ca_pem = std::fs::read_to_string(paths.ca_cert()).expect("CA PEM");
        let port = free_port();
        let d = dir.path().display();
        let xrdp_ini = format!(
            "[Globals]\nini_version=1\nfork=true\nport=tcp://127.0.0.1:{port}\nuse_vsock=false\n\
             tcp_nodelay=true\nsecurity_layer=tls\ncrypt_level=none\ncertificate={cert}\n\
             key_file={key}\nssl_protocols=TLSv1.2, TLSv1.3\nautorun=Xorg\nallow_channels=true\n\
             allow_multimon=false\nbitmap_cache=true\nbitmap_compression=true\n\
             bulk_compression=false\nmax_bpp=32\nnew_cursors=true\nuse_fastpath=both\n\
             require_credentials=false\n\
             [Logging]\nLogFile={d}/xrdp.log\nLogLevel=INFO\nEnableSyslog=false\n\
             [Channels]\nrdpdr=false\nrdpsnd=false\ndrdynvc=true\ncliprdr=true\nrail=false\n\
             xrdpvr=false\ntcutils=false\n\
             [Xorg]\nname=Xorg\nlib=libxup.so\nusername=ask\npassword=ask\nip=127.0.0.1\n\
             port=-1\ncode=20\n",
            cert = paths.server_cert().display(),
            key = paths.server_key().display(),
        );
        std::fs::write(dir.path().join("xrdp.ini"), xrdp_ini).expect("write xrdp.ini");
        let sesman_ini = std::fs::read_to_string("/etc/xrdp/sesman.ini")
            .expect("read /etc/xrdp/sesman.ini")
            .lines()
            .map(|l| match l.split('=').next() {
                Some("LogFile") => format!("LogFile={d}/sesman.log"),
                Some("EnableSyslog") => "EnableSyslog=false".to_owned(),
                Some("KillDisconnected") => "KillDisconnected=true".to_owned(),
                _ => l.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(dir.path().join("sesman.ini"), sesman_ini).expect("write sesman.ini");

        let sesman = Command::new("/usr/sbin/xrdp-sesman")
            .arg("--nodaemon")
            .arg("--config")
            .arg(dir.path().join("sesman.ini"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start xrdp-sesman");
        let xrdp = Command::new("/usr/sbin/xrdp")
            .arg("--nodaemon")
            .arg("--config")
            .arg(dir.path().join("xrdp.ini"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start xrdp");
        let server = Xrdp {
            port,
            ca_pem,
            xrdp,
            sesman,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "xrdp did not listen: {}",
                server.logs()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    pub fn params(&self, password: &str) -> RdpParams {
        let mut params = RdpParams::new(
            "127.0.0.1",
            self.port,
            HostCredentials {
                username: XRDP_USER.to_owned(),
                domain: None,
                password: password.to_owned(),
            },
            CertPolicy::Verify {
                ca_pem: Some(self.ca_pem.clone()),
            },
        );
        params.security = SecurityMode::TlsOnly;
        params.connect_timeout = Duration::from_secs(60);
        params.logon_check = LogonCheck::FullDesktopPainted(Duration::from_secs(30));
        params
    }

    /// The X display of the test user's session (`:10`), from its Xorg's command line.
    pub fn session_display(&self) -> Option<String> {
        let out = Command::new("pgrep")
            .args(["-u", XRDP_USER, "-a", "Xorg"])
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .find(|word| word.starts_with(':') && word[1..].chars().all(|c| c.is_ascii_digit()))
            .map(str::to_owned)
    }

    /// `xclip` as the session's user on its display: the X clipboard, bridged to RDP by
    /// xrdp-chansrv.
    pub fn xclip(&self, display: &str) -> Command {
        let home = format!("/home/{XRDP_USER}");
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", XRDP_USER, "--", "xclip", "-selection", "clipboard"])
            .env("DISPLAY", display)
            .env("XAUTHORITY", format!("{home}/.Xauthority"))
            .env("HOME", home);
        cmd
    }

    /// xrdp's and sesman's logs, for failure messages.
    pub fn logs(&self) -> String {
        ["xrdp.log", "sesman.log"]
            .iter()
            .map(|f| std::fs::read_to_string(self.dir.path().join(f)).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Xrdp {
    fn drop(&mut self) {
        for child in [&mut self.xrdp, &mut self.sesman] {
            let _ = child.kill();
            let _ = child.wait();
        }
        // The session's Xorg, window manager and channel server run as the test user, which
        // exists only for these tests: stop exactly its processes, by id.
        if let Ok(out) = Command::new("pgrep").arg("-u").arg(XRDP_USER).output() {
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = Command::new("kill").arg(pid).status();
            }
        }
    }
}

pub const SHADOW_USER: &str = "shadowuser";
pub const SHADOW_PASSWORD: &str = "Shadow-test-1";
/// NT hash (MD4 of the UTF-16LE password) of [`SHADOW_PASSWORD`], for FreeRDP's SAM file;
/// computed once with `iconv -t utf-16le | openssl dgst -md4 -provider legacy`.
const SHADOW_NT_HASH: &str = "66d8f86e23b4a06b9aeefacdfd95d42c";

/// `freerdp-shadow-cli` (FreeRDP 2) sharing a private Xvfb display that shows one `xmessage`
/// window (+100+100, 400×100, [`XRDP_WINDOW_BG`]), NLA only, with a SAM file for its one
/// user. Stopped on drop.
pub struct Shadow {
    pub port: u16,
    /// SHA-256 of the certificate the shadow server generated for itself.
    pub cert_sha256: [u8; 32],
    children: Vec<Child>,
    _dir: tempfile::TempDir,
}

/// Why freerdp-shadow cannot run here, if it cannot.
pub fn shadow_unavailable() -> Option<String> {
    for (path, package) in [
        ("/usr/bin/freerdp-shadow-cli", "freerdp2-shadow-x11"),
        ("/usr/bin/Xvfb", "xvfb"),
        ("/usr/bin/xmessage", "x11-utils"),
    ] {
        if !Path::new(path).exists() {
            return Some(format!("{path} is missing (apt-get install {package})"));
        }
    }
    None
}

impl Shadow {
    pub fn start() -> Shadow {
        if let Some(reason) = shadow_unavailable() {
            panic!("freerdp-shadow cannot run: {reason}");
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let display = (120..200)
            .find(|n| {
                !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
                    && !Path::new(&format!("/tmp/.X{n}-lock")).exists()
            })
            .expect("a free X display number");
        let display = format!(":{display}");
        let mut children = Vec::new();
        children.push(
            Command::new("Xvfb")
                .args([
                    display.as_str(),
                    "-screen",
                    "0",
                    "1280x800x24",
                    "-nolisten",
                    "tcp",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start Xvfb"),
        );
        let socket = format!("/tmp/.X11-unix/X{}", &display[1..]);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !Path::new(&socket).exists() {
            assert!(Instant::now() < deadline, "Xvfb did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        children.push(
            Command::new("xmessage")
                .args([
                    "-geometry",
                    "400x100+100+100",
                    "-bg",
                    "#cce4f7",
                    "-fg",
                    "black",
                    "Hamn shadow-test",
                ])
                .env("DISPLAY", &display)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start xmessage"),
        );
        let sam = dir.path().join("sam");
        std::fs::write(
            &sam,
            format!("{SHADOW_USER}::aad3b435b51404eeaad3b435b51404ee:{SHADOW_NT_HASH}:::\n"),
        )
        .expect("write SAM file");
        let port = free_port();
        children.push(
            Command::new("freerdp-shadow-cli")
                .arg(format!("/port:{port}"))
                .arg("/bind-address:127.0.0.1")
                .arg("/sec:nla")
                .arg(format!("/sam-file:{}", sam.display()))
                .env("DISPLAY", &display)
                .env("HOME", dir.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start freerdp-shadow-cli"),
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "freerdp-shadow-cli did not listen"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let cert = dir.path().join(".config/freerdp/shadow/shadow.crt");
        let pem = std::fs::read(&cert).unwrap_or_else(|e| panic!("{}: {e}", cert.display()));
        let der = rustls_pemfile::certs(&mut pem.as_slice())
            .next()
            .expect("a certificate")
            .expect("PEM");
        Shadow {
            port,
            cert_sha256: hamn_gateway::rdp::tls::certificate_sha256(&der),
            children,
            _dir: dir,
        }
    }

    pub fn params(&self, password: &str) -> RdpParams {
        let mut params = RdpParams::new(
            "127.0.0.1",
            self.port,
            HostCredentials {
                username: SHADOW_USER.to_owned(),
                domain: None,
                password: password.to_owned(),
            },
            CertPolicy::Pin {
                sha256: vec![self.cert_sha256],
            },
        );
        params.security = SecurityMode::NlaOnly;
        params.connect_timeout = Duration::from_secs(60);
        params
    }
}

impl Drop for Shadow {
    fn drop(&mut self) {
        for child in self.children.iter_mut().rev() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
