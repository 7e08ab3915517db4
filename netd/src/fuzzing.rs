//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`): netd's
//! two HTTP APIs, whole (routing, body and query parsing, validation, the
//! controller's operations), over a controller whose kernel is the
//! recording fake, so that a fuzzer can drive them without privileges.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use tokio::sync::Mutex;
use tower::ServiceExt as _;

/// A controller over the fake kernel in a directory of its own, with both
/// routers, answering one request at a time.
#[derive(Debug)]
pub struct Harness {
    runtime: tokio::runtime::Runtime,
    api: Router,
    plugin: Router,
    _dir: tempfile::TempDir,
}

impl Harness {
    /// A fresh netd (its predefined networks made) in a temporary directory.
    ///
    /// # Panics
    /// When the temporary directory, the runtime or the store cannot be
    /// made: the fuzz target cannot run at all then.
    pub fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let (dir, _fake, controller) = runtime.block_on(crate::controller::fake::controller());
        let shared = Arc::new(Mutex::new(controller));
        Self {
            api: crate::api::router(shared.clone()),
            plugin: crate::plugin::router(shared),
            runtime,
            _dir: dir,
        }
    }

    /// Sends one request to the Docker/sandbox API (`plugin` false) or the
    /// plugin API; the answer's status, or `None` for a request that
    /// cannot even be built (an invalid method or URI).
    pub fn request(&self, plugin: bool, method: &str, uri: &str, body: &[u8]) -> Option<u16> {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json")
            .body(Body::from(body.to_vec()))
            .ok()?;
        let router = if plugin { &self.plugin } else { &self.api };
        let resp = self
            .runtime
            .block_on(router.clone().oneshot(req))
            .expect("routers are infallible");
        Some(resp.status().as_u16())
    }
}

impl Default for Harness {
    fn default() -> Self {
        Self::new()
    }
}
