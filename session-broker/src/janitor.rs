//! Clean-up that any broker node runs periodically. All of it is idempotent, so several
//! nodes may run it at once.
//!
//! - A launch whose ticket was never used ends. Its `sessions` row stays `launching`
//!   otherwise, holding a seat on its host and attracting the user's next launch (roaming).
//!   It is audited as `session.end`.
//! - Expired launch tickets are deleted, once they are past the grace that keeps replays
//!   recognisable.
//! - Expired web sessions are deleted, and login-throttle keys long without a failure.
//! - Refusals of the last window are searched for attack patterns
//!   ([`crate::security::detect`]); new ones become security events.
//! - Every pool's capacity alarm is checked ([`crate::capacity::sweep`]), and per-minute
//!   fair-use counters of past windows are deleted.
//! - The seat counters (hosts' live sessions and logons, tenants' live sessions; kept by
//!   triggers on `sessions`) are compared with `sessions` and recounted where they
//!   disagree ([`crate::repo::load::reconcile_seats`]), so drift heals within a minute.
//! - The pools' disconnect timeout and maximum session length ([`crate::lifecycle`]):
//!   warnings, then logoffs.
//! - Session commands nobody claimed in time are marked expired, claims of a gateway node
//!   that died are marked failed, and finished commands (session and host) older than
//!   [`COMMAND_RETENTION`] are deleted ([`crate::session_control`]).

use std::time::Duration;

use sqlx::AssertSqlSafe;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::db::row::{get_uuid, millis};
use crate::db::{Database, DbError};
use crate::model::{ActorKind, AuditOutcome, NewAuditEvent, SessionState};
use crate::repo;

/// How old a `launching` session must be before it can count as abandoned: well past a
/// ticket's life (60 s) and a gateway's connection attempt (20 s).
pub const ABANDONED_AFTER: Duration = Duration::from_secs(5 * 60);

/// How long finished session and host commands are kept (the audit log is the record).
pub const COMMAND_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    pub abandoned_launches: u64,
    pub tickets: u64,
    pub web_sessions: u64,
    /// Session commands expired unclaimed or failed with a dead node.
    pub commands_expired: u64,
    /// Finished session and host commands deleted.
    pub commands_pruned: u64,
    /// Timeouts the broker enforced.
    pub lifecycle: crate::lifecycle::LifecycleSwept,
    pub throttle_keys: u64,
    pub security_events: u64,
    /// Printer tokens of sessions ended longer than the grace period, unused by any job.
    pub print_tokens: u64,
}

/// One clean-up pass at `now`.
pub async fn sweep(db: &Database, now: OffsetDateTime) -> Result<Swept, DbError> {
    let abandoned_launches = end_abandoned_launches(db, now).await?;
    let lifecycle = crate::lifecycle::sweep(db, now).await?;
    let tickets = crate::ticket::prune_expired(db).await?;
    let policy = crate::throttle::ThrottlePolicy::default();
    let (web_sessions, throttle_keys, print_tokens) = {
        let mut conn = db.acquire().await?;
        let forget = time::Duration::try_from(policy.forget_after + policy.max)
            .unwrap_or(time::Duration::HOUR);
        (
            repo::web_sessions::prune_expired(&mut conn, now).await?,
            repo::login_throttle::prune(&mut conn, now - forget).await?,
            repo::print_tokens::prune_dead(&mut conn, now - crate::print::tokens::GRACE_AFTER_END)
                .await?,
        )
    };
    let (commands_expired, commands_pruned) = {
        let mut conn = db.acquire().await?;
        let expired = crate::session_control::expire(&mut conn, now).await?;
        let before = now - COMMAND_RETENTION;
        let pruned = repo::session_commands::prune(&mut conn, before).await?
            + repo::host_commands::prune(&mut conn, before).await?;
        (expired, pruned)
    };
    let security_events =
        crate::security::detect(db, &crate::security::DetectionPolicy::default(), now)
            .await?
            .len() as u64;
    Ok(Swept {
        abandoned_launches,
        tickets,
        web_sessions,
        commands_expired,
        commands_pruned,
        lifecycle,
        throttle_keys,
        security_events,
        print_tokens,
    })
}

/// Ends every `launching` session older than [`ABANDONED_AFTER`] that no gateway took up:
/// none of its tickets was consumed and none is still valid.
async fn end_abandoned_launches(db: &Database, now: OffsetDateTime) -> Result<u64, DbError> {
    let cutoff = millis(now) - ABANDONED_AFTER.as_millis() as i64;
    let rows = sqlx::query(AssertSqlSafe(
        "SELECT s.id AS id FROM sessions s WHERE s.state = 'launching' AND s.created_at < $1 \
         AND NOT EXISTS (SELECT 1 FROM launch_tickets t WHERE t.session_id = s.id \
         AND (t.consumed_at IS NOT NULL OR t.expires_at > $2))"
            .to_owned(),
    ))
    .bind(cutoff)
    .bind(millis(now))
    .fetch_all(db.pool())
    .await?;
    let mut ended = 0;
    for row in &rows {
        let id: Uuid = get_uuid(row, "id")?;
        let mut tx = db.begin().await?;
        // Re-checked inside the transaction: a gateway may have taken it up meanwhile.
        let Some(session) = repo::sessions::get(&mut tx, id).await? else {
            continue;
        };
        if session.state != SessionState::Launching {
            continue;
        }
        repo::sessions::set_state(&mut tx, id, SessionState::Ended, now).await?;
        repo::audit::insert(
            &mut tx,
            &NewAuditEvent {
                tenant_id: Some(session.tenant_id),
                actor_kind: ActorKind::System,
                actor_id: None,
                actor_name: "broker".to_owned(),
                action: "session.end".to_owned(),
                target_type: Some("session".to_owned()),
                target_id: Some(id.to_string()),
                outcome: AuditOutcome::Success,
                source_address: None,
                before: Some(serde_json::json!({ "state": "launching" })),
                after: Some(serde_json::json!({ "state": "ended" })),
                detail: Some(format!(
                    "launch abandoned: no gateway used its ticket; host {} freed",
                    session.host_id
                )),
            },
        )
        .await?;
        tx.commit().await.map_err(DbError::from)?;
        ended += 1;
    }
    Ok(ended)
}

/// Sweeps every `interval` until `shutdown`; a failed sweep is logged and retried. With
/// `audit_retention`, audit events older than it are deleted too ([`audit_retention`]).
pub async fn run_janitor(
    db: Database,
    interval: Duration,
    audit_retention: Option<Duration>,
    shutdown: CancellationToken,
) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => match sweep(&db, OffsetDateTime::now_utc()).await {
                Ok(swept) if swept != Swept::default() => tracing::info!(?swept, "janitor swept"),
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "janitor sweep failed"),
            },
        }
        if let Err(error) = load_sweep(&db, OffsetDateTime::now_utc()).await {
            tracing::warn!(%error, "capacity alarm sweep failed");
        }
        if let Some(keep) = audit_retention {
            match self::audit_retention(&db, OffsetDateTime::now_utc(), keep).await {
                Ok(0) => {}
                Ok(deleted) => tracing::info!(deleted, "audit events past retention deleted"),
                Err(error) => tracing::warn!(%error, "audit retention failed"),
            }
        }
    }
}

/// How often a broker node seals the audit events written since ([`repo::audit::seal`]):
/// the window in which a fresh event is guarded by the append-only triggers alone.
pub const AUDIT_SEAL_INTERVAL: Duration = Duration::from_secs(1);

/// Seals committed audit events into the hash chain every `interval` until `shutdown`,
/// then once more, so a stopped broker leaves nothing unsealed it could have sealed.
/// Several nodes may run it: the head's lock lets one seal at a time, each row once.
pub async fn run_audit_sealer(db: Database, interval: Duration, shutdown: CancellationToken) {
    let seal = || async {
        let mut conn = db.acquire().await?;
        if !repo::audit::has_unsealed(&mut conn).await? {
            return Ok::<u64, DbError>(0);
        }
        drop(conn);
        // A write transaction in this process's turn (SQLite's write lock queue).
        let mut tx = db.begin().await?;
        let sealed = repo::audit::seal_all(&mut tx).await?;
        tx.commit().await?;
        Ok(sealed)
    };
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = tick.tick() => {
                if let Err(error) = seal().await {
                    tracing::warn!(%error, "sealing audit events failed");
                }
            }
        }
    }
    if let Err(error) = seal().await {
        tracing::warn!(%error, "sealing audit events at shutdown failed");
    }
}

/// Deletes audit events older than `keep` at `now`: the oldest whole prefix of the chain,
/// which then verifies from its new anchor ([`repo::audit::purge_before`]).
pub async fn audit_retention(
    db: &Database,
    now: OffsetDateTime,
    keep: Duration,
) -> Result<u64, DbError> {
    let keep = time::Duration::try_from(keep).unwrap_or(time::Duration::MAX);
    let Some(before) = now.checked_sub(keep) else {
        return Ok(0);
    };
    let mut tx = db.begin().await?;
    let deleted = repo::audit::purge_before(&mut tx, before).await?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(deleted)
}

/// The seat counters recounted where they drift, the capacity alarms of every pool, and
/// fair-use counters older than the previous window (nothing reads those).
pub async fn load_sweep(db: &Database, now: OffsetDateTime) -> Result<u64, DbError> {
    let fixed = repo::load::reconcile_seats(db).await?;
    if fixed != repo::load::Reconciled::default() {
        // The triggers keep the counters exact; a correction means something bypassed
        // them (or a bug), which operators should hear of.
        tracing::warn!(
            ?fixed,
            "seat counters drifted from the sessions table; recounted"
        );
    }
    let changed = crate::capacity::sweep(db, now).await?;
    let mut conn = db.acquire().await?;
    let (current, _) = crate::fair_use::window(millis(now));
    repo::load::prune_counters(&mut conn, current - crate::fair_use::WINDOW_MS).await?;
    Ok(changed)
}
