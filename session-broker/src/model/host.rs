//! Remote Desktop hosts in a pool, with the operational state admins set and the health
//! probes observe.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::validate::ValidationErrors;

text_enum! {
    /// Set by admins: `drain` keeps existing sessions but takes no new ones; `maintenance`
    /// takes nothing.
    HostState { Active = "active", Drain = "drain", Maintenance = "maintenance" }
}

text_enum! {
    /// Observed by health probes.
    HostHealth { Unknown = "unknown", Healthy = "healthy", Unhealthy = "unhealthy" }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Host {
    pub id: Uuid,
    pub pool_id: Uuid,
    pub name: String,
    pub address: String,
    pub port: u16,
    /// Session limit of the host.
    pub capacity: u32,
    pub state: HostState,
    pub health: HostHealth,
    #[serde(with = "time::serde::rfc3339::option")]
    pub health_checked_at: Option<OffsetDateTime>,
    /// The build (image or build label) the host reports it runs; set by a host agent or an
    /// operator through `PUT /hosts/{id}/version`.
    pub version: Option<String>,
    /// The build a rollout asked this host to be recycled to; cleared when the host
    /// reports it. A host with one pending stays drained after its service window.
    pub recycle_to: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

pub const MAX_CAPACITY: u32 = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHost {
    pub name: String,
    pub address: String,
    #[serde(default = "default_port")]
    pub port: u16,
    pub capacity: u32,
    #[serde(default = "default_state")]
    pub state: HostState,
}

fn default_port() -> u16 {
    3389
}

fn default_state() -> HostState {
    HostState::Active
}

impl NewHost {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut v = ValidationErrors::default();
        v.text("name", &self.name, 200);
        v.host_address("address", &self.address);
        v.range("port", i64::from(self.port), 1, 65535);
        v.range(
            "capacity",
            i64::from(self.capacity),
            0,
            i64::from(MAX_CAPACITY),
        );
        v.finish()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HostPatch {
    pub name: Option<String>,
    pub address: Option<String>,
    pub port: Option<u16>,
    pub capacity: Option<u32>,
}

impl HostPatch {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut v = ValidationErrors::default();
        v.opt_text("name", self.name.as_deref(), 200);
        if let Some(a) = &self.address {
            v.host_address("address", a);
        }
        if let Some(p) = self.port {
            v.range("port", i64::from(p), 1, 65535);
        }
        if let Some(c) = self.capacity {
            v.range("capacity", i64::from(c), 0, i64::from(MAX_CAPACITY));
        }
        v.finish()
    }

    pub fn apply(&self, h: &mut Host) {
        if let Some(x) = &self.name {
            h.name.clone_from(x);
        }
        if let Some(x) = &self.address {
            h.address.clone_from(x);
        }
        if let Some(x) = self.port {
            h.port = x;
        }
        if let Some(x) = self.capacity {
            h.capacity = x;
        }
    }
}

/// Body of the version report: the build the host now runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HostVersionReport {
    pub version: String,
}

impl HostVersionReport {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut v = ValidationErrors::default();
        v.text("version", &self.version, 100);
        v.finish()
    }
}

/// Body of the state-change endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HostStateChange {
    pub state: HostState,
}
