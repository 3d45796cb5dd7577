//! Whatever a native client (or anyone who reaches the RD Gateway endpoint) sends, the
//! MS-TSGU server state machine returns events or a typed error with a refusal code —
//! never a panic — holds at most one packet of input, and every packet it sends decodes.
//! The input is cut into websocket messages at 0xFF bytes (so packets span messages and
//! messages hold several); every request is accepted, like an endpoint whose checks pass.
//! Any bytes that decode as one packet re-encode to a packet that decodes to the same.
#![no_main]

use hamn_gateway_fuzz::rdg::codec::Packet;
use hamn_gateway_fuzz::rdg::{Event, Limits, Redirection, ServerTunnel, TunnelPolicy};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(packet) = Packet::decode(data)
        && let Ok(bytes) = packet.encode()
    {
        assert_eq!(Packet::decode(&bytes).as_ref(), Ok(&packet));
    }

    let limits = Limits {
        max_packet: 4096,
        max_send_packet: 512,
        ..Limits::default()
    };
    let mut tunnel = ServerTunnel::new(limits);
    for message in data.split(|b| *b == 0xFF) {
        if let Err(error) = tunnel.receive(message) {
            assert!(error.code().0 & 0x8000_0000 != 0, "{error} is no refusal");
            tunnel.close(error.code());
            assert!(tunnel.is_closed());
        }
        while let Some(event) = tunnel.poll_event() {
            match event {
                Event::TunnelCreate { .. } => tunnel.accept_tunnel(1),
                Event::TunnelAuth { .. } => tunnel.accept_auth(TunnelPolicy {
                    redirection: Redirection::NONE,
                    idle_timeout_minutes: 10,
                }),
                Event::ChannelCreate { .. } => tunnel.accept_channel(1),
                Event::Data(bytes) => {
                    tunnel.send_data(&bytes);
                    tunnel.service_message("echo");
                }
                Event::CloseChannel => assert!(tunnel.is_closed()),
            }
        }
        while let Some(out) = tunnel.poll_transmit() {
            assert!(out.len() <= 4096);
            assert!(Packet::decode(&out).is_ok(), "sent an undecodable packet");
        }
    }
});
