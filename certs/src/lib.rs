//! Certificates and TLS for every Hamn listener: the dev PKI (`hamn certs init`), server
//! certificates that reload from disk, client-certificate verification that enforces the
//! clientAuth EKU and checks revocation against CRLs and (after the handshake) OCSP, and the
//! TLS accept loop that serves an axum router.

pub mod client_auth;
pub mod crl;
pub mod listener;
pub mod ocsp;
pub mod pki;
pub mod reload;
pub mod server;

pub use client_auth::{ClientCertError, ClientCertVerifier, ClientIdentity};
pub use crl::{CrlError, Revocation, RevocationPolicy};
pub use listener::{PeerCertificates, serve};
pub use ocsp::{OcspChecker, OcspPolicy, OcspVerdict};
pub use pki::{DevPki, DevPkiPaths, PkiError};
pub use server::{ServerCertFiles, ServerTlsError};
