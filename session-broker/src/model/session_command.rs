//! Commands to a running session (the broker → gateway command channel) and to a host
//! agent: what an administrator, the lifecycle sweeper or a service window asks of a
//! session, and where each command is in its delivery.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::validate::ValidationErrors;

/// Longest message text, in characters (the wire carries at most 4096 bytes).
pub const MAX_MESSAGE_CHARS: usize = 1000;
/// Longest sender name, in characters.
pub const MAX_SENDER_CHARS: usize = 100;
/// Longest reason or warning text, in characters.
pub const MAX_REASON_CHARS: usize = 500;
/// Longest print job title in a print notification, in characters.
pub const MAX_PRINT_TITLE_CHARS: usize = 255;

text_enum! {
    /// What a warning is about; each has its own status text in the viewer.
    WarningKind {
        /// No input for a while: the session disconnects at `at` unless the user acts.
        Idle = "idle",
        /// A service window begins at `at`: the session is logged off then.
        ServiceWindow = "service_window",
        /// The pool's maximum session length is reached at `at`: logoff then.
        SessionLimit = "session_limit",
    }
}

text_enum! {
    /// Who or what ends (or disconnects) a session: it picks the close code the browser
    /// gets (4300 administrator, 4301 idle, 4302 service window, 4304 the user, 4305
    /// maximum length).
    #[derive(Default)]
    EndCause {
        #[default]
        Admin = "admin",
        Idle = "idle",
        ServiceWindow = "service_window",
        SessionLimit = "session_limit",
        /// Disconnected longer than the pool allows (no browser is attached then).
        DisconnectTimeout = "disconnect_timeout",
        /// The user logged the session off from the portal's "my sessions".
        User = "user",
    }
}

/// What a session is asked to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum SessionCommand {
    /// Show a message in the viewer; the session goes on.
    Message { text: String, sender: String },
    /// Warn of an ending at `at` (the viewer counts down to it).
    Warning {
        kind: WarningKind,
        text: String,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    /// Close the browser's connection and the RDP connection (4300 for an administrator):
    /// the Windows session stays on the host, disconnected, and the user's next launch
    /// reconnects to it.
    Disconnect {
        reason: String,
        #[serde(default)]
        cause: EndCause,
    },
    /// End the session (4300 for an administrator, 4302 for a service window, …; RDP
    /// connection closed, row `ended`). The Windows logoff itself is a host command (see
    /// [`HostCommand`]); use [`crate::session_control::log_off`], which queues both.
    Logoff {
        reason: String,
        #[serde(default)]
        cause: EndCause,
    },
    /// A print job of this session is a PDF now: the viewer offers "Utskrift klar — Öppna
    /// PDF" (`/portal/api/prints/{job_id}/pdf`).
    PrintReady {
        job_id: Uuid,
        title: String,
        pages: u32,
    },
    /// A print job of this session was refused; `reason` is its refusal code
    /// (`job_too_large`, `malformed_pdf`, …), which the viewer puts in words.
    PrintRefused {
        job_id: Uuid,
        title: String,
        reason: String,
    },
}

impl SessionCommand {
    /// The stored `kind` column.
    pub fn kind(&self) -> &'static str {
        match self {
            SessionCommand::Message { .. } => "message",
            SessionCommand::Warning { kind, .. } => match kind {
                WarningKind::Idle => "idle_warning",
                WarningKind::ServiceWindow => "service_window_warning",
                WarningKind::SessionLimit => "session_limit_warning",
            },
            SessionCommand::Disconnect { .. } => "disconnect",
            SessionCommand::Logoff { .. } => "logoff",
            SessionCommand::PrintReady { .. } => "print_ready",
            SessionCommand::PrintRefused { .. } => "print_refused",
        }
    }

    /// Field problems, named as in the admin API's JSON.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut v = ValidationErrors::default();
        match self {
            SessionCommand::Message { text, sender } => {
                message_text(&mut v, "text", text);
                v.text("sender", sender, MAX_SENDER_CHARS);
            }
            SessionCommand::Warning { text, .. } => message_text(&mut v, "text", text),
            SessionCommand::Disconnect { reason, .. } | SessionCommand::Logoff { reason, .. } => {
                v.text("reason", reason, MAX_REASON_CHARS);
            }
            SessionCommand::PrintReady { title, .. } => {
                v.long_text("title", title, MAX_PRINT_TITLE_CHARS);
            }
            SessionCommand::PrintRefused { title, reason, .. } => {
                v.long_text("title", title, MAX_PRINT_TITLE_CHARS);
                refusal_code(&mut v, "reason", reason);
            }
        }
        v.finish()
    }
}

/// A refusal code: what the viewer maps to a sentence, never free text.
fn refusal_code(v: &mut ValidationErrors, field: &str, code: &str) {
    let ok = (1..=63).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !ok {
        v.push(
            field,
            "must be a refusal code: 1-63 characters of a-z, 0-9 and '_'",
        );
    }
}

/// Text shown to a person in the viewer: non-blank, bounded, line breaks allowed.
pub fn message_text(v: &mut ValidationErrors, field: &str, text: &str) {
    if text.trim().is_empty() {
        v.push(field, "must not be empty");
    } else {
        v.long_text(field, text, MAX_MESSAGE_CHARS);
    }
}

text_enum! {
    /// Where a command is: `pending` until a gateway node claims it, `claimed` while the
    /// session's task acts, then `done` or `failed`; `expired` when nobody claimed it in
    /// time (the session was on no gateway node).
    CommandState {
        Pending = "pending",
        Claimed = "claimed",
        Done = "done",
        Failed = "failed",
        Expired = "expired",
    }
}

/// A command as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QueuedCommand {
    pub id: Uuid,
    pub session_id: Uuid,
    pub tenant_id: Uuid,
    pub command: SessionCommand,
    pub state: CommandState,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Not claimed by then: expired.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// The gateway node that claimed it.
    pub claimed_by: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub claimed_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
    /// What the gateway did ("shown in the viewer", "no browser attached", …).
    pub outcome: Option<String>,
}

text_enum! {
    /// What a host agent is asked to do.
    HostCommandKind {
        /// Log the session's Windows user off (a browser RDP client cannot).
        Logoff = "logoff",
    }
}

text_enum! {
    /// `pending` until a host agent reports it `done` or `failed`.
    HostCommandState { Pending = "pending", Done = "done", Failed = "failed" }
}

/// A command for the agent on an RDP host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HostCommand {
    pub id: Uuid,
    pub host_id: Uuid,
    pub tenant_id: Option<Uuid>,
    pub session_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub kind: HostCommandKind,
    pub reason: String,
    pub state: HostCommandState,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
    pub outcome: Option<String>,
}

/// A host agent's report on a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HostCommandReport {
    /// `done` or `failed`.
    pub state: HostCommandState,
    /// What happened, for the audit log (≤ 500 characters).
    #[serde(default)]
    pub outcome: String,
}

impl HostCommandReport {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut v = ValidationErrors::default();
        if self.state == HostCommandState::Pending {
            v.push("state", "must be done or failed");
        }
        v.long_text("outcome", &self.outcome, MAX_REASON_CHARS);
        v.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_validate_their_fields_by_name() {
        let ok = SessionCommand::Message {
            text: "Servern startas om 18:00.\nSpara ditt arbete.".into(),
            sender: "Driften".into(),
        };
        assert!(ok.validate().is_ok());
        let bad = SessionCommand::Message {
            text: " ".into(),
            sender: String::new(),
        };
        let fields: Vec<_> = bad
            .validate()
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["text", "sender"]);
        let long = SessionCommand::Logoff {
            reason: "x".repeat(MAX_REASON_CHARS + 1),
            cause: EndCause::Admin,
        };
        assert_eq!(long.validate().unwrap_err().0[0].field, "reason");
    }

    #[test]
    fn kinds_are_the_stored_words() {
        let at = OffsetDateTime::UNIX_EPOCH;
        let warn = |kind| SessionCommand::Warning {
            kind,
            text: "t".into(),
            at,
        };
        assert_eq!(warn(WarningKind::Idle).kind(), "idle_warning");
        assert_eq!(
            warn(WarningKind::ServiceWindow).kind(),
            "service_window_warning"
        );
        assert_eq!(
            warn(WarningKind::SessionLimit).kind(),
            "session_limit_warning"
        );
        let logoff = SessionCommand::Logoff {
            reason: "r".into(),
            cause: EndCause::ServiceWindow,
        };
        assert_eq!(logoff.kind(), "logoff");
        let job_id = Uuid::nil();
        let ready = SessionCommand::PrintReady {
            job_id,
            title: "Journal".into(),
            pages: 3,
        };
        assert_eq!(ready.kind(), "print_ready");
        let refused = SessionCommand::PrintRefused {
            job_id,
            title: String::new(),
            reason: "job_too_large".into(),
        };
        assert_eq!(refused.kind(), "print_refused");
        assert!(ready.validate().is_ok() && refused.validate().is_ok());
        let bad = SessionCommand::PrintRefused {
            job_id,
            title: String::new(),
            reason: "not a code".into(),
        };
        assert_eq!(bad.validate().unwrap_err().0[0].field, "reason");
    }
}
