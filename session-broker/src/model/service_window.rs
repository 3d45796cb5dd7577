//! Service windows: announced periods when an environment is down for maintenance.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::validate::ValidationErrors;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ServiceWindow {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub environment_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
    pub title: String,
    pub description: String,
    /// Announced with less than the usual notice.
    pub emergency: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewServiceWindow {
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub emergency: bool,
}

impl NewServiceWindow {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut v = ValidationErrors::default();
        if self.ends_at <= self.starts_at {
            v.push("ends_at", "must be after starts_at");
        }
        v.text("title", &self.title, 200);
        v.long_text("description", &self.description, 4000);
        v.finish()
    }
}
