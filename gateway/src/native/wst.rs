//! FreeRDP 3's plain websocket transport (`/gateway:url:wss://host/wst/,bearer:REF`,
//! FreeRDP's `wst.c`): a GET websocket upgrade to the path of the configured URL with
//! `Authorization: Bearer <reference>`, then the RDP connection's bytes in binary
//! websocket messages both ways. The gateway, not the client, chooses the host: the
//! ticket's. Everything is decided before the 101, so refusals are plain HTTP answers
//! FreeRDP reports: 401/403 for the reference, 502/504 when the host cannot be reached.

use std::collections::VecDeque;

use super::relay::{Ending, Framing};

/// Raw RDP bytes in binary messages; no service messages, no close codes.
#[derive(Debug, Default)]
pub(crate) struct RawFraming {
    to_host: VecDeque<Vec<u8>>,
    to_client: VecDeque<Vec<u8>>,
}

impl Framing for RawFraming {
    fn name(&self) -> &'static str {
        "FreeRDP websocket"
    }

    fn receive(&mut self, message: &[u8]) -> Result<(), String> {
        if !message.is_empty() {
            self.to_host.push_back(message.to_vec());
        }
        Ok(())
    }

    fn next_for_host(&mut self) -> Option<Vec<u8>> {
        self.to_host.pop_front()
    }

    fn client_closed(&self) -> bool {
        false
    }

    fn carry_to_client(&mut self, bytes: &[u8]) {
        self.to_client.push_back(bytes.to_vec());
    }

    fn message(&mut self, _text: &str) -> bool {
        false
    }

    fn close(&mut self, _why: Ending) {}

    fn transmit(&mut self) -> Option<Vec<u8>> {
        self.to_client.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_pass_unchanged_both_ways_and_messages_are_refused() {
        let mut f = RawFraming::default();
        f.receive(b"\x03\x00\x00\x13").unwrap();
        f.receive(b"").unwrap();
        assert_eq!(f.next_for_host().as_deref(), Some(&b"\x03\x00\x00\x13"[..]));
        assert_eq!(f.next_for_host(), None);
        f.carry_to_client(b"abc");
        assert_eq!(f.transmit().as_deref(), Some(&b"abc"[..]));
        assert!(!f.message("hej"));
        assert!(!f.client_closed());
    }
}
