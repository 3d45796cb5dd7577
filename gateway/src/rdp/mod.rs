//! The RDP client leg: the gateway connects to a Remote Desktop host with IronRDP, decodes
//! its graphics into a framebuffer and turns browser input into RDP input.
//!
//! - [`connect`] runs the connection sequence (TCP, X.224, TLS under a [`CertPolicy`], NLA
//!   when the host wants it, activation, logon check) and returns an [`RdpSession`].
//! - [`RdpSession::start`] hands the session to its own task, which reports picture and
//!   pointer changes to a [`DisplaySink`] and returns an [`RdpHandle`] (input, resize, close,
//!   counters, clipboard text to the host) and a [`SessionTask`] (how it ended).
//! - With [`RdpParams::clipboard`] set, the cliprdr channel carries text both ways: the host's
//!   copies reach [`DisplaySink::clipboard`], [`RdpHandle::clipboard_to_host`] offers ours.
//!
//! - With [`RdpParams::printer`] set, one printer is redirected over RDPDR (rdpsnd offered
//!   beside it) and its jobs go to [`printer::PrintJobs`] ([`printer`]).
//!
//! Sans-IO parts: [`config`] (parameters → IronRDP configuration), [`clipboard`] (text
//! conversions, the oversize guard, the clipboard state machine), [`input`] (input →
//! fast-path events), `logon` (did the host accept the user: [`LogonCheck`]), [`sink`]
//! (rectangles and pixel access). I/O lives in `connect`, `tls`, `link` and `session`.
//!
//! Tested against real peers in `gateway/tests/gateway/rdp.rs`: the bundled demo host (TLS and
//! NLA), Debian's xrdp + xorgxrdp (TLS; bitmaps and RemoteFX) and freerdp-shadow (NLA).

pub mod clipboard;
pub mod config;
mod connect;
pub mod error;
pub mod input;
pub(crate) mod link;
mod logon;
pub mod printer;
pub mod session;
pub mod sink;
pub mod tls;

pub use clipboard::{ClipboardError, ClipboardPolicy, HostClipboard};
pub use config::{
    CertPolicy, HostCredentials, KEYBOARD_LAYOUT_SWEDISH, LogonCheck, RdpParams, SecurityMode,
};
pub use connect::{connect, connect_over};
pub use error::{Phase, RdpError};
pub use input::{InputState, MouseButton, RdpInput, WheelAxis};
pub use link::HostStream;
pub use session::{
    Counters, RdpHandle, RdpSession, ResizeOutcome, SessionEnd, SessionGone, SessionStats,
    SessionTask, TryInputError, process_bytes_in,
};
pub use sink::{
    DecodedImage, DecodedPointer, DisplaySink, PointerUpdate, Rect, copy_rgba, pixel_rgb,
};
