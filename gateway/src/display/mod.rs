//! Display: the server-side framebuffer the RDP leg paints into, damage tracking, and the
//! tile encoder that turns damage into frames for the browser. Sans-IO: pixels in, encoded
//! tile operations out; the websocket endpoint calls [`Encoder::take_frame`] once per pacing
//! tick and [`Encoder::ack`] when the browser confirms a frame.
//!
//! ```text
//! RDP leg ──write_rect / fill / copy_within──▶ Framebuffer ──damage_since──▶ Encoder ──▶ Frame
//! ```

mod codec;
mod damage;
mod encoder;
mod framebuffer;
mod geometry;
mod raster;
mod scroll;

pub use codec::{PngLevel, encode_jpeg, encode_png, encode_png_with, encode_webp};
pub use damage::{CELL, Damage};
pub use encoder::{Encoder, EncoderConfig, Encoding, Frame, Lossless, Tile, TileOp};
pub use framebuffer::{Framebuffer, HostCopy, MAX_SIDE, PixelFormat};
pub use geometry::{Point, Rect};

/// Why a display operation failed. Each is the host's or the caller's fault, never a panic.
#[derive(Debug, thiserror::Error)]
pub enum DisplayError {
    #[error("screen size {width}x{height} is outside 1..={MAX_SIDE}")]
    BadSize { width: u32, height: u32 },
    #[error("pixel rows of {stride} bytes are shorter than the rectangle's {min}")]
    BadStride { stride: usize, min: usize },
    #[error("pixel buffer holds {got} bytes, the rectangle needs {needed}")]
    ShortBuffer { needed: usize, got: usize },
    #[error("tile encoding failed: {0}")]
    Encode(String),
}
