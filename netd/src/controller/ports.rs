//! Published ports: reserving host ports, the firewall elements that
//! forward them, and moving them when the sandbox's gateway changes.
//!
//! A sandbox's `-p` mappings are published on its gateway endpoint (the one
//! that provides its default route), as Docker does: a mapping without a
//! host address is published on all IPv4 addresses, and on all IPv6
//! addresses too when the endpoint has IPv6, with the same host port.

use std::collections::BTreeSet;
use std::net::IpAddr;

use drivers::firewall::Change as FirewallChange;
use tracing::{info, warn};

use super::journal::{Journal, Undo};
use super::{Controller, published_port};
use crate::error::NetdError;
use crate::model::{Endpoint, Network, PortRecord, Sandbox};
use crate::store::Change;
use netd_api::portspec::{PortBindings, PortMapping};

/// `0.0.0.0:8080` or `[::]:8080`, as Docker words bind errors.
fn host_text(ip: Option<IpAddr>, v6: bool, ports: &str) -> String {
    match ip {
        Some(IpAddr::V6(a)) => format!("[{a}]:{ports}"),
        Some(IpAddr::V4(a)) => format!("{a}:{ports}"),
        None if v6 => format!("[::]:{ports}"),
        None => format!("0.0.0.0:{ports}"),
    }
}

impl Controller {
    /// Reserves host ports for `mappings` (a sandbox's) on `ep` and records
    /// them in `ep.ports`; all or nothing, with Docker's message when a port
    /// is taken.
    pub(crate) fn reserve_ports(
        &mut self,
        journal: &mut Journal,
        mappings: &[PortMapping],
        network: &Network,
        ep: &mut Endpoint,
    ) -> Result<(), NetdError> {
        let default_ip = network.bridge.as_ref().and_then(|b| b.host_binding_ipv4);
        let mut held = Vec::new();
        let mut records = Vec::new();
        for m in mappings {
            let host_ip = m.host_ip.or(default_ip).filter(|ip| !ip.is_unspecified());
            // Which families: the host address's, or both when unspecified.
            let families: Vec<bool> = match (host_ip, m.host_ip.or(default_ip)) {
                (Some(ip), _) => vec![ip.is_ipv6()],
                (None, Some(unspec)) => vec![unspec.is_ipv6()],
                (None, None) => {
                    let mut f = vec![false];
                    if ep.ipv6.is_some() {
                        f.push(true);
                    }
                    f
                }
            };
            let mut chosen: Option<u16> = None;
            for v6 in families {
                let has_ip = if v6 {
                    ep.ipv6.is_some()
                } else {
                    ep.ipv4.is_some()
                };
                if !has_ip {
                    continue;
                }
                let candidates: Vec<u16> = match (chosen, m.host_ports) {
                    (Some(p), _) => vec![p],
                    (None, Some(r)) => (r.start..=r.end).collect(),
                    (None, None) => vec![0],
                };
                let proto = m.protocol;
                let got = candidates
                    .iter()
                    .find_map(|p| self.kernel.reserve_port(host_ip, v6, proto, *p).ok());
                let Some(r) = got else {
                    let range = match (chosen, m.host_ports) {
                        (Some(p), _) => p.to_string(),
                        (None, Some(r)) => r.to_string(),
                        (None, None) => "0".into(),
                    };
                    return Err(NetdError::internal(format!(
                        "driver failed programming external connectivity on endpoint {} ({}): Bind for {} failed: port is already allocated",
                        ep.name,
                        &ep.id[..12],
                        host_text(host_ip, v6, &range)
                    )));
                };
                chosen = Some(r.port);
                records.push(PortRecord {
                    host_ip,
                    host_port: r.port,
                    protocol: m.protocol,
                    container_port: m.container_port,
                    v6,
                });
                held.push(r);
            }
        }
        if !records.is_empty() {
            info!(endpoint = %ep.id, ports = records.len(), "host ports reserved");
        }
        ep.ports = records;
        self.reservations.insert(ep.id.clone(), held);
        journal.push(Undo::Ports {
            endpoint: ep.id.clone(),
        });
        Ok(())
    }

    /// Releases the host ports held for an endpoint.
    pub(crate) fn unreserve_ports(&mut self, ep: &Endpoint) {
        self.reservations.remove(&ep.id);
    }

    /// Adds the firewall elements of an endpoint's ports to `fw`.
    pub(crate) fn stage_publish(&self, fw: &mut FirewallChange, ep: &Endpoint) {
        for p in &ep.ports {
            if let Some(ip) = if p.v6 { ep.ipv6 } else { ep.ipv4 } {
                fw.add_port(&published_port(p, ip.addr()));
            }
        }
    }

    /// Adds the removal of an endpoint's port elements to `fw`; a container
    /// port reached by several mappings loses its forward rule once.
    pub(crate) fn stage_unpublish(&self, fw: &mut FirewallChange, ep: &Endpoint) {
        let mut seen = BTreeSet::new();
        for p in &ep.ports {
            if let Some(ip) = if p.v6 { ep.ipv6 } else { ep.ipv4 } {
                let first = seen.insert((p.v6, p.protocol, p.container_port));
                fw.remove_port(&published_port(p, ip.addr()), !first);
            }
        }
    }

    /// Publishes the sandbox's ports on its new gateway endpoint `ep` after
    /// the previous one left, and records them.
    pub(crate) async fn publish_on(
        &mut self,
        sandbox: &Sandbox,
        ep: &Endpoint,
    ) -> Result<(), NetdError> {
        if sandbox.ports.is_empty() || !ep.ports.is_empty() {
            return Ok(());
        }
        let Some(network) = self.networks.get(&ep.network_id).cloned() else {
            return Ok(());
        };
        self.publish_mappings(&sandbox.ports, &network, ep.clone())
    }

    /// Reserves, publishes and records `mappings` on endpoint `ep` (which
    /// publishes nothing yet); all or nothing.
    pub(crate) fn publish_mappings(
        &mut self,
        mappings: &[PortMapping],
        network: &Network,
        mut ep: Endpoint,
    ) -> Result<(), NetdError> {
        let mut journal = Journal::default();
        let result = self.publish_mappings_in(&mut journal, mappings, network, &mut ep);
        self.settle_now(journal, result)?;
        if !ep.ports.is_empty() {
            info!(endpoint = %ep.id, ports = ep.ports.len(), "ports published");
        }
        self.endpoints.insert(ep.id.clone(), ep);
        Ok(())
    }

    fn publish_mappings_in(
        &mut self,
        journal: &mut Journal,
        mappings: &[PortMapping],
        network: &Network,
        ep: &mut Endpoint,
    ) -> Result<(), NetdError> {
        self.reserve_ports(journal, mappings, network, ep)?;
        let (mut on, mut off) = (FirewallChange::new(), FirewallChange::new());
        self.stage_publish(&mut on, ep);
        self.stage_unpublish(&mut off, ep);
        self.firewall_journaled(journal, on, off)?;
        let mut change = Change::default();
        change.put_endpoint(ep)?;
        self.store.commit(change)?;
        Ok(())
    }

    /// Unpublishes an endpoint's ports and records it without them (its
    /// reservations are the caller's to drop once this succeeded).
    pub(crate) fn unpublish_in(
        &mut self,
        journal: &mut Journal,
        ep: &mut Endpoint,
    ) -> Result<(), NetdError> {
        let (mut off, mut on) = (FirewallChange::new(), FirewallChange::new());
        self.stage_unpublish(&mut off, ep);
        self.stage_publish(&mut on, ep);
        self.firewall_journaled(journal, off, on)?;
        let kept = std::mem::take(&mut ep.ports);
        let mut change = Change::default();
        let committed = change
            .put_endpoint(ep)
            .map_err(NetdError::from)
            .and_then(|()| Ok(self.store.commit(change)?));
        if committed.is_err() {
            ep.ports = kept;
        }
        committed
    }

    /// Takes the host ports of every stored endpoint again (at start).
    pub(crate) fn reserve_stored_ports(&mut self) {
        let endpoints: Vec<Endpoint> = self
            .endpoints
            .values()
            .filter(|e| !e.ports.is_empty())
            .cloned()
            .collect();
        for e in endpoints {
            let mut held = Vec::new();
            for p in &e.ports {
                match self
                    .kernel
                    .reserve_port(p.host_ip, p.v6, p.protocol, p.host_port)
                {
                    Ok(r) => held.push(r),
                    Err(err) => warn!(
                        endpoint = %e.id,
                        port = p.host_port,
                        error = %err,
                        "a published port is now held by another program"
                    ),
                }
            }
            self.reservations.insert(e.id.clone(), held);
        }
    }
}

/// Docker's `Ports` of a sandbox: each published container port with its
/// host bindings.
pub(crate) fn ports_view(ep: Option<&Endpoint>, requested: &[PortMapping]) -> PortBindings {
    let mut out = PortBindings::new();
    for m in requested {
        out.entry(m.key().to_string()).or_default();
    }
    if let Some(ep) = ep {
        for p in &ep.ports {
            let proto = p.protocol;
            let host_ip = match p.host_ip {
                Some(ip) => ip.to_string(),
                None if p.v6 => "::".into(),
                None => "0.0.0.0".into(),
            };
            out.entry(format!("{}/{proto}", p.container_port))
                .or_default()
                .push(netd_api::portspec::PortBinding {
                    host_ip,
                    host_port: p.host_port.to_string(),
                });
        }
    }
    out
}
