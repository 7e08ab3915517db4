//! Sandboxes and their endpoints: create, delete, connect, disconnect, and
//! the rendered `hosts` and `resolv.conf`.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use drivers::bridge::{self, EndpointConfig};
use drivers::firewall::Change as FirewallChange;
use drivers::{Links, netns};
use ipnet::IpNet;
use netd_api::files::{self, ResolvConf};
use tracing::{info, warn};

use super::firewall::isolated_port;
use super::{Controller, EP_ALIAS, is_full_id, new_id, now, random};
use crate::error::NetdError;
use crate::model::{DriverKind, Endpoint, Network, Sandbox};
use crate::store::Change;
use netd_api::types::{EndpointSettings, SandboxCreateRequest, SandboxResource};

const HOST_NETWORK_CONFLICT: &str =
    "container cannot be disconnected from host network or connected to host network";
const NONE_NETWORK_CONFLICT: &str = "container cannot be connected to multiple networks with one of the networks in private (none) mode";

/// Docker's container-name rule.
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Picks the endpoint that provides a sandbox's default route: the highest
/// `gw_priority` among endpoints on bridge networks with a route out, the
/// first connected among equals.
pub(crate) fn choose_gateway<'a>(
    endpoints: &[&'a Endpoint],
    networks: &BTreeMap<String, Network>,
) -> Option<&'a Endpoint> {
    endpoints
        .iter()
        .copied()
        .filter(|e| {
            networks
                .get(&e.network_id)
                .is_some_and(|n| n.driver == DriverKind::Bridge && !n.internal)
        })
        .max_by_key(|e| (e.gw_priority, std::cmp::Reverse(e.seq)))
}

/// Writes a file in place (truncate + write), so that bind mounts of it in
/// running containers see the new content.
fn write_in_place(path: &Path, text: &str) -> Result<(), NetdError> {
    std::fs::write(path, text)
        .map_err(|e| NetdError::internal(format!("writing {}: {e}", path.display())))
}

impl Controller {
    /// `POST /sandboxes`.
    pub(crate) async fn create_sandbox(
        &mut self,
        req: SandboxCreateRequest,
    ) -> Result<SandboxResource, NetdError> {
        self.reaper.touch();
        let id = if req.id.is_empty() {
            new_id()
        } else {
            req.id.clone()
        };
        if !is_full_id(&id) {
            return Err(NetdError::invalid(format!(
                "invalid sandbox id {id:?}: expected 64 lowercase hexadecimal digits"
            )));
        }
        if self.sandboxes.contains_key(&id) {
            return Err(NetdError::conflict(format!("sandbox {id} already exists")));
        }
        let name = if req.name.is_empty() {
            id[..12].to_owned()
        } else {
            req.name.trim_start_matches('/').to_owned()
        };
        if !valid_name(&name) {
            return Err(NetdError::invalid(format!(
                "Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
            )));
        }
        if let Some(other) = self.sandboxes.values().find(|s| s.name == name) {
            return Err(NetdError::conflict(format!(
                "Conflict. The container name \"/{name}\" is already in use by container \"{}\". \
                 You have to remove (or rename) that container to be able to reuse that name.",
                other.id
            )));
        }
        let host_mode = match req.network_mode.as_str() {
            "" | "default" | "bridge" | "none" => false,
            "host" => true,
            m => {
                return Err(NetdError::invalid(format!(
                    "invalid network mode {m:?} for a sandbox: \"host\" or \"default\""
                )));
            }
        };
        let dns = req
            .dns
            .iter()
            .map(|s| {
                s.parse::<IpAddr>()
                    .map_err(|_| NetdError::invalid(format!("{s} is not an IP address (--dns)")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let host_gateway = self.default_bridge_gateway();
        for h in &req.extra_hosts {
            files::parse_extra_host(h, host_gateway).map_err(NetdError::invalid)?;
        }
        let mut ports = match &req.port_bindings {
            Some(b) => netd_api::portspec::from_port_bindings(b)?,
            None => Vec::new(),
        };
        if req.publish_all_ports
            && let Some(exposed) = &req.exposed_ports
        {
            ports = exposed.publish_all(&ports);
        }
        let netns_path = self.paths.netns_dir().join(&id);
        let sandbox = Sandbox {
            id: id.clone(),
            name,
            host_mode,
            netns: (!host_mode).then(|| netns_path.clone()),
            hostname: if req.hostname.is_empty() {
                id[..12].to_owned()
            } else {
                req.hostname
            },
            domainname: req.domainname,
            dns,
            dns_search: req.dns_search,
            dns_options: req.dns_options,
            extra_hosts: req.extra_hosts,
            files: self.paths.sandboxes_dir().join(&id),
            gateway_endpoint: None,
            ports,
            created: now(),
        };
        let made = async {
            if !host_mode {
                let rt = tokio::runtime::Handle::current();
                let (_file, links) = netns::create(&netns_path, || {
                    let _g = rt.enter();
                    Links::here(Some(id[..12].to_owned()))
                })?;
                let links = links?;
                let lo = links.require("lo").await?;
                links.set_up(lo.index, "lo").await?;
            }
            std::fs::create_dir_all(&sandbox.files).map_err(|e| {
                NetdError::internal(format!("creating {}: {e}", sandbox.files.display()))
            })?;
            self.render_files(&sandbox, &[])?;
            let mut change = Change::default();
            change.put_sandbox(&sandbox)?;
            self.store.commit(change)?;
            Ok::<(), NetdError>(())
        };
        if let Err(e) = made.await {
            let _ = netns::remove(&netns_path);
            let _ = std::fs::remove_dir_all(&sandbox.files);
            return Err(e);
        }
        info!(sandbox = %sandbox.id, name = %sandbox.name, host_mode, "sandbox created");
        let view = self.sandbox_resource(&sandbox);
        self.sandboxes.insert(id, sandbox);
        Ok(view)
    }

    /// The IPv4 gateway of the default `bridge` network (`host-gateway`).
    fn default_bridge_gateway(&self) -> Option<IpAddr> {
        self.networks
            .values()
            .find(|n| n.predefined && n.name == "bridge")
            .and_then(|n| n.subnet(false))
            .map(|s| s.gateway)
    }

    /// Renders `hosts` and `resolv.conf` for a sandbox whose endpoints are
    /// `endpoints`.
    pub(crate) fn render_files(
        &self,
        s: &Sandbox,
        endpoints: &[&Endpoint],
    ) -> Result<(), NetdError> {
        let gw = self.default_bridge_gateway();
        let extra: Vec<_> = s
            .extra_hosts
            .iter()
            .filter_map(|h| files::parse_extra_host(h, gw).ok())
            .collect();
        let own: Vec<IpAddr> = endpoints
            .iter()
            .flat_map(|e| e.ipv4.iter().chain(e.ipv6.iter()).map(IpNet::addr))
            .collect();
        write_in_place(
            &s.hosts_path(),
            &files::render_hosts(&extra, &own, &s.hostname, &s.domainname),
        )?;
        let host =
            ResolvConf::parse(&std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default());
        let resolv = if self.uses_embedded_dns(s, endpoints) {
            super::dns::embedded_resolv_conf(&host, &s.dns_search, &s.dns_options)
        } else if s.host_mode
            && s.dns.is_empty()
            && s.dns_search.is_empty()
            && s.dns_options.is_empty()
        {
            host
        } else {
            let v6 = endpoints.iter().any(|e| e.ipv6.is_some());
            files::sandbox_resolv_conf(&host, &s.dns, &s.dns_search, &s.dns_options, v6)
        };
        write_in_place(&s.resolv_conf_path(), &resolv.render())
    }

    /// `DELETE /sandboxes/{id}`: disconnects every endpoint and removes the
    /// namespace and files.
    pub(crate) async fn remove_sandbox(&mut self, term: &str) -> Result<(), NetdError> {
        self.reaper.touch();
        let s = self.find_sandbox(term)?.clone();
        let eps: Vec<Endpoint> = self.sandbox_endpoints(&s.id).into_iter().cloned().collect();
        // IPAM and the store record first (nothing in the kernel changes if
        // they fail), then the kernel, then the commit.
        let mut change = Change::default();
        self.release_and_stage(&eps, &mut change)?;
        let mut fw = FirewallChange::new();
        for e in &eps {
            if let Some(port) = self
                .networks
                .get(&e.network_id)
                .and_then(|n| isolated_port(n, e))
            {
                fw.isolate_port(port, false);
            }
            self.stage_unpublish(&mut fw, e);
        }
        if let Err(err) = self.apply_firewall(fw) {
            self.reacquire_all(&eps);
            return Err(err);
        }
        for e in &eps {
            if let Some(h) = &e.host_ifname {
                // The namespace goes with the sandbox; only the host end needs
                // taking out of service before its deletion in the background.
                if let Err(err) = bridge::retire(&self.host, None, h, "", "").await {
                    warn!(endpoint = %e.id, error = %err, "could not retire a veth; the next start removes it");
                }
                self.reaper.reap();
            }
            self.unreserve_ports(e);
        }
        for e in &eps {
            change.del_endpoint(&e.id);
        }
        change.del_sandbox(&s.id);
        if let Err(err) = self.store.commit(change) {
            // The kernel side is gone; the next start recreates what the store
            // still lists. Keep memory matching the store.
            self.reacquire_all(&eps);
            return Err(err.into());
        }
        for e in &eps {
            self.endpoints.remove(&e.id);
        }
        self.sandboxes.remove(&s.id);
        if let Some(Err(e)) = s.netns.as_deref().map(netns::remove) {
            warn!(sandbox = %s.id, error = %e, "namespace left for the next start to clean");
        }
        let _ = std::fs::remove_dir_all(&s.files);
        info!(sandbox = %s.id, name = %s.name, "sandbox removed");
        let nets: Vec<String> = eps.iter().map(|e| e.network_id.clone()).collect();
        self.refresh_dns(&nets, std::slice::from_ref(&s.id));
        Ok(())
    }

    /// Releases the endpoints' addresses and stages the pools they touched;
    /// all or nothing.
    fn release_and_stage(
        &mut self,
        eps: &[Endpoint],
        change: &mut Change,
    ) -> Result<(), NetdError> {
        let mut pools = Vec::new();
        let mut released: Vec<&Endpoint> = Vec::new();
        for e in eps {
            let n = self.networks.get(&e.network_id).cloned();
            match release_addresses(&mut self.ipam, n.as_ref(), e) {
                Ok(p) => {
                    pools.extend(p);
                    released.push(e);
                }
                Err(err) => {
                    for r in released {
                        self.reacquire(r);
                    }
                    return Err(err);
                }
            }
        }
        if let Err(err) = self.stage_pools(change, pools.iter().map(String::as_str)) {
            for r in eps {
                self.reacquire(r);
            }
            return Err(err);
        }
        Ok(())
    }

    fn reacquire_all(&mut self, eps: &[Endpoint]) {
        for e in eps {
            self.reacquire(e);
        }
    }

    /// `POST /networks/{id}/connect`.
    pub(crate) async fn connect(
        &mut self,
        network_term: &str,
        container: &str,
        cfg: EndpointSettings,
    ) -> Result<(), NetdError> {
        self.reaper.touch();
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
            DriverKind::Bridge => self.join_bridge(network, sandbox, endpoint).await,
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

    /// Allocates the endpoint's addresses, creates its veth in the sandbox,
    /// moves the default route if this endpoint now provides it, rewrites
    /// the hosts file and commits; undoes everything on failure.
    async fn join_bridge(
        &mut self,
        network: Network,
        mut sandbox: Sandbox,
        mut ep: Endpoint,
    ) -> Result<(), NetdError> {
        let pools = match self.allocate_addresses(&network, &mut ep) {
            Ok(p) => p,
            Err(e) => return Err(e),
        };
        let result = self
            .join_allocated(&network, &mut sandbox, &mut ep, &pools)
            .await;
        if let Err(e) = result {
            let _ = release_addresses(&mut self.ipam, Some(&network), &ep);
            return Err(e);
        }
        info!(endpoint = %ep.id, network = %network.name, sandbox = %sandbox.name, ifname = ?ep.ifname, "connected");
        self.next_seq = ep.seq + 1;
        self.sandboxes.insert(sandbox.id.clone(), sandbox);
        let sid = ep.sandbox_id.clone();
        self.endpoints.insert(ep.id.clone(), ep);
        self.refresh_dns(
            std::slice::from_ref(&network.id),
            std::slice::from_ref(&sid),
        );
        Ok(())
    }

    /// Allocates the endpoint's addresses in IPAM (all or none); returns the
    /// pools touched.
    fn allocate_addresses(
        &mut self,
        network: &Network,
        ep: &mut Endpoint,
    ) -> Result<Vec<String>, NetdError> {
        let mut pools = Vec::new();
        for (v6, want) in [(false, ep.requested_ipv4), (true, ep.requested_ipv6)] {
            let Some(sub) = network.subnet(v6) else {
                continue;
            };
            let pid: ipam::PoolId = sub.pool.parse()?;
            let ip = match self.ipam.request_address(&pid, want) {
                Ok(ip) => ip,
                Err(e) => {
                    let _ = release_addresses(&mut self.ipam, Some(network), ep);
                    return Err(e.into());
                }
            };
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

    /// The kernel and store part of a bridge connect, its addresses already
    /// allocated; undoes its kernel changes on failure.
    async fn join_allocated(
        &mut self,
        network: &Network,
        sandbox: &mut Sandbox,
        ep: &mut Endpoint,
        pools: &[String],
    ) -> Result<(), NetdError> {
        let bridge_name = network
            .bridge
            .as_ref()
            .map(|b| b.name.clone())
            .unwrap_or_default();
        let netns_path = sandbox
            .netns
            .clone()
            .ok_or_else(|| NetdError::internal("bridge endpoint on a host-mode sandbox"))?;
        // Decide first what this endpoint brings: the default route, and the
        // sandbox's published ports (held by the first gateway endpoint).
        let mut all: Vec<&Endpoint> = self.sandbox_endpoints(&sandbox.id);
        let ports_held = all.iter().any(|e| !e.ports.is_empty());
        all.push(ep);
        let chosen = choose_gateway(&all, &self.networks).map(|e| e.id.clone());
        drop(all);
        let takes_gateway =
            chosen != sandbox.gateway_endpoint && chosen.as_deref() == Some(ep.id.as_str());
        // Host ports are reserved before anything else changes, so that a
        // port conflict leaves nothing behind.
        if takes_gateway && !ports_held {
            self.reserve_ports(&sandbox.ports, network, ep)?;
        }
        let ns_file = match netns::open(&netns_path) {
            Ok(f) => f,
            Err(e) => {
                self.unreserve_ports(ep);
                return Err(e.into());
            }
        };
        let sb_links = match Links::in_netns(&ns_file, &sandbox.id[..12]) {
            Ok(l) => l,
            Err(e) => {
                self.unreserve_ports(ep);
                return Err(e.into());
            }
        };
        let kcfg = kernel_endpoint(network, ep)?;
        if let Err(e) = bridge::join(&self.host, &bridge_name, &ns_file, &sb_links, &kcfg).await {
            self.unreserve_ports(ep);
            return Err(e.into());
        }
        let host_ifname = kcfg.host_ifname.clone();
        let mut fw_applied = false;
        let rest = async {
            let veth = self.host.require(&host_ifname).await?;
            self.host
                .set_alias(veth.index, &host_ifname, &format!("{EP_ALIAS}{}", ep.id))
                .await?;
            let mut fw = FirewallChange::new();
            if let Some(port) = isolated_port(network, ep) {
                fw.isolate_port(port, true);
            }
            self.stage_publish(&mut fw, ep);
            self.apply_firewall(fw)?;
            fw_applied = true;
            if takes_gateway {
                self.install_default_route(&sb_links, network, ep).await?;
                sandbox.gateway_endpoint = chosen.clone();
            }
            let mut all: Vec<&Endpoint> = self.sandbox_endpoints(&sandbox.id);
            all.push(ep);
            self.render_files(sandbox, &all)?;
            let mut change = Change::default();
            change.put_endpoint(ep)?;
            change.put_sandbox(sandbox)?;
            self.stage_pools(&mut change, pools.iter().map(String::as_str))?;
            self.store.commit(change)?;
            Ok::<(), NetdError>(())
        };
        if let Err(e) = rest.await {
            if fw_applied {
                let mut fw = FirewallChange::new();
                if let Some(port) = isolated_port(network, ep) {
                    fw.isolate_port(port, false);
                }
                self.stage_unpublish(&mut fw, ep);
                let _ = self.apply_firewall(fw);
            }
            let _ = bridge::leave(&self.host, &host_ifname).await;
            self.unreserve_ports(ep);
            ep.ports.clear();
            // Restore the previous gateway's route if it was replaced.
            if let Some(old) = self
                .sandboxes
                .get(&sandbox.id)
                .and_then(|s| s.gateway_endpoint.clone())
            {
                self.restore_default_route(&sb_links, &old).await;
            }
            let old = self.sandboxes.get(&sandbox.id).cloned();
            if let Some(old) = old {
                let eps = self.sandbox_endpoints(&old.id);
                let _ = self.render_files(&old, &eps);
            }
            return Err(e);
        }
        Ok(())
    }

    /// Replaces the sandbox's default routes with ones through `ep`'s
    /// network gateways.
    pub(crate) async fn install_default_route(
        &self,
        sb: &Links,
        network: &Network,
        ep: &Endpoint,
    ) -> Result<(), NetdError> {
        let ifname = ep.ifname.as_deref().unwrap_or("eth0");
        let mut gws = Vec::new();
        // Each family's route moves only if this endpoint has that family,
        // so a v4-only network does not take a dual-stack sandbox's v6 route.
        for (v6, has) in [(false, ep.ipv4.is_some()), (true, ep.ipv6.is_some())] {
            if let Some(s) = network.subnet(v6).filter(|_| has) {
                sb.remove_default_route(v6).await?;
                gws.push(s.gateway);
            }
        }
        bridge::set_default_routes(sb, ifname, &gws).await?;
        Ok(())
    }

    /// Best effort: puts back the default route of endpoint `ep_id`.
    async fn restore_default_route(&self, sb: &Links, ep_id: &str) {
        let Some(ep) = self.endpoints.get(ep_id) else {
            return;
        };
        let Some(n) = self.networks.get(&ep.network_id) else {
            return;
        };
        if let Err(e) = self.install_default_route(sb, n, ep).await {
            warn!(endpoint = %ep_id, error = %e, "could not restore default route");
        }
    }

    /// `POST /networks/{id}/disconnect`.
    pub(crate) async fn disconnect(
        &mut self,
        network_term: &str,
        container: &str,
        force: bool,
    ) -> Result<(), NetdError> {
        self.reaper.touch();
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
        let sb = match &sandbox.netns {
            Some(path) => {
                match netns::open(path).and_then(|f| Links::in_netns(&f, &sandbox.id[..12])) {
                    Ok(l) => Some(l),
                    Err(e) if force || e.is_not_found() => {
                        warn!(sandbox = %sandbox.id, error = %e, "sandbox namespace unusable; disconnecting the host side only");
                        None
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            None => None,
        };
        let remaining: Vec<Endpoint> = self
            .sandbox_endpoints(&sandbox.id)
            .into_iter()
            .filter(|e| e.id != ep.id)
            .cloned()
            .collect();
        let was_gateway = sandbox.gateway_endpoint.as_deref() == Some(ep.id.as_str());
        let next_gateway = if was_gateway {
            let refs: Vec<&Endpoint> = remaining.iter().collect();
            choose_gateway(&refs, &self.networks).cloned()
        } else {
            None
        };
        if was_gateway {
            sandbox.gateway_endpoint = next_gateway.as_ref().map(|e| e.id.clone());
        }
        // IPAM and the record first, then the kernel, then the commit.
        let mut change = Change::default();
        self.release_and_stage(std::slice::from_ref(&ep), &mut change)?;
        change.del_endpoint(&ep.id);
        if let Err(e) = change.put_sandbox(&sandbox) {
            self.reacquire(&ep);
            return Err(e.into());
        }
        let mut fw = FirewallChange::new();
        if let Some(port) = isolated_port(&network, &ep) {
            fw.isolate_port(port, false);
        }
        self.stage_unpublish(&mut fw, &ep);
        if let Err(e) = self.apply_firewall(fw) {
            self.reacquire(&ep);
            return Err(e);
        }
        if let (Some(h), Some(ifname)) = (&ep.host_ifname, &ep.ifname) {
            let tombstone = bridge::tombstone_name(&ep.id);
            if let Err(e) = bridge::retire(&self.host, sb.as_ref(), h, ifname, &tombstone).await {
                warn!(endpoint = %ep.id, error = %e, "could not retire the veth; the next start removes it");
            }
            self.reaper.reap();
        }
        self.unreserve_ports(&ep);
        if let Err(e) = self.store.commit(change) {
            self.reacquire(&ep);
            return Err(e.into());
        }
        self.endpoints.remove(&ep.id);
        // What follows changes nothing the store records; failures are logged.
        if let (Some(next), Some(sb)) = (&next_gateway, &sb)
            && let Some(n) = self.networks.get(&next.network_id)
        {
            if let Err(e) = self.install_default_route(sb, n, next).await {
                warn!(sandbox = %sandbox.id, error = %e, "could not move the default route");
            }
            if let Err(e) = self.publish_on(&sandbox, next).await {
                warn!(sandbox = %sandbox.id, error = %e, "could not publish ports on the new gateway network");
            }
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

    /// Takes an endpoint's addresses back after a release that could not be
    /// committed, so that IPAM matches the store again.
    fn reacquire(&mut self, ep: &Endpoint) {
        let Some(network) = self.networks.get(&ep.network_id) else {
            return;
        };
        for (v6, addr) in [(false, ep.ipv4), (true, ep.ipv6)] {
            let (Some(addr), Some(sub)) = (addr, network.subnet(v6)) else {
                continue;
            };
            let taken = sub
                .pool
                .parse::<ipam::PoolId>()
                .map_err(NetdError::from)
                .and_then(|pid| Ok(self.ipam.request_address(&pid, Some(addr.addr()))?));
            if let Err(e) = taken {
                warn!(endpoint = %ep.id, error = %e, "could not take an address back");
            }
        }
    }

    /// `GET /sandboxes/{id}`.
    pub(crate) fn sandbox_view(&self, term: &str) -> Result<SandboxResource, NetdError> {
        Ok(self.sandbox_resource(self.find_sandbox(term)?))
    }

    /// `GET /sandboxes`.
    pub(crate) fn list_sandboxes(&self) -> Vec<SandboxResource> {
        self.sandboxes
            .values()
            .map(|s| self.sandbox_resource(s))
            .collect()
    }
}

/// The kernel's view of a bridge endpoint.
pub(crate) fn kernel_endpoint(
    network: &Network,
    ep: &Endpoint,
) -> Result<EndpointConfig, NetdError> {
    let mac = ep
        .mac
        .as_deref()
        .and_then(bridge::parse_mac)
        .ok_or_else(|| {
            NetdError::internal(format!("endpoint {} has no valid MAC address", ep.id))
        })?;
    Ok(EndpointConfig {
        host_ifname: ep.host_ifname.clone().unwrap_or_default(),
        ifname: ep.ifname.clone().unwrap_or_default(),
        mac,
        mtu: network.bridge.as_ref().and_then(|b| b.mtu),
        addresses: ep.ipv4.iter().chain(ep.ipv6.iter()).copied().collect(),
    })
}

/// Releases an endpoint's addresses in `ipam`; returns the pools touched.
pub(crate) fn release_addresses(
    ipam: &mut ipam::Ipam,
    network: Option<&Network>,
    ep: &Endpoint,
) -> Result<Vec<String>, NetdError> {
    let mut pools = Vec::new();
    let Some(network) = network else {
        return Ok(pools);
    };
    for (v6, addr) in [(false, ep.ipv4), (true, ep.ipv6)] {
        let (Some(addr), Some(sub)) = (addr, network.subnet(v6)) else {
            continue;
        };
        let pid: ipam::PoolId = sub.pool.parse()?;
        ipam.release_address(&pid, addr.addr())?;
        pools.push(sub.pool.clone());
    }
    Ok(pools)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(id: &str, net: &str, prio: i64, seq: u64) -> Endpoint {
        Endpoint {
            id: id.into(),
            name: "c".into(),
            network_id: net.into(),
            sandbox_id: "s".into(),
            ifname: None,
            host_ifname: None,
            mac: None,
            ipv4: None,
            ipv6: None,
            requested_ipv4: None,
            requested_ipv6: None,
            aliases: vec![],
            driver_opts: BTreeMap::new(),
            gw_priority: prio,
            seq,
            ports: Vec::new(),
            plugin: false,
            plugin_sandbox: None,
        }
    }

    fn net(id: &str, driver: DriverKind, internal: bool) -> Network {
        Network {
            id: id.into(),
            name: id.into(),
            driver,
            created: String::new(),
            internal,
            attachable: false,
            enable_ipv4: true,
            enable_ipv6: false,
            ipam_driver: "default".into(),
            ipam_options: BTreeMap::new(),
            subnets: vec![],
            options: BTreeMap::new(),
            labels: BTreeMap::new(),
            bridge: None,
            predefined: false,
            plugin: false,
        }
    }

    #[test]
    fn gateway_is_first_connected_unless_priority_says_otherwise() {
        let nets: BTreeMap<String, Network> = [
            ("a".to_owned(), net("a", DriverKind::Bridge, false)),
            ("b".to_owned(), net("b", DriverKind::Bridge, false)),
            ("i".to_owned(), net("i", DriverKind::Bridge, true)),
        ]
        .into();
        let (a, b, i) = (
            ep("ea", "a", 0, 1),
            ep("eb", "b", 0, 2),
            ep("ei", "i", 9, 0),
        );
        assert_eq!(choose_gateway(&[&a, &b, &i], &nets).unwrap().id, "ea");
        let b_high = ep("eb", "b", 5, 2);
        assert_eq!(choose_gateway(&[&a, &b_high], &nets).unwrap().id, "eb");
        assert!(
            choose_gateway(&[&i], &nets).is_none(),
            "internal networks give no route out"
        );
    }

    #[test]
    fn container_names_follow_docker_rules() {
        assert!(valid_name("web-1.a_b"));
        assert!(!valid_name("-web"));
        assert!(!valid_name("a"));
        assert!(!valid_name("we b"));
    }
}
