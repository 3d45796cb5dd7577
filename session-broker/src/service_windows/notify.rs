//! What a service window tells running sessions, through the broker → gateway command
//! channel ([`crate::session_control`]): a warning before it starts (the viewer counts down
//! to the logoff point) and the logoff itself (browser closed with 4302, RDP connection
//! closed, row `ended`, and a logoff for the host's agent). Both are queued inside the
//! scheduler's step transaction, next to its audit event; [`wake`] after the commit.

use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::tz;
use crate::db::DbError;
use crate::model::service_window::Occurrence;
use crate::model::{EndCause, ServiceWindow, SessionCommand, WarningKind};
use crate::repo::AnyConnection;
use crate::session_control::{self, ControlError};

fn hhmm(t: OffsetDateTime) -> String {
    let l = tz::to_local(t);
    format!("{:02}:{:02}", l.hour(), l.minute())
}

/// When sessions of `w` are logged off in occurrence `o`.
pub fn logoff_at(w: &ServiceWindow, o: &Occurrence) -> OffsetDateTime {
    o.start + Duration::minutes(i64::from(w.logoff_after_minutes))
}

/// The warning's text (Swedish, the portal's default language).
pub fn warning_text(w: &ServiceWindow, o: &Occurrence, minutes: u32) -> String {
    format!(
        "Servicefönster kl. {}–{} (om {minutes} min): {}. Spara ditt arbete; sessionen loggas \
         ut kl. {}. Tjänsten är tillbaka {}.",
        hhmm(o.start),
        hhmm(o.end),
        w.title,
        hhmm(logoff_at(w, o)),
        super::back_at_sv(o.end)
    )
}

fn settle(result: Result<(), ControlError>) -> Result<bool, DbError> {
    match result {
        Ok(()) => Ok(true),
        // Ended (or gone) meanwhile: nothing to tell it.
        Err(ControlError::UnknownSession(_) | ControlError::SessionEnded(_)) => Ok(false),
        Err(ControlError::Database(e)) => Err(e),
        Err(ControlError::Invalid(e)) => Err(DbError::Corrupt(format!(
            "service-window command refused: {e}"
        ))),
    }
}

/// Warns session `session` that `o` starts in about `minutes` minutes. True when queued.
pub async fn warn(
    conn: &mut AnyConnection,
    session: Uuid,
    w: &ServiceWindow,
    o: &Occurrence,
    minutes: u32,
    now: OffsetDateTime,
) -> Result<bool, DbError> {
    let command = SessionCommand::Warning {
        kind: WarningKind::ServiceWindow,
        text: warning_text(w, o, minutes),
        at: logoff_at(w, o),
    };
    settle(
        session_control::enqueue_at(conn, session, command, now)
            .await
            .map(drop),
    )
}

/// Logs session `session` off for `o`. True when it was live and is now ending.
pub async fn logoff(
    conn: &mut AnyConnection,
    session: Uuid,
    w: &ServiceWindow,
    o: &Occurrence,
    now: OffsetDateTime,
) -> Result<bool, DbError> {
    let reason = format!(
        "Servicefönster: {} (till {})",
        w.title,
        super::back_at_sv(o.end)
    );
    settle(
        session_control::log_off(conn, session, &reason, EndCause::ServiceWindow, now)
            .await
            .map(drop),
    )
}

/// Wakes the gateway nodes after a commit that queued commands.
pub fn wake() {
    session_control::wake();
}
