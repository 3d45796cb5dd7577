//! Launching an app: check the entitlement, place the session, record it in state
//! `launching`, and hand out a launch ticket for it, all in one transaction with its audit
//! event. Refusals are typed, carry the words the user sees (Swedish by default, English
//! when chosen) and are audited too. Fair use ([`crate::fair_use`]) is checked in the same
//! transaction: a launch over a tenant's or user's limit is refused with when to retry.

use std::borrow::Cow;

use sqlx::AnyConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::row::millis;
use crate::db::{Database, DbError};
use crate::fair_use::{self, Over};
use crate::metrics;
use crate::model::{
    ActorKind, AuditOutcome, Host, NewAuditEvent, NewSession, Session, SessionState, User,
};
use crate::repo;
use crate::ticket::{self, Claims, Grant, KeyError, LaunchPath, TicketIssuer};
use crate::{capacity, placement};

/// A granted launch.
#[derive(Debug, Clone)]
pub struct LaunchTicket {
    /// The ticket, base64url, for the browser (websocket) or the `.rdp` file.
    pub ticket: String,
    /// The native path's short reference to the same ticket (the RD Gateway PAA cookie,
    /// [`ticket::reference`]); `None` for the browser path.
    pub reference: Option<String>,
    pub claims: Claims,
    pub session: Session,
    pub host: Host,
    pub expires_at: OffsetDateTime,
}

/// Why a launch was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("unknown user")]
    UnknownUser,
    /// No such app, or one of another tenant (the same answer, so ids leak nothing).
    #[error("unknown app")]
    UnknownApp,
    #[error("the user is not entitled to the app")]
    NotEntitled,
    #[error("the app is disabled")]
    AppDisabled,
    #[error("no host of the pool can take a session")]
    NoHostAvailable,
    /// Hosts have room, but every one is busy logging users on (the pool's storm limit).
    #[error("every host with room is at its logon limit; retry in {retry_after_s} s")]
    LogonStorm { retry_after_s: u32 },
    /// The tenant has as many live sessions as its limit.
    #[error("the tenant is at its limit of {limit} sessions")]
    TenantSessionLimit { limit: u32 },
    /// The user has as many live sessions as the tenant allows one user.
    #[error("the user is at the limit of {limit} sessions")]
    UserSessionLimit { limit: u32 },
    /// The tenant has launched as often this minute as it may.
    #[error(
        "the tenant is at its limit of {limit} launches per minute; retry in {retry_after_s} s"
    )]
    LaunchRateLimit { limit: u32, retry_after_s: u32 },
    /// The app's environment is in a service window until `until`.
    #[error("the environment is in service window {window} until {until}")]
    ServiceWindow { window: Uuid, until: OffsetDateTime },
    #[error(transparent)]
    Database(#[from] DbError),
    #[error(transparent)]
    Keys(#[from] KeyError),
}

impl LaunchError {
    /// What the user is told, in Swedish.
    pub fn message_sv(&self) -> Cow<'static, str> {
        match *self {
            Self::LogonStorm { retry_after_s } => {
                return format!(
                    "Många loggar in just nu. Försök igen om {retry_after_s} sekunder."
                )
                .into();
            }
            Self::TenantSessionLimit { limit } => {
                return format!(
                    "Er organisation har nått sin gräns på {limit} samtidiga sessioner. \
                     Försök igen om {} sekunder, eller när någon har loggat ut.",
                    crate::fair_use::SESSION_LIMIT_RETRY_AFTER_S
                )
                .into();
            }
            Self::UserSessionLimit { limit } => {
                return format!(
                    "Du har redan {limit} sessioner öppna, vilket är det högsta tillåtna. \
                     Logga ut från en av dem och försök igen."
                )
                .into();
            }
            Self::LaunchRateLimit { retry_after_s, .. } => {
                return format!(
                    "Er organisation har startat många applikationer den senaste minuten. \
                     Försök igen om {retry_after_s} sekunder."
                )
                .into();
            }
            _ => {}
        }
        if let Self::ServiceWindow { until, .. } = self {
            return Cow::Owned(format!(
                "Tjänsten har servicefönster till {}. Försök igen efter det.",
                crate::service_windows::back_at_sv(*until)
            ));
        }
        Cow::Borrowed(match self {
            Self::UnknownUser => "Din inloggning känns inte igen. Logga in igen.",
            Self::UnknownApp => "Applikationen finns inte.",
            Self::NotEntitled => "Du har inte behörighet att starta den här applikationen.",
            Self::AppDisabled => "Applikationen är inte tillgänglig just nu.",
            Self::NoHostAvailable => {
                "Ingen server kan ta emot fler sessioner just nu. Försök igen om en stund."
            }
            Self::Database(_) | Self::Keys(_) | Self::ServiceWindow { .. } => {
                "Ett tekniskt fel uppstod. Försök igen om en stund."
            }
            Self::LogonStorm { .. }
            | Self::TenantSessionLimit { .. }
            | Self::UserSessionLimit { .. }
            | Self::LaunchRateLimit { .. } => "Försök igen om en stund.",
        })
    }

    /// What the user is told, in English.
    pub fn message_en(&self) -> Cow<'static, str> {
        match *self {
            Self::LogonStorm { retry_after_s } => {
                return format!(
                    "Many people are logging on right now. Please try again in {retry_after_s} seconds."
                )
                .into();
            }
            Self::TenantSessionLimit { limit } => {
                return format!(
                    "Your organisation has reached its limit of {limit} concurrent sessions. \
                     Please try again in {} seconds, or when someone has logged off.",
                    crate::fair_use::SESSION_LIMIT_RETRY_AFTER_S
                )
                .into();
            }
            Self::UserSessionLimit { limit } => {
                return format!(
                    "You already have {limit} sessions open, the most allowed. \
                     Log off from one of them and try again."
                )
                .into();
            }
            Self::LaunchRateLimit { retry_after_s, .. } => {
                return format!(
                    "Your organisation has started many applications in the last minute. \
                     Please try again in {retry_after_s} seconds."
                )
                .into();
            }
            _ => {}
        }
        if let Self::ServiceWindow { until, .. } = self {
            return Cow::Owned(format!(
                "The service is in a maintenance window until {}. Please try again then.",
                crate::service_windows::back_at_en(*until)
            ));
        }
        Cow::Borrowed(match self {
            Self::UnknownUser => "Your login is not recognised. Please log in again.",
            Self::UnknownApp => "The application does not exist.",
            Self::NotEntitled => "You are not entitled to launch this application.",
            Self::AppDisabled => "The application is not available right now.",
            Self::NoHostAvailable => {
                "No host can take more sessions right now. Please try again shortly."
            }
            Self::Database(_) | Self::Keys(_) | Self::ServiceWindow { .. } => {
                "A technical error occurred. Please try again shortly."
            }
            Self::LogonStorm { .. }
            | Self::TenantSessionLimit { .. }
            | Self::UserSessionLimit { .. }
            | Self::LaunchRateLimit { .. } => "Please try again shortly.",
        })
    }

    /// Seconds after which trying again may succeed (the HTTP `Retry-After`), for refusals
    /// that pass with time.
    pub fn retry_after_s(&self) -> Option<u32> {
        match *self {
            Self::LogonStorm { retry_after_s } | Self::LaunchRateLimit { retry_after_s, .. } => {
                Some(retry_after_s)
            }
            Self::TenantSessionLimit { .. } | Self::UserSessionLimit { .. } => {
                Some(crate::fair_use::SESSION_LIMIT_RETRY_AFTER_S)
            }
            _ => None,
        }
    }

    /// A limit of fair use or the logon-storm limit: the portal answers 429.
    pub fn is_over_limit(&self) -> bool {
        matches!(
            self,
            Self::LogonStorm { .. }
                | Self::TenantSessionLimit { .. }
                | Self::UserSessionLimit { .. }
                | Self::LaunchRateLimit { .. }
        )
    }

    /// Whether the user's request was refused (as opposed to the broker failing).
    pub fn is_refusal(&self) -> bool {
        !matches!(self, Self::Database(_) | Self::Keys(_))
    }

    /// Stable word for audit events and logs.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::UnknownUser => "unknown_user",
            Self::UnknownApp => "unknown_app",
            Self::NotEntitled => "not_entitled",
            Self::AppDisabled => "app_disabled",
            Self::NoHostAvailable => "no_host_available",
            Self::LogonStorm { .. } => "logon_storm",
            Self::TenantSessionLimit { .. } => "tenant_session_limit",
            Self::UserSessionLimit { .. } => "user_session_limit",
            Self::LaunchRateLimit { .. } => "launch_rate_limit",
            Self::ServiceWindow { .. } => "service_window",
            Self::Database(_) => "database",
            Self::Keys(_) => "keys",
        }
    }
}

impl From<Over> for LaunchError {
    fn from(over: Over) -> Self {
        match over {
            Over::TenantSessions { limit } => Self::TenantSessionLimit { limit },
            Over::UserSessions { limit } => Self::UserSessionLimit { limit },
            Over::LaunchRate {
                limit,
                retry_after_s,
            } => Self::LaunchRateLimit {
                limit,
                retry_after_s,
            },
        }
    }
}

fn launch_event(
    user: Option<&User>,
    user_id: Uuid,
    app_id: Uuid,
    outcome: AuditOutcome,
    target: (&str, String),
    detail: String,
) -> NewAuditEvent {
    NewAuditEvent {
        tenant_id: user.map(|u| u.tenant_id),
        actor_kind: ActorKind::User,
        actor_id: Some(user_id.to_string()),
        actor_name: user.map_or_else(|| user_id.to_string(), |u| u.display_name.clone()),
        action: "session.launch".into(),
        target_type: Some(target.0.to_owned()),
        target_id: Some(target.1),
        outcome,
        source_address: None,
        before: None,
        after: None,
        detail: Some(format!(
            "app {app_id}{}; {detail}",
            user.and_then(|u| u.hsa_id.as_deref())
                .map(|h| format!(" hsa_id {h}"))
                .unwrap_or_default()
        )),
    }
}

/// How often a launch whose transaction failed transiently ([`DbError::is_transient`]:
/// SQLite busy, a PostgreSQL deadlock) is run again before the error reaches the user.
const TRANSIENT_RETRIES: u32 = 4;

/// Launches `app_id` for `user_id` over `path`: checks the user is entitled to an enabled
/// app of their tenant, places the session with [`placement::place`] (the user's live
/// session for the app if there is one, else a new `sessions` row, `launching`, on the
/// pool's best host), records the ticket for single use, audits
/// `session.launch`, and returns the signed ticket. A refusal is audited as
/// `session.launch` with outcome `refused` and its reason.
pub async fn issue_launch_ticket(
    db: &Database,
    issuer: &TicketIssuer,
    user_id: Uuid,
    app_id: Uuid,
    path: LaunchPath,
) -> Result<LaunchTicket, LaunchError> {
    issue_launch_ticket_at(db, issuer, user_id, app_id, path, OffsetDateTime::now_utc()).await
}

/// [`issue_launch_ticket`] with the service-window check made at `now` (tests and the
/// scheduler's clock); the ticket itself is issued at the wall-clock time.
pub async fn issue_launch_ticket_at(
    db: &Database,
    issuer: &TicketIssuer,
    user_id: Uuid,
    app_id: Uuid,
    path: LaunchPath,
    now: OffsetDateTime,
) -> Result<LaunchTicket, LaunchError> {
    let started = std::time::Instant::now();
    let result = launch_with_retries(db, issuer, user_id, app_id, path, now).await;
    let outcome = match &result {
        Ok(_) => "granted",
        Err(e) if e.is_refusal() => {
            metrics::LAUNCH_REFUSALS.inc(&[e.reason()]);
            "refused"
        }
        Err(_) => "failed",
    };
    metrics::LAUNCHES.inc(&[outcome]);
    metrics::LAUNCH_DURATION.observe(&[outcome], started.elapsed());
    result
}

/// [`issue_launch_ticket_at`] without the metrics: the launch, run again on transient
/// database failures, and the refusal's audit event.
async fn launch_with_retries(
    db: &Database,
    issuer: &TicketIssuer,
    user_id: Uuid,
    app_id: Uuid,
    path: LaunchPath,
    now: OffsetDateTime,
) -> Result<LaunchTicket, LaunchError> {
    let mut attempt = 0;
    // PostgreSQL counts fair use on shards; SQLite's write lock makes every count exact.
    let mut exact = db.backend() == crate::db::Backend::Sqlite;
    let result = loop {
        let mut tx = db.begin().await?;
        let result = launch_in(&mut tx, issuer, user_id, app_id, path, now, exact).await;
        match result {
            Ok(Attempt::Granted(granted)) => match tx.commit().await.map_err(DbError::from) {
                Ok(()) => break Ok(*granted),
                Err(e) if e.is_transient() && attempt < TRANSIENT_RETRIES => {}
                Err(e) => return Err(e.into()),
            },
            Ok(Attempt::NotSure) => {
                // Near a limit: again, with the tenant's counters locked (not a failure,
                // so no back-off and no attempt used).
                tx.rollback().await.map_err(DbError::from)?;
                exact = true;
                continue;
            }
            Err(LaunchError::Database(e)) if e.is_transient() && attempt < TRANSIENT_RETRIES => {
                tx.rollback().await.map_err(DbError::from)?;
            }
            Err(e) => {
                tx.rollback().await.map_err(DbError::from)?;
                break Err(e);
            }
        }
        // The whole launch runs again: nothing of the failed attempt was committed.
        attempt += 1;
        tracing::debug!(attempt, %user_id, %app_id, "launch transaction failed transiently; again");
        tokio::time::sleep(std::time::Duration::from_millis(5 << attempt)).await;
    };
    match result {
        Ok(granted) => Ok(granted),
        Err(e) => {
            if e.is_refusal() {
                let mut conn = db.acquire().await?;
                let user = repo::users::get(&mut conn, user_id).await?;
                let event = launch_event(
                    user.as_ref(),
                    user_id,
                    app_id,
                    AuditOutcome::Refused,
                    ("app", app_id.to_string()),
                    match (&e, e.retry_after_s()) {
                        (LaunchError::ServiceWindow { window, until }, _) => {
                            format!("refused: service_window {window} until {until}")
                        }
                        // Limits say which and when to retry; the reason word stays last.
                        (_, Some(after)) => {
                            format!("{e}; retry after {after} s; refused: {}", e.reason())
                        }
                        (_, None) => format!("refused: {}", e.reason()),
                    },
                );
                repo::audit::insert(&mut conn, &event).await?;
            }
            Err(e)
        }
    }
}

/// What one run of a launch's transaction came to.
enum Attempt {
    Granted(Box<LaunchTicket>),
    /// Maybe over a fair-use limit by other launches' uncommitted counts: run again in
    /// exact mode ([`crate::fair_use`]).
    NotSure,
}

/// The launch in its transaction. Round trips on PostgreSQL for a new session: the user
/// (locked); the app, entitlement, limits, use and the user's live sessions in one query
/// (the service windows only when the environment has one not over); the pool's rules
/// and hosts in one; the seat; the ticket; the audit event; the session row; the count
/// (8, plus BEGIN and COMMIT; exact mode adds one, a native launch its reference, a roam
/// reads its session and host instead of the pool). Hot rows are taken as late as they
/// can be: the host's at the seat, one shard of the tenant's live sessions and of its
/// launch counter by the last two statements, so a tenant's launches overlap in all else.
async fn launch_in(
    conn: &mut AnyConnection,
    issuer: &TicketIssuer,
    user_id: Uuid,
    app_id: Uuid,
    path: LaunchPath,
    now: OffsetDateTime,
    exact: bool,
) -> Result<Attempt, LaunchError> {
    // Lock order of every launch: the user, the chosen host, the tenant's session-count
    // shards, its launch-counter shards (see crate::placement and migration 0020).
    let user = repo::users::get_for_launch(conn, user_id)
        .await?
        .ok_or(LaunchError::UnknownUser)?;
    let (window_start, _) = fair_use::window(millis(now));
    // Read with the user's row locked: the user's other launches have committed or wait.
    let facts =
        match repo::load::launch_facts(conn, user.id, app_id, window_start, millis(now)).await? {
            Some(f) if f.app_tenant_id == user.tenant_id => f,
            _ => return Err(LaunchError::UnknownApp),
        };
    if !facts.entitled {
        return Err(LaunchError::NotEntitled);
    }
    // Checked after the entitlement so unentitled users learn nothing about the app.
    if !facts.app_enabled {
        return Err(LaunchError::AppDisabled);
    }
    // A service window closes the environment from its start, before placement: no new
    // session and no roaming into one that is about to be logged off.
    if facts.windows_live
        && let Some((window, until)) =
            crate::service_windows::refusal_at(conn, facts.environment_id, now).await?
    {
        return Err(LaunchError::ServiceWindow {
            window: window.id,
            until,
        });
    }
    let fair = fair_use::LaunchLimits::new(
        facts.limits.clone(),
        facts.tenant_sessions,
        facts.launches,
        now,
    );
    fair.check_rate().map_err(LaunchError::from)?;
    let exact = exact || fair.exact();
    let existing = match facts.live_session {
        Some(id) => match repo::sessions::get(conn, id).await? {
            // Ended since it was read (the gateway or janitor): a new session it is.
            Some(session) if session.state != SessionState::Ended => {
                repo::hosts::get(conn, session.host_id)
                    .await?
                    .map(|host| (session, host))
            }
            _ => None,
        },
        None => None,
    };
    let (placed, view) = placement::place(conn, existing, facts.pool_id, now).await?;
    let (session, host, new_session) = match placed {
        // Roaming: the ticket names the live session, and the gateway reattaches it.
        placement::Placement::Existing { session, host } => (session, host, false),
        placement::Placement::New(host) => {
            fair_use::check_tenant_sessions(&fair.limits, fair.sessions)
                .and_then(|()| fair_use::check_user_sessions(&fair.limits, facts.user_live))
                .map_err(LaunchError::from)?;
            let session = repo::sessions::prepare(&NewSession {
                tenant_id: user.tenant_id,
                user_id: user.id,
                app_id,
                host_id: host.id,
            });
            if let Some(mut view) = view {
                // The seat just taken may ring the pool's capacity alarm.
                view.add_session(host.id);
                capacity::check(conn, facts.pool_id, &view).await?;
            }
            (session, host, true)
        }
        placement::Placement::LogonStorm { retry_after_s } => {
            return Err(LaunchError::LogonStorm { retry_after_s });
        }
        placement::Placement::Full => return Err(LaunchError::NoHostAvailable),
    };
    let grant = Grant {
        user_id: user.id,
        tenant_id: user.tenant_id,
        session_id: session.id,
        host_id: host.id,
        app_id,
        path,
    };
    let claims = issuer.claims(&grant, millis(crate::db::row::now()))?;
    ticket::record(conn, issuer.keys().key_id(), &claims).await?;
    let reference = match path {
        LaunchPath::Native => {
            let (text, hash) = ticket::reference::generate()?;
            ticket::reference::record(conn, claims.ticket_id, &hash).await?;
            Some(text)
        }
        LaunchPath::Browser => None,
    };
    let event = launch_event(
        Some(&user),
        user.id,
        app_id,
        AuditOutcome::Success,
        ("session", session.id.to_string()),
        format!(
            "host {} path {path} ticket {}{}",
            host.id,
            claims.ticket_id,
            if new_session {
                ""
            } else {
                "; roams to the user's live session"
            }
        ),
    );
    repo::audit::insert(conn, &event).await?;
    if exact {
        // Every shard of the tenant's counters, in the lock order, before the trigger
        // and the count take one each.
        repo::load::lock_fair_use(conn, user.tenant_id, window_start).await?;
    }
    if new_session {
        // Stored last: its trigger takes the host's seat (row already ours) and one shard
        // of the tenant's live sessions, held from here to the commit.
        repo::sessions::insert_prepared(conn, &session).await?;
    }
    match fair_use::count_launch(conn, &fair.limits, now, new_session, exact).await? {
        fair_use::Counted::Within => {}
        fair_use::Counted::Over(over) => return Err(over.into()),
        fair_use::Counted::NotSure => return Ok(Attempt::NotSure),
    }
    let expires_at = crate::db::row::from_millis(claims.expires_at_ms)
        .map_err(|e| DbError::Corrupt(format!("ticket expiry: {e}")))?;
    Ok(Attempt::Granted(Box::new(LaunchTicket {
        ticket: issuer.sign(&claims),
        reference,
        claims,
        session,
        host,
        expires_at,
    })))
}

/// Audits a launch the caller refused before asking for a ticket (a login whose level of
/// assurance is below the gateway's minimum), as `session.launch` refused with `reason`.
pub async fn audit_refused(
    db: &Database,
    user: &User,
    app_id: Uuid,
    reason: &str,
) -> Result<(), DbError> {
    let event = launch_event(
        Some(user),
        user.id,
        app_id,
        AuditOutcome::Refused,
        ("app", app_id.to_string()),
        format!("refused: {reason}"),
    );
    let mut conn = db.acquire().await?;
    repo::audit::insert(&mut conn, &event).await.map(drop)
}
