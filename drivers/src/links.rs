//! Links, addresses and routes, through rtnetlink.
//!
//! A [`Links`] is a netlink connection bound to one network namespace: the
//! host's (netd's own), or a sandbox's, opened on a thread that entered it
//! (see [`crate::netns`]). Every method is one or two netlink requests and
//! says in its error what it did to which link.

use std::fs::File;
use std::net::IpAddr;
use std::os::fd::AsRawFd;

use futures::TryStreamExt;
use ipnet::IpNet;
use netlink_packet_route::address::AddressHeaderFlags;
use netlink_packet_route::link::{InfoData, InfoVeth, LinkAttribute, LinkMessage};
use rtnetlink::{Handle, LinkBridge, LinkUnspec, LinkVeth, RouteMessageBuilder};

use crate::KernelError;
use crate::error::nl;

/// A link's facts, as netlink reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    /// Interface index.
    pub index: u32,
    /// Interface name.
    pub name: String,
    /// Index of the bridge it is attached to, if any.
    pub master: Option<u32>,
    /// Link kind (`bridge`, `veth`, …), if the kernel says.
    pub kind: Option<String>,
    /// The interface alias (`ip link set … alias`), which netd uses to mark
    /// the links it owns.
    pub alias: Option<String>,
}

/// A netlink connection in one network namespace.
#[derive(Debug, Clone)]
pub struct Links {
    handle: Handle,
    /// The namespace's name for messages (`None` for the host).
    ns: Option<String>,
}

impl Links {
    /// A connection in the calling thread's network namespace, driven by the
    /// current tokio runtime.
    pub fn here(ns: Option<String>) -> Result<Self, KernelError> {
        let (conn, handle, _) = rtnetlink::new_connection().map_err(|source| KernelError::Sys {
            op: "opening netlink socket".into(),
            source,
        })?;
        tokio::spawn(conn);
        Ok(Self { handle, ns })
    }

    /// A connection inside the namespace `netns` (named `label` in errors).
    /// The socket is opened on a thread that entered the namespace and then
    /// driven by the current runtime.
    pub fn in_netns(netns: &File, label: &str) -> Result<Self, KernelError> {
        let rt = tokio::runtime::Handle::current();
        crate::netns::run_in(netns, || {
            let _guard = rt.enter();
            Self::here(Some(label.to_owned()))
        })?
    }

    /// Index and facts of the link named `name`, if it exists.
    pub async fn get(&self, name: &str) -> Result<Option<LinkInfo>, KernelError> {
        let mut stream = self
            .handle
            .link()
            .get()
            .match_name(name.to_owned())
            .execute();
        match stream.try_next().await {
            Ok(Some(msg)) => Ok(Some(link_info(&msg))),
            Ok(None) => Ok(None),
            Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code().abs() == libc::ENODEV => {
                Ok(None)
            }
            Err(source) => Err(KernelError::Netlink {
                op: format!("looking up link {name}"),
                source,
            }),
        }
    }

    /// Like [`Links::get`] but the link must exist.
    pub async fn require(&self, name: &str) -> Result<LinkInfo, KernelError> {
        self.get(name)
            .await?
            .ok_or_else(|| KernelError::LinkNotFound {
                name: name.to_owned(),
                ns: self.ns.clone(),
            })
    }

    /// Every link of the namespace.
    pub async fn list(&self) -> Result<Vec<LinkInfo>, KernelError> {
        let msgs: Vec<LinkMessage> = nl(
            || "listing links".into(),
            self.handle.link().get().execute().try_collect().await,
        )?;
        Ok(msgs.iter().map(link_info).collect())
    }

    /// Creates a bridge named `name` (unless it exists), sets its MTU when
    /// given, and brings it up. Returns its index and whether it was created.
    pub async fn bridge_ensure(
        &self,
        name: &str,
        mtu: Option<u32>,
    ) -> Result<(u32, bool), KernelError> {
        let created = match self.get(name).await? {
            Some(l) if l.kind.as_deref() == Some("bridge") => false,
            Some(_) => {
                return Err(KernelError::NotABridge {
                    name: name.to_owned(),
                });
            }
            None => {
                let mut b = LinkBridge::new(name);
                if let Some(mtu) = mtu {
                    b = b.mtu(mtu);
                }
                nl(
                    || format!("creating bridge {name}"),
                    self.handle.link().add(b.build()).execute().await,
                )?;
                true
            }
        };
        let index = self.require(name).await?.index;
        self.set_up(index, name).await?;
        Ok((index, created))
    }

    /// Brings link `index` (named `name` in errors) up.
    pub async fn set_up(&self, index: u32, name: &str) -> Result<(), KernelError> {
        nl(
            || format!("bringing link {name} up"),
            self.handle
                .link()
                .set(LinkUnspec::new_with_index(index).up().build())
                .execute()
                .await,
        )
    }

    /// Sets link `index`'s alias, the mark netd leaves on what it owns.
    pub async fn set_alias(&self, index: u32, name: &str, alias: &str) -> Result<(), KernelError> {
        nl(
            || format!("setting alias of {name}"),
            self.handle
                .link()
                .set(LinkUnspec::new_with_index(index).alias(alias).build())
                .execute()
                .await,
        )
    }

    /// Destination prefixes of the routes in the main table, the default
    /// routes excepted: subnets a new network must not overlap.
    pub async fn route_prefixes(&self) -> Result<Vec<IpNet>, KernelError> {
        use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteHeader};
        let mut out = Vec::new();
        for v6 in [false, true] {
            let filter = if v6 {
                RouteMessageBuilder::<std::net::Ipv6Addr>::new().build()
            } else {
                RouteMessageBuilder::<std::net::Ipv4Addr>::new().build()
            };
            let msgs: Vec<_> = nl(
                || "listing routes".into(),
                self.handle
                    .route()
                    .get(filter)
                    .execute()
                    .try_collect()
                    .await,
            )?;
            for m in msgs {
                let len = m.header.destination_prefix_length;
                if len == 0 || m.header.table != RouteHeader::RT_TABLE_MAIN {
                    continue;
                }
                let dst = m.attributes.iter().find_map(|a| match a {
                    RouteAttribute::Destination(RouteAddress::Inet(ip)) => Some(IpAddr::V4(*ip)),
                    RouteAttribute::Destination(RouteAddress::Inet6(ip)) => Some(IpAddr::V6(*ip)),
                    _ => None,
                });
                if let Some(net) = dst.and_then(|ip| IpNet::new(ip, len).ok()) {
                    out.push(net.trunc());
                }
            }
        }
        Ok(out)
    }

    /// Deletes link `index` (named `name` in errors); a link already gone is
    /// not an error.
    pub async fn delete(&self, index: u32, name: &str) -> Result<(), KernelError> {
        match nl(
            || format!("deleting link {name}"),
            self.handle.link().del(index).execute().await,
        ) {
            Err(e) if e.is_not_found() => Ok(()),
            other => other,
        }
    }

    /// Deletes every link of device group `group` in one request: the kernel
    /// pays its synchronisation cost once for the whole batch.
    pub async fn delete_group(&self, group: u32) -> Result<(), KernelError> {
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::Group(group));
        match nl(
            || format!("deleting link group {group}"),
            self.handle.link().del_with_message(msg).execute().await,
        ) {
            Err(e) if e.is_not_found() => Ok(()),
            other => other,
        }
    }

    /// The address messages of link `index` (named `name` in errors).
    async fn address_messages(
        &self,
        index: u32,
        name: &str,
    ) -> Result<Vec<netlink_packet_route::address::AddressMessage>, KernelError> {
        nl(
            || format!("listing addresses of {name}"),
            self.handle
                .address()
                .get()
                .set_link_index_filter(index)
                .execute()
                .try_collect()
                .await,
        )
    }

    /// Removes every address of link `index`.
    pub async fn flush_addresses(&self, index: u32, name: &str) -> Result<(), KernelError> {
        let msgs = self.address_messages(index, name).await?;
        for m in msgs {
            match nl(
                || format!("removing an address of {name}"),
                self.handle.address().del(m).execute().await,
            ) {
                Err(e) if e.is_not_found() => {}
                other => other?,
            }
        }
        Ok(())
    }

    /// Deletes the link named `name` if it exists.
    pub async fn delete_named(&self, name: &str) -> Result<(), KernelError> {
        match self.get(name).await? {
            Some(l) => self.delete(l.index, name).await,
            None => Ok(()),
        }
    }

    /// Adds `addr` to link `index`. IPv6 addresses skip duplicate address
    /// detection: IPAM already guarantees uniqueness, and DAD would leave the
    /// address unusable for a second or two.
    pub async fn add_address(
        &self,
        index: u32,
        name: &str,
        addr: IpNet,
    ) -> Result<(), KernelError> {
        let mut req = self
            .handle
            .address()
            .add(index, addr.addr(), addr.prefix_len())
            .replace();
        if addr.addr().is_ipv6() {
            req.message_mut().header.flags = AddressHeaderFlags::Nodad;
        }
        nl(
            || format!("adding address {addr} to {name}"),
            req.execute().await,
        )
    }

    /// The addresses of link `index`.
    pub async fn addresses(&self, index: u32) -> Result<Vec<IpNet>, KernelError> {
        use netlink_packet_route::address::AddressAttribute;
        let msgs = self
            .address_messages(index, &format!("link {index}"))
            .await?;
        Ok(msgs
            .iter()
            .filter_map(|m| {
                let ip = m.attributes.iter().find_map(|a| match a {
                    AddressAttribute::Address(ip) => Some(*ip),
                    _ => None,
                })?;
                IpNet::new(ip, m.header.prefix_len).ok()
            })
            .collect())
    }

    /// Creates a veth pair: `host` in this namespace, `peer` directly inside
    /// the namespace `peer_ns`, with the peer's MAC address and both MTUs set.
    pub async fn veth_create(
        &self,
        host: &str,
        peer: &str,
        peer_ns: &File,
        peer_mac: [u8; 6],
        mtu: Option<u32>,
    ) -> Result<(), KernelError> {
        let mut peer_msg = LinkUnspec::new_with_name(peer)
            .setns_by_fd(peer_ns.as_raw_fd())
            .address(peer_mac.to_vec());
        let mut msg = LinkVeth::new(host, peer);
        if let Some(mtu) = mtu {
            peer_msg = peer_msg.mtu(mtu);
            msg = msg.mtu(mtu);
        }
        let msg = msg
            .set_info_data(InfoData::Veth(InfoVeth::Peer(peer_msg.build())))
            .build();
        nl(
            || format!("creating veth pair {host} / {peer}"),
            self.handle.link().add(msg).execute().await,
        )
    }

    /// Takes link `index` out of service: down (a bridge port that is down
    /// carries nothing; it stays attached, since leaving a bridge costs time
    /// in proportion to the bridge's ports, better paid when it is deleted),
    /// and renamed to `new_name` (when given) so that its name is free again
    /// at once; deleting it, which costs the kernel tens of milliseconds, can
    /// then happen later.
    pub async fn retire(
        &self,
        index: u32,
        name: &str,
        new_name: Option<&str>,
        group: Option<u32>,
    ) -> Result<(), KernelError> {
        // Three requests, in this order: before Linux 6.2 an interface must
        // be down to be renamed, and a link must never sit in the graveyard
        // group unless it really is out of service.
        let steps = [
            Some(LinkUnspec::new_with_index(index).down()),
            new_name.map(|n| LinkUnspec::new_with_index(index).name(n.to_owned())),
            group.map(|g| LinkUnspec::new_with_index(index).link_group(g)),
        ];
        for msg in steps.into_iter().flatten() {
            match nl(
                || format!("taking {name} out of service"),
                self.handle.link().set(msg.build()).execute().await,
            ) {
                Err(e) if e.is_not_found() => return Ok(()),
                other => other?,
            }
        }
        Ok(())
    }

    /// Attaches link `index` to bridge `bridge` and brings it up.
    pub async fn attach_up(&self, index: u32, name: &str, bridge: u32) -> Result<(), KernelError> {
        nl(
            || format!("attaching {name} to its bridge"),
            self.handle
                .link()
                .set(
                    LinkUnspec::new_with_index(index)
                        .controller(bridge)
                        .up()
                        .build(),
                )
                .execute()
                .await,
        )
    }

    /// Adds a default route through `gateway` on link `index`.
    pub async fn add_default_route(&self, index: u32, gateway: IpAddr) -> Result<(), KernelError> {
        let msg = match gateway {
            IpAddr::V4(gw) => RouteMessageBuilder::<std::net::Ipv4Addr>::new()
                .output_interface(index)
                .gateway(gw)
                .build(),
            IpAddr::V6(gw) => RouteMessageBuilder::<std::net::Ipv6Addr>::new()
                .output_interface(index)
                .gateway(gw)
                .build(),
        };
        nl(
            || format!("adding default route via {gateway}"),
            self.handle.route().add(msg).replace().execute().await,
        )
    }

    /// Removes the default route of `family`, if there is one.
    pub async fn remove_default_route(&self, v6: bool) -> Result<(), KernelError> {
        let msg = if v6 {
            RouteMessageBuilder::<std::net::Ipv6Addr>::new().build()
        } else {
            RouteMessageBuilder::<std::net::Ipv4Addr>::new().build()
        };
        match nl(
            || "removing default route".into(),
            self.handle.route().del(msg).execute().await,
        ) {
            Err(e) if e.errno() == Some(libc::ESRCH) => Ok(()),
            other => other,
        }
    }
}

fn link_info(msg: &LinkMessage) -> LinkInfo {
    let mut info = LinkInfo {
        index: msg.header.index,
        name: String::new(),
        master: None,
        kind: None,
        alias: None,
    };
    for attr in &msg.attributes {
        match attr {
            LinkAttribute::IfName(n) => info.name.clone_from(n),
            LinkAttribute::Controller(m) => info.master = Some(*m),
            LinkAttribute::IfAlias(a) => info.alias = Some(a.clone()),
            LinkAttribute::LinkInfo(infos) => {
                for i in infos {
                    if let netlink_packet_route::link::LinkInfo::Kind(k) = i {
                        info.kind = Some(k.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    info
}
