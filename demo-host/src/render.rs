//! Draws the application state into a 32-bit framebuffer with a real text renderer.
//!
//! Text is rasterised from the embedded DejaVu Sans fonts (`assets/`, Bitstream Vera licence)
//! with `ab_glyph`, anti-aliased and blended onto the background. Each widget is drawn only
//! inside its own rectangle, so a partial redraw ([`Renderer::draw_damage`]) touches exactly
//! the rectangles it reports back — those become the RDP bitmap updates.
//!
//! Pixels are stored as B, G, R, X bytes (`PixelFormat::BgrX32` in IronRDP terms).

use ab_glyph::{Font as _, FontRef, GlyphId, PxScale, ScaleFont as _, point};

use crate::app::{App, BUTTON_LABELS, Damage, FIELD_LABELS};
use crate::layout::{LIST_ROW_HEIGHT, Rect};

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

/// Fill of the title bar: a strong blue, #1F4E79. Tests look for exactly this colour.
pub const TITLE_BAR_COLOR: Rgb = Rgb(0x1F, 0x4E, 0x79);
/// The desktop background behind the panels.
pub const BACKGROUND_COLOR: Rgb = Rgb(0xF3, 0xF3, 0xF3);
/// Fill of the status bar at the bottom.
pub const STATUS_BAR_COLOR: Rgb = Rgb(0xDD, 0xE6, 0xEE);
/// The title text, white.
pub const TITLE_TEXT_COLOR: Rgb = Rgb(0xFF, 0xFF, 0xFF);
/// The title shown in the title bar.
pub const TITLE: &str = "Procapita – Klientregister";
/// Smaller text on the right of the title bar.
pub const TITLE_RIGHT: &str = "Demo kommun · Socialtjänst";

const PANEL: Rgb = Rgb(0xFF, 0xFF, 0xFF);
const PANEL_BORDER: Rgb = Rgb(0xB4, 0xB4, 0xB4);
const PANEL_HEADER: Rgb = Rgb(0xE9, 0xEE, 0xF4);
const TEXT: Rgb = Rgb(0x1A, 0x1A, 0x1A);
const TEXT_MUTED: Rgb = Rgb(0x5F, 0x5F, 0x5F);
const SELECTED_ROW: Rgb = Rgb(0xCC, 0xE4, 0xF7);
const ROW_SEPARATOR: Rgb = Rgb(0xEC, 0xEC, 0xEC);
const FIELD_BORDER: Rgb = Rgb(0x8A, 0x8A, 0x8A);
const FOCUS: Rgb = Rgb(0x2E, 0x75, 0xB6);
const FIELD_FOCUS_FILL: Rgb = Rgb(0xFF, 0xFE, 0xF2);
const BUTTON: Rgb = Rgb(0xE1, 0xE1, 0xE1);
const BUTTON_BORDER: Rgb = Rgb(0xAD, 0xAD, 0xAD);
const TITLE_RIGHT_COLOR: Rgb = Rgb(0xDC, 0xE6, 0xF0);

const REGULAR_TTF: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
const BOLD_TTF: &[u8] = include_bytes!("../assets/DejaVuSans-Bold.ttf");

/// The embedded fonts could not be parsed (a broken build, never user input).
#[derive(Debug, thiserror::Error)]
#[error("embedded font is invalid: {0}")]
pub struct FontError(#[from] ab_glyph::InvalidFont);

/// A BGRX framebuffer.
#[derive(Clone)]
pub struct Canvas {
    width: u32,
    height: u32,
    data: Vec<u8>,
}

impl Canvas {
    pub fn new(width: u16, height: u16) -> Self {
        let (width, height) = (u32::from(width), u32::from(height));
        let len = usize::try_from(u64::from(width) * u64::from(height) * 4).unwrap_or(0);
        Self {
            width,
            height,
            data: vec![0xFF; len],
        }
    }

    #[cfg(test)]
    pub fn width(&self) -> u32 {
        self.width
    }

    #[cfg(test)]
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Bytes per row.
    pub fn stride(&self) -> usize {
        usize::try_from(self.width).unwrap_or(0) * 4
    }

    pub fn bounds(&self) -> Rect {
        Rect::new(0, 0, self.width, self.height)
    }

    fn offset(&self, x: u32, y: u32) -> usize {
        let (x, y) = (usize::try_from(x).unwrap_or(0), usize::try_from(y).unwrap_or(0));
        y * self.stride() + x * 4
    }

    /// The colour at (x, y), `None` outside the canvas.
    #[cfg(test)]
    pub fn pixel(&self, x: u32, y: u32) -> Option<Rgb> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let o = self.offset(x, y);
        Some(Rgb(self.data[o + 2], self.data[o + 1], self.data[o]))
    }

    /// Fills `rect` (clipped to `clip` and the canvas).
    pub fn fill(&mut self, rect: Rect, clip: Rect, color: Rgb) {
        let r = rect.intersect(&clip).intersect(&self.bounds());
        if r.is_empty() {
            return;
        }
        let px = [color.2, color.1, color.0, 0xFF];
        for y in r.y..r.bottom() {
            let start = self.offset(r.x, y);
            let end = self.offset(r.right(), y);
            for chunk in self.data[start..end].chunks_exact_mut(4) {
                chunk.copy_from_slice(&px);
            }
        }
    }

    /// Draws a `thickness`-pixel frame along the inside edge of `rect`.
    pub fn frame(&mut self, rect: Rect, clip: Rect, thickness: u32, color: Rgb) {
        let t = thickness.min(rect.width / 2).min(rect.height / 2);
        self.fill(Rect::new(rect.x, rect.y, rect.width, t), clip, color);
        self.fill(Rect::new(rect.x, rect.bottom() - t, rect.width, t), clip, color);
        self.fill(Rect::new(rect.x, rect.y, t, rect.height), clip, color);
        self.fill(Rect::new(rect.right() - t, rect.y, t, rect.height), clip, color);
    }

    /// Blends `color` over the pixel at (x, y) with `coverage` in 0..=1, if inside `clip`.
    fn blend(&mut self, x: i64, y: i64, clip: &Rect, color: Rgb, coverage: f32) {
        let (Ok(x), Ok(y)) = (u32::try_from(x), u32::try_from(y)) else {
            return;
        };
        if !clip.contains(x, y) || x >= self.width || y >= self.height {
            return;
        }
        let a = coverage.clamp(0.0, 1.0);
        let o = self.offset(x, y);
        for (i, c) in [color.2, color.1, color.0].into_iter().enumerate() {
            let dst = f32::from(self.data[o + i]);
            let v = dst + (f32::from(c) - dst) * a;
            // In 0..=255 by construction; the float→int cast saturates anyway.
            self.data[o + i] = v.round().clamp(0.0, 255.0) as u8;
        }
    }

    /// Copies out `rect` (which must lie inside the canvas) as tightly packed BGRX rows.
    pub fn crop(&self, rect: Rect) -> Vec<u8> {
        let r = rect.intersect(&self.bounds());
        let row_len = usize::try_from(r.width).unwrap_or(0) * 4;
        let mut out = Vec::with_capacity(row_len * usize::try_from(r.height).unwrap_or(0));
        for y in r.y..r.bottom() {
            let start = self.offset(r.x, y);
            out.extend_from_slice(&self.data[start..start + row_len]);
        }
        out
    }
}

/// Horizontal placement of a text run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Center,
    Right,
}

/// Font weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    Regular,
    Bold,
}

/// Size, weight and colour of a text run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextStyle {
    pub size: f32,
    pub weight: Weight,
    pub color: Rgb,
}

impl TextStyle {
    pub const fn new(size: f32, weight: Weight, color: Rgb) -> Self {
        Self { size, weight, color }
    }
}

const TITLE_STYLE: TextStyle = TextStyle::new(20.0, Weight::Bold, TITLE_TEXT_COLOR);
const TITLE_RIGHT_STYLE: TextStyle = TextStyle::new(14.0, Weight::Regular, TITLE_RIGHT_COLOR);
const HEADING_STYLE: TextStyle = TextStyle::new(16.0, Weight::Bold, TEXT);
const LABEL_STYLE: TextStyle = TextStyle::new(15.0, Weight::Regular, TEXT_MUTED);
const BODY_STYLE: TextStyle = TextStyle::new(15.0, Weight::Regular, TEXT);
const SMALL_STYLE: TextStyle = TextStyle::new(12.0, Weight::Regular, TEXT_MUTED);
const STATUS_STYLE: TextStyle = TextStyle::new(14.0, Weight::Regular, TEXT);

/// Draws [`App`] state with the embedded fonts.
pub struct Renderer {
    regular: FontRef<'static>,
    bold: FontRef<'static>,
}

impl Renderer {
    pub fn new() -> Result<Self, FontError> {
        Ok(Self {
            regular: FontRef::try_from_slice(REGULAR_TTF)?,
            bold: FontRef::try_from_slice(BOLD_TTF)?,
        })
    }

    fn font(&self, weight: Weight) -> &FontRef<'static> {
        match weight {
            Weight::Regular => &self.regular,
            Weight::Bold => &self.bold,
        }
    }

    /// Width in pixels of `text` at `size` px.
    pub fn text_width(&self, text: &str, size: f32, weight: Weight) -> f32 {
        let font = self.font(weight).as_scaled(PxScale::from(size));
        let mut width = 0.0;
        let mut prev: Option<GlyphId> = None;
        for c in text.chars() {
            let id = font.glyph_id(c);
            if let Some(p) = prev {
                width += font.kern(p, id);
            }
            width += font.h_advance(id);
            prev = Some(id);
        }
        width
    }

    /// Draws one line of text with its left end at `x` and baseline at `baseline`, clipped to
    /// `clip`. Returns the x just after the last glyph.
    pub fn draw_text(
        &self,
        canvas: &mut Canvas,
        text: &str,
        (x, baseline): (f32, f32),
        style: TextStyle,
        clip: Rect,
    ) -> f32 {
        let TextStyle { size, weight, color } = style;
        let font = self.font(weight);
        let scaled = font.as_scaled(PxScale::from(size));
        let mut caret = x;
        let mut prev: Option<GlyphId> = None;
        for c in text.chars() {
            let id = scaled.glyph_id(c);
            if let Some(p) = prev {
                caret += scaled.kern(p, id);
            }
            let glyph = id.with_scale_and_position(size, point(caret, baseline));
            caret += scaled.h_advance(id);
            prev = Some(id);
            let Some(outlined) = font.outline_glyph(glyph) else {
                continue; // whitespace
            };
            let bounds = outlined.px_bounds();
            // Glyph bounds are small, finite pixel coordinates.
            let (left, top) = (bounds.min.x as i64, bounds.min.y as i64);
            outlined.draw(|gx, gy, coverage| {
                canvas.blend(left + i64::from(gx), top + i64::from(gy), &clip, color, coverage);
            });
        }
        caret
    }

    /// Draws `text` vertically centred in `rect`, aligned horizontally with `pad` pixels of
    /// padding, clipped to `rect`. Returns the x just after the text.
    fn text_in(
        &self,
        canvas: &mut Canvas,
        text: &str,
        rect: Rect,
        (pad, align): (f32, Align),
        style: TextStyle,
    ) -> f32 {
        let TextStyle { size, weight, .. } = style;
        let scaled = self.font(weight).as_scaled(PxScale::from(size));
        let text_height = scaled.ascent() - scaled.descent();
        let top = rect.y as f32 + (rect.height as f32 - text_height) / 2.0;
        let baseline = (top + scaled.ascent()).round();
        let width = self.text_width(text, size, weight);
        let x = match align {
            Align::Left => rect.x as f32 + pad,
            Align::Center => rect.x as f32 + ((rect.width as f32 - width) / 2.0).max(pad),
            Align::Right => rect.right() as f32 - pad - width,
        };
        self.draw_text(canvas, text, (x.round(), baseline), style, rect)
    }

    /// Draws the whole screen.
    pub fn draw_all(&self, canvas: &mut Canvas, app: &App) {
        let l = app.layout();
        let screen = canvas.bounds();
        canvas.fill(screen, screen, BACKGROUND_COLOR);

        // Title bar.
        canvas.fill(l.title_bar, screen, TITLE_BAR_COLOR);
        let title_rect = Rect::new(0, 0, l.width / 2, l.title_bar.height);
        self.text_in(canvas, TITLE, title_rect, (16.0, Align::Left), TITLE_STYLE);
        let right = Rect::new(l.width - 320, 0, 320, l.title_bar.height);
        self.text_in(canvas, TITLE_RIGHT, right, (16.0, Align::Right), TITLE_RIGHT_STYLE);

        // Client list panel.
        self.panel(canvas, l.list_panel, "Klienter");
        self.draw_list(canvas, app);

        // Form panel.
        self.panel(canvas, l.form_panel, "Klientuppgifter");
        for (label, rect) in FIELD_LABELS.iter().zip(l.labels) {
            self.text_in(canvas, label, rect, (0.0, Align::Left), LABEL_STYLE);
        }
        for i in 0..l.fields.len() {
            self.draw_field(canvas, app, i);
        }
        for (i, (label, rect)) in BUTTON_LABELS.iter().zip(l.buttons).enumerate() {
            let (fill, text) = if i == 0 { (FOCUS, PANEL) } else { (BUTTON, TEXT) };
            canvas.fill(rect, rect, fill);
            canvas.frame(rect, rect, 1, if i == 0 { TITLE_BAR_COLOR } else { BUTTON_BORDER });
            self.text_in(
                canvas,
                label,
                rect,
                (4.0, Align::Center),
                TextStyle::new(15.0, Weight::Bold, text),
            );
        }

        self.draw_status(canvas, app);
    }

    /// Redraws what `damage` names and returns the rectangles that changed.
    pub fn draw_damage(&self, canvas: &mut Canvas, app: &App, damage: &Damage) -> Vec<Rect> {
        let l = app.layout();
        let mut rects = Vec::new();
        if damage.list {
            self.draw_list(canvas, app);
            rects.push(l.list_rows);
        }
        for (i, damaged) in damage.fields.iter().enumerate() {
            if *damaged {
                self.draw_field(canvas, app, i);
                rects.push(l.fields[i]);
            }
        }
        if damage.status {
            self.draw_status(canvas, app);
            rects.push(l.status_bar);
        }
        let bounds = canvas.bounds();
        rects
            .into_iter()
            .map(|r| r.intersect(&bounds))
            .filter(|r| !r.is_empty())
            .collect()
    }

    fn panel(&self, canvas: &mut Canvas, rect: Rect, heading: &str) {
        canvas.fill(rect, rect, PANEL);
        let header = Rect::new(rect.x, rect.y, rect.width, 44);
        canvas.fill(header, rect, PANEL_HEADER);
        canvas.fill(
            Rect::new(rect.x, header.bottom() - 1, rect.width, 1),
            rect,
            PANEL_BORDER,
        );
        canvas.frame(rect, rect, 1, PANEL_BORDER);
        self.text_in(canvas, heading, header, (14.0, Align::Left), HEADING_STYLE);
    }

    fn draw_list(&self, canvas: &mut Canvas, app: &App) {
        let l = app.layout();
        let area = l.list_rows;
        canvas.fill(area, area, PANEL);
        for (i, client) in app.clients().iter().take(l.visible_rows()).enumerate() {
            let row = l.list_row(i);
            if app.selected() == Some(i) {
                canvas.fill(row, area, SELECTED_ROW);
                canvas.fill(Rect::new(row.x, row.y, 4, row.height), area, TITLE_BAR_COLOR);
            }
            canvas.fill(Rect::new(row.x, row.bottom() - 1, row.width, 1), area, ROW_SEPARATOR);
            let name_rect = Rect::new(row.x, row.y, row.width.saturating_sub(130), LIST_ROW_HEIGHT);
            self.text_in(
                canvas,
                client.name(),
                name_rect.intersect(&area),
                (12.0, Align::Left),
                BODY_STYLE,
            );
            self.text_in(
                canvas,
                client.personnummer(),
                row.intersect(&area),
                (10.0, Align::Right),
                SMALL_STYLE,
            );
        }
    }

    fn draw_field(&self, canvas: &mut Canvas, app: &App, index: usize) {
        let Some(&rect) = app.layout().fields.get(index) else {
            return;
        };
        let focused = app.focus() == Some(index);
        canvas.fill(rect, rect, if focused { FIELD_FOCUS_FILL } else { PANEL });
        if focused {
            canvas.frame(rect, rect, 2, FOCUS);
        } else {
            canvas.frame(rect, rect, 1, FIELD_BORDER);
        }
        let inner = rect.inset(2);
        let end = self.text_in(canvas, app.field(index), inner, (6.0, Align::Left), BODY_STYLE);
        if focused {
            // The caret: a 1 px bar just after the text.
            let x = (end.ceil() as u32 + 1).min(inner.right().saturating_sub(2));
            canvas.fill(Rect::new(x, rect.y + 7, 1, rect.height - 14), inner, TEXT);
        }
    }

    fn draw_status(&self, canvas: &mut Canvas, app: &App) {
        let rect = app.layout().status_bar;
        canvas.fill(rect, rect, STATUS_BAR_COLOR);
        canvas.fill(Rect::new(rect.x, rect.y, rect.width, 1), rect, PANEL_BORDER);
        self.text_in(canvas, app.status(), rect, (16.0, Align::Left), STATUS_STYLE);
        self.text_in(canvas, "Hamn demovärd", rect, (16.0, Align::Right), SMALL_STYLE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::Event;

    fn rendered(app: &App) -> (Renderer, Canvas) {
        let r = Renderer::new().unwrap();
        let l = app.layout();
        let mut c = Canvas::new(u16::try_from(l.width).unwrap(), u16::try_from(l.height).unwrap());
        r.draw_all(&mut c, app);
        (r, c)
    }

    fn colors_in(c: &Canvas, rect: Rect) -> std::collections::HashSet<(u8, u8, u8)> {
        let mut set = std::collections::HashSet::new();
        for y in rect.y..rect.bottom() {
            for x in rect.x..rect.right() {
                let p = c.pixel(x, y).unwrap();
                set.insert((p.0, p.1, p.2));
            }
        }
        set
    }

    #[test]
    fn title_bar_has_exact_colour_and_title_text() {
        let app = App::new(1280, 800);
        let (r, c) = rendered(&app);
        // Documented pure-colour region of the title bar.
        for y in 4..44 {
            for x in 640..960 {
                assert_eq!(c.pixel(x, y), Some(TITLE_BAR_COLOR), "({x},{y})");
            }
        }
        // Where the title is written, the pixels are not uniform and include white strokes.
        let width = r.text_width(TITLE, 20.0, Weight::Bold);
        assert!(width > 200.0 && width < 320.0, "title width {width}");
        let text_area = Rect::new(16, 10, 250, 28);
        let colors = colors_in(&c, text_area);
        assert!(colors.len() > 10, "anti-aliased text has many shades: {}", colors.len());
        assert!(colors.contains(&(0xFF, 0xFF, 0xFF)));
        assert!(colors.contains(&(0x1F, 0x4E, 0x79)));
    }

    #[test]
    fn text_renders_swedish_glyphs() {
        let r = Renderer::new().unwrap();
        // The topmost row with ink, for a text drawn at baseline 40.
        let top_ink = |text: &str| {
            let mut c = Canvas::new(200, 60);
            let clip = c.bounds();
            c.fill(clip, clip, PANEL);
            r.draw_text(
                &mut c,
                text,
                (10.0, 40.0),
                TextStyle::new(20.0, Weight::Regular, TEXT),
                clip,
            );
            (0..60).find(|&y| (0..200).any(|x| c.pixel(x, y) != Some(PANEL)))
        };
        let plain = top_ink("AAO").unwrap();
        let swedish = top_ink("ÅÄÖ").unwrap();
        assert!(
            swedish + 2 < plain,
            "ring and dots are drawn above the capitals ({swedish} vs {plain})"
        );
        assert_eq!(top_ink("   "), None, "spaces draw nothing");
    }

    #[test]
    fn partial_redraw_reports_only_damaged_rects() {
        let mut app = App::new(1280, 800);
        let (r, mut c) = rendered(&app);
        let before = c.clone();
        app.handle(Event::Key(crate::app::Key::Tab));
        let damage = app.handle(Event::Text('ö'));
        let rects = r.draw_damage(&mut c, &app, &damage);
        assert_eq!(rects, vec![app.layout().fields[0]]);
        // Everything outside the reported rectangle is untouched.
        let field = app.layout().fields[0];
        let mut changed_inside = false;
        for y in 0..c.height() {
            for x in 0..c.width() {
                let differs = c.pixel(x, y) != before.pixel(x, y);
                if field.contains(x, y) {
                    changed_inside |= differs;
                } else {
                    assert!(!differs, "pixel ({x},{y}) changed outside the damage");
                }
            }
        }
        assert!(changed_inside);
    }

    #[test]
    fn crop_is_tightly_packed() {
        let mut c = Canvas::new(8, 4);
        let b = c.bounds();
        c.fill(b, b, Rgb(1, 2, 3));
        c.fill(Rect::new(2, 1, 2, 2), b, Rgb(9, 8, 7));
        let data = c.crop(Rect::new(2, 1, 2, 2));
        assert_eq!(data, [7, 8, 9, 0xFF].repeat(4));
        assert_eq!(c.pixel(0, 0), Some(Rgb(1, 2, 3)));
        assert_eq!(c.pixel(8, 0), None);
    }
}
