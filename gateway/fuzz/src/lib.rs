//! The code under fuzzing, compiled from the gateway's own source files.
//!
//! The wire codec depends on nothing but `thiserror`, so it is included by path instead
//! of depending on `hamn-gateway`: that would drag axum, sqlx and IronRDP through the
//! sanitizer build (many minutes on two cores) for code the targets never call.

#[path = "../../src/wire/mod.rs"]
pub mod wire;

/// The clipboard's byte-level codec (dependency-free like the wire codec).
#[path = "../../src/rdp/clipboard/codec.rs"]
pub mod clipboard_codec;

/// The RD Gateway (MS-TSGU) codec and server state machine (`thiserror` only).
#[path = "../../src/rdg/mod.rs"]
pub mod rdg;

/// The SITHS CRL loader's sans-IO half (x509-parser and rustls-pki-types only).
#[path = "../../../certs/src/crl/parse.rs"]
pub mod crl_parse;

/// The SITHS OCSP checker's sans-IO half: request builder and response validator.
#[path = "../../../certs/src/ocsp/parse.rs"]
pub mod ocsp_parse;

/// The print jobs' IPP client messages: the Print-Job head and the bounded answer reader.
#[path = "../../src/print/ipp.rs"]
pub mod ipp;
