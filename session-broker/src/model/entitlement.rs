//! Entitlements: who may launch an app, granted to a group or to one user.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::validate::ValidationErrors;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Entitlement {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub app_id: Uuid,
    pub group_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Exactly one of `group_id` and `user_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEntitlement {
    #[serde(default)]
    pub group_id: Option<Uuid>,
    #[serde(default)]
    pub user_id: Option<Uuid>,
}

impl NewEntitlement {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        match (self.group_id, self.user_id) {
            (Some(_), Some(_)) => Err(ValidationErrors::single(
                "user_id",
                "give either group_id or user_id, not both",
            )),
            (None, None) => Err(ValidationErrors::single(
                "group_id",
                "one of group_id and user_id is required",
            )),
            _ => Ok(()),
        }
    }
}
