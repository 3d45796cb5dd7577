//! The demo data `hamn up` starts with: tenant "Demo kommun" with PROD and UTB, the shared
//! pool "Demopool" (host certificate policy `ignore`: the demo host's certificate is a
//! lab one) with the bundled demo host and its Windows-style credentials, the apps "Procapita" and "Procapita UTB",
//! the group "Alla användare" entitled to both, a demo user in it, two demo admins in it
//! (`admin`, the tenant's tenant-admin, and `drift`, an operator; their roles assigned
//! directly as `PUT /users/{id}/role` does), and example service windows in the service
//! description's release pattern. Idempotent: what
//! exists (looked up by its natural key) is left alone; what is created is audited as a
//! system action, in one transaction.

use serde::Serialize;
use sqlx::AnyConnection;
use uuid::Uuid;

use crate::credentials::{self, CredentialsError, SetPoolCredentials};
use crate::db::{Database, DbError};
use crate::model::pool::{
    DEFAULT_DISCONNECT_TIMEOUT_SECS, DEFAULT_IDLE_TIMEOUT_SECS, DEFAULT_MAX_SESSION_SECS,
    DEFAULT_TIMEOUT_WARNING_SECS,
};
use crate::model::{
    ActorKind, AppKind, AuditOutcome, DEFAULT_CLIPBOARD_MAX_BYTES, EnvironmentKind, HostCertPolicy,
    HostPool, HostState, NewApp, NewAuditEvent, NewEntitlement, NewEnvironment, NewGroup, NewHost,
    NewHostPool, NewServiceWindow, NewTenant, NewUser, PoolStrategy, PrintDriver, Role,
    ValidationErrors,
};
use crate::repo::{
    access, apps, audit, entitlements, environments, groups, hosts, pools, service_windows,
    tenants, users,
};
use crate::secrets::{Secret, SecretsKey};

pub const DEMO_TENANT_SLUG: &str = "demo";
pub const DEMO_POOL_NAME: &str = "Demopool";
pub const DEMO_GROUP_NAME: &str = "Alla användare";
/// The demo tenant-admin's name (SAML NameID and demo-login name).
pub const DEMO_ADMIN_NAME: &str = "admin";
/// The demo operator's name.
pub const DEMO_OPERATOR_NAME: &str = "drift";
/// The build label the demo apps start on.
pub const DEMO_APP_VERSION: &str = "2026.11";

/// What the demo needs from the environment it runs in.
#[derive(Clone, PartialEq, Eq)]
pub struct DemoSeed {
    /// Where the bundled demo app host listens.
    pub host_address: String,
    pub host_port: u16,
    /// Session limit of the demo host.
    pub host_capacity: u32,
    /// SAML NameID of the demo user; also the name the portal's demo login takes.
    pub user_name_id: String,
    pub user_display_name: String,
    /// HSA-ID of the demo user (the first SITHS test card's).
    pub user_hsa_id: Option<String>,
    /// The account the gateway logs on to the demo host with (`demo_host.username`).
    pub host_username: String,
    /// Its password (`demo_host.password`).
    pub host_password: Secret,
    /// Seals the stored password. `None`: the credentials are not stored (and the demo
    /// pool cannot be reached through the gateway until an operator sets them).
    pub secrets_key: Option<SecretsKey>,
}

impl std::fmt::Debug for DemoSeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoSeed")
            .field("host_address", &self.host_address)
            .field("host_port", &self.host_port)
            .field("host_capacity", &self.host_capacity)
            .field("user_name_id", &self.user_name_id)
            .field("user_display_name", &self.user_display_name)
            .field("user_hsa_id", &self.user_hsa_id)
            .field("host_username", &self.host_username)
            .field("host_password", &self.host_password)
            .field("secrets_key", &self.secrets_key)
            .finish()
    }
}

impl Default for DemoSeed {
    fn default() -> Self {
        Self {
            host_address: "127.0.0.1".into(),
            host_port: 3389,
            host_capacity: 20,
            user_name_id: "demo".into(),
            user_display_name: "Åsa Öberg".into(),
            user_hsa_id: Some("SE2321000016-0001".into()),
            // The lab account of `config/demo.toml`.
            host_username: "demo".into(),
            host_password: Secret::new("Hamn-demo-2026"),
            secrets_key: None,
        }
    }
}

/// Ids of the seeded records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoIds {
    pub tenant: Uuid,
    pub prod: Uuid,
    pub utb: Uuid,
    pub pool: Uuid,
    pub host: Uuid,
    pub app_prod: Uuid,
    pub app_utb: Uuid,
    pub group: Uuid,
    pub user: Uuid,
    /// `admin`, tenant-admin of the demo tenant.
    pub admin: Uuid,
    /// `drift`, an operator.
    pub operator: Uuid,
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(transparent)]
    Database(#[from] DbError),
    #[error("demo seed: {0}")]
    Invalid(#[from] ValidationErrors),
    #[error("demo seed: {0}")]
    Credentials(#[from] CredentialsError),
    #[error("demo seed: the demo IdP's metadata: {0}")]
    DemoIdpMetadata(#[from] crate::saml::MetadataError),
}

async fn audited(
    conn: &mut AnyConnection,
    action: &str,
    tenant: Option<Uuid>,
    target_type: &str,
    id: Uuid,
    after: &impl Serialize,
) -> Result<(), DbError> {
    let event = NewAuditEvent {
        tenant_id: tenant,
        actor_kind: ActorKind::System,
        actor_id: Some("seed".into()),
        actor_name: "demo seed".into(),
        action: action.into(),
        target_type: Some(target_type.into()),
        target_id: Some(id.to_string()),
        outcome: AuditOutcome::Success,
        source_address: None,
        before: None,
        after: serde_json::to_value(after).ok(),
        detail: None,
    };
    audit::insert(conn, &event).await.map(drop)
}

/// Stores the demo host credentials unless the same ones are stored already (a changed
/// configured password, or a new secrets key, replaces them).
async fn seed_credentials(
    c: &mut AnyConnection,
    key: &SecretsKey,
    pool: &HostPool,
    seed: &DemoSeed,
) -> Result<(), SeedError> {
    let new = SetPoolCredentials {
        username: seed.host_username.clone(),
        domain: None,
        password: seed.host_password.clone(),
    };
    new.validate()?;
    let before = credentials::get(c, pool.id).await?;
    if before.is_some() {
        match credentials::resolve_on(c, key, pool.id).await {
            Ok(current)
                if current.username == new.username
                    && current.domain.is_none()
                    && current.password == new.password =>
            {
                return Ok(());
            }
            Ok(_) | Err(CredentialsError::Undecryptable { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let after = credentials::set(c, key, pool.id, &new).await?;
    let event = NewAuditEvent {
        tenant_id: None,
        actor_kind: ActorKind::System,
        actor_id: Some("seed".into()),
        actor_name: "demo seed".into(),
        action: "pool.credentials_set".into(),
        target_type: Some("pool".into()),
        target_id: Some(pool.id.to_string()),
        outcome: AuditOutcome::Success,
        source_address: None,
        before: before.and_then(|b| serde_json::to_value(b).ok()),
        after: serde_json::to_value(after).ok(),
        detail: None,
    };
    audit::insert(c, &event).await?;
    Ok(())
}

/// The user named by `new` in the tenant, created when missing (with `role` assigned
/// directly), and a member of the demo group (so the demo login, which wants an entitled
/// user, takes them). The role of a user who exists is left alone: one an admin has
/// changed since stays changed.
async fn seed_member(
    c: &mut AnyConnection,
    tenant: Uuid,
    group: Uuid,
    new: &NewUser,
    role: Option<Role>,
) -> Result<Uuid, SeedError> {
    let user = match users::get_by_name_id(c, tenant, &new.name_id).await? {
        Some(u) => u,
        None => {
            new.validate()?;
            let u = users::insert(c, tenant, new).await?;
            audited(c, "user.create", Some(tenant), "user", u.id, &u).await?;
            if let Some(role) = role {
                access::set_direct_role(c, tenant, u.id, role).await?;
                let after = crate::roles::user_roles(c, &u).await?;
                audited(c, "user.role_set", Some(tenant), "user", u.id, &after).await?;
            }
            u
        }
    };
    if groups::get_member(c, group, user.id).await?.is_none() {
        let m = groups::add_member(c, tenant, group, user.id).await?;
        audited(c, "group.member_add", Some(tenant), "group", group, &m).await?;
    }
    Ok(user.id)
}

/// The service description's release pattern (§4.5) as example windows, unless the tenant
/// has windows already: a PROD upgrade 22:00–02:00 on the first Tuesday at least 18 days
/// ahead, UTB 08:00–18:00 ten days before it and UTB 16:00–19:00 two days before it (all
/// Europe/Stockholm, so the first is still announced 7 days ahead).
async fn seed_service_windows(
    c: &mut AnyConnection,
    tenant: Uuid,
    prod: Uuid,
    utb: Uuid,
    now: time::OffsetDateTime,
) -> Result<(), SeedError> {
    use crate::service_windows::tz;
    use time::{Duration, Time, Weekday};

    let any = crate::model::PageRequest {
        limit: 1,
        cursor: None,
    };
    if !service_windows::list(c, tenant, None, any)
        .await?
        .items
        .is_empty()
    {
        return Ok(());
    }
    let mut day = tz::to_local(now + Duration::days(18)).date();
    while day.weekday() != Weekday::Tuesday {
        day = day.next_day().unwrap_or(day);
    }
    let at =
        |d: time::Date, h: u8| tz::from_local(d, Time::from_hms(h, 0, 0).unwrap_or(Time::MIDNIGHT));
    let windows = [
        (
            utb,
            at(day - Duration::days(10), 8),
            at(day - Duration::days(10), 18),
            "Uppgradering Lifecare, UTB (10 dagar före PROD)",
        ),
        (
            utb,
            at(day - Duration::days(2), 16),
            at(day - Duration::days(2), 19),
            "Uppgradering Lifecare, UTB (2 dagar före PROD)",
        ),
        (
            prod,
            at(day, 22),
            at(day + Duration::days(1), 2),
            "Uppgradering Lifecare, PROD",
        ),
    ];
    for (env, starts_at, ends_at, title) in windows {
        let new = NewServiceWindow {
            starts_at: Some(starts_at),
            ends_at: Some(ends_at),
            recurrence: None,
            title: title.into(),
            description: "Versionsuppgradering. UTB uppdateras alltid först.".into(),
            emergency: false,
            logoff_after_minutes: 0,
        };
        let timing = new.validate(now)?;
        let w = service_windows::insert(c, tenant, env, &new, &timing).await?;
        audited(
            c,
            "service_window.create",
            Some(tenant),
            "service_window",
            w.id,
            &w,
        )
        .await?;
    }
    Ok(())
}

/// Seeds the demo, creating only what is missing.
pub async fn demo(db: &Database, seed: DemoSeed) -> Result<DemoIds, SeedError> {
    let mut tx = db.begin().await?;
    let c: &mut AnyConnection = &mut tx;

    let tenant = match tenants::get_by_slug(c, DEMO_TENANT_SLUG).await? {
        Some(t) => t,
        None => {
            let new = NewTenant {
                slug: DEMO_TENANT_SLUG.into(),
                name: "Demo kommun".into(),
            };
            new.validate()?;
            let t = tenants::insert(c, &new).await?;
            audited(c, "tenant.create", Some(t.id), "tenant", t.id, &t).await?;
            t
        }
    };
    let mut env_ids = Vec::new();
    for kind in [EnvironmentKind::Prod, EnvironmentKind::Utb] {
        let env = match environments::get_by_kind(c, tenant.id, kind).await? {
            Some(e) => e,
            None => {
                let new = NewEnvironment { kind, name: None };
                let e = environments::insert(c, tenant.id, &new).await?;
                audited(
                    c,
                    "environment.create",
                    Some(tenant.id),
                    "environment",
                    e.id,
                    &e,
                )
                .await?;
                e
            }
        };
        env_ids.push(env.id);
    }
    let (prod, utb) = (env_ids[0], env_ids[1]);

    let pool = match pools::get_by_name(c, DEMO_POOL_NAME).await? {
        Some(p) => p,
        None => {
            let new = NewHostPool {
                name: DEMO_POOL_NAME.into(),
                description: "Delad pool med den inbyggda demovärden".into(),
                strategy: PoolStrategy::BreadthFirst,
                dedicated_tenant_id: None,
                host_cert_policy: HostCertPolicy::Ignore,
                host_ca_pem: None,
                host_cert_pins: Vec::new(),
                clipboard_enabled: true,
                clipboard_max_bytes: DEFAULT_CLIPBOARD_MAX_BYTES,
                drives_enabled: false,
                printers_enabled: true,
                com_ports_enabled: false,
                pnp_devices_enabled: false,
                // The demo host has no RemoteApp (RAIL): native clients get its desktop,
                // which is the app.
                native_remote_apps: false,
                print_driver: PrintDriver::Pdf,
                idle_timeout_secs: DEFAULT_IDLE_TIMEOUT_SECS,
                disconnect_timeout_secs: DEFAULT_DISCONNECT_TIMEOUT_SECS,
                max_session_secs: DEFAULT_MAX_SESSION_SECS,
                timeout_warning_secs: DEFAULT_TIMEOUT_WARNING_SECS,
            };
            new.validate()?;
            let p = pools::insert(c, &new).await?;
            audited(c, "pool.create", None, "pool", p.id, &p).await?;
            p
        }
    };
    let host = match hosts::get_by_name(c, pool.id, "demo-host").await? {
        Some(h) => h,
        None => {
            let new = NewHost {
                name: "demo-host".into(),
                address: seed.host_address.clone(),
                port: seed.host_port,
                capacity: seed.host_capacity,
                state: HostState::Active,
            };
            new.validate()?;
            let h = hosts::insert(c, pool.id, &new).await?;
            audited(c, "host.create", None, "host", h.id, &h).await?;
            h
        }
    };

    if let Some(key) = &seed.secrets_key {
        seed_credentials(c, key, &pool, &seed).await?;
    }

    let mut app_ids = Vec::new();
    for (env, name) in [(prod, "Procapita"), (utb, "Procapita UTB")] {
        let app = match apps::get_by_name(c, env, name).await? {
            Some(a) => a,
            None => {
                let new = NewApp {
                    environment_id: env,
                    pool_id: pool.id,
                    display_name: name.into(),
                    kind: AppKind::Program,
                    program: Some("||procapita".into()),
                    args: None,
                    enabled: true,
                    version: Some(DEMO_APP_VERSION.into()),
                };
                new.validate()?;
                let a = apps::insert(c, tenant.id, &new).await?;
                audited(c, "app.create", Some(tenant.id), "app", a.id, &a).await?;
                a
            }
        };
        app_ids.push(app.id);
    }

    let group = match groups::get_by_name(c, tenant.id, DEMO_GROUP_NAME).await? {
        Some(g) => g,
        None => {
            let new = NewGroup {
                name: DEMO_GROUP_NAME.into(),
                external_id: None,
                grants_role: None,
            };
            let g = groups::insert(c, tenant.id, &new).await?;
            audited(c, "group.create", Some(tenant.id), "group", g.id, &g).await?;
            g
        }
    };
    for app in &app_ids {
        if entitlements::find_for_group(c, *app, group.id)
            .await?
            .is_none()
        {
            let new = NewEntitlement {
                group_id: Some(group.id),
                user_id: None,
            };
            let e = entitlements::insert(c, tenant.id, *app, &new).await?;
            audited(
                c,
                "entitlement.create",
                Some(tenant.id),
                "entitlement",
                e.id,
                &e,
            )
            .await?;
        }
    }

    let demo_user = NewUser {
        name_id: seed.user_name_id.clone(),
        hsa_id: seed.user_hsa_id.clone(),
        display_name: seed.user_display_name.clone(),
    };
    let user = seed_member(c, tenant.id, group.id, &demo_user, None).await?;

    // The demo's admins, to run the admin console with (`/admin`).
    let admin_user = NewUser {
        name_id: DEMO_ADMIN_NAME.into(),
        hsa_id: None,
        display_name: "Anna Admin".into(),
    };
    let admin = seed_member(c, tenant.id, group.id, &admin_user, Some(Role::TenantAdmin)).await?;
    let operator_user = NewUser {
        name_id: DEMO_OPERATOR_NAME.into(),
        hsa_id: None,
        display_name: "Dag Drift".into(),
    };
    let operator =
        seed_member(c, tenant.id, group.id, &operator_user, Some(Role::Operator)).await?;

    seed_service_windows(c, tenant.id, prod, utb, crate::db::row::now()).await?;

    tx.commit().await.map_err(DbError::from)?;
    Ok(DemoIds {
        tenant: tenant.id,
        prod,
        utb,
        pool: pool.id,
        host: host.id,
        app_prod: app_ids[0],
        app_utb: app_ids[1],
        group: group.id,
        user,
        admin,
        operator,
    })
}

/// Points the demo tenant's SAML login at the demo IdP (`gateway.demo_idp`), stored exactly
/// as `PUT /tenants/{id}/saml` stores a real IdP (pinned metadata, LoA3 asked for and
/// accepted, the default attribute map plus groups), so the login exercises the production
/// SP path. Creates the configuration when missing and refreshes the pinned metadata when
/// it is the demo IdP's (its certificate may have been renewed); a configuration an
/// operator pointed at another IdP is left alone. Returns whether anything was written.
pub async fn demo_saml(
    db: &Database,
    idp_metadata_xml: &str,
    sp_entity_id: &str,
) -> Result<bool, SeedError> {
    use crate::model::saml::LOA3;
    use crate::model::{SamlAttributeMap, TenantSaml};
    use crate::repo::saml;
    use crate::saml::demo_idp::ATTR_GROUPS;

    let now = time::OffsetDateTime::now_utc();
    let idp = crate::saml::metadata::parse(idp_metadata_xml, now.unix_timestamp())?;
    let mut tx = db.begin().await?;
    let c: &mut AnyConnection = &mut tx;
    let Some(tenant) = tenants::get_by_slug(c, DEMO_TENANT_SLUG).await? else {
        return Ok(false);
    };
    let existing = saml::get(c, tenant.id).await?;
    let config = match existing {
        None => TenantSaml {
            tenant_id: tenant.id,
            enabled: true,
            idp_metadata_xml: idp_metadata_xml.to_owned(),
            idp_metadata_url: None,
            idp_entity_id: idp.entity_id.clone(),
            sp_entity_id: sp_entity_id.to_owned(),
            requested_authn_contexts: vec![LOA3.into()],
            accepted_mfa_contexts: vec![LOA3.into()],
            force_authn: false,
            attributes: SamlAttributeMap {
                groups: Some(ATTR_GROUPS.into()),
                ..SamlAttributeMap::default()
            },
            created_at: now,
            updated_at: now,
        },
        Some(c) if c.idp_entity_id == idp.entity_id && c.idp_metadata_xml != idp_metadata_xml => {
            TenantSaml {
                idp_metadata_xml: idp_metadata_xml.to_owned(),
                updated_at: now,
                ..c
            }
        }
        Some(_) => return Ok(false),
    };
    let stored = saml::put(c, &config).await?;
    audited(
        c,
        "tenant.saml_set",
        Some(tenant.id),
        "tenant",
        tenant.id,
        &stored,
    )
    .await?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(true)
}
