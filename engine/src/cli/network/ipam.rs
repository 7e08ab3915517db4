//! `network create`'s address flags (`--subnet`, `--ip-range`,
//! `--gateway`, `--aux-address`) grouped into IPAM configs, as docker does.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;
use netd_api::types::IpamConfig;

/// Groups subnets, ranges, gateways and auxiliary addresses per subnet as
/// docker does: each range, gateway and address goes with the subnet that
/// contains it; subnets must not overlap, and a subnet takes one range and
/// one gateway.
pub fn ipam_config(
    subnets: &[String],
    ranges: &[String],
    gateways: &[String],
    aux: &BTreeMap<String, String>,
) -> Result<Vec<IpamConfig>, String> {
    if subnets.len() < ranges.len() || subnets.len() < gateways.len() {
        return Err("every ip-range or gateway must have a corresponding subnet".to_owned());
    }
    let mut configs: Vec<IpamConfig> = Vec::with_capacity(subnets.len());
    for (i, s) in subnets.iter().enumerate() {
        for k in &subnets[..i] {
            if subnet_matches(s, k)? || subnet_matches(k, s)? {
                return Err("multiple overlapping subnet configuration is not supported".to_owned());
            }
        }
        configs.push(IpamConfig {
            subnet: Some(s.clone()),
            ..Default::default()
        });
    }
    for r in ranges {
        parse_cidr(r)?;
        let mut matched = false;
        for (s, config) in subnets.iter().zip(configs.iter_mut()) {
            if !subnet_matches(s, r)? {
                continue;
            }
            if let Some(existing) = &config.ip_range {
                return Err(format!(
                    "cannot configure multiple ranges ({r}, {existing}) on the same subnet ({s})"
                ));
            }
            config.ip_range = Some(r.clone());
            matched = true;
        }
        if !matched {
            return Err(format!("no matching subnet for range {r}"));
        }
    }
    for g in gateways {
        let mut matched = false;
        for (s, config) in subnets.iter().zip(configs.iter_mut()) {
            if !subnet_matches(s, g)? {
                continue;
            }
            if let Some(existing) = &config.gateway {
                return Err(format!(
                    "cannot configure multiple gateways ({g}, {existing}) for the same subnet ({s})"
                ));
            }
            config.gateway = Some(g.clone());
            matched = true;
        }
        if !matched {
            return Err(format!("no matching subnet for gateway {g}"));
        }
    }
    for (name, address) in aux {
        let mut matched = false;
        for (s, config) in subnets.iter().zip(configs.iter_mut()) {
            if subnet_matches(s, address)? {
                config
                    .auxiliary_addresses
                    .get_or_insert_default()
                    .insert(name.clone(), address.clone());
                matched = true;
            }
        }
        if !matched {
            return Err(format!("no matching subnet for aux-address {address}"));
        }
    }
    Ok(configs)
}

/// Whether `subnet` contains the address `data` (or the address part of
/// `data` when it is a CIDR), as docker's `subnetMatches`.
fn subnet_matches(subnet: &str, data: &str) -> Result<bool, String> {
    let net = parse_cidr(subnet).map_err(|e| format!("invalid subnet: {e}"))?;
    let ip: Option<IpAddr> = if data.contains('/') {
        Some(parse_cidr(data)?.addr())
    } else {
        data.parse().ok()
    };
    Ok(ip.is_some_and(|ip| net.contains(&ip)))
}

fn parse_cidr(s: &str) -> Result<IpNet, String> {
    s.parse().map_err(|_| format!("invalid CIDR address: {s}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn ranges_gateways_and_aux_addresses_go_with_their_subnet() {
        let aux = BTreeMap::from([("router".to_owned(), "fd00::2".to_owned())]);
        let configs = ipam_config(
            &strings(&["10.1.0.0/24", "fd00::/64"]),
            &strings(&["10.1.0.128/25"]),
            &strings(&["fd00::1", "10.1.0.1"]),
            &aux,
        )
        .unwrap();
        assert_eq!(
            configs,
            vec![
                IpamConfig {
                    subnet: Some("10.1.0.0/24".to_owned()),
                    ip_range: Some("10.1.0.128/25".to_owned()),
                    gateway: Some("10.1.0.1".to_owned()),
                    auxiliary_addresses: None,
                },
                IpamConfig {
                    subnet: Some("fd00::/64".to_owned()),
                    ip_range: None,
                    gateway: Some("fd00::1".to_owned()),
                    auxiliary_addresses: Some(aux.clone()),
                },
            ]
        );
    }

    #[test]
    fn ipam_errors_read_as_docker() {
        let none = BTreeMap::new();
        let err = |s: &[&str], r: &[&str], g: &[&str]| {
            ipam_config(&strings(s), &strings(r), &strings(g), &none).unwrap_err()
        };
        assert_eq!(
            err(&[], &[], &["10.0.0.1"]),
            "every ip-range or gateway must have a corresponding subnet"
        );
        assert_eq!(
            err(&["10.0.0.0/8", "10.1.0.0/16"], &[], &[]),
            "multiple overlapping subnet configuration is not supported"
        );
        assert_eq!(
            err(&["10.0.0.0/24"], &[], &["10.9.0.1"]),
            "no matching subnet for gateway 10.9.0.1"
        );
        assert_eq!(
            err(&["10.0.0.0/24"], &["10.9.0.0/24"], &[]),
            "no matching subnet for range 10.9.0.0/24"
        );
        assert_eq!(
            err(&["10.0.0.0/24"], &["x"], &[]),
            "invalid CIDR address: x"
        );
        assert_eq!(
            err(
                &["10.0.0.0/24", "10.1.0.0/24"],
                &[],
                &["10.0.0.1", "10.0.0.2"]
            ),
            "cannot configure multiple gateways (10.0.0.2, 10.0.0.1) for the same subnet (10.0.0.0/24)"
        );
        assert_eq!(
            err(&["bad"], &[], &["10.0.0.1"]),
            "invalid subnet: invalid CIDR address: bad"
        );
        let aux = BTreeMap::from([("a".to_owned(), "192.168.0.1".to_owned())]);
        assert_eq!(
            ipam_config(&strings(&["10.0.0.0/24"]), &[], &[], &aux).unwrap_err(),
            "no matching subnet for aux-address 192.168.0.1"
        );
    }
}
