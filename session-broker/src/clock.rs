//! The time that web-session expiry and login throttling see. Production uses the system
//! clock; tests hold a manual clock they move forward, so timeouts and backoff are tested
//! without sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use time::OffsetDateTime;

use crate::db::row::{from_millis, millis, now};

/// A source of "now", at the stored (millisecond) precision.
#[derive(Debug, Clone, Default)]
pub struct Clock(Option<Arc<AtomicI64>>);

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self(None)
    }

    /// A clock standing at `start` until [`Self::advance`] moves it; clones share it.
    pub fn manual(start: OffsetDateTime) -> Self {
        Self(Some(Arc::new(AtomicI64::new(millis(start)))))
    }

    pub fn now(&self) -> OffsetDateTime {
        match &self.0 {
            None => now(),
            Some(ms) => from_millis(ms.load(Ordering::SeqCst)).unwrap_or_else(|_| now()),
        }
    }

    /// Moves a manual clock forward; the system clock ignores it.
    pub fn advance(&self, by: Duration) {
        if let Some(ms) = &self.0 {
            ms.fetch_add(
                i64::try_from(by.as_millis()).unwrap_or(i64::MAX),
                Ordering::SeqCst,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told_and_clones_share_it() {
        let start = now();
        let clock = Clock::manual(start);
        let copy = clock.clone();
        assert_eq!(clock.now(), start);
        copy.advance(Duration::from_secs(90));
        assert_eq!(clock.now(), start + time::Duration::seconds(90));
        assert!(Clock::system().now() >= start);
    }
}
