//! The RDP leg's [`DisplaySink`] for a browser session: paints the host's updates into a
//! [`Framebuffer`] shared with the session task behind a mutex, and keeps the latest
//! pointer (cursor) and host clipboard text so they go out at once and again after a
//! resume. The sink only copies; encoding happens on the session side, once per pacing
//! tick.

use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use crate::display::{Framebuffer, PixelFormat, Rect};
use crate::rdp::{DecodedImage, DisplaySink, HostClipboard, PointerUpdate};

/// The session's screen: the framebuffer both sides use, the pointer and the host's
/// clipboard.
#[derive(Clone)]
pub struct SharedScreen {
    framebuffer: Arc<Mutex<Framebuffer>>,
    /// Woken on every host update, so a frame can start as soon as the damage settles.
    damage: Arc<Notify>,
    pointer: Arc<Latest<PointerUpdate>>,
    clipboard: Arc<Latest<HostClipboard>>,
}

/// The latest value the host reported, numbered so a reader can tell whether it has seen
/// it, and a wake-up for the reader.
pub struct Latest<T> {
    value: Mutex<(u64, Option<T>)>,
    changed: Notify,
}

impl<T> Default for Latest<T> {
    fn default() -> Self {
        Self {
            value: Mutex::new((0, None)),
            changed: Notify::new(),
        }
    }
}

impl<T: Clone> Latest<T> {
    fn set(&self, value: T) {
        {
            let mut latest = self
                .value
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            latest.0 += 1;
            latest.1 = Some(value);
        }
        self.changed.notify_one();
    }

    /// The value if it changed after `seen` (0: never seen), with its number.
    pub fn since(&self, seen: u64) -> Option<(u64, T)> {
        let latest = self
            .value
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match &*latest {
            (seq, Some(value)) if *seq > seen => Some((*seq, value.clone())),
            _ => None,
        }
    }

    /// Resolves when the value changes (or changed since the last wait).
    pub async fn changed(&self) {
        self.changed.notified().await;
    }
}

impl SharedScreen {
    /// A black screen of the host's size.
    pub fn new(width: u16, height: u16) -> Result<Self, crate::display::DisplayError> {
        let framebuffer =
            Framebuffer::new(u32::from(width), u32::from(height), PixelFormat::Rgba32)?;
        Ok(Self {
            framebuffer: Arc::new(Mutex::new(framebuffer)),
            damage: Arc::default(),
            pointer: Arc::default(),
            clipboard: Arc::default(),
        })
    }

    /// Resolves when the host changed the picture (or changed it since the last wait).
    pub async fn damaged(&self) {
        self.damage.notified().await;
    }

    /// The host's pointer (cursor).
    pub fn pointer(&self) -> &Latest<PointerUpdate> {
        &self.pointer
    }

    /// What the host last put on its clipboard.
    pub fn clipboard(&self) -> &Latest<HostClipboard> {
        &self.clipboard
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
        self.screen.damage.notify_one();
    }

    fn pointer(&mut self, update: PointerUpdate) {
        // Cursor changes travel outside frames, at once.
        self.screen.pointer.set(update);
    }

    fn clipboard(&mut self, event: HostClipboard) {
        self.screen.clipboard.set(event);
    }
}
