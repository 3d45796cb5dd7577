//! What a service window tells running sessions: a warning before it starts and a logoff
//! at the configured point, through the broker → gateway session command channel.
//!
//! Interim: the command channel (`session_control`) is being built on another branch;
//! until it is merged nothing is delivered and these report `false` (not delivered).

use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::DbError;
use crate::model::ServiceWindow;
use crate::model::service_window::Occurrence;
use crate::repo::AnyConnection;

/// Warns session `session` that `o` starts in about `minutes` minutes. True when queued.
pub async fn warn(
    _conn: &mut AnyConnection,
    _session: Uuid,
    _w: &ServiceWindow,
    _o: &Occurrence,
    _minutes: u32,
    _now: OffsetDateTime,
) -> Result<bool, DbError> {
    Ok(false)
}

/// Logs session `session` off for `o`. True when it was live and is now ending.
pub async fn logoff(
    _conn: &mut AnyConnection,
    _session: Uuid,
    _w: &ServiceWindow,
    _o: &Occurrence,
    _now: OffsetDateTime,
) -> Result<bool, DbError> {
    Ok(false)
}

/// Wakes the gateway nodes after a commit that queued commands.
pub fn wake() {}
