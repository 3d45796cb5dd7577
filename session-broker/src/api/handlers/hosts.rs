//! `/pools/{id}/hosts` and `/hosts/{id}`. Operators manage every host. A tenant-admin
//! may list and read the hosts of the pools their tenant's sessions run on (dedicated to
//! the tenant, or used by one of its apps) and set a host active, draining or in
//! maintenance only on a pool dedicated to their tenant: a shared pool's hosts serve other
//! tenants too. Hosts of other pools do not exist for them (404).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use sqlx::AnyConnection;
use uuid::Uuid;

use super::ListQuery;
use crate::api::AdminState;
use crate::api::caller::{Caller, Operator, Scope};
use crate::api::extract::{Body, Ids, Params};
use crate::api::mutation::{Change, Mutation};
use crate::api::problem::ApiError;
use crate::model::{Host, HostPatch, HostPool, HostStateChange, HostVersionReport, NewHost, Page};
use crate::repo::{apps, hosts, pools};

const UNIQUE: &[&str] = &["name"];

/// The pool `id` if the caller may watch its hosts: operators any pool, a tenant the
/// pools dedicated to it or used by one of its apps; 404 otherwise (host agents included:
/// the authentication layer keeps them off these paths anyway).
pub async fn watched_pool(
    conn: &mut AnyConnection,
    caller: &Caller,
    id: Uuid,
) -> Result<HostPool, ApiError> {
    let pool = pools::get(conn, id).await?;
    let watched = match (&pool, caller.scope) {
        (Some(_), Scope::Operator) => true,
        (Some(p), Scope::Tenant(t)) => {
            p.dedicated_tenant_id == Some(t) || apps::tenant_uses_pool(conn, t, p.id).await?
        }
        _ => false,
    };
    match pool {
        Some(p) if watched => Ok(p),
        _ => Err(ApiError::not_found("pool")),
    }
}

/// The host `id` and its pool, if the caller may watch the pool (else 404 "host").
pub async fn watched_host(
    conn: &mut AnyConnection,
    caller: &Caller,
    id: Uuid,
) -> Result<(Host, HostPool), ApiError> {
    let h = hosts::get(conn, id)
        .await?
        .ok_or_else(|| ApiError::not_found("host"))?;
    match watched_pool(conn, caller, h.pool_id).await {
        Ok(pool) => Ok((h, pool)),
        Err(_) => Err(ApiError::not_found("host")),
    }
}

pub async fn list(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
    Params(q): Params<ListQuery>,
) -> Result<Json<Page<Host>>, ApiError> {
    let page = q.page()?;
    let mut conn = s.conn().await?;
    let pool = watched_pool(&mut conn, &caller, ids.id()).await?;
    Ok(Json(hosts::list(&mut conn, pool.id, page).await?))
}

pub async fn create(
    State(s): State<AdminState>,
    Operator(caller): Operator,
    ids: Ids,
    Body(new): Body<NewHost>,
) -> Result<(StatusCode, Json<Host>), ApiError> {
    new.validate()?;
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let pool = pools::get(m.conn(), ids.id())
        .await?
        .ok_or_else(|| ApiError::not_found("pool"))?;
    let h = hosts::insert(m.conn(), pool.id, &new)
        .await
        .map_err(|e| ApiError::from_db(e, UNIQUE))?;
    m.commit(Change::created(
        "host.create",
        pool.dedicated_tenant_id,
        "host",
        h.id,
        &h,
    ))
    .await?;
    Ok((StatusCode::CREATED, Json(h)))
}

async fn load(m: &mut Mutation, ids: &Ids) -> Result<(Host, Option<uuid::Uuid>), ApiError> {
    let h = hosts::get(m.conn(), ids.id())
        .await?
        .ok_or_else(|| ApiError::not_found("host"))?;
    let tenant = pools::get(m.conn(), h.pool_id)
        .await?
        .and_then(|p| p.dedicated_tenant_id);
    Ok((h, tenant))
}

pub async fn get(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
) -> Result<Json<Host>, ApiError> {
    let mut conn = s.conn().await?;
    let (h, _) = watched_host(&mut conn, &caller, ids.id()).await?;
    Ok(Json(h))
}

pub async fn update(
    State(s): State<AdminState>,
    Operator(caller): Operator,
    ids: Ids,
    Body(patch): Body<HostPatch>,
) -> Result<Json<Host>, ApiError> {
    patch.validate()?;
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let (before, tenant) = load(&mut m, &ids).await?;
    let mut h = before.clone();
    patch.apply(&mut h);
    let after = hosts::update(m.conn(), &h)
        .await
        .map_err(|e| ApiError::from_db(e, UNIQUE))?;
    m.commit(Change::updated(
        "host.update",
        tenant,
        "host",
        h.id,
        &before,
        &after,
    ))
    .await?;
    Ok(Json(after))
}

/// Drain, maintenance or back to active: operators on any host, a tenant-admin on the
/// hosts of pools dedicated to their tenant.
pub async fn set_state(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
    Body(change): Body<HostStateChange>,
) -> Result<Json<Host>, ApiError> {
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let (before, pool) = watched_host(m.conn(), &caller, ids.id()).await?;
    if let Some(t) = caller.tenant()
        && pool.dedicated_tenant_id != Some(t)
    {
        return Err(ApiError::forbidden(
            "the hosts of a shared pool serve other tenants too; only operators change their state",
        ));
    }
    let tenant = pool.dedicated_tenant_id;
    let mut h = before.clone();
    h.state = change.state;
    let after = hosts::update(m.conn(), &h).await?;
    m.commit(Change::updated(
        "host.state_change",
        tenant,
        "host",
        h.id,
        &before,
        &after,
    ))
    .await?;
    Ok(Json(after))
}

/// A host agent or operator reports the build the host runs; a rollout waiting for it
/// to be recycled onto that build counts it done.
pub async fn report_version(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
    Body(report): Body<HostVersionReport>,
) -> Result<Json<Host>, ApiError> {
    caller.require_host(ids.id())?;
    report.validate()?;
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let (before, tenant) = load(&mut m, &ids).await?;
    let after = crate::rollouts::report_host_version(m.conn(), &before, &report.version).await?;
    m.commit(Change::updated(
        "host.version",
        tenant,
        "host",
        before.id,
        &before,
        &after,
    ))
    .await?;
    Ok(Json(after))
}

pub async fn delete(
    State(s): State<AdminState>,
    Operator(caller): Operator,
    ids: Ids,
) -> Result<StatusCode, ApiError> {
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let (before, tenant) = load(&mut m, &ids).await?;
    hosts::delete(m.conn(), before.id).await?;
    m.commit(Change::deleted(
        "host.delete",
        tenant,
        "host",
        before.id,
        &before,
    ))
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
