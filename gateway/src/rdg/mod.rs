//! The RD Gateway protocol ([MS-TSGU], HTTP transport over a websocket) that native RDP
//! clients (mstsc, FreeRDP) speak to tunnel RDP through Hamn to one host. Sans-IO:
//! [`codec`] reads and writes the packets, [`server`] keeps one tunnel's state and turns
//! the client's requests into [`Event`]s the endpoint decides on. The endpoint (websocket,
//! cookie check, host connection, relay) lives elsewhere and drives [`ServerTunnel`].
//! Packets, states, limits and codes are described in `docs/rd-gateway.md`.
//!
//! The endpoint's loop, with FreeRDP's whole opening arriving in one message:
//!
//! ```
//! use hamn_gateway::rdg::codec::client;
//! use hamn_gateway::rdg::{Event, HResult, Limits, Redirection, ServerTunnel, TunnelPolicy};
//!
//! let mut tunnel = ServerTunnel::new(Limits::default());
//! // The bytes of one websocket binary message from the client.
//! tunnel.receive(&client::opening("k7Qm2xWpR4tZ9bNc3VhL8sYd", "PC", "host-1", 3389))?;
//! let mut to_host = Vec::new();
//! // A decision reads the input that waited for it: poll again after each.
//! while let Some(event) = tunnel.poll_event() {
//!     match event {
//!         Event::TunnelCreate { paa_cookie: Some(_cookie), .. } => tunnel.accept_tunnel(1),
//!         Event::TunnelCreate { paa_cookie: None, .. } => {
//!             tunnel.refuse_tunnel(HResult::E_PROXY_COOKIE_AUTHENTICATION_ACCESS_DENIED)
//!         }
//!         Event::TunnelAuth { .. } => tunnel.accept_auth(TunnelPolicy {
//!             redirection: Redirection::NONE,
//!             idle_timeout_minutes: 0,
//!         }),
//!         Event::ChannelCreate { resources, port, .. } => {
//!             assert_eq!((resources[0].as_str(), port), ("host-1", 3389));
//!             tunnel.accept_channel(1) // once the host connection is up
//!         }
//!         Event::Data(bytes) => to_host.extend(bytes),
//!         Event::CloseChannel => break,
//!     }
//! }
//! assert!(tunnel.is_open() && !tunnel.is_closed());
//! tunnel.send_data(b"bytes from the host");
//! let mut messages = 0;
//! while let Some(_message) = tunnel.poll_transmit() {
//!     messages += 1; // each is one websocket binary message to the client
//! }
//! assert_eq!(messages, 5); // handshake, tunnel, authorization, channel responses, data
//! # Ok::<(), hamn_gateway::rdg::TunnelError>(())
//! ```

pub mod codec;
pub mod server;

pub use codec::{DecodeError, HResult, Limits, Packet};
pub use server::{Event, Redirection, ServerTunnel, TunnelError, TunnelPolicy};

#[cfg(test)]
mod tests;
