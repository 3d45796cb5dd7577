//! The broker's configuration (`[broker]` in the Hamn configuration file).

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

/// Settings of the broker service. The database and the server certificate are shared
/// with the other services; the caller passes the same ones to each.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
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
}

pub fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8444))
}

fn default_true() -> bool {
    true
}
