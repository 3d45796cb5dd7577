//! The server-side framebuffer: the session's screen as the host last painted it, in RGBA
//! (alpha forced opaque), with change tracking per 64×64 cell.
//!
//! Change tracking compares the incoming pixels with the ones already there while copying
//! them in, and only a cell whose pixels really differ gets a new generation. This is what a
//! per-cell hash is usually for (hosts often repaint identical pixels), done exactly: the
//! comparison costs the same single pass over the written pixels that hashing would, and no
//! hash collision can ever hide a change.
//!
//! Consumers (the encoder) remember the generation they last looked at and ask for
//! [`Framebuffer::damage_since`]; the framebuffer never needs to be told a frame went out,
//! so it can be shared read-only with the encoder and any number of writes merge by
//! themselves while a frame is in flight.

use super::DisplayError;
use super::damage::{CELL, Damage};
use super::geometry::{Point, Rect};

/// The largest side accepted: RDP's own limit for a desktop.
pub const MAX_SIDE: u32 = 8192;

/// How many host copies are remembered for the encoder to replay as CopyRect. Older ones
/// fall out; the encoder then simply sends tiles for those pixels.
const COPY_LOG: usize = 32;

/// Byte order of the pixels handed to [`Framebuffer::write_rect`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PixelFormat {
    /// R, G, B, A (alpha ignored).
    #[default]
    Rgba32,
    /// B, G, R, X: what Windows hosts and most RDP codecs produce.
    Bgrx32,
}

/// A screen-to-screen blit the host did, recorded so the encoder can send it as CopyRect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostCopy {
    pub src: Rect,
    pub dst: Point,
    generation: u64,
}

#[derive(Debug, Clone)]
pub struct Framebuffer {
    width: u32,
    height: u32,
    format: PixelFormat,
    pixels: Vec<u8>,
    generation: u64,
    cols: u32,
    /// Generation at which each cell last changed.
    cell_generation: Vec<u64>,
    copies: Vec<HostCopy>,
}

impl Framebuffer {
    /// A black screen of `width`×`height` whose writes come in `format`.
    pub fn new(width: u32, height: u32, format: PixelFormat) -> Result<Self, DisplayError> {
        let mut fb = Self {
            width: 0,
            height: 0,
            format,
            pixels: Vec::new(),
            generation: 0,
            cols: 0,
            cell_generation: Vec::new(),
            copies: Vec::new(),
        };
        fb.resize(width, height)?;
        Ok(fb)
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    pub fn format(&self) -> PixelFormat {
        self.format
    }

    /// RGBA pixels, row after row, `width * 4` bytes each.
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    /// Bytes per row of [`Framebuffer::pixels`].
    pub fn stride(&self) -> usize {
        self.width as usize * 4
    }

    /// A counter that grows with every change; pass it back to [`Framebuffer::damage_since`].
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Cells changed after `generation`.
    pub fn damage_since(&self, generation: u64) -> Damage {
        let mut damage = Damage::new(self.width, self.height);
        let cols = self.cols.max(1);
        for (i, &changed) in self.cell_generation.iter().enumerate() {
            if changed > generation {
                damage.set(i as u32 % cols, i as u32 / cols, true);
            }
        }
        damage
    }

    /// Host copies after `generation`, oldest first.
    pub fn copies_since(&self, generation: u64) -> impl Iterator<Item = &HostCopy> {
        self.copies
            .iter()
            .filter(move |c| c.generation > generation)
    }

    /// Makes this framebuffer an exact replica of `front` — pixels, cell generations and
    /// the copy log — copying only the cells that changed since the last sync. The session
    /// encodes from such a replica so the host's updates never wait for an encode: the lock
    /// on the live framebuffer is held only for this copy.
    pub fn sync_from(&mut self, front: &Framebuffer) {
        if (self.width, self.height, self.format) != (front.width, front.height, front.format)
            || self.generation > front.generation
        {
            self.clone_from(front);
            return;
        }
        let since = self.generation;
        if front.generation == since {
            return;
        }
        let stride = self.stride();
        let cols = self.cols.max(1);
        for (i, &changed) in front.cell_generation.iter().enumerate() {
            if changed <= since {
                continue;
            }
            if let Some(cell) =
                super::damage::cell_rect(i as u32 % cols, i as u32 / cols, self.width, self.height)
            {
                for y in cell.y..cell.y + cell.height {
                    let start = y as usize * stride + cell.x as usize * 4;
                    let end = start + cell.width as usize * 4;
                    if let (Some(dst), Some(src)) = (
                        self.pixels.get_mut(start..end),
                        front.pixels.get(start..end),
                    ) {
                        dst.copy_from_slice(src);
                    }
                }
            }
            if let Some(generation) = self.cell_generation.get_mut(i) {
                *generation = changed;
            }
        }
        self.copies.clone_from(&front.copies);
        self.generation = front.generation;
    }

    /// Clears to black at the new size and damages everything.
    pub fn resize(&mut self, width: u32, height: u32) -> Result<(), DisplayError> {
        if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
            return Err(DisplayError::BadSize { width, height });
        }
        self.width = width;
        self.height = height;
        self.pixels.clear();
        self.pixels.extend(
            std::iter::repeat_n([0, 0, 0, 255], width as usize * height as usize).flatten(),
        );
        self.generation += 1;
        self.cols = width.div_ceil(CELL);
        let cells = self.cols as usize * height.div_ceil(CELL) as usize;
        self.cell_generation = vec![self.generation; cells];
        self.copies.clear();
        Ok(())
    }

    /// Writes `rect` from `pixels` (rows `stride` bytes apart, in the framebuffer's input
    /// format). The part of `rect` outside the screen is dropped; `pixels` must hold the
    /// whole rectangle as given.
    pub fn write_rect(
        &mut self,
        rect: Rect,
        pixels: &[u8],
        stride: usize,
    ) -> Result<(), DisplayError> {
        let min_stride = rect.width as usize * 4;
        if stride < min_stride {
            return Err(DisplayError::BadStride {
                stride,
                min: min_stride,
            });
        }
        if rect.is_empty() {
            return Ok(());
        }
        let needed = stride
            .checked_mul(rect.height as usize - 1)
            .and_then(|n| n.checked_add(min_stride))
            .unwrap_or(usize::MAX);
        if pixels.len() < needed {
            return Err(DisplayError::ShortBuffer {
                needed,
                got: pixels.len(),
            });
        }
        let Some(clipped) = rect.clip(self.width, self.height) else {
            return Ok(());
        };
        let format = self.format;
        let skip_x = (clipped.x - rect.x) as usize * 4;
        let skip_y = (clipped.y - rect.y) as usize;
        self.paint(clipped, |dy, offset, row| {
            let start = (skip_y + dy) * stride + skip_x + offset;
            let src = pixels.get(start..start + row.len()).unwrap_or(&[]);
            convert_into(row, src, format)
        });
        Ok(())
    }

    /// Fills `rect` (clipped) with one colour given as R, G, B.
    pub fn fill(&mut self, rect: Rect, rgb: [u8; 3]) {
        let Some(clipped) = rect.clip(self.width, self.height) else {
            return;
        };
        let pixel = [rgb[0], rgb[1], rgb[2], 255];
        self.paint(clipped, |_, _, row| {
            let mut changed = false;
            for px in row.chunks_exact_mut(4) {
                if px != pixel {
                    px.copy_from_slice(&pixel);
                    changed = true;
                }
            }
            changed
        });
    }

    /// A host screen-to-screen blit: copies `src` to `dst` (overlap allowed), clipped so that
    /// both the source and the destination lie on the screen. Recorded for the encoder to send
    /// as CopyRect instead of pixels.
    pub fn copy_within(&mut self, src: Rect, dst: Point) {
        let Some((src, dst)) = self.clip_copy(src, dst) else {
            return;
        };
        let stride = self.stride();
        let row_bytes = src.width as usize * 4;
        let rows: Vec<u32> = if dst.y > src.y {
            (0..src.height).rev().collect()
        } else {
            (0..src.height).collect()
        };
        let generation = self.generation + 1;
        let mut changed_any = false;
        for dy in rows {
            let from = (src.y + dy) as usize * stride + src.x as usize * 4;
            let to = (dst.y + dy) as usize * stride + dst.x as usize * 4;
            let same = match (
                self.pixels.get(from..from + row_bytes),
                self.pixels.get(to..to + row_bytes),
            ) {
                (Some(a), Some(b)) => a == b,
                _ => continue,
            };
            if same {
                continue;
            }
            self.pixels.copy_within(from..from + row_bytes, to);
            changed_any = true;
            let row_rect = Rect::new(dst.x, dst.y + dy, src.width, 1);
            self.mark(row_rect, generation);
        }
        if changed_any {
            self.generation = generation;
            if self.copies.len() == COPY_LOG {
                self.copies.remove(0);
            }
            self.copies.push(HostCopy {
                src,
                dst,
                generation,
            });
        }
    }

    /// Clips a blit so that source and destination are both on screen; returns the clipped
    /// source and its destination.
    fn clip_copy(&self, src: Rect, dst: Point) -> Option<(Rect, Point)> {
        let src_clip = src.clip(self.width, self.height)?;
        // Shift the destination by what clipping removed from the source's top-left.
        let dst = Point {
            x: dst.x.saturating_add(src_clip.x - src.x),
            y: dst.y.saturating_add(src_clip.y - src.y),
        };
        let dst_rect = Rect::new(dst.x, dst.y, src_clip.width, src_clip.height)
            .clip(self.width, self.height)?;
        // The destination can only lose its right and bottom edges (its origin is on screen).
        (dst_rect.x == dst.x && dst_rect.y == dst.y).then_some((
            Rect::new(src_clip.x, src_clip.y, dst_rect.width, dst_rect.height),
            dst,
        ))
    }

    /// Runs `write(dy, offset, segment)` for every row of `rect` (already on screen), split at
    /// cell boundaries (`offset`: the segment's byte offset inside the row) so the closure's
    /// "changed" answer marks exactly the cells that changed.
    fn paint(&mut self, rect: Rect, mut write: impl FnMut(usize, usize, &mut [u8]) -> bool) {
        let generation = self.generation + 1;
        let stride = self.stride();
        let cols = self.cols as usize;
        let mut changed = false;
        for dy in 0..rect.height {
            let y = rect.y + dy;
            let mut x = rect.x;
            while x < rect.right() {
                let seg_end = ((x / CELL + 1) * CELL).min(rect.right());
                let start = y as usize * stride + x as usize * 4;
                let end = y as usize * stride + seg_end as usize * 4;
                let offset = (x - rect.x) as usize * 4;
                let written = self
                    .pixels
                    .get_mut(start..end)
                    .is_some_and(|row| write(dy as usize, offset, row));
                if written {
                    changed = true;
                    let cell = (y / CELL) as usize * cols + (x / CELL) as usize;
                    if let Some(g) = self.cell_generation.get_mut(cell) {
                        *g = generation;
                    }
                }
                x = seg_end;
            }
        }
        if changed {
            self.generation = generation;
        }
    }

    fn mark(&mut self, rect: Rect, generation: u64) {
        let Some(rect) = rect.clip(self.width, self.height) else {
            return;
        };
        for row in rect.y / CELL..rect.bottom().div_ceil(CELL) {
            for col in rect.x / CELL..rect.right().div_ceil(CELL) {
                let i = row as usize * self.cols as usize + col as usize;
                if let Some(g) = self.cell_generation.get_mut(i) {
                    *g = generation;
                }
            }
        }
    }
}

/// Copies `src` (in `format`) over `dst` (RGBA), forcing alpha opaque; true when any pixel
/// changed.
fn convert_into(dst: &mut [u8], src: &[u8], format: PixelFormat) -> bool {
    let mut changed = false;
    for (d, s) in dst.chunks_exact_mut(4).zip(src.chunks_exact(4)) {
        let &[a, b, c, _] = s else { continue };
        let px = match format {
            PixelFormat::Rgba32 => [a, b, c, 255],
            PixelFormat::Bgrx32 => [c, b, a, 255],
        };
        if d != px {
            d.copy_from_slice(&px);
            changed = true;
        }
    }
    changed
}
