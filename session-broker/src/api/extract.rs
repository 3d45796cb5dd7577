//! Request extractors whose rejections are problem documents naming the offending field:
//! JSON bodies, query strings and UUID path parameters.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::problem::ApiError;
use crate::model::PageRequest;
use crate::model::page::{DEFAULT_LIMIT, MAX_LIMIT};

/// Turns a serde error at `path` into (field, reason). A missing field is reported at the
/// parent's path with the field's name in backticks.
fn field_of(path: &str, message: &str) -> (String, String) {
    let named = ["unknown field `", "missing field `"]
        .iter()
        .find_map(|p| message.strip_prefix(p))
        .and_then(|rest| rest.split('`').next());
    let field = match (named, path) {
        (Some(name), "." | "") => name.to_owned(),
        // serde_path_to_error already ends the path with an unknown field's name.
        (Some(name), p) if p == name || p.ends_with(&format!(".{name}")) => p.to_owned(),
        (Some(name), parent) => format!("{parent}.{name}"),
        (None, "." | "") => "body".to_owned(),
        (None, p) => p.to_owned(),
    };
    // serde_json appends " at line L column C"; the field says where already.
    let reason = message
        .rsplit_once(" at line ")
        .map_or(message, |(m, _)| m)
        .to_owned();
    (field, reason)
}

/// A JSON request body (`Content-Type: application/json`).
#[derive(Debug)]
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                let v = v.trim();
                v.eq_ignore_ascii_case("application/json")
            });
        if !json {
            return Err(ApiError::new(
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                "send the body as application/json",
            )
            .with_field("content-type", "must be application/json"));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::bad_request("body", e.body_text()))?;
        // serde would accept an array for a struct; every body of this API is an object.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(ApiError::bad_request("body", "must be a JSON object"));
        }
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(de).map_err(|e| {
            let (field, reason) = field_of(&e.path().to_string(), &e.inner().to_string());
            ApiError::bad_request(&field, reason)
        })?;
        Ok(Self(value))
    }
}

/// Query-string parameters; unknown parameters are refused when `T` denies them.
#[derive(Debug)]
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        let value = serde_path_to_error::deserialize(de).map_err(|e| {
            let (field, reason) = field_of(&e.path().to_string(), &e.inner().to_string());
            ApiError::bad_request(&field, reason)
        })?;
        Ok(Self(value))
    }
}

/// Checks `limit` (1..=500, default 100) and packs it with the cursor.
pub fn page(limit: Option<u32>, cursor: Option<Uuid>) -> Result<PageRequest, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}"),
        ));
    }
    Ok(PageRequest { limit, cursor })
}

/// The UUID path parameters of a route (`{id}`, `{user_id}`), each checked.
#[derive(Debug)]
pub struct Ids(Vec<(String, Uuid)>);

impl Ids {
    /// The single (or first) id.
    pub fn id(&self) -> Uuid {
        self.0.first().map(|(_, id)| *id).unwrap_or_default()
    }

    pub fn get(&self, name: &str) -> Uuid {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, id)| *id)
            .unwrap_or_default()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Ids {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let raw = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::bad_request("path", e.body_text()))?;
        let mut ids = Vec::new();
        for (name, value) in &raw {
            let id = Uuid::parse_str(value)
                .map_err(|_| ApiError::bad_request(name, "must be a UUID"))?;
            ids.push((name.to_owned(), id));
        }
        Ok(Self(ids))
    }
}
