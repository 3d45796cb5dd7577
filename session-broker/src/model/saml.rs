//! A tenant's SAML configuration: which IdP it trusts (its metadata, pinned), our SP
//! entity id towards it, the levels of assurance asked for and accepted as multi-factor,
//! and how assertion attributes map to users. `PUT /tenants/{id}/saml` takes
//! [`SetTenantSaml`]; the stored and returned form is [`TenantSaml`].

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::validate::ValidationErrors;

/// Sweden Connect's LoA3 (substantial), the default requested and accepted class.
pub const LOA3: &str = "http://id.elegnamnden.se/loa/1.0/loa3";
/// employeeHsaId.
pub const ATTR_HSA_ID: &str = "urn:oid:1.2.752.29.6.2.1";
/// personalIdentityNumber (personnummer).
pub const ATTR_PERSONAL_NUMBER: &str = "urn:oid:1.2.752.29.4.13";
/// displayName.
pub const ATTR_DISPLAY_NAME: &str = "urn:oid:2.16.840.1.113730.3.1.241";

/// Which assertion attribute (by Name or FriendlyName) fills which user field; `null`
/// leaves a field unmapped. The NameID is always the user's key within the tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SamlAttributeMap {
    #[serde(default = "default_hsa")]
    pub hsa_id: Option<String>,
    /// Stored only when set (privacy: most tenants do not need it).
    #[serde(default)]
    pub personal_number: Option<String>,
    #[serde(default = "default_display")]
    pub display_name: Option<String>,
    /// Values are matched to `groups.external_id` of the tenant; memberships of groups
    /// with an external id follow the attribute at every login.
    #[serde(default)]
    pub groups: Option<String>,
}

fn default_hsa() -> Option<String> {
    Some(ATTR_HSA_ID.into())
}
fn default_display() -> Option<String> {
    Some(ATTR_DISPLAY_NAME.into())
}
fn default_contexts() -> Vec<String> {
    vec![LOA3.into()]
}
fn yes() -> bool {
    true
}

impl Default for SamlAttributeMap {
    fn default() -> Self {
        Self {
            hsa_id: default_hsa(),
            personal_number: None,
            display_name: default_display(),
            groups: None,
        }
    }
}

/// The stored configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TenantSaml {
    pub tenant_id: Uuid,
    pub enabled: bool,
    /// The IdP metadata document in force (as given, or as fetched from the URL once).
    pub idp_metadata_xml: String,
    pub idp_metadata_url: Option<String>,
    pub idp_entity_id: String,
    pub sp_entity_id: String,
    pub requested_authn_contexts: Vec<String>,
    pub accepted_mfa_contexts: Vec<String>,
    pub force_authn: bool,
    pub attributes: SamlAttributeMap,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// `PUT /tenants/{id}/saml`: the whole configuration. Give the IdP metadata as
/// `idp_metadata_xml`, or as `idp_metadata_url` to have it fetched once and pinned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetTenantSaml {
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub idp_metadata_xml: Option<String>,
    #[serde(default)]
    pub idp_metadata_url: Option<String>,
    pub sp_entity_id: String,
    #[serde(default = "default_contexts")]
    pub requested_authn_contexts: Vec<String>,
    #[serde(default = "default_contexts")]
    pub accepted_mfa_contexts: Vec<String>,
    #[serde(default)]
    pub force_authn: bool,
    #[serde(default)]
    pub attributes: SamlAttributeMap,
}

fn uri(v: &mut ValidationErrors, field: &str, value: &str) {
    if value.is_empty() || value.len() > 1024 || value.chars().any(|c| c.is_control() || c == ' ') {
        v.push(
            field,
            "must be a URI of at most 1024 characters without spaces",
        );
    }
}

impl SetTenantSaml {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut v = ValidationErrors::default();
        match (&self.idp_metadata_xml, &self.idp_metadata_url) {
            (Some(_), Some(_)) => v.push(
                "idp_metadata_url",
                "give either idp_metadata_xml or idp_metadata_url, not both",
            ),
            (None, None) => v.push(
                "idp_metadata_xml",
                "IdP metadata is required (or idp_metadata_url)",
            ),
            (None, Some(url)) if !url.starts_with("https://") && !url.starts_with("http://") => {
                v.push("idp_metadata_url", "must be an http(s) URL")
            }
            _ => {}
        }
        uri(&mut v, "sp_entity_id", &self.sp_entity_id);
        for (field, list) in [
            ("requested_authn_contexts", &self.requested_authn_contexts),
            ("accepted_mfa_contexts", &self.accepted_mfa_contexts),
        ] {
            if list.len() > 16 {
                v.push(field, "at most 16 classes");
            }
            for (i, c) in list.iter().enumerate() {
                uri(&mut v, &format!("{field}[{i}]"), c);
            }
        }
        if self.accepted_mfa_contexts.is_empty() {
            v.push(
                "accepted_mfa_contexts",
                "must name at least one class accepted as multi-factor",
            );
        }
        for (field, value) in [
            ("attributes.hsa_id", &self.attributes.hsa_id),
            (
                "attributes.personal_number",
                &self.attributes.personal_number,
            ),
            ("attributes.display_name", &self.attributes.display_name),
            ("attributes.groups", &self.attributes.groups),
        ] {
            if let Some(name) = value {
                uri(&mut v, field, name);
            }
        }
        v.finish()
    }
}
