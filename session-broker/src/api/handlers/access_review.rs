//! `/tenants/{id}/access-review`: who in a tenant may launch which app, directly or through
//! which group, their role, last login and whether the account is unused; as JSON or CSV
//! (`?format=csv` or `Accept: text/csv`). Every export is audited. `…/revoke` takes a
//! user's access away in one transaction: direct entitlements, group memberships, the
//! directly assigned role and every web session.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::api::AdminState;
use crate::api::caller::Caller;
use crate::api::export::{CSV, attachment, push_csv_line};
use crate::api::extract::{Body, Ids, Params};
use crate::api::mutation::{Change, Mutation};
use crate::api::problem::ApiError;
use crate::db::row::now;
use crate::model::{
    AccessPath, AccessReview, AccessReviewUser, AccessRevoked, Page, PageRequest, RevokeAccess,
    Role, User,
};
use crate::repo::{access, tenants, users, web_sessions};

/// Accounts not used within this many days count as unused when the query names none.
pub const DEFAULT_UNUSED_DAYS: u32 = 30;
/// Largest `unused_days` accepted (ten years).
pub const MAX_UNUSED_DAYS: u32 = 3650;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewQuery {
    /// Only accounts unused for this many days.
    pub unused_days: Option<u32>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// Every user of the tenant, paged through so no tenant is too big to review.
async fn all_users(conn: &mut sqlx::AnyConnection, tenant_id: Uuid) -> Result<Vec<User>, ApiError> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let Page { items, next_cursor } = users::list(
            conn,
            tenant_id,
            PageRequest {
                limit: crate::model::page::MAX_LIMIT,
                cursor,
            },
        )
        .await?;
        out.extend(items);
        match next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
    }
}

fn wants_csv(q: &ReviewQuery, headers: &HeaderMap) -> Result<bool, ApiError> {
    match q.format.as_deref() {
        Some("csv") => Ok(true),
        Some("json") => Ok(false),
        Some(_) => Err(ApiError::bad_request("format", "must be json or csv")),
        None => Ok(headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().contains("text/csv"))),
    }
}

const CSV_HEADER: &[&str] = &[
    "user_id",
    "name_id",
    "display_name",
    "hsa_id",
    "role",
    "last_login_at",
    "unused",
    "groups",
    "app_id",
    "app_name",
    "app_enabled",
    "environment",
    "via",
    "group_id",
    "group_name",
];

/// The review as CSV: one line per user and path to an app, or one line for a user
/// without any.
pub fn to_csv(review: &AccessReview) -> String {
    let mut out = String::new();
    push_csv_line(&mut out, CSV_HEADER);
    let rfc = |t: Option<time::OffsetDateTime>| {
        t.and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
    };
    for u in &review.users {
        let user_cells = [
            u.user_id.to_string(),
            u.name_id.clone(),
            u.display_name.clone(),
            u.hsa_id.clone().unwrap_or_default(),
            u.role.to_string(),
            rfc(u.last_login_at),
            u.unused.to_string(),
            u.groups.join("; "),
        ];
        let none: [String; 7] = Default::default();
        let paths: Vec<[String; 7]> = if u.access.is_empty() {
            vec![none]
        } else {
            u.access
                .iter()
                .map(|p: &AccessPath| {
                    [
                        p.app_id.to_string(),
                        p.app_name.clone(),
                        p.app_enabled.to_string(),
                        p.environment.to_string(),
                        p.via.to_string(),
                        p.group_id.map(|g| g.to_string()).unwrap_or_default(),
                        p.group_name.clone().unwrap_or_default(),
                    ]
                })
                .collect()
        };
        for p in paths {
            push_csv_line(&mut out, user_cells.iter().chain(p.iter()));
        }
    }
    out
}

pub async fn review(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
    headers: HeaderMap,
    Params(q): Params<ReviewQuery>,
) -> Result<Response, ApiError> {
    if q.unused_days
        .is_some_and(|d| !(1..=MAX_UNUSED_DAYS).contains(&d))
    {
        return Err(ApiError::bad_request(
            "unused_days",
            format!("must be between 1 and {MAX_UNUSED_DAYS}"),
        ));
    }
    let csv = wants_csv(&q, &headers)?;
    // The export and its audit event share a transaction, so the record says exactly
    // what was read.
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let t = caller.visible(tenants::get(m.conn(), ids.id()).await?, |t| t.id, "tenant")?;
    let at = now();
    let days = q.unused_days.unwrap_or(DEFAULT_UNUSED_DAYS);
    let cutoff = at - time::Duration::days(i64::from(days));
    let mut paths: HashMap<Uuid, Vec<AccessPath>> = HashMap::new();
    for (user, path) in access::access_paths(m.conn(), t.id).await? {
        paths.entry(user).or_default().push(path);
    }
    let mut groups: HashMap<Uuid, Vec<String>> = HashMap::new();
    for (user, name) in access::memberships(m.conn(), t.id).await? {
        groups.entry(user).or_default().push(name);
    }
    let mut roles: HashMap<Uuid, Role> = HashMap::new();
    for (user, role) in access::direct_roles(m.conn(), t.id)
        .await?
        .into_iter()
        .chain(access::granted_roles(m.conn(), t.id).await?)
    {
        let r = roles.entry(user).or_insert(Role::User);
        *r = r.max(role);
    }
    let mut listed = Vec::new();
    for u in all_users(m.conn(), t.id).await? {
        let unused = u.last_login_at.is_none_or(|l| l < cutoff);
        if q.unused_days.is_some() && !unused {
            continue;
        }
        listed.push(AccessReviewUser {
            user_id: u.id,
            role: roles.get(&u.id).copied().unwrap_or(Role::User),
            groups: groups.remove(&u.id).unwrap_or_default(),
            access: paths.remove(&u.id).unwrap_or_default(),
            name_id: u.name_id,
            display_name: u.display_name,
            hsa_id: u.hsa_id,
            last_login_at: u.last_login_at,
            unused,
        });
    }
    let review = AccessReview {
        tenant_id: t.id,
        tenant_slug: t.slug.clone(),
        generated_at: at,
        unused_days: q.unused_days,
        users: listed,
    };
    let paths_total: usize = review.users.iter().map(|u| u.access.len()).sum();
    m.commit(Change::created(
        "access_review.export",
        Some(t.id),
        "tenant",
        t.id,
        &json!({
            "format": if csv { "csv" } else { "json" },
            "unused_days": q.unused_days,
            "users": review.users.len(),
            "access_paths": paths_total,
        }),
    ))
    .await?;
    if !csv {
        return Ok(Json(review).into_response());
    }
    let filename = format!("access-review-{}-{}.csv", t.slug, at.date());
    Ok(attachment(to_csv(&review), CSV, &filename))
}

pub async fn revoke(
    State(s): State<AdminState>,
    caller: Caller,
    ids: Ids,
    Body(body): Body<RevokeAccess>,
) -> Result<Json<AccessRevoked>, ApiError> {
    let mut m = Mutation::begin(s.db(), &caller).await?;
    let t = caller.visible(tenants::get(m.conn(), ids.id()).await?, |t| t.id, "tenant")?;
    // A user of another tenant does not exist here, whoever asks.
    let u = match users::get(m.conn(), body.user_id).await? {
        Some(u) if u.tenant_id == t.id => u,
        _ => {
            return Err(
                ApiError::not_found("user").with_field("user_id", "no such user in this tenant")
            );
        }
    };
    let role = access::direct_role(m.conn(), u.id).await?;
    if role == Role::Operator && !caller.is_operator() {
        return Err(ApiError::forbidden(
            "only operators revoke an operator's access",
        ));
    }
    let before = json!({
        "user": &u,
        "direct_role": role,
    });
    let direct_entitlements = access::delete_direct_entitlements(m.conn(), t.id, u.id).await?;
    let group_memberships = access::delete_memberships(m.conn(), t.id, u.id).await?;
    let role_removed = if role == Role::User {
        None
    } else {
        access::set_direct_role(m.conn(), t.id, u.id, Role::User).await?;
        Some(role)
    };
    let sessions = web_sessions::delete_for_user(m.conn(), u.id).await?;
    let done = AccessRevoked {
        user_id: u.id,
        direct_entitlements,
        group_memberships,
        web_sessions: sessions,
        role_removed,
    };
    m.commit(Change::updated(
        "access.revoke",
        Some(t.id),
        "user",
        u.id,
        &before,
        &done,
    ))
    .await?;
    Ok(Json(done))
}
