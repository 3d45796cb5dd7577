//! Audit events of the gateway's ticket checks: `ticket.consumed` when a session is
//! authorised, `ticket.refused` with the reason when not. The ticket text itself is never
//! recorded (a consumed ticket is worthless, but an unconsumed one presented to the wrong
//! place is not).

use sqlx::AnyConnection;

use super::codec::Claims;
use super::keys::Refusal;
use crate::db::DbError;
use crate::model::{ActorKind, AuditEvent, AuditOutcome, NewAuditEvent};
use crate::repo;

async fn actor_name(conn: &mut AnyConnection, c: &Claims) -> Result<String, DbError> {
    Ok(repo::users::get(conn, c.user_id)
        .await?
        .map_or_else(|| c.user_id.to_string(), |u| u.display_name))
}

/// Records that `gateway` (a node name) accepted the ticket behind `claims`.
pub async fn audit_consumed(
    conn: &mut AnyConnection,
    claims: &Claims,
    gateway: &str,
    source_address: Option<&str>,
) -> Result<AuditEvent, DbError> {
    let event = NewAuditEvent {
        tenant_id: Some(claims.tenant_id),
        actor_kind: ActorKind::User,
        actor_id: Some(claims.user_id.to_string()),
        actor_name: actor_name(conn, claims).await?,
        action: "ticket.consumed".into(),
        target_type: Some("session".into()),
        target_id: Some(claims.session_id.to_string()),
        outcome: AuditOutcome::Success,
        source_address: source_address.map(str::to_owned),
        before: None,
        after: None,
        detail: Some(format!(
            "ticket {} path {} host {} gateway {gateway}",
            claims.ticket_id, claims.path, claims.host_id
        )),
    };
    repo::audit::insert(conn, &event).await
}

/// Records a refused ticket. `claims` are the genuine claims when the signature verified
/// (see [`super::ConsumeError::Refused`]); without them the actor is anonymous.
pub async fn audit_refused(
    conn: &mut AnyConnection,
    reason: Refusal,
    claims: Option<&Claims>,
    gateway: &str,
    source_address: Option<&str>,
) -> Result<AuditEvent, DbError> {
    let (tenant_id, actor_kind, actor_id, name, target) = match claims {
        Some(c) => (
            Some(c.tenant_id),
            ActorKind::User,
            Some(c.user_id.to_string()),
            actor_name(conn, c).await?,
            Some(c.session_id.to_string()),
        ),
        None => (
            None,
            ActorKind::Anonymous,
            None,
            "anonymous".to_owned(),
            None,
        ),
    };
    let event = NewAuditEvent {
        tenant_id,
        actor_kind,
        actor_id,
        actor_name: name,
        action: "ticket.refused".into(),
        target_type: target.as_ref().map(|_| "session".to_owned()),
        target_id: target,
        outcome: AuditOutcome::Refused,
        source_address: source_address.map(str::to_owned),
        before: None,
        after: None,
        detail: Some(format!("{}: {reason}; gateway {gateway}", reason.reason())),
    };
    repo::audit::insert(conn, &event).await
}
