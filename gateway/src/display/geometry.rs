//! Pixel rectangles and points. Rectangles that arrive from a host are input: every operation
//! here saturates instead of overflowing, and [`Rect::clip`] is how callers bring them inside
//! the screen before touching pixels.

/// A rectangle in screen pixels: left, top, width, height.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

/// A position in screen pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Point {
    pub x: u32,
    pub y: u32,
}

impl Rect {
    pub const fn new(x: u32, y: u32, width: u32, height: u32) -> Self {
        Self {
            x,
            y,
            width,
            height,
        }
    }

    /// Exclusive right edge; saturates so a hostile `x + width` cannot wrap.
    pub const fn right(&self) -> u32 {
        self.x.saturating_add(self.width)
    }

    /// Exclusive bottom edge; saturates like [`Rect::right`].
    pub const fn bottom(&self) -> u32 {
        self.y.saturating_add(self.height)
    }

    pub const fn is_empty(&self) -> bool {
        self.width == 0 || self.height == 0
    }

    /// Pixel count, in u64 so 65535×65535 does not overflow.
    pub const fn area(&self) -> u64 {
        self.width as u64 * self.height as u64
    }

    /// The part of `self` inside `other`, or `None` when they do not overlap.
    pub fn intersect(&self, other: &Rect) -> Option<Rect> {
        let x = self.x.max(other.x);
        let y = self.y.max(other.y);
        let right = self.right().min(other.right());
        let bottom = self.bottom().min(other.bottom());
        (right > x && bottom > y).then(|| Rect::new(x, y, right - x, bottom - y))
    }

    /// The part of `self` on a `width`×`height` screen.
    pub fn clip(&self, width: u32, height: u32) -> Option<Rect> {
        self.intersect(&Rect::new(0, 0, width, height))
    }

    /// The smallest rectangle holding both (an empty side is ignored).
    pub fn union(&self, other: &Rect) -> Rect {
        if self.is_empty() {
            return *other;
        }
        if other.is_empty() {
            return *self;
        }
        let x = self.x.min(other.x);
        let y = self.y.min(other.y);
        Rect::new(
            x,
            y,
            self.right().max(other.right()) - x,
            self.bottom().max(other.bottom()) - y,
        )
    }

    pub fn contains_rect(&self, other: &Rect) -> bool {
        other.x >= self.x
            && other.y >= self.y
            && other.right() <= self.right()
            && other.bottom() <= self.bottom()
    }
}
