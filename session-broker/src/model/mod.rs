//! The broker's domain model: the records it stores, the requests that create and change
//! them, and their validation. Serialized forms are what the admin API speaks.

#[macro_use]
mod text_enum;
pub mod access;
pub mod announcement;
pub mod api_client;
pub mod app;
pub mod audit;
pub mod entitlement;
pub mod environment;
pub mod group;
pub mod host;
pub mod incident;
pub mod load;
pub mod page;
pub mod pool;
pub mod print_job;
pub mod rollout;
pub mod saml;
pub mod service_window;
pub mod session;
pub mod session_command;
pub mod tenant;
pub mod user;
pub mod validate;
pub mod web_session;

pub use access::{
    AccessPath, AccessReview, AccessReviewUser, AccessRevoked, AccessVia, RevokeAccess, Role,
    RoleAssignment, RoleGrant, SecurityEvent, SecurityEventFilter, SecurityEventKind,
    SetWebSessionSettings, UserRoles, WebSessionSettings,
};
pub use announcement::{Announcement, AnnouncementSeverity, NewAnnouncement};
pub use api_client::{ApiClient, ApiClientPatch, ApiClientScope, NewApiClient};
pub use app::{App, AppKind, AppPatch, NewApp};
pub use audit::{ActorKind, AuditEvent, AuditFilter, AuditOutcome, NewAuditEvent};
pub use entitlement::{Entitlement, NewEntitlement};
pub use environment::{Environment, EnvironmentKind, EnvironmentPatch, NewEnvironment};
pub use group::{Group, GroupMember, GroupPatch, NewGroup};
pub use host::{
    Host, HostHealth, HostPatch, HostState, HostStateChange, HostVersionReport, NewHost,
};
pub use incident::{
    Incident, IncidentSeverity, IncidentState, IncidentUpdate, NewIncident, NewIncidentUpdate,
};
pub use load::{
    HostLoad, HostLoadReport, PoolCapacity, PoolPlacement, PoolPlacementPatch, TenantLimits,
    TenantLimitsPatch, TenantUsage,
};
pub use page::{Page, PageRequest};
pub use pool::{
    DEFAULT_CLIPBOARD_MAX_BYTES, HostCertCheck, HostCertPolicy, HostPool, HostPoolPatch,
    MAX_CLIPBOARD_MAX_BYTES, NativeRedirection, NewHostPool, PoolStrategy, PoolTimeouts,
    PrintDriver,
};
pub use print_job::{NewPrintJob, PrintJob, PrintJobState, PrintSource};
pub use rollout::{NewRollout, Rollout, RolloutState, RolloutStep, RolloutStepState};
pub use saml::{SamlAttributeMap, SetTenantSaml, TenantSaml};
pub use service_window::{
    NewServiceWindow, Recurrence, ServiceWindow, ServiceWindowPatch, WeekDay,
};
pub use session::{NewSession, Session, SessionFilter, SessionState};
pub use session_command::{
    CommandState, EndCause, HostCommand, HostCommandKind, HostCommandReport, HostCommandState,
    QueuedCommand, SessionCommand, WarningKind,
};
pub use tenant::{NewTenant, Tenant, TenantPatch};
pub use user::{NewUser, User, UserPatch};
pub use validate::{FieldError, ValidationErrors};
pub use web_session::{LoginMethod, NewWebSession, WebSession};
