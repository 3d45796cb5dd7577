//! Typed errors of the RDP client leg, and the classification of IronRDP's connector and
//! session errors into them (so callers can tell the user *why*: unreachable, certificate,
//! credentials, protocol, timeout).

use std::time::Duration;

use ironrdp_connector::sspi;
use ironrdp_connector::{ConnectorError, ConnectorErrorKind};

/// The phase of the connection sequence an error happened in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Tcp,
    Negotiation,
    Tls,
    Nla,
    Activation,
    Logon,
    Session,
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Phase::Tcp => "TCP connect",
            Phase::Negotiation => "security negotiation",
            Phase::Tls => "TLS handshake",
            Phase::Nla => "NLA (CredSSP)",
            Phase::Activation => "connection activation",
            Phase::Logon => "logon",
            Phase::Session => "session",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RdpError {
    #[error("invalid connection parameters: {0}")]
    InvalidParams(String),
    #[error("cannot reach the host {addr}: {source}")]
    HostUnreachable {
        addr: String,
        source: std::io::Error,
    },
    #[error("the host's TLS certificate was refused: {0}")]
    CertificateRejected(String),
    #[error("TLS handshake with the host failed: {0}")]
    Tls(String),
    #[error("the host refused the credentials: {0}")]
    AuthenticationFailed(String),
    #[error("the host did not confirm the logon within {0:?} (wrong credentials?)")]
    LogonNotConfirmed(Duration),
    #[error("security protocol negotiation failed: {0}")]
    SecurityNegotiation(String),
    #[error("RDP protocol error during {phase}: {detail}")]
    Protocol { phase: Phase, detail: String },
    #[error("timed out after {after:?} during {phase}")]
    Timeout { phase: Phase, after: Duration },
    #[error("connection to the host lost during {phase}: {source}")]
    ConnectionLost {
        phase: Phase,
        source: std::io::Error,
    },
    #[error("the host ended the session: {0}")]
    HostDisconnected(String),
    #[error("the host redirected the connection, which the gateway does not follow")]
    Redirected,
    #[error("the session task panicked: {0}")]
    Panicked(String),
}

impl RdpError {
    /// Classifies an IronRDP connector error raised in `phase`.
    pub(crate) fn from_connector(phase: Phase, error: ConnectorError) -> Self {
        match error.kind() {
            ConnectorErrorKind::Credssp(e) => {
                if is_credential_rejection(e) {
                    RdpError::AuthenticationFailed(format!("{:?}: {}", e.error_type, e.description))
                } else {
                    RdpError::Protocol {
                        phase,
                        detail: format!("CredSSP: {:?}: {}", e.error_type, e.description),
                    }
                }
            }
            ConnectorErrorKind::AccessDenied => {
                RdpError::AuthenticationFailed("access denied".to_owned())
            }
            ConnectorErrorKind::Negotiation(failure) => {
                RdpError::SecurityNegotiation(failure.to_string())
            }
            _ => match find_io_error(&error) {
                Some(io) => Self::from_io(phase, io),
                None => RdpError::Protocol {
                    phase,
                    detail: error_chain(&error),
                },
            },
        }
    }

    /// Classifies an I/O failure in `phase`. A host that hangs up during NLA has refused the
    /// credentials (that is how CredSSP servers say no).
    pub(crate) fn from_io(phase: Phase, source: &std::io::Error) -> Self {
        let source = std::io::Error::new(source.kind(), source.to_string());
        if phase == Phase::Nla && is_hangup(&source) {
            return RdpError::AuthenticationFailed(format!(
                "the host closed the connection during NLA: {source}"
            ));
        }
        RdpError::ConnectionLost { phase, source }
    }

    /// Whether the error was about the credentials (for the user-facing message and audit).
    pub fn is_authentication(&self) -> bool {
        matches!(
            self,
            RdpError::AuthenticationFailed(_) | RdpError::LogonNotConfirmed(_)
        )
    }
}

fn is_hangup(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        UnexpectedEof | ConnectionReset | ConnectionAborted | BrokenPipe
    )
}

fn is_credential_rejection(e: &sspi::Error) -> bool {
    use sspi::ErrorKind::*;
    e.nstatus.is_some()
        || matches!(
            e.error_type,
            LogonDenied
                | UnknownCredentials
                | NoCredentials
                | IncompleteCredentials
                | WrongCredentialHandle
        )
}

/// Walks the source chain for an `io::Error` (IronRDP wraps transport errors as custom errors).
fn find_io_error<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a std::io::Error> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        current = e.source();
    }
    None
}

/// "context: cause: cause" for logs and protocol errors.
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut current = error.source();
    while let Some(e) = current {
        let next = e.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        current = e.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use ironrdp_connector::ConnectorErrorExt as _;

    #[test]
    fn io_errors_inside_connector_errors_are_connection_losses() {
        let io = std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "not enough bytes");
        let e = ConnectorError::custom("read frame by hint", io);
        assert!(matches!(
            RdpError::from_connector(Phase::Activation, e),
            RdpError::ConnectionLost {
                phase: Phase::Activation,
                ..
            }
        ));
    }

    #[test]
    fn a_hangup_during_nla_is_a_credential_refusal() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        let e = ConnectorError::custom("read frame by hint", io);
        assert!(RdpError::from_connector(Phase::Nla, e).is_authentication());
    }

    #[test]
    fn credssp_logon_denied_is_authentication_failed() {
        let e = ConnectorError::new(
            "CredSSP",
            ConnectorErrorKind::Credssp(sspi::Error::new(
                sspi::ErrorKind::LogonDenied,
                "bad password",
            )),
        );
        assert!(matches!(
            RdpError::from_connector(Phase::Nla, e),
            RdpError::AuthenticationFailed(_)
        ));
        let e = ConnectorError::general("something odd");
        assert!(matches!(
            RdpError::from_connector(Phase::Activation, e),
            RdpError::Protocol { .. }
        ));
    }
}
