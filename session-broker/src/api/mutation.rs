//! Audited changes: a handler does its writes on [`Mutation::conn`] and finishes with
//! [`Mutation::commit`], which records the audit event in the same transaction. A change
//! that fails is rolled back with its (never written) audit event.

use serde::Serialize;
use sqlx::AnyConnection;
use uuid::Uuid;

use super::caller::Caller;
use super::problem::ApiError;
use crate::db::{Database, Tx};
use crate::model::{AuditOutcome, NewAuditEvent};
use crate::repo;

/// What changed, for the audit event.
#[derive(Debug, Clone)]
pub struct Change {
    /// `tenant.create`, `host.state_change`, …
    pub action: &'static str,
    pub tenant_id: Option<Uuid>,
    pub target_type: &'static str,
    pub target_id: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

fn json(v: &impl Serialize) -> Option<serde_json::Value> {
    serde_json::to_value(v).ok()
}

impl Change {
    pub fn created(
        action: &'static str,
        tenant_id: Option<Uuid>,
        target_type: &'static str,
        target_id: impl ToString,
        after: &impl Serialize,
    ) -> Self {
        Self {
            action,
            tenant_id,
            target_type,
            target_id: target_id.to_string(),
            before: None,
            after: json(after),
        }
    }

    pub fn updated(
        action: &'static str,
        tenant_id: Option<Uuid>,
        target_type: &'static str,
        target_id: impl ToString,
        before: &impl Serialize,
        after: &impl Serialize,
    ) -> Self {
        Self {
            before: json(before),
            ..Self::created(action, tenant_id, target_type, target_id, after)
        }
    }

    pub fn deleted(
        action: &'static str,
        tenant_id: Option<Uuid>,
        target_type: &'static str,
        target_id: impl ToString,
        before: &impl Serialize,
    ) -> Self {
        Self {
            action,
            tenant_id,
            target_type,
            target_id: target_id.to_string(),
            before: json(before),
            after: None,
        }
    }
}

/// An open transaction on behalf of a caller.
pub struct Mutation {
    tx: Tx,
    caller: Caller,
}

impl Mutation {
    pub async fn begin(db: &Database, caller: &Caller) -> Result<Self, ApiError> {
        Ok(Self {
            tx: db.begin().await?,
            caller: caller.clone(),
        })
    }

    pub fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }

    /// Writes the audit event and commits both.
    pub async fn commit(mut self, change: Change) -> Result<(), ApiError> {
        let event = NewAuditEvent {
            tenant_id: change.tenant_id,
            actor_kind: self.caller.actor_kind(),
            actor_id: Some(self.caller.actor_id()),
            actor_name: self.caller.name.clone(),
            action: change.action.to_owned(),
            target_type: Some(change.target_type.to_owned()),
            target_id: Some(change.target_id),
            outcome: AuditOutcome::Success,
            source_address: self.caller.source_address.clone(),
            before: change.before,
            after: change.after,
            detail: None,
        };
        repo::audit::insert(&mut self.tx, &event).await?;
        self.tx.commit().await.map_err(crate::db::DbError::from)?;
        Ok(())
    }
}
