//! The code under fuzzing, compiled from the root crate's own source file: the
//! configuration parser and validator (`src/config.rs`), included by path.
//!
//! `config.rs` names five plain types of `hamn-certs` and `hamn-broker`. Depending on those
//! crates would drag rustls, tokio, axum and sqlx through the sanitizer build for code the
//! target never calls, so this crate answers to both names itself (`extern crate self`)
//! with stand-ins of the same shape. A type `config.rs` starts to use from them fails this
//! build (CI runs it), and gets its stand-in here.

extern crate self as hamn_broker;
extern crate self as hamn_certs;

#[path = "../../src/config.rs"]
pub mod config;

use std::path::PathBuf;

/// `hamn_certs::ServerCertFiles`: where a listener's certificate and key live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerCertFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// `hamn_certs::RevocationPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationPolicy {
    Require,
    Off,
}

/// `hamn_certs::OcspPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OcspPolicy {
    Require,
    Off,
}

/// `hamn_broker::SecretsConfig`: the secrets key inline or in a file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretsConfig {
    pub secrets_key: Option<String>,
    pub secrets_key_file: Option<PathBuf>,
}

/// `hamn_broker::SecretsKey`, as far as validation uses it: the same acceptance rule
/// (base64 of exactly 32 bytes, padding and surrounding whitespace ignored), no key.
pub struct SecretsKey;

#[derive(Debug, thiserror::Error)]
#[error("invalid secrets key: {0}")]
pub struct SecretsKeyError(String);

impl SecretsKey {
    pub fn from_base64(text: &str) -> Result<Self, SecretsKeyError> {
        use base64::Engine as _;
        let text = text.trim().trim_end_matches('=');
        let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(text)
            .map_err(|_| SecretsKeyError("it is not base64".into()))?;
        if bytes.len() != 32 {
            return Err(SecretsKeyError(format!(
                "it decodes to {} bytes",
                bytes.len()
            )));
        }
        Ok(Self)
    }
}
