//! Device redirection (RDPDR, [MS-RDPEFS]) from the server's side, for printers only: the
//! wire format in [`pdu`], the protocol in [`server`] (sans-IO; [`crate::printing`] connects it
//! to IronRDP's static channel).

pub mod pdu;
pub mod server;

#[cfg(test)]
pub(crate) mod tests;

pub use server::{Event, PrintError, RdpdrServer};
