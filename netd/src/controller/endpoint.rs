//! Endpoints: connecting a sandbox to a network and disconnecting it, with
//! the default route and published ports following the sandbox's gateway
//! endpoint.

use std::net::IpAddr;

use drivers::bridge;
use drivers::firewall::Change as FirewallChange;
use ipnet::IpNet;
use tracing::{info, warn};

use super::journal::{Journal, Undo};
use super::kernel::Netns;
use super::sandbox::{choose_gateway, kernel_endpoint};
use super::{Controller, EP_ALIAS, new_id, random};
use crate::error::NetdError;
use crate::model::{DriverKind, Endpoint, Network, Sandbox};
use crate::store::Change;
use netd_api::types::EndpointSettings;

const HOST_NETWORK_CONFLICT: &str =
    "container cannot be disconnected from host network or connected to host network";
const NONE_NETWORK_CONFLICT: &str = "container cannot be connected to multiple networks with one of the networks in private (none) mode";

impl Controller {
    /// `POST /networks/{id}/connect`.
    pub(crate) async fn connect(
        &mut self,
        network_term: &str,
        container: &str,
        cfg: EndpointSettings,
    ) -> Result<(), NetdError> {
        self.kernel.touch();
        let network = self.find_network(network_term)?.clone();
        let sandbox = self.find_sandbox(container)?.clone();
        if network.plugin {
            return Err(NetdError::forbidden(format!(
                "network {} is managed by the engine that created it through netd's plugin socket; connect containers there",
                network.name
            )));
        }
        let current = self.sandbox_endpoints(&sandbox.id);
        if current.iter().any(|e| e.network_id == network.id) {
            return Err(NetdError::forbidden(format!(
                "endpoint with name {} already exists in network {}",
                sandbox.name, network.name
            )));
        }
        let is_host = network.driver == DriverKind::Host;
        if is_host != sandbox.host_mode {
            return Err(NetdError::invalid(HOST_NETWORK_CONFLICT));
        }
        let on_none = current.iter().any(|e| {
            self.networks
                .get(&e.network_id)
                .is_some_and(|n| n.driver == DriverKind::Null)
        });
        if on_none || (network.driver == DriverKind::Null && !current.is_empty()) {
            return Err(NetdError::invalid(NONE_NETWORK_CONFLICT));
        }
        let endpoint = self.plan_endpoint(&network, &sandbox, &current, cfg)?;
        drop(current);
        match network.driver {
            DriverKind::Bridge => {
                let mut journal = Journal::default();
                let result = self
                    .join_bridge(&mut journal, &network, sandbox, endpoint)
                    .await;
                let (sandbox, ep) = self.settle(journal, result).await?;
                info!(endpoint = %ep.id, network = %network.name, sandbox = %sandbox.name, ifname = ?ep.ifname, "connected");
                self.next_seq = ep.seq + 1;
                let sid = sandbox.id.clone();
                self.sandboxes.insert(sandbox.id.clone(), sandbox);
                self.endpoints.insert(ep.id.clone(), ep);
                self.refresh_dns(
                    std::slice::from_ref(&network.id),
                    std::slice::from_ref(&sid),
                );
                Ok(())
            }
            DriverKind::Host | DriverKind::Null => {
                let mut change = Change::default();
                change.put_endpoint(&endpoint)?;
                self.store.commit(change)?;
                self.next_seq = endpoint.seq + 1;
                self.endpoints.insert(endpoint.id.clone(), endpoint);
                Ok(())
            }
        }
    }

    /// Checks the endpoint settings and makes the endpoint record (addresses
    /// not allocated yet).
    fn plan_endpoint(
        &self,
        network: &Network,
        sandbox: &Sandbox,
        current: &[&Endpoint],
        cfg: EndpointSettings,
    ) -> Result<Endpoint, NetdError> {
        if cfg.links.as_ref().is_some_and(|l| !l.is_empty()) {
            return Err(NetdError::invalid(
                "legacy container links are not supported by netd",
            ));
        }
        let user_defined = !network.predefined;
        let aliases: Vec<String> = cfg
            .aliases
            .unwrap_or_default()
            .into_iter()
            .filter(|a| !a.is_empty())
            .collect();
        if !aliases.is_empty() && !user_defined {
            return Err(NetdError::invalid(
                "network-scoped alias is supported only for containers in user defined networks",
            ));
        }
        let ipam = cfg.ipam_config.unwrap_or_default();
        if ipam.link_local_ips.as_ref().is_some_and(|l| !l.is_empty()) {
            return Err(NetdError::invalid(
                "link-local addresses are not supported by netd",
            ));
        }
        let parse_ip = |s: &str, v6: bool| -> Result<Option<IpAddr>, NetdError> {
            if s.is_empty() {
                return Ok(None);
            }
            let ip: IpAddr = s
                .parse()
                .ok()
                .filter(|ip: &IpAddr| ip.is_ipv6() == v6)
                .ok_or_else(|| {
                    NetdError::invalid(format!(
                        "invalid IPv{} address: {s}",
                        if v6 { 6 } else { 4 }
                    ))
                })?;
            if !user_defined {
                return Err(NetdError::invalid(
                    "user specified IP address is supported on user defined networks only",
                ));
            }
            let sub = network.subnet(v6).ok_or_else(|| {
                NetdError::invalid(format!(
                    "invalid address {ip}: It does not belong to any of this network's subnets"
                ))
            })?;
            if !sub.user_subnet {
                return Err(NetdError::invalid(
                    "user specified IP address is supported only when connecting to networks with user configured subnets",
                ));
            }
            if !sub.subnet.contains(&ip) {
                return Err(NetdError::invalid(format!(
                    "invalid address {ip}: It does not belong to any of this network's subnets"
                )));
            }
            Ok(Some(ip))
        };
        let requested_ipv4 = parse_ip(&ipam.ipv4_address, false)?;
        let requested_ipv6 = parse_ip(&ipam.ipv6_address, true)?;
        let is_bridge = network.driver == DriverKind::Bridge;
        let mac = if !is_bridge {
            None
        } else if cfg.mac_address.is_empty() {
            Some(bridge::format_mac(&bridge::random_mac(random())))
        } else {
            let m = bridge::parse_mac(&cfg.mac_address)
                .filter(|m| m[0] & 1 == 0)
                .ok_or_else(|| {
                    NetdError::invalid(format!("invalid MAC address: {}", cfg.mac_address))
                })?;
            Some(bridge::format_mac(&m))
        };
        let id = new_id();
        let ifname = is_bridge.then(|| {
            let prefix = network
                .bridge
                .as_ref()
                .map_or("eth", |b| b.iface_prefix.as_str());
            let used: Vec<&str> = current.iter().filter_map(|e| e.ifname.as_deref()).collect();
            (0..)
                .map(|i| format!("{prefix}{i}"))
                .find(|n| !used.contains(&n.as_str()))
                .expect("an unused interface index exists")
        });
        Ok(Endpoint {
            host_ifname: is_bridge.then(|| bridge::veth_name(&id)),
            id,
            name: sandbox.name.clone(),
            network_id: network.id.clone(),
            sandbox_id: sandbox.id.clone(),
            ifname,
            mac,
            ipv4: None,
            ipv6: None,
            requested_ipv4,
            requested_ipv6,
            aliases,
            driver_opts: cfg.driver_opts.unwrap_or_default(),
            gw_priority: cfg.gw_priority,
            seq: self.next_seq,
            ports: Vec::new(),
            plugin: false,
            plugin_sandbox: None,
        })
    }

    /// Allocates the endpoint's addresses, reserves the sandbox's host
    /// ports when this endpoint becomes its gateway, creates its veth in the
    /// sandbox, adds its firewall elements, moves the default route,
    /// rewrites the sandbox's files and commits. Returns the sandbox and
    /// endpoint as committed.
    async fn join_bridge(
        &mut self,
        journal: &mut Journal,
        network: &Network,
        mut sandbox: Sandbox,
        mut ep: Endpoint,
    ) -> Result<(Sandbox, Endpoint), NetdError> {
        let netns_path = sandbox
            .netns
            .clone()
            .ok_or_else(|| NetdError::internal("bridge endpoint on a host-mode sandbox"))?;
        let pools = self.allocate_addresses(journal, network, &mut ep)?;
        // Decide first what this endpoint brings: the default route, and the
        // sandbox's published ports (held by the first gateway endpoint).
        let mut all: Vec<&Endpoint> = self.sandbox_endpoints(&sandbox.id);
        let ports_held = all.iter().any(|e| !e.ports.is_empty());
        all.push(&ep);
        let chosen = choose_gateway(&all, &self.networks).map(|e| e.id.clone());
        drop(all);
        let takes_gateway =
            chosen != sandbox.gateway_endpoint && chosen.as_deref() == Some(ep.id.as_str());
        // Host ports are reserved before the kernel changes, so that a port
        // conflict is answered at once.
        if takes_gateway && !ports_held {
            self.reserve_ports(journal, &sandbox.ports, network, &mut ep)?;
        }
        let ns = self.kernel.open_netns(&netns_path, &sandbox.id[..12])?;
        let kcfg = kernel_endpoint(network, &ep)?;
        let bridge_name = network.bridge.as_ref().map_or("", |b| b.name.as_str());
        let mark = format!("{EP_ALIAS}{}", ep.id);
        self.kernel.join(bridge_name, &ns, &kcfg, &mark).await?;
        journal.push(Undo::Veth(kcfg.host_ifname.clone()));
        let (mut on, mut off) = (FirewallChange::new(), FirewallChange::new());
        self.stage_endpoint_firewall(&mut on, network, &ep, true);
        self.stage_endpoint_firewall(&mut off, network, &ep, false);
        self.firewall_journaled(journal, on, off)?;
        if takes_gateway {
            if sandbox.gateway_endpoint.is_some() {
                journal.push(Undo::DefaultRoute {
                    sandbox: sandbox.id.clone(),
                });
            }
            self.install_default_route(&ns, network, &ep).await?;
            sandbox.gateway_endpoint = chosen;
        }
        let mut all: Vec<&Endpoint> = self.sandbox_endpoints(&sandbox.id);
        all.push(&ep);
        journal.push(Undo::Files {
            sandbox: sandbox.id.clone(),
        });
        self.render_files(&sandbox, &all)?;
        let mut change = Change::default();
        change.put_endpoint(&ep)?;
        change.put_sandbox(&sandbox)?;
        self.stage_pools(&mut change, pools.iter().map(String::as_str))?;
        self.store.commit(change)?;
        Ok((sandbox, ep))
    }

    /// Allocates the endpoint's addresses in IPAM, journaled; returns the
    /// pools touched.
    fn allocate_addresses(
        &mut self,
        journal: &mut Journal,
        network: &Network,
        ep: &mut Endpoint,
    ) -> Result<Vec<String>, NetdError> {
        let mut pools = Vec::new();
        for (v6, want) in [(false, ep.requested_ipv4), (true, ep.requested_ipv6)] {
            let Some(sub) = network.subnet(v6) else {
                continue;
            };
            let pool: ipam::PoolId = sub.pool.parse()?;
            let prior = self.pool_before(&pool)?;
            let ip = self.ipam.request_address(&pool, want)?;
            journal.push(Undo::Pool(prior));
            let net = IpNet::new(ip, sub.subnet.prefix_len()).expect("address lies in its subnet");
            if v6 {
                ep.ipv6 = Some(net);
            } else {
                ep.ipv4 = Some(net);
            }
            pools.push(sub.pool.clone());
        }
        Ok(pools)
    }

    /// Replaces the sandbox's default routes with ones through `ep`'s
    /// network gateways.
    pub(crate) async fn install_default_route(
        &self,
        ns: &Netns,
        network: &Network,
        ep: &Endpoint,
    ) -> Result<(), NetdError> {
        let ifname = ep.ifname.as_deref().unwrap_or("eth0");
        // Each family's route moves only if this endpoint has that family,
        // so a v4-only network does not take a dual-stack sandbox's v6 route.
        let gws: Vec<IpAddr> = [(false, ep.ipv4.is_some()), (true, ep.ipv6.is_some())]
            .into_iter()
            .filter_map(|(v6, has)| network.subnet(v6).filter(|_| has).map(|s| s.gateway))
            .collect();
        self.kernel.set_default_routes(ns, ifname, &gws).await?;
        Ok(())
    }

    /// Points the sandbox's default route at its committed gateway
    /// endpoint again.
    pub(crate) async fn restore_default_route(&self, sandbox: &str) -> Result<(), NetdError> {
        let Some(s) = self.sandboxes.get(sandbox) else {
            return Ok(());
        };
        let (Some(path), Some(ep)) = (
            &s.netns,
            s.gateway_endpoint
                .as_ref()
                .and_then(|id| self.endpoints.get(id)),
        ) else {
            return Ok(());
        };
        let Some(n) = self.networks.get(&ep.network_id) else {
            return Ok(());
        };
        let ns = self.kernel.open_netns(path, &s.id[..12])?;
        self.install_default_route(&ns, n, ep).await
    }

    /// `POST /networks/{id}/disconnect`.
    pub(crate) async fn disconnect(
        &mut self,
        network_term: &str,
        container: &str,
        force: bool,
    ) -> Result<(), NetdError> {
        self.kernel.touch();
        let network = self.find_network(network_term)?.clone();
        let mut sandbox = self.find_sandbox(container)?.clone();
        let ep = self
            .endpoints
            .values()
            .find(|e| e.sandbox_id == sandbox.id && e.network_id == network.id)
            .cloned()
            .ok_or_else(|| {
                NetdError::forbidden(format!(
                    "container {} is not connected to network {}",
                    sandbox.id, network.name
                ))
            })?;
        if network.driver == DriverKind::Host {
            return Err(NetdError::invalid(HOST_NETWORK_CONFLICT));
        }
        // The sandbox side; with --force a vanished namespace is no obstacle.
        let ns = match &sandbox.netns {
            Some(path) => match self.kernel.open_netns(path, &sandbox.id[..12]) {
                Ok(ns) => Some(ns),
                Err(e) if force || e.is_not_found() => {
                    warn!(sandbox = %sandbox.id, error = %e, "sandbox namespace unusable; disconnecting the host side only");
                    None
                }
                Err(e) => return Err(e.into()),
            },
            None => None,
        };
        let remaining: Vec<Endpoint> = self
            .sandbox_endpoints(&sandbox.id)
            .into_iter()
            .filter(|e| e.id != ep.id)
            .cloned()
            .collect();
        let next_gateway =
            (sandbox.gateway_endpoint.as_deref() == Some(ep.id.as_str())).then(|| {
                let refs: Vec<&Endpoint> = remaining.iter().collect();
                choose_gateway(&refs, &self.networks).cloned()
            });
        if let Some(next) = &next_gateway {
            sandbox.gateway_endpoint = next.as_ref().map(|e| e.id.clone());
        }
        let mut journal = Journal::default();
        let result = self.unjoin(&mut journal, &network, &sandbox, &ep).await;
        self.settle(journal, result).await?;
        self.unreserve_ports(&ep);
        self.endpoints.remove(&ep.id);
        // What follows changes nothing the store records; failures are logged.
        if let (Some(h), Some(ifname)) = (&ep.host_ifname, &ep.ifname) {
            let tombstone = bridge::tombstone_name(&ep.id);
            if let Err(e) = self
                .kernel
                .retire_endpoint(ns.as_ref(), h, ifname, &tombstone)
                .await
            {
                warn!(endpoint = %ep.id, error = %e, "could not retire the veth; the next start removes it");
            }
        }
        if let (Some(Some(next)), Some(ns)) = (&next_gateway, &ns) {
            self.follow_gateway(&sandbox, next, ns).await;
        }
        let refs: Vec<&Endpoint> = remaining.iter().collect();
        if let Err(e) = self.render_files(&sandbox, &refs) {
            warn!(sandbox = %sandbox.id, error = %e, "could not rewrite the sandbox's files");
        }
        info!(endpoint = %ep.id, network = %network.name, sandbox = %sandbox.name, "disconnected");
        let sid = sandbox.id.clone();
        self.sandboxes.insert(sandbox.id.clone(), sandbox);
        self.refresh_dns(
            std::slice::from_ref(&network.id),
            std::slice::from_ref(&sid),
        );
        Ok(())
    }

    /// The store and firewall part of a disconnect: addresses released,
    /// elements removed, the endpoint's record deleted and the sandbox's
    /// updated.
    async fn unjoin(
        &mut self,
        journal: &mut Journal,
        network: &Network,
        sandbox: &Sandbox,
        ep: &Endpoint,
    ) -> Result<(), NetdError> {
        let mut change = Change::default();
        self.release_addresses(journal, ep, &mut change)?;
        change.del_endpoint(&ep.id);
        change.put_sandbox(sandbox)?;
        let (mut off, mut on) = (FirewallChange::new(), FirewallChange::new());
        self.stage_endpoint_firewall(&mut off, network, ep, false);
        self.stage_endpoint_firewall(&mut on, network, ep, true);
        self.firewall_journaled(journal, off, on)?;
        self.store.commit(change)?;
        Ok(())
    }

    /// Moves the default route and the published ports to the sandbox's new
    /// gateway endpoint; failures are logged (nothing stored changes).
    async fn follow_gateway(&mut self, sandbox: &Sandbox, next: &Endpoint, ns: &Netns) {
        let Some(n) = self.networks.get(&next.network_id).cloned() else {
            return;
        };
        if let Err(e) = self.install_default_route(ns, &n, next).await {
            warn!(sandbox = %sandbox.id, error = %e, "could not move the default route");
        }
        if let Err(e) = self.publish_on(sandbox, next).await {
            warn!(sandbox = %sandbox.id, error = %e, "could not publish ports on the new gateway network");
        }
    }
}
