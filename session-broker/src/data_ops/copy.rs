//! Copying a tenant's configuration from one environment to another (PROD → UTB, or back):
//! its apps (kind, program, arguments, enabled, version, pool binding) and who may launch
//! them through groups. Users, groups and memberships belong to the tenant, not to an
//! environment, so both environments already share them; the only per-person part of an
//! environment's configuration is direct user entitlements, copied only with `with_users`.
//! Sessions, print jobs, web sessions and audit events are never copied.

use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;
use uuid::Uuid;

use super::DataOpsError;
use crate::db::row::{get_opt_uuid, get_uuid};
use crate::model::{App, Environment, EnvironmentKind, NewApp, NewEntitlement};
use crate::repo;

/// `POST /tenants/{id}/copy-environment`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CopyEnvironment {
    /// The source environment: `PROD`, `UTB` or an environment id of the tenant.
    pub from: String,
    /// The target environment, likewise; must differ from `from`.
    pub to: String,
    /// Also copy direct user entitlements (grants naming a person). Default false: only
    /// group grants, which name no one.
    #[serde(default)]
    pub with_users: bool,
    /// Overwrite a target that already has apps: apps of the same name are updated in place
    /// (their ids and session history stay) and their entitlements replaced by the
    /// source's, new ones are created, and target apps the source lacks are disabled (not
    /// deleted: sessions refer to them). Default false: a target with apps answers 409.
    #[serde(default)]
    pub replace: bool,
}

/// What a copy did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EnvironmentCopied {
    pub from_environment_id: Uuid,
    pub to_environment_id: Uuid,
    pub apps_created: u64,
    pub apps_updated: u64,
    /// Target apps the source lacks, disabled by `replace`.
    pub apps_disabled: u64,
    pub group_entitlements: u64,
    pub user_entitlements: u64,
}

/// `PROD`, `UTB` or an environment id, resolved within `tenant_id`.
async fn environment(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
    name: &str,
    field: &'static str,
) -> Result<Environment, DataOpsError> {
    let found = match name.parse::<EnvironmentKind>() {
        Ok(kind) => repo::environments::get_by_kind(conn, tenant_id, kind).await?,
        Err(_) => match Uuid::parse_str(name) {
            Ok(id) => repo::environments::get(conn, id)
                .await?
                .filter(|e| e.tenant_id == tenant_id),
            Err(_) => {
                return Err(DataOpsError::BadRequest {
                    field,
                    reason: "PROD, UTB or an environment id".into(),
                });
            }
        },
    };
    found.ok_or(DataOpsError::NotFound("environment"))
}

/// The apps of one environment.
async fn apps_of(conn: &mut AnyConnection, environment_id: Uuid) -> Result<Vec<App>, DataOpsError> {
    let ids = sqlx::query("SELECT id FROM apps WHERE environment_id = $1 ORDER BY display_name")
        .bind(environment_id.to_string())
        .fetch_all(&mut *conn)
        .await
        .map_err(crate::db::DbError::from)?;
    let mut out = Vec::with_capacity(ids.len());
    for r in &ids {
        if let Some(a) = repo::apps::get(conn, get_uuid(r, "id")?).await? {
            out.push(a);
        }
    }
    Ok(out)
}

/// (group, user) of each entitlement of `app_id`.
async fn grants_of(
    conn: &mut AnyConnection,
    app_id: Uuid,
) -> Result<Vec<(Option<Uuid>, Option<Uuid>)>, DataOpsError> {
    let rows = sqlx::query("SELECT group_id, user_id FROM entitlements WHERE app_id = $1")
        .bind(app_id.to_string())
        .fetch_all(&mut *conn)
        .await
        .map_err(crate::db::DbError::from)?;
    rows.iter()
        .map(|r| Ok((get_opt_uuid(r, "group_id")?, get_opt_uuid(r, "user_id")?)))
        .collect()
}

async fn drop_grants(conn: &mut AnyConnection, app_id: Uuid) -> Result<(), DataOpsError> {
    sqlx::query("DELETE FROM entitlements WHERE app_id = $1")
        .bind(app_id.to_string())
        .execute(&mut *conn)
        .await
        .map_err(crate::db::DbError::from)?;
    Ok(())
}

/// Copies `req.from`'s configuration to `req.to` within `tenant_id`, on the caller's
/// transaction (the caller audits and commits).
pub async fn copy_environment(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
    req: &CopyEnvironment,
) -> Result<EnvironmentCopied, DataOpsError> {
    let from = environment(conn, tenant_id, &req.from, "from").await?;
    let to = environment(conn, tenant_id, &req.to, "to").await?;
    if from.id == to.id {
        return Err(DataOpsError::BadRequest {
            field: "to",
            reason: "the target must be another environment than the source".into(),
        });
    }
    let source = apps_of(conn, from.id).await?;
    let target = apps_of(conn, to.id).await?;
    if !target.is_empty() && !req.replace {
        return Err(DataOpsError::Conflict {
            field: Some("to"),
            detail: format!(
                "the target environment {} already has {} app(s); send \"replace\": true to \
                 overwrite it",
                to.kind.as_str(),
                target.len()
            ),
        });
    }
    let mut out = EnvironmentCopied {
        from_environment_id: from.id,
        to_environment_id: to.id,
        ..EnvironmentCopied::default()
    };
    for app in &source {
        let copied = match target.iter().find(|t| t.display_name == app.display_name) {
            Some(existing) => {
                let mut a = existing.clone();
                a.pool_id = app.pool_id;
                a.kind = app.kind;
                a.program.clone_from(&app.program);
                a.args.clone_from(&app.args);
                a.enabled = app.enabled;
                a.version.clone_from(&app.version);
                let a = repo::apps::update(conn, &a).await?;
                drop_grants(conn, a.id).await?;
                out.apps_updated += 1;
                a
            }
            None => {
                let new = NewApp {
                    environment_id: to.id,
                    pool_id: app.pool_id,
                    display_name: app.display_name.clone(),
                    kind: app.kind,
                    program: app.program.clone(),
                    args: app.args.clone(),
                    enabled: app.enabled,
                    version: app.version.clone(),
                };
                out.apps_created += 1;
                repo::apps::insert(conn, tenant_id, &new).await?
            }
        };
        for (group_id, user_id) in grants_of(conn, app.id).await? {
            if user_id.is_some() && !req.with_users {
                continue;
            }
            let grant = NewEntitlement { group_id, user_id };
            repo::entitlements::insert(conn, tenant_id, copied.id, &grant).await?;
            if user_id.is_some() {
                out.user_entitlements += 1;
            } else {
                out.group_entitlements += 1;
            }
        }
    }
    for stale in target
        .iter()
        .filter(|t| !source.iter().any(|s| s.display_name == t.display_name))
    {
        let mut a = stale.clone();
        a.enabled = false;
        repo::apps::update(conn, &a).await?;
        drop_grants(conn, a.id).await?;
        out.apps_disabled += 1;
    }
    Ok(out)
}
