//! netd's HTTP APIs on its unix socket: Docker's network API (versioned
//! `/v1.NN/…` and unversioned paths) and netd's sandbox API.
//!
//! Handlers only parse and answer; the [`Controller`] does the work, one
//! request at a time.

mod docker;
pub(crate) mod filters;
mod sandbox;

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;

use crate::controller::Controller;
use crate::error::NetdError;
use netd_api::types::ErrorResponse;

/// The Docker API version netd speaks (Docker 28).
pub(crate) const API_VERSION: &str = "1.50";
/// The oldest version it accepts, as Docker does.
pub(crate) const MIN_API_VERSION: &str = "1.24";

/// The shared controller.
pub(crate) type Shared = Arc<Mutex<Controller>>;

/// An error answered as Docker answers: its status and `{"message": …}`.
#[derive(Debug)]
pub(crate) struct ApiError(pub NetdError);

impl From<NetdError> for ApiError {
    fn from(e: NetdError) -> Self {
        Self(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.kind.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::error!(error = %self.0.chain(), "request failed");
        }
        let body = ErrorResponse {
            message: self.0.message,
        };
        (status, axum::Json(body)).into_response()
    }
}

/// Runs a change to the controller in a task of its own, holding the lock:
/// if the client hangs up, hyper drops the handler, but the change still
/// completes (or rolls back) instead of stopping between two steps.
pub(crate) async fn detached<T, F, Fut>(c: &Shared, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(tokio::sync::OwnedMutexGuard<Controller>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, NetdError>> + Send + 'static,
{
    let c = c.clone();
    tokio::spawn(async move { f(c.lock_owned().await).await })
        .await
        .map_err(|e| ApiError(NetdError::internal(format!("request task failed: {e}"))))?
        .map_err(ApiError)
}

/// Decodes a JSON body, answering 400 with the decoder's reason.
pub(crate) fn json_body<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(NetdError::invalid("invalid JSON: the request body is empty").into());
    }
    serde_json::from_slice(body)
        .map_err(|e| NetdError::invalid(format!("invalid JSON: {e}")).into())
}

/// Every route, unversioned.
pub(crate) fn router(state: Shared) -> Router {
    Router::new()
        .route("/_ping", get(docker::ping).head(docker::ping))
        .route("/version", get(docker::version))
        .route("/info", get(docker::info))
        .route("/networks", get(docker::list))
        .route("/networks/create", post(docker::create))
        .route("/networks/prune", post(docker::prune))
        .route(
            "/networks/{id}",
            get(docker::inspect).delete(docker::remove),
        )
        .route("/networks/{id}/connect", post(docker::connect))
        .route("/networks/{id}/disconnect", post(docker::disconnect))
        .route("/firewall/restore", post(restore_firewall))
        .route("/sandboxes", get(sandbox::list).post(sandbox::create))
        .route(
            "/sandboxes/{id}",
            get(sandbox::inspect).delete(sandbox::remove),
        )
        .fallback(|| async { ApiError(NetdError::not_found("page not found")) })
        .with_state(state)
}

/// `POST /firewall/restore`: rewrites netd's nftables tables from its store
/// (after someone flushed them, for example).
async fn restore_firewall(
    axum::extract::State(c): axum::extract::State<Shared>,
) -> Result<StatusCode, ApiError> {
    detached(&c, |c| async move { c.restore_firewall().await }).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Parses `1.NN` into a comparable pair.
fn parse_version(v: &str) -> Option<(u32, u32)> {
    let (a, b) = v.split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// Strips a `/v1.NN` prefix (refusing versions netd does not speak) so that
/// routing sees unversioned paths, and stamps Docker's API headers.
pub(crate) async fn versioning(mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    if let Some(rest) = path.strip_prefix("/v") {
        let (ver, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        if let Some(v) = parse_version(ver) {
            let max = parse_version(API_VERSION).expect("valid constant");
            let min = parse_version(MIN_API_VERSION).expect("valid constant");
            if v > max {
                return ApiError(NetdError::invalid(format!(
                    "client version {ver} is too new. Maximum supported API version is {API_VERSION}"
                )))
                .into_response();
            }
            if v < min {
                return ApiError(NetdError::invalid(format!(
                    "client version {ver} is too old. Minimum supported API version is {MIN_API_VERSION}, \
                     please upgrade your client to a newer version"
                )))
                .into_response();
            }
            let tail = if tail.is_empty() { "/" } else { tail };
            let new = match req.uri().query() {
                Some(q) => format!("{tail}?{q}"),
                None => tail.to_owned(),
            };
            if let Ok(uri) = new.parse() {
                *req.uri_mut() = uri;
            }
        }
    }
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert("Api-Version", HeaderValue::from_static(API_VERSION));
    h.insert("Ostype", HeaderValue::from_static("linux"));
    h.insert(
        header::SERVER,
        HeaderValue::from_static(concat!("netd/", env!("CARGO_PKG_VERSION"), " (linux)")),
    );
    resp
}

/// A plain-text answer.
pub(crate) fn text(status: StatusCode, body: &'static str) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-cache, no-store, must-revalidate")
        .header(header::PRAGMA, "no-cache")
        .body(Body::from(body))
        .expect("static response parts are valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_numerically() {
        assert!(parse_version("1.9") < parse_version("1.50"));
        assert_eq!(parse_version("x"), None);
    }
}
