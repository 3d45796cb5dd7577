//! The print service's integration tests: one binary, one module per area.

mod render;
