//! The daemon's life: start the controller, listen on the socket, stop on
//! SIGTERM or SIGINT. Links, addresses, routes and namespaces stay in place
//! while netd is down, so running containers keep their network.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use axum::ServiceExt as _;
use tokio::net::UnixListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::Mutex;
use tower::Layer as _;
use tracing::info;

use crate::api;
use crate::config::{Config, Paths};
use crate::controller::Controller;

/// What the command line decided.
#[derive(Debug, Clone)]
pub struct Options {
    /// The API socket.
    pub socket: PathBuf,
    /// Paths.
    pub paths: Paths,
    /// The configuration.
    pub config: Config,
    /// Group that may use the socket.
    pub group: Option<String>,
}

/// Parses `-H`: `unix:///path` (the only transport netd serves).
pub fn socket_path(host: &str) -> anyhow::Result<PathBuf> {
    match host.strip_prefix("unix://") {
        Some(p) if p.starts_with('/') => Ok(PathBuf::from(p)),
        _ => bail!("invalid -H {host}: netd listens on unix:///path/to/socket only"),
    }
}

/// Binds the socket, refusing to take it over from a live netd.
async fn bind(path: &Path, group: Option<&str>) -> anyhow::Result<UnixListener> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    if path.exists() {
        if tokio::net::UnixStream::connect(path).await.is_ok() {
            bail!("another netd is already listening on {}", path.display());
        }
        std::fs::remove_file(path)
            .with_context(|| format!("removing stale socket {}", path.display()))?;
    }
    let listener =
        UnixListener::bind(path).with_context(|| format!("listening on {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
        .with_context(|| format!("setting the mode of {}", path.display()))?;
    if let Some(g) = group {
        let gid = nix::unistd::Group::from_name(g)
            .with_context(|| format!("looking up group {g}"))?
            .with_context(|| format!("group {g} does not exist"))?
            .gid;
        nix::unistd::chown(path, None, Some(gid))
            .with_context(|| format!("giving {} to group {g}", path.display()))?;
    }
    Ok(listener)
}

/// Runs netd until SIGTERM or SIGINT.
pub async fn run(opts: Options) -> anyhow::Result<()> {
    let controller = Controller::start(opts.paths.clone(), opts.config.clone())
        .await
        .context("starting netd")?;
    let listener = bind(&opts.socket, opts.group.as_deref()).await?;
    let shared = Arc::new(Mutex::new(controller));
    let app = axum::middleware::from_fn(api::versioning).layer(api::router(shared));
    info!(socket = %opts.socket.display(), data_root = %opts.paths.data_root.display(), "netd ready");
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let stop = async move {
        tokio::select! {
            _ = term.recv() => info!("SIGTERM: stopping"),
            _ = int.recv() => info!("SIGINT: stopping"),
        }
    };
    axum::serve(listener, app.into_make_service())
        .with_graceful_shutdown(stop)
        .await
        .context("serving the API")?;
    let _ = std::fs::remove_file(&opts.socket);
    info!("netd stopped; networks stay in place");
    Ok(())
}
