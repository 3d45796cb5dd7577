//! `GET /whoami`: the caller as the API sees it.

use axum::Json;

use crate::api::caller::Caller;

pub async fn get(caller: Caller) -> Json<Caller> {
    Json(caller)
}
