//! Environments of a tenant: PROD and UTB (training/acceptance), each with its own apps and
//! service windows.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::validate::ValidationErrors;

text_enum! {
    /// PROD is production; UTB (utbildning) receives releases ahead of PROD.
    EnvironmentKind { Prod = "PROD", Utb = "UTB" }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Environment {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub kind: EnvironmentKind,
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEnvironment {
    pub kind: EnvironmentKind,
    /// Defaults to the kind (`PROD`, `UTB`).
    pub name: Option<String>,
}

impl NewEnvironment {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut v = ValidationErrors::default();
        v.opt_text("name", self.name.as_deref(), 200);
        v.finish()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentPatch {
    pub name: Option<String>,
}

impl EnvironmentPatch {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut v = ValidationErrors::default();
        v.opt_text("name", self.name.as_deref(), 200);
        v.finish()
    }

    pub fn apply(&self, e: &mut Environment) {
        if let Some(name) = &self.name {
            e.name.clone_from(name);
        }
    }
}
