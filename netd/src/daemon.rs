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
    /// Where to serve Docker's plugin protocols (`None`: nowhere).
    pub plugin_socket: Option<PathBuf>,
    /// The cgroup (v2) whose processes get published TCP ports translated
    /// at `connect()` (`None`: nowhere, DNAT only).
    pub connect_nat_cgroup: Option<PathBuf>,
}

/// Resolves `--connect-nat-cgroup`: `none`, `auto` (the root of the cgroup
/// v2 hierarchy, so every process of the host is covered; `None` when
/// there is no v2 hierarchy) or a cgroup's directory.
pub fn connect_nat_cgroup(arg: &str) -> Option<PathBuf> {
    match arg {
        "none" => None,
        "auto" => {
            let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
            cgroup2_root(&mounts)
        }
        path => Some(PathBuf::from(path)),
    }
}

/// The mount point of the whole cgroup v2 hierarchy in `mountinfo`.
fn cgroup2_root(mountinfo: &str) -> Option<PathBuf> {
    mountinfo.lines().find_map(|l| {
        let (left, right) = l.split_once(" - ")?;
        let f: Vec<&str> = left.split(' ').collect();
        let point = f.get(4)?;
        (right.starts_with("cgroup2 ") && f.get(3) == Some(&"/")).then(|| PathBuf::from(point))
    })
}

/// Attaches connect-time translation when asked, and keeps its map of the
/// host's addresses up to date. Without it (no eBPF, no cgroup v2), the
/// host's clients reach published ports through DNAT as everyone else.
async fn start_connect_nat(controller: &mut Controller, cgroup: Option<&Path>) {
    let Some(cgroup) = cgroup else {
        info!("connect-time translation is off: the host's clients use DNAT");
        return;
    };
    match drivers::connect_nat::ConnectNat::attach(cgroup) {
        Ok(nat) => {
            if let Err(e) = drivers::connect_nat::locals::watch(nat.clone()).await {
                tracing::warn!(error = %e, "connect-time translation stays off");
                return;
            }
            controller.set_connect_nat(nat);
        }
        Err(e) => {
            tracing::warn!(error = %e, "connect-time translation is unavailable: the host's clients use DNAT");
        }
    }
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

/// Takes an exclusive lock on `EXEC_ROOT/netd.lock` for netd's lifetime.
fn lock_exec_root(exec_root: &Path) -> anyhow::Result<std::fs::File> {
    std::fs::create_dir_all(exec_root)
        .with_context(|| format!("creating {}", exec_root.display()))?;
    let path = exec_root.join("netd.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    // SAFETY: flock on a descriptor this function owns.
    let rc = unsafe {
        libc::flock(
            std::os::fd::AsRawFd::as_raw_fd(&file),
            libc::LOCK_EX | libc::LOCK_NB,
        )
    };
    if rc != 0 {
        bail!(
            "another netd is already running on the exec root {} (its lock {} is held)",
            exec_root.display(),
            path.display()
        );
    }
    Ok(file)
}

/// Restores netd's firewall tables when they disappear (another program
/// flushed the ruleset) and on SIGHUP.
fn watch_firewall(shared: Arc<Mutex<Controller>>) {
    tokio::spawn(async move {
        let mut hup = match signal(SignalKind::hangup()) {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(error = %e, "no SIGHUP handler: restore the firewall with POST /firewall/restore");
                return;
            }
        };
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(2));
        loop {
            tokio::select! {
                _ = hup.recv() => {
                    info!("SIGHUP: rewriting the firewall tables");
                    if let Err(e) = shared.lock().await.restore_firewall().await {
                        tracing::error!(error = %e, "could not restore the firewall tables");
                    }
                }
                _ = tick.tick() => {
                    let mut c = shared.lock().await;
                    if let Err(e) = c.check_firewall().await {
                        tracing::error!(error = %e, "could not restore the firewall tables");
                    }
                    // A changed host resolv.conf reaches the DNS forwarders.
                    c.refresh_upstreams();
                }
            }
        }
    });
}

/// Runs netd until SIGTERM or SIGINT.
pub async fn run(opts: Options) -> anyhow::Result<()> {
    // One netd per exec root (and so per set of namespace files and links):
    // a second one must stop before it reconciles anything.
    let _lock = lock_exec_root(&opts.paths.exec_root)?;
    if opts.socket.exists() && tokio::net::UnixStream::connect(&opts.socket).await.is_ok() {
        bail!(
            "another netd is already listening on {}",
            opts.socket.display()
        );
    }
    let mut controller = Controller::start(opts.paths.clone(), opts.config.clone())
        .await
        .context("starting netd")?;
    start_connect_nat(&mut controller, opts.connect_nat_cgroup.as_deref()).await;
    let listener = bind(&opts.socket, opts.group.as_deref()).await?;
    let plugin_listener = match &opts.plugin_socket {
        Some(path) => Some(bind(path, opts.group.as_deref()).await?),
        None => None,
    };
    let owner_events = controller.take_owner_events();
    let shared = Arc::new(Mutex::new(controller));
    watch_firewall(shared.clone());
    if let Some(events) = owner_events {
        crate::controller::owner::collect(shared.clone(), events);
    }
    let plugin_server = plugin_listener.map(|l| {
        let app = crate::plugin::router(shared.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(l, app.into_make_service()).await {
                tracing::error!(error = %e, "the plugin socket failed");
            }
        })
    });
    if let Some(p) = &opts.plugin_socket {
        info!(socket = %p.display(), "serving Docker's network and IPAM plugin protocols");
    }
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
    if let Some(server) = plugin_server {
        server.abort();
    }
    let _ = std::fs::remove_file(&opts.socket);
    if let Some(p) = &opts.plugin_socket {
        let _ = std::fs::remove_file(p);
    }
    info!("netd stopped; networks stay in place");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cgroup2_root_is_found_on_hybrid_and_unified_hosts() {
        let hybrid = "31 25 0:27 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755\n\
                      32 31 0:28 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n\
                      33 31 0:29 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";
        assert_eq!(
            cgroup2_root(hybrid),
            Some(PathBuf::from("/sys/fs/cgroup/unified"))
        );
        let unified = "30 24 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
        assert_eq!(cgroup2_root(unified), Some(PathBuf::from("/sys/fs/cgroup")));
        // A bind mount of a sub-cgroup is not the whole hierarchy.
        let sub = "40 24 0:26 /system.slice /mnt/cg rw - cgroup2 cgroup2 rw\n";
        assert_eq!(cgroup2_root(sub), None);
        assert_eq!(connect_nat_cgroup("none"), None);
        assert_eq!(connect_nat_cgroup("/x/y"), Some(PathBuf::from("/x/y")));
    }
}
