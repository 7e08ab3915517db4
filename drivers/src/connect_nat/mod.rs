//! Connect-time translation of published ports, for the host's own
//! clients.
//!
//! A process on the host that connects to a published port would go
//! through the nftables DNAT of the `output` hook, and then every packet of
//! the connection pays the NAT's rewriting, both ways. Instead, an eBPF
//! program on the cgroup's `connect()` hook rewrites the socket's
//! destination to the container's address and port before the connection
//! exists: the connection is then an ordinary one to the container, and
//! costs what a direct one costs. `getpeername()` still answers the
//! published address. This is the kernel's "socket load balancing" as
//! Cilium does it; netd's nftables rules stay in place and carry everything
//! else (remote clients, containers, UDP, IPv6, and hosts where eBPF is not
//! available), so the programs are an accelerator, never the only path.
//!
//! - [`program`]: the programs, assembled as data.
//! - [`sys`]: maps, loading, attaching.
//! - [`locals`]: keeps the map of the host's own addresses up to date.
//!
//! Only sockets of netd's own network namespace are translated (a
//! container's 127.0.0.1 is its own), and only TCP over IPv4.

pub mod locals;
pub mod program;
pub mod sys;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::firewall::{PortOp, Protocol, PublishedPort};

/// The most published TCP ports (and host addresses) the maps hold; past
/// that, further ports go through DNAT only.
const MAX_PORTS: u32 = 65_536;
const MAX_LOCALS: u32 = 4_096;
/// Sockets whose asked-for address is remembered; the oldest are dropped
/// first, and only `getpeername()` of a very old connection would notice.
const MAX_PEERS: u32 = 65_536;

/// Why connect-time translation is not available or failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectNatError {
    /// The cgroup to attach to cannot be opened.
    #[error("opening cgroup {}: {source}", path.display())]
    Cgroup {
        /// The cgroup's directory.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A `bpf()` call was refused.
    #[error("{op}: {source}")]
    Bpf {
        /// What was attempted.
        op: String,
        /// The kernel's answer (with the verifier's log for a program).
        #[source]
        source: std::io::Error,
    },
}

fn bpf_err(op: impl Into<String>) -> impl FnOnce(std::io::Error) -> ConnectNatError {
    let op = op.into();
    move |source| ConnectNatError::Bpf { op, source }
}

/// A port's key in the `ports` map: the address and port a socket
/// connects to, as its `struct sockaddr_in` holds them (network order),
/// each in a 32-bit field as the programs load them.
pub type PortKey = [u8; 8];
/// A container's address and port, in the same layout.
pub type Target = [u8; 8];

fn addr_port(ip: Ipv4Addr, port: u16) -> [u8; 8] {
    let mut b = [0u8; 8];
    b[..4].copy_from_slice(&ip.octets());
    // The program loads the 16-bit network-order port into a 32-bit
    // register, zero-extended, and stores that.
    let port = u32::from(u16::from_ne_bytes(port.to_be_bytes()));
    b[4..].copy_from_slice(&port.to_ne_bytes());
    b
}

/// The map entry for a published port, when the programs handle it: TCP,
/// IPv4 on both sides. A port published on every address (or 0.0.0.0) has
/// the address 0.0.0.0 in its key.
pub fn entry(p: &PublishedPort) -> Option<(PortKey, Target)> {
    if p.protocol != Protocol::Tcp {
        return None;
    }
    let IpAddr::V4(container) = p.container_ip else {
        return None;
    };
    let host = match p.host_ip {
        None => Ipv4Addr::UNSPECIFIED,
        Some(IpAddr::V4(ip)) => ip,
        Some(IpAddr::V6(_)) => return None,
    };
    Some((
        addr_port(host, p.host_port),
        addr_port(container, p.container_port),
    ))
}

/// Where the programs and maps live; the links keep the programs attached.
#[derive(Debug)]
struct Inner {
    ports: OwnedFd,
    locals: OwnedFd,
    /// What `ports` holds, so that a full replacement writes only the
    /// difference.
    published: BTreeMap<PortKey, Target>,
    /// What `locals` holds.
    local_addrs: BTreeSet<Ipv4Addr>,
    _peers: OwnedFd,
    /// The attachments; empty once detached.
    links: Vec<OwnedFd>,
}

/// The attached programs and their maps. Cloning shares them. Dropping the
/// last clone detaches the programs; so does a map update that fails.
#[derive(Debug, Clone)]
pub struct ConnectNat {
    inner: Arc<Mutex<Inner>>,
    cgroup: PathBuf,
}

impl ConnectNat {
    /// Loads the programs for the calling thread's network namespace and
    /// attaches them to the cgroup (v2) directory `cgroup`: every socket of
    /// a process in it or below it is covered.
    pub fn attach(cgroup: &Path) -> Result<Self, ConnectNatError> {
        let cg = std::fs::File::open(cgroup).map_err(|source| ConnectNatError::Cgroup {
            path: cgroup.to_owned(),
            source,
        })?;
        let cg = OwnedFd::from(cg);
        let cookie = sys::netns_cookie().map_err(bpf_err("reading the netns cookie"))?;
        // Hash maps grow as entries come (no preallocation): most hosts
        // publish a handful of ports.
        let ports = sys::map_create(sys::MapType::HashNoPrealloc, "netd_ports", 8, 8, MAX_PORTS)
            .map_err(bpf_err("creating the ports map"))?;
        let locals = sys::map_create(
            sys::MapType::HashNoPrealloc,
            "netd_locals",
            4,
            4,
            MAX_LOCALS,
        )
        .map_err(bpf_err("creating the local addresses map"))?;
        let peers = sys::map_create(sys::MapType::LruHash, "netd_peers", 8, 16, MAX_PEERS)
            .map_err(bpf_err("creating the peers map"))?;
        let maps = program::MapFds {
            ports: ports.as_raw_fd(),
            locals: locals.as_raw_fd(),
            peers: peers.as_raw_fd(),
        };
        let mut links = Vec::new();
        for (name, attach, insns) in [
            (
                "netd_connect4",
                sys::AttachType::Inet4Connect,
                program::connect4(maps, cookie),
            ),
            (
                "netd_peername4",
                sys::AttachType::Inet4Getpeername,
                program::getpeername4(maps),
            ),
        ] {
            let prog =
                sys::prog_load(name, attach, &insns).map_err(bpf_err(format!("loading {name}")))?;
            let link = sys::link_create(&prog, &cg, attach)
                .map_err(bpf_err(format!("attaching {name} to {}", cgroup.display())))?;
            links.push(link);
        }
        Ok(Self {
            inner: Arc::new(Mutex::new(Inner {
                ports,
                locals,
                published: BTreeMap::new(),
                local_addrs: BTreeSet::new(),
                _peers: peers,
                links,
            })),
            cgroup: cgroup.to_owned(),
        })
    }

    /// The cgroup the programs are attached to.
    pub fn cgroup(&self) -> &Path {
        &self.cgroup
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock can only have happened between
        // two map writes; the maps stay usable.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `f` on the maps; if it fails, the maps may no longer say what
    /// the tables say, so the programs are detached for good and every
    /// client goes through DNAT: slower, never wrong.
    fn guarded(
        &self,
        f: impl FnOnce(&mut Inner) -> Result<(), ConnectNatError>,
    ) -> Result<(), ConnectNatError> {
        let mut inner = self.lock();
        let r = f(&mut inner);
        if r.is_err() {
            inner.links.clear();
        }
        r
    }

    /// Detaches the programs: from now on every client goes through DNAT.
    pub fn detach(&self) {
        self.lock().links.clear();
    }

    /// Whether the programs are still attached (a failed map update
    /// detaches them).
    pub fn is_attached(&self) -> bool {
        !self.lock().links.is_empty()
    }

    /// Mirrors a firewall change's published ports, in its order; `replace`
    /// when the change replaced every port (the mirror then drops what the
    /// change did not add).
    pub fn apply(&self, replace: bool, ops: &[PortOp]) -> Result<(), ConnectNatError> {
        self.guarded(|inner| {
            let mut want = if replace {
                BTreeMap::new()
            } else {
                inner.published.clone()
            };
            for op in ops {
                match op {
                    PortOp::Add(p) => {
                        if let Some((k, v)) = entry(p) {
                            want.insert(k, v);
                        }
                    }
                    PortOp::Remove(p) => {
                        if let Some((k, _)) = entry(p) {
                            want.remove(&k);
                        }
                    }
                }
            }
            let stale: Vec<PortKey> = inner
                .published
                .keys()
                .filter(|k| !want.contains_key(*k))
                .copied()
                .collect();
            for k in stale {
                sys::map_delete(&inner.ports, &k).map_err(bpf_err("deleting a published port"))?;
                inner.published.remove(&k);
            }
            for (k, v) in want {
                if inner.published.get(&k) != Some(&v) {
                    sys::map_update(&inner.ports, &k, &v)
                        .map_err(bpf_err("adding a published port"))?;
                    inner.published.insert(k, v);
                }
            }
            Ok(())
        })
    }

    /// Sets the host's own IPv4 addresses, for which ports published on
    /// every address hold (127.0.0.0/8 always does).
    pub fn set_local_addrs(&self, addrs: &BTreeSet<Ipv4Addr>) -> Result<(), ConnectNatError> {
        self.guarded(|inner| {
            let gone: Vec<Ipv4Addr> = inner.local_addrs.difference(addrs).copied().collect();
            for ip in gone {
                sys::map_delete(&inner.locals, &ip.octets())
                    .map_err(bpf_err(format!("forgetting local address {ip}")))?;
                inner.local_addrs.remove(&ip);
            }
            let new: Vec<Ipv4Addr> = addrs.difference(&inner.local_addrs).copied().collect();
            for ip in new {
                sys::map_update(&inner.locals, &ip.octets(), &1u32.to_ne_bytes())
                    .map_err(bpf_err(format!("adding local address {ip}")))?;
                inner.local_addrs.insert(ip);
            }
            Ok(())
        })
    }

    /// The published ports the programs translate (for logs and tests).
    pub fn len(&self) -> usize {
        self.lock().published.len()
    }

    /// Whether no port is translated.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(host_ip: Option<&str>, proto: Protocol, container: &str) -> PublishedPort {
        PublishedPort {
            host_ip: host_ip.map(|s| s.parse().unwrap()),
            host_port: 8080,
            protocol: proto,
            container_ip: container.parse().unwrap(),
            container_port: 80,
        }
    }

    #[test]
    fn keys_hold_address_and_port_as_the_socket_does() {
        let (k, v) = entry(&port(Some("192.0.2.1"), Protocol::Tcp, "10.1.0.2")).unwrap();
        assert_eq!(&k[..4], &[192, 0, 2, 1]);
        // 8080 = 0x1f90, network order first, then the zero extension.
        assert_eq!(
            u32::from_ne_bytes(k[4..].try_into().unwrap()),
            u32::from(u16::from_ne_bytes([0x1f, 0x90]))
        );
        assert_eq!(&v[..4], &[10, 1, 0, 2]);
        assert_eq!(
            u32::from_ne_bytes(v[4..].try_into().unwrap()),
            u32::from(u16::from_ne_bytes([0, 80]))
        );
    }

    #[test]
    fn every_address_is_the_zero_address() {
        let (any, _) = entry(&port(None, Protocol::Tcp, "10.1.0.2")).unwrap();
        let (zero, _) = entry(&port(Some("0.0.0.0"), Protocol::Tcp, "10.1.0.2")).unwrap();
        assert_eq!(any, zero);
        assert_eq!(&any[..4], &[0, 0, 0, 0]);
    }

    #[test]
    fn udp_sctp_and_ipv6_stay_with_dnat() {
        assert!(entry(&port(None, Protocol::Udp, "10.1.0.2")).is_none());
        assert!(entry(&port(None, Protocol::Sctp, "10.1.0.2")).is_none());
        assert!(entry(&port(None, Protocol::Tcp, "fd00::2")).is_none());
        assert!(entry(&port(Some("::1"), Protocol::Tcp, "fd00::2")).is_none());
    }
}
