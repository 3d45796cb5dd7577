//! `/pools/{id}/credentials`: operators set the Windows account the gateway uses on the
//! pool's hosts. The password is write-only: no answer and no audit event contains it.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::api::AdminState;
use crate::api::caller::Operator;
use crate::api::extract::{Body, Ids};
use crate::api::mutation::{Change, Mutation};
use crate::api::problem::ApiError;
use crate::credentials::{self, CredentialsError, PoolCredentials, SetPoolCredentials};
use crate::repo::pools;

fn from_credentials(e: CredentialsError) -> ApiError {
    match e {
        CredentialsError::Database(e) => e.into(),
        other => {
            tracing::error!(error = %other, "sealing host credentials failed");
            ApiError::internal()
        }
    }
}

pub async fn get(
    State(s): State<AdminState>,
    _: Operator,
    ids: Ids,
) -> Result<Json<PoolCredentials>, ApiError> {
    let mut conn = s.conn().await?;
    if pools::get(&mut conn, ids.id()).await?.is_none() {
        return Err(ApiError::not_found("pool"));
    }
    credentials::get(&mut conn, ids.id())
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("credentials"))
}

pub async fn set(
    State(s): State<AdminState>,
    Operator(caller): Operator,
    ids: Ids,
    Body(new): Body<SetPoolCredentials>,
) -> Result<Json<PoolCredentials>, ApiError> {
    new.validate()?;
    let Some(key) = s.secrets_key() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service unavailable",
            "no secrets key is configured (broker.secrets_key or broker.secrets_key_file)",
        ));
    };
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let pool = pools::get(m.conn(), ids.id())
        .await?
        .ok_or_else(|| ApiError::not_found("pool"))?;
    let before = credentials::get(m.conn(), pool.id).await?;
    let after = credentials::set(m.conn(), key, pool.id, &new)
        .await
        .map_err(from_credentials)?;
    // Before and after are the password-free views.
    let change = match &before {
        Some(b) => Change::updated(
            "pool.credentials_set",
            pool.dedicated_tenant_id,
            "pool",
            pool.id,
            b,
            &after,
        ),
        None => Change::created(
            "pool.credentials_set",
            pool.dedicated_tenant_id,
            "pool",
            pool.id,
            &after,
        ),
    };
    m.commit(change).await?;
    Ok(Json(after))
}

pub async fn delete(
    State(s): State<AdminState>,
    Operator(caller): Operator,
    ids: Ids,
) -> Result<StatusCode, ApiError> {
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let pool = pools::get(m.conn(), ids.id())
        .await?
        .ok_or_else(|| ApiError::not_found("pool"))?;
    let before = credentials::get(m.conn(), pool.id)
        .await?
        .ok_or_else(|| ApiError::not_found("credentials"))?;
    credentials::delete(m.conn(), pool.id).await?;
    m.commit(Change::deleted(
        "pool.credentials_delete",
        pool.dedicated_tenant_id,
        "pool",
        pool.id,
        &before,
    ))
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
