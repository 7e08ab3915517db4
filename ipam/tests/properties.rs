//! Property tests: whatever sequence of requests and releases arrives, no
//! address is handed out twice, reserved addresses never are, and a state
//! serialized and restored behaves exactly like the original.

#![allow(clippy::unwrap_used, clippy::cast_possible_truncation)]

use std::collections::BTreeSet;
use std::net::IpAddr;

use ipam::{
    AddressSpace, Family, Ipam, IpamError, NetworkAllocation, NetworkSpec, PoolRequest, SubnetSpec,
};
use ipnet::IpNet;
use proptest::prelude::*;

/// One step of a random workload on a network's pool.
#[derive(Debug, Clone)]
enum Op {
    /// Next free address.
    Dynamic,
    /// A given address, as an offset from the subnet start.
    Explicit(u64),
    /// Release the n-th currently allocated container address.
    ReleaseHeld(usize),
    /// Release an arbitrary address (may not be allocated).
    ReleaseAny(u64),
    /// Serialize the state and carry on with the restored copy.
    Restore,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => Just(Op::Dynamic),
        2 => any::<u64>().prop_map(Op::Explicit),
        3 => any::<usize>().prop_map(Op::ReleaseHeld),
        1 => any::<u64>().prop_map(Op::ReleaseAny),
        1 => Just(Op::Restore),
    ]
}

/// A network configuration: subnet, optional range, gateway, aux addresses.
#[derive(Debug, Clone)]
struct Setup {
    subnet: IpNet,
    range: Option<IpNet>,
    gateway_offset: Option<u64>,
    aux_offsets: Vec<u64>,
}

fn setup() -> impl Strategy<Value = Setup> {
    let v4 = (22u8..=32).prop_map(|len| IpNet::new("10.20.0.0".parse().unwrap(), len).unwrap());
    let v6 = prop_oneof![
        (118u8..=128).prop_map(|len| IpNet::new("fd00:1::".parse().unwrap(), len).unwrap()),
        Just("fd00:2::/64".parse::<IpNet>().unwrap()),
    ];
    (
        prop_oneof![v4, v6],
        any::<Option<u8>>(),
        any::<Option<u64>>(),
        prop::collection::vec(any::<u64>(), 0..3),
    )
        .prop_map(|(subnet, range_extra, gateway_offset, aux_offsets)| {
            let range = range_extra.map(|extra| {
                let len = (subnet.prefix_len() + extra % 4).min(subnet.max_prefix_len());
                IpNet::new(subnet.network(), len).unwrap().trunc()
            });
            Setup {
                subnet,
                range,
                gateway_offset,
                aux_offsets,
            }
        })
}

fn nth(subnet: &IpNet, offset: u64) -> IpAddr {
    let host_bits = u32::from(subnet.max_prefix_len() - subnet.prefix_len());
    let size = 1u128.checked_shl(host_bits).unwrap_or(0);
    let off = if size == 0 {
        u128::from(offset)
    } else {
        u128::from(offset) % size
    };
    match subnet.network() {
        IpAddr::V4(a) => {
            IpAddr::V4((u32::from(a) + u32::try_from(off).expect("v4 offsets fit")).into())
        }
        IpAddr::V6(a) => IpAddr::V6((u128::from(a) + off).into()),
    }
}

/// Whether an address is one the subnet must never hand out.
fn reserved(subnet: &IpNet, ip: IpAddr) -> bool {
    let host_bits = subnet.max_prefix_len() - subnet.prefix_len();
    if host_bits <= 1 {
        return false;
    }
    ip == subnet.network() || (matches!(ip, IpAddr::V4(_)) && ip == subnet.broadcast())
}

/// Builds the network; `None` if the random configuration is not valid
/// (for example a gateway on the broadcast address).
fn build(s: &Setup) -> Option<(Ipam, NetworkAllocation)> {
    let mut spec = SubnetSpec {
        subnet: Some(s.subnet.to_string()),
        ip_range: s.range.map(|r| r.to_string()),
        gateway: s.gateway_offset.map(|o| nth(&s.subnet, o).to_string()),
        ..SubnetSpec::default()
    };
    for (i, o) in s.aux_offsets.iter().enumerate() {
        spec.aux
            .insert(format!("aux{i}"), nth(&s.subnet, *o).to_string());
    }
    let parsed = NetworkSpec::parse(&spec, Family::V4).ok()?;
    let mut ipam = Ipam::default();
    let alloc = ipam
        .allocate_network(AddressSpace::Local, &parsed, &[])
        .ok()?;
    Some((ipam, alloc))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn no_address_is_handed_out_twice_nor_reserved_ones(s in setup(), ops in prop::collection::vec(op(), 1..300)) {
        let Some((mut ipam, net)) = build(&s) else { return Ok(()); };
        let fixed: BTreeSet<IpAddr> = net.aux.values().copied().chain([net.gateway]).collect();
        let mut held: BTreeSet<IpAddr> = BTreeSet::new();
        for op in ops {
            match op {
                Op::Dynamic => match ipam.request_address(&net.pool, None) {
                    Ok(ip) => {
                        prop_assert!(!fixed.contains(&ip), "handed out fixed {ip}");
                        prop_assert!(!reserved(&s.subnet, ip), "handed out reserved {ip}");
                        prop_assert!(s.subnet.contains(&ip));
                        if let Some(r) = s.range { prop_assert!(r.contains(&ip), "{ip} outside range {r}"); }
                        prop_assert!(held.insert(ip), "handed out {ip} twice");
                    }
                    Err(IpamError::PoolExhausted { .. }) => {
                        prop_assert!(ipam.pool(&net.pool).unwrap().is_full());
                    }
                    Err(e) => prop_assert!(false, "unexpected {e}"),
                },
                Op::Explicit(o) => {
                    let ip = nth(&s.subnet, o);
                    let res = ipam.request_address(&net.pool, Some(ip));
                    let free = !fixed.contains(&ip) && !held.contains(&ip) && !reserved(&s.subnet, ip);
                    prop_assert_eq!(res.is_ok(), free, "explicit {} gave {:?}", ip, res);
                    if free { held.insert(ip); }
                }
                Op::ReleaseHeld(i) => {
                    if held.is_empty() { continue; }
                    let ip = *held.iter().nth(i % held.len()).unwrap();
                    ipam.release_address(&net.pool, ip).unwrap();
                    held.remove(&ip);
                }
                Op::ReleaseAny(o) => {
                    let ip = nth(&s.subnet, o);
                    if fixed.contains(&ip) { continue; }
                    let res = ipam.release_address(&net.pool, ip);
                    prop_assert_eq!(res.is_ok(), held.remove(&ip));
                }
                Op::Restore => {
                    let json = serde_json::to_string(&ipam).unwrap();
                    let back: Ipam = serde_json::from_str(&json).unwrap();
                    prop_assert_eq!(&back, &ipam);
                    ipam = back;
                }
            }
            let pool = ipam.pool(&net.pool).unwrap();
            prop_assert_eq!(pool.allocated(), (held.len() + fixed.len()) as u128);
        }
    }

    #[test]
    fn restored_state_makes_the_same_choices(s in setup(), before in prop::collection::vec(op(), 0..100), after in prop::collection::vec(op(), 1..100)) {
        let Some((mut ipam, net)) = build(&s) else { return Ok(()); };
        let run = |ipam: &mut Ipam, ops: &[Op]| -> Vec<String> {
            ops.iter().map(|op| match op {
                Op::Dynamic => format!("{:?}", ipam.request_address(&net.pool, None)),
                Op::Explicit(o) => format!("{:?}", ipam.request_address(&net.pool, Some(nth(&s.subnet, *o)))),
                Op::ReleaseHeld(i) => format!("{:?}", ipam.release_address(&net.pool, nth(&s.subnet, *i as u64))),
                Op::ReleaseAny(o) => format!("{:?}", ipam.release_address(&net.pool, nth(&s.subnet, *o))),
                Op::Restore => String::new(),
            }).collect()
        };
        run(&mut ipam, &before);
        let mut restored: Ipam = serde_json::from_str(&serde_json::to_string(&ipam).unwrap()).unwrap();
        let a = run(&mut ipam, &after);
        let b = run(&mut restored, &after);
        prop_assert_eq!(a, b);
        prop_assert_eq!(restored, ipam);
    }

    #[test]
    fn pools_never_overlap(reqs in prop::collection::vec((any::<bool>(), 8u8..=30, any::<u32>(), any::<bool>()), 1..60)) {
        let mut ipam = Ipam::default();
        let mut held: Vec<ipam::PoolId> = Vec::new();
        for (auto, len, seed, release) in reqs {
            if release && !held.is_empty() {
                let id = held.remove(seed as usize % held.len());
                ipam.release_pool(&id).unwrap();
                continue;
            }
            let req = if auto {
                PoolRequest::Any { family: Family::V4, size: Some(len.max(16)), exclude: &[] }
            } else {
                let subnet = IpNet::new(IpAddr::V4(seed.into()), len).unwrap().trunc();
                PoolRequest::Subnet { subnet, range: None }
            };
            match ipam.request_pool(AddressSpace::Local, req) {
                Ok(id) => held.push(id),
                Err(IpamError::PoolOverlap { requested, existing }) => {
                    prop_assert!(held.iter().any(|h| h.subnet == existing));
                    prop_assert!(requested.contains(&existing.network()) || existing.contains(&requested.network()));
                }
                Err(IpamError::NoAvailablePool { .. }) => {}
                Err(e) => prop_assert!(false, "unexpected {e}"),
            }
        }
        let subnets: Vec<IpNet> = ipam.pools().map(|p| p.subnet()).collect();
        prop_assert_eq!(subnets.len(), held.len());
        for (i, a) in subnets.iter().enumerate() {
            for b in &subnets[i + 1..] {
                prop_assert!(!a.contains(&b.network()) && !b.contains(&a.network()), "{a} overlaps {b}");
            }
        }
    }
}
