//! A run's network, as the shim sets it up: another container's sandbox
//! joined (`--network container:`), a sandbox of netd's made for the run,
//! or a private namespace with no netd at all (see
//! [`network::is_private`]).

use std::path::{Path, PathBuf};

use crate::container::error::{ContainerError, Result};
pub(super) use crate::container::network::Netd;
use crate::container::network::{self, Attached};
use crate::container::record::{Container, NetworkSettings, Status};
use crate::container::store::Containers;
use crate::spec::build::NetworkNamespace;

/// Whether the container's network is a netd sandbox of its own (not
/// another container's, and not a private one, see [`network::is_private`]).
pub fn uses_netd_sandbox(c: &Container) -> bool {
    !c.host_config.network_mode.starts_with("container:") && !network::is_private(c)
}

/// The network of a run of `c`, whose directory is `dir`: through `netd`
/// when the container has a sandbox there.
pub(super) fn network_of(
    store: &Containers,
    netd: Option<&Netd>,
    c: &Container,
    dir: &Path,
) -> Result<Attached> {
    if let Some(other) = c.host_config.network_mode.strip_prefix("container:") {
        join(&store.find(other)?)
    } else if let Some(netd) = netd {
        netd.attach(c)
    } else {
        network::private(c, dir)
    }
}

/// The sandbox of container `o`, which must run, for another to join.
fn join(o: &Container) -> Result<Attached> {
    if o.state.status != Status::Running {
        return Err(ContainerError::JoinNotRunning { id: o.id.clone() });
    }
    Ok(Attached {
        netns: NetworkNamespace::Join(PathBuf::from(&o.network_settings.sandbox_key)),
        resolv_conf: o.resolv_conf_path.clone(),
        hosts: o.hosts_path.clone(),
        settings: NetworkSettings {
            sandbox_id: o.network_settings.sandbox_id.clone(),
            sandbox_key: o.network_settings.sandbox_key.clone(),
            ..Default::default()
        },
    })
}

/// What a run's record says of its network once its init `pid` runs:
/// the sandbox's settings and files (the runtime's new namespace, for
/// `--network container:` to join, when the run has no sandbox).
pub(super) fn record_network(c: &mut Container, attached: &Attached, pid: i32) {
    c.network_settings = attached.settings.clone();
    if attached.netns == NetworkNamespace::New {
        c.network_settings.sandbox_key = format!("/proc/{pid}/ns/net");
    }
    c.resolv_conf_path = attached.resolv_conf.clone();
    c.hosts_path = attached.hosts.clone();
}
