//! The host's own addresses, for ports published on every address:
//! a connect to 192.0.2.1:8080 is the host's own port 8080 only while
//! 192.0.2.1 is one of the host's addresses. The nftables rules ask the
//! kernel (`fib daddr type local`); the programs cannot, so netd keeps a
//! map of them, dumped at start and again after every address change the
//! kernel announces.
//!
//! Until an added address reaches the map, connects to it take the DNAT
//! path, which gives the same result; a removed one is dropped from the
//! map as soon as the kernel's announcement is read.

use std::collections::BTreeSet;
use std::net::IpAddr;

use futures::StreamExt;
use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressScope};
use rtnetlink::sys::{AsyncSocket, SocketAddr};
use tracing::{debug, warn};

use super::ConnectNat;
use crate::KernelError;

/// The addresses of every link of the calling thread's namespace.
async fn dump(handle: &rtnetlink::Handle) -> Result<BTreeSet<IpAddr>, rtnetlink::Error> {
    let mut out = BTreeSet::new();
    let mut msgs = handle.address().get().execute();
    while let Some(m) = msgs.next().await {
        let m = m?;
        // IFA_LOCAL is the address itself; IFA_ADDRESS is the peer's on
        // point-to-point links, and the address itself where IFA_LOCAL is
        // absent.
        let (mut local, mut address) = (None, None);
        let mut flags = AddressFlags::from_bits_retain(u32::from(m.header.flags.bits()));
        for a in m.attributes {
            match a {
                AddressAttribute::Local(ip) => local = Some(ip),
                AddressAttribute::Address(ip) => address = Some(ip),
                AddressAttribute::Flags(f) => flags |= f,
                _ => {}
            }
        }
        let Some(ip) = local.or(address) else {
            continue;
        };
        if is_own(ip, flags, m.header.scope) {
            out.insert(ip);
        }
    }
    Ok(out)
}

/// Whether an address listed on a link is one the kernel treats as the
/// host's own (`fib daddr type local`): not an IPv6 address still being
/// checked for duplicates, or found a duplicate (it is another machine's),
/// and not an IPv6 link-local one, whose meaning depends on an interface
/// the programs cannot see.
fn is_own(ip: IpAddr, flags: AddressFlags, scope: AddressScope) -> bool {
    match ip {
        IpAddr::V4(_) => true,
        IpAddr::V6(_) => {
            !flags.intersects(AddressFlags::Tentative | AddressFlags::Dadfailed)
                && scope != AddressScope::Link
        }
    }
}

/// Fills `nat`'s map of local addresses before returning, then keeps it
/// up to date on the current tokio runtime, for as long as the runtime
/// lives.
pub async fn watch(nat: ConnectNat) -> Result<(), KernelError> {
    let (mut conn, handle, mut events) =
        rtnetlink::new_connection().map_err(|source| KernelError::Sys {
            op: "opening a netlink socket for address changes".into(),
            source,
        })?;
    // Subscribed before the first dump, so that no change falls between.
    conn.socket_mut()
        .socket_mut()
        .bind(&SocketAddr::new(
            0,
            rtnetlink::constants::RTMGRP_IPV4_IFADDR | rtnetlink::constants::RTMGRP_IPV6_IFADDR,
        ))
        .map_err(|source| KernelError::Sys {
            op: "subscribing to address changes".into(),
            source,
        })?;
    tokio::spawn(conn);
    refresh(&handle, &nat).await;
    tokio::spawn(async move {
        // Wait for a change, take every change already queued, dump again.
        while events.next().await.is_some() {
            while events.try_recv().is_ok() {}
            refresh(&handle, &nat).await;
        }
        // Stale addresses would translate connects to addresses that are
        // no longer the host's: better none at all.
        warn!("address changes can no longer be followed: connect-time translation stops");
        nat.detach();
    });
    Ok(())
}

async fn refresh(handle: &rtnetlink::Handle, nat: &ConnectNat) {
    match dump(handle).await {
        Ok(addrs) => {
            debug!(
                count = addrs.len(),
                "host addresses for connect-time translation"
            );
            if let Err(e) = nat.set_local_addrs(&addrs) {
                warn!(error = %e, "could not update the host addresses of connect-time translation");
            }
        }
        Err(e) => warn!(error = %e, "could not list the host's addresses"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_count_once_checked_and_beyond_their_link() {
        let v6 = |s: &str| IpAddr::V6(s.parse().unwrap());
        let ok = AddressFlags::Permanent;
        assert!(is_own(v6("2001:db8::7"), ok, AddressScope::Universe));
        assert!(is_own(v6("::1"), ok, AddressScope::Host));
        assert!(!is_own(
            v6("2001:db8::7"),
            ok | AddressFlags::Tentative,
            AddressScope::Universe
        ));
        assert!(!is_own(
            v6("2001:db8::7"),
            AddressFlags::Dadfailed | AddressFlags::Tentative,
            AddressScope::Universe
        ));
        assert!(!is_own(v6("fe80::1"), ok, AddressScope::Link));
        // IPv4's link-scope addresses are local all the same.
        assert!(is_own(
            IpAddr::V4("169.254.1.1".parse().unwrap()),
            ok,
            AddressScope::Link
        ));
    }
}
