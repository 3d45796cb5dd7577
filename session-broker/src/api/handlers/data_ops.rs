//! Customer-ordered data operations (service description §8): `POST
//! /tenants/{id}/copy-environment`, `POST /users/{id}/purge`, `POST /tenants/{id}/purge`.
//! Operators only: §8 makes them change requests the customer orders and operations
//! carries out, and a purge rewrites audit events, the record that holds tenant-admins to
//! account, so a tenant-admin must not be able to run one on their own. Each runs in one
//! transaction with its audit event; a purge's event names the user only by pseudonym.

use axum::Json;
use axum::extract::State;

use crate::api::AdminState;
use crate::api::caller::Operator;
use crate::api::extract::{Body, Ids};
use crate::api::mutation::{Change, Mutation};
use crate::api::problem::ApiError;
use crate::data_ops::DataOpsError;
use crate::data_ops::copy::{CopyEnvironment, EnvironmentCopied, copy_environment};
use crate::data_ops::purge::{self, PurgeRequest, Purged};
use crate::repo;

impl From<DataOpsError> for ApiError {
    fn from(e: DataOpsError) -> Self {
        match e {
            DataOpsError::NotFound(what) => ApiError::not_found(what),
            DataOpsError::Conflict { field, detail } => ApiError::conflict(field, detail),
            DataOpsError::BadRequest { field, reason } => ApiError::bad_request(field, reason),
            DataOpsError::Db(e) => ApiError::from_db(e, &[]),
        }
    }
}

fn json(v: &impl serde::Serialize) -> Option<serde_json::Value> {
    serde_json::to_value(v).ok()
}

pub async fn copy(
    State(s): State<AdminState>,
    Operator(caller): Operator,
    ids: Ids,
    Body(req): Body<CopyEnvironment>,
) -> Result<Json<EnvironmentCopied>, ApiError> {
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let tenant = caller.visible(
        repo::tenants::get(m.conn(), ids.id()).await?,
        |t| t.id,
        "tenant",
    )?;
    let report = copy_environment(m.conn(), tenant.id, &req).await?;
    m.commit(Change {
        action: "environment.copy",
        tenant_id: Some(tenant.id),
        target_type: "environment",
        target_id: report.to_environment_id.to_string(),
        before: json(&req),
        after: json(&report),
    })
    .await?;
    Ok(Json(report))
}

/// Deletes the purged PDFs once the purge is committed (a purge rolled back keeps them).
async fn delete_pdfs(s: &AdminState, report: &mut Purged, pdfs: &[purge::PdfRef]) {
    if let Some(dir) = s.print_data_dir() {
        let (deleted, failed) = purge::delete_pdfs(dir, pdfs).await;
        report.pdfs_deleted = deleted;
        report.pdfs_failed = failed;
    } else {
        report.pdfs_failed = pdfs.len() as u64;
    }
}

pub async fn purge_user(
    State(s): State<AdminState>,
    Operator(caller): Operator,
    ids: Ids,
    Body(req): Body<PurgeRequest>,
) -> Result<Json<Purged>, ApiError> {
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let user = repo::users::get(m.conn(), ids.id())
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    if req.confirm != user.name_id {
        return Err(ApiError::bad_request(
            "confirm",
            "must be the user's name_id: it confirms which user is purged",
        ));
    }
    let (mut report, pdfs) = purge::purge_users(m.conn(), std::slice::from_ref(&user)).await?;
    let key = repo::audit::pseudonym_key(m.conn()).await?;
    m.commit(Change {
        action: "user.purge",
        tenant_id: Some(user.tenant_id),
        target_type: "user",
        // The same pseudonym the user's other events now carry.
        target_id: repo::audit::pseudonym(&key, &user.id.to_string()),
        before: None,
        after: json(&report),
    })
    .await?;
    delete_pdfs(&s, &mut report, &pdfs).await;
    Ok(Json(report))
}

pub async fn purge_tenant(
    State(s): State<AdminState>,
    Operator(caller): Operator,
    ids: Ids,
    Body(req): Body<PurgeRequest>,
) -> Result<Json<Purged>, ApiError> {
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let tenant = repo::tenants::get(m.conn(), ids.id())
        .await?
        .ok_or_else(|| ApiError::not_found("tenant"))?;
    if req.confirm != tenant.slug {
        return Err(ApiError::bad_request(
            "confirm",
            "must be the tenant's slug: it confirms which tenant is purged",
        ));
    }
    let (mut report, pdfs) = purge::purge_tenant(m.conn(), tenant.id).await?;
    m.commit(Change {
        action: "tenant.purge",
        tenant_id: Some(tenant.id),
        target_type: "tenant",
        target_id: tenant.id.to_string(),
        before: None,
        after: json(&report),
    })
    .await?;
    delete_pdfs(&s, &mut report, &pdfs).await;
    Ok(Json(report))
}
