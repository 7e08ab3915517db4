//! A pool: one subnet of an address space and the addresses handed out in it.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

use crate::addr::{self, Family};
use crate::allocator::Allocator;
use crate::{AddressSpace, IpamError};

/// Identifies a pool: its address space, subnet and, when the pool hands out
/// addresses from a sub-range only, that range.
///
/// Printed as Docker prints pool ids: `LocalDefault/172.18.0.0/24`, or
/// `LocalDefault/172.18.0.0/24/172.18.0.128/25` with a sub-range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PoolId {
    /// The address space.
    pub space: AddressSpace,
    /// The pool's subnet.
    pub subnet: IpNet,
    /// The sub-range addresses are handed out from, if any.
    pub range: Option<IpNet>,
}

impl fmt::Display for PoolId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.space, self.subnet)?;
        if let Some(range) = self.range {
            write!(f, "/{range}")?;
        }
        Ok(())
    }
}

impl FromStr for PoolId {
    type Err = IpamError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || IpamError::InvalidPoolId { id: s.to_owned() };
        let parts: Vec<&str> = s.split('/').collect();
        let (space, subnet, range) = match parts.as_slice() {
            [space, addr, len] => (space, format!("{addr}/{len}"), None),
            [space, addr, len, raddr, rlen] => (
                space,
                format!("{addr}/{len}"),
                Some(format!("{raddr}/{rlen}")),
            ),
            _ => return Err(bad()),
        };
        let space = space.parse().map_err(|_| bad())?;
        let subnet: IpNet = subnet.parse().map_err(|_| bad())?;
        let range = match range {
            Some(r) => Some(r.parse::<IpNet>().map_err(|_| bad())?),
            None => None,
        };
        Ok(Self {
            space,
            subnet,
            range,
        })
    }
}

/// One allocated subnet and the addresses handed out in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    id: PoolId,
    alloc: Allocator,
}

impl Pool {
    /// A pool with nothing allocated. `subnet` and `range` are validated by
    /// the caller (masked, range inside subnet, same family).
    pub(crate) fn new(id: PoolId) -> Self {
        Self {
            id,
            alloc: Allocator::default(),
        }
    }

    pub(crate) fn with_allocator(id: PoolId, alloc: Allocator) -> Self {
        Self { id, alloc }
    }

    pub(crate) fn allocator(&self) -> &Allocator {
        &self.alloc
    }

    /// The pool's id.
    pub fn id(&self) -> PoolId {
        self.id
    }

    /// The pool's subnet.
    pub fn subnet(&self) -> IpNet {
        self.id.subnet
    }

    /// The sub-range dynamic addresses come from, if any.
    pub fn range(&self) -> Option<IpNet> {
        self.id.range
    }

    /// The pool's IP version.
    pub fn family(&self) -> Family {
        Family::of_net(&self.id.subnet)
    }

    /// How many addresses are allocated (gateway and auxiliary ones included).
    pub fn allocated(&self) -> u128 {
        self.alloc.count()
    }

    /// How many ranges the allocated addresses form; the pool's memory is
    /// proportional to it, not to the subnet's size.
    pub fn fragments(&self) -> usize {
        self.alloc.interval_count()
    }

    /// Whether `addr` is allocated.
    pub fn is_allocated(&self, addr: IpAddr) -> bool {
        Family::of(addr) == self.family() && self.alloc.contains(addr::to_u128(addr))
    }

    /// The allocated addresses, as inclusive ranges in order.
    pub fn allocated_ranges(&self) -> impl Iterator<Item = (IpAddr, IpAddr)> + '_ {
        let family = self.family();
        self.alloc
            .intervals()
            .map(move |(s, e)| (addr::from_u128(family, s), addr::from_u128(family, e)))
    }

    /// Usable bounds of the range dynamic addresses come from: the sub-range
    /// (or the subnet) without the subnet's reserved addresses.
    fn dynamic_bounds(&self) -> Option<(u128, u128)> {
        let (ulo, uhi) = addr::usable_bounds(&self.id.subnet);
        let (rlo, rhi) = match &self.id.range {
            Some(r) => addr::bounds(r),
            None => (ulo, uhi),
        };
        let (lo, hi) = (ulo.max(rlo), uhi.min(rhi));
        (lo <= hi).then_some((lo, hi))
    }

    /// Checks that `addr` may be allocated explicitly: same family, inside
    /// the subnet, not reserved.
    fn check_explicit(&self, addr: IpAddr) -> Result<u128, IpamError> {
        let subnet = self.id.subnet;
        if Family::of(addr) != self.family() || !subnet.contains(&addr) {
            return Err(IpamError::AddressOutsidePool { addr, pool: subnet });
        }
        let n = addr::to_u128(addr);
        let (lo, hi) = addr::usable_bounds(&subnet);
        if n < lo {
            return Err(IpamError::AddressReserved {
                addr,
                kind: "network",
                pool: subnet,
            });
        }
        if n > hi {
            return Err(IpamError::AddressReserved {
                addr,
                kind: "broadcast",
                pool: subnet,
            });
        }
        Ok(n)
    }

    /// Allocates `addr`, or the next free address of the range in Docker's
    /// serial order when `addr` is `None`.
    pub(crate) fn request(&mut self, addr: Option<IpAddr>) -> Result<IpAddr, IpamError> {
        match addr {
            Some(addr) => {
                let n = self.check_explicit(addr)?;
                if !self.alloc.insert(n) {
                    return Err(IpamError::AddressInUse { addr });
                }
                Ok(addr)
            }
            None => {
                let exhausted = || IpamError::PoolExhausted {
                    pool: self.id.range.unwrap_or(self.id.subnet),
                };
                let (lo, hi) = self.dynamic_bounds().ok_or_else(exhausted)?;
                let n = self.alloc.allocate_serial(lo, hi).ok_or_else(exhausted)?;
                Ok(addr::from_u128(self.family(), n))
            }
        }
    }

    /// Allocates the lowest free address of the range (the sub-range when
    /// there is one) and leaves the serial cursor alone: how Docker picks a
    /// network's default gateway.
    pub(crate) fn request_lowest(&mut self) -> Result<IpAddr, IpamError> {
        let exhausted = || IpamError::PoolExhausted {
            pool: self.id.range.unwrap_or(self.id.subnet),
        };
        let (lo, hi) = self.dynamic_bounds().ok_or_else(exhausted)?;
        let n = self.alloc.allocate_lowest(lo, hi).ok_or_else(exhausted)?;
        Ok(addr::from_u128(self.family(), n))
    }

    /// Frees `addr`.
    pub(crate) fn release(&mut self, addr: IpAddr) -> Result<(), IpamError> {
        let not_allocated = IpamError::NotAllocated {
            addr,
            pool: self.id.subnet,
        };
        if Family::of(addr) != self.family() || !self.alloc.remove(addr::to_u128(addr)) {
            return Err(not_allocated);
        }
        Ok(())
    }

    /// Whether no dynamic address is left.
    pub fn is_full(&self) -> bool {
        self.dynamic_bounds()
            .is_none_or(|(lo, hi)| self.alloc.is_full(lo, hi))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn pool(subnet: &str, range: Option<&str>) -> Pool {
        Pool::new(PoolId {
            space: AddressSpace::Local,
            subnet: subnet.parse().unwrap(),
            range: range.map(|r| r.parse().unwrap()),
        })
    }

    #[test]
    fn pool_id_round_trips_through_docker_text() {
        for s in [
            "LocalDefault/172.18.0.0/24",
            "GlobalDefault/10.0.0.0/8/10.0.5.0/24",
            "LocalDefault/fd00::/64",
        ] {
            assert_eq!(s.parse::<PoolId>().unwrap().to_string(), s);
        }
        assert!("LocalDefault/10.0.0.0".parse::<PoolId>().is_err());
        assert!("Nowhere/10.0.0.0/8".parse::<PoolId>().is_err());
    }

    #[test]
    fn dynamic_addresses_skip_network_address() {
        let mut p = pool("10.0.0.0/30", None);
        assert_eq!(p.request(None).unwrap(), ip("10.0.0.1"));
        assert_eq!(p.request(None).unwrap(), ip("10.0.0.2"));
        assert_eq!(
            p.request(None),
            Err(IpamError::PoolExhausted {
                pool: "10.0.0.0/30".parse().unwrap()
            })
        );
    }

    #[test]
    fn network_and_broadcast_cannot_be_requested() {
        let mut p = pool("10.0.0.0/24", None);
        assert!(matches!(
            p.request(Some(ip("10.0.0.0"))),
            Err(IpamError::AddressReserved {
                kind: "network",
                ..
            })
        ));
        assert!(matches!(
            p.request(Some(ip("10.0.0.255"))),
            Err(IpamError::AddressReserved {
                kind: "broadcast",
                ..
            })
        ));
    }

    #[test]
    fn explicit_address_outside_subnet_or_family_is_refused() {
        let mut p = pool("10.0.0.0/24", None);
        assert!(matches!(
            p.request(Some(ip("10.0.1.1"))),
            Err(IpamError::AddressOutsidePool { .. })
        ));
        assert!(matches!(
            p.request(Some(ip("fd00::1"))),
            Err(IpamError::AddressOutsidePool { .. })
        ));
    }

    #[test]
    fn explicit_address_twice_is_in_use() {
        let mut p = pool("10.0.0.0/24", None);
        p.request(Some(ip("10.0.0.9"))).unwrap();
        assert_eq!(
            p.request(Some(ip("10.0.0.9"))),
            Err(IpamError::AddressInUse {
                addr: ip("10.0.0.9")
            })
        );
    }

    #[test]
    fn explicit_address_may_lie_outside_the_sub_range() {
        let mut p = pool("10.0.0.0/16", Some("10.0.5.0/24"));
        assert_eq!(p.request(Some(ip("10.0.0.7"))).unwrap(), ip("10.0.0.7"));
    }

    #[test]
    fn dynamic_addresses_come_from_the_sub_range_including_its_edges() {
        let mut p = pool("10.0.0.0/16", Some("10.0.5.0/31"));
        assert_eq!(p.request(None).unwrap(), ip("10.0.5.0"));
        assert_eq!(p.request(None).unwrap(), ip("10.0.5.1"));
        assert!(p.request(None).is_err());
        assert!(p.is_full());
    }

    #[test]
    fn default_gateway_is_first_address_of_the_sub_range() {
        let mut p = pool("10.0.0.0/16", Some("10.0.5.0/24"));
        assert_eq!(p.request_lowest().unwrap(), ip("10.0.5.0"));
        assert_eq!(p.request(None).unwrap(), ip("10.0.5.1"));
    }

    #[test]
    fn gateway_request_leaves_serial_cursor_alone() {
        let mut p = pool("10.0.0.0/24", None);
        assert_eq!(p.request(None).unwrap(), ip("10.0.0.1"));
        assert_eq!(p.request(None).unwrap(), ip("10.0.0.2"));
        p.release(ip("10.0.0.1")).unwrap();
        assert_eq!(p.request_lowest().unwrap(), ip("10.0.0.1"));
        assert_eq!(p.request(None).unwrap(), ip("10.0.0.3"));
    }

    #[test]
    fn point_to_point_pools_hand_out_all_their_addresses() {
        let mut p = pool("10.0.0.4/31", None);
        assert_eq!(p.request(None).unwrap(), ip("10.0.0.4"));
        assert_eq!(p.request(None).unwrap(), ip("10.0.0.5"));
        let mut p = pool("10.9.9.9/32", None);
        assert_eq!(p.request(None).unwrap(), ip("10.9.9.9"));
        assert!(p.request(None).is_err());
        let mut p = pool("fd00::/127", None);
        assert_eq!(p.request(None).unwrap(), ip("fd00::"));
        assert_eq!(p.request(None).unwrap(), ip("fd00::1"));
    }

    #[test]
    fn v6_pool_reserves_anycast_but_not_last_address() {
        let mut p = pool("fd00::/126", None);
        let got: Vec<_> = (0..3).map(|_| p.request(None).unwrap()).collect();
        assert_eq!(got, vec![ip("fd00::1"), ip("fd00::2"), ip("fd00::3")]);
        assert!(matches!(
            p.request(Some(ip("fd00::"))),
            Err(IpamError::AddressReserved { .. })
        ));
    }

    #[test]
    fn releasing_unallocated_address_fails() {
        let mut p = pool("10.0.0.0/24", None);
        assert_eq!(
            p.release(ip("10.0.0.3")),
            Err(IpamError::NotAllocated {
                addr: ip("10.0.0.3"),
                pool: "10.0.0.0/24".parse().unwrap()
            })
        );
        p.request(Some(ip("10.0.0.3"))).unwrap();
        p.release(ip("10.0.0.3")).unwrap();
        assert!(p.release(ip("10.0.0.3")).is_err());
    }
}
