//! Client→server messages: their types, decoder (the gateway's input path, which must
//! survive anything a browser sends) and encoder (tests and the load-test client).

use super::bytes::{Reader, Writer, utf8};
use super::check;
use super::error::WireError;
use super::limits::{
    Limits, MAX_LAYOUT_HINT, MAX_RESUME_TOKEN, MAX_SCALE_PERCENT, MIN_SCALE_PERCENT,
};
use super::scancode::Scancode;

pub(crate) const CLIENT_HELLO: u8 = 0x81;
pub(crate) const KEY_SCANCODE: u8 = 0x82;
pub(crate) const KEY_UNICODE: u8 = 0x83;
pub(crate) const MOUSE_MOVE: u8 = 0x84;
pub(crate) const MOUSE_BUTTON: u8 = 0x85;
pub(crate) const MOUSE_WHEEL: u8 = 0x86;
pub(crate) const FRAME_ACK: u8 = 0x87;
pub(crate) const RESIZE_REQUEST: u8 = 0x88;
pub(crate) const CLIPBOARD_TEXT: u8 = 0x89;
pub(crate) const RELEASE_ALL_KEYS: u8 = 0x8A;
pub(crate) const PING: u8 = 0x8B;

/// Everything the browser sends to the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientMessage {
    /// The first message: the client's version, window and (when resuming) its token.
    ClientHello(ClientHello),
    /// A physical key went down or up.
    KeyScancode {
        scancode: Scancode,
        down: bool,
    },
    /// A character with no scancode (IME, on-screen keyboards), sent as RDP Unicode input.
    KeyUnicode {
        ch: char,
        down: bool,
    },
    MouseMove {
        x: u16,
        y: u16,
    },
    MouseButton {
        button: MouseButton,
        down: bool,
        x: u16,
        y: u16,
    },
    /// Wheel movement in 1/120 notches (120 = one notch, as Windows counts); positive
    /// `delta_y` scrolls down and positive `delta_x` right, as DOM `WheelEvent` does.
    MouseWheel {
        delta_x: i16,
        delta_y: i16,
    },
    /// The client has painted frame `frame_id`; the gateway may send the next frame.
    FrameAck {
        frame_id: u32,
    },
    /// The browser window changed size.
    ResizeRequest {
        width: u16,
        height: u16,
    },
    /// The browser's clipboard text (sent when the page gains focus or on paste).
    ClipboardText(String),
    /// The page lost focus: release every held key.
    ReleaseAllKeys,
    /// Latency probe; the gateway answers `Pong` with the same timestamp (client
    /// milliseconds, wrapping).
    Ping {
        timestamp: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHello {
    /// The highest protocol version the client speaks.
    pub version: u16,
    /// The canvas size in device pixels.
    pub width: u16,
    pub height: u16,
    /// `devicePixelRatio` in percent (100 = 1.0), 25..=1000; sent to the host as the
    /// desktop scale factor.
    pub scale_percent: u16,
    /// Present when resuming a session after the websocket dropped.
    pub resume_token: Option<Vec<u8>>,
    /// A BCP 47 tag such as `sv-SE` (ASCII letters, digits, `-`), at most 32 bytes; empty
    /// when unknown. A hint only: scancodes make the host's layout decide.
    pub keyboard_layout: String,
}

/// Mouse buttons numbered as DOM `MouseEvent.button` numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum MouseButton {
    Left = 0,
    Middle = 1,
    Right = 2,
    /// The "back" side button (X1).
    Back = 3,
    /// The "forward" side button (X2).
    Forward = 4,
}

impl MouseButton {
    pub const ALL: [MouseButton; 5] = [
        MouseButton::Left,
        MouseButton::Middle,
        MouseButton::Right,
        MouseButton::Back,
        MouseButton::Forward,
    ];

    pub fn from_u8(value: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|b| *b as u8 == value)
    }
}

impl ClientMessage {
    /// The message's name, for errors and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            ClientMessage::ClientHello(_) => "ClientHello",
            ClientMessage::KeyScancode { .. } => "KeyScancode",
            ClientMessage::KeyUnicode { .. } => "KeyUnicode",
            ClientMessage::MouseMove { .. } => "MouseMove",
            ClientMessage::MouseButton { .. } => "MouseButton",
            ClientMessage::MouseWheel { .. } => "MouseWheel",
            ClientMessage::FrameAck { .. } => "FrameAck",
            ClientMessage::ResizeRequest { .. } => "ResizeRequest",
            ClientMessage::ClipboardText(_) => "ClipboardText",
            ClientMessage::ReleaseAllKeys => "ReleaseAllKeys",
            ClientMessage::Ping { .. } => "Ping",
        }
    }
}

/// Encodes one client→server message (one websocket binary frame).
pub fn encode_client(message: &ClientMessage) -> Vec<u8> {
    match message {
        ClientMessage::ClientHello(h) => {
            let token = h.resume_token.as_deref().unwrap_or_default();
            let mut w = Writer::new(CLIENT_HELLO, 12 + token.len() + h.keyboard_layout.len());
            w.u16(h.version)
                .u16(h.width)
                .u16(h.height)
                .u16(h.scale_percent)
                .short_bytes(token)
                .short_bytes(h.keyboard_layout.as_bytes());
            w.finish()
        }
        ClientMessage::KeyScancode { scancode, down } => {
            let mut w = Writer::new(KEY_SCANCODE, 3);
            w.u16(scancode.as_u16()).bool(*down);
            w.finish()
        }
        ClientMessage::KeyUnicode { ch, down } => {
            let mut w = Writer::new(KEY_UNICODE, 5);
            w.u32(u32::from(*ch)).bool(*down);
            w.finish()
        }
        ClientMessage::MouseMove { x, y } => {
            let mut w = Writer::new(MOUSE_MOVE, 4);
            w.u16(*x).u16(*y);
            w.finish()
        }
        ClientMessage::MouseButton { button, down, x, y } => {
            let mut w = Writer::new(MOUSE_BUTTON, 6);
            w.u8(*button as u8).bool(*down).u16(*x).u16(*y);
            w.finish()
        }
        ClientMessage::MouseWheel { delta_x, delta_y } => {
            let mut w = Writer::new(MOUSE_WHEEL, 4);
            w.i16(*delta_x).i16(*delta_y);
            w.finish()
        }
        ClientMessage::FrameAck { frame_id } => {
            let mut w = Writer::new(FRAME_ACK, 4);
            w.u32(*frame_id);
            w.finish()
        }
        ClientMessage::ResizeRequest { width, height } => {
            let mut w = Writer::new(RESIZE_REQUEST, 4);
            w.u16(*width).u16(*height);
            w.finish()
        }
        ClientMessage::ClipboardText(text) => {
            let mut w = Writer::new(CLIPBOARD_TEXT, text.len());
            w.raw(text.as_bytes());
            w.finish()
        }
        ClientMessage::ReleaseAllKeys => Writer::new(RELEASE_ALL_KEYS, 0).finish(),
        ClientMessage::Ping { timestamp } => {
            let mut w = Writer::new(PING, 4);
            w.u32(*timestamp);
            w.finish()
        }
    }
}

/// Decodes one client→server message, enforcing `limits`. Coordinates are checked
/// against the largest screen, not the current one: after a resize the browser may still
/// send a position from the old size, which the endpoint clamps rather than treating as
/// an attack.
pub fn decode_client(bytes: &[u8], limits: &Limits) -> Result<ClientMessage, WireError> {
    let (&message_type, body) = bytes.split_first().ok_or(WireError::Empty)?;
    // Clipboard text may be larger than other messages, up to its own cap.
    let max = if message_type == CLIPBOARD_TEXT {
        limits.max_clipboard.saturating_add(1)
    } else {
        limits.max_client_message
    };
    if bytes.len() > max {
        return Err(WireError::TooLarge {
            len: bytes.len(),
            max,
        });
    }
    let dim = limits.dimension();
    let message = match message_type {
        CLIENT_HELLO => {
            let mut r = Reader::new(body, "ClientHello");
            let version = r.u16()?;
            let width = check::extent("width", r.u16()?, dim)?;
            let height = check::extent("height", r.u16()?, dim)?;
            let scale_percent = r.u16()?;
            check::range(
                "scale_percent",
                u32::from(scale_percent),
                u32::from(MIN_SCALE_PERCENT),
                u32::from(MAX_SCALE_PERCENT),
            )?;
            let token = r.short_bytes()?;
            check::len("resume_token", token.len(), MAX_RESUME_TOKEN)?;
            let layout = r.short_bytes()?;
            check::len("keyboard_layout", layout.len(), MAX_LAYOUT_HINT)?;
            if !layout
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
            {
                return Err(WireError::InvalidValue {
                    field: "keyboard_layout",
                    value: u32::from(
                        layout
                            .iter()
                            .copied()
                            .find(|b| !(b.is_ascii_alphanumeric() || *b == b'-'))
                            .unwrap_or_default(),
                    ),
                });
            }
            r.finish()?;
            ClientMessage::ClientHello(ClientHello {
                version,
                width,
                height,
                scale_percent,
                // An empty token means "new session": tokens are never empty.
                resume_token: (!token.is_empty()).then(|| token.to_vec()),
                keyboard_layout: utf8(layout, "keyboard_layout")?,
            })
        }
        KEY_SCANCODE => {
            let mut r = Reader::new(body, "KeyScancode");
            let raw = r.u16()?;
            let scancode = Scancode::new(raw).ok_or(WireError::InvalidValue {
                field: "scancode",
                value: u32::from(raw),
            })?;
            let down = r.bool("down")?;
            r.finish()?;
            ClientMessage::KeyScancode { scancode, down }
        }
        KEY_UNICODE => {
            let mut r = Reader::new(body, "KeyUnicode");
            let raw = r.u32()?;
            // Surrogates and values above U+10FFFF are not characters.
            let ch = char::from_u32(raw)
                .filter(|c| *c != '\0')
                .ok_or(WireError::InvalidValue {
                    field: "codepoint",
                    value: raw,
                })?;
            let down = r.bool("down")?;
            r.finish()?;
            ClientMessage::KeyUnicode { ch, down }
        }
        MOUSE_MOVE => {
            let mut r = Reader::new(body, "MouseMove");
            let x = check::coord("x", r.u16()?, dim)?;
            let y = check::coord("y", r.u16()?, dim)?;
            r.finish()?;
            ClientMessage::MouseMove { x, y }
        }
        MOUSE_BUTTON => {
            let mut r = Reader::new(body, "MouseButton");
            let raw = r.u8()?;
            let button = MouseButton::from_u8(raw).ok_or(WireError::InvalidValue {
                field: "button",
                value: u32::from(raw),
            })?;
            let down = r.bool("down")?;
            let x = check::coord("x", r.u16()?, dim)?;
            let y = check::coord("y", r.u16()?, dim)?;
            r.finish()?;
            ClientMessage::MouseButton { button, down, x, y }
        }
        MOUSE_WHEEL => {
            let mut r = Reader::new(body, "MouseWheel");
            let delta_x = r.i16()?;
            let delta_y = r.i16()?;
            r.finish()?;
            ClientMessage::MouseWheel { delta_x, delta_y }
        }
        FRAME_ACK => {
            let mut r = Reader::new(body, "FrameAck");
            let frame_id = r.u32()?;
            r.finish()?;
            ClientMessage::FrameAck { frame_id }
        }
        RESIZE_REQUEST => {
            let mut r = Reader::new(body, "ResizeRequest");
            let width = check::extent("width", r.u16()?, dim)?;
            let height = check::extent("height", r.u16()?, dim)?;
            r.finish()?;
            ClientMessage::ResizeRequest { width, height }
        }
        CLIPBOARD_TEXT => ClientMessage::ClipboardText(utf8(body, "clipboard text")?),
        RELEASE_ALL_KEYS => {
            Reader::new(body, "ReleaseAllKeys").finish()?;
            ClientMessage::ReleaseAllKeys
        }
        PING => {
            let mut r = Reader::new(body, "Ping");
            let timestamp = r.u32()?;
            r.finish()?;
            ClientMessage::Ping { timestamp }
        }
        other => return Err(WireError::UnknownType(other)),
    };
    Ok(message)
}
