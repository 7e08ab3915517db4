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

    /// Upstream servers for a sandbox: its `--dns`, else the host's
    /// (loopback ones included: forwarding runs in netd's namespace).
    fn upstreams(&self, s: &Sandbox) -> Vec<SocketAddr> {
        let servers: Vec<IpAddr> = if s.dns.is_empty() {
            host_resolv_conf().nameservers
        } else {
            s.dns.clone()
        };
        servers
            .into_iter()
            .take(3)
            .map(|ip| SocketAddr::new(ip, 53))
            .collect()
    }

    /// Brings every affected sandbox's listener up to date after a change
    /// to `networks`: starts, updates or stops listeners.
    pub(crate) fn refresh_dns(&mut self, networks: &[String]) {
        let mut zones: HashMap<String, Arc<Zone>> = HashMap::new();
        for id in networks {
            if let Some(n) = self.networks.get(id).filter(|n| resolves_names(n)) {
                zones.insert(id.clone(), Arc::new(self.network_zone(n)));
            }
        }
        let members: BTreeSet<String> = self
            .endpoints
            .values()
            .filter(|e| networks.contains(&e.network_id))
            .map(|e| e.sandbox_id.clone())
            .chain(self.dns.keys().cloned())
            .collect();
        for sid in members {
            if let Err(e) = self.refresh_sandbox_dns(&sid, &zones) {
                warn!(sandbox = %sid, error = %e, "could not update the sandbox's DNS");
            }
        }
    }

    fn refresh_sandbox_dns(
        &mut self,
        sid: &str,
        fresh: &HashMap<String, Arc<Zone>>,
    ) -> Result<(), NetdError> {
        let Some(s) = self.sandboxes.get(sid).cloned() else {
            self.dns.remove(sid);
            return Ok(());
        };
        let nets: Vec<&Network> = self
            .sandbox_endpoints(sid)
            .into_iter()
            .filter_map(|e| self.networks.get(&e.network_id))
            .filter(|n| resolves_names(n))
            .collect();
        if nets.is_empty() || s.host_mode {
            if self.dns.remove(sid).is_some() {
                info!(sandbox = %sid, "DNS listener stopped");
            }
            return Ok(());
        }
        let zone: Arc<Zone> = if let [one] = nets.as_slice() {
            fresh
                .get(&one.id)
                .cloned()
                .unwrap_or_else(|| Arc::new(self.network_zone(one)))
        } else {
            let mut merged = Zone::new();
            for n in &nets {
                self.fill_zone(&mut merged, n);
            }
            Arc::new(merged)
        };
        let forward = nets.iter().any(|n| !n.internal);
        let upstreams = self.upstreams(&s);
        if let Some(l) = self.dns.get(sid) {
            l.state.zone.store(zone);
            l.state.upstreams.store(Arc::new(upstreams));
            l.state.forward.store(forward, Ordering::Relaxed);
            return Ok(());
        }
        let Some(path) = &s.netns else { return Ok(()) };
        let file = netns::open(path)?;
        // Docker's arrangement: the server listens on ports the kernel picks
        // and a NAT rule in the sandbox sends 127.0.0.11:53 there, so the
        // container can still run its own server on port 53.
        let (udp, tcp) = netns::run_in(&file, || -> Result<(UdpSocket, TcpListener), String> {
            let addr = SocketAddr::new(IpAddr::V4(DNS_ADDR), 0);
            let udp = UdpSocket::bind(addr).map_err(|e| e.to_string())?;
            let tcp = TcpListener::bind(addr).map_err(|e| e.to_string())?;
            let ports = (
                udp.local_addr().map_err(|e| e.to_string())?.port(),
                tcp.local_addr().map_err(|e| e.to_string())?.port(),
            );
            drivers::firewall::Nft::new()
                .apply(drivers::firewall::Change::dns_redirect(ports.0, ports.1))
                .map_err(|e| e.to_string())?;
            Ok((udp, tcp))
        })?
        .map_err(|e| {
            NetdError::internal(format!("starting the DNS listener in sandbox {sid}: {e}"))
        })?;
        let state = Arc::new(ListenerState::new(Zone::new(), upstreams, forward));
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
        let host: Vec<SocketAddr> = host_resolv_conf()
            .nameservers
            .into_iter()
            .take(3)
            .map(|ip| SocketAddr::new(ip, 53))
            .collect();
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
