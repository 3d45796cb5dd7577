//! The RDP leg's [`DisplaySink`] for a browser session: paints the host's updates into a
//! [`Framebuffer`] shared with the session task behind a mutex, and keeps the latest
//! pointer (cursor) so it can be sent at once and again after a resume. The sink only
//! copies; encoding happens on the session side, once per pacing tick.

use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use crate::display::{Framebuffer, PixelFormat, Rect};
use crate::rdp::{DecodedImage, DisplaySink, PointerUpdate};

/// The session's screen: the framebuffer both sides use, and the pointer.
#[derive(Clone)]
pub struct SharedScreen {
    framebuffer: Arc<Mutex<Framebuffer>>,
    pointer: Arc<PointerCell>,
}

/// The host's latest pointer, numbered so a reader can tell whether it has seen it.
#[derive(Default)]
struct PointerCell {
    latest: Mutex<(u64, Option<PointerUpdate>)>,
    changed: Notify,
}

impl SharedScreen {
    /// A black screen of the host's size.
    pub fn new(width: u16, height: u16) -> Result<Self, crate::display::DisplayError> {
        let framebuffer =
            Framebuffer::new(u32::from(width), u32::from(height), PixelFormat::Rgba32)?;
        Ok(Self {
            framebuffer: Arc::new(Mutex::new(framebuffer)),
            pointer: Arc::default(),
        })
    }

    /// The pointer if it changed after `seen` (0: never seen), with its number.
    pub fn pointer_since(&self, seen: u64) -> Option<(u64, PointerUpdate)> {
        let latest = self
            .pointer
            .latest
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match &*latest {
            (seq, Some(update)) if *seq > seen => Some((*seq, update.clone())),
            _ => None,
        }
    }

    /// Resolves when the pointer changes (or changed since the last wait).
    pub async fn pointer_changed(&self) {
        self.pointer.changed.notified().await;
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

    fn pointer(&mut self, update: PointerUpdate) {
        let cell = &self.screen.pointer;
        {
            let mut latest = cell
                .latest
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            latest.0 += 1;
            latest.1 = Some(update);
        }
        // Cursor changes travel outside frames, at once.
        cell.changed.notify_one();
    }
}
