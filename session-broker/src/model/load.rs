//! Load and fair use: what a host's agent reports, how a pool weighs its hosts and when
//! its capacity alarm rings, and the limits each tenant runs under, with their current use.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::validate::ValidationErrors;
use crate::placement::engine::{Alarm, Weights};

/// Body of `PUT /hosts/{id}/load`, sent by the host's agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HostLoadReport {
    /// Sessions the host has (logged on through Hamn or not).
    pub sessions: u32,
    /// CPU use, 0-100.
    pub cpu_percent: f64,
    /// Memory use, 0-100.
    pub memory_percent: f64,
}

fn percent(v: &mut ValidationErrors, field: &str, value: f64) {
    if !value.is_finite() || !(0.0..=100.0).contains(&value) {
        v.push(field, "must be a number from 0 to 100");
    }
}

impl HostLoadReport {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut v = ValidationErrors::default();
        v.range(
            "sessions",
            i64::from(self.sessions),
            0,
            i64::from(super::host::MAX_CAPACITY),
        );
        percent(&mut v, "cpu_percent", self.cpu_percent);
        percent(&mut v, "memory_percent", self.memory_percent);
        v.finish()
    }
}

/// Percent (validated 0..=100) to basis points.
pub fn to_bp(percent: f64) -> u32 {
    (percent.clamp(0.0, 100.0) * 100.0).round() as u32
}

/// Basis points to percent.
pub fn from_bp(bp: u32) -> f64 {
    f64::from(bp) / 100.0
}

/// A host's last load report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HostLoad {
    pub host_id: Uuid,
    pub sessions: u32,
    pub cpu_percent: f64,
    pub memory_percent: f64,
    #[serde(with = "time::serde::rfc3339")]
    pub reported_at: OffsetDateTime,
}

/// How placement weighs a pool's hosts, its logon-storm limit and its capacity alarm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PoolPlacement {
    pub pool_id: Uuid,
    /// Weight of sessions over capacity in a host's load, 0-100.
    pub weight_sessions: u32,
    /// Weight of reported CPU use, 0-100 (used only with a fresh report).
    pub weight_cpu: u32,
    /// Weight of reported memory use, 0-100 (used only with a fresh report).
    pub weight_memory: u32,
    /// Most logons in progress (sessions still launching) per host; a host at the limit is
    /// skipped, and when every host with room is, the launch is refused with a retry time.
    /// 0: no limit.
    pub max_logons_per_host: u32,
    /// Seconds after which a host's load report is ignored.
    pub load_report_max_age_s: u32,
    /// The capacity alarm rings when free seats fall under this percentage of the usable
    /// capacity (`null`: off).
    pub capacity_alarm_percent: Option<u32>,
    /// The capacity alarm rings when fewer seats than this are free (`null`: off).
    pub capacity_alarm_seats: Option<u32>,
}

pub const DEFAULT_WEIGHTS: Weights = Weights {
    sessions: 60,
    cpu: 25,
    memory: 15,
};
pub const DEFAULT_MAX_LOGONS_PER_HOST: u32 = 10;
pub const DEFAULT_LOAD_REPORT_MAX_AGE_S: u32 = 120;
pub const DEFAULT_CAPACITY_ALARM_PERCENT: u32 = 10;
/// Longest accepted report age: a day.
pub const MAX_LOAD_REPORT_MAX_AGE_S: u32 = 86_400;

impl PoolPlacement {
    /// The settings of a pool that has none stored.
    pub fn defaults(pool_id: Uuid) -> Self {
        Self {
            pool_id,
            weight_sessions: DEFAULT_WEIGHTS.sessions,
            weight_cpu: DEFAULT_WEIGHTS.cpu,
            weight_memory: DEFAULT_WEIGHTS.memory,
            max_logons_per_host: DEFAULT_MAX_LOGONS_PER_HOST,
            load_report_max_age_s: DEFAULT_LOAD_REPORT_MAX_AGE_S,
            capacity_alarm_percent: Some(DEFAULT_CAPACITY_ALARM_PERCENT),
            capacity_alarm_seats: None,
        }
    }

    pub fn weights(&self) -> Weights {
        Weights {
            sessions: self.weight_sessions,
            cpu: self.weight_cpu,
            memory: self.weight_memory,
        }
    }

    pub fn alarm(&self) -> Alarm {
        Alarm {
            percent: self.capacity_alarm_percent,
            seats: self.capacity_alarm_seats,
        }
    }
}

/// Body of `PUT /pools/{id}/placement`: every field optional, absent ones keep their value;
/// `null` turns an alarm threshold off.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PoolPlacementPatch {
    pub weight_sessions: Option<u32>,
    pub weight_cpu: Option<u32>,
    pub weight_memory: Option<u32>,
    pub max_logons_per_host: Option<u32>,
    pub load_report_max_age_s: Option<u32>,
    #[serde(default, deserialize_with = "super::validate::double_option")]
    #[schema(value_type = Option<u32>)]
    pub capacity_alarm_percent: Option<Option<u32>>,
    #[serde(default, deserialize_with = "super::validate::double_option")]
    #[schema(value_type = Option<u32>)]
    pub capacity_alarm_seats: Option<Option<u32>>,
}

impl PoolPlacementPatch {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut v = ValidationErrors::default();
        for (field, value) in [
            ("weight_sessions", self.weight_sessions),
            ("weight_cpu", self.weight_cpu),
            ("weight_memory", self.weight_memory),
            (
                "capacity_alarm_percent",
                self.capacity_alarm_percent.flatten(),
            ),
        ] {
            if let Some(x) = value {
                v.range(field, i64::from(x), 0, 100);
            }
        }
        if let Some(x) = self.max_logons_per_host {
            v.range("max_logons_per_host", i64::from(x), 0, 10_000);
        }
        if let Some(x) = self.capacity_alarm_seats.flatten() {
            v.range("capacity_alarm_seats", i64::from(x), 0, 10_000_000);
        }
        if let Some(x) = self.load_report_max_age_s {
            v.range(
                "load_report_max_age_s",
                i64::from(x),
                1,
                i64::from(MAX_LOAD_REPORT_MAX_AGE_S),
            );
        }
        v.finish()
    }

    pub fn apply(&self, p: &mut PoolPlacement) {
        if let Some(x) = self.weight_sessions {
            p.weight_sessions = x;
        }
        if let Some(x) = self.weight_cpu {
            p.weight_cpu = x;
        }
        if let Some(x) = self.weight_memory {
            p.weight_memory = x;
        }
        if let Some(x) = self.max_logons_per_host {
            p.max_logons_per_host = x;
        }
        if let Some(x) = self.load_report_max_age_s {
            p.load_report_max_age_s = x;
        }
        if let Some(x) = self.capacity_alarm_percent {
            p.capacity_alarm_percent = x;
        }
        if let Some(x) = self.capacity_alarm_seats {
            p.capacity_alarm_seats = x;
        }
    }
}

/// `GET /pools/{id}/capacity`: the pool's seats now and its alarm. Field names are stable
/// so a metrics exporter can publish them as they are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PoolCapacity {
    pub pool_id: Uuid,
    /// Hosts in the pool.
    pub hosts: u32,
    /// Hosts that take new sessions (active, not unhealthy, no service window).
    pub hosts_usable: u32,
    /// Seats of every host.
    pub capacity_total: u64,
    /// Seats of the hosts that take new sessions.
    pub capacity_usable: u64,
    /// Seats taken on those hosts.
    pub sessions_usable: u64,
    /// Seats taken on every host, drained ones included.
    pub sessions_total: u64,
    /// Sessions still launching (logons in progress) on every host.
    pub logons_in_progress: u64,
    /// `capacity_usable - sessions_usable`.
    pub free: u64,
    /// Free seats as a percentage of the usable capacity (0 when nothing is usable).
    pub free_percent: f64,
    pub capacity_alarm_percent: Option<u32>,
    pub capacity_alarm_seats: Option<u32>,
    /// Whether the alarm is ringing now.
    pub capacity_low: bool,
    /// When the alarm last changed state.
    #[serde(with = "time::serde::rfc3339::option")]
    pub capacity_changed_at: Option<OffsetDateTime>,
}

/// A tenant's fair-use limits (`null`: no limit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TenantLimits {
    pub tenant_id: Uuid,
    /// Most live sessions (launching, active or disconnected) of the tenant at once.
    pub max_sessions: Option<u32>,
    /// Most live sessions of one user at once.
    pub max_sessions_per_user: Option<u32>,
    /// Most launches (new sessions and reconnects) per minute.
    pub launches_per_minute: Option<u32>,
    /// Most admin API requests per minute by the tenant's API clients.
    pub api_requests_per_minute: Option<u32>,
}

impl TenantLimits {
    pub fn none(tenant_id: Uuid) -> Self {
        Self {
            tenant_id,
            max_sessions: None,
            max_sessions_per_user: None,
            launches_per_minute: None,
            api_requests_per_minute: None,
        }
    }

    pub fn limits_sessions(&self) -> bool {
        self.max_sessions.is_some() || self.max_sessions_per_user.is_some()
    }
}

/// Body of `PUT /tenants/{id}/limits`: absent fields keep their value, `null` removes a
/// limit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantLimitsPatch {
    #[serde(default, deserialize_with = "super::validate::double_option")]
    #[schema(value_type = Option<u32>)]
    pub max_sessions: Option<Option<u32>>,
    #[serde(default, deserialize_with = "super::validate::double_option")]
    #[schema(value_type = Option<u32>)]
    pub max_sessions_per_user: Option<Option<u32>>,
    #[serde(default, deserialize_with = "super::validate::double_option")]
    #[schema(value_type = Option<u32>)]
    pub launches_per_minute: Option<Option<u32>>,
    #[serde(default, deserialize_with = "super::validate::double_option")]
    #[schema(value_type = Option<u32>)]
    pub api_requests_per_minute: Option<Option<u32>>,
}

/// Ceiling of every limit; larger values are surely a mistake.
pub const MAX_LIMIT: u32 = 10_000_000;

impl TenantLimitsPatch {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut v = ValidationErrors::default();
        for (field, value) in [
            ("max_sessions", self.max_sessions),
            ("max_sessions_per_user", self.max_sessions_per_user),
            ("launches_per_minute", self.launches_per_minute),
            ("api_requests_per_minute", self.api_requests_per_minute),
        ] {
            if let Some(Some(x)) = value {
                v.range(field, i64::from(x), 0, i64::from(MAX_LIMIT));
            }
        }
        v.finish()
    }

    pub fn apply(&self, l: &mut TenantLimits) {
        if let Some(x) = self.max_sessions {
            l.max_sessions = x;
        }
        if let Some(x) = self.max_sessions_per_user {
            l.max_sessions_per_user = x;
        }
        if let Some(x) = self.launches_per_minute {
            l.launches_per_minute = x;
        }
        if let Some(x) = self.api_requests_per_minute {
            l.api_requests_per_minute = x;
        }
    }
}

/// `GET /tenants/{id}/usage`: current use against the limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TenantUsage {
    pub tenant_id: Uuid,
    /// Live sessions of the tenant now.
    pub sessions: u64,
    /// Live sessions of the tenant's busiest user.
    pub max_sessions_of_a_user: u64,
    /// Launches counted in the current minute.
    pub launches_this_minute: u64,
    /// Admin API requests counted in the current minute.
    pub api_requests_this_minute: u64,
    /// Start of the current minute window.
    #[serde(with = "time::serde::rfc3339")]
    pub window_start: OffsetDateTime,
    pub limits: TenantLimits,
}
