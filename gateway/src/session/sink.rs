//! The RDP leg's [`DisplaySink`] for a browser session: paints the host's updates into a
//! [`Framebuffer`] shared with the websocket task behind a mutex. The sink only copies
//! pixels; encoding happens on the websocket side, once per pacing tick.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::display::{Framebuffer, PixelFormat, Rect};
use crate::rdp::{DecodedImage, DisplaySink, PointerUpdate};

/// The session's screen: the framebuffer both sides use.
#[derive(Clone)]
pub struct SharedScreen {
    framebuffer: Arc<Mutex<Framebuffer>>,
}

impl SharedScreen {
    /// A black screen of the host's size.
    pub fn new(width: u16, height: u16) -> Result<Self, crate::display::DisplayError> {
        let framebuffer =
            Framebuffer::new(u32::from(width), u32::from(height), PixelFormat::Rgba32)?;
        Ok(Self {
            framebuffer: Arc::new(Mutex::new(framebuffer)),
        })
    }

    /// Locks the framebuffer. A panic while it was held left whole pixels behind (every
    /// write is a plain copy), so a poisoned lock is still usable.
    pub fn lock(&self) -> MutexGuard<'_, Framebuffer> {
        self.framebuffer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The sink to hand to [`crate::rdp::RdpSession::start`].
    pub fn sink(&self) -> ScreenSink {
        ScreenSink {
            screen: self.clone(),
        }
    }
}

/// Writes RDP updates into a [`SharedScreen`].
pub struct ScreenSink {
    screen: SharedScreen,
}

impl DisplaySink for ScreenSink {
    fn resize(&mut self, width: u16, height: u16) {
        if let Err(error) = self
            .screen
            .lock()
            .resize(u32::from(width), u32::from(height))
        {
            tracing::warn!(%error, width, height, "host desktop size refused by the framebuffer");
        }
    }

    fn update(&mut self, rect: crate::rdp::Rect, image: &DecodedImage) {
        let bpp = image.bytes_per_pixel();
        if bpp != 4 {
            tracing::warn!(bpp, "unexpected host image pixel size; update dropped");
            return;
        }
        let stride = image.stride();
        let start = usize::from(rect.y) * stride + usize::from(rect.x) * bpp;
        let Some(pixels) = image.data().get(start..) else {
            return;
        };
        let target = Rect::new(
            u32::from(rect.x),
            u32::from(rect.y),
            u32::from(rect.width),
            u32::from(rect.height),
        );
        if let Err(error) = self.screen.lock().write_rect(target, pixels, stride) {
            tracing::warn!(%error, "host update dropped");
        }
    }

    fn pointer(&mut self, _update: PointerUpdate) {
        // Cursor shapes travel outside frames; the endpoint does not forward them yet and
        // the viewer shows its own arrow.
    }
}
