//! Network create, remove, list and prune.

use std::collections::BTreeMap;
use std::net::IpAddr;

use drivers::bridge::BridgeConfig;
use drivers::firewall::Change as FirewallChange;
use ipam::{AddressSpace, Family, NetworkSpec, SpecErrors, SubnetSpec};
use ipnet::IpNet;
use tracing::info;

use super::journal::{Journal, Undo};
use super::{Controller, NET_ALIAS, new_id, now};
use crate::api::filters::Filters;
use crate::error::NetdError;
use crate::model::{BridgeOptions, DriverKind, Network, Subnet};
use crate::store::Change;
use netd_api::types::{NetworkCreateRequest, NetworkCreateResponse, NetworkResource};

/// Filters `GET /networks` accepts.
pub(crate) const NETWORK_FILTERS: &[&str] =
    &["dangling", "driver", "id", "label", "name", "scope", "type"];
/// Filters `POST /networks/prune` accepts.
pub(crate) const PRUNE_FILTERS: &[&str] = &["until", "label", "label!"];

/// The names Docker reserves for its predefined networks.
pub(crate) const PREDEFINED: &[&str] = &["bridge", "host", "none"];

const OPT_NAME: &str = "com.docker.network.bridge.name";
const OPT_MTU: &str = "com.docker.network.driver.mtu";
const OPT_ICC: &str = "com.docker.network.bridge.enable_icc";
const OPT_MASQ: &str = "com.docker.network.bridge.enable_ip_masquerade";
const OPT_HOST_IP: &str = "com.docker.network.bridge.host_binding_ipv4";
const OPT_PREFIX: &str = "com.docker.network.container_iface_prefix";
const OPT_V4: &str = "com.docker.network.enable_ipv4";
const OPT_V6: &str = "com.docker.network.enable_ipv6";
const OPT_DEFAULT_BRIDGE: &str = "com.docker.network.bridge.default_bridge";

/// Checks the bridge driver's `-o` options, refusing unknown ones.
pub(crate) fn bridge_options(
    opts: &BTreeMap<String, String>,
    id: &str,
) -> Result<BridgeOptions, NetdError> {
    let bad = |key: &str, value: &str, why: &str| {
        NetdError::invalid(format!("failed to parse {key} value: {value} ({why})"))
    };
    let boolean = |key: &str, default: bool| -> Result<bool, NetdError> {
        match opts.get(key).map(String::as_str) {
            None => Ok(default),
            Some("true" | "1" | "t" | "T" | "TRUE" | "True") => Ok(true),
            Some("false" | "0" | "f" | "F" | "FALSE" | "False") => Ok(false),
            Some(v) => Err(bad(key, v, "invalid syntax")),
        }
    };
    for key in opts.keys() {
        let known = [
            OPT_NAME,
            OPT_MTU,
            OPT_ICC,
            OPT_MASQ,
            OPT_HOST_IP,
            OPT_PREFIX,
            OPT_V4,
            OPT_V6,
            OPT_DEFAULT_BRIDGE,
        ];
        if !known.contains(&key.as_str()) {
            return Err(NetdError::invalid(format!(
                "invalid option {key} for the bridge driver: unknown option (known: {})",
                known[..6].join(", ")
            )));
        }
    }
    let name = match opts.get(OPT_NAME) {
        Some(n) => {
            if n.is_empty() || n.len() > 15 || n.contains(['/', ' ', ':']) || n == "." || n == ".."
            {
                return Err(bad(
                    OPT_NAME,
                    n,
                    "not a valid interface name: 1 to 15 characters, no '/', ':' or space",
                ));
            }
            n.clone()
        }
        None => format!("br-{}", &id[..12]),
    };
    let mtu = match opts.get(OPT_MTU) {
        None => None,
        Some(v) => match v.parse::<u32>() {
            Ok(0) => None,
            Ok(m) if (68..=65535).contains(&m) => Some(m),
            Ok(_) => return Err(bad(OPT_MTU, v, "MTU must be between 68 and 65535")),
            Err(_) => return Err(bad(OPT_MTU, v, "invalid syntax")),
        },
    };
    let host_binding_ipv4 = match opts.get(OPT_HOST_IP) {
        None => None,
        Some(v) => Some(
            v.parse::<IpAddr>()
                .map_err(|_| bad(OPT_HOST_IP, v, "nil ip"))?,
        ),
    };
    let iface_prefix = match opts.get(OPT_PREFIX) {
        None => "eth".to_owned(),
        Some(p)
            if !p.is_empty()
                && p.len() <= 12
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') =>
        {
            p.clone()
        }
        Some(p) => return Err(bad(OPT_PREFIX, p, "1 to 12 letters, digits, '_' or '-'")),
    };
    Ok(BridgeOptions {
        name,
        mtu,
        enable_icc: boolean(OPT_ICC, true)?,
        enable_ip_masquerade: boolean(OPT_MASQ, true)?,
        host_binding_ipv4,
        iface_prefix,
    })
}

fn parse_bool_opt(opts: &BTreeMap<String, String>, key: &str) -> Result<Option<bool>, NetdError> {
    match opts.get(key).map(String::as_str) {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(_) => Err(NetdError::invalid(format!(
            "driver-opt \"{key}\" is not a valid bool"
        ))),
    }
}

/// A network request checked and ready to allocate.
struct Plan {
    network: Network,
    specs: Vec<NetworkSpec>,
}

impl Controller {
    /// Checks a create request without changing anything.
    fn plan_network(&self, req: NetworkCreateRequest) -> Result<Plan, NetdError> {
        let name = req.name.trim().to_owned();
        if name.is_empty() {
            return Err(NetdError::invalid("invalid name: name is empty"));
        }
        if PREDEFINED.contains(&name.as_str()) {
            return Err(NetdError::forbidden(format!(
                "operation is not permitted on predefined {name} network "
            )));
        }
        if self.networks.values().any(|n| n.name == name) {
            return Err(NetdError::conflict(format!(
                "network with name {name} already exists"
            )));
        }
        match req.driver.as_str() {
            "" | "bridge" => {}
            d @ ("host" | "null") => {
                return Err(NetdError::forbidden(format!(
                    "only one instance of \"{d}\" network is allowed"
                )));
            }
            d => return Err(NetdError::not_found(format!("plugin \"{d}\" not found"))),
        }
        match req.scope.as_str() {
            "" | "local" => {}
            "swarm" | "global" => {
                return Err(NetdError::forbidden(
                    "cannot create a swarm scoped network when swarm is not active",
                ));
            }
            s => {
                return Err(NetdError::invalid(format!(
                    "invalid scope {s:?}: netd supports \"local\" only"
                )));
            }
        }
        if req.ingress {
            return Err(NetdError::forbidden(
                "ingress networks need swarm mode, which netd does not provide",
            ));
        }
        if req.config_only
            || req
                .config_from
                .as_ref()
                .is_some_and(|c| !c.network.is_empty())
        {
            return Err(NetdError::invalid(
                "config-only networks are not supported by netd",
            ));
        }
        let ipam_req = req.ipam.unwrap_or_default();
        match ipam_req.driver.as_str() {
            "" | "default" => {}
            d => return Err(NetdError::not_found(format!("plugin \"{d}\" not found"))),
        }
        let options = req.options.unwrap_or_default();
        let id = new_id();
        let bridge = bridge_options(&options, &id)?;
        let enable_ipv4 = req
            .enable_ipv4
            .or(parse_bool_opt(&options, OPT_V4)?)
            .unwrap_or(true);
        let enable_ipv6 = req
            .enable_ipv6
            .or(parse_bool_opt(&options, OPT_V6)?)
            .unwrap_or(false);
        if !enable_ipv4 && !enable_ipv6 {
            return Err(NetdError::invalid("IPv4 or IPv6 must be enabled"));
        }
        if let Some(other) = self
            .networks
            .values()
            .find(|n| n.bridge.as_ref().is_some_and(|b| b.name == bridge.name))
        {
            return Err(NetdError::forbidden(format!(
                "cannot create network {id} ({}): conflicts with network {} ({}): networks have same bridge name",
                bridge.name, other.id, other.name
            )));
        }
        let specs = subnet_specs(
            ipam_req.config.unwrap_or_default(),
            enable_ipv4,
            enable_ipv6,
        )?;
        Ok(Plan {
            network: Network {
                id,
                name,
                driver: DriverKind::Bridge,
                created: now(),
                internal: req.internal,
                attachable: req.attachable,
                enable_ipv4,
                enable_ipv6,
                ipam_driver: "default".into(),
                ipam_options: ipam_req.options.unwrap_or_default(),
                subnets: Vec::new(),
                options,
                labels: req.labels.unwrap_or_default(),
                bridge: Some(bridge),
                predefined: false,
                plugin: false,
            },
            specs,
        })
    }

    /// `POST /networks/create`.
    pub(crate) async fn create_network(
        &mut self,
        req: NetworkCreateRequest,
    ) -> Result<NetworkCreateResponse, NetdError> {
        self.kernel.touch();
        let plan = self.plan_network(req)?;
        let network = self.install_network(plan.network, &plan.specs).await?;
        info!(network = %network.id, name = %network.name, "network created");
        let id = network.id.clone();
        self.networks.insert(id.clone(), network);
        Ok(NetworkCreateResponse {
            id,
            warning: String::new(),
        })
    }

    /// Allocates the subnets, creates the bridge and commits; undoes all of it
    /// on failure. Returns the network with its subnets filled in.
    pub(crate) async fn install_network(
        &mut self,
        network: Network,
        specs: &[NetworkSpec],
    ) -> Result<Network, NetdError> {
        let mut journal = Journal::default();
        let result = self.install_network_in(&mut journal, network, specs).await;
        self.settle(journal, result).await
    }

    async fn install_network_in(
        &mut self,
        journal: &mut Journal,
        mut network: Network,
        specs: &[NetworkSpec],
    ) -> Result<Network, NetdError> {
        let exclude = self.kernel.route_prefixes().await?;
        let mut subnets = Vec::new();
        for spec in specs {
            let a = self
                .ipam
                .allocate_network(AddressSpace::Local, spec, &exclude)?;
            subnets.push(Subnet {
                pool: a.pool.to_string(),
                subnet: a.pool.subnet,
                ip_range: spec.ip_range,
                gateway: a.gateway,
                aux: a.aux.clone(),
                user_subnet: matches!(spec.subnet, ipam::SubnetChoice::Subnet(_)),
            });
            journal.push(Undo::Allocation(a));
        }
        network.subnets = subnets;
        self.activate_network_in(journal, &network).await?;
        Ok(network)
    }

    /// Creates the bridge of a network whose subnets are settled, adds its
    /// firewall elements and commits it (with its pools' state); undoes its
    /// own steps on failure.
    pub(crate) async fn activate_network(&mut self, network: &Network) -> Result<(), NetdError> {
        let mut journal = Journal::default();
        let result = self.activate_network_in(&mut journal, network).await;
        self.settle(journal, result).await
    }

    async fn activate_network_in(
        &mut self,
        journal: &mut Journal,
        network: &Network,
    ) -> Result<(), NetdError> {
        if let Some(b) = &network.bridge {
            self.program_network(network).await?;
            journal.push(Undo::Bridge(b.name.clone()));
        }
        if let Some(r) = super::firewall::network_rules(network) {
            let (mut add, mut remove) = (FirewallChange::new(), FirewallChange::new());
            add.add_network(&r);
            remove.remove_network(&r);
            self.firewall_journaled(journal, add, remove)?;
        }
        if network.enable_ipv6 {
            self.ensure_forwarding_for_v6()?;
        }
        self.commit_network(network)
    }

    fn commit_network(&self, network: &Network) -> Result<(), NetdError> {
        let mut change = Change::default();
        change.put_network(network)?;
        // A plugin network's pools belong to its caller's IPAM calls.
        if !network.plugin {
            self.stage_pools(&mut change, network.subnets.iter().map(|s| s.pool.as_str()))?;
        }
        self.store.commit(change)?;
        Ok(())
    }

    /// Creates (or adopts) the network's bridge with its gateway addresses
    /// and marks it as netd's.
    pub(crate) async fn program_network(&self, network: &Network) -> Result<(), NetdError> {
        let Some(b) = &network.bridge else {
            return Ok(());
        };
        let cfg = BridgeConfig {
            name: b.name.clone(),
            mtu: b.mtu,
            gateways: network
                .subnets
                .iter()
                .map(|s| {
                    IpNet::new(s.gateway, s.subnet.prefix_len())
                        .expect("gateway lies in its subnet")
                })
                .collect(),
        };
        let mark = format!("{NET_ALIAS}{}", network.id);
        self.kernel.create_bridge(&cfg, &mark).await?;
        Ok(())
    }

    /// `DELETE /networks/{id}`.
    pub(crate) async fn remove_network(&mut self, term: &str) -> Result<(), NetdError> {
        let network = self.find_network(term)?.clone();
        if network.predefined {
            return Err(NetdError::forbidden(format!(
                "{} is a pre-defined network and cannot be removed",
                network.name
            )));
        }
        if self.network_endpoints(&network.id).next().is_some() {
            return Err(NetdError::forbidden(format!(
                "error while removing network: network {} id {} has active endpoints",
                network.name, network.id
            )));
        }
        if network.plugin {
            return Err(NetdError::forbidden(format!(
                "network {} is managed by the engine that created it through netd's plugin socket; remove it there",
                network.name
            )));
        }
        self.deactivate_network(&network).await
    }

    /// Removes a network without endpoints: its firewall elements, its
    /// bridge, its record, and its pools unless it is a plugin network
    /// (whose caller releases them).
    pub(crate) async fn deactivate_network(&mut self, network: &Network) -> Result<(), NetdError> {
        self.kernel.touch();
        let mut journal = Journal::default();
        let result = self.deactivate_network_in(&mut journal, network).await;
        self.settle(journal, result).await?;
        // Committed: memory follows without a step that could stop halfway.
        if !network.plugin {
            for s in &network.subnets {
                let released = s
                    .pool
                    .parse::<ipam::PoolId>()
                    .map_err(NetdError::from)
                    .and_then(|pid| Ok(self.ipam.release_pool(&pid)?));
                if let Err(e) = released {
                    tracing::warn!(network = %network.id, error = %e.chain(), "pool release failed after commit");
                }
            }
        }
        self.networks.remove(&network.id);
        self.zones.remove(&network.id);
        info!(network = %network.id, name = %network.name, "network removed");
        Ok(())
    }

    async fn deactivate_network_in(
        &mut self,
        journal: &mut Journal,
        network: &Network,
    ) -> Result<(), NetdError> {
        if let Some(r) = super::firewall::network_rules(network) {
            let (mut remove, mut add) = (FirewallChange::new(), FirewallChange::new());
            remove.remove_network(&r);
            add.add_network(&r);
            self.firewall_journaled(journal, remove, add)?;
        }
        if let Some(b) = &network.bridge {
            let tombstone = format!("gone{}", &network.id[..11]);
            self.kernel.retire_bridge(&b.name, &tombstone).await?;
            journal.push(Undo::Network(Box::new(network.clone())));
        }
        let mut change = Change::default();
        change.del_network(&network.id);
        if !network.plugin {
            for s in &network.subnets {
                change.pool(&s.pool, None)?;
            }
        }
        self.store.commit(change)?;
        Ok(())
    }

    /// `GET /networks`.
    pub(crate) fn list_networks(
        &self,
        filters: &Filters,
    ) -> Result<Vec<NetworkResource>, NetdError> {
        if let Some(bad) = filters
            .get("type")
            .and_then(|types| types.iter().find(|t| *t != "custom" && *t != "builtin"))
        {
            return Err(NetdError::invalid(format!(
                "invalid filter: 'type'='{bad}'"
            )));
        }
        let dangling = match filters
            .get("dangling")
            .map(|v| v.iter().collect::<Vec<_>>())
        {
            None => None,
            Some(v) if v.len() == 1 && matches!(v[0].as_str(), "true" | "1") => Some(true),
            Some(v) if v.len() == 1 && matches!(v[0].as_str(), "false" | "0") => Some(false),
            Some(v) => {
                return Err(NetdError::invalid(format!(
                    "invalid filter 'dangling={}'",
                    v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",")
                )));
            }
        };
        let mut out: Vec<NetworkResource> = self
            .networks
            .values()
            .filter(|n| filters.exact("driver", n.driver.name()))
            .filter(|n| filters.contains("id", &n.id))
            .filter(|n| filters.contains("name", &n.name))
            .filter(|_| filters.exact("scope", "local"))
            .filter(|n| filters.labels("label", &n.labels, false))
            .filter(|n| filters.exact("type", if n.predefined { "builtin" } else { "custom" }))
            .filter(|n| {
                dangling.is_none_or(|d| {
                    let unused = !n.predefined && self.network_endpoints(&n.id).next().is_none();
                    unused == d
                })
            })
            .map(|n| self.network_resource(n, false))
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// `POST /networks/prune`: removes unused, non-predefined networks that
    /// match the filters; returns their names.
    pub(crate) async fn prune_networks(
        &mut self,
        filters: &Filters,
    ) -> Result<Vec<String>, NetdError> {
        let until = match filters.get("until") {
            None => None,
            Some(v) => {
                let v = v.iter().next().expect("get() returns non-empty sets");
                Some(parse_until(v)?)
            }
        };
        let candidates: Vec<(String, String)> = self
            .networks
            .values()
            .filter(|n| !n.predefined && !n.plugin)
            .filter(|n| self.network_endpoints(&n.id).next().is_none())
            .filter(|n| filters.labels("label", &n.labels, false))
            .filter(|n| filters.labels("label!", &n.labels, true))
            .filter(|n| {
                until.is_none_or(|t| {
                    chrono::DateTime::parse_from_rfc3339(&n.created).is_ok_and(|c| c < t)
                })
            })
            .map(|n| (n.id.clone(), n.name.clone()))
            .collect();
        let mut candidates = candidates;
        candidates.sort_by(|a, b| a.1.cmp(&b.1));
        let mut deleted = Vec::new();
        for (id, name) in candidates {
            // As Docker: a network that cannot go is skipped, not fatal.
            match self.remove_network(&id).await {
                Ok(()) => deleted.push(name),
                Err(e) => tracing::warn!(network = %id, error = %e, "prune skipped a network"),
            }
        }
        Ok(deleted)
    }
}

/// Docker's `until` value: a timestamp (RFC 3339 or Unix seconds) or a
/// duration before now (`10m`, `24h`).
fn parse_until(v: &str) -> Result<chrono::DateTime<chrono::FixedOffset>, NetdError> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(v) {
        return Ok(t);
    }
    if let Ok(secs) = v.parse::<f64>() {
        #[allow(clippy::cast_possible_truncation)]
        let t = chrono::DateTime::from_timestamp(secs.trunc() as i64, 0);
        if let Some(t) = t {
            return Ok(t.fixed_offset());
        }
    }
    if let Ok(d) = humantime::parse_duration(v) {
        let d = chrono::Duration::from_std(d)
            .map_err(|_| NetdError::invalid(format!("invalid until value {v}")))?;
        return Ok((chrono::Utc::now() - d).fixed_offset());
    }
    Err(NetdError::invalid(format!(
        "failed to parse value as time or duration: \"{v}\""
    )))
}

/// Turns the API's IPAM config entries into one spec per enabled family.
fn subnet_specs(
    config: Vec<netd_api::types::IpamConfig>,
    v4: bool,
    v6: bool,
) -> Result<Vec<NetworkSpec>, NetdError> {
    let mut errs = Vec::new();
    let mut by_family: BTreeMap<Family, NetworkSpec> = BTreeMap::new();
    for c in config {
        let text = SubnetSpec {
            subnet: c.subnet.filter(|s| !s.is_empty()),
            ip_range: c.ip_range.filter(|s| !s.is_empty()),
            gateway: c.gateway.filter(|s| !s.is_empty()),
            aux: c.auxiliary_addresses.unwrap_or_default(),
        };
        match NetworkSpec::parse(&text, Family::V4) {
            Ok(spec) => {
                if by_family.insert(spec.family, spec).is_some() {
                    return Err(NetdError::forbidden(
                        "bridge driver doesn't support multiple subnets",
                    ));
                }
            }
            Err(SpecErrors(e)) => errs.extend(e),
        }
    }
    if !errs.is_empty() {
        return Err(SpecErrors(errs).into());
    }
    if by_family.contains_key(&Family::V6) && !v6 {
        return Err(NetdError::invalid(
            "an IPv6 subnet was given but IPv6 is not enabled on the network (add --ipv6)",
        ));
    }
    if by_family.contains_key(&Family::V4) && !v4 {
        return Err(NetdError::invalid(
            "an IPv4 subnet was given but IPv4 is disabled on the network",
        ));
    }
    let mut specs = Vec::new();
    for (family, on) in [(Family::V4, v4), (Family::V6, v6)] {
        if on {
            specs.push(
                by_family
                    .remove(&family)
                    .unwrap_or_else(|| NetworkSpec::any(family)),
            );
        }
    }
    Ok(specs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn bridge_defaults_follow_docker() {
        let b = bridge_options(&BTreeMap::new(), ID).unwrap();
        assert_eq!(b.name, "br-0123456789ab");
        assert!(b.enable_icc && b.enable_ip_masquerade);
        assert_eq!(b.iface_prefix, "eth");
        assert_eq!(b.mtu, None);
    }

    #[test]
    fn bridge_options_are_parsed_and_checked() {
        let b = bridge_options(
            &opts(&[
                (OPT_NAME, "mybr0"),
                (OPT_MTU, "1400"),
                (OPT_ICC, "false"),
                (OPT_MASQ, "0"),
                (OPT_HOST_IP, "127.0.0.1"),
                (OPT_PREFIX, "net"),
            ]),
            ID,
        )
        .unwrap();
        assert_eq!(b.name, "mybr0");
        assert_eq!(b.mtu, Some(1400));
        assert!(!b.enable_icc && !b.enable_ip_masquerade);
        assert_eq!(b.iface_prefix, "net");
        for (k, v) in [
            (OPT_MTU, "big"),
            (OPT_MTU, "10"),
            (OPT_ICC, "maybe"),
            (OPT_HOST_IP, "localhost"),
            (OPT_NAME, "a-name-that-is-far-too-long"),
            (OPT_PREFIX, "bad/prefix"),
        ] {
            let e = bridge_options(&opts(&[(k, v)]), ID).unwrap_err();
            assert_eq!(e.kind.status(), 400, "{k}={v}");
            assert!(e.message.contains(k), "{}", e.message);
        }
    }

    #[test]
    fn unknown_bridge_option_is_refused() {
        let e =
            bridge_options(&opts(&[("com.docker.network.bridge.colour", "red")]), ID).unwrap_err();
        assert!(e.message.contains("unknown option"), "{}", e.message);
    }

    #[test]
    fn subnet_specs_cover_each_enabled_family() {
        let specs = subnet_specs(vec![], true, true).unwrap();
        assert_eq!(specs.len(), 2);
        let two_v4 = vec![
            netd_api::types::IpamConfig {
                subnet: Some("10.1.0.0/24".into()),
                ..Default::default()
            },
            netd_api::types::IpamConfig {
                subnet: Some("10.2.0.0/24".into()),
                ..Default::default()
            },
        ];
        assert_eq!(
            subnet_specs(two_v4, true, false).unwrap_err().kind.status(),
            403
        );
        let v6 = vec![netd_api::types::IpamConfig {
            subnet: Some("fd00::/64".into()),
            ..Default::default()
        }];
        assert!(subnet_specs(v6, true, false).is_err());
        let bad = vec![netd_api::types::IpamConfig {
            subnet: Some("10.1.0.0/24".into()),
            gateway: Some("10.2.0.1".into()),
            ..Default::default()
        }];
        let e = subnet_specs(bad, true, false).unwrap_err();
        assert!(
            e.message
                .starts_with("invalid network config:\n* invalid gateway 10.2.0.1"),
            "{}",
            e.message
        );
    }

    #[test]
    fn until_accepts_timestamps_and_durations() {
        assert!(parse_until("2026-01-01T00:00:00Z").is_ok());
        assert!(parse_until("1700000000").is_ok());
        assert!(parse_until("10m").is_ok());
        assert!(parse_until("soon").is_err());
    }
}
