//! Integration tests of the broker through its public API: repositories, the admin API
//! router (with client certificates in the request extensions, as the TLS layer sets
//! them), and real mutual TLS with the Rust client and curl. Every database test runs on
//! SQLite (a temp file) and on PostgreSQL (a schema of its own, dropped at the end).
//! Launch tickets: the codec and keys without a database (`ticket_codec`), issuing and
//! single-use consumption with one (`tickets`). The portal's web sessions
//! (`web_sessions`). Tenant-admins watching and draining hosts (`tenant_hosts`).

mod support;

mod access;
mod announcements;
mod api_crud;
mod api_errors;
mod audit_chain;
mod audit_log;
mod auth;
mod concurrency;
mod credentials;
mod data_ops;
mod database;
mod host_health;
mod incidents;
mod janitor;
mod load;
mod openapi;
mod paging;
mod placement;
mod pool_cert_policy;
mod pool_clipboard;
mod pool_native_redirection;
mod print_tokens;
mod saml_config;
mod scope;
mod service_windows;
mod session_commands;
mod session_lifecycle;
mod tenant_hosts;
mod ticket_codec;
mod tickets;
mod tls;
mod web_sessions;
