//! Hamn's configuration: one TOML file, `HAMN_SECTION__KEY` environment overrides, and
//! validation that reports every problem as one line naming its key.
//!
//! The file is parsed in two steps. Serde reads raw values (addresses stay strings) and
//! `serde_ignored` collects every unknown key, so a typo is reported instead of silently
//! ignored; then [`RawConfig::validate`] turns the raw values into [`Settings`], collecting
//! all problems rather than stopping at the first, so an operator fixes a file in one pass.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The configuration `hamn up` uses when no `--config` is given (`config/demo.toml`).
pub const DEMO_CONFIG: &str = include_str!("../config/demo.toml");

/// Environment variables with this prefix and a `__` separator override file values.
const ENV_PREFIX: &str = "HAMN_";

/// One problem in a configuration, naming the key it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// Every problem found in a configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} configuration problem(s)", .0.len())]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    fn one(key: &str, message: impl Into<String>) -> Self {
        Self(vec![Problem {
            key: key.to_owned(),
            message: message.into(),
        }])
    }
}

/// The file as written: raw values, before validation.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct RawConfig {
    pub data_dir: PathBuf,
    pub log: LogSection,
    pub tls: TlsSection,
    pub database: DatabaseSection,
    pub gateway: GatewaySection,
    pub broker: BrokerSection,
    pub print: PrintSection,
    pub audit: AuditSection,
    pub demo_host: DemoHostSection,
    pub metrics: MetricsSection,
}

impl Default for RawConfig {
    fn default() -> Self {
        Self {
            data_dir: "./data".into(),
            log: LogSection::default(),
            tls: TlsSection::default(),
            database: DatabaseSection::default(),
            gateway: GatewaySection::default(),
            broker: BrokerSection::default(),
            print: PrintSection::default(),
            audit: AuditSection::default(),
            demo_host: DemoHostSection::default(),
            metrics: MetricsSection::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct LogSection {
    /// `text` (human-readable) or `json`.
    pub format: String,
    /// A tracing filter such as `info` or `hamn_broker=debug,info`.
    pub level: String,
}

impl Default for LogSection {
    fn default() -> Self {
        Self {
            format: "text".into(),
            level: "info".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct TlsSection {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Default for TlsSection {
    fn default() -> Self {
        Self {
            cert: "certs/server.crt".into(),
            key: "certs/server.key".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct DatabaseSection {
    /// Empty: an SQLite file `hamn.db` in the data directory.
    pub url: String,
    pub max_connections: u32,
}

impl Default for DatabaseSection {
    fn default() -> Self {
        Self {
            url: String::new(),
            max_connections: 10,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct GatewaySection {
    pub listen: String,
    pub public_url: String,
    /// Empty: no plaintext listener at all.
    pub redirect_listen: String,
    /// Seconds the RDP connection outlives a dropped browser websocket, waiting for a resume.
    pub reconnect_grace: u64,
    /// Seconds a native client's tunnel (RD Gateway or FreeRDP websocket) waits for the
    /// host's TCP connection before the client gets the connect-failed answer.
    pub native_connect_timeout: u64,
    /// Seconds a stopping gateway waits for its sessions to end before it tells browsers
    /// to reconnect elsewhere (close 4110); 0: tell them at once.
    pub drain_deadline: u64,
    /// This node's name in audit events and on the broker commands it claims; give each
    /// gateway of a multi-node installation its own.
    pub node: String,
    /// Seconds between two polls of the broker's command channel when no notification
    /// wakes the node sooner (PostgreSQL LISTEN/NOTIFY); the safety net.
    pub command_poll: u64,
    /// Most display frames started per second and browser session.
    pub max_fps: u32,
    /// Seconds between two availability samples of every environment (the status page's
    /// 30/90-day figures); 0: this node does not sample.
    pub availability_interval: u64,
    /// Log in by user name alone (demos only; refused unless `listen` is loopback).
    pub demo_login: bool,
    /// The SITHS card login listener. Empty: off.
    pub siths_listen: String,
    /// Its URL as browsers reach it. Empty: `public_url`'s host with `siths_listen`'s port.
    pub siths_public_url: String,
    /// PEM bundle of the SITHS CAs whose cards may log in.
    pub siths_ca: PathBuf,
    /// CRL files (DER or PEM) of the SITHS CAs.
    pub siths_crl: Vec<PathBuf>,
    /// Seconds between full re-reads of the CRLs (changed files are re-read within seconds).
    pub siths_crl_refresh: u64,
    /// `require`: refuse a card when no current CRL of its CA is loaded; `off`: labs only.
    pub siths_revocation: String,
    /// `require`: a card naming an OCSP responder needs a good answer from it; `off`: labs.
    pub siths_ocsp: String,
    /// Seconds an OCSP responder may take to answer.
    pub siths_ocsp_timeout: u64,
    /// Level of assurance (1 to 4) by the commonName of a card's issuing CA.
    pub siths_loa: std::collections::BTreeMap<String, u8>,
    /// The lowest level of assurance that may launch an app; 0: no minimum.
    pub launch_min_loa: u8,
    /// SAML 2.0 login (per tenant, `/saml/{tenant}/…` on the portal origin).
    pub saml: bool,
    /// The SP's RSA private key (PEM): signs AuthnRequests, decrypts assertions.
    pub saml_sp_key: PathBuf,
    /// The SP's certificate (PEM), published in the SP metadata.
    pub saml_sp_cert: PathBuf,
    /// The built-in demo SAML IdP under `/demo-idp/` (demo configuration only: refused
    /// unless `demo_login` and `saml` are on); `hamn up` points the demo tenant at it.
    pub demo_idp: bool,
    /// The demo IdP's RSA signing key (PEM).
    pub demo_idp_key: PathBuf,
    /// The demo IdP's certificate (PEM), published in its metadata.
    pub demo_idp_cert: PathBuf,
    /// The certificate (PEM, then its chain) that signs `.rdp` files. Empty: unsigned.
    pub rdp_signing_cert: PathBuf,
    /// Its private key (PEM). Set both or neither.
    pub rdp_signing_key: PathBuf,
    /// The printer browser sessions get (on pools with `printers_enabled`).
    pub printer_name: String,
    /// Where that printer's jobs go: the print service's `https://host:port`. Empty:
    /// `https://` + `print.listen` (localhost for an unspecified address).
    pub print_url: String,
    /// PEM CA certificates the print service's certificate must chain to. Empty: the
    /// system's CA bundle.
    pub print_ca: PathBuf,
}

impl Default for GatewaySection {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8443".into(),
            public_url: "https://localhost:8443".into(),
            redirect_listen: String::new(),
            reconnect_grace: 180,
            native_connect_timeout: 10,
            drain_deadline: 30,
            node: "gateway".into(),
            command_poll: 1,
            max_fps: 30,
            availability_interval: 60,
            demo_login: false,
            siths_listen: String::new(),
            siths_public_url: String::new(),
            siths_ca: "certs/siths-ca.crt".into(),
            siths_crl: vec!["certs/siths-ca.crl".into()],
            siths_crl_refresh: 3600,
            siths_revocation: "require".into(),
            siths_ocsp: "require".into(),
            siths_ocsp_timeout: 5,
            siths_loa: [("Hamn Test SITHS CA".to_owned(), 3)].into(),
            launch_min_loa: 0,
            saml: false,
            saml_sp_key: "certs/saml-sp.key".into(),
            saml_sp_cert: "certs/saml-sp.crt".into(),
            demo_idp: false,
            demo_idp_key: "certs/saml-demo-idp.key".into(),
            demo_idp_cert: "certs/saml-demo-idp.crt".into(),
            rdp_signing_cert: PathBuf::new(),
            rdp_signing_key: PathBuf::new(),
            printer_name: "Hamn PDF".into(),
            print_url: String::new(),
            print_ca: "certs/ca.crt".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct BrokerSection {
    pub listen: String,
    pub api_ca: PathBuf,
    pub operator_cns: Vec<String>,
    /// Base64 of 32 random bytes sealing host credentials at rest. Empty: see the file.
    pub secrets_key: String,
    /// A file holding that key. Empty: `DATA/secrets_key`, created by `hamn up`.
    pub secrets_key_file: PathBuf,
    /// Seconds between host health sweeps; 0: no probes.
    pub health_interval: u64,
    /// Minutes before a service window's start at which users in affected sessions are
    /// warned.
    pub service_window_warnings: Vec<u32>,
}

impl Default for BrokerSection {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8444".into(),
            api_ca: "certs/api-ca.crt".into(),
            operator_cns: vec!["hamn-operator".into()],
            secrets_key: String::new(),
            secrets_key_file: PathBuf::new(),
            health_interval: 15,
            service_window_warnings: vec![30, 10, 2],
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct PrintSection {
    pub listen: String,
    /// Spool and finished PDFs, per tenant. Empty: `prints` in the data directory. The
    /// gateway reads PDFs from here too (shared storage when they run apart).
    pub data_dir: PathBuf,
    /// The largest document a job may have, in bytes.
    pub max_job_bytes: u64,
    /// How long a finished PDF is kept.
    pub retention_hours: u64,
    /// `https://host:port` printer URIs are made from. Empty: gateway.public_url's host
    /// with print.listen's port.
    pub public_url: String,
    /// Ghostscript for PostScript jobs. Empty: /usr/bin/gs when present; "off": none
    /// (PostScript refused).
    pub ghostscript: String,
    /// Seconds one Ghostscript conversion may take.
    pub ghostscript_timeout: u64,
    /// Memory one Ghostscript conversion may use, in MiB.
    pub ghostscript_memory_mb: u64,
}

impl Default for PrintSection {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8631".into(),
            data_dir: PathBuf::new(),
            max_job_bytes: 128 * 1024 * 1024,
            retention_hours: 24,
            public_url: String::new(),
            ghostscript: String::new(),
            ghostscript_timeout: 60,
            ghostscript_memory_mb: 512,
        }
    }
}

/// The audit trail (`[audit]`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct AuditSection {
    /// How many years audit events are kept before the janitor deletes them (whole
    /// prefixes of the hash chain). Health-care logging asks for years, hence the default.
    pub retention_years: u32,
}

impl Default for AuditSection {
    fn default() -> Self {
        Self {
            retention_years: 10,
        }
    }
}

/// Days per retention year: 366, so N years never fall short of N calendar years.
const RETENTION_YEAR_DAYS: u64 = 366;

/// Where Ghostscript is looked for when `print.ghostscript` is empty.
pub const DEFAULT_GHOSTSCRIPT: &str = "/usr/bin/gs";

/// Ghostscript for PostScript jobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GhostscriptSettings {
    pub program: PathBuf,
    pub timeout: std::time::Duration,
    pub memory_limit_bytes: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct DemoHostSection {
    pub enabled: bool,
    pub listen: String,
    pub username: String,
    pub password: String,
    /// Empty: `hamn-demo-host` beside the `hamn` binary, else on PATH.
    pub command: PathBuf,
    /// Seed the demo tenant, pool, host and apps on first start.
    pub seed: bool,
}

impl Default for DemoHostSection {
    fn default() -> Self {
        Self {
            enabled: false,
            listen: "127.0.0.1:3390".into(),
            username: "demo".into(),
            password: String::new(),
            command: PathBuf::new(),
            seed: false,
        }
    }
}

/// The Prometheus metrics listener (`GET /metrics`, HTTPS with `tls.cert`): its own address rather
/// than a path on the portal, so the metrics are never on the public origin.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct MetricsSection {
    /// Empty: no metrics listener.
    pub listen: String,
}

/// Where metrics are served unless configured otherwise: loopback only.
pub const DEFAULT_METRICS_LISTEN: &str = "127.0.0.1:9464";

impl Default for MetricsSection {
    fn default() -> Self {
        Self {
            listen: DEFAULT_METRICS_LISTEN.into(),
        }
    }
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl LogFormat {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "text" => Some(Self::Text),
            "json" => Some(Self::Json),
            _ => None,
        }
    }
}

/// A validated configuration with paths resolved against the data directory.
#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub log_format: LogFormat,
    pub log_level: String,
    pub tls: hamn_certs::ServerCertFiles,
    pub database_url: String,
    pub database_max_connections: u32,
    pub gateway_listen: SocketAddr,
    pub gateway_public_url: String,
    pub gateway_redirect_listen: Option<SocketAddr>,
    pub gateway_reconnect_grace: std::time::Duration,
    pub gateway_native_connect_timeout: std::time::Duration,
    /// How long a stopping gateway waits for its sessions before closing them with 4110.
    pub gateway_drain_deadline: std::time::Duration,
    pub gateway_node: String,
    pub gateway_command_poll: std::time::Duration,
    pub gateway_max_fps: u32,
    /// Between two availability samples; zero: off.
    pub gateway_availability_interval: std::time::Duration,
    pub gateway_demo_login: bool,
    /// The SITHS card login listener, when `gateway.siths_listen` is set.
    pub gateway_siths: Option<SithsSettings>,
    /// `gateway.launch_min_loa`; `None`: no minimum.
    pub gateway_launch_min_loa: Option<u8>,
    /// `gateway.saml`.
    pub gateway_saml: bool,
    pub gateway_saml_sp_key: PathBuf,
    pub gateway_saml_sp_cert: PathBuf,
    /// `gateway.demo_idp`: its key and certificate, when on.
    pub gateway_demo_idp: Option<(PathBuf, PathBuf)>,
    /// `gateway.rdp_signing_cert` and `gateway.rdp_signing_key`, when set.
    pub gateway_rdp_signing: Option<(PathBuf, PathBuf)>,
    pub broker_listen: SocketAddr,
    pub broker_api_ca: PathBuf,
    pub broker_operator_cns: Vec<String>,
    pub broker_secrets: hamn_broker::SecretsConfig,
    pub broker_health_interval: std::time::Duration,
    pub broker_service_window_warnings: Vec<u32>,
    pub print_listen: SocketAddr,
    /// Where browser sessions' print jobs go (`gateway.print_url`, `print_ca`,
    /// `printer_name`); their size bound is the print service's `print.max_job_bytes`.
    pub gateway_print: GatewayPrint,
    /// `print.data_dir`, resolved.
    pub print_data_dir: PathBuf,
    pub print_max_job_bytes: u64,
    pub print_retention: std::time::Duration,
    /// `audit.retention_years` as a duration ([`RETENTION_YEAR_DAYS`] days a year).
    pub audit_retention: std::time::Duration,
    /// `print.public_url`, or the default made from gateway.public_url.
    pub print_public_url: String,
    /// `None`: PostScript jobs are refused.
    pub print_ghostscript: Option<GhostscriptSettings>,
    pub demo_host: Option<DemoHost>,
    pub demo_seed: bool,
    /// The metrics listener; `None`: off.
    pub metrics_listen: Option<SocketAddr>,
}

/// The print service as the gateway's printer reaches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayPrint {
    pub url: String,
    /// `None`: the system's CA bundle.
    pub ca: Option<PathBuf>,
    pub printer_name: String,
}

/// The SITHS card login listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SithsSettings {
    pub listen: SocketAddr,
    pub public_url: String,
    pub ca: PathBuf,
    pub crl: Vec<PathBuf>,
    pub crl_refresh: std::time::Duration,
    pub revocation: hamn_certs::RevocationPolicy,
    pub ocsp: hamn_certs::OcspPolicy,
    pub ocsp_timeout: std::time::Duration,
    pub loa_by_ca: std::collections::BTreeMap<String, u8>,
}

/// `https://host:port` of `public_url`'s host with another port.
fn with_port(public_url: &str, port: u16) -> Option<String> {
    let rest = public_url.strip_prefix("https://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = match authority.strip_prefix('[') {
        Some(v6) => format!("[{}]", v6.split(']').next()?),
        None => authority.split(':').next()?.to_owned(),
    };
    (!host.is_empty()).then(|| format!("https://{host}:{port}"))
}

/// The bundled demo app host, when enabled.
#[derive(Clone)]
pub struct DemoHost {
    pub listen: SocketAddr,
    pub username: String,
    pub password: String,
    pub command: Option<PathBuf>,
}

impl fmt::Debug for DemoHost {
    // The password never reaches a log line, even at debug level.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DemoHost")
            .field("listen", &self.listen)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("command", &self.command)
            .finish()
    }
}

/// Where a configuration comes from and what overrides it.
#[derive(Debug, Default)]
pub struct Sources<'a> {
    /// The TOML text; `None` means the embedded demo configuration.
    pub text: Option<&'a str>,
    /// `--data-dir`, which wins over the file.
    pub data_dir: Option<PathBuf>,
    /// `--log-format`, which wins over the file.
    pub log_format: Option<String>,
    /// Environment variables (name, value); only `HAMN_…__…` names are read.
    pub env: Vec<(String, String)>,
}

/// Reads, overrides and validates a configuration.
pub fn load(sources: Sources<'_>) -> Result<Settings, Problems> {
    let mut raw = parse(sources.text.unwrap_or(DEMO_CONFIG), &sources.env)?;
    if let Some(dir) = sources.data_dir {
        raw.data_dir = dir;
    }
    if let Some(format) = sources.log_format {
        raw.log.format = format;
    }
    raw.validate()
}

/// Parses TOML text with environment overrides applied, reporting unknown keys.
pub fn parse(text: &str, env: &[(String, String)]) -> Result<RawConfig, Problems> {
    let mut table: toml::Table = text
        .parse()
        .map_err(|error: toml::de::Error| Problems::one("(file)", one_line(&error.to_string())))?;
    apply_env_overrides(&mut table, env)?;

    let mut unknown = Vec::new();
    let raw: RawConfig = serde_ignored::deserialize(toml::Value::Table(table), |path| {
        unknown.push(path.to_string())
    })
    .map_err(|error: toml::de::Error| Problems::one("(file)", one_line(&error.to_string())))?;
    if !unknown.is_empty() {
        return Err(Problems(
            unknown
                .into_iter()
                .map(|key| Problem {
                    key,
                    message: "unknown key".into(),
                })
                .collect(),
        ));
    }
    Ok(raw)
}

fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `HAMN_DATABASE__URL=…` sets `database.url`. Values that parse as TOML (numbers,
/// booleans, arrays, quoted strings) keep their type; anything else is a string.
fn apply_env_overrides(table: &mut toml::Table, env: &[(String, String)]) -> Result<(), Problems> {
    for (name, value) in env {
        let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        if !rest.contains("__") {
            continue;
        }
        let path: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
        if path.iter().any(String::is_empty) {
            return Err(Problems::one(name, "malformed override name"));
        }
        let value = parse_env_value(value);
        let (last, parents) = path
            .split_last()
            .ok_or_else(|| Problems::one(name, "empty key"))?;
        let mut current = &mut *table;
        for segment in parents {
            let entry = current
                .entry(segment.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            current = entry.as_table_mut().ok_or_else(|| {
                Problems::one(
                    &path.join("."),
                    format!("{name} overrides a value that is not a section"),
                )
            })?;
        }
        current.insert(last.clone(), value);
    }
    Ok(())
}

fn parse_env_value(value: &str) -> toml::Value {
    format!("v = {value}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut table| table.remove("v"))
        .unwrap_or_else(|| toml::Value::String(value.to_owned()))
}

impl RawConfig {
    /// Checks every value and resolves paths, collecting all problems.
    pub fn validate(self) -> Result<Settings, Problems> {
        let mut problems = Vec::new();
        let mut problem = |key: &str, message: String| {
            problems.push(Problem {
                key: key.to_owned(),
                message,
            });
        };

        let data_dir = if self.data_dir.as_os_str().is_empty() {
            PathBuf::from("./data")
        } else {
            self.data_dir.clone()
        };
        let log_format = LogFormat::parse(&self.log.format).unwrap_or_else(|| {
            problem(
                "log.format",
                format!("{:?} is not one of \"text\", \"json\"", self.log.format),
            );
            LogFormat::Text
        });
        if self.log.level.trim().is_empty() {
            problem("log.level", "must not be empty (e.g. \"info\")".into());
        }

        let mut address = |key: &str, value: &str| -> Option<SocketAddr> {
            match value.parse::<SocketAddr>() {
                Ok(addr) => Some(addr),
                Err(_) => {
                    problem(
                        key,
                        format!(
                            "{value:?} is not a socket address (ip:port, e.g. \"127.0.0.1:8443\")"
                        ),
                    );
                    None
                }
            }
        };
        let gateway_listen = address("gateway.listen", &self.gateway.listen);
        let gateway_redirect_listen = if self.gateway.redirect_listen.is_empty() {
            Some(None)
        } else {
            address("gateway.redirect_listen", &self.gateway.redirect_listen).map(Some)
        };
        let siths_listen = if self.gateway.siths_listen.is_empty() {
            Some(None)
        } else {
            address("gateway.siths_listen", &self.gateway.siths_listen).map(Some)
        };
        let broker_listen = address("broker.listen", &self.broker.listen);
        let print_listen = address("print.listen", &self.print.listen);
        let demo_listen = address("demo_host.listen", &self.demo_host.listen);
        let metrics_listen = if self.metrics.listen.is_empty() {
            Some(None)
        } else {
            address("metrics.listen", &self.metrics.listen).map(Some)
        };

        // A login without a password must not be reachable from other machines: the only
        // gateway that may offer it is one that only this machine can reach.
        if self.gateway.demo_login && gateway_listen.is_some_and(|a| !a.ip().is_loopback()) {
            problem(
                "gateway.demo_login",
                format!(
                    "lets anyone log in by name alone; only allowed when gateway.listen is a \
                     loopback address, not {}",
                    self.gateway.listen
                ),
            );
        }
        // The demo IdP logs anyone in: it runs only where the password-less demo login
        // already does (which is itself loopback only), and only with the SP it serves.
        if self.gateway.demo_idp && !(self.gateway.demo_login && self.gateway.saml) {
            problem(
                "gateway.demo_idp",
                "logs anyone in as a demo user; only allowed in the demo configuration, \
                 with gateway.demo_login and gateway.saml on"
                    .into(),
            );
        }
        if self.gateway.rdp_signing_cert.as_os_str().is_empty()
            != self.gateway.rdp_signing_key.as_os_str().is_empty()
        {
            problem(
                "gateway.rdp_signing_cert",
                "and gateway.rdp_signing_key are set together (both empty: unsigned .rdp files)"
                    .into(),
            );
        }
        if !self.gateway.public_url.starts_with("https://") {
            problem(
                "gateway.public_url",
                format!("{:?} must be an https:// URL", self.gateway.public_url),
            );
        }
        if self.broker.health_interval > 3600 {
            problem(
                "broker.health_interval",
                "must be at most 3600 seconds (0: no probes)".into(),
            );
        }
        if self
            .broker
            .service_window_warnings
            .iter()
            .any(|m| !(1..=1440).contains(m))
        {
            problem(
                "broker.service_window_warnings",
                "each warning must be 1-1440 minutes before the window".into(),
            );
        }
        if self.gateway.availability_interval > 3600 {
            problem(
                "gateway.availability_interval",
                "must be at most 3600 seconds (0: off)".into(),
            );
        }
        if self.gateway.drain_deadline > 3600 {
            problem(
                "gateway.drain_deadline",
                "must be at most 3600 seconds (0: no wait)".into(),
            );
        }
        if !(1..=3600).contains(&self.gateway.command_poll) {
            problem("gateway.command_poll", "must be 1-3600 seconds".into());
        }
        if self.gateway.node.is_empty()
            || self.gateway.node.len() > 64
            || !self
                .gateway
                .node
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        {
            problem(
                "gateway.node",
                "must be 1-64 characters of A-Z, a-z, 0-9, '.', '_' and '-'".into(),
            );
        }
        if self.gateway.reconnect_grace > 24 * 3600 {
            problem(
                "gateway.reconnect_grace",
                "must be at most 86400 seconds (0: no resume)".into(),
            );
        }
        if !self.gateway.print_url.is_empty()
            && (!self.gateway.print_url.starts_with("https://")
                || self.gateway.print_url.trim_end_matches('/') != self.gateway.print_url)
        {
            problem(
                "gateway.print_url",
                "must be an https:// URL without a trailing slash".into(),
            );
        }
        let name = &self.gateway.printer_name;
        if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
            problem(
                "gateway.printer_name",
                "must be 1-64 characters without control characters".into(),
            );
        }
        if !(1..=300).contains(&self.gateway.native_connect_timeout) {
            problem(
                "gateway.native_connect_timeout",
                "must be 1-300 seconds".into(),
            );
        }
        if !(1024..=4 * 1024 * 1024 * 1024).contains(&self.print.max_job_bytes) {
            problem(
                "print.max_job_bytes",
                "must be between 1024 bytes and 4 GiB".into(),
            );
        }
        if !(1..=100).contains(&self.audit.retention_years) {
            problem("audit.retention_years", "must be 1-100 years".into());
        }
        if !(1..=24 * 366).contains(&self.print.retention_hours) {
            problem(
                "print.retention_hours",
                "must be 1-8784 hours (a year)".into(),
            );
        }
        let print_public_url = if self.print.public_url.is_empty() {
            print_listen
                .and_then(|addr| with_port(&self.gateway.public_url, addr.port()))
                .unwrap_or_default()
        } else {
            if !self.print.public_url.starts_with("https://") {
                problem(
                    "print.public_url",
                    format!("{:?} must be an https:// URL", self.print.public_url),
                );
            }
            self.print.public_url.trim_end_matches('/').to_owned()
        };
        if !(1..=3600).contains(&self.print.ghostscript_timeout) {
            problem("print.ghostscript_timeout", "must be 1-3600 seconds".into());
        }
        if !(16..=65536).contains(&self.print.ghostscript_memory_mb) {
            problem("print.ghostscript_memory_mb", "must be 16-65536 MiB".into());
        }
        let ghostscript_program = match self.print.ghostscript.as_str() {
            "off" => None,
            "" => Some(PathBuf::from(DEFAULT_GHOSTSCRIPT)).filter(|p| p.is_file()),
            path => {
                if !Path::new(path).is_file() {
                    problem(
                        "print.ghostscript",
                        format!("{path:?} is not a file (use \"off\" to refuse PostScript)"),
                    );
                }
                Some(PathBuf::from(path))
            }
        };
        let print_ghostscript = ghostscript_program.map(|program| GhostscriptSettings {
            program,
            timeout: std::time::Duration::from_secs(self.print.ghostscript_timeout),
            memory_limit_bytes: self.print.ghostscript_memory_mb * 1024 * 1024,
        });
        let siths_public_url = match siths_listen.flatten() {
            Some(_) if !self.gateway.siths_public_url.is_empty() => {
                if !self.gateway.siths_public_url.starts_with("https://") {
                    problem(
                        "gateway.siths_public_url",
                        format!(
                            "{:?} must be an https:// URL",
                            self.gateway.siths_public_url
                        ),
                    );
                }
                self.gateway.siths_public_url.clone()
            }
            Some(addr) => with_port(&self.gateway.public_url, addr.port()).unwrap_or_default(),
            None => String::new(),
        };
        if siths_listen.flatten().is_some() && self.gateway.siths_ca.as_os_str().is_empty() {
            problem(
                "gateway.siths_ca",
                "must name the SITHS CA bundle when siths_listen is set".into(),
            );
        }
        let siths_revocation = match self.gateway.siths_revocation.as_str() {
            "require" => hamn_certs::RevocationPolicy::Require,
            "off" => hamn_certs::RevocationPolicy::Off,
            other => {
                problem(
                    "gateway.siths_revocation",
                    format!("{other:?} is neither \"require\" nor \"off\""),
                );
                hamn_certs::RevocationPolicy::Require
            }
        };
        if siths_listen.flatten().is_some() {
            for source in &self.gateway.siths_crl {
                let text = source.to_string_lossy();
                if text.starts_with("http://") || text.starts_with("https://") {
                    problem(
                        "gateway.siths_crl",
                        format!(
                            "{text:?}: fetching CRLs over http(s) is not supported yet; \
                             download it to a file (e.g. with a timer) and list that file"
                        ),
                    );
                }
            }
            if siths_revocation == hamn_certs::RevocationPolicy::Require
                && self.gateway.siths_crl.is_empty()
            {
                problem(
                    "gateway.siths_crl",
                    "must list the SITHS CAs' CRLs when siths_revocation = \"require\"".into(),
                );
            }
        }
        let siths_ocsp = match self.gateway.siths_ocsp.as_str() {
            "require" => hamn_certs::OcspPolicy::Require,
            "off" => hamn_certs::OcspPolicy::Off,
            other => {
                problem(
                    "gateway.siths_ocsp",
                    format!("{other:?} is neither \"require\" nor \"off\""),
                );
                hamn_certs::OcspPolicy::Require
            }
        };
        if !(1..=60).contains(&self.gateway.siths_ocsp_timeout) {
            problem(
                "gateway.siths_ocsp_timeout",
                "must be between 1 and 60 seconds".into(),
            );
        }
        for (ca, loa) in &self.gateway.siths_loa {
            if !(1..=4).contains(loa) || ca.trim().is_empty() {
                problem(
                    "gateway.siths_loa",
                    format!("{ca:?} = {loa}: levels go from 1 to 4, CA names are not empty"),
                );
            }
        }
        if self.gateway.launch_min_loa > 4 {
            problem(
                "gateway.launch_min_loa",
                "must be between 0 (no minimum) and 4".into(),
            );
        }
        if !(60..=7 * 24 * 3600).contains(&self.gateway.siths_crl_refresh) {
            problem(
                "gateway.siths_crl_refresh",
                "must be between 60 and 604800 seconds".into(),
            );
        }
        if !(1..=120).contains(&self.gateway.max_fps) {
            problem("gateway.max_fps", "must be between 1 and 120".into());
        }
        let database_url = if self.database.url.is_empty() {
            format!("sqlite://{}?mode=rwc", data_dir.join("hamn.db").display())
        } else {
            self.database.url.clone()
        };
        if !["sqlite:", "postgres://", "postgresql://"]
            .iter()
            .any(|s| database_url.starts_with(s))
        {
            problem(
                "database.url",
                "must start with sqlite: or postgres://".into(),
            );
        }
        if self.database.max_connections == 0 || self.database.max_connections > 1000 {
            problem(
                "database.max_connections",
                "must be between 1 and 1000".into(),
            );
        }
        let (inline_key, key_file) = (&self.broker.secrets_key, &self.broker.secrets_key_file);
        if !inline_key.is_empty() && !key_file.as_os_str().is_empty() {
            problem(
                "broker.secrets_key",
                "set secrets_key or secrets_key_file, not both".into(),
            );
        }
        if !inline_key.is_empty()
            && let Err(error) = hamn_broker::SecretsKey::from_base64(inline_key)
        {
            problem("broker.secrets_key", error.to_string());
        }
        if self
            .broker
            .operator_cns
            .iter()
            .any(|cn| cn.trim().is_empty())
        {
            problem("broker.operator_cns", "must not contain empty names".into());
        }
        if self.demo_host.enabled {
            if self.demo_host.username.is_empty() {
                problem(
                    "demo_host.username",
                    "must be set when demo_host.enabled = true".into(),
                );
            }
            if self.demo_host.password.len() < 8 {
                problem(
                    "demo_host.password",
                    "must be at least 8 characters when demo_host.enabled = true".into(),
                );
            }
        }

        let listeners = [
            ("gateway.listen", gateway_listen),
            ("gateway.redirect_listen", gateway_redirect_listen.flatten()),
            ("gateway.siths_listen", siths_listen.flatten()),
            ("broker.listen", broker_listen),
            ("print.listen", print_listen),
            (
                "demo_host.listen",
                demo_listen.filter(|_| self.demo_host.enabled),
            ),
            ("metrics.listen", metrics_listen.flatten()),
        ];
        for (i, (key, addr)) in listeners.iter().enumerate() {
            let Some(addr) = addr else { continue };
            if addr.port() == 0 {
                continue;
            }
            if let Some((other, _)) = listeners[..i]
                .iter()
                .find(|(_, a)| a.as_ref() == Some(addr))
            {
                problem(key, format!("{addr} is already used by {other}"));
            }
        }

        if !problems.is_empty() {
            return Err(Problems(problems));
        }
        let resolve = |path: &Path| {
            if path.is_absolute() {
                path.to_path_buf()
            } else {
                data_dir.join(path)
            }
        };
        // Every Option below is Some: a None pushed a problem and returned above.
        let (
            Some(gateway_listen),
            Some(gateway_redirect_listen),
            Some(siths_listen),
            Some(broker_listen),
            Some(print_listen),
            Some(demo_listen),
            Some(metrics_listen),
        ) = (
            gateway_listen,
            gateway_redirect_listen,
            siths_listen,
            broker_listen,
            print_listen,
            demo_listen,
            metrics_listen,
        )
        else {
            return Err(Problems::one("(file)", "internal validation error"));
        };
        Ok(Settings {
            tls: hamn_certs::ServerCertFiles {
                cert: resolve(&self.tls.cert),
                key: resolve(&self.tls.key),
            },
            broker_api_ca: resolve(&self.broker.api_ca),
            data_dir: data_dir.clone(),
            log_format,
            log_level: self.log.level,
            database_url,
            database_max_connections: self.database.max_connections,
            gateway_listen,
            gateway_public_url: self.gateway.public_url,
            gateway_redirect_listen,
            gateway_reconnect_grace: std::time::Duration::from_secs(self.gateway.reconnect_grace),
            gateway_native_connect_timeout: std::time::Duration::from_secs(
                self.gateway.native_connect_timeout,
            ),
            gateway_drain_deadline: std::time::Duration::from_secs(self.gateway.drain_deadline),
            gateway_node: self.gateway.node.clone(),
            gateway_command_poll: std::time::Duration::from_secs(self.gateway.command_poll),
            gateway_max_fps: self.gateway.max_fps,
            gateway_availability_interval: std::time::Duration::from_secs(
                self.gateway.availability_interval,
            ),
            gateway_demo_login: self.gateway.demo_login,
            gateway_siths: siths_listen.map(|listen| SithsSettings {
                listen,
                public_url: siths_public_url,
                ca: resolve(&self.gateway.siths_ca),
                crl: self.gateway.siths_crl.iter().map(|p| resolve(p)).collect(),
                crl_refresh: std::time::Duration::from_secs(self.gateway.siths_crl_refresh),
                revocation: siths_revocation,
                ocsp: siths_ocsp,
                ocsp_timeout: std::time::Duration::from_secs(self.gateway.siths_ocsp_timeout),
                loa_by_ca: self.gateway.siths_loa.clone(),
            }),
            gateway_launch_min_loa: (self.gateway.launch_min_loa > 0)
                .then_some(self.gateway.launch_min_loa),
            gateway_saml: self.gateway.saml,
            gateway_saml_sp_key: resolve(&self.gateway.saml_sp_key),
            gateway_saml_sp_cert: resolve(&self.gateway.saml_sp_cert),
            gateway_demo_idp: self.gateway.demo_idp.then(|| {
                (
                    resolve(&self.gateway.demo_idp_key),
                    resolve(&self.gateway.demo_idp_cert),
                )
            }),
            gateway_rdp_signing: (!self.gateway.rdp_signing_cert.as_os_str().is_empty()).then(
                || {
                    (
                        resolve(&self.gateway.rdp_signing_cert),
                        resolve(&self.gateway.rdp_signing_key),
                    )
                },
            ),
            broker_listen,
            broker_operator_cns: self.broker.operator_cns,
            broker_secrets: hamn_broker::SecretsConfig {
                secrets_key: (!self.broker.secrets_key.is_empty())
                    .then_some(self.broker.secrets_key),
                secrets_key_file: (!self.broker.secrets_key_file.as_os_str().is_empty())
                    .then(|| resolve(&self.broker.secrets_key_file)),
            },
            broker_health_interval: std::time::Duration::from_secs(self.broker.health_interval),
            broker_service_window_warnings: self.broker.service_window_warnings,
            gateway_print: GatewayPrint {
                url: if self.gateway.print_url.is_empty() {
                    default_print_url(print_listen)
                } else {
                    self.gateway.print_url.clone()
                },
                ca: (!self.gateway.print_ca.as_os_str().is_empty())
                    .then(|| resolve(&self.gateway.print_ca)),
                printer_name: self.gateway.printer_name.clone(),
            },
            print_listen,
            print_data_dir: if self.print.data_dir.as_os_str().is_empty() {
                data_dir.join("prints")
            } else {
                resolve(&self.print.data_dir)
            },
            print_max_job_bytes: self.print.max_job_bytes,
            print_retention: std::time::Duration::from_secs(self.print.retention_hours * 3600),
            audit_retention: std::time::Duration::from_secs(
                u64::from(self.audit.retention_years) * RETENTION_YEAR_DAYS * 24 * 3600,
            ),
            print_public_url,
            print_ghostscript,
            demo_seed: self.demo_host.seed,
            metrics_listen,
            demo_host: self.demo_host.enabled.then(|| DemoHost {
                listen: demo_listen,
                username: self.demo_host.username,
                password: self.demo_host.password,
                command: (!self.demo_host.command.as_os_str().is_empty())
                    .then_some(self.demo_host.command),
            }),
        })
    }
}

/// `https://` + the print service's listener; an unspecified address means this machine,
/// by the name its certificate carries.
fn default_print_url(listen: SocketAddr) -> String {
    if listen.ip().is_unspecified() {
        format!("https://localhost:{}", listen.port())
    } else {
        format!("https://{listen}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_print_url_defaults_to_the_print_listener() {
        assert_eq!(
            default_print_url("127.0.0.1:8631".parse().unwrap()),
            "https://127.0.0.1:8631"
        );
        assert_eq!(
            default_print_url("0.0.0.0:8631".parse().unwrap()),
            "https://localhost:8631"
        );
        assert_eq!(
            default_print_url("[::1]:8631".parse().unwrap()),
            "https://[::1]:8631"
        );
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn problems(text: &str) -> Vec<String> {
        match load(Sources {
            text: Some(text),
            ..Default::default()
        }) {
            Ok(_) => Vec::new(),
            Err(Problems(list)) => list.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn example_documents_every_key_with_its_default() {
        let example = include_str!("../config/hamn.example.toml");
        let Ok(parsed) = parse(example, &[]) else {
            panic!("example must parse")
        };
        let as_value = |raw: &RawConfig| toml::Value::try_from(raw).ok();
        assert_eq!(as_value(&parsed), as_value(&RawConfig::default()));
        let Some(toml::Value::Table(defaults)) = as_value(&RawConfig::default()) else {
            panic!()
        };
        for (section, value) in &defaults {
            let Some(keys) = value.as_table() else {
                continue;
            };
            assert!(
                example.contains(&format!("[{section}]")),
                "section {section} undocumented"
            );
            for key in keys.keys() {
                assert!(
                    example.contains(&format!("\n{key} = ")),
                    "{section}.{key} undocumented"
                );
            }
        }
    }

    #[test]
    fn metrics_listen_is_loopback_by_default_off_when_empty_and_checked() {
        let listen = |text: &str| {
            load(Sources {
                text: Some(text),
                ..Default::default()
            })
            .map(|s| s.metrics_listen)
        };
        assert_eq!(
            listen("").ok().flatten().map(|a| a.to_string()).as_deref(),
            Some(DEFAULT_METRICS_LISTEN)
        );
        assert!(matches!(listen("[metrics]\nlisten = \"\""), Ok(None)));
        assert_eq!(
            problems("[metrics]\nlisten = \"localhost\""),
            vec![
                "metrics.listen: \"localhost\" is not a socket address (ip:port, e.g. \"127.0.0.1:8443\")"
            ]
        );
        assert_eq!(
            problems("[metrics]\nlisten = \"127.0.0.1:8443\""),
            vec!["metrics.listen: 127.0.0.1:8443 is already used by gateway.listen"]
        );
    }

    #[test]
    fn demo_config_is_valid() {
        let settings = load(Sources::default());
        assert!(settings.is_ok(), "{settings:?}");
    }

    #[test]
    fn empty_file_means_defaults() {
        let Ok(settings) = load(Sources {
            text: Some(""),
            ..Default::default()
        }) else {
            panic!("defaults must validate");
        };
        assert_eq!(settings.gateway_listen.to_string(), "127.0.0.1:8443");
        assert_eq!(settings.database_url, "sqlite://./data/hamn.db?mode=rwc");
        assert!(settings.demo_host.is_none());
    }

    #[test]
    fn env_overrides_keep_types() {
        let Ok(settings) = load(Sources {
            text: Some(""),
            env: env(&[
                ("HAMN_DATABASE__URL", "postgres://db/hamn"),
                ("HAMN_DATABASE__MAX_CONNECTIONS", "3"),
                ("HAMN_TEST_DATABASE_URL", "ignored: no double underscore"),
                ("PATH", "/usr/bin"),
            ]),
            ..Default::default()
        }) else {
            panic!("overrides must validate");
        };
        assert_eq!(settings.database_url, "postgres://db/hamn");
        assert_eq!(settings.database_max_connections, 3);
    }

    #[test]
    fn unknown_keys_are_each_named() {
        assert_eq!(
            problems("[gateway]\nlisten = \"127.0.0.1:1\"\nlisten_x = 1\n[nope]\na = 1\n"),
            ["gateway.listen_x: unknown key", "nope: unknown key"]
        );
    }

    #[test]
    fn every_problem_is_reported_on_its_own_line() {
        let found = problems(
            "[gateway]\nlisten = \"localhost\"\npublic_url = \"http://x\"\n[log]\nformat = \"xml\"\n",
        );
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].starts_with("log.format:"), "{found:?}");
        assert!(found[1].starts_with("gateway.listen:"), "{found:?}");
        assert!(found[2].starts_with("gateway.public_url:"), "{found:?}");
    }

    #[test]
    fn duplicate_listeners_are_refused() {
        let found = problems("[broker]\nlisten = \"127.0.0.1:8443\"\n");
        assert_eq!(
            found,
            ["broker.listen: 127.0.0.1:8443 is already used by gateway.listen"]
        );
    }

    #[test]
    fn demo_login_is_off_by_default_on_in_the_demo_and_loopback_only() {
        let Ok(defaults) = load(Sources {
            text: Some(""),
            ..Default::default()
        }) else {
            panic!("defaults must validate");
        };
        assert!(!defaults.gateway_demo_login);
        let Ok(demo) = load(Sources::default()) else {
            panic!("the demo config must validate");
        };
        assert!(demo.gateway_demo_login);
        let found = problems("[gateway]\nlisten = \"0.0.0.0:8443\"\ndemo_login = true\n");
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("gateway.demo_login: "), "{found:?}");
        assert!(problems("[gateway]\nlisten = \"[::1]:8443\"\ndemo_login = true\n").is_empty());
    }

    #[test]
    fn demo_idp_is_off_by_default_on_in_the_demo_and_refused_outside_it() {
        let Ok(defaults) = load(Sources {
            text: Some(""),
            ..Default::default()
        }) else {
            panic!("defaults must validate");
        };
        assert_eq!(defaults.gateway_demo_idp, None);
        let Ok(demo) = load(Sources::default()) else {
            panic!("the demo config must validate");
        };
        let Some((key, cert)) = demo.gateway_demo_idp else {
            panic!("the demo config turns the demo IdP on");
        };
        assert!(key.ends_with("certs/saml-demo-idp.key"), "{key:?}");
        assert!(cert.ends_with("certs/saml-demo-idp.crt"), "{cert:?}");
        for text in [
            "[gateway]\ndemo_idp = true\nsaml = true\n",
            "[gateway]\ndemo_idp = true\ndemo_login = true\n",
            "[gateway]\ndemo_idp = true\n",
        ] {
            let found = problems(text);
            assert_eq!(found.len(), 1, "{text}: {found:?}");
            assert!(found[0].starts_with("gateway.demo_idp: "), "{found:?}");
        }
        // Off the loopback the demo login itself is refused, and with it the IdP's premise.
        let found = problems(
            "[gateway]\nlisten = \"0.0.0.0:8443\"\ndemo_login = true\nsaml = true\ndemo_idp = true\n",
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("gateway.demo_login: "), "{found:?}");
        assert!(
            problems("[gateway]\ndemo_login = true\nsaml = true\ndemo_idp = true\n").is_empty()
        );
    }

    #[test]
    fn rdp_signing_is_off_by_default_on_in_the_demo_and_set_in_pairs() {
        let Ok(defaults) = load(Sources {
            text: Some(""),
            ..Default::default()
        }) else {
            panic!("defaults must validate");
        };
        assert_eq!(defaults.gateway_rdp_signing, None);
        let Ok(demo) = load(Sources::default()) else {
            panic!("the demo config must validate");
        };
        let Some((cert, key)) = demo.gateway_rdp_signing else {
            panic!("the demo config signs .rdp files");
        };
        assert!(cert.ends_with("certs/rdp-signing.crt"), "{cert:?}");
        assert!(key.ends_with("certs/rdp-signing.key"), "{key:?}");
        for text in [
            "[gateway]\nrdp_signing_cert = \"a.crt\"\n",
            "[gateway]\nrdp_signing_key = \"a.key\"\n",
        ] {
            let found = problems(text);
            assert_eq!(found.len(), 1, "{text}: {found:?}");
            assert!(
                found[0].starts_with("gateway.rdp_signing_cert: "),
                "{found:?}"
            );
        }
    }

    #[test]
    fn audit_retention_defaults_to_ten_years_and_is_validated() {
        let Ok(demo) = load(Sources::default()) else {
            panic!("the demo config must validate");
        };
        assert_eq!(
            demo.audit_retention,
            std::time::Duration::from_secs(10 * 366 * 24 * 3600)
        );
        assert_eq!(
            problems("[audit]\nretention_years = 0\n"),
            ["audit.retention_years: must be 1-100 years"]
        );
    }

    #[test]
    fn print_keys_default_under_the_data_dir_and_are_validated() {
        let Ok(demo) = load(Sources::default()) else {
            panic!("the demo config must validate");
        };
        assert_eq!(demo.print_data_dir, PathBuf::from("./data/prints"));
        assert_eq!(demo.print_max_job_bytes, 128 * 1024 * 1024);
        assert_eq!(
            demo.print_retention,
            std::time::Duration::from_secs(24 * 3600)
        );
        assert_eq!(demo.print_public_url, "https://localhost:8631");
        assert_eq!(
            problems(
                "[print]\nmax_job_bytes = 10\nretention_hours = 0\npublic_url = \"http://p\"\n\
                 ghostscript = \"/nonexistent/gs\"\nghostscript_timeout = 0\n\
                 ghostscript_memory_mb = 1\n"
            ),
            [
                "print.max_job_bytes: must be between 1024 bytes and 4 GiB",
                "print.retention_hours: must be 1-8784 hours (a year)",
                "print.public_url: \"http://p\" must be an https:// URL",
                "print.ghostscript_timeout: must be 1-3600 seconds",
                "print.ghostscript_memory_mb: must be 16-65536 MiB",
                "print.ghostscript: \"/nonexistent/gs\" is not a file (use \"off\" to refuse PostScript)",
            ]
        );
        let Ok(off) = load(Sources {
            text: Some("[print]\nghostscript = \"off\"\ndata_dir = \"/srv/prints\"\n"),
            ..Default::default()
        }) else {
            panic!("valid print keys");
        };
        assert_eq!(off.print_ghostscript, None);
        assert_eq!(off.print_data_dir, PathBuf::from("/srv/prints"));
    }

    #[test]
    fn siths_is_off_by_default_on_in_the_demo_and_validated() {
        let Ok(defaults) = load(Sources {
            text: Some(""),
            ..Default::default()
        }) else {
            panic!("defaults must validate");
        };
        assert_eq!(defaults.gateway_siths, None);
        let Ok(demo) = load(Sources::default()) else {
            panic!("the demo config must validate");
        };
        assert_eq!(
            demo.gateway_siths,
            Some(SithsSettings {
                listen: "127.0.0.1:8445".parse().unwrap_or(demo.gateway_listen),
                public_url: "https://localhost:8445".into(),
                ca: PathBuf::from("./data/certs/siths-ca.crt"),
                crl: vec![PathBuf::from("./data/certs/siths-ca.crl")],
                crl_refresh: std::time::Duration::from_secs(3600),
                revocation: hamn_certs::RevocationPolicy::Require,
                ocsp: hamn_certs::OcspPolicy::Require,
                ocsp_timeout: std::time::Duration::from_secs(5),
                loa_by_ca: [("Hamn Test SITHS CA".to_owned(), 3)].into(),
            })
        );
        assert_eq!(demo.gateway_launch_min_loa, None);
        assert_eq!(
            problems(
                "[gateway]\nsiths_ocsp = \"maybe\"\nsiths_ocsp_timeout = 0\nlaunch_min_loa = 5\n\
                 siths_loa = { \"X CA\" = 9 }\n"
            ),
            [
                "gateway.siths_ocsp: \"maybe\" is neither \"require\" nor \"off\"",
                "gateway.siths_ocsp_timeout: must be between 1 and 60 seconds",
                "gateway.siths_loa: \"X CA\" = 9: levels go from 1 to 4, CA names are not empty",
                "gateway.launch_min_loa: must be between 0 (no minimum) and 4",
            ]
        );
        let Ok(v6) = load(Sources {
            text: Some(
                "[gateway]\npublic_url = \"https://[::1]:8443/portal\"\nsiths_listen = \"[::1]:9445\"\n",
            ),
            ..Default::default()
        }) else {
            panic!("IPv6 must validate");
        };
        assert_eq!(
            v6.gateway_siths.map(|s| s.public_url),
            Some("https://[::1]:9445".to_owned())
        );
        assert_eq!(
            problems("[gateway]\nsiths_listen = \"127.0.0.1:8444\"\n"),
            ["broker.listen: 127.0.0.1:8444 is already used by gateway.siths_listen"]
        );
        assert_eq!(
            problems("[gateway]\nsiths_listen = \"nowhere\"\nsiths_ca = \"\"\n"),
            [
                "gateway.siths_listen: \"nowhere\" is not a socket address (ip:port, e.g. \"127.0.0.1:8443\")"
            ]
        );
        assert_eq!(
            problems(
                "[gateway]\nsiths_listen = \"127.0.0.1:9445\"\nsiths_public_url = \"http://x\"\nsiths_ca = \"\"\n"
            ),
            [
                "gateway.siths_public_url: \"http://x\" must be an https:// URL",
                "gateway.siths_ca: must name the SITHS CA bundle when siths_listen is set"
            ]
        );
        assert_eq!(
            problems(
                "[gateway]\nsiths_listen = \"127.0.0.1:9445\"\nsiths_revocation = \"maybe\"\nsiths_crl_refresh = 1\n"
            ),
            [
                "gateway.siths_revocation: \"maybe\" is neither \"require\" nor \"off\"",
                "gateway.siths_crl_refresh: must be between 60 and 604800 seconds"
            ]
        );
        assert_eq!(
            problems(
                "[gateway]\nsiths_listen = \"127.0.0.1:9445\"\nsiths_crl = [\"http://crl.example/x.crl\"]\n"
            ),
            [
                "gateway.siths_crl: \"http://crl.example/x.crl\": fetching CRLs over http(s) is not supported yet; download it to a file (e.g. with a timer) and list that file"
            ]
        );
        assert_eq!(
            problems("[gateway]\nsiths_listen = \"127.0.0.1:9445\"\nsiths_crl = []\n"),
            [
                "gateway.siths_crl: must list the SITHS CAs' CRLs when siths_revocation = \"require\""
            ]
        );
        assert!(
            problems(
                "[gateway]\nsiths_listen = \"127.0.0.1:9445\"\nsiths_crl = []\nsiths_revocation = \"off\"\n"
            )
            .is_empty()
        );
    }

    #[test]
    fn wrong_types_name_the_key() {
        let found = problems("[database]\nmax_connections = \"many\"\n");
        assert_eq!(found.len(), 1);
        assert!(found[0].contains("max_connections"), "{found:?}");
    }

    #[test]
    fn a_malformed_secrets_key_is_named() {
        let found = problems("[broker]\nsecrets_key = \"c2hvcnQ=\"\n");
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("broker.secrets_key: "), "{found:?}");
    }

    #[test]
    fn the_demo_password_is_never_debug_printed() {
        let Ok(settings) = load(Sources::default()) else {
            panic!()
        };
        let printed = format!("{settings:?}");
        let Some(demo) = settings.demo_host else {
            panic!("demo config enables the host")
        };
        assert!(!printed.contains(&demo.password));
    }
}
