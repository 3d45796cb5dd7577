//! The gateway's integration tests: one binary, one module per area.

mod browser;
mod display;
mod portal;
mod rdp;
mod session;
mod siths;
mod wire;
