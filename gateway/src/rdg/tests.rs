//! Unit tests of the MS-TSGU codec and server state machine: a FreeRDP 2.11-shaped
//! opening from the fixture files, every malformed shape, the order rules, closing in every
//! state, and properties (any split of a valid stream gives the same events; every packet
//! type survives encode → decode).

use expect_test::{Expect, expect};
use proptest::prelude::*;

use super::codec::{
    self, ChannelCreate, ChannelResponse, DecodeError, HandshakeRequest, HandshakeResponse, Header,
    Packet, TunnelAuth, TunnelAuthResponse, TunnelCreate, TunnelResponse, client, packet_type,
    redir,
};
use super::*;

const OPENING: &[u8] = include_bytes!("../../tests/fixtures/rdg/freerdp211_opening.bin");
const CLOSE_RESPONSE: &[u8] =
    include_bytes!("../../tests/fixtures/rdg/freerdp211_close_response.bin");
/// What xfreerdp 2.11.7 really sent (see the fixtures' README).
const CAPTURED: &[u8] = include_bytes!("../../tests/fixtures/rdg/freerdp211_captured.bin");
const COOKIE: &str = "k7Qm2xWpR4tZ9bNc3VhL8sYd";

const POLICY: TunnelPolicy = TunnelPolicy {
    redirection: Redirection {
        drives: false,
        printers: true,
        ports: false,
        clipboard: true,
        pnp: false,
    },
    idle_timeout_minutes: 30,
};

/// Answers every decision with an accept, like an endpoint whose checks all pass, and
/// records what happened.
#[derive(Default)]
struct Driver {
    events: Vec<String>,
    data: Vec<u8>,
    sent: Vec<Vec<u8>>,
}

impl Driver {
    fn pump(&mut self, tunnel: &mut ServerTunnel) {
        while let Some(event) = tunnel.poll_event() {
            self.events.push(format!("{event:?}"));
            match event {
                Event::TunnelCreate { .. } => tunnel.accept_tunnel(7),
                Event::TunnelAuth { .. } => tunnel.accept_auth(POLICY),
                Event::ChannelCreate { .. } => tunnel.accept_channel(1),
                Event::Data(bytes) => self.data.extend(bytes),
                Event::CloseChannel => {}
            }
        }
        while let Some(message) = tunnel.poll_transmit() {
            self.sent.push(message);
        }
    }

    fn feed(&mut self, tunnel: &mut ServerTunnel, bytes: &[u8]) -> Result<(), TunnelError> {
        let result = tunnel.receive(bytes);
        self.pump(tunnel);
        result
    }
}

/// FreeRDP writes one websocket message per packet: split a stream the same way.
fn packets(mut stream: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while let Ok(Some(header)) = Header::peek(stream, usize::MAX) {
        let (packet, rest) = stream.split_at(header.length as usize);
        out.push(packet);
        stream = rest;
    }
    out
}

fn decoded(messages: &[Vec<u8>]) -> String {
    messages
        .iter()
        .map(|m| match Packet::decode(m) {
            Ok(packet) => format!("{packet:?}\n"),
            Err(error) => format!("undecodable: {error}\n"),
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .chunks(16)
        .map(|row| {
            row.iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" ")
                + "\n"
        })
        .collect()
}

fn open_tunnel() -> (ServerTunnel, Driver) {
    let mut tunnel = ServerTunnel::new(Limits::default());
    let mut driver = Driver::default();
    for packet in packets(OPENING).into_iter().take(4) {
        driver.feed(&mut tunnel, packet).unwrap();
    }
    assert!(tunnel.is_open());
    driver.sent.clear();
    driver.events.clear();
    (tunnel, driver)
}

#[test]
fn freerdp_opening_yields_the_events_and_answers() {
    let mut tunnel = ServerTunnel::new(Limits::default());
    let mut driver = Driver::default();
    for packet in packets(OPENING) {
        driver.feed(&mut tunnel, packet).unwrap();
    }
    let check = |actual: String, expected: Expect| expected.assert_eq(&actual);
    check(
        driver.events.join("\n"),
        expect![[r#"
            TunnelCreate { paa_cookie: Some(<24 characters>), capabilities: 0xd }
            TunnelAuth { client_name: "THINCLIENT-07" }
            ChannelCreate { resources: ["procapita-host-1"], alt_resources: [], port: 3389, protocol: 3 }
            Data(42 bytes)"#]],
    );
    check(
        decoded(&driver.sent),
        expect![[r#"
            HandshakeResponse(HandshakeResponse { status: ERROR_SUCCESS(0x00000000), version_major: 1, version_minor: 0, server_version: 0, extended_auth: 2 })
            TunnelResponse(TunnelResponse { server_version: 0, status: ERROR_SUCCESS(0x00000000), tunnel_id: Some(7), capabilities: Some(8), consent_message: None })
            TunnelAuthResponse(TunnelAuthResponse { status: ERROR_SUCCESS(0x00000000), redirection_flags: Some(21), idle_timeout_minutes: Some(30), soh_response: None })
            ChannelResponse(ChannelResponse { status: ERROR_SUCCESS(0x00000000), channel_id: Some(1), udp_port: None, authn_cookie: None })
        "#]],
    );
    // The wire form FreeRDP 2.11 parses: errorCode/version/serverVersion/extAuth; then
    // serverVersion/statusCode/fieldsPresent/reserved + tunnelId + caps; then
    // errorCode/fieldsPresent/reserved + redirFlags + idleTimeout; then channel id.
    check(
        driver
            .sent
            .iter()
            .map(|m| hex(m))
            .collect::<Vec<_>>()
            .join("--\n"),
        expect![[r#"
            02 00 00 00 12 00 00 00 00 00 00 00 01 00 00 00
            02 00
            --
            05 00 00 00 1a 00 00 00 00 00 00 00 00 00 03 00
            00 00 07 00 00 00 08 00 00 00
            --
            07 00 00 00 18 00 00 00 00 00 00 00 03 00 00 00
            15 00 00 00 1e 00 00 00
            --
            09 00 00 00 14 00 00 00 00 00 00 00 01 00 00 00
            01 00 00 00
        "#]],
    );
    assert_eq!(&driver.data[..4], &[0x03, 0x00, 0x00, 0x2a]);
    assert!(
        driver
            .data
            .ends_with(b"mstshash=demo\r\n\x01\x00\x08\x00\x0b\x00\x00\x00")
    );
}

/// The capture replayed: the same conversation the real client had with these answers.
#[test]
fn a_real_freerdp_2_11_conversation_replays() {
    let messages = packets(CAPTURED);
    assert_eq!(messages.len(), 7);
    let mut tunnel = ServerTunnel::new(Limits::default());
    let mut driver = Driver::default();
    for message in &messages[..5] {
        driver.feed(&mut tunnel, message).unwrap();
    }
    // What the capturing server did after the channel opened.
    tunnel.service_message("Hej från Hamn");
    tunnel.keepalive();
    driver.pump(&mut tunnel);
    tunnel.close(HResult::E_PROXY_SESSIONTIMEOUT);
    driver.pump(&mut tunnel);
    for message in &messages[5..] {
        driver.feed(&mut tunnel, message).unwrap();
    }
    assert!(tunnel.close_acknowledged());
    expect![[r#"
        TunnelCreate { paa_cookie: Some(<24 characters>), capabilities: 0xd }
        TunnelAuth { client_name: "vm" }
        ChannelCreate { resources: ["procapita-host-1"], alt_resources: [], port: 3389, protocol: 3 }
        Data(43 bytes)"#]]
    .assert_eq(&driver.events.join("\n"));
    expect![[r#"
        HandshakeResponse(HandshakeResponse { status: ERROR_SUCCESS(0x00000000), version_major: 1, version_minor: 0, server_version: 0, extended_auth: 2 })
        TunnelResponse(TunnelResponse { server_version: 0, status: ERROR_SUCCESS(0x00000000), tunnel_id: Some(7), capabilities: Some(8), consent_message: None })
        TunnelAuthResponse(TunnelAuthResponse { status: ERROR_SUCCESS(0x00000000), redirection_flags: Some(21), idle_timeout_minutes: Some(30), soh_response: None })
        ChannelResponse(ChannelResponse { status: ERROR_SUCCESS(0x00000000), channel_id: Some(1), udp_port: None, authn_cookie: None })
        ServiceMessage("Hej från Hamn")
        Keepalive
        CloseChannel(E_PROXY_SESSIONTIMEOUT(0x000059F6))
    "#]]
    .assert_eq(&decoded(&driver.sent));
    assert!(driver.data.starts_with(&[0x03, 0x00, 0x00, 0x2b]));
}

#[test]
fn the_fixture_cookie_is_decoded_without_its_nul() {
    let mut tunnel = ServerTunnel::new(Limits::default());
    let opening = packets(OPENING);
    tunnel.receive(opening[0]).unwrap();
    tunnel.receive(opening[1]).unwrap();
    assert_eq!(
        tunnel.poll_event(),
        Some(Event::TunnelCreate {
            paa_cookie: Some(COOKIE.to_owned()),
            capabilities: client::FREERDP_CAPABILITIES,
        })
    );
}

#[test]
fn the_whole_stream_in_one_message_or_byte_by_byte_gives_the_same() {
    let mut whole = Driver::default();
    let mut tunnel = ServerTunnel::new(Limits::default());
    whole.feed(&mut tunnel, OPENING).unwrap();
    let mut single = Driver::default();
    let mut tunnel = ServerTunnel::new(Limits::default());
    for byte in OPENING {
        single
            .feed(&mut tunnel, std::slice::from_ref(byte))
            .unwrap();
    }
    assert_eq!(whole.events, single.events);
    assert_eq!(whole.sent, single.sent);
    assert_eq!(whole.data, single.data);
    assert_eq!(whole.events.len(), 4);
}

#[test]
fn host_data_is_split_into_packets_within_the_limit() {
    let limits = Limits {
        max_send_packet: 1000,
        ..Limits::default()
    };
    let mut tunnel = ServerTunnel::new(limits);
    let mut driver = Driver::default();
    driver
        .feed(&mut tunnel, &OPENING[..OPENING.len() - 52])
        .unwrap();
    driver.sent.clear();
    let payload: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
    tunnel.send_data(&payload);
    let mut joined = Vec::new();
    let mut count = 0;
    while let Some(message) = tunnel.poll_transmit() {
        assert!(message.len() <= 1000);
        match Packet::decode(&message).unwrap() {
            Packet::Data(bytes) => joined.extend(bytes),
            other => panic!("unexpected {other:?}"),
        }
        count += 1;
    }
    assert_eq!(joined, payload);
    assert_eq!(count, 6);
    assert_eq!(tunnel.transmit_backlog(), 0);

    // The default sends what FreeRDP's reader takes: at most 65,535 bytes a packet.
    let (mut tunnel, _) = open_tunnel();
    tunnel.send_data(&vec![7; 200_000]);
    let sizes: Vec<usize> = std::iter::from_fn(|| tunnel.poll_transmit())
        .map(|m| m.len())
        .collect();
    assert_eq!(sizes, [65536, 65536, 65536, 3432]);
}

#[test]
fn data_before_the_channel_is_open_is_not_sent() {
    let mut tunnel = ServerTunnel::new(Limits::default());
    tunnel.send_data(b"early");
    tunnel.keepalive();
    assert_eq!(tunnel.poll_transmit(), None);
}

#[test]
fn client_keepalives_are_not_echoed_and_server_keepalives_wait_for_the_channel() {
    let mut tunnel = ServerTunnel::new(Limits::default());
    let mut driver = Driver::default();
    let opening = packets(OPENING);
    driver.feed(&mut tunnel, opening[0]).unwrap();
    driver.sent.clear();
    driver.feed(&mut tunnel, &client::keepalive()).unwrap();
    tunnel.keepalive();
    assert!(tunnel.poll_transmit().is_none());
    for packet in &opening[1..4] {
        driver.feed(&mut tunnel, packet).unwrap();
        driver.feed(&mut tunnel, &client::keepalive()).unwrap();
    }
    assert_eq!(driver.sent.len(), 3);
    tunnel.keepalive();
    assert_eq!(tunnel.poll_transmit(), Some(client::keepalive()));
}

#[test]
fn service_messages_wait_for_the_channel_and_need_the_capability() {
    let mut tunnel = ServerTunnel::new(Limits::default());
    let mut driver = Driver::default();
    tunnel.service_message("Underhåll kl 18");
    driver.feed(&mut tunnel, OPENING).unwrap();
    let last = driver.sent.last().unwrap();
    assert_eq!(
        Packet::decode(last).unwrap(),
        Packet::ServiceMessage("Underhåll kl 18".into())
    );
    tunnel.service_message("nul\0inside");
    assert_eq!(
        Packet::decode(&tunnel.poll_transmit().unwrap()).unwrap(),
        Packet::ServiceMessage("nulinside".into())
    );
    // Cut to fit one packet, at a character boundary.
    let limits = Limits {
        max_send_packet: 100,
        ..Limits::default()
    };
    let mut small = ServerTunnel::new(limits);
    let mut driver = Driver::default();
    driver
        .feed(&mut small, &OPENING[..OPENING.len() - 52])
        .unwrap();
    small.service_message(&"å".repeat(500));
    let message = small.poll_transmit().unwrap();
    assert!(message.len() <= 100, "{}", message.len());
    assert_eq!(
        Packet::decode(&message).unwrap(),
        Packet::ServiceMessage("å".repeat(44))
    );

    // A client without MESSAGING_SERVICE_MSG gets none.
    let mut tunnel = ServerTunnel::new(Limits::default());
    let mut driver = Driver::default();
    let mut stream = client::handshake(true);
    stream.extend(
        Packet::TunnelCreate(TunnelCreate {
            capabilities: codec::capability::QUAR_SOH,
            reauth_context: None,
            paa_cookie: Some(COOKIE.into()),
        })
        .encode()
        .unwrap(),
    );
    stream.extend(client::tunnel_auth("X"));
    stream.extend(client::channel_create("h", 3389));
    driver.feed(&mut tunnel, &stream).unwrap();
    assert!(tunnel.is_open());
    tunnel.service_message("hej");
    assert_eq!(tunnel.poll_transmit(), None);
}

#[test]
fn the_client_closes_the_channel() {
    let (mut tunnel, mut driver) = open_tunnel();
    driver
        .feed(&mut tunnel, &client::close_channel(HResult::ERROR_SUCCESS))
        .unwrap();
    assert_eq!(driver.events, ["CloseChannel"]);
    assert_eq!(
        Packet::decode(&driver.sent[0]).unwrap(),
        Packet::CloseChannelResponse(HResult::ERROR_SUCCESS)
    );
    assert!(tunnel.is_closed());
    // Whatever follows is ignored.
    driver.feed(&mut tunnel, &client::data(b"late")).unwrap();
    driver
        .feed(&mut tunnel, b"garbage that is no packet")
        .unwrap();
    assert_eq!(driver.events.len(), 1);
    tunnel.send_data(b"x");
    assert_eq!(tunnel.poll_transmit(), None);
}

#[test]
fn the_server_closes_the_channel_and_the_client_answers() {
    let (mut tunnel, mut driver) = open_tunnel();
    tunnel.close(HResult::E_PROXY_SESSIONTIMEOUT);
    assert!(tunnel.is_closed());
    assert!(!tunnel.close_acknowledged());
    driver.pump(&mut tunnel);
    assert_eq!(
        hex(&driver.sent[0]),
        "10 00 00 00 0c 00 00 00 f6 59 00 00\n",
        "close packets carry the code as given"
    );
    // Data in flight is dropped, FreeRDP's close response ends it.
    driver
        .feed(&mut tunnel, &client::data(b"in flight"))
        .unwrap();
    driver.feed(&mut tunnel, CLOSE_RESPONSE).unwrap();
    assert!(tunnel.close_acknowledged());
    assert!(driver.events.is_empty());
    tunnel.close(HResult::E_PROXY_INTERNALERROR);
    assert_eq!(tunnel.poll_transmit(), None, "closing twice sends nothing");
}

/// The answer `close` sends in each state: the response the client is waiting for.
#[test]
fn close_answers_with_the_response_of_the_state() {
    let opening = packets(OPENING);
    let mut lines = String::new();
    // (packets fed, decisions accepted): a client that waits, and one that pipelines.
    let cases = [
        (0, 0),
        (1, 0),
        (2, 0),
        (2, 1),
        (4, 0),
        (4, 1),
        (4, 2),
        (4, 3),
    ];
    for (fed, accepted) in cases {
        let mut tunnel = ServerTunnel::new(Limits::default());
        for packet in &opening[..fed] {
            tunnel.receive(packet).unwrap();
        }
        for _ in 0..accepted {
            match tunnel.poll_event() {
                Some(Event::TunnelCreate { .. }) => tunnel.accept_tunnel(7),
                Some(Event::TunnelAuth { .. }) => tunnel.accept_auth(POLICY),
                Some(Event::ChannelCreate { .. }) => tunnel.accept_channel(1),
                other => panic!("{other:?}"),
            }
        }
        while tunnel.poll_transmit().is_some() {}
        tunnel.close(HResult::E_PROXY_RAP_ACCESSDENIED);
        let sent: Vec<_> = std::iter::from_fn(|| tunnel.poll_transmit()).collect();
        lines += &format!("{fed} fed, {accepted} accepted: {}", decoded(&sent));
    }
    expect![[r#"
        0 fed, 0 accepted: HandshakeResponse(HandshakeResponse { status: E_PROXY_RAP_ACCESSDENIED(0x800759DA), version_major: 1, version_minor: 0, server_version: 0, extended_auth: 0 })
        1 fed, 0 accepted: TunnelResponse(TunnelResponse { server_version: 0, status: E_PROXY_RAP_ACCESSDENIED(0x800759DA), tunnel_id: None, capabilities: None, consent_message: None })
        2 fed, 0 accepted: TunnelResponse(TunnelResponse { server_version: 0, status: E_PROXY_RAP_ACCESSDENIED(0x800759DA), tunnel_id: None, capabilities: None, consent_message: None })
        2 fed, 1 accepted: TunnelAuthResponse(TunnelAuthResponse { status: E_PROXY_RAP_ACCESSDENIED(0x800759DA), redirection_flags: None, idle_timeout_minutes: None, soh_response: None })
        4 fed, 0 accepted: TunnelResponse(TunnelResponse { server_version: 0, status: E_PROXY_RAP_ACCESSDENIED(0x800759DA), tunnel_id: None, capabilities: None, consent_message: None })
        4 fed, 1 accepted: TunnelAuthResponse(TunnelAuthResponse { status: E_PROXY_RAP_ACCESSDENIED(0x800759DA), redirection_flags: None, idle_timeout_minutes: None, soh_response: None })
        4 fed, 2 accepted: ChannelResponse(ChannelResponse { status: E_PROXY_RAP_ACCESSDENIED(0x800759DA), channel_id: None, udp_port: None, authn_cookie: None })
        4 fed, 3 accepted: CloseChannel(E_PROXY_RAP_ACCESSDENIED(0x800759DA))
    "#]]
    .assert_eq(&lines);
}

#[test]
fn refusals_carry_the_severity_bit_clients_test_for() {
    let mut tunnel = ServerTunnel::new(Limits::default());
    let opening = packets(OPENING);
    tunnel.receive(opening[0]).unwrap();
    tunnel.receive(opening[1]).unwrap();
    tunnel.poll_event();
    // The spec's HRESULT_CODE form would read as success to FreeRDP's FAILED().
    tunnel.refuse_tunnel(HResult(0x0000_59DD));
    let sent: Vec<_> = std::iter::from_fn(|| tunnel.poll_transmit()).collect();
    match Packet::decode(&sent[1]).unwrap() {
        Packet::TunnelResponse(response) => {
            assert_eq!(response.status, HResult::E_PROXY_TS_CONNECTFAILED)
        }
        other => panic!("{other:?}"),
    }
    assert!(tunnel.is_closed());
    assert_eq!(
        HResult::ERROR_SUCCESS.as_refusal(),
        HResult::E_PROXY_INTERNALERROR
    );
    assert_eq!(
        HResult::ERROR_ACCESS_DENIED.as_refusal(),
        HResult(0x8007_0005)
    );
    assert_eq!(
        HResult::E_PROXY_COOKIE_AUTHENTICATION_ACCESS_DENIED.as_refusal(),
        HResult::E_PROXY_COOKIE_AUTHENTICATION_ACCESS_DENIED
    );
    assert_eq!(
        HResult::E_PROXY_RAP_ACCESSDENIED.to_string(),
        "E_PROXY_RAP_ACCESSDENIED (0x800759DA)"
    );
    assert_eq!(HResult(0x1234).to_string(), "0x00001234");
}

#[test]
fn decisions_out_of_turn_are_ignored() {
    let mut tunnel = ServerTunnel::new(Limits::default());
    tunnel.accept_tunnel(1);
    tunnel.accept_auth(POLICY);
    tunnel.accept_channel(1);
    tunnel.refuse_tunnel(HResult::E_PROXY_INTERNALERROR);
    tunnel.refuse_auth(HResult::E_PROXY_INTERNALERROR);
    tunnel.refuse_channel(HResult::E_PROXY_INTERNALERROR);
    assert_eq!(tunnel.poll_transmit(), None);
    assert!(!tunnel.is_closed());
}

#[test]
fn redirection_flags() {
    assert_eq!(Redirection::ALL.flags(), redir::ENABLE_ALL);
    assert_eq!(Redirection::NONE.flags(), redir::DISABLE_ALL);
    assert_eq!(POLICY.redirection.flags(), 0x15);
    let clipboard_only = Redirection {
        clipboard: true,
        ..Redirection::NONE
    };
    assert_eq!(clipboard_only.flags(), 0x17);
    // What the client reads back; no disable bit is everything, all five are nothing.
    for (flags, normal) in [
        (0x15, 0x15),
        (0x17, 0x17),
        (0, redir::ENABLE_ALL),
        (0x1f, redir::DISABLE_ALL),
        (redir::ENABLE_ALL | 0x1f, redir::ENABLE_ALL),
        (redir::DISABLE_ALL, redir::DISABLE_ALL),
    ] {
        assert_eq!(Redirection::from_flags(flags).flags(), normal, "{flags:x}");
    }
}

#[test]
fn debug_output_never_shows_the_cookie() {
    let event = Event::TunnelCreate {
        paa_cookie: Some(COOKIE.into()),
        capabilities: 0xd,
    };
    let packet = Packet::decode(packets(OPENING)[1]).unwrap();
    for text in [format!("{event:?}"), format!("{packet:?}")] {
        assert!(!text.contains(COOKIE), "{text}");
        assert!(text.contains("<24 characters>"), "{text}");
    }
}

// ---- malformed input -------------------------------------------------------------------

/// Feeds a handshake-complete tunnel the bytes and returns the error (and its code).
fn error_after(prefix_packets: usize, bytes: &[u8]) -> TunnelError {
    let mut tunnel = ServerTunnel::new(Limits::default());
    let mut driver = Driver::default();
    for packet in packets(OPENING).into_iter().take(prefix_packets) {
        driver.feed(&mut tunnel, packet).unwrap();
    }
    let error = driver.feed(&mut tunnel, bytes).unwrap_err();
    // After an error, input is ignored until the endpoint closes.
    assert_eq!(tunnel.receive(&client::keepalive()), Ok(()));
    assert_eq!(tunnel.poll_event(), None);
    error
}

fn with_length(mut packet: Vec<u8>, length: u32) -> Vec<u8> {
    packet[4..8].copy_from_slice(&length.to_le_bytes());
    packet
}

#[test]
fn malformed_shapes_are_refused_with_their_codes() {
    let utf16_cookie = |units: &[u16]| {
        let mut body = Vec::new();
        body.extend(client::FREERDP_CAPABILITIES.to_le_bytes());
        body.extend(1u16.to_le_bytes());
        body.extend(0u16.to_le_bytes());
        body.extend(((units.len() * 2) as u16).to_le_bytes());
        for unit in units {
            body.extend(unit.to_le_bytes());
        }
        raw(packet_type::TUNNEL_CREATE, &body)
    };
    let mut oversized_header = client::data(b"x");
    oversized_header[4..8].copy_from_slice(&(64 * 1024 + 1u32).to_le_bytes());
    oversized_header.truncate(8);
    let channel = |count: u8, alt: u8| {
        let mut body = vec![count, alt, 0x3d, 0x0d, 3, 0];
        for _ in 0..count.max(alt) {
            body.extend([4, 0, b'h', 0, 0, 0]);
        }
        raw(packet_type::CHANNEL_CREATE, &body)
    };
    let cases: Vec<(&str, usize, Vec<u8>)> = vec![
        (
            "length below the header",
            0,
            with_length(client::handshake(true), 7),
        ),
        ("length zero", 0, with_length(client::handshake(true), 0)),
        (
            "oversized, judged from the header alone",
            4,
            oversized_header,
        ),
        (
            "handshake body short",
            0,
            with_length(client::handshake(true)[..12].to_vec(), 12),
        ),
        ("unknown packet type", 4, raw(0x0E, &[])),
        ("unknown type 0", 0, raw(0, &[1, 2, 3])),
        ("data length beyond the packet", 4, {
            let mut p = client::data(b"abcd");
            p[8..10].copy_from_slice(&5u16.to_le_bytes());
            p
        }),
        ("data length short of the packet", 4, {
            let mut p = client::data(b"abcd");
            p[8..10].copy_from_slice(&3u16.to_le_bytes());
            p
        }),
        ("data without cbDataLen", 4, raw(packet_type::DATA, &[1])),
        ("cookie length past the end", 1, {
            let mut p = client::tunnel_create(Some(COOKIE));
            p[16..18].copy_from_slice(&52u16.to_le_bytes());
            p
        }),
        ("cookie of odd length", 1, {
            let mut p = client::tunnel_create(Some(COOKIE));
            p[16..18].copy_from_slice(&49u16.to_le_bytes());
            p
        }),
        (
            "cookie with an unpaired surrogate",
            1,
            utf16_cookie(&[0x41, 0xD800, 0x42, 0]),
        ),
        (
            "cookie with a NUL inside",
            1,
            utf16_cookie(&[0x41, 0, 0x42, 0]),
        ),
        (
            "client name past the end",
            2,
            with_length(client::tunnel_auth("THINCLIENT-07")[..30].to_vec(), 30),
        ),
        ("resource name with a lone low surrogate", 3, {
            raw(
                packet_type::CHANNEL_CREATE,
                &[1, 0, 0x3d, 0x0d, 3, 0, 4, 0, 0x00, 0xdc, 0x41, 0],
            )
        }),
        ("no resource", 3, channel(0, 0)),
        ("51 resources", 3, channel(51, 0)),
        ("4 alternate resources", 3, channel(1, 4)),
        ("second resource missing", 3, {
            let mut p = channel(1, 0);
            p[8] = 2;
            p
        }),
        (
            "version 2",
            0,
            raw(packet_type::HANDSHAKE_REQUEST, &[2, 0, 0, 0, 2, 0]),
        ),
        (
            "NTLM without PAA",
            0,
            raw(packet_type::HANDSHAKE_REQUEST, &[1, 0, 0, 0, 4, 0]),
        ),
        (
            "extended auth message",
            1,
            raw(packet_type::EXTENDED_AUTH_MSG, &[0, 0, 0, 0, 0, 0]),
        ),
        (
            "reauthentication",
            1,
            Packet::TunnelCreate(TunnelCreate {
                capabilities: 0,
                reauth_context: Some(1),
                paa_cookie: None,
            })
            .encode()
            .unwrap(),
        ),
        (
            "tunnel create before the handshake",
            0,
            client::tunnel_create(Some(COOKIE)),
        ),
        ("keepalive before the handshake", 0, client::keepalive()),
        ("second handshake", 1, client::handshake(true)),
        (
            "channel before tunnel auth",
            2,
            client::channel_create("h", 3389),
        ),
        ("data before the channel", 3, client::data(b"x")),
        (
            "close before the channel",
            3,
            client::close_channel(HResult::ERROR_SUCCESS),
        ),
        (
            "a server packet from the client",
            4,
            Packet::ServiceMessage("x".into()).encode().unwrap(),
        ),
        ("an unsolicited close response", 4, CLOSE_RESPONSE.to_vec()),
    ];
    let mut lines = String::new();
    for (name, prefix, bytes) in cases {
        let error = error_after(prefix, &bytes);
        lines += &format!("{name}: {error} → {:?}\n", error.code());
    }
    expect![[r#"
        length below the header: packet length 7 is shorter than the 8-byte header → E_PROXY_INTERNALERROR(0x800759D8)
        length zero: packet length 0 is shorter than the 8-byte header → E_PROXY_INTERNALERROR(0x800759D8)
        oversized, judged from the header alone: packet of 65537 bytes exceeds the limit of 65536 → E_PROXY_INTERNALERROR(0x800759D8)
        handshake body short: HTTP_HANDSHAKE_REQUEST_PACKET: extendedAuth runs past the end of the packet → E_PROXY_INTERNALERROR(0x800759D8)
        unknown packet type: unknown packet type 0x000e → E_PROXY_NOTSUPPORTED(0x800759E8)
        unknown type 0: unknown packet type 0x0000 → E_PROXY_NOTSUPPORTED(0x800759E8)
        data length beyond the packet: HTTP_DATA_PACKET: data runs past the end of the packet → E_PROXY_INTERNALERROR(0x800759D8)
        data length short of the packet: packet length 14 disagrees with the 13 bytes given → E_PROXY_INTERNALERROR(0x800759D8)
        data without cbDataLen: HTTP_DATA_PACKET: data runs past the end of the packet → E_PROXY_INTERNALERROR(0x800759D8)
        cookie length past the end: HTTP_TUNNEL_PACKET: PAACookie runs past the end of the packet → E_PROXY_COOKIE_BADPACKET(0x800759F7)
        cookie of odd length: HTTP_TUNNEL_PACKET: PAACookie is not valid UTF-16 → E_PROXY_COOKIE_BADPACKET(0x800759F7)
        cookie with an unpaired surrogate: HTTP_TUNNEL_PACKET: PAACookie is not valid UTF-16 → E_PROXY_COOKIE_BADPACKET(0x800759F7)
        cookie with a NUL inside: HTTP_TUNNEL_PACKET: PAACookie contains a NUL before its end → E_PROXY_COOKIE_BADPACKET(0x800759F7)
        client name past the end: HTTP_TUNNEL_AUTH_PACKET: clientName runs past the end of the packet → E_PROXY_INTERNALERROR(0x800759D8)
        resource name with a lone low surrogate: HTTP_CHANNEL_PACKET: resourceName is not valid UTF-16 → E_PROXY_INTERNALERROR(0x800759D8)
        no resource: HTTP_CHANNEL_PACKET: numResources = 0 is outside 1..=50 → E_PROXY_INTERNALERROR(0x800759D8)
        51 resources: HTTP_CHANNEL_PACKET: numResources = 51 is outside 1..=50 → E_PROXY_INTERNALERROR(0x800759D8)
        4 alternate resources: HTTP_CHANNEL_PACKET: numAltResources = 4 is outside 0..=3 → E_PROXY_INTERNALERROR(0x800759D8)
        second resource missing: HTTP_CHANNEL_PACKET: resourceName runs past the end of the packet → E_PROXY_INTERNALERROR(0x800759D8)
        version 2: protocol version 2.0 is not supported (this gateway speaks 1.x) → E_PROXY_CAPABILITYMISMATCH(0x800759E9)
        NTLM without PAA: extended authentication 0x4 is not supported (PAA only) → E_PROXY_UNSUPPORTED_AUTHENTICATION_METHOD(0x800759F9)
        extended auth message: extended authentication 0x4 is not supported (PAA only) → E_PROXY_UNSUPPORTED_AUTHENTICATION_METHOD(0x800759F9)
        reauthentication: reauthentication is not supported → E_PROXY_NOTSUPPORTED(0x800759E8)
        tunnel create before the handshake: HTTP_TUNNEL_PACKET is not allowed before the handshake → E_PROXY_INTERNALERROR(0x800759D8)
        keepalive before the handshake: HTTP_KEEPALIVE_PACKET is not allowed before the handshake → E_PROXY_INTERNALERROR(0x800759D8)
        second handshake: HTTP_HANDSHAKE_REQUEST_PACKET is not allowed after the handshake → E_PROXY_INTERNALERROR(0x800759D8)
        channel before tunnel auth: HTTP_CHANNEL_PACKET is not allowed after the tunnel is created → E_PROXY_INTERNALERROR(0x800759D8)
        data before the channel: HTTP_DATA_PACKET is not allowed after the tunnel is authorized → E_PROXY_INTERNALERROR(0x800759D8)
        close before the channel: HTTP_CLOSE_PACKET is not allowed after the tunnel is authorized → E_PROXY_INTERNALERROR(0x800759D8)
        a server packet from the client: HTTP_SERVICE_MESSAGE_PACKET is not allowed on an open channel → E_PROXY_INTERNALERROR(0x800759D8)
        an unsolicited close response: HTTP_CLOSE_RESPONSE_PACKET is not allowed on an open channel → E_PROXY_INTERNALERROR(0x800759D8)
    "#]]
    .assert_eq(&lines);
}

fn raw(packet_type: u16, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend(packet_type.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out.extend(((8 + body.len()) as u32).to_le_bytes());
    out.extend(body);
    out
}

#[test]
fn an_oversized_packet_is_refused_before_its_body_is_buffered() {
    let limits = Limits {
        max_packet: 1024,
        ..Limits::default()
    };
    let mut tunnel = ServerTunnel::new(limits);
    let mut header = raw(packet_type::DATA, &[]);
    header[4..8].copy_from_slice(&1025u32.to_le_bytes());
    // The header arrives split: nothing is judged until its 8 bytes are there.
    assert_eq!(tunnel.receive(&header[..5]), Ok(()));
    let error = tunnel.receive(&header[5..]).unwrap_err();
    assert!(error.is_oversized(), "{error}");
    // A packet of exactly the limit is fine, and half of one is held.
    let (mut tunnel, _) = open_tunnel();
    let packet = client::data(&vec![1; 64 * 1024 - 10]);
    assert_eq!(packet.len(), 64 * 1024);
    tunnel.receive(&packet[..40_000]).unwrap();
    assert_eq!(tunnel.poll_event(), None);
    tunnel.receive(&packet[40_000..]).unwrap();
    assert!(matches!(tunnel.poll_event(), Some(Event::Data(d)) if d.len() == 64 * 1024 - 10));
}

#[test]
fn trailing_bytes_after_control_fields_are_ignored() {
    // FreeRDP logs and ignores unparsed bytes after a packet's fields; so does Hamn.
    let mut auth = client::tunnel_auth("PC");
    auth.extend([0xAA, 0xBB]);
    let len = auth.len() as u32;
    let auth = with_length(auth, len);
    assert_eq!(
        Packet::decode(&auth),
        Ok(Packet::TunnelAuth(TunnelAuth {
            client_name: "PC".into(),
            statement_of_health: None
        }))
    );
}

#[test]
fn decode_requires_exactly_the_declared_bytes() {
    let packet = client::keepalive();
    assert_eq!(
        Packet::decode(&packet[..7]),
        Err(DecodeError::LengthBelowHeader { declared: 7 })
    );
    let mut longer = packet.clone();
    longer.push(0);
    assert_eq!(
        Packet::decode(&longer),
        Err(DecodeError::LengthMismatch {
            declared: 8,
            actual: 9
        })
    );
}

// ---- properties ------------------------------------------------------------------------

fn text() -> impl Strategy<Value = String> {
    // Any characters but NUL (the terminator), astral ones included.
    proptest::collection::vec(any::<char>().prop_filter("no NUL", |c| *c != '\0'), 0..20)
        .prop_map(|chars| chars.into_iter().collect())
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..max)
}

fn status() -> impl Strategy<Value = HResult> {
    any::<u32>().prop_map(HResult)
}

fn any_packet() -> impl Strategy<Value = Packet> {
    prop_oneof![
        (any::<u8>(), any::<u8>(), any::<u16>(), any::<u16>()).prop_map(|(a, b, c, d)| {
            Packet::HandshakeRequest(HandshakeRequest {
                version_major: a,
                version_minor: b,
                client_version: c,
                extended_auth: d,
            })
        }),
        (
            status(),
            any::<u8>(),
            any::<u8>(),
            any::<u16>(),
            any::<u16>()
        )
            .prop_map(
                |(s, a, b, c, d)| Packet::HandshakeResponse(HandshakeResponse {
                    status: s,
                    version_major: a,
                    version_minor: b,
                    server_version: c,
                    extended_auth: d,
                })
            ),
        (status(), bytes(64)).prop_map(|(status, blob)| Packet::ExtendedAuth { status, blob }),
        (
            any::<u32>(),
            proptest::option::of(any::<u64>()),
            proptest::option::of(text())
        )
            .prop_map(|(capabilities, reauth_context, paa_cookie)| {
                Packet::TunnelCreate(TunnelCreate {
                    capabilities,
                    reauth_context,
                    paa_cookie,
                })
            }),
        (
            any::<u16>(),
            status(),
            proptest::option::of(any::<u32>()),
            proptest::option::of(any::<u32>()),
            proptest::option::of(text())
        )
            .prop_map(
                |(v, s, id, caps, msg)| Packet::TunnelResponse(TunnelResponse {
                    server_version: v,
                    status: s,
                    tunnel_id: id,
                    capabilities: caps,
                    consent_message: msg,
                })
            ),
        (text(), proptest::option::of(bytes(32))).prop_map(|(client_name, soh)| {
            Packet::TunnelAuth(TunnelAuth {
                client_name,
                statement_of_health: soh,
            })
        }),
        (
            status(),
            proptest::option::of(any::<u32>()),
            proptest::option::of(any::<u32>()),
            proptest::option::of(bytes(32))
        )
            .prop_map(
                |(s, r, i, soh)| Packet::TunnelAuthResponse(TunnelAuthResponse {
                    status: s,
                    redirection_flags: r,
                    idle_timeout_minutes: i,
                    soh_response: soh,
                })
            ),
        (
            proptest::collection::vec(text(), 1..=50),
            proptest::collection::vec(text(), 0..=3),
            any::<u16>(),
            any::<u16>()
        )
            .prop_map(|(resources, alt_resources, port, protocol)| {
                Packet::ChannelCreate(ChannelCreate {
                    resources,
                    alt_resources,
                    port,
                    protocol,
                })
            }),
        (
            status(),
            proptest::option::of(any::<u32>()),
            proptest::option::of(any::<u16>()),
            proptest::option::of(bytes(32))
        )
            .prop_map(
                |(s, id, port, cookie)| Packet::ChannelResponse(ChannelResponse {
                    status: s,
                    channel_id: id,
                    udp_port: port,
                    authn_cookie: cookie,
                })
            ),
        bytes(300).prop_map(Packet::Data),
        text().prop_map(Packet::ServiceMessage),
        any::<u64>().prop_map(Packet::ReauthMessage),
        Just(Packet::Keepalive),
        status().prop_map(Packet::CloseChannel),
        status().prop_map(Packet::CloseChannelResponse),
    ]
}

/// A valid client stream: the opening, then data, keepalives and maybe a close.
fn client_stream() -> impl Strategy<Value = Vec<u8>> {
    (
        text(),
        text(),
        text(),
        any::<u16>(),
        proptest::collection::vec(proptest::option::of(bytes(200)), 0..10),
        any::<bool>(),
    )
        .prop_map(|(cookie, name, host, port, tail, close)| {
            let mut stream = client::opening(&cookie, &name, &host, port);
            for item in tail {
                match item {
                    Some(data) => stream.extend(client::data(&data)),
                    None => stream.extend(client::keepalive()),
                }
            }
            if close {
                stream.extend(client::close_channel(HResult::ERROR_SUCCESS));
            }
            stream
        })
}

fn run_split(stream: &[u8], cuts: &[usize]) -> Driver {
    let mut positions: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
    positions.sort_unstable();
    let mut tunnel = ServerTunnel::new(Limits::default());
    let mut driver = Driver::default();
    let mut start = 0;
    for end in positions.into_iter().chain([stream.len()]) {
        driver.feed(&mut tunnel, &stream[start..end]).unwrap();
        start = end;
    }
    driver
}

proptest! {
    #[test]
    fn every_packet_type_survives_encode_and_decode(packet in any_packet()) {
        let bytes = packet.encode().unwrap();
        prop_assert_eq!(Header::peek(&bytes, usize::MAX).unwrap().unwrap().length as usize, bytes.len());
        prop_assert_eq!(Packet::decode(&bytes), Ok(packet));
    }

    #[test]
    fn any_split_of_a_valid_stream_gives_the_same_events(
        stream in client_stream(),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        let whole = run_split(&stream, &[]);
        let split = run_split(&stream, &cuts);
        prop_assert_eq!(&whole.events, &split.events);
        prop_assert_eq!(&whole.sent, &split.sent);
        prop_assert_eq!(&whole.data, &split.data);
        prop_assert!(whole.events.len() >= 3);
    }

    /// A valid stream with a few bytes changed reaches the deep states: never a panic,
    /// every error a refusal that closes the tunnel, every packet sent decodes, and the
    /// buffer never holds more than one packet.
    #[test]
    fn mutated_streams_are_survived(
        stream in client_stream(),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        cuts in proptest::collection::vec(any::<usize>(), 0..6),
    ) {
        let mut stream = stream;
        for (at, value) in edits {
            let len = stream.len();
            stream[at % len] = value;
        }
        let mut positions: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
        positions.sort_unstable();
        let limits = Limits { max_packet: 2048, ..Limits::default() };
        let mut tunnel = ServerTunnel::new(limits);
        let mut driver = Driver::default();
        let mut start = 0;
        for end in positions.into_iter().chain([stream.len()]) {
            if let Err(error) = driver.feed(&mut tunnel, &stream[start..end]) {
                prop_assert!(error.code().0 & 0x8000_0000 != 0);
                prop_assert!(tunnel.is_closed());
                prop_assert_eq!(tunnel.error(), Some(&error));
            }
            prop_assert!(tunnel.input_capacity() <= 2 * 2048);
            start = end;
        }
        for message in &driver.sent {
            prop_assert!(Packet::decode(message).is_ok());
        }
    }

    /// Whatever arrives, the tunnel never panics, holds at most one packet and every
    /// error has a code that is a refusal.
    #[test]
    fn arbitrary_bytes_are_survived(
        chunks in proptest::collection::vec(bytes(100), 0..8),
        prefix in 0usize..5,
    ) {
        let limits = Limits { max_packet: 512, ..Limits::default() };
        let mut tunnel = ServerTunnel::new(limits);
        let mut driver = Driver::default();
        for packet in packets(OPENING).into_iter().take(prefix) {
            driver.feed(&mut tunnel, packet).unwrap();
        }
        for chunk in chunks {
            if let Err(error) = driver.feed(&mut tunnel, &chunk) {
                prop_assert!(error.code().0 & 0x8000_0000 != 0);
                tunnel.close(error.code());
                prop_assert!(tunnel.is_closed());
                break;
            }
        }
    }
}

#[test]
fn an_error_closes_the_tunnel_with_its_code() {
    let mut tunnel = ServerTunnel::new(Limits::default());
    let error = tunnel.receive(&client::tunnel_create(None)).unwrap_err();
    assert!(tunnel.is_closed());
    assert_eq!(tunnel.error(), Some(&error));
    let sent: Vec<_> = std::iter::from_fn(|| tunnel.poll_transmit()).collect();
    assert_eq!(
        decoded(&sent),
        "HandshakeResponse(HandshakeResponse { status: E_PROXY_INTERNALERROR(0x800759D8), \
         version_major: 1, version_minor: 0, server_version: 0, extended_auth: 0 })\n"
    );
    // The endpoint's own close after the error sends nothing more.
    tunnel.close(error.code());
    assert_eq!(tunnel.poll_transmit(), None);
}

#[test]
fn a_bad_packet_behind_a_pending_request_closes_at_the_decision() {
    let mut tunnel = ServerTunnel::new(Limits::default());
    let mut stream = client::handshake(true);
    stream.extend(client::tunnel_create(Some(COOKIE)));
    stream.extend(client::data(b"too early"));
    tunnel.receive(&stream).unwrap();
    assert!(matches!(
        tunnel.poll_event(),
        Some(Event::TunnelCreate { .. })
    ));
    assert!(!tunnel.is_closed());
    tunnel.accept_tunnel(3);
    assert!(tunnel.is_closed());
    assert!(matches!(
        tunnel.error(),
        Some(TunnelError::OutOfOrder {
            packet: "HTTP_DATA_PACKET",
            ..
        })
    ));
    let sent: Vec<_> = std::iter::from_fn(|| tunnel.poll_transmit()).collect();
    assert_eq!(
        sent.len(),
        3,
        "handshake, tunnel and authorization responses"
    );
    assert!(matches!(
        Packet::decode(&sent[2]),
        Ok(Packet::TunnelAuthResponse(TunnelAuthResponse { status, .. }))
            if status == HResult::E_PROXY_INTERNALERROR
    ));
}

#[test]
fn input_waiting_for_a_decision_is_bounded() {
    let limits = Limits {
        max_packet: 1024,
        ..Limits::default()
    };
    let mut tunnel = ServerTunnel::new(limits);
    let mut stream = client::handshake(true);
    stream.extend(client::tunnel_create(Some(COOKIE)));
    tunnel.receive(&stream).unwrap();
    tunnel.receive(&[0; 1000]).unwrap();
    assert_eq!(
        tunnel.receive(&[0; 25]),
        Err(TunnelError::Backlog { max: 1024 })
    );
    assert!(tunnel.is_closed());
}

/// Shapes other clients may send: several resources and alternates, a statement of health,
/// every capability, non-ASCII names.
#[test]
fn richer_client_packets_are_understood() {
    let mut stream = client::handshake(true);
    stream.extend(
        Packet::TunnelCreate(TunnelCreate {
            capabilities: 0x3F,
            reauth_context: None,
            paa_cookie: Some(COOKIE.into()),
        })
        .encode()
        .unwrap(),
    );
    stream.extend(
        Packet::TunnelAuth(TunnelAuth {
            client_name: "KOMMUN-PC-ÅÄÖ".into(),
            statement_of_health: Some(vec![1, 2, 3]),
        })
        .encode()
        .unwrap(),
    );
    stream.extend(
        Packet::ChannelCreate(ChannelCreate {
            resources: vec!["värd-1.växjö.se".into(), "10.0.0.5".into()],
            alt_resources: vec!["värd-1".into()],
            port: 3390,
            protocol: 3,
        })
        .encode()
        .unwrap(),
    );
    let mut tunnel = ServerTunnel::new(Limits::default());
    let mut driver = Driver::default();
    driver.feed(&mut tunnel, &stream).unwrap();
    expect![[r#"
        TunnelCreate { paa_cookie: Some(<24 characters>), capabilities: 0x3f }
        TunnelAuth { client_name: "KOMMUN-PC-ÅÄÖ" }
        ChannelCreate { resources: ["värd-1.växjö.se", "10.0.0.5"], alt_resources: ["värd-1"], port: 3390, protocol: 3 }"#]]
    .assert_eq(&driver.events.join("\n"));
    // Only what Hamn offers comes back: IDLE_TIMEOUT | MESSAGING_SERVICE_MSG.
    assert!(matches!(
        Packet::decode(&driver.sent[1]),
        Ok(Packet::TunnelResponse(TunnelResponse {
            capabilities: Some(0xA),
            ..
        }))
    ));
    assert!(tunnel.is_open());
}

#[test]
fn a_client_without_a_cookie_reaches_the_endpoint_without_one() {
    let mut stream = client::handshake(false);
    stream.extend(client::tunnel_create(None));
    let mut tunnel = ServerTunnel::new(Limits::default());
    tunnel.receive(&stream).unwrap();
    assert!(matches!(
        Packet::decode(&tunnel.poll_transmit().unwrap()),
        Ok(Packet::HandshakeResponse(HandshakeResponse {
            extended_auth: 0,
            ..
        }))
    ));
    assert_eq!(
        tunnel.poll_event(),
        Some(Event::TunnelCreate {
            paa_cookie: None,
            capabilities: client::FREERDP_CAPABILITIES
        })
    );
    tunnel.refuse_tunnel(HResult::E_PROXY_COOKIE_AUTHENTICATION_ACCESS_DENIED);
    assert!(tunnel.is_closed());
    assert_eq!(
        hex(&tunnel.poll_transmit().unwrap()),
        "05 00 00 00 12 00 00 00 00 00 f8 59 07 80 00 00\n00 00\n"
    );
}

#[test]
fn an_idle_tunnel_holds_little_memory() {
    // After a full-size packet has passed through the buffer, it is given back.
    let (mut tunnel, _) = open_tunnel();
    let packet = client::data(&vec![1; 60_000]);
    tunnel.receive(&packet[..30_000]).unwrap();
    tunnel.receive(&packet[30_000..]).unwrap();
    assert!(matches!(tunnel.poll_event(), Some(Event::Data(_))));
    assert!(format!("{tunnel:?}").contains("buffered: 0"));
    assert!(tunnel.input_capacity() <= 4096);
}
