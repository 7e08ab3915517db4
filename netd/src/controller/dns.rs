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
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use dns::server::{ListenerState, ServerHandle};
use dns::zone::Zone;
use netd_api::files::ResolvConf;
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
/// user-defined bridge network; not the default `bridge`; and not a plugin
/// network, whose caller runs its own DNS).
pub(crate) fn resolves_names(n: &Network) -> bool {
    n.driver == DriverKind::Bridge && !n.predefined && !n.plugin
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

/// A network's zone as last built, and what each sandbox's endpoint put
/// in it, so that the next change edits the zone (a few shards) instead of
/// rebuilding it.
#[derive(Debug, Default)]
pub(crate) struct NetworkZone {
    zone: Arc<Zone>,
    /// By sandbox id: a sandbox has at most one endpoint on a network.
    members: HashMap<String, Member>,
}

#[cfg(test)]
impl NetworkZone {
    /// Each member's entries, sorted, for comparing states in tests.
    pub(crate) fn entries(&self) -> BTreeSet<String> {
        self.members
            .iter()
            .map(|(sandbox, m)| format!("{sandbox} {} {:?} {:?}", m.endpoint, m.names, m.ips))
            .collect()
    }
}

/// The entries one endpoint added to its network's zone.
#[derive(Debug)]
struct Member {
    endpoint: String,
    names: Vec<String>,
    ips: Vec<IpAddr>,
}

impl Member {
    fn of(n: &Network, e: &Endpoint, sandbox: Option<&Sandbox>) -> Self {
        Self {
            endpoint: e.id.clone(),
            names: endpoint_names(n, e, sandbox),
            ips: e
                .ipv4
                .iter()
                .chain(e.ipv6.iter())
                .map(ipnet::IpNet::addr)
                .collect(),
        }
    }

    fn add_to(&self, z: &mut Zone, ptr: &str) {
        for ip in &self.ips {
            for name in &self.names {
                z.add(name, *ip);
            }
            z.add_reverse(*ip, ptr);
        }
    }

    fn remove_from(&self, z: &mut Zone) {
        for ip in &self.ips {
            for name in &self.names {
                z.remove(name, *ip);
            }
            z.remove_reverse(*ip);
        }
    }
}

/// Which sandboxes' endpoints a zone update must look at.
#[derive(Clone, Copy)]
enum Scope<'a> {
    /// All of them (first build, start-up).
    All,
    /// Only these sandboxes changed.
    Sandboxes(&'a [String]),
}

impl Controller {
    /// Brings the cached zone of network `id` up to date with its endpoints
    /// in `scope` (removing the entries of endpoints that left, adding
    /// those of endpoints that came) and returns it; `None` (and no cache)
    /// for a network that is gone or resolves no names. A network not
    /// cached yet is built whole whatever the scope.
    fn update_network_zone(&mut self, id: &str, scope: Scope<'_>) -> Option<Arc<Zone>> {
        let Some(n) = self.networks.get(id).filter(|n| resolves_names(n)) else {
            self.zones.remove(id);
            return None;
        };
        let scope = if self.zones.contains_key(id) {
            scope
        } else {
            Scope::All
        };
        let cached = self.zones.entry(id.to_owned()).or_default();
        let in_scope = |sid: &str| match scope {
            Scope::All => true,
            Scope::Sandboxes(list) => list.iter().any(|s| s == sid),
        };
        // The endpoints on the network now, of the sandboxes in scope.
        let current: HashMap<&str, &Endpoint> = self
            .endpoints
            .values()
            .filter(|e| e.network_id == id && in_scope(&e.sandbox_id))
            .map(|e| (e.sandbox_id.as_str(), e))
            .collect();
        let stale = |sid: &str, m: &Member| current.get(sid).is_none_or(|e| e.id != m.endpoint);
        let gone: Vec<String> = match scope {
            Scope::All => cached
                .members
                .iter()
                .filter(|(sid, m)| stale(sid, m))
                .map(|(sid, _)| sid.clone())
                .collect(),
            Scope::Sandboxes(list) => list
                .iter()
                .filter(|sid| cached.members.get(*sid).is_some_and(|m| stale(sid, m)))
                .cloned()
                .collect(),
        };
        let came: Vec<(&str, &Endpoint)> = current
            .into_iter()
            .filter(|(sid, e)| cached.members.get(*sid).is_none_or(|m| m.endpoint != e.id))
            .collect();
        if gone.is_empty() && came.is_empty() {
            return Some(Arc::clone(&cached.zone));
        }
        let zone = Arc::make_mut(&mut cached.zone);
        for sid in gone {
            if let Some(m) = cached.members.remove(&sid) {
                m.remove_from(zone);
            }
        }
        for (sid, e) in came {
            let m = Member::of(n, e, self.sandboxes.get(sid));
            m.add_to(zone, &format!("{}.{}", e.name, n.name));
            cached.members.insert(sid.to_owned(), m);
        }
        Some(Arc::clone(&cached.zone))
    }

    /// The zone of a view: its one network's, or the union of several.
    fn view_zone(&mut self, key: &ViewKey) -> Arc<Zone> {
        if let [one] = key.networks.as_slice() {
            return self
                .update_network_zone(one, Scope::Sandboxes(&[]))
                .unwrap_or_default();
        }
        let mut merged = Zone::new();
        for id in &key.networks {
            if let Some(z) = self.update_network_zone(id, Scope::Sandboxes(&[])) {
                merged.extend_from(&z);
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
        for id in networks {
            self.update_network_zone(id, Scope::Sandboxes(changed));
        }
        // Existing views that show a changed network.
        let affected: Vec<ViewKey> = self
            .views
            .keys()
            .filter(|k| k.networks.iter().any(|n| networks.contains(n)))
            .cloned()
            .collect();
        for key in &affected {
            let zone = self.view_zone(key);
            if let Some(state) = self.views.get(key) {
                state.zone.store(zone);
            }
        }
        // The sandboxes whose own membership changed. Only the views they
        // left (or failed to join) can have lost their last listener.
        let mut maybe_unused: Vec<ViewKey> = Vec::new();
        for sid in changed {
            maybe_unused.extend(self.dns.get(sid).map(|l| l.key.clone()));
            if let Err(e) = self.refresh_listener(sid) {
                warn!(sandbox = %sid, error = %e, "could not update the sandbox's DNS");
            }
            let wanted = self.sandboxes.get(sid).and_then(|s| self.view_key(s));
            maybe_unused.extend(wanted);
        }
        for k in maybe_unused {
            if !self.dns.values().any(|l| l.key == k) {
                self.views.remove(&k);
            }
        }
        tracing::debug!(
            views = affected.len(),
            changed = changed.len(),
            us = started.elapsed().as_micros(),
            "DNS views refreshed"
        );
    }

    /// Starts, moves or stops one sandbox's listener to match its view.
    fn refresh_listener(&mut self, sid: &str) -> Result<(), NetdError> {
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
                state.zone.store(self.view_zone(&key));
                self.views.insert(key.clone(), Arc::clone(&state));
                state
            }
        };
        let Some(path) = self.sandboxes.get(sid).and_then(|s| s.netns.clone()) else {
            return Ok(());
        };
        // The server listens on 127.0.0.11:53 itself. (Docker listens on
        // other ports and redirects 53 with a NAT rule in the sandbox, which
        // leaves port 53 on 0.0.0.0 free for the container; a libnftables
        // context per sandbox costs ~10 ms to free, too much to do the same.)
        let (udp, tcp) = self
            .kernel
            .dns_sockets(&path, SocketAddr::new(IpAddr::V4(DNS_ADDR), 53))?;
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
    pub(crate) fn refresh_upstreams(&mut self) {
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
