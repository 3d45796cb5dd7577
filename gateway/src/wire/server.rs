//! Server→client messages: their types, encoder and (for tests and the load-test client)
//! decoder. Type bytes 0x01–0x3F; client messages use 0x81–0xBF so a message sent the
//! wrong way is rejected as an unknown type instead of being misread.

use super::bytes::{Reader, Writer, utf8};
use super::check;
use super::close::CloseCode;
use super::error::WireError;
use super::limits::{
    Limits, MAX_CURSOR_SIZE, MAX_DETAIL, MAX_MESSAGE_SENDER, MAX_MESSAGE_TEXT, MAX_PRINT_REASON,
    MAX_PRINT_TITLE, MAX_RESUME_TOKEN,
};
use super::status::StatusCode;

pub(crate) const SERVER_HELLO: u8 = 0x01;
pub(crate) const TILE: u8 = 0x02;
pub(crate) const COPY_RECT: u8 = 0x03;
pub(crate) const FRAME_END: u8 = 0x04;
pub(crate) const CURSOR_SHAPE: u8 = 0x05;
pub(crate) const CURSOR_CACHED: u8 = 0x06;
pub(crate) const CURSOR_POSITION: u8 = 0x07;
pub(crate) const CURSOR_HIDDEN: u8 = 0x08;
pub(crate) const CLIPBOARD_TEXT: u8 = 0x09;
pub(crate) const RESIZED: u8 = 0x0A;
pub(crate) const STATUS: u8 = 0x0B;
pub(crate) const CLOSE: u8 = 0x0C;
pub(crate) const PONG: u8 = 0x0D;
pub(crate) const ADMIN_MESSAGE: u8 = 0x0E;
pub(crate) const PRINT_NOTICE: u8 = 0x0F;

/// Everything the gateway sends to the browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerMessage {
    /// The first message: the negotiated version and the session's parameters.
    ServerHello(ServerHello),
    /// Encoded pixels for one rectangle of the screen.
    Tile(Tile),
    /// Copy a rectangle already on screen (scrolling).
    CopyRect(CopyRect),
    /// The end of a frame; the client answers with `FrameAck { frame_id }`.
    FrameEnd { frame_id: u32 },
    /// A new cursor image, cached by the client under `id`.
    CursorShape(CursorShape),
    /// Show the cursor image cached under `id`.
    CursorCached { id: u16 },
    /// The host moved the pointer (e.g. an application warped it).
    CursorPosition { x: u16, y: u16 },
    /// Hide the cursor.
    CursorHidden,
    /// The host's clipboard text.
    ClipboardText(String),
    /// The screen has a new size; tiles for the whole new screen follow.
    Resized { width: u16, height: u16 },
    /// Something to show in the overlay.
    Status {
        code: StatusCode,
        /// A countdown for texts that have one, otherwise 0.
        seconds: u16,
        /// Extra detail for logs and support (not translated); may be empty.
        detail: String,
    },
    /// Sent just before the websocket close frame, so the reason survives proxies that
    /// drop close reasons.
    Close { code: CloseCode, reason: String },
    /// The answer to `Ping`, echoing its timestamp.
    Pong { timestamp: u32 },
    /// A message from the service's administrators, shown in the viewer until dismissed
    /// (protocol version 2).
    AdminMessage {
        /// Who sent it (≤ 256 bytes).
        sender: String,
        /// The message (≤ 4096 bytes, line breaks allowed).
        text: String,
    },
    /// A print job of the session is ready as PDF or was refused (protocol version 3).
    PrintNotice {
        /// The job (UUID bytes); the PDF is `/portal/api/prints/{id}/pdf`.
        job_id: [u8; 16],
        /// The job's title (≤ 1024 bytes).
        title: String,
        outcome: PrintOutcome,
    },
}

/// How a print job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrintOutcome {
    /// A PDF of `pages` pages is ready.
    Ready { pages: u32 },
    /// Refused; `reason` is a refusal code (`job_too_large`, …) the viewer puts in words.
    Refused { reason: String },
}

/// Capability bits in [`ServerHello::capabilities`]. Unknown bits are kept and ignored:
/// they are hints, not enum values, so a newer gateway may add some.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Capabilities(pub u32);

impl Capabilities {
    /// Clipboard text is transferred (pool policy allows it).
    pub const CLIPBOARD: u32 = 1 << 0;
    /// The host changes resolution on `ResizeRequest` (RDP display control).
    pub const DYNAMIC_RESIZE: u32 = 1 << 1;
    /// `KeyUnicode` is accepted.
    pub const UNICODE_INPUT: u32 = 1 << 2;

    pub fn has(self, bit: u32) -> bool {
        self.0 & bit == bit
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    /// The negotiated protocol version: the lower of the client's and the gateway's.
    pub version: u16,
    /// The session id (UUID bytes), for support and logs.
    pub session_id: [u8; 16],
    pub width: u16,
    pub height: u16,
    /// Opaque, at most 64 bytes; the client presents it in `ClientHello` to resume.
    pub resume_token: Vec<u8>,
    pub capabilities: Capabilities,
}

/// How a tile's bytes are encoded. No raw RGBA: a raw 64×64 tile is 16 KiB where PNG
/// is typically 1–3 KiB, and the service's budget is 4 Mbit/s; every browser decodes
/// these three formats natively (off the main thread with `createImageBitmap`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum TileEncoding {
    /// Lossless: text and UI.
    Png = 0,
    /// Lossy: photos and video-like areas.
    Jpeg = 1,
    /// Lossless or lossy WebP, whichever the encoder measured smaller.
    Webp = 2,
}

impl TileEncoding {
    pub const ALL: [TileEncoding; 3] = [TileEncoding::Png, TileEncoding::Jpeg, TileEncoding::Webp];

    pub fn from_u8(value: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|e| *e as u8 == value)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tile {
    pub x: u16,
    pub y: u16,
    pub w: u16,
    pub h: u16,
    pub encoding: TileEncoding,
    /// The encoded image; the message's remaining bytes.
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopyRect {
    pub src_x: u16,
    pub src_y: u16,
    pub w: u16,
    pub h: u16,
    pub dst_x: u16,
    pub dst_y: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorShape {
    /// The cache slot; a later `CursorCached { id }` shows this image again.
    pub id: u16,
    pub hotspot_x: u16,
    pub hotspot_y: u16,
    pub w: u16,
    pub h: u16,
    /// Straight (not premultiplied) RGBA, row-major, exactly `w * h * 4` bytes.
    pub rgba: Vec<u8>,
}

impl ServerMessage {
    /// The message's name, for errors and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            ServerMessage::ServerHello(_) => "ServerHello",
            ServerMessage::Tile(_) => "Tile",
            ServerMessage::CopyRect(_) => "CopyRect",
            ServerMessage::FrameEnd { .. } => "FrameEnd",
            ServerMessage::CursorShape(_) => "CursorShape",
            ServerMessage::CursorCached { .. } => "CursorCached",
            ServerMessage::CursorPosition { .. } => "CursorPosition",
            ServerMessage::CursorHidden => "CursorHidden",
            ServerMessage::ClipboardText(_) => "ClipboardText",
            ServerMessage::Resized { .. } => "Resized",
            ServerMessage::Status { .. } => "Status",
            ServerMessage::Close { .. } => "Close",
            ServerMessage::Pong { .. } => "Pong",
            ServerMessage::AdminMessage { .. } => "AdminMessage",
            ServerMessage::PrintNotice { .. } => "PrintNotice",
        }
    }
}

/// Encodes one server→client message (one websocket binary frame).
pub fn encode_server(message: &ServerMessage) -> Vec<u8> {
    match message {
        ServerMessage::ServerHello(h) => {
            let mut w = Writer::new(SERVER_HELLO, 32 + h.resume_token.len());
            w.u16(h.version)
                .raw(&h.session_id)
                .u16(h.width)
                .u16(h.height)
                .short_bytes(&h.resume_token)
                .u32(h.capabilities.0);
            w.finish()
        }
        ServerMessage::Tile(t) => {
            let mut w = Writer::new(TILE, 9 + t.data.len());
            w.u16(t.x)
                .u16(t.y)
                .u16(t.w)
                .u16(t.h)
                .u8(t.encoding as u8)
                .raw(&t.data);
            w.finish()
        }
        ServerMessage::CopyRect(c) => {
            let mut w = Writer::new(COPY_RECT, 12);
            w.u16(c.src_x)
                .u16(c.src_y)
                .u16(c.w)
                .u16(c.h)
                .u16(c.dst_x)
                .u16(c.dst_y);
            w.finish()
        }
        ServerMessage::FrameEnd { frame_id } => {
            let mut w = Writer::new(FRAME_END, 4);
            w.u32(*frame_id);
            w.finish()
        }
        ServerMessage::CursorShape(c) => {
            let mut w = Writer::new(CURSOR_SHAPE, 10 + c.rgba.len());
            w.u16(c.id)
                .u16(c.hotspot_x)
                .u16(c.hotspot_y)
                .u16(c.w)
                .u16(c.h)
                .raw(&c.rgba);
            w.finish()
        }
        ServerMessage::CursorCached { id } => {
            let mut w = Writer::new(CURSOR_CACHED, 2);
            w.u16(*id);
            w.finish()
        }
        ServerMessage::CursorPosition { x, y } => {
            let mut w = Writer::new(CURSOR_POSITION, 4);
            w.u16(*x).u16(*y);
            w.finish()
        }
        ServerMessage::CursorHidden => Writer::new(CURSOR_HIDDEN, 0).finish(),
        ServerMessage::ClipboardText(text) => {
            let mut w = Writer::new(CLIPBOARD_TEXT, text.len());
            w.raw(text.as_bytes());
            w.finish()
        }
        ServerMessage::Resized { width, height } => {
            let mut w = Writer::new(RESIZED, 4);
            w.u16(*width).u16(*height);
            w.finish()
        }
        ServerMessage::Status {
            code,
            seconds,
            detail,
        } => {
            let mut w = Writer::new(STATUS, 5 + detail.len());
            w.u8(code.as_u8()).u16(*seconds).text16(detail);
            w.finish()
        }
        ServerMessage::Close { code, reason } => {
            let mut w = Writer::new(CLOSE, 4 + reason.len());
            w.u16(code.as_u16()).text16(reason);
            w.finish()
        }
        ServerMessage::Pong { timestamp } => {
            let mut w = Writer::new(PONG, 4);
            w.u32(*timestamp);
            w.finish()
        }
        ServerMessage::AdminMessage { sender, text } => {
            let mut w = Writer::new(ADMIN_MESSAGE, 4 + sender.len() + text.len());
            w.text16(sender).text16(text);
            w.finish()
        }
        ServerMessage::PrintNotice {
            job_id,
            title,
            outcome,
        } => {
            let (kind, pages, reason) = match outcome {
                PrintOutcome::Ready { pages } => (0, *pages, ""),
                PrintOutcome::Refused { reason } => (1, 0, reason.as_str()),
            };
            let mut w = Writer::new(PRINT_NOTICE, 25 + title.len() + reason.len());
            w.raw(job_id)
                .u8(kind)
                .u32(pages)
                .text16(title)
                .text16(reason);
            w.finish()
        }
    }
}

/// A refusal code: 1..=63 bytes of `a-z`, `0-9`, `_` (never free text).
fn refusal_code(reason: &str) -> bool {
    (1..=MAX_PRINT_REASON).contains(&reason.len())
        && reason
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Decodes one server→client message, enforcing `limits` on every field. Whether a
/// rectangle fits the *current* screen is checked by [`ServerStream`](super::ServerStream),
/// which knows the screen size.
pub fn decode_server(bytes: &[u8], limits: &Limits) -> Result<ServerMessage, WireError> {
    let max = limits.max_server_message();
    if bytes.len() > max {
        return Err(WireError::TooLarge {
            len: bytes.len(),
            max,
        });
    }
    let (&message_type, body) = bytes.split_first().ok_or(WireError::Empty)?;
    let dim = limits.dimension();
    let message = match message_type {
        SERVER_HELLO => {
            let mut r = Reader::new(body, "ServerHello");
            let version = r.u16()?;
            let session_id = r.bytes16()?;
            let width = check::extent("width", r.u16()?, dim)?;
            let height = check::extent("height", r.u16()?, dim)?;
            let token = r.short_bytes()?;
            check::len("resume_token", token.len(), MAX_RESUME_TOKEN)?;
            let capabilities = Capabilities(r.u32()?);
            r.finish()?;
            ServerMessage::ServerHello(ServerHello {
                version,
                session_id,
                width,
                height,
                resume_token: token.to_vec(),
                capabilities,
            })
        }
        TILE => {
            let mut r = Reader::new(body, "Tile");
            let [x, y, w, h] = [r.u16()?, r.u16()?, r.u16()?, r.u16()?];
            check::rect("tile", [x, y, w, h], dim, dim)?;
            let raw = r.u8()?;
            let encoding = TileEncoding::from_u8(raw).ok_or(WireError::InvalidValue {
                field: "encoding",
                value: u32::from(raw),
            })?;
            let data = r.rest();
            if data.is_empty() {
                return Err(WireError::Truncated {
                    kind: "Tile",
                    needed: 1,
                    remaining: 0,
                });
            }
            check::len("tile data", data.len(), limits.max_tile_payload)?;
            ServerMessage::Tile(Tile {
                x,
                y,
                w,
                h,
                encoding,
                data: data.to_vec(),
            })
        }
        COPY_RECT => {
            let mut r = Reader::new(body, "CopyRect");
            let c = CopyRect {
                src_x: r.u16()?,
                src_y: r.u16()?,
                w: r.u16()?,
                h: r.u16()?,
                dst_x: r.u16()?,
                dst_y: r.u16()?,
            };
            r.finish()?;
            check::rect("copy source", [c.src_x, c.src_y, c.w, c.h], dim, dim)?;
            check::rect("copy destination", [c.dst_x, c.dst_y, c.w, c.h], dim, dim)?;
            ServerMessage::CopyRect(c)
        }
        FRAME_END => {
            let mut r = Reader::new(body, "FrameEnd");
            let frame_id = r.u32()?;
            r.finish()?;
            ServerMessage::FrameEnd { frame_id }
        }
        CURSOR_SHAPE => {
            let mut r = Reader::new(body, "CursorShape");
            let id = r.u16()?;
            let hotspot_x = r.u16()?;
            let hotspot_y = r.u16()?;
            let w = check::extent("cursor width", r.u16()?, MAX_CURSOR_SIZE)?;
            let h = check::extent("cursor height", r.u16()?, MAX_CURSOR_SIZE)?;
            check::coord("hotspot_x", hotspot_x, w)?;
            check::coord("hotspot_y", hotspot_y, h)?;
            let rgba = r.rest();
            let expected = usize::from(w) * usize::from(h) * 4;
            if rgba.len() < expected {
                return Err(WireError::Truncated {
                    kind: "CursorShape",
                    needed: expected,
                    remaining: rgba.len(),
                });
            }
            if rgba.len() > expected {
                return Err(WireError::TrailingBytes {
                    kind: "CursorShape",
                    extra: rgba.len() - expected,
                });
            }
            ServerMessage::CursorShape(CursorShape {
                id,
                hotspot_x,
                hotspot_y,
                w,
                h,
                rgba: rgba.to_vec(),
            })
        }
        CURSOR_CACHED => {
            let mut r = Reader::new(body, "CursorCached");
            let id = r.u16()?;
            r.finish()?;
            ServerMessage::CursorCached { id }
        }
        CURSOR_POSITION => {
            let mut r = Reader::new(body, "CursorPosition");
            let x = check::coord("x", r.u16()?, dim)?;
            let y = check::coord("y", r.u16()?, dim)?;
            r.finish()?;
            ServerMessage::CursorPosition { x, y }
        }
        CURSOR_HIDDEN => {
            Reader::new(body, "CursorHidden").finish()?;
            ServerMessage::CursorHidden
        }
        CLIPBOARD_TEXT => {
            check::len("clipboard text", body.len(), limits.max_clipboard)?;
            ServerMessage::ClipboardText(utf8(body, "clipboard text")?)
        }
        RESIZED => {
            let mut r = Reader::new(body, "Resized");
            let width = check::extent("width", r.u16()?, dim)?;
            let height = check::extent("height", r.u16()?, dim)?;
            r.finish()?;
            ServerMessage::Resized { width, height }
        }
        STATUS => {
            let mut r = Reader::new(body, "Status");
            let raw = r.u8()?;
            let code = StatusCode::from_u8(raw).ok_or(WireError::InvalidValue {
                field: "status code",
                value: u32::from(raw),
            })?;
            let seconds = r.u16()?;
            let detail = r.text16("detail", MAX_DETAIL)?;
            r.finish()?;
            ServerMessage::Status {
                code,
                seconds,
                detail,
            }
        }
        CLOSE => {
            let mut r = Reader::new(body, "Close");
            let raw = r.u16()?;
            let code = CloseCode::from_u16(raw).ok_or(WireError::InvalidValue {
                field: "close code",
                value: u32::from(raw),
            })?;
            let reason = r.text16("reason", MAX_DETAIL)?;
            r.finish()?;
            ServerMessage::Close { code, reason }
        }
        PONG => {
            let mut r = Reader::new(body, "Pong");
            let timestamp = r.u32()?;
            r.finish()?;
            ServerMessage::Pong { timestamp }
        }
        ADMIN_MESSAGE => {
            let mut r = Reader::new(body, "AdminMessage");
            let sender = r.text16("sender", MAX_MESSAGE_SENDER)?;
            let text = r.text16("text", MAX_MESSAGE_TEXT)?;
            r.finish()?;
            ServerMessage::AdminMessage { sender, text }
        }
        PRINT_NOTICE => {
            let mut r = Reader::new(body, "PrintNotice");
            let job_id = r.bytes16()?;
            let kind = r.u8()?;
            let pages = r.u32()?;
            let title = r.text16("title", MAX_PRINT_TITLE)?;
            let reason = r.text16("reason", MAX_PRINT_REASON)?;
            r.finish()?;
            let outcome = match kind {
                0 if reason.is_empty() => PrintOutcome::Ready { pages },
                1 if pages == 0 && refusal_code(&reason) => PrintOutcome::Refused { reason },
                0 | 1 => {
                    return Err(WireError::InvalidValue {
                        field: "print notice fields",
                        value: u32::from(kind),
                    });
                }
                other => {
                    return Err(WireError::InvalidValue {
                        field: "print outcome",
                        value: u32::from(other),
                    });
                }
            };
            ServerMessage::PrintNotice {
                job_id,
                title,
                outcome,
            }
        }
        other => return Err(WireError::UnknownType(other)),
    };
    Ok(message)
}
