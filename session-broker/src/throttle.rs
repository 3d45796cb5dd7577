//! Login throttling: failed logins per source address and per account, with exponential
//! backoff, kept in the database (`login_throttle`) so every gateway node sees the same
//! counts. Every login path calls it the same way:
//!
//! 1. [`check`] before judging the credentials; [`Verdict::Blocked`] is refused with 429 and
//!    `Retry-After` (audit it as a refused `user.login`, reason `throttled`);
//! 2. [`record_failure`] after a refusal the user caused (unknown name, bad card or
//!    response), [`record_success`] after a login.
//!
//! An account key is the SHA-256 of the name the user gave (lower-cased), so attempted
//! names (sometimes passwords typed in the wrong field) are not stored. Addresses get more
//! free failures than accounts: a municipality's staff often share one NAT address.

use std::time::Duration;

use time::OffsetDateTime;

use crate::db::{Database, DbError};
use crate::repo::login_throttle;

/// How many failures are free and how the backoff grows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures of one account before it is held back.
    pub account_free: u32,
    /// Failures from one address before it is held back.
    pub address_free: u32,
    /// The first hold; each further failure doubles it.
    pub base: Duration,
    /// The longest hold.
    pub max: Duration,
    /// A key with no failure for this long starts again from zero.
    pub forget_after: Duration,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            account_free: 5,
            address_free: 20,
            base: Duration::from_secs(2),
            max: Duration::from_secs(15 * 60),
            forget_after: Duration::from_secs(60 * 60),
        }
    }
}

impl ThrottlePolicy {
    /// The hold after `failures` failures when `free` are free: none up to `free`, then
    /// `base`, doubling per failure, at most `max`.
    pub fn hold(&self, failures: u32, free: u32) -> Duration {
        let Some(over) = failures.checked_sub(free).filter(|n| *n > 0) else {
            return Duration::ZERO;
        };
        let factor = 1u64
            .checked_shl(over.saturating_sub(1).min(40))
            .unwrap_or(u64::MAX);
        let ms = u64::try_from(self.base.as_millis())
            .unwrap_or(u64::MAX)
            .saturating_mul(factor);
        Duration::from_millis(ms).min(self.max)
    }
}

/// Who is trying to log in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt<'a> {
    /// The peer's IP address.
    pub source_address: Option<&'a str>,
    /// The account named: a demo login's user name, a card's HSA-ID, a SAML NameID
    /// prefixed by the tenant's slug (`slug/nameid`).
    pub account: Option<&'a str>,
}

impl Attempt<'_> {
    fn keys(&self) -> Vec<(String, bool)> {
        let mut keys = Vec::new();
        if let Some(addr) = self.source_address.filter(|a| !a.is_empty()) {
            keys.push((format!("addr:{addr}"), false));
        }
        if let Some(account) = self.account.map(str::trim).filter(|a| !a.is_empty()) {
            let hash = crate::web_session::hex_sha256(&account.to_lowercase());
            keys.push((format!("account:{hash}"), true));
        }
        keys
    }
}

/// Whether an attempt may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Refused until `until`; `retry_after` is from the time asked, rounded up to seconds.
    Blocked {
        until: OffsetDateTime,
        retry_after: Duration,
    },
}

impl Verdict {
    fn from_until(until: Option<OffsetDateTime>, at: OffsetDateTime) -> Self {
        match until {
            Some(until) if until > at => {
                let ms = (until - at).whole_milliseconds().max(0);
                let secs = u64::try_from((ms + 999) / 1000).unwrap_or(u64::MAX).max(1);
                Self::Blocked {
                    until,
                    retry_after: Duration::from_secs(secs),
                }
            }
            _ => Self::Allowed,
        }
    }
}

/// Whether `attempt` may try now: blocked while either its address or its account is.
pub async fn check(
    db: &Database,
    attempt: &Attempt<'_>,
    at: OffsetDateTime,
) -> Result<Verdict, DbError> {
    let mut conn = db.acquire().await?;
    let mut until: Option<OffsetDateTime> = None;
    for (key, _) in attempt.keys() {
        if let Some(row) = login_throttle::get(&mut conn, &key).await? {
            until = Some(until.map_or(row.blocked_until, |u| u.max(row.blocked_until)));
        }
    }
    Ok(Verdict::from_until(until, at))
}

/// Counts a failed login for the attempt's address and account and holds back whichever
/// passed its free failures; returns the verdict for the next attempt.
pub async fn record_failure(
    db: &Database,
    policy: &ThrottlePolicy,
    attempt: &Attempt<'_>,
    at: OffsetDateTime,
) -> Result<Verdict, DbError> {
    let forget = time::Duration::try_from(policy.forget_after).unwrap_or(time::Duration::HOUR);
    let mut tx = db.begin().await?;
    let mut until: Option<OffsetDateTime> = None;
    for (key, is_account) in attempt.keys() {
        let failures = login_throttle::add_failure(&mut tx, &key, at, at - forget).await?;
        let free = if is_account {
            policy.account_free
        } else {
            policy.address_free
        };
        let hold = policy.hold(failures, free);
        if !hold.is_zero() {
            let blocked = at + time::Duration::try_from(hold).unwrap_or(time::Duration::MINUTE);
            login_throttle::block_until(&mut tx, &key, blocked).await?;
            until = Some(until.map_or(blocked, |u| u.max(blocked)));
        }
    }
    tx.commit().await?;
    Ok(Verdict::from_until(until, at))
}

/// Forgets the account's failures after a successful login (the address keeps its own:
/// one good login must not wash an address's guessing clean).
pub async fn record_success(db: &Database, attempt: &Attempt<'_>) -> Result<(), DbError> {
    let mut conn = db.acquire().await?;
    for (key, is_account) in attempt.keys() {
        if is_account {
            login_throttle::clear(&mut conn, &key).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hold_doubles_after_the_free_failures_up_to_the_cap() {
        let p = ThrottlePolicy::default();
        assert_eq!(p.hold(0, 5), Duration::ZERO);
        assert_eq!(p.hold(5, 5), Duration::ZERO);
        assert_eq!(p.hold(6, 5), Duration::from_secs(2));
        assert_eq!(p.hold(7, 5), Duration::from_secs(4));
        assert_eq!(p.hold(8, 5), Duration::from_secs(8));
        assert_eq!(p.hold(30, 5), p.max);
        assert_eq!(p.hold(u32::MAX, 0), p.max);
    }

    #[test]
    fn account_keys_hide_the_name_and_ignore_case() {
        let a = Attempt {
            source_address: Some("192.0.2.1"),
            account: Some(" Demo "),
        };
        let b = Attempt {
            source_address: None,
            account: Some("demo"),
        };
        let ka = a.keys();
        assert_eq!(ka.len(), 2);
        assert_eq!(ka[0].0, "addr:192.0.2.1");
        assert!(!ka[1].0.contains("emo"));
        assert_eq!(ka[1], b.keys()[0]);
    }
}
