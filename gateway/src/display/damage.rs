//! Damage: which parts of the screen changed, as a bitmap of 64×64-pixel cells.
//!
//! Why a cell bitmap and not a list of disjoint rectangles: a host paints text glyph by glyph,
//! so one frame can bring thousands of tiny rectangles; a bitmap keeps memory and union cost
//! fixed (one bool per cell: 260 cells at 1280×800) however many arrive, and union while a
//! frame is in flight is a plain OR. The price is 64-pixel granularity, which the encoder
//! pays back by tightening every tile to the pixels that really differ from what the
//! browser already has.

use super::geometry::Rect;

/// Side of a damage cell in pixels.
pub const CELL: u32 = 64;

/// A set of damaged cells on a `width`×`height` screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    width: u32,
    height: u32,
    cols: u32,
    rows: u32,
    cells: Vec<bool>,
}

/// The pixel rectangle of cell (`col`, `row`) on a `width`×`height` screen, clipped.
pub fn cell_rect(col: u32, row: u32, width: u32, height: u32) -> Option<Rect> {
    Rect::new(
        col.saturating_mul(CELL),
        row.saturating_mul(CELL),
        CELL,
        CELL,
    )
    .clip(width, height)
}

impl Damage {
    /// No damage on a `width`×`height` screen.
    pub fn new(width: u32, height: u32) -> Self {
        let cols = width.div_ceil(CELL);
        let rows = height.div_ceil(CELL);
        Self {
            width,
            height,
            cols,
            rows,
            cells: vec![false; cols as usize * rows as usize],
        }
    }

    /// The whole screen damaged.
    pub fn full(width: u32, height: u32) -> Self {
        let mut damage = Self::new(width, height);
        damage.cells.fill(true);
        damage
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// Columns and rows of cells.
    pub fn grid(&self) -> (u32, u32) {
        (self.cols, self.rows)
    }

    pub fn is_empty(&self) -> bool {
        !self.cells.iter().any(|&c| c)
    }

    /// How many cells are damaged.
    pub fn cell_count(&self) -> usize {
        self.cells.iter().filter(|&&c| c).count()
    }

    /// Marks every cell `rect` touches; the part outside the screen is ignored.
    pub fn add_rect(&mut self, rect: Rect) {
        let Some(rect) = rect.clip(self.width, self.height) else {
            return;
        };
        for row in rect.y / CELL..rect.bottom().div_ceil(CELL) {
            for col in rect.x / CELL..rect.right().div_ceil(CELL) {
                self.set(col, row, true);
            }
        }
    }

    pub fn add_all(&mut self) {
        self.cells.fill(true);
    }

    pub fn clear(&mut self) {
        self.cells.fill(false);
    }

    /// Adds `other`'s damage. A different screen size means a resize happened in between, so
    /// everything is damaged.
    pub fn union(&mut self, other: &Damage) {
        if (other.width, other.height) != (self.width, self.height) {
            *self = Damage::full(other.width, other.height);
            return;
        }
        for (mine, theirs) in self.cells.iter_mut().zip(&other.cells) {
            *mine |= *theirs;
        }
    }

    pub fn contains_cell(&self, col: u32, row: u32) -> bool {
        self.index(col, row)
            .and_then(|i| self.cells.get(i).copied())
            .unwrap_or(false)
    }

    pub fn set(&mut self, col: u32, row: u32, damaged: bool) {
        if let Some(cell) = self.index(col, row).and_then(|i| self.cells.get_mut(i)) {
            *cell = damaged;
        }
    }

    /// Keeps only the cells for which `keep(col, row)` holds.
    pub fn retain(&mut self, mut keep: impl FnMut(u32, u32) -> bool) {
        for row in 0..self.rows {
            for col in 0..self.cols {
                if self.contains_cell(col, row) && !keep(col, row) {
                    self.set(col, row, false);
                }
            }
        }
    }

    /// The damaged cells, row by row.
    pub fn cells(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        let cols = self.cols.max(1);
        self.cells
            .iter()
            .enumerate()
            .filter(|(_, c)| **c)
            .map(move |(i, _)| (i as u32 % cols, i as u32 / cols))
    }

    /// The pixel rectangle of one cell, clipped to the screen.
    pub fn cell_rect(&self, col: u32, row: u32) -> Option<Rect> {
        Rect::new(
            col.saturating_mul(CELL),
            row.saturating_mul(CELL),
            CELL,
            CELL,
        )
        .clip(self.width, self.height)
    }

    /// The bounding box of all damage in pixels.
    pub fn bounds(&self) -> Option<Rect> {
        self.cells()
            .filter_map(|(c, r)| self.cell_rect(c, r))
            .reduce(|a, b| a.union(&b))
    }

    /// The damage as disjoint pixel rectangles of at most `max_width`×`max_height` (rounded
    /// up to whole cells), clipped to the screen. Greedy: grow right along a row of damaged
    /// cells, then down while the whole span below is damaged. Few large rectangles mean few
    /// tile headers and better compression than one tile per cell.
    pub fn rects(&self, max_width: u32, max_height: u32) -> Vec<Rect> {
        let max_cols = max_width.div_ceil(CELL).max(1);
        let max_rows = max_height.div_ceil(CELL).max(1);
        let mut taken = vec![false; self.cells.len()];
        let free = |taken: &[bool], col: u32, row: u32| {
            self.contains_cell(col, row)
                && self
                    .index(col, row)
                    .and_then(|i| taken.get(i))
                    .is_some_and(|t| !t)
        };
        let mut out = Vec::new();
        for row in 0..self.rows {
            for col in 0..self.cols {
                if !free(&taken, col, row) {
                    continue;
                }
                let mut span = 1;
                while span < max_cols && free(&taken, col + span, row) {
                    span += 1;
                }
                let mut height = 1;
                while height < max_rows && (col..col + span).all(|c| free(&taken, c, row + height))
                {
                    height += 1;
                }
                for r in row..row + height {
                    for c in col..col + span {
                        if let Some(t) = self.index(c, r).and_then(|i| taken.get_mut(i)) {
                            *t = true;
                        }
                    }
                }
                let rect = Rect::new(col * CELL, row * CELL, span * CELL, height * CELL);
                if let Some(rect) = rect.clip(self.width, self.height) {
                    out.push(rect);
                }
            }
        }
        out
    }

    fn index(&self, col: u32, row: u32) -> Option<usize> {
        (col < self.cols && row < self.rows)
            .then(|| row as usize * self.cols as usize + col as usize)
    }
}
