//! The session broker: tenants, environments, pools, hosts, apps, entitlements, the audit
//! log, the database, and the admin API that manages them.

pub mod api;
pub mod db;
pub mod model;
pub mod repo;
