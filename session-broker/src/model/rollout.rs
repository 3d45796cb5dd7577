//! Rollouts (release rings, the service description's §4.5): an app's upgrade to a new
//! build, UTB first and PROD a configurable delay later, each step in its environment's
//! next service window by draining the pool's hosts and recycling them onto the build.
//!
//! A step goes `scheduled` → `draining` (its window started: hosts drained and marked for
//! recycling) → `done` (every host reported the build; the app's version is set), or
//! `halted` by an admin. The rollout is `scheduled`, `in_progress`, `done` or `halted`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::EnvironmentKind;
use super::validate::ValidationErrors;

text_enum! {
    RolloutState {
        Scheduled = "scheduled",
        InProgress = "in_progress",
        Done = "done",
        Halted = "halted",
    }
}

text_enum! {
    RolloutStepState {
        Scheduled = "scheduled",
        Draining = "draining",
        Done = "done",
        Halted = "halted",
    }
}

/// The default wait between the UTB step's end and the PROD step.
pub const DEFAULT_PROD_DELAY_DAYS: u32 = 10;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RolloutStep {
    pub id: Uuid,
    /// 0 first (UTB), then 1 (PROD).
    pub position: u32,
    pub environment_id: Uuid,
    pub environment_kind: EnvironmentKind,
    /// The app upgraded by this step (the environment's counterpart of the rollout's app).
    pub app_id: Uuid,
    pub pool_id: Uuid,
    pub state: RolloutStepState,
    /// The step begins in the first window of its environment starting at or after this;
    /// absent until the step before is done.
    #[serde(with = "time::serde::rfc3339::option")]
    pub not_before: Option<OffsetDateTime>,
    /// The window (and its occurrence) the step runs in.
    pub window_id: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub occurrence_start: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub started_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
    /// Hosts of the pool still to report the build (while draining).
    pub hosts_pending: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Rollout {
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// The app the rollout was asked for.
    pub app_id: Uuid,
    /// The build rolled out.
    pub version: String,
    pub state: RolloutState,
    /// Days between the UTB step's end and the PROD step's earliest start.
    pub prod_delay_days: u32,
    pub steps: Vec<RolloutStep>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub halted_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRollout {
    /// The build to roll out (image or build label).
    pub version: String,
    /// Days between UTB and PROD; default 10.
    #[serde(default = "default_delay")]
    pub prod_delay_days: u32,
}

fn default_delay() -> u32 {
    DEFAULT_PROD_DELAY_DAYS
}

impl NewRollout {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut v = ValidationErrors::default();
        v.text("version", &self.version, 100);
        v.range("prod_delay_days", i64::from(self.prod_delay_days), 0, 90);
        v.finish()
    }
}
