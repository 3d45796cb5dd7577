//! The broker's configuration (`[broker]` in the Hamn configuration file).

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

/// Settings of the broker service. The database and the server certificate are shared
/// with the other services; the caller passes the same ones to each.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrokerConfig {
    /// Where the admin API listens (HTTPS). Default `127.0.0.1:8444`.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// PEM file of the CA that admin API client certificates must chain to.
    pub api_ca: PathBuf,
    /// Subject CNs that are operators without an API client row (e.g. `hamn-operator`,
    /// the dev PKI's operator certificate). Default: none.
    #[serde(default)]
    pub operator_cns: Vec<String>,
    /// Apply database migrations at start. Default `true`; turn off when migrations are run
    /// apart (`hamn migrate`) before rolling out several brokers.
    #[serde(default = "default_true")]
    pub migrate_on_start: bool,
    /// The database the broker manages.
    pub database: crate::db::DatabaseConfig,
    /// The admin API's server certificate.
    pub tls: hamn_certs::ServerCertFiles,
    /// Host health probes; `None`: off (placement then trusts every host).
    #[serde(skip)]
    pub health: Option<crate::health::HealthConfig>,
    /// The service-window scheduler (warnings, drain, logoff, restore; rollout steps).
    #[serde(skip)]
    pub service_windows: crate::service_windows::SchedulerConfig,
    /// The key that seals host credentials (see [`SecretsConfig::load`]); without it the
    /// credentials API answers 503.
    #[serde(skip)]
    pub secrets_key: Option<crate::secrets::SecretsKey>,
    /// The print service's public `https://host:port`: `POST /sessions/{id}/printer`
    /// makes printer URIs under it; `None`: that operation answers 503.
    #[serde(skip)]
    pub print_public_url: Option<String>,
    /// `print.data_dir`, when the print service's files are reachable from this node: a
    /// purge deletes the purged users' PDFs there. `None`: only the rows go.
    #[serde(skip)]
    pub print_data_dir: Option<std::path::PathBuf>,
    /// How long audit events are kept; the janitor deletes older ones (whole prefixes of
    /// the chain, [`crate::repo::audit::purge_before`]). `None`: kept for ever.
    #[serde(skip)]
    pub audit_retention: Option<std::time::Duration>,
}

pub fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8444))
}

fn default_true() -> bool {
    true
}

/// Where the key that seals secrets at rest (host credentials) comes from: `secrets_key`
/// (base64 of 32 bytes) or `secrets_key_file` (a file holding that text). Kept apart from
/// [`BrokerConfig`] so the services that construct it need no change until they wire the
/// key; the `[broker]` keys keep these names.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretsConfig {
    /// `broker.secrets_key`: 32 random bytes in base64 (`openssl rand -base64 32`).
    /// Default: none.
    #[serde(default)]
    pub secrets_key: Option<String>,
    /// `broker.secrets_key_file`: a file with the base64 key, relative to the data dir.
    /// Default: none; `hamn up` uses `<data_dir>/secrets_key`, created if missing.
    #[serde(default)]
    pub secrets_key_file: Option<PathBuf>,
}

impl std::fmt::Debug for SecretsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsConfig")
            .field(
                "secrets_key",
                &self.secrets_key.as_ref().map(|_| "[redacted]"),
            )
            .field("secrets_key_file", &self.secrets_key_file)
            .finish()
    }
}

/// A configuration problem with the secrets key; the text names the setting.
#[derive(Debug, thiserror::Error)]
pub enum SecretsConfigError {
    #[error("broker.secrets_key and broker.secrets_key_file are both set; keep one")]
    Both,
    #[error("broker.secrets_key: {0}")]
    Key(crate::secrets::SecretsKeyError),
    #[error("broker.secrets_key_file: {0}")]
    File(crate::secrets::SecretsKeyError),
}

impl SecretsConfig {
    /// The configured key, `None` when neither setting is given (host credentials then
    /// cannot be stored or resolved). Relative file paths resolve against `data_dir`.
    pub fn load(
        &self,
        data_dir: &std::path::Path,
    ) -> Result<Option<crate::secrets::SecretsKey>, SecretsConfigError> {
        match (&self.secrets_key, &self.secrets_key_file) {
            (Some(_), Some(_)) => Err(SecretsConfigError::Both),
            (Some(k), None) => crate::secrets::SecretsKey::from_base64(k)
                .map(Some)
                .map_err(SecretsConfigError::Key),
            (None, Some(p)) => crate::secrets::SecretsKey::read_file(&data_dir.join(p))
                .map(Some)
                .map_err(SecretsConfigError::File),
            (None, None) => Ok(None),
        }
    }
}
