//! The redirected printer against the real demo host: the gateway's RDP client announces
//! "Hamn PDF" over RDPDR, "Skriv ut" in the demo app prints the selected client through it,
//! and the job's document arrives whole at the job's end of the pipe — `pdftotext` finds
//! "Åsa Öberg" in it (PostScript with the pool's other driver). The same run records the
//! channel's conversation both ways as `gateway/tests/fixtures/rdpdr/` (rewritten under
//! `UPDATE_EXPECT=1`), which `rdp::printer`'s unit tests replay.
//!
//! The job's end here is the test's own [`PrintJobs`] that keeps the document (the print
//! service's part is tested with it in `tests/e2e/print.rs`); it completes every IRP at once.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hamn_gateway::rdp::printer::tap::RdpdrChunk;
use hamn_gateway::rdp::printer::{
    Completion, JobInput, JobStart, PrintJobs, PrinterDriver, PrinterParams,
};
use hamn_gateway::rdp::{self, MouseButton, RdpInput};
use tokio::sync::mpsc;

use crate::rdp::peers::{DEMO_PASSWORD, DemoHost, FrameSink};

const WAIT: Duration = Duration::from_secs(30);
/// The demo app's "Skriv ut" (x 758–858, y 320–356).
const PRINT_BUTTON: (u16, u16) = (808, 338);

/// Each finished job: its document format and bytes.
type Documents = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// Keeps each job's document; completes every IRP with success.
#[derive(Debug, Default)]
struct Keep {
    documents: Documents,
}

impl PrintJobs for Keep {
    fn start(&self, job: JobStart) {
        let documents = self.documents.clone();
        tokio::spawn(async move {
            let JobStart {
                file_id,
                create,
                mime,
                mut input,
                completions,
                ..
            } = job;
            let _ = completions
                .send((
                    file_id,
                    Completion::Created {
                        create,
                        file_id,
                        ok: true,
                    },
                ))
                .await;
            let mut document = Vec::new();
            while let Some(step) = input.recv().await {
                match step {
                    JobInput::Data { write, data } => {
                        let length = u32::try_from(data.len()).unwrap_or(u32::MAX);
                        document.extend_from_slice(&data);
                        let done = Completion::Written {
                            write,
                            length,
                            ok: true,
                        };
                        let _ = completions.send((file_id, done)).await;
                    }
                    JobInput::Finish { close } => {
                        if let Ok(mut all) = documents.lock() {
                            all.push((mime.to_owned(), std::mem::take(&mut document)));
                        }
                        let done = Completion::Closed { close, ok: true };
                        let _ = completions.send((file_id, done)).await;
                        return;
                    }
                }
            }
        });
    }
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rdpdr")
}

fn pdftotext(document: &[u8], dir: &Path) -> String {
    let path = dir.join("job.pdf");
    std::fs::write(&path, document).expect("write the job");
    let out = std::process::Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
        .expect("run pdftotext (poppler-utils)");
    assert!(out.status.success(), "pdftotext refused the job's PDF");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Connects with a printer of `driver`, presses "Skriv ut", returns the jobs' documents and
/// the channel's chunks.
async fn print_once(driver: PrinterDriver) -> (Vec<(String, Vec<u8>)>, Vec<RdpdrChunk>) {
    let host = DemoHost::start("tls");
    let keep = Keep::default();
    let documents = keep.documents.clone();
    let (tap, mut chunks) = mpsc::unbounded_channel();
    let mut params = host.params(DEMO_PASSWORD);
    params.printer = Some(PrinterParams {
        name: "Hamn PDF".to_owned(),
        driver,
        jobs: Arc::new(keep),
        tap: Some(tap),
    });
    let session = rdp::connect(params).await.expect("connect");
    let sink = FrameSink::default();
    let (handle, task) = session.start(sink.clone());
    crate::rdp::wait_for_app(&sink).await;
    // The printer is announced after logon; give the channel a moment to settle.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (x, y) = PRINT_BUTTON;
    handle
        .input(vec![
            RdpInput::MouseMove { x, y },
            RdpInput::MouseButton {
                button: MouseButton::Left,
                down: true,
            },
            RdpInput::MouseButton {
                button: MouseButton::Left,
                down: false,
            },
        ])
        .await
        .expect("click Skriv ut");
    let deadline = tokio::time::Instant::now() + WAIT;
    while documents.lock().map(|d| d.is_empty()).unwrap_or(true) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no print job within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The Close's answer goes out after the document is kept.
    tokio::time::sleep(Duration::from_millis(300)).await;
    handle.close();
    task.wait().await.expect("clean close");
    let mut recorded = Vec::new();
    while let Ok(chunk) = chunks.try_recv() {
        recorded.push(chunk);
    }
    let jobs = documents.lock().map(|d| d.clone()).unwrap_or_default();
    (jobs, recorded)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skriv_ut_on_the_demo_host_prints_a_pdf_through_the_gateways_printer() {
    let (jobs, chunks) = print_once(PrinterDriver::Pdf).await;
    assert_eq!(jobs.len(), 1, "one job");
    let (mime, document) = &jobs[0];
    assert_eq!(mime, "application/pdf");
    assert!(document.starts_with(b"%PDF-"), "not a PDF");
    let dir = tempfile::tempdir().expect("temp dir");
    let text = pdftotext(document, dir.path());
    assert!(text.contains("Åsa Öberg"), "{text}");

    // Record the conversation (the document itself is in the Write requests).
    let dir = fixtures();
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("fixture dir");
        for (n, chunk) in chunks.iter().enumerate() {
            let side = if chunk.from_host { "host" } else { "gateway" };
            std::fs::write(dir.join(format!("{n:03}-{side}.bin")), &chunk.bytes)
                .expect("write fixture");
        }
    }
    let host_chunks = chunks.iter().filter(|c| c.from_host).count();
    assert!(
        host_chunks >= 8,
        "the conversation was recorded: {host_chunks} host chunks"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postscript_driver_gets_postscript() {
    let (jobs, _) = print_once(PrinterDriver::PostScript).await;
    assert_eq!(jobs.len(), 1, "one job");
    let (mime, document) = &jobs[0];
    assert_eq!(mime, "application/postscript");
    assert!(document.starts_with(b"%!PS"), "not PostScript");
}
