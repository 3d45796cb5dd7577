//! Shared helpers for Hamn benchmarks.
