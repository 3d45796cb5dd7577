//! `lp` from a private CUPS queue: our own cupsd (a temporary ServerRoot, loopback only,
//! never the system's), a queue made by `lpadmin -m everywhere` from the printer's own
//! IPP attributes, and a multi-page UTF-8 text file printed with `lp`. CUPS converts it
//! with its filters and sends it over ipps; the user's PDF must exist with the text and
//! the pages.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use hamn_broker::model::PrintJobState;

use crate::support::{Backend, Service, pdf_pages, pdftotext, set_mode};

/// A cupsd of our own on `port`, configured under `root`.
struct Cupsd {
    child: tokio::process::Child,
    port: u16,
}

impl Cupsd {
    async fn start(root: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        for sub in [
            "conf",
            "conf/ppd",
            "conf/ssl",
            "spool",
            "spool/tmp",
            "cache",
            "state",
            "log",
        ] {
            std::fs::create_dir_all(root.join(sub)).expect("cups dirs");
        }
        set_mode(root, 0o755);
        let r = root.display();
        std::fs::write(
            root.join("conf/cupsd.conf"),
            format!(
                "Listen 127.0.0.1:{port}\n\
                 ServerName 127.0.0.1\n\
                 LogLevel debug\n\
                 Browsing Off\n\
                 WebInterface No\n\
                 DefaultEncryption Never\n\
                 DefaultAuthType None\n\
                 <Location />\n  Order allow,deny\n  Allow all\n</Location>\n\
                 <Policy default>\n  <Limit All>\n    Order deny,allow\n  </Limit>\n</Policy>\n"
            ),
        )
        .expect("cupsd.conf");
        std::fs::write(
            root.join("conf/cups-files.conf"),
            format!(
                "ServerRoot {r}/conf\n\
                 RequestRoot {r}/spool\n\
                 TempDir {r}/spool/tmp\n\
                 CacheDir {r}/cache\n\
                 StateDir {r}/state\n\
                 AccessLog {r}/log/access_log\n\
                 ErrorLog {r}/log/error_log\n\
                 PageLog {r}/log/page_log\n\
                 ServerBin /usr/lib/cups\n\
                 DataDir /usr/share/cups\n\
                 Sandboxing Relaxed\n"
            ),
        )
        .expect("cups-files.conf");
        let child = tokio::process::Command::new("/usr/sbin/cupsd")
            .arg("-f")
            .arg("-c")
            .arg(root.join("conf/cupsd.conf"))
            .arg("-s")
            .arg(root.join("conf/cups-files.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("cupsd (cups-daemon) starts");
        // Ready when it accepts connections.
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self { child, port }
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

async fn run(program: &str, args: &[&str], home: &Path) -> String {
    let out = tokio::process::Command::new(program)
        .args(args)
        .env("HOME", home)
        .output()
        .await
        .unwrap_or_else(|e| panic!("{program} runs: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{program} {args:?}: {text}");
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lp_from_a_cups_everywhere_queue_becomes_the_users_pdf() {
    let s = Service::start(Backend::Sqlite).await;
    let root = s.dir.path().join("cups");
    let cupsd = Cupsd::start(&root).await;
    let home = s.dir.path();
    let uri = s.printer_uri();
    let admin = run(
        "lpadmin",
        &[
            "-h",
            &cupsd.host(),
            "-p",
            "hamn",
            "-E",
            "-v",
            &uri,
            "-m",
            "everywhere",
        ],
        home,
    )
    .await;
    let document = s.dir.path().join("journal.txt");
    let text: String = (1..=150)
        .map(|n| format!("Rad {n}: å ä ö Å Ä Ö — Journalanteckning för Åsa Öberg\n"))
        .collect();
    std::fs::write(&document, &text).expect("document");
    set_mode(&document, 0o644);
    let doc = document.display().to_string();
    // As applications print: CUPS filters the text (texttopdf) into a PDF for the queue.
    run(
        "lp",
        &["-h", &cupsd.host(), "-d", "hamn", "-t", "Journal Åsa", &doc],
        home,
    )
    .await;
    // As legacy report printing does: the text goes to the printer as it is, and Hamn's
    // own text renderer typesets it.
    run(
        "lp",
        &[
            "-h",
            &cupsd.host(),
            "-d",
            "hamn",
            "-o",
            "raw",
            "-t",
            "Rapport",
            &doc,
        ],
        home,
    )
    .await;

    let jobs = s.wait_for_finished(2, Duration::from_secs(120)).await;
    let log = std::fs::read_to_string(root.join("log/error_log")).unwrap_or_default();
    cupsd.stop().await;
    let finished: Vec<_> = jobs.iter().filter(|j| j.state.is_final()).collect();
    assert_eq!(
        finished.len(),
        2,
        "{jobs:?}; lpadmin: {admin}\ncupsd:\n{log}"
    );
    for job in &finished {
        assert_eq!(job.state, PrintJobState::Ready, "{job:?}\ncupsd:\n{log}");
        assert_eq!(job.user_id, s.ids.user, "the token decides whose job it is");
        let pages = pdf_pages(&s.pdf_path(job));
        assert!(
            pages >= 2,
            "150 lines take more than one A4 page: {job:?} {pages}"
        );
    }
    // The filtered job is CUPS' PDF, passed through: its fonts carry no Unicode map, so
    // only the raw job's text is read back.
    let raw = finished
        .iter()
        .find(|j| j.title == "Rapport")
        .unwrap_or_else(|| panic!("the raw job: {finished:?}"));
    let extracted = pdftotext(&s.pdf_path(raw));
    assert!(extracted.contains("å ä ö Å Ä Ö"), "{extracted}");
    assert!(extracted.contains("Rad 150"), "{extracted}");
    assert!(extracted.contains("Åsa Öberg"), "{extracted}");
    s.finish().await;
}
