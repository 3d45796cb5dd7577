//! Access control records: roles (a user's own, or granted by a group), a tenant's
//! web-session lifetimes, the access review and its one-step revoke, and security events.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::environment::EnvironmentKind;
use super::validate::ValidationErrors;

text_enum! {
    /// What a user may do beyond launching apps: `tenant_admin` administers their own
    /// tenant through the admin API, `operator` every tenant.
    Role { User = "user", TenantAdmin = "tenant_admin", Operator = "operator" }
}

impl Role {
    /// Rank for "the stronger of": user < tenant_admin < operator.
    pub fn rank(self) -> u8 {
        match self {
            Self::User => 0,
            Self::TenantAdmin => 1,
            Self::Operator => 2,
        }
    }

    /// The stronger of two roles.
    pub fn max(self, other: Self) -> Self {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }
}

/// `PUT /users/{id}/role`: the role assigned to the user directly (`user` removes it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleAssignment {
    pub role: Role,
}

/// A group that grants a role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RoleGrant {
    pub group_id: Uuid,
    pub group_name: String,
    pub role: Role,
}

/// A user's roles: the direct one, the ones groups grant, and the effective (strongest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UserRoles {
    pub user_id: Uuid,
    pub tenant_id: Uuid,
    pub direct: Role,
    pub via_groups: Vec<RoleGrant>,
    pub effective: Role,
}

/// Smallest and largest idle timeout (seconds).
pub const IDLE_RANGE: (u64, u64) = (60, 86_400);
/// Smallest and largest absolute lifetime (seconds).
pub const MAX_RANGE: (u64, u64) = (300, 604_800);

/// A tenant's web-session lifetimes (`GET|PUT /tenants/{id}/web-session-settings`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WebSessionSettings {
    pub tenant_id: Uuid,
    /// A session unused this long ends.
    pub idle_timeout_secs: u64,
    /// Any session ends this long after login.
    pub max_lifetime_secs: u64,
    /// False: the gateway's defaults apply (the values shown are those defaults).
    pub customised: bool,
}

/// The body of `PUT /tenants/{id}/web-session-settings`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetWebSessionSettings {
    pub idle_timeout_secs: u64,
    pub max_lifetime_secs: u64,
}

impl SetWebSessionSettings {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut v = ValidationErrors::default();
        if !(IDLE_RANGE.0..=IDLE_RANGE.1).contains(&self.idle_timeout_secs) {
            v.push(
                "idle_timeout_secs",
                format!("must be between {} and {}", IDLE_RANGE.0, IDLE_RANGE.1),
            );
        }
        if !(MAX_RANGE.0..=MAX_RANGE.1).contains(&self.max_lifetime_secs) {
            v.push(
                "max_lifetime_secs",
                format!("must be between {} and {}", MAX_RANGE.0, MAX_RANGE.1),
            );
        } else if self.idle_timeout_secs > self.max_lifetime_secs {
            v.push(
                "idle_timeout_secs",
                "must not be longer than max_lifetime_secs",
            );
        }
        v.finish()
    }
}

text_enum! {
    /// How a user reaches an app in the access review.
    AccessVia { Direct = "direct", Group = "group" }
}

/// One path from a user to an app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AccessPath {
    pub app_id: Uuid,
    pub app_name: String,
    pub app_enabled: bool,
    pub environment: EnvironmentKind,
    pub via: AccessVia,
    /// The group, when `via` is `group`.
    pub group_id: Option<Uuid>,
    pub group_name: Option<String>,
}

/// One account in the access review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AccessReviewUser {
    pub user_id: Uuid,
    pub name_id: String,
    pub display_name: String,
    pub hsa_id: Option<String>,
    pub role: Role,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_login_at: Option<OffsetDateTime>,
    /// Never logged in, or not within `unused_days` (30 when not asked).
    pub unused: bool,
    /// Group memberships, whether or not the group grants an app.
    pub groups: Vec<String>,
    pub access: Vec<AccessPath>,
}

/// `GET /tenants/{id}/access-review`: who has access to what, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AccessReview {
    pub tenant_id: Uuid,
    pub tenant_slug: String,
    #[serde(with = "time::serde::rfc3339")]
    pub generated_at: OffsetDateTime,
    /// When given, only accounts unused for this many days are listed.
    pub unused_days: Option<u32>,
    pub users: Vec<AccessReviewUser>,
}

/// The body of `POST /tenants/{id}/access-review/revoke`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeAccess {
    pub user_id: Uuid,
}

/// What a revoke removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AccessRevoked {
    pub user_id: Uuid,
    pub direct_entitlements: u64,
    pub group_memberships: u64,
    pub web_sessions: u64,
    /// The directly assigned role it held (removed), if any.
    pub role_removed: Option<Role>,
}

text_enum! {
    /// The attack pattern a security event reports.
    SecurityEventKind {
        /// Many refused logins from one source.
        LoginFailures = "login_failures",
        /// Refusals for bad or missing signatures (SAML responses, tampered assertions).
        SignatureFailures = "signature_failures",
        /// Replayed responses or reused request ids.
        Replays = "replays",
        /// One source trying many account names or apps.
        Probing = "probing",
    }
}

/// A repeated attack pattern, raised from the audit log's refusals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SecurityEvent {
    pub id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub tenant_id: Option<Uuid>,
    pub kind: SecurityEventKind,
    pub source_address: Option<String>,
    /// Refusals (or distinct names, for probing) seen in the window.
    pub count: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub window_start: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub window_end: OffsetDateTime,
    pub detail: String,
}

/// Filters of the security event listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecurityEventFilter {
    pub tenant_id: Option<Uuid>,
    pub kind: Option<SecurityEventKind>,
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
}
