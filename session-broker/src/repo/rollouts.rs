//! The `rollouts` and `rollout_steps` tables.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe};
use time::OffsetDateTime;
use uuid::Uuid;

use super::sql::Sql;
use crate::db::DbError;
use crate::db::row::{
    get_enum, get_i64, get_opt_time, get_opt_uuid, get_string, get_time, get_uuid, millis,
};
use crate::model::{
    EnvironmentKind, Page, PageRequest, Rollout, RolloutState, RolloutStep, RolloutStepState,
};

const DAY_MS: i64 = 86_400_000;

const SELECT: &str = "SELECT id, tenant_id, app_id, version, state, prod_delay_ms, created_at, \
                      updated_at, halted_at FROM rollouts";

const SELECT_STEP: &str = "SELECT st.id AS id, st.rollout_id AS rollout_id, st.position AS position, \
     st.environment_id AS environment_id, e.kind AS kind, st.app_id AS app_id, \
     st.pool_id AS pool_id, st.state AS state, st.not_before AS not_before, \
     st.window_id AS window_id, st.occurrence_start AS occurrence_start, \
     st.started_at AS started_at, st.finished_at AS finished_at, \
     (SELECT COUNT(*) FROM hosts h WHERE h.pool_id = st.pool_id AND h.recycle_to = r.version) \
     AS pending \
     FROM rollout_steps st JOIN rollouts r ON r.id = st.rollout_id \
     JOIN environments e ON e.id = st.environment_id";

fn rollout_from_row(r: &AnyRow) -> Result<Rollout, DbError> {
    Ok(Rollout {
        id: get_uuid(r, "id")?,
        tenant_id: get_uuid(r, "tenant_id")?,
        app_id: get_uuid(r, "app_id")?,
        version: get_string(r, "version")?,
        state: get_enum(r, "state")?,
        prod_delay_days: u32::try_from(get_i64(r, "prod_delay_ms")? / DAY_MS).unwrap_or(0),
        steps: Vec::new(),
        created_at: get_time(r, "created_at")?,
        updated_at: get_time(r, "updated_at")?,
        halted_at: get_opt_time(r, "halted_at")?,
    })
}

/// A step with the rollout it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepRow {
    pub rollout_id: Uuid,
    pub step: RolloutStep,
}

fn step_from_row(r: &AnyRow) -> Result<StepRow, DbError> {
    let kind: EnvironmentKind = get_enum(r, "kind")?;
    Ok(StepRow {
        rollout_id: get_uuid(r, "rollout_id")?,
        step: RolloutStep {
            id: get_uuid(r, "id")?,
            position: u32::try_from(get_i64(r, "position")?).unwrap_or(0),
            environment_id: get_uuid(r, "environment_id")?,
            environment_kind: kind,
            app_id: get_uuid(r, "app_id")?,
            pool_id: get_uuid(r, "pool_id")?,
            state: get_enum(r, "state")?,
            not_before: get_opt_time(r, "not_before")?,
            window_id: get_opt_uuid(r, "window_id")?,
            occurrence_start: get_opt_time(r, "occurrence_start")?,
            started_at: get_opt_time(r, "started_at")?,
            finished_at: get_opt_time(r, "finished_at")?,
            hosts_pending: u32::try_from(get_i64(r, "pending")?).unwrap_or(0),
        },
    })
}

/// A step to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStep {
    pub environment_id: Uuid,
    pub app_id: Uuid,
    pub pool_id: Uuid,
    pub not_before: Option<OffsetDateTime>,
}

pub async fn insert(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
    app_id: Uuid,
    version: &str,
    prod_delay_days: u32,
    steps: &[NewStep],
    now: OffsetDateTime,
) -> Result<Rollout, DbError> {
    let id = super::new_id();
    sqlx::query(
        "INSERT INTO rollouts (id, tenant_id, app_id, version, state, prod_delay_ms, created_at, \
         updated_at, halted_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, NULL)",
    )
    .bind(id.to_string())
    .bind(tenant_id.to_string())
    .bind(app_id.to_string())
    .bind(version)
    .bind(RolloutState::Scheduled.as_str())
    .bind(i64::from(prod_delay_days) * DAY_MS)
    .bind(millis(now))
    .execute(&mut *conn)
    .await?;
    for (position, s) in steps.iter().enumerate() {
        sqlx::query(
            "INSERT INTO rollout_steps (id, rollout_id, position, environment_id, app_id, \
             pool_id, state, not_before, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(super::new_id().to_string())
        .bind(id.to_string())
        .bind(i64::try_from(position).unwrap_or(i64::MAX))
        .bind(s.environment_id.to_string())
        .bind(s.app_id.to_string())
        .bind(s.pool_id.to_string())
        .bind(RolloutStepState::Scheduled.as_str())
        .bind(s.not_before.map(millis))
        .bind(millis(now))
        .execute(&mut *conn)
        .await?;
    }
    get(conn, id)
        .await?
        .ok_or_else(|| DbError::Corrupt("inserted rollout vanished".into()))
}

/// A rollout with its steps.
pub async fn get(conn: &mut AnyConnection, id: Uuid) -> Result<Option<Rollout>, DbError> {
    let row = sqlx::query(AssertSqlSafe(format!("{SELECT} WHERE id = $1")))
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    let Some(mut r) = row.as_ref().map(rollout_from_row).transpose()? else {
        return Ok(None);
    };
    r.steps = steps_of(conn, id).await?;
    Ok(Some(r))
}

async fn steps_of(conn: &mut AnyConnection, rollout_id: Uuid) -> Result<Vec<RolloutStep>, DbError> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "{SELECT_STEP} WHERE st.rollout_id = $1 ORDER BY st.position"
    )))
    .bind(rollout_id.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| step_from_row(r).map(|s| s.step))
        .collect()
}

/// An app's rollouts, oldest first.
pub async fn list_for_app(
    conn: &mut AnyConnection,
    app_id: Uuid,
    page: PageRequest,
) -> Result<Page<Rollout>, DbError> {
    let mut sql = Sql::new(SELECT);
    sql.and_uuid("app_id", Some(app_id)).page(page, false);
    let rows = sql.fetch_all(&mut *conn).await?;
    let mut items = rows
        .iter()
        .map(rollout_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    for r in &mut items {
        r.steps = steps_of(conn, r.id).await?;
    }
    Ok(Page::from_rows(items, page.limit, |r| r.id))
}

/// Whether a rollout of `app_id` is still scheduled or in progress.
pub async fn open_for_app(conn: &mut AnyConnection, app_id: Uuid) -> Result<bool, DbError> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM rollouts WHERE app_id = $1 AND state IN ('scheduled', 'in_progress')",
    )
    .bind(app_id.to_string())
    .fetch_one(conn)
    .await?;
    Ok(get_i64(&row, "n")? > 0)
}

/// Steps of open rollouts in `environment_id` that may begin in a window starting at
/// `window_start`.
pub async fn due_steps(
    conn: &mut AnyConnection,
    environment_id: Uuid,
    window_start: OffsetDateTime,
) -> Result<Vec<StepRow>, DbError> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "{SELECT_STEP} WHERE st.environment_id = $1 AND st.state = 'scheduled' \
         AND st.not_before IS NOT NULL AND st.not_before <= $2 \
         AND r.state IN ('scheduled', 'in_progress') ORDER BY st.id"
    )))
    .bind(environment_id.to_string())
    .bind(millis(window_start))
    .fetch_all(conn)
    .await?;
    rows.iter().map(step_from_row).collect()
}

/// Every draining step.
pub async fn draining_steps(conn: &mut AnyConnection) -> Result<Vec<StepRow>, DbError> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "{SELECT_STEP} WHERE st.state = 'draining' ORDER BY st.id"
    )))
    .fetch_all(conn)
    .await?;
    rows.iter().map(step_from_row).collect()
}

/// Moves a step from `from` to `to` (stamping started/finished); false when it was not in
/// `from` any more (another node moved it first: the claim).
pub async fn move_step(
    conn: &mut AnyConnection,
    step_id: Uuid,
    from: RolloutStepState,
    to: RolloutStepState,
    window: Option<(Uuid, OffsetDateTime)>,
    now: OffsetDateTime,
) -> Result<bool, DbError> {
    let stamp = match to {
        RolloutStepState::Draining => "started_at",
        _ => "finished_at",
    };
    let r = sqlx::query(AssertSqlSafe(format!(
        "UPDATE rollout_steps SET state = $1, {stamp} = $2, updated_at = $2, \
         window_id = COALESCE($3, window_id), occurrence_start = COALESCE($4, occurrence_start) \
         WHERE id = $5 AND state = $6"
    )))
    .bind(to.as_str())
    .bind(millis(now))
    .bind(window.map(|w| w.0.to_string()))
    .bind(window.map(|w| millis(w.1)))
    .bind(step_id.to_string())
    .bind(from.as_str())
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Sets when the step at `position` of a rollout may begin.
pub async fn set_not_before(
    conn: &mut AnyConnection,
    rollout_id: Uuid,
    position: u32,
    not_before: OffsetDateTime,
) -> Result<bool, DbError> {
    let r = sqlx::query(
        "UPDATE rollout_steps SET not_before = $1, updated_at = $1 WHERE rollout_id = $2 \
         AND position = $3 AND state = 'scheduled'",
    )
    .bind(millis(not_before))
    .bind(rollout_id.to_string())
    .bind(i64::from(position))
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Sets a rollout's state.
pub async fn set_state(
    conn: &mut AnyConnection,
    id: Uuid,
    state: RolloutState,
    now: OffsetDateTime,
) -> Result<(), DbError> {
    let halted = (state == RolloutState::Halted).then(|| millis(now));
    sqlx::query(
        "UPDATE rollouts SET state = $1, updated_at = $2, halted_at = COALESCE($3, halted_at) \
         WHERE id = $4",
    )
    .bind(state.as_str())
    .bind(millis(now))
    .bind(halted)
    .bind(id.to_string())
    .execute(conn)
    .await?;
    Ok(())
}
