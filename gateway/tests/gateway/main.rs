//! The gateway's integration tests: one binary, one module per area.

mod availability;
mod browser;
mod demo_idp;
mod display;
mod host_health;
mod native;
mod notices;
mod portal;
mod printing;
mod prints;
mod rdp;
mod rdp_file;
mod saml;
mod session;
mod siths;
mod status_calendar;
mod wire;
