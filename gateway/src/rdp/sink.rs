//! Where a session's pictures (and host clipboard text) go: the [`DisplaySink`] trait the
//! display module implements,
//! the rectangle type it receives, and safe helpers to read pixels out of IronRDP's
//! [`DecodedImage`] (always RGBA, 4 bytes a pixel, rows of `width * 4` bytes).

use std::sync::Arc;

pub use ironrdp_graphics::pointer::DecodedPointer;
pub use ironrdp_session::image::DecodedImage;

use super::clipboard::HostClipboard;

/// A rectangle of the desktop, exclusive right and bottom edges.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rect {
    pub x: u16,
    pub y: u16,
    pub width: u16,
    pub height: u16,
}

impl Rect {
    pub fn full(width: u16, height: u16) -> Self {
        Self {
            x: 0,
            y: 0,
            width,
            height,
        }
    }

    /// From IronRDP's inclusive rectangle, clipped to a `width` × `height` desktop; `None`
    /// when nothing of it is inside.
    pub fn from_inclusive(
        r: &ironrdp_pdu::geometry::InclusiveRectangle,
        width: u16,
        height: u16,
    ) -> Option<Self> {
        if r.left > r.right || r.top > r.bottom || r.left >= width || r.top >= height {
            return None;
        }
        let right = r.right.min(width - 1);
        let bottom = r.bottom.min(height - 1);
        Some(Self {
            x: r.left,
            y: r.top,
            width: right - r.left + 1,
            height: bottom - r.top + 1,
        })
    }
}

/// A pointer (cursor) change reported by the host.
#[derive(Clone, Debug)]
pub enum PointerUpdate {
    /// The system default arrow.
    Default,
    Hidden,
    /// The host moved the pointer (rare: most hosts only change its shape).
    Position {
        x: u16,
        y: u16,
    },
    /// A new shape: RGBA pixels (`width * height * 4`, straight alpha) and hot spot.
    Bitmap(Arc<DecodedPointer>),
}

/// Receives a session's display changes. Runs on the session task: keep it quick (copy
/// pixels or merge damage, then return); encoding belongs elsewhere.
pub trait DisplaySink: Send + 'static {
    /// The desktop is now `width` × `height` (at start and after each reactivation); a full
    /// `update` follows.
    fn resize(&mut self, width: u16, height: u16);
    /// `rect` of `image` changed. `rect` is within the image.
    fn update(&mut self, rect: Rect, image: &DecodedImage);
    fn pointer(&mut self, update: PointerUpdate);
    /// The host's clipboard changed (only in sessions with a clipboard policy). A sink that
    /// does not pass clipboards on ignores it.
    fn clipboard(&mut self, event: HostClipboard) {
        let _ = event;
    }
}

/// Copies `rect` of `image` into a tightly packed RGBA buffer (`rect.width * 4` bytes a row).
/// Returns `None` when the rectangle is not inside the image.
pub fn copy_rgba(image: &DecodedImage, rect: Rect) -> Option<Vec<u8>> {
    let bpp = image.bytes_per_pixel();
    let stride = image.stride();
    let right = usize::from(rect.x) + usize::from(rect.width);
    let bottom = usize::from(rect.y) + usize::from(rect.height);
    if rect.width == 0
        || rect.height == 0
        || right > usize::from(image.width())
        || bottom > usize::from(image.height())
    {
        return None;
    }
    let row_bytes = usize::from(rect.width) * bpp;
    let mut out = Vec::with_capacity(row_bytes * usize::from(rect.height));
    let data = image.data();
    for row in usize::from(rect.y)..bottom {
        let start = row * stride + usize::from(rect.x) * bpp;
        out.extend_from_slice(data.get(start..start + row_bytes)?);
    }
    Some(out)
}

/// The RGB of one pixel, `None` outside the image.
pub fn pixel_rgb(image: &DecodedImage, x: u16, y: u16) -> Option<[u8; 3]> {
    if x >= image.width() || y >= image.height() {
        return None;
    }
    let at = usize::from(y) * image.stride() + usize::from(x) * image.bytes_per_pixel();
    let px = image.data().get(at..at + 3)?;
    Some([px[0], px[1], px[2]])
}

#[cfg(test)]
mod tests {
    use super::*;
    use ironrdp_graphics::image_processing::PixelFormat;
    use ironrdp_pdu::geometry::InclusiveRectangle;

    #[test]
    fn inclusive_rectangles_are_clipped_and_converted() {
        let r = InclusiveRectangle {
            left: 10,
            top: 20,
            right: 19,
            bottom: 29,
        };
        assert_eq!(
            Rect::from_inclusive(&r, 100, 100),
            Some(Rect {
                x: 10,
                y: 20,
                width: 10,
                height: 10
            })
        );
        let big = InclusiveRectangle {
            left: 90,
            top: 0,
            right: 500,
            bottom: 500,
        };
        assert_eq!(
            Rect::from_inclusive(&big, 100, 50),
            Some(Rect {
                x: 90,
                y: 0,
                width: 10,
                height: 50
            })
        );
        let outside = InclusiveRectangle {
            left: 100,
            top: 0,
            right: 120,
            bottom: 5,
        };
        assert_eq!(Rect::from_inclusive(&outside, 100, 50), None);
        let inverted = InclusiveRectangle {
            left: 5,
            top: 0,
            right: 4,
            bottom: 5,
        };
        assert_eq!(Rect::from_inclusive(&inverted, 100, 50), None);
    }

    #[test]
    fn copies_stay_inside_the_image() {
        let image = DecodedImage::new(PixelFormat::RgbA32, 8, 4);
        assert_eq!(
            copy_rgba(
                &image,
                Rect {
                    x: 2,
                    y: 1,
                    width: 3,
                    height: 2
                }
            )
            .map(|v| v.len()),
            Some(24)
        );
        assert_eq!(
            copy_rgba(
                &image,
                Rect {
                    x: 6,
                    y: 0,
                    width: 3,
                    height: 1
                }
            ),
            None
        );
        assert_eq!(copy_rgba(&image, Rect::full(8, 5)), None);
        assert_eq!(pixel_rgb(&image, 7, 3), Some([0, 0, 0]));
        assert_eq!(pixel_rgb(&image, 8, 0), None);
    }
}
