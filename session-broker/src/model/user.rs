//! Users of a tenant, as known from SAML (NameID) or SITHS (HSA-ID) logins.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::validate::{ValidationErrors, double_option};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct User {
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// SAML NameID, unique within the tenant.
    pub name_id: String,
    /// HSA-ID (`SE2321000016-0001`) when known.
    pub hsa_id: Option<String>,
    pub display_name: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_login_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub name_id: String,
    #[serde(default)]
    pub hsa_id: Option<String>,
    pub display_name: String,
}

fn check_hsa_id(v: &mut ValidationErrors, hsa: &str) {
    // HSA-IDs are a country code, an organisation number and a local part: SE…-….
    let ok = (5..=64).contains(&hsa.len())
        && hsa.starts_with("SE")
        && hsa.contains('-')
        && hsa.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !ok {
        v.push("hsa_id", "must look like SE2321000016-0001");
    }
}

impl NewUser {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut v = ValidationErrors::default();
        v.text("name_id", &self.name_id, 500);
        if let Some(h) = &self.hsa_id {
            check_hsa_id(&mut v, h);
        }
        v.text("display_name", &self.display_name, 200);
        v.finish()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub hsa_id: Option<Option<String>>,
    pub display_name: Option<String>,
}

impl UserPatch {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut v = ValidationErrors::default();
        if let Some(Some(h)) = &self.hsa_id {
            check_hsa_id(&mut v, h);
        }
        v.opt_text("display_name", self.display_name.as_deref(), 200);
        v.finish()
    }

    pub fn apply(&self, u: &mut User) {
        if let Some(x) = &self.hsa_id {
            u.hsa_id.clone_from(x);
        }
        if let Some(x) = &self.display_name {
            u.display_name.clone_from(x);
        }
    }
}
