//! Just-in-time users from a verified SAML login: the NameID is the user's key within the
//! tenant; HSA-ID, display name and (only when the tenant maps it) personnummer come from
//! the attributes the tenant configured; memberships of groups with an external id follow
//! the groups attribute. A new user is audited as `user.create`, a changed one as
//! `user.update` (actor: the IdP), in the caller's transaction.

use sqlx::AnyConnection;
use time::OffsetDateTime;

use super::response::VerifiedLogin;
use crate::db::DbError;
use crate::model::{ActorKind, AuditOutcome, NewAuditEvent, NewUser, TenantSaml, User};
use crate::repo;

/// Longest display name kept (longer ones are cut).
const MAX_DISPLAY_NAME: usize = 200;

fn clean(text: &str, max: usize) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(max)
        .collect::<String>()
        .trim()
        .to_owned()
}

fn event(
    config: &TenantSaml,
    user: &User,
    action: &str,
    before: Option<&User>,
    detail: String,
) -> NewAuditEvent {
    NewAuditEvent {
        tenant_id: Some(user.tenant_id),
        actor_kind: ActorKind::System,
        actor_id: None,
        actor_name: format!(
            "saml:{}",
            config.idp_entity_id.chars().take(180).collect::<String>()
        ),
        action: action.into(),
        target_type: Some("user".into()),
        target_id: Some(user.id.to_string()),
        outcome: AuditOutcome::Success,
        source_address: None,
        before: before.and_then(|b| serde_json::to_value(b).ok()),
        after: serde_json::to_value(user).ok(),
        detail: Some(detail),
    }
}

/// Creates or updates the user of `login` and syncs its groups; returns the user.
pub async fn provision(
    conn: &mut AnyConnection,
    config: &TenantSaml,
    login: &VerifiedLogin,
    now: OffsetDateTime,
) -> Result<User, DbError> {
    let map = &config.attributes;
    let hsa_id = map
        .hsa_id
        .as_deref()
        .and_then(|a| login.first(a))
        .map(|v| clean(v, 64))
        .filter(|v| !v.is_empty());
    let display_name = map
        .display_name
        .as_deref()
        .and_then(|a| login.first(a))
        .map(|v| clean(v, MAX_DISPLAY_NAME))
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| clean(&login.name_id, MAX_DISPLAY_NAME));
    let existing = repo::users::get_by_name_id(conn, config.tenant_id, &login.name_id).await?;
    let user = match existing {
        None => {
            let user = repo::users::insert(
                conn,
                config.tenant_id,
                &NewUser {
                    name_id: login.name_id.clone(),
                    hsa_id,
                    display_name,
                },
            )
            .await?;
            repo::audit::insert(
                conn,
                &event(
                    config,
                    &user,
                    "user.create",
                    None,
                    "created at SAML login".into(),
                ),
            )
            .await?;
            user
        }
        Some(before) => {
            // An IdP that stops sending an attribute does not erase what we know.
            let hsa_id = hsa_id.or_else(|| before.hsa_id.clone());
            if before.hsa_id != hsa_id || before.display_name != display_name {
                let mut changed = before.clone();
                changed.hsa_id = hsa_id;
                changed.display_name = display_name;
                let after = repo::users::update(conn, &changed).await?;
                repo::audit::insert(
                    conn,
                    &event(
                        config,
                        &after,
                        "user.update",
                        Some(&before),
                        "updated at SAML login".into(),
                    ),
                )
                .await?;
                after
            } else {
                before
            }
        }
    };
    if let Some(attr) = map.personal_number.as_deref() {
        let pn = login.first(attr).map(|v| clean(v, 16));
        repo::saml::set_personal_number(conn, config.tenant_id, user.id, pn.as_deref(), now)
            .await?;
    }
    if let Some(attr) = map.groups.as_deref() {
        let values = login.attribute(attr).unwrap_or_default();
        let (added, removed) =
            repo::saml::sync_external_groups(conn, config.tenant_id, user.id, values, now).await?;
        if added + removed > 0 {
            repo::audit::insert(
                conn,
                &event(
                    config,
                    &user,
                    "user.groups_sync",
                    None,
                    format!("groups from SAML: {added} added, {removed} removed"),
                ),
            )
            .await?;
        }
    }
    Ok(user)
}
