//! Address spaces: sets of pools that must not overlap one another.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::IpamError;
use crate::addr::{self, Family};
use crate::defaults::DefaultPool;
use crate::pool::Pool;

/// An address space, as Docker's default IPAM has them: pools of one space
/// never overlap; pools of different spaces may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AddressSpace {
    /// `LocalDefault`: networks of this host (bridge).
    #[serde(rename = "LocalDefault")]
    Local,
    /// `GlobalDefault`: networks spanning hosts.
    #[serde(rename = "GlobalDefault")]
    Global,
}

impl fmt::Display for AddressSpace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Local => "LocalDefault",
            Self::Global => "GlobalDefault",
        })
    }
}

impl FromStr for AddressSpace {
    type Err = IpamError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "LocalDefault" | "local" => Ok(Self::Local),
            "GlobalDefault" | "global" => Ok(Self::Global),
            _ => Err(IpamError::UnknownAddressSpace { name: s.to_owned() }),
        }
    }
}

/// The pools of one address space, ordered by first address so that an
/// overlap check is one B-tree lookup.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Space {
    pools: BTreeMap<(Family, u128), Pool>,
}

fn key(net: &IpNet) -> (Family, u128) {
    (Family::of_net(net), addr::bounds(net).0)
}

/// `n` rounded up to the next multiple of the size of a /`len` subnet.
fn align_up(family: Family, n: u128, len: u8) -> Option<u128> {
    let mask = addr::span(family, len);
    if mask == u128::MAX {
        return (n == 0).then_some(0);
    }
    n.checked_add(mask).map(|v| v & !mask)
}

impl Space {
    /// The allocated pool that shares an address with `net`, if any.
    pub(crate) fn overlapping(&self, net: &IpNet) -> Option<&Pool> {
        let family = Family::of_net(net);
        let (start, end) = addr::bounds(net);
        // Pools are disjoint, so the last one starting at or before `end`
        // is the only one that can reach `start`.
        self.pools
            .range((family, 0)..=(family, end))
            .next_back()
            .map(|(_, p)| p)
            .filter(|p| addr::bounds(&p.subnet()).1 >= start)
    }

    /// Adds a pool; the caller checked that it overlaps none.
    pub(crate) fn insert(&mut self, pool: Pool) {
        self.pools.insert(key(&pool.subnet()), pool);
    }

    pub(crate) fn get(&self, subnet: &IpNet) -> Option<&Pool> {
        self.pools
            .get(&key(subnet))
            .filter(|p| p.subnet() == *subnet)
    }

    pub(crate) fn get_mut(&mut self, subnet: &IpNet) -> Option<&mut Pool> {
        self.pools
            .get_mut(&key(subnet))
            .filter(|p| p.subnet() == *subnet)
    }

    pub(crate) fn remove(&mut self, subnet: &IpNet) -> Option<Pool> {
        self.get(subnet)?;
        self.pools.remove(&key(subnet))
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Pool> {
        self.pools.values()
    }

    pub(crate) fn len(&self) -> usize {
        self.pools.len()
    }

    /// The last address of the run of pools that starts with `first` and
    /// continues while each next pool reaches into the /`len` candidate
    /// subnet after the run: walking the B-tree in order is much cheaper than
    /// one lookup per candidate when many networks sit side by side.
    fn end_of_run(&self, first: &Pool, len: u8) -> u128 {
        let family = first.family();
        let span = addr::span(family, len);
        let (start, mut end) = addr::bounds(&first.subnet());
        for p in self.pools.range((family, start)..).skip(1).map(|(_, p)| p) {
            let (s, e) = addr::bounds(&p.subnet());
            let next_candidate_end = end
                .checked_add(1)
                .and_then(|n| align_up(family, n, len))
                .and_then(|n| n.checked_add(span));
            match next_candidate_end {
                Some(limit) if p.family() == family && s <= limit => end = end.max(e),
                _ => break,
            }
        }
        end
    }

    /// The first subnet of `defaults` (in order) of prefix length `len` (or
    /// each pool's own size) and family `family` that overlaps neither an
    /// allocated pool nor any of `exclude`.
    ///
    /// Candidates that collide are skipped past the end of what they collide
    /// with, so the search costs O(collisions · log pools), not O(candidates).
    pub(crate) fn find_free(
        &self,
        defaults: &[DefaultPool],
        family: Family,
        len: Option<u8>,
        exclude: &[IpNet],
    ) -> Option<IpNet> {
        for dp in defaults.iter().filter(|dp| dp.family() == family) {
            let len = len.unwrap_or(dp.size);
            if len < dp.base.prefix_len() || len > family.bits() {
                continue;
            }
            let (base_start, base_end) = addr::bounds(&dp.base);
            let span = addr::span(family, len);
            let mut start = base_start;
            while let Some(end) = start.checked_add(span).filter(|e| *e <= base_end) {
                let candidate = addr::subnet_at(family, start, len);
                let blocker_end = match self.overlapping(&candidate) {
                    Some(p) => Some(self.end_of_run(p, len)),
                    None => exclude
                        .iter()
                        .filter(|e| addr::overlaps(e, &candidate))
                        .map(|e| addr::bounds(e).1)
                        .max(),
                };
                let Some(blocker_end) = blocker_end else {
                    return Some(candidate);
                };
                debug_assert!(blocker_end >= start, "a blocker overlaps the candidate");
                let next = blocker_end
                    .max(end)
                    .checked_add(1)
                    .and_then(|n| align_up(family, n, len));
                match next {
                    Some(n) => start = n,
                    None => break,
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::PoolId;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    fn space_with(subnets: &[&str]) -> Space {
        let mut s = Space::default();
        for sn in subnets {
            s.insert(Pool::new(PoolId {
                space: AddressSpace::Local,
                subnet: net(sn),
                range: None,
            }));
        }
        s
    }

    #[test]
    fn overlap_is_found_before_and_after_and_inside() {
        let s = space_with(&["10.0.0.0/24", "10.0.2.0/24"]);
        assert!(s.overlapping(&net("10.0.0.0/16")).is_some());
        assert!(s.overlapping(&net("10.0.0.128/25")).is_some());
        assert!(s.overlapping(&net("10.0.2.255/32")).is_some());
        assert!(s.overlapping(&net("10.0.1.0/24")).is_none());
        assert!(s.overlapping(&net("9.0.0.0/8")).is_none());
        assert!(s.overlapping(&net("::/0")).is_none());
    }

    #[test]
    fn find_free_skips_pools_and_excluded_routes() {
        let s = space_with(&["172.17.0.0/24", "172.17.2.0/23"]);
        let defaults = [DefaultPool::new(net("172.17.0.0/16"), 24).unwrap()];
        assert_eq!(
            s.find_free(&defaults, Family::V4, None, &[]),
            Some(net("172.17.1.0/24"))
        );
        assert_eq!(
            s.find_free(&defaults, Family::V4, None, &[net("172.17.1.128/25")]),
            Some(net("172.17.4.0/24"))
        );
    }

    #[test]
    fn find_free_carves_requested_size_aligned() {
        let s = space_with(&["172.17.0.0/24"]);
        let defaults = [DefaultPool::new(net("172.17.0.0/16"), 24).unwrap()];
        assert_eq!(
            s.find_free(&defaults, Family::V4, Some(20), &[]),
            Some(net("172.17.16.0/20"))
        );
        assert_eq!(
            s.find_free(&defaults, Family::V4, Some(28), &[]),
            Some(net("172.17.1.0/28"))
        );
        assert_eq!(s.find_free(&defaults, Family::V4, Some(8), &[]), None);
    }

    #[test]
    fn find_free_moves_to_next_default_pool_when_one_is_full() {
        let s = space_with(&["172.17.0.0/16"]);
        let defaults = [
            DefaultPool::new(net("172.17.0.0/16"), 24).unwrap(),
            DefaultPool::new(net("192.168.0.0/16"), 24).unwrap(),
        ];
        assert_eq!(
            s.find_free(&defaults, Family::V4, None, &[]),
            Some(net("192.168.0.0/24"))
        );
        assert_eq!(s.find_free(&defaults, Family::V6, None, &[]), None);
    }

    #[test]
    fn find_free_handles_the_top_of_the_v6_space() {
        let s = space_with(&["ffff:ffff:ffff:ffff::/64"]);
        let defaults = [DefaultPool::new(net("ffff:ffff:ffff:fffe::/63"), 64).unwrap()];
        assert_eq!(
            s.find_free(&defaults, Family::V6, None, &[]),
            Some(net("ffff:ffff:ffff:fffe::/64"))
        );
        let s = space_with(&["ffff:ffff:ffff:fffe::/63"]);
        assert_eq!(s.find_free(&defaults, Family::V6, None, &[]), None);
    }
}
