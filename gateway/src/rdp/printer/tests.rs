//! The printer over the real `Rdpdr` channel code, fed with server PDUs built by the spec
//! ([MS-RDPEFS] 2.2.1–2.2.3, [MS-RDPEPC]): the handshake announces the printer with its
//! driver, Create/Write/Close become forwarder orders and answers, the size bound and
//! full queues fail IRPs without stopping the channel, and malformed IRPs never panic.

use std::sync::{Arc, Mutex};

use ironrdp_core::encode_vec;
use ironrdp_rdpdr::pdu::RdpdrPdu;
use ironrdp_rdpdr::pdu::efs::{
    CapabilityMessage, CoreCapability, CoreCapabilityKind, DeviceIoRequest, MajorFunction,
    MinorFunction, NtStatus, ServerDeviceAnnounceResponse, VersionAndIdPdu, VersionAndIdPduKind,
};
use ironrdp_rdpdr::{Rdpdr, RdpdrPrinter};
use ironrdp_svc::{SvcMessage, SvcProcessor as _};

use super::*;
use crate::rdp::printer::tap;

/// A forwarder that records what it was given and leaves the completions to the test.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    pub(crate) started: Mutex<Vec<Started>>,
}

/// A job as the recorder got it.
#[derive(Debug)]
pub(crate) struct Started {
    pub(crate) file_id: u32,
    pub(crate) create: DeviceIoRequest,
    /// The create not completed yet (replays complete it).
    pub(crate) create_pending: Option<DeviceIoRequest>,
    pub(crate) mime: &'static str,
    pub(crate) input: tokio::sync::mpsc::Receiver<JobInput>,
    pub(crate) abort: Arc<std::sync::OnceLock<AbortReason>>,
    pub(crate) document: Vec<u8>,
}

impl PrintJobs for Recorder {
    fn start(&self, job: JobStart) {
        if let Ok(mut started) = self.started.lock() {
            started.push(Started {
                file_id: job.file_id,
                create_pending: Some(job.create.clone()),
                create: job.create,
                mime: job.mime,
                input: job.input,
                abort: job.abort,
                document: Vec::new(),
            });
        }
    }
}

pub(crate) fn channel(driver: PrinterDriver) -> Rdpdr {
    let printer = RdpdrPrinter::new(
        PRINTER_DEVICE_ID,
        "Hamn PDF".to_owned(),
        driver.windows_name().to_owned(),
    )
    .with_network(false)
    .with_default(true)
    .with_explicit_driver(true);
    Rdpdr::new(Box::new(IrpQueue::default()), "hamn".to_owned()).with_redirected_printer(printer)
}

fn version(kind: VersionAndIdPduKind) -> Vec<u8> {
    encode_vec(&RdpdrPdu::VersionAndIdPdu(VersionAndIdPdu {
        version_major: 1,
        version_minor: 0x000C,
        client_id: 7,
        kind,
    }))
    .unwrap_or_default()
}

/// The server half of the handshake, in Windows' order.
pub(crate) fn server_handshake() -> Vec<Vec<u8>> {
    vec![
        version(VersionAndIdPduKind::ServerAnnounceRequest),
        encode_vec(&RdpdrPdu::CoreCapability(CoreCapability {
            capabilities: vec![
                CapabilityMessage::new_general(0),
                CapabilityMessage::new_printer(),
            ],
            kind: CoreCapabilityKind::ServerCoreCapabilityRequest,
        }))
        .unwrap_or_default(),
        version(VersionAndIdPduKind::ServerClientIdConfirm),
        encode_vec(&RdpdrPdu::UserLoggedon).unwrap_or_default(),
    ]
}

pub(crate) fn announce_response(status: NtStatus) -> Vec<u8> {
    encode_vec(&RdpdrPdu::ServerDeviceAnnounceResponse(
        ServerDeviceAnnounceResponse {
            device_id: PRINTER_DEVICE_ID,
            result_code: status,
        },
    ))
    .unwrap_or_default()
}

fn io(file_id: u32, completion_id: u32, major: MajorFunction) -> DeviceIoRequest {
    DeviceIoRequest {
        device_id: PRINTER_DEVICE_ID,
        file_id,
        completion_id,
        major_function: major,
        minor_function: MinorFunction::from(0),
    }
}

fn irp(request: DeviceIoRequest, body: &[u8]) -> Vec<u8> {
    let mut bytes = encode_vec(&RdpdrPdu::DeviceIoRequest(request)).unwrap_or_default();
    bytes.extend_from_slice(body);
    bytes
}

/// DR_CREATE_REQ for a printer: GENERIC_WRITE, no path (Windows sends PathLength 0).
pub(crate) fn create(completion_id: u32) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&0x4000_0000u32.to_le_bytes()); // DesiredAccess
    body.extend_from_slice(&0u64.to_le_bytes()); // AllocationSize
    body.extend_from_slice(&0u32.to_le_bytes()); // FileAttributes
    body.extend_from_slice(&0u32.to_le_bytes()); // SharedAccess
    body.extend_from_slice(&2u32.to_le_bytes()); // CreateDisposition: FILE_CREATE
    body.extend_from_slice(&0u32.to_le_bytes()); // CreateOptions
    body.extend_from_slice(&0u32.to_le_bytes()); // PathLength
    irp(io(0, completion_id, MajorFunction::Create), &body)
}

/// DR_WRITE_REQ: Length, Offset, 20 bytes of padding, the data.
pub(crate) fn write(file_id: u32, completion_id: u32, data: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&u32::try_from(data.len()).unwrap_or(u32::MAX).to_le_bytes());
    body.extend_from_slice(&0u64.to_le_bytes());
    body.extend_from_slice(&[0; 20]);
    body.extend_from_slice(data);
    irp(io(file_id, completion_id, MajorFunction::Write), &body)
}

/// DR_CLOSE_REQ: 32 bytes of padding.
pub(crate) fn close(file_id: u32, completion_id: u32) -> Vec<u8> {
    irp(io(file_id, completion_id, MajorFunction::Close), &[0; 32])
}

/// One session's printer without the link: the channel, the runner and the recorder.
pub(crate) struct Harness {
    pub(crate) rdpdr: Rdpdr,
    pub(crate) runner: PrinterRunner,
    pub(crate) recorder: Arc<Recorder>,
    /// Kept so the runner's completion sender stays open.
    pub(crate) _completions: tokio::sync::mpsc::Receiver<(u32, Completion)>,
}

impl Harness {
    pub(crate) fn new() -> Self {
        let recorder = Arc::new(Recorder::default());
        let (runner, completions) = PrinterRunner::new(PrinterParams {
            name: "Hamn PDF".to_owned(),
            driver: PrinterDriver::Pdf,
            jobs: recorder.clone(),
            tap: None,
        });
        Self {
            rdpdr: channel(PrinterDriver::Pdf),
            runner,
            recorder,
            _completions: completions,
        }
    }

    /// A server PDU in; what the channel and the runner send back, as RDPDR PDUs' bytes.
    pub(crate) fn feed(&mut self, pdu: &[u8]) -> Vec<Vec<u8>> {
        let mut out: Vec<Vec<u8>> = match self.rdpdr.process(pdu) {
            Ok(messages) => messages.into_iter().map(encoded).collect(),
            Err(error) => panic!("channel error: {error}"),
        };
        let events = self
            .rdpdr
            .downcast_backend_mut::<IrpQueue>()
            .map(|q| std::mem::take(&mut q.events))
            .unwrap_or_default();
        for pdu in self.runner.on_events(events) {
            out.push(encode_vec(&pdu).unwrap_or_default());
        }
        out
    }

    pub(crate) fn ready() -> Self {
        let mut h = Self::new();
        for pdu in server_handshake() {
            h.feed(&pdu);
        }
        h.feed(&announce_response(NtStatus::SUCCESS));
        h
    }

    pub(crate) fn job(&self, n: usize) -> Option<(u32, DeviceIoRequest)> {
        let started = self.recorder.started.lock().ok()?;
        started.get(n).map(|j| (j.file_id, j.create.clone()))
    }
}

pub(crate) fn encoded(message: SvcMessage) -> Vec<u8> {
    message.encode_unframed_pdu().unwrap_or_default()
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    bytes
        .get(at..at + 4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_le_bytes)
        .unwrap_or(u32::MAX)
}

/// (component, packet id, device id, completion id, status) of a completion.
fn completion_of(bytes: &[u8]) -> (u32, u32, u32) {
    (u32_at(bytes, 4), u32_at(bytes, 8), u32_at(bytes, 12))
}

#[test]
fn the_handshake_announces_one_printer_with_its_driver() {
    for driver in [PrinterDriver::Pdf, PrinterDriver::PostScript] {
        let mut rdpdr = channel(driver);
        let mut sent = Vec::new();
        for pdu in server_handshake() {
            let replies = rdpdr.process(&pdu).unwrap_or_default();
            sent.extend(replies.into_iter().map(encoded));
        }
        // Client announce reply, name, capabilities, then the printer's Device List Announce
        // after User Logged On (printers are post-logon devices).
        let announce = sent.last().cloned().unwrap_or_default();
        assert_eq!(
            &announce[..4],
            &[0x72, 0x44, 0x41, 0x44],
            "DR_DEVICELIST_ANNOUNCE"
        );
        assert_eq!(u32_at(&announce, 4), 1, "one device");
        assert_eq!(u32_at(&announce, 8), 0x4, "RDPDR_DTYP_PRINT");
        assert_eq!(u32_at(&announce, 12), PRINTER_DEVICE_ID);
        let utf16 = |s: &str| {
            s.encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect::<Vec<u8>>()
        };
        let has = |needle: &[u8]| announce.windows(needle.len()).any(|w| w == needle);
        assert!(has(&utf16(driver.windows_name())), "{driver:?}");
        assert!(has(&utf16("Hamn PDF")));
    }
}

#[test]
fn a_job_is_created_written_and_closed_through_the_forwarder() {
    let mut h = Harness::ready();
    assert!(
        h.feed(&create(1)).is_empty(),
        "the forwarder answers the create"
    );
    let (file_id, create_io) = h.job(0).expect("a job started");
    assert_eq!(create_io.completion_id, 1);
    let reply = h.runner.on_completion(
        file_id,
        Completion::Created {
            create: create_io,
            file_id,
            ok: true,
        },
    );
    let bytes = encode_vec(&reply).unwrap_or_default();
    assert_eq!(completion_of(&bytes), (PRINTER_DEVICE_ID, 1, 0), "success");
    assert_eq!(u32_at(&bytes, 16), file_id, "the handle");

    assert!(h.feed(&write(file_id, 2, b"%PDF-1.7 ...")).is_empty());
    assert!(h.feed(&close(file_id, 3)).is_empty());
    let mut started = h.recorder.started.lock().expect("lock");
    let job = started.get_mut(0).expect("job");
    assert_eq!(job.mime, "application/pdf");
    match job.input.try_recv() {
        Ok(JobInput::Data { write, data }) => {
            assert_eq!(write.completion_id, 2);
            assert_eq!(data, b"%PDF-1.7 ...");
        }
        other => panic!("expected data, got {other:?}"),
    }
    assert!(
        matches!(job.input.try_recv(), Ok(JobInput::Finish { close }) if close.completion_id == 3)
    );
    assert!(job.abort.get().is_none());
}

#[test]
fn a_write_the_forwarder_fails_fails_the_job_and_later_writes_at_once() {
    let mut h = Harness::ready();
    h.feed(&create(1));
    let (file_id, _) = h.job(0).expect("job");
    assert!(h.feed(&write(file_id, 2, b"12345678")).is_empty());
    // The print service stopped taking the job (it refused it, or it went away).
    let step = {
        let mut started = h.recorder.started.lock().expect("lock");
        started[0]
            .input
            .try_recv()
            .expect("the write went to the forwarder")
    };
    let JobInput::Data { write: request, .. } = step else {
        panic!("expected the job's data, got {step:?}");
    };
    let reply = h.runner.on_completion(
        file_id,
        Completion::Written {
            write: request,
            length: 0,
            ok: false,
        },
    );
    let reply = encode_vec(&reply).unwrap_or_default();
    assert_eq!(completion_of(&reply), (PRINTER_DEVICE_ID, 2, 0xC000_0001));
    // Later writes fail at once; the close only cleans up.
    let replies = h.feed(&write(file_id, 4, b"x"));
    assert_eq!(
        completion_of(&replies[0]),
        (PRINTER_DEVICE_ID, 4, 0xC000_0001)
    );
    let replies = h.feed(&close(file_id, 5));
    assert_eq!(completion_of(&replies[0]), (PRINTER_DEVICE_ID, 5, 0));
    // The printer still works for the next job.
    h.feed(&create(6));
    assert!(h.job(1).is_some());
}

#[test]
fn a_failed_forwarder_fails_the_create_and_frees_the_slot() {
    let mut h = Harness::ready();
    for n in 0..MAX_OPEN_JOBS {
        h.feed(&create(u32::try_from(n).unwrap_or(0)));
    }
    let replies = h.feed(&create(99));
    assert_eq!(
        completion_of(&replies[0]),
        (PRINTER_DEVICE_ID, 99, 0xC000_0001),
        "more than {MAX_OPEN_JOBS} jobs at once are refused"
    );
    let (file_id, create_io) = h.job(0).expect("job");
    let reply = h.runner.on_completion(
        file_id,
        Completion::Created {
            create: create_io,
            file_id,
            ok: false,
        },
    );
    let bytes = encode_vec(&reply).unwrap_or_default();
    assert_eq!(u32_at(&bytes, 12), 0xC000_0001);
    assert!(h.feed(&create(100)).is_empty(), "a slot is free again");
}

#[test]
fn a_full_job_queue_fails_the_write_instead_of_waiting() {
    let mut h = Harness::ready();
    h.feed(&create(1));
    let (file_id, _) = h.job(0).expect("job");
    for n in 0..JOB_QUEUE {
        assert!(
            h.feed(&write(file_id, 10 + u32::try_from(n).unwrap_or(0), b"x"))
                .is_empty()
        );
    }
    let replies = h.feed(&write(file_id, 99, b"x"));
    assert_eq!(
        completion_of(&replies[0]),
        (PRINTER_DEVICE_ID, 99, 0xC000_0001)
    );
    let started = h.recorder.started.lock().expect("lock");
    assert_eq!(started[0].abort.get(), Some(&AbortReason::Unavailable));
}

#[test]
fn irps_for_unknown_handles_or_before_acceptance_are_refused() {
    let mut h = Harness::new();
    for pdu in server_handshake() {
        h.feed(&pdu);
    }
    // The crate fails a create until the host accepted the printer.
    let replies = h.feed(&create(1));
    assert_eq!(
        completion_of(&replies[0]),
        (PRINTER_DEVICE_ID, 1, 0xC000_0001)
    );
    h.feed(&announce_response(NtStatus::SUCCESS));
    let replies = h.feed(&write(42, 2, b"x"));
    assert_eq!(
        completion_of(&replies[0]),
        (PRINTER_DEVICE_ID, 2, 0xC000_0008)
    );
    let replies = h.feed(&close(42, 3));
    assert_eq!(
        completion_of(&replies[0]),
        (PRINTER_DEVICE_ID, 3, 0xC000_0008)
    );
}

#[test]
fn a_refused_announcement_is_remembered() {
    let mut spool = Spool::new(PRINTER_DEVICE_ID);
    assert!(
        spool
            .on_event(PrinterEvent::Announced {
                device_id: PRINTER_DEVICE_ID,
                accepted: false
            })
            .is_empty()
    );
    assert!(!spool.accepted());
    spool.on_event(PrinterEvent::Announced {
        device_id: PRINTER_DEVICE_ID,
        accepted: true,
    });
    assert!(spool.accepted());
}

#[test]
fn malformed_irps_are_errors_not_panics() {
    let mut h = Harness::ready();
    h.feed(&create(1));
    let (file_id, _) = h.job(0).expect("job");
    let whole = write(file_id, 2, b"abc");
    for cut in 0..whole.len() {
        let _ = h.rdpdr.process(&whole[..cut]);
    }
    let mut lying = write(file_id, 3, b"abc");
    // Length says more than there is.
    lying[24..28].copy_from_slice(&1000u32.to_le_bytes());
    assert!(h.rdpdr.process(&lying).is_err());
}

proptest::proptest! {
    #[test]
    fn arbitrary_server_pdus_never_panic(pdus in proptest::collection::vec(
        proptest::collection::vec(proptest::prelude::any::<u8>(), 0..96), 0..8)) {
        let mut h = Harness::ready();
        for pdu in pdus {
            let _ = h.rdpdr.process(&pdu);
            let events = h
                .rdpdr
                .downcast_backend_mut::<IrpQueue>()
                .map(|q| std::mem::take(&mut q.events))
                .unwrap_or_default();
            let _ = h.runner.on_events(events);
        }
    }
}

/// The recorded conversation with the demo host (`gateway/tests/fixtures/rdpdr/`, written by
/// `gateway/tests/gateway/printing.rs` under `UPDATE_EXPECT=1`): `NNN-host.bin` and
/// `NNN-gateway.bin` static-channel chunks in the order they crossed the wire.
fn recorded() -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rdpdr");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".bin"))
        .collect();
    names.sort();
    let read = |side: &str| -> Vec<Vec<u8>> {
        names
            .iter()
            .filter(|n| n.ends_with(&format!("-{side}.bin")))
            .map(|n| std::fs::read(dir.join(n)).unwrap_or_else(|e| panic!("{n}: {e}")))
            .collect()
    };
    let host = tap::reassemble(read("host").iter().map(Vec::as_slice));
    let gateway = tap::reassemble(read("gateway").iter().map(Vec::as_slice));
    (host, gateway)
}

/// Completes every IRP the recorder's jobs were handed, as a print service that takes
/// everything would; returns the answers' bytes and the documents.
fn complete_all(h: &mut Harness, documents: &mut Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut done = Vec::new();
    if let Ok(mut started) = h.recorder.started.lock() {
        for job in started.iter_mut() {
            if let Some(create) = job.create_pending.take() {
                done.push((
                    job.file_id,
                    Completion::Created {
                        create,
                        file_id: job.file_id,
                        ok: true,
                    },
                ));
            }
            while let Ok(step) = job.input.try_recv() {
                match step {
                    JobInput::Data { write, data } => {
                        job.document.extend_from_slice(&data);
                        let length = u32::try_from(data.len()).unwrap_or(u32::MAX);
                        done.push((
                            job.file_id,
                            Completion::Written {
                                write,
                                length,
                                ok: true,
                            },
                        ));
                    }
                    JobInput::Finish { close } => {
                        documents.push(std::mem::take(&mut job.document));
                        done.push((job.file_id, Completion::Closed { close, ok: true }));
                    }
                }
            }
        }
    }
    for (file_id, completion) in done {
        out.push(encode_vec(&h.runner.on_completion(file_id, completion)).unwrap_or_default());
    }
    out
}

#[test]
fn the_recorded_demo_host_conversation_replays_byte_for_byte() {
    let (host, gateway) = recorded();
    assert!(
        host.len() >= 6,
        "a recorded handshake and job: {} host PDUs",
        host.len()
    );
    let mut h = Harness::new();
    let mut sent = Vec::new();
    let mut documents = Vec::new();
    for pdu in &host {
        sent.extend(h.feed(pdu));
        sent.extend(complete_all(&mut h, &mut documents));
    }
    assert_eq!(documents.len(), 1, "one job in the recording");
    assert!(documents[0].starts_with(b"%PDF-"), "the job is a PDF");
    assert_eq!(sent.len(), gateway.len(), "as many answers as recorded");
    for (n, (ours, theirs)) in sent.iter().zip(&gateway).enumerate() {
        assert_eq!(ours, theirs, "answer {n} differs from the recording");
    }
}
