//! The seam between the controller and the machine: every change the
//! controller makes outside its own memory and store (namespaces, links,
//! routes, the firewall, host-port reservations, DNS sockets, the files it
//! renders, sysctls) goes through [`Kernel`].
//!
//! [`HostKernel`] is the real one, over the `drivers` crate. The
//! controller's unit tests use a recording fake instead (`fake.rs`) that can
//! fail at any step, so every rollback path is tested without privileges.
//! The methods are coarse, one per step the controller takes, so that a
//! failure injected "at step N" means something a reader can name.

use std::fmt;
use std::future::Future;
use std::net::{IpAddr, SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::pin::Pin;

use drivers::bridge::{self, BridgeConfig, EndpointConfig};
use drivers::connect_nat::ConnectNat;
use drivers::firewall::{Change, Nft, PortOp};
use drivers::{KernelError, Links, netns, portres, sysctl};
use ipnet::IpNet;
use netd_api::Protocol;
use tracing::{debug, warn};

use super::reaper::Reaper;

/// What every asynchronous kernel step returns.
pub(crate) type KFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, KernelError>> + Send + 'a>>;

/// A sandbox's network namespace, opened for a few steps in a row.
#[derive(Debug)]
pub(crate) struct Netns {
    /// The bound namespace file.
    pub(crate) path: PathBuf,
    /// The open namespace and a netlink handle inside it (the real kernel
    /// only).
    real: Option<(std::fs::File, Links)>,
}

impl Netns {
    /// A handle that holds nothing open, for kernels that have no real
    /// namespaces.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn detached(path: &Path) -> Self {
        Self {
            path: path.to_owned(),
            real: None,
        }
    }
}

/// A host port held for a published mapping; released on drop.
pub(crate) struct PortHold {
    /// The port held (the one the kernel chose when 0 was asked).
    pub(crate) port: u16,
    _held: Box<dyn Send + Sync>,
}

impl PortHold {
    /// A hold on `port` kept alive by `held`.
    pub(crate) fn new(port: u16, held: Box<dyn Send + Sync>) -> Self {
        Self { port, _held: held }
    }
}

impl fmt::Debug for PortHold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PortHold")
            .field("port", &self.port)
            .finish()
    }
}

/// Every step the controller takes outside its memory and store.
pub(crate) trait Kernel: Send + Sync + fmt::Debug {
    /// The prefixes routed on the host, which new subnets must avoid.
    fn route_prefixes(&self) -> KFuture<'_, Vec<IpNet>>;
    /// Creates (or adopts) a network's bridge, marked `mark`, with its
    /// gateway addresses, and lets it carry 127.0.0.1 traffic.
    fn create_bridge<'a>(&'a self, cfg: &'a BridgeConfig, mark: &'a str) -> KFuture<'a, ()>;
    /// Removes a bridge now (the undo of [`Kernel::create_bridge`]).
    fn delete_bridge<'a>(&'a self, name: &'a str) -> KFuture<'a, ()>;
    /// Takes a bridge out of service for deletion in the background.
    fn retire_bridge<'a>(&'a self, name: &'a str, tombstone: &'a str) -> KFuture<'a, ()>;

    /// Creates and binds a sandbox's namespace, its loopback up.
    fn create_netns<'a>(&'a self, path: &'a Path, label: &'a str) -> KFuture<'a, ()>;
    /// Opens a sandbox's namespace.
    fn open_netns(&self, path: &Path, label: &str) -> Result<Netns, KernelError>;
    /// Unbinds and removes a sandbox's namespace.
    fn remove_netns(&self, path: &Path) -> Result<(), KernelError>;

    /// Connects a sandbox to a bridge (veth pair, addresses, up) and marks
    /// the host end `mark`.
    fn join<'a>(
        &'a self,
        bridge: &'a str,
        ns: &'a Netns,
        ep: &'a EndpointConfig,
        mark: &'a str,
    ) -> KFuture<'a, ()>;
    /// Removes an endpoint's veth pair now (the undo of [`Kernel::join`]).
    fn leave<'a>(&'a self, host_ifname: &'a str) -> KFuture<'a, ()>;
    /// Takes an endpoint's veth pair out of service for deletion in the
    /// background; the sandbox end is renamed `tombstone` when `ns` is given.
    fn retire_endpoint<'a>(
        &'a self,
        ns: Option<&'a Netns>,
        host_ifname: &'a str,
        ifname: &'a str,
        tombstone: &'a str,
    ) -> KFuture<'a, ()>;
    /// Points the sandbox's default route of each family in `gateways` at
    /// that gateway through `ifname`.
    fn set_default_routes<'a>(
        &'a self,
        ns: &'a Netns,
        ifname: &'a str,
        gateways: &'a [IpAddr],
    ) -> KFuture<'a, ()>;

    /// Applies one atomic batch to netd's nftables tables.
    fn apply_firewall(&self, change: Change) -> Result<(), KernelError>;
    /// Whether netd's tables are there (someone may have flushed them).
    fn firewall_present(&self) -> bool;
    /// Holds a host port for a published mapping.
    fn reserve_port(
        &self,
        ip: Option<IpAddr>,
        v6: bool,
        protocol: Protocol,
        port: u16,
    ) -> Result<PortHold, KernelError>;
    /// Binds the embedded DNS server's sockets (127.0.0.11:53) inside the
    /// sandbox whose namespace is at `ns`.
    fn dns_sockets(
        &self,
        ns: &Path,
        addr: SocketAddr,
    ) -> Result<(UdpSocket, TcpListener), KernelError>;

    /// Writes one rendered file (hosts, resolv.conf) in place.
    fn write_file(&self, path: &Path, text: &str) -> Result<(), KernelError>;
    /// Creates a sandbox's file directory.
    fn create_dir(&self, path: &Path) -> Result<(), KernelError>;
    /// Removes a sandbox's file directory.
    fn remove_dir(&self, path: &Path) -> Result<(), KernelError>;
    /// Reads a sysctl.
    fn sysctl(&self, key: &[&str]) -> Option<String>;
    /// Sets a sysctl to `value` unless it already is; whether it changed.
    fn ensure_sysctl(&self, key: &[&str], value: &str) -> Result<bool, KernelError>;

    /// Says the API changed something (postpones background deletion).
    fn touch(&self) {}
    /// Whether firewall batches go through libnftables in-process (for
    /// logs).
    fn firewall_in_process(&self) -> bool {
        false
    }
    /// Mirrors published TCP ports in connect-time translation from now
    /// on, starting with `current`; kernels without it drop `nat`.
    fn attach_connect_nat(&mut self, nat: ConnectNat, current: &[PortOp]) {
        drop((nat, current));
    }
}

/// The real kernel: netd's own network namespace, its nftables tables and
/// its background link reaper.
#[derive(Debug)]
pub(crate) struct HostKernel {
    /// netlink in the host's namespace.
    pub(crate) host: Links,
    /// Applies firewall batches.
    pub(crate) nft: Nft,
    /// Deletes retired links in the background.
    reaper: Reaper,
    /// Published TCP ports translated at `connect()` for the host's own
    /// clients, when the programs could be attached.
    pub(crate) connect_nat: Option<ConnectNat>,
}

impl HostKernel {
    /// The real kernel over `host`, with a reaper on the current runtime.
    pub(crate) fn new(host: Links, nft: Nft) -> Self {
        let reaper = Reaper::spawn(host.clone());
        Self {
            host,
            nft,
            reaper,
            connect_nat: None,
        }
    }

    fn real(ns: &Netns) -> Result<&(std::fs::File, Links), KernelError> {
        ns.real.as_ref().ok_or_else(|| KernelError::LinkNotFound {
            name: "namespace".into(),
            ns: Some(ns.path.display().to_string()),
        })
    }
}

fn path_error(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> KernelError {
    let path = path.to_owned();
    move |source| KernelError::Path { op, path, source }
}

impl Kernel for HostKernel {
    fn route_prefixes(&self) -> KFuture<'_, Vec<IpNet>> {
        Box::pin(self.host.route_prefixes())
    }

    fn create_bridge<'a>(&'a self, cfg: &'a BridgeConfig, mark: &'a str) -> KFuture<'a, ()> {
        Box::pin(async move {
            bridge::create_network(&self.host, cfg, Some(mark)).await?;
            if sysctl::ensure(&["net", "ipv4", "conf", &cfg.name, "route_localnet"], "1")? {
                debug!(bridge = %cfg.name, "enabled route_localnet for ports published on 127.0.0.1");
            }
            Ok(())
        })
    }

    fn delete_bridge<'a>(&'a self, name: &'a str) -> KFuture<'a, ()> {
        Box::pin(bridge::delete_network(&self.host, name))
    }

    fn retire_bridge<'a>(&'a self, name: &'a str, tombstone: &'a str) -> KFuture<'a, ()> {
        Box::pin(async move {
            bridge::retire_network(&self.host, name, tombstone).await?;
            self.reaper.reap();
            Ok(())
        })
    }

    fn create_netns<'a>(&'a self, path: &'a Path, label: &'a str) -> KFuture<'a, ()> {
        Box::pin(async move {
            let rt = tokio::runtime::Handle::current();
            let (_file, links) = netns::create(path, || {
                let _g = rt.enter();
                Links::here(Some(label.to_owned()))
            })?;
            let made = async {
                let links = links?;
                let lo = links.require("lo").await?;
                links.set_up(lo.index, "lo").await
            };
            if let Err(e) = made.await {
                if let Err(e) = netns::remove(path) {
                    warn!(netns = %path.display(), error = %e, "could not remove a half-made namespace");
                }
                return Err(e);
            }
            Ok(())
        })
    }

    fn open_netns(&self, path: &Path, label: &str) -> Result<Netns, KernelError> {
        let file = netns::open(path)?;
        let links = Links::in_netns(&file, label)?;
        Ok(Netns {
            path: path.to_owned(),
            real: Some((file, links)),
        })
    }

    fn remove_netns(&self, path: &Path) -> Result<(), KernelError> {
        netns::remove(path)
    }

    fn join<'a>(
        &'a self,
        bridge_name: &'a str,
        ns: &'a Netns,
        ep: &'a EndpointConfig,
        mark: &'a str,
    ) -> KFuture<'a, ()> {
        Box::pin(async move {
            let (file, links) = Self::real(ns)?;
            bridge::join(&self.host, bridge_name, file, links, ep).await?;
            let marked = async {
                let veth = self.host.require(&ep.host_ifname).await?;
                self.host.set_alias(veth.index, &ep.host_ifname, mark).await
            };
            if let Err(e) = marked.await {
                if let Err(e) = bridge::leave(&self.host, &ep.host_ifname).await {
                    warn!(veth = %ep.host_ifname, error = %e, "could not remove an unmarked veth");
                }
                return Err(e);
            }
            Ok(())
        })
    }

    fn leave<'a>(&'a self, host_ifname: &'a str) -> KFuture<'a, ()> {
        Box::pin(bridge::leave(&self.host, host_ifname))
    }

    fn retire_endpoint<'a>(
        &'a self,
        ns: Option<&'a Netns>,
        host_ifname: &'a str,
        ifname: &'a str,
        tombstone: &'a str,
    ) -> KFuture<'a, ()> {
        Box::pin(async move {
            let sb = ns.and_then(|n| n.real.as_ref()).map(|(_, l)| l);
            let result = bridge::retire(&self.host, sb, host_ifname, ifname, tombstone).await;
            self.reaper.reap();
            result
        })
    }

    fn set_default_routes<'a>(
        &'a self,
        ns: &'a Netns,
        ifname: &'a str,
        gateways: &'a [IpAddr],
    ) -> KFuture<'a, ()> {
        Box::pin(async move {
            let (_, sb) = Self::real(ns)?;
            for gw in gateways {
                sb.remove_default_route(gw.is_ipv6()).await?;
            }
            bridge::set_default_routes(sb, ifname, gateways).await
        })
    }

    fn apply_firewall(&self, change: Change) -> Result<(), KernelError> {
        let (replace, ops) = change.port_ops();
        let ops = (replace || !ops.is_empty()).then(|| (replace, ops.to_vec()));
        self.nft.apply(change)?;
        if let (Some(nat), Some((replace, ops))) = (&self.connect_nat, ops)
            && let Err(e) = nat.apply(replace, &ops)
        {
            warn!(error = %e, "connect-time translation stopped: DNAT carries every client from now on");
        }
        Ok(())
    }

    fn firewall_present(&self) -> bool {
        self.nft.table_exists()
    }

    fn reserve_port(
        &self,
        ip: Option<IpAddr>,
        v6: bool,
        protocol: Protocol,
        port: u16,
    ) -> Result<PortHold, KernelError> {
        let r = portres::reserve(ip, v6, protocol, port).map_err(|source| KernelError::Sys {
            op: format!("reserving host port {port}/{protocol}"),
            source,
        })?;
        Ok(PortHold::new(r.port, Box::new(r)))
    }

    fn dns_sockets(
        &self,
        ns: &Path,
        addr: SocketAddr,
    ) -> Result<(UdpSocket, TcpListener), KernelError> {
        let file = netns::open(ns)?;
        let (udp, tcp) = netns::run_in(&file, || -> std::io::Result<(UdpSocket, TcpListener)> {
            Ok((UdpSocket::bind(addr)?, TcpListener::bind(addr)?))
        })?
        .map_err(|source| KernelError::Sys {
            op: format!("binding the DNS listener {addr} in {}", ns.display()),
            source,
        })?;
        Ok((drivers::fds::move_high(udp), drivers::fds::move_high(tcp)))
    }

    fn write_file(&self, path: &Path, text: &str) -> Result<(), KernelError> {
        // In place, not renamed over: the engine bind-mounts these files.
        std::fs::write(path, text).map_err(path_error("writing", path))
    }

    fn create_dir(&self, path: &Path) -> Result<(), KernelError> {
        std::fs::create_dir_all(path).map_err(path_error("creating", path))
    }

    fn remove_dir(&self, path: &Path) -> Result<(), KernelError> {
        match std::fs::remove_dir_all(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(path_error("removing", path)(e))
            }
            _ => Ok(()),
        }
    }

    fn sysctl(&self, key: &[&str]) -> Option<String> {
        sysctl::get(key)
    }

    fn ensure_sysctl(&self, key: &[&str], value: &str) -> Result<bool, KernelError> {
        sysctl::ensure(key, value)
    }

    fn touch(&self) {
        self.reaper.touch();
    }

    fn firewall_in_process(&self) -> bool {
        self.nft.in_process()
    }

    fn attach_connect_nat(&mut self, nat: ConnectNat, current: &[PortOp]) {
        match nat.apply(true, current) {
            Ok(()) => tracing::info!(
                cgroup = %nat.cgroup().display(),
                ports = nat.len(),
                "published TCP ports are translated at connect() for the host's own clients"
            ),
            Err(e) => warn!(
                error = %e,
                "connect-time translation stopped: DNAT carries every client from now on"
            ),
        }
        self.connect_nat = Some(nat);
    }
}
