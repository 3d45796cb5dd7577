//! Release rings: rolling an app's new build out UTB first, PROD later
//! ([`crate::model::rollout`] has the states).
//!
//! - [`create`] finds the app's counterpart in each environment of its tenant (same kind
//!   and same program; a desktop app has none but itself) and makes one step per
//!   environment, UTB first. The first step may begin in its environment's next service
//!   window; the next one in the first window at least `prod_delay_days` after the step
//!   before it is done.
//! - [`begin_due_steps`] runs in the scheduler's window-start step: the step's pool's
//!   hosts are marked for recycling onto the build (`hosts.recycle_to`) and drained under
//!   the window (restored after it like the window's own drains, but only once recycled).
//! - A host agent or an operator reports the build a host runs ([`report_host_version`]);
//!   that clears the mark.
//! - [`advance`] (every scheduler tick) finishes a draining step once no host of its pool
//!   waits for the build: the app's version is set and the next step's clock starts.
//! - [`halt`]: an admin stops the rollout; pending recycle marks are cleared so the hosts
//!   return to service.
//!
//! Every transition is claimed by a conditional UPDATE of the step's state and audited in
//! the same transaction, so several broker nodes never act twice.

use sqlx::AnyConnection;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::db::{Database, DbError};
use crate::model::service_window::Occurrence;
use crate::model::{
    App, EnvironmentKind, Host, NewAuditEvent, NewRollout, Rollout, RolloutState, RolloutStepState,
    ServiceWindow,
};
use crate::repo;
use crate::repo::rollouts::NewStep;

/// Why a rollout cannot be created or changed; each names the field.
#[derive(Debug, thiserror::Error)]
pub enum RolloutError {
    #[error("version: the app runs this version already")]
    SameVersion,
    #[error("app: a rollout of this app is scheduled or in progress")]
    Open,
    #[error("state: the rollout is {0} and cannot be halted")]
    Finished(RolloutState),
    #[error(transparent)]
    Database(#[from] DbError),
}

/// A system audit event of the rollout machinery (the scheduler's shape).
fn event(
    tenant: Option<Uuid>,
    action: &str,
    target: (&str, Uuid),
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
    detail: String,
) -> NewAuditEvent {
    crate::service_windows::scheduler::system_event(
        tenant,
        action,
        (target.0, target.1.to_string()),
        before,
        after,
        detail,
    )
}

/// The apps a rollout of `app` upgrades, UTB first: per environment of the tenant, the app
/// itself or its counterpart (same kind and program).
async fn counterparts(
    conn: &mut AnyConnection,
    app: &App,
) -> Result<Vec<(EnvironmentKind, App)>, DbError> {
    let mut out = Vec::new();
    for kind in [EnvironmentKind::Utb, EnvironmentKind::Prod] {
        let Some(env) = repo::environments::get_by_kind(conn, app.tenant_id, kind).await? else {
            continue;
        };
        if env.id == app.environment_id {
            out.push((kind, app.clone()));
            continue;
        }
        if app.program.is_none() {
            continue;
        }
        let mut page = crate::model::PageRequest {
            limit: 500,
            cursor: None,
        };
        'pages: loop {
            let apps = repo::apps::list(conn, app.tenant_id, Some(env.id), page).await?;
            for a in &apps.items {
                if a.kind == app.kind && a.program == app.program {
                    out.push((kind, a.clone()));
                    break 'pages;
                }
            }
            match apps.next_cursor {
                Some(c) => page.cursor = Some(c),
                None => break,
            }
        }
    }
    Ok(out)
}

/// Creates a rollout of `app` to `new.version` at `now` (the caller audits and commits).
pub async fn create(
    conn: &mut AnyConnection,
    app: &App,
    new: &NewRollout,
    now: OffsetDateTime,
) -> Result<Rollout, RolloutError> {
    if app.version.as_deref() == Some(new.version.as_str()) {
        return Err(RolloutError::SameVersion);
    }
    if repo::rollouts::open_for_app(conn, app.id).await? {
        return Err(RolloutError::Open);
    }
    let steps: Vec<NewStep> = counterparts(conn, app)
        .await?
        .into_iter()
        .enumerate()
        .map(|(i, (_, a))| NewStep {
            environment_id: a.environment_id,
            app_id: a.id,
            pool_id: a.pool_id,
            not_before: (i == 0).then_some(now),
        })
        .collect();
    Ok(repo::rollouts::insert(
        conn,
        app.tenant_id,
        app.id,
        &new.version,
        new.prod_delay_days,
        &steps,
        now,
    )
    .await?)
}

/// Halts rollout `r` at `now`: open steps become `halted`, pending recycle marks of a
/// draining step's hosts are cleared. Returns the rollout after (the caller audits).
pub async fn halt(
    conn: &mut AnyConnection,
    r: &Rollout,
    now: OffsetDateTime,
) -> Result<Rollout, RolloutError> {
    if matches!(r.state, RolloutState::Done | RolloutState::Halted) {
        return Err(RolloutError::Finished(r.state));
    }
    for s in &r.steps {
        let from = s.state;
        if !matches!(
            from,
            RolloutStepState::Scheduled | RolloutStepState::Draining
        ) {
            continue;
        }
        repo::rollouts::move_step(conn, s.id, from, RolloutStepState::Halted, None, now).await?;
        if from == RolloutStepState::Draining {
            for mut h in repo::hosts::in_pool(conn, s.pool_id).await? {
                if h.recycle_to.as_deref() == Some(r.version.as_str()) {
                    h.recycle_to = None;
                    repo::hosts::update(conn, &h).await?;
                }
            }
        }
    }
    repo::rollouts::set_state(conn, r.id, RolloutState::Halted, now).await?;
    repo::rollouts::get(conn, r.id)
        .await?
        .ok_or_else(|| RolloutError::Database(DbError::Corrupt("halted rollout vanished".into())))
}

/// Begins the rollout steps due in `w`'s environment for occurrence `o` (inside the
/// scheduler's start step). Returns how many began.
pub async fn begin_due_steps(
    conn: &mut AnyConnection,
    w: &ServiceWindow,
    o: &Occurrence,
    now: OffsetDateTime,
) -> Result<u64, DbError> {
    let mut begun = 0;
    for row in repo::rollouts::due_steps(conn, w.environment_id, o.start).await? {
        let Some(rollout) = repo::rollouts::get(conn, row.rollout_id).await? else {
            continue;
        };
        if !repo::rollouts::move_step(
            conn,
            row.step.id,
            RolloutStepState::Scheduled,
            RolloutStepState::Draining,
            Some((w.id, o.start)),
            now,
        )
        .await?
        {
            continue;
        }
        let tenant = repo::pools::get(conn, row.step.pool_id)
            .await?
            .and_then(|p| p.dedicated_tenant_id);
        // Drain first (recording the state to return to), then mark for recycling.
        let drained =
            crate::service_windows::scheduler::drain_pool(conn, w, o, row.step.pool_id, tenant)
                .await?;
        let mut marked = 0;
        for mut h in repo::hosts::in_pool(conn, row.step.pool_id).await? {
            if h.version.as_deref() == Some(rollout.version.as_str()) {
                continue;
            }
            h.recycle_to = Some(rollout.version.clone());
            repo::hosts::update(conn, &h).await?;
            marked += 1;
        }
        if rollout.state == RolloutState::Scheduled {
            repo::rollouts::set_state(conn, rollout.id, RolloutState::InProgress, now).await?;
        }
        repo::audit::insert(
            conn,
            &event(
                Some(rollout.tenant_id),
                "rollout.step_start",
                ("rollout", rollout.id),
                None,
                None,
                format!(
                    "step {} ({}) of {} in service window {}: {drained} hosts drained, \
                     {marked} hosts to recycle onto {}",
                    row.step.position, row.step.environment_kind, rollout.id, w.id, rollout.version
                ),
            ),
        )
        .await?;
        begun += 1;
    }
    Ok(begun)
}

/// Finishes every draining step none of whose hosts waits for the build any more.
pub async fn advance(db: &Database, now: OffsetDateTime) -> Result<u64, DbError> {
    let steps = {
        let mut conn = db.acquire().await?;
        repo::rollouts::draining_steps(&mut conn).await?
    };
    let mut finished = 0;
    for row in steps.into_iter().filter(|r| r.step.hosts_pending == 0) {
        let mut tx = db.begin().await?;
        if !repo::rollouts::move_step(
            &mut tx,
            row.step.id,
            RolloutStepState::Draining,
            RolloutStepState::Done,
            None,
            now,
        )
        .await?
        {
            continue;
        }
        let Some(rollout) = repo::rollouts::get(&mut tx, row.rollout_id).await? else {
            continue;
        };
        if let Some(before) = repo::apps::get(&mut tx, row.step.app_id).await? {
            let mut app = before.clone();
            app.version = Some(rollout.version.clone());
            let after = repo::apps::update(&mut tx, &app).await?;
            repo::audit::insert(
                &mut tx,
                &event(
                    Some(app.tenant_id),
                    "app.update",
                    ("app", app.id),
                    serde_json::to_value(&before).ok(),
                    serde_json::to_value(&after).ok(),
                    format!("rollout {} step {} done", rollout.id, row.step.position),
                ),
            )
            .await?;
        }
        let next = row.step.position + 1;
        let delay = Duration::days(i64::from(rollout.prod_delay_days));
        let detail = if rollout.steps.iter().any(|s| s.position == next) {
            repo::rollouts::set_not_before(&mut tx, rollout.id, next, now + delay).await?;
            format!(
                "step {} ({}) done: every host runs {}; the next step waits for a window from {}",
                row.step.position,
                row.step.environment_kind,
                rollout.version,
                now + delay
            )
        } else {
            repo::rollouts::set_state(&mut tx, rollout.id, RolloutState::Done, now).await?;
            format!(
                "step {} ({}) done: every host runs {}; the rollout is done",
                row.step.position, row.step.environment_kind, rollout.version
            )
        };
        repo::audit::insert(
            &mut tx,
            &event(
                Some(rollout.tenant_id),
                "rollout.step_done",
                ("rollout", rollout.id),
                None,
                None,
                detail,
            ),
        )
        .await?;
        tx.commit().await.map_err(DbError::from)?;
        finished += 1;
    }
    Ok(finished)
}

/// Records that host `h` runs `version`; clears a recycle mark it satisfies. Returns the
/// host after (the caller audits).
pub async fn report_host_version(
    conn: &mut AnyConnection,
    h: &Host,
    version: &str,
) -> Result<Host, DbError> {
    let mut after = h.clone();
    after.version = Some(version.to_owned());
    if after.recycle_to.as_deref() == Some(version) {
        after.recycle_to = None;
    }
    repo::hosts::update(conn, &after).await
}
