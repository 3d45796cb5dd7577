//! The two kinds of synthetic client the load drives: a browser session on
//! `wss /ws/session` speaking the gateway's wire protocol (`hamn_gateway::wire`), and a
//! FreeRDP 3-style native tunnel on `wss /wst/` carrying the RDP connection's first bytes
//! to the host and back. Each holds its connection until told to stop, and proves at the
//! end that nothing was lost: every Ping answered, the tunnel still open.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use futures_util::{SinkExt as _, StreamExt as _};
use hamn_broker::health::probe;
use hamn_gateway::wire::{
    ClientHello, ClientMessage, Limits, PROTOCOL_VERSION, ServerMessage, decode_server,
    encode_client,
};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

use super::Tls;

type Ws = tokio_tungstenite::WebSocketStream<tokio_rustls::client::TlsStream<TcpStream>>;

/// The synthetic browser's canvas.
const WIDTH: u16 = 1024;
const HEIGHT: u16 = 768;
/// How long the first frame, a Pong or the host's confirm may take before it counts as
/// lost (generous: the machine is shared).
const ANSWER_WAIT: Duration = Duration::from_secs(60);
/// Input cadence of a browser session: a mouse move each tick, a Ping every fifth.
const INPUT_EVERY: Duration = Duration::from_secs(1);
const PING_EVERY_TICKS: u32 = 5;

async fn tls_to(
    tls: &Tls,
    port: u16,
) -> anyhow::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(("127.0.0.1", port)).await?;
    tcp.set_nodelay(true)?;
    let name = rustls_pki_types::ServerName::try_from("localhost")?;
    Ok(TlsConnector::from(Arc::clone(&tls.ws))
        .connect(name, tcp)
        .await?)
}

/// What one browser session saw.
#[derive(Debug, Default, Clone, Copy)]
pub struct BrowserStats {
    /// `ClientHello` sent → the first `FrameEnd`.
    pub first_frame: Duration,
    pub frames: u64,
    pub inputs: u64,
    pub pings: u64,
    pub pongs: u64,
}

/// An open browser session that has shown its first frame.
pub struct Browser {
    ws: Ws,
    stats: BrowserStats,
    limits: Limits,
}

impl Browser {
    /// Upgrades with `ticket`, says hello and waits for `ServerHello` and the first frame.
    pub async fn open(tls: &Tls, port: u16, ticket: &str) -> anyhow::Result<Browser> {
        let stream = tls_to(tls, port).await?;
        let url = format!("wss://localhost:{port}/ws/session?ticket={ticket}");
        let (mut ws, _) = tokio_tungstenite::client_async(url, stream)
            .await
            .context("websocket upgrade")?;
        let started = Instant::now();
        let hello = ClientMessage::ClientHello(ClientHello {
            version: PROTOCOL_VERSION,
            width: WIDTH,
            height: HEIGHT,
            scale_percent: 100,
            resume_token: None,
            keyboard_layout: "sv-SE".to_owned(),
        });
        ws.send(Message::Binary(encode_client(&hello).into()))
            .await?;
        let mut browser = Browser {
            ws,
            stats: BrowserStats::default(),
            limits: Limits::default(),
        };
        let mut hello_seen = false;
        tokio::time::timeout(ANSWER_WAIT, async {
            loop {
                match browser.next().await? {
                    Some(ServerMessage::ServerHello(_)) => hello_seen = true,
                    Some(ServerMessage::FrameEnd { .. }) if hello_seen => return Ok(()),
                    Some(ServerMessage::FrameEnd { .. }) => bail!("a frame before ServerHello"),
                    Some(_) => {}
                    None => bail!("the gateway closed before the first frame"),
                }
            }
        })
        .await
        .context("no first frame in time")??;
        browser.stats.first_frame = started.elapsed();
        Ok(browser)
    }

    /// The next message, with every `FrameEnd` acknowledged and Pongs counted; `None` when
    /// the websocket closed. A `Close` from the gateway is an error (the session ended
    /// under the user).
    async fn next(&mut self) -> anyhow::Result<Option<ServerMessage>> {
        loop {
            let Some(received) = self.ws.next().await else {
                return Ok(None);
            };
            let bytes = match received? {
                Message::Binary(bytes) => bytes,
                Message::Close(_) => return Ok(None),
                _ => continue,
            };
            let message = decode_server(&bytes, &self.limits)?;
            match &message {
                ServerMessage::FrameEnd { frame_id } => {
                    self.stats.frames += 1;
                    let ack = ClientMessage::FrameAck {
                        frame_id: *frame_id,
                    };
                    self.ws
                        .send(Message::Binary(encode_client(&ack).into()))
                        .await?;
                }
                ServerMessage::Pong { .. } => self.stats.pongs += 1,
                ServerMessage::Close { code, reason } => {
                    bail!("the gateway closed the session: {code:?} {reason}")
                }
                _ => {}
            }
            return Ok(Some(message));
        }
    }

    async fn send(&mut self, message: ClientMessage) -> anyhow::Result<()> {
        self.ws
            .send(Message::Binary(encode_client(&message).into()))
            .await?;
        Ok(())
    }

    /// Works the session until `until`: a mouse move every second, a Ping every five,
    /// frames acknowledged. Then one last Ping must be answered and every Ping must have
    /// had its Pong; the websocket is closed cleanly.
    pub async fn hold(mut self, until: Instant) -> anyhow::Result<BrowserStats> {
        let mut ticker = tokio::time::interval(INPUT_EVERY);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut tick: u32 = 0;
        let deadline = tokio::time::Instant::from_std(until);
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => break,
                _ = ticker.tick() => {
                    tick = tick.wrapping_add(1);
                    let x = (tick % 97) as u16 * 8;
                    self.send(ClientMessage::MouseMove { x, y: 300 }).await?;
                    self.stats.inputs += 1;
                    if tick.is_multiple_of(PING_EVERY_TICKS) {
                        self.send(ClientMessage::Ping { timestamp: tick }).await?;
                        self.stats.pings += 1;
                    }
                }
                message = self.next() => {
                    if message?.is_none() {
                        bail!("the websocket closed under the session");
                    }
                }
            }
        }
        self.send(ClientMessage::Ping {
            timestamp: u32::MAX,
        })
        .await?;
        self.stats.pings += 1;
        tokio::time::timeout(ANSWER_WAIT, async {
            while self.stats.pongs < self.stats.pings {
                if self.next().await?.is_none() {
                    bail!("the websocket closed before the last Pong");
                }
            }
            Ok(())
        })
        .await
        .context("a Ping went unanswered")??;
        let _ = self.ws.close(None).await;
        // Read to the gateway's close so it ends the session cleanly.
        while let Ok(Some(Ok(_))) =
            tokio::time::timeout(Duration::from_secs(5), self.ws.next()).await
        {}
        Ok(self.stats)
    }
}

/// An open native tunnel whose host answered the RDP connection request.
pub struct Tunnel {
    ws: Ws,
    /// Upgrade → the host's X.224 Connection Confirm.
    pub confirm: Duration,
}

impl Tunnel {
    /// `GET /wst/` with the launch reference as bearer, then the X.224 Connection Request
    /// through it; the host's Connection Confirm must come back whole.
    pub async fn open(tls: &Tls, port: u16, reference: &str) -> anyhow::Result<Tunnel> {
        let mut request = format!("wss://localhost:{port}/wst/").into_client_request()?;
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {reference}").parse()?);
        let stream = tls_to(tls, port).await?;
        let started = Instant::now();
        let (mut ws, _) = tokio_tungstenite::client_async(request, stream)
            .await
            .context("tunnel upgrade")?;
        ws.send(Message::binary(probe::connection_request()))
            .await?;
        let mut confirm = Vec::new();
        tokio::time::timeout(ANSWER_WAIT, async {
            loop {
                if confirm.len() >= probe::TPKT_HEADER {
                    let header: [u8; probe::TPKT_HEADER] = confirm[..probe::TPKT_HEADER]
                        .try_into()
                        .context("TPKT header")?;
                    if confirm.len() >= probe::tpkt_length(header)? {
                        return anyhow::Ok(());
                    }
                }
                match ws.next().await {
                    Some(Ok(Message::Binary(bytes))) => confirm.extend_from_slice(&bytes),
                    Some(Ok(Message::Close(_))) | None => {
                        bail!("the tunnel closed before the confirm")
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(e.into()),
                }
                if confirm.len() > 4096 {
                    bail!("no confirm in the first 4 KiB");
                }
            }
        })
        .await
        .context("no X.224 confirm in time")??;
        probe::parse_confirm(&confirm).context("the host's answer")?;
        Ok(Tunnel {
            ws,
            confirm: started.elapsed(),
        })
    }

    /// Holds the tunnel until `until`; it must stay open (the host and the relay keep an
    /// RDP connection that is between its negotiation and TLS). Then closes it.
    pub async fn hold(mut self, until: Instant) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::from_std(until);
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => break,
                received = self.ws.next() => match received {
                    Some(Ok(Message::Binary(_) | Message::Ping(_) | Message::Pong(_) | Message::Text(_) | Message::Frame(_))) => {}
                    Some(Ok(Message::Close(frame))) => bail!("the tunnel was closed: {frame:?}"),
                    Some(Err(e)) => bail!("the tunnel failed: {e}"),
                    None => bail!("the tunnel ended"),
                },
            }
        }
        let _ = self.ws.close(None).await;
        while let Ok(Some(Ok(_))) =
            tokio::time::timeout(Duration::from_secs(5), self.ws.next()).await
        {}
        Ok(())
    }
}
