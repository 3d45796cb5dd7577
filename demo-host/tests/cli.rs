//! Process-level tests of the `hamn-demo-host` binary: the start-up line, RDP security
//! negotiation on the wire, refusal of bad configuration, and a clean exit on SIGTERM.
//!
//! A full graphical session is exercised by `tests/tools/rdp-screenshot.sh` at the repository
//! root (xfreerdp under Xvfb); these tests need no X server, except those of [`printing`]
//! (xfreerdp under Xvfb printing to a private cupsd).

#[path = "cli/printing.rs"]
mod printing;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_hamn-demo-host");

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn command(security: &str) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(["--listen", "127.0.0.1:0", "--security", security, "--cert"])
        .arg(fixture("localhost.crt"))
        .arg("--key")
        .arg(fixture("localhost.key"))
        .env("HAMN_DEMO_HOST_USERNAME", "demo")
        .env("HAMN_DEMO_HOST_PASSWORD", "Hemligt-Lösen1")
        .env("HAMN_DEMO_HOST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// The host process; killed when dropped, so a failing test leaves nothing running.
struct Host(Option<Child>);

impl Drop for Host {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts the host and returns it with the address from its "listening on" line.
fn start(security: &str) -> (Host, String) {
    let mut child = command(security).spawn().expect("spawn hamn-demo-host");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("read stdout");
    let addr = line
        .trim()
        .strip_prefix("hamn-demo-host listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (Host(Some(child)), addr)
}

fn sigterm_and_wait(mut host: Host) -> i32 {
    let mut child = host.0.take().expect("running");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    for _ in 0..100 {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status.code().expect("exited normally, not by a signal");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("hamn-demo-host did not exit within 5 s of SIGTERM");
}

/// Sends an X.224 Connection Request offering TLS and CredSSP; returns the selected protocol.
fn negotiate(addr: &str) -> u32 {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    #[rustfmt::skip]
    let request = [
        0x03, 0x00, 0x00, 0x13,                         // TPKT, 19 bytes
        0x0E, 0xE0, 0x00, 0x00, 0x00, 0x00, 0x00,       // X.224 Connection Request
        0x01, 0x00, 0x08, 0x00, 0x03, 0x00, 0x00, 0x00, // RDP_NEG_REQ: PROTOCOL_SSL | PROTOCOL_HYBRID
    ];
    stream.write_all(&request).unwrap();
    let mut response = [0u8; 19];
    stream.read_exact(&mut response).expect("X.224 Connection Confirm");
    assert_eq!(response[0], 0x03, "TPKT");
    assert_eq!(response[5] & 0xF0, 0xD0, "Connection Confirm");
    assert_eq!(response[11], 0x02, "RDP_NEG_RSP, not a failure");
    u32::from_le_bytes([response[15], response[16], response[17], response[18]])
}

#[test]
fn tls_mode_negotiates_tls_and_stops_on_sigterm() {
    let (child, addr) = start("tls");
    assert_eq!(negotiate(&addr), 0x1, "PROTOCOL_SSL");
    assert_eq!(sigterm_and_wait(child), 0);
}

#[test]
fn nla_mode_negotiates_credssp() {
    let (child, addr) = start("nla");
    assert_eq!(negotiate(&addr), 0x2, "PROTOCOL_HYBRID");
    assert_eq!(sigterm_and_wait(child), 0);
}

#[test]
fn missing_credentials_are_refused() {
    let out = command("tls")
        .env_remove("HAMN_DEMO_HOST_PASSWORD")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("HAMN_DEMO_HOST_PASSWORD"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn unreadable_certificate_is_an_error() {
    let out = command("tls")
        .args(["--cert", "/nonexistent/server.crt"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/server.crt"));
}

#[test]
fn password_is_not_accepted_on_the_command_line() {
    let out = command("tls").args(["--password", "x"]).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn garbage_from_a_client_does_not_hurt_the_host() {
    let (child, addr) = start("tls");
    for garbage in [
        &b"GET / HTTP/1.1\r\n\r\n"[..],
        &[0x03, 0x00, 0xFF, 0xFF, 0x00],
        &[0u8; 64],
        &[0x03, 0x00, 0x00, 0x04],
    ] {
        let mut stream = TcpStream::connect(&addr).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let _ = stream.write_all(garbage);
        let _ = stream.shutdown(std::net::Shutdown::Write);
        let mut sink = Vec::new();
        let _ = stream.read_to_end(&mut sink);
    }
    assert_eq!(negotiate(&addr), 0x1, "still serving after bad clients");
    assert_eq!(sigterm_and_wait(child), 0);
}

/// A deterministic pseudo-random probe: hundreds of malformed openings (raw noise, broken TPKT
/// headers, a valid X.224 request followed by noise, fast-path-like headers) must neither
/// stop the host from serving, nor panic a connection task, nor kill it.
#[test]
fn random_openings_do_not_hurt_the_host() {
    const CONNECTION_REQUEST: [u8; 19] = [
        0x03, 0x00, 0x00, 0x13, 0x0E, 0xE0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x08, 0x00, 0x03, 0x00, 0x00,
        0x00,
    ];
    let (mut host, addr) = start("tls");
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        // xorshift64*
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    for i in 0..160u32 {
        let len = usize::try_from(next() % 80).unwrap() + 1;
        let noise: Vec<u8> = (0..len).map(|_| next().to_le_bytes()[0]).collect();
        let mut opening = match i % 4 {
            0 => vec![0x03, 0x00],
            1 => CONNECTION_REQUEST.to_vec(),
            2 => vec![[0x00, 0x04, 0x80, 0xC0][usize::try_from(next() % 4).unwrap()]],
            _ => Vec::new(),
        };
        opening.extend_from_slice(&noise);
        let mut stream = TcpStream::connect(&addr).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let _ = stream.write_all(&opening);
        let _ = stream.shutdown(std::net::Shutdown::Write);
        let _ = stream.read_to_end(&mut Vec::new());
        if i % 20 == 0 {
            assert_eq!(
                negotiate(&addr),
                0x1,
                "host stopped serving after input {i}: {opening:02x?}"
            );
        }
    }
    let child = host.0.as_mut().expect("running");
    assert!(child.try_wait().unwrap().is_none(), "host died");
    let mut stderr = child.stderr.take().expect("stderr");
    assert_eq!(sigterm_and_wait(host), 0);
    let mut log = String::new();
    stderr.read_to_string(&mut log).unwrap();
    assert!(!log.contains("panicked"), "a connection task panicked:\n{log}");
}
