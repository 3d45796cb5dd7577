//! The broker's side of printing: the per-session printer tokens that attribute a job to
//! its user ([`tokens`]). The jobs themselves are `repo::print_jobs`, written by the print
//! service's pipeline.

pub mod tokens;
