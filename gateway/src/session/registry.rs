//! The live sessions of this gateway node, by session id: what a resuming browser needs to
//! find its session, and what the broker's commands ([`super::commands`]) and a newer
//! launch of the same session need to reach it. Browser sessions ([`super::live`]) hold
//! their current resume token and the channel their task takes new websockets from;
//! native sessions ([`crate::native`]) only a token that a newer connection cancels to take
//! the session over. Each entry has a generation, so a task that ends after a newer one
//! took its place removes only itself.
//!
//! A resume token is `session id (16 bytes) ‖ secret (32 random bytes)`. It is single use:
//! [`Registry::redeem`] takes it out, and the session hands a fresh one to the browser in
//! the next ServerHello. Tokens live only in this node's memory, so a resume that reaches
//! another node is refused (4100) and the user starts again from the portal — which
//! reconnects to the same session on the host.

use std::collections::HashMap;
use std::sync::Mutex;

use hamn_broker::session_control::QueuedCommand;
use ring::rand::{SecureRandom, SystemRandom};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::live::Attach;

/// Bytes of random secret in a resume token.
const SECRET_LEN: usize = 32;
/// Bytes of a whole resume token (within the wire's 64-byte limit).
pub const TOKEN_LEN: usize = 16 + SECRET_LEN;

/// Why a resume token was not accepted. The browser only learns "4100".
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ResumeRefused {
    #[error("resume token has the wrong length")]
    Malformed,
    #[error("no live session with this id on this gateway")]
    UnknownSession,
    #[error("resume token already used or superseded")]
    WrongToken,
    #[error("the session is ending")]
    Ending,
}

struct Entry {
    /// `None` between a redeem and the next ServerHello (and always for native sessions).
    secret: Option<[u8; SECRET_LEN]>,
    /// Where a browser session takes new websockets; `None` for a native session.
    attach: Option<mpsc::Sender<Attach>>,
    commands: mpsc::Sender<QueuedCommand>,
    /// Cancelled when a newer entry replaces this one (a native task then closes).
    superseded: CancellationToken,
    /// Cancelled by a native task once it has recorded its end (see [`Registry::insert_native`]).
    ended: CancellationToken,
    generation: u64,
}

/// Live sessions of this node.
#[derive(Default)]
pub struct Registry {
    sessions: Mutex<HashMap<Uuid, Entry>>,
    generations: std::sync::atomic::AtomicU64,
}

/// What a native session's task holds of its registry entry.
#[derive(Debug)]
pub(crate) struct NativeEntry {
    pub generation: u64,
    /// Cancelled when a newer launch of the same session takes it over.
    pub superseded: CancellationToken,
    /// Cancel once the end is recorded: a newer connection waits for it before it records
    /// its own start, so the row ends in the newer state.
    pub ended: CancellationToken,
    /// The replaced entry's `ended`, when this connection took a live session over.
    pub took_over: Option<CancellationToken>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("live", &self.len())
            .finish()
    }
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Entry>> {
        // Every critical section is a plain map operation; a poisoned map is still whole.
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Live sessions (attached or within their reconnect grace).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn next_generation(&self) -> u64 {
        self.generations
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// Registers a browser session whose task takes websockets from `attach` and the
    /// broker's commands from `commands`; returns its generation for [`Registry::remove`].
    /// A native connection of the same session is told to close.
    pub(super) fn insert(
        &self,
        id: Uuid,
        attach: mpsc::Sender<Attach>,
        commands: mpsc::Sender<QueuedCommand>,
    ) -> u64 {
        let generation = self.next_generation();
        let replaced = self.lock().insert(
            id,
            Entry {
                secret: None,
                attach: Some(attach),
                commands,
                superseded: CancellationToken::new(),
                ended: CancellationToken::new(),
                generation,
            },
        );
        if let Some(old) = replaced {
            old.superseded.cancel();
        }
        generation
    }

    /// Registers a native session (one RD Gateway tunnel or FreeRDP websocket) that takes
    /// the broker's commands from `commands`. An earlier native connection of the same
    /// session is cancelled (the user launched again: the newer client wins).
    pub(crate) fn insert_native(
        &self,
        id: Uuid,
        commands: mpsc::Sender<QueuedCommand>,
    ) -> NativeEntry {
        let generation = self.next_generation();
        let superseded = CancellationToken::new();
        let ended = CancellationToken::new();
        let replaced = self.lock().insert(
            id,
            Entry {
                secret: None,
                attach: None,
                commands,
                superseded: superseded.clone(),
                ended: ended.clone(),
                generation,
            },
        );
        let took_over = replaced.map(|old| {
            old.superseded.cancel();
            old.ended
        });
        NativeEntry {
            generation,
            superseded,
            ended,
            took_over,
        }
    }

    /// The ids of the live sessions, for the command poll.
    pub fn ids(&self) -> Vec<Uuid> {
        self.lock().keys().copied().collect()
    }

    /// The channel into live session `id` for the broker's commands.
    pub(super) fn commands(&self, id: Uuid) -> Option<mpsc::Sender<QueuedCommand>> {
        self.lock().get(&id).map(|entry| entry.commands.clone())
    }

    /// The channel into live session `id`, for a new ticket that names it (roaming: the
    /// broker placed the user's launch on their live session).
    pub(super) fn sender(&self, id: Uuid) -> Option<mpsc::Sender<Attach>> {
        self.lock()
            .get(&id)
            .and_then(|entry| entry.attach.clone())
            .filter(|attach| !attach.is_closed())
    }

    /// Removes session `id` if its entry is still the one of `generation` (a newer
    /// connection may have replaced it).
    pub(crate) fn remove(&self, id: Uuid, generation: u64) {
        let mut sessions = self.lock();
        if sessions
            .get(&id)
            .is_some_and(|e| e.generation == generation)
        {
            sessions.remove(&id);
        }
    }

    /// A fresh token for `id`, replacing any earlier one. `None` when the session is gone or
    /// the system has no randomness (the browser then cannot resume, nothing else breaks).
    pub(super) fn issue_token(&self, id: Uuid) -> Option<Vec<u8>> {
        let mut secret = [0u8; SECRET_LEN];
        SystemRandom::new().fill(&mut secret).ok()?;
        let mut sessions = self.lock();
        let entry = sessions.get_mut(&id)?;
        entry.secret = Some(secret);
        let mut token = Vec::with_capacity(TOKEN_LEN);
        token.extend_from_slice(id.as_bytes());
        token.extend_from_slice(&secret);
        Some(token)
    }

    /// Checks `token` and spends it: the session's id and the channel to hand the new
    /// websocket to.
    pub(super) fn redeem(
        &self,
        token: &[u8],
    ) -> Result<(Uuid, mpsc::Sender<Attach>), ResumeRefused> {
        if token.len() != TOKEN_LEN {
            return Err(ResumeRefused::Malformed);
        }
        let (id, secret) = token.split_at(16);
        let id = Uuid::from_slice(id).map_err(|_| ResumeRefused::Malformed)?;
        let mut sessions = self.lock();
        let entry = sessions.get_mut(&id).ok_or(ResumeRefused::UnknownSession)?;
        match &entry.secret {
            Some(expected) if constant_time_eq(expected, secret) => {}
            _ => return Err(ResumeRefused::WrongToken),
        }
        let Some(attach) = entry.attach.clone() else {
            return Err(ResumeRefused::WrongToken);
        };
        if attach.is_closed() {
            return Err(ResumeRefused::Ending);
        }
        entry.secret = None;
        Ok((id, attach))
    }
}

/// Compares without an early exit, so the time taken says nothing about where a guess
/// went wrong.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_resumes_once_and_only_its_own_session() {
        let registry = Registry::default();
        let (tx, _rx) = mpsc::channel(1);
        let (commands, _commands_rx) = mpsc::channel(1);
        let id = Uuid::now_v7();
        let generation = registry.insert(id, tx, commands);
        assert_eq!(registry.ids(), [id]);
        assert_eq!(
            registry.redeem(&[0; TOKEN_LEN]).err(),
            Some(ResumeRefused::UnknownSession)
        );
        let token = registry.issue_token(id).expect("token");
        assert_eq!(token.len(), TOKEN_LEN);
        let mut forged = token.clone();
        forged[TOKEN_LEN - 1] ^= 1;
        assert_eq!(
            registry.redeem(&forged).err(),
            Some(ResumeRefused::WrongToken)
        );
        assert_eq!(
            registry.redeem(&token[..20]).err(),
            Some(ResumeRefused::Malformed)
        );
        assert_eq!(registry.redeem(&token).map(|(id, _)| id).ok(), Some(id));
        assert_eq!(
            registry.redeem(&token).err(),
            Some(ResumeRefused::WrongToken)
        );
        let newer = registry.issue_token(id).expect("token");
        assert_ne!(newer, token);
        registry.remove(id, generation + 1);
        assert_eq!(
            registry.len(),
            1,
            "another generation's remove leaves the entry"
        );
        registry.remove(id, generation);
        assert_eq!(
            registry.redeem(&newer).err(),
            Some(ResumeRefused::UnknownSession)
        );
        assert!(registry.is_empty());
    }

    #[test]
    fn a_session_whose_task_ended_cannot_be_resumed() {
        let registry = Registry::default();
        let (tx, rx) = mpsc::channel(1);
        let (commands, _commands_rx) = mpsc::channel(1);
        let id = Uuid::now_v7();
        registry.insert(id, tx, commands);
        let token = registry.issue_token(id).expect("token");
        drop(rx);
        assert_eq!(registry.redeem(&token).err(), Some(ResumeRefused::Ending));
    }

    #[test]
    fn a_newer_native_connection_supersedes_the_older_and_only_removes_itself() {
        let registry = Registry::default();
        let id = Uuid::now_v7();
        let (commands, _rx) = mpsc::channel(1);
        let first = registry.insert_native(id, commands.clone());
        assert!(first.took_over.is_none());
        let second = registry.insert_native(id, commands);
        assert!(first.superseded.is_cancelled());
        assert!(!second.superseded.is_cancelled());
        let waited = second.took_over.expect("took over");
        assert!(!waited.is_cancelled());
        first.ended.cancel();
        assert!(waited.is_cancelled());
        // A native session has no resume channel and no token.
        assert!(registry.sender(id).is_none());
        registry.remove(id, first.generation);
        assert_eq!(registry.ids(), [id]);
        registry.remove(id, second.generation);
        assert!(registry.is_empty());
    }
}
