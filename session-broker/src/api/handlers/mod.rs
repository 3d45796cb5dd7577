//! Thin handlers, one module per resource: extract, check scope, call repositories inside
//! an audited [`super::mutation::Mutation`], answer JSON.

pub mod access_review;
pub mod announcements;
pub mod api_clients;
pub mod apps;
pub mod audit;
pub mod credentials;
pub mod data_ops;
pub mod entitlements;
pub mod environments;
pub mod groups;
pub mod host_commands;
pub mod hosts;
pub mod incidents;
pub mod load;
pub mod pools;
pub mod printers;
pub mod roles;
pub mod rollouts;
pub mod saml;
pub mod security_events;
pub mod service_windows;
pub mod sessions;
pub mod tenants;
pub mod users;
pub mod web_session_settings;
pub mod whoami;

use serde::Deserialize;
use uuid::Uuid;

use super::extract::page;
use super::problem::ApiError;
use crate::model::PageRequest;

/// `?limit=&cursor=` of plain listings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub limit: Option<u32>,
    pub cursor: Option<Uuid>,
}

impl ListQuery {
    pub fn page(&self) -> Result<PageRequest, ApiError> {
        page(self.limit, self.cursor)
    }
}
