//! The embedded DNS server's side in the controller: one listener on
//! 127.0.0.11:53 (UDP and TCP) inside each sandbox that is on a
//! user-defined bridge network, answering the names of the sandboxes it
//! shares a network with and forwarding the rest.
//!
//! Listeners that see the same thing share one [`ListenerState`] (a
//! *view*: the same networks, the same upstream choice, the same
//! forwarding), so a connect rebuilds one zone per changed network and
//! swaps it into each affected view once, whatever the number of
//! sandboxes on the network.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::sync::Arc;

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

/// What a listener sees: its sandbox's name-resolving networks (sorted),
/// its `--dns` servers (`None`: the host's) and whether it forwards.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct ViewKey {
    networks: Vec<String>,
    dns: Option<Vec<SocketAddr>>,
    forward: bool,
}

/// A running listener and the view it serves.
#[derive(Debug)]
pub(crate) struct Listener {
    key: ViewKey,
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

    /// The zone of a view: one network's (shared from `fresh` when it was
    /// just rebuilt), or the union of several.
    fn view_zone(&self, key: &ViewKey, fresh: &mut HashMap<String, Arc<Zone>>) -> Arc<Zone> {
        if let [one] = key.networks.as_slice() {
            if let Some(z) = fresh.get(one) {
                return Arc::clone(z);
            }
            let z = Arc::new(
                self.networks
                    .get(one)
                    .map(|n| self.network_zone(n))
                    .unwrap_or_default(),
            );
            fresh.insert(one.clone(), Arc::clone(&z));
            return z;
        }
        let mut merged = Zone::new();
        for id in &key.networks {
            if let Some(n) = self.networks.get(id) {
                self.fill_zone(&mut merged, n);
            }
        }
        Arc::new(merged)
    }

    /// The view a sandbox should have now, if any.
    fn view_key(&self, s: &Sandbox) -> Option<ViewKey> {
        if s.host_mode {
            return None;
        }
        let mut networks: Vec<String> = Vec::new();
        let mut forward = false;
        for e in self.sandbox_endpoints(&s.id) {
            if let Some(n) = self
                .networks
                .get(&e.network_id)
                .filter(|n| resolves_names(n))
            {
                networks.push(n.id.clone());
                forward |= !n.internal;
            }
        }
        if networks.is_empty() {
            return None;
        }
        networks.sort();
        let dns = (!s.dns.is_empty()).then(|| {
            s.dns
                .iter()
                .take(3)
                .map(|ip| SocketAddr::new(*ip, 53))
                .collect()
        });
        Some(ViewKey {
            networks,
            dns,
            forward,
        })
    }

    /// Brings DNS up to date after a change to `networks` that concerned
    /// the sandboxes `changed` (connected, disconnected or removed): the
    /// views of those networks get their new zone (once per view), and the
    /// changed sandboxes' listeners are started, moved to another view, or
    /// stopped.
    pub(crate) fn refresh_dns(&mut self, networks: &[String], changed: &[String]) {
        let started = std::time::Instant::now();
        let mut fresh: HashMap<String, Arc<Zone>> = HashMap::new();
        for id in networks {
            if let Some(n) = self.networks.get(id).filter(|n| resolves_names(n)) {
                fresh.insert(id.clone(), Arc::new(self.network_zone(n)));
            }
        }
        // Existing views that show a changed network.
        let affected: Vec<ViewKey> = self
            .views
            .keys()
            .filter(|k| k.networks.iter().any(|n| networks.contains(n)))
            .cloned()
            .collect();
        for key in &affected {
            let zone = self.view_zone(key, &mut fresh);
            if let Some(state) = self.views.get(key) {
                state.zone.store(zone);
            }
        }
        // The sandboxes whose own membership changed.
        for sid in changed {
            if let Err(e) = self.refresh_listener(sid, &mut fresh) {
                warn!(sandbox = %sid, error = %e, "could not update the sandbox's DNS");
            }
        }
        // Views nobody uses any more.
        let used: BTreeSet<&ViewKey> = self.dns.values().map(|l| &l.key).collect();
        let unused: Vec<ViewKey> = self
            .views
            .keys()
            .filter(|k| !used.contains(k))
            .cloned()
            .collect();
        for k in unused {
            self.views.remove(&k);
        }
        tracing::debug!(
            views = affected.len(),
            changed = changed.len(),
            us = started.elapsed().as_micros(),
            "DNS views refreshed"
        );
    }

    /// Starts, moves or stops one sandbox's listener to match its view.
    fn refresh_listener(
        &mut self,
        sid: &str,
        fresh: &mut HashMap<String, Arc<Zone>>,
    ) -> Result<(), NetdError> {
        let key = self.sandboxes.get(sid).and_then(|s| self.view_key(s));
        let current = self.dns.get(sid).map(|l| l.key.clone());
        if key == current {
            return Ok(());
        }
        if self.dns.remove(sid).is_some() && key.is_none() {
            info!(sandbox = %sid, "DNS listener stopped");
        }
        let Some(key) = key else { return Ok(()) };
        let state = match self.views.get(&key) {
            Some(s) => Arc::clone(s),
            None => {
                let upstreams = key.dns.clone().unwrap_or_else(host_upstreams);
                let state = Arc::new(ListenerState::new(Zone::new(), upstreams, key.forward));
                state.zone.store(self.view_zone(&key, fresh));
                self.views.insert(key.clone(), Arc::clone(&state));
                state
            }
        };
        let Some(path) = self.sandboxes.get(sid).and_then(|s| s.netns.clone()) else {
            return Ok(());
        };
        let file = netns::open(&path)?;
        // The server listens on 127.0.0.11:53 itself. (Docker listens on
        // other ports and redirects 53 with a NAT rule in the sandbox, which
        // leaves port 53 on 0.0.0.0 free for the container; a libnftables
        // context per sandbox costs ~10 ms to free, too much to do the same.)
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
        let handle = dns::server::spawn(udp, tcp, state);
        self.dns.insert(
            sid.to_owned(),
            Listener {
                key,
                _handle: handle,
            },
        );
        info!(sandbox = %sid, "DNS listener started on 127.0.0.11:53");
        Ok(())
    }

    /// Re-reads the host's resolv.conf and gives its servers to every view
    /// of sandboxes without `--dns` (called periodically).
    pub fn refresh_upstreams(&mut self) {
        let host = host_upstreams();
        for (key, state) in &self.views {
            if key.dns.is_none() && **state.upstreams.load() != host {
                state.upstreams.store(Arc::new(host.clone()));
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
        let sandboxes: Vec<String> = self.sandboxes.keys().cloned().collect();
        self.refresh_dns(&networks, &sandboxes);
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
