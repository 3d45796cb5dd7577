//! The dev PKI that `hamn certs init` (and `hamn up`, when files are missing) writes.
//!
//! INTERFACE STUB — bodies are being implemented; signatures are fixed.

use std::path::{Path, PathBuf};

/// Paths of everything the dev PKI writes under `DATA/certs/`.
#[derive(Debug, Clone)]
pub struct DevPkiPaths {
    pub dir: PathBuf,
}

impl DevPkiPaths {
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
        }
    }
}

/// The generated dev PKI.
#[derive(Debug, Clone)]
pub struct DevPki {
    pub paths: DevPkiPaths,
}
