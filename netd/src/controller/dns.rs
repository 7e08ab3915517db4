//! The embedded DNS server's side in the controller: one listener on
//! 127.0.0.11:53 (UDP and TCP) inside each sandbox that is on a
//! user-defined bridge network, answering the names of the sandboxes it
//! shares a network with and forwarding the rest.
//!
//! Names are kept per network (one zone per network, shared by every
//! sandbox on it), so a connect rebuilds one zone and hands the same
//! snapshot to every member: no per-sandbox copies. A sandbox on several
//! networks gets the union of their zones.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use dns::files::ResolvConf;
use dns::server::{ListenerState, ServerHandle};
use dns::zone::Zone;
use drivers::netns;
use tracing::{info, warn};

use super::Controller;
use crate::error::NetdError;
use crate::model::{DriverKind, Endpoint, Network, Sandbox};

/// The address the embedded server answers on, inside each sandbox.
pub(crate) const DNS_ADDR: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 11);

/// A running listener.
#[derive(Debug)]
pub(crate) struct Listener {
    state: Arc<ListenerState>,
    _handle: ServerHandle,
}

/// Whether a network gives its sandboxes name resolution (Docker: every
/// user-defined bridge network; not the default `bridge`).
pub(crate) fn resolves_names(n: &Network) -> bool {
    n.driver == DriverKind::Bridge && !n.predefined
}

/// The names of one endpoint, as Docker registers them: the container's
/// name, its aliases, its short id and its hostname, and each of them
/// qualified with the network's name.
fn endpoint_names(n: &Network, e: &Endpoint, sandbox: Option<&Sandbox>) -> Vec<String> {
    let mut names: BTreeSet<String> = BTreeSet::new();
    names.insert(e.name.clone());
    names.extend(e.aliases.iter().cloned());
    names.insert(e.sandbox_id[..12].to_owned());
    if let Some(s) = sandbox.filter(|s| !s.hostname.is_empty()) {
        names.insert(s.hostname.clone());
    }
    let qualified: Vec<String> = names.iter().map(|x| format!("{x}.{}", n.name)).collect();
    names.extend(qualified);
    names.into_iter().collect()
}

impl Controller {
    /// The zone of one network: every endpoint's names and addresses.
    fn network_zone(&self, n: &Network) -> Zone {
        let mut z = Zone::new();
        self.fill_zone(&mut z, n);
        z
    }

    /// Adds a network's names and addresses to `z`.
    fn fill_zone(&self, z: &mut Zone, n: &Network) {
        for e in self.network_endpoints(&n.id) {
            let sandbox = self.sandboxes.get(&e.sandbox_id);
            let names = endpoint_names(n, e, sandbox);
            for ip in e.ipv4.iter().chain(e.ipv6.iter()).map(|a| a.addr()) {
                for name in &names {
                    z.add(name, ip);
                }
                z.add_reverse(ip, &format!("{}.{}", e.name, n.name));
            }
        }
    }

    /// Brings every affected sandbox's listener up to date after a change
    /// to `networks`: starts, updates or stops listeners.
    pub(crate) fn refresh_dns(&mut self, networks: &[String]) {
        let started = std::time::Instant::now();
        let mut zones: HashMap<String, Arc<Zone>> = HashMap::new();
        for id in networks {
            if let Some(n) = self.networks.get(id).filter(|n| resolves_names(n)) {
                zones.insert(id.clone(), Arc::new(self.network_zone(n)));
            }
        }
        // One pass over the endpoints: each sandbox's name-resolving networks.
        let mut nets_of: HashMap<String, Vec<String>> = HashMap::new();
        for e in self.endpoints.values() {
            if self.networks.get(&e.network_id).is_some_and(resolves_names) {
                nets_of
                    .entry(e.sandbox_id.clone())
                    .or_default()
                    .push(e.network_id.clone());
            }
        }
        // Who can be affected: the sandboxes on the changed networks, and
        // listeners whose sandbox is gone or no longer on such a network.
        let members: BTreeSet<String> = self
            .endpoints
            .values()
            .filter(|e| networks.contains(&e.network_id))
            .map(|e| e.sandbox_id.clone())
            .chain(
                self.dns
                    .keys()
                    .filter(|sid| !nets_of.contains_key(*sid))
                    .cloned(),
            )
            .collect();
        // The host's servers once, not once per sandbox.
        let host: Arc<Vec<SocketAddr>> = Arc::new(host_upstreams());
        let zones_built = started.elapsed();
        let count = members.len();
        for sid in members {
            let nets = nets_of.get(&sid).map(Vec::as_slice).unwrap_or_default();
            if let Err(e) = self.refresh_sandbox_dns(&sid, nets, &zones, &host) {
                warn!(sandbox = %sid, error = %e, "could not update the sandbox's DNS");
            }
        }
        tracing::debug!(
            members = count,
            zones_us = zones_built.as_micros(),
            total_us = started.elapsed().as_micros(),
            "DNS views refreshed"
        );
    }

    fn refresh_sandbox_dns(
        &mut self,
        sid: &str,
        net_ids: &[String],
        fresh: &HashMap<String, Arc<Zone>>,
        host_upstreams: &Arc<Vec<SocketAddr>>,
    ) -> Result<(), NetdError> {
        let Some(s) = self.sandboxes.get(sid) else {
            self.dns.remove(sid);
            return Ok(());
        };
        let nets: Vec<&Network> = net_ids
            .iter()
            .filter_map(|id| self.networks.get(id))
            .collect();
        if nets.is_empty() || s.host_mode {
            if self.dns.remove(sid).is_some() {
                info!(sandbox = %sid, "DNS listener stopped");
            }
            return Ok(());
        }
        let zone: Arc<Zone> = if let [one] = nets.as_slice() {
            match fresh.get(&one.id) {
                Some(z) => Arc::clone(z),
                // Not changed: keep what the listener has.
                None => match self.dns.get(sid) {
                    Some(l) => l.state.zone.load_full(),
                    None => Arc::new(self.network_zone(one)),
                },
            }
        } else {
            let mut merged = Zone::new();
            for n in &nets {
                self.fill_zone(&mut merged, n);
            }
            Arc::new(merged)
        };
        let forward = nets.iter().any(|n| !n.internal);
        let upstreams: Arc<Vec<SocketAddr>> = if s.dns.is_empty() {
            Arc::clone(host_upstreams)
        } else {
            Arc::new(
                s.dns
                    .iter()
                    .take(3)
                    .map(|ip| SocketAddr::new(*ip, 53))
                    .collect(),
            )
        };
        if let Some(l) = self.dns.get(sid) {
            l.state.zone.store(zone);
            if **l.state.upstreams.load() != *upstreams {
                l.state.upstreams.store(upstreams);
            }
            l.state.forward.store(forward, Ordering::Relaxed);
            return Ok(());
        }
        let s = s.clone();
        let Some(path) = &s.netns else { return Ok(()) };
        let file = netns::open(path)?;
        // The server listens on 127.0.0.11:53 itself. (Docker listens on
        // other ports and redirects 53 with a NAT rule in the sandbox, which
        // leaves port 53 on 0.0.0.0 free for the container; a per-sandbox
        // libnftables context costs too much time and memory to do the same
        // here yet.)
        let (udp, tcp) = netns::run_in(&file, || -> Result<(UdpSocket, TcpListener), String> {
            let addr = SocketAddr::new(IpAddr::V4(DNS_ADDR), 53);
            let udp = UdpSocket::bind(addr).map_err(|e| e.to_string())?;
            let tcp = TcpListener::bind(addr).map_err(|e| e.to_string())?;
            Ok((udp, tcp))
        })?
        .map_err(|e| {
            NetdError::internal(format!("starting the DNS listener in sandbox {sid}: {e}"))
        })?;
        let (udp, tcp) = (drivers::fds::move_high(udp), drivers::fds::move_high(tcp));
        let state = Arc::new(ListenerState::new(Zone::new(), upstreams.to_vec(), forward));
        state.zone.store(zone);
        let handle = dns::server::spawn(udp, tcp, state.clone());
        self.dns.insert(
            sid.to_owned(),
            Listener {
                state,
                _handle: handle,
            },
        );
        info!(sandbox = %sid, "DNS listener started on 127.0.0.11:53");
        Ok(())
    }

    /// Re-reads the host's resolv.conf and gives its servers to every
    /// listener of a sandbox without `--dns` (called periodically).
    pub fn refresh_upstreams(&mut self) {
        let host = host_upstreams();
        for (sid, l) in &self.dns {
            let Some(s) = self.sandboxes.get(sid) else {
                continue;
            };
            if s.dns.is_empty() && **l.state.upstreams.load() != host {
                l.state.upstreams.store(Arc::new(host.clone()));
            }
        }
    }

    /// Whether a sandbox uses the embedded server (for its resolv.conf).
    pub(crate) fn uses_embedded_dns(&self, s: &Sandbox, endpoints: &[&Endpoint]) -> bool {
        !s.host_mode
            && endpoints
                .iter()
                .any(|e| self.networks.get(&e.network_id).is_some_and(resolves_names))
    }

    /// Starts the listeners of every live sandbox (at start).
    pub(crate) fn start_dns(&mut self) {
        let networks: Vec<String> = self.networks.keys().cloned().collect();
        self.refresh_dns(&networks);
    }
}

/// The host's resolver addresses (up to three), port 53; loopback ones
/// included, since forwarding runs in netd's namespace.
fn host_upstreams() -> Vec<SocketAddr> {
    host_resolv_conf()
        .nameservers
        .into_iter()
        .take(3)
        .map(|ip| SocketAddr::new(ip, 53))
        .collect()
}

/// The host's resolv.conf, parsed.
pub(crate) fn host_resolv_conf() -> ResolvConf {
    ResolvConf::parse(&std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default())
}

/// The resolv.conf of a sandbox that uses the embedded server: Docker's
/// shape, `nameserver 127.0.0.11` with the user's (or host's) search
/// domains, and `ndots:0` unless an ndots option is given.
pub(crate) fn embedded_resolv_conf(
    host: &ResolvConf,
    search: &[String],
    options: &[String],
) -> ResolvConf {
    let mut opts: Vec<String> = if options.is_empty() {
        host.options.clone()
    } else {
        options.to_vec()
    };
    if !opts.iter().any(|o| o.starts_with("ndots:")) {
        opts.push("ndots:0".into());
    }
    ResolvConf {
        nameservers: vec![IpAddr::V4(DNS_ADDR)],
        search: if search.is_empty() {
            host.search.clone()
        } else {
            search.to_vec()
        },
        options: opts,
    }
}
