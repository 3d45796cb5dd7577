//! The session protocol between the gateway and the browser viewer: binary websocket
//! messages, one message per frame, little-endian, a type byte then fixed fields.
//! Documented byte by byte in `docs/wire-protocol.md`; `web-client/static/wire.js` is the
//! browser's twin of this module and shares its fixtures.
//!
//! Sans-IO: [`encode_server`] / [`decode_client`] are what the gateway uses,
//! [`encode_client`] / [`decode_server`] serve tests and the load-test client.
//! [`ClientStream`] and [`ServerStream`] add the per-connection rules (hello first,
//! version negotiation, rectangles within the screen) and [`FrameWindow`] the
//! one-frame-in-flight flow control. Every rejected message is a [`WireError`] whose
//! [`close_code`](WireError::close_code) the endpoint sends when it closes the socket.

mod bytes;
mod check;
mod client;
mod close;
mod error;
mod limits;
pub mod scancode;
mod server;
mod status;
mod stream;

pub use client::{ClientHello, ClientMessage, MouseButton, decode_client, encode_client};
pub use close::CloseCode;
pub use error::WireError;
pub use limits::{
    LIFECYCLE_VERSION, Limits, MAX_CURSOR_SIZE, MAX_DETAIL, MAX_DIMENSION, MAX_LAYOUT_HINT,
    MAX_MESSAGE_SENDER, MAX_MESSAGE_TEXT, MAX_PRINT_REASON, MAX_PRINT_TITLE, MAX_RESUME_TOKEN,
    MAX_SCALE_PERCENT, MIN_PROTOCOL_VERSION, MIN_SCALE_PERCENT, PRINT_VERSION, PROTOCOL_VERSION,
};
pub use scancode::Scancode;
pub use server::{
    Capabilities, CopyRect, CursorShape, PrintOutcome, ServerHello, ServerMessage, Tile,
    TileEncoding, decode_server, encode_server,
};
pub use status::StatusCode;
pub use stream::{ClientStream, FrameWindow, ServerStream, negotiate_version};

/// Encodes a server→client message; the name the gateway's endpoint reads best.
pub fn encode(message: &ServerMessage) -> Vec<u8> {
    encode_server(message)
}

#[cfg(test)]
mod tests;
