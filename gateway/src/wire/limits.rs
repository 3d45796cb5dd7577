//! Size and range limits, configurable per gateway, with defaults sized for the service's
//! 4 Mbit/s client link.

/// The highest protocol version this build speaks.
pub const PROTOCOL_VERSION: u16 = 3;
/// The first version with AdminMessage, the lifecycle status codes (12, 13) and close
/// code 4305; the gateway sends none of them to an older viewer.
pub const LIFECYCLE_VERSION: u16 = 2;
/// The first version with PrintNotice; an older viewer is not told about print jobs (the
/// portal's "Mina utskrifter" still lists them).
pub const PRINT_VERSION: u16 = 3;
/// The lowest protocol version this build still accepts.
pub const MIN_PROTOCOL_VERSION: u16 = 1;

/// Width and height never exceed this: RDP's display control caps monitors at 8192.
pub const MAX_DIMENSION: u16 = 8192;
/// Cursor images are at most this wide and high (RDP large pointers are ≤ 384×384).
pub const MAX_CURSOR_SIZE: u16 = 384;
/// Resume tokens are opaque and at most this long.
pub const MAX_RESUME_TOKEN: usize = 64;
/// Keyboard layout hints (BCP 47 tags such as `sv-SE`) are at most this long.
pub const MAX_LAYOUT_HINT: usize = 32;
/// Status details and close reasons are at most this many UTF-8 bytes.
pub const MAX_DETAIL: usize = 1024;
/// An administrator's message is at most this many UTF-8 bytes (1000 characters of
/// Swedish text fit), its sender at most [`MAX_MESSAGE_SENDER`].
pub const MAX_MESSAGE_TEXT: usize = 4096;
pub const MAX_MESSAGE_SENDER: usize = 256;
/// A print job's title is at most this many UTF-8 bytes, its refusal code at most
/// [`MAX_PRINT_REASON`] bytes of `a-z`, `0-9` and `_`.
pub const MAX_PRINT_TITLE: usize = 1024;
pub const MAX_PRINT_REASON: usize = 63;
/// The display scale travels in percent; browsers zoom between 25 % and 1000 %.
pub const MIN_SCALE_PERCENT: u16 = 25;
pub const MAX_SCALE_PERCENT: u16 = 1000;

/// Limits a decoder enforces. The sender is expected to honour the same limits; the
/// receiver enforces them because it cannot trust the sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest tile payload (encoded image bytes) the server may send.
    pub max_tile_payload: usize,
    /// The largest client→server message other than clipboard text.
    pub max_client_message: usize,
    /// The largest clipboard text, in UTF-8 bytes, in either direction.
    pub max_clipboard: usize,
    /// The largest width or height of the screen (at most [`MAX_DIMENSION`]).
    pub max_dimension: u16,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_tile_payload: 4 * 1024 * 1024,
            max_client_message: 64 * 1024,
            max_clipboard: 1024 * 1024,
            max_dimension: MAX_DIMENSION,
        }
    }
}

impl Limits {
    /// The largest whole server→client message: a tile header plus payload, or a full-size
    /// cursor, or clipboard text, whichever is largest.
    pub fn max_server_message(&self) -> usize {
        let tile = 10 + self.max_tile_payload;
        let cursor = 11 + usize::from(MAX_CURSOR_SIZE) * usize::from(MAX_CURSOR_SIZE) * 4;
        let clipboard = 1 + self.max_clipboard;
        tile.max(cursor).max(clipboard)
    }

    /// The largest dimension actually enforced, never above the protocol's [`MAX_DIMENSION`].
    pub(crate) fn dimension(&self) -> u16 {
        self.max_dimension.min(MAX_DIMENSION)
    }
}
