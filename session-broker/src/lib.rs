//! The session broker: tenants, environments, pools, hosts, apps, entitlements, the audit
//! log, the database, and the admin API that manages them; launch tickets ([`ticket`],
//! [`launch`]), the portal's web sessions ([`web_session`]) and the host credentials the
//! gateway logs on with ([`credentials`]); service windows and their scheduler
//! ([`service_windows`]) and release rings ([`rollouts`]).
//!
//! Entry point: [`run`] (connect, migrate, serve the admin API over mutual TLS). The
//! pieces are public for the `hamn` binary, tests and benchmarks: [`db`] (the database),
//! [`model`] and [`repo`] (records and their tables), [`api`] (the router), [`seed`] (demo
//! data) and [`client`] (a typed HTTPS client of the admin API).

pub mod api;
pub mod capacity;
pub mod client;
pub mod clock;
pub mod config;
pub mod credentials;
pub mod data_ops;
pub mod db;
pub mod fair_use;
pub mod health;
pub mod janitor;
pub mod launch;
pub mod lifecycle;
pub mod metrics;
pub mod model;
pub mod placement;
pub mod print;
pub mod repo;
pub mod roles;
pub mod rollouts;
pub mod saml;
pub mod secrets;
pub mod security;
pub mod seed;
pub mod service;
pub mod service_windows;
pub mod session_control;
pub mod status;
pub mod throttle;
pub mod ticket;
pub mod web_session;

pub use api::{AdminState, admin_router};
pub use client::{AdminClient, ApiResponse, ClientError};
pub use clock::Clock;
pub use config::{BrokerConfig, SecretsConfig};
pub use credentials::{HostCredentials, resolve as resolve_host_credentials};
pub use db::{Database, DatabaseConfig, DbError};
pub use launch::{LaunchError, LaunchTicket, issue_launch_ticket, issue_launch_ticket_at};
pub use secrets::{Secret, SecretsKey, load_or_create_secrets_key};
pub use seed::{DemoIds, DemoSeed};
pub use service::{BrokerError, router, run};
pub use ticket::{LaunchPath, Refusal, TicketIssuer, TicketKeys, TicketVerifier};
pub use web_session::{SessionToken, WebSessionPolicy};
