//! Groups of a tenant's users, optionally mirroring a group at the tenant's IdP, and their
//! membership.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::access::Role;
use super::validate::{ValidationErrors, double_option};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Group {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    /// The IdP's group identifier (SAML attribute value), when synchronised.
    pub external_id: Option<String>,
    /// A role every member holds (`tenant_admin` or `operator`), so group attributes from
    /// the IdP carry roles; `null`: none.
    pub grants_role: Option<Role>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGroup {
    pub name: String,
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default)]
    pub grants_role: Option<Role>,
}

/// `user` is what every member is anyway; a group grants more or nothing.
fn check_grant(v: &mut ValidationErrors, role: Option<Role>) {
    if role == Some(Role::User) {
        v.push(
            "grants_role",
            "must be tenant_admin, operator or null (every member is a user)",
        );
    }
}

impl NewGroup {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut v = ValidationErrors::default();
        v.text("name", &self.name, 200);
        v.opt_text("external_id", self.external_id.as_deref(), 500);
        check_grant(&mut v, self.grants_role);
        v.finish()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupPatch {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub external_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Role>)]
    pub grants_role: Option<Option<Role>>,
}

impl GroupPatch {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut v = ValidationErrors::default();
        v.opt_text("name", self.name.as_deref(), 200);
        if let Some(Some(x)) = &self.external_id {
            v.text("external_id", x, 500);
        }
        if let Some(role) = self.grants_role {
            check_grant(&mut v, role);
        }
        v.finish()
    }

    pub fn apply(&self, g: &mut Group) {
        if let Some(x) = &self.name {
            g.name.clone_from(x);
        }
        if let Some(x) = &self.external_id {
            g.external_id.clone_from(x);
        }
        if let Some(x) = self.grants_role {
            g.grants_role = x;
        }
    }
}

/// A user's membership of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GroupMember {
    pub group_id: Uuid,
    pub user_id: Uuid,
    pub tenant_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}
