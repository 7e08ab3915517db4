//! What can go wrong in IPAM, worded as Docker words it where Docker has a
//! message, and always naming the input at fault.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::Family;

/// An IPAM request that cannot be satisfied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IpamError {
    /// A subnet that does not parse as CIDR.
    #[error("invalid subnet {input}: invalid CIDR block notation")]
    InvalidSubnet {
        /// The text given.
        input: String,
    },
    /// A subnet with host bits set, which Docker rejects.
    #[error("invalid subnet {input}: it should be {expected}")]
    SubnetHostBits {
        /// The text given.
        input: String,
        /// The subnet with its host bits cleared.
        expected: IpNet,
    },
    /// An ip-range that does not parse as CIDR.
    #[error("invalid ip-range {input}: invalid CIDR block notation")]
    InvalidIpRange {
        /// The text given.
        input: String,
    },
    /// An ip-range with host bits set.
    #[error("invalid ip-range {input}: it should be {expected}")]
    IpRangeHostBits {
        /// The text given.
        input: String,
        /// The range with its host bits cleared.
        expected: IpNet,
    },
    /// An ip-range larger than its subnet.
    #[error("invalid ip-range {range}: CIDR block is bigger than its parent subnet {subnet}")]
    IpRangeTooBig {
        /// The range given.
        range: IpNet,
        /// Its subnet.
        subnet: IpNet,
    },
    /// An ip-range that is not inside its subnet.
    #[error("invalid ip-range {range}: parent subnet {subnet} doesn't contain ip-range")]
    IpRangeOutsideSubnet {
        /// The range given.
        range: IpNet,
        /// The subnet it should be inside.
        subnet: IpNet,
    },
    /// A gateway, ip-range or auxiliary address of the other IP version
    /// than its subnet.
    #[error("invalid {what} {input}: parent subnet is an {subnet_family} block")]
    FamilyMismatch {
        /// Which input: `gateway`, `ip-range` or `auxiliary address NAME`.
        what: String,
        /// The text given.
        input: String,
        /// The subnet's IP version.
        subnet_family: FamilyName,
    },
    /// A gateway or auxiliary address that does not parse.
    #[error("invalid {what} {input}: invalid address")]
    InvalidAddress {
        /// Which input: `gateway` or `auxiliary address NAME`.
        what: String,
        /// The text given.
        input: String,
    },
    /// A gateway or auxiliary address outside its subnet.
    #[error("invalid {what} {addr}: parent subnet {subnet} doesn't contain this address")]
    AddressOutsideSubnet {
        /// Which input: `gateway` or `auxiliary address NAME`.
        what: String,
        /// The address given.
        addr: IpAddr,
        /// The subnet it should be inside.
        subnet: IpNet,
    },
    /// A gateway, ip-range or auxiliary address given without a subnet.
    #[error("invalid {what} {input}: a subnet is required")]
    MissingSubnet {
        /// Which input.
        what: String,
        /// The text given.
        input: String,
    },
    /// A pool that shares addresses with a pool already allocated in the
    /// same address space.
    #[error(
        "invalid pool request: Pool overlaps with other one on this address space \
         ({requested} overlaps {existing})"
    )]
    PoolOverlap {
        /// The subnet asked for.
        requested: IpNet,
        /// The pool already allocated that it overlaps.
        existing: IpNet,
    },
    /// No default pool has a free subnet of the requested size left.
    #[error(
        "could not find an available, non-overlapping {family} address pool among the \
         defaults to assign to the network (all predefined address pools have been fully \
         subnetted{size})"
    )]
    NoAvailablePool {
        /// The IP version asked for.
        family: FamilyName,
        /// `", size /N"` when a size was asked for, else empty.
        size: String,
    },
    /// A size-only request whose prefix length is impossible for its family.
    #[error("invalid subnet size /{len} for {family}")]
    InvalidSize {
        /// The IP version asked for.
        family: FamilyName,
        /// The prefix length asked for.
        len: u8,
    },
    /// Every address of the pool's range is allocated.
    #[error("no available addresses on this pool ({pool})")]
    PoolExhausted {
        /// The pool's subnet or range.
        pool: IpNet,
    },
    /// An explicit address that is already allocated.
    #[error("Address already in use: {addr}")]
    AddressInUse {
        /// The address asked for.
        addr: IpAddr,
    },
    /// An explicit address that is not inside the pool's subnet.
    #[error("requested address {addr} is out of range: pool {pool} doesn't contain it")]
    AddressOutsidePool {
        /// The address asked for.
        addr: IpAddr,
        /// The pool's subnet.
        pool: IpNet,
    },
    /// An explicit address that is the network or broadcast address.
    #[error("requested address {addr} is the {kind} address of {pool} and cannot be assigned")]
    AddressReserved {
        /// The address asked for.
        addr: IpAddr,
        /// `network` or `broadcast`.
        kind: &'static str,
        /// The pool's subnet.
        pool: IpNet,
    },
    /// Releasing an address that is not allocated.
    #[error("address {addr} is not allocated in pool {pool}")]
    NotAllocated {
        /// The address given.
        addr: IpAddr,
        /// The pool's subnet.
        pool: IpNet,
    },
    /// A pool id that names no allocated pool.
    #[error("pool {id} not found")]
    UnknownPool {
        /// The id given.
        id: String,
    },
    /// A pool id that does not parse.
    #[error("invalid pool id {id}")]
    InvalidPoolId {
        /// The id given.
        id: String,
    },
    /// An unknown address space name.
    #[error("unknown address space {name}")]
    UnknownAddressSpace {
        /// The name given.
        name: String,
    },
    /// A default-address-pools entry that cannot be used.
    #[error("invalid default address pool {base} size {size}: {reason}")]
    InvalidDefaultPool {
        /// The base subnet.
        base: String,
        /// The size.
        size: u8,
        /// Why it is refused.
        reason: &'static str,
    },
    /// A stored state that contradicts itself.
    #[error("invalid IPAM state: {reason}")]
    InvalidState {
        /// What is wrong with it.
        reason: String,
    },
}

/// An IP version as Docker names it in messages ("IPv4", "IPv6").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FamilyName(pub Family);

impl std::fmt::Display for FamilyName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        })
    }
}
