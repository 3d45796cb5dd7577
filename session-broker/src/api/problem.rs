//! `application/problem+json` (RFC 9457) error responses, and the mapping of storage errors
//! onto them: what a client caused is a 4xx naming the field, never a 500.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::db::DbError;
use crate::model::{FieldError, ValidationErrors};

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An error answer of the admin API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// `urn:hamn:problem:<kind>`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Seconds until a refused request may succeed (429): sent as `Retry-After` too.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u32>,
}

/// The error type of every handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError(pub Box<Problem>);

impl ApiError {
    pub fn new(status: StatusCode, kind: &str, title: &str, detail: impl Into<String>) -> Self {
        Self(Box::new(Problem {
            kind: format!("urn:hamn:problem:{kind}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
        }))
    }

    pub fn with_field(mut self, field: &str, reason: impl Into<String>) -> Self {
        self.0.errors.push(FieldError {
            field: field.to_owned(),
            reason: reason.into(),
        });
        self
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// Malformed request: JSON syntax, wrong types, unknown fields, bad ids or parameters.
    pub fn bad_request(field: &str, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "Bad request",
            format!("{field}: {reason}"),
        )
        .with_field(field, reason)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not found",
            format!("no such {what}"),
        )
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Unauthorized",
            detail,
        )
    }

    pub fn conflict(field: Option<&str>, detail: impl Into<String>) -> Self {
        let e = Self::new(StatusCode::CONFLICT, "conflict", "Conflict", detail);
        match field {
            Some(f) => e.with_field(f, "already in use"),
            None => e,
        }
    }

    /// Over a fair-use limit: 429 with `Retry-After`.
    pub fn too_many_requests(detail: impl Into<String>, retry_after_s: u32) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            "Too many requests",
            detail,
        );
        e.0.retry_after = Some(retry_after_s);
        e
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "the broker failed; the event is logged",
        )
    }

    /// Maps a storage error, naming the first of `unique_fields` the violated unique
    /// constraint mentions (PostgreSQL constraint names and SQLite messages both carry the
    /// column names).
    pub fn from_db(e: DbError, unique_fields: &[&str]) -> Self {
        match e {
            DbError::Unique(what) => {
                let field = unique_fields.iter().copied().find(|f| what.contains(f));
                let field = field.or(unique_fields.first().copied());
                Self::conflict(
                    field,
                    match field {
                        Some(f) => format!("another resource already has this {f}"),
                        None => "the resource already exists".to_owned(),
                    },
                )
            }
            DbError::ForeignKey(_) => Self::conflict(
                None,
                "the resource is still referenced by others, or refers to one that is gone",
            ),
            DbError::Check(what) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation",
                "Invalid request",
                format!("the database refused the values ({what})"),
            ),
            DbError::Connect(_) | DbError::Other(sqlx::Error::PoolTimedOut) => {
                tracing::warn!(error = %e, "database unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "Service unavailable",
                    "the database is not answering; try again shortly",
                )
            }
            other => {
                tracing::error!(error = %other, "database error in admin API");
                Self::internal()
            }
        }
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        Self::from_db(e, &[])
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(v: ValidationErrors) -> Self {
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            "Invalid request",
            v.summary(),
        );
        e.0.errors = v.0;
        e
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = serde_json::to_vec(&*self.0).unwrap_or_default();
        let mut resp = (status, body).into_response();
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(after) = self.0.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(after));
        }
        resp
    }
}

/// Router fallback: no route has this path.
pub async fn no_route() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no-route",
        "Not found",
        "no API operation has this path",
    )
}

/// Method fallback: the path exists but not with this method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "Method not allowed",
        "this path does not support the method",
    )
}
