//! Vertical scroll detection: finds a block of rows the browser already has (in the encoder's
//! copy of the previous frame) that reappears shifted in the new frame, so the encoder can
//! send one CopyRect plus a strip for the revealed rows instead of re-encoding the area.
//!
//! Method: hash every row of the changed area in both frames (over the changed columns
//! only), let each distinctive new row vote for the shifts at which it appears in the old
//! frame, take the winning shift and its longest run of rows that match exactly.

use std::collections::HashMap;

use super::geometry::{Point, Rect};
use super::raster::{diff_bounds, row, row_hash};

/// Runs shorter than this are cheaper to send as tiles than to detect.
const MIN_RUN: u32 = 24;
/// A hash shared by more old rows than this (blank lines) is not distinctive enough to vote.
const MAX_CANDIDATES: usize = 4;

/// A detected scroll: copy `src` to `dst`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scroll {
    pub src: Rect,
    pub dst: Point,
}

/// Looks for a vertical scroll inside `area` between `old` and `new` (same size, `stride`).
pub fn detect(old: &[u8], new: &[u8], stride: usize, area: Rect) -> Option<Scroll> {
    let changed = diff_bounds(old, new, stride, area)?;
    if changed.height < MIN_RUN * 2 || changed.width < 16 {
        return None;
    }
    // Old rows may come from anywhere in the damaged area; new rows only matter where changed.
    let columns = Rect::new(changed.x, area.y, changed.width, area.height);
    let old_hashes: Vec<u64> = (0..columns.height)
        .map(|dy| row_hash(row(old, stride, columns, dy)))
        .collect();
    let new_hashes: Vec<u64> = (0..columns.height)
        .map(|dy| row_hash(row(new, stride, columns, dy)))
        .collect();

    let mut where_old: HashMap<u64, Vec<u32>> = HashMap::new();
    for (y, &h) in old_hashes.iter().enumerate() {
        where_old.entry(h).or_default().push(y as u32);
    }
    let mut votes: HashMap<i64, u32> = HashMap::new();
    let first = changed.y - area.y;
    for y in first..first + changed.height {
        let Some(h) = new_hashes.get(y as usize) else {
            continue;
        };
        if old_hashes.get(y as usize) == Some(h) {
            continue; // unchanged in place: says nothing about a shift
        }
        match where_old.get(h) {
            Some(ys) if ys.len() <= MAX_CANDIDATES => {
                for &old_y in ys {
                    *votes.entry(i64::from(y) - i64::from(old_y)).or_default() += 1;
                }
            }
            _ => {}
        }
    }
    let (&shift, &count) = votes
        .iter()
        .filter(|(shift, _)| **shift != 0)
        .max_by_key(|(shift, count)| (**count, -shift.abs()))?;
    if count < MIN_RUN / 2 {
        return None;
    }

    // Longest run of new rows y whose old row y - shift matches exactly.
    let matches = |y: u32| -> bool {
        let old_y = i64::from(y) - shift;
        if old_y < 0 || old_y >= i64::from(columns.height) {
            return false;
        }
        let old_y = old_y as u32;
        new_hashes.get(y as usize) == old_hashes.get(old_y as usize)
            && row(new, stride, columns, y) == row(old, stride, columns, old_y)
    };
    let (mut best_start, mut best_len, mut start, mut len) = (0, 0, 0, 0);
    for y in 0..columns.height {
        if matches(y) {
            if len == 0 {
                start = y;
            }
            len += 1;
            if len > best_len {
                (best_start, best_len) = (start, len);
            }
        } else {
            len = 0;
        }
    }
    if best_len < MIN_RUN {
        return None;
    }
    let src_y = (i64::from(best_start) - shift) as u32;
    Some(Scroll {
        src: Rect::new(columns.x, columns.y + src_y, columns.width, best_len),
        dst: Point {
            x: columns.x,
            y: columns.y + best_start,
        },
    })
}
