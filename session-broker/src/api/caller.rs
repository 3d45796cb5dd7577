//! Who is calling: the API client an authenticated certificate maps to, or a portal user
//! whose web session and role the gateway checked (`/api/v1` on the portal origin), and
//! the scope either has.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::Serialize;
use uuid::Uuid;

use super::problem::ApiError;
use crate::model::ActorKind;

/// What a caller may touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "scope", content = "tenant_id", rename_all = "snake_case")]
pub enum Scope {
    /// Every tenant, pools, hosts and API clients.
    Operator,
    /// One tenant's resources.
    Tenant(Uuid),
    /// A host's agent: may report that host's load (`Caller::host_id`) and nothing else.
    HostAgent,
}

/// The authenticated caller, put into request extensions by the authentication layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Caller {
    /// Subject CN of the client certificate (empty for a web session).
    pub subject_cn: String,
    /// The API client row; absent for operators named in the configuration.
    pub client_id: Option<Uuid>,
    /// The client's name.
    pub name: String,
    #[serde(flatten)]
    pub scope: Scope,
    /// The host a `host_agent` caller is bound to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_id: Option<Uuid>,
    /// Peer address of the connection.
    pub source_address: Option<String>,
    /// The portal user, when the caller is a web session (a tenant-admin or operator).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<Uuid>,
}

impl Caller {
    pub fn actor_kind(&self) -> ActorKind {
        match (self.user_id, self.client_id) {
            (Some(_), _) => ActorKind::User,
            (None, Some(_)) => ActorKind::ApiClient,
            (None, None) => ActorKind::Operator,
        }
    }

    pub fn actor_id(&self) -> String {
        match (self.user_id, self.client_id) {
            (Some(user), _) => user.to_string(),
            (None, Some(id)) => id.to_string(),
            (None, None) => format!("cn:{}", self.subject_cn),
        }
    }

    pub fn is_operator(&self) -> bool {
        self.scope == Scope::Operator
    }

    /// The tenant the caller is limited to, if any. A host agent has none, but the
    /// authentication layer lets it reach only its host's load (see [`Self::may_reach`]),
    /// and [`Self::sees`] shows it no tenant.
    pub fn tenant(&self) -> Option<Uuid> {
        match self.scope {
            Scope::Operator | Scope::HostAgent => None,
            Scope::Tenant(t) => Some(t),
        }
    }

    /// Whether the caller may call `method path` (relative to `/api/v1`) at all: host
    /// agents only `/whoami`, their own host's `/hosts/{id}/load`, `/commands` and
    /// `/version`, and `/host-commands/{id}/report` (whose handler checks the command is
    /// for their host); everyone else every path (the handlers judge the rest).
    pub fn may_reach(&self, path: &str) -> bool {
        if self.scope != Scope::HostAgent {
            return true;
        }
        let own_host = self.host_id.is_some_and(|h| {
            path.strip_prefix(&format!("/hosts/{h}/"))
                .is_some_and(|rest| matches!(rest, "load" | "commands" | "version"))
        });
        let command_report = path
            .strip_prefix("/host-commands/")
            .and_then(|rest| rest.strip_suffix("/report"))
            .is_some_and(|id| !id.contains('/'));
        // A printer for a session: the handler checks the session is on the agent's host.
        let printer = path
            .strip_prefix("/sessions/")
            .and_then(|rest| rest.strip_suffix("/printer"))
            .is_some_and(|id| !id.contains('/'));
        path == "/whoami" || own_host || command_report || printer
    }

    /// 403 unless an operator or the agent of `host`.
    pub fn require_host(&self, host: Uuid) -> Result<(), ApiError> {
        if self.reports_for(host) {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "this operation is reserved for operators and the host's agent",
            ))
        }
    }

    /// Whether the caller may report or read the load of `host`.
    pub fn reports_for(&self, host: Uuid) -> bool {
        self.is_operator() || (self.scope == Scope::HostAgent && self.host_id == Some(host))
    }

    /// 403 unless an operator.
    pub fn require_operator(&self) -> Result<(), ApiError> {
        if self.is_operator() {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "this operation is reserved for operators",
            ))
        }
    }

    /// Whether the caller may see resources of `tenant`.
    pub fn sees(&self, tenant: Uuid) -> bool {
        match self.scope {
            Scope::Operator => true,
            Scope::Tenant(t) => t == tenant,
            Scope::HostAgent => false,
        }
    }

    /// Resources of other tenants do not exist for a tenant-scoped caller: 404, never 403,
    /// so ids of other tenants leak nothing.
    pub fn visible<T>(
        &self,
        found: Option<T>,
        tenant_of: impl Fn(&T) -> Uuid,
        what: &str,
    ) -> Result<T, ApiError> {
        match found {
            Some(x) if self.sees(tenant_of(&x)) => Ok(x),
            _ => Err(ApiError::not_found(what)),
        }
    }
}

/// A caller who must be an operator, refused (403) before any body is read: listed before
/// a [`super::extract::Body`], it makes authorization come before validation, so a
/// tenant-admin learns nothing from how an operator-only route judges a body.
#[derive(Debug, Clone)]
pub struct Operator(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        caller.require_operator()?;
        Ok(Self(caller))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // Only reachable without the authentication layer, which is a wiring mistake.
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::unauthorized("no authenticated caller"))
    }
}
