//! The session broker: tenants, environments, pools, hosts, apps, entitlements, the audit
//! log, the database, and the admin API that manages them.
//!
//! Entry point: [`run`] (connect, migrate, serve the admin API over mutual TLS). The
//! pieces are public for the `hamn` binary, tests and benchmarks: [`db`] (the database),
//! [`model`] and [`repo`] (records and their tables), [`api`] (the router), [`seed`] (demo
//! data) and [`client`] (a typed HTTPS client of the admin API).

pub mod api;
pub mod client;
pub mod config;
pub mod db;
pub mod model;
pub mod repo;
pub mod seed;
pub mod service;

pub use api::{AdminState, admin_router};
pub use client::{AdminClient, ApiResponse, ClientError};
pub use config::BrokerConfig;
pub use db::{Database, DatabaseConfig, DbError};
pub use seed::{DemoIds, DemoSeed};
pub use service::{BrokerError, router, run};
