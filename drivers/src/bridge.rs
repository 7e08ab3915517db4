//! The bridge driver: one Linux bridge per network, holding the gateway
//! addresses; one veth pair per endpoint, its host end on the bridge and its
//! other end created directly inside the sandbox's namespace under its final
//! name (`eth0`, …), so it never appears on the host under a clashing name.

use std::fs::File;
use std::net::IpAddr;

use ipnet::IpNet;
use tracing::debug;

use crate::{KernelError, Links, sysctl};

/// A bridge network as the kernel sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeConfig {
    /// The bridge's name (`br-<id12>` by default).
    pub name: String,
    /// MTU of the bridge and its veths; `None` leaves the kernel's default.
    pub mtu: Option<u32>,
    /// Gateway addresses with their subnet's prefix length, put on the bridge.
    pub gateways: Vec<IpNet>,
}

/// An endpoint as the kernel sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointConfig {
    /// The veth's host-side name.
    pub host_ifname: String,
    /// The interface's name inside the sandbox.
    pub ifname: String,
    /// The interface's MAC address inside the sandbox.
    pub mac: [u8; 6],
    /// MTU, as the network's.
    pub mtu: Option<u32>,
    /// Addresses with their subnet's prefix length.
    pub addresses: Vec<IpNet>,
}

/// Creates (or adopts, after a restart) the bridge, marks it with `mark`
/// (its interface alias) and puts the gateway addresses on it. A bridge this
/// call created is removed again on failure; a link of another kind with
/// the bridge's name is refused, never adopted.
pub async fn create_network(
    host: &Links,
    cfg: &BridgeConfig,
    mark: Option<&str>,
) -> Result<(), KernelError> {
    let (index, created) = host.bridge_ensure(&cfg.name, cfg.mtu).await?;
    let rest = async {
        // The mark first: a crash after it leaves a bridge the next start
        // recognises as netd's.
        if let Some(m) = mark {
            host.set_alias(index, &cfg.name, m).await?;
        }
        for gw in &cfg.gateways {
            host.add_address(index, &cfg.name, *gw).await?;
        }
        Ok(())
    };
    if let Err(e) = rest.await {
        if created {
            let _ = host.delete(index, &cfg.name).await;
        }
        return Err(e);
    }
    debug!(bridge = %cfg.name, created, "bridge ready");
    Ok(())
}

/// Device group of links taken out of service and waiting to be deleted in
/// one batch (`0x6e657464`, "netd").
pub const GRAVEYARD_GROUP: u32 = 0x6e65_7464;

/// Removes the bridge now; a bridge already gone is not an error.
pub async fn delete_network(host: &Links, name: &str) -> Result<(), KernelError> {
    host.delete_named(name).await
}

/// Takes a network's bridge out of service without waiting for the kernel
/// to destroy it: its addresses go (and with them its routes), it goes down
/// and is renamed to `tombstone` so that its name is free at once, and it
/// joins [`GRAVEYARD_GROUP`] for the caller to delete later with
/// [`Links::delete_group`].
pub async fn retire_network(host: &Links, name: &str, tombstone: &str) -> Result<(), KernelError> {
    let Some(b) = host.get(name).await? else {
        return Ok(());
    };
    host.flush_addresses(b.index, name).await?;
    host.retire(b.index, name, Some(tombstone), Some(GRAVEYARD_GROUP))
        .await
}

/// Connects a sandbox to the bridge `bridge`: veth pair, addresses, link up.
/// Default routes are the caller's business (only one endpoint of a sandbox
/// provides them). On failure the veth pair is removed again.
pub async fn join(
    host: &Links,
    bridge: &str,
    sandbox_ns: &File,
    sandbox: &Links,
    ep: &EndpointConfig,
) -> Result<(), KernelError> {
    let bridge_index = host.require(bridge).await?.index;
    host.veth_create(&ep.host_ifname, &ep.ifname, sandbox_ns, ep.mac, ep.mtu)
        .await?;
    let rest = async {
        // A bridge port needs no IPv6 of its own. Without this every port
        // adds routes to the host's IPv6 table, and the kernel walks that
        // whole table on every link going up or down: with a thousand
        // endpoints, a millisecond per connect and per disconnect.
        if let Err(e) = sysctl::ensure(
            &["net", "ipv6", "conf", &ep.host_ifname, "disable_ipv6"],
            "1",
        ) {
            debug!(veth = %ep.host_ifname, error = %e, "IPv6 left on for the bridge port");
        }
        let h = host.require(&ep.host_ifname).await?;
        host.attach_up(h.index, &ep.host_ifname, bridge_index)
            .await?;
        let inner = sandbox.require(&ep.ifname).await?;
        for addr in &ep.addresses {
            sandbox.add_address(inner.index, &ep.ifname, *addr).await?;
        }
        sandbox.set_up(inner.index, &ep.ifname).await
    };
    if let Err(e) = rest.await {
        let _ = host.delete_named(&ep.host_ifname).await;
        return Err(e);
    }
    debug!(veth = %ep.host_ifname, ifname = %ep.ifname, bridge, "endpoint joined");
    Ok(())
}

/// Disconnects an endpoint now: deleting the host end of the veth deletes
/// its peer inside the sandbox with its addresses and routes.
pub async fn leave(host: &Links, host_ifname: &str) -> Result<(), KernelError> {
    host.delete_named(host_ifname).await
}

/// Disconnects an endpoint without waiting for the kernel to destroy it:
/// the sandbox's interface goes down and is renamed to `tombstone` (so its
/// name can be reused at once; skipped when `sandbox` is `None`, for a
/// sandbox being deleted), the host end goes down (a port that is down
/// forwards nothing).
/// The host end joins [`GRAVEYARD_GROUP`] for the caller to delete later
/// with [`Links::delete_group`]; until then the pair carries no traffic.
pub async fn retire(
    host: &Links,
    sandbox: Option<&Links>,
    host_ifname: &str,
    ifname: &str,
    tombstone: &str,
) -> Result<(), KernelError> {
    if let Some(sb) = sandbox
        && let Some(inner) = sb.get(ifname).await?
    {
        sb.retire(inner.index, ifname, Some(tombstone), None)
            .await?;
    }
    if let Some(outer) = host.get(host_ifname).await? {
        host.retire(outer.index, host_ifname, None, Some(GRAVEYARD_GROUP))
            .await?;
    }
    debug!(veth = %host_ifname, ifname, "endpoint retired");
    Ok(())
}

/// The name a retired sandbox interface carries until it is deleted.
pub fn tombstone_name(endpoint_id: &str) -> String {
    format!("gone{}", &endpoint_id[..11.min(endpoint_id.len())])
}

/// Installs the sandbox's default routes through `gateways` on `ifname`.
pub async fn set_default_routes(
    sandbox: &Links,
    ifname: &str,
    gateways: &[IpAddr],
) -> Result<(), KernelError> {
    let inner = sandbox.require(ifname).await?;
    for gw in gateways {
        sandbox.add_default_route(inner.index, *gw).await?;
    }
    Ok(())
}

/// The host-side veth name netd gives an endpoint: `veth` and the first 11
/// hex digits of its id. The shape (Docker uses 7 digits, Podman `vethN`)
/// lets netd recognise its own veths after a crash, before it could mark
/// them.
pub fn veth_name(endpoint_id: &str) -> String {
    format!("veth{}", &endpoint_id[..11.min(endpoint_id.len())])
}

/// Whether `name` has the shape of [`veth_name`].
pub fn is_netd_veth(name: &str) -> bool {
    name.strip_prefix("veth").is_some_and(|h| {
        h.len() == 11
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// A locally administered, unicast MAC address made of `random` bytes, the
/// way Docker 28 picks container MACs.
pub fn random_mac(random: [u8; 6]) -> [u8; 6] {
    let mut mac = random;
    mac[0] = (mac[0] | 0x02) & 0xfe;
    mac
}

/// `aa:bb:cc:dd:ee:ff`.
pub fn format_mac(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Parses `aa:bb:cc:dd:ee:ff` (either case); `None` if malformed.
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut parts = s.split(':');
    for b in &mut out {
        let p = parts.next()?;
        if p.len() != 2 {
            return None;
        }
        *b = u8::from_str_radix(p, 16).ok()?;
    }
    parts.next().is_none().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_mac_is_local_and_unicast() {
        for seed in [[0u8; 6], [0xff; 6], [0x01, 2, 3, 4, 5, 6]] {
            let m = random_mac(seed);
            assert_eq!(m[0] & 0x02, 0x02, "locally administered");
            assert_eq!(m[0] & 0x01, 0, "unicast");
            assert_eq!(&m[1..], &seed[1..]);
        }
    }

    #[test]
    fn netd_veths_are_recognised_by_name() {
        let n = veth_name("0123456789abcdef");
        assert_eq!(n, "veth0123456789a");
        assert!(is_netd_veth(&n));
        for other in [
            "veth1234567",
            "veth0",
            "vethABCDEF01234",
            "eth0",
            "veth0123456789ab",
        ] {
            assert!(!is_netd_veth(other), "{other}");
        }
    }

    #[test]
    fn mac_text_round_trips() {
        let m = [0x02, 0x42, 0xac, 0x11, 0x00, 0x02];
        assert_eq!(format_mac(&m), "02:42:ac:11:00:02");
        assert_eq!(parse_mac("02:42:AC:11:00:02"), Some(m));
        for bad in [
            "02:42:ac:11:00",
            "02:42:ac:11:00:02:03",
            "0242ac110002",
            "zz:42:ac:11:00:02",
        ] {
            assert_eq!(parse_mac(bad), None, "{bad}");
        }
    }
}
