//! Objects as the APIs show them, in Docker's shapes.

use std::collections::BTreeMap;

use super::Controller;
use crate::model::{Endpoint, Network, Sandbox};
use netd_api::types::{
    ConfigReference, EndpointIpamConfig, EndpointResource, EndpointSettings, Ipam, IpamConfig,
    NetworkResource, SandboxResource,
};

impl Controller {
    /// A network as `GET /networks/{id}` shows it; the list omits
    /// `Containers` as Docker's does.
    pub(crate) fn network_resource(&self, n: &Network, with_containers: bool) -> NetworkResource {
        let config = n
            .subnets
            .iter()
            .map(|s| IpamConfig {
                subnet: Some(s.subnet.to_string()),
                ip_range: s.ip_range.map(|r| r.to_string()),
                gateway: Some(s.gateway.to_string()),
                auxiliary_addresses: (!s.aux.is_empty()).then(|| {
                    s.aux
                        .iter()
                        .map(|(k, v)| (k.clone(), v.to_string()))
                        .collect()
                }),
            })
            .collect();
        let containers = if with_containers {
            self.network_endpoints(&n.id)
                .map(|e| (e.sandbox_id.clone(), endpoint_resource(e)))
                .collect()
        } else {
            BTreeMap::new()
        };
        NetworkResource {
            name: n.name.clone(),
            id: n.id.clone(),
            created: n.created.clone(),
            scope: "local".into(),
            driver: n.driver.name().into(),
            enable_ipv4: n.enable_ipv4,
            enable_ipv6: n.enable_ipv6,
            ipam: Ipam {
                driver: n.ipam_driver.clone(),
                options: (!n.ipam_options.is_empty()).then(|| n.ipam_options.clone()),
                config: Some(config),
            },
            internal: n.internal,
            attachable: n.attachable,
            ingress: false,
            config_from: ConfigReference::default(),
            config_only: false,
            containers,
            options: n.options.clone(),
            labels: n.labels.clone(),
        }
    }

    /// A sandbox with its networks in Docker's `EndpointSettings` shape.
    pub(crate) fn sandbox_resource(&self, s: &Sandbox) -> SandboxResource {
        let networks = self
            .sandbox_endpoints(&s.id)
            .into_iter()
            .filter_map(|e| {
                let n = self.networks.get(&e.network_id)?;
                Some((n.name.clone(), self.endpoint_settings(n, e)))
            })
            .collect();
        SandboxResource {
            id: s.id.clone(),
            name: s.name.clone(),
            sandbox_key: s
                .netns
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            resolv_conf_path: s.resolv_conf_path().display().to_string(),
            hosts_path: s.hosts_path().display().to_string(),
            hostname: s.hostname.clone(),
            network_mode: if s.host_mode { "host" } else { "default" }.into(),
            networks,
            ports: super::ports::ports_view(
                self.endpoints
                    .values()
                    .find(|e| e.sandbox_id == s.id && !e.ports.is_empty()),
                &s.ports,
            ),
            owner: s.owner,
        }
    }

    fn endpoint_settings(&self, n: &Network, e: &Endpoint) -> EndpointSettings {
        let gw = |v6: bool| {
            let on = if v6 {
                e.ipv6.is_some()
            } else {
                e.ipv4.is_some()
            };
            n.subnet(v6)
                .filter(|_| on && !n.internal)
                .map(|s| s.gateway.to_string())
                .unwrap_or_default()
        };
        let requested = EndpointIpamConfig {
            ipv4_address: e.requested_ipv4.map(|a| a.to_string()).unwrap_or_default(),
            ipv6_address: e.requested_ipv6.map(|a| a.to_string()).unwrap_or_default(),
            link_local_ips: None,
        };
        let mut dns_names = vec![e.name.clone()];
        dns_names.extend(e.aliases.iter().cloned());
        dns_names.push(e.sandbox_id[..12].to_owned());
        EndpointSettings {
            ipam_config: (!requested.ipv4_address.is_empty() || !requested.ipv6_address.is_empty())
                .then_some(requested),
            links: None,
            aliases: (!e.aliases.is_empty()).then(|| e.aliases.clone()),
            mac_address: e.mac.clone().unwrap_or_default(),
            driver_opts: (!e.driver_opts.is_empty()).then(|| e.driver_opts.clone()),
            gw_priority: e.gw_priority,
            network_id: n.id.clone(),
            endpoint_id: e.id.clone(),
            gateway: gw(false),
            ip_address: e.ipv4.map(|a| a.addr().to_string()).unwrap_or_default(),
            ip_prefix_len: e.ipv4.map(|a| a.prefix_len()).unwrap_or_default(),
            ipv6_gateway: gw(true),
            global_ipv6_address: e.ipv6.map(|a| a.addr().to_string()).unwrap_or_default(),
            global_ipv6_prefix_len: e.ipv6.map(|a| a.prefix_len()).unwrap_or_default(),
            dns_names: Some(dns_names),
        }
    }
}

fn endpoint_resource(e: &Endpoint) -> EndpointResource {
    EndpointResource {
        name: e.name.clone(),
        endpoint_id: e.id.clone(),
        mac_address: e.mac.clone().unwrap_or_default(),
        ipv4_address: e.ipv4.map(|a| a.to_string()).unwrap_or_default(),
        ipv6_address: e.ipv6.map(|a| a.to_string()).unwrap_or_default(),
        ports: super::ports::ports_view(Some(e), &[]),
    }
}
