//! Helpers over packed RGBA buffers (`stride` bytes per row) that the encoder and the scroll
//! detector share. Rectangles passed here are already clipped to the buffer; slicing still
//! goes through `get` so a mistake degrades to "no pixels", never a panic.

use super::geometry::{Point, Rect};

/// The bytes of `rect`'s row `dy` inside `buf`.
pub fn row(buf: &[u8], stride: usize, rect: Rect, dy: u32) -> &[u8] {
    let start = (rect.y + dy) as usize * stride + rect.x as usize * 4;
    buf.get(start..start + rect.width as usize * 4)
        .unwrap_or(&[])
}

/// `rect` cut out of `buf` as tightly packed RGBA.
pub fn extract(buf: &[u8], stride: usize, rect: Rect) -> Vec<u8> {
    let mut out = Vec::with_capacity(rect.area() as usize * 4);
    for dy in 0..rect.height {
        out.extend_from_slice(row(buf, stride, rect, dy));
    }
    out
}

/// Copies `rect` from `src` into the same place in `dst` (both with `stride`).
pub fn copy_rect(dst: &mut [u8], src: &[u8], stride: usize, rect: Rect) {
    for dy in 0..rect.height {
        let start = (rect.y + dy) as usize * stride + rect.x as usize * 4;
        let end = start + rect.width as usize * 4;
        if let (Some(d), Some(s)) = (dst.get_mut(start..end), src.get(start..end)) {
            d.copy_from_slice(s);
        }
    }
}

/// A blit inside one buffer; `src` and the destination may overlap.
pub fn blit(buf: &mut [u8], stride: usize, src: Rect, dst: Point) {
    let row_bytes = src.width as usize * 4;
    let order: Box<dyn Iterator<Item = u32>> = if dst.y > src.y {
        Box::new((0..src.height).rev())
    } else {
        Box::new(0..src.height)
    };
    for dy in order {
        let from = (src.y + dy) as usize * stride + src.x as usize * 4;
        let to = (dst.y + dy) as usize * stride + dst.x as usize * 4;
        if from + row_bytes <= buf.len() && to + row_bytes <= buf.len() {
            buf.copy_within(from..from + row_bytes, to);
        }
    }
}

/// The bounding box of the pixels inside `rect` where `a` and `b` differ.
pub fn diff_bounds(a: &[u8], b: &[u8], stride: usize, rect: Rect) -> Option<Rect> {
    let mut bounds: Option<Rect> = None;
    for dy in 0..rect.height {
        let ra = row(a, stride, rect, dy);
        let rb = row(b, stride, rect, dy);
        if ra == rb {
            continue;
        }
        let mut pairs = ra.chunks_exact(4).zip(rb.chunks_exact(4));
        let first = pairs.position(|(p, q)| p != q).unwrap_or(0) as u32;
        let last = ra
            .chunks_exact(4)
            .zip(rb.chunks_exact(4))
            .rposition(|(p, q)| p != q)
            .unwrap_or(first as usize) as u32;
        let line = Rect::new(rect.x + first, rect.y + dy, last - first + 1, 1);
        bounds = Some(bounds.map_or(line, |b| b.union(&line)));
    }
    bounds
}

/// A fast 64-bit hash of a row (xxHash-style lanes of multiply-rotate). Only a prefilter:
/// every match it suggests is verified byte for byte.
pub fn row_hash(bytes: &[u8]) -> u64 {
    const P1: u64 = 0x9E37_79B1_85EB_CA87;
    const P2: u64 = 0xC2B2_AE3D_27D4_EB4F;
    let mut lanes = [P1, P2, P1 ^ P2, P2.rotate_left(17)];
    let mut chunks = bytes.chunks_exact(32);
    for chunk in &mut chunks {
        for (lane, word) in lanes.iter_mut().zip(chunk.chunks_exact(8)) {
            let mut w = [0u8; 8];
            w.copy_from_slice(word);
            *lane = (*lane ^ u64::from_le_bytes(w).wrapping_mul(P2))
                .rotate_left(31)
                .wrapping_mul(P1);
        }
    }
    let mut h = lanes.iter().fold(bytes.len() as u64, |h, l| {
        (h ^ l).wrapping_mul(P1).rotate_left(27)
    });
    for &b in chunks.remainder() {
        h = (h ^ u64::from(b)).wrapping_mul(P1);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(P2);
    h ^ (h >> 29)
}
