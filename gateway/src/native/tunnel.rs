//! MS-TSGU over the websocket: drives the sans-IO tunnel state machine
//! ([`crate::rdg::ServerTunnel`]) with the native launch's checks, then hands the open
//! channel to the [`relay`](super::relay).
//!
//! ```text
//! handshake (state machine) ─▶ tunnel create: PAA cookie (or the HTTP bearer) spent
//!   ─▶ tunnel auth: the pool's policy ─▶ channel create: only the ticket's host:port,
//!   TCP within gateway.native_connect_timeout ─▶ relay
//! ```
//!
//! Refusals use the protocol's codes, which clients show by name: a wrong, expired or
//! reused cookie → E_PROXY_COOKIE_AUTHENTICATION_ACCESS_DENIED; a channel to any other host
//! → E_PROXY_RAP_ACCESSDENIED (audited `native.channel_refused`); a host that does not
//! answer → E_PROXY_TS_CONNECTFAILED; malformed or out-of-order packets close the tunnel
//! with the state machine's code. Each tunnel is its own task: nothing else is affected.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use hamn_broker::model::{AuditOutcome, HostPool as Pool};
use tokio_tungstenite::tungstenite::Message;

use super::Ws;
use super::launch::{self, Denied, Launch};
use super::relay::{Ending, Framing, Relay};
use crate::rdg::{Event, HResult, Limits, Redirection, ServerTunnel, TunnelPolicy};
use crate::session::SessionService;

/// The whole setup (handshake to channel) must finish within this; a client that stalls
/// gets its tunnel closed.
const SETUP_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest resource name quoted in an audit detail.
const MAX_QUOTED: usize = 128;

/// The device redirections and idle timeout the pool allows, for the tunnel-auth
/// response. The one place that maps pool policy to MS-TSGU flags.
pub(crate) fn tunnel_policy(pool: &Pool) -> TunnelPolicy {
    let allowed = pool.native_redirection();
    TunnelPolicy {
        redirection: Redirection {
            drives: allowed.drives,
            printers: allowed.printers,
            ports: allowed.com_ports,
            clipboard: allowed.clipboard,
            pnp: allowed.pnp_devices,
        },
        idle_timeout_minutes: pool.idle_timeout_secs.div_ceil(60),
    }
}

/// Serves one RD Gateway websocket until the tunnel ends.
pub(super) async fn serve(
    mut socket: Ws,
    service: Arc<SessionService>,
    bearer: Option<String>,
    source: Option<String>,
) {
    let mut tunnel = ServerTunnel::new(Limits::default());
    let setup = tokio::time::timeout(
        SETUP_TIMEOUT,
        set_up(
            &mut socket,
            &mut tunnel,
            &service,
            bearer,
            source.as_deref(),
        ),
    )
    .await;
    let (launch, host) = match setup {
        Ok(Some(ready)) => ready,
        Ok(None) => return finish_closed(&mut socket, &mut tunnel).await,
        Err(_) => {
            tracing::info!("native tunnel setup timed out");
            if !tunnel.is_closed() {
                tunnel.close(HResult::E_PROXY_INTERNALERROR);
            }
            return finish_closed(&mut socket, &mut tunnel).await;
        }
    };
    Relay {
        service,
        launch,
        socket,
        host,
        source,
    }
    .run(TsguFraming {
        tunnel,
        to_host: VecDeque::new(),
        closed: false,
    })
    .await;
}

/// Sends what the state machine still has (its close), then closes the websocket.
async fn finish_closed(socket: &mut Ws, tunnel: &mut ServerTunnel) {
    while let Some(bytes) = tunnel.poll_transmit() {
        if socket.feed(Message::binary(bytes)).await.is_err() {
            return;
        }
    }
    let _ = socket.flush().await;
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        if socket.close(None).await.is_ok() {
            while let Some(Ok(_)) = socket.next().await {}
        }
    })
    .await;
}

/// Runs handshake, tunnel create, tunnel auth and channel create. `None`: the tunnel was
/// refused or the client left (whatever the client must hear is queued in `tunnel`).
async fn set_up(
    socket: &mut Ws,
    tunnel: &mut ServerTunnel,
    service: &Arc<SessionService>,
    bearer: Option<String>,
    source: Option<&str>,
) -> Option<(Launch, tokio::net::TcpStream)> {
    let mut launch: Option<Launch> = None;
    loop {
        // Answers first: the handshake response and each accept or refusal.
        while let Some(bytes) = tunnel.poll_transmit() {
            socket.feed(Message::binary(bytes)).await.ok()?;
        }
        socket.flush().await.ok()?;
        if tunnel.is_closed() {
            return None;
        }
        let bytes = match socket.next().await? {
            Ok(Message::Binary(bytes)) => bytes,
            Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => continue,
            Ok(Message::Text(_)) => {
                tunnel.close(HResult::E_PROXY_INTERNALERROR);
                continue;
            }
            Ok(Message::Close(_)) | Err(_) => return None,
        };
        if let Err(error) = tunnel.receive(&bytes) {
            tracing::info!(%error, "native tunnel setup: bad packet");
            if !tunnel.is_closed() {
                tunnel.close(error.code());
            }
            continue;
        }
        while let Some(event) = tunnel.poll_event() {
            match event {
                Event::TunnelCreate { paa_cookie, .. } => {
                    let reference = paa_cookie.or_else(|| bearer.clone()).unwrap_or_default();
                    match launch::spend(service, &reference, source).await {
                        Ok(spent) => {
                            tunnel.accept_tunnel(tunnel_id());
                            launch = Some(spent);
                        }
                        Err(Denied::Unavailable(_)) => {
                            tunnel.refuse_tunnel(HResult::E_PROXY_INTERNALERROR)
                        }
                        Err(Denied::Refused(_) | Denied::WrongPath) => tunnel
                            .refuse_tunnel(HResult::E_PROXY_COOKIE_AUTHENTICATION_ACCESS_DENIED),
                    }
                }
                Event::TunnelAuth { .. } => match &launch {
                    Some(spent) => tunnel.accept_auth(tunnel_policy(&spent.pool)),
                    None => tunnel.refuse_auth(HResult::E_PROXY_INTERNALERROR),
                },
                Event::ChannelCreate {
                    resources,
                    alt_resources,
                    port,
                    ..
                } => {
                    let Some(spent) = launch.take() else {
                        tunnel.refuse_channel(HResult::E_PROXY_INTERNALERROR);
                        continue;
                    };
                    let names = resources
                        .iter()
                        .chain(alt_resources.iter())
                        .map(String::as_str);
                    if !launch::names_host(&spent.host, names, port) {
                        let asked = resources
                            .first()
                            .map(|r| crate::session::live::truncate(r.trim(), MAX_QUOTED))
                            .unwrap_or_default();
                        tracing::info!(session = %spent.claims.session_id, %asked, port, "native channel to another host refused");
                        launch::audit(
                            service,
                            &spent.claims,
                            "native.channel_refused",
                            AuditOutcome::Refused,
                            format!(
                                "the client asked for {asked:?} port {port}; the ticket's host is {}:{}",
                                spent.host.address, spent.host.port
                            ),
                            source,
                        )
                        .await;
                        tunnel.refuse_channel(HResult::E_PROXY_RAP_ACCESSDENIED);
                        continue;
                    }
                    match launch::connect(&spent.host, service.config.native_connect_timeout).await
                    {
                        Ok(tcp) => {
                            tunnel.accept_channel(channel_id());
                            while let Some(bytes) = tunnel.poll_transmit() {
                                socket.feed(Message::binary(bytes)).await.ok()?;
                            }
                            socket.flush().await.ok()?;
                            return Some((spent, tcp));
                        }
                        Err(error) => {
                            super::connect_failed(service, &spent, &error, "RD Gateway", source)
                                .await;
                            tunnel.refuse_channel(HResult::E_PROXY_TS_CONNECTFAILED);
                        }
                    }
                }
                Event::Data(_) | Event::CloseChannel => {
                    // The state machine refuses these before a channel; a close ends setup.
                    if !tunnel.is_closed() {
                        tunnel.close(HResult::E_PROXY_INTERNALERROR);
                    }
                }
            }
        }
    }
}

/// Tunnel and channel ids only need to be stable within one websocket.
fn tunnel_id() -> u32 {
    1
}

fn channel_id() -> u32 {
    1
}

/// MS-TSGU data packets around the RDP bytes.
pub(crate) struct TsguFraming {
    tunnel: ServerTunnel,
    to_host: VecDeque<Vec<u8>>,
    closed: bool,
}

impl Framing for TsguFraming {
    fn name(&self) -> &'static str {
        "RD Gateway"
    }

    fn receive(&mut self, message: &[u8]) -> Result<(), String> {
        if let Err(error) = self.tunnel.receive(message) {
            if !self.tunnel.is_closed() {
                self.tunnel.close(error.code());
            }
            return Err(error.to_string());
        }
        while let Some(event) = self.tunnel.poll_event() {
            match event {
                Event::Data(bytes) => self.to_host.push_back(bytes),
                Event::CloseChannel => self.closed = true,
                other => {
                    if !self.tunnel.is_closed() {
                        self.tunnel.close(HResult::E_PROXY_INTERNALERROR);
                    }
                    return Err(format!("unexpected {other:?} on an open channel"));
                }
            }
        }
        if self.tunnel.is_closed() {
            self.closed = true;
        }
        Ok(())
    }

    fn next_for_host(&mut self) -> Option<Vec<u8>> {
        self.to_host.pop_front()
    }

    fn client_closed(&self) -> bool {
        self.closed
    }

    fn carry_to_client(&mut self, bytes: &[u8]) {
        self.tunnel.send_data(bytes);
    }

    fn message(&mut self, text: &str) -> bool {
        self.tunnel.service_message(text);
        true
    }

    fn close(&mut self, why: Ending) {
        if self.tunnel.is_closed() {
            return;
        }
        let code = match why {
            Ending::ClientLeft | Ending::HostEnded => HResult::ERROR_SUCCESS,
            Ending::Disconnect | Ending::Logoff | Ending::TakenOver | Ending::Shutdown => {
                HResult::E_PROXY_CONNECTIONABORTED
            }
            Ending::ProtocolError => HResult::E_PROXY_INTERNALERROR,
        };
        self.tunnel.close(code);
    }

    fn transmit(&mut self) -> Option<Vec<u8>> {
        self.tunnel.poll_transmit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pool with the clipboard switch and idle timeout given, printers and PnP devices
    /// allowed, drives and COM ports not.
    fn pool(clipboard: bool, idle_secs: u32) -> Pool {
        serde_json::from_value(serde_json::json!({
            "id": uuid::Uuid::now_v7(),
            "name": "p",
            "description": "",
            "strategy": "breadth_first",
            "dedicated_tenant_id": null,
            "host_cert_policy": "ignore",
            "host_ca_pem": null,
            "host_cert_pins": [],
            "clipboard_enabled": clipboard,
            "clipboard_max_bytes": 1024,
            "drives_enabled": false,
            "printers_enabled": true,
            "com_ports_enabled": false,
            "pnp_devices_enabled": true,
            "native_remote_apps": true,
            "print_driver": "pdf",
            "idle_timeout_secs": idle_secs,
            "disconnect_timeout_secs": 0,
            "max_session_secs": 0,
            "timeout_warning_secs": 60,
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
        }))
        .expect("pool")
    }

    #[test]
    fn the_pools_redirection_policy_and_idle_timeout_reach_the_tunnel() {
        let on = tunnel_policy(&pool(true, 90));
        assert_eq!(
            on.redirection,
            Redirection {
                drives: false,
                printers: true,
                ports: false,
                clipboard: true,
                pnp: true,
            }
        );
        // Rounded up: a client never idles out before the pool says.
        assert_eq!(on.idle_timeout_minutes, 2);
        let off = tunnel_policy(&pool(false, 0));
        assert!(!off.redirection.clipboard);
        assert_eq!(off.idle_timeout_minutes, 0);
    }
}
