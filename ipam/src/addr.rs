//! Addresses as plain integers.
//!
//! The allocator works on `u128` numbers so that one implementation serves
//! IPv4 (numbers below 2^32) and IPv6 alike; this module converts between
//! those numbers and `IpAddr`/`IpNet` and knows which addresses of a subnet
//! are usable.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// The IP version of an address or subnet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Family {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

impl Family {
    /// The family of `addr`.
    pub fn of(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => Self::V4,
            IpAddr::V6(_) => Self::V6,
        }
    }

    /// The family of `net`.
    pub fn of_net(net: &IpNet) -> Self {
        Self::of(net.addr())
    }

    /// Address width in bits.
    pub fn bits(self) -> u8 {
        match self {
            Self::V4 => 32,
            Self::V6 => 128,
        }
    }
}

/// `addr` as a number.
pub(crate) fn to_u128(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

/// The address of family `family` numbered `n`.
///
/// For IPv4, `n` must fit in 32 bits: every caller derives it from an IPv4
/// subnet's bounds.
pub(crate) fn from_u128(family: Family, n: u128) -> IpAddr {
    match family {
        Family::V4 => {
            let n = u32::try_from(n).expect("IPv4 numbers come from IPv4 bounds and fit 32 bits");
            IpAddr::V4(Ipv4Addr::from(n))
        }
        Family::V6 => IpAddr::V6(Ipv6Addr::from(n)),
    }
}

/// First and last address of `net`, as numbers (inclusive).
pub(crate) fn bounds(net: &IpNet) -> (u128, u128) {
    (to_u128(net.network()), to_u128(net.broadcast()))
}

/// First and last address of `net` that may be handed out (inclusive), or
/// `None` when the subnet has none.
///
/// The network address is reserved (for IPv6 it is the subnet-router anycast
/// address) and so is the IPv4 broadcast address, except on point-to-point
/// subnets: a /31 or /127 uses both of its addresses (RFC 3021, RFC 6164)
/// and a /32 or /128 is its single address.
pub(crate) fn usable_bounds(net: &IpNet) -> (u128, u128) {
    let (first, last) = bounds(net);
    let host_bits = net.max_prefix_len() - net.prefix_len();
    match (host_bits, Family::of_net(net)) {
        (0 | 1, _) => (first, last),
        (_, Family::V4) => (first + 1, last - 1),
        (_, Family::V6) => (first + 1, last),
    }
}

/// Whether `net` has host bits set (`10.0.0.1/24` rather than `10.0.0.0/24`).
pub(crate) fn has_host_bits(net: &IpNet) -> bool {
    net.addr() != net.network()
}

/// Whether two subnets share at least one address.
pub(crate) fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    if Family::of_net(a) != Family::of_net(b) {
        return false;
    }
    let (a0, a1) = bounds(a);
    let (b0, b1) = bounds(b);
    a0 <= b1 && b0 <= a1
}

/// The subnet of prefix length `len` that starts at number `start`.
///
/// `start` must be aligned to `len` and `len` valid for `family`: callers
/// derive both from a valid base subnet.
pub(crate) fn subnet_at(family: Family, start: u128, len: u8) -> IpNet {
    IpNet::new(from_u128(family, start), len).expect("prefix length checked against the family")
}

/// Number of addresses in a subnet of `len` bits in `family`, minus one
/// (the offset of its last address), so that a /0 IPv6 subnet still fits.
pub(crate) fn span(family: Family, len: u8) -> u128 {
    let host_bits = u32::from(family.bits() - len);
    if host_bits == 128 {
        u128::MAX
    } else {
        (1u128 << host_bits) - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn usable_bounds_skip_network_and_broadcast_on_v4() {
        let (a, b) = usable_bounds(&net("10.0.0.0/24"));
        assert_eq!(
            from_u128(Family::V4, a),
            "10.0.0.1".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            from_u128(Family::V4, b),
            "10.0.0.254".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn usable_bounds_keep_v6_last_address() {
        let (a, b) = usable_bounds(&net("fd00::/64"));
        assert_eq!(
            from_u128(Family::V6, a),
            "fd00::1".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            from_u128(Family::V6, b),
            "fd00::ffff:ffff:ffff:ffff".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn point_to_point_subnets_use_every_address() {
        for (s, n) in [
            ("10.0.0.4/31", 2),
            ("10.0.0.4/32", 1),
            ("fd00::/127", 2),
            ("fd00::1/128", 1),
        ] {
            let (a, b) = usable_bounds(&net(s));
            assert_eq!(b - a + 1, n, "{s}");
        }
    }

    #[test]
    fn overlap_is_per_family() {
        assert!(overlaps(&net("10.0.0.0/8"), &net("10.1.0.0/16")));
        assert!(!overlaps(&net("10.0.0.0/16"), &net("10.1.0.0/16")));
        assert!(!overlaps(&net("0.0.0.0/0"), &net("::/0")));
    }

    #[test]
    fn span_of_whole_v6_space_does_not_overflow() {
        assert_eq!(span(Family::V6, 0), u128::MAX);
        assert_eq!(span(Family::V4, 24), 255);
    }
}
