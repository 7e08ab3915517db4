//! A network's IPAM configuration: `--subnet`, `--ip-range`, `--gateway` and
//! `--aux-address` checked the way Docker checks them, then reserved in one
//! step that undoes itself on failure.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::addr::{self, Family};
use crate::{AddressSpace, FamilyName, Ipam, IpamError, PoolId, PoolRequest};

/// One IPAM config entry as a user writes it (Docker's `IPAM.Config[]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubnetSpec {
    /// `--subnet`: a CIDR, or `0.0.0.0/N` / `::/N` for "any /N from the
    /// default pools".
    pub subnet: Option<String>,
    /// `--ip-range`: the CIDR dynamic addresses come from.
    pub ip_range: Option<String>,
    /// `--gateway`.
    pub gateway: Option<String>,
    /// `--aux-address name=ip`: addresses never handed out.
    pub aux: BTreeMap<String, String>,
}

/// Which subnet a network asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubnetChoice {
    /// Exactly this subnet.
    Subnet(IpNet),
    /// Any subnet of this prefix length from the default pools.
    Size(u8),
    /// Any subnet from the default pools, of the pool's own size.
    Default,
}

/// A network's IPAM configuration for one IP version, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkSpec {
    /// The IP version.
    pub family: Family,
    /// The subnet asked for.
    pub subnet: SubnetChoice,
    /// The sub-range dynamic addresses come from.
    pub ip_range: Option<IpNet>,
    /// The gateway, when given.
    pub gateway: Option<IpAddr>,
    /// Auxiliary addresses by name.
    pub aux: BTreeMap<String, IpAddr>,
}

/// Every problem found in a configuration, printed as Docker prints them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecErrors(pub Vec<IpamError>);

impl fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid network config:")?;
        for e in &self.0 {
            write!(f, "\n* {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SpecErrors {}

/// What a network holds in IPAM: its pool, gateway and auxiliary addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkAllocation {
    /// The pool.
    pub pool: PoolId,
    /// The gateway address.
    pub gateway: IpAddr,
    /// Auxiliary addresses by name.
    pub aux: BTreeMap<String, IpAddr>,
}

impl NetworkSpec {
    /// Any subnet of `family` from the default pools, nothing else given.
    pub fn any(family: Family) -> Self {
        Self {
            family,
            subnet: SubnetChoice::Default,
            ip_range: None,
            gateway: None,
            aux: BTreeMap::new(),
        }
    }

    /// Checks a user's entry, reporting every problem at once as Docker
    /// does. Without a subnet the entry is for `default_family`.
    pub fn parse(spec: &SubnetSpec, default_family: Family) -> Result<Self, SpecErrors> {
        let mut errs = Vec::new();
        let Some(text) = &spec.subnet else {
            return match missing_subnet(spec) {
                None => Ok(Self::any(default_family)),
                Some(e) => Err(e),
            };
        };
        let subnet: IpNet = text.parse().map_err(|_| {
            SpecErrors(vec![IpamError::InvalidSubnet {
                input: text.clone(),
            }])
        })?;
        let family = Family::of_net(&subnet);
        let size_only = subnet.addr().is_unspecified() && subnet.prefix_len() > 0;
        if size_only {
            if let Some(e) = missing_subnet(spec) {
                return Err(e);
            }
            let mut out = Self::any(family);
            out.subnet = SubnetChoice::Size(subnet.prefix_len());
            return Ok(out);
        }
        if addr::has_host_bits(&subnet) {
            errs.push(IpamError::SubnetHostBits {
                input: text.clone(),
                expected: subnet.trunc(),
            });
        }
        let ip_range = spec
            .ip_range
            .as_ref()
            .and_then(|r| check_range(r, &subnet, &mut errs));
        let gateway = spec
            .gateway
            .as_ref()
            .and_then(|g| check_address("gateway", g, &subnet, &mut errs));
        let mut aux = BTreeMap::new();
        for (name, a) in &spec.aux {
            let what = format!("auxiliary address {name}");
            if let Some(ip) = check_address(&what, a, &subnet, &mut errs) {
                aux.insert(name.clone(), ip);
            }
        }
        if !errs.is_empty() {
            return Err(SpecErrors(errs));
        }
        Ok(Self {
            family,
            subnet: SubnetChoice::Subnet(subnet),
            ip_range,
            gateway,
            aux,
        })
    }
}

/// The errors for an entry that gives an ip-range, gateway or auxiliary
/// address without a concrete subnet, if it does.
fn missing_subnet(spec: &SubnetSpec) -> Option<SpecErrors> {
    let missing = |what: String, input: &String| IpamError::MissingSubnet {
        what,
        input: input.clone(),
    };
    let errs: Vec<IpamError> = spec
        .ip_range
        .iter()
        .map(|r| missing("ip-range".into(), r))
        .chain(spec.gateway.iter().map(|g| missing("gateway".into(), g)))
        .chain(
            spec.aux
                .iter()
                .map(|(name, a)| missing(format!("auxiliary address {name}"), a)),
        )
        .collect();
    (!errs.is_empty()).then_some(SpecErrors(errs))
}

/// Checks an ip-range against its subnet, recording every problem.
fn check_range(text: &str, subnet: &IpNet, errs: &mut Vec<IpamError>) -> Option<IpNet> {
    let Ok(range) = text.parse::<IpNet>() else {
        errs.push(IpamError::InvalidIpRange {
            input: text.to_owned(),
        });
        return None;
    };
    if Family::of_net(&range) != Family::of_net(subnet) {
        errs.push(IpamError::FamilyMismatch {
            what: "ip-range".into(),
            input: text.to_owned(),
            subnet_family: FamilyName(Family::of_net(subnet)),
        });
        return None;
    }
    let before = errs.len();
    if range.prefix_len() < subnet.prefix_len() {
        errs.push(IpamError::IpRangeTooBig {
            range,
            subnet: *subnet,
        });
    }
    if addr::has_host_bits(&range) {
        errs.push(IpamError::IpRangeHostBits {
            input: text.to_owned(),
            expected: range.trunc(),
        });
    }
    if !subnet.trunc().contains(&range.trunc()) {
        errs.push(IpamError::IpRangeOutsideSubnet {
            range,
            subnet: *subnet,
        });
    }
    (errs.len() == before).then_some(range)
}

/// Checks a gateway or auxiliary address against its subnet.
fn check_address(
    what: &str,
    text: &str,
    subnet: &IpNet,
    errs: &mut Vec<IpamError>,
) -> Option<IpAddr> {
    let Ok(ip) = text.parse::<IpAddr>() else {
        errs.push(IpamError::InvalidAddress {
            what: what.to_owned(),
            input: text.to_owned(),
        });
        return None;
    };
    if Family::of(ip) != Family::of_net(subnet) {
        errs.push(IpamError::FamilyMismatch {
            what: what.to_owned(),
            input: text.to_owned(),
            subnet_family: FamilyName(Family::of_net(subnet)),
        });
        return None;
    }
    if !subnet.contains(&ip) {
        errs.push(IpamError::AddressOutsideSubnet {
            what: what.to_owned(),
            addr: ip,
            subnet: *subnet,
        });
        return None;
    }
    Some(ip)
}

impl Ipam {
    /// Reserves a network's pool, gateway and auxiliary addresses. On any
    /// failure nothing stays allocated.
    ///
    /// `exclude` lists subnets in use elsewhere (host routes); it only
    /// matters when the subnet comes from the default pools.
    pub fn allocate_network(
        &mut self,
        space: AddressSpace,
        spec: &NetworkSpec,
        exclude: &[IpNet],
    ) -> Result<NetworkAllocation, IpamError> {
        let request = match spec.subnet {
            SubnetChoice::Subnet(subnet) => PoolRequest::Subnet {
                subnet,
                range: spec.ip_range,
            },
            SubnetChoice::Size(len) => PoolRequest::Any {
                family: spec.family,
                size: Some(len),
                exclude,
            },
            SubnetChoice::Default => PoolRequest::Any {
                family: spec.family,
                size: None,
                exclude,
            },
        };
        let pool = self.request_pool(space, request)?;
        match self.reserve_fixed(&pool, spec) {
            Ok((gateway, aux)) => Ok(NetworkAllocation { pool, gateway, aux }),
            Err(e) => {
                self.release_pool(&pool)
                    .expect("the pool was allocated just above");
                Err(e)
            }
        }
    }

    /// Reserves the auxiliary addresses first (so that a default gateway
    /// never lands on one), then the gateway.
    fn reserve_fixed(
        &mut self,
        pool: &PoolId,
        spec: &NetworkSpec,
    ) -> Result<(IpAddr, BTreeMap<String, IpAddr>), IpamError> {
        for ip in spec.aux.values() {
            self.request_address(pool, Some(*ip))?;
        }
        let gateway = match spec.gateway {
            Some(ip) => self.request_address(pool, Some(ip))?,
            None => self.request_gateway(pool)?,
        };
        Ok((gateway, spec.aux.clone()))
    }

    /// Releases everything [`Ipam::allocate_network`] reserved.
    pub fn release_network(&mut self, alloc: &NetworkAllocation) -> Result<(), IpamError> {
        self.release_pool(&alloc.pool)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(subnet: &str) -> SubnetSpec {
        SubnetSpec {
            subnet: Some(subnet.into()),
            ..SubnetSpec::default()
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn parse_err(s: &SubnetSpec) -> String {
        NetworkSpec::parse(s, Family::V4).unwrap_err().to_string()
    }

    #[test]
    fn every_problem_is_reported_in_dockers_words() {
        let mut s = spec("10.0.0.1/24");
        s.gateway = Some("10.1.0.1".into());
        s.ip_range = Some("fd00::/64".into());
        s.aux.insert("a".into(), "nonsense".into());
        assert_eq!(
            parse_err(&s),
            "invalid network config:\n\
             * invalid subnet 10.0.0.1/24: it should be 10.0.0.0/24\n\
             * invalid ip-range fd00::/64: parent subnet is an IPv4 block\n\
             * invalid gateway 10.1.0.1: parent subnet 10.0.0.1/24 doesn't contain this address\n\
             * invalid auxiliary address a nonsense: invalid address"
        );
    }

    #[test]
    fn bad_cidr_is_reported_alone() {
        let mut s = spec("10.0.0.0/33");
        s.gateway = Some("x".into());
        assert_eq!(
            parse_err(&s),
            "invalid network config:\n* invalid subnet 10.0.0.0/33: invalid CIDR block notation"
        );
    }

    #[test]
    fn range_checks_accumulate() {
        let mut s = spec("10.0.0.0/24");
        s.ip_range = Some("10.0.0.1/16".into());
        let msg = parse_err(&s);
        assert!(msg.contains("CIDR block is bigger than its parent subnet 10.0.0.0/24"));
        assert!(msg.contains("it should be 10.0.0.0/16"));
        assert!(msg.contains("doesn't contain ip-range"));
    }

    #[test]
    fn gateway_or_range_without_subnet_is_refused() {
        let s = SubnetSpec {
            gateway: Some("10.0.0.1".into()),
            ..SubnetSpec::default()
        };
        assert!(parse_err(&s).contains("invalid gateway 10.0.0.1: a subnet is required"));
        let mut s = spec("0.0.0.0/26");
        s.ip_range = Some("10.0.0.0/28".into());
        assert!(parse_err(&s).contains("ip-range"));
    }

    #[test]
    fn unspecified_address_means_size_only() {
        let p = NetworkSpec::parse(&spec("0.0.0.0/26"), Family::V6).unwrap();
        assert_eq!(p.subnet, SubnetChoice::Size(26));
        assert_eq!(p.family, Family::V4);
        let p = NetworkSpec::parse(&spec("::/56"), Family::V4).unwrap();
        assert_eq!((p.family, p.subnet), (Family::V6, SubnetChoice::Size(56)));
    }

    #[test]
    fn network_gets_gateway_and_aux_and_containers_skip_them() {
        let mut ipam = Ipam::default();
        let mut s = spec("10.5.0.0/24");
        s.aux.insert("router".into(), "10.5.0.1".into());
        s.aux.insert("printer".into(), "10.5.0.3".into());
        let parsed = NetworkSpec::parse(&s, Family::V4).unwrap();
        let alloc = ipam
            .allocate_network(AddressSpace::Local, &parsed, &[])
            .unwrap();
        assert_eq!(alloc.gateway, ip("10.5.0.2"));
        let got: Vec<_> = (0..3)
            .map(|_| ipam.request_address(&alloc.pool, None).unwrap())
            .collect();
        assert_eq!(got, vec![ip("10.5.0.4"), ip("10.5.0.5"), ip("10.5.0.6")]);
    }

    #[test]
    fn explicit_gateway_is_used() {
        let mut ipam = Ipam::default();
        let mut s = spec("10.5.0.0/24");
        s.gateway = Some("10.5.0.254".into());
        let parsed = NetworkSpec::parse(&s, Family::V4).unwrap();
        let alloc = ipam
            .allocate_network(AddressSpace::Local, &parsed, &[])
            .unwrap();
        assert_eq!(alloc.gateway, ip("10.5.0.254"));
        assert_eq!(
            ipam.request_address(&alloc.pool, None).unwrap(),
            ip("10.5.0.1")
        );
    }

    #[test]
    fn failed_reservation_leaves_nothing_allocated() {
        let mut ipam = Ipam::default();
        let mut s = spec("10.5.0.0/24");
        s.gateway = Some("10.5.0.7".into());
        s.aux.insert("clash".into(), "10.5.0.7".into());
        let parsed = NetworkSpec::parse(&s, Family::V4).unwrap();
        let before = ipam.clone();
        assert_eq!(
            ipam.allocate_network(AddressSpace::Local, &parsed, &[]),
            Err(IpamError::AddressInUse {
                addr: ip("10.5.0.7")
            })
        );
        assert_eq!(ipam, before);
        let mut s = spec("10.6.0.0/24");
        s.gateway = Some("10.6.0.255".into());
        let parsed = NetworkSpec::parse(&s, Family::V4).unwrap();
        assert!(
            ipam.allocate_network(AddressSpace::Local, &parsed, &[])
                .is_err()
        );
        assert_eq!(ipam, before);
    }

    #[test]
    fn release_network_frees_the_subnet() {
        let mut ipam = Ipam::default();
        let parsed = NetworkSpec::any(Family::V4);
        let a = ipam
            .allocate_network(AddressSpace::Local, &parsed, &[])
            .unwrap();
        assert_eq!(a.gateway, ip("172.17.0.1"));
        ipam.release_network(&a).unwrap();
        let b = ipam
            .allocate_network(AddressSpace::Local, &parsed, &[])
            .unwrap();
        assert_eq!(a.pool, b.pool);
    }
}
