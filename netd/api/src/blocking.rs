//! A blocking client of netd, for synchronous callers (the engine's
//! commands and its shim): the async [`Client`] driven by a runtime of its
//! own on the calling thread, so callers name no runtime at all.

use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::client::{Client as AsyncClient, ClientError};
use crate::types::{
    NetworkConnectRequest, NetworkCreateRequest, NetworkCreateResponse, NetworkDisconnectRequest,
    NetworkPruneResponse, NetworkResource, SandboxCreateRequest, SandboxResource,
};

/// A handle on one netd whose calls block until netd answers, or until the
/// optional deadline of each call passes.
#[derive(Debug)]
pub struct Client {
    inner: AsyncClient,
    runtime: tokio::runtime::Runtime,
    timeout: Option<Duration>,
}

/// One blocking method per async one, each the same call driven to its end.
macro_rules! blocking_calls {
    ($( $(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty; )*) => {
        $(
            $(#[$doc])*
            pub fn $name(&self, $($arg: $ty),*) -> Result<$ret, ClientError> {
                self.run(async |c| c.$name($($arg),*).await)
            }
        )*
    };
}

impl Client {
    /// A client for `host` (`unix:///path` or a plain path) whose calls
    /// wait as long as netd takes.
    pub fn new(host: &str) -> Result<Self, ClientError> {
        let inner = AsyncClient::new(host)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(ClientError::Runtime)?;
        Ok(Self {
            inner,
            runtime,
            timeout: None,
        })
    }

    /// The same client, each of whose calls gives up after `limit` with
    /// [`ClientError::Timeout`].
    #[must_use]
    pub fn with_timeout(mut self, limit: Duration) -> Self {
        self.timeout = Some(limit);
        self
    }

    /// The async client underneath (its socket, its encoders).
    pub fn inner(&self) -> &AsyncClient {
        &self.inner
    }

    /// Drives one call, or several in a row, to the end on this thread.
    pub fn run<T>(
        &self,
        f: impl AsyncFnOnce(&AsyncClient) -> Result<T, ClientError>,
    ) -> Result<T, ClientError> {
        let call = f(&self.inner);
        match self.timeout {
            None => self.runtime.block_on(call),
            Some(limit) => self
                .runtime
                .block_on(async { tokio::time::timeout(limit, call).await })
                .map_err(|_| ClientError::Timeout {
                    path: self.inner.socket().to_owned(),
                    limit,
                })?,
        }
    }

    /// `GET path`, decoded from JSON.
    pub fn get<R: DeserializeOwned>(&self, path: &str) -> Result<R, ClientError> {
        self.run(async |c| c.call::<(), R>(hyper::Method::GET, path, None).await)
    }

    blocking_calls! {
        /// `GET /_ping`.
        fn ping() -> ();
        /// `GET /networks`, with Docker's `filters` JSON.
        fn networks(filters: Option<&str>) -> Vec<NetworkResource>;
        /// `GET /networks/{id}`.
        fn network(id: &str) -> NetworkResource;
        /// `POST /networks/create`.
        fn network_create(req: &NetworkCreateRequest) -> NetworkCreateResponse;
        /// `DELETE /networks/{id}`.
        fn network_remove(id: &str) -> ();
        /// `POST /networks/{id}/connect`.
        fn network_connect(id: &str, req: &NetworkConnectRequest) -> ();
        /// `POST /networks/{id}/disconnect`.
        fn network_disconnect(id: &str, req: &NetworkDisconnectRequest) -> ();
        /// `POST /networks/prune`, with Docker's `filters` JSON.
        fn networks_prune(filters: Option<&str>) -> NetworkPruneResponse;
        /// `POST /sandboxes`.
        fn sandbox_create(req: &SandboxCreateRequest) -> SandboxResource;
        /// `GET /sandboxes/{id}`.
        fn sandbox(id: &str) -> SandboxResource;
        /// `GET /sandboxes`.
        fn sandboxes() -> Vec<SandboxResource>;
        /// `DELETE /sandboxes/{id}`.
        fn sandbox_remove(id: &str) -> ();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_netd_is_a_connect_error_naming_the_socket() {
        let sock = std::path::Path::new("/nonexistent/netd-api/absent.sock");
        let c = Client::new(&format!("unix://{}", sock.display())).unwrap();
        let e = c.ping().unwrap_err();
        assert!(matches!(e, ClientError::Connect { .. }), "{e:?}");
        assert!(e.to_string().contains("absent.sock"), "{e}");
    }

    #[test]
    fn a_silent_netd_times_out() {
        let dir = tempdir();
        let sock = dir.join("silent.sock");
        // A listener that accepts and never answers.
        let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let c = Client::new(sock.to_str().unwrap())
            .unwrap()
            .with_timeout(Duration::from_millis(50));
        let e = c.sandboxes().unwrap_err();
        assert!(matches!(e, ClientError::Timeout { .. }), "{e:?}");
        assert!(e.to_string().contains("did not answer in time"), "{e}");
        drop(listener);
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn tempdir() -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!(
            "netd-api-{}-{}",
            std::process::id(),
            crate::new_id()
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
