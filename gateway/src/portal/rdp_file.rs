//! `.rdp` files for native RDP clients (mstsc, the Windows App, FreeRDP): sans-IO. From a
//! native launch (the host the broker placed, the PAA cookie) and the pool's redirection
//! policy, [`RdpFile::build`] lays out the settings that send the client through this
//! gateway as its RD Gateway; [`RdpFile::to_bytes`] writes them as mstsc does (UTF-16LE
//! with a byte-order mark, CRLF lines).
//!
//! Signing follows rdpsign.exe: the signable settings (those with a scope name in
//! [`SETTINGS`]) plus a `signscope` line listing their scope names are the signed text,
//! UTF-16LE with a terminating NUL character; the `signature` value is base64 of a 12-byte
//! header (two little-endian words 0x00010001 and 1, then the length of what follows) and
//! a DER PKCS#7 detached SignedData over that text, without signed attributes
//! ([`super::rdp_sign`] makes it). Signable settings are written in the order of
//! [`SETTINGS`], so the file's order, the scope's order and the signed text agree.
//! `alternate full address` repeats `full address`: a signed file must pin both, or a
//! client could be pointed elsewhere by an added unsigned line.

use hamn_broker::model::NativeRedirection;

/// The media type of `.rdp` files.
pub const CONTENT_TYPE: &str = "application/x-rdp";

/// Every setting an `.rdp` file from Hamn may carry, in file order, with the scope name
/// rdpsign.exe uses for it when it is signable (`None`: never signed).
const SETTINGS: &[(&str, Option<&str>)] = &[
    ("full address", Some("Full Address")),
    ("alternate full address", Some("Alternate Full Address")),
    ("autoreconnection enabled", Some("AutoReconnection Enabled")),
    ("gatewayhostname", Some("GatewayHostname")),
    ("gatewayusagemethod", Some("GatewayUsageMethod")),
    (
        "gatewayprofileusagemethod",
        Some("GatewayProfileUsageMethod"),
    ),
    ("gatewaycredentialssource", Some("GatewayCredentialsSource")),
    ("remoteapplicationprogram", Some("RemoteApplicationProgram")),
    ("remoteapplicationmode", Some("RemoteApplicationMode")),
    ("remoteapplicationname", Some("RemoteApplicationName")),
    ("remoteapplicationcmdline", Some("RemoteApplicationCmdLine")),
    ("prompt for credentials", Some("Prompt For Credentials")),
    ("authentication level", Some("Authentication Level")),
    ("audiomode", Some("AudioMode")),
    ("redirectdrives", Some("RedirectDrives")),
    ("redirectprinters", Some("RedirectPrinters")),
    ("redirectcomports", Some("RedirectCOMPorts")),
    ("redirectclipboard", Some("RedirectClipboard")),
    ("devicestoredirect", Some("DevicesToRedirect")),
    ("drivestoredirect", Some("DrivesToRedirect")),
    // Per launch, so never signed (rdpsign.exe has no scope for it either).
    ("gatewayaccesstoken", None),
    ("screen mode id", None),
    ("use multimon", None),
    ("smart sizing", None),
    ("dynamic resolution", None),
    ("session bpp", None),
];

/// What an `.rdp` file is made from.
#[derive(Debug, Clone, Copy)]
pub struct RdpFileInput<'a> {
    /// The host as the broker has it (`hosts.address`); the RD Gateway's channel check
    /// compares the client's request with exactly this and [`Self::host_port`].
    pub host_address: &'a str,
    pub host_port: u16,
    /// This gateway as native clients reach it: `host[:port]` of `gateway.public_url`.
    pub gateway: &'a str,
    /// The launch's reference (the PAA cookie).
    pub access_token: &'a str,
    /// The program for a RemoteApp; `None`: a full desktop.
    pub remote_app: Option<RemoteApp<'a>>,
    /// The pool's policy; the file asks for nothing more.
    pub redirection: NativeRedirection,
}

/// A RemoteApp: the program (or `||alias`), the name the client shows, its arguments.
#[derive(Debug, Clone, Copy)]
pub struct RemoteApp<'a> {
    pub program: &'a str,
    pub name: &'a str,
    pub args: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RdpFileError {
    /// A value would break out of its line (CR, LF or another control character): refused
    /// rather than stripped, since a changed program name or address is no longer the
    /// published app.
    #[error("the value of `{0}` holds a control character")]
    ControlCharacter(&'static str),
    #[error("the value of `{0}` is empty")]
    Empty(&'static str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Int(u32),
    Text(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Setting {
    name: &'static str,
    scope: Option<&'static str>,
    value: Value,
}

impl Setting {
    fn line(&self) -> String {
        match &self.value {
            Value::Int(i) => format!("{}:i:{i}", self.name),
            Value::Text(s) => format!("{}:s:{s}", self.name),
        }
    }
}

/// The settings of one `.rdp` file, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdpFile {
    settings: Vec<Setting>,
    /// `signscope` and `signature`, once signed.
    signature: Option<(String, String)>,
}

/// `full address` for a host: IPv6 literals in brackets, so the port stays separable.
pub fn full_address(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// `gatewayhostname` from the gateway's public URL: its `host[:port]`, without scheme,
/// user information, path or a default port 443.
pub fn gateway_host(public_url: &str) -> String {
    let rest = public_url
        .split_once("://")
        .map_or(public_url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    authority
        .strip_suffix(":443")
        .unwrap_or(authority)
        .to_owned()
}

fn text(name: &'static str, value: &str) -> Result<(&'static str, Value), RdpFileError> {
    if value.chars().any(char::is_control) {
        return Err(RdpFileError::ControlCharacter(name));
    }
    Ok((name, Value::Text(value.to_owned())))
}

impl RdpFile {
    /// Lays out the file for `input`; refuses values that are empty where the client needs
    /// one, or that hold control characters.
    pub fn build(input: &RdpFileInput<'_>) -> Result<Self, RdpFileError> {
        for (name, value) in [
            ("full address", input.host_address),
            ("gatewayhostname", input.gateway),
            ("gatewayaccesstoken", input.access_token),
        ] {
            if value.trim().is_empty() {
                return Err(RdpFileError::Empty(name));
            }
        }
        let address = full_address(input.host_address, input.host_port);
        let on = |b: bool| Value::Int(u32::from(b));
        let r = input.redirection;
        let mut values = vec![
            text("full address", &address)?,
            text("alternate full address", &address)?,
            ("autoreconnection enabled", Value::Int(1)),
            text("gatewayhostname", input.gateway)?,
            // Always through the gateway, never direct; settings from this file, not the
            // user's profile; the gateway authenticates the PAA cookie (5), so the client
            // asks for no gateway password.
            ("gatewayusagemethod", Value::Int(1)),
            ("gatewayprofileusagemethod", Value::Int(1)),
            ("gatewaycredentialssource", Value::Int(5)),
        ];
        if let Some(app) = input.remote_app {
            if app.program.trim().is_empty() {
                return Err(RdpFileError::Empty("remoteapplicationprogram"));
            }
            values.push(text("remoteapplicationprogram", app.program)?);
            values.push(("remoteapplicationmode", Value::Int(1)));
            values.push(text("remoteapplicationname", app.name)?);
            if let Some(args) = app.args.filter(|a| !a.is_empty()) {
                values.push(text("remoteapplicationcmdline", args)?);
            }
        }
        values.extend([
            ("prompt for credentials", Value::Int(0)),
            // Warn, but let the user go on, when the host's certificate does not verify:
            // pools may run hosts with self-signed certificates.
            ("authentication level", Value::Int(2)),
            // Sound plays on the user's computer.
            ("audiomode", Value::Int(0)),
            ("redirectdrives", on(r.drives)),
            ("redirectprinters", on(r.printers)),
            ("redirectcomports", on(r.com_ports)),
            ("redirectclipboard", on(r.clipboard)),
        ]);
        // Lists are written only when on: an empty list means different things to
        // different clients, the switches above say "off" to all of them.
        if r.pnp_devices {
            values.push(text("devicestoredirect", "*")?);
        }
        if r.drives {
            values.push(text("drivestoredirect", "*")?);
        }
        values.extend([
            text("gatewayaccesstoken", input.access_token)?,
            // Full screen on one monitor, scaled when the window is smaller, resized with
            // the window where the host supports it.
            ("screen mode id", Value::Int(2)),
            ("use multimon", Value::Int(0)),
            ("smart sizing", Value::Int(1)),
            ("dynamic resolution", Value::Int(1)),
            ("session bpp", Value::Int(32)),
        ]);
        let mut settings: Vec<Setting> = values
            .into_iter()
            .map(|(name, value)| Setting {
                name,
                scope: SETTINGS
                    .iter()
                    .find(|(n, _)| *n == name)
                    .and_then(|(_, scope)| *scope),
                value,
            })
            .collect();
        settings.sort_by_key(|s| SETTINGS.iter().position(|(n, _)| *n == s.name));
        Ok(Self {
            settings,
            signature: None,
        })
    }

    /// The value of `signscope`: the scope names of the signable settings, in file order.
    pub fn sign_scope(&self) -> String {
        self.settings
            .iter()
            .filter_map(|s| s.scope)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// What a signature covers: each signable line and the `signscope` line, each ending
    /// in CRLF, then a NUL character, all UTF-16LE.
    pub fn signed_content(&self) -> Vec<u8> {
        let mut text = String::new();
        for s in self.settings.iter().filter(|s| s.scope.is_some()) {
            text.push_str(&s.line());
            text.push_str("\r\n");
        }
        text.push_str(&format!("signscope:s:{}\r\n\0", self.sign_scope()));
        utf16le(&text)
    }

    /// Adds `signscope` and `signature` from `pkcs7_der`, a detached SignedData over
    /// [`Self::signed_content`].
    pub fn attach_signature(&mut self, pkcs7_der: &[u8]) {
        use base64::Engine;
        let len = u32::try_from(pkcs7_der.len()).unwrap_or(u32::MAX);
        let mut blob = Vec::with_capacity(12 + pkcs7_der.len());
        blob.extend_from_slice(&0x0001_0001u32.to_le_bytes());
        blob.extend_from_slice(&1u32.to_le_bytes());
        blob.extend_from_slice(&len.to_le_bytes());
        blob.extend_from_slice(pkcs7_der);
        let encoded = base64::engine::general_purpose::STANDARD.encode(blob);
        // rdpsign.exe puts two spaces after every 64 characters; base64 readers skip them.
        let mut value = String::with_capacity(encoded.len() + encoded.len() / 32);
        for (i, c) in encoded.chars().enumerate() {
            if i > 0 && i % 64 == 0 {
                value.push_str("  ");
            }
            value.push(c);
        }
        self.signature = Some((self.sign_scope(), value));
    }

    /// The file's text, CRLF lines.
    pub fn text(&self) -> String {
        let mut text = String::new();
        for s in &self.settings {
            text.push_str(&s.line());
            text.push_str("\r\n");
        }
        if let Some((scope, signature)) = &self.signature {
            text.push_str(&format!(
                "signscope:s:{scope}\r\nsignature:s:{signature}\r\n"
            ));
        }
        text
    }

    /// The file as mstsc writes one: UTF-16LE with a byte-order mark.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![0xff, 0xfe];
        out.extend(utf16le(&self.text()));
        out
    }
}

fn utf16le(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// `Content-Disposition` for a file named after the app: an ASCII `filename` for old
/// clients and the exact name as RFC 5987 `filename*`.
pub fn content_disposition(app_name: &str) -> String {
    let ascii: String = app_name
        .chars()
        .map(|c| match c {
            'å' | 'ä' => 'a',
            'Å' | 'Ä' => 'A',
            'ö' => 'o',
            'Ö' => 'O',
            c if c.is_ascii_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.') => c,
            _ => '_',
        })
        .collect();
    let ascii = ascii.trim_matches([' ', '.']);
    let ascii = if ascii.is_empty() { "app" } else { ascii };
    let mut exact = String::new();
    for b in format!("{app_name}.rdp").bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            exact.push(char::from(b));
        } else {
            exact.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}.rdp\"; filename*=UTF-8''{exact}")
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;

    fn policy() -> NativeRedirection {
        NativeRedirection {
            drives: false,
            printers: true,
            com_ports: false,
            pnp_devices: false,
            clipboard: true,
        }
    }

    fn procapita() -> RdpFileInput<'static> {
        RdpFileInput {
            host_address: "10.0.4.17",
            host_port: 3389,
            gateway: "hamn.example.se",
            access_token: "AAAAAAAAAAAAAAAAAAAAAAAA",
            remote_app: Some(RemoteApp {
                program: "||procapita",
                name: "Procapita",
                args: Some("/utb"),
            }),
            redirection: policy(),
        }
    }

    #[test]
    fn a_remote_app_file() {
        let file = RdpFile::build(&procapita()).unwrap();
        expect![[r#"
            full address:s:10.0.4.17:3389
            alternate full address:s:10.0.4.17:3389
            autoreconnection enabled:i:1
            gatewayhostname:s:hamn.example.se
            gatewayusagemethod:i:1
            gatewayprofileusagemethod:i:1
            gatewaycredentialssource:i:5
            remoteapplicationprogram:s:||procapita
            remoteapplicationmode:i:1
            remoteapplicationname:s:Procapita
            remoteapplicationcmdline:s:/utb
            prompt for credentials:i:0
            authentication level:i:2
            audiomode:i:0
            redirectdrives:i:0
            redirectprinters:i:1
            redirectcomports:i:0
            redirectclipboard:i:1
            gatewayaccesstoken:s:AAAAAAAAAAAAAAAAAAAAAAAA
            screen mode id:i:2
            use multimon:i:0
            smart sizing:i:1
            dynamic resolution:i:1
            session bpp:i:32
        "#]]
        .assert_eq(&file.text().replace("\r\n", "\n"));
        assert!(file.text().ends_with("\r\n") && !file.text().replace("\r\n", "").contains('\n'));
    }

    #[test]
    fn a_desktop_with_everything_allowed() {
        let file = RdpFile::build(&RdpFileInput {
            host_address: "::1",
            host_port: 3390,
            gateway: "localhost:8443",
            remote_app: None,
            redirection: NativeRedirection {
                drives: true,
                printers: true,
                com_ports: true,
                pnp_devices: true,
                clipboard: true,
            },
            ..procapita()
        })
        .unwrap();
        expect![[r#"
            full address:s:[::1]:3390
            alternate full address:s:[::1]:3390
            autoreconnection enabled:i:1
            gatewayhostname:s:localhost:8443
            gatewayusagemethod:i:1
            gatewayprofileusagemethod:i:1
            gatewaycredentialssource:i:5
            prompt for credentials:i:0
            authentication level:i:2
            audiomode:i:0
            redirectdrives:i:1
            redirectprinters:i:1
            redirectcomports:i:1
            redirectclipboard:i:1
            devicestoredirect:s:*
            drivestoredirect:s:*
            gatewayaccesstoken:s:AAAAAAAAAAAAAAAAAAAAAAAA
            screen mode id:i:2
            use multimon:i:0
            smart sizing:i:1
            dynamic resolution:i:1
            session bpp:i:32
        "#]]
        .assert_eq(&file.text().replace("\r\n", "\n"));
    }

    #[test]
    fn bytes_are_utf16le_with_a_bom() {
        let file = RdpFile::build(&RdpFileInput {
            remote_app: Some(RemoteApp {
                program: "||procapita",
                name: "Åtgärd",
                args: None,
            }),
            ..procapita()
        })
        .unwrap();
        let bytes = file.to_bytes();
        assert_eq!(&bytes[..4], &[0xff, 0xfe, b'f', 0]);
        let units: Vec<u16> = bytes[2..]
            .chunks(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        let text = String::from_utf16(&units).unwrap();
        assert_eq!(text, file.text());
        assert!(text.contains("remoteapplicationname:s:Åtgärd\r\n"));
        assert!(
            !text.contains("remoteapplicationcmdline"),
            "no empty cmdline"
        );
    }

    #[test]
    fn values_cannot_add_lines() {
        for (input, field) in [
            (
                RdpFileInput {
                    remote_app: Some(RemoteApp {
                        program: "||procapita",
                        name: "Procapita",
                        args: Some("/utb\r\nfull address:s:evil.example:3389"),
                    }),
                    ..procapita()
                },
                "remoteapplicationcmdline",
            ),
            (
                RdpFileInput {
                    host_address: "10.0.4.17\n",
                    ..procapita()
                },
                "full address",
            ),
            (
                RdpFileInput {
                    remote_app: Some(RemoteApp {
                        program: "||procapita\r",
                        name: "Procapita",
                        args: None,
                    }),
                    ..procapita()
                },
                "remoteapplicationprogram",
            ),
            (
                RdpFileInput {
                    gateway: "hamn.example.se\u{0}",
                    ..procapita()
                },
                "gatewayhostname",
            ),
        ] {
            assert_eq!(
                RdpFile::build(&input),
                Err(RdpFileError::ControlCharacter(field))
            );
        }
        assert_eq!(
            RdpFile::build(&RdpFileInput {
                access_token: "",
                ..procapita()
            }),
            Err(RdpFileError::Empty("gatewayaccesstoken"))
        );
    }

    #[test]
    fn signed_content_and_signature_layout() {
        let mut file = RdpFile::build(&procapita()).unwrap();
        assert_eq!(
            file.sign_scope(),
            "Full Address,Alternate Full Address,AutoReconnection Enabled,GatewayHostname,\
             GatewayUsageMethod,GatewayProfileUsageMethod,GatewayCredentialsSource,\
             RemoteApplicationProgram,RemoteApplicationMode,RemoteApplicationName,\
             RemoteApplicationCmdLine,Prompt For Credentials,Authentication Level,AudioMode,\
             RedirectDrives,RedirectPrinters,RedirectCOMPorts,RedirectClipboard"
        );
        let content = file.signed_content();
        let units: Vec<u16> = content
            .chunks(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        let text = String::from_utf16(&units).unwrap();
        assert!(text.starts_with("full address:s:10.0.4.17:3389\r\nalternate full address"));
        assert!(text.ends_with(&format!("signscope:s:{}\r\n\0", file.sign_scope())));
        assert!(
            !text.contains("gatewayaccesstoken"),
            "the token is not signed"
        );

        let der = vec![0x30u8; 100];
        file.attach_signature(&der);
        let text = file.text();
        let value = text
            .lines()
            .find_map(|l| l.strip_prefix("signature:s:"))
            .unwrap();
        assert_eq!(value.split("  ").next().map(str::len), Some(64));
        use base64::Engine;
        let blob = base64::engine::general_purpose::STANDARD
            .decode(value.replace(' ', ""))
            .unwrap();
        assert_eq!(&blob[..12], &[1, 0, 1, 0, 1, 0, 0, 0, 100, 0, 0, 0]);
        assert_eq!(&blob[12..], &der[..]);
        let scope_at = text.find("signscope:s:").unwrap();
        assert!(text[scope_at..].starts_with(&format!("signscope:s:{}\r\n", file.sign_scope())));
    }

    #[test]
    fn gateway_host_and_file_names() {
        assert_eq!(gateway_host("https://localhost:8443"), "localhost:8443");
        assert_eq!(gateway_host("https://hamn.example.se/"), "hamn.example.se");
        assert_eq!(
            gateway_host("https://hamn.example.se:443/x"),
            "hamn.example.se"
        );
        assert_eq!(gateway_host("https://u@[::1]:8443"), "[::1]:8443");
        assert_eq!(
            content_disposition("Procapita UTB"),
            "attachment; filename=\"Procapita UTB.rdp\"; filename*=UTF-8''Procapita%20UTB.rdp"
        );
        assert_eq!(
            content_disposition("Åtgärd \"x\"/..\\"),
            "attachment; filename=\"Atgard _x__.._.rdp\"; \
             filename*=UTF-8''%C3%85tg%C3%A4rd%20%22x%22%2F..%5C.rdp"
        );
    }
}
