//! Whatever a (broken or hostile) RDP client sends on the rdpdr channel, the demo host's
//! RDPDR server answers or refuses it — never a panic — a print job started between the PDUs
//! only ever sends writes within the size limit, and the printer list stays bounded.
//!
//! Input: PDUs, each prefixed by a little-endian u16 length; a zero length starts a print job
//! instead.
#![no_main]

use hamn_demo_host_fuzz::rdpdr::RdpdrServer;
use hamn_demo_host_fuzz::rdpdr::server::MAX_WRITE_BYTES;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut server = RdpdrServer::new(7);
    server.start();
    let mut rest = data;
    while let [a, b, tail @ ..] = rest {
        let len = usize::from(u16::from_le_bytes([*a, *b]));
        if len == 0 {
            let _ = server.print(vec![0x25; 200_000]);
            rest = tail;
            continue;
        }
        let (pdu, tail) = tail.split_at(len.min(tail.len()));
        rest = tail;
        let Ok(out) = server.process(pdu) else { continue };
        for message in out.messages {
            // A write request: 24-byte header, Length, Offset, 20 bytes padding, data.
            if message.len() >= 56 && message[..4] == [0x72, 0x44, 0x52, 0x49] && message[16] == 4 {
                assert!(message.len() - 56 <= MAX_WRITE_BYTES);
            }
        }
        assert!(server.printers().len() <= hamn_demo_host_fuzz::rdpdr::server::MAX_PRINTERS);
    }
});
