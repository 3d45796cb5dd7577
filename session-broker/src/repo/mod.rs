//! Repositories: one module per table, each with plain async functions over
//! `&mut AnyConnection` so callers compose them in one transaction (a change and its audit
//! event commit together or not at all).

pub mod access;
pub mod announcements;
pub mod api_clients;
pub mod apps;
pub mod audit;
pub mod availability;
pub mod entitlements;
pub mod environments;
pub mod groups;
pub mod host_commands;
pub mod hosts;
pub mod incidents;
pub mod load;
pub mod login_throttle;
pub mod pools;
pub mod print_jobs;
pub mod print_tokens;
pub mod rollouts;
pub mod saml;
pub mod security_events;
pub mod service_windows;
pub mod session_commands;
pub mod sessions;
mod sql;
pub mod tenants;
pub mod users;
pub mod web_sessions;

pub use sqlx::AnyConnection;

/// A new, time-ordered id.
pub fn new_id() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}
