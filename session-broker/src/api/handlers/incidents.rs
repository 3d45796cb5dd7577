//! `/tenants/{id}/incidents` and `/incidents/{id}`: disturbances and outages for the public
//! status page. Operators post an incident (with its first update) and follow it with
//! updates that may change its state or severity; an update to `resolved` resolves it, and
//! a resolved incident takes no more updates (409). A tenant's clients and tenant-admins
//! read their own tenant's incidents.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::api::AdminState;
use crate::api::caller::{Caller, Operator};
use crate::api::extract::{Body, Ids, Params, page};
use crate::api::mutation::{Change, Mutation};
use crate::api::problem::ApiError;
use crate::model::{Incident, NewIncident, NewIncidentUpdate, Page, ValidationErrors};
use crate::repo::{environments, incidents, tenants};

/// `?open=&limit=&cursor=`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentQuery {
    pub open: Option<bool>,
    pub limit: Option<u32>,
    pub cursor: Option<Uuid>,
}

pub async fn list(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
    Params(q): Params<IncidentQuery>,
) -> Result<Json<Page<Incident>>, ApiError> {
    let page = page(q.limit, q.cursor)?;
    let mut conn = s.conn().await?;
    let t = caller.visible(tenants::get(&mut conn, ids.id()).await?, |t| t.id, "tenant")?;
    Ok(Json(incidents::list(&mut conn, t.id, q.open, page).await?))
}

pub async fn create(
    State(s): State<AdminState>,
    Operator(caller): Operator,
    ids: Ids,
    Body(new): Body<NewIncident>,
) -> Result<(StatusCode, Json<Incident>), ApiError> {
    let now = OffsetDateTime::now_utc();
    let (state, started_at) = new.validate(now)?;
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let t = caller.visible(tenants::get(m.conn(), ids.id()).await?, |t| t.id, "tenant")?;
    if let Some(env) = new.environment_id {
        let theirs = environments::get(m.conn(), env)
            .await?
            .is_some_and(|e| e.tenant_id == t.id);
        if !theirs {
            return Err(ValidationErrors::single(
                "environment_id",
                "must be an environment of this tenant",
            )
            .into());
        }
    }
    let i = incidents::insert(
        m.conn(),
        t.id,
        new.environment_id,
        &new.title,
        new.severity,
        state,
        started_at,
        &new.message,
        &caller.name,
        now,
    )
    .await?;
    m.commit(Change::created(
        "incident.create",
        Some(i.tenant_id),
        "incident",
        i.id,
        &i,
    ))
    .await?;
    Ok((StatusCode::CREATED, Json(i)))
}

pub async fn get(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
) -> Result<Json<Incident>, ApiError> {
    let mut conn = s.conn().await?;
    let i = incidents::get(&mut conn, ids.id()).await?;
    Ok(Json(caller.visible(i, |i| i.tenant_id, "incident")?))
}

pub async fn add_update(
    State(s): State<AdminState>,
    Operator(caller): Operator,
    ids: Ids,
    Body(update): Body<NewIncidentUpdate>,
) -> Result<(StatusCode, Json<Incident>), ApiError> {
    update.validate()?;
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let before = caller.visible(
        incidents::get(m.conn(), ids.id()).await?,
        |i| i.tenant_id,
        "incident",
    )?;
    if !before.is_open() {
        return Err(ApiError::conflict(
            Some("state"),
            "the incident is resolved; post a new incident if the trouble is back",
        ));
    }
    let after = update.apply(&before, OffsetDateTime::now_utc());
    let after = incidents::add_update(m.conn(), &after, &update.message, &caller.name).await?;
    let action = if after.is_open() {
        "incident.update"
    } else {
        "incident.resolve"
    };
    m.commit(Change::updated(
        action,
        Some(after.tenant_id),
        "incident",
        after.id,
        &before,
        &after,
    ))
    .await?;
    Ok((StatusCode::CREATED, Json(after)))
}
