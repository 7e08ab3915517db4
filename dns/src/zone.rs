//! The names one sandbox can see: the sandboxes (and aliases) that share a
//! network with it, and the reverse (PTR) entries for their addresses.
//!
//! A [`Zone`] is an immutable snapshot while it is served: netd builds a new
//! one on every change and swaps it into the listener's
//! [`ListenerState`](crate::server::ListenerState).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::net::IpAddr;

/// What one sandbox can see (names of the sandboxes sharing a network with it).
///
/// Names are case-insensitive (ASCII, as DNS is) and a trailing dot is
/// ignored, so `Web.Net.` and `web.net` are the same name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Zone {
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

impl Zone {
    /// An empty zone.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `ip` under `name` (case-insensitive; a trailing dot is ignored).
    /// Several IPs under one name = round robin. Adding the same address
    /// twice, or an empty name, does nothing.
    pub fn add(&mut self, name: &str, ip: IpAddr) {
        let key = trim_dot(name);
        if key.is_empty() {
            return;
        }
        let addrs = self
            .names
            .entry(key.to_ascii_lowercase().into_boxed_str())
            .or_default();
        if addrs.all.contains(&ip) {
            return;
        }
        if ip.is_ipv4() {
            addrs.all.insert(addrs.v4, ip);
            addrs.v4 += 1;
        } else {
            addrs.all.push(ip);
        }
    }

    /// Adds a PTR: `ip` -> `name` (first one added is the answer). The name
    /// keeps its case; a trailing dot is ignored.
    pub fn add_reverse(&mut self, ip: IpAddr, name: &str) {
        let name = trim_dot(name);
        if name.is_empty() {
            return;
        }
        if let Entry::Vacant(slot) = self.reverse.entry(ip) {
            slot.insert(name.into());
        }
    }

    /// All addresses of `name`, IPv4 ones first; `None` when the name is not
    /// in the zone.
    pub fn lookup(&self, name: &str) -> Option<&[IpAddr]> {
        let name = trim_dot(name);
        let addrs = if name.bytes().any(|b| b.is_ascii_uppercase()) {
            self.names.get(name.to_ascii_lowercase().as_str())
        } else {
            self.names.get(name)
        }?;
        Some(&addrs.all)
    }

    /// The name a PTR query for `ip` answers with, without trailing dot.
    pub fn reverse(&self, ip: IpAddr) -> Option<&str> {
        self.reverse.get(&ip).map(|n| &**n)
    }

    /// True when the zone has neither names nor reverse entries.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty() && self.reverse.is_empty()
    }

    /// The server's lookup: `key` is already lowercase without trailing dot.
    /// Returns the (IPv4, IPv6) addresses of the name.
    pub(crate) fn lookup_split(&self, key: &str) -> Option<(&[IpAddr], &[IpAddr])> {
        let addrs = self.names.get(key)?;
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
    }
}
