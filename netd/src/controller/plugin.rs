//! What netd does for another engine (dockerd) through the plugin socket:
//! Docker's remote IPAM driver (pools and addresses in netd's IPAM, shared
//! with netd's own networks so that nothing overlaps) and remote network
//! driver (bridges, veths and published ports made as netd makes its own).
//!
//! The caller owns the sandbox: netd makes the veth and leaves its inner end
//! in the host namespace for the caller to move. Calls are idempotent where
//! a caller's retry or replay can repeat them: the same `RequestPool` twice
//! counts twice, deleting what is already gone succeeds.

use std::collections::BTreeMap;
use std::net::IpAddr;

use drivers::bridge;
use drivers::firewall::Change as FirewallChange;
use ipam::{AddressSpace, Family, PoolId, PoolRequest};
use ipnet::IpNet;
use tracing::{info, warn};

use super::journal::{Journal, Undo};
use super::{Controller, EP_ALIAS, is_full_id, now};
use crate::error::NetdError;
use crate::model::{DriverKind, Endpoint, Network, PluginPool, Subnet};
use crate::store::Change;
use netd_api::portspec::PortMapping;

/// The label that marks a plugin network in netd's own views.
pub(crate) const PLUGIN_LABEL: &str = "com.berth.netd.plugin";

/// One family's IPAM data of a `CreateNetwork` request, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PluginSubnet {
    /// The pool's subnet.
    pub pool: IpNet,
    /// The gateway address.
    pub gateway: IpAddr,
    /// Reserved auxiliary addresses.
    pub aux: BTreeMap<String, IpAddr>,
}

/// A `CreateNetwork` request, parsed.
#[derive(Debug, Clone, Default)]
pub(crate) struct PluginNetworkSpec {
    /// The caller's network id (64 hex), used as netd's.
    pub id: String,
    /// The `-o` options (`com.docker.network.generic`).
    pub options: BTreeMap<String, String>,
    /// `--ipv6`.
    pub enable_ipv6: bool,
    /// `--internal`.
    pub internal: bool,
    /// IPv4 and IPv6 data.
    pub subnets: Vec<PluginSubnet>,
}

/// A `CreateEndpoint` request, parsed.
#[derive(Debug, Clone, Default)]
pub(crate) struct PluginEndpointSpec {
    /// Network id.
    pub network: String,
    /// The caller's endpoint id (64 hex).
    pub id: String,
    /// IPv4 address with prefix length.
    pub ipv4: Option<IpNet>,
    /// IPv6 address with prefix length.
    pub ipv6: Option<IpNet>,
    /// The MAC address given, if any.
    pub mac: Option<String>,
}

/// What `CreateEndpoint` answers: the MAC netd chose when the caller gave
/// none (the caller refuses any other change to its interface).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PluginEndpointCreated {
    /// The chosen MAC address, when none was given.
    pub mac: Option<String>,
}

/// What `Join` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PluginJoin {
    /// The veth end the caller moves into its sandbox.
    pub src_name: String,
    /// The name prefix the caller gives it there.
    pub dst_prefix: String,
    /// IPv4 gateway (none on internal networks).
    pub gateway: Option<IpAddr>,
    /// IPv6 gateway.
    pub gateway_v6: Option<IpAddr>,
    /// No way out: the caller must not add one of its own.
    pub disable_gateway_service: bool,
}

/// The name of a plugin endpoint's inner veth end, before the caller moves
/// and renames it. Unlike [`bridge::veth_name`], netd never takes a link of
/// this shape for a stray of its own.
pub(crate) fn plugin_peer_name(endpoint_id: &str) -> String {
    format!("vnd{}", &endpoint_id[..11.min(endpoint_id.len())])
}

fn check_id(what: &str, id: &str) -> Result<(), NetdError> {
    if is_full_id(id) {
        Ok(())
    } else {
        Err(NetdError::invalid(format!(
            "invalid {what} {id:?}: expected 64 lowercase hex digits"
        )))
    }
}

impl Controller {
    // ---- IPAM driver ----

    /// `RequestPool`: a pool for `subnet` (with `range` for dynamic
    /// addresses), or any free one of the family that overlaps no host
    /// route. Asking again for the same subnet and range answers the same
    /// pool and counts one more user.
    pub(crate) async fn plugin_request_pool(
        &mut self,
        space: &str,
        subnet: Option<IpNet>,
        range: Option<IpNet>,
        v6: bool,
    ) -> Result<PoolId, NetdError> {
        let space: AddressSpace = if space.is_empty() {
            AddressSpace::Local
        } else {
            space.parse()?
        };
        if subnet.is_none() && range.is_some() {
            return Err(NetdError::invalid(
                "invalid pool request: a sub-pool needs a pool",
            ));
        }
        if let Some(s) = subnet
            && s.addr().is_ipv6() != v6
        {
            return Err(NetdError::invalid(format!(
                "invalid pool request: {s} is not an IPv{} subnet",
                if v6 { 6 } else { 4 }
            )));
        }
        let request = match subnet {
            Some(subnet) => {
                let id = PoolId {
                    space,
                    subnet,
                    range,
                };
                let key = id.to_string();
                if let Some(mut pool) = self.plugin_pools.get(&key).cloned() {
                    pool.refs += 1;
                    let mut change = Change::default();
                    change.plugin_pool(&key, Some(&pool))?;
                    self.store.commit(change)?;
                    self.plugin_pools.insert(key, pool);
                    return Ok(id);
                }
                PoolRequest::Subnet { subnet, range }
            }
            None => PoolRequest::Any {
                family: if v6 { Family::V6 } else { Family::V4 },
                size: None,
                exclude: &[],
            },
        };
        let id = match request {
            PoolRequest::Any { family, size, .. } => {
                let exclude = self.kernel.route_prefixes().await?;
                self.ipam.request_pool(
                    space,
                    PoolRequest::Any {
                        family,
                        size,
                        exclude: &exclude,
                    },
                )?
            }
            subnet => self.ipam.request_pool(space, subnet)?,
        };
        let key = id.to_string();
        let pool = PluginPool {
            id: key.clone(),
            refs: 1,
        };
        let mut change = Change::default();
        change.plugin_pool(&key, Some(&pool))?;
        self.stage_pools(&mut change, [key.as_str()])?;
        if let Err(e) = self.store.commit(change) {
            let _ = self.ipam.release_pool(&id);
            return Err(e.into());
        }
        info!(pool = %key, "plugin pool allocated");
        self.plugin_pools.insert(key, pool);
        Ok(id)
    }

    /// The plugin pool `id`, parsed; an error for pools netd's own networks
    /// hold (the caller must not touch those).
    fn plugin_pool_id(&self, id: &str) -> Result<Option<PoolId>, NetdError> {
        let pid: PoolId = id.parse()?;
        let key = pid.to_string();
        if self.plugin_pools.contains_key(&key) {
            return Ok(Some(pid));
        }
        if self.ipam.pool(&pid).is_some() {
            return Err(NetdError::forbidden(format!(
                "pool {id} belongs to a network of netd's own, not to the plugin"
            )));
        }
        Ok(None)
    }

    /// `ReleasePool`: one user less; the pool goes with the last one. An
    /// unknown pool is already released.
    pub(crate) fn plugin_release_pool(&mut self, id: &str) -> Result<(), NetdError> {
        let Some(pid) = self.plugin_pool_id(id)? else {
            warn!(pool = %id, "release of an unknown plugin pool: already released");
            return Ok(());
        };
        let key = pid.to_string();
        let mut pool = self
            .plugin_pools
            .get(&key)
            .cloned()
            .ok_or_else(|| NetdError::internal(format!("plugin pool {key} vanished")))?;
        let mut change = Change::default();
        pool.refs = pool.refs.saturating_sub(1);
        if pool.refs > 0 {
            change.plugin_pool(&key, Some(&pool))?;
            self.store.commit(change)?;
            self.plugin_pools.insert(key, pool);
            return Ok(());
        }
        // dockerd releases a network's pool before it deletes the network
        // (`docker network rm`): the network may still name it.
        change.plugin_pool(&key, None)?;
        change.pool(&key, None)?;
        self.store.commit(change)?;
        let _ = self.ipam.release_pool(&pid);
        self.plugin_pools.remove(&key);
        info!(pool = %key, "plugin pool released");
        Ok(())
    }

    /// `RequestAddress`: `addr`, or the next free address (the lowest one
    /// for a gateway, as Docker's IPAM). Answers it with the pool's prefix
    /// length.
    pub(crate) fn plugin_request_address(
        &mut self,
        pool: &str,
        addr: Option<IpAddr>,
        gateway: bool,
    ) -> Result<IpNet, NetdError> {
        let pid = self
            .plugin_pool_id(pool)?
            .ok_or_else(|| NetdError::not_found(format!("no such pool: {pool}")))?;
        let ip = match (addr, gateway) {
            (None, true) => self.ipam.request_gateway(&pid)?,
            _ => self.ipam.request_address(&pid, addr)?,
        };
        let mut change = Change::default();
        self.stage_pools(&mut change, [pid.to_string().as_str()])?;
        if let Err(e) = self.store.commit(change) {
            let _ = self.ipam.release_address(&pid, ip);
            return Err(e.into());
        }
        Ok(IpNet::new(ip, pid.subnet.prefix_len()).expect("the address lies in its pool"))
    }

    /// `ReleaseAddress`. An address not allocated is already released.
    pub(crate) fn plugin_release_address(
        &mut self,
        pool: &str,
        addr: IpAddr,
    ) -> Result<(), NetdError> {
        let Some(pid) = self.plugin_pool_id(pool)? else {
            return Ok(());
        };
        if !self.ipam.pool(&pid).is_some_and(|p| p.is_allocated(addr)) {
            return Ok(());
        }
        self.ipam.release_address(&pid, addr)?;
        let mut change = Change::default();
        self.stage_pools(&mut change, [pid.to_string().as_str()])?;
        if let Err(e) = self.store.commit(change) {
            let _ = self.ipam.request_address(&pid, Some(addr));
            return Err(e.into());
        }
        Ok(())
    }

    // ---- network driver ----

    /// `CreateNetwork`: a bridge network under the caller's id. Creating it
    /// again is a replay and succeeds.
    pub(crate) async fn plugin_create_network(
        &mut self,
        spec: PluginNetworkSpec,
    ) -> Result<(), NetdError> {
        check_id("network id", &spec.id)?;
        if let Some(n) = self.networks.get(&spec.id) {
            if n.plugin {
                return Ok(());
            }
            return Err(NetdError::conflict(format!(
                "network {} already exists",
                spec.id
            )));
        }
        if spec.subnets.is_empty() {
            return Err(NetdError::invalid(
                "the netd driver needs IPAM data with a pool and a gateway",
            ));
        }
        self.kernel.touch();
        let bridge_opts = super::network::bridge_options(&spec.options, &spec.id)?;
        let subnets: Vec<Subnet> = spec
            .subnets
            .iter()
            .map(|s| {
                let pid = PoolId {
                    space: AddressSpace::Local,
                    subnet: s.pool,
                    range: None,
                };
                // The pool id when netd's IPAM driver made it (the caller
                // may use another IPAM driver).
                let pool = self
                    .plugin_pools
                    .keys()
                    .find(|k| k.parse::<PoolId>().is_ok_and(|p| p.subnet == pid.subnet))
                    .cloned()
                    .unwrap_or_default();
                Subnet {
                    pool,
                    subnet: s.pool,
                    ip_range: None,
                    gateway: s.gateway,
                    aux: s.aux.clone(),
                    user_subnet: true,
                }
            })
            .collect();
        let mut labels = BTreeMap::new();
        labels.insert(PLUGIN_LABEL.to_owned(), "true".to_owned());
        let network = Network {
            id: spec.id.clone(),
            name: format!("plugin-{}", &spec.id[..12]),
            driver: DriverKind::Bridge,
            created: now(),
            internal: spec.internal,
            attachable: false,
            enable_ipv4: subnets.iter().any(|s| s.subnet.addr().is_ipv4()),
            enable_ipv6: spec.enable_ipv6 || subnets.iter().any(|s| s.subnet.addr().is_ipv6()),
            ipam_driver: "netd".into(),
            ipam_options: BTreeMap::new(),
            subnets,
            options: spec.options,
            labels,
            bridge: Some(bridge_opts),
            predefined: false,
            plugin: true,
        };
        self.activate_network(&network).await?;
        info!(network = %network.id, bridge = ?network.bridge.as_ref().map(|b| &b.name), "plugin network created");
        self.networks.insert(network.id.clone(), network);
        Ok(())
    }

    /// `DeleteNetwork`. An unknown network is already deleted.
    pub(crate) async fn plugin_delete_network(&mut self, id: &str) -> Result<(), NetdError> {
        let Some(network) = self.networks.get(id).filter(|n| n.plugin).cloned() else {
            return Ok(());
        };
        if self.network_endpoints(id).next().is_some() {
            return Err(NetdError::forbidden(format!(
                "network {id} has active endpoints"
            )));
        }
        self.deactivate_network(&network).await
    }

    fn plugin_network(&self, id: &str) -> Result<Network, NetdError> {
        self.networks
            .get(id)
            .filter(|n| n.plugin)
            .cloned()
            .ok_or_else(|| NetdError::not_found(format!("network {id} not found")))
    }

    fn plugin_endpoint(&self, network: &str, id: &str) -> Option<&Endpoint> {
        self.endpoints
            .get(id)
            .filter(|e| e.plugin && e.network_id == network)
    }

    /// `CreateEndpoint`: the veth, its host end on the bridge and its inner
    /// end in the host namespace for the caller to take at `Join`.
    pub(crate) async fn plugin_create_endpoint(
        &mut self,
        spec: PluginEndpointSpec,
    ) -> Result<PluginEndpointCreated, NetdError> {
        check_id("endpoint id", &spec.id)?;
        let network = self.plugin_network(&spec.network)?;
        if let Some(e) = self.plugin_endpoint(&spec.network, &spec.id) {
            // A replay: answer as the first time.
            return Ok(PluginEndpointCreated {
                mac: spec.mac.is_none().then(|| e.mac.clone()).flatten(),
            });
        }
        if self.endpoints.contains_key(&spec.id) {
            return Err(NetdError::conflict(format!(
                "endpoint {} already exists",
                spec.id
            )));
        }
        if spec.ipv4.is_none() && spec.ipv6.is_none() {
            return Err(NetdError::invalid(
                "the netd driver needs an address for the endpoint (use an IPAM driver that gives one)",
            ));
        }
        for (addr, v6) in [(spec.ipv4, false), (spec.ipv6, true)] {
            let Some(addr) = addr else { continue };
            let fits = network
                .subnet(v6)
                .is_some_and(|s| s.subnet.contains(&addr.addr()));
            if !fits {
                return Err(NetdError::invalid(format!(
                    "address {addr} is not in a subnet of network {}",
                    network.id
                )));
            }
        }
        let mac = match &spec.mac {
            Some(m) => bridge::parse_mac(m)
                .ok_or_else(|| NetdError::invalid(format!("invalid MAC address: {m}")))?,
            None => bridge::random_mac(super::random()),
        };
        self.kernel.touch();
        let ep = Endpoint {
            id: spec.id.clone(),
            name: format!("ep-{}", &spec.id[..12]),
            network_id: network.id.clone(),
            sandbox_id: format!("ep-{}", spec.id),
            ifname: Some(plugin_peer_name(&spec.id)),
            host_ifname: Some(bridge::veth_name(&spec.id)),
            mac: Some(bridge::format_mac(&mac)),
            ipv4: spec.ipv4,
            ipv6: spec.ipv6,
            requested_ipv4: None,
            requested_ipv6: None,
            aliases: Vec::new(),
            driver_opts: BTreeMap::new(),
            gw_priority: 0,
            seq: self.next_seq,
            ports: Vec::new(),
            plugin: true,
            plugin_sandbox: None,
        };
        let mut kcfg = super::sandbox::kernel_endpoint(&network, &ep)?;
        // The caller puts the addresses on the interface once it is in its
        // sandbox.
        kcfg.addresses.clear();
        let bridge_name = network
            .bridge
            .as_ref()
            .map(|b| b.name.clone())
            .unwrap_or_default();
        let mut journal = Journal::default();
        let result = self
            .plant_plugin_endpoint(&mut journal, &network, &ep, &bridge_name, &kcfg)
            .await;
        self.settle(journal, result).await?;
        info!(endpoint = %ep.id, network = %network.id, veth = %kcfg.host_ifname, "plugin endpoint created");
        self.next_seq = ep.seq + 1;
        let chosen = spec.mac.is_none().then(|| ep.mac.clone()).flatten();
        self.endpoints.insert(ep.id.clone(), ep);
        Ok(PluginEndpointCreated { mac: chosen })
    }

    /// The kernel and store part of `CreateEndpoint`: the veth in netd's
    /// own namespace, its isolation element, its record.
    async fn plant_plugin_endpoint(
        &mut self,
        journal: &mut Journal,
        network: &Network,
        ep: &Endpoint,
        bridge_name: &str,
        kcfg: &bridge::EndpointConfig,
    ) -> Result<(), NetdError> {
        let own = self
            .kernel
            .open_netns(std::path::Path::new("/proc/self/ns/net"), "netd")?;
        let mark = format!("{EP_ALIAS}{}", ep.id);
        self.kernel.join(bridge_name, &own, kcfg, &mark).await?;
        journal.push(Undo::Veth(kcfg.host_ifname.clone()));
        let (mut on, mut off) = (FirewallChange::new(), FirewallChange::new());
        if let Some(port) = super::firewall::isolated_port(network, ep) {
            on.isolate_port(port, true);
            off.isolate_port(port, false);
        }
        self.firewall_journaled(journal, on, off)?;
        let mut change = Change::default();
        change.put_endpoint(ep)?;
        self.store.commit(change)?;
        Ok(())
    }

    /// `DeleteEndpoint`: unpublishes its ports and deletes its veth. An
    /// unknown endpoint is already deleted.
    pub(crate) async fn plugin_delete_endpoint(
        &mut self,
        network: &str,
        id: &str,
    ) -> Result<(), NetdError> {
        let Some(ep) = self.plugin_endpoint(network, id).cloned() else {
            return Ok(());
        };
        let Some(net) = self.networks.get(network).cloned() else {
            return Ok(());
        };
        self.kernel.touch();
        let mut journal = Journal::default();
        let result = self.unplant_plugin_endpoint(&mut journal, &net, &ep);
        self.settle_now(journal, result)?;
        self.unreserve_ports(&ep);
        self.endpoints.remove(&ep.id);
        if let Some(h) = &ep.host_ifname {
            let tombstone = bridge::tombstone_name(&ep.id);
            let peer = ep.ifname.as_deref().unwrap_or_default();
            // The inner end is back in the host namespace (after Leave) or
            // went with the caller's sandbox; retiring the host end is
            // enough either way.
            if let Err(e) = self.kernel.retire_endpoint(None, h, peer, &tombstone).await {
                warn!(endpoint = %ep.id, error = %e, "could not retire the veth; the next start removes it");
            }
        }
        info!(endpoint = %ep.id, network = %network, "plugin endpoint deleted");
        Ok(())
    }

    /// The firewall and store part of `DeleteEndpoint`.
    fn unplant_plugin_endpoint(
        &mut self,
        journal: &mut Journal,
        network: &Network,
        ep: &Endpoint,
    ) -> Result<(), NetdError> {
        let (mut off, mut on) = (FirewallChange::new(), FirewallChange::new());
        self.stage_endpoint_firewall(&mut off, network, ep, false);
        self.stage_endpoint_firewall(&mut on, network, ep, true);
        self.firewall_journaled(journal, off, on)?;
        let mut change = Change::default();
        change.del_endpoint(&ep.id);
        self.store.commit(change)?;
        Ok(())
    }

    /// `Join`: the caller takes the veth's inner end into `sandbox_key`.
    pub(crate) fn plugin_join(
        &mut self,
        network: &str,
        id: &str,
        sandbox_key: &str,
    ) -> Result<PluginJoin, NetdError> {
        let net = self.plugin_network(network)?;
        let mut ep = self
            .plugin_endpoint(network, id)
            .cloned()
            .ok_or_else(|| NetdError::not_found(format!("endpoint {id} not found")))?;
        if ep.plugin_sandbox.as_deref() != Some(sandbox_key) {
            ep.plugin_sandbox = Some(sandbox_key.to_owned());
            let mut change = Change::default();
            change.put_endpoint(&ep)?;
            self.store.commit(change)?;
        }
        let gateway = |v6: bool, has: bool| {
            net.subnet(v6)
                .filter(|_| has && !net.internal)
                .map(|s| s.gateway)
        };
        let join = PluginJoin {
            src_name: ep.ifname.clone().unwrap_or_default(),
            dst_prefix: net
                .bridge
                .as_ref()
                .map(|b| b.iface_prefix.clone())
                .unwrap_or_else(|| "eth".into()),
            gateway: gateway(false, ep.ipv4.is_some()),
            gateway_v6: gateway(true, ep.ipv6.is_some()),
            disable_gateway_service: net.internal,
        };
        self.endpoints.insert(ep.id.clone(), ep);
        Ok(join)
    }

    /// `Leave`. An unknown endpoint has already left.
    pub(crate) fn plugin_leave(&mut self, network: &str, id: &str) -> Result<(), NetdError> {
        let Some(mut ep) = self.plugin_endpoint(network, id).cloned() else {
            return Ok(());
        };
        if ep.plugin_sandbox.take().is_some() {
            let mut change = Change::default();
            change.put_endpoint(&ep)?;
            self.store.commit(change)?;
            self.endpoints.insert(ep.id.clone(), ep);
        }
        Ok(())
    }

    /// `ProgramExternalConnectivity`: publishes `mappings` (from
    /// `com.docker.network.portmap`) on the endpoint, replacing what it
    /// published before; all or nothing.
    pub(crate) fn plugin_program_external(
        &mut self,
        network: &str,
        id: &str,
        mappings: &[PortMapping],
    ) -> Result<(), NetdError> {
        let net = self.plugin_network(network)?;
        let old = self
            .plugin_endpoint(network, id)
            .cloned()
            .ok_or_else(|| NetdError::not_found(format!("endpoint {id} not found")))?;
        if !old.ports.is_empty() {
            self.plugin_revoke_external(network, id)?;
        }
        let ep = self
            .plugin_endpoint(network, id)
            .cloned()
            .ok_or_else(|| NetdError::not_found(format!("endpoint {id} not found")))?;
        self.publish_mappings(mappings, &net, ep)
    }

    /// `RevokeExternalConnectivity`: unpublishes the endpoint's ports.
    pub(crate) fn plugin_revoke_external(
        &mut self,
        network: &str,
        id: &str,
    ) -> Result<(), NetdError> {
        let Some(mut ep) = self.plugin_endpoint(network, id).cloned() else {
            return Ok(());
        };
        if ep.ports.is_empty() {
            return Ok(());
        }
        let mut journal = Journal::default();
        let result = self.unpublish_in(&mut journal, &mut ep);
        self.settle_now(journal, result)?;
        self.unreserve_ports(&ep);
        self.endpoints.insert(ep.id.clone(), ep);
        Ok(())
    }

    /// The endpoint for `EndpointOperInfo`.
    pub(crate) fn plugin_endpoint_info(
        &self,
        network: &str,
        id: &str,
    ) -> Result<Endpoint, NetdError> {
        self.plugin_endpoint(network, id)
            .cloned()
            .ok_or_else(|| NetdError::not_found(format!("endpoint {id} not found")))
    }
}
