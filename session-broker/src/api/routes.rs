//! The route table: every operation's method, path and documentation next to its handler.
//! The router and the OpenAPI document are both built from it.

use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodFilter, MethodRouter, on};

use super::AdminState;
use super::handlers::{
    access_review, announcements, api_clients, apps, audit, credentials, data_ops, entitlements,
    environments, groups, host_commands, hosts, incidents, load, pools, printers, roles, rollouts,
    saml, security_events, service_windows, sessions, tenants, users, web_session_settings, whoami,
};

/// What an operation answers with on success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Response {
    /// 200 with the named schema.
    One(&'static str),
    /// 201 with the named schema.
    Created(&'static str),
    /// 200 with a page of the named schema.
    Page(&'static str),
    /// 204.
    NoContent,
    /// 200 with the named schema as JSON, or the same report as `text/csv`.
    Report(&'static str),
    /// 200 with a file: CSV, or JSON lines of the named schema.
    Export(&'static str),
}

/// One operation of `/api/v1`.
pub struct ApiRoute {
    pub method: Method,
    /// Relative to `/api/v1`, axum/OpenAPI template syntax (`/tenants/{id}`).
    pub path: &'static str,
    pub summary: &'static str,
    pub tag: &'static str,
    /// Schema name of the JSON body, if any.
    pub request: Option<&'static str>,
    pub response: Response,
    /// Query parameters: (name, description).
    pub query: &'static [(&'static str, &'static str)],
    /// Only operators may call it.
    pub operator_only: bool,
    pub handler: MethodRouter<AdminState>,
}

impl ApiRoute {
    /// Whether the path ends in a collection rather than one resource.
    pub fn path_is_collection(&self) -> bool {
        !self.path.ends_with('}')
    }
}

const PAGING: &[(&str, &str)] = &[
    ("limit", "page size, 1-500 (default 100)"),
    ("cursor", "next_cursor of the previous page"),
];

const APP_QUERY: &[(&str, &str)] = &[
    ("environment_id", "only apps of this environment"),
    ("limit", "page size, 1-500 (default 100)"),
    ("cursor", "next_cursor of the previous page"),
];

const SESSION_QUERY: &[(&str, &str)] = &[
    ("tenant_id", "only this tenant's sessions"),
    ("user_id", "only this user's sessions"),
    ("host_id", "only sessions on this host"),
    ("state", "launching, active, disconnected or ended"),
    ("from", "RFC 3339; created at or after"),
    ("to", "RFC 3339; created before"),
    ("limit", "page size, 1-500 (default 100)"),
    ("cursor", "next_cursor of the previous page"),
];

const HOST_COMMAND_QUERY: &[(&str, &str)] = &[
    ("state", "pending (default) or all"),
    ("limit", "at most this many, 1-500 (default 100)"),
];

const AUDIT_QUERY: &[(&str, &str)] = &[
    ("tenant_id", "only this tenant's events"),
    ("action", "exact action, e.g. tenant.create"),
    (
        "actor_id",
        "API client id, or cn:NAME for configured operators",
    ),
    ("outcome", "success, refused or failed"),
    ("target_id", "id of the changed resource"),
    ("from", "RFC 3339; at or after"),
    ("to", "RFC 3339; before"),
    ("limit", "page size, 1-500 (default 100)"),
    ("cursor", "next_cursor of the previous page"),
];

const AUDIT_EXPORT_QUERY: &[(&str, &str)] = &[
    ("format", "csv or jsonl (required)"),
    ("tenant_id", "only this tenant's events"),
    ("action", "exact action, e.g. tenant.create"),
    (
        "actor_id",
        "API client id, or cn:NAME for configured operators",
    ),
    ("outcome", "success, refused or failed"),
    ("target_id", "id of the changed resource"),
    ("from", "RFC 3339; at or after"),
    ("to", "RFC 3339; before"),
];

const REVIEW_QUERY: &[(&str, &str)] = &[
    (
        "unused_days",
        "only accounts not used for this many days (1-3650); without it every account is listed and `unused` means 30 days",
    ),
    (
        "format",
        "json (default) or csv; `Accept: text/csv` also asks for CSV",
    ),
];

const SECURITY_QUERY: &[(&str, &str)] = &[
    ("tenant_id", "only this tenant's events"),
    (
        "kind",
        "login_failures, signature_failures, replays or probing",
    ),
    ("from", "RFC 3339; at or after"),
    ("to", "RFC 3339; before"),
    ("limit", "page size, 1-500 (default 100)"),
    ("cursor", "next_cursor of the previous page"),
];

const INCIDENT_QUERY: &[(&str, &str)] = &[
    (
        "open",
        "true: only incidents not resolved; false: only resolved ones",
    ),
    ("limit", "page size, 1-500 (default 100)"),
    ("cursor", "next_cursor of the previous page"),
];

struct R {
    method: Method,
    path: &'static str,
}

impl R {
    fn doc(
        self,
        summary: &'static str,
        tag: &'static str,
        request: Option<&'static str>,
        response: Response,
    ) -> D {
        D {
            r: self,
            summary,
            tag,
            request,
            response,
            query: &[],
            operator_only: false,
        }
    }
}

struct D {
    r: R,
    summary: &'static str,
    tag: &'static str,
    request: Option<&'static str>,
    response: Response,
    query: &'static [(&'static str, &'static str)],
    operator_only: bool,
}

impl D {
    fn query(mut self, q: &'static [(&'static str, &'static str)]) -> Self {
        self.query = q;
        self
    }

    fn operator(mut self) -> Self {
        self.operator_only = true;
        self
    }

    fn to<H, T>(self, handler: H) -> ApiRoute
    where
        H: Handler<T, AdminState>,
        T: 'static,
    {
        // The method comes from the same value the document shows; a mismatch cannot exist.
        let filter = MethodFilter::try_from(self.r.method.clone()).unwrap_or(MethodFilter::GET);
        ApiRoute {
            method: self.r.method,
            path: self.r.path,
            summary: self.summary,
            tag: self.tag,
            request: self.request,
            response: self.response,
            query: self.query,
            operator_only: self.operator_only,
            handler: on(filter, handler),
        }
    }
}

fn get(path: &'static str) -> R {
    R {
        method: Method::GET,
        path,
    }
}
fn post(path: &'static str) -> R {
    R {
        method: Method::POST,
        path,
    }
}
fn patch(path: &'static str) -> R {
    R {
        method: Method::PATCH,
        path,
    }
}
fn put(path: &'static str) -> R {
    R {
        method: Method::PUT,
        path,
    }
}
fn delete(path: &'static str) -> R {
    R {
        method: Method::DELETE,
        path,
    }
}

use Response::{Created, Export, NoContent, One, Page, Report};

/// Every operation of `/api/v1`.
// One line per operation reads as a table.
#[rustfmt::skip]
pub fn api_routes() -> Vec<ApiRoute> {
    vec![
        get("/whoami").doc("The authenticated caller", "meta", None, One("Caller")).to(whoami::get),
        // tenants
        get("/tenants").doc("List tenants", "tenants", None, Page("Tenant")).query(PAGING).to(tenants::list),
        post("/tenants").doc("Create a tenant", "tenants", Some("NewTenant"), Created("Tenant")).operator().to(tenants::create),
        get("/tenants/{id}").doc("Get a tenant", "tenants", None, One("Tenant")).to(tenants::get),
        patch("/tenants/{id}").doc("Change a tenant", "tenants", Some("TenantPatch"), One("Tenant")).to(tenants::update),
        delete("/tenants/{id}").doc("Delete a tenant without resources", "tenants", None, NoContent).operator().to(tenants::delete),
        get("/tenants/{id}/web-session-settings").doc("A tenant's web-session idle timeout and absolute lifetime", "tenants", None, One("WebSessionSettings")).to(web_session_settings::get),
        put("/tenants/{id}/web-session-settings").doc("Set a tenant's web-session lifetimes (live sessions follow a shortening at once)", "tenants", Some("SetWebSessionSettings"), One("WebSessionSettings")).to(web_session_settings::set),
        delete("/tenants/{id}/web-session-settings").doc("Return a tenant to the default web-session lifetimes", "tenants", None, NoContent).to(web_session_settings::reset),
        // access review
        get("/tenants/{id}/access-review").doc("Who may launch which app, directly or through which group, role, last login, unused accounts (JSON or CSV; audited)", "access-review", None, Report("AccessReview")).query(REVIEW_QUERY).to(access_review::review),
        post("/tenants/{id}/access-review/revoke").doc("Revoke a user's access in one step: direct entitlements, group memberships, assigned role, web sessions", "access-review", Some("RevokeAccess"), One("AccessRevoked")).to(access_review::revoke),
        get("/tenants/{id}/saml").doc("The tenant's SAML IdP configuration", "tenants", None, One("TenantSaml")).to(saml::get),
        put("/tenants/{id}/saml").doc("Set the tenant's SAML IdP (metadata given or fetched once from a URL and pinned; a signing certificate is required)", "tenants", Some("SetTenantSaml"), One("TenantSaml")).to(saml::set),
        // environments
        get("/tenants/{id}/environments").doc("List a tenant's environments", "environments", None, Page("Environment")).query(PAGING).to(environments::list),
        post("/tenants/{id}/environments").doc("Create an environment", "environments", Some("NewEnvironment"), Created("Environment")).to(environments::create),
        get("/environments/{id}").doc("Get an environment", "environments", None, One("Environment")).to(environments::get),
        patch("/environments/{id}").doc("Change an environment", "environments", Some("EnvironmentPatch"), One("Environment")).to(environments::update),
        delete("/environments/{id}").doc("Delete an environment without apps", "environments", None, NoContent).to(environments::delete),
        // pools
        get("/pools").doc("List host pools (tenant clients: those they may publish on)", "pools", None, Page("HostPool")).query(PAGING).to(pools::list),
        post("/pools").doc("Create a host pool", "pools", Some("NewHostPool"), Created("HostPool")).operator().to(pools::create),
        get("/pools/{id}").doc("Get a host pool", "pools", None, One("HostPool")).to(pools::get),
        patch("/pools/{id}").doc("Change a host pool", "pools", Some("HostPoolPatch"), One("HostPool")).operator().to(pools::update),
        delete("/pools/{id}").doc("Delete an empty host pool", "pools", None, NoContent).operator().to(pools::delete),
        get("/pools/{id}/credentials").doc("The host credentials of a pool, without the password", "pools", None, One("PoolCredentials")).operator().to(credentials::get),
        put("/pools/{id}/credentials").doc("Set the host credentials of a pool (the password is write-only)", "pools", Some("SetPoolCredentials"), One("PoolCredentials")).operator().to(credentials::set),
        delete("/pools/{id}/credentials").doc("Remove the host credentials of a pool", "pools", None, NoContent).operator().to(credentials::delete),
        // hosts
        get("/pools/{id}/hosts").doc("List a pool's hosts (tenant-admins: of pools dedicated to their tenant or used by its apps)", "hosts", None, Page("Host")).query(PAGING).to(hosts::list),
        post("/pools/{id}/hosts").doc("Add a host to a pool", "hosts", Some("NewHost"), Created("Host")).operator().to(hosts::create),
        get("/hosts/{id}").doc("Get a host (tenant-admins: of pools dedicated to their tenant or used by its apps)", "hosts", None, One("Host")).to(hosts::get),
        patch("/hosts/{id}").doc("Change a host", "hosts", Some("HostPatch"), One("Host")).operator().to(hosts::update),
        put("/hosts/{id}/state").doc("Set a host active, draining or in maintenance (tenant-admins: only hosts of pools dedicated to their tenant)", "hosts", Some("HostStateChange"), One("Host")).to(hosts::set_state),
        put("/hosts/{id}/version").doc("Report the build a host runs (its host agent or an operator); completes its recycle", "hosts", Some("HostVersionReport"), One("Host")).to(hosts::report_version),
        delete("/hosts/{id}").doc("Remove a host without sessions", "hosts", None, NoContent).operator().to(hosts::delete),
        // load and fair use
        put("/hosts/{id}/load").doc("Report a host's load (its host agent or an operator; stale reports are ignored by placement)", "load", Some("HostLoadReport"), One("HostLoad")).to(load::put_host_load),
        get("/hosts/{id}/load").doc("A host's last load report (operators, its agent, tenant-admins who may read the host)", "load", None, One("HostLoad")).to(load::get_host_load),
        get("/pools/{id}/placement").doc("A pool's load weights, logon-storm limit, report age and capacity alarm thresholds", "load", None, One("PoolPlacement")).operator().to(load::get_placement),
        put("/pools/{id}/placement").doc("Change a pool's placement settings (absent fields keep their value)", "load", Some("PoolPlacementPatch"), One("PoolPlacement")).operator().to(load::put_placement),
        get("/pools/{id}/capacity").doc("A pool's seats now and its capacity alarm", "load", None, One("PoolCapacity")).to(load::get_capacity),
        get("/tenants/{id}/limits").doc("A tenant's fair-use limits", "load", None, One("TenantLimits")).to(load::get_limits),
        put("/tenants/{id}/limits").doc("Set a tenant's fair-use limits (absent fields keep their value, null removes one)", "load", Some("TenantLimitsPatch"), One("TenantLimits")).operator().to(load::put_limits),
        get("/tenants/{id}/usage").doc("A tenant's current use against its limits", "load", None, One("TenantUsage")).to(load::get_usage),
        get("/hosts/{id}/commands").doc("A host agent's commands (logoffs a browser RDP client cannot do), oldest first", "hosts", None, One("HostCommandList")).query(HOST_COMMAND_QUERY).to(host_commands::list),
        post("/host-commands/{id}/report").doc("A host agent reports a command done or failed", "hosts", Some("HostCommandReport"), One("HostCommand")).to(host_commands::report),
        // apps
        get("/tenants/{id}/apps").doc("List a tenant's published apps", "apps", None, Page("App")).query(APP_QUERY).to(apps::list),
        post("/tenants/{id}/apps").doc("Publish an app", "apps", Some("NewApp"), Created("App")).to(apps::create),
        get("/apps/{id}").doc("Get an app", "apps", None, One("App")).to(apps::get),
        patch("/apps/{id}").doc("Change an app", "apps", Some("AppPatch"), One("App")).to(apps::update),
        delete("/apps/{id}").doc("Unpublish an app", "apps", None, NoContent).to(apps::delete),
        // service windows
        get("/tenants/{id}/service-windows").doc("List a tenant's service windows", "service-windows", None, Page("ServiceWindow")).query(PAGING).to(service_windows::list_for_tenant),
        get("/environments/{id}/service-windows").doc("List an environment's service windows", "service-windows", None, Page("ServiceWindow")).query(PAGING).to(service_windows::list_for_environment),
        post("/environments/{id}/service-windows").doc("Announce a service window (one-off or weekly, Europe/Stockholm; 7 days ahead unless emergency, which operators alone may set); tenant admins for their own environments", "service-windows", Some("NewServiceWindow"), Created("ServiceWindow")).to(service_windows::create),
        get("/service-windows/{id}").doc("Get a service window", "service-windows", None, One("ServiceWindow")).to(service_windows::get),
        patch("/service-windows/{id}").doc("Change a service window's title, description or logoff point (an emergency window: operators only)", "service-windows", Some("ServiceWindowPatch"), One("ServiceWindow")).to(service_windows::update),
        delete("/service-windows/{id}").doc("Cancel a service window that is not in progress (an emergency window: operators only)", "service-windows", None, NoContent).to(service_windows::delete),
        // incidents (the public status page)
        get("/tenants/{id}/incidents").doc("List a tenant's incidents with their updates, newest first", "incidents", None, Page("Incident")).query(INCIDENT_QUERY).to(incidents::list),
        post("/tenants/{id}/incidents").doc("Post an incident (a disturbance or outage of one environment or all of the tenant's) with its first update; shown on the public status page", "incidents", Some("NewIncident"), Created("Incident")).operator().to(incidents::create),
        get("/incidents/{id}").doc("Get an incident and its updates", "incidents", None, One("Incident")).to(incidents::get),
        post("/incidents/{id}/updates").doc("Add an update to an open incident, optionally changing its state or severity; state resolved resolves it", "incidents", Some("NewIncidentUpdate"), Created("Incident")).operator().to(incidents::add_update),
        // announcements: banners in the portal
        get("/tenants/{id}/announcements").doc("List a tenant's announcements and those to every tenant, newest first", "announcements", None, Page("Announcement")).query(PAGING).to(announcements::list_for_tenant),
        post("/tenants/{id}/announcements").doc("Announce a message to a tenant's users (a banner in the portal from starts_at until ends_at)", "announcements", Some("NewAnnouncement"), Created("Announcement")).to(announcements::create_for_tenant),
        get("/announcements").doc("List every announcement, newest first", "announcements", None, Page("Announcement")).query(PAGING).operator().to(announcements::list),
        post("/announcements").doc("Announce a message to every tenant's users", "announcements", Some("NewAnnouncement"), Created("Announcement")).operator().to(announcements::create),
        get("/announcements/{id}").doc("Get an announcement", "announcements", None, One("Announcement")).to(announcements::get),
        post("/announcements/{id}/end").doc("End an announcement now (the portal stops showing it; the record stays)", "announcements", None, One("Announcement")).to(announcements::end),
        // rollouts
        get("/apps/{id}/rollouts").doc("List an app's rollouts", "rollouts", None, Page("Rollout")).query(PAGING).to(rollouts::list),
        post("/apps/{id}/rollouts").doc("Roll a new build of an app out, UTB first, PROD after a delay", "rollouts", Some("NewRollout"), Created("Rollout")).operator().to(rollouts::create),
        get("/rollouts/{id}").doc("Get a rollout and its steps", "rollouts", None, One("Rollout")).to(rollouts::get),
        post("/rollouts/{id}/halt").doc("Halt a rollout", "rollouts", None, One("Rollout")).to(rollouts::halt),
        // users
        get("/tenants/{id}/users").doc("List a tenant's users", "users", None, Page("User")).query(PAGING).to(users::list),
        post("/tenants/{id}/users").doc("Create a user", "users", Some("NewUser"), Created("User")).to(users::create),
        get("/users/{id}").doc("Get a user", "users", None, One("User")).to(users::get),
        patch("/users/{id}").doc("Change a user", "users", Some("UserPatch"), One("User")).to(users::update),
        delete("/users/{id}").doc("Delete a user", "users", None, NoContent).to(users::delete),
        get("/users/{id}/role").doc("A user's roles: assigned, granted by groups, effective", "users", None, One("UserRoles")).to(roles::get),
        put("/users/{id}/role").doc("Assign a role to a user (user, tenant_admin; operator by operators only)", "users", Some("RoleAssignment"), One("UserRoles")).to(roles::set),
        // groups
        get("/tenants/{id}/groups").doc("List a tenant's groups", "groups", None, Page("Group")).query(PAGING).to(groups::list),
        post("/tenants/{id}/groups").doc("Create a group", "groups", Some("NewGroup"), Created("Group")).to(groups::create),
        get("/groups/{id}").doc("Get a group", "groups", None, One("Group")).to(groups::get),
        patch("/groups/{id}").doc("Change a group", "groups", Some("GroupPatch"), One("Group")).to(groups::update),
        delete("/groups/{id}").doc("Delete a group, its memberships and entitlements", "groups", None, NoContent).to(groups::delete),
        get("/groups/{id}/members").doc("List a group's members", "groups", None, Page("GroupMember")).query(PAGING).to(groups::list_members),
        put("/groups/{id}/members/{user_id}").doc("Add a user to a group (idempotent)", "groups", None, Created("GroupMember")).to(groups::add_member),
        delete("/groups/{id}/members/{user_id}").doc("Remove a user from a group", "groups", None, NoContent).to(groups::remove_member),
        // entitlements
        get("/apps/{id}/entitlements").doc("List who may launch an app", "entitlements", None, Page("Entitlement")).query(PAGING).to(entitlements::list),
        post("/apps/{id}/entitlements").doc("Entitle a group or user to an app", "entitlements", Some("NewEntitlement"), Created("Entitlement")).to(entitlements::create),
        get("/entitlements/{id}").doc("Get an entitlement", "entitlements", None, One("Entitlement")).to(entitlements::get),
        delete("/entitlements/{id}").doc("Revoke an entitlement", "entitlements", None, NoContent).to(entitlements::delete),
        // sessions and their administrator actions; audit (read-only)
        get("/sessions").doc("List sessions, newest first", "sessions", None, Page("Session")).query(SESSION_QUERY).to(sessions::list),
        get("/sessions/{id}").doc("Get a session", "sessions", None, One("Session")).to(sessions::get),
        post("/sessions/{id}/disconnect").doc("Disconnect a session: the browser is closed (4300), the Windows session stays on the host, disconnected", "sessions", Some("SessionEndRequest"), One("SessionAction")).to(sessions::disconnect),
        post("/sessions/{id}/logoff").doc("Log a session off: the browser is closed (4300), the session ends and the host agent logs the Windows user off", "sessions", Some("SessionEndRequest"), One("SessionAction")).to(sessions::logoff),
        post("/sessions/{id}/message").doc("Show a message in the session's viewer", "sessions", Some("SessionMessageRequest"), One("SessionAction")).to(sessions::message),
        post("/sessions/{id}/printer").doc("Issue a printer URI for a live session: an IPP Everywhere printer (ipps://…/ipp/print/{token}) whose jobs become PDFs for the session's user; for a host agent bound to the session's host, the session's tenant and operators", "sessions", None, Created("PrinterUri")).to(printers::issue),
        get("/sessions/{id}/commands").doc("A session's commands and host commands, with their delivery state", "sessions", None, One("SessionCommandList")).to(sessions::commands),
        get("/audit").doc("Read the audit log, newest first", "audit", None, Page("AuditEvent")).query(AUDIT_QUERY).to(audit::list),
        get("/audit/export").doc("Export the audit log with the filters of GET /audit, newest first, as CSV (formula-safe cells) or JSON lines; at most 50,000 events (more: 422, narrow the filters); audited as audit.export", "audit", None, Export("AuditEvent")).query(AUDIT_EXPORT_QUERY).to(audit::export),
        get("/audit/{id}").doc("Get an audit event", "audit", None, One("AuditEvent")).to(audit::get),
        get("/security-events").doc("Attack patterns raised from refused logins and launches, newest first", "security", None, Page("SecurityEvent")).query(SECURITY_QUERY).to(security_events::list),
        get("/security-events/{id}").doc("Get a security event", "security", None, One("SecurityEvent")).to(security_events::get),
        // customer-ordered data operations (service description §8)
        post("/tenants/{id}/copy-environment").doc("Copy a tenant's configuration from one environment to the other (PROD → UTB or back): apps with kind, program, arguments, enabled, version and pool, and their group entitlements; direct user entitlements only with with_users. Never sessions, print jobs, web sessions or audit events; users, groups and memberships are the tenant's, shared by both environments. A target with apps answers 409 unless replace is true (apps of the same name updated in place, new ones created, those the source lacks disabled). Audited as environment.copy in the same transaction", "data-ops", Some("CopyEnvironment"), One("EnvironmentCopied")).operator().to(data_ops::copy),
        post("/users/{id}/purge").doc("Purge a user's personal data: sessions and their history, print jobs and their PDFs, web sessions, group memberships, entitlements, role and the user row; the user's audit events keep only keyed pseudonyms (p:…) of the personal fields, so `hamn audit verify` still passes. confirm must be the user's name_id; 409 while the user has a session not ended. Audited as user.purge with the user's pseudonym", "data-ops", Some("PurgeRequest"), One("Purged")).operator().to(data_ops::purge_user),
        post("/tenants/{id}/purge").doc("Purge the personal data of every user of a tenant (as POST /users/{id}/purge) and its security events; the configuration (environments, apps, groups, pools) stays and is removed with DELETE on apps, environments and the tenant. confirm must be the tenant's slug. Audited as tenant.purge", "data-ops", Some("PurgeRequest"), One("Purged")).operator().to(data_ops::purge_tenant),
        // API clients
        get("/api-clients").doc("List API clients", "api-clients", None, Page("ApiClient")).query(PAGING).operator().to(api_clients::list),
        post("/api-clients").doc("Register an API client certificate CN", "api-clients", Some("NewApiClient"), Created("ApiClient")).operator().to(api_clients::create),
        get("/api-clients/{id}").doc("Get an API client", "api-clients", None, One("ApiClient")).operator().to(api_clients::get),
        patch("/api-clients/{id}").doc("Rename, enable or disable an API client", "api-clients", Some("ApiClientPatch"), One("ApiClient")).operator().to(api_clients::update),
        delete("/api-clients/{id}").doc("Delete an API client", "api-clients", None, NoContent).operator().to(api_clients::delete),
    ]
}
