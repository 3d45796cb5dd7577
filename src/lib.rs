//! The `hamn` command: configuration, logging and the wiring that runs the service
//! libraries (`hamn-broker`, `hamn-gateway`, `hamn-print`) alone or together.
//!
//! The binary in `main.rs` only parses the command line and calls into here; everything
//! here is a library so the end-to-end tests can reach it.

pub mod admin;
pub mod cli;
pub mod config;
pub mod demo_host;
pub mod logging;
pub mod services;
