//! The SAML tables: `tenant_saml` (configuration), `saml_requests` (AuthnRequests in
//! flight, single use), `saml_assertions_seen` (the replay cache), `saml_web_sessions`
//! (NameID and SessionIndex for logout) and `saml_user_attributes` (personnummer, where
//! mapped); and the group memberships a `groups` attribute decides.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::DbError;
use crate::db::row::{get_bool, get_opt_string, get_string, get_time, get_uuid, millis};
use crate::model::{SamlAttributeMap, TenantSaml};

const SELECT: &str = "SELECT tenant_id, enabled, idp_metadata_xml, idp_metadata_url, idp_entity_id, \
     sp_entity_id, requested_authn_contexts, accepted_mfa_contexts, force_authn, attr_hsa_id, \
     attr_personal_number, attr_display_name, attr_groups, created_at, updated_at FROM tenant_saml";

fn list(r: &AnyRow, col: &str) -> Result<Vec<String>, DbError> {
    serde_json::from_str(&get_string(r, col)?)
        .map_err(|e| DbError::Corrupt(format!("column {col}: {e}")))
}

fn from_row(r: &AnyRow) -> Result<TenantSaml, DbError> {
    Ok(TenantSaml {
        tenant_id: get_uuid(r, "tenant_id")?,
        enabled: get_bool(r, "enabled")?,
        idp_metadata_xml: get_string(r, "idp_metadata_xml")?,
        idp_metadata_url: get_opt_string(r, "idp_metadata_url")?,
        idp_entity_id: get_string(r, "idp_entity_id")?,
        sp_entity_id: get_string(r, "sp_entity_id")?,
        requested_authn_contexts: list(r, "requested_authn_contexts")?,
        accepted_mfa_contexts: list(r, "accepted_mfa_contexts")?,
        force_authn: get_bool(r, "force_authn")?,
        attributes: SamlAttributeMap {
            hsa_id: get_opt_string(r, "attr_hsa_id")?,
            personal_number: get_opt_string(r, "attr_personal_number")?,
            display_name: get_opt_string(r, "attr_display_name")?,
            groups: get_opt_string(r, "attr_groups")?,
        },
        created_at: get_time(r, "created_at")?,
        updated_at: get_time(r, "updated_at")?,
    })
}

pub async fn get(conn: &mut AnyConnection, tenant_id: Uuid) -> Result<Option<TenantSaml>, DbError> {
    let row = sqlx::query(AssertSqlSafe(format!("{SELECT} WHERE tenant_id = $1")))
        .bind(tenant_id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Inserts or replaces a tenant's configuration (`created_at` survives a replace).
pub async fn put(conn: &mut AnyConnection, c: &TenantSaml) -> Result<TenantSaml, DbError> {
    let json = |l: &Vec<String>| serde_json::to_string(l).unwrap_or_else(|_| "[]".into());
    sqlx::query(
        "INSERT INTO tenant_saml (tenant_id, enabled, idp_metadata_xml, idp_metadata_url, \
         idp_entity_id, sp_entity_id, requested_authn_contexts, accepted_mfa_contexts, \
         force_authn, attr_hsa_id, attr_personal_number, attr_display_name, attr_groups, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
         $13, $14, $15) ON CONFLICT (tenant_id) DO UPDATE SET enabled = excluded.enabled, \
         idp_metadata_xml = excluded.idp_metadata_xml, idp_metadata_url = \
         excluded.idp_metadata_url, idp_entity_id = excluded.idp_entity_id, sp_entity_id = \
         excluded.sp_entity_id, requested_authn_contexts = excluded.requested_authn_contexts, \
         accepted_mfa_contexts = excluded.accepted_mfa_contexts, force_authn = \
         excluded.force_authn, attr_hsa_id = excluded.attr_hsa_id, attr_personal_number = \
         excluded.attr_personal_number, attr_display_name = excluded.attr_display_name, \
         attr_groups = excluded.attr_groups, updated_at = excluded.updated_at",
    )
    .bind(c.tenant_id.to_string())
    .bind(c.enabled)
    .bind(c.idp_metadata_xml.as_str())
    .bind(c.idp_metadata_url.clone())
    .bind(c.idp_entity_id.as_str())
    .bind(c.sp_entity_id.as_str())
    .bind(json(&c.requested_authn_contexts))
    .bind(json(&c.accepted_mfa_contexts))
    .bind(c.force_authn)
    .bind(c.attributes.hsa_id.clone())
    .bind(c.attributes.personal_number.clone())
    .bind(c.attributes.display_name.clone())
    .bind(c.attributes.groups.clone())
    .bind(millis(c.created_at))
    .bind(millis(c.updated_at))
    .execute(&mut *conn)
    .await?;
    get(conn, c.tenant_id)
        .await?
        .ok_or_else(|| DbError::Corrupt("tenant_saml row vanished".into()))
}

/// An AuthnRequest in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamlRequest {
    pub relay_state: String,
    pub request_id: String,
    pub tenant_id: Uuid,
    pub browser_hash: String,
    pub expires_at: OffsetDateTime,
}

pub async fn insert_request(
    conn: &mut AnyConnection,
    r: &SamlRequest,
    now: OffsetDateTime,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO saml_requests (relay_state, request_id, tenant_id, browser_hash, \
         created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(r.relay_state.as_str())
    .bind(r.request_id.as_str())
    .bind(r.tenant_id.to_string())
    .bind(r.browser_hash.as_str())
    .bind(millis(now))
    .bind(millis(r.expires_at))
    .execute(conn)
    .await?;
    Ok(())
}

/// What became of a RelayState handle presented at the ACS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TakenRequest {
    /// The request of this browser and tenant, now removed (first use).
    Taken(SamlRequest),
    /// No live request has this handle (never issued, expired or already used).
    Unknown,
    /// The handle belongs to another browser or tenant; it stays for its owner.
    OtherBrowser,
}

/// Takes the request behind `relay_state` if it belongs to this browser and tenant. Only
/// one of several concurrent takers wins (the DELETE decides).
pub async fn take_request(
    conn: &mut AnyConnection,
    relay_state: &str,
    tenant_id: Uuid,
    browser_hash: Option<&str>,
    now: OffsetDateTime,
) -> Result<TakenRequest, DbError> {
    let row = sqlx::query(
        "SELECT relay_state, request_id, tenant_id, browser_hash, expires_at FROM saml_requests \
         WHERE relay_state = $1 AND expires_at > $2",
    )
    .bind(relay_state)
    .bind(millis(now))
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(TakenRequest::Unknown);
    };
    let request = SamlRequest {
        relay_state: get_string(&row, "relay_state")?,
        request_id: get_string(&row, "request_id")?,
        tenant_id: get_uuid(&row, "tenant_id")?,
        browser_hash: get_string(&row, "browser_hash")?,
        expires_at: get_time(&row, "expires_at")?,
    };
    if request.tenant_id != tenant_id || browser_hash != Some(request.browser_hash.as_str()) {
        return Ok(TakenRequest::OtherBrowser);
    }
    let deleted = sqlx::query("DELETE FROM saml_requests WHERE relay_state = $1")
        .bind(relay_state)
        .execute(conn)
        .await?;
    Ok(if deleted.rows_affected() == 1 {
        TakenRequest::Taken(request)
    } else {
        TakenRequest::Unknown
    })
}

/// Whether an assertion id of `issuer` is in the replay cache.
pub async fn assertion_seen(
    conn: &mut AnyConnection,
    issuer: &str,
    assertion_id: &str,
) -> Result<bool, DbError> {
    let row = sqlx::query(
        "SELECT assertion_id FROM saml_assertions_seen WHERE issuer = $1 AND assertion_id = $2",
    )
    .bind(issuer)
    .bind(assertion_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.is_some())
}

/// Records an assertion id until `expires_at`; a second record of the same id fails with
/// [`DbError::Unique`] (a replay that raced the first).
pub async fn record_assertion(
    conn: &mut AnyConnection,
    issuer: &str,
    assertion_id: &str,
    tenant_id: Uuid,
    expires_at: OffsetDateTime,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO saml_assertions_seen (issuer, assertion_id, tenant_id, expires_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(issuer)
    .bind(assertion_id)
    .bind(tenant_id.to_string())
    .bind(millis(expires_at))
    .execute(conn)
    .await?;
    Ok(())
}

/// Drops expired requests and replay-cache entries.
pub async fn prune(conn: &mut AnyConnection, now: OffsetDateTime) -> Result<u64, DbError> {
    let a = sqlx::query("DELETE FROM saml_requests WHERE expires_at <= $1")
        .bind(millis(now))
        .execute(&mut *conn)
        .await?;
    let b = sqlx::query("DELETE FROM saml_assertions_seen WHERE expires_at <= $1")
        .bind(millis(now))
        .execute(conn)
        .await?;
    Ok(a.rows_affected() + b.rows_affected())
}

/// What single logout needs of a SAML web session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamlSession {
    pub web_session_id: Uuid,
    pub tenant_id: Uuid,
    pub name_id: String,
    pub name_id_format: Option<String>,
    pub session_index: Option<String>,
}

pub async fn insert_session(conn: &mut AnyConnection, s: &SamlSession) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO saml_web_sessions (web_session_id, tenant_id, name_id, name_id_format, \
         session_index) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(s.web_session_id.to_string())
    .bind(s.tenant_id.to_string())
    .bind(s.name_id.as_str())
    .bind(s.name_id_format.clone())
    .bind(s.session_index.clone())
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get_session(
    conn: &mut AnyConnection,
    web_session_id: Uuid,
) -> Result<Option<SamlSession>, DbError> {
    let row = sqlx::query(
        "SELECT web_session_id, tenant_id, name_id, name_id_format, session_index \
         FROM saml_web_sessions WHERE web_session_id = $1",
    )
    .bind(web_session_id.to_string())
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Ok(SamlSession {
            web_session_id: get_uuid(&r, "web_session_id")?,
            tenant_id: get_uuid(&r, "tenant_id")?,
            name_id: get_string(&r, "name_id")?,
            name_id_format: get_opt_string(&r, "name_id_format")?,
            session_index: get_opt_string(&r, "session_index")?,
        })
    })
    .transpose()
}

/// Stores (or with `None` removes) a user's personnummer.
pub async fn set_personal_number(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
    user_id: Uuid,
    personal_number: Option<&str>,
    now: OffsetDateTime,
) -> Result<(), DbError> {
    sqlx::query("DELETE FROM saml_user_attributes WHERE user_id = $1")
        .bind(user_id.to_string())
        .execute(&mut *conn)
        .await?;
    if let Some(pn) = personal_number {
        sqlx::query(
            "INSERT INTO saml_user_attributes (user_id, tenant_id, personal_number, updated_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(user_id.to_string())
        .bind(tenant_id.to_string())
        .bind(pn)
        .bind(millis(now))
        .execute(conn)
        .await?;
    }
    Ok(())
}

pub async fn personal_number(
    conn: &mut AnyConnection,
    user_id: Uuid,
) -> Result<Option<String>, DbError> {
    let row = sqlx::query("SELECT personal_number FROM saml_user_attributes WHERE user_id = $1")
        .bind(user_id.to_string())
        .fetch_optional(conn)
        .await?;
    row.map(|r| get_string(&r, "personal_number")).transpose()
}

/// Makes the user's memberships of the tenant's groups that have an external id exactly
/// those whose external id is in `external_ids` (at most 256 are considered); groups
/// without an external id (assigned by admins) are left alone. Returns (added, removed).
pub async fn sync_external_groups(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
    user_id: Uuid,
    external_ids: &[String],
    now: OffsetDateTime,
) -> Result<(usize, usize), DbError> {
    let rows = sqlx::query(
        "SELECT g.id, g.external_id, m.user_id FROM groups g LEFT JOIN group_members m \
         ON m.group_id = g.id AND m.user_id = $2 WHERE g.tenant_id = $1 AND g.external_id IS NOT NULL",
    )
    .bind(tenant_id.to_string())
    .bind(user_id.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let wanted: Vec<&str> = external_ids.iter().take(256).map(String::as_str).collect();
    let (mut added, mut removed) = (0, 0);
    for row in rows {
        let group_id = get_uuid(&row, "id")?;
        let external = get_opt_string(&row, "external_id")?.unwrap_or_default();
        let member = get_opt_string(&row, "user_id")?.is_some();
        let want = wanted.contains(&external.as_str());
        if want && !member {
            sqlx::query(
                "INSERT INTO group_members (tenant_id, group_id, user_id, created_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(tenant_id.to_string())
            .bind(group_id.to_string())
            .bind(user_id.to_string())
            .bind(millis(now))
            .execute(&mut *conn)
            .await?;
            added += 1;
        } else if !want && member {
            sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2")
                .bind(group_id.to_string())
                .bind(user_id.to_string())
                .execute(&mut *conn)
                .await?;
            removed += 1;
        }
    }
    Ok((added, removed))
}

/// (slug, name) of every tenant whose SAML login is on, by name: the portal's list of
/// organisations.
pub async fn enabled_tenants(conn: &mut AnyConnection) -> Result<Vec<(String, String)>, DbError> {
    let rows = sqlx::query(
        "SELECT t.slug, t.name FROM tenants t JOIN tenant_saml s ON s.tenant_id = t.id \
         WHERE s.enabled = $1 ORDER BY t.name LIMIT 500",
    )
    .bind(true)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| Ok((get_string(r, "slug")?, get_string(r, "name")?)))
        .collect()
}
