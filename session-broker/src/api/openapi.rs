//! The OpenAPI 3.1 document, generated from [`super::api_routes`] and the model's schemas.

use std::sync::OnceLock;

use axum::Json;
use axum::http::Method;
use utoipa::OpenApi;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Ref, Type};
use utoipa::openapi::security::{SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Doc, Required, ResponseBuilder};

use super::caller::{Caller, Scope};
use super::handlers::host_commands::HostCommandList;
use super::handlers::printers::PrinterUri;
use super::handlers::sessions::{
    SessionAction, SessionCommandList, SessionEndRequest, SessionMessageRequest,
};
use super::problem::{PROBLEM_JSON, Problem};
use super::routes::{Response, api_routes};
use crate::credentials::{PoolCredentials, SetPoolCredentials};
// Customer-ordered data operations.
use crate::data_ops::copy::{CopyEnvironment, EnvironmentCopied};
use crate::data_ops::purge::{PurgeRequest, Purged};
use crate::model::{
    AccessPath, AccessReview, AccessReviewUser, AccessRevoked, AccessVia, RevokeAccess, Role,
    RoleAssignment, RoleGrant, SecurityEvent, SecurityEventKind, SetWebSessionSettings, UserRoles,
    WebSessionSettings,
};
use crate::model::{
    ActorKind, ApiClient, ApiClientPatch, ApiClientScope, App, AppKind, AppPatch, AuditEvent,
    AuditOutcome, CommandState, EndCause, Entitlement, Environment, EnvironmentKind,
    EnvironmentPatch, FieldError, Group, GroupMember, GroupPatch, Host, HostCertPolicy,
    HostCommand, HostCommandKind, HostCommandReport, HostCommandState, HostHealth, HostLoad,
    HostLoadReport, HostPatch, HostPool, HostPoolPatch, HostState, HostStateChange, NewApiClient,
    NewApp, NewEntitlement, NewEnvironment, NewGroup, NewHost, NewHostPool, NewTenant, NewUser,
    PoolCapacity, PoolPlacement, PoolPlacementPatch, PoolStrategy, QueuedCommand, Session,
    SessionCommand, SessionState, Tenant, TenantLimits, TenantLimitsPatch, TenantPatch,
    TenantUsage, User, UserPatch, WarningKind,
};
// Incidents of the public status page.
use crate::model::{
    Incident, IncidentSeverity, IncidentState, IncidentUpdate, NewIncident, NewIncidentUpdate,
};
// Announcements: banners in the portal.
use crate::model::{Announcement, AnnouncementSeverity, NewAnnouncement};
// Service windows and release rings.
use crate::model::{
    HostVersionReport, NewRollout, NewServiceWindow, Recurrence, Rollout, RolloutState,
    RolloutStep, RolloutStepState, SamlAttributeMap, ServiceWindow, ServiceWindowPatch,
    SetTenantSaml, TenantSaml, WeekDay,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Hamn admin API",
        description = "Tenants, environments, pools, hosts, apps, groups, entitlements, sessions, roles, the access review, security events and the audit log. Callers authenticate with a TLS client certificate at the broker, or at `/api/v1` of the gateway's portal origin with the web session of a tenant-admin or operator (cookie `__Host-hamn_session`; state changes also need `Origin` and the `X-CSRF-Token` header)."
    ),
    components(schemas(
        CopyEnvironment,
        EnvironmentCopied,
        PurgeRequest,
        Purged,
        Announcement,
        AnnouncementSeverity,
        NewAnnouncement,
        AccessPath,
        AccessReview,
        AccessReviewUser,
        AccessRevoked,
        AccessVia,
        RevokeAccess,
        Role,
        RoleAssignment,
        RoleGrant,
        SecurityEvent,
        SecurityEventKind,
        SetWebSessionSettings,
        UserRoles,
        WebSessionSettings,
        ActorKind,
        ApiClient,
        ApiClientPatch,
        ApiClientScope,
        App,
        AppKind,
        AppPatch,
        AuditEvent,
        AuditOutcome,
        Caller,
        CommandState,
        EndCause,
        Entitlement,
        Environment,
        EnvironmentKind,
        EnvironmentPatch,
        FieldError,
        Group,
        GroupMember,
        GroupPatch,
        Host,
        HostCommand,
        HostCommandKind,
        HostCommandList,
        HostCommandReport,
        HostCommandState,
        HostHealth,
        HostLoad,
        HostLoadReport,
        HostPatch,
        HostCertPolicy,
        HostPool,
        HostPoolPatch,
        HostState,
        HostStateChange,
        Incident,
        IncidentSeverity,
        IncidentState,
        IncidentUpdate,
        NewIncident,
        NewIncidentUpdate,
        NewApiClient,
        NewApp,
        NewEntitlement,
        NewEnvironment,
        NewGroup,
        NewHost,
        NewHostPool,
        NewTenant,
        NewUser,
        PoolCapacity,
        PoolCredentials,
        PoolPlacement,
        PoolPlacementPatch,
        PoolStrategy,
        SamlAttributeMap,
        SetTenantSaml,
        TenantSaml,
        Problem,
        QueuedCommand,
        Scope,
        Session,
        SessionAction,
        PrinterUri,
        SessionCommand,
        SessionCommandList,
        SessionEndRequest,
        SessionMessageRequest,
        SessionState,
        SetPoolCredentials,
        Tenant,
        TenantLimits,
        TenantLimitsPatch,
        TenantPatch,
        TenantUsage,
        User,
        UserPatch,
        WarningKind,
        HostVersionReport,
        NewRollout,
        NewServiceWindow,
        Recurrence,
        Rollout,
        RolloutState,
        RolloutStep,
        RolloutStepState,
        ServiceWindow,
        ServiceWindowPatch,
        WeekDay,
    ))
)]
struct Schemas;

fn http_method(m: &Method) -> HttpMethod {
    match *m {
        Method::POST => HttpMethod::Post,
        Method::PUT => HttpMethod::Put,
        Method::PATCH => HttpMethod::Patch,
        Method::DELETE => HttpMethod::Delete,
        _ => HttpMethod::Get,
    }
}

fn json_ref(name: &str) -> utoipa::openapi::Content {
    ContentBuilder::new()
        .schema(Some(Ref::from_schema_name(name)))
        .build()
}

fn page_of(name: &str) -> utoipa::openapi::Content {
    let page = ObjectBuilder::new()
        .property(
            "items",
            ArrayBuilder::new().items(Ref::from_schema_name(name)),
        )
        .required("items")
        .property(
            "next_cursor",
            ObjectBuilder::new()
                .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
                    Type::String,
                    Type::Null,
                ]))
                .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                    utoipa::openapi::KnownFormat::Uuid,
                ))),
        );
    ContentBuilder::new().schema(Some(page)).build()
}

fn problem(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(PROBLEM_JSON, json_ref("Problem"))
        .build()
}

/// Path template parameters (`{id}`, `{user_id}`).
fn path_params(path: &str) -> Vec<String> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(str::to_owned)
        .collect()
}

fn build() -> Doc {
    let mut doc = Schemas::openapi();
    if let Some(components) = doc.components.as_mut() {
        components.add_security_scheme(
            "client_certificate",
            SecurityScheme::MutualTls {
                description: Some(
                    "A client certificate from the API CA with EKU clientAuth whose subject CN \
                 names an enabled API client or a configured operator."
                        .into(),
                ),
                extensions: None,
            },
        );
    }
    doc.security = Some(vec![SecurityRequirement::new(
        "client_certificate",
        Vec::<String>::new(),
    )]);
    for route in api_routes() {
        let mut op = OperationBuilder::new()
            .summary(Some(route.summary))
            .tag(route.tag)
            .operation_id(Some(format!(
                "{}{}",
                route.method.as_str().to_lowercase(),
                route.path.replace(['/', '{', '}', '-'], "_")
            )));
        if route.operator_only {
            op = op.description(Some("Operators only."));
        }
        for name in path_params(route.path) {
            op = op.parameter(
                ParameterBuilder::new()
                    .name(name)
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String).format(
                        Some(utoipa::openapi::SchemaFormat::KnownFormat(
                            utoipa::openapi::KnownFormat::Uuid,
                        )),
                    ))),
            );
        }
        for (name, description) in route.query {
            op = op.parameter(
                ParameterBuilder::new()
                    .name(*name)
                    .parameter_in(ParameterIn::Query)
                    .required(Required::False)
                    .description(Some(*description))
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
            );
        }
        if let Some(body) = route.request {
            op = op.request_body(Some(
                RequestBodyBuilder::new()
                    .required(Some(Required::True))
                    .content("application/json", json_ref(body))
                    .build(),
            ));
        }
        op = match route.response {
            Response::One(s) => op.response(
                "200",
                ResponseBuilder::new()
                    .description("OK")
                    .content("application/json", json_ref(s)),
            ),
            Response::Created(s) => op.response(
                "201",
                ResponseBuilder::new()
                    .description("Created")
                    .content("application/json", json_ref(s)),
            ),
            Response::Page(s) => op.response(
                "200",
                ResponseBuilder::new()
                    .description("One page")
                    .content("application/json", page_of(s)),
            ),
            Response::NoContent => op.response("204", ResponseBuilder::new().description("Done")),
            Response::Report(s) => op.response(
                "200",
                ResponseBuilder::new()
                    .description("The report, as JSON or CSV")
                    .content("application/json", json_ref(s))
                    .content(
                        "text/csv",
                        ContentBuilder::new()
                            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                            .build(),
                    ),
            ),
            Response::Export(s) => op.response(
                "200",
                ResponseBuilder::new()
                    .description(format!(
                        "A file: CSV with a header line, or JSON lines, one {s} per line"
                    ))
                    .content(
                        "text/csv",
                        ContentBuilder::new()
                            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                            .build(),
                    )
                    .content(
                        crate::api::export::JSON_LINES,
                        ContentBuilder::new()
                            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                            .build(),
                    ),
            ),
        };
        op = op
            .response(
                "400",
                problem("Malformed request; `errors` names the field"),
            )
            .response("401", problem("No valid client certificate"))
            .response("403", problem("Not allowed for this client"))
            .response(
                "429",
                problem(
                    "Over the tenant's API requests per minute; Retry-After says when to retry",
                ),
            );
        if !route.path_is_collection() || route.request.is_some() {
            op = op.response(
                "404",
                problem("No such resource (or not the caller's tenant)"),
            );
        }
        if route.request.is_some() {
            op = op
                .response("409", problem("Duplicate, or still referenced"))
                .response("422", problem("Invalid values; `errors` names each field"));
        }
        doc.paths.add_path_operation(
            format!("/api/v1{}", route.path),
            vec![http_method(&route.method)],
            op.build(),
        );
    }
    doc
}

/// The document (built once).
pub fn document() -> &'static Doc {
    static DOC: OnceLock<Doc> = OnceLock::new();
    DOC.get_or_init(build)
}

/// `GET /api/openapi.json`.
pub async fn serve() -> Json<&'static Doc> {
    Json(document())
}
