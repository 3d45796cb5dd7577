//! Printing with a real client: xfreerdp 2.11 under Xvfb redirects a queue of a private cupsd
//! (temporary ServerRoot, a loopback port, raw queues whose spooled job files are kept), the
//! test clicks "Skriv ut", and the job CUPS received must be the client record — a PDF that
//! `pdftotext` reads with å ä ö, or PostScript for the "MS Publisher Imagesetter" driver,
//! read after Ghostscript's `ps2pdf`.
//!
//! Needs Xvfb, xfreerdp (freerdp2-x11), xdotool, cupsd and lpadmin (cups-daemon,
//! cups-client), pdftotext (poppler-utils) and ps2pdf (ghostscript); run it alone with the
//! other X/CUPS tests: `flock /tmp/hamn-xrdp.lock cargo test --manifest-path
//! demo-host/Cargo.toml --test cli printing`.

use std::io::{BufRead as _, BufReader, Read as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::{Host, command};

/// Generous: xfreerdp and cupsd start slowly on a loaded two-core machine.
const PATIENCE: Duration = Duration::from_secs(60);

/// A child process killed when dropped.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let path = std::env::temp_dir().join(format!("hamn-demo-print-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create temp dir");
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn spawn(cmd: &mut Command, what: &str) -> Guard {
    Guard(
        cmd.spawn()
            .unwrap_or_else(|e| panic!("{what} could not start ({e}); see this module's doc for packages")),
    )
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Polls `check` until it gives a value; panics with `what` after [`PATIENCE`].
fn wait_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A private cupsd on a loopback port; its spooled job files stay in `spool/`.
struct Cups {
    _daemon: Guard,
    port: u16,
    spool: PathBuf,
}

impl Cups {
    fn start(dir: &Path) -> Self {
        let port = free_port();
        for sub in ["spool", "cache", "state", "log", "tmp"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        let conf = format!(
            "Listen 127.0.0.1:{port}\nLogLevel info\nBrowsing No\nWebInterface No\n\
             PreserveJobFiles Yes\nDefaultAuthType None\n\
             <Location />\n  Order allow,deny\n  Allow all\n</Location>\n\
             <Policy default>\n  <Limit All>\n    Order deny,allow\n  </Limit>\n</Policy>\n"
        );
        let d = dir.display();
        let files = format!(
            "ServerRoot {d}\nRequestRoot {d}/spool\nCacheDir {d}/cache\nStateDir {d}/state\n\
             TempDir {d}/tmp\nAccessLog {d}/log/access_log\nErrorLog {d}/log/error_log\n\
             PageLog {d}/log/page_log\nPrintcap {d}/printcap\n"
        );
        std::fs::write(dir.join("cupsd.conf"), conf).unwrap();
        std::fs::write(dir.join("cups-files.conf"), files).unwrap();
        let daemon = spawn(
            Command::new("cupsd")
                .arg("-f")
                .arg("-c")
                .arg(dir.join("cupsd.conf"))
                .arg("-s")
                .arg(dir.join("cups-files.conf"))
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
            "cupsd",
        );
        Self {
            _daemon: daemon,
            port,
            spool: dir.join("spool"),
        }
    }

    /// A raw queue: CUPS keeps the job's bytes exactly as the client sent them.
    fn add_queue(&self, name: &str) {
        wait_for("cupsd to accept lpadmin", || {
            Command::new("lpadmin")
                .args(["-h", &format!("127.0.0.1:{}", self.port), "-p", name, "-E"])
                .args(["-v", "file:///dev/null", "-m", "raw"])
                .stderr(Stdio::null())
                .status()
                .ok()
                .filter(|s| s.success())
        });
    }

    /// The first complete job file (`d*` in the spool) ending with `trailer`.
    fn job_ending_with(&self, trailer: &[u8]) -> Vec<u8> {
        wait_for("the job in the CUPS spool", || {
            std::fs::read_dir(&self.spool)
                .ok()?
                .filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().starts_with('d'))
                .filter_map(|e| std::fs::read(e.path()).ok())
                .find(|data| data.ends_with(trailer))
        })
    }
}

/// Xvfb on a display it picks itself (`-displayfd 1`: the number comes on stdout).
fn xvfb() -> (Guard, String) {
    let mut xvfb = spawn(
        Command::new("Xvfb")
            .args(["-displayfd", "1", "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null()),
        "Xvfb",
    );
    let mut line = String::new();
    BufReader::new(xvfb.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let display = format!(":{}", line.trim());
    assert!(display.len() > 1, "Xvfb gave no display number");
    (xvfb, display)
}

/// Prints the selected client (the first, "Åsa Öberg") through xfreerdp's redirection of
/// queue `queue` with printer driver `driver`; returns the job as CUPS received it.
fn print_through_xfreerdp(queue: &str, driver: &str, trailer: &[u8]) -> Vec<u8> {
    let dir = TempDir::new(queue);
    let cups = Cups::start(&dir.0);
    cups.add_queue(queue);

    let mut host = command("tls")
        .env("HAMN_DEMO_HOST_LOG", "info")
        .spawn()
        .expect("spawn hamn-demo-host");
    let stdout = host.stdout.take().unwrap();
    let stderr = host.stderr.take().unwrap();
    let _host = Host(Some(host));
    let mut first = String::new();
    BufReader::new(stdout).read_line(&mut first).unwrap();
    let addr = first
        .trim()
        .strip_prefix("hamn-demo-host listening on ")
        .unwrap()
        .to_owned();
    let (log_tx, log) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = log_tx.send(line);
        }
    });
    let mut seen = Vec::new();
    let mut wait_for_log = |needle: &str| {
        let deadline = Instant::now() + PATIENCE;
        while !seen.iter().any(|l: &String| l.contains(needle)) {
            let left = deadline.saturating_duration_since(Instant::now());
            match log.recv_timeout(left) {
                Ok(line) => seen.push(line),
                Err(_) => panic!("no {needle:?} in the host's log:\n{}", seen.join("\n")),
            }
        }
    };

    let (_xvfb, display) = xvfb();
    let xfreerdp_log = dir.0.join("xfreerdp.log");
    let _xfreerdp = spawn(
        Command::new("xfreerdp")
            .arg(format!("/v:{addr}"))
            .args([
                "/u:demo",
                "/p:Hemligt-Lösen1",
                "/cert:ignore",
                "/sec:tls",
                "/size:1280x800",
            ])
            .arg(format!("/printer:{queue},{driver}"))
            .env("DISPLAY", &display)
            .env("CUPS_SERVER", format!("127.0.0.1:{}", cups.port))
            .env("IPP_PORT", cups.port.to_string())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&xfreerdp_log).unwrap()),
        "xfreerdp",
    );
    wait_for_log("printer redirected");
    // "Skriv ut": x 758–858, y 320–356.
    let clicked = Command::new("xdotool")
        .args(["mousemove", "808", "338", "click", "1"])
        .env("DISPLAY", &display)
        .status()
        .expect("xdotool");
    assert!(clicked.success());
    wait_for_log("print job sent");
    let job = cups.job_ending_with(trailer);
    assert!(
        seen.iter()
            .any(|l| l.contains(&format!("printer=\"{queue}\" driver=\"{driver}\""))),
        "{seen:?}"
    );
    let mut xfreerdp_errors = String::new();
    let _ = std::fs::File::open(&xfreerdp_log).and_then(|mut f| f.read_to_string(&mut xfreerdp_errors));
    assert!(
        !xfreerdp_errors.contains("rdpdr"),
        "xfreerdp complained:\n{xfreerdp_errors}"
    );
    job
}

fn pdftotext(pdf: &Path) -> String {
    let out = Command::new("pdftotext").arg(pdf).arg("-").output().expect("pdftotext");
    assert!(out.status.success() && out.stderr.is_empty(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn assert_is_the_record(text: &str) {
    for expected in [
        "Procapita – Klientregister",
        "Åsa Öberg",
        "19400312-2385",
        "Ansökan om hemtjänst",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from:\n{text}");
    }
}

#[test]
fn skriv_ut_prints_a_pdf_on_the_xfreerdp_clients_cups_queue() {
    let job = print_through_xfreerdp("HamnPDF", "Microsoft Print to PDF", b"%%EOF\n");
    assert!(job.starts_with(b"%PDF-1.4\n"));
    let dir = TempDir::new("pdf-check");
    let pdf = dir.0.join("job.pdf");
    std::fs::write(&pdf, &job).unwrap();
    assert_is_the_record(&pdftotext(&pdf));
}

#[test]
fn skriv_ut_prints_postscript_for_the_imagesetter_driver() {
    let job = print_through_xfreerdp("HamnPS", "MS Publisher Imagesetter", b"%%EOF\n");
    assert!(job.starts_with(b"%!PS-Adobe-3.0\n"));
    let dir = TempDir::new("ps-check");
    let (ps, pdf) = (dir.0.join("job.ps"), dir.0.join("job.pdf"));
    std::fs::write(&ps, &job).unwrap();
    let converted = Command::new("ps2pdf").arg(&ps).arg(&pdf).status().expect("ps2pdf");
    assert!(converted.success());
    assert_is_the_record(&pdftotext(&pdf));
}
