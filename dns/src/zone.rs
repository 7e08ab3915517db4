//! The names one sandbox can see: the sandboxes (and aliases) that share a
//! network with it, and the reverse (PTR) entries for their addresses.
//!
//! A [`Zone`] is an immutable snapshot while it is served: netd swaps a new
//! one into the listener's [`ListenerState`](crate::server::ListenerState)
//! on every change. To keep a change cheap however big the zone, a zone is
//! split into [`SHARDS`] shards behind `Arc`s: cloning a zone copies the
//! shard pointers, and an edit of a clone copies only the shards it touches
//! (`Arc::make_mut`), so adding or removing one endpoint's names costs a
//! few small shards, not the whole zone.

use std::collections::HashMap;
use std::collections::hash_map::{DefaultHasher, Entry};
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::sync::Arc;

/// Shards per zone. With a thousand endpoints of six names each, a shard
/// holds about fifty names.
pub const SHARDS: usize = 128;

/// What one sandbox can see (names of the sandboxes sharing a network with it).
///
/// Names are case-insensitive (ASCII, as DNS is) and a trailing dot is
/// ignored, so `Web.Net.` and `web.net` are the same name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    shards: Box<[Arc<Shard>]>,
}

/// The names and addresses whose hash falls in one shard.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Shard {
    /// Lowercase name without trailing dot → its addresses.
    names: HashMap<Box<str>, Addrs>,
    /// Address → the name its PTR answers with (trailing dot removed).
    reverse: HashMap<IpAddr, Box<str>>,
}

/// The addresses of one name: IPv4 first, then IPv6, each family in the
/// order added, so that a query for one family is a contiguous slice.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Addrs {
    all: Vec<IpAddr>,
    /// `all[..v4]` are the IPv4 addresses, `all[v4..]` the IPv6 ones.
    v4: usize,
}

/// `name` without one trailing dot.
fn trim_dot(name: &str) -> &str {
    name.strip_suffix('.').unwrap_or(name)
}

/// The shard of a key. `DefaultHasher::new()` has fixed keys, so the same
/// key lands in the same shard in every zone (zones compare shard by shard).
fn shard_of<K: Hash + ?Sized>(key: &K) -> usize {
    let mut h = DefaultHasher::new();
    key.hash(&mut h);
    // Truncation is the point: the low bits pick the shard.
    #[allow(clippy::cast_possible_truncation)]
    let bits = h.finish() as usize;
    bits % SHARDS
}

impl Default for Zone {
    fn default() -> Self {
        let empty = Arc::new(Shard::default());
        Self {
            shards: (0..SHARDS).map(|_| Arc::clone(&empty)).collect(),
        }
    }
}

impl Zone {
    /// An empty zone.
    pub fn new() -> Self {
        Self::default()
    }

    fn shard(&self, i: usize) -> &Shard {
        &self.shards[i]
    }

    fn shard_mut(&mut self, i: usize) -> &mut Shard {
        Arc::make_mut(&mut self.shards[i])
    }

    /// Adds `ip` under `name` (case-insensitive; a trailing dot is ignored).
    /// Several IPs under one name = round robin. Adding the same address
    /// twice, or an empty name, does nothing.
    pub fn add(&mut self, name: &str, ip: IpAddr) {
        let key = trim_dot(name).to_ascii_lowercase();
        if key.is_empty() {
            return;
        }
        let i = shard_of(key.as_str());
        if self
            .shard(i)
            .names
            .get(key.as_str())
            .is_some_and(|a| a.all.contains(&ip))
        {
            return;
        }
        let addrs = self
            .shard_mut(i)
            .names
            .entry(key.into_boxed_str())
            .or_default();
        if ip.is_ipv4() {
            addrs.all.insert(addrs.v4, ip);
            addrs.v4 += 1;
        } else {
            addrs.all.push(ip);
        }
    }

    /// Removes `ip` from `name`; the name goes when it has no address left.
    /// Removing what is not there does nothing.
    pub fn remove(&mut self, name: &str, ip: IpAddr) {
        let key = trim_dot(name).to_ascii_lowercase();
        let i = shard_of(key.as_str());
        let present = self
            .shard(i)
            .names
            .get(key.as_str())
            .is_some_and(|a| a.all.contains(&ip));
        if !present {
            return;
        }
        let names = &mut self.shard_mut(i).names;
        let Some(addrs) = names.get_mut(key.as_str()) else {
            return;
        };
        if let Some(at) = addrs.all.iter().position(|a| *a == ip) {
            addrs.all.remove(at);
            if at < addrs.v4 {
                addrs.v4 -= 1;
            }
        }
        if addrs.all.is_empty() {
            names.remove(key.as_str());
        }
    }

    /// Adds a PTR: `ip` -> `name` (first one added is the answer). The name
    /// keeps its case; a trailing dot is ignored.
    pub fn add_reverse(&mut self, ip: IpAddr, name: &str) {
        let name = trim_dot(name);
        let i = shard_of(&ip);
        if name.is_empty() || self.shard(i).reverse.contains_key(&ip) {
            return;
        }
        if let Entry::Vacant(slot) = self.shard_mut(i).reverse.entry(ip) {
            slot.insert(name.into());
        }
    }

    /// Removes the PTR of `ip`, whatever its name.
    pub fn remove_reverse(&mut self, ip: IpAddr) {
        let i = shard_of(&ip);
        if self.shard(i).reverse.contains_key(&ip) {
            self.shard_mut(i).reverse.remove(&ip);
        }
    }

    /// Adds everything in `other` (its addresses after ours under a shared
    /// name; our PTR entries win).
    pub fn extend_from(&mut self, other: &Zone) {
        for shard in other.shards.iter() {
            for (name, addrs) in &shard.names {
                for ip in &addrs.all {
                    self.add(name, *ip);
                }
            }
            for (ip, name) in &shard.reverse {
                self.add_reverse(*ip, name);
            }
        }
    }

    /// All addresses of `name`, IPv4 ones first; `None` when the name is not
    /// in the zone.
    pub fn lookup(&self, name: &str) -> Option<&[IpAddr]> {
        let name = trim_dot(name);
        let addrs = if name.bytes().any(|b| b.is_ascii_uppercase()) {
            let key = name.to_ascii_lowercase();
            self.shard(shard_of(key.as_str())).names.get(key.as_str())
        } else {
            self.shard(shard_of(name)).names.get(name)
        }?;
        Some(&addrs.all)
    }

    /// The name a PTR query for `ip` answers with, without trailing dot.
    pub fn reverse(&self, ip: IpAddr) -> Option<&str> {
        self.shard(shard_of(&ip)).reverse.get(&ip).map(|n| &**n)
    }

    /// True when the zone has neither names nor reverse entries.
    pub fn is_empty(&self) -> bool {
        self.shards
            .iter()
            .all(|s| s.names.is_empty() && s.reverse.is_empty())
    }

    /// The server's lookup: `key` is already lowercase without trailing dot.
    /// Returns the (IPv4, IPv6) addresses of the name.
    pub(crate) fn lookup_split(&self, key: &str) -> Option<(&[IpAddr], &[IpAddr])> {
        let addrs = self.shard(shard_of(key)).names.get(key)?;
        Some(addrs.all.split_at(addrs.v4.min(addrs.all.len())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn names_are_case_insensitive_and_ignore_trailing_dot() {
        let mut z = Zone::new();
        assert!(z.is_empty());
        z.add("Web.MyNet.", ip("10.0.0.2"));
        assert!(!z.is_empty());
        assert_eq!(z.lookup("web.mynet"), Some(&[ip("10.0.0.2")][..]));
        assert_eq!(z.lookup("WEB.MYNET."), Some(&[ip("10.0.0.2")][..]));
        assert_eq!(z.lookup("web"), None);
        assert_eq!(
            z.lookup_split("web.mynet"),
            Some((&[ip("10.0.0.2")][..], &[][..]))
        );
    }

    #[test]
    fn families_are_grouped_in_insertion_order_without_duplicates() {
        let mut z = Zone::new();
        z.add("svc", ip("fd00::1"));
        z.add("svc", ip("10.0.0.2"));
        z.add("svc", ip("fd00::2"));
        z.add("svc", ip("10.0.0.3"));
        z.add("svc", ip("10.0.0.2"));
        z.add("", ip("10.0.0.9"));
        z.add(".", ip("10.0.0.9"));
        assert_eq!(
            z.lookup("svc").unwrap(),
            &[ip("10.0.0.2"), ip("10.0.0.3"), ip("fd00::1"), ip("fd00::2")]
        );
        let (v4, v6) = z.lookup_split("svc").unwrap();
        assert_eq!(v4, &[ip("10.0.0.2"), ip("10.0.0.3")]);
        assert_eq!(v6, &[ip("fd00::1"), ip("fd00::2")]);
        assert_eq!(z.lookup(""), None);
    }

    #[test]
    fn first_reverse_entry_wins() {
        let mut z = Zone::new();
        z.add_reverse(ip("10.0.0.2"), "Web.mynet.");
        z.add_reverse(ip("10.0.0.2"), "alias.mynet");
        assert_eq!(z.reverse(ip("10.0.0.2")), Some("Web.mynet"));
        assert_eq!(z.reverse(ip("10.0.0.3")), None);
        assert!(!z.is_empty());
        z.remove_reverse(ip("10.0.0.2"));
        assert_eq!(z.reverse(ip("10.0.0.2")), None);
        assert!(z.is_empty());
    }

    #[test]
    fn removing_an_address_keeps_the_others_in_order() {
        let mut z = Zone::new();
        for a in ["fd00::1", "10.0.0.2", "fd00::2", "10.0.0.3"] {
            z.add("svc", ip(a));
        }
        z.remove("SVC.", ip("10.0.0.2"));
        assert_eq!(
            z.lookup_split("svc").unwrap(),
            (&[ip("10.0.0.3")][..], &[ip("fd00::1"), ip("fd00::2")][..])
        );
        z.remove("svc", ip("fd00::1"));
        z.remove("svc", ip("10.0.0.9"));
        z.remove("other", ip("10.0.0.3"));
        assert_eq!(z.lookup("svc").unwrap(), &[ip("10.0.0.3"), ip("fd00::2")]);
        z.remove("svc", ip("10.0.0.3"));
        z.remove("svc", ip("fd00::2"));
        assert_eq!(z.lookup("svc"), None);
        assert!(z.is_empty());
    }

    #[test]
    fn an_edited_clone_leaves_the_original_untouched() {
        let mut a = Zone::new();
        for i in 0..250u8 {
            a.add(&format!("n{i}"), ip(&format!("10.0.1.{i}")));
        }
        let before = a.clone();
        let mut b = a.clone();
        b.add("new", ip("10.9.9.9"));
        b.remove("n1", ip("10.0.1.1"));
        b.add_reverse(ip("10.9.9.9"), "new.net");
        assert_eq!(a, before);
        assert_eq!(a.lookup("new"), None);
        assert_eq!(a.lookup("n1").unwrap(), &[ip("10.0.1.1")]);
        assert_eq!(b.lookup("new").unwrap(), &[ip("10.9.9.9")]);
        assert_eq!(b.lookup("n1"), None);
        // Only the touched shards were copied.
        let shared = a
            .shards
            .iter()
            .zip(b.shards.iter())
            .filter(|(x, y)| Arc::ptr_eq(x, y))
            .count();
        assert!(shared >= SHARDS - 3, "{shared} shards shared");
    }

    #[test]
    fn extend_from_merges_names_and_keeps_our_ptr() {
        let mut a = Zone::new();
        a.add("web", ip("10.0.0.2"));
        a.add_reverse(ip("10.0.0.2"), "web.one");
        let mut b = Zone::new();
        b.add("web", ip("10.1.0.2"));
        b.add("db", ip("10.1.0.3"));
        b.add_reverse(ip("10.0.0.2"), "other.two");
        a.extend_from(&b);
        assert_eq!(a.lookup("web").unwrap(), &[ip("10.0.0.2"), ip("10.1.0.2")]);
        assert_eq!(a.lookup("db").unwrap(), &[ip("10.1.0.3")]);
        assert_eq!(a.reverse(ip("10.0.0.2")), Some("web.one"));
    }
}
