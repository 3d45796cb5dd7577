//! The packets of the MS-TSGU HTTP transport ([MS-TSGU] §2.2.10): an 8-byte
//! `HTTP_PACKET_HEADER` (packetType, reserved, packetLength, all little-endian) and a body
//! per type. [`Packet::decode`] reads one complete packet, [`Packet::encode`] writes one;
//! both directions are here so tests, the fuzz target and benchmarks can play the client.
//!
//! Strings are `HTTP_UNICODE_STRING`s: a byte count, then UTF-16LE that clients end with a
//! NUL (FreeRDP 2.11 and 3 count the NUL in the length). Decoding trims trailing NULs and
//! refuses unpaired surrogates and NULs inside the text, so a resource name or cookie is
//! never two different strings to two readers. The codec is pure: no I/O, no allocation
//! beyond the decoded packet, every length checked against the packet before it is used.

use std::fmt;

/// `HTTP_PACKET_HEADER`: packetType (u16), reserved (u16), packetLength (u32, header included).
pub const HEADER_LEN: usize = 8;
/// A data packet's header plus its cbDataLen (u16) field.
pub const DATA_OVERHEAD: usize = HEADER_LEN + 2;
/// cbDataLen is 16 bits: no data packet carries more.
pub const MAX_DATA_PAYLOAD: usize = u16::MAX as usize;
/// [MS-TSGU] §2.2.9.1: 1 to 50 resource names, 0 to 3 alternates.
pub const MAX_RESOURCES: usize = 50;
pub const MAX_ALT_RESOURCES: usize = 3;

/// `HTTP_PACKET_TYPE` values (§2.2.5.3.3).
pub mod packet_type {
    pub const HANDSHAKE_REQUEST: u16 = 0x1;
    pub const HANDSHAKE_RESPONSE: u16 = 0x2;
    pub const EXTENDED_AUTH_MSG: u16 = 0x3;
    pub const TUNNEL_CREATE: u16 = 0x4;
    pub const TUNNEL_RESPONSE: u16 = 0x5;
    pub const TUNNEL_AUTH: u16 = 0x6;
    pub const TUNNEL_AUTH_RESPONSE: u16 = 0x7;
    pub const CHANNEL_CREATE: u16 = 0x8;
    pub const CHANNEL_RESPONSE: u16 = 0x9;
    pub const DATA: u16 = 0xA;
    pub const SERVICE_MESSAGE: u16 = 0xB;
    pub const REAUTH_MESSAGE: u16 = 0xC;
    pub const KEEPALIVE: u16 = 0xD;
    pub const CLOSE_CHANNEL: u16 = 0x10;
    pub const CLOSE_CHANNEL_RESPONSE: u16 = 0x11;
}

/// `HTTP_EXTENDED_AUTH` (§2.2.5.3.2), offered in the handshake request.
pub mod extended_auth {
    pub const NONE: u16 = 0x0;
    pub const SC: u16 = 0x1;
    pub const PAA: u16 = 0x2;
    pub const SSPI_NTLM: u16 = 0x4;
}

/// `HTTP_CAPABILITY_TYPE` (§2.2.5.3.9), the tunnel packet's and response's capsFlags.
pub mod capability {
    pub const QUAR_SOH: u32 = 0x1;
    pub const IDLE_TIMEOUT: u32 = 0x2;
    pub const MESSAGING_CONSENT_SIGN: u32 = 0x4;
    pub const MESSAGING_SERVICE_MSG: u32 = 0x8;
    pub const REAUTH: u32 = 0x10;
    pub const UDP_TRANSPORT: u32 = 0x20;
}

/// `HTTP_TUNNEL_REDIR_FLAGS` (§2.2.5.3.7), in the tunnel authorization response.
pub mod redir {
    pub const ENABLE_ALL: u32 = 0x8000_0000;
    pub const DISABLE_ALL: u32 = 0x4000_0000;
    pub const DISABLE_DRIVE: u32 = 0x1;
    pub const DISABLE_PRINTER: u32 = 0x2;
    pub const DISABLE_PORT: u32 = 0x4;
    pub const DISABLE_CLIPBOARD: u32 = 0x8;
    pub const DISABLE_PNP: u32 = 0x10;
}

/// The fieldsPresent bits of each packet that has optional fields.
mod fields {
    pub const TUNNEL_PAA_COOKIE: u16 = 0x1;
    pub const TUNNEL_REAUTH: u16 = 0x2;
    pub const TUNNEL_RESPONSE_TUNNEL_ID: u16 = 0x1;
    pub const TUNNEL_RESPONSE_CAPS: u16 = 0x2;
    pub const TUNNEL_RESPONSE_SOH_REQ: u16 = 0x4;
    pub const TUNNEL_RESPONSE_CONSENT_MSG: u16 = 0x10;
    pub const TUNNEL_AUTH_SOH: u16 = 0x1;
    pub const AUTH_RESPONSE_REDIR_FLAGS: u16 = 0x1;
    pub const AUTH_RESPONSE_IDLE_TIMEOUT: u16 = 0x2;
    pub const AUTH_RESPONSE_SOH_RESPONSE: u16 = 0x4;
    pub const CHANNEL_RESPONSE_CHANNEL_ID: u16 = 0x1;
    pub const CHANNEL_RESPONSE_AUTHN_COOKIE: u16 = 0x2;
    pub const CHANNEL_RESPONSE_UDP_PORT: u16 = 0x4;
}

/// A status code of the protocol (§2.2.6): an HRESULT, or for a few codes the spec lists
/// only `HRESULT_CODE(...)`, its low 16 bits.
///
/// Refusals sent in a handshake, tunnel, tunnel-authorization or channel response must
/// carry the HRESULT severity bit: FreeRDP tests those with `FAILED()` and would take
/// `0x000059DD` for success. The constants below are therefore the full `0x8007xxxx` form
/// wherever a response may carry them, and [`HResult::as_refusal`] repairs any other code.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct HResult(pub u32);

impl HResult {
    pub const ERROR_SUCCESS: Self = Self(0x0000_0000);
    pub const ERROR_ACCESS_DENIED: Self = Self(0x0000_0005);
    /// The target server closed the connection unexpectedly.
    pub const ERROR_BAD_ARGUMENTS: Self = Self(0x0000_00A0);
    /// The connection was ended by the client.
    pub const ERROR_GRACEFUL_DISCONNECT: Self = Self(0x0000_04CA);
    pub const E_PROXY_INTERNALERROR: Self = Self(0x8007_59D8);
    /// The target server is not one this tunnel may reach.
    pub const E_PROXY_RAP_ACCESSDENIED: Self = Self(0x8007_59DA);
    pub const E_PROXY_NAP_ACCESSDENIED: Self = Self(0x8007_59DB);
    /// The gateway could not connect to the target server.
    pub const E_PROXY_TS_CONNECTFAILED: Self = Self(0x8007_59DD);
    pub const E_PROXY_ALREADYDISCONNECTED: Self = Self(0x8007_59DF);
    pub const E_PROXY_MAXCONNECTIONSREACHED: Self = Self(0x8007_59E6);
    /// An unsupported packet.
    pub const E_PROXY_NOTSUPPORTED: Self = Self(0x8007_59E8);
    pub const E_PROXY_CAPABILITYMISMATCH: Self = Self(0x8007_59E9);
    pub const E_PROXY_QUARANTINE_ACCESSDENIED: Self = Self(0x8007_59ED);
    pub const E_PROXY_NOCERTAVAILABLE: Self = Self(0x8007_59EE);
    /// A malformed tunnel packet (the PAA cookie).
    pub const E_PROXY_COOKIE_BADPACKET: Self = Self(0x8007_59F7);
    /// The PAA cookie does not grant access.
    pub const E_PROXY_COOKIE_AUTHENTICATION_ACCESS_DENIED: Self = Self(0x8007_59F8);
    /// The client asked for an authentication method this gateway does not speak.
    pub const E_PROXY_UNSUPPORTED_AUTHENTICATION_METHOD: Self = Self(0x8007_59F9);
    /// Sent in a close packet (spec form): the session timed out.
    pub const E_PROXY_SESSIONTIMEOUT: Self = Self(0x0000_59F6);
    /// Sent in a close packet (spec form): an administrator ended the connection.
    pub const E_PROXY_CONNECTIONABORTED: Self = Self(0x0000_04D4);
    pub const SEC_E_LOGON_DENIED: Self = Self(0x8009_030C);

    const NAMES: &'static [(HResult, &'static str)] = &[
        (Self::ERROR_SUCCESS, "ERROR_SUCCESS"),
        (Self::ERROR_ACCESS_DENIED, "ERROR_ACCESS_DENIED"),
        (Self::ERROR_BAD_ARGUMENTS, "ERROR_BAD_ARGUMENTS"),
        (Self::ERROR_GRACEFUL_DISCONNECT, "ERROR_GRACEFUL_DISCONNECT"),
        (Self::E_PROXY_INTERNALERROR, "E_PROXY_INTERNALERROR"),
        (Self::E_PROXY_RAP_ACCESSDENIED, "E_PROXY_RAP_ACCESSDENIED"),
        (Self::E_PROXY_NAP_ACCESSDENIED, "E_PROXY_NAP_ACCESSDENIED"),
        (Self::E_PROXY_TS_CONNECTFAILED, "E_PROXY_TS_CONNECTFAILED"),
        (
            Self::E_PROXY_ALREADYDISCONNECTED,
            "E_PROXY_ALREADYDISCONNECTED",
        ),
        (
            Self::E_PROXY_MAXCONNECTIONSREACHED,
            "E_PROXY_MAXCONNECTIONSREACHED",
        ),
        (Self::E_PROXY_NOTSUPPORTED, "E_PROXY_NOTSUPPORTED"),
        (
            Self::E_PROXY_CAPABILITYMISMATCH,
            "E_PROXY_CAPABILITYMISMATCH",
        ),
        (
            Self::E_PROXY_QUARANTINE_ACCESSDENIED,
            "E_PROXY_QUARANTINE_ACCESSDENIED",
        ),
        (Self::E_PROXY_NOCERTAVAILABLE, "E_PROXY_NOCERTAVAILABLE"),
        (Self::E_PROXY_COOKIE_BADPACKET, "E_PROXY_COOKIE_BADPACKET"),
        (
            Self::E_PROXY_COOKIE_AUTHENTICATION_ACCESS_DENIED,
            "E_PROXY_COOKIE_AUTHENTICATION_ACCESS_DENIED",
        ),
        (
            Self::E_PROXY_UNSUPPORTED_AUTHENTICATION_METHOD,
            "E_PROXY_UNSUPPORTED_AUTHENTICATION_METHOD",
        ),
        (Self::E_PROXY_SESSIONTIMEOUT, "E_PROXY_SESSIONTIMEOUT"),
        (Self::E_PROXY_CONNECTIONABORTED, "E_PROXY_CONNECTIONABORTED"),
        (Self::SEC_E_LOGON_DENIED, "SEC_E_LOGON_DENIED"),
    ];

    /// The constant's name, for logs and audit details.
    pub fn name(self) -> Option<&'static str> {
        Self::NAMES
            .iter()
            .find(|(code, _)| *code == self)
            .map(|(_, name)| *name)
    }

    pub fn is_success(self) -> bool {
        self.0 == 0
    }

    /// The code as a response's refusal: with the severity bit clients test for. Success
    /// is no refusal, so it becomes `E_PROXY_INTERNALERROR`; a bare Win32 or
    /// `HRESULT_CODE` value becomes `0x8007xxxx` (what `HRESULT_FROM_WIN32` makes of it).
    pub fn as_refusal(self) -> Self {
        if self.0 & 0x8000_0000 != 0 {
            self
        } else if self.0 == 0 {
            Self::E_PROXY_INTERNALERROR
        } else {
            Self(0x8007_0000 | (self.0 & 0xFFFF))
        }
    }
}

impl fmt::Debug for HResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name}(0x{:08X})", self.0),
            None => write!(f, "HResult(0x{:08X})", self.0),
        }
    }
}

impl fmt::Display for HResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name} (0x{:08X})", self.0),
            None => write!(f, "0x{:08X}", self.0),
        }
    }
}

/// Bounds of one tunnel. Every packet from the client is judged by its header before its
/// body is buffered, so a tunnel never holds more than one `max_packet` of input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest packet accepted from the client, header included (default 64 KiB: a full
    /// data packet of 65,535 bytes would be 65,545, which FreeRDP never sends; each of its
    /// data packets carries one TLS record of the RDP connection, about 16 KiB at most).
    /// Raised to at least 256.
    pub max_packet: usize,
    /// Largest packet sent to the client, header included; host bytes are split into data
    /// packets of at most this size (and at most 65,535 payload bytes). Raised to at least 64.
    pub max_send_packet: usize,
    /// Service messages held back until the channel opens; later ones are dropped.
    pub max_pending_messages: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_packet: 64 * 1024,
            max_send_packet: 64 * 1024,
            max_pending_messages: 8,
        }
    }
}

impl Limits {
    pub(crate) fn normalized(self) -> Self {
        Self {
            max_packet: self.max_packet.max(256),
            max_send_packet: self
                .max_send_packet
                .clamp(64, DATA_OVERHEAD + MAX_DATA_PAYLOAD),
            max_pending_messages: self.max_pending_messages,
        }
    }

    /// Payload bytes of one outgoing data packet.
    pub fn send_chunk(&self) -> usize {
        self.normalized().max_send_packet - DATA_OVERHEAD
    }
}

/// What is wrong with a packet's bytes. Texts name fields, never their content (the PAA
/// cookie is a credential).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("packet length {declared} is shorter than the 8-byte header")]
    LengthBelowHeader { declared: u32 },
    #[error("packet of {declared} bytes exceeds the limit of {max}")]
    Oversized { declared: u32, max: usize },
    #[error("packet length {declared} disagrees with the {actual} bytes given")]
    LengthMismatch { declared: u32, actual: usize },
    #[error("unknown packet type 0x{0:04x}")]
    UnknownType(u16),
    #[error("{packet}: {field} runs past the end of the packet")]
    Truncated {
        packet: &'static str,
        field: &'static str,
    },
    #[error("{packet}: {field} is not valid UTF-16")]
    BadUtf16 {
        packet: &'static str,
        field: &'static str,
    },
    #[error("{packet}: {field} contains a NUL before its end")]
    EmbeddedNul {
        packet: &'static str,
        field: &'static str,
    },
    #[error("{packet}: {field} = {value} is outside {min}..={max}")]
    OutOfRange {
        packet: &'static str,
        field: &'static str,
        value: u32,
        min: u32,
        max: u32,
    },
    #[error("{packet}: {what} is not supported")]
    Unsupported {
        packet: &'static str,
        what: &'static str,
    },
}

/// A field too large for its length prefix when encoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} of {len} bytes does not fit its 16-bit length")]
pub struct EncodeError {
    pub field: &'static str,
    pub len: usize,
}

/// The header of a packet: its type and its declared length (header included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub packet_type: u16,
    pub length: u32,
}

impl Header {
    /// Reads the header at the start of `bytes`, `None` when fewer than 8 bytes are there.
    /// Judges the length at once: below the header or above `max_packet` is an error.
    pub fn peek(bytes: &[u8], max_packet: usize) -> Result<Option<Self>, DecodeError> {
        let Some(head) = bytes.get(..HEADER_LEN) else {
            return Ok(None);
        };
        let packet_type = u16::from_le_bytes([head[0], head[1]]);
        let length = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        if (length as usize) < HEADER_LEN {
            return Err(DecodeError::LengthBelowHeader { declared: length });
        }
        if length as usize > max_packet {
            return Err(DecodeError::Oversized {
                declared: length,
                max: max_packet,
            });
        }
        Ok(Some(Self {
            packet_type,
            length,
        }))
    }
}

/// `HTTP_HANDSHAKE_REQUEST_PACKET` (§2.2.10.10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakeRequest {
    pub version_major: u8,
    pub version_minor: u8,
    /// Must be 0.
    pub client_version: u16,
    /// [`extended_auth`] bits the client offers.
    pub extended_auth: u16,
}

/// `HTTP_HANDSHAKE_RESPONSE_PACKET` (§2.2.10.11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakeResponse {
    pub status: HResult,
    pub version_major: u8,
    pub version_minor: u8,
    pub server_version: u16,
    /// The [`extended_auth`] method the server chose.
    pub extended_auth: u16,
}

/// `HTTP_TUNNEL_PACKET` + `_OPTIONAL` (§2.2.10.18–19). The optional part holds the
/// reauthentication context (8 bytes, when flagged) and then the PAA cookie (when flagged).
#[derive(Clone, PartialEq, Eq)]
pub struct TunnelCreate {
    pub capabilities: u32,
    pub reauth_context: Option<u64>,
    /// The PAA cookie: a credential, so `Debug` shows only its length.
    pub paa_cookie: Option<String>,
}

impl fmt::Debug for TunnelCreate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TunnelCreate")
            .field("capabilities", &format_args!("0x{:x}", self.capabilities))
            .field("reauth_context", &self.reauth_context)
            .field("paa_cookie", &Redacted(self.paa_cookie.as_deref()))
            .finish()
    }
}

/// Shows that a secret string is there and how long it is, never what it says.
pub(crate) struct Redacted<'a>(pub Option<&'a str>);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(text) => write!(f, "Some(<{} characters>)", text.chars().count()),
            None => f.write_str("None"),
        }
    }
}

/// `HTTP_TUNNEL_RESPONSE` + `_OPTIONAL` (§2.2.10.20–21). Hamn never asks for a statement
/// of health, so the SoH request fields are not modelled (decoding them is `Unsupported`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TunnelResponse {
    pub server_version: u16,
    pub status: HResult,
    pub tunnel_id: Option<u32>,
    pub capabilities: Option<u32>,
    pub consent_message: Option<String>,
}

/// `HTTP_TUNNEL_AUTH_PACKET` + `_OPTIONAL` (§2.2.10.14–15).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TunnelAuth {
    pub client_name: String,
    pub statement_of_health: Option<Vec<u8>>,
}

/// `HTTP_TUNNEL_AUTH_RESPONSE` + `_OPTIONAL` (§2.2.10.16–17).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TunnelAuthResponse {
    pub status: HResult,
    /// [`redir`] flags.
    pub redirection_flags: Option<u32>,
    pub idle_timeout_minutes: Option<u32>,
    pub soh_response: Option<Vec<u8>>,
}

/// `HTTP_CHANNEL_PACKET` + `_VARIABLE` (§2.2.10.2–3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelCreate {
    pub resources: Vec<String>,
    pub alt_resources: Vec<String>,
    pub port: u16,
    /// 3 (RDP) for every known client.
    pub protocol: u16,
}

/// `HTTP_CHANNEL_RESPONSE` + `_OPTIONAL` (§2.2.10.4–5); optional fields in the order
/// channelId, udpPort, authnCookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelResponse {
    pub status: HResult,
    pub channel_id: Option<u32>,
    pub udp_port: Option<u16>,
    pub authn_cookie: Option<Vec<u8>>,
}

/// One MS-TSGU HTTP transport packet, of either direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    HandshakeRequest(HandshakeRequest),
    HandshakeResponse(HandshakeResponse),
    /// `HTTP_EXTENDED_AUTH_MSG` (SSPI NTLM): an error code and a blob.
    ExtendedAuth {
        status: HResult,
        blob: Vec<u8>,
    },
    TunnelCreate(TunnelCreate),
    TunnelResponse(TunnelResponse),
    TunnelAuth(TunnelAuth),
    TunnelAuthResponse(TunnelAuthResponse),
    ChannelCreate(ChannelCreate),
    ChannelResponse(ChannelResponse),
    /// `HTTP_DATA_PACKET`: cbDataLen then the bytes.
    Data(Vec<u8>),
    /// `HTTP_SERVICE_MESSAGE_PACKET`: one `HTTP_UNICODE_STRING`.
    ServiceMessage(String),
    /// `HTTP_REAUTH_MESSAGE_PACKET`: the reauthentication tunnel context.
    ReauthMessage(u64),
    /// `HTTP_KEEPALIVE_PACKET`: the header alone.
    Keepalive,
    /// `HTTP_CLOSE_PACKET` (type CLOSE_CHANNEL): a status code.
    CloseChannel(HResult),
    /// `HTTP_CLOSE_PACKET` (type CLOSE_CHANNEL_RESPONSE): a status code.
    CloseChannelResponse(HResult),
}

impl Packet {
    /// The spec's name of the packet, for errors and logs.
    pub fn name(&self) -> &'static str {
        type_name(self.packet_type())
    }

    pub fn packet_type(&self) -> u16 {
        use packet_type as t;
        match self {
            Packet::HandshakeRequest(_) => t::HANDSHAKE_REQUEST,
            Packet::HandshakeResponse(_) => t::HANDSHAKE_RESPONSE,
            Packet::ExtendedAuth { .. } => t::EXTENDED_AUTH_MSG,
            Packet::TunnelCreate(_) => t::TUNNEL_CREATE,
            Packet::TunnelResponse(_) => t::TUNNEL_RESPONSE,
            Packet::TunnelAuth(_) => t::TUNNEL_AUTH,
            Packet::TunnelAuthResponse(_) => t::TUNNEL_AUTH_RESPONSE,
            Packet::ChannelCreate(_) => t::CHANNEL_CREATE,
            Packet::ChannelResponse(_) => t::CHANNEL_RESPONSE,
            Packet::Data(_) => t::DATA,
            Packet::ServiceMessage(_) => t::SERVICE_MESSAGE,
            Packet::ReauthMessage(_) => t::REAUTH_MESSAGE,
            Packet::Keepalive => t::KEEPALIVE,
            Packet::CloseChannel(_) => t::CLOSE_CHANNEL,
            Packet::CloseChannelResponse(_) => t::CLOSE_CHANNEL_RESPONSE,
        }
    }

    /// Decodes one complete packet: `bytes` is exactly the packet its header declares.
    /// Fields a packet does not flag as present are not read; bytes after the last field
    /// of a control packet are ignored (as FreeRDP does), a data packet must be exact.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let header = Header::peek(bytes, usize::MAX)?.ok_or(DecodeError::LengthBelowHeader {
            declared: bytes.len() as u32,
        })?;
        if header.length as usize != bytes.len() {
            return Err(DecodeError::LengthMismatch {
                declared: header.length,
                actual: bytes.len(),
            });
        }
        let name = type_name(header.packet_type);
        let mut r = Reader {
            bytes: &bytes[HEADER_LEN..],
            packet: name,
        };
        use packet_type as t;
        let packet = match header.packet_type {
            t::HANDSHAKE_REQUEST => Packet::HandshakeRequest(HandshakeRequest {
                version_major: r.u8("versionMajor")?,
                version_minor: r.u8("versionMinor")?,
                client_version: r.u16("clientVersion")?,
                extended_auth: r.u16("extendedAuth")?,
            }),
            t::HANDSHAKE_RESPONSE => Packet::HandshakeResponse(HandshakeResponse {
                status: HResult(r.u32("errorCode")?),
                version_major: r.u8("versionMajor")?,
                version_minor: r.u8("versionMinor")?,
                server_version: r.u16("serverVersion")?,
                extended_auth: r.u16("extendedAuth")?,
            }),
            t::EXTENDED_AUTH_MSG => Packet::ExtendedAuth {
                status: HResult(r.u32("errorCode")?),
                blob: r.blob("authBlob")?.to_vec(),
            },
            t::TUNNEL_CREATE => {
                let capabilities = r.u32("capsFlags")?;
                let present = r.u16("fieldsPresent")?;
                r.u16("reserved")?;
                let reauth_context = if present & fields::TUNNEL_REAUTH != 0 {
                    Some(r.u64("reauthTunnelContext")?)
                } else {
                    None
                };
                let paa_cookie = if present & fields::TUNNEL_PAA_COOKIE != 0 {
                    Some(r.unicode("PAACookie")?)
                } else {
                    None
                };
                Packet::TunnelCreate(TunnelCreate {
                    capabilities,
                    reauth_context,
                    paa_cookie,
                })
            }
            t::TUNNEL_RESPONSE => {
                let server_version = r.u16("serverVersion")?;
                let status = HResult(r.u32("statusCode")?);
                let present = r.u16("fieldsPresent")?;
                r.u16("reserved")?;
                let tunnel_id =
                    r.optional_u32(present, fields::TUNNEL_RESPONSE_TUNNEL_ID, "tunnelId")?;
                let capabilities =
                    r.optional_u32(present, fields::TUNNEL_RESPONSE_CAPS, "capsFlags")?;
                if present & fields::TUNNEL_RESPONSE_SOH_REQ != 0 {
                    return Err(DecodeError::Unsupported {
                        packet: name,
                        what: "a statement of health request",
                    });
                }
                let consent_message = if present & fields::TUNNEL_RESPONSE_CONSENT_MSG != 0 {
                    Some(r.unicode("consentMsg")?)
                } else {
                    None
                };
                Packet::TunnelResponse(TunnelResponse {
                    server_version,
                    status,
                    tunnel_id,
                    capabilities,
                    consent_message,
                })
            }
            t::TUNNEL_AUTH => {
                let present = r.u16("fieldsPresent")?;
                let client_name = r.unicode("clientName")?;
                let statement_of_health = if present & fields::TUNNEL_AUTH_SOH != 0 {
                    Some(r.blob("statementOfHealth")?.to_vec())
                } else {
                    None
                };
                Packet::TunnelAuth(TunnelAuth {
                    client_name,
                    statement_of_health,
                })
            }
            t::TUNNEL_AUTH_RESPONSE => {
                let status = HResult(r.u32("errorCode")?);
                let present = r.u16("fieldsPresent")?;
                r.u16("reserved")?;
                let redirection_flags =
                    r.optional_u32(present, fields::AUTH_RESPONSE_REDIR_FLAGS, "redirFlags")?;
                let idle_timeout_minutes =
                    r.optional_u32(present, fields::AUTH_RESPONSE_IDLE_TIMEOUT, "idleTimeout")?;
                let soh_response = if present & fields::AUTH_RESPONSE_SOH_RESPONSE != 0 {
                    Some(r.blob("SoHResponse")?.to_vec())
                } else {
                    None
                };
                Packet::TunnelAuthResponse(TunnelAuthResponse {
                    status,
                    redirection_flags,
                    idle_timeout_minutes,
                    soh_response,
                })
            }
            t::CHANNEL_CREATE => {
                let count = r.u8("numResources")?;
                let alt_count = r.u8("numAltResources")?;
                check_range(name, "numResources", count, 1, MAX_RESOURCES)?;
                check_range(name, "numAltResources", alt_count, 0, MAX_ALT_RESOURCES)?;
                let port = r.u16("port")?;
                let protocol = r.u16("protocol")?;
                let mut resources = Vec::with_capacity(count as usize);
                for _ in 0..count {
                    resources.push(r.unicode("resourceName")?);
                }
                let mut alt_resources = Vec::with_capacity(alt_count as usize);
                for _ in 0..alt_count {
                    alt_resources.push(r.unicode("altResourceName")?);
                }
                Packet::ChannelCreate(ChannelCreate {
                    resources,
                    alt_resources,
                    port,
                    protocol,
                })
            }
            t::CHANNEL_RESPONSE => {
                let status = HResult(r.u32("errorCode")?);
                let present = r.u16("fieldsPresent")?;
                r.u16("reserved")?;
                let channel_id =
                    r.optional_u32(present, fields::CHANNEL_RESPONSE_CHANNEL_ID, "channelId")?;
                let udp_port = if present & fields::CHANNEL_RESPONSE_UDP_PORT != 0 {
                    Some(r.u16("udpPort")?)
                } else {
                    None
                };
                let authn_cookie = if present & fields::CHANNEL_RESPONSE_AUTHN_COOKIE != 0 {
                    Some(r.blob("authnCookie")?.to_vec())
                } else {
                    None
                };
                Packet::ChannelResponse(ChannelResponse {
                    status,
                    channel_id,
                    udp_port,
                    authn_cookie,
                })
            }
            t::DATA => {
                let data = r.blob("data")?;
                if !r.bytes.is_empty() {
                    // cbDataLen and packetLength must tell the same story: the relay
                    // forwards cbDataLen bytes, so any excess is a lie about one of them.
                    return Err(DecodeError::LengthMismatch {
                        declared: header.length,
                        actual: DATA_OVERHEAD + data.len(),
                    });
                }
                Packet::Data(data.to_vec())
            }
            t::SERVICE_MESSAGE => Packet::ServiceMessage(r.unicode("message")?),
            t::REAUTH_MESSAGE => Packet::ReauthMessage(r.u64("reauthTunnelContext")?),
            t::KEEPALIVE => Packet::Keepalive,
            t::CLOSE_CHANNEL => Packet::CloseChannel(HResult(r.u32("statusCode")?)),
            t::CLOSE_CHANNEL_RESPONSE => {
                Packet::CloseChannelResponse(HResult(r.u32("statusCode")?))
            }
            other => return Err(DecodeError::UnknownType(other)),
        };
        Ok(packet)
    }

    /// Encodes the packet, header included.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let mut w = Writer::new(self.packet_type());
        match self {
            Packet::HandshakeRequest(p) => {
                w.u8(p.version_major);
                w.u8(p.version_minor);
                w.u16(p.client_version);
                w.u16(p.extended_auth);
            }
            Packet::HandshakeResponse(p) => {
                w.u32(p.status.0);
                w.u8(p.version_major);
                w.u8(p.version_minor);
                w.u16(p.server_version);
                w.u16(p.extended_auth);
            }
            Packet::ExtendedAuth { status, blob } => {
                w.u32(status.0);
                w.blob("authBlob", blob)?;
            }
            Packet::TunnelCreate(p) => {
                let mut present = 0;
                if p.reauth_context.is_some() {
                    present |= fields::TUNNEL_REAUTH;
                }
                if p.paa_cookie.is_some() {
                    present |= fields::TUNNEL_PAA_COOKIE;
                }
                w.u32(p.capabilities);
                w.u16(present);
                w.u16(0);
                if let Some(context) = p.reauth_context {
                    w.u64(context);
                }
                if let Some(cookie) = &p.paa_cookie {
                    w.unicode("PAACookie", cookie)?;
                }
            }
            Packet::TunnelResponse(p) => {
                let mut present = 0;
                if p.tunnel_id.is_some() {
                    present |= fields::TUNNEL_RESPONSE_TUNNEL_ID;
                }
                if p.capabilities.is_some() {
                    present |= fields::TUNNEL_RESPONSE_CAPS;
                }
                if p.consent_message.is_some() {
                    present |= fields::TUNNEL_RESPONSE_CONSENT_MSG;
                }
                w.u16(p.server_version);
                w.u32(p.status.0);
                w.u16(present);
                w.u16(0);
                if let Some(id) = p.tunnel_id {
                    w.u32(id);
                }
                if let Some(caps) = p.capabilities {
                    w.u32(caps);
                }
                if let Some(message) = &p.consent_message {
                    w.unicode("consentMsg", message)?;
                }
            }
            Packet::TunnelAuth(p) => {
                let present = if p.statement_of_health.is_some() {
                    fields::TUNNEL_AUTH_SOH
                } else {
                    0
                };
                w.u16(present);
                w.unicode("clientName", &p.client_name)?;
                if let Some(soh) = &p.statement_of_health {
                    w.blob("statementOfHealth", soh)?;
                }
            }
            Packet::TunnelAuthResponse(p) => {
                let mut present = 0;
                if p.redirection_flags.is_some() {
                    present |= fields::AUTH_RESPONSE_REDIR_FLAGS;
                }
                if p.idle_timeout_minutes.is_some() {
                    present |= fields::AUTH_RESPONSE_IDLE_TIMEOUT;
                }
                if p.soh_response.is_some() {
                    present |= fields::AUTH_RESPONSE_SOH_RESPONSE;
                }
                w.u32(p.status.0);
                w.u16(present);
                w.u16(0);
                if let Some(flags) = p.redirection_flags {
                    w.u32(flags);
                }
                if let Some(minutes) = p.idle_timeout_minutes {
                    w.u32(minutes);
                }
                if let Some(soh) = &p.soh_response {
                    w.blob("SoHResponse", soh)?;
                }
            }
            Packet::ChannelCreate(p) => {
                let count = u8::try_from(p.resources.len()).map_err(|_| EncodeError {
                    field: "numResources",
                    len: p.resources.len(),
                })?;
                let alt_count = u8::try_from(p.alt_resources.len()).map_err(|_| EncodeError {
                    field: "numAltResources",
                    len: p.alt_resources.len(),
                })?;
                w.u8(count);
                w.u8(alt_count);
                w.u16(p.port);
                w.u16(p.protocol);
                for name in &p.resources {
                    w.unicode("resourceName", name)?;
                }
                for name in &p.alt_resources {
                    w.unicode("altResourceName", name)?;
                }
            }
            Packet::ChannelResponse(p) => {
                let mut present = 0;
                if p.channel_id.is_some() {
                    present |= fields::CHANNEL_RESPONSE_CHANNEL_ID;
                }
                if p.udp_port.is_some() {
                    present |= fields::CHANNEL_RESPONSE_UDP_PORT;
                }
                if p.authn_cookie.is_some() {
                    present |= fields::CHANNEL_RESPONSE_AUTHN_COOKIE;
                }
                w.u32(p.status.0);
                w.u16(present);
                w.u16(0);
                if let Some(id) = p.channel_id {
                    w.u32(id);
                }
                if let Some(port) = p.udp_port {
                    w.u16(port);
                }
                if let Some(cookie) = &p.authn_cookie {
                    w.blob("authnCookie", cookie)?;
                }
            }
            Packet::Data(data) => w.blob("data", data)?,
            Packet::ServiceMessage(text) => w.unicode("message", text)?,
            Packet::ReauthMessage(context) => w.u64(*context),
            Packet::Keepalive => {}
            Packet::CloseChannel(status) | Packet::CloseChannelResponse(status) => w.u32(status.0),
        }
        w.finish()
    }
}

/// Encodes a data packet straight from a slice (the relay's hot path: one copy).
pub fn encode_data(data: &[u8]) -> Result<Vec<u8>, EncodeError> {
    let len = u16::try_from(data.len()).map_err(|_| EncodeError {
        field: "data",
        len: data.len(),
    })?;
    let total = DATA_OVERHEAD + data.len();
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&packet_type::DATA.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&(total as u32).to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(data);
    Ok(out)
}

/// The spec's name of a packet type.
pub fn type_name(kind: u16) -> &'static str {
    use packet_type as t;
    match kind {
        t::HANDSHAKE_REQUEST => "HTTP_HANDSHAKE_REQUEST_PACKET",
        t::HANDSHAKE_RESPONSE => "HTTP_HANDSHAKE_RESPONSE_PACKET",
        t::EXTENDED_AUTH_MSG => "HTTP_EXTENDED_AUTH_PACKET",
        t::TUNNEL_CREATE => "HTTP_TUNNEL_PACKET",
        t::TUNNEL_RESPONSE => "HTTP_TUNNEL_RESPONSE",
        t::TUNNEL_AUTH => "HTTP_TUNNEL_AUTH_PACKET",
        t::TUNNEL_AUTH_RESPONSE => "HTTP_TUNNEL_AUTH_RESPONSE",
        t::CHANNEL_CREATE => "HTTP_CHANNEL_PACKET",
        t::CHANNEL_RESPONSE => "HTTP_CHANNEL_RESPONSE",
        t::DATA => "HTTP_DATA_PACKET",
        t::SERVICE_MESSAGE => "HTTP_SERVICE_MESSAGE_PACKET",
        t::REAUTH_MESSAGE => "HTTP_REAUTH_MESSAGE_PACKET",
        t::KEEPALIVE => "HTTP_KEEPALIVE_PACKET",
        t::CLOSE_CHANNEL => "HTTP_CLOSE_PACKET",
        t::CLOSE_CHANNEL_RESPONSE => "HTTP_CLOSE_RESPONSE_PACKET",
        _ => "unknown packet",
    }
}

fn check_range(
    packet: &'static str,
    field: &'static str,
    value: u8,
    min: usize,
    max: usize,
) -> Result<(), DecodeError> {
    if (min..=max).contains(&(value as usize)) {
        Ok(())
    } else {
        Err(DecodeError::OutOfRange {
            packet,
            field,
            value: value.into(),
            min: min as u32,
            max: max as u32,
        })
    }
}

/// A cursor over one packet's body; every read is checked against what is left.
struct Reader<'a> {
    bytes: &'a [u8],
    packet: &'static str,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.bytes.len() < n {
            return Err(DecodeError::Truncated {
                packet: self.packet,
                field,
            });
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, field)?);
        Ok(out)
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(field)?[0])
    }

    fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array(field)?))
    }

    fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }

    fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array(field)?))
    }

    fn optional_u32(
        &mut self,
        present: u16,
        flag: u16,
        field: &'static str,
    ) -> Result<Option<u32>, DecodeError> {
        if present & flag != 0 {
            self.u32(field).map(Some)
        } else {
            Ok(None)
        }
    }

    /// `HTTP_BYTE_BLOB`: a 16-bit byte count and the bytes.
    fn blob(&mut self, field: &'static str) -> Result<&'a [u8], DecodeError> {
        let len = self.u16(field)?;
        self.take(len.into(), field)
    }

    /// `HTTP_UNICODE_STRING`: a 16-bit byte count and UTF-16LE, trailing NULs trimmed.
    fn unicode(&mut self, field: &'static str) -> Result<String, DecodeError> {
        let packet = self.packet;
        let raw = self.blob(field)?;
        if raw.len() % 2 != 0 {
            return Err(DecodeError::BadUtf16 { packet, field });
        }
        let mut units: Vec<u16> = raw
            .chunks_exact(2)
            .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
            .collect();
        while units.last() == Some(&0) {
            units.pop();
        }
        if units.contains(&0) {
            return Err(DecodeError::EmbeddedNul { packet, field });
        }
        String::from_utf16(&units).map_err(|_| DecodeError::BadUtf16 { packet, field })
    }
}

/// Builds one packet; the length is patched in at the end.
struct Writer {
    out: Vec<u8>,
}

impl Writer {
    fn new(packet_type: u16) -> Self {
        let mut out = Vec::with_capacity(32);
        out.extend_from_slice(&packet_type.to_le_bytes());
        out.extend_from_slice(&[0; 6]);
        Self { out }
    }

    fn u8(&mut self, value: u8) {
        self.out.push(value);
    }

    fn u16(&mut self, value: u16) {
        self.out.extend_from_slice(&value.to_le_bytes());
    }

    fn u32(&mut self, value: u32) {
        self.out.extend_from_slice(&value.to_le_bytes());
    }

    fn u64(&mut self, value: u64) {
        self.out.extend_from_slice(&value.to_le_bytes());
    }

    fn blob(&mut self, field: &'static str, bytes: &[u8]) -> Result<(), EncodeError> {
        let len = u16::try_from(bytes.len()).map_err(|_| EncodeError {
            field,
            len: bytes.len(),
        })?;
        self.u16(len);
        self.out.extend_from_slice(bytes);
        Ok(())
    }

    /// Writes the text as UTF-16LE with the NUL terminator clients expect and count.
    fn unicode(&mut self, field: &'static str, text: &str) -> Result<(), EncodeError> {
        let units = text.encode_utf16().count() + 1;
        let len = u16::try_from(units * 2).map_err(|_| EncodeError {
            field,
            len: units * 2,
        })?;
        self.u16(len);
        for unit in text.encode_utf16().chain([0]) {
            self.u16(unit);
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Vec<u8>, EncodeError> {
        let len = u32::try_from(self.out.len()).map_err(|_| EncodeError {
            field: "packetLength",
            len: self.out.len(),
        })?;
        self.out[4..8].copy_from_slice(&len.to_le_bytes());
        Ok(self.out)
    }
}

/// Client-side builders, for tests, the fuzz target and benchmarks: packets shaped the
/// way FreeRDP 2.11 writes them (`libfreerdp/core/gateway/rdg.c`).
pub mod client {
    use super::*;

    /// Version 1.0, client version 0, PAA offered when `paa` (FreeRDP: `/gat:` given).
    pub fn handshake(paa: bool) -> Vec<u8> {
        encode_ok(Packet::HandshakeRequest(HandshakeRequest {
            version_major: 1,
            version_minor: 0,
            client_version: 0,
            extended_auth: if paa {
                extended_auth::PAA
            } else {
                extended_auth::NONE
            },
        }))
    }

    /// FreeRDP's capabilities: QUAR_SOH | MESSAGING_CONSENT_SIGN | MESSAGING_SERVICE_MSG.
    pub const FREERDP_CAPABILITIES: u32 = capability::QUAR_SOH
        | capability::MESSAGING_CONSENT_SIGN
        | capability::MESSAGING_SERVICE_MSG;

    pub fn tunnel_create(paa_cookie: Option<&str>) -> Vec<u8> {
        encode_ok(Packet::TunnelCreate(TunnelCreate {
            capabilities: FREERDP_CAPABILITIES,
            reauth_context: None,
            paa_cookie: paa_cookie.map(str::to_owned),
        }))
    }

    pub fn tunnel_auth(client_name: &str) -> Vec<u8> {
        encode_ok(Packet::TunnelAuth(TunnelAuth {
            client_name: client_name.to_owned(),
            statement_of_health: None,
        }))
    }

    /// One resource, no alternates, protocol 3 (RDP).
    pub fn channel_create(host: &str, port: u16) -> Vec<u8> {
        encode_ok(Packet::ChannelCreate(ChannelCreate {
            resources: vec![host.to_owned()],
            alt_resources: Vec::new(),
            port,
            protocol: 3,
        }))
    }

    /// A data packet; `data` must fit 65,535 bytes (longer input is cut there).
    pub fn data(data: &[u8]) -> Vec<u8> {
        let fit = &data[..data.len().min(MAX_DATA_PAYLOAD)];
        encode_data(fit).unwrap_or_default()
    }

    pub fn keepalive() -> Vec<u8> {
        encode_ok(Packet::Keepalive)
    }

    pub fn close_channel(status: HResult) -> Vec<u8> {
        encode_ok(Packet::CloseChannel(status))
    }

    /// What FreeRDP answers to the server's close: status 0.
    pub fn close_channel_response() -> Vec<u8> {
        encode_ok(Packet::CloseChannelResponse(HResult::ERROR_SUCCESS))
    }

    /// The whole opening of a FreeRDP 2.11 client with a PAA cookie, up to the channel.
    pub fn opening(cookie: &str, client_name: &str, host: &str, port: u16) -> Vec<u8> {
        let mut out = handshake(true);
        out.extend(tunnel_create(Some(cookie)));
        out.extend(tunnel_auth(client_name));
        out.extend(channel_create(host, port));
        out
    }

    /// Builders take short, test-sized fields; an oversized one yields no bytes rather
    /// than a panic.
    fn encode_ok(packet: Packet) -> Vec<u8> {
        packet.encode().unwrap_or_default()
    }
}
