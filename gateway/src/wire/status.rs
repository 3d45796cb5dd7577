//! Status codes the gateway shows in the viewer's overlay, with their Swedish and English
//! texts. `seconds` in a [`Status`](super::ServerMessage::Status) message is the countdown
//! where a text has one (`{s}`), otherwise 0.

/// What the overlay should say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum StatusCode {
    /// The gateway is connecting to the host.
    Connecting = 1,
    /// The host session is up; the overlay hides.
    Connected = 2,
    /// The gateway lost the host and retries; `seconds` left before it gives up.
    HostReconnecting = 3,
    /// The host has not answered for a while; the session is kept.
    HostNotResponding = 4,
    /// An administrator is ending the session (a Close follows).
    EndedByAdmin = 5,
    /// The session will be disconnected for inactivity in `seconds`.
    IdleWarning = 6,
    /// A service window begins in `seconds`.
    ServiceWindowWarning = 7,
    /// The session was resumed after the websocket dropped.
    Resumed = 8,
    /// Clipboard text was larger than the limit and was not transferred.
    ClipboardTooLarge = 9,
    /// Clipboard transfer is switched off by the pool's policy.
    ClipboardDisabled = 10,
    /// The host cannot change resolution; the picture is scaled instead.
    ResizeUnsupported = 11,
    /// The pool's maximum session length is reached in `seconds`: the session is logged
    /// off then (version 2).
    SessionLimitWarning = 12,
    /// Input arrived after an idle warning: the session goes on (version 2).
    IdleWarningCleared = 13,
}

impl StatusCode {
    pub const ALL: [StatusCode; 13] = [
        StatusCode::Connecting,
        StatusCode::Connected,
        StatusCode::HostReconnecting,
        StatusCode::HostNotResponding,
        StatusCode::EndedByAdmin,
        StatusCode::IdleWarning,
        StatusCode::ServiceWindowWarning,
        StatusCode::Resumed,
        StatusCode::ClipboardTooLarge,
        StatusCode::ClipboardDisabled,
        StatusCode::ResizeUnsupported,
        StatusCode::SessionLimitWarning,
        StatusCode::IdleWarningCleared,
    ];

    pub fn as_u8(self) -> u8 {
        self as u8
    }

    pub fn from_u8(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_u8() == code)
    }

    /// The Swedish text; `{s}` stands for the seconds.
    pub fn text_sv(self) -> &'static str {
        match self {
            StatusCode::Connecting => "Ansluter …",
            StatusCode::Connected => "Ansluten.",
            StatusCode::HostReconnecting => "Återansluter till värden … ({s} s kvar)",
            StatusCode::HostNotResponding => "Värden svarar inte.",
            StatusCode::EndedByAdmin => "Sessionen avslutades av administratör.",
            StatusCode::IdleWarning => "Inaktivitet: sessionen kopplas från om {s} s.",
            StatusCode::ServiceWindowWarning => {
                "Servicefönster börjar om {s} s. Spara ditt arbete."
            }
            StatusCode::Resumed => "Sessionen återupptogs.",
            StatusCode::ClipboardTooLarge => "Urklippet är för stort för att föras över.",
            StatusCode::ClipboardDisabled => "Urklipp är avstängt för den här tjänsten.",
            StatusCode::ResizeUnsupported => "Värden kan inte byta upplösning; bilden skalas.",
            StatusCode::SessionLimitWarning => {
                "Sessionen når sin längsta tillåtna tid och loggas ut om {s} s. Spara ditt arbete."
            }
            StatusCode::IdleWarningCleared => "Du är aktiv igen; sessionen fortsätter.",
        }
    }

    /// The English text; `{s}` stands for the seconds.
    pub fn text_en(self) -> &'static str {
        match self {
            StatusCode::Connecting => "Connecting …",
            StatusCode::Connected => "Connected.",
            StatusCode::HostReconnecting => "Reconnecting to the host … ({s} s left)",
            StatusCode::HostNotResponding => "The host is not responding.",
            StatusCode::EndedByAdmin => "The session was ended by an administrator.",
            StatusCode::IdleWarning => "Inactivity: the session disconnects in {s} s.",
            StatusCode::ServiceWindowWarning => "A service window begins in {s} s. Save your work.",
            StatusCode::Resumed => "The session was resumed.",
            StatusCode::ClipboardTooLarge => "The clipboard is too large to transfer.",
            StatusCode::ClipboardDisabled => "The clipboard is switched off for this service.",
            StatusCode::ResizeUnsupported => {
                "The host cannot change resolution; the picture is scaled."
            }
            StatusCode::SessionLimitWarning => {
                "The session reaches its maximum length and is logged off in {s} s. Save your work."
            }
            StatusCode::IdleWarningCleared => "You are active again; the session goes on.",
        }
    }

    /// The text in `lang` (`"en"` or Swedish) with the seconds filled in.
    pub fn render(self, lang: &str, seconds: u16) -> String {
        let template = if lang == "en" {
            self.text_en()
        } else {
            self.text_sv()
        };
        template.replace("{s}", &seconds.to_string())
    }
}
