//! A client for netd's API over its unix socket, for the engine and the CLI.
//!
//! Speaks HTTP/1.1 on one connection per request (netd's socket is local;
//! a connection costs microseconds). Errors from netd come back as
//! [`ClientError::Api`] with Docker's status code and message.

use std::path::{Path, PathBuf};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::net::UnixStream;

use crate::types::{
    ErrorResponse, NetworkConnectRequest, NetworkCreateRequest, NetworkCreateResponse,
    NetworkDisconnectRequest, NetworkPruneResponse, NetworkResource, SandboxCreateRequest,
    SandboxResource,
};

/// The default socket, as `-H` and `NETD_HOST` default to.
pub const DEFAULT_HOST: &str = "unix:///run/netd/netd.sock";

/// What can go wrong talking to netd.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The host is not `unix://PATH` or a path.
    #[error("invalid netd host {0}: expected unix:///path/to/socket")]
    BadHost(String),
    /// netd is not listening there.
    #[error(
        "Cannot connect to netd at unix://{}. Is netd running? ({source})",
        path.display()
    )]
    Connect {
        /// The socket.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The HTTP exchange failed.
    #[error("talking to netd: {0}")]
    Http(#[from] hyper::Error),
    /// netd answered with an error.
    #[error("{message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// netd's message.
        message: String,
    },
    /// netd's answer did not decode.
    #[error("decoding netd's answer: {0}")]
    Decode(#[from] serde_json::Error),
    /// A blocking client's runtime could not be made.
    #[error("starting a runtime for netd's client: {0}")]
    Runtime(#[source] std::io::Error),
    /// netd took longer than the blocking client's deadline.
    #[error("netd at unix://{} did not answer in time", path.display())]
    Timeout {
        /// The socket.
        path: PathBuf,
        /// The deadline that passed.
        limit: std::time::Duration,
    },
}

impl ClientError {
    /// The HTTP status of an API error.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A handle on one netd.
#[derive(Debug, Clone)]
pub struct Client {
    socket: PathBuf,
}

/// Percent-encodes a query value.
pub fn encode_query(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

impl Client {
    /// A client for `host`: `unix:///path` or a plain path.
    pub fn new(host: &str) -> Result<Self, ClientError> {
        let path = match host.strip_prefix("unix://") {
            Some(p) => p,
            None if host.starts_with('/') => host,
            None => return Err(ClientError::BadHost(host.to_owned())),
        };
        if path.is_empty() {
            return Err(ClientError::BadHost(host.to_owned()));
        }
        Ok(Self {
            socket: PathBuf::from(path),
        })
    }

    /// The socket path.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Sends one request and returns the status and body.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(StatusCode, Bytes), ClientError> {
        let stream =
            UnixStream::connect(&self.socket)
                .await
                .map_err(|source| ClientError::Connect {
                    path: self.socket.clone(),
                    source,
                })?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, "netd");
        if body.is_some() {
            req = req.header(hyper::header::CONTENT_TYPE, "application/json");
        }
        let req = req
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .expect("method, uri and headers are valid");
        let resp = sender.send_request(req).await?;
        let status = resp.status();
        let bytes = resp.into_body().collect().await?.to_bytes();
        Ok((status, bytes))
    }

    /// Sends a request and decodes a JSON answer, turning error statuses into
    /// [`ClientError::Api`].
    pub async fn call<B: Serialize, R: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<R, ClientError> {
        let body = body.map(serde_json::to_vec).transpose()?;
        let (status, bytes) = self.raw(method, path, body).await?;
        check(status, &bytes)?;
        let bytes = if bytes.is_empty() {
            Bytes::from_static(b"null")
        } else {
            bytes
        };
        Ok(serde_json::from_slice(&bytes)?)
    }

    async fn call_empty<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<(), ClientError> {
        let body = body.map(serde_json::to_vec).transpose()?;
        let (status, bytes) = self.raw(method, path, body).await?;
        check(status, &bytes)
    }

    /// `GET /_ping`.
    pub async fn ping(&self) -> Result<(), ClientError> {
        let (status, bytes) = self.raw(Method::GET, "/_ping", None).await?;
        check(status, &bytes)
    }

    /// `GET /networks`, with Docker's `filters` JSON (`{"name":["x"]}`).
    pub async fn networks(
        &self,
        filters: Option<&str>,
    ) -> Result<Vec<NetworkResource>, ClientError> {
        let path = match filters {
            Some(f) => format!("/networks?filters={}", encode_query(f)),
            None => "/networks".to_owned(),
        };
        self.call::<(), _>(Method::GET, &path, None).await
    }

    /// `GET /networks/{id}`.
    pub async fn network(&self, id: &str) -> Result<NetworkResource, ClientError> {
        self.call::<(), _>(
            Method::GET,
            &format!("/networks/{}", encode_query(id)),
            None,
        )
        .await
    }

    /// `POST /networks/create`.
    pub async fn network_create(
        &self,
        req: &NetworkCreateRequest,
    ) -> Result<NetworkCreateResponse, ClientError> {
        self.call(Method::POST, "/networks/create", Some(req)).await
    }

    /// `DELETE /networks/{id}`.
    pub async fn network_remove(&self, id: &str) -> Result<(), ClientError> {
        self.call_empty::<()>(
            Method::DELETE,
            &format!("/networks/{}", encode_query(id)),
            None,
        )
        .await
    }

    /// `POST /networks/{id}/connect`.
    pub async fn network_connect(
        &self,
        id: &str,
        req: &NetworkConnectRequest,
    ) -> Result<(), ClientError> {
        self.call_empty(
            Method::POST,
            &format!("/networks/{}/connect", encode_query(id)),
            Some(req),
        )
        .await
    }

    /// `POST /networks/{id}/disconnect`.
    pub async fn network_disconnect(
        &self,
        id: &str,
        req: &NetworkDisconnectRequest,
    ) -> Result<(), ClientError> {
        self.call_empty(
            Method::POST,
            &format!("/networks/{}/disconnect", encode_query(id)),
            Some(req),
        )
        .await
    }

    /// `POST /networks/prune`.
    pub async fn networks_prune(
        &self,
        filters: Option<&str>,
    ) -> Result<NetworkPruneResponse, ClientError> {
        let path = match filters {
            Some(f) => format!("/networks/prune?filters={}", encode_query(f)),
            None => "/networks/prune".to_owned(),
        };
        self.call::<(), _>(Method::POST, &path, None).await
    }

    /// `POST /sandboxes`.
    pub async fn sandbox_create(
        &self,
        req: &SandboxCreateRequest,
    ) -> Result<SandboxResource, ClientError> {
        self.call(Method::POST, "/sandboxes", Some(req)).await
    }

    /// `GET /sandboxes/{id}`.
    pub async fn sandbox(&self, id: &str) -> Result<SandboxResource, ClientError> {
        self.call::<(), _>(
            Method::GET,
            &format!("/sandboxes/{}", encode_query(id)),
            None,
        )
        .await
    }

    /// `GET /sandboxes`.
    pub async fn sandboxes(&self) -> Result<Vec<SandboxResource>, ClientError> {
        self.call::<(), _>(Method::GET, "/sandboxes", None).await
    }

    /// `DELETE /sandboxes/{id}`.
    pub async fn sandbox_remove(&self, id: &str) -> Result<(), ClientError> {
        self.call_empty::<()>(
            Method::DELETE,
            &format!("/sandboxes/{}", encode_query(id)),
            None,
        )
        .await
    }
}

/// Turns an error status into [`ClientError::Api`] with netd's message.
fn check(status: StatusCode, body: &[u8]) -> Result<(), ClientError> {
    if status.is_success() {
        return Ok(());
    }
    let message = serde_json::from_slice::<ErrorResponse>(body)
        .map(|e| e.message)
        .unwrap_or_else(|_| String::from_utf8_lossy(body).trim().to_owned());
    Err(ClientError::Api {
        status: status.as_u16(),
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_forms() {
        assert_eq!(
            Client::new("unix:///run/x.sock").unwrap().socket(),
            Path::new("/run/x.sock")
        );
        assert_eq!(
            Client::new("/run/x.sock").unwrap().socket(),
            Path::new("/run/x.sock")
        );
        assert!(Client::new("tcp://1.2.3.4:2375").is_err());
        assert!(Client::new("unix://").is_err());
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(
            encode_query(r#"{"name":["a b"]}"#),
            "%7B%22name%22%3A%5B%22a%20b%22%5D%7D"
        );
    }

    #[test]
    fn error_bodies_become_api_errors() {
        let e = check(
            StatusCode::NOT_FOUND,
            br#"{"message":"network x not found"}"#,
        )
        .unwrap_err();
        assert_eq!(e.status(), Some(404));
        assert_eq!(e.to_string(), "network x not found");
        let e = check(StatusCode::BAD_REQUEST, b"plain text\n").unwrap_err();
        assert_eq!(e.to_string(), "plain text");
    }
}
