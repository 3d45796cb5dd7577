//! What the portal tells a logged-in user beyond their apps: `GET /portal/api/notices`
//! (open incidents of the environments they have apps in, as the status page shows them;
//! service windows of those environments, in progress or starting within seven days; and
//! the admins' announcements running now, [`hamn_broker::repo::announcements`])
//! and `PUT /portal/api/me/language` (the language they chose, kept with the user so it
//! follows them to another browser).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use hamn_broker::db::DbError;
use hamn_broker::model::{
    AnnouncementSeverity, EnvironmentKind, IncidentSeverity, IncidentState, PageRequest,
};
use hamn_broker::repo;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::api::{Body, PortalApi, no_store};
use super::lang::Lang;
use super::problem::Problem;
use super::web_session::WebUser;

/// How far ahead the portal warns of a service window: the notice every window gets.
pub const WINDOW_HORIZON: Duration = Duration::days(7);
/// More banners than anyone reads; the lists stop there.
const MAX_LISTED: usize = 20;

#[derive(Debug, Serialize)]
pub struct Notices {
    /// Open incidents that concern the user's environments, newest first.
    pub incidents: Vec<IncidentNotice>,
    /// Soonest first.
    pub service_windows: Vec<WindowNotice>,
    /// Warnings first, then the newest.
    pub announcements: Vec<AnnouncementNotice>,
}

#[derive(Debug, Serialize)]
pub struct IncidentNotice {
    pub id: Uuid,
    /// `PROD` or `UTB`; absent: every environment of the tenant.
    pub environment: Option<EnvironmentKind>,
    pub title: String,
    pub severity: IncidentSeverity,
    pub state: IncidentState,
    /// The operators' latest word on it.
    pub message: String,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Serialize)]
pub struct WindowNotice {
    /// The window's id; with `starts_at` it names one occurrence.
    pub id: Uuid,
    /// `PROD` or `UTB`.
    pub environment: EnvironmentKind,
    pub title: String,
    pub description: String,
    pub emergency: bool,
    /// Whether it has begun (launches into the environment are refused until `ends_at`).
    pub in_progress: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
}

#[derive(Debug, Serialize)]
pub struct AnnouncementNotice {
    pub id: Uuid,
    pub title: String,
    pub body: String,
    pub severity: AnnouncementSeverity,
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
}

async fn notices_of(api: &PortalApi, who: &WebUser) -> Result<Notices, DbError> {
    let now = api.access.clock.now();
    let mut conn = api.database.acquire().await?;
    // The environments the user has apps in, and their kinds.
    let environments: BTreeSet<Uuid> = repo::apps::list_entitled(&mut conn, who.user.id)
        .await?
        .into_iter()
        .map(|a| a.environment_id)
        .collect();
    let mut kinds = BTreeMap::new();
    for env in &environments {
        if let Some(e) = repo::environments::get(&mut conn, *env).await? {
            kinds.insert(e.id, e.kind);
        }
    }
    let open = repo::incidents::list(
        &mut conn,
        who.user.tenant_id,
        Some(true),
        PageRequest {
            limit: MAX_LISTED as u32,
            cursor: None,
        },
    )
    .await?;
    let incidents = open
        .items
        .into_iter()
        .take(MAX_LISTED)
        .filter(|i| i.environment_id.is_none_or(|e| kinds.contains_key(&e)))
        .map(|i| IncidentNotice {
            id: i.id,
            environment: i.environment_id.and_then(|e| kinds.get(&e).copied()),
            message: i
                .updates
                .last()
                .map(|u| u.message.clone())
                .unwrap_or_default(),
            title: i.title,
            severity: i.severity,
            state: i.state,
            started_at: i.started_at,
            updated_at: i.updated_at,
        })
        .collect();
    let mut service_windows = Vec::new();
    for (&env, &kind) in &kinds {
        for w in repo::service_windows::list_live(&mut conn, Some(env), now, 200).await? {
            for o in w.occurrences(now, now + WINDOW_HORIZON) {
                service_windows.push(WindowNotice {
                    id: w.id,
                    environment: kind,
                    title: w.title.clone(),
                    description: w.description.clone(),
                    emergency: w.emergency,
                    in_progress: o.start <= now,
                    starts_at: o.start,
                    ends_at: o.end,
                });
            }
        }
    }
    service_windows.sort_by_key(|n| (n.starts_at, n.id));
    service_windows.truncate(MAX_LISTED);
    let announcements =
        repo::announcements::shown(&mut conn, who.user.tenant_id, now, MAX_LISTED as u32)
            .await?
            .into_iter()
            .map(|a| AnnouncementNotice {
                id: a.id,
                title: a.title,
                body: a.body,
                severity: a.severity,
                starts_at: a.starts_at,
                ends_at: a.ends_at,
            })
            .collect();
    Ok(Notices {
        incidents,
        service_windows,
        announcements,
    })
}

/// `GET /portal/api/notices`.
pub async fn list(State(api): State<Arc<PortalApi>>, lang: Lang, who: WebUser) -> Response {
    match notices_of(&api, &who).await {
        Ok(notices) => no_store(Json(notices).into_response()),
        Err(error) => {
            tracing::error!(%error, "notices failed");
            Problem::unavailable(lang).into_response()
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LanguageChoice {
    /// `sv` or `en`; anything else is refused as a malformed request.
    pub language: Lang,
}

#[derive(Debug, Serialize)]
pub struct LanguageChosen {
    pub language: Lang,
}

/// `PUT /portal/api/me/language`: remembers the user's language.
pub async fn set_language(
    State(api): State<Arc<PortalApi>>,
    lang: Lang,
    who: WebUser,
    Body(choice): Body<LanguageChoice>,
) -> Response {
    let stored = async {
        let mut conn = api.database.acquire().await?;
        repo::users::set_language(&mut conn, who.user.id, choice.language.tag()).await
    }
    .await;
    match stored {
        Ok(true) => no_store(
            Json(LanguageChosen {
                language: choice.language,
            })
            .into_response(),
        ),
        // The user was deleted while their session lived.
        Ok(false) => Problem::not_logged_in(lang).into_response(),
        Err(error) => {
            tracing::error!(%error, "language not stored");
            Problem::unavailable(lang).into_response()
        }
    }
}
