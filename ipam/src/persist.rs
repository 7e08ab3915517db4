//! The IPAM state as data: what netd stores, readable by a person, and
//! checked when it is read back.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::addr::{self, Family};
use crate::allocator::Allocator;
use crate::space::Space;
use crate::{Config, Ipam, IpamError, Pool, PoolId};

/// An inclusive range of allocated addresses, written `a` or `a-b`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddrRange {
    /// First address.
    pub first: IpAddr,
    /// Last address.
    pub last: IpAddr,
}

impl fmt::Display for AddrRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}

impl FromStr for AddrRange {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parse = |t: &str| {
            t.parse::<IpAddr>()
                .map_err(|_| format!("invalid address range {s}"))
        };
        let (first, last) = match s.split_once('-') {
            Some((a, b)) => (parse(a)?, parse(b)?),
            None => (parse(s)?, parse(s)?),
        };
        Ok(Self { first, last })
    }
}

impl Serialize for AddrRange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for AddrRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One pool as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolState {
    /// The pool id, in Docker's text form.
    pub id: String,
    /// The last address handed out serially (the cursor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_serial: Option<IpAddr>,
    /// Allocated addresses.
    pub allocated: Vec<AddrRange>,
}

/// The whole IPAM state as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpamState {
    /// The default pools.
    pub config: Config,
    /// Every allocated pool.
    pub pools: Vec<PoolState>,
}

impl Ipam {
    /// The state as data.
    pub fn to_state(&self) -> IpamState {
        let pools = self.pools().map(pool_state).collect();
        IpamState {
            config: self.config.clone(),
            pools,
        }
    }

    /// One pool's state as data, so that a store can write just the pool a
    /// change touched; `None` when the pool is not allocated.
    pub fn pool_state(&self, id: &PoolId) -> Option<PoolState> {
        self.pool(id).map(pool_state)
    }

    /// Puts one allocated pool back as `state` describes it (addresses
    /// and the next-address cursor), as when a change that touched it is
    /// undone. The pool must exist and `state` must name it.
    pub fn restore_pool_state(&mut self, state: &PoolState) -> Result<(), IpamError> {
        let restored = restore_pool(state)?;
        let id = restored.id();
        *self.pool_mut(&id)? = restored;
        Ok(())
    }

    /// Rebuilds an IPAM from stored data, refusing data that contradicts
    /// itself (overlapping pools, addresses outside their pool).
    pub fn from_state(state: IpamState) -> Result<Self, IpamError> {
        let mut ipam = Ipam::new(state.config);
        for ps in state.pools {
            let pool = restore_pool(&ps)?;
            let id = pool.id();
            let space: &mut Space = match id.space {
                crate::AddressSpace::Local => &mut ipam.local,
                crate::AddressSpace::Global => &mut ipam.global,
            };
            if let Some(other) = space.overlapping(&id.subnet) {
                return Err(IpamError::InvalidState {
                    reason: format!("pool {id} overlaps pool {}", other.id()),
                });
            }
            space.insert(pool);
        }
        Ok(ipam)
    }
}

fn pool_state(p: &Pool) -> PoolState {
    let family = p.family();
    PoolState {
        id: p.id().to_string(),
        last_serial: p
            .allocator()
            .last_serial()
            .map(|n| addr::from_u128(family, n)),
        allocated: p
            .allocated_ranges()
            .map(|(first, last)| AddrRange { first, last })
            .collect(),
    }
}

fn restore_pool(ps: &PoolState) -> Result<Pool, IpamError> {
    let id: PoolId = ps.id.parse()?;
    crate::check_subnet(&id.subnet, id.range.as_ref())?;
    let family = Family::of_net(&id.subnet);
    let invalid = |what: String| IpamError::InvalidState {
        reason: format!("pool {id}: {what}"),
    };
    let inside = |a: IpAddr| Family::of(a) == family && id.subnet.contains(&a);
    let mut intervals = Vec::with_capacity(ps.allocated.len());
    for r in &ps.allocated {
        if !inside(r.first) || !inside(r.last) {
            return Err(invalid(format!("{r} is outside the subnet")));
        }
        intervals.push((addr::to_u128(r.first), addr::to_u128(r.last)));
    }
    let last_serial = match ps.last_serial {
        Some(a) if !inside(a) => return Err(invalid(format!("cursor {a} is outside the subnet"))),
        Some(a) => Some(addr::to_u128(a)),
        None => None,
    };
    let alloc = Allocator::from_parts(intervals, last_serial)
        .ok_or_else(|| invalid("allocated ranges overlap or are reversed".into()))?;
    Ok(Pool::with_allocator(id, alloc))
}

impl Serialize for Ipam {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_state().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Ipam {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let state = IpamState::deserialize(d)?;
        Ipam::from_state(state).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AddressSpace, PoolRequest};

    #[test]
    fn state_is_readable_json_and_round_trips() {
        let mut ipam = Ipam::default();
        let id = ipam
            .request_pool(
                AddressSpace::Local,
                PoolRequest::Subnet {
                    subnet: "10.0.0.0/24".parse().unwrap(),
                    range: None,
                },
            )
            .unwrap();
        for _ in 0..5 {
            ipam.request_address(&id, None).unwrap();
        }
        ipam.release_address(&id, "10.0.0.3".parse().unwrap())
            .unwrap();
        let json = serde_json::to_value(&ipam).unwrap();
        assert_eq!(
            json["pools"],
            serde_json::json!([{
                "id": "LocalDefault/10.0.0.0/24",
                "last_serial": "10.0.0.5",
                "allocated": ["10.0.0.1-10.0.0.2", "10.0.0.4-10.0.0.5"],
            }])
        );
        let back: Ipam = serde_json::from_value(json).unwrap();
        assert_eq!(back, ipam);
    }

    #[test]
    fn a_pool_put_back_hands_out_the_same_next_address() {
        let mut ipam = Ipam::default();
        let id = ipam
            .request_pool(
                AddressSpace::Local,
                PoolRequest::Subnet {
                    subnet: "10.0.0.0/24".parse().unwrap(),
                    range: None,
                },
            )
            .unwrap();
        ipam.request_address(&id, None).unwrap();
        let before = ipam.pool_state(&id).unwrap();
        let taken = ipam.request_address(&id, None).unwrap();
        ipam.release_address(&id, taken).unwrap();
        assert_ne!(ipam.pool_state(&id).unwrap(), before, "the cursor moved");
        ipam.restore_pool_state(&before).unwrap();
        assert_eq!(ipam.pool_state(&id).unwrap(), before);
        assert_eq!(ipam.request_address(&id, None).unwrap(), taken);
        let unknown = PoolState {
            id: "LocalDefault/10.9.0.0/24".into(),
            last_serial: None,
            allocated: Vec::new(),
        };
        assert!(ipam.restore_pool_state(&unknown).is_err());
    }

    #[test]
    fn contradictory_state_is_refused() {
        let config = Config::default();
        let bad = |pools: Vec<PoolState>| {
            Ipam::from_state(IpamState {
                config: config.clone(),
                pools,
            })
        };
        let pool = |id: &str, allocated: &[&str]| PoolState {
            id: id.into(),
            last_serial: None,
            allocated: allocated.iter().map(|r| r.parse().unwrap()).collect(),
        };
        assert!(
            bad(vec![
                pool("LocalDefault/10.0.0.0/16", &[]),
                pool("LocalDefault/10.0.1.0/24", &[])
            ])
            .is_err()
        );
        assert!(bad(vec![pool("LocalDefault/10.0.0.0/24", &["10.0.1.1"])]).is_err());
        assert!(
            bad(vec![pool(
                "LocalDefault/10.0.0.0/24",
                &["10.0.0.1-10.0.0.5", "10.0.0.3"]
            )])
            .is_err()
        );
        assert!(bad(vec![pool("LocalDefault/10.0.0.1/24", &[])]).is_err());
        assert!(
            bad(vec![pool(
                "LocalDefault/10.0.0.0/24",
                &["10.0.0.1-10.0.0.5"]
            )])
            .is_ok()
        );
    }
}
