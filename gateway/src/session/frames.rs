//! The outgoing side of a browser session: display frames (encoder + one-frame flow
//! window), cursor messages with a per-connection shape cache, and the byte and frame
//! counts the broker gets in session events.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use axum::extract::ws::{Message, WebSocket};

use super::sink::SharedScreen;
use crate::display::{Encoder, EncoderConfig, Encoding, Frame, Framebuffer, PixelFormat, TileOp};
use crate::rdp::PointerUpdate;
use crate::wire::{self, FrameWindow, ServerMessage, TileEncoding, WireError};

/// Cursor ids the gateway hands out per connection; id 0 means the system arrow.
const CURSOR_SLOTS: u16 = 32;
/// The wire's largest cursor side.
const MAX_CURSOR_SIDE: u16 = 384;

/// What went to the browser, over the whole session (all connections).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Traffic {
    /// Websocket payload bytes sent to the browser.
    pub bytes_to_client: u64,
    /// Frames sent (FrameEnd messages).
    pub frames: u64,
}

/// The websocket failed or the browser went away: nothing more can be sent.
#[derive(Debug)]
pub struct ClientGone;

/// Why a frame could not be produced.
#[derive(Debug)]
pub enum FrameError {
    ClientGone,
    /// A fault in the gateway (encoder, task join).
    Internal(String),
}

/// Sends `message`, counting its bytes.
pub async fn send(
    socket: &mut WebSocket,
    traffic: &mut Traffic,
    message: &ServerMessage,
) -> Result<(), ClientGone> {
    let bytes = wire::encode_server(message);
    traffic.bytes_to_client += bytes.len() as u64;
    hamn_broker::metrics::BYTES_TO_BROWSER.add(bytes.len() as u64);
    socket
        .send(Message::Binary(bytes.into()))
        .await
        .map_err(|_| ClientGone)
}

/// The frame side of a session: the encoder lives as long as the session (its shadow of
/// the browser's picture survives a resume as a keyframe request), the flow window and the
/// size the browser knows belong to one connection.
pub struct FrameLoop {
    screen: SharedScreen,
    /// `None` only while a frame is being encoded on the blocking pool.
    encoder: Option<Encoder>,
    /// What the encoder reads: a replica of the live framebuffer, synced (changed cells
    /// only) under its lock, so host updates never wait for an encode. `None` like
    /// `encoder` while a frame is encoded.
    replica: Option<Framebuffer>,
    window: FrameWindow,
    size: (u16, u16),
}

impl FrameLoop {
    pub fn new(screen: SharedScreen, config: EncoderConfig, size: (u16, u16)) -> Self {
        Self {
            screen,
            encoder: Some(Encoder::new(config)),
            replica: Framebuffer::new(1, 1, PixelFormat::Rgba32).ok(),
            window: FrameWindow::new(),
            size,
        }
    }

    /// A new connection: forget the frame in flight, send everything next, at `size`.
    pub fn restart(&mut self, size: (u16, u16)) {
        self.window.reset();
        self.size = size;
        if let Some(encoder) = self.encoder.as_mut() {
            encoder.request_keyframe();
        }
    }

    /// The screen size the browser knows.
    pub fn size(&self) -> (u16, u16) {
        self.size
    }

    pub fn can_send(&self) -> bool {
        self.window.can_send()
    }

    pub fn ack(&mut self, frame_id: u32) -> Result<(), WireError> {
        self.window.ack(frame_id)?;
        // The encoder knows its own frame in flight; the window checked the wire's id.
        if let Some(encoder) = self.encoder.as_mut()
            && let Some(id) = encoder.in_flight()
        {
            encoder.ack(id);
        }
        Ok(())
    }

    /// Encodes what changed (off the async workers: a keyframe takes tens of ms).
    pub async fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        // An idle session costs a lock and a comparison per tick, not an encode.
        let generation = self.screen.lock().generation();
        if let Some(encoder) = self.encoder.as_mut()
            && !encoder.has_work(generation)
        {
            encoder.idle_tick();
            return Ok(None);
        }
        let (Some(mut encoder), Some(mut replica)) = (self.encoder.take(), self.replica.take())
        else {
            return Err(FrameError::Internal("encoder lost".to_owned()));
        };
        let screen = self.screen.clone();
        let (encoder, replica, frame) = tokio::task::spawn_blocking(move || {
            replica.sync_from(&screen.lock());
            let frame = encoder.take_frame(&replica);
            (encoder, replica, frame)
        })
        .await
        .map_err(|e| FrameError::Internal(e.to_string()))?;
        self.encoder = Some(encoder);
        self.replica = Some(replica);
        frame.map_err(|e| FrameError::Internal(e.to_string()))
    }

    /// Sends `frame` (preceded by `Resized` when the size changed) and opens the window.
    pub async fn send_frame(
        &mut self,
        socket: &mut WebSocket,
        traffic: &mut Traffic,
        frame: Frame,
    ) -> Result<(), FrameError> {
        let internal = |e: &dyn std::fmt::Display| FrameError::Internal(e.to_string());
        let size = (
            u16::try_from(frame.width).map_err(|e| internal(&e))?,
            u16::try_from(frame.height).map_err(|e| internal(&e))?,
        );
        if size != self.size {
            self.size = size;
            let resized = ServerMessage::Resized {
                width: size.0,
                height: size.1,
            };
            send(socket, traffic, &resized)
                .await
                .map_err(|_| FrameError::ClientGone)?;
        }
        for op in &frame.ops {
            let message = op_message(op).map_err(|e| internal(&e))?;
            send(socket, traffic, &message)
                .await
                .map_err(|_| FrameError::ClientGone)?;
        }
        let Some(frame_id) = self.window.begin_frame() else {
            return Err(FrameError::Internal(
                "a frame was encoded while one was in flight".to_owned(),
            ));
        };
        traffic.frames += 1;
        hamn_broker::metrics::FRAMES.add(1);
        send(socket, traffic, &ServerMessage::FrameEnd { frame_id })
            .await
            .map_err(|_| FrameError::ClientGone)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("rectangle outside the wire's 16-bit range")]
pub struct OutOfRange;

fn u16_of(value: u32) -> Result<u16, OutOfRange> {
    u16::try_from(value).map_err(|_| OutOfRange)
}

/// One display operation as its wire message.
fn op_message(op: &TileOp) -> Result<ServerMessage, OutOfRange> {
    Ok(match op {
        TileOp::Tile(tile) => ServerMessage::Tile(wire::Tile {
            x: u16_of(tile.rect.x)?,
            y: u16_of(tile.rect.y)?,
            w: u16_of(tile.rect.width)?,
            h: u16_of(tile.rect.height)?,
            encoding: match tile.encoding {
                Encoding::Png => TileEncoding::Png,
                Encoding::WebP => TileEncoding::Webp,
                Encoding::Jpeg { .. } => TileEncoding::Jpeg,
            },
            data: tile.bytes.clone(),
        }),
        TileOp::CopyRect { src, dst } => ServerMessage::CopyRect(wire::CopyRect {
            src_x: u16_of(src.x)?,
            src_y: u16_of(src.y)?,
            w: u16_of(src.width)?,
            h: u16_of(src.height)?,
            dst_x: u16_of(dst.x)?,
            dst_y: u16_of(dst.y)?,
        }),
    })
}

/// Cursor shapes the browser of one connection holds: a shape goes once as `CursorShape`,
/// afterwards as `CursorCached` (hosts switch between a handful of shapes all day).
#[derive(Debug, Default)]
pub struct CursorCache {
    /// (content hash, id), ids 1..=CURSOR_SLOTS.
    slots: Vec<(u64, u16)>,
    /// The slot to reuse next when all are taken.
    next_victim: usize,
}

impl CursorCache {
    /// The message that shows `update` in the browser.
    pub fn message(&mut self, update: &PointerUpdate) -> ServerMessage {
        match update {
            PointerUpdate::Default => ServerMessage::CursorCached { id: 0 },
            PointerUpdate::Hidden => ServerMessage::CursorHidden,
            PointerUpdate::Position { x, y } => ServerMessage::CursorPosition { x: *x, y: *y },
            PointerUpdate::Bitmap(pointer) => {
                let (w, h) = (pointer.width, pointer.height);
                let fits = (1..=MAX_CURSOR_SIDE).contains(&w)
                    && (1..=MAX_CURSOR_SIDE).contains(&h)
                    && pointer.bitmap_data.len() == usize::from(w) * usize::from(h) * 4
                    && pointer.hotspot_x < w
                    && pointer.hotspot_y < h;
                if !fits {
                    tracing::debug!(w, h, "cursor shape the wire cannot carry; system arrow");
                    return ServerMessage::CursorCached { id: 0 };
                }
                let mut hasher = DefaultHasher::new();
                (w, h, pointer.hotspot_x, pointer.hotspot_y).hash(&mut hasher);
                pointer.bitmap_data.hash(&mut hasher);
                let hash = hasher.finish();
                if let Some(&(_, id)) = self.slots.iter().find(|(h, _)| *h == hash) {
                    return ServerMessage::CursorCached { id };
                }
                let id = if self.slots.len() < usize::from(CURSOR_SLOTS) {
                    let id = self.slots.len() as u16 + 1;
                    self.slots.push((hash, id));
                    id
                } else {
                    let victim = self.next_victim % self.slots.len();
                    self.next_victim = victim + 1;
                    self.slots[victim].0 = hash;
                    self.slots[victim].1
                };
                ServerMessage::CursorShape(wire::CursorShape {
                    id,
                    hotspot_x: pointer.hotspot_x,
                    hotspot_y: pointer.hotspot_y,
                    w,
                    h,
                    rgba: pointer.bitmap_data.clone(),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::rdp::DecodedPointer;

    fn shape(seed: u8, side: u16) -> PointerUpdate {
        PointerUpdate::Bitmap(Arc::new(DecodedPointer {
            width: side,
            height: side,
            hotspot_x: 1,
            hotspot_y: 1,
            bitmap_data: vec![seed; usize::from(side) * usize::from(side) * 4],
        }))
    }

    #[test]
    fn a_shape_goes_once_then_by_id() {
        let mut cache = CursorCache::default();
        let ServerMessage::CursorShape(first) = cache.message(&shape(1, 32)) else {
            panic!("a new shape goes whole");
        };
        assert_eq!(first.id, 1);
        assert!(matches!(cache.message(&shape(2, 32)), ServerMessage::CursorShape(s) if s.id == 2));
        assert!(matches!(
            cache.message(&shape(1, 32)),
            ServerMessage::CursorCached { id: 1 }
        ));
        assert!(matches!(
            cache.message(&PointerUpdate::Default),
            ServerMessage::CursorCached { id: 0 }
        ));
        assert!(matches!(
            cache.message(&PointerUpdate::Hidden),
            ServerMessage::CursorHidden
        ));
    }

    #[test]
    fn the_cache_reuses_slots_and_refuses_oversized_shapes() {
        let mut cache = CursorCache::default();
        for seed in 0..CURSOR_SLOTS as u8 {
            assert!(matches!(
                cache.message(&shape(seed, 8)),
                ServerMessage::CursorShape(_)
            ));
        }
        let ServerMessage::CursorShape(evicting) = cache.message(&shape(200, 8)) else {
            panic!("a new shape goes whole");
        };
        assert_eq!(evicting.id, 1);
        assert!(matches!(
            cache.message(&shape(200, 8)),
            ServerMessage::CursorCached { id: 1 }
        ));
        assert!(matches!(
            cache.message(&shape(0, 8)),
            ServerMessage::CursorShape(_)
        ));
        assert!(matches!(
            cache.message(&shape(3, MAX_CURSOR_SIDE + 1)),
            ServerMessage::CursorCached { id: 0 }
        ));
        let broken = PointerUpdate::Bitmap(Arc::new(DecodedPointer {
            width: 4,
            height: 4,
            hotspot_x: 0,
            hotspot_y: 0,
            bitmap_data: vec![0; 10],
        }));
        assert!(matches!(
            cache.message(&broken),
            ServerMessage::CursorCached { id: 0 }
        ));
    }
}
