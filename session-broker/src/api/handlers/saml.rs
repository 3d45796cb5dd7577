//! `/tenants/{id}/saml`: a tenant's SAML IdP configuration. PUT judges the IdP metadata
//! before storing it (a signing certificate is required, `validUntil` and certificate
//! expiry are checked) and, given a URL instead of the document, fetches it once and pins
//! it. Tenant admins see and change only their own tenant's; every change is audited.

use axum::Json;
use axum::extract::State;

use crate::api::AdminState;
use crate::api::caller::Caller;
use crate::api::extract::{Body, Ids};
use crate::api::mutation::{Change, Mutation};
use crate::api::problem::ApiError;
use crate::db::row::now;
use crate::model::{SetTenantSaml, TenantSaml};
use crate::repo::{saml, tenants};
use crate::saml::{fetch, metadata};

pub async fn get(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
) -> Result<Json<TenantSaml>, ApiError> {
    let mut conn = s.conn().await?;
    let tenant = caller.visible(tenants::get(&mut conn, ids.id()).await?, |t| t.id, "tenant")?;
    saml::get(&mut conn, tenant.id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("saml"))
}

pub async fn set(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
    Body(new): Body<SetTenantSaml>,
) -> Result<Json<TenantSaml>, ApiError> {
    new.validate()?;
    {
        // Scope first, so another tenant's id is a 404 before any fetch happens.
        let mut conn = s.conn().await?;
        caller.visible(tenants::get(&mut conn, ids.id()).await?, |t| t.id, "tenant")?;
    }
    let (xml, field) = match (&new.idp_metadata_xml, &new.idp_metadata_url) {
        (Some(xml), _) => (xml.clone(), "idp_metadata_xml"),
        (None, Some(url)) => (
            fetch::fetch_metadata(url)
                .await
                .map_err(|e| ApiError::bad_request("idp_metadata_url", e.to_string()))?,
            "idp_metadata_url",
        ),
        (None, None) => return Err(ApiError::bad_request("idp_metadata_xml", "required")),
    };
    let at = now();
    let idp = metadata::parse(&xml, at.unix_timestamp())
        .map_err(|e| ApiError::bad_request(field, e.to_string()))?;
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let tenant = caller.visible(tenants::get(m.conn(), ids.id()).await?, |t| t.id, "tenant")?;
    let before = saml::get(m.conn(), tenant.id).await?;
    let config = TenantSaml {
        tenant_id: tenant.id,
        enabled: new.enabled,
        idp_metadata_xml: xml,
        idp_metadata_url: new.idp_metadata_url.clone(),
        idp_entity_id: idp.entity_id,
        sp_entity_id: new.sp_entity_id.clone(),
        requested_authn_contexts: new.requested_authn_contexts.clone(),
        accepted_mfa_contexts: new.accepted_mfa_contexts.clone(),
        force_authn: new.force_authn,
        attributes: new.attributes.clone(),
        created_at: before.as_ref().map_or(at, |b| b.created_at),
        updated_at: at,
    };
    let after = saml::put(m.conn(), &config).await?;
    let change = match &before {
        Some(b) => Change::updated(
            "tenant.saml_set",
            Some(tenant.id),
            "tenant",
            tenant.id,
            b,
            &after,
        ),
        None => Change::created(
            "tenant.saml_set",
            Some(tenant.id),
            "tenant",
            tenant.id,
            &after,
        ),
    };
    m.commit(change).await?;
    Ok(Json(after))
}
