//! The controller: the one owner of netd's networks, endpoints, sandboxes
//! and IPAM state.
//!
//! The API layer holds it behind one async mutex, so requests apply one at a
//! time, in order: no two can hand out the same address or lose each other's
//! update. Every change follows the same steps: check the request, reserve
//! addresses in IPAM, program the kernel, commit the store; in-memory state
//! changes only once the store has committed.
//!
//! - Everything outside memory and the store (namespaces, links, routes,
//!   the firewall, host ports, DNS sockets, rendered files, sysctls) goes
//!   through the [`kernel::Kernel`] seam: the real one over `drivers`, a
//!   recording fake in the unit tests.
//! - Each step records its undo in a [`journal::Journal`]; the operation's
//!   last act is to settle it, which runs the undo steps unless it
//!   succeeded. `failures.rs` fails every kernel step of every operation in
//!   turn and checks that nothing changed.

mod dns;
mod endpoint;
#[cfg(test)]
mod failures;
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) mod fake;
mod firewall;
mod journal;
pub(crate) mod kernel;
mod network;
pub(crate) mod owner;
pub(crate) mod plugin;
mod ports;
mod reaper;
mod reconcile;
mod sandbox;
mod view;

use std::collections::BTreeMap;

use ipam::Ipam;

use crate::config::{Config, Paths};
use crate::error::NetdError;
use crate::model::{Endpoint, Network, Sandbox};
use crate::store::Store;

pub(crate) use network::NETWORK_FILTERS;
pub(crate) use network::PRUNE_FILTERS;

/// Alias prefix marking bridges netd owns (`netd-net:<network id>`).
pub(crate) const NET_ALIAS: &str = "netd-net:";
/// Alias prefix marking host-side veths netd owns (`netd-ep:<endpoint id>`).
pub(crate) const EP_ALIAS: &str = "netd-ep:";

/// The state and the means to change it.
#[derive(Debug)]
pub(crate) struct Controller {
    paths: Paths,
    config: Config,
    store: Store,
    ipam: Ipam,
    networks: BTreeMap<String, Network>,
    endpoints: BTreeMap<String, Endpoint>,
    sandboxes: BTreeMap<String, Sandbox>,
    next_seq: u64,
    /// Every change outside memory and the store goes through it.
    kernel: Box<dyn kernel::Kernel>,
    /// Embedded DNS listeners, by sandbox id.
    dns: std::collections::HashMap<String, dns::Listener>,
    /// The states listeners share, by what they see.
    views: std::collections::HashMap<dns::ViewKey, std::sync::Arc<::dns::server::ListenerState>>,
    /// Each name-resolving network's zone, kept up to date incrementally.
    zones: std::collections::HashMap<String, dns::NetworkZone>,
    /// Pools handed out through the plugin socket, by pool id.
    plugin_pools: BTreeMap<String, crate::model::PluginPool>,
    /// Sockets holding published host ports, by endpoint id.
    reservations: std::collections::HashMap<String, Vec<kernel::PortHold>>,
    /// The processes sandboxes belong to, watched.
    owners: owner::Owners,
}

pub(crate) use netd_api::{is_full_id, new_id};

/// Random bytes (MAC addresses).
pub(crate) fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).expect("the kernel's random source is available");
    b
}

/// Now, as Docker prints times (RFC 3339, nanoseconds, UTC).
pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

/// A stored port as the firewall sees it.
pub(crate) fn published_port(
    p: &crate::model::PortRecord,
    container_ip: std::net::IpAddr,
) -> drivers::firewall::PublishedPort {
    drivers::firewall::PublishedPort {
        host_ip: p.host_ip,
        host_port: p.host_port,
        protocol: p.protocol,
        container_ip,
        container_port: p.container_port,
    }
}

/// Finds one object by full id, then exact name, then unique id prefix, the
/// order Docker looks networks and containers up in.
fn lookup<'a, T>(
    items: &'a BTreeMap<String, T>,
    name_of: impl Fn(&T) -> &str,
    term: &str,
    not_found: impl FnOnce() -> NetdError,
    kind: &str,
) -> Result<&'a T, NetdError> {
    if term.is_empty() {
        return Err(not_found());
    }
    if let Some(t) = items.get(term) {
        return Ok(t);
    }
    let by_name: Vec<&T> = items.values().filter(|t| name_of(t) == term).collect();
    match by_name.len() {
        1 => return Ok(by_name[0]),
        0 => {}
        n => {
            return Err(NetdError::invalid(format!(
                "{kind} {term} is ambiguous ({n} matches found based on name)"
            )));
        }
    }
    let by_prefix: Vec<&T> = items
        .range(term.to_owned()..)
        .take_while(|(id, _)| id.starts_with(term))
        .map(|(_, t)| t)
        .collect();
    match by_prefix.len() {
        1 => Ok(by_prefix[0]),
        0 => Err(not_found()),
        n => Err(NetdError::invalid(format!(
            "{kind} {term} is ambiguous ({n} matches found based on ID prefix)"
        ))),
    }
}

impl Controller {
    /// Finds a network by id, name or id prefix.
    pub(crate) fn find_network(&self, term: &str) -> Result<&Network, NetdError> {
        lookup(
            &self.networks,
            |n| n.name.as_str(),
            term,
            || NetdError::not_found(format!("network {term} not found")),
            "network",
        )
    }

    /// Finds a sandbox by id, name or id prefix.
    pub(crate) fn find_sandbox(&self, term: &str) -> Result<&Sandbox, NetdError> {
        let term = term.strip_prefix('/').unwrap_or(term);
        lookup(
            &self.sandboxes,
            |s| s.name.as_str(),
            term,
            || NetdError::not_found(format!("No such container: {term}")),
            "container",
        )
    }

    /// The endpoints of a sandbox in connection order.
    fn sandbox_endpoints(&self, sandbox_id: &str) -> Vec<&Endpoint> {
        let mut eps: Vec<&Endpoint> = self
            .endpoints
            .values()
            .filter(|e| e.sandbox_id == sandbox_id)
            .collect();
        eps.sort_by_key(|e| e.seq);
        eps
    }

    /// The endpoints of a network.
    fn network_endpoints(&self, network_id: &str) -> impl Iterator<Item = &Endpoint> {
        self.endpoints
            .values()
            .filter(move |e| e.network_id == network_id)
    }

    /// Every published port, as the firewall sees it.
    fn published_ports(&self) -> Vec<drivers::firewall::PublishedPort> {
        self.endpoints
            .values()
            .flat_map(|e| {
                e.ports.iter().filter_map(move |p| {
                    let ip = if p.v6 { e.ipv6 } else { e.ipv4 }?;
                    Some(published_port(p, ip.addr()))
                })
            })
            .collect()
    }

    /// How many sandboxes and endpoints exist (for `/info`).
    pub(crate) fn counts(&self) -> (usize, usize, usize) {
        (
            self.networks.len(),
            self.sandboxes.len(),
            self.endpoints.len(),
        )
    }

    /// Writes the store records of the pools `ids` as IPAM now has them.
    fn stage_pools<'a>(
        &self,
        change: &mut crate::store::Change,
        ids: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), NetdError> {
        for id in ids {
            let pid: ipam::PoolId = id.parse()?;
            change.pool(id, self.ipam.pool_state(&pid).as_ref())?;
        }
        Ok(())
    }
}
