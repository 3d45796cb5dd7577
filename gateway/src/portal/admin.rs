//! The admin API on the portal origin: `/api/v1`, the broker's own route table
//! ([`hamn_broker::api::v1_routes`]), for people logged in to the portal. The web session
//! (and, on state changes, its CSRF token, checked by [`super::csrf`]) authenticates; the
//! user's role decides the scope: tenant-admin → their tenant, operator → every tenant,
//! plain user → 403 (audited as `api.auth_refused`). A tenant-admin's requests count
//! against the tenant's admin API requests per minute like its API clients' do (429 with
//! `Retry-After`). Answers are the admin API's problem documents, not the portal's.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hamn_broker::api::auth::limit_api_request;
use hamn_broker::api::{AdminState, ApiError, v1_routes};
use hamn_broker::model::{ActorKind, AuditOutcome, NewAuditEvent};
use hamn_broker::{repo, roles, web_session};

use super::api::PortalApi;
use super::web_session::{WebUser, token};

/// `/api/v1/…` behind web-session authentication.
pub fn router(api: Arc<PortalApi>) -> Router {
    let state = AdminState::for_web_sessions(api.database.clone(), api.access.secrets_key.clone())
        .with_print_public_url(api.print_public_url.clone())
        .with_print_data_dir(Some(api.print_data_dir.clone()));
    let v1 = v1_routes()
        .layer(axum::middleware::from_fn_with_state(api, authenticate))
        .with_state(state);
    Router::new().nest("/api/v1", v1)
}

/// Inside the nested router the URI lacks `/api/v1`; audits name the path as sent.
fn original_path(request: &Request) -> String {
    request
        .extensions()
        .get::<axum::extract::OriginalUri>()
        .map_or_else(|| request.uri().path().to_owned(), |u| u.path().to_owned())
}

fn source_of(request: &Request) -> Option<String> {
    request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
}

/// Puts the [`hamn_broker::api::Caller`] of a tenant-admin's or operator's session into the
/// request, or refuses.
async fn authenticate(
    State(api): State<Arc<PortalApi>>,
    mut request: Request,
    next: Next,
) -> Response {
    let source = source_of(&request);
    let known = request.extensions().get::<WebUser>().cloned();
    let who = match known {
        Some(who) => Some(who),
        None => match token(request.headers()) {
            None => None,
            Some(cookie) => match web_session::authenticate_at(
                &api.database,
                api.web_sessions,
                &cookie,
                api.access.clock.now(),
            )
            .await
            {
                Ok(found) => found.map(|(session, user)| WebUser { session, user }),
                Err(error) => return ApiError::from(error).into_response(),
            },
        },
    };
    let Some(who) = who else {
        return ApiError::unauthorized("log in to the portal (no live web session)")
            .into_response();
    };
    let caller = async {
        let mut conn = api.database.acquire().await?;
        roles::caller_for_user(&mut conn, &who.user, source.clone()).await
    }
    .await;
    match caller {
        Ok(Some(caller)) => {
            // A `&Request` is not `Send`: name the target before awaiting.
            let target = format!("{} {}", request.method(), original_path(&request));
            if let Some(tenant) = caller.tenant()
                && let Some(refused) = limit_api_request(
                    &api.database,
                    &caller,
                    tenant,
                    target,
                    api.access.clock.now(),
                )
                .await
            {
                return refused;
            }
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Ok(None) => {
            let target = format!("{} {}", request.method(), original_path(&request));
            let event = NewAuditEvent {
                tenant_id: Some(who.user.tenant_id),
                actor_kind: ActorKind::User,
                actor_id: Some(who.user.id.to_string()),
                actor_name: who.user.display_name.clone(),
                action: "api.auth_refused".into(),
                target_type: Some("api".into()),
                target_id: Some(target),
                outcome: AuditOutcome::Refused,
                source_address: source,
                before: None,
                after: None,
                detail: Some("role user may not use the admin API (403)".into()),
            };
            let audited = async {
                let mut conn = api.database.acquire().await?;
                repo::audit::insert(&mut conn, &event).await
            }
            .await;
            if let Err(error) = audited {
                tracing::error!(%error, "could not audit an admin API refusal");
            }
            ApiError::forbidden("the admin API is for tenant administrators and operators")
                .into_response()
        }
        Err(error) => ApiError::from(error).into_response(),
    }
}
