//! API clients: holders of admin API client certificates, mapped by subject CN, each scoped
//! to the whole service (operator), one tenant, or one host (a host agent, which may only
//! report that host's load).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::validate::ValidationErrors;

text_enum! {
    ApiClientScope { Operator = "operator", Tenant = "tenant", HostAgent = "host_agent" }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApiClient {
    pub id: Uuid,
    pub name: String,
    /// Subject commonName of the client certificate; unique.
    pub subject_cn: String,
    pub scope: ApiClientScope,
    /// Set exactly when `scope` is `tenant`.
    pub tenant_id: Option<Uuid>,
    /// Set exactly when `scope` is `host_agent`: the one host whose load it reports.
    #[serde(default)]
    pub host_id: Option<Uuid>,
    pub enabled: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiClient {
    pub name: String,
    pub subject_cn: String,
    pub scope: ApiClientScope,
    #[serde(default)]
    pub tenant_id: Option<Uuid>,
    /// Required for `host_agent` scope, absent otherwise.
    #[serde(default)]
    pub host_id: Option<Uuid>,
    #[serde(default = "default_enabled")]
    pub enabled: bool,
}

fn default_enabled() -> bool {
    true
}

fn check_scope(
    v: &mut ValidationErrors,
    scope: ApiClientScope,
    tenant: Option<Uuid>,
    host: Option<Uuid>,
) {
    match (scope, tenant) {
        (ApiClientScope::Tenant, None) => v.push("tenant_id", "is required for tenant scope"),
        (ApiClientScope::Operator, Some(_)) => {
            v.push("tenant_id", "must be absent for operator scope");
        }
        (ApiClientScope::HostAgent, Some(_)) => {
            v.push("tenant_id", "must be absent for host_agent scope");
        }
        _ => {}
    }
    match (scope, host) {
        (ApiClientScope::HostAgent, None) => {
            v.push("host_id", "is required for host_agent scope");
        }
        (ApiClientScope::Operator | ApiClientScope::Tenant, Some(_)) => {
            v.push("host_id", "is only allowed for host_agent scope");
        }
        _ => {}
    }
}

impl NewApiClient {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut v = ValidationErrors::default();
        v.text("name", &self.name, 200);
        v.text("subject_cn", &self.subject_cn, 64);
        check_scope(&mut v, self.scope, self.tenant_id, self.host_id);
        v.finish()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiClientPatch {
    pub name: Option<String>,
    pub enabled: Option<bool>,
}

impl ApiClientPatch {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut v = ValidationErrors::default();
        v.opt_text("name", self.name.as_deref(), 200);
        v.finish()
    }

    pub fn apply(&self, c: &mut ApiClient) {
        if let Some(x) = &self.name {
            c.name.clone_from(x);
        }
        if let Some(x) = self.enabled {
            c.enabled = x;
        }
    }
}
