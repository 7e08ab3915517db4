//! One repository's registry over the OCI distribution API: a blocking
//! HTTP client (`ureq`; each layer's pipeline runs on a thread of its
//! own) that authenticates as the registry asks (Basic, or Docker's
//! Bearer token flow, fetching a new token when a 401 arrives in the
//! middle of an operation) and retries idempotent requests on 5xx answers
//! and broken connections.
//!
//! Registries on loopback are spoken to over plain HTTP, as dockerd does;
//! others over HTTPS, trusting the system's CAs and, as Docker does, the
//! `ca.crt` files of `certs.d/HOST:PORT/`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ureq::http::{self, Method, Response};
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};
use ureq::{Agent, Body};

use super::auth::{Challenge, Credentials, TokenResponse, repository_scope, token_url};
use super::error::{RegistryError, Result};
use crate::image::reference::DEFAULT_DOMAIN;

/// Where Docker Hub's registry API is.
const DOCKER_HUB_API: &str = "registry-1.docker.io";
/// The system's CA bundle (Debian's).
const SYSTEM_CAS: &str = "/etc/ssl/certs/ca-certificates.crt";
/// Where berth looks for registries' CAs, after `$BERTH_CERTS_D`.
const CERTS_DIRS: [&str; 2] = ["/etc/berth/certs.d", "/etc/docker/certs.d"];
/// How often an idempotent request is tried.
const ATTEMPTS: u32 = 4;
/// The largest manifest or JSON document read (the distribution spec
/// says registries may refuse manifests over 4 MiB).
const DOCUMENT_LIMIT: u64 = 8 << 20;

/// What a request sends.
#[derive(Debug, Clone, Copy)]
pub enum Payload<'a> {
    /// Nothing.
    Empty,
    /// These bytes.
    Bytes(&'a [u8]),
    /// The content of this file (opened again for a retry).
    File(&'a Path),
}

/// A client for one repository of one registry.
#[derive(Debug, Clone)]
pub struct Client {
    agent: Agent,
    base: String,
    repository: String,
    actions: &'static str,
    credentials: Option<Credentials>,
    authorization: Arc<Mutex<Option<String>>>,
}

/// The base URL of `domain`'s registry API (without `/v2/`).
pub fn base_url(domain: &str) -> String {
    if domain == DEFAULT_DOMAIN {
        return format!("https://{DOCKER_HUB_API}");
    }
    let scheme = if is_loopback(domain) { "http" } else { "https" };
    format!("{scheme}://{domain}")
}

/// Whether `domain` (`host[:port]`) is on loopback: `localhost`,
/// 127.0.0.0/8 or `[::1]`.
pub fn is_loopback(domain: &str) -> bool {
    let host = match domain.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(rest),
        None => domain.split(':').next().unwrap_or(domain),
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The CA certificates a connection to `domain` trusts: the system's and
/// those of `certs.d/DOMAIN/*.crt`.
fn trusted_cas(domain: &str) -> Vec<Certificate<'static>> {
    let mut files = vec![PathBuf::from(SYSTEM_CAS)];
    let dirs = std::env::var_os("BERTH_CERTS_D")
        .map(PathBuf::from)
        .into_iter()
        .chain(CERTS_DIRS.iter().map(PathBuf::from));
    for dir in dirs {
        if let Ok(entries) = std::fs::read_dir(dir.join(domain)) {
            files.extend(
                entries
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|e| e == "crt")),
            );
        }
    }
    let mut cas = Vec::new();
    for file in files {
        let Ok(pem) = std::fs::read(&file) else {
            continue;
        };
        for item in ureq::tls::parse_pem(&pem).flatten() {
            if let PemItem::Certificate(cert) = item {
                cas.push(cert);
            }
        }
    }
    cas
}

/// An agent for `domain`: status codes are answers, not errors;
/// credentials never follow a redirect to another host.
fn agent(domain: &str) -> Agent {
    let mut config = Agent::config_builder()
        .http_status_as_error(false)
        .user_agent(concat!("berth/", env!("CARGO_PKG_VERSION")))
        .timeout_connect(Some(Duration::from_secs(15)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .max_idle_connections_per_host(16);
    if !is_loopback(domain) {
        let cas = trusted_cas(domain);
        config = config.tls_config(
            TlsConfig::builder()
                .root_certs(RootCerts::new_with_certs(&cas))
                .build(),
        );
    }
    config.build().into()
}

impl Client {
    /// A client for `repository` on `domain`, for `actions` (`pull` or
    /// `pull,push`), with the user's `credentials` for that registry.
    pub fn new(
        domain: &str,
        repository: &str,
        actions: &'static str,
        credentials: Option<Credentials>,
    ) -> Self {
        Self {
            agent: agent(domain),
            base: base_url(domain),
            repository: repository.to_owned(),
            actions,
            credentials,
            authorization: Arc::new(Mutex::new(None)),
        }
    }

    /// The repository's URL for `path` (`manifests/latest`, `blobs/…`).
    pub fn url(&self, path: &str) -> String {
        format!("{}/v2/{}/{path}", self.base, self.repository)
    }

    /// The registry's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `location` (an upload's `Location`) as an absolute URL.
    pub fn absolute(&self, location: &str) -> String {
        if location.starts_with("http://") || location.starts_with("https://") {
            location.to_owned()
        } else {
            format!("{}{location}", self.base)
        }
    }

    /// Sends a request, authenticating when the registry asks (once per
    /// request) and retrying GET and HEAD on 5xx and broken connections.
    pub fn send(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        payload: Payload<'_>,
    ) -> Result<Response<Body>> {
        let idempotent = method == Method::GET || method == Method::HEAD;
        let mut authenticated = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = self.send_once(&method, url, headers, payload);
            let retry = match &result {
                Ok(r) if r.status() == http::StatusCode::UNAUTHORIZED && !authenticated => {
                    authenticated = true;
                    self.authenticate(r, url)?;
                    continue;
                }
                Ok(r) => r.status().is_server_error(),
                Err(_) => true,
            };
            if !(retry && idempotent && attempt < ATTEMPTS) {
                return result;
            }
            std::thread::sleep(Duration::from_millis(100 << attempt));
        }
    }

    fn send_once(
        &self,
        method: &Method,
        url: &str,
        headers: &[(&str, &str)],
        payload: Payload<'_>,
    ) -> Result<Response<Body>> {
        let mut request = http::Request::builder().method(method.clone()).uri(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let auth = self
            .authorization
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(auth) = auth {
            request = request.header("Authorization", auth);
        }
        let transport = |reason: String| RegistryError::Transport {
            url: url.to_owned(),
            reason,
        };
        let sent = match payload {
            Payload::Empty => {
                let request = request.body(()).map_err(|e| transport(e.to_string()))?;
                self.agent.run(request)
            }
            Payload::Bytes(bytes) => {
                let request = request.body(bytes).map_err(|e| transport(e.to_string()))?;
                self.agent.run(request)
            }
            Payload::File(path) => {
                let file = std::fs::File::open(path).map_err(RegistryError::io("open", path))?;
                let request = request.body(file).map_err(|e| transport(e.to_string()))?;
                self.agent.run(request)
            }
        };
        sent.map_err(|e| transport(describe(&e, url)))
    }

    /// Answers the challenge of the 401 `response` to `url`: Basic with
    /// the user's credentials, or a Bearer token for this repository.
    fn authenticate(&self, response: &Response<Body>, url: &str) -> Result<()> {
        let header = response
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let value = match Challenge::parse(header) {
            Some(Challenge::Basic) => match &self.credentials {
                Some(c) => c.basic(),
                None => {
                    return Err(RegistryError::Unauthorized(format!(
                        "authentication required for {url}"
                    )));
                }
            },
            Some(Challenge::Bearer { realm, service, .. }) => {
                let scope = repository_scope(&self.repository, self.actions);
                let token = self.fetch_token(&realm, service.as_deref(), Some(&scope))?;
                format!("Bearer {token}")
            }
            None => {
                return Err(RegistryError::Unauthorized(format!(
                    "{url} asks for an unsupported authentication ({header:?})"
                )));
            }
        };
        *self
            .authorization
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(value);
        Ok(())
    }

    /// A token from `realm` for `scope`, sent the user's credentials.
    pub fn fetch_token(
        &self,
        realm: &str,
        service: Option<&str>,
        scope: Option<&str>,
    ) -> Result<String> {
        let url = token_url(realm, service, scope);
        let mut request = self.agent.get(&url);
        if let Some(c) = &self.credentials {
            request = request.header("Authorization", c.basic());
        }
        let mut response = request.call().map_err(|e| RegistryError::Transport {
            url: url.clone(),
            reason: describe(&e, &url),
        })?;
        if response.status() == http::StatusCode::UNAUTHORIZED
            || response.status() == http::StatusCode::FORBIDDEN
        {
            return Err(RegistryError::Unauthorized(
                "incorrect username or password".to_owned(),
            ));
        }
        let body = read_document(&mut response, "token", &url)?;
        serde_json::from_slice::<TokenResponse>(&body)
            .ok()
            .and_then(TokenResponse::into_token)
            .ok_or_else(|| RegistryError::Invalid {
                what: format!("token from {realm}"),
                reason: "no token in the answer".to_owned(),
            })
    }
}

/// Reads a JSON document (manifest, token) of at most [`DOCUMENT_LIMIT`],
/// refusing an error status.
pub fn read_document(response: &mut Response<Body>, what: &str, url: &str) -> Result<Vec<u8>> {
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(DOCUMENT_LIMIT)
        .read_to_vec()
        .map_err(|e| RegistryError::Transport {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
    if !(200..300).contains(&status) {
        return Err(RegistryError::Status {
            what: what.to_owned(),
            url: url.to_owned(),
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
        });
    }
    Ok(body)
}

/// The error body of a failed answer, for messages (what can be read of
/// it, short).
pub fn error_body(response: &mut Response<Body>) -> String {
    let mut body = String::new();
    let _ = response
        .body_mut()
        .as_reader()
        .take(4096)
        .read_to_string(&mut body);
    body
}

/// A header of `response`, as text.
pub fn header<'a>(response: &'a Response<Body>, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The client's error worded for users; TLS failures say what to do.
fn describe(err: &ureq::Error, url: &str) -> String {
    let text = err.to_string();
    if matches!(err, ureq::Error::Tls(_) | ureq::Error::Rustls(_)) || text.contains("certificate") {
        let host = url.split('/').nth(2).unwrap_or(url);
        return format!(
            "tls: failed to verify certificate: {text} (to trust the registry's CA, \
             put it in /etc/berth/certs.d/{host}/ca.crt)"
        );
    }
    text
}

/// A body as a reader that owns it, for the pipelines.
pub fn into_reader(response: Response<Body>) -> impl Read + Send + 'static {
    response.into_body().into_reader()
}
