//! A native launch's checks, shared by both native transports: the reference (PAA cookie
//! or bearer token) is spent once and audited like a browser ticket, the ticket must be for
//! the native path, its host and pool are loaded, the client may reach only that host, and
//! the host's TCP connection has a deadline.

use std::time::Duration;

use hamn_broker::model::{AuditOutcome, Host, HostPool as Pool};
use hamn_broker::ticket::{self, Claims, ConsumeError, LaunchPath, Refusal};
use tokio::net::TcpStream;

use crate::session::SessionService;
use crate::session::live::{host_and_pool, insert_session_event};

/// Why a reference opened nothing.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Denied {
    /// Wrong, expired, reused or not a native reference (audited as `ticket.refused`).
    #[error("{0}")]
    Refused(Refusal),
    /// A genuine reference, but for the browser path (audited as `native.refused`).
    #[error("the ticket is for the browser path, not a native client")]
    WrongPath,
    /// The database could not be asked; the client may try again.
    #[error("the ticket could not be checked: {0}")]
    Unavailable(String),
}

/// What a spent reference opens: the claims and the ticket's host and its pool.
#[derive(Debug, Clone)]
pub(crate) struct Launch {
    pub claims: Claims,
    pub host: Host,
    pub pool: Pool,
}

/// Spends `reference` (audited `ticket.consumed` / `ticket.refused`, never the text) and
/// loads the ticket's host and pool.
pub(crate) async fn spend(
    service: &SessionService,
    reference: &str,
    source: Option<&str>,
) -> Result<Launch, Denied> {
    let now_ms = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis(),
    )
    .unwrap_or(i64::MAX);
    let spent = match service.database.acquire().await {
        Ok(mut conn) => {
            ticket::reference::consume_at(
                &mut conn,
                reference,
                service.verifier.clock_skew_ms(),
                now_ms,
            )
            .await
        }
        Err(error) => Err(ConsumeError::Database(error)),
    };
    let claims = match spent {
        Ok(claims) => claims,
        Err(ConsumeError::Refused { reason, claims }) => {
            crate::session::refuse_audit(service, reason, claims.as_ref(), source).await;
            return Err(Denied::Refused(reason));
        }
        Err(ConsumeError::Database(error)) => {
            tracing::error!(%error, "native reference check failed");
            return Err(Denied::Unavailable(error.to_string()));
        }
    };
    if let Err(error) = crate::session::audit_consumed(service, &claims, source).await {
        tracing::warn!(%error, session = %claims.session_id, "ticket.consumed not audited");
    }
    if claims.path != LaunchPath::Native {
        // The database only spends native references; this guards a future change there.
        audit(
            service,
            &claims,
            "native.refused",
            AuditOutcome::Refused,
            "the ticket is for the browser path".to_owned(),
            source,
        )
        .await;
        return Err(Denied::WrongPath);
    }
    match host_and_pool(service, &claims).await {
        Ok((host, pool)) => Ok(Launch { claims, host, pool }),
        Err(error) => {
            tracing::error!(%error, session = %claims.session_id, "native launch setup failed");
            Err(Denied::Unavailable(error.to_string()))
        }
    }
}

/// Whether the client's channel request names the ticket's host: the resource as the
/// client wrote it (trimmed, case-insensitive) against the host's address, and the port.
/// A client may list several names; one of them must match.
pub(crate) fn names_host<'a>(
    host: &Host,
    mut resources: impl Iterator<Item = &'a str>,
    port: u16,
) -> bool {
    let address = host.address.trim();
    port == host.port && resources.any(|name| name.trim().eq_ignore_ascii_case(address))
}

/// Why the host could not be reached.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectFailed {
    #[error("host {addr} did not answer within {} s", .after.as_secs())]
    Timeout { addr: String, after: Duration },
    #[error("host {addr}: {source}")]
    Refused {
        addr: String,
        source: std::io::Error,
    },
}

/// The TCP connection to the ticket's host, within `timeout`.
pub(crate) async fn connect(host: &Host, timeout: Duration) -> Result<TcpStream, ConnectFailed> {
    let addr = format!("{}:{}", host.address, host.port);
    match tokio::time::timeout(
        timeout,
        TcpStream::connect((host.address.as_str(), host.port)),
    )
    .await
    {
        Ok(Ok(tcp)) => {
            tcp.set_nodelay(true).ok();
            Ok(tcp)
        }
        Ok(Err(source)) => Err(ConnectFailed::Refused { addr, source }),
        Err(_) => Err(ConnectFailed::Timeout {
            addr,
            after: timeout,
        }),
    }
}

/// An audit event about the launch's session (refusals of a native client's requests).
pub(crate) async fn audit(
    service: &SessionService,
    claims: &Claims,
    action: &str,
    outcome: AuditOutcome,
    detail: String,
    source: Option<&str>,
) {
    let result = async {
        let mut conn = service.database.acquire().await?;
        insert_session_event(&mut conn, service, claims, action, outcome, detail, source).await
    }
    .await;
    if let Err(error) = result {
        tracing::warn!(%error, session = %claims.session_id, action, "native audit failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(address: &str, port: u16) -> Host {
        serde_json::from_value(serde_json::json!({
            "id": uuid::Uuid::now_v7(),
            "pool_id": uuid::Uuid::now_v7(),
            "name": "h",
            "address": address,
            "port": port,
            "capacity": 1,
            "state": "active",
            "health": "unknown",
            "health_checked_at": null,
            "version": null,
            "recycle_to": null,
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
        }))
        .expect("host")
    }

    #[test]
    fn only_the_tickets_host_and_port_are_allowed() {
        let h = host("Host-A.example.se", 3389);
        assert!(names_host(&h, [" host-a.EXAMPLE.se "].into_iter(), 3389));
        assert!(names_host(
            &h,
            ["other", "host-a.example.se"].into_iter(),
            3389
        ));
        assert!(!names_host(&h, ["host-a.example.se"].into_iter(), 3390));
        assert!(!names_host(&h, ["host-b.example.se"].into_iter(), 3389));
        assert!(!names_host(&h, std::iter::empty(), 3389));
        assert!(!names_host(
            &h,
            ["host-a.example.se.evil"].into_iter(),
            3389
        ));
    }
}
