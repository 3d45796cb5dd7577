//! The RD Gateway server side of one MS-TSGU HTTP-transport tunnel, sans-IO: websocket
//! message bytes in ([`ServerTunnel::receive`]), events out ([`ServerTunnel::poll_event`]),
//! the endpoint's decisions in (`accept_*` / `refuse_*`), packets out
//! ([`ServerTunnel::poll_transmit`], one websocket binary message each).
//!
//! The conversation is strictly in order ([MS-TSGU] §3.3.5): handshake → tunnel create →
//! tunnel authorization → channel create → data. The handshake is answered here; each of
//! the next three requests becomes an [`Event`] the endpoint decides on. Until it decides,
//! later input waits unread (a client that does not wait for answers is served in order);
//! a decision reads it, so after each decision call the endpoint polls events again and
//! checks [`ServerTunnel::is_closed`]. Every error closes the tunnel itself with the
//! refusal or close the client expects. Keepalives from the client are not echoed:
//! FreeRDP answers every keepalive it receives, so echoing would ping-pong forever.
//! Service messages and keepalives go to the client only once the channel is open, because
//! FreeRDP 3 fails on any packet it does not expect during the opening.

use std::collections::VecDeque;
use std::fmt;

use super::codec::{
    self, ChannelResponse, DecodeError, HResult, HandshakeResponse, Header, Limits, Packet,
    Redacted, TunnelAuthResponse, TunnelResponse, capability, extended_auth, redir,
};

/// Capabilities Hamn offers: the idle timeout it sends and service messages. No statement
/// of health, consent message, reauthentication or UDP.
pub const SERVER_CAPABILITIES: u32 = capability::IDLE_TIMEOUT | capability::MESSAGING_SERVICE_MSG;

/// Above this, an emptied input buffer gives its memory back: idle tunnels stay small.
const KEEP_BUFFER_CAPACITY: usize = 4096;

/// What the endpoint must act on.
#[derive(Clone, PartialEq, Eq)]
pub enum Event {
    /// Answer with [`ServerTunnel::accept_tunnel`] or [`ServerTunnel::refuse_tunnel`].
    TunnelCreate {
        /// From UTF-16LE, trailing NULs trimmed. A credential: `Debug` hides it.
        paa_cookie: Option<String>,
        /// [`codec::capability`] bits the client offered.
        capabilities: u32,
    },
    /// Answer with [`ServerTunnel::accept_auth`] or [`ServerTunnel::refuse_auth`].
    TunnelAuth { client_name: String },
    /// Answer with [`ServerTunnel::accept_channel`] or [`ServerTunnel::refuse_channel`].
    ChannelCreate {
        resources: Vec<String>,
        alt_resources: Vec<String>,
        port: u16,
        protocol: u16,
    },
    /// Client → host RDP bytes.
    Data(Vec<u8>),
    /// The client closed the channel (its close has been answered); end the relay.
    CloseChannel,
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::TunnelCreate {
                paa_cookie,
                capabilities,
            } => f
                .debug_struct("TunnelCreate")
                .field("paa_cookie", &Redacted(paa_cookie.as_deref()))
                .field("capabilities", &format_args!("0x{capabilities:x}"))
                .finish(),
            Event::TunnelAuth { client_name } => f
                .debug_struct("TunnelAuth")
                .field("client_name", client_name)
                .finish(),
            Event::ChannelCreate {
                resources,
                alt_resources,
                port,
                protocol,
            } => f
                .debug_struct("ChannelCreate")
                .field("resources", resources)
                .field("alt_resources", alt_resources)
                .field("port", port)
                .field("protocol", protocol)
                .finish(),
            Event::Data(bytes) => write!(f, "Data({} bytes)", bytes.len()),
            Event::CloseChannel => f.write_str("CloseChannel"),
        }
    }
}

/// Which device redirections the host session may use; `true` allows. Sent to the client
/// in the tunnel authorization response, which FreeRDP and mstsc obey on their side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Redirection {
    pub drives: bool,
    pub printers: bool,
    pub ports: bool,
    pub clipboard: bool,
    pub pnp: bool,
}

impl Redirection {
    pub const ALL: Self = Self {
        drives: true,
        printers: true,
        ports: true,
        clipboard: true,
        pnp: true,
    };
    pub const NONE: Self = Self {
        drives: false,
        printers: false,
        ports: false,
        clipboard: false,
        pnp: false,
    };

    /// `HTTP_TUNNEL_REDIR_*`: ENABLE_ALL, DISABLE_ALL, or one DISABLE bit per refusal.
    pub fn flags(self) -> u32 {
        if self == Self::ALL {
            return redir::ENABLE_ALL;
        }
        if self == Self::NONE {
            return redir::DISABLE_ALL;
        }
        [
            (self.drives, redir::DISABLE_DRIVE),
            (self.printers, redir::DISABLE_PRINTER),
            (self.ports, redir::DISABLE_PORT),
            (self.clipboard, redir::DISABLE_CLIPBOARD),
            (self.pnp, redir::DISABLE_PNP),
        ]
        .into_iter()
        .filter(|(allowed, _)| !allowed)
        .fold(0, |flags, (_, bit)| flags | bit)
    }

    /// The inverse of [`Redirection::flags`] (ENABLE_ALL wins over anything else).
    pub fn from_flags(flags: u32) -> Self {
        if flags & redir::ENABLE_ALL != 0 {
            return Self::ALL;
        }
        if flags & redir::DISABLE_ALL != 0 {
            return Self::NONE;
        }
        Self {
            drives: flags & redir::DISABLE_DRIVE == 0,
            printers: flags & redir::DISABLE_PRINTER == 0,
            ports: flags & redir::DISABLE_PORT == 0,
            clipboard: flags & redir::DISABLE_CLIPBOARD == 0,
            pnp: flags & redir::DISABLE_PNP == 0,
        }
    }
}

/// What the tunnel authorization response tells the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TunnelPolicy {
    pub redirection: Redirection,
    /// 0: no idle timeout.
    pub idle_timeout_minutes: u32,
}

/// Why the tunnel cannot go on. The endpoint then calls [`ServerTunnel::close`] with
/// [`TunnelError::code`], which answers in the form the client is waiting for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TunnelError {
    /// Bytes that are no valid packet: lengths that lie, fields past the end, bad UTF-16,
    /// unknown packet types, packets over the limit.
    #[error(transparent)]
    Malformed(#[from] DecodeError),
    #[error("{packet} is not allowed {state}")]
    OutOfOrder {
        packet: &'static str,
        state: &'static str,
    },
    #[error("protocol version {major}.{minor} is not supported (this gateway speaks 1.x)")]
    UnsupportedVersion { major: u8, minor: u8 },
    #[error("extended authentication 0x{offered:x} is not supported (PAA only)")]
    UnsupportedAuthentication { offered: u16 },
    #[error("{0} is not supported")]
    Unsupported(&'static str),
    /// The client did not wait for a response and sent more than a packet meanwhile.
    #[error("more than {max} bytes arrived while a request awaited its answer")]
    Backlog { max: usize },
}

impl TunnelError {
    /// The status code to send when closing for this error.
    pub fn code(&self) -> HResult {
        match self {
            TunnelError::Malformed(DecodeError::UnknownType(_)) => HResult::E_PROXY_NOTSUPPORTED,
            TunnelError::Malformed(
                DecodeError::Truncated { field, .. }
                | DecodeError::BadUtf16 { field, .. }
                | DecodeError::EmbeddedNul { field, .. },
            ) if *field == "PAACookie" => HResult::E_PROXY_COOKIE_BADPACKET,
            TunnelError::Malformed(DecodeError::Unsupported { .. }) => {
                HResult::E_PROXY_NOTSUPPORTED
            }
            TunnelError::Malformed(_)
            | TunnelError::OutOfOrder { .. }
            | TunnelError::Backlog { .. } => HResult::E_PROXY_INTERNALERROR,
            TunnelError::UnsupportedVersion { .. } => HResult::E_PROXY_CAPABILITYMISMATCH,
            TunnelError::UnsupportedAuthentication { .. } => {
                HResult::E_PROXY_UNSUPPORTED_AUTHENTICATION_METHOD
            }
            TunnelError::Unsupported(_) => HResult::E_PROXY_NOTSUPPORTED,
        }
    }

    /// A packet over [`Limits::max_packet`].
    pub fn is_oversized(&self) -> bool {
        matches!(self, TunnelError::Malformed(DecodeError::Oversized { .. }))
    }
}

/// Where the conversation stands: what the server waits for next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Handshake,
    TunnelCreate,
    TunnelDecision,
    TunnelAuth,
    AuthDecision,
    ChannelCreate,
    ChannelDecision,
    Open,
    /// Hamn sent its close; waits for the client's close response.
    Closing,
    Closed,
}

impl State {
    fn describe(self) -> &'static str {
        match self {
            State::Handshake => "before the handshake",
            State::TunnelCreate => "after the handshake",
            State::TunnelDecision => "while the tunnel is being decided",
            State::TunnelAuth => "after the tunnel is created",
            State::AuthDecision => "while the tunnel authorization is being decided",
            State::ChannelCreate => "after the tunnel is authorized",
            State::ChannelDecision => "while the channel is being decided",
            State::Open => "on an open channel",
            State::Closing => "while closing",
            State::Closed => "after the close",
        }
    }
}

/// One tunnel, from the handshake to the close.
pub struct ServerTunnel {
    limits: Limits,
    state: State,
    /// A packet not yet complete; never more than `limits.max_packet` bytes.
    input: Vec<u8>,
    events: VecDeque<Event>,
    transmit: VecDeque<Vec<u8>>,
    transmit_bytes: usize,
    /// Client capabilities ∩ [`SERVER_CAPABILITIES`], known after the tunnel create.
    negotiated: Option<u32>,
    pending_messages: Vec<String>,
    /// The error that closed the tunnel; further input is ignored.
    error: Option<TunnelError>,
    close_acknowledged: bool,
}

impl fmt::Debug for ServerTunnel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerTunnel")
            .field("state", &self.state)
            .field("buffered", &self.input.len())
            .field("events", &self.events.len())
            .field("transmit_bytes", &self.transmit_bytes)
            .finish()
    }
}

impl ServerTunnel {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits: limits.normalized(),
            state: State::Handshake,
            input: Vec::new(),
            events: VecDeque::new(),
            transmit: VecDeque::new(),
            transmit_bytes: 0,
            negotiated: None,
            pending_messages: Vec::new(),
            error: None,
            close_acknowledged: false,
        }
    }

    /// Feeds the bytes of one websocket binary message. Packets may span messages and one
    /// message may hold several; each packet's header is judged before its body is kept.
    /// While a request awaits the endpoint's decision, later bytes wait (up to one
    /// `max_packet`) and are read once it decides.
    ///
    /// An error has already closed the tunnel with [`TunnelError::code`] (the refusal or
    /// close packet is queued; calling [`ServerTunnel::close`] again is harmless). After an
    /// error, or once closed, input is ignored.
    pub fn receive(&mut self, bytes: &[u8]) -> Result<(), TunnelError> {
        if self.stopped() {
            return Ok(());
        }
        let result = self.receive_inner(bytes);
        if let Err(error) = &result {
            self.fail(error.clone());
        }
        result
    }

    fn receive_inner(&mut self, mut bytes: &[u8]) -> Result<(), TunnelError> {
        let max = self.limits.max_packet;
        while !bytes.is_empty() && !self.stopped() {
            if self.awaiting_decision() {
                if self.input.len() + bytes.len() > max {
                    return Err(TunnelError::Backlog { max });
                }
                self.input.extend_from_slice(bytes);
                return Ok(());
            }
            if self.input.is_empty() {
                // Whole packets straight from the message, without copying them.
                if let Some(header) = Header::peek(bytes, max)? {
                    let len = header.length as usize;
                    if let Some(packet) = bytes.get(..len) {
                        bytes = &bytes[len..];
                        self.handle(packet)?;
                        continue;
                    }
                }
            }
            // Not awaiting a decision: the buffer holds at most one incomplete packet.
            if self.input.len() < codec::HEADER_LEN {
                let take = (codec::HEADER_LEN - self.input.len()).min(bytes.len());
                self.input.extend_from_slice(&bytes[..take]);
                bytes = &bytes[take..];
            }
            let Some(header) = Header::peek(&self.input, max)? else {
                return Ok(());
            };
            let len = header.length as usize;
            let take = len.saturating_sub(self.input.len()).min(bytes.len());
            self.input.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            self.drain_input()?;
        }
        Ok(())
    }

    /// Handles the complete packets at the front of the buffer until a decision is due.
    fn drain_input(&mut self) -> Result<(), TunnelError> {
        while !self.awaiting_decision() && !self.stopped() {
            let Some(header) = Header::peek(&self.input, self.limits.max_packet)? else {
                break;
            };
            let len = header.length as usize;
            if self.input.len() < len {
                break;
            }
            let rest = self.input.split_off(len);
            let packet = std::mem::replace(&mut self.input, rest);
            self.handle(&packet)?;
            if self.input.is_empty() && packet.capacity() <= KEEP_BUFFER_CAPACITY {
                // Keep the small allocation for the next packet.
                self.input = packet;
                self.input.clear();
            }
        }
        if self.input.is_empty() && self.input.capacity() > KEEP_BUFFER_CAPACITY {
            self.input = Vec::new();
        }
        Ok(())
    }

    /// After a decision: reads what arrived while it was pending.
    fn resume(&mut self) {
        if let Err(error) = self.drain_input() {
            self.fail(error);
        }
    }

    /// Closes with the error's code and keeps the error for [`ServerTunnel::error`].
    fn fail(&mut self, error: TunnelError) {
        self.input = Vec::new();
        self.close(error.code());
        self.error = Some(error);
    }

    fn awaiting_decision(&self) -> bool {
        matches!(
            self.state,
            State::TunnelDecision | State::AuthDecision | State::ChannelDecision
        )
    }

    fn stopped(&self) -> bool {
        self.error.is_some() || self.state == State::Closed
    }

    /// The error that closed the tunnel, if one did: from [`ServerTunnel::receive`], or
    /// from input read after a decision (then the decision call closed the tunnel).
    pub fn error(&self) -> Option<&TunnelError> {
        self.error.as_ref()
    }

    fn handle(&mut self, bytes: &[u8]) -> Result<(), TunnelError> {
        let packet = Packet::decode(bytes)?;
        let name = packet.name();
        let out_of_order = |state: State| TunnelError::OutOfOrder {
            packet: name,
            state: state.describe(),
        };
        // The packet is moved into its event: data is copied once, from the wire.
        match (self.state, packet) {
            (State::Closing, Packet::CloseChannelResponse(_) | Packet::CloseChannel(_)) => {
                self.close_acknowledged = true;
                self.state = State::Closed;
            }
            // The client's data and keepalives in flight when Hamn closed.
            (State::Closing, _) => {}
            (State::Handshake, Packet::HandshakeRequest(request)) => {
                if request.version_major != 1 {
                    return Err(TunnelError::UnsupportedVersion {
                        major: request.version_major,
                        minor: request.version_minor,
                    });
                }
                let chosen = request.extended_auth & codec::extended_auth::PAA;
                if chosen == 0 && request.extended_auth & extended_auth::SSPI_NTLM != 0 {
                    return Err(TunnelError::UnsupportedAuthentication {
                        offered: request.extended_auth,
                    });
                }
                self.queue(&Packet::HandshakeResponse(HandshakeResponse {
                    status: HResult::ERROR_SUCCESS,
                    version_major: 1,
                    version_minor: 0,
                    server_version: 0,
                    extended_auth: chosen,
                }));
                self.state = State::TunnelCreate;
            }
            (State::Handshake, _) => return Err(out_of_order(self.state)),
            (_, Packet::Keepalive) => {}
            (State::TunnelCreate, Packet::TunnelCreate(create)) => {
                if create.reauth_context.is_some() {
                    return Err(TunnelError::Unsupported("reauthentication"));
                }
                self.negotiated = Some(create.capabilities & SERVER_CAPABILITIES);
                self.events.push_back(Event::TunnelCreate {
                    paa_cookie: create.paa_cookie,
                    capabilities: create.capabilities,
                });
                self.state = State::TunnelDecision;
            }
            (State::TunnelAuth, Packet::TunnelAuth(auth)) => {
                // A statement of health is ignored: Hamn did not offer QUAR_SOH.
                self.events.push_back(Event::TunnelAuth {
                    client_name: auth.client_name,
                });
                self.state = State::AuthDecision;
            }
            (State::ChannelCreate, Packet::ChannelCreate(channel)) => {
                self.events.push_back(Event::ChannelCreate {
                    resources: channel.resources,
                    alt_resources: channel.alt_resources,
                    port: channel.port,
                    protocol: channel.protocol,
                });
                self.state = State::ChannelDecision;
            }
            (State::Open, Packet::Data(data)) => {
                if !data.is_empty() {
                    self.events.push_back(Event::Data(data));
                }
            }
            (State::Open, Packet::CloseChannel(_)) => {
                // FreeRDP answers a close with status 0; so does Hamn.
                self.queue(&Packet::CloseChannelResponse(HResult::ERROR_SUCCESS));
                self.events.push_back(Event::CloseChannel);
                self.state = State::Closed;
            }
            (_, Packet::ExtendedAuth { .. }) => {
                return Err(TunnelError::UnsupportedAuthentication {
                    offered: extended_auth::SSPI_NTLM,
                });
            }
            (state, _) => return Err(out_of_order(state)),
        }
        Ok(())
    }

    /// The next event for the endpoint.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Accepts the tunnel create (the PAA cookie is good). Ignored unless one is pending.
    pub fn accept_tunnel(&mut self, tunnel_id: u32) {
        if self.state != State::TunnelDecision {
            return;
        }
        let negotiated = self.negotiated.unwrap_or(0);
        self.queue(&Packet::TunnelResponse(TunnelResponse {
            server_version: 0,
            status: HResult::ERROR_SUCCESS,
            tunnel_id: Some(tunnel_id),
            capabilities: Some(negotiated),
            consent_message: None,
        }));
        self.state = State::TunnelAuth;
        self.resume();
    }

    /// Refuses the tunnel create, e.g. `E_PROXY_COOKIE_AUTHENTICATION_ACCESS_DENIED` for a
    /// bad cookie, and closes.
    pub fn refuse_tunnel(&mut self, code: HResult) {
        if self.state == State::TunnelDecision {
            self.close(code);
        }
    }

    /// Authorizes the tunnel with the redirection policy and idle timeout.
    pub fn accept_auth(&mut self, policy: TunnelPolicy) {
        if self.state != State::AuthDecision {
            return;
        }
        self.queue(&Packet::TunnelAuthResponse(TunnelAuthResponse {
            status: HResult::ERROR_SUCCESS,
            redirection_flags: Some(policy.redirection.flags()),
            idle_timeout_minutes: Some(policy.idle_timeout_minutes),
            soh_response: None,
        }));
        self.state = State::ChannelCreate;
        self.resume();
    }

    pub fn refuse_auth(&mut self, code: HResult) {
        if self.state == State::AuthDecision {
            self.close(code);
        }
    }

    /// Opens the channel: the host connection is up. Held-back service messages follow.
    pub fn accept_channel(&mut self, channel_id: u32) {
        if self.state != State::ChannelDecision {
            return;
        }
        self.queue(&Packet::ChannelResponse(ChannelResponse {
            status: HResult::ERROR_SUCCESS,
            channel_id: Some(channel_id),
            udp_port: None,
            authn_cookie: None,
        }));
        self.state = State::Open;
        for text in std::mem::take(&mut self.pending_messages) {
            self.service_message(&text);
        }
        self.resume();
    }

    /// Refuses the channel, e.g. `E_PROXY_RAP_ACCESSDENIED` for a host the cookie does not
    /// name, `E_PROXY_TS_CONNECTFAILED` when the host cannot be reached, and closes.
    pub fn refuse_channel(&mut self, code: HResult) {
        if self.state == State::ChannelDecision {
            self.close(code);
        }
    }

    /// Host → client bytes, as data packets of at most [`Limits::max_send_packet`].
    /// Ignored unless the channel is open.
    pub fn send_data(&mut self, bytes: &[u8]) {
        if self.state != State::Open {
            return;
        }
        for chunk in bytes.chunks(self.limits.send_chunk()) {
            if let Ok(packet) = codec::encode_data(chunk) {
                self.push(packet);
            }
        }
    }

    /// A service message (`HTTP_SERVICE_MESSAGE_PACKET`), which clients show in a dialog.
    /// Sent only to clients that offered `MESSAGING_SERVICE_MSG`; held back until the
    /// channel is open (up to [`Limits::max_pending_messages`]); cut to fit one packet.
    pub fn service_message(&mut self, text: &str) {
        match self.state {
            State::Open => {}
            State::Closing | State::Closed => return,
            _ => {
                if self.pending_messages.len() < self.limits.max_pending_messages {
                    self.pending_messages.push(text.to_owned());
                }
                return;
            }
        }
        if self.negotiated.unwrap_or(0) & capability::MESSAGING_SERVICE_MSG == 0 {
            return;
        }
        // Header, cbLen and the NUL terminator around the UTF-16 text.
        let room =
            (self.limits.max_send_packet - codec::HEADER_LEN - 4).min(usize::from(u16::MAX) - 2);
        // A NUL would end the text early in the client's dialog.
        let text = text.replace('\0', "");
        self.queue(&Packet::ServiceMessage(fit_utf16(&text, room).to_owned()));
    }

    /// A keepalive to the client (FreeRDP answers it), to keep idle paths alive. Only on an
    /// open channel.
    pub fn keepalive(&mut self) {
        if self.state == State::Open {
            self.queue(&Packet::Keepalive);
        }
    }

    /// Ends the tunnel with `code`, in the form the client waits for: a failed handshake,
    /// tunnel, authorization or channel response before the channel is open (the code made
    /// a refusal, see [`HResult::as_refusal`]), a close packet on an open channel. Nothing
    /// is sent after this; [`ServerTunnel::is_closed`] is true at once.
    pub fn close(&mut self, code: HResult) {
        let refusal = code.as_refusal();
        let packet = match self.state {
            State::Handshake => Packet::HandshakeResponse(HandshakeResponse {
                status: refusal,
                version_major: 1,
                version_minor: 0,
                server_version: 0,
                extended_auth: 0,
            }),
            State::TunnelCreate | State::TunnelDecision => Packet::TunnelResponse(TunnelResponse {
                server_version: 0,
                status: refusal,
                tunnel_id: None,
                capabilities: None,
                consent_message: None,
            }),
            State::TunnelAuth | State::AuthDecision => {
                Packet::TunnelAuthResponse(TunnelAuthResponse {
                    status: refusal,
                    redirection_flags: None,
                    idle_timeout_minutes: None,
                    soh_response: None,
                })
            }
            State::ChannelCreate | State::ChannelDecision => {
                Packet::ChannelResponse(ChannelResponse {
                    status: refusal,
                    channel_id: None,
                    udp_port: None,
                    authn_cookie: None,
                })
            }
            State::Open => {
                self.queue(&Packet::CloseChannel(code));
                self.state = State::Closing;
                self.pending_messages.clear();
                return;
            }
            State::Closing | State::Closed => return,
        };
        self.queue(&packet);
        self.state = State::Closed;
        self.pending_messages.clear();
    }

    /// The next websocket binary message to send, one packet each.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        let message = self.transmit.pop_front()?;
        self.transmit_bytes -= message.len();
        Some(message)
    }

    /// Bytes queued for the client and not yet taken: the endpoint stops reading the host
    /// while this is high.
    pub fn transmit_backlog(&self) -> usize {
        self.transmit_bytes
    }

    /// Nothing more will be sent (a close or refusal is queued or sent, or the client
    /// closed): flush [`ServerTunnel::poll_transmit`], then close the websocket.
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closing | State::Closed)
    }

    /// The client answered Hamn's close (or closed at the same time).
    pub fn close_acknowledged(&self) -> bool {
        self.close_acknowledged
    }

    /// The channel is open: data flows both ways.
    pub fn is_open(&self) -> bool {
        self.state == State::Open
    }

    #[cfg(test)]
    pub(crate) fn input_capacity(&self) -> usize {
        self.input.capacity()
    }

    fn queue(&mut self, packet: &Packet) {
        // Every packet Hamn builds has fields sized by construction; an encode error would
        // be a bug, and sending nothing is the safe answer to it.
        if let Ok(bytes) = packet.encode() {
            self.push(bytes);
        }
    }

    fn push(&mut self, bytes: Vec<u8>) {
        self.transmit_bytes += bytes.len();
        self.transmit.push_back(bytes);
    }
}

/// The longest prefix of `text` whose UTF-16 form fits `max_bytes`.
fn fit_utf16(text: &str, max_bytes: usize) -> &str {
    let mut bytes = 0;
    for (index, ch) in text.char_indices() {
        bytes += ch.len_utf16() * 2;
        if bytes > max_bytes {
            return &text[..index];
        }
    }
    text
}
