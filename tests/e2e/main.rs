//! End-to-end tests of the `hamn` binary against real peers: curl, headless Chromium,
//! xfreerdp under Xvfb. One test binary for the root crate (linking is slow on two cores).

mod admin_console;
mod admin_operations;
mod audit_verify;
mod backup;
mod config_check;
mod data_ops;
mod demo_idp;
mod deploy_files;
mod faults;
mod load;
mod metrics;
mod multinode;
mod portal_flow;
mod print;
mod scale_out;
mod security;
mod smoke;
mod status_page;
mod support;
mod viewer;
