//! Load and fair use in the admin API: a host agent's load reports
//! (`/hosts/{id}/load`), a pool's placement settings and capacity
//! (`/pools/{id}/placement`, `/pools/{id}/capacity`), and a tenant's limits and use
//! (`/tenants/{id}/limits`, `/tenants/{id}/usage`).
//!
//! Load reports are telemetry, sent every few seconds by every host: they are not
//! audited one by one (the row holds the last report and its time); refusals are, by the
//! authentication layer. Settings and limits are audited like every other change.

use axum::Json;
use axum::extract::State;

use super::hosts::watched_host;
use super::pools::visible_pool;
use crate::api::AdminState;
use crate::api::caller::{Caller, Operator};
use crate::api::extract::{Body, Ids};
use crate::api::mutation::{Change, Mutation};
use crate::api::problem::ApiError;
use crate::db::row::{from_millis, millis, now};
use crate::model::{
    HostLoad, HostLoadReport, PoolCapacity, PoolPlacement, PoolPlacementPatch, TenantLimits,
    TenantLimitsPatch, TenantUsage,
};
use crate::repo::load::{self, Counter};
use crate::repo::{hosts, pools, tenants};
use crate::{capacity, fair_use, placement};

fn report_scope(caller: &Caller, host: uuid::Uuid) -> Result<(), ApiError> {
    if caller.reports_for(host) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "only operators and the host's own agent may report or read its load",
        ))
    }
}

/// `PUT /hosts/{id}/load`: the host's agent reports sessions, CPU and memory.
pub async fn put_host_load(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
    Body(report): Body<HostLoadReport>,
) -> Result<Json<HostLoad>, ApiError> {
    report_scope(&caller, ids.id())?;
    report.validate()?;
    let mut conn = s.conn().await?;
    let host = hosts::get(&mut conn, ids.id())
        .await?
        .ok_or_else(|| ApiError::not_found("host"))?;
    Ok(Json(
        load::put_host_load(&mut conn, host.id, &report, now()).await?,
    ))
}

/// `GET /hosts/{id}/load`: the last report (404 before the first). Operators, the host's
/// own agent, and tenant-admins who may watch the host ([`watched_host`]).
pub async fn get_host_load(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
) -> Result<Json<HostLoad>, ApiError> {
    let mut conn = s.conn().await?;
    if caller.tenant().is_some() {
        watched_host(&mut conn, &caller, ids.id()).await?;
    } else {
        report_scope(&caller, ids.id())?;
    }
    let report = load::get_host_load(&mut conn, ids.id())
        .await?
        .ok_or_else(|| ApiError::not_found("load report"))?;
    Ok(Json(report))
}

/// `GET /pools/{id}/placement`.
pub async fn get_placement(
    State(s): State<AdminState>,
    _: Operator,
    ids: Ids,
) -> Result<Json<PoolPlacement>, ApiError> {
    let mut conn = s.conn().await?;
    let pool = pools::get(&mut conn, ids.id())
        .await?
        .ok_or_else(|| ApiError::not_found("pool"))?;
    Ok(Json(load::pool_placement(&mut conn, pool.id).await?.0))
}

/// `PUT /pools/{id}/placement`: absent fields keep their value.
pub async fn put_placement(
    State(s): State<AdminState>,
    Operator(caller): Operator,
    ids: Ids,
    Body(patch): Body<PoolPlacementPatch>,
) -> Result<Json<PoolPlacement>, ApiError> {
    patch.validate()?;
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let pool = pools::get(m.conn(), ids.id())
        .await?
        .ok_or_else(|| ApiError::not_found("pool"))?;
    let (before, _) = load::pool_placement(m.conn(), pool.id).await?;
    let mut after = before.clone();
    patch.apply(&mut after);
    load::put_pool_placement(m.conn(), &after, now()).await?;
    m.commit(Change::updated(
        "pool.placement_update",
        pool.dedicated_tenant_id,
        "pool",
        pool.id,
        &before,
        &after,
    ))
    .await?;
    Ok(Json(after))
}

/// `GET /pools/{id}/capacity`: seats now and the alarm.
pub async fn get_capacity(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
) -> Result<Json<PoolCapacity>, ApiError> {
    let mut conn = s.conn().await?;
    let pool = visible_pool(&mut conn, &caller, ids.id()).await?;
    let view = placement::view(&mut conn, pool.id, now()).await?;
    Ok(Json(capacity::report(pool.id, &view)))
}

/// `GET /tenants/{id}/limits`.
pub async fn get_limits(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
) -> Result<Json<TenantLimits>, ApiError> {
    let mut conn = s.conn().await?;
    let t = caller.visible(tenants::get(&mut conn, ids.id()).await?, |t| t.id, "tenant")?;
    Ok(Json(load::tenant_limits(&mut conn, t.id, false).await?.0))
}

/// `PUT /tenants/{id}/limits`: operators set a tenant's limits; absent fields keep their
/// value, `null` removes a limit.
pub async fn put_limits(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
    Body(patch): Body<TenantLimitsPatch>,
) -> Result<Json<TenantLimits>, ApiError> {
    patch.validate()?;
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let t = caller.visible(tenants::get(m.conn(), ids.id()).await?, |t| t.id, "tenant")?;
    // A tenant must not lift its own limits.
    caller.require_operator()?;
    let (before, _) = load::tenant_limits(m.conn(), t.id, true).await?;
    let mut after = before.clone();
    patch.apply(&mut after);
    load::put_tenant_limits(m.conn(), &after, now()).await?;
    m.commit(Change::updated(
        "tenant.limits_update",
        Some(t.id),
        "tenant",
        t.id,
        &before,
        &after,
    ))
    .await?;
    Ok(Json(after))
}

/// `GET /tenants/{id}/usage`: current use against the limits.
pub async fn get_usage(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
) -> Result<Json<TenantUsage>, ApiError> {
    let mut conn = s.conn().await?;
    let t = caller.visible(tenants::get(&mut conn, ids.id()).await?, |t| t.id, "tenant")?;
    let (start, _) = fair_use::window(millis(now()));
    let usage = TenantUsage {
        tenant_id: t.id,
        sessions: load::tenant_sessions(&mut conn, t.id).await?,
        max_sessions_of_a_user: load::busiest_user_sessions(&mut conn, t.id).await?,
        launches_this_minute: load::counted(&mut conn, t.id, Counter::Launch, start).await?,
        api_requests_this_minute: load::counted(&mut conn, t.id, Counter::Api, start).await?,
        window_start: from_millis(start).map_err(|_| ApiError::internal())?,
        limits: load::tenant_limits(&mut conn, t.id, false).await?.0,
    };
    Ok(Json(usage))
}
