//! Per-connection protocol state on top of the stateless decoders: message order (hello
//! first, once), version negotiation, rectangles inside the current screen, and the
//! one-frame-in-flight window. Still sans-IO: bytes in, messages or errors out.

use super::client::{ClientMessage, decode_client};
use super::error::WireError;
use super::limits::{Limits, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION};
use super::server::{ServerMessage, decode_server};
use super::{check, server};

/// The version both sides speak, given the client's highest: the lower of the two, or an
/// error (close code 4001) when the client is older than this gateway still supports.
pub fn negotiate_version(offered: u16) -> Result<u16, WireError> {
    if offered < MIN_PROTOCOL_VERSION {
        Err(WireError::UnsupportedVersion {
            offered,
            min: MIN_PROTOCOL_VERSION,
            max: PROTOCOL_VERSION,
        })
    } else {
        Ok(offered.min(PROTOCOL_VERSION))
    }
}

/// The gateway's view of one browser connection.
#[derive(Debug, Clone)]
pub struct ClientStream {
    limits: Limits,
    version: Option<u16>,
}

impl ClientStream {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            version: None,
        }
    }

    /// The negotiated version once the hello has arrived.
    pub fn version(&self) -> Option<u16> {
        self.version
    }

    /// Decodes one websocket message and checks it may come now.
    pub fn receive(&mut self, bytes: &[u8]) -> Result<ClientMessage, WireError> {
        let message = decode_client(bytes, &self.limits)?;
        match (&message, self.version) {
            (ClientMessage::ClientHello(hello), None) => {
                self.version = Some(negotiate_version(hello.version)?);
            }
            (ClientMessage::ClientHello(_), Some(_)) => {
                return Err(WireError::UnexpectedMessage {
                    kind: "ClientHello",
                    when: "twice",
                });
            }
            (other, None) => {
                return Err(WireError::UnexpectedMessage {
                    kind: other.kind(),
                    when: "before ClientHello",
                });
            }
            (_, Some(_)) => {}
        }
        Ok(message)
    }
}

/// The browser's view of the gateway (used by tests and the Rust load-test client; the
/// viewer has the same logic in `wire.js`).
#[derive(Debug, Clone)]
pub struct ServerStream {
    limits: Limits,
    offered: u16,
    screen: Option<(u16, u16)>,
    closed: bool,
}

impl ServerStream {
    /// `offered` is the version the client put in its `ClientHello`.
    pub fn new(limits: Limits, offered: u16) -> Self {
        Self {
            limits,
            offered,
            screen: None,
            closed: false,
        }
    }

    /// The current screen size, once known.
    pub fn screen(&self) -> Option<(u16, u16)> {
        self.screen
    }

    pub fn receive(&mut self, bytes: &[u8]) -> Result<ServerMessage, WireError> {
        let message = decode_server(bytes, &self.limits)?;
        if self.closed {
            return Err(WireError::UnexpectedMessage {
                kind: message.kind(),
                when: "after Close",
            });
        }
        let Some((width, height)) = self.screen else {
            let ServerMessage::ServerHello(hello) = &message else {
                return Err(WireError::UnexpectedMessage {
                    kind: message.kind(),
                    when: "before ServerHello",
                });
            };
            if hello.version < MIN_PROTOCOL_VERSION || hello.version > self.offered {
                return Err(WireError::UnsupportedVersion {
                    offered: hello.version,
                    min: MIN_PROTOCOL_VERSION,
                    max: self.offered,
                });
            }
            self.screen = Some((hello.width, hello.height));
            return Ok(message);
        };
        match &message {
            ServerMessage::ServerHello(_) => {
                return Err(WireError::UnexpectedMessage {
                    kind: "ServerHello",
                    when: "twice",
                });
            }
            ServerMessage::Tile(server::Tile { x, y, w, h, .. }) => {
                check::rect("tile", [*x, *y, *w, *h], width, height)?;
            }
            ServerMessage::CopyRect(c) => {
                check::rect("copy source", [c.src_x, c.src_y, c.w, c.h], width, height)?;
                check::rect(
                    "copy destination",
                    [c.dst_x, c.dst_y, c.w, c.h],
                    width,
                    height,
                )?;
            }
            ServerMessage::CursorPosition { x, y } => {
                check::coord("x", *x, width)?;
                check::coord("y", *y, height)?;
            }
            ServerMessage::Resized { width, height } => {
                self.screen = Some((*width, *height));
            }
            ServerMessage::Close { .. } => self.closed = true,
            _ => {}
        }
        Ok(message)
    }
}

/// Flow control: at most one frame without a `FrameAck`. While a frame is in flight the
/// display keeps merging damage into its dirty region; when the ack comes, the next frame
/// carries the freshest pixels of everything that changed — no queue grows.
#[derive(Debug, Clone, Default)]
pub struct FrameWindow {
    next_id: u32,
    in_flight: Option<u32>,
}

impl FrameWindow {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether a new frame may be sent now.
    pub fn can_send(&self) -> bool {
        self.in_flight.is_none()
    }

    /// The frame in flight, if any.
    pub fn in_flight(&self) -> Option<u32> {
        self.in_flight
    }

    /// Claims the id for the next `FrameEnd`, or `None` while a frame is unacknowledged.
    pub fn begin_frame(&mut self) -> Option<u32> {
        if self.in_flight.is_some() {
            return None;
        }
        let id = self.next_id;
        // Ids wrap; only equality with the one frame in flight matters.
        self.next_id = self.next_id.wrapping_add(1);
        self.in_flight = Some(id);
        Some(id)
    }

    /// Accepts the client's `FrameAck`. Acking anything but the frame in flight is a
    /// protocol violation (close code 4008).
    pub fn ack(&mut self, frame_id: u32) -> Result<(), WireError> {
        if self.in_flight == Some(frame_id) {
            self.in_flight = None;
            Ok(())
        } else {
            Err(WireError::UnexpectedAck { frame_id })
        }
    }

    /// Forgets the frame in flight when a resumed connection replaces the old one: the
    /// old socket's ack will never come, and the resumed client gets a full frame.
    pub fn reset(&mut self) {
        self.in_flight = None;
    }
}
