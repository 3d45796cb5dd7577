//! The authentication layer of `/api/v1`: the TLS client certificate must chain to the API
//! CA, be valid now, carry the clientAuth EKU, and its subject CN must name an enabled API
//! client (or an operator CN from the configuration). Every refusal is a problem document
//! and an audit event.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, OriginalUri, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hamn_certs::{ClientCertError, PeerCertificates};
use rustls_pki_types::UnixTime;

use super::AdminState;
use super::caller::{Caller, Scope};
use super::problem::ApiError;
use crate::model::{ActorKind, ApiClientScope, AuditOutcome, NewAuditEvent};
use crate::repo;

/// Why a request was not let in.
#[derive(Debug)]
struct Refusal {
    error: ApiError,
    /// The certificate's CN when it was readable.
    subject_cn: Option<String>,
    reason: String,
}

impl Refusal {
    fn unauthorized(reason: impl Into<String>) -> Self {
        let reason = reason.into();
        Self {
            error: ApiError::unauthorized(reason.clone()),
            subject_cn: None,
            reason,
        }
    }

    fn forbidden(cn: Option<String>, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        Self {
            error: ApiError::forbidden(reason.clone()),
            subject_cn: cn,
            reason,
        }
    }
}

/// The middleware: identifies the caller or refuses the request.
pub async fn authenticate(
    State(state): State<AdminState>,
    mut req: Request,
    next: Next,
) -> Response {
    let source = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.to_string());
    // A `&Request` is not `Send`; take what the checks need before awaiting.
    let chain = req
        .extensions()
        .get::<PeerCertificates>()
        .cloned()
        .unwrap_or_default();
    match identify(&state, &chain, source.clone()).await {
        Ok(caller) => {
            let target = format!("{} {}", req.method(), original_path(&req));
            // Inside the nested router the path is relative to `/api/v1`.
            if !caller.may_reach(req.uri().path()) {
                let refusal = Refusal::forbidden(
                    Some(caller.subject_cn.clone()),
                    "a host agent may only report its own host's load",
                );
                audit_refusal(&state, target, source, &refusal).await;
                return refusal.error.into_response();
            }
            if let Some(tenant) = caller.tenant()
                && let Some(refused) = limit_api_request(
                    state.db(),
                    &caller,
                    tenant,
                    target,
                    time::OffsetDateTime::now_utc(),
                )
                .await
            {
                return refused;
            }
            req.extensions_mut().insert(caller);
            next.run(req).await
        }
        Err(refusal) => {
            let target = format!("{} {}", req.method(), original_path(&req));
            audit_refusal(&state, target, source, &refusal).await;
            refusal.error.into_response()
        }
    }
}

/// Inside the nested router the URI lacks `/api/v1`; audits name the path as sent.
fn original_path(req: &Request) -> String {
    req.extensions()
        .get::<OriginalUri>()
        .map_or_else(|| req.uri().path().to_owned(), |u| u.path().to_owned())
}

/// Counts a tenant caller's request against its tenant's API requests per minute, at `now`;
/// over the limit the answer is 429 with `Retry-After`, and the first refusal of each
/// minute is audited as `api.rate_limited`. The one counter for API clients here and for
/// tenant-admins on the portal origin, so the console is no way around the limit. A
/// database failure lets the request through: the handler meets the same database and
/// answers for it.
pub async fn limit_api_request(
    db: &crate::db::Database,
    caller: &Caller,
    tenant: uuid::Uuid,
    target: String,
    now: time::OffsetDateTime,
) -> Option<Response> {
    let counted = async {
        let mut conn = db.acquire().await?;
        crate::fair_use::count_api_request(&mut conn, tenant, now).await
    }
    .await;
    let (limit, retry_after_s, first) = match counted {
        Ok(crate::fair_use::ApiRate::Over {
            limit,
            retry_after_s,
            first,
        }) => (limit, retry_after_s, first),
        Ok(crate::fair_use::ApiRate::Allowed) => return None,
        Err(error) => {
            tracing::warn!(%error, "could not count an API request");
            return None;
        }
    };
    let error = ApiError::too_many_requests(
        format!(
            "the tenant's limit of {limit} API requests per minute is used up; retry in {retry_after_s} s"
        ),
        retry_after_s,
    );
    if first {
        let event = NewAuditEvent {
            tenant_id: Some(tenant),
            actor_kind: caller.actor_kind(),
            actor_id: Some(caller.actor_id()),
            actor_name: caller.name.clone(),
            action: "api.rate_limited".into(),
            target_type: Some("api".into()),
            target_id: Some(target),
            outcome: AuditOutcome::Refused,
            source_address: caller.source_address.clone(),
            before: None,
            after: None,
            detail: Some(format!(
                "over {limit} requests per minute; later refusals this minute are not audited"
            )),
        };
        let result = async {
            let mut conn = db.acquire().await?;
            repo::audit::insert(&mut conn, &event).await
        }
        .await;
        if let Err(e) = result {
            tracing::error!(error = %e, "could not audit an API rate refusal");
        }
    }
    Some(error.into_response())
}

async fn identify(
    state: &AdminState,
    chain: &PeerCertificates,
    source_address: Option<String>,
) -> Result<Caller, Refusal> {
    let Some(verifier) = state.verifier() else {
        return Err(Refusal::unauthorized(
            "client certificates are not accepted here",
        ));
    };
    let identity = verifier
        .verify(&chain.0, UnixTime::now())
        .map_err(|e| match e {
            ClientCertError::MissingClientAuthEku => Refusal::forbidden(None, e.to_string()),
            other => Refusal::unauthorized(other.to_string()),
        })?;
    let Some(cn) = identity.subject_cn.filter(|cn| !cn.is_empty()) else {
        return Err(Refusal::forbidden(
            None,
            "the client certificate has no subject CN",
        ));
    };
    if state.operator_cns().contains(&cn) {
        return Ok(Caller {
            name: cn.clone(),
            subject_cn: cn,
            client_id: None,
            scope: Scope::Operator,
            host_id: None,
            source_address,
            user_id: None,
        });
    }
    let mut conn = state.db().pool().acquire().await.map_err(|e| Refusal {
        error: ApiError::from_db(e.into(), &[]),
        subject_cn: Some(cn.clone()),
        reason: "database unavailable".into(),
    })?;
    let client = repo::api_clients::get_by_cn(&mut conn, &cn)
        .await
        .map_err(|e| Refusal {
            error: ApiError::from_db(e, &[]),
            subject_cn: Some(cn.clone()),
            reason: "database error".into(),
        })?;
    let Some(client) = client else {
        return Err(Refusal::forbidden(
            Some(cn),
            "the certificate's subject CN is not a registered API client",
        ));
    };
    if !client.enabled {
        return Err(Refusal::forbidden(Some(cn), "the API client is disabled"));
    }
    let scope = match (client.scope, client.tenant_id, client.host_id) {
        (ApiClientScope::Operator, _, _) => Scope::Operator,
        (ApiClientScope::Tenant, Some(t), _) => Scope::Tenant(t),
        (ApiClientScope::HostAgent, _, Some(_)) => Scope::HostAgent,
        // The schema forbids these rows; refuse rather than guess.
        (ApiClientScope::Tenant, None, _) => {
            return Err(Refusal::forbidden(Some(cn), "the API client has no tenant"));
        }
        (ApiClientScope::HostAgent, _, None) => {
            return Err(Refusal::forbidden(Some(cn), "the host agent has no host"));
        }
    };
    Ok(Caller {
        subject_cn: cn,
        client_id: Some(client.id),
        name: client.name,
        scope,
        host_id: if scope == Scope::HostAgent {
            client.host_id
        } else {
            None
        },
        source_address,
        user_id: None,
    })
}

async fn audit_refusal(state: &AdminState, target: String, source: Option<String>, r: &Refusal) {
    let event = NewAuditEvent {
        tenant_id: None,
        actor_kind: ActorKind::Anonymous,
        actor_id: r.subject_cn.as_ref().map(|cn| format!("cn:{cn}")),
        actor_name: r.subject_cn.clone().unwrap_or_else(|| "-".into()),
        action: "api.auth_refused".into(),
        target_type: Some("api".into()),
        target_id: Some(target),
        outcome: AuditOutcome::Refused,
        source_address: source,
        before: None,
        after: None,
        detail: Some(format!("{} ({})", r.reason, r.error.status().as_u16())),
    };
    let result = async {
        let mut conn = state.db().pool().acquire().await?;
        repo::audit::insert(&mut conn, &event).await
    }
    .await;
    if let Err(e) = result {
        // The refusal stands either way; losing its audit row is logged loudly.
        tracing::error!(error = %e, reason = %r.reason, "could not audit an API refusal");
    }
    tracing::info!(reason = %r.reason, "admin API request refused");
}
