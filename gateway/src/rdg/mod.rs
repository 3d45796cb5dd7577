//! The RD Gateway protocol ([MS-TSGU], HTTP transport over a websocket) that native RDP
//! clients (mstsc, FreeRDP) speak to tunnel RDP through Hamn to one host. Sans-IO:
//! [`codec`] reads and writes the packets, [`server`] keeps one tunnel's state and turns
//! the client's requests into [`Event`]s the endpoint decides on. The endpoint (websocket,
//! cookie check, host connection, relay) lives elsewhere and drives [`ServerTunnel`].
//! Packets, states, limits and codes are described in `docs/rd-gateway.md`.

pub mod codec;
pub mod server;

pub use codec::{DecodeError, HResult, Limits, Packet};
pub use server::{Event, Redirection, ServerTunnel, TunnelError, TunnelPolicy};

#[cfg(test)]
mod tests;
