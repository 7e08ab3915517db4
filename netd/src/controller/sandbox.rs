//! Sandboxes and their endpoints: create, delete, connect, disconnect, and
//! the rendered `hosts` and `resolv.conf`.

use std::collections::BTreeMap;
use std::net::IpAddr;

use drivers::bridge::{self, EndpointConfig};
use drivers::firewall::Change as FirewallChange;

use ipnet::IpNet;
use netd_api::files::{self, ResolvConf};
use tracing::{info, warn};

use super::firewall::isolated_port;
use super::journal::{Journal, Undo};
use super::{Controller, is_full_id, new_id, now};
use crate::error::NetdError;
use crate::model::{DriverKind, Endpoint, Network, Sandbox};
use crate::store::Change;
use netd_api::types::{SandboxCreateRequest, SandboxResource};

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
impl Controller {
    /// `POST /sandboxes`.
    pub(crate) async fn create_sandbox(
        &mut self,
        req: SandboxCreateRequest,
    ) -> Result<SandboxResource, NetdError> {
        self.kernel.touch();
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
        self.admit_owner(&id, &name, req.owner.as_ref()).await?;
        if self.sandboxes.contains_key(&id) {
            return Err(NetdError::conflict(format!("sandbox {id} already exists")));
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
        let sandbox = Sandbox {
            id: id.clone(),
            name,
            host_mode,
            netns: (!host_mode).then(|| self.paths.netns_dir().join(&id)),
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
            owner: req.owner,
        };
        let mut journal = Journal::default();
        let result = self.make_sandbox(&mut journal, &sandbox).await;
        self.settle(journal, result).await?;
        info!(sandbox = %sandbox.id, name = %sandbox.name, host_mode, "sandbox created");
        let view = self.sandbox_resource(&sandbox);
        self.watch_owner(&sandbox);
        self.sandboxes.insert(id, sandbox);
        Ok(view)
    }

    /// The kernel and store part of a sandbox's creation: its namespace,
    /// its files, its record.
    async fn make_sandbox(
        &mut self,
        journal: &mut Journal,
        sandbox: &Sandbox,
    ) -> Result<(), NetdError> {
        if let Some(path) = &sandbox.netns {
            self.kernel.create_netns(path, &sandbox.id[..12]).await?;
            journal.push(Undo::Netns(path.clone()));
        }
        self.kernel.create_dir(&sandbox.files)?;
        journal.push(Undo::Dir(sandbox.files.clone()));
        self.render_files(sandbox, &[])?;
        let mut change = Change::default();
        change.put_sandbox(sandbox)?;
        self.store.commit(change)?;
        Ok(())
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
        self.kernel.write_file(
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
        Ok(self
            .kernel
            .write_file(&s.resolv_conf_path(), &resolv.render())?)
    }

    /// `DELETE /sandboxes/{id}`: disconnects every endpoint and removes the
    /// namespace and files.
    pub(crate) async fn remove_sandbox(&mut self, term: &str) -> Result<(), NetdError> {
        self.kernel.touch();
        let s = self.find_sandbox(term)?.clone();
        let eps: Vec<Endpoint> = self.sandbox_endpoints(&s.id).into_iter().cloned().collect();
        let mut journal = Journal::default();
        let result = self.unmake_sandbox(&mut journal, &s, &eps).await;
        self.settle(journal, result).await?;
        // Committed: memory follows, then what is left in the kernel goes
        // (a failure there is for the next start to clean).
        for e in &eps {
            self.unreserve_ports(e);
            self.endpoints.remove(&e.id);
        }
        self.sandboxes.remove(&s.id);
        self.forget_owner(&s.id);
        for e in &eps {
            if let Some(h) = &e.host_ifname
                // The namespace goes with the sandbox; only the host end
                // needs taking out of service before its deletion.
                && let Err(err) = self.kernel.retire_endpoint(None, h, "", "").await
            {
                warn!(endpoint = %e.id, error = %err, "could not retire a veth; the next start removes it");
            }
        }
        if let Some(Err(e)) = s.netns.as_deref().map(|p| self.kernel.remove_netns(p)) {
            warn!(sandbox = %s.id, error = %e, "namespace left for the next start to clean");
        }
        if let Err(e) = self.kernel.remove_dir(&s.files) {
            warn!(sandbox = %s.id, error = %e, "files left for the next start to clean");
        }
        info!(sandbox = %s.id, name = %s.name, "sandbox removed");
        let nets: Vec<String> = eps.iter().map(|e| e.network_id.clone()).collect();
        self.refresh_dns(&nets, std::slice::from_ref(&s.id));
        Ok(())
    }

    /// The store and firewall part of a sandbox's removal: addresses
    /// released, elements removed, records deleted.
    async fn unmake_sandbox(
        &mut self,
        journal: &mut Journal,
        s: &Sandbox,
        eps: &[Endpoint],
    ) -> Result<(), NetdError> {
        let mut change = Change::default();
        for e in eps {
            self.release_addresses(journal, e, &mut change)?;
            change.del_endpoint(&e.id);
        }
        change.del_sandbox(&s.id);
        let (mut off, mut on) = (FirewallChange::new(), FirewallChange::new());
        for e in eps {
            if let Some(n) = self.networks.get(&e.network_id) {
                self.stage_endpoint_firewall(&mut off, n, e, false);
                self.stage_endpoint_firewall(&mut on, n, e, true);
            }
        }
        self.firewall_journaled(journal, off, on)?;
        self.store.commit(change)?;
        Ok(())
    }

    /// Adds what an endpoint contributes to the firewall (its isolated
    /// bridge port, its published ports) to `fw`, or its removal.
    pub(crate) fn stage_endpoint_firewall(
        &self,
        fw: &mut FirewallChange,
        network: &Network,
        ep: &Endpoint,
        on: bool,
    ) {
        if let Some(port) = isolated_port(network, ep) {
            fw.isolate_port(port, on);
        }
        if on {
            self.stage_publish(fw, ep);
        } else {
            self.stage_unpublish(fw, ep);
        }
    }

    /// Releases an endpoint's addresses in IPAM, journaled, and stages the
    /// pools' new state in `change`.
    pub(crate) fn release_addresses(
        &mut self,
        journal: &mut Journal,
        ep: &Endpoint,
        change: &mut Change,
    ) -> Result<(), NetdError> {
        let Some(network) = self.networks.get(&ep.network_id) else {
            return Ok(());
        };
        let mut pools = Vec::new();
        for (v6, addr) in [(false, ep.ipv4), (true, ep.ipv6)] {
            let (Some(addr), Some(sub)) = (addr, network.subnet(v6)) else {
                continue;
            };
            let pool: ipam::PoolId = sub.pool.parse()?;
            pools.push((pool, addr.addr(), sub.pool.clone()));
        }
        for (pool, addr, name) in pools {
            let prior = self.pool_before(&pool)?;
            self.ipam.release_address(&pool, addr)?;
            journal.push(Undo::Pool(prior));
            self.stage_pools(change, std::iter::once(name.as_str()))?;
        }
        Ok(())
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
