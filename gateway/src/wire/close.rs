//! Websocket close codes of the session protocol (the private range 4000–4999).
//!
//! Grouped by hundreds so a log reader sees the culprit at a glance: 40xx the browser
//! sent something wrong, 41xx resume, 42xx the RDP host, 43xx policy (admin, idle,
//! service window), 45xx the gateway itself. Each code carries its user-facing text in
//! Swedish (the default) and English; the viewer has the same table in `wire.js`.

/// Why the gateway (or the browser) ended the websocket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum CloseCode {
    /// A message broke the protocol in a way no narrower code names.
    ProtocolError = 4000,
    /// The peer offered a protocol version this side cannot speak.
    UnsupportedVersion = 4001,
    /// A message exceeded the configured size limit (or a text field its cap).
    MessageTooLarge = 4002,
    /// The message type byte is unknown in this direction.
    UnknownMessageType = 4003,
    /// Truncated, trailing bytes, or an unknown enum value.
    MalformedMessage = 4004,
    /// A text field was not valid UTF-8.
    InvalidText = 4005,
    /// A dimension or coordinate was outside its limits or the screen.
    OutOfBounds = 4006,
    /// A message arrived in the wrong state (no hello first, a second hello, …).
    UnexpectedMessage = 4007,
    /// A FrameAck named a frame that was not in flight.
    FlowControl = 4008,
    /// The resume token was unknown, already used or its grace period had passed.
    ResumeFailed = 4100,
    /// Another browser window resumed this session.
    SessionTakenOver = 4101,
    /// This gateway is stopping (drain): the viewer launches the app again through
    /// another gateway and lands on the same host session.
    GatewayDraining = 4110,
    /// The RDP host could not be reached.
    HostUnreachable = 4200,
    /// The RDP host refused the credentials.
    HostAuthFailed = 4201,
    /// The RDP host ended the connection (logoff, host shut down).
    HostDisconnected = 4202,
    /// The RDP host sent something the gateway cannot decode.
    HostProtocolError = 4203,
    /// The host stopped answering.
    HostNotResponding = 4204,
    /// An administrator ended the session.
    EndedByAdmin = 4300,
    /// The session was idle for too long.
    IdleTimeout = 4301,
    /// A service window began.
    ServiceWindow = 4302,
    /// The gateway is shutting down.
    GatewayShutdown = 4303,
    /// The user ended the session (logged off or closed it).
    UserEnded = 4304,
    /// The pool's maximum session length was reached; the session was logged off
    /// (version 2).
    SessionLimit = 4305,
    /// A fault in the gateway itself.
    InternalError = 4500,
}

impl CloseCode {
    /// Every code, for tables and tests.
    pub const ALL: [CloseCode; 24] = [
        CloseCode::ProtocolError,
        CloseCode::UnsupportedVersion,
        CloseCode::MessageTooLarge,
        CloseCode::UnknownMessageType,
        CloseCode::MalformedMessage,
        CloseCode::InvalidText,
        CloseCode::OutOfBounds,
        CloseCode::UnexpectedMessage,
        CloseCode::FlowControl,
        CloseCode::ResumeFailed,
        CloseCode::SessionTakenOver,
        CloseCode::GatewayDraining,
        CloseCode::HostUnreachable,
        CloseCode::HostAuthFailed,
        CloseCode::HostDisconnected,
        CloseCode::HostProtocolError,
        CloseCode::HostNotResponding,
        CloseCode::EndedByAdmin,
        CloseCode::IdleTimeout,
        CloseCode::ServiceWindow,
        CloseCode::GatewayShutdown,
        CloseCode::UserEnded,
        CloseCode::SessionLimit,
        CloseCode::InternalError,
    ];

    pub fn as_u16(self) -> u16 {
        self as u16
    }

    /// Whether the Close message may carry the gateway's detail as its `reason`: the
    /// words of an administrator or the broker (4300, 4302, 4305) and what was wrong with
    /// the browser's own input or token (4000–4101). A host's or the gateway's own failure
    /// (42xx, 4500, …) is described in the log and the audit trail, never to the browser:
    /// its text can name internals.
    pub fn shares_detail(self) -> bool {
        matches!(
            self,
            CloseCode::EndedByAdmin | CloseCode::ServiceWindow | CloseCode::SessionLimit
        ) || (4000..=4101).contains(&self.as_u16())
    }

    pub fn from_u16(code: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_u16() == code)
    }

    /// The text shown to the user, in Swedish.
    pub fn reason_sv(self) -> &'static str {
        match self {
            CloseCode::ProtocolError => "Webbläsaren skickade något oväntat. Ladda om sidan.",
            CloseCode::UnsupportedVersion => "Webbläsarens klient är inaktuell. Ladda om sidan.",
            CloseCode::MessageTooLarge => "Ett meddelande var för stort, t.ex. urklippet.",
            CloseCode::UnknownMessageType => "Okänt meddelande från webbläsaren. Ladda om sidan.",
            CloseCode::MalformedMessage => "Felaktigt meddelande från webbläsaren. Ladda om sidan.",
            CloseCode::InvalidText => "Text från webbläsaren var inte giltig UTF-8.",
            CloseCode::OutOfBounds => "Ett värde låg utanför skärmens gränser.",
            CloseCode::UnexpectedMessage => "Meddelanden kom i fel ordning. Ladda om sidan.",
            CloseCode::FlowControl => "Fel i bildflödet. Ladda om sidan.",
            CloseCode::ResumeFailed => {
                "Sessionen kunde inte återupptas. Starta programmet igen från portalen."
            }
            CloseCode::SessionTakenOver => "Sessionen öppnades i ett annat fönster.",
            CloseCode::GatewayDraining => "Servern startas om. Återansluter …",
            CloseCode::HostUnreachable => "Värden går inte att nå just nu.",
            CloseCode::HostAuthFailed => "Värden godtog inte inloggningen.",
            CloseCode::HostDisconnected => "Värden avslutade anslutningen.",
            CloseCode::HostProtocolError => "Värden skickade data som inte gick att tolka.",
            CloseCode::HostNotResponding => "Värden svarar inte.",
            CloseCode::EndedByAdmin => "Sessionen avslutades av administratör.",
            CloseCode::IdleTimeout => "Sessionen avslutades efter inaktivitet.",
            CloseCode::ServiceWindow => "Ett servicefönster har börjat.",
            CloseCode::GatewayShutdown => "Tjänsten startas om. Försök igen om en stund.",
            CloseCode::UserEnded => "Sessionen är avslutad.",
            CloseCode::SessionLimit => "Sessionen nådde sin längsta tillåtna tid och avslutades.",
            CloseCode::InternalError => "Ett internt fel inträffade. Försök igen.",
        }
    }

    /// The text shown to the user, in English.
    pub fn reason_en(self) -> &'static str {
        match self {
            CloseCode::ProtocolError => "The browser sent something unexpected. Reload the page.",
            CloseCode::UnsupportedVersion => "The browser client is outdated. Reload the page.",
            CloseCode::MessageTooLarge => "A message was too large, e.g. the clipboard.",
            CloseCode::UnknownMessageType => "Unknown message from the browser. Reload the page.",
            CloseCode::MalformedMessage => "Malformed message from the browser. Reload the page.",
            CloseCode::InvalidText => "Text from the browser was not valid UTF-8.",
            CloseCode::OutOfBounds => "A value was outside the screen's limits.",
            CloseCode::UnexpectedMessage => "Messages arrived out of order. Reload the page.",
            CloseCode::FlowControl => "Frame flow error. Reload the page.",
            CloseCode::ResumeFailed => {
                "The session could not be resumed. Start the application again from the portal."
            }
            CloseCode::SessionTakenOver => "The session was opened in another window.",
            CloseCode::GatewayDraining => "The server is restarting. Reconnecting …",
            CloseCode::HostUnreachable => "The host cannot be reached right now.",
            CloseCode::HostAuthFailed => "The host did not accept the sign-in.",
            CloseCode::HostDisconnected => "The host ended the connection.",
            CloseCode::HostProtocolError => "The host sent data that could not be decoded.",
            CloseCode::HostNotResponding => "The host is not responding.",
            CloseCode::EndedByAdmin => "The session was ended by an administrator.",
            CloseCode::IdleTimeout => "The session ended after inactivity.",
            CloseCode::ServiceWindow => "A service window has begun.",
            CloseCode::GatewayShutdown => "The service is restarting. Try again shortly.",
            CloseCode::UserEnded => "The session has ended.",
            CloseCode::SessionLimit => "The session reached its maximum length and was ended.",
            CloseCode::InternalError => "An internal error occurred. Try again.",
        }
    }

    /// The text in the chosen language (`"en"` for English, Swedish otherwise).
    pub fn reason(self, lang: &str) -> &'static str {
        if lang == "en" {
            self.reason_en()
        } else {
            self.reason_sv()
        }
    }

    /// The websocket close frame's reason: English and ASCII-safe, because RFC 6455
    /// caps it at 123 bytes and the browser shows its own (translated) text anyway.
    pub fn ws_reason(self) -> &'static str {
        match self {
            CloseCode::ProtocolError => "protocol error",
            CloseCode::UnsupportedVersion => "unsupported version",
            CloseCode::MessageTooLarge => "message too large",
            CloseCode::UnknownMessageType => "unknown message type",
            CloseCode::MalformedMessage => "malformed message",
            CloseCode::InvalidText => "invalid utf-8",
            CloseCode::OutOfBounds => "out of bounds",
            CloseCode::UnexpectedMessage => "unexpected message",
            CloseCode::FlowControl => "flow control violation",
            CloseCode::ResumeFailed => "resume failed",
            CloseCode::SessionTakenOver => "session taken over",
            CloseCode::GatewayDraining => "gateway draining",
            CloseCode::HostUnreachable => "host unreachable",
            CloseCode::HostAuthFailed => "host authentication failed",
            CloseCode::HostDisconnected => "host disconnected",
            CloseCode::HostProtocolError => "host protocol error",
            CloseCode::HostNotResponding => "host not responding",
            CloseCode::EndedByAdmin => "ended by administrator",
            CloseCode::IdleTimeout => "idle timeout",
            CloseCode::ServiceWindow => "service window",
            CloseCode::GatewayShutdown => "gateway shutdown",
            CloseCode::UserEnded => "session ended",
            CloseCode::SessionLimit => "session limit",
            CloseCode::InternalError => "internal error",
        }
    }
}
