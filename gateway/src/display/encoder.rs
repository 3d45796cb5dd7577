//! The tile encoder: turns what changed in a [`Framebuffer`] since the last frame into one
//! [`Frame`] of tile operations, at most one frame in flight.
//!
//! The encoder keeps a *shadow*: the pixels the browser has after applying every frame sent so
//! far. Damage from the framebuffer only says where to look; each damaged cell is compared
//! with the shadow, so a host that paints A, then B, then A again between two frames costs
//! nothing, and every tile is cut down to the pixels that really differ.
//!
//! Policy, per frame (numbers from `benches/tiles.rs`, see [`EncoderConfig::default`]):
//! 1. Host blits recorded by the framebuffer become CopyRect operations, then a vertical
//!    scroll is searched in the remaining damage (row hashes against the shadow); a hit
//!    becomes one more CopyRect and only the revealed strip is left to encode.
//! 2. Damaged cells are grouped into rectangles of at most `max_tile`×`max_tile`, "hot" cells
//!    (changed in at least `hot_changes` of the last `history` ticks) apart from the rest.
//! 3. A hot rectangle with more than 256 colours (video, photos, gradients) goes out as JPEG;
//!    everything else losslessly, as WebP by default (PNG selectable). Text and UI therefore
//!    stay lossless.
//! 4. A cell sent as JPEG is resent losslessly once it has been still for `refine_after`
//!    ticks, so the picture always settles to exact pixels.
//!
//! Measured (bench `tiles`, release, this shared 2-core machine; the 1280×800 demo screen
//! and a synthetic photo cut into 256×256 tiles; baselines from the same run: raw RGBA
//! 4 096 000 bytes, memcpy of the frame 0.28 ms/MP):
//!
//! | content | encoder | bytes | × raw | ms/MP | × memcpy |
//! |---|---|---|---|---|---|
//! | UI | PNG fdeflate + Up, RGB | 217 495 | 0.053 | 3.4 | 12 |
//! | UI | PNG fdeflate adaptive, RGB | 91 929 | 0.022 | 3.6 | 13 |
//! | UI | PNG fdeflate, indexed | 253 355 | 0.062 | 3.6 | 13 |
//! | UI | PNG zlib-6, indexed | 51 457 | 0.013 | 9.3 | 33 |
//! | UI | **WebP lossless** | 37 130 | 0.009 | 2.3 | 8 |
//! | UI | JPEG q70 | 67 392 | 0.016 | 7.0 | 25 |
//! | photo | PNG fdeflate, RGB | 1 513 545 | 0.370 | 8.7 | 31 |
//! | photo | PNG zlib-6 | 1 112 685 | 0.272 | 283 | 1000 |
//! | photo | WebP lossless | 1 023 228 | 0.250 | 6.9 | 24 |
//! | photo | **JPEG q70** | 47 047 | 0.012 | 6.9 | 24 |
//!
//! End to end (default config): keyframe 37 KB in 5 ms; scrolling 20 rows per frame
//! 1.8 KB/frame with detection against 27 KB without; typing 86 B/frame; a 320×240 animated
//! photo 26 KB/frame (77 KB lossless only).
//!
//! Backpressure: [`Encoder::take_frame`] returns nothing while a frame is unacknowledged;
//! the framebuffer's damage keeps accumulating meanwhile, and the next frame after
//! [`Encoder::ack`] carries the freshest pixels of everything that changed. No queue grows.

use super::DisplayError;
use super::codec::{PngLevel, encode_jpeg, encode_png, encode_webp, has_many_colours};
use super::damage::{CELL, Damage, cell_rect};
use super::framebuffer::Framebuffer;
use super::geometry::{Point, Rect};
use super::raster::{blit, copy_rect, diff_bounds, extract};
use super::scroll;

/// How a tile's bytes are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Png,
    /// Lossless WebP.
    WebP,
    Jpeg {
        quality: u8,
    },
}

/// The lossless codec for text and UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lossless {
    /// Lossless WebP: on the demo screen 2.5× smaller than fdeflate PNG and 1.5×
    /// faster; supported by the latest two versions of every browser Hamn serves.
    WebP,
    Png(PngLevel),
}

/// An image for `rect`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tile {
    pub rect: Rect,
    pub encoding: Encoding,
    pub bytes: Vec<u8>,
}

/// One operation of a frame. The browser applies them in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TileOp {
    /// Copy the browser's own pixels of `src` (as they are at this point of the frame) to
    /// `dst`, same size.
    CopyRect {
        src: Rect,
        dst: Point,
    },
    Tile(Tile),
}

/// Everything that changed, ready for the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Pass back to [`Encoder::ack`] once the browser confirmed it.
    pub id: u64,
    /// Screen size; differs from the previous frame's after a resize.
    pub width: u32,
    pub height: u32,
    /// The whole screen from scratch (first frame, resize, resume).
    pub keyframe: bool,
    pub ops: Vec<TileOp>,
}

impl Frame {
    /// Encoded image bytes in the frame (headers of the wire format excluded).
    pub fn payload_len(&self) -> usize {
        self.ops
            .iter()
            .map(|op| match op {
                TileOp::Tile(tile) => tile.bytes.len(),
                TileOp::CopyRect { .. } => 0,
            })
            .sum()
    }

    pub fn tiles(&self) -> impl Iterator<Item = &Tile> {
        self.ops.iter().filter_map(|op| match op {
            TileOp::Tile(tile) => Some(tile),
            TileOp::CopyRect { .. } => None,
        })
    }
}

/// Encoder settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncoderConfig {
    pub lossless: Lossless,
    pub jpeg_quality: u8,
    /// Allow JPEG at all (off: everything lossless).
    pub lossy: bool,
    /// Largest tile side in pixels (rounded up to whole 64-pixel cells).
    pub max_tile: u32,
    /// Ticks of change history per cell (at most 32).
    pub history: u32,
    /// Changes within `history` ticks that make a cell hot.
    pub hot_changes: u32,
    /// Still ticks after which a JPEG cell is resent losslessly.
    pub refine_after: u32,
    pub detect_scroll: bool,
}

impl Default for EncoderConfig {
    fn default() -> Self {
        Self {
            lossless: Lossless::WebP,
            jpeg_quality: 70,
            lossy: true,
            max_tile: 256,
            history: 8,
            hot_changes: 4,
            refine_after: 15,
            detect_scroll: true,
        }
    }
}

/// Turns framebuffer damage into frames; one per browser connection.
#[derive(Debug, Clone)]
pub struct Encoder {
    config: EncoderConfig,
    width: u32,
    height: u32,
    cols: u32,
    shadow: Vec<u8>,
    seen_generation: u64,
    /// Per cell, bit i set when the cell changed i ticks ago.
    history: Vec<u32>,
    /// Per cell, whether the browser holds lossy pixels there.
    lossy: Vec<bool>,
    in_flight: Option<u64>,
    next_id: u64,
    needs_keyframe: bool,
}

impl Encoder {
    pub fn new(config: EncoderConfig) -> Self {
        Self {
            config,
            width: 0,
            height: 0,
            cols: 0,
            shadow: Vec::new(),
            seen_generation: 0,
            history: Vec::new(),
            lossy: Vec::new(),
            in_flight: None,
            next_id: 1,
            needs_keyframe: true,
        }
    }

    pub fn config(&self) -> &EncoderConfig {
        &self.config
    }

    /// The id of the unacknowledged frame, if any.
    pub fn in_flight(&self) -> Option<u64> {
        self.in_flight
    }

    /// The browser confirmed frame `id`; true if that was the frame in flight.
    pub fn ack(&mut self, id: u64) -> bool {
        if self.in_flight == Some(id) {
            self.in_flight = None;
            true
        } else {
            false
        }
    }

    /// For resume on a new connection: forget the frame in flight and make the next frame a
    /// keyframe.
    pub fn request_keyframe(&mut self) {
        self.in_flight = None;
        self.needs_keyframe = true;
    }

    /// Whether [`Encoder::take_frame`] could return a frame for a framebuffer at
    /// `generation`: nothing in flight, and a keyframe due, a change since the last frame or
    /// lossy cells that may need refining. Cheap: lets an idle session skip the encode.
    pub fn has_work(&self, generation: u64) -> bool {
        self.in_flight.is_none()
            && (self.needs_keyframe
                || generation != self.seen_generation
                || self.lossy.iter().any(|&lossy| lossy))
    }

    /// A pacing tick without work ([`Encoder::has_work`] false): ages the change history
    /// exactly as a `take_frame` that finds nothing would.
    pub fn idle_tick(&mut self) {
        for h in &mut self.history {
            *h <<= 1;
        }
    }

    /// The next frame, or `None` when a frame is still in flight or nothing changed. Call it
    /// on every pacing tick (e.g. 30 Hz): a call without a frame in flight counts as one tick
    /// of change history.
    pub fn take_frame(&mut self, fb: &Framebuffer) -> Result<Option<Frame>, DisplayError> {
        if self.in_flight.is_some() {
            return Ok(None);
        }
        if self.needs_keyframe || (fb.width(), fb.height()) != (self.width, self.height) {
            return self.keyframe(fb).map(Some);
        }
        for h in &mut self.history {
            *h <<= 1;
        }
        let mut damage = fb.damage_since(self.seen_generation);
        let mut ops = Vec::new();
        let stride = fb.stride();
        let copies: Vec<_> = fb.copies_since(self.seen_generation).copied().collect();
        self.seen_generation = fb.generation();
        for copy in &copies {
            self.shadow_blit(stride, copy.src, copy.dst);
            damage.add_rect(Rect::new(
                copy.dst.x,
                copy.dst.y,
                copy.src.width,
                copy.src.height,
            ));
            ops.push(TileOp::CopyRect {
                src: copy.src,
                dst: copy.dst,
            });
        }
        if self.config.detect_scroll
            && copies.is_empty()
            && let Some(area) = damage.bounds()
            && worth_scroll_search(&damage)
        {
            // A host that repaints a scroll in pieces (xrdp sends bitmaps top to bottom) may
            // be caught part-way: one band shifted by the new step, the rest by the previous
            // one. Each further search sees only the rows the earlier copies did not fix.
            for _ in 0..MAX_SCROLL_COPIES {
                let Some(found) = scroll::detect(&self.shadow, fb.pixels(), stride, area) else {
                    break;
                };
                self.shadow_blit(stride, found.src, found.dst);
                ops.push(TileOp::CopyRect {
                    src: found.src,
                    dst: found.dst,
                });
            }
        }

        // Keep only cells that differ from what the browser has.
        let shadow = &self.shadow;
        damage.retain(|col, row| {
            cell_rect(col, row, fb.width(), fb.height())
                .is_some_and(|r| diff_bounds(shadow, fb.pixels(), stride, r).is_some())
        });
        for (col, row) in damage.cells() {
            if let Some(h) = self.cell_mut(col, row) {
                *h |= 1;
            }
        }
        let mut refine = Damage::new(fb.width(), fb.height());
        let quiet_mask = low_bits(self.config.refine_after);
        for (i, lossy) in self.lossy.iter().enumerate() {
            let history = self.history.get(i).copied().unwrap_or(0);
            if *lossy && history & quiet_mask == 0 {
                let cols = self.cols.max(1);
                refine.set(i as u32 % cols, i as u32 / cols, true);
            }
        }
        refine.retain(|c, r| !damage.contains_cell(c, r));

        self.encode_damage(fb, &damage, true, &mut ops)?;
        self.encode_damage_lossless(fb, &refine, &mut ops)?;
        if ops.is_empty() {
            return Ok(None);
        }
        Ok(Some(self.seal(fb, false, ops)))
    }

    /// A frame with the whole screen, for the first frame and for resume. Replaces any frame
    /// in flight (the connection it went to is gone).
    pub fn keyframe(&mut self, fb: &Framebuffer) -> Result<Frame, DisplayError> {
        if (fb.width(), fb.height()) != (self.width, self.height) {
            self.width = fb.width();
            self.height = fb.height();
            self.cols = fb.width().div_ceil(CELL);
            let cells = self.cols as usize * fb.height().div_ceil(CELL) as usize;
            self.history = vec![0; cells];
            self.lossy = vec![false; cells];
            self.shadow = vec![0; fb.pixels().len()];
        }
        self.seen_generation = fb.generation();
        self.needs_keyframe = false;
        let damage = Damage::full(fb.width(), fb.height());
        let mut ops = Vec::new();
        // Hot areas stay hot across a resume: the animation goes on.
        self.encode_damage(fb, &damage, false, &mut ops)?;
        Ok(self.seal(fb, true, ops))
    }

    fn seal(&mut self, fb: &Framebuffer, keyframe: bool, ops: Vec<TileOp>) -> Frame {
        let id = self.next_id;
        self.next_id += 1;
        self.in_flight = Some(id);
        Frame {
            id,
            width: fb.width(),
            height: fb.height(),
            keyframe,
            ops,
        }
    }

    /// Encodes `damage` split into hot and still rectangles; `tighten` cuts each rectangle to
    /// the pixels that differ from the shadow.
    fn encode_damage(
        &mut self,
        fb: &Framebuffer,
        damage: &Damage,
        tighten: bool,
        ops: &mut Vec<TileOp>,
    ) -> Result<(), DisplayError> {
        let threshold = self.config.hot_changes;
        let mask = low_bits(self.config.history);
        let hot_cell = |this: &Self, c: u32, r: u32| {
            this.cell(c, r)
                .is_some_and(|h| (h & mask).count_ones() >= threshold)
        };
        let mut hot = damage.clone();
        hot.retain(|c, r| self.config.lossy && hot_cell(self, c, r));
        let mut still = damage.clone();
        still.retain(|c, r| !hot.contains_cell(c, r));
        for (region, may_be_lossy) in [(still, false), (hot, true)] {
            for rect in region.rects(self.config.max_tile, self.config.max_tile) {
                let rect = if tighten {
                    match diff_bounds(&self.shadow, fb.pixels(), fb.stride(), rect) {
                        Some(r) => r,
                        None => continue,
                    }
                } else {
                    rect
                };
                ops.push(TileOp::Tile(self.encode_tile(fb, rect, may_be_lossy)?));
            }
        }
        Ok(())
    }

    fn encode_damage_lossless(
        &mut self,
        fb: &Framebuffer,
        damage: &Damage,
        ops: &mut Vec<TileOp>,
    ) -> Result<(), DisplayError> {
        for rect in damage.rects(self.config.max_tile, self.config.max_tile) {
            ops.push(TileOp::Tile(self.encode_tile(fb, rect, false)?));
        }
        Ok(())
    }

    fn encode_tile(
        &mut self,
        fb: &Framebuffer,
        rect: Rect,
        may_be_lossy: bool,
    ) -> Result<Tile, DisplayError> {
        let rgba = extract(fb.pixels(), fb.stride(), rect);
        let lossy = may_be_lossy && has_many_colours(&rgba);
        let started = std::time::Instant::now();
        let (encoding, bytes) = if lossy {
            let quality = self.config.jpeg_quality;
            (
                Encoding::Jpeg { quality },
                encode_jpeg(&rgba, rect.width, rect.height, quality)?,
            )
        } else {
            match self.config.lossless {
                Lossless::WebP => (Encoding::WebP, encode_webp(&rgba, rect.width, rect.height)?),
                Lossless::Png(level) => (
                    Encoding::Png,
                    encode_png(&rgba, rect.width, rect.height, level)?,
                ),
            }
        };
        let name = match encoding {
            Encoding::Jpeg { .. } => "jpeg",
            Encoding::WebP => "webp",
            Encoding::Png => "png",
        };
        hamn_broker::metrics::TILE_ENCODE.observe(&[name], started.elapsed());
        copy_rect(&mut self.shadow, fb.pixels(), fb.stride(), rect);
        for row in rect.y / CELL..rect.bottom().div_ceil(CELL) {
            for col in rect.x / CELL..rect.right().div_ceil(CELL) {
                let whole = cell_rect(col, row, fb.width(), fb.height())
                    .is_some_and(|cell| rect.contains_rect(&cell));
                let i = row as usize * self.cols as usize + col as usize;
                if let Some(flag) = self.lossy.get_mut(i) {
                    // A lossless tile only clears a cell it covers whole.
                    if lossy {
                        *flag = true;
                    } else if whole {
                        *flag = false;
                    }
                }
            }
        }
        Ok(Tile {
            rect,
            encoding,
            bytes,
        })
    }

    /// Applies a CopyRect to the shadow, carrying lossy marks along conservatively.
    fn shadow_blit(&mut self, stride: usize, src: Rect, dst: Point) {
        blit(&mut self.shadow, stride, src, dst);
        let src_lossy = (src.y / CELL..src.bottom().div_ceil(CELL))
            .any(|r| (src.x / CELL..src.right().div_ceil(CELL)).any(|c| self.is_lossy(c, r)));
        if src_lossy {
            let dst_rect = Rect::new(dst.x, dst.y, src.width, src.height);
            for r in dst_rect.y / CELL..dst_rect.bottom().div_ceil(CELL) {
                for c in dst_rect.x / CELL..dst_rect.right().div_ceil(CELL) {
                    let i = r as usize * self.cols as usize + c as usize;
                    if let Some(flag) = self.lossy.get_mut(i) {
                        *flag = true;
                    }
                }
            }
        }
    }

    fn is_lossy(&self, col: u32, row: u32) -> bool {
        col < self.cols
            && self
                .lossy
                .get(row as usize * self.cols as usize + col as usize)
                .copied()
                .unwrap_or(false)
    }

    fn cell(&self, col: u32, row: u32) -> Option<u32> {
        if col >= self.cols {
            return None;
        }
        self.history
            .get(row as usize * self.cols as usize + col as usize)
            .copied()
    }

    fn cell_mut(&mut self, col: u32, row: u32) -> Option<&mut u32> {
        if col >= self.cols {
            return None;
        }
        self.history
            .get_mut(row as usize * self.cols as usize + col as usize)
    }
}

/// Most CopyRects one frame's scroll search may find (bands scrolled by different amounts).
const MAX_SCROLL_COPIES: usize = 3;

/// A scroll repaints a block at least two cells high. Scattered small changes (a clock in one
/// corner, a caret in another) have a large bounding box but no cell damaged above another;
/// searching that box would cost a full-screen comparison per frame for nothing.
fn worth_scroll_search(damage: &Damage) -> bool {
    damage
        .cells()
        .any(|(col, row)| damage.contains_cell(col, row + 1))
}

/// A mask of the lowest `n` bits (n clamped to 32).
fn low_bits(n: u32) -> u32 {
    match n {
        0 => 0,
        32.. => u32::MAX,
        n => (1u32 << n) - 1,
    }
}
