//! Security events: attack patterns found in the audit log's refusals. Detection reads
//! refused `user.login` and `session.launch` events of a recent window — whatever login
//! path wrote them (demo, SITHS, SAML: each audits its refusals with `refused: <reason>`
//! in the detail) — so it depends on no login code. A pattern seen again in the same
//! window is recorded once (`dedupe_key`), and each new event is audited as
//! `security.event` in the same transaction. Any broker node may run [`detect`]; the
//! janitor does every minute.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use sqlx::AssertSqlSafe;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::row::{get_opt_string, get_opt_uuid, get_string, millis};
use crate::db::{Database, DbError};
use crate::model::{ActorKind, AuditOutcome, NewAuditEvent, SecurityEvent, SecurityEventKind};
use crate::repo;

/// How many refusals in the window make a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DetectionPolicy {
    pub window: Duration,
    /// Refused logins from one source.
    pub login_failures: u64,
    /// Signature refusals (bad, missing or weak signatures; tampering) from one source.
    pub signature_failures: u64,
    /// Replays (reused responses or request ids) from one source.
    pub replays: u64,
    /// Distinct account names or apps one source was refused for.
    pub probing: u64,
}

impl Default for DetectionPolicy {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(10 * 60),
            login_failures: 20,
            signature_failures: 3,
            replays: 2,
            probing: 8,
        }
    }
}

/// Most refusals one pass reads; a flood beyond it is still plenty to raise events.
const MAX_REFUSALS: i64 = 20_000;

/// The reason word of an audit detail (`… refused: <reason>`).
pub fn refusal_reason(detail: &str) -> Option<&str> {
    let (_, rest) = detail.rsplit_once("refused: ")?;
    let reason = rest.split([';', ' ', ',']).next().unwrap_or_default();
    (!reason.is_empty()).then_some(reason)
}

/// Which special pattern a reason belongs to, if any.
pub fn classify(reason: &str) -> Option<SecurityEventKind> {
    let r = reason.to_ascii_lowercase();
    const SIGNATURE: &[&str] = &[
        "signature",
        "unsigned",
        "sha1",
        "digest",
        "wrapping",
        "xsw",
        "tampered",
    ];
    const REPLAY: &[&str] = &["replay", "reused", "in_response_to", "unsolicited"];
    if SIGNATURE.iter().any(|w| r.contains(w)) {
        Some(SecurityEventKind::SignatureFailures)
    } else if REPLAY.iter().any(|w| r.contains(w)) {
        Some(SecurityEventKind::Replays)
    } else {
        None
    }
}

#[derive(Default)]
struct Tally {
    logins: u64,
    signature: u64,
    replay: u64,
    names: BTreeSet<String>,
}

/// Looks for patterns in the refusals of the window ending at `at`; records and audits
/// the new ones and returns them.
pub async fn detect(
    db: &Database,
    policy: &DetectionPolicy,
    at: OffsetDateTime,
) -> Result<Vec<SecurityEvent>, DbError> {
    let window = time::Duration::try_from(policy.window).unwrap_or(time::Duration::MINUTE);
    let start = at - window;
    let rows = sqlx::query(AssertSqlSafe(
        "SELECT tenant_id, actor_id, actor_name, action, target_id, source_address, detail \
         FROM audit_events WHERE outcome = 'refused' AND at >= $1 AND at <= $2 \
         AND action IN ('user.login', 'session.launch') ORDER BY at DESC LIMIT $3"
            .to_owned(),
    ))
    .bind(millis(start))
    .bind(millis(at))
    .bind(MAX_REFUSALS)
    .fetch_all(db.pool())
    .await?;
    // Keyed by tenant and source: the address for logins, the user for launches (which
    // only logged-in users make).
    let mut tallies: BTreeMap<(Option<Uuid>, String), Tally> = BTreeMap::new();
    for r in &rows {
        let action = get_string(r, "action")?;
        let detail = get_opt_string(r, "detail")?.unwrap_or_default();
        let source = match (
            get_opt_string(r, "source_address")?,
            get_opt_string(r, "actor_id")?,
        ) {
            (Some(addr), _) => addr,
            (None, Some(actor)) if action == "session.launch" => format!("user:{actor}"),
            _ => continue,
        };
        let t = tallies
            .entry((get_opt_uuid(r, "tenant_id")?, source))
            .or_default();
        let name = if action == "user.login" {
            t.logins += 1;
            get_string(r, "actor_name")?
        } else {
            get_opt_string(r, "target_id")?.unwrap_or_default()
        };
        match refusal_reason(&detail).and_then(classify) {
            Some(SecurityEventKind::SignatureFailures) => t.signature += 1,
            Some(SecurityEventKind::Replays) => t.replay += 1,
            _ => {}
        }
        if t.names.len() < 10_000 {
            t.names.insert(name);
        }
    }
    let bucket = millis(at) / i64::try_from(policy.window.as_millis().max(1)).unwrap_or(i64::MAX);
    let mut raised = Vec::new();
    for ((tenant, source), t) in &tallies {
        let names = u64::try_from(t.names.len()).unwrap_or(u64::MAX);
        let found = [
            (
                SecurityEventKind::LoginFailures,
                t.logins,
                policy.login_failures,
                "refused logins",
            ),
            (
                SecurityEventKind::SignatureFailures,
                t.signature,
                policy.signature_failures,
                "signature refusals",
            ),
            (
                SecurityEventKind::Replays,
                t.replay,
                policy.replays,
                "replayed responses",
            ),
            (
                SecurityEventKind::Probing,
                names,
                policy.probing,
                "distinct names or apps refused",
            ),
        ];
        for (kind, count, threshold, what) in found {
            if threshold == 0 || count < threshold {
                continue;
            }
            let event = SecurityEvent {
                id: repo::new_id(),
                at,
                tenant_id: *tenant,
                kind,
                source_address: Some(source.clone()),
                count,
                window_start: start,
                window_end: at,
                detail: format!(
                    "{count} {what} from {source} within {} s",
                    policy.window.as_secs()
                ),
            };
            let key = format!(
                "{kind}|{}|{source}|{bucket}",
                tenant.map(|t| t.to_string()).unwrap_or_default()
            );
            let mut tx = db.begin().await?;
            if repo::security_events::insert_once(&mut tx, &event, &key).await? {
                repo::audit::insert(
                    &mut tx,
                    &NewAuditEvent {
                        tenant_id: event.tenant_id,
                        actor_kind: ActorKind::System,
                        actor_id: None,
                        actor_name: "security-detection".into(),
                        action: "security.event".into(),
                        target_type: Some("security_event".into()),
                        target_id: Some(event.id.to_string()),
                        outcome: AuditOutcome::Success,
                        source_address: event
                            .source_address
                            .clone()
                            .filter(|s| !s.starts_with("user:")),
                        before: None,
                        after: serde_json::to_value(&event).ok(),
                        detail: Some(format!("{kind}: {}", event.detail)),
                    },
                )
                .await?;
                tx.commit().await?;
                crate::metrics::SECURITY_EVENTS.inc(&[kind.as_str()]);
                tracing::warn!(%kind, source = %source, count, "security event raised");
                raised.push(event);
            } else {
                tx.rollback().await?;
            }
        }
    }
    Ok(raised)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_read_from_details_and_classified() {
        assert_eq!(
            refusal_reason("method saml; refused: signature_invalid"),
            Some("signature_invalid")
        );
        assert_eq!(
            refusal_reason("method demo; refused: unknown_user"),
            Some("unknown_user")
        );
        assert_eq!(refusal_reason("app x; refused: "), None);
        assert_eq!(refusal_reason("method demo"), None);
        assert_eq!(
            classify("signature_invalid"),
            Some(SecurityEventKind::SignatureFailures)
        );
        assert_eq!(
            classify("sha1_signature"),
            Some(SecurityEventKind::SignatureFailures)
        );
        assert_eq!(
            classify("replayed_response"),
            Some(SecurityEventKind::Replays)
        );
        assert_eq!(
            classify("in_response_to_reused"),
            Some(SecurityEventKind::Replays)
        );
        assert_eq!(classify("unknown_user"), None);
    }
}
