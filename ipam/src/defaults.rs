//! Default address pools: where subnets come from when a network is created
//! without `--subnet`.
//!
//! Configured like Docker's `default-address-pools`: a list of `base`
//! subnets, each carved into subnets of prefix length `size`, tried in order.
//!
//! ## The built-in default, and why
//!
//! Docker carves 172.17.0.0/16–172.31.0.0/16 into /16s and 192.168.0.0/16
//! into /20s: 31 networks in all, after which `network create` fails, and
//! every network takes 65,534 addresses that nobody uses while it collides
//! with any VPN or office range nearby (moby/moby#29239).
//!
//! berth keeps exactly Docker's address space, so that firewall rules and
//! habits written for Docker's ranges still apply, but carves it into /24s:
//! 172.17.0.0/16–172.31.0.0/16 give 3,840 networks and 192.168.0.0/16 gives
//! 256 more, 4,096 in all, each with 253 container addresses (more than a
//! Linux bridge serves well, see moby/moby#44973). 192.168.0.0/16 comes last
//! because home networks live there; 10.0.0.0/8 is left alone because
//! corporate networks and VPNs do (it stays Docker's global-scope default).
//! Subnets already in use on the host (its routes) are passed in by the
//! caller and skipped.
//!
//! IPv6 has no fixed default: Docker derives a unique-local /48 from the
//! host's identity and carves /64s from it, and so does
//! [`Config::with_host_ula`].

use std::net::Ipv6Addr;

use ipnet::{IpNet, Ipv6Net};
use serde::{Deserialize, Serialize};

use crate::addr::{self, Family};
use crate::{AddressSpace, IpamError};

/// One entry of `default-address-pools`: carve `base` into `/size` subnets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefaultPool {
    /// The range subnets are carved from.
    pub base: IpNet,
    /// The prefix length of each subnet.
    pub size: u8,
}

impl DefaultPool {
    /// A default pool, checked: `base` without host bits, `size` between
    /// `base`'s prefix length and the family's width.
    pub fn new(base: IpNet, size: u8) -> Result<Self, IpamError> {
        let invalid = |reason| IpamError::InvalidDefaultPool {
            base: base.to_string(),
            size,
            reason,
        };
        if addr::has_host_bits(&base) {
            return Err(invalid("the base has host bits set"));
        }
        if size < base.prefix_len() {
            return Err(invalid("size is smaller than the base's prefix length"));
        }
        if size > base.max_prefix_len() {
            return Err(invalid("size is longer than an address"));
        }
        Ok(Self { base, size })
    }

    /// The pool's IP version.
    pub fn family(&self) -> Family {
        Family::of_net(&self.base)
    }

    /// How many subnets of its own size the pool holds (saturating).
    pub fn capacity(&self) -> u128 {
        let bits = u32::from(self.size - self.base.prefix_len());
        1u128.checked_shl(bits).unwrap_or(u128::MAX)
    }
}

/// The default pools of each address space.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// Default pools of the local address space (bridge networks), IPv4 and
    /// IPv6 entries mixed, tried in order within each family.
    pub local: Vec<DefaultPool>,
    /// Default pools of the global address space.
    pub global: Vec<DefaultPool>,
}

fn pool(base: &str, size: u8) -> DefaultPool {
    let base = base.parse().expect("built-in pools are valid CIDR");
    DefaultPool::new(base, size).expect("built-in pools are valid")
}

impl Default for Config {
    /// berth's built-in pools: Docker's ranges carved into /24s (see the
    /// module documentation), and Docker's global default.
    fn default() -> Self {
        Self {
            local: vec![
                pool("172.17.0.0/16", 24),
                pool("172.18.0.0/15", 24),
                pool("172.20.0.0/14", 24),
                pool("172.24.0.0/13", 24),
                pool("192.168.0.0/16", 24),
            ],
            global: vec![pool("10.0.0.0/8", 24)],
        }
    }
}

impl Config {
    /// The built-in pools plus an IPv6 unique-local /48, carved into /64s,
    /// derived from `host_id` (for example the machine id), so that two
    /// hosts are unlikely to pick the same one and one host always does.
    pub fn with_host_ula(host_id: &[u8]) -> Self {
        let mut c = Self::default();
        c.local.push(DefaultPool {
            base: IpNet::V6(ula_from_host_id(host_id)),
            size: 64,
        });
        c
    }

    /// The default pools of `space`.
    pub fn pools(&self, space: AddressSpace) -> &[DefaultPool] {
        match space {
            AddressSpace::Local => &self.local,
            AddressSpace::Global => &self.global,
        }
    }
}

/// A unique-local (`fd00::/8`) /48 whose 40-bit global id is a stable hash
/// of `host_id` (RFC 4193 asks for a pseudo-random global id).
pub fn ula_from_host_id(host_id: &[u8]) -> Ipv6Net {
    // FNV-1a, 64 bits: stable across Rust versions, unlike std's hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in host_id {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let global_id = u128::from(h & 0xff_ffff_ffff);
    let addr = (0xfdu128 << 120) | (global_id << 80);
    Ipv6Net::new(Ipv6Addr::from(addr), 48).expect("48 is a valid IPv6 prefix length")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_local_pools_give_thousands_of_networks() {
        let total: u128 = Config::default()
            .local
            .iter()
            .map(DefaultPool::capacity)
            .sum();
        assert_eq!(total, 4096);
    }

    #[test]
    fn builtin_pools_skip_172_16() {
        let c = Config::default();
        let n: IpNet = "172.16.0.0/16".parse().unwrap();
        assert!(c.local.iter().all(|p| !addr::overlaps(&p.base, &n)));
    }

    #[test]
    fn default_pool_rejects_bad_entries() {
        let n = |s: &str| s.parse::<IpNet>().unwrap();
        assert!(DefaultPool::new(n("10.0.0.1/8"), 24).is_err());
        assert!(DefaultPool::new(n("10.0.0.0/16"), 8).is_err());
        assert!(DefaultPool::new(n("10.0.0.0/16"), 33).is_err());
        assert!(DefaultPool::new(n("fd00::/48"), 64).is_ok());
    }

    #[test]
    fn ula_is_stable_and_unique_local() {
        let a = ula_from_host_id(b"machine-a");
        assert_eq!(a, ula_from_host_id(b"machine-a"));
        assert_ne!(a, ula_from_host_id(b"machine-b"));
        assert_eq!(a.prefix_len(), 48);
        assert_eq!(a.addr().octets()[0], 0xfd);
        assert_eq!(a.addr(), a.network());
    }
}
