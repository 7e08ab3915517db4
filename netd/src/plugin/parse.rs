//! Turning plugin requests into the controller's terms, and endpoints back
//! into Docker's shapes. Pure, so unit-tested as data.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::{Map, Value};

use super::wire;
use crate::controller::plugin::{PluginEndpointSpec, PluginNetworkSpec, PluginSubnet};
use crate::error::NetdError;
use crate::model::Endpoint;
use netd_api::portspec::{PortMapping, PortRange, Protocol};

/// `-o` options of `docker network create`, as libnetwork passes them.
const GENERIC: &str = "com.docker.network.generic";
const ENABLE_IPV6: &str = "com.docker.network.enable_ipv6";
const INTERNAL: &str = "com.docker.network.internal";
const PORT_MAP: &str = "com.docker.network.portmap";
const MAC_ADDRESS: &str = "com.docker.network.endpoint.macaddress";
/// The option of a `RequestAddress` that asks for a network's gateway.
const REQUEST_ADDRESS_TYPE: &str = "RequestAddressType";
const GATEWAY_TYPE: &str = "com.docker.network.gateway";

/// A JSON option as text: strings as they are, other scalars printed.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A boolean option given as `true` or `"true"`.
fn flag(options: Option<&Map<String, Value>>, key: &str) -> bool {
    options
        .and_then(|o| o.get(key))
        .is_some_and(|v| matches!(v, Value::Bool(true)) || text(v) == "true")
}

/// `a.b.c.d/nn` or a bare address.
fn address(what: &str, s: &str) -> Result<IpAddr, NetdError> {
    let bare = s.split_once('/').map_or(s, |(a, _)| a);
    bare.parse()
        .map_err(|_| NetdError::invalid(format!("invalid {what} {s:?}")))
}

fn cidr(what: &str, s: &str) -> Result<IpNet, NetdError> {
    s.parse()
        .map_err(|_| NetdError::invalid(format!("invalid {what} {s:?}: expected a CIDR")))
}

/// `CreateNetwork` in the controller's terms.
pub(super) fn network_spec(req: wire::CreateNetwork) -> Result<PluginNetworkSpec, NetdError> {
    let opts = req.options.as_ref();
    let options: BTreeMap<String, String> = match opts.and_then(|o| o.get(GENERIC)) {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), text(v))).collect(),
        Some(other) => {
            return Err(NetdError::invalid(format!(
                "invalid {GENERIC} option: {other}"
            )));
        }
    };
    let mut subnets = Vec::new();
    for (data, v6) in [(req.ipv4_data, false), (req.ipv6_data, true)] {
        for d in data.unwrap_or_default() {
            let pool = cidr("pool", &d.pool)?;
            if pool.addr().is_ipv6() != v6 {
                return Err(NetdError::invalid(format!(
                    "pool {pool} given as IPv{} data",
                    if v6 { 6 } else { 4 }
                )));
            }
            if d.gateway.is_empty() {
                return Err(NetdError::invalid(format!(
                    "the netd driver needs a gateway for pool {pool}"
                )));
            }
            let gateway = address("gateway", &d.gateway)?;
            if !pool.contains(&gateway) {
                return Err(NetdError::invalid(format!(
                    "gateway {gateway} is not in pool {pool}"
                )));
            }
            let mut aux = BTreeMap::new();
            for (name, a) in d.aux_addresses.unwrap_or_default() {
                aux.insert(name, address("auxiliary address", &a)?);
            }
            subnets.push(PluginSubnet { pool, gateway, aux });
        }
    }
    Ok(PluginNetworkSpec {
        id: req.network_id,
        options,
        enable_ipv6: flag(opts, ENABLE_IPV6),
        internal: flag(opts, INTERNAL),
        subnets,
    })
}

/// `CreateEndpoint` in the controller's terms.
pub(super) fn endpoint_spec(req: wire::CreateEndpoint) -> Result<PluginEndpointSpec, NetdError> {
    let iface = req.interface.unwrap_or_default();
    let opt_mac = req
        .options
        .as_ref()
        .and_then(|o| o.get(MAC_ADDRESS))
        .map(text)
        .filter(|m| !m.is_empty());
    let nonempty = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    let ipv4 = nonempty(&iface.address)
        .map(|a| cidr("address", &a))
        .transpose()?;
    let ipv6 = nonempty(&iface.address_ipv6)
        .map(|a| cidr("IPv6 address", &a))
        .transpose()?;
    if ipv4.is_some_and(|a| !a.addr().is_ipv4()) || ipv6.is_some_and(|a| !a.addr().is_ipv6()) {
        return Err(NetdError::invalid("an address of the wrong family"));
    }
    Ok(PluginEndpointSpec {
        network: req.network_id,
        id: req.endpoint_id,
        ipv4,
        ipv6,
        mac: nonempty(&iface.mac_address).or(opt_mac),
    })
}

fn protocol(number: u8) -> Result<Protocol, NetdError> {
    match number {
        6 => Ok(Protocol::Tcp),
        17 => Ok(Protocol::Udp),
        132 => Ok(Protocol::Sctp),
        n => Err(NetdError::invalid(format!(
            "invalid port map: unknown protocol number {n}"
        ))),
    }
}

/// The `com.docker.network.portmap` option as port mappings.
pub(super) fn port_mappings(
    options: Option<&Map<String, Value>>,
) -> Result<Vec<PortMapping>, NetdError> {
    let Some(raw) = options
        .and_then(|o| o.get(PORT_MAP))
        .filter(|v| !v.is_null())
    else {
        return Ok(Vec::new());
    };
    let bindings: Vec<wire::PortBinding> = serde_json::from_value(raw.clone())
        .map_err(|e| NetdError::invalid(format!("invalid port map: {e}")))?;
    bindings
        .into_iter()
        .map(|b| {
            if b.port == 0 {
                return Err(NetdError::invalid("invalid port map: container port 0"));
            }
            let host_ip = match b.host_ip.as_str() {
                "" => None,
                s => Some(address("host IP", s)?),
            };
            let host_ports = (b.host_port != 0).then(|| PortRange {
                start: b.host_port,
                end: b.host_port_end.max(b.host_port),
            });
            Ok(PortMapping {
                host_ip,
                host_ports,
                container_port: b.port,
                protocol: protocol(b.proto)?,
            })
        })
        .collect()
}

/// `EndpointOperInfo`'s value: the published ports in Docker's port-map
/// shape, and the MAC address.
pub(super) fn endpoint_info(ep: &Endpoint) -> Map<String, Value> {
    let ports: Vec<wire::PortBinding> = ep
        .ports
        .iter()
        .map(|p| {
            let ip = if p.v6 { ep.ipv6 } else { ep.ipv4 };
            wire::PortBinding {
                proto: p.protocol.number(),
                ip: ip.map(|a| a.addr().to_string()).unwrap_or_default(),
                port: p.container_port,
                host_ip: p.host_ip.map(|a| a.to_string()).unwrap_or_default(),
                host_port: p.host_port,
                host_port_end: p.host_port,
            }
        })
        .collect();
    let mut m = Map::new();
    m.insert(
        PORT_MAP.to_owned(),
        serde_json::to_value(ports).unwrap_or(Value::Null),
    );
    if let Some(mac) = &ep.mac {
        m.insert(MAC_ADDRESS.to_owned(), Value::String(mac.clone()));
    }
    m
}

/// `RequestPool`'s subnet and sub-range (both absent for any pool).
pub(super) fn pool_request(
    req: &wire::RequestPool,
) -> Result<(Option<IpNet>, Option<IpNet>), NetdError> {
    let subnet = (!req.pool.is_empty())
        .then(|| cidr("pool", &req.pool))
        .transpose()?;
    let range = (!req.sub_pool.is_empty())
        .then(|| cidr("sub-pool", &req.sub_pool))
        .transpose()?;
    Ok((subnet, range))
}

/// `RequestAddress`'s address (if a given one) and whether it is for a
/// gateway.
pub(super) fn address_request(
    req: &wire::AddressRequest,
) -> Result<(Option<IpAddr>, bool), NetdError> {
    let addr = (!req.address.is_empty())
        .then(|| address("address", &req.address))
        .transpose()?;
    let gateway = req
        .options
        .as_ref()
        .and_then(|o| o.get(REQUEST_ADDRESS_TYPE))
        .is_some_and(|t| t == GATEWAY_TYPE);
    Ok((addr, gateway))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::model::PortRecord;

    fn create_network(body: &str) -> Result<PluginNetworkSpec, NetdError> {
        network_spec(serde_json::from_str(body).unwrap())
    }

    #[test]
    fn create_network_takes_generic_options_flags_and_ipam_data() {
        let spec = create_network(
            r#"{"NetworkID":"n1","Options":{"com.docker.network.enable_ipv6":true,
            "com.docker.network.internal":"true",
            "com.docker.network.generic":{"com.docker.network.driver.mtu":"1400","com.docker.network.bridge.enable_icc":false}},
            "IPv4Data":[{"AddressSpace":"LocalDefault","Pool":"10.9.0.0/24","Gateway":"10.9.0.1/24","AuxAddresses":{"r":"10.9.0.5/24"}}],
            "IPv6Data":[{"AddressSpace":"LocalDefault","Pool":"fd00:9::/64","Gateway":"fd00:9::1/64"}]}"#,
        )
        .unwrap();
        assert_eq!(spec.id, "n1");
        assert!(spec.enable_ipv6 && spec.internal);
        assert_eq!(spec.options["com.docker.network.driver.mtu"], "1400");
        assert_eq!(
            spec.options["com.docker.network.bridge.enable_icc"],
            "false"
        );
        assert_eq!(spec.subnets.len(), 2);
        assert_eq!(spec.subnets[0].gateway.to_string(), "10.9.0.1");
        assert_eq!(spec.subnets[0].aux["r"].to_string(), "10.9.0.5");
        assert_eq!(spec.subnets[1].pool.to_string(), "fd00:9::/64");
    }

    #[test]
    fn create_network_refuses_bad_ipam_data() {
        for body in [
            r#"{"NetworkID":"n","IPv4Data":[{"Pool":"10.9.0.0/33","Gateway":"10.9.0.1/24"}]}"#,
            r#"{"NetworkID":"n","IPv4Data":[{"Pool":"10.9.0.0/24"}]}"#,
            r#"{"NetworkID":"n","IPv4Data":[{"Pool":"10.9.0.0/24","Gateway":"10.8.0.1/24"}]}"#,
            r#"{"NetworkID":"n","IPv4Data":[{"Pool":"fd00::/64","Gateway":"fd00::1/64"}]}"#,
            r#"{"NetworkID":"n","Options":{"com.docker.network.generic":"x"}}"#,
        ] {
            assert!(create_network(body).is_err(), "{body}");
        }
    }

    #[test]
    fn endpoint_spec_reads_interface_and_mac_option() {
        let spec = endpoint_spec(
            serde_json::from_str(
                r#"{"NetworkID":"n","EndpointID":"e","Interface":{"Address":"10.9.0.2/24","AddressIPv6":"","MacAddress":""},
                "Options":{"com.docker.network.endpoint.macaddress":"02:42:0a:09:00:02"}}"#,
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(spec.ipv4.unwrap().to_string(), "10.9.0.2/24");
        assert_eq!(spec.ipv6, None);
        assert_eq!(spec.mac.as_deref(), Some("02:42:0a:09:00:02"));
        let bad = serde_json::from_str(
            r#"{"NetworkID":"n","EndpointID":"e","Interface":{"Address":"fd00::2/64"}}"#,
        )
        .unwrap();
        assert!(endpoint_spec(bad).is_err());
    }

    #[test]
    fn port_map_becomes_mappings() {
        let opts: Map<String, Value> = serde_json::from_str(
            r#"{"com.docker.network.portmap":[
              {"Proto":6,"IP":"","Port":80,"HostIP":"","HostPort":8080,"HostPortEnd":8080},
              {"Proto":17,"IP":"","Port":53,"HostIP":"127.0.0.1","HostPort":0,"HostPortEnd":0},
              {"Proto":6,"IP":"","Port":443,"HostIP":"","HostPort":9000,"HostPortEnd":9010}]}"#,
        )
        .unwrap();
        let m = port_mappings(Some(&opts)).unwrap();
        assert_eq!(m.len(), 3);
        assert_eq!(m[0].protocol, Protocol::Tcp);
        assert_eq!(
            m[0].host_ports,
            Some(PortRange {
                start: 8080,
                end: 8080
            })
        );
        assert_eq!(m[1].protocol, Protocol::Udp);
        assert_eq!(m[1].host_ip, Some("127.0.0.1".parse().unwrap()));
        assert_eq!(m[1].host_ports, None);
        assert_eq!(
            m[2].host_ports,
            Some(PortRange {
                start: 9000,
                end: 9010
            })
        );
        assert!(port_mappings(None).unwrap().is_empty());
        let bad: Map<String, Value> =
            serde_json::from_str(r#"{"com.docker.network.portmap":[{"Proto":99,"Port":1}]}"#)
                .unwrap();
        assert!(port_mappings(Some(&bad)).is_err());
    }

    #[test]
    fn endpoint_info_shows_ports_in_dockers_shape() {
        let ep = Endpoint {
            id: "e".into(),
            name: "e".into(),
            network_id: "n".into(),
            sandbox_id: "ep-e".into(),
            ifname: None,
            host_ifname: None,
            mac: Some("02:42:0a:09:00:02".into()),
            ipv4: Some("10.9.0.2/24".parse().unwrap()),
            ipv6: None,
            requested_ipv4: None,
            requested_ipv6: None,
            aliases: Vec::new(),
            driver_opts: BTreeMap::new(),
            gw_priority: 0,
            seq: 0,
            ports: vec![PortRecord {
                host_ip: None,
                host_port: 8080,
                protocol: Protocol::Tcp,
                container_port: 80,
                v6: false,
            }],
            plugin: true,
            plugin_sandbox: None,
        };
        let v = Value::Object(endpoint_info(&ep));
        assert_eq!(
            v,
            serde_json::json!({
                "com.docker.network.portmap": [{"Proto":6,"IP":"10.9.0.2","Port":80,"HostIP":"","HostPort":8080,"HostPortEnd":8080}],
                "com.docker.network.endpoint.macaddress": "02:42:0a:09:00:02"
            })
        );
    }

    #[test]
    fn gateway_requests_are_recognised() {
        let req: wire::AddressRequest = serde_json::from_str(
            r#"{"PoolID":"p","Address":"","Options":{"RequestAddressType":"com.docker.network.gateway"}}"#,
        )
        .unwrap();
        assert_eq!(address_request(&req).unwrap(), (None, true));
        let req: wire::AddressRequest =
            serde_json::from_str(r#"{"PoolID":"p","Address":"10.0.0.7/24"}"#).unwrap();
        assert_eq!(
            address_request(&req).unwrap(),
            (Some("10.0.0.7".parse().unwrap()), false)
        );
        let req: wire::RequestPool = serde_json::from_str(
            r#"{"AddressSpace":"LocalDefault","Pool":"","SubPool":"","V6":false}"#,
        )
        .unwrap();
        assert_eq!(pool_request(&req).unwrap(), (None, None));
    }
}
