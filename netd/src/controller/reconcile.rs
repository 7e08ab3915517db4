//! Start-up: load the store, make the kernel match it, and remove what only
//! the kernel (or the exec root) still has.
//!
//! The store is the truth. A crash between a kernel change and the commit
//! that records it leaves either a kernel object nobody owns (a veth or
//! bridge marked with netd's alias, a namespace file, a sandbox directory),
//! which is removed here, or a record whose kernel object is missing, which
//! is recreated here. A sandbox whose namespace is gone (after a reboot) is
//! dead: its endpoints and addresses are released.

use std::collections::{BTreeMap, BTreeSet};

use drivers::bridge;
use drivers::{Links, netns};
use ipam::{Ipam, IpamState, NetworkSpec, SubnetChoice};
use tracing::{info, warn};

use super::kernel::{HostKernel, Kernel};
use super::network::bridge_options;
use super::sandbox::{kernel_endpoint, release_addresses};
use super::{Controller, EP_ALIAS, NET_ALIAS, new_id, now};
use crate::config::{Config, Paths};
use crate::error::NetdError;
use crate::model::{DriverKind, Network, Sandbox};
use crate::store::{Change, Store};

impl Controller {
    /// Opens the store, reconciles the kernel with it, and creates the
    /// predefined networks on first start.
    pub(crate) async fn start(paths: Paths, config: Config) -> Result<Self, NetdError> {
        for dir in [&paths.data_root, &paths.netns_dir(), &paths.sandboxes_dir()] {
            std::fs::create_dir_all(dir)
                .map_err(|e| NetdError::internal(format!("creating {}: {e}", dir.display())))?;
        }
        let host = Links::here(None)?;
        // Links retired by an earlier run and not yet deleted.
        if let Err(e) = host.delete_group(bridge::GRAVEYARD_GROUP).await {
            warn!(error = %e, "could not delete links retired by an earlier run");
        }
        let kernel = HostKernel::new(host.clone(), drivers::firewall::Nft::new());
        let mut c = Self::assemble(paths, config, Box::new(kernel))?;
        // The tables first (networks create elements in them), then again
        // once reconciliation has settled what exists.
        c.ensure_forwarding()?;
        c.restore_firewall().await?;
        c.ensure_predefined().await?;
        c.reconcile(&host).await?;
        c.reserve_stored_ports();
        c.restore_firewall().await?;
        c.start_dns();
        c.watch_owners();
        Ok(c)
    }

    /// The controller over `kernel` with the store's state loaded, before
    /// any reconciliation.
    pub(crate) fn assemble(
        paths: Paths,
        config: Config,
        kernel: Box<dyn Kernel>,
    ) -> Result<Self, NetdError> {
        let store = Store::open(&paths.db())?;
        let loaded = store.load()?;
        let ipam = Ipam::from_state(IpamState {
            config: config.ipam_config()?,
            pools: loaded.pools,
        })?;
        let next_seq = loaded
            .endpoints
            .iter()
            .map(|e| e.seq + 1)
            .max()
            .unwrap_or(0);
        Ok(Self {
            paths,
            config,
            store,
            ipam,
            networks: loaded
                .networks
                .into_iter()
                .map(|n| (n.id.clone(), n))
                .collect(),
            endpoints: loaded
                .endpoints
                .into_iter()
                .map(|e| (e.id.clone(), e))
                .collect(),
            sandboxes: loaded
                .sandboxes
                .into_iter()
                .map(|s| (s.id.clone(), s))
                .collect(),
            next_seq,
            kernel,
            reservations: std::collections::HashMap::new(),
            owners: super::owner::Owners::new(std::sync::Arc::new(super::owner::ProcTable)),
            dns: std::collections::HashMap::new(),
            views: std::collections::HashMap::new(),
            zones: std::collections::HashMap::new(),
            plugin_pools: loaded
                .plugin_pools
                .into_iter()
                .map(|p| (p.id.clone(), p))
                .collect(),
        })
    }

    /// Creates `bridge`, `host` and `none` when missing (first start).
    pub(crate) async fn ensure_predefined(&mut self) -> Result<(), NetdError> {
        let has =
            |c: &Self, name: &str| c.networks.values().any(|n| n.predefined && n.name == name);
        for (name, driver) in [("host", DriverKind::Host), ("none", DriverKind::Null)] {
            if !has(self, name) {
                let n = predefined(name, driver, None);
                let mut change = Change::default();
                change.put_network(&n)?;
                self.store.commit(change)?;
                self.networks.insert(n.id.clone(), n);
            }
        }
        if !has(self, "bridge") {
            let db = self.config.default_bridge.clone();
            let mut options = BTreeMap::new();
            options.insert(
                "com.docker.network.bridge.default_bridge".to_owned(),
                "true".to_owned(),
            );
            options.insert(
                "com.docker.network.bridge.enable_icc".to_owned(),
                "true".to_owned(),
            );
            options.insert(
                "com.docker.network.bridge.enable_ip_masquerade".to_owned(),
                "true".to_owned(),
            );
            options.insert(
                "com.docker.network.bridge.host_binding_ipv4".to_owned(),
                "0.0.0.0".to_owned(),
            );
            options.insert("com.docker.network.bridge.name".to_owned(), db.name.clone());
            if let Some(mtu) = db.mtu {
                options.insert("com.docker.network.driver.mtu".to_owned(), mtu.to_string());
            }
            let mut n = predefined("bridge", DriverKind::Bridge, None);
            n.bridge = Some(bridge_options(&options, &n.id)?);
            n.options = options;
            let mut spec = NetworkSpec::any(ipam::Family::V4);
            if let Some(subnet) = db.subnet {
                spec.subnet = SubnetChoice::Subnet(subnet);
            }
            let n = self.install_network(n, &[spec]).await?;
            info!(network = %n.id, bridge = %db.name, subnet = ?n.subnets.first().map(|s| s.subnet), "default bridge network created");
            self.networks.insert(n.id.clone(), n);
        }
        Ok(())
    }

    /// Makes the kernel and the exec root match the store.
    async fn reconcile(&mut self, host: &Links) -> Result<(), NetdError> {
        let mut change = Change::default();
        let mut touched_pools = BTreeSet::new();

        // Bridges: recreate what is missing (after a reboot, or deleted by hand).
        let networks: Vec<Network> = self.networks.values().cloned().collect();
        for n in &networks {
            if let Err(e) = self.program_network(n).await {
                warn!(network = %n.id, name = %n.name, error = %e, "could not restore the network's bridge");
            }
        }

        // Sandboxes: dead ones go; live ones get their missing veths back.
        let sandboxes: Vec<Sandbox> = self.sandboxes.values().cloned().collect();
        for s in &sandboxes {
            let bound = s.host_mode || s.netns.as_deref().is_some_and(netns::is_bound);
            let owned = self.owner_alive(s);
            if !bound || !owned {
                info!(sandbox = %s.id, name = %s.name, namespace_gone = !bound, owner_gone = !owned, "dead sandbox: removing it");
                for e in self
                    .sandbox_endpoints(&s.id)
                    .into_iter()
                    .cloned()
                    .collect::<Vec<_>>()
                {
                    let n = self.networks.get(&e.network_id).cloned();
                    touched_pools.extend(release_addresses(&mut self.ipam, n.as_ref(), &e)?);
                    change.del_endpoint(&e.id);
                    self.endpoints.remove(&e.id);
                }
                change.del_sandbox(&s.id);
                self.sandboxes.remove(&s.id);
                if let Some(p) = &s.netns {
                    let _ = netns::remove(p);
                }
                let _ = std::fs::remove_dir_all(&s.files);
                continue;
            }
            if let Err(e) = self.restore_sandbox(host, s).await {
                warn!(sandbox = %s.id, error = %e, "could not restore the sandbox's interfaces");
            }
        }
        self.stage_pools(&mut change, touched_pools.iter().map(String::as_str))?;
        self.store.commit(change)?;

        // Strays: links marked as netd's, or veths named as netd names them
        // (a crash can come before the mark), that no record owns.
        let veths: BTreeSet<String> = self
            .endpoints
            .values()
            .filter_map(|e| e.host_ifname.clone())
            .collect();
        for link in host.list().await? {
            let owned = match link.alias.as_deref() {
                Some(alias) if alias.starts_with(EP_ALIAS) => {
                    Some(self.endpoints.contains_key(&alias[EP_ALIAS.len()..]))
                }
                Some(alias) if alias.starts_with(NET_ALIAS) => {
                    Some(self.networks.contains_key(&alias[NET_ALIAS.len()..]))
                }
                _ if bridge::is_netd_veth(&link.name) => Some(veths.contains(&link.name)),
                _ => None,
            };
            if owned == Some(false) {
                info!(link = %link.name, "removing a stray link left by an earlier run");
                host.delete(link.index, &link.name).await?;
            }
        }
        // Strays: namespace files and sandbox directories of no sandbox.
        let known: BTreeSet<String> = self.sandboxes.keys().cloned().collect();
        for path in netns::list(&self.paths.netns_dir()) {
            if !path
                .file_name()
                .is_some_and(|f| known.contains(&*f.to_string_lossy()))
            {
                info!(path = %path.display(), "removing a stray namespace file");
                netns::remove(&path)?;
            }
        }
        for path in netns::list(&self.paths.sandboxes_dir()) {
            if !path
                .file_name()
                .is_some_and(|f| known.contains(&*f.to_string_lossy()))
            {
                let _ = std::fs::remove_dir_all(&path);
            }
        }
        Ok(())
    }

    /// Recreates a live sandbox's missing veths and default route, and
    /// rewrites its files.
    async fn restore_sandbox(&mut self, host: &Links, s: &Sandbox) -> Result<(), NetdError> {
        self.kernel.create_dir(&s.files)?;
        let eps: Vec<_> = self.sandbox_endpoints(&s.id).into_iter().cloned().collect();
        let refs: Vec<_> = eps.iter().collect();
        self.render_files(s, &refs)?;
        let Some(path) = &s.netns else { return Ok(()) };
        let mut ns = None;
        for e in &eps {
            let Some(host_ifname) = &e.host_ifname else {
                continue;
            };
            // The mark is set last, so a veth without it is half made (a
            // crash during an earlier restore): make it again.
            let mark = format!("{EP_ALIAS}{}", e.id);
            match host.get(host_ifname).await? {
                Some(l) if l.alias.as_deref() == Some(mark.as_str()) => continue,
                Some(l) => host.delete(l.index, host_ifname).await?,
                None => {}
            }
            let Some(n) = self.networks.get(&e.network_id).cloned() else {
                continue;
            };
            info!(endpoint = %e.id, sandbox = %s.name, "recreating a missing veth");
            if ns.is_none() {
                ns = Some(self.kernel.open_netns(path, &s.id[..12])?);
            }
            let ns = ns.as_ref().expect("set just above");
            let bridge_name = n.bridge.as_ref().map_or("", |b| b.name.as_str());
            self.kernel
                .join(bridge_name, ns, &kernel_endpoint(&n, e)?, &mark)
                .await?;
            if s.gateway_endpoint.as_deref() == Some(e.id.as_str()) {
                self.install_default_route(ns, &n, e).await?;
            }
        }
        Ok(())
    }
}

/// A predefined network record.
fn predefined(
    name: &str,
    driver: DriverKind,
    bridge: Option<crate::model::BridgeOptions>,
) -> Network {
    Network {
        id: new_id(),
        name: name.into(),
        driver,
        created: now(),
        internal: false,
        attachable: false,
        enable_ipv4: true,
        enable_ipv6: false,
        ipam_driver: "default".into(),
        ipam_options: BTreeMap::new(),
        subnets: Vec::new(),
        options: BTreeMap::new(),
        labels: BTreeMap::new(),
        bridge,
        predefined: true,
        plugin: false,
    }
}
