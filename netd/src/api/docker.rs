//! Docker's network API handlers.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::filters::Filters;
use super::{API_VERSION, ApiError, MIN_API_VERSION, Shared, detached, json_body, text};
use crate::controller::NETWORK_FILTERS;
use netd_api::types::{
    NetworkConnectRequest, NetworkCreateRequest, NetworkCreateResponse, NetworkDisconnectRequest,
    NetworkPruneResponse, NetworkResource,
};

type Params = Query<HashMap<String, String>>;

/// `GET|HEAD /_ping`.
pub(super) async fn ping() -> Response {
    text(StatusCode::OK, "OK")
}

/// `GET /version`.
pub(super) async fn version() -> Json<Value> {
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let v = env!("CARGO_PKG_VERSION");
    Json(json!({
        "Platform": {"Name": "netd"},
        "Components": [{"Name": "netd", "Version": v, "Details": {"ApiVersion": API_VERSION}}],
        "Version": v,
        "ApiVersion": API_VERSION,
        "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": "",
        "GoVersion": "",
        "Os": "linux",
        "Arch": std::env::consts::ARCH,
        "KernelVersion": kernel.trim(),
        "BuildTime": "",
    }))
}

/// `GET /info`: the fields that make sense for a network daemon.
pub(super) async fn info(State(c): State<Shared>) -> Json<Value> {
    let (networks, sandboxes, endpoints) = c.lock().await.counts();
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    Json(json!({
        "ID": "",
        "Containers": sandboxes,
        "ContainersRunning": sandboxes,
        "ContainersPaused": 0,
        "ContainersStopped": 0,
        "Images": 0,
        "Name": name.trim(),
        "ServerVersion": env!("CARGO_PKG_VERSION"),
        "OperatingSystem": "linux",
        "OSType": "linux",
        "Architecture": std::env::consts::ARCH,
        "Plugins": {"Network": ["bridge", "host", "null"], "Volume": [], "Log": []},
        "Netd": {"Networks": networks, "Sandboxes": sandboxes, "Endpoints": endpoints},
    }))
}

/// `GET /networks`.
pub(super) async fn list(
    State(c): State<Shared>,
    Query(q): Params,
) -> Result<Json<Vec<NetworkResource>>, ApiError> {
    let filters = Filters::parse(q.get("filters").map(String::as_str), NETWORK_FILTERS)?;
    Ok(Json(c.lock().await.list_networks(&filters)?))
}

/// `GET /networks/{id}`.
pub(super) async fn inspect(
    State(c): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<NetworkResource>, ApiError> {
    let c = c.lock().await;
    let n = c.find_network(&id)?;
    Ok(Json(c.network_resource(n, true)))
}

/// `POST /networks/create`.
pub(super) async fn create(State(c): State<Shared>, body: Bytes) -> Result<Response, ApiError> {
    let req: NetworkCreateRequest = json_body(&body)?;
    let resp: NetworkCreateResponse =
        detached(&c, move |mut c| async move { c.create_network(req).await }).await?;
    Ok((StatusCode::CREATED, Json(resp)).into_response())
}

/// `DELETE /networks/{id}`.
pub(super) async fn remove(
    State(c): State<Shared>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    detached(&c, move |mut c| async move { c.remove_network(&id).await }).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /networks/{id}/connect`.
pub(super) async fn connect(
    State(c): State<Shared>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let req: NetworkConnectRequest = json_body(&body)?;
    detached(&c, move |mut c| async move {
        c.connect(&id, &req.container, req.endpoint_config.unwrap_or_default())
            .await
    })
    .await?;
    Ok(StatusCode::OK)
}

/// `POST /networks/{id}/disconnect`.
pub(super) async fn disconnect(
    State(c): State<Shared>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let req: NetworkDisconnectRequest = json_body(&body)?;
    c.lock()
        .await
        .disconnect(&id, &req.container, req.force)
        .await?;
    Ok(StatusCode::OK)
}

/// `POST /networks/prune`.
pub(super) async fn prune(
    State(c): State<Shared>,
    Query(q): Params,
) -> Result<Json<NetworkPruneResponse>, ApiError> {
    let filters = Filters::parse(
        q.get("filters").map(String::as_str),
        crate::controller::PRUNE_FILTERS,
    )?;
    let networks_deleted = detached(
        &c,
        move |mut c| async move { c.prune_networks(&filters).await },
    )
    .await?;
    Ok(Json(NetworkPruneResponse { networks_deleted }))
}
