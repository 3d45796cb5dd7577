//! The live browser sessions of this gateway node, by session id: what a resuming browser
//! needs to find its session. Each entry holds the session's current resume token, the
//! channel its task takes new websockets from, and the one it takes the broker's commands
//! from ([`super::commands`]).
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
    /// `None` between a redeem and the next ServerHello.
    secret: Option<[u8; SECRET_LEN]>,
    attach: mpsc::Sender<Attach>,
    commands: mpsc::Sender<QueuedCommand>,
}

/// Live sessions of this node.
#[derive(Default)]
pub struct Registry {
    sessions: Mutex<HashMap<Uuid, Entry>>,
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

    /// Registers a session whose task takes websockets from `attach` and the broker's
    /// commands from `commands`.
    pub(super) fn insert(
        &self,
        id: Uuid,
        attach: mpsc::Sender<Attach>,
        commands: mpsc::Sender<QueuedCommand>,
    ) {
        self.lock().insert(
            id,
            Entry {
                secret: None,
                attach,
                commands,
            },
        );
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
            .map(|entry| entry.attach.clone())
            .filter(|attach| !attach.is_closed())
    }

    pub(super) fn remove(&self, id: Uuid) {
        self.lock().remove(&id);
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
        if entry.attach.is_closed() {
            return Err(ResumeRefused::Ending);
        }
        entry.secret = None;
        Ok((id, entry.attach.clone()))
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
        registry.insert(id, tx, commands);
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
        registry.remove(id);
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
}
