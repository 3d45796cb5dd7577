//! Screen geometry of the demo application: where every widget sits for a given desktop size.
//!
//! Both the app logic (hit-testing clicks) and the renderer (drawing) use these rectangles, so
//! they always agree. Everything is anchored to the top-left corner; only the client list and
//! the status bar follow the desktop height.
//!
//! Fixed facts a screenshot test may rely on (any desktop size of at least 800×600):
//! the title bar is `x 0..width, y 0..TITLE_BAR_HEIGHT` filled with
//! [`crate::render::TITLE_BAR_COLOR`] (#1F4E79) except where the title text is drawn
//! (left part, starting at x = 16).

/// Height of the title bar at the top of the desktop.
pub const TITLE_BAR_HEIGHT: u32 = 48;
/// Height of the status bar at the bottom of the desktop.
pub const STATUS_BAR_HEIGHT: u32 = 32;
/// Height of one row in the client list.
pub const LIST_ROW_HEIGHT: u32 = 32;
/// Number of text fields in the form.
pub const FIELD_COUNT: usize = 4;
/// Number of buttons below the form.
pub const BUTTON_COUNT: usize = 3;

/// Smallest desktop the layout is designed for.
pub const MIN_WIDTH: u16 = 800;
/// Smallest desktop the layout is designed for.
pub const MIN_HEIGHT: u16 = 600;

/// An axis-aligned rectangle in desktop pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

impl Rect {
    pub const fn new(x: u32, y: u32, width: u32, height: u32) -> Self {
        Self { x, y, width, height }
    }

    pub const fn right(&self) -> u32 {
        self.x + self.width
    }

    pub const fn bottom(&self) -> u32 {
        self.y + self.height
    }

    pub const fn contains(&self, px: u32, py: u32) -> bool {
        px >= self.x && px < self.right() && py >= self.y && py < self.bottom()
    }

    pub const fn is_empty(&self) -> bool {
        self.width == 0 || self.height == 0
    }

    /// The rectangle shrunk by `by` pixels on every side.
    pub const fn inset(&self, by: u32) -> Self {
        let dx = if self.width > 2 * by { by } else { self.width / 2 };
        let dy = if self.height > 2 * by { by } else { self.height / 2 };
        Self::new(self.x + dx, self.y + dy, self.width - 2 * dx, self.height - 2 * dy)
    }

    /// The overlap of two rectangles (empty if they do not overlap).
    pub fn intersect(&self, other: &Rect) -> Rect {
        let x = self.x.max(other.x);
        let y = self.y.max(other.y);
        let right = self.right().min(other.right());
        let bottom = self.bottom().min(other.bottom());
        if right <= x || bottom <= y {
            Rect::new(x, y, 0, 0)
        } else {
            Rect::new(x, y, right - x, bottom - y)
        }
    }
}

/// Where each widget is for one desktop size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub width: u32,
    pub height: u32,
    pub title_bar: Rect,
    /// The panel holding the "Klienter" heading and the list.
    pub list_panel: Rect,
    /// The rows area inside the list panel.
    pub list_rows: Rect,
    /// The panel holding the form heading, fields and buttons.
    pub form_panel: Rect,
    /// The label to the left of each field.
    pub labels: [Rect; FIELD_COUNT],
    /// The editable boxes.
    pub fields: [Rect; FIELD_COUNT],
    /// "Spara", "Ny", "Skriv ut".
    pub buttons: [Rect; BUTTON_COUNT],
    pub status_bar: Rect,
}

impl Layout {
    /// Computes the layout for a desktop of `width` × `height` pixels.
    ///
    /// Sizes below [`MIN_WIDTH`] × [`MIN_HEIGHT`] are laid out as if they were that size
    /// (the excess is simply clipped by the renderer).
    pub fn new(width: u16, height: u16) -> Self {
        let w = u32::from(width.max(MIN_WIDTH));
        let h = u32::from(height.max(MIN_HEIGHT));
        let content_top = TITLE_BAR_HEIGHT + 16;
        let content_bottom = h - STATUS_BAR_HEIGHT - 16;

        let list_width = if w >= 1100 { 360 } else { 280 };
        let list_panel = Rect::new(16, content_top, list_width, content_bottom - content_top);
        let list_rows = Rect::new(
            list_panel.x + 1,
            list_panel.y + 44,
            list_panel.width - 2,
            list_panel.height - 45,
        );

        let form_x = list_panel.right() + 16;
        let form_panel = Rect::new(form_x, content_top, w - form_x - 16, 320);
        let label_x = form_x + 16;
        let field_x = label_x + 130;
        let field_w = (w - 32 - field_x).min(480);
        let mut labels = [Rect::new(0, 0, 0, 0); FIELD_COUNT];
        let mut fields = [Rect::new(0, 0, 0, 0); FIELD_COUNT];
        for (i, (label, field)) in labels.iter_mut().zip(fields.iter_mut()).enumerate() {
            let y = form_panel.y + 52 + 48 * u32::try_from(i).unwrap_or(0);
            *label = Rect::new(label_x, y, 130, 32);
            *field = Rect::new(field_x, y, field_w, 32);
        }

        let button_y = form_panel.y + 52 + 48 * 4 + 12;
        let buttons = [
            Rect::new(field_x, button_y, 100, 36),
            Rect::new(field_x + 110, button_y, 100, 36),
            Rect::new(field_x + 220, button_y, 100, 36),
        ];

        Self {
            width: w,
            height: h,
            title_bar: Rect::new(0, 0, w, TITLE_BAR_HEIGHT),
            list_panel,
            list_rows,
            form_panel,
            labels,
            fields,
            buttons,
            status_bar: Rect::new(0, h - STATUS_BAR_HEIGHT, w, STATUS_BAR_HEIGHT),
        }
    }

    /// The whole desktop.
    #[cfg(test)]
    pub fn screen(&self) -> Rect {
        Rect::new(0, 0, self.width, self.height)
    }

    /// How many list rows fit on screen.
    pub fn visible_rows(&self) -> usize {
        usize::try_from(self.list_rows.height / LIST_ROW_HEIGHT).unwrap_or(0)
    }

    /// The rectangle of list row `index` (which may be off the visible area).
    pub fn list_row(&self, index: usize) -> Rect {
        let i = u32::try_from(index).unwrap_or(u32::MAX / LIST_ROW_HEIGHT);
        Rect::new(
            self.list_rows.x,
            self.list_rows.y.saturating_add(i.saturating_mul(LIST_ROW_HEIGHT)),
            self.list_rows.width,
            LIST_ROW_HEIGHT,
        )
    }

    /// The visible list row under a point, if any.
    pub fn list_row_at(&self, x: u32, y: u32) -> Option<usize> {
        if !self.list_rows.contains(x, y) {
            return None;
        }
        let index = usize::try_from((y - self.list_rows.y) / LIST_ROW_HEIGHT).ok()?;
        (index < self.visible_rows()).then_some(index)
    }

    /// The field under a point, if any.
    pub fn field_at(&self, x: u32, y: u32) -> Option<usize> {
        self.fields.iter().position(|r| r.contains(x, y))
    }

    /// The button under a point, if any.
    pub fn button_at(&self, x: u32, y: u32) -> Option<usize> {
        self.buttons.iter().position(|r| r.contains(x, y))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widgets_fit_on_the_smallest_screen() {
        let l = Layout::new(MIN_WIDTH, MIN_HEIGHT);
        let screen = l.screen();
        for r in l.fields.iter().chain(l.buttons.iter()).chain(l.labels.iter()) {
            assert_eq!(screen.intersect(r), *r, "{r:?} is off screen");
        }
        assert!(l.form_panel.bottom() < l.status_bar.y);
        assert!(l.visible_rows() >= 8);
    }

    #[test]
    fn hit_testing() {
        let l = Layout::new(1280, 800);
        let f = l.fields[2];
        assert_eq!(l.field_at(f.x + 3, f.y + 3), Some(2));
        let b = l.buttons[1];
        assert_eq!(l.button_at(b.x + 1, b.y + 1), Some(1));
        let row = l.list_row(3);
        assert_eq!(l.list_row_at(row.x + 10, row.y + 5), Some(3));
        assert_eq!(l.list_row_at(0, 0), None);
        assert_eq!(l.field_at(0, 0), None);
    }

    #[test]
    fn rect_math() {
        let a = Rect::new(0, 0, 10, 10);
        let b = Rect::new(5, 5, 10, 10);
        assert_eq!(a.intersect(&b), Rect::new(5, 5, 5, 5));
        assert!(a.intersect(&Rect::new(20, 20, 1, 1)).is_empty());
        assert_eq!(a.inset(2), Rect::new(2, 2, 6, 6));
    }
}
