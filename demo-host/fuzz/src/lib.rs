//! The code under fuzzing, compiled from the demo host's own source files: the RDPDR module
//! depends on nothing but `thiserror`, so it is included by path instead of building the
//! demo host (IronRDP, rustls) with sanitizers.

#[path = "../../src/rdpdr/mod.rs"]
pub mod rdpdr;
