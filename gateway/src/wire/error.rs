//! Everything that can be wrong with a received message, each mapped to a close code.
//!
//! The endpoint closes the websocket with [`WireError::close_code`]; the close code, not
//! the error text, is what the browser shows the user (in Swedish or English).

use super::close::CloseCode;

/// A message that cannot be accepted. Decoding stops at the first problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("empty message")]
    Empty,
    #[error("unknown message type 0x{0:02x}")]
    UnknownType(u8),
    #[error("{kind} message truncated: needed {needed} more bytes, {remaining} left")]
    Truncated {
        kind: &'static str,
        needed: usize,
        remaining: usize,
    },
    #[error("{kind} message has {extra} trailing bytes")]
    TrailingBytes { kind: &'static str, extra: usize },
    #[error("message of {len} bytes exceeds the limit of {max}")]
    TooLarge { len: usize, max: usize },
    #[error("{field} is not valid UTF-8")]
    InvalidUtf8 { field: &'static str },
    #[error("{field} of {len} bytes exceeds the limit of {max}")]
    TextTooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
    #[error("{field} has the unknown value {value}")]
    InvalidValue { field: &'static str, value: u32 },
    #[error("{field} = {value} is outside {min}..={max}")]
    OutOfBounds {
        field: &'static str,
        value: u32,
        min: u32,
        max: u32,
    },
    #[error("frame {frame_id} was acknowledged but is not in flight")]
    UnexpectedAck { frame_id: u32 },
    #[error("protocol version {offered} is not supported (this side speaks {min}..={max})")]
    UnsupportedVersion { offered: u16, min: u16, max: u16 },
    #[error("{kind} is not allowed {when}")]
    UnexpectedMessage {
        kind: &'static str,
        when: &'static str,
    },
}

impl WireError {
    /// The websocket close code the endpoint sends for this error.
    pub fn close_code(&self) -> CloseCode {
        match self {
            WireError::Empty
            | WireError::Truncated { .. }
            | WireError::TrailingBytes { .. }
            | WireError::InvalidValue { .. } => CloseCode::MalformedMessage,
            WireError::UnknownType(_) => CloseCode::UnknownMessageType,
            WireError::TooLarge { .. } | WireError::TextTooLong { .. } => {
                CloseCode::MessageTooLarge
            }
            WireError::InvalidUtf8 { .. } => CloseCode::InvalidText,
            WireError::OutOfBounds { .. } => CloseCode::OutOfBounds,
            WireError::UnsupportedVersion { .. } => CloseCode::UnsupportedVersion,
            WireError::UnexpectedMessage { .. } => CloseCode::UnexpectedMessage,
            WireError::UnexpectedAck { .. } => CloseCode::FlowControl,
        }
    }
}
