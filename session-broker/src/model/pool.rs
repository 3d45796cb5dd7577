//! Host pools: sets of Remote Desktop hosts, shared by every tenant or dedicated to one.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::validate::{ValidationErrors, double_option};

text_enum! {
    /// How the gateway checks the TLS certificate of the pool's hosts: `verify` against the
    /// system roots or the pool's `host_ca_pem`; `pin` to SHA-256 fingerprints of the host
    /// certificates; `ignore` for lab pools (the gateway logs a warning on every connect).
    HostCertPolicy { Verify = "verify", Pin = "pin", Ignore = "ignore" }
}

/// Largest accepted `host_ca_pem`.
pub const MAX_CA_PEM_BYTES: usize = 64 * 1024;
/// Most fingerprints a pinned pool may list.
pub const MAX_PINS: usize = 64;
/// Default and ceiling of `clipboard_max_bytes` (the database checks the same ceiling).
pub const DEFAULT_CLIPBOARD_MAX_BYTES: u64 = 1024 * 1024;
pub const MAX_CLIPBOARD_MAX_BYTES: u64 = 16 * 1024 * 1024;

/// Defaults of a pool's session timeouts, in seconds (0 switches one off).
pub const DEFAULT_IDLE_TIMEOUT_SECS: u32 = 60 * 60;
pub const DEFAULT_DISCONNECT_TIMEOUT_SECS: u32 = 4 * 60 * 60;
pub const DEFAULT_MAX_SESSION_SECS: u32 = 12 * 60 * 60;
pub const DEFAULT_TIMEOUT_WARNING_SECS: u32 = 5 * 60;
/// Ceilings the database checks too: 30 days for a timeout, a day for the warning lead.
pub const MAX_TIMEOUT_SECS: u32 = 30 * 24 * 60 * 60;
pub const MAX_TIMEOUT_WARNING_SECS: u32 = 24 * 60 * 60;

text_enum! {
    /// The driver the gateway names for the printer it redirects into browser sessions:
    /// `pdf` ("Microsoft Print to PDF": the host spools PDF, passed through) or `postscript`
    /// ("MS Publisher Imagesetter": PostScript, converted by Ghostscript on the print
    /// service).
    PrintDriver { Pdf = "pdf", PostScript = "postscript" }
}

text_enum! {
    /// How placement picks a host: spread load (breadth-first) or fill hosts in turn
    /// (depth-first).
    PoolStrategy { BreadthFirst = "breadth_first", DepthFirst = "depth_first" }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HostPool {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub strategy: PoolStrategy,
    /// `null`: shared by every tenant; otherwise the one tenant that may publish on it.
    pub dedicated_tenant_id: Option<Uuid>,
    pub host_cert_policy: HostCertPolicy,
    /// PEM CA certificates the hosts' certificates must chain to (`verify` only; `null`:
    /// the system roots).
    pub host_ca_pem: Option<String>,
    /// SHA-256 fingerprints of accepted host certificates, lower-case hex (`pin` only).
    pub host_cert_pins: Vec<String>,
    /// Whether sessions on this pool get text clipboard both ways (the RDP cliprdr channel).
    pub clipboard_enabled: bool,
    /// The largest clipboard text passed either way, in UTF-8 bytes (0..=16 MiB).
    pub clipboard_max_bytes: u64,
    /// Whether native RDP clients (an `.rdp` file, the RD Gateway) may redirect the user's
    /// local drives into sessions on this pool. Default `false`: files leave the host.
    pub drives_enabled: bool,
    /// Whether native RDP clients may redirect the user's printers. Default `true`.
    pub printers_enabled: bool,
    /// Whether native RDP clients may redirect serial (COM) ports. Default `false`.
    pub com_ports_enabled: bool,
    /// Whether native RDP clients may redirect Plug and Play devices (cameras, phones, USB
    /// storage through PnP). Default `false`.
    pub pnp_devices_enabled: bool,
    /// Whether `program` apps open as RemoteApp windows in native clients (the `.rdp`
    /// file's `remoteapplication*` settings). Default `true`; `false` for hosts without
    /// RemoteApp support, whose desktop shows the app (the bundled demo host).
    pub native_remote_apps: bool,
    /// The driver of the printer browser sessions get when `printers_enabled` (default
    /// `pdf`).
    pub print_driver: PrintDriver,
    /// Seconds without keyboard or mouse input before the session is disconnected (4301),
    /// after a warning; 0: never.
    pub idle_timeout_secs: u32,
    /// Seconds a session may stay disconnected before it is logged off; 0: never.
    pub disconnect_timeout_secs: u32,
    /// Longest session, from its first connection, before it is logged off after a
    /// warning; 0: unlimited.
    pub max_session_secs: u32,
    /// How long before an idle disconnect or a maximum-length logoff the user is warned.
    pub timeout_warning_secs: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl HostPool {
    /// Whether `tenant` may publish apps on this pool.
    pub fn serves(&self, tenant: Uuid) -> bool {
        self.dedicated_tenant_id.is_none_or(|t| t == tenant)
    }

    /// The check the gateway applies to a host certificate of this pool.
    pub fn host_cert_check(&self) -> HostCertCheck<'_> {
        match self.host_cert_policy {
            HostCertPolicy::Verify => HostCertCheck::Verify {
                ca_pem: self.host_ca_pem.as_deref(),
            },
            HostCertPolicy::Pin => HostCertCheck::Pin(
                self.host_cert_pins
                    .iter()
                    .filter_map(|p| pin_bytes(p))
                    .collect(),
            ),
            HostCertPolicy::Ignore => HostCertCheck::Ignore,
        }
    }

    /// The pool's session timeouts.
    pub fn timeouts(&self) -> PoolTimeouts {
        let secs = |s: u32| (s > 0).then(|| Duration::from_secs(u64::from(s)));
        PoolTimeouts {
            idle: secs(self.idle_timeout_secs),
            disconnected: secs(self.disconnect_timeout_secs),
            max_session: secs(self.max_session_secs),
            warning: Duration::from_secs(u64::from(self.timeout_warning_secs)),
        }
    }

    /// The most clipboard text (UTF-8 bytes) a session on this pool passes either way;
    /// `None` when the pool has the clipboard off.
    pub fn clipboard_limit(&self) -> Option<u64> {
        self.clipboard_enabled.then_some(self.clipboard_max_bytes)
    }

    /// The device redirections native RDP clients may use on this pool: what an `.rdp`
    /// file asks for and what the RD Gateway allows in its tunnel authorisation.
    pub fn native_redirection(&self) -> NativeRedirection {
        NativeRedirection {
            drives: self.drives_enabled,
            printers: self.printers_enabled,
            com_ports: self.com_ports_enabled,
            pnp_devices: self.pnp_devices_enabled,
            clipboard: self.clipboard_enabled,
        }
    }
}

/// A pool's device-redirection policy for native RDP clients ([`HostPool::native_redirection`]);
/// `true` allows that redirection. Smart cards, audio and the display are not policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NativeRedirection {
    /// Local drives (`drivestoredirect`, the RDPDR file system).
    pub drives: bool,
    /// Printers (`redirectprinters`).
    pub printers: bool,
    /// Serial and COM ports (`redirectcomports`).
    pub com_ports: bool,
    /// Plug and Play devices (`devicestoredirect`).
    pub pnp_devices: bool,
    /// Text clipboard (`redirectclipboard`), from `clipboard_enabled`.
    pub clipboard: bool,
}

/// A pool's session timeouts; `None` is off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolTimeouts {
    pub idle: Option<Duration>,
    pub disconnected: Option<Duration>,
    pub max_session: Option<Duration>,
    /// The warning's lead before an idle disconnect or a maximum-length logoff (capped at
    /// the timeout itself: a warning at the start of a short timeout).
    pub warning: Duration,
}

impl PoolTimeouts {
    /// How long after the last input (or the start) the warning for `timeout` comes.
    pub fn warn_after(&self, timeout: Duration) -> Duration {
        timeout.saturating_sub(self.warning)
    }
}

fn check_timeouts(
    v: &mut ValidationErrors,
    fields: [(&str, Option<u32>); 3],
    warning: Option<u32>,
) {
    for (field, value) in fields {
        if value.is_some_and(|s| s > MAX_TIMEOUT_SECS) {
            v.push(
                field,
                format!("must be at most {MAX_TIMEOUT_SECS} seconds (30 days); 0 switches it off"),
            );
        }
    }
    if warning.is_some_and(|s| s > MAX_TIMEOUT_WARNING_SECS) {
        v.push(
            "timeout_warning_secs",
            format!("must be at most {MAX_TIMEOUT_WARNING_SECS} seconds (a day)"),
        );
    }
}

fn check_clipboard_max(v: &mut ValidationErrors, max: u64) {
    if max > MAX_CLIPBOARD_MAX_BYTES {
        v.push(
            "clipboard_max_bytes",
            format!("must be at most {MAX_CLIPBOARD_MAX_BYTES} (16 MiB)"),
        );
    }
}

/// A pool's host certificate policy, ready for the gateway's TLS client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostCertCheck<'a> {
    /// Chain to `ca_pem`, or to the system roots when `None`, and match the host name.
    Verify { ca_pem: Option<&'a str> },
    /// Accept exactly the certificates with these SHA-256 fingerprints (of the DER).
    Pin(Vec<[u8; 32]>),
    /// Accept any certificate; log a warning.
    Ignore,
}

/// Normalises a fingerprint: lower case, without `:` separators or spaces.
pub fn normalize_pin(pin: &str) -> String {
    pin.chars()
        .filter(|c| *c != ':' && !c.is_whitespace())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The 32 bytes of a normalised fingerprint.
pub fn pin_bytes(pin: &str) -> Option<[u8; 32]> {
    let pin = normalize_pin(pin);
    if pin.len() != 64 || !pin.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(pin.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Checks the policy with its CA and pins as a whole.
fn check_cert_policy(
    v: &mut ValidationErrors,
    policy: HostCertPolicy,
    ca_pem: Option<&str>,
    pins: &[String],
) {
    if let Some(pem) = ca_pem {
        if policy != HostCertPolicy::Verify {
            v.push(
                "host_ca_pem",
                "is only allowed with host_cert_policy verify",
            );
        } else if pem.len() > MAX_CA_PEM_BYTES {
            v.push(
                "host_ca_pem",
                format!("must be at most {MAX_CA_PEM_BYTES} bytes"),
            );
        } else {
            let certs: Result<Vec<_>, _> = rustls_pemfile::certs(&mut pem.as_bytes()).collect();
            match certs {
                Ok(c) if !c.is_empty() => {}
                _ => v.push(
                    "host_ca_pem",
                    "must hold one or more PEM certificates (BEGIN CERTIFICATE)",
                ),
            }
        }
    }
    match policy {
        HostCertPolicy::Pin if pins.is_empty() => v.push(
            "host_cert_pins",
            "must list at least one SHA-256 fingerprint with host_cert_policy pin",
        ),
        HostCertPolicy::Pin => {
            if pins.len() > MAX_PINS {
                v.push("host_cert_pins", format!("must list at most {MAX_PINS}"));
            }
            for (i, p) in pins.iter().enumerate() {
                if pin_bytes(p).is_none() {
                    v.push(
                        &format!("host_cert_pins[{i}]"),
                        "must be a SHA-256 fingerprint: 64 hex digits, optionally colon-separated",
                    );
                }
            }
        }
        _ if !pins.is_empty() => v.push(
            "host_cert_pins",
            "is only allowed with host_cert_policy pin",
        ),
        _ => {}
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHostPool {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "default_strategy")]
    pub strategy: PoolStrategy,
    #[serde(default)]
    pub dedicated_tenant_id: Option<Uuid>,
    #[serde(default = "default_cert_policy")]
    pub host_cert_policy: HostCertPolicy,
    #[serde(default)]
    pub host_ca_pem: Option<String>,
    #[serde(default)]
    pub host_cert_pins: Vec<String>,
    #[serde(default = "default_true")]
    pub clipboard_enabled: bool,
    #[serde(default = "default_clipboard_max_bytes")]
    pub clipboard_max_bytes: u64,
    /// Native clients may redirect local drives (default `false`).
    #[serde(default)]
    pub drives_enabled: bool,
    /// Native clients may redirect printers (default `true`).
    #[serde(default = "default_true")]
    pub printers_enabled: bool,
    /// Native clients may redirect serial/COM ports (default `false`).
    #[serde(default)]
    pub com_ports_enabled: bool,
    /// Native clients may redirect Plug and Play devices (default `false`).
    #[serde(default)]
    pub pnp_devices_enabled: bool,
    /// Program apps open as RemoteApp windows in native clients (default `true`; `false`:
    /// the host's desktop, for hosts without RemoteApp support).
    #[serde(default = "default_true")]
    pub native_remote_apps: bool,
    /// The driver of the printer redirected into browser sessions (default `pdf`).
    #[serde(default = "default_print_driver")]
    pub print_driver: PrintDriver,
    #[serde(default = "default_idle_timeout")]
    pub idle_timeout_secs: u32,
    #[serde(default = "default_disconnect_timeout")]
    pub disconnect_timeout_secs: u32,
    #[serde(default = "default_max_session")]
    pub max_session_secs: u32,
    #[serde(default = "default_timeout_warning")]
    pub timeout_warning_secs: u32,
}

fn default_true() -> bool {
    true
}

fn default_print_driver() -> PrintDriver {
    PrintDriver::Pdf
}

fn default_idle_timeout() -> u32 {
    DEFAULT_IDLE_TIMEOUT_SECS
}

fn default_disconnect_timeout() -> u32 {
    DEFAULT_DISCONNECT_TIMEOUT_SECS
}

fn default_max_session() -> u32 {
    DEFAULT_MAX_SESSION_SECS
}

fn default_timeout_warning() -> u32 {
    DEFAULT_TIMEOUT_WARNING_SECS
}

fn default_clipboard_max_bytes() -> u64 {
    DEFAULT_CLIPBOARD_MAX_BYTES
}

fn default_cert_policy() -> HostCertPolicy {
    HostCertPolicy::Verify
}

fn default_strategy() -> PoolStrategy {
    PoolStrategy::BreadthFirst
}

impl NewHostPool {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut v = ValidationErrors::default();
        v.text("name", &self.name, 200);
        v.long_text("description", &self.description, 2000);
        check_cert_policy(
            &mut v,
            self.host_cert_policy,
            self.host_ca_pem.as_deref(),
            &self.host_cert_pins,
        );
        check_clipboard_max(&mut v, self.clipboard_max_bytes);
        check_timeouts(
            &mut v,
            [
                ("idle_timeout_secs", Some(self.idle_timeout_secs)),
                (
                    "disconnect_timeout_secs",
                    Some(self.disconnect_timeout_secs),
                ),
                ("max_session_secs", Some(self.max_session_secs)),
            ],
            Some(self.timeout_warning_secs),
        );
        v.finish()
    }

    /// Fingerprints in their stored form.
    pub fn normalize(&mut self) {
        for p in &mut self.host_cert_pins {
            *p = normalize_pin(p);
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HostPoolPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub strategy: Option<PoolStrategy>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>)]
    pub dedicated_tenant_id: Option<Option<Uuid>>,
    pub host_cert_policy: Option<HostCertPolicy>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub host_ca_pem: Option<Option<String>>,
    pub host_cert_pins: Option<Vec<String>>,
    pub clipboard_enabled: Option<bool>,
    pub clipboard_max_bytes: Option<u64>,
    /// Native clients may redirect local drives.
    pub drives_enabled: Option<bool>,
    /// Native clients may redirect printers.
    pub printers_enabled: Option<bool>,
    /// Native clients may redirect serial/COM ports.
    pub com_ports_enabled: Option<bool>,
    /// Native clients may redirect Plug and Play devices.
    pub pnp_devices_enabled: Option<bool>,
    /// Program apps open as RemoteApp windows in native clients.
    pub native_remote_apps: Option<bool>,
    /// The driver of the printer redirected into browser sessions.
    pub print_driver: Option<PrintDriver>,
    pub idle_timeout_secs: Option<u32>,
    pub disconnect_timeout_secs: Option<u32>,
    pub max_session_secs: Option<u32>,
    pub timeout_warning_secs: Option<u32>,
}

impl HostPoolPatch {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut v = ValidationErrors::default();
        v.opt_text("name", self.name.as_deref(), 200);
        if let Some(d) = &self.description {
            v.long_text("description", d, 2000);
        }
        if let Some(max) = self.clipboard_max_bytes {
            check_clipboard_max(&mut v, max);
        }
        check_timeouts(
            &mut v,
            [
                ("idle_timeout_secs", self.idle_timeout_secs),
                ("disconnect_timeout_secs", self.disconnect_timeout_secs),
                ("max_session_secs", self.max_session_secs),
            ],
            self.timeout_warning_secs,
        );
        v.finish()
    }

    /// Applies the patch and validates the resulting certificate policy as a whole.
    pub fn apply(&self, p: &mut HostPool) -> Result<(), ValidationErrors> {
        if let Some(x) = &self.name {
            p.name.clone_from(x);
        }
        if let Some(x) = &self.description {
            p.description.clone_from(x);
        }
        if let Some(x) = self.strategy {
            p.strategy = x;
        }
        if let Some(x) = self.dedicated_tenant_id {
            p.dedicated_tenant_id = x;
        }
        if let Some(x) = self.host_cert_policy {
            // Leaving a policy drops its settings unless the patch restates them.
            if x != HostCertPolicy::Pin && self.host_cert_pins.is_none() {
                p.host_cert_pins.clear();
            }
            if x != HostCertPolicy::Verify && self.host_ca_pem.is_none() {
                p.host_ca_pem = None;
            }
            p.host_cert_policy = x;
        }
        if let Some(x) = &self.host_ca_pem {
            p.host_ca_pem.clone_from(x);
        }
        if let Some(x) = &self.host_cert_pins {
            p.host_cert_pins = x.iter().map(|s| normalize_pin(s)).collect();
        }
        if let Some(x) = self.clipboard_enabled {
            p.clipboard_enabled = x;
        }
        if let Some(x) = self.clipboard_max_bytes {
            p.clipboard_max_bytes = x;
        }
        if let Some(x) = self.drives_enabled {
            p.drives_enabled = x;
        }
        if let Some(x) = self.printers_enabled {
            p.printers_enabled = x;
        }
        if let Some(x) = self.com_ports_enabled {
            p.com_ports_enabled = x;
        }
        if let Some(x) = self.pnp_devices_enabled {
            p.pnp_devices_enabled = x;
        }
        if let Some(x) = self.native_remote_apps {
            p.native_remote_apps = x;
        }
        if let Some(x) = self.print_driver {
            p.print_driver = x;
        }
        if let Some(x) = self.idle_timeout_secs {
            p.idle_timeout_secs = x;
        }
        if let Some(x) = self.disconnect_timeout_secs {
            p.disconnect_timeout_secs = x;
        }
        if let Some(x) = self.max_session_secs {
            p.max_session_secs = x;
        }
        if let Some(x) = self.timeout_warning_secs {
            p.timeout_warning_secs = x;
        }
        let mut v = ValidationErrors::default();
        check_cert_policy(
            &mut v,
            p.host_cert_policy,
            p.host_ca_pem.as_deref(),
            &p.host_cert_pins,
        );
        check_clipboard_max(&mut v, p.clipboard_max_bytes);
        v.finish()
    }
}
