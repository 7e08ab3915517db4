//! The controller's side of the firewall: which elements each network and
//! endpoint contributes, forwarding sysctls, and restoring netd's tables
//! when they were flushed behind its back.

use drivers::connect_nat::ConnectNat;
use drivers::firewall::{Change, NetworkRules, PortOp};
use tracing::{info, warn};

use super::Controller;
use super::journal::{Journal, Undo};
use crate::error::NetdError;
use crate::model::{DriverKind, Endpoint, Network};

/// The ruleset facts of a bridge network.
pub(crate) fn network_rules(n: &Network) -> Option<NetworkRules> {
    let b = n
        .bridge
        .as_ref()
        .filter(|_| n.driver == DriverKind::Bridge)?;
    Some(NetworkRules {
        bridge: b.name.clone(),
        subnets: n.subnets.iter().map(|s| s.subnet).collect(),
        internal: n.internal,
        masquerade: b.enable_ip_masquerade,
    })
}

/// The bridge port to isolate for an endpoint on an `enable_icc=false`
/// network.
pub(crate) fn isolated_port<'a>(n: &Network, e: &'a Endpoint) -> Option<&'a str> {
    n.bridge
        .as_ref()
        .filter(|b| !b.enable_icc)
        .and(e.host_ifname.as_deref())
}

impl Controller {
    /// Applies a firewall change, as a 500 when the kernel refuses it
    /// (the kernel mirrors its published ports in connect-time
    /// translation).
    pub(crate) fn apply_firewall(&self, change: Change) -> Result<(), NetdError> {
        Ok(self.kernel.apply_firewall(change)?)
    }

    /// Applies `change` and records `undo`, the batch that reverses it.
    pub(crate) fn firewall_journaled(
        &self,
        journal: &mut Journal,
        change: Change,
        undo: Change,
    ) -> Result<(), NetdError> {
        if change.is_empty() {
            return Ok(());
        }
        self.apply_firewall(change)?;
        journal.push(Undo::Firewall(undo));
        Ok(())
    }

    /// Hands published TCP ports to connect-time translation from now on,
    /// starting with every port published now.
    pub(crate) fn set_connect_nat(&mut self, nat: ConnectNat) {
        let ops: Vec<PortOp> = self
            .published_ports()
            .into_iter()
            .map(PortOp::Add)
            .collect();
        self.kernel.attach_connect_nat(nat, &ops);
    }

    /// Replaces netd's tables with exactly what the store describes, in one
    /// transaction. Connections already tracked keep flowing.
    pub(crate) async fn restore_firewall(&self) -> Result<(), NetdError> {
        let networks: Vec<NetworkRules> =
            self.networks.values().filter_map(network_rules).collect();
        let isolated: Vec<String> = self
            .endpoints
            .values()
            .filter_map(|e| {
                let n = self.networks.get(&e.network_id)?;
                isolated_port(n, e).map(str::to_owned)
            })
            .collect();
        let ports = self.published_ports();
        self.apply_firewall(Change::replace_all(&networks, &ports, &isolated))?;
        info!(
            networks = networks.len(),
            ports = ports.len(),
            in_process = self.kernel.firewall_in_process(),
            "firewall tables written"
        );
        Ok(())
    }

    /// Restores the tables if they are gone (flushed by someone else);
    /// returns whether it had to.
    pub(crate) async fn check_firewall(&self) -> Result<bool, NetdError> {
        if self.kernel.firewall_present() {
            return Ok(false);
        }
        warn!("netd's nftables tables are gone (flushed by another program?): restoring them");
        self.restore_firewall().await?;
        Ok(true)
    }

    /// Turns on the forwarding netd's bridges need (IPv6 only once a
    /// network has IPv6), or with `ip-forward = false` checks it is on.
    pub(crate) fn ensure_forwarding(&self) -> Result<(), NetdError> {
        let v6 = self
            .networks
            .values()
            .any(|n| n.driver == DriverKind::Bridge && n.enable_ipv6);
        let mut keys = vec![(&["net", "ipv4", "ip_forward"][..], "IPv4")];
        if v6 {
            keys.push((&["net", "ipv6", "conf", "all", "forwarding"][..], "IPv6"));
        }
        for (key, family) in keys {
            if self.config.ip_forward == Some(false) {
                if self.kernel.sysctl(key).as_deref() != Some("1") {
                    return Err(NetdError::internal(format!(
                        "{family} forwarding is off ({}=0) and ip-forward = false forbids netd to turn it on: \
                         containers could not reach beyond their network",
                        key.join(".")
                    )));
                }
                continue;
            }
            if self.kernel.ensure_sysctl(key, "1")? {
                info!(sysctl = %key.join("."), "enabled {family} forwarding for container networks");
            }
        }
        Ok(())
    }

    /// Turns on IPv6 forwarding once a network has IPv6.
    pub(crate) fn ensure_forwarding_for_v6(&self) -> Result<(), NetdError> {
        let key = ["net", "ipv6", "conf", "all", "forwarding"];
        if self.config.ip_forward == Some(false) {
            return if self.kernel.sysctl(&key).as_deref() == Some("1") {
                Ok(())
            } else {
                Err(NetdError::internal(
                    "IPv6 forwarding is off and ip-forward = false forbids netd to turn it on",
                ))
            };
        }
        if self.kernel.ensure_sysctl(&key, "1")? {
            info!("enabled IPv6 forwarding for container networks");
        }
        Ok(())
    }
}
