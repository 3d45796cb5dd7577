//! The RDPDR server against spec-built client PDUs (`tests/fixtures/rdpdr/`, made by
//! `make_fixtures.py` there): the initialization sequence, printer announcements, print jobs
//! with their failures, and malformed input; and against conversations recorded from real
//! clients (xfreerdp 2.11, IronRDP's rdpdr client).

use expect_test::expect;
use proptest::prelude::*;

use super::pdu::{self, ClientPdu, DecodeError, MAX_PDU_BYTES, PrinterData, decode_client_pdu};
use super::server::{Event, MAX_WRITE_BYTES, Output, PrintError, Printer, ProtocolError, RdpdrServer};

const CLIENT_ID: u32 = 7;

pub(crate) fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/rdpdr/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A Device I/O Response ([MS-RDPEFS] 2.2.1.5).
pub(crate) fn completion(device_id: u32, completion_id: u32, status: u32, body: &[u8]) -> Vec<u8> {
    let mut pdu = vec![0x72, 0x44, 0x43, 0x49];
    for v in [device_id, completion_id, status] {
        pdu.extend_from_slice(&v.to_le_bytes());
    }
    pdu.extend_from_slice(body);
    pdu
}

/// A server Device I/O Request split into its header fields and body.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct IoRequest {
    pub(crate) device_id: u32,
    pub(crate) file_id: u32,
    pub(crate) completion_id: u32,
    pub(crate) major: u32,
    pub(crate) body: Vec<u8>,
}

pub(crate) fn io_request(pdu: &[u8]) -> IoRequest {
    assert_eq!(pdu[..4], [0x72, 0x44, 0x52, 0x49], "a Device I/O Request");
    let field = |i: usize| u32::from_le_bytes(pdu[4 + 4 * i..8 + 4 * i].try_into().unwrap());
    assert_eq!(field(4), 0, "MinorFunction");
    IoRequest {
        device_id: field(0),
        file_id: field(1),
        completion_id: field(2),
        major: field(3),
        body: pdu[24..].to_vec(),
    }
}

/// (offset, data) of a DR_WRITE_REQ body.
pub(crate) fn write_body(body: &[u8]) -> (u64, &[u8]) {
    let len = u32::from_le_bytes(body[..4].try_into().unwrap()) as usize;
    let offset = u64::from_le_bytes(body[4..12].try_into().unwrap());
    assert_eq!(body[12..32], [0; 20], "Padding");
    assert_eq!(body.len(), 32 + len, "no trailing bytes");
    (offset, &body[32..])
}

fn only_message(out: Output) -> Vec<u8> {
    assert!(out.events.is_empty(), "{:?}", out.events);
    let [message] = <[Vec<u8>; 1]>::try_from(out.messages).expect("one message");
    message
}

/// A server through initialization, with the capabilities of `caps`.
fn initialized(caps: &str) -> RdpdrServer {
    let mut server = RdpdrServer::new(CLIENT_ID);
    server.start();
    server.process(&fixture("client_announce_reply.bin")).unwrap();
    server.process(&fixture("client_name.bin")).unwrap();
    server.process(&fixture(caps)).unwrap();
    server
}

fn with_printer(devices: &str) -> RdpdrServer {
    let mut server = initialized("client_capabilities.bin");
    server.process(&fixture(devices)).unwrap();
    server
}

#[test]
fn initialization_follows_windows() {
    let mut server = RdpdrServer::new(CLIENT_ID);
    assert_eq!(server.start(), vec![fixture("server_announce.bin")]);
    assert_eq!(
        server.process(&fixture("client_announce_reply.bin")).unwrap(),
        Output::default()
    );
    let out = server.process(&fixture("client_name.bin")).unwrap();
    assert_eq!(out.messages, vec![fixture("server_capabilities.bin")]);
    assert_eq!(server.computer_name(), "ARBETSPLATS-Å");
    let out = server.process(&fixture("client_capabilities.bin")).unwrap();
    assert_eq!(
        out.messages,
        vec![
            fixture("server_client_id_confirm.bin"),
            fixture("server_user_logged_on.bin")
        ],
        "the user is logged on, so the client may announce its printers"
    );
    // FreeRDP announces its pre-logon devices (none here) after the ID confirm.
    assert_eq!(
        server.process(&fixture("device_list_empty.bin")).unwrap(),
        Output::default()
    );
    let out = server.process(&fixture("device_list_pdf_printer.bin")).unwrap();
    let printer = Printer {
        device_id: 1,
        dos_name: "PRN1".into(),
        data: PrinterData {
            flags: pdu::RDPDR_PRINTER_ANNOUNCE_FLAG_DEFAULTPRINTER,
            code_page: 0,
            pnp_name: String::new(),
            driver_name: "Microsoft Print to PDF".into(),
            printer_name: "Hamn PDF".into(),
            cached_config_len: 0,
        },
    };
    assert!(printer.is_default());
    assert_eq!(out.messages, vec![fixture("server_device_reply_printer.bin")]);
    assert_eq!(out.events, vec![Event::PrinterAdded(printer.clone())]);
    assert_eq!(server.printers(), [printer]);
}

#[test]
fn a_name_before_the_announce_reply_and_a_repeated_capability_response_are_tolerated() {
    let mut server = RdpdrServer::new(CLIENT_ID);
    server.start();
    assert!(
        server
            .process(&fixture("client_name_ascii.bin"))
            .unwrap()
            .messages
            .is_empty()
    );
    assert_eq!(server.computer_name(), "FREERDP1");
    let out = server.process(&fixture("client_announce_reply.bin")).unwrap();
    assert_eq!(out.messages, vec![fixture("server_capabilities.bin")]);
    assert_eq!(
        server.process(&fixture("client_announce_reply.bin")).unwrap(),
        Output::default(),
        "capabilities go once"
    );
    assert_eq!(
        server
            .process(&fixture("client_capabilities.bin"))
            .unwrap()
            .messages
            .len(),
        2
    );
    assert_eq!(
        server.process(&fixture("client_capabilities.bin")).unwrap(),
        Output::default(),
        "the ID is confirmed once"
    );
}

#[test]
fn without_the_logged_on_flag_no_logged_on_pdu_is_sent() {
    let mut server = RdpdrServer::new(CLIENT_ID);
    server.start();
    server.process(&fixture("client_announce_reply.bin")).unwrap();
    server.process(&fixture("client_name.bin")).unwrap();
    let out = server
        .process(&fixture("client_capabilities_no_logon_pdu.bin"))
        .unwrap();
    assert_eq!(out.messages, vec![fixture("server_client_id_confirm.bin")]);
}

#[test]
fn devices_before_the_announce_reply_are_refused() {
    let mut server = RdpdrServer::new(CLIENT_ID);
    server.start();
    assert_eq!(
        server.process(&fixture("device_list_pdf_printer.bin")),
        Err(ProtocolError::BeforeAnnounce("Client Device List Announce"))
    );
    assert_eq!(
        server.process(&fixture("client_capabilities.bin")),
        Err(ProtocolError::BeforeAnnounce("Client Core Capability Response"))
    );
    assert!(server.printers().is_empty());
}

#[test]
fn only_printers_are_accepted() {
    let mut server = initialized("client_capabilities.bin");
    let out = server.process(&fixture("device_list_mixed.bin")).unwrap();
    let reply = |id: u32, status: u32| pdu::device_announce_response(id, status);
    assert_eq!(
        out.messages,
        vec![
            reply(2, pdu::STATUS_NOT_SUPPORTED),
            reply(5, pdu::STATUS_NOT_SUPPORTED),
            reply(1, pdu::STATUS_SUCCESS)
        ]
    );
    assert_eq!(server.printers().len(), 1);
    assert_eq!(server.printers()[0].name(), "Skrivare på plan 3");
}

#[test]
fn printer_announcements_decode_every_field() {
    let decoded = |name: &str| match decode_client_pdu(&fixture(name)).unwrap() {
        ClientPdu::DeviceListAnnounce(devices) => devices,
        other => panic!("{other:?}"),
    };
    expect![[r#"
        [
            DeviceAnnounce {
                device_type: 4,
                device_id: 3,
                dos_name: "PRN2",
                printer: Some(
                    PrinterData {
                        flags: 0,
                        code_page: 0,
                        pnp_name: "PnP",
                        driver_name: "MS Publisher Imagesetter",
                        printer_name: "Hamn PS",
                        cached_config_len: 300,
                    },
                ),
            },
        ]
    "#]]
    .assert_debug_eq(&decoded("device_list_ps_printer.bin"));
    expect![[r#"
        [
            DeviceAnnounce {
                device_type: 4,
                device_id: 9,
                dos_name: "PRN9",
                printer: Some(
                    PrinterData {
                        flags: 1,
                        code_page: 1252,
                        pnp_name: "",
                        driver_name: "Drvår",
                        printer_name: "Lasersö",
                        cached_config_len: 0,
                    },
                ),
            },
        ]
    "#]]
    .assert_debug_eq(&decoded("device_list_ascii_printer.bin"));
}

#[test]
fn a_reannounced_printer_is_updated_not_added() {
    let mut server = with_printer("device_list_pdf_printer.bin");
    server.process(&fixture("device_list_pdf_printer.bin")).unwrap();
    assert_eq!(server.printers().len(), 1);
    server.process(&fixture("device_list_ps_printer.bin")).unwrap();
    let names: Vec<&str> = server.printers().iter().map(Printer::name).collect();
    assert_eq!(names, ["Hamn PDF", "Hamn PS"], "the first announced stays first");
}

#[test]
fn a_print_job_is_create_writes_of_at_most_64_kib_and_close() {
    let mut server = with_printer("device_list_pdf_printer.bin");
    let document: Vec<u8> = (0..150_000u32).map(|i| (i % 251) as u8).collect();
    let create = server.print(document.clone()).unwrap();
    assert_eq!(create, vec![fixture("server_create_request.bin")]);
    assert!(server.busy());
    assert_eq!(server.print(vec![1]), Err(PrintError::Busy));

    // The client opens the job as file 42 (Information byte included, as Windows clients send).
    let mut next = only_message(server.process(&completion(1, 1, 0, &[42, 0, 0, 0, 0])).unwrap());
    let mut received = Vec::new();
    let mut completion_ids = vec![1];
    loop {
        let request = io_request(&next);
        assert_eq!((request.device_id, request.file_id), (1, 42));
        assert!(!completion_ids.contains(&request.completion_id), "fresh completion IDs");
        completion_ids.push(request.completion_id);
        if request.major == pdu::IRP_MJ_CLOSE {
            assert_eq!(request.body, [0; 32]);
            break;
        }
        assert_eq!(request.major, pdu::IRP_MJ_WRITE);
        let (offset, data) = write_body(&request.body);
        assert_eq!(offset, received.len() as u64);
        assert!(!data.is_empty() && data.len() <= MAX_WRITE_BYTES);
        // The second write is only partly taken; the rest must be sent again.
        let taken = if completion_ids.len() == 3 { 1000 } else { data.len() };
        received.extend_from_slice(&data[..taken]);
        let body = [(taken as u32).to_le_bytes().as_slice(), &[0]].concat();
        next = only_message(server.process(&completion(1, request.completion_id, 0, &body)).unwrap());
    }
    assert_eq!(received, document);
    assert_eq!(
        completion_ids.len(),
        1 + 4 + 1,
        "create, writes of 64 KiB, 1000 B, 64 KiB, rest, close"
    );

    let close_id = *completion_ids.last().unwrap();
    let out = server.process(&completion(1, close_id, 0, &[0; 5])).unwrap();
    assert!(out.messages.is_empty());
    assert_eq!(
        out.events,
        vec![Event::JobSent {
            printer: "Hamn PDF".into()
        }]
    );
    assert!(!server.busy());
    assert!(server.print(vec![1]).is_ok(), "the next job may start");
}

#[test]
fn without_a_printer_nothing_is_sent() {
    let mut server = initialized("client_capabilities.bin");
    assert_eq!(server.print(b"%PDF".to_vec()), Err(PrintError::NoPrinter));
    let mut server = with_printer("device_list_pdf_printer.bin");
    server.process(&fixture("device_list_remove.bin")).unwrap();
    assert_eq!(server.print(b"%PDF".to_vec()), Err(PrintError::NoPrinter));
}

#[test]
fn a_failed_create_fails_the_job() {
    let mut server = with_printer("device_list_pdf_printer.bin");
    server.print(vec![1; 10]).unwrap();
    const STATUS_ACCESS_DENIED: u32 = 0xC000_0022;
    let out = server
        .process(&completion(1, 1, STATUS_ACCESS_DENIED, &[0; 5]))
        .unwrap();
    assert!(out.messages.is_empty());
    assert_eq!(
        out.events,
        vec![Event::JobFailed {
            printer: "Hamn PDF".into(),
            status: STATUS_ACCESS_DENIED
        }]
    );
    assert!(!server.busy());
}

#[test]
fn a_failed_write_closes_the_file_then_fails_the_job() {
    let mut server = with_printer("device_list_pdf_printer.bin");
    server.print(vec![1; 10]).unwrap();
    let write = io_request(&only_message(
        server.process(&completion(1, 1, 0, &[9, 0, 0, 0])).unwrap(),
    ));
    const STATUS_DISK_FULL: u32 = 0xC000_007F;
    let close = io_request(&only_message(
        server
            .process(&completion(1, write.completion_id, STATUS_DISK_FULL, &[0; 4]))
            .unwrap(),
    ));
    assert_eq!((close.major, close.file_id), (pdu::IRP_MJ_CLOSE, 9));
    let out = server.process(&completion(1, close.completion_id, 0, &[])).unwrap();
    assert_eq!(
        out.events,
        vec![Event::JobFailed {
            printer: "Hamn PDF".into(),
            status: STATUS_DISK_FULL
        }]
    );
}

#[test]
fn a_failed_close_fails_the_job() {
    let mut server = with_printer("device_list_pdf_printer.bin");
    server.print(Vec::new()).unwrap();
    let close = io_request(&only_message(
        server.process(&completion(1, 1, 0, &[9, 0, 0, 0])).unwrap(),
    ));
    assert_eq!(close.major, pdu::IRP_MJ_CLOSE, "an empty document is closed at once");
    let out = server
        .process(&completion(1, close.completion_id, 0xC000_0001, &[]))
        .unwrap();
    assert!(matches!(
        out.events[..],
        [Event::JobFailed {
            status: 0xC000_0001,
            ..
        }]
    ));
}

#[test]
fn an_abandoned_job_frees_the_printer_and_its_late_answers_are_refused() {
    let mut server = with_printer("device_list_pdf_printer.bin");
    assert_eq!(server.abandon_job(), None);
    server.print(vec![1; 10]).unwrap();
    assert_eq!(
        server.abandon_job(),
        Some(Event::JobFailed {
            printer: "Hamn PDF".into(),
            status: 0
        })
    );
    assert!(!server.busy());
    assert!(matches!(
        server.process(&completion(1, 1, 0, &[1, 0, 0, 0])),
        Err(ProtocolError::UnexpectedCompletion { .. })
    ));
    let create = io_request(&server.print(vec![1; 10]).unwrap()[0]);
    assert_ne!(create.completion_id, 1, "a new completion ID");
}

#[test]
fn removing_the_printer_fails_its_job() {
    let mut server = with_printer("device_list_pdf_printer.bin");
    server.print(vec![1; 10]).unwrap();
    let out = server.process(&fixture("device_list_remove.bin")).unwrap();
    assert_eq!(
        out.events,
        vec![
            Event::PrinterRemoved { device_id: 1 },
            Event::JobFailed {
                printer: "Hamn PDF".into(),
                status: 0
            }
        ]
    );
    assert!(!server.busy());
}

#[test]
fn stray_and_wrong_completions_are_errors_and_leave_the_job_alone() {
    let mut server = with_printer("device_list_pdf_printer.bin");
    assert!(matches!(
        server.process(&completion(1, 1, 0, &[1, 0, 0, 0])),
        Err(ProtocolError::UnexpectedCompletion { .. })
    ));
    server.print(vec![1; 10]).unwrap();
    for wrong in [completion(1, 2, 0, &[1, 0, 0, 0]), completion(3, 1, 0, &[1, 0, 0, 0])] {
        assert!(matches!(
            server.process(&wrong),
            Err(ProtocolError::UnexpectedCompletion { .. })
        ));
    }
    assert_eq!(
        server.process(&completion(1, 1, 0, &[1, 0])),
        Err(ProtocolError::Decode(DecodeError::Truncated("DR_CREATE_RSP FileId")))
    );
    let write = io_request(&only_message(
        server.process(&completion(1, 1, 0, &[1, 0, 0, 0])).unwrap(),
    ));
    for (written, sent) in [(0, 10), (11, 10)] {
        assert_eq!(
            server.process(&completion(1, write.completion_id, 0, &u32::to_le_bytes(written))),
            Err(ProtocolError::BadWriteLength { written, sent })
        );
    }
    let close = io_request(&only_message(
        server
            .process(&completion(1, write.completion_id, 0, &10u32.to_le_bytes()))
            .unwrap(),
    ));
    assert_eq!(close.major, pdu::IRP_MJ_CLOSE);
}

#[test]
fn oversized_documents_are_refused() {
    let mut server = with_printer("device_list_pdf_printer.bin");
    assert_eq!(
        server.print(vec![0; super::server::MAX_DOCUMENT_BYTES + 1]),
        Err(PrintError::TooLarge)
    );
    assert!(!server.busy());
}

#[test]
fn malformed_pdus_are_refused_without_changing_state() {
    let cases = [
        ("bad_header_only_component.bin", DecodeError::Truncated("RDPDR_HEADER")),
        (
            "bad_unknown_component.bin",
            DecodeError::Invalid {
                field: "RDPDR_HEADER Component",
                reason: "unknown component",
            },
        ),
        (
            "bad_announce_reply_truncated.bin",
            DecodeError::Truncated("Client Announce Reply"),
        ),
        (
            "bad_client_name_length.bin",
            DecodeError::Invalid {
                field: "Client Name Request ComputerName",
                reason: "longer than the limit",
            },
        ),
        (
            "bad_capability_length.bin",
            DecodeError::Invalid {
                field: "CAPABILITY_HEADER CapabilityLength",
                reason: "shorter than its header",
            },
        ),
        (
            "bad_general_capability_version.bin",
            DecodeError::Invalid {
                field: "GENERAL_CAPS_SET Version",
                reason: "unknown version",
            },
        ),
        ("bad_capability_count.bin", DecodeError::Truncated("CAPABILITY_HEADER")),
        (
            "bad_device_count.bin",
            DecodeError::Invalid {
                field: "Client Device List Announce DeviceCount",
                reason: "too many devices",
            },
        ),
        (
            "bad_device_count_short.bin",
            DecodeError::Truncated("DEVICE_ANNOUNCE DeviceType"),
        ),
        (
            "bad_device_data_length.bin",
            DecodeError::Invalid {
                field: "DEVICE_ANNOUNCE DeviceData",
                reason: "longer than the limit",
            },
        ),
        (
            "bad_printer_name_length.bin",
            DecodeError::Invalid {
                field: "DR_PRN_DEVICE_ANNOUNCE PrintName",
                reason: "longer than the limit",
            },
        ),
        (
            "bad_printer_empty_name.bin",
            DecodeError::Invalid {
                field: "DR_PRN_DEVICE_ANNOUNCE PrintName",
                reason: "empty",
            },
        ),
        (
            "bad_printer_data_truncated.bin",
            DecodeError::Truncated("DR_PRN_DEVICE_ANNOUNCE PnPNameLen"),
        ),
        (
            "bad_io_completion_truncated.bin",
            DecodeError::Truncated("Device I/O Response"),
        ),
    ];
    let mut server = initialized("client_capabilities.bin");
    for (name, error) in cases {
        assert_eq!(
            server.process(&fixture(name)),
            Err(ProtocolError::Decode(error)),
            "{name}"
        );
        // Every prefix of a malformed PDU fails cleanly too.
        let data = fixture(name);
        for len in 0..data.len() {
            let _ = server.process(&data[..len]);
        }
    }
    assert!(server.printers().is_empty());
    let out = server.process(&fixture("device_list_pdf_printer.bin")).unwrap();
    assert_eq!(out.events.len(), 1, "still serving after bad input");
}

#[test]
fn every_prefix_of_a_good_pdu_decodes_or_fails_cleanly() {
    for name in [
        "client_announce_reply.bin",
        "client_name.bin",
        "client_capabilities.bin",
        "device_list_mixed.bin",
        "device_list_ps_printer.bin",
        "device_list_remove.bin",
    ] {
        let data = fixture(name);
        assert!(decode_client_pdu(&data).is_ok(), "{name}");
        for len in 0..data.len() {
            let _ = decode_client_pdu(&data[..len]);
        }
    }
}

#[test]
fn pdus_of_other_kinds_are_ignored_and_huge_ones_refused() {
    let mut server = initialized("client_capabilities.bin");
    assert_eq!(
        server.process(&fixture("client_prn_component.bin")).unwrap(),
        Output::default()
    );
    let huge = [fixture("device_list_empty.bin"), vec![0; MAX_PDU_BYTES]].concat();
    assert_eq!(
        server.process(&huge),
        Err(ProtocolError::Decode(DecodeError::TooLarge(huge.len())))
    );
}

/// Client-to-server PDUs of a recorded conversation, each stored after its u32 LE length.
fn recorded(name: &str) -> Vec<Vec<u8>> {
    let data = fixture(name);
    let mut rest = data.as_slice();
    let mut pdus = Vec::new();
    while let Some((len, tail)) = rest.split_first_chunk::<4>() {
        let (pdu, tail) = tail.split_at(u32::from_le_bytes(*len) as usize);
        pdus.push(pdu.to_vec());
        rest = tail;
    }
    pdus
}

/// Replays a recorded client against a fresh server (announcing `client_id`, as in the
/// recording), printing a document of `document_len` bytes once the printer is announced;
/// returns the events.
fn replay(name: &str, client_id: u32, document_len: usize) -> Vec<Event> {
    let mut server = RdpdrServer::new(client_id);
    server.start();
    let mut events = Vec::new();
    for pdu in recorded(name) {
        let out = server.process(&pdu).unwrap_or_else(|e| panic!("{name}: {e}"));
        if out.events.iter().any(|e| matches!(e, Event::PrinterAdded(_))) {
            server.print(vec![b'%'; document_len]).unwrap();
        }
        events.extend(out.events);
    }
    events
}

#[test]
fn a_recorded_xfreerdp_2_11_session_prints() {
    // xfreerdp 2.11.7 with /printer:HamnPDF,"Microsoft Print to PDF" (CUPS queue HamnPDF):
    // its job was the 2070-byte PDF of "Skriv ut", acknowledged in one write.
    let events = replay("recorded_freerdp_2_11_client.bin", 1, 2070);
    let [Event::PrinterAdded(printer), Event::JobSent { printer: sent_to }] = &events[..] else {
        panic!("{events:?}")
    };
    assert_eq!(
        (printer.name(), printer.driver()),
        ("HamnPDF", "Microsoft Print to PDF")
    );
    assert_eq!(sent_to, "HamnPDF");
}

#[test]
fn a_recorded_ironrdp_client_session_prints() {
    // ironrdp-rdpdr 0.9 (the gateway's client) with printer "Hamn PDF", a 150 000-byte job.
    let events = replay("recorded_ironrdp_client.bin", 7, 150_000);
    let [Event::PrinterAdded(printer), Event::JobSent { .. }] = &events[..] else {
        panic!("{events:?}")
    };
    assert_eq!((printer.name(), printer.is_default()), ("Hamn PDF", true));
}

proptest! {
    /// Whatever the document's size and however little of each write the client takes, the
    /// client ends up with exactly the document, in order, and the job ends sent.
    #[test]
    fn any_document_arrives_whole_through_partial_writes(
        len in 0usize..300_000,
        takes in proptest::collection::vec(1u32..=65_536, 1..64),
    ) {
        let mut server = with_printer("device_list_pdf_printer.bin");
        let document: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
        let create = io_request(&server.print(document.clone()).unwrap()[0]);
        let mut next = only_message(server.process(&completion(1, create.completion_id, 0, &[8, 0, 0, 0])).unwrap());
        let mut received = Vec::new();
        let mut take = takes.iter().cycle();
        loop {
            let request = io_request(&next);
            if request.major == pdu::IRP_MJ_CLOSE {
                let out = server.process(&completion(1, request.completion_id, 0, &[])).unwrap();
                prop_assert_eq!(out.events, vec![Event::JobSent { printer: "Hamn PDF".into() }]);
                break;
            }
            let (offset, data) = write_body(&request.body);
            prop_assert_eq!(offset, received.len() as u64);
            prop_assert!(!data.is_empty() && data.len() <= MAX_WRITE_BYTES);
            let taken = (*take.next().unwrap() as usize).min(data.len());
            received.extend_from_slice(&data[..taken]);
            let ack = (taken as u32).to_le_bytes();
            next = only_message(server.process(&completion(1, request.completion_id, 0, &ack)).unwrap());
        }
        prop_assert_eq!(received, document);
    }

    /// Arbitrary bytes after a valid header never panic the decoder or the server.
    #[test]
    fn arbitrary_pdus_never_panic(packet in any::<u16>(), body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut server = with_printer("device_list_pdf_printer.bin");
        let _ = server.print(vec![1; 100]);
        let pdu = [&[0x72, 0x44][..], &packet.to_le_bytes(), &body].concat();
        let _ = server.process(&pdu);
        prop_assert!(server.printers().len() <= super::server::MAX_PRINTERS);
    }
}
