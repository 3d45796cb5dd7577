//! Reload on request (SIGHUP): a process-wide generation counter. [`request`] bumps it; the
//! server certificate resolvers re-read their files at the next handshake whatever the
//! files' timestamps say, and [`crate::Revocation::watch`] re-reads every CRL at once.
//! Without a request, both keep reloading on file change as before.

use std::sync::OnceLock;

use tokio::sync::watch;

fn channel() -> &'static watch::Sender<u64> {
    static RELOAD: OnceLock<watch::Sender<u64>> = OnceLock::new();
    RELOAD.get_or_init(|| watch::channel(0).0)
}

/// Asks every certificate, CA bundle and CRL holder of this process to re-read its files.
pub fn request() {
    channel().send_modify(|n| *n = n.wrapping_add(1));
    tracing::info!("certificate reload requested");
}

/// The number of reloads requested so far (compare with an earlier value).
pub fn generation() -> u64 {
    *channel().borrow()
}

/// Resolves at each [`request`] after the call.
pub fn subscribe() -> watch::Receiver<u64> {
    channel().subscribe()
}
