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
//! else (remote clients, containers, UDP, dual-stack sockets reaching IPv4
//! ports, and hosts where eBPF is not available), so the programs are an
//! accelerator, never the only path. For IPv6 they also make `[::1]:PORT`
//! work, which DNAT cannot (the kernel never lets `::1` leave the host).
//!
//! - [`program`]: the programs, assembled as data.
//! - [`sys`]: maps, loading, attaching.
//! - [`locals`]: keeps the map of the host's own addresses up to date.
//!
//! Only sockets of netd's own network namespace are translated (a
//! container's 127.0.0.1 is its own), and only TCP, each family to its own
//! (an IPv4 port from `AF_INET` sockets, an IPv6 one from `AF_INET6`).

pub mod locals;
pub mod program;
pub mod sys;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
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
    /// A `bpf()` call failed or was refused.
    #[error("{op}: {source}")]
    Bpf {
        /// What was attempted.
        op: String,
        /// Why: the kernel's answer (with the verifier's log for a
        /// program), or a buffer that does not fit the map.
        #[source]
        source: sys::BpfError,
    },
}

fn bpf_err<E: Into<sys::BpfError>>(op: impl Into<String>) -> impl FnOnce(E) -> ConnectNatError {
    let op = op.into();
    move |source| ConnectNatError::Bpf {
        op,
        source: source.into(),
    }
}

/// A map entry's bytes: an address and port as the socket holds them
/// (network order), each in 32-bit fields as the programs load them; 8
/// bytes for IPv4, 20 for IPv6.
pub type Bytes = Vec<u8>;

fn addr_port(ip: IpAddr, port: u16) -> Bytes {
    let mut b = match ip {
        IpAddr::V4(ip) => ip.octets().to_vec(),
        IpAddr::V6(ip) => ip.octets().to_vec(),
    };
    // The program loads the 16-bit network-order port into a 32-bit
    // register, zero-extended, and stores that.
    let port = u32::from(u16::from_ne_bytes(port.to_be_bytes()));
    b.extend_from_slice(&port.to_ne_bytes());
    b
}

/// The map entry (key, then the container's address and port) for a
/// published port, when the programs handle it: TCP, one family on both
/// sides. A port published on every address has the unspecified address
/// in its key.
pub fn entry(p: &PublishedPort) -> Option<(Bytes, Bytes)> {
    if p.protocol != Protocol::Tcp {
        return None;
    }
    let host = match (p.host_ip, p.container_ip) {
        (None, IpAddr::V4(_)) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        (None, IpAddr::V6(_)) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        (Some(h), c) if h.is_ipv6() == c.is_ipv6() => h,
        _ => return None,
    };
    Some((
        addr_port(host, p.host_port),
        addr_port(p.container_ip, p.container_port),
    ))
}

/// A map and what it holds, so that each change writes only the
/// difference.
#[derive(Debug)]
struct Mirrored {
    map: sys::Map,
    what: &'static str,
    entries: BTreeMap<Bytes, Bytes>,
}

impl Mirrored {
    fn new(map: sys::Map, what: &'static str) -> Self {
        Self {
            map,
            what,
            entries: BTreeMap::new(),
        }
    }

    /// Sets one entry.
    fn set(&mut self, k: Bytes, v: Bytes) -> Result<(), ConnectNatError> {
        if self.entries.get(&k) != Some(&v) {
            self.map
                .update(&k, &v)
                .map_err(bpf_err(format!("adding to {}", self.what)))?;
            self.entries.insert(k, v);
        }
        Ok(())
    }

    /// Removes one entry, if it is there.
    fn unset(&mut self, k: &[u8]) -> Result<(), ConnectNatError> {
        if self.entries.contains_key(k) {
            self.map
                .delete(k)
                .map_err(bpf_err(format!("deleting from {}", self.what)))?;
            self.entries.remove(k);
        }
        Ok(())
    }

    /// Makes the map hold exactly `want`.
    fn sync(&mut self, want: BTreeMap<Bytes, Bytes>) -> Result<(), ConnectNatError> {
        let stale: Vec<Bytes> = self
            .entries
            .keys()
            .filter(|k| !want.contains_key(*k))
            .cloned()
            .collect();
        for k in stale {
            self.unset(&k)?;
        }
        for (k, v) in want {
            self.set(k, v)?;
        }
        Ok(())
    }
}

/// One family's maps.
#[derive(Debug)]
struct Family {
    ports: Mirrored,
    locals: Mirrored,
    _peers: sys::Map,
}

/// Where the programs and maps live; the links keep the programs attached.
#[derive(Debug)]
struct Inner {
    v4: Family,
    v6: Family,
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

/// Creates one family's maps; `addr` is its address length.
fn family_maps(v6: bool) -> Result<(Family, program::MapFds), ConnectNatError> {
    let (addr, tag) = if v6 { (16, "6") } else { (4, "4") };
    let entry = addr + 4;
    // Hash maps grow as entries come (no preallocation): most hosts
    // publish a handful of ports.
    let ports = sys::Map::create(
        sys::MapType::HashNoPrealloc,
        &format!("netd_ports{tag}"),
        entry,
        entry,
        MAX_PORTS,
    )
    .map_err(bpf_err("creating the ports map"))?;
    let locals = sys::Map::create(
        sys::MapType::HashNoPrealloc,
        &format!("netd_locals{tag}"),
        addr,
        4,
        MAX_LOCALS,
    )
    .map_err(bpf_err("creating the local addresses map"))?;
    let peers = sys::Map::create(
        sys::MapType::LruHash,
        &format!("netd_peers{tag}"),
        8,
        2 * entry,
        MAX_PEERS,
    )
    .map_err(bpf_err("creating the peers map"))?;
    let fds = program::MapFds {
        ports: ports.as_raw_fd(),
        locals: locals.as_raw_fd(),
        peers: peers.as_raw_fd(),
    };
    Ok((
        Family {
            ports: Mirrored::new(ports, "the published ports"),
            locals: Mirrored::new(locals, "the local addresses"),
            _peers: peers,
        },
        fds,
    ))
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
        let (v4, maps4) = family_maps(false)?;
        let (v6, maps6) = family_maps(true)?;
        let mut links = Vec::new();
        for (name, attach, insns) in [
            (
                "netd_connect4",
                sys::AttachType::Inet4Connect,
                program::connect4(maps4, cookie),
            ),
            (
                "netd_peername4",
                sys::AttachType::Inet4Getpeername,
                program::getpeername4(maps4),
            ),
            (
                "netd_connect6",
                sys::AttachType::Inet6Connect,
                program::connect6(maps6, cookie),
            ),
            (
                "netd_peername6",
                sys::AttachType::Inet6Getpeername,
                program::getpeername6(maps6),
            ),
        ] {
            let prog =
                sys::prog_load(name, attach, &insns).map_err(bpf_err(format!("loading {name}")))?;
            let link = sys::link_create(&prog, &cg, attach)
                .map_err(bpf_err(format!("attaching {name} to {}", cgroup.display())))?;
            links.push(link);
        }
        Ok(Self {
            inner: Arc::new(Mutex::new(Inner { v4, v6, links })),
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
            if replace {
                let mut want = [BTreeMap::new(), BTreeMap::new()];
                for op in ops {
                    if let PortOp::Add(p) = op
                        && let Some((k, v)) = entry(p)
                    {
                        want[usize::from(k.len() > 8)].insert(k, v);
                    }
                }
                let [want4, want6] = want;
                inner.v4.ports.sync(want4)?;
                return inner.v6.ports.sync(want6);
            }
            // One port at a time: the cost does not grow with the ports
            // already published.
            for op in ops {
                let (PortOp::Add(p) | PortOp::Remove(p)) = op;
                let Some((k, v)) = entry(p) else { continue };
                let ports = if k.len() > 8 {
                    &mut inner.v6.ports
                } else {
                    &mut inner.v4.ports
                };
                match op {
                    PortOp::Add(_) => ports.set(k, v)?,
                    PortOp::Remove(_) => ports.unset(&k)?,
                }
            }
            Ok(())
        })
    }

    /// Sets the host's own addresses, for which ports published on every
    /// address hold (127.0.0.0/8 and ::1 always do).
    pub fn set_local_addrs(&self, addrs: &BTreeSet<IpAddr>) -> Result<(), ConnectNatError> {
        self.guarded(|inner| {
            let one = 1u32.to_ne_bytes().to_vec();
            let (mut v4, mut v6) = (BTreeMap::new(), BTreeMap::new());
            for ip in addrs {
                match ip {
                    IpAddr::V4(a) => v4.insert(a.octets().to_vec(), one.clone()),
                    IpAddr::V6(a) => v6.insert(a.octets().to_vec(), one.clone()),
                };
            }
            inner.v4.locals.sync(v4)?;
            inner.v6.locals.sync(v6)
        })
    }

    /// How many published ports the programs translate (for logs and
    /// tests).
    pub fn len(&self) -> usize {
        let inner = self.lock();
        inner.v4.ports.entries.len() + inner.v6.ports.entries.len()
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
    fn udp_sctp_and_mixed_families_stay_with_dnat() {
        assert!(entry(&port(None, Protocol::Udp, "10.1.0.2")).is_none());
        assert!(entry(&port(None, Protocol::Sctp, "10.1.0.2")).is_none());
        assert!(entry(&port(Some("::1"), Protocol::Tcp, "10.1.0.2")).is_none());
        assert!(entry(&port(Some("127.0.0.1"), Protocol::Tcp, "fd00::2")).is_none());
    }

    #[test]
    fn ipv6_entries_hold_sixteen_bytes_of_address_then_the_port() {
        let (k, v) = entry(&port(None, Protocol::Tcp, "fd00::2")).unwrap();
        assert_eq!(k.len(), 20);
        assert_eq!(&k[..16], &[0; 16]);
        assert_eq!(&v[..16], &"fd00::2".parse::<Ipv6Addr>().unwrap().octets());
        assert_eq!(
            u32::from_ne_bytes(v[16..].try_into().unwrap()),
            u32::from(u16::from_ne_bytes([0, 80]))
        );
        let (k1, _) = entry(&port(Some("::1"), Protocol::Tcp, "fd00::2")).unwrap();
        assert_eq!(&k1[..16], &Ipv6Addr::LOCALHOST.octets());
        assert_eq!(k1[16..], k[16..]);
    }
}
