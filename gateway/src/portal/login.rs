//! Logging in and out of the portal: `POST /portal/api/demo-login` (a name, no password:
//! only for demos, see `gateway.demo_login`), `GET /portal/api/login-methods`,
//! `GET /portal/api/me` and
//! `POST /portal/api/logout`. The web session itself is the broker's
//! ([`hamn_broker::web_session`]); this module speaks HTTP and cookies. Failed demo logins
//! are throttled per address and per name ([`hamn_broker::throttle`], 429 with
//! `Retry-After`).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hamn_broker::db::{Database, DbError};
use hamn_broker::model::{LoginMethod, Role, User, WebSession};
use hamn_broker::throttle::{self, Attempt, Verdict};
use hamn_broker::{SessionToken, repo, roles, web_session};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::api::{Body, PortalApi, Source, no_store};
use super::lang::Lang;
use super::problem::Problem;
use super::web_session::{CLEAR_COOKIE, WebUser, set_cookie, token};

/// Longest user or tenant name accepted.
const MAX_NAME: usize = 200;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoLogin {
    pub username: String,
    /// The tenant's slug; needed only when the name exists in more than one tenant.
    #[serde(default)]
    pub tenant: Option<String>,
    #[serde(default)]
    pub lang: Option<Lang>,
}

/// Who is logged in: the answer of `me` and of a login.
#[derive(Debug, Serialize)]
pub struct Me {
    pub user: MeUser,
    pub tenant: MeTenant,
    pub method: LoginMethod,
    /// The login's level of assurance, 1 to 4; `null`: none established.
    pub loa: Option<u8>,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// The session's CSRF token: the portal sends it back in `X-CSRF-Token` on every
    /// state-changing request.
    pub csrf_token: String,
    /// `user`, `tenant_admin` (the admin API for their tenant at `/api/v1`) or `operator`.
    pub role: Role,
    /// The language the user chose (`sv` or `en`, `PUT /portal/api/me/language`); `null`:
    /// never chosen, the browser's choice applies.
    pub language: Option<Lang>,
}

#[derive(Debug, Serialize)]
pub struct MeUser {
    pub id: Uuid,
    pub name_id: String,
    pub display_name: String,
    pub hsa_id: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct MeTenant {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
}

/// Why a demo login was refused; the user learns only "unknown or not entitled" so the
/// answer does not tell which names exist, the audit log gets the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DemoRefusal {
    UnknownUser,
    Ambiguous,
    NotEntitled,
}

impl DemoRefusal {
    fn reason(self) -> &'static str {
        match self {
            Self::UnknownUser => "unknown_user",
            Self::Ambiguous => "ambiguous_user",
            Self::NotEntitled => "not_entitled",
        }
    }

    fn problem(self, lang: Lang) -> Problem {
        match self {
            Self::UnknownUser | Self::NotEntitled => Problem::new(
                StatusCode::UNAUTHORIZED,
                "login_refused",
                lang,
                "Inloggningen nekades: användaren finns inte eller har inte behörighet till \
                 någon applikation.",
                "Login refused: the user does not exist or is not entitled to any \
                 application.",
            ),
            Self::Ambiguous => Problem::new(
                StatusCode::UNAUTHORIZED,
                "tenant_required",
                lang,
                "Användarnamnet finns hos flera organisationer. Ange organisation.",
                "The user name exists in several organisations. Please give the organisation.",
            ),
        }
    }
}

fn valid_name(text: &str) -> bool {
    !text.is_empty() && text.chars().count() <= MAX_NAME && !text.chars().any(char::is_control)
}

/// What a demo login's name leads to.
enum DemoUser {
    Allowed(User),
    /// With the user when one was found (the audit event then names them).
    Refused(DemoRefusal, Option<User>),
}

/// The user a demo login names, if it may log in: exists (in the given tenant, or in
/// exactly one) and is entitled to at least one enabled app.
async fn demo_user(db: &Database, name: &str, tenant: Option<&str>) -> Result<DemoUser, DbError> {
    let mut conn = db.pool().acquire().await?;
    let mut found = match tenant {
        Some(slug) => match repo::tenants::get_by_slug(&mut conn, slug).await? {
            Some(t) => repo::users::get_by_name_id(&mut conn, t.id, name)
                .await?
                .into_iter()
                .collect(),
            None => Vec::new(),
        },
        None => repo::users::find_by_name_id(&mut conn, name, 2).await?,
    };
    let user = match (found.pop(), found.is_empty()) {
        (Some(user), true) => user,
        (Some(_), false) => return Ok(DemoUser::Refused(DemoRefusal::Ambiguous, None)),
        (None, _) => return Ok(DemoUser::Refused(DemoRefusal::UnknownUser, None)),
    };
    if repo::apps::list_entitled(&mut conn, user.id)
        .await?
        .is_empty()
    {
        return Ok(DemoUser::Refused(DemoRefusal::NotEntitled, Some(user)));
    }
    Ok(DemoUser::Allowed(user))
}

async fn me_of(
    db: &Database,
    token: &SessionToken,
    session: &WebSession,
    user: User,
) -> Result<Me, DbError> {
    let mut conn = db.pool().acquire().await?;
    let tenant = repo::tenants::get(&mut conn, user.tenant_id)
        .await?
        .ok_or_else(|| DbError::Corrupt(format!("user {} has no tenant", user.id)))?;
    let role = roles::effective_role(&mut conn, &user).await?;
    // A value the table's CHECK would not hold reads as "never chosen".
    let language = match repo::users::language(&mut conn, user.id).await?.as_deref() {
        Some("sv") => Some(Lang::Sv),
        Some("en") => Some(Lang::En),
        _ => None,
    };
    Ok(Me {
        user: MeUser {
            id: user.id,
            name_id: user.name_id,
            display_name: user.display_name,
            hsa_id: user.hsa_id,
        },
        tenant: MeTenant {
            id: tenant.id,
            slug: tenant.slug,
            name: tenant.name,
        },
        method: session.method,
        loa: session.loa,
        expires_at: session.expires_at,
        csrf_token: web_session::csrf_token(token),
        role,
        language,
    })
}

/// Audits a refused demo login (the refusal stands if the audit fails; that is logged).
async fn audit_refused(
    api: &PortalApi,
    name: &str,
    user: Option<&User>,
    source: Option<&str>,
    reason: &str,
) {
    if let Err(error) = web_session::audit_login_refused(
        &api.database,
        name,
        user,
        LoginMethod::Demo,
        source,
        reason,
    )
    .await
    {
        tracing::warn!(%error, "refused login not audited");
    }
}

/// `POST /portal/api/demo-login {username, tenant?, lang?}`. A browser that was logged in
/// already is logged out first, so one browser holds one session.
pub async fn demo_login(
    State(api): State<Arc<PortalApi>>,
    header_lang: Lang,
    Source(source): Source,
    headers: HeaderMap,
    Body(request): Body<DemoLogin>,
) -> Response {
    let lang = request.lang.unwrap_or(header_lang);
    let name = request.username.trim();
    let tenant = request.tenant.as_deref().map(str::trim);
    if !valid_name(name) || tenant.is_some_and(|t| !valid_name(t)) {
        return Problem::new(
            StatusCode::BAD_REQUEST,
            "bad_username",
            lang,
            "Ange ett användarnamn (högst 200 tecken).",
            "Enter a user name (at most 200 characters).",
        )
        .into_response();
    }
    let account = match tenant {
        Some(slug) => format!("{slug}/{name}"),
        None => name.to_owned(),
    };
    let attempt = Attempt {
        source_address: source.as_deref(),
        account: Some(&account),
    };
    let at = api.access.clock.now();
    match throttle::check(&api.database, &attempt, at).await {
        Ok(Verdict::Allowed) => {}
        Ok(Verdict::Blocked { retry_after, .. }) => {
            tracing::info!(retry_after = retry_after.as_secs(), "demo login throttled");
            audit_refused(&api, name, None, source.as_deref(), "throttled").await;
            return Problem::throttled(lang, retry_after).into_response();
        }
        Err(error) => {
            tracing::error!(%error, "login throttle unavailable");
            return Problem::unavailable(lang).into_response();
        }
    }
    let user = match demo_user(&api.database, name, tenant).await {
        Ok(DemoUser::Allowed(user)) => user,
        Ok(DemoUser::Refused(refusal, user)) => {
            tracing::info!(reason = refusal.reason(), "demo login refused");
            audit_refused(
                &api,
                name,
                user.as_ref(),
                source.as_deref(),
                refusal.reason(),
            )
            .await;
            if let Err(error) =
                throttle::record_failure(&api.database, &api.access.throttle, &attempt, at).await
            {
                tracing::warn!(%error, "failed login not counted");
            }
            return refusal.problem(lang).into_response();
        }
        Err(error) => {
            tracing::error!(%error, "demo login failed");
            return Problem::unavailable(lang).into_response();
        }
    };
    if let Some(previous) = token(&headers)
        && let Err(error) = web_session::logout(&api.database, &previous, source.as_deref()).await
    {
        tracing::warn!(%error, "previous web session not ended");
    }
    let login = web_session::login_at(
        &api.database,
        api.web_sessions,
        &user,
        LoginMethod::Demo,
        None,
        source.as_deref(),
        at,
    )
    .await;
    let (token, session) = match login {
        Ok(done) => done,
        Err(error) => {
            tracing::error!(%error, "demo login failed");
            return Problem::unavailable(lang).into_response();
        }
    };
    tracing::info!(user = %user.id, "demo login");
    if let Err(error) = throttle::record_success(&api.database, &attempt).await {
        tracing::warn!(%error, "login throttle not cleared");
    }
    match me_of(&api.database, &token, &session, user).await {
        Ok(me) => {
            let mut response = no_store(Json(me).into_response());
            response
                .headers_mut()
                .insert(header::SET_COOKIE, set_cookie(&token, api.web_sessions));
            response
        }
        Err(error) => {
            tracing::error!(%error, "demo login failed");
            Problem::unavailable(lang).into_response()
        }
    }
}

/// The ways to log in that this portal offers, for the login page.
#[derive(Debug, Serialize)]
pub struct LoginMethods {
    pub demo: bool,
    /// Where "Logga in med SITHS-kort" leads; `null` when the SITHS listener is off.
    pub siths_url: Option<String>,
    /// The organisations with SAML login, for "choose organisation".
    pub organisations: Vec<Organisation>,
}

/// An organisation (tenant) whose users log in through its IdP.
#[derive(Debug, Serialize)]
pub struct Organisation {
    pub slug: String,
    pub name: String,
    /// `/saml/{slug}/login`.
    pub login_url: String,
}

/// `GET /portal/api/login-methods`.
pub async fn methods(State(api): State<Arc<PortalApi>>) -> Response {
    let organisations = if api.saml {
        let listed = async {
            let mut conn = api.database.acquire().await?;
            repo::saml::enabled_tenants(&mut conn).await
        }
        .await;
        match listed {
            Ok(list) => list
                .into_iter()
                .map(|(slug, name)| Organisation {
                    login_url: format!("/saml/{slug}/login"),
                    slug,
                    name,
                })
                .collect(),
            Err(error) => {
                tracing::error!(%error, "SAML organisations not listed");
                Vec::new()
            }
        }
    } else {
        Vec::new()
    };
    no_store(
        Json(LoginMethods {
            demo: api.demo_login,
            siths_url: api.siths_login_url.clone(),
            organisations,
        })
        .into_response(),
    )
}

/// `GET /portal/api/me`.
pub async fn me(
    State(api): State<Arc<PortalApi>>,
    lang: Lang,
    headers: HeaderMap,
    who: WebUser,
) -> Response {
    // WebUser found the session by this very cookie.
    let Some(cookie) = token(&headers) else {
        return Problem::not_logged_in(lang).into_response();
    };
    match me_of(&api.database, &cookie, &who.session, who.user).await {
        Ok(me) => no_store(Json(me).into_response()),
        Err(error) => {
            tracing::error!(%error, "me failed");
            Problem::unavailable(lang).into_response()
        }
    }
}

/// `POST /portal/api/logout`: ends the session (if any) and clears the cookie; 204 either
/// way, so a second click is harmless.
pub async fn logout(
    State(api): State<Arc<PortalApi>>,
    lang: Lang,
    Source(source): Source,
    headers: HeaderMap,
) -> Response {
    if let Some(token) = token(&headers)
        && let Err(error) = web_session::logout(&api.database, &token, source.as_deref()).await
    {
        tracing::error!(%error, "logout failed");
        return Problem::unavailable(lang).into_response();
    }
    let mut response = no_store(StatusCode::NO_CONTENT.into_response());
    response
        .headers_mut()
        .insert(header::SET_COOKIE, HeaderValue::from_static(CLEAR_COOKIE));
    response
}
