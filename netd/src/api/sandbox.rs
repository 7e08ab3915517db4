//! netd's sandbox API, for the engine.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{ApiError, Shared, detached, json_body};
use netd_api::types::{SandboxCreateRequest, SandboxResource};

/// `POST /sandboxes`: creates the namespace and files; answers 201 with the
/// sandbox (its `SandboxKey`, `ResolvConfPath` and `HostsPath`).
pub(super) async fn create(State(c): State<Shared>, body: Bytes) -> Result<Response, ApiError> {
    let req: SandboxCreateRequest = json_body(&body)?;
    let s = detached(&c, move |mut c| async move { c.create_sandbox(req).await }).await?;
    Ok((StatusCode::CREATED, Json(s)).into_response())
}

/// `GET /sandboxes`.
pub(super) async fn list(State(c): State<Shared>) -> Json<Vec<SandboxResource>> {
    Json(c.lock().await.list_sandboxes())
}

/// `GET /sandboxes/{id}`.
pub(super) async fn inspect(
    State(c): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<SandboxResource>, ApiError> {
    Ok(Json(c.lock().await.sandbox_view(&id)?))
}

/// `DELETE /sandboxes/{id}`.
pub(super) async fn remove(
    State(c): State<Shared>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    detached(&c, move |mut c| async move { c.remove_sandbox(&id).await }).await?;
    Ok(StatusCode::NO_CONTENT)
}
