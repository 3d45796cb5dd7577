//! Launch tickets: short-lived, single-use, Ed25519-signed statements that a user may open
//! one session (tenant, session, host, app, path) through a gateway. The broker issues
//! them ([`TicketIssuer`], [`crate::launch::issue_launch_ticket`]); any gateway verifies
//! them with public keys only ([`TicketVerifier`]) and spends them once in the database
//! ([`consume`]). The byte layout is in [`codec`] and `docs/launch-tickets.md`.

pub mod audit;
pub mod codec;
pub mod keys;
pub mod reference;
pub mod store;

use std::sync::Arc;

use ring::rand::{SecureRandom, SystemRandom};
use uuid::Uuid;

pub use audit::{audit_consumed, audit_refused};
pub use codec::{Claims, KeyId, LaunchPath, Malformed};
pub use keys::{KeyError, Refusal, TicketKeys, TicketPublicKey, TicketVerifier};
pub use store::{ConsumeError, consume, consume_at, prune_expired, record};

/// Default ticket lifetime.
pub const DEFAULT_TTL_MS: i64 = 60_000;

/// Whom and what a ticket is for; the issuer adds id and lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    pub user_id: Uuid,
    pub tenant_id: Uuid,
    pub session_id: Uuid,
    pub host_id: Uuid,
    pub app_id: Uuid,
    pub path: LaunchPath,
}

/// Signs tickets with the broker's key and a lifetime.
#[derive(Debug, Clone)]
pub struct TicketIssuer {
    keys: Arc<TicketKeys>,
    ttl_ms: i64,
}

impl TicketIssuer {
    /// An issuer with the default 60 s lifetime.
    pub fn new(keys: Arc<TicketKeys>) -> Self {
        Self {
            keys,
            ttl_ms: DEFAULT_TTL_MS,
        }
    }

    /// Sets the lifetime (at least 1 s: a shorter one could not survive a redirect).
    pub fn with_ttl(mut self, ttl: std::time::Duration) -> Self {
        self.ttl_ms = i64::try_from(ttl.as_millis())
            .unwrap_or(i64::MAX)
            .max(1_000);
        self
    }

    pub fn ttl_ms(&self) -> i64 {
        self.ttl_ms
    }

    pub fn keys(&self) -> &TicketKeys {
        &self.keys
    }

    /// Claims for `grant` issued at `now_ms`, with a fresh random ticket id.
    pub fn claims(&self, grant: &Grant, now_ms: i64) -> Result<Claims, KeyError> {
        let mut id = [0u8; 16];
        SystemRandom::new()
            .fill(&mut id)
            .map_err(|_| KeyError::Random)?;
        Ok(Claims {
            ticket_id: Uuid::from_bytes(id),
            user_id: grant.user_id,
            tenant_id: grant.tenant_id,
            session_id: grant.session_id,
            host_id: grant.host_id,
            app_id: grant.app_id,
            path: grant.path,
            issued_at_ms: now_ms,
            expires_at_ms: now_ms.saturating_add(self.ttl_ms),
        })
    }

    /// The transport form of `claims`.
    pub fn sign(&self, claims: &Claims) -> String {
        self.keys.sign(claims)
    }
}
