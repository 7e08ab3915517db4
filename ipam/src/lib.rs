//! IP address management for netd: pure logic, no I/O.
//!
//! The model is Docker's default IPAM driver. An [`Ipam`] holds the pools of
//! two address spaces ([`AddressSpace::Local`] and [`AddressSpace::Global`]);
//! a pool is a subnet, optionally with a sub-range that dynamic addresses
//! come from, and it hands out addresses in Docker's serial order. Pools are
//! requested by subnet or from the [default pools](defaults), skipping
//! subnets the caller says are in use.
//!
//! Where it is better than Docker's:
//! - allocation keeps intervals, not a bitmap, so an IPv6 /64 costs what is
//!   allocated in it, and every operation is O(log n);
//! - the built-in default pools give 4,096 networks instead of 31;
//! - every error names the input at fault.
//!
//! The whole state serializes with serde (see [`IpamState`]) so netd can
//! store it next to the objects it belongs to.

#![warn(missing_docs)]

mod addr;
mod allocator;
pub mod defaults;
mod error;
mod network;
mod persist;
mod pool;
mod space;

use std::net::IpAddr;

use ipnet::IpNet;

pub use addr::Family;
pub use defaults::{Config, DefaultPool};
pub use error::{FamilyName, IpamError};
pub use network::{NetworkAllocation, NetworkSpec, SpecErrors, SubnetChoice, SubnetSpec};
pub use persist::{AddrRange, IpamState, PoolState};
pub use pool::{Pool, PoolId};
pub use space::AddressSpace;

use space::Space;

/// What subnet a pool request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolRequest<'a> {
    /// This subnet, handing out dynamic addresses from `range` (a subnet of
    /// it) when given.
    Subnet {
        /// The subnet; host bits must be clear.
        subnet: IpNet,
        /// The sub-range for dynamic addresses.
        range: Option<IpNet>,
    },
    /// Any free subnet from the default pools.
    Any {
        /// The IP version wanted.
        family: Family,
        /// The prefix length wanted; `None` takes each default pool's size.
        size: Option<u8>,
        /// Subnets in use elsewhere (host routes, other tools): never picked.
        exclude: &'a [IpNet],
    },
}

/// The pools of both address spaces and the addresses allocated in them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipam {
    config: Config,
    local: Space,
    global: Space,
}

impl Default for Ipam {
    fn default() -> Self {
        Self::new(Config::default())
    }
}

impl Ipam {
    /// An IPAM with nothing allocated.
    pub fn new(config: Config) -> Self {
        Self {
            config,
            local: Space::default(),
            global: Space::default(),
        }
    }

    /// The default pools in use.
    pub fn config(&self) -> &Config {
        &self.config
    }

    fn space(&self, space: AddressSpace) -> &Space {
        match space {
            AddressSpace::Local => &self.local,
            AddressSpace::Global => &self.global,
        }
    }

    fn space_mut(&mut self, space: AddressSpace) -> &mut Space {
        match space {
            AddressSpace::Local => &mut self.local,
            AddressSpace::Global => &mut self.global,
        }
    }

    /// Allocates a pool in `space`.
    pub fn request_pool(
        &mut self,
        space: AddressSpace,
        request: PoolRequest<'_>,
    ) -> Result<PoolId, IpamError> {
        let (subnet, range) = match request {
            PoolRequest::Subnet { subnet, range } => {
                check_subnet(&subnet, range.as_ref())?;
                if let Some(existing) = self.space(space).overlapping(&subnet) {
                    return Err(IpamError::PoolOverlap {
                        requested: subnet,
                        existing: existing.subnet(),
                    });
                }
                (subnet, range)
            }
            PoolRequest::Any {
                family,
                size,
                exclude,
            } => {
                if let Some(len) = size.filter(|l| *l > family.bits()) {
                    return Err(IpamError::InvalidSize {
                        family: FamilyName(family),
                        len,
                    });
                }
                let defaults = self.config.pools(space);
                let subnet = self
                    .space(space)
                    .find_free(defaults, family, size, exclude)
                    .ok_or_else(|| IpamError::NoAvailablePool {
                        family: FamilyName(family),
                        size: size.map(|l| format!(", size /{l}")).unwrap_or_default(),
                    })?;
                (subnet, None)
            }
        };
        let id = PoolId {
            space,
            subnet,
            range,
        };
        self.space_mut(space).insert(Pool::new(id));
        Ok(id)
    }

    /// The pool `id` names, if it is allocated.
    pub fn pool(&self, id: &PoolId) -> Option<&Pool> {
        self.space(id.space)
            .get(&id.subnet)
            .filter(|p| p.range() == id.range)
    }

    pub(crate) fn pool_mut(&mut self, id: &PoolId) -> Result<&mut Pool, IpamError> {
        self.space_mut(id.space)
            .get_mut(&id.subnet)
            .filter(|p| p.range() == id.range)
            .ok_or_else(|| IpamError::UnknownPool { id: id.to_string() })
    }

    /// Every allocated pool, local space first, each in address order.
    pub fn pools(&self) -> impl Iterator<Item = &Pool> {
        self.local.iter().chain(self.global.iter())
    }

    /// How many pools are allocated.
    pub fn pool_count(&self) -> usize {
        self.local.len() + self.global.len()
    }

    /// Releases a pool and every address allocated in it.
    pub fn release_pool(&mut self, id: &PoolId) -> Result<(), IpamError> {
        self.pool_mut(id)?;
        self.space_mut(id.space).remove(&id.subnet);
        Ok(())
    }

    /// Allocates `addr` in the pool, or the next free address in Docker's
    /// serial order when `addr` is `None`.
    pub fn request_address(
        &mut self,
        id: &PoolId,
        addr: Option<IpAddr>,
    ) -> Result<IpAddr, IpamError> {
        self.pool_mut(id)?.request(addr)
    }

    /// Allocates the lowest free address of the pool's range without moving
    /// the serial cursor, as Docker does for a network's default gateway.
    pub fn request_gateway(&mut self, id: &PoolId) -> Result<IpAddr, IpamError> {
        self.pool_mut(id)?.request_lowest()
    }

    /// Frees an address of the pool.
    pub fn release_address(&mut self, id: &PoolId, addr: IpAddr) -> Result<(), IpamError> {
        self.pool_mut(id)?.release(addr)
    }
}

/// Checks a requested subnet and sub-range: no host bits, range inside the
/// subnet and of its family.
pub(crate) fn check_subnet(subnet: &IpNet, range: Option<&IpNet>) -> Result<(), IpamError> {
    if addr::has_host_bits(subnet) {
        return Err(IpamError::SubnetHostBits {
            input: subnet.to_string(),
            expected: subnet.trunc(),
        });
    }
    let Some(range) = range else {
        return Ok(());
    };
    if Family::of_net(range) != Family::of_net(subnet) {
        return Err(IpamError::FamilyMismatch {
            what: "ip-range".into(),
            input: range.to_string(),
            subnet_family: FamilyName(Family::of_net(subnet)),
        });
    }
    if addr::has_host_bits(range) {
        return Err(IpamError::IpRangeHostBits {
            input: range.to_string(),
            expected: range.trunc(),
        });
    }
    if !subnet.contains(range) {
        return Err(IpamError::IpRangeOutsideSubnet {
            range: *range,
            subnet: *subnet,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn subnet(s: &str) -> PoolRequest<'static> {
        PoolRequest::Subnet {
            subnet: net(s),
            range: None,
        }
    }

    fn any_v4() -> PoolRequest<'static> {
        PoolRequest::Any {
            family: Family::V4,
            size: None,
            exclude: &[],
        }
    }

    #[test]
    fn default_pools_hand_out_docker_ranges_as_24s() {
        let mut ipam = Ipam::default();
        let a = ipam.request_pool(AddressSpace::Local, any_v4()).unwrap();
        let b = ipam.request_pool(AddressSpace::Local, any_v4()).unwrap();
        assert_eq!(a.subnet, net("172.17.0.0/24"));
        assert_eq!(b.subnet, net("172.17.1.0/24"));
        assert_eq!(a.to_string(), "LocalDefault/172.17.0.0/24");
    }

    #[test]
    fn thousands_of_networks_fit_in_the_default_pools() {
        let mut ipam = Ipam::default();
        for _ in 0..4096 {
            ipam.request_pool(AddressSpace::Local, any_v4()).unwrap();
        }
        let err = ipam
            .request_pool(AddressSpace::Local, any_v4())
            .unwrap_err();
        assert!(matches!(err, IpamError::NoAvailablePool { .. }));
        assert!(err.to_string().contains("IPv4"), "{err}");
        assert_eq!(ipam.pool_count(), 4096);
    }

    #[test]
    fn excluded_subnets_are_skipped() {
        let mut ipam = Ipam::default();
        let exclude = [net("172.17.0.0/20"), net("172.17.16.0/24")];
        let id = ipam
            .request_pool(
                AddressSpace::Local,
                PoolRequest::Any {
                    family: Family::V4,
                    size: None,
                    exclude: &exclude,
                },
            )
            .unwrap();
        assert_eq!(id.subnet, net("172.17.17.0/24"));
    }

    #[test]
    fn overlapping_subnet_is_refused_in_same_space_only() {
        let mut ipam = Ipam::default();
        ipam.request_pool(AddressSpace::Local, subnet("10.1.0.0/16"))
            .unwrap();
        let err = ipam
            .request_pool(AddressSpace::Local, subnet("10.1.2.0/24"))
            .unwrap_err();
        assert_eq!(
            err,
            IpamError::PoolOverlap {
                requested: net("10.1.2.0/24"),
                existing: net("10.1.0.0/16")
            }
        );
        assert!(
            err.to_string()
                .starts_with("invalid pool request: Pool overlaps with other one")
        );
        ipam.request_pool(AddressSpace::Global, subnet("10.1.2.0/24"))
            .unwrap();
    }

    #[test]
    fn overlap_is_detected_for_v6_too() {
        let mut ipam = Ipam::default();
        ipam.request_pool(AddressSpace::Local, subnet("fd00:1::/64"))
            .unwrap();
        assert!(matches!(
            ipam.request_pool(AddressSpace::Local, subnet("fd00::/16")),
            Err(IpamError::PoolOverlap { .. })
        ));
        ipam.request_pool(AddressSpace::Local, subnet("fd00:2::/64"))
            .unwrap();
    }

    #[test]
    fn released_pool_can_be_requested_again() {
        let mut ipam = Ipam::default();
        let id = ipam
            .request_pool(AddressSpace::Local, subnet("10.1.0.0/24"))
            .unwrap();
        ipam.request_address(&id, None).unwrap();
        ipam.release_pool(&id).unwrap();
        assert!(ipam.pool(&id).is_none());
        assert_eq!(
            ipam.release_pool(&id),
            Err(IpamError::UnknownPool {
                id: "LocalDefault/10.1.0.0/24".into()
            })
        );
        let again = ipam
            .request_pool(AddressSpace::Local, subnet("10.1.0.0/24"))
            .unwrap();
        assert_eq!(ipam.request_address(&again, None).unwrap(), ip("10.1.0.1"));
    }

    #[test]
    fn subnet_with_host_bits_is_refused_with_dockers_message() {
        let mut ipam = Ipam::default();
        let err = ipam
            .request_pool(AddressSpace::Local, subnet("10.1.0.1/24"))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid subnet 10.1.0.1/24: it should be 10.1.0.0/24"
        );
    }

    #[test]
    fn range_outside_subnet_or_of_other_family_is_refused() {
        let mut ipam = Ipam::default();
        let req = |r: &str| PoolRequest::Subnet {
            subnet: net("10.1.0.0/16"),
            range: Some(net(r)),
        };
        assert!(matches!(
            ipam.request_pool(AddressSpace::Local, req("10.2.0.0/24")),
            Err(IpamError::IpRangeOutsideSubnet { .. })
        ));
        assert!(matches!(
            ipam.request_pool(AddressSpace::Local, req("fd00::/64")),
            Err(IpamError::FamilyMismatch { .. })
        ));
        assert!(matches!(
            ipam.request_pool(AddressSpace::Local, req("10.1.0.1/24")),
            Err(IpamError::IpRangeHostBits { .. })
        ));
        assert_eq!(ipam.pool_count(), 0);
    }

    #[test]
    fn size_only_request_carves_from_defaults() {
        let mut ipam = Ipam::new(Config::with_host_ula(b"host"));
        let id = ipam
            .request_pool(
                AddressSpace::Local,
                PoolRequest::Any {
                    family: Family::V4,
                    size: Some(26),
                    exclude: &[],
                },
            )
            .unwrap();
        assert_eq!(id.subnet, net("172.17.0.0/26"));
        let v6 = ipam
            .request_pool(
                AddressSpace::Local,
                PoolRequest::Any {
                    family: Family::V6,
                    size: None,
                    exclude: &[],
                },
            )
            .unwrap();
        assert_eq!(v6.subnet.prefix_len(), 64);
        assert!(matches!(
            ipam.request_pool(
                AddressSpace::Local,
                PoolRequest::Any {
                    family: Family::V4,
                    size: Some(33),
                    exclude: &[]
                }
            ),
            Err(IpamError::InvalidSize { len: 33, .. })
        ));
    }

    #[test]
    fn unknown_pool_is_reported_for_address_calls() {
        let mut ipam = Ipam::default();
        let id: PoolId = "LocalDefault/10.0.0.0/24".parse().unwrap();
        assert!(matches!(
            ipam.request_address(&id, None),
            Err(IpamError::UnknownPool { .. })
        ));
        let with_range: PoolId = "LocalDefault/10.0.0.0/24/10.0.0.0/25".parse().unwrap();
        ipam.request_pool(AddressSpace::Local, subnet("10.0.0.0/24"))
            .unwrap();
        assert!(ipam.request_address(&with_range, None).is_err());
        assert!(ipam.request_address(&id, None).is_ok());
    }

    #[test]
    fn v6_64_allocation_costs_what_is_allocated() {
        let mut ipam = Ipam::default();
        let id = ipam
            .request_pool(AddressSpace::Local, subnet("fd00::/64"))
            .unwrap();
        for _ in 0..10_000 {
            ipam.request_address(&id, None).unwrap();
        }
        let pool = ipam.pool(&id).unwrap();
        assert_eq!(pool.allocated(), 10_000);
        assert_eq!(pool.fragments(), 1);
    }
}
