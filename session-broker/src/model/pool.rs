//! Host pools: sets of Remote Desktop hosts, shared by every tenant or dedicated to one.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::validate::{ValidationErrors, double_option};

text_enum! {
    /// How placement picks a host: spread load (breadth-first) or fill hosts in turn
    /// (depth-first).
    PoolStrategy { BreadthFirst = "breadth_first", DepthFirst = "depth_first" }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HostPool {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub strategy: PoolStrategy,
    /// `null`: shared by every tenant; otherwise the one tenant that may publish on it.
    pub dedicated_tenant_id: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl HostPool {
    /// Whether `tenant` may publish apps on this pool.
    pub fn serves(&self, tenant: Uuid) -> bool {
        self.dedicated_tenant_id.is_none_or(|t| t == tenant)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHostPool {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "default_strategy")]
    pub strategy: PoolStrategy,
    #[serde(default)]
    pub dedicated_tenant_id: Option<Uuid>,
}

fn default_strategy() -> PoolStrategy {
    PoolStrategy::BreadthFirst
}

impl NewHostPool {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut v = ValidationErrors::default();
        v.text("name", &self.name, 200);
        v.long_text("description", &self.description, 2000);
        v.finish()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HostPoolPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub strategy: Option<PoolStrategy>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>)]
    pub dedicated_tenant_id: Option<Option<Uuid>>,
}

impl HostPoolPatch {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut v = ValidationErrors::default();
        v.opt_text("name", self.name.as_deref(), 200);
        if let Some(d) = &self.description {
            v.long_text("description", d, 2000);
        }
        v.finish()
    }

    pub fn apply(&self, p: &mut HostPool) {
        if let Some(x) = &self.name {
            p.name.clone_from(x);
        }
        if let Some(x) = &self.description {
            p.description.clone_from(x);
        }
        if let Some(x) = self.strategy {
            p.strategy = x;
        }
        if let Some(x) = self.dedicated_tenant_id {
            p.dedicated_tenant_id = x;
        }
    }
}
