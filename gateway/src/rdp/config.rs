//! What a caller says about one RDP connection ([`RdpParams`]) and how it becomes IronRDP's
//! connector configuration. Pure data and a pure function: no I/O here.

use std::fmt;
use std::time::Duration;

use ironrdp_connector::{BitmapConfig, Credentials as ConnectorCredentials, DesktopSize};
use ironrdp_pdu::gcc::{ConnectionType, KeyboardType};
use ironrdp_pdu::rdp::capability_sets::{
    MajorPlatformType, RailSupportLevel, client_codecs_capabilities,
};
use ironrdp_pdu::rdp::client_info::{PerformanceFlags, TimezoneInfo};

use super::clipboard::ClipboardPolicy;
use super::error::RdpError;

/// Keyboard layout (KLID) sent to the host: Swedish.
pub const KEYBOARD_LAYOUT_SWEDISH: u32 = 0x0000_041D;

/// The smallest and largest desktop the gateway asks for (the display-control limits).
pub const MIN_DESKTOP: u16 = 200;
pub const MAX_DESKTOP: u16 = 8192;

/// Windows credentials for the host. `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct HostCredentials {
    pub username: String,
    pub domain: Option<String>,
    pub password: String,
}

impl fmt::Debug for HostCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostCredentials")
            .field("username", &self.username)
            .field("domain", &self.domain)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// How the host's TLS certificate is judged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CertPolicy {
    /// Chain to `ca_pem` (PEM, one or more CA certificates), or to the system roots when
    /// `None`, and match the host name.
    Verify { ca_pem: Option<String> },
    /// Accept exactly these end-entity certificates, by the SHA-256 of their DER encoding
    /// (32 bytes each). Chain and name are not checked; the handshake signature is.
    Pin { sha256: Vec<[u8; 32]> },
    /// Accept any certificate (lab pools only); every connection logs a warning.
    Ignore,
}

/// Which security protocols the gateway offers the host in the X.224 negotiation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecurityMode {
    /// Offer TLS and NLA (CredSSP); the host picks.
    Negotiate,
    /// TLS only: the credentials travel in the Client Info PDU.
    TlsOnly,
    /// NLA (CredSSP over TLS) only.
    NlaOnly,
}

/// How the logon phase after activation decides the host accepted the user. A host that
/// refuses says so (Set Error Info, logon errors, a hang-up) and fails the connection in every
/// mode; the modes differ in what counts as success.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogonCheck {
    /// The first picture (the demo host; hosts that refuse before drawing anything).
    FirstPicture,
    /// A Save Session Info PDU reporting a completed logon within the duration (Windows),
    /// else [`RdpError::LogonNotConfirmed`].
    SaveSessionInfo(Duration),
    /// The whole desktop painted within the duration (Save Session Info also confirms). For
    /// xrdp with Xorg, which sends no Save Session Info: on the right password the X session
    /// paints the whole desktop; on a wrong one xrdp keeps the connection and only paints its
    /// "Connection Log" window ("login failed …") instead of refusing.
    FullDesktopPainted(Duration),
}

/// Everything [`super::connect`] needs for one connection.
#[derive(Clone, Debug)]
pub struct RdpParams {
    /// Host name or IP address; also the TLS server name for [`CertPolicy::Verify`].
    pub host: String,
    pub port: u16,
    pub credentials: HostCredentials,
    pub cert_policy: CertPolicy,
    pub security: SecurityMode,
    pub width: u16,
    pub height: u16,
    /// Keyboard layout identifier, [`KEYBOARD_LAYOUT_SWEDISH`] by default.
    pub keyboard_layout: u32,
    /// Client name shown to the host (truncated by the host to 15 characters).
    pub client_name: String,
    /// Whole connection sequence: TCP, TLS, NLA, licensing and capability exchange.
    pub connect_timeout: Duration,
    /// How the gateway decides, after activation, that the host accepted the user.
    pub logon_check: LogonCheck,
    /// Offer RemoteFX (lossy on the host→gateway leg). Off by default: the gateway re-encodes
    /// anyway and lossless bitmaps keep text exact.
    pub remotefx: bool,
    /// Text clipboard both ways within the policy's limit; `None` (the pool has it off):
    /// the clipboard channel is not even offered to the host.
    pub clipboard: Option<ClipboardPolicy>,
    /// The redirected printer (RDPDR, with rdpsnd beside it as Windows wants); `None` (the
    /// pool has printers off, or no print service): neither channel is offered.
    pub printer: Option<super::printer::PrinterParams>,
}

impl RdpParams {
    /// Parameters with the defaults: Swedish keyboard, 1280×800, negotiate TLS/NLA,
    /// 15 s connect timeout, logon accepted at the first picture, no RemoteFX, no clipboard
    /// (the caller sets the pool's policy).
    pub fn new(
        host: impl Into<String>,
        port: u16,
        credentials: HostCredentials,
        cert_policy: CertPolicy,
    ) -> Self {
        Self {
            host: host.into(),
            port,
            credentials,
            cert_policy,
            security: SecurityMode::Negotiate,
            width: 1280,
            height: 800,
            keyboard_layout: KEYBOARD_LAYOUT_SWEDISH,
            client_name: "hamn".to_owned(),
            connect_timeout: Duration::from_secs(15),
            logon_check: LogonCheck::FirstPicture,
            remotefx: false,
            clipboard: None,
            printer: None,
        }
    }

    /// Checks what the host cannot be trusted to check for us.
    pub fn validate(&self) -> Result<(), RdpError> {
        let bad = |what: &str| Err(RdpError::InvalidParams(what.to_owned()));
        if self.host.is_empty() {
            return bad("host is empty");
        }
        if !(MIN_DESKTOP..=MAX_DESKTOP).contains(&self.width)
            || !(MIN_DESKTOP..=MAX_DESKTOP).contains(&self.height)
        {
            return bad("desktop size must be within 200..=8192 in both directions");
        }
        if self.credentials.username.is_empty() {
            return bad("username is empty");
        }
        if let CertPolicy::Pin { sha256 } = &self.cert_policy
            && sha256.is_empty()
        {
            return bad("certificate pin list is empty");
        }
        Ok(())
    }
}

/// Builds IronRDP's connector configuration from the caller's parameters.
pub fn connector_config(params: &RdpParams) -> Result<ironrdp_connector::Config, RdpError> {
    let codec_names: &[&str] = if params.remotefx {
        &[]
    } else {
        &["remotefx:off"]
    };
    let codecs = client_codecs_capabilities(codec_names)
        .map_err(|e| RdpError::InvalidParams(format!("codecs: {e}")))?;
    let (enable_tls, enable_credssp) = match params.security {
        SecurityMode::Negotiate => (true, true),
        SecurityMode::TlsOnly => (true, false),
        SecurityMode::NlaOnly => (false, true),
    };
    Ok(ironrdp_connector::Config {
        desktop_size: DesktopSize {
            width: params.width,
            height: params.height,
        },
        monitor_layout: None,
        desktop_scale_factor: 0,
        desktop_physical_size: None,
        desktop_orientation: None,
        device_scale_factor: None,
        monitor_extended_layout: None,
        relative_mouse_input: false,
        enable_tls,
        enable_credssp,
        enable_standard_rdp_security: false,
        credentials: ConnectorCredentials::UsernamePassword {
            username: params.credentials.username.clone(),
            password: params.credentials.password.clone(),
        },
        domain: params.credentials.domain.clone(),
        // xrdp 0.9 (Debian 12) resizes only clients whose build is above 419
        // (libxrdp_reset: "older client can't resize"); this is Windows 10 1909's build,
        // the value FreeRDP 2 sends.
        client_build: 18363,
        client_name: params.client_name.clone(),
        keyboard_type: KeyboardType::IBM_ENHANCED,
        keyboard_subtype: 0,
        keyboard_functional_keys_count: 12,
        keyboard_layout: params.keyboard_layout,
        connection_type: ConnectionType::Lan,
        ime_file_name: String::new(),
        bitmap: Some(BitmapConfig {
            lossy_compression: params.remotefx,
            color_depth: 32,
            codecs,
        }),
        dig_product_id: String::new(),
        client_dir: String::new(),
        alternate_shell: String::new(),
        work_dir: String::new(),
        remote_application_mode: false,
        rail_support_level: RailSupportLevel::empty(),
        platform: MajorPlatformType::UNIX,
        hardware_id: None,
        request_data: None,
        autologon: true,
        enable_audio_playback: false,
        enable_audio_capture: false,
        performance_flags: PerformanceFlags::default() | PerformanceFlags::DISABLE_WALLPAPER,
        license_cache: None,
        timezone_info: TimezoneInfo::default(),
        compression_type: None,
        enable_server_pointer: true,
        pointer_software_rendering: false,
        multitransport_flags: None,
        support_dyn_vc_gfx_protocol: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> RdpParams {
        RdpParams::new(
            "host.example",
            3389,
            HostCredentials {
                username: "anna".into(),
                domain: Some("KOMMUN".into()),
                password: "hemligt-lösen".into(),
            },
            CertPolicy::Ignore,
        )
    }

    #[test]
    fn debug_never_shows_the_password() {
        let shown = format!("{:?}", params());
        assert!(!shown.contains("hemligt"), "{shown}");
        assert!(shown.contains("anna"));
    }

    #[test]
    fn defaults_are_swedish_and_lossless() {
        let config = connector_config(&params()).expect("valid");
        assert_eq!(config.keyboard_layout, 0x041D);
        assert!(config.enable_tls && config.enable_credssp);
        let bitmap = config.bitmap.expect("bitmap config");
        assert!(bitmap.codecs.0.is_empty(), "no RemoteFX unless asked");
        assert!(!bitmap.lossy_compression);
        assert!(config.enable_server_pointer && !config.pointer_software_rendering);
    }

    #[test]
    fn security_modes_map_to_protocol_flags() {
        let mut p = params();
        p.security = SecurityMode::TlsOnly;
        let c = connector_config(&p).expect("valid");
        assert!(c.enable_tls && !c.enable_credssp);
        p.security = SecurityMode::NlaOnly;
        p.remotefx = true;
        let c = connector_config(&p).expect("valid");
        assert!(!c.enable_tls && c.enable_credssp);
        assert_eq!(c.bitmap.expect("bitmap").codecs.0.len(), 1);
    }

    #[test]
    fn validation_names_the_problem() {
        let mut p = params();
        p.width = 100;
        assert!(
            matches!(p.validate(), Err(RdpError::InvalidParams(m)) if m.contains("desktop size"))
        );
        let mut p = params();
        p.cert_policy = CertPolicy::Pin { sha256: vec![] };
        assert!(matches!(p.validate(), Err(RdpError::InvalidParams(m)) if m.contains("pin")));
        assert!(params().validate().is_ok());
    }
}
