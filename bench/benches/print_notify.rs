//! From the last byte of a print job to the browser's notification: a real browser session
//! (gateway, demo host over RDP, a synthetic browser on the websocket), the real print
//! service in this process, and the gateway's own job forwarder (`IppForwarder`, what the
//! RDP printer's jobs go through) sending a 10-page PDF. Measured: the time from handing the
//! forwarder the job's end (the Close IRP) to `PrintNotice` on the websocket. Baseline, in
//! the same run and through the same command channel: an administrator's message from
//! `session_control::send` to `AdminMessage` on the websocket. Aim (issue 7): under 1 s.
//!
//! Run: `cargo bench -p hamn-bench --bench print_notify`. Needs `hamn-demo-host` (see the
//! sessions bench) or `HAMN_DEMO_HOST_BIN`.

#[path = "../../gateway/tests/support/rdp_peers.rs"]
mod rdp_peers;

#[path = "sessions/gateway.rs"]
#[allow(dead_code)]
mod gateway;

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use hamn_bench::Samples;
use hamn_broker::session_control::{self, SessionCommand};
use hamn_gateway::print::{IppForwarder, PrintClientConfig};
use hamn_gateway::rdp::printer::{Completion, JobInput, JobStart, PrintJobs as _};
use hamn_gateway::wire::{PrintOutcome, ServerMessage};
use ironrdp_rdpdr::pdu::efs::{DeviceIoRequest, MajorFunction, MinorFunction};
use tokio::sync::mpsc;

const ROUNDS: usize = 20;
const PAGES: usize = 10;
const AIM_MS: f64 = 1000.0;
const WAIT: Duration = Duration::from_secs(30);

fn main() -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let host = rdp_peers::DemoHost::start("tls");
    let seed = gateway::HostSeed {
        port: host.port,
        username: rdp_peers::DEMO_USER.to_owned(),
        password: rdp_peers::DEMO_PASSWORD.to_owned(),
    };
    let gw = gateway::Gateway::start(&seed).await?;
    let print_port = start_print_service(&gw).await?;
    let (notices_tx, mut notices) = mpsc::unbounded_channel();
    let client = gw.open(1280, 800, None).await?;
    client.notices(notices_tx);
    let session = gw.last_session().await?;

    let forwarder = IppForwarder::new(
        gw.database(),
        session,
        Arc::new(PrintClientConfig {
            url: format!("https://localhost:{print_port}"),
            ca_pem: Some(gw.ca_pem()),
            printer_name: "Hamn PDF".to_owned(),
        }),
        "Bänkprov".to_owned(),
    )?;
    let pdf = pdf_of_pages(PAGES);

    // One of each first: connections, caches and the print service's first render.
    admin_round(&gw, session, &mut notices).await?;
    print_round(&forwarder, &pdf, &mut notices).await?;

    let mut admin = Vec::new();
    let mut print = Vec::new();
    let started = Instant::now();
    for _ in 0..ROUNDS {
        admin.push(admin_round(&gw, session, &mut notices).await?);
        print.push(print_round(&forwarder, &pdf, &mut notices).await?);
    }
    let wall = started.elapsed();
    let admin = Samples::new(admin, wall).summary();
    let print = Samples::new(print, wall).summary();
    println!(
        "print_notify: {PAGES}-page PDF ({} bytes), {ROUNDS} rounds",
        pdf.len()
    );
    println!(
        "  admin message → AdminMessage (baseline): p50 {:.1} ms, p99 {:.1} ms",
        admin.p50_ms, admin.p99_ms
    );
    println!(
        "  last job byte → PrintNotice:             p50 {:.1} ms, p99 {:.1} ms ({:.1}× the baseline)",
        print.p50_ms,
        print.p99_ms,
        print.p50_ms / admin.p50_ms.max(0.001)
    );
    let verdict = if print.p99_ms < AIM_MS {
        "PASS"
    } else {
        "MISS"
    };
    println!("  aim: notification under {AIM_MS:.0} ms after the last byte (p99): {verdict}");
    client.close().await;
    gw.stop();
    Ok(())
}

/// The print service on a free loopback port, on the gateway's database and dev PKI.
async fn start_print_service(gw: &gateway::Gateway) -> anyhow::Result<u16> {
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0")?;
        probe.local_addr()?.port()
    };
    let config = hamn_print::PrintConfig {
        listen: format!("127.0.0.1:{port}").parse()?,
        tls: gw.server_cert_files(),
        database: gw.database_config(),
        data_dir: gw.dir().join("print"),
        retention: Duration::from_secs(3600),
        limits: hamn_print::JobLimits::default(),
        public_url: format!("https://localhost:{port}"),
    };
    let shutdown = gw.shutdown_token();
    tokio::spawn(async move {
        if let Err(error) = hamn_print::run(config, shutdown).await {
            eprintln!("print service: {error}");
        }
    });
    // Ready when it accepts connections.
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(port);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("the print service did not start")
}

async fn admin_round(
    gw: &gateway::Gateway,
    session: uuid::Uuid,
    notices: &mut mpsc::UnboundedReceiver<(Instant, ServerMessage)>,
) -> anyhow::Result<Duration> {
    let text = format!("ping {}", uuid::Uuid::new_v4());
    let sent = Instant::now();
    session_control::send(
        &gw.database(),
        session,
        SessionCommand::Message {
            text: text.clone(),
            sender: "bench".to_owned(),
        },
    )
    .await?;
    loop {
        let (at, message) = tokio::time::timeout(WAIT, notices.recv())
            .await
            .context("no AdminMessage")?
            .context("the session ended")?;
        if matches!(&message, ServerMessage::AdminMessage { text: t, .. } if *t == text) {
            return Ok(at - sent);
        }
    }
}

fn io(completion_id: u32, major: MajorFunction) -> DeviceIoRequest {
    DeviceIoRequest {
        device_id: 1,
        file_id: 1,
        completion_id,
        major_function: major,
        minor_function: MinorFunction::from(0),
    }
}

/// One job through the forwarder: Create, the PDF in 64 KiB writes, then the Close whose
/// hand-over is the last byte; ends at the PrintNotice.
async fn print_round(
    forwarder: &IppForwarder,
    pdf: &[u8],
    notices: &mut mpsc::UnboundedReceiver<(Instant, ServerMessage)>,
) -> anyhow::Result<Duration> {
    let (input, rx) = mpsc::channel(8);
    let (completions, mut done) = mpsc::channel(64);
    forwarder.start(JobStart {
        file_id: 1,
        create: io(1, MajorFunction::Create),
        mime: "application/pdf",
        input: rx,
        abort: Arc::new(OnceLock::new()),
        completions,
    });
    match next(&mut done).await {
        Some((_, Completion::Created { ok: true, .. })) => {}
        other => bail!("create: {other:?}"),
    }
    for (n, chunk) in pdf.chunks(64 * 1024).enumerate() {
        let write = io(2 + u32::try_from(n)?, MajorFunction::Write);
        input
            .send(JobInput::Data {
                write,
                data: chunk.to_vec(),
            })
            .await?;
        match next(&mut done).await {
            Some((_, Completion::Written { ok: true, .. })) => {}
            other => bail!("write: {other:?}"),
        }
    }
    let last_byte = Instant::now();
    input
        .send(JobInput::Finish {
            close: io(999, MajorFunction::Close),
        })
        .await?;
    loop {
        let (at, message) = tokio::time::timeout(WAIT, notices.recv())
            .await
            .context("no PrintNotice")?
            .context("the session ended")?;
        match message {
            ServerMessage::PrintNotice {
                outcome: PrintOutcome::Ready { pages },
                ..
            } => {
                if pages as usize != PAGES {
                    bail!("the PDF has {pages} pages, not {PAGES}");
                }
                return Ok(at - last_byte);
            }
            ServerMessage::PrintNotice {
                outcome: PrintOutcome::Refused { reason },
                ..
            } => bail!("the print service refused the job: {reason}"),
            _ => {}
        }
    }
}

/// The next completion of the forwarder, if one comes in time.
async fn next(done: &mut mpsc::Receiver<(u32, Completion)>) -> Option<(u32, Completion)> {
    tokio::time::timeout(WAIT, done.recv()).await.ok().flatten()
}

/// A plain PDF of `pages` pages with one line of text each (xref offsets exact).
fn pdf_of_pages(pages: usize) -> Vec<u8> {
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    let font = 3 + 2 * pages;
    let mut object = |out: &mut Vec<u8>, body: String| {
        offsets.push(out.len());
        let n = offsets.len();
        out.extend_from_slice(format!("{n} 0 obj\n{body}\nendobj\n").as_bytes());
    };
    object(&mut out, "<< /Type /Catalog /Pages 2 0 R >>".to_owned());
    let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", 3 + 2 * i)).collect();
    object(
        &mut out,
        format!(
            "<< /Type /Pages /Kids [{}] /Count {pages} >>",
            kids.join(" ")
        ),
    );
    for i in 0..pages {
        object(
            &mut out,
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {} 0 R \
                 /Resources << /Font << /F1 {font} 0 R >> >> >>",
                4 + 2 * i
            ),
        );
        let text = format!("BT /F1 24 Tf 72 760 Td (Sida {}) Tj ET", i + 1);
        object(
            &mut out,
            format!("<< /Length {} >>\nstream\n{text}\nendstream", text.len()),
        );
    }
    object(
        &mut out,
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    );
    let xref = out.len();
    let count = offsets.len() + 1;
    out.extend_from_slice(format!("xref\n0 {count}\n0000000000 65535 f \n").as_bytes());
    for offset in &offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {count} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
    );
    out
}
