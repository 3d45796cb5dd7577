//! Tenants: the municipalities (or other customers) that share the service.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::validate::ValidationErrors;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Tenant {
    pub id: Uuid,
    /// Short URL-safe name, unique across the service (`demo`).
    pub slug: String,
    /// Display name (`Demo kommun`).
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    pub slug: String,
    pub name: String,
}

impl NewTenant {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut v = ValidationErrors::default();
        v.slug("slug", &self.slug);
        v.text("name", &self.name, 200);
        v.finish()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantPatch {
    pub slug: Option<String>,
    pub name: Option<String>,
}

impl TenantPatch {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut v = ValidationErrors::default();
        if let Some(slug) = &self.slug {
            v.slug("slug", slug);
        }
        v.opt_text("name", self.name.as_deref(), 200);
        v.finish()
    }

    pub fn apply(&self, t: &mut Tenant) {
        if let Some(slug) = &self.slug {
            t.slug.clone_from(slug);
        }
        if let Some(name) = &self.name {
            t.name.clone_from(name);
        }
    }
}
