//! Input-to-pixel latency the gateway adds on loopback. The baseline is a direct IronRDP
//! client (`hamn_gateway::rdp::connect` with a display sink) on the demo host; through the
//! gateway the same keys go over the websocket and the clock stops at the first Tile that
//! covers the changed field. Both run in the same process against the same host, samples
//! interleaved so that machine load falls on both alike.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use hamn_bench::Samples;
use hamn_gateway::rdp::{self, DecodedImage, DisplaySink, MouseButton, PointerUpdate, RdpInput};
use hamn_gateway::wire::{self, ClientMessage, Scancode};
use tokio::sync::mpsc;

use crate::gateway::{Client, Gateway, Observed};
use crate::rdp_peers::{DEMO_PASSWORD, DemoHost};

/// The demo app's "Namn" field: x 538–1018, y 164–196.
const NAME_FIELD: [u16; 4] = [538, 164, 480, 32];
const A: u8 = 0x1E;
const BACKSPACE: u8 = 0x0E;
/// Silence that counts as "the screen has settled".
const QUIET: Duration = Duration::from_millis(80);
const WAIT: Duration = Duration::from_secs(10);

pub struct Latency {
    pub direct: Samples,
    pub gateway: Samples,
}

/// Sends the changed rectangles' arrival times to the probe.
struct TimedSink(mpsc::UnboundedSender<Observed>);

impl DisplaySink for TimedSink {
    fn resize(&mut self, _width: u16, _height: u16) {}

    fn update(&mut self, rect: rdp::Rect, _image: &DecodedImage) {
        let _ = self
            .0
            .send((Instant::now(), [rect.x, rect.y, rect.width, rect.height]));
    }

    fn pointer(&mut self, _update: PointerUpdate) {}
}

enum Path {
    Direct(rdp::RdpHandle),
    Gateway(Client),
}

/// One way to the host, and the arrival times of what changed on screen.
struct Probe {
    path: Path,
    seen: mpsc::UnboundedReceiver<Observed>,
}

impl Probe {
    async fn send(&self, inputs: Vec<PathInput>) -> anyhow::Result<()> {
        match &self.path {
            Path::Direct(handle) => {
                let inputs = inputs.into_iter().map(PathInput::rdp).collect();
                handle
                    .input(inputs)
                    .await
                    .map_err(|_| anyhow::anyhow!("direct session gone"))
            }
            Path::Gateway(client) => {
                for input in inputs {
                    client.send(input.wire()?)?;
                }
                Ok(())
            }
        }
    }

    /// Waits until nothing has changed for [`QUIET`].
    async fn settle(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + WAIT * 3;
        loop {
            match tokio::time::timeout(QUIET, self.seen.recv()).await {
                Err(_) => return Ok(()),
                Ok(None) => bail!("the session ended"),
                Ok(Some(_)) if Instant::now() > deadline => bail!("the screen never settled"),
                Ok(Some(_)) => {}
            }
        }
    }

    /// Presses `scancode` and times the first change that touches the field.
    async fn press(&mut self, scancode: u8) -> anyhow::Result<Duration> {
        while self.seen.try_recv().is_ok() {}
        let started = Instant::now();
        self.send(vec![
            PathInput::Key(scancode, true),
            PathInput::Key(scancode, false),
        ])
        .await?;
        let elapsed = loop {
            let (at, rect) = tokio::time::timeout(WAIT, self.seen.recv())
                .await
                .context("no picture change after a key")?
                .context("the session ended")?;
            if overlaps(rect, NAME_FIELD) {
                break at.duration_since(started);
            }
        };
        self.settle().await?;
        Ok(elapsed)
    }
}

enum PathInput {
    Key(u8, bool),
    Move(u16, u16),
    Button(bool, u16, u16),
}

impl PathInput {
    fn rdp(self) -> RdpInput {
        match self {
            PathInput::Key(scancode, down) => RdpInput::Key {
                scancode,
                extended: false,
                down,
            },
            PathInput::Move(x, y) => RdpInput::MouseMove { x, y },
            PathInput::Button(down, _, _) => RdpInput::MouseButton {
                button: MouseButton::Left,
                down,
            },
        }
    }

    fn wire(self) -> anyhow::Result<ClientMessage> {
        Ok(match self {
            PathInput::Key(scancode, down) => ClientMessage::KeyScancode {
                scancode: Scancode::new(u16::from(scancode)).context("scancode")?,
                down,
            },
            PathInput::Move(x, y) => ClientMessage::MouseMove { x, y },
            PathInput::Button(down, x, y) => ClientMessage::MouseButton {
                button: wire::MouseButton::Left,
                down,
                x,
                y,
            },
        })
    }
}

/// Longer than a pacing period at the gateway's default 30 frames/s.
const MAX_JITTER: Duration = Duration::from_millis(50);

/// xorshift64*: uniform enough to spread presses over the tick phase, no dependency.
struct Jitter(u64);

impl Jitter {
    fn seeded() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        Jitter(u64::from(nanos) | 1)
    }

    fn next(&mut self, max: Duration) -> Duration {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let unit = (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64;
        max.mul_f64(unit)
    }
}

fn overlaps(a: [u16; 4], b: [u16; 4]) -> bool {
    let (ax, ay, aw, ah) = (a[0] as u32, a[1] as u32, a[2] as u32, a[3] as u32);
    let (bx, by, bw, bh) = (b[0] as u32, b[1] as u32, b[2] as u32, b[3] as u32);
    ax < bx + bw && bx < ax + aw && ay < by + bh && by < ay + ah
}

/// `samples` key presses on each path (alternately `a` and Backspace, so the field's text
/// stays the same length).
pub async fn measure(
    host: &DemoHost,
    gateway: &Gateway,
    samples: usize,
) -> anyhow::Result<Latency> {
    let mut params = host.params(DEMO_PASSWORD);
    params.security = rdp::SecurityMode::TlsOnly;
    let (tx, seen) = mpsc::unbounded_channel();
    let session = rdp::connect(params).await?;
    let (handle, task) = session.start(TimedSink(tx));
    let mut direct = Probe {
        path: Path::Direct(handle.clone()),
        seen,
    };
    let (tx, seen) = mpsc::unbounded_channel();
    let client = gateway.open(1280, 1024, Some(tx)).await?;
    let mut through = Probe {
        path: Path::Gateway(client),
        seen,
    };

    // The first picture, then a click that puts the caret in the field.
    for probe in [&mut direct, &mut through] {
        probe.settle().await?;
        let click = vec![
            PathInput::Move(700, 180),
            PathInput::Button(true, 700, 180),
            PathInput::Button(false, 700, 180),
        ];
        probe.send(click).await?;
        probe.settle().await?;
    }

    let (mut a, mut b) = (Vec::with_capacity(samples), Vec::with_capacity(samples));
    let mut jitter = Jitter::seeded();
    let started = Instant::now();
    for i in 0..samples {
        let key = if i % 2 == 0 { A } else { BACKSPACE };
        // Each press waits a random part of a pacing period first: the loop's own rhythm
        // (settle after the last tile, which left on a pacing tick) would otherwise lock the
        // presses to one phase of the gateway's frame ticks and bias what they measure.
        tokio::time::sleep(jitter.next(MAX_JITTER)).await;
        a.push(direct.press(key).await.context("direct")?);
        tokio::time::sleep(jitter.next(MAX_JITTER)).await;
        b.push(through.press(key).await.context("through the gateway")?);
    }
    let wall = started.elapsed();

    handle.close();
    let _ = task.wait().await;
    if let Path::Gateway(client) = through.path {
        client.close().await;
    }
    Ok(Latency {
        direct: Samples::new(a, wall),
        gateway: Samples::new(b, wall),
    })
}
