//! netd's nftables ruleset, generated as data.
//!
//! Two tables, both netd's own: `inet netd` (NAT, forwarding filter) and
//! `bridge netd` (traffic between ports of one bridge). Their chains and
//! rules are fixed; everything that varies with networks, endpoints and
//! published ports lives in sets and maps. So the number of rules never
//! grows, and publishing a port, connecting a container or creating a
//! network adds set elements in one small batch instead of rewriting chains.
//!
//! ```text
//! raw_prerouting   iifname != lo, daddr 127.0.0.0/8          -> drop   (loopback-published ports stay local)
//! prerouting/output  fib daddr local                          -> port_dnat
//! port_dnat        daddr . proto . port  in dnat4 / dnat6      -> dnat to container
//!                  proto . port          in dnat4_any / …6     -> dnat to container
//! postrouting      saddr in masq4/6, oifname not a bridge      -> masquerade
//!                  dnat'ed, iif . oif in hairpin               -> masquerade (container to own network's port)
//!                  dnat'ed, saddr 127/8, oif a bridge          -> masquerade (host's 127.0.0.1 to container)
//! forward          established/related                          -> accept
//!                  oif a bridge -> to_bridge: same bridge in and out -> accept; internal -> drop;
//!                                  dnat'ed to a published port -> accept; else drop
//!                  iif a bridge -> from_bridge: internal -> drop
//! bridge forward   iifname in noicc_ports                       -> drop   (enable_icc=false)
//! ```
//!
//! The last `drop` of `to_bridge` is Docker 28's protection: nothing reaches
//! a container from outside its network unless it was published, whether by
//! routing to its address from the LAN or from another network.

use std::borrow::Cow;
use std::collections::HashSet;
use std::net::IpAddr;

use ipnet::IpNet;
use nftables::batch::Batch;
use nftables::expr::{
    CT, Expression, Fib, FibFlag, FibResult, Meta, MetaKey, NamedExpression, Payload, PayloadField,
    Prefix,
};
use nftables::schema::{
    Chain, Element, Map, NfListObject, Nftables, Rule, Set, SetFlag, SetType, SetTypeValue, Table,
};
use nftables::stmt::{JumpTarget, Match, NAT, NATFamily, Operator, Statement};
use nftables::types::{NfChainPolicy, NfChainType, NfFamily, NfHook};

use super::{Protocol, PublishedPort};

/// The inet table's name.
pub const TABLE: &str = "netd";

// Chain priorities, as nft names them (see nft(8), "CHAINS").
const PRIO_RAW: i32 = -300;
const PRIO_DSTNAT: i32 = -100;
const PRIO_FILTER: i32 = 0;
const PRIO_SRCNAT: i32 = 100;

/// A network's facts that the ruleset needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkRules {
    /// The Linux bridge.
    pub bridge: String,
    /// The network's subnets.
    pub subnets: Vec<IpNet>,
    /// No route out, nothing in.
    pub internal: bool,
    /// Masquerade traffic that leaves the host.
    pub masquerade: bool,
}

fn s(v: impl Into<Cow<'static, str>>) -> Expression<'static> {
    Expression::String(v.into())
}

fn set_ref(name: &str) -> Expression<'static> {
    s(format!("@{name}"))
}

fn meta(key: MetaKey) -> Expression<'static> {
    Expression::Named(NamedExpression::Meta(Meta { key }))
}

fn payload(protocol: &'static str, field: &'static str) -> Expression<'static> {
    Expression::Named(NamedExpression::Payload(Payload::PayloadField(
        PayloadField {
            protocol: protocol.into(),
            field: field.into(),
        },
    )))
}

fn concat(v: Vec<Expression<'static>>) -> Expression<'static> {
    Expression::Named(NamedExpression::Concat(v))
}

fn ct(key: &'static str) -> Expression<'static> {
    Expression::Named(NamedExpression::CT(CT {
        key: key.into(),
        family: None,
        dir: None,
    }))
}

fn prefix(net: &IpNet) -> Expression<'static> {
    Expression::Named(NamedExpression::Prefix(Prefix {
        addr: Box::new(s(net.network().to_string())),
        len: u32::from(net.prefix_len()),
    }))
}

fn is(left: Expression<'static>, right: Expression<'static>) -> Statement<'static> {
    Statement::Match(Match {
        left,
        right,
        op: Operator::EQ,
    })
}

fn is_not(left: Expression<'static>, right: Expression<'static>) -> Statement<'static> {
    Statement::Match(Match {
        left,
        right,
        op: Operator::NEQ,
    })
}

fn has(left: Expression<'static>, right: Expression<'static>) -> Statement<'static> {
    Statement::Match(Match {
        left,
        right,
        op: Operator::IN,
    })
}

fn jump(target: &'static str) -> Statement<'static> {
    Statement::Jump(JumpTarget {
        target: target.into(),
    })
}

fn addr_family(v6: bool) -> &'static str {
    if v6 { "ip6" } else { "ip" }
}

fn table(family: NfFamily) -> NfListObject<'static> {
    NfListObject::Table(Table {
        family,
        name: TABLE.into(),
        handle: None,
    })
}

fn set(
    family: NfFamily,
    name: &'static str,
    types: &[SetType],
    interval: bool,
) -> NfListObject<'static> {
    NfListObject::Set(Box::new(Set {
        family,
        table: TABLE.into(),
        name: name.into(),
        handle: None,
        set_type: set_type(types),
        policy: None,
        flags: interval.then(|| HashSet::from([SetFlag::Interval])),
        elem: None,
        timeout: None,
        gc_interval: None,
        size: None,
        comment: None,
    }))
}

fn set_type(types: &[SetType]) -> SetTypeValue<'static> {
    match types {
        [one] => SetTypeValue::Single(*one),
        many => SetTypeValue::Concatenated(Cow::Owned(many.to_vec())),
    }
}

fn map(name: &'static str, key: &[SetType], data: &[SetType]) -> NfListObject<'static> {
    NfListObject::Map(Box::new(Map {
        family: NfFamily::INet,
        table: TABLE.into(),
        name: name.into(),
        handle: None,
        set_type: set_type(key),
        map: set_type(data),
        policy: None,
        flags: None,
        elem: None,
        timeout: None,
        gc_interval: None,
        size: None,
        comment: None,
    }))
}

fn chain(
    family: NfFamily,
    name: &'static str,
    base: Option<(NfChainType, NfHook, i32)>,
) -> NfListObject<'static> {
    NfListObject::Chain(Chain {
        family,
        table: TABLE.into(),
        name: name.into(),
        newname: None,
        handle: None,
        _type: base.map(|b| b.0),
        hook: base.map(|b| b.1),
        prio: base.map(|b| b.2),
        dev: None,
        policy: base.map(|_| NfChainPolicy::Accept),
    })
}

fn rule(
    family: NfFamily,
    chain: &'static str,
    expr: Vec<Statement<'static>>,
) -> NfListObject<'static> {
    NfListObject::Rule(Rule {
        family,
        table: TABLE.into(),
        chain: chain.into(),
        expr: Cow::Owned(expr),
        handle: None,
        index: None,
        comment: None,
    })
}

fn dnat_rule(v6: bool, maps: &'static str, with_addr: bool) -> NfListObject<'static> {
    // Two lookups, one for the address and one for the port: nft 1.0.6
    // crashes on a JSON `dnat` whose map yields `address . port`.
    let fam = addr_family(v6);
    let key = || {
        let mut key = Vec::new();
        if with_addr {
            key.push(payload(fam, "daddr"));
        }
        key.push(meta(MetaKey::L4proto));
        key.push(payload("th", "dport"));
        concat(key)
    };
    let lookup = |suffix: &str| {
        Expression::Named(NamedExpression::Map(Box::new(nftables::expr::Map {
            key: key(),
            data: set_ref(&format!("{maps}_{suffix}")),
        })))
    };
    rule(
        NfFamily::INet,
        "port_dnat",
        vec![Statement::DNAT(Some(NAT {
            addr: Some(lookup("addr")),
            family: Some(if v6 { NATFamily::IP6 } else { NATFamily::IP }),
            port: Some(lookup("port")),
            flags: None,
        }))],
    )
}

fn masquerade() -> Statement<'static> {
    Statement::Masquerade(None)
}

/// Everything netd's tables hold except elements: created once, replaced
/// whole (atomically) at start and on restore.
#[allow(
    clippy::too_many_lines,
    reason = "a declarative table of the fixed ruleset, read top to bottom"
)]
fn skeleton(b: &mut Batch<'static>) {
    use SetType::{Ifname, InetProto, InetService, Ipv4Addr, Ipv6Addr};
    let inet = NfFamily::INet;
    // Create-then-delete-then-create: replaces the tables atomically whether
    // or not they exist.
    for family in [NfFamily::INet, NfFamily::Bridge] {
        b.add(table(family));
        b.delete(table(family));
        b.add(table(family));
    }
    for (name, types, interval) in [
        ("bridges", &[Ifname][..], false),
        ("internal", &[Ifname][..], false),
        ("hairpin", &[Ifname, Ifname][..], false),
        ("masq4", &[Ipv4Addr][..], true),
        ("masq6", &[Ipv6Addr][..], true),
        ("published4", &[Ipv4Addr, InetProto, InetService][..], false),
        ("published6", &[Ipv6Addr, InetProto, InetService][..], false),
    ] {
        b.add(set(inet, name, types, interval));
    }
    for (name, key, addr) in [
        (
            "dnat4_addr",
            &[Ipv4Addr, InetProto, InetService][..],
            Ipv4Addr,
        ),
        ("dnat4_any_addr", &[InetProto, InetService][..], Ipv4Addr),
        (
            "dnat6_addr",
            &[Ipv6Addr, InetProto, InetService][..],
            Ipv6Addr,
        ),
        ("dnat6_any_addr", &[InetProto, InetService][..], Ipv6Addr),
    ] {
        b.add(map(name, key, &[addr]));
    }
    for (name, key) in [
        ("dnat4_port", &[Ipv4Addr, InetProto, InetService][..]),
        ("dnat4_any_port", &[InetProto, InetService][..]),
        ("dnat6_port", &[Ipv6Addr, InetProto, InetService][..]),
        ("dnat6_any_port", &[InetProto, InetService][..]),
    ] {
        b.add(map(name, key, &[InetService]));
    }

    for (name, kind, hook, prio) in [
        (
            "raw_prerouting",
            NfChainType::Filter,
            NfHook::Prerouting,
            PRIO_RAW,
        ),
        (
            "prerouting",
            NfChainType::NAT,
            NfHook::Prerouting,
            PRIO_DSTNAT,
        ),
        ("output", NfChainType::NAT, NfHook::Output, PRIO_DSTNAT),
        (
            "postrouting",
            NfChainType::NAT,
            NfHook::Postrouting,
            PRIO_SRCNAT,
        ),
        ("forward", NfChainType::Filter, NfHook::Forward, PRIO_FILTER),
    ] {
        b.add(chain(inet, name, Some((kind, hook, prio))));
    }
    for name in ["port_dnat", "to_bridge", "from_bridge"] {
        b.add(chain(inet, name, None));
    }

    let local = || {
        is(
            Expression::Named(NamedExpression::Fib(Fib {
                result: FibResult::Type,
                flags: HashSet::from([FibFlag::Daddr]),
            })),
            s("local"),
        )
    };
    let loopback4 = || prefix(&"127.0.0.0/8".parse().expect("valid literal"));
    b.add(rule(
        inet,
        "raw_prerouting",
        // The address first: it settles almost every packet with one
        // compare (this chain sees every packet).
        vec![
            is(payload("ip", "daddr"), loopback4()),
            is_not(meta(MetaKey::Iifname), s("lo")),
            Statement::Drop(None),
        ],
    ));
    b.add(rule(inet, "prerouting", vec![local(), jump("port_dnat")]));
    b.add(rule(inet, "output", vec![local(), jump("port_dnat")]));
    for v6 in [false, true] {
        let (by_addr, any) = if v6 {
            ("dnat6", "dnat6_any")
        } else {
            ("dnat4", "dnat4_any")
        };
        b.add(dnat_rule(v6, by_addr, true));
        b.add(dnat_rule(v6, any, false));
    }
    for (fam, masq) in [("ip", "masq4"), ("ip6", "masq6")] {
        b.add(rule(
            inet,
            "postrouting",
            vec![
                is(payload(fam, "saddr"), set_ref(masq)),
                is_not(meta(MetaKey::Oifname), set_ref("bridges")),
                masquerade(),
            ],
        ));
    }
    b.add(rule(
        inet,
        "postrouting",
        vec![
            has(ct("status"), s("dnat")),
            is(
                concat(vec![meta(MetaKey::Iifname), meta(MetaKey::Oifname)]),
                set_ref("hairpin"),
            ),
            masquerade(),
        ],
    ));
    b.add(rule(
        inet,
        "postrouting",
        vec![
            has(ct("status"), s("dnat")),
            is(meta(MetaKey::Oifname), set_ref("bridges")),
            is(payload("ip", "saddr"), loopback4()),
            masquerade(),
        ],
    ));
    b.add(rule(
        inet,
        "forward",
        vec![
            has(
                ct("state"),
                Expression::List(vec![s("established"), s("related")]),
            ),
            Statement::Accept(None),
        ],
    ));
    b.add(rule(
        inet,
        "forward",
        vec![
            is(meta(MetaKey::Oifname), set_ref("bridges")),
            jump("to_bridge"),
        ],
    ));
    b.add(rule(
        inet,
        "forward",
        vec![
            is(meta(MetaKey::Iifname), set_ref("bridges")),
            jump("from_bridge"),
        ],
    ));
    // Traffic within one network: with br_netfilter, bridged frames pass
    // this hook with the bridge as both input and output interface.
    b.add(rule(
        inet,
        "to_bridge",
        vec![
            is(
                concat(vec![meta(MetaKey::Iifname), meta(MetaKey::Oifname)]),
                set_ref("hairpin"),
            ),
            Statement::Accept(None),
        ],
    ));
    b.add(rule(
        inet,
        "to_bridge",
        vec![
            is(meta(MetaKey::Oifname), set_ref("internal")),
            Statement::Drop(None),
        ],
    ));
    for (fam, published) in [("ip", "published4"), ("ip6", "published6")] {
        b.add(rule(
            inet,
            "to_bridge",
            vec![
                has(ct("status"), s("dnat")),
                is(
                    concat(vec![
                        payload(fam, "daddr"),
                        meta(MetaKey::L4proto),
                        payload("th", "dport"),
                    ]),
                    set_ref(published),
                ),
                Statement::Accept(None),
            ],
        ));
    }
    b.add(rule(inet, "to_bridge", vec![Statement::Drop(None)]));
    b.add(rule(
        inet,
        "from_bridge",
        vec![
            is(meta(MetaKey::Iifname), set_ref("internal")),
            Statement::Drop(None),
        ],
    ));

    let bridge = NfFamily::Bridge;
    b.add(set(bridge, "noicc_ports", &[Ifname], false));
    b.add(chain(
        bridge,
        "forward",
        Some((NfChainType::Filter, NfHook::Forward, PRIO_FILTER)),
    ));
    b.add(rule(
        bridge,
        "forward",
        vec![
            is(meta(MetaKey::Iifname), set_ref("noicc_ports")),
            Statement::Drop(None),
        ],
    ));
}

fn element(
    family: NfFamily,
    set: &'static str,
    elem: Vec<Expression<'static>>,
) -> NfListObject<'static> {
    NfListObject::Element(Element {
        family,
        table: TABLE.into(),
        name: set.into(),
        elem: Cow::Owned(elem),
    })
}

fn map_elem(key: Expression<'static>, value: Expression<'static>) -> Expression<'static> {
    Expression::List(vec![key, value])
}

/// The elements that express one network.
fn network_elements(n: &NetworkRules) -> Vec<NfListObject<'static>> {
    let inet = NfFamily::INet;
    let mut out = vec![
        element(inet, "bridges", vec![s(n.bridge.clone())]),
        element(
            inet,
            "hairpin",
            vec![concat(vec![s(n.bridge.clone()), s(n.bridge.clone())])],
        ),
    ];
    if n.internal {
        out.push(element(inet, "internal", vec![s(n.bridge.clone())]));
    } else if n.masquerade {
        for sub in &n.subnets {
            let set = if sub.addr().is_ipv6() {
                "masq6"
            } else {
                "masq4"
            };
            out.push(element(inet, set, vec![prefix(sub)]));
        }
    }
    out
}

fn proto_expr(p: Protocol) -> Expression<'static> {
    s(p.as_str())
}

/// The elements that express one published port.
fn port_elements(p: &PublishedPort) -> Vec<NfListObject<'static>> {
    let v6 = p.container_ip.is_ipv6();
    let (by_addr, any, published) = if v6 {
        ("dnat6", "dnat6_any", "published6")
    } else {
        ("dnat4", "dnat4_any", "published4")
    };
    let (maps, key) = match p.host_ip.filter(|ip| !ip.is_unspecified()) {
        Some(ip) => (
            by_addr,
            concat(vec![
                s(ip.to_string()),
                proto_expr(p.protocol),
                Expression::Number(u32::from(p.host_port)),
            ]),
        ),
        None => (
            any,
            concat(vec![
                proto_expr(p.protocol),
                Expression::Number(u32::from(p.host_port)),
            ]),
        ),
    };
    let addr_map: &'static str = match (maps, v6) {
        ("dnat4", _) => "dnat4_addr",
        ("dnat4_any", _) => "dnat4_any_addr",
        ("dnat6", _) => "dnat6_addr",
        _ => "dnat6_any_addr",
    };
    let port_map: &'static str = match maps {
        "dnat4" => "dnat4_port",
        "dnat4_any" => "dnat4_any_port",
        "dnat6" => "dnat6_port",
        _ => "dnat6_any_port",
    };
    vec![
        element(
            NfFamily::INet,
            addr_map,
            vec![map_elem(key.clone(), s(p.container_ip.to_string()))],
        ),
        element(
            NfFamily::INet,
            port_map,
            vec![map_elem(
                key,
                Expression::Number(u32::from(p.container_port)),
            )],
        ),
        element(
            NfFamily::INet,
            published,
            vec![concat(vec![
                s(p.container_ip.to_string()),
                proto_expr(p.protocol),
                Expression::Number(u32::from(p.container_port)),
            ])],
        ),
    ]
}

/// A published port added or removed by a [`Change`], for those who
/// mirror the published ports elsewhere (connect-time translation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortOp {
    /// Published.
    Add(PublishedPort),
    /// Unpublished.
    Remove(PublishedPort),
}

/// A batch of changes to netd's tables, applied atomically.
#[derive(Debug, Default)]
pub struct Change {
    batch: Batch<'static>,
    empty: bool,
    /// Whether the change replaces every table.
    replaces: bool,
    /// The published ports added and removed, in order.
    ports: Vec<PortOp>,
}

impl Change {
    /// A change that replaces netd's tables with exactly this state.
    pub fn replace_all(
        networks: &[NetworkRules],
        ports: &[PublishedPort],
        noicc_ports: &[String],
    ) -> Self {
        let mut batch = Batch::new();
        skeleton(&mut batch);
        let mut c = Self {
            batch,
            empty: false,
            replaces: true,
            ports: Vec::new(),
        };
        for n in networks {
            c.add_network(n);
        }
        for p in ports {
            c.add_port(p);
        }
        for port in noicc_ports {
            c.isolate_port(port, true);
        }
        c
    }

    /// An empty change.
    pub fn new() -> Self {
        Self {
            batch: Batch::new(),
            empty: true,
            replaces: false,
            ports: Vec::new(),
        }
    }

    /// Whether the change replaces every table (and so every published
    /// port), and the published ports it adds and removes, in order.
    pub fn port_ops(&self) -> (bool, &[PortOp]) {
        (self.replaces, &self.ports)
    }

    /// Whether there is nothing to apply.
    pub fn is_empty(&self) -> bool {
        self.empty
    }

    /// Adds a network's elements.
    pub fn add_network(&mut self, n: &NetworkRules) {
        for e in network_elements(n) {
            self.batch.add(e);
        }
        self.empty = false;
    }

    /// Removes a network's elements.
    pub fn remove_network(&mut self, n: &NetworkRules) {
        for e in network_elements(n) {
            self.batch.delete(e);
        }
        self.empty = false;
    }

    /// Publishes a port.
    pub fn add_port(&mut self, p: &PublishedPort) {
        for e in port_elements(p) {
            self.batch.add(e);
        }
        self.ports.push(PortOp::Add(*p));
        self.empty = false;
    }

    /// Unpublishes a port; `keep_published` when another mapping still
    /// forwards to the same container port.
    pub fn remove_port(&mut self, p: &PublishedPort, keep_published: bool) {
        let mut elems = port_elements(p);
        if keep_published {
            elems.truncate(2);
        }
        for e in elems {
            self.batch.delete(e);
        }
        self.ports.push(PortOp::Remove(*p));
        self.empty = false;
    }

    /// Blocks (or unblocks) traffic from a bridge port to the other ports of
    /// its bridge (`enable_icc=false`).
    pub fn isolate_port(&mut self, host_ifname: &str, on: bool) {
        let e = element(
            NfFamily::Bridge,
            "noicc_ports",
            vec![s(host_ifname.to_owned())],
        );
        if on {
            self.batch.add(e);
        } else {
            self.batch.delete(e);
        }
        self.empty = false;
    }

    /// The batch as nft's JSON document.
    pub fn into_nftables(self) -> Nftables<'static> {
        self.batch.to_nftables()
    }

    /// The batch as JSON text, as `nft -j -f` reads it.
    pub fn to_json(self) -> String {
        serde_json::to_string(&self.into_nftables()).expect("nftables documents serialize")
    }
}

/// Whether an address is of the family a published port's map expects.
pub fn same_family(a: IpAddr, b: IpAddr) -> bool {
    a.is_ipv6() == b.is_ipv6()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net() -> NetworkRules {
        NetworkRules {
            bridge: "br-test".into(),
            subnets: vec![
                "10.1.0.0/24".parse().unwrap(),
                "fd00:1::/64".parse().unwrap(),
            ],
            internal: false,
            masquerade: true,
        }
    }

    fn port(host_ip: Option<&str>) -> PublishedPort {
        PublishedPort {
            host_ip: host_ip.map(|s| s.parse().unwrap()),
            host_port: 8080,
            protocol: Protocol::Tcp,
            container_ip: "10.1.0.2".parse().unwrap(),
            container_port: 80,
        }
    }

    fn json(c: Change) -> serde_json::Value {
        serde_json::from_str(&c.to_json()).unwrap()
    }

    #[test]
    fn rule_count_does_not_grow_with_networks_or_ports() {
        let count = |n: usize, p: usize| {
            let nets: Vec<_> = (0..n)
                .map(|i| NetworkRules {
                    bridge: format!("br{i}"),
                    ..net()
                })
                .collect();
            let ports: Vec<_> = (0..p)
                .map(|i| PublishedPort {
                    host_port: 1000 + u16::try_from(i).unwrap(),
                    ..port(None)
                })
                .collect();
            let doc = json(Change::replace_all(&nets, &ports, &[]));
            doc["nftables"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|o| o["add"].get("rule").is_some())
                .count()
        };
        assert_eq!(count(1, 1), count(50, 1000));
    }

    #[test]
    fn network_elements_cover_bridge_hairpin_and_masquerade() {
        let mut c = Change::new();
        c.add_network(&net());
        let doc = json(c);
        let names: Vec<&str> = doc["nftables"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["add"]["element"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["bridges", "hairpin", "masq4", "masq6"]);
    }

    #[test]
    fn internal_networks_are_never_masqueraded() {
        let mut c = Change::new();
        c.add_network(&NetworkRules {
            internal: true,
            ..net()
        });
        let text = c.to_json();
        assert!(text.contains("\"internal\""));
        assert!(!text.contains("masq"));
    }

    #[test]
    fn port_on_any_address_and_on_one_address_use_their_maps() {
        let mut c = Change::new();
        c.add_port(&port(None));
        c.add_port(&port(Some("127.0.0.1")));
        let text = c.to_json();
        assert!(text.contains("\"dnat4_any_addr\"") && text.contains("\"dnat4_any_port\""));
        assert!(text.contains("\"dnat4_addr\"") && text.contains("\"dnat4_port\""));
        assert!(text.contains("127.0.0.1"));
        assert_eq!(text.matches("published4").count(), 2);
    }

    #[test]
    fn unpublishing_one_of_two_mappings_keeps_the_forward_rule() {
        let mut c = Change::new();
        c.remove_port(&port(None), true);
        let text = c.to_json();
        assert!(text.contains("dnat4_any") && !text.contains("published4"));
    }

    #[test]
    fn replace_all_recreates_both_tables_atomically() {
        let doc = json(Change::replace_all(&[], &[], &[]));
        let cmds = doc["nftables"].as_array().unwrap();
        assert!(cmds[1].get("delete").is_some() && cmds[1]["delete"]["table"]["family"] == "inet");
        assert!(
            cmds[4].get("delete").is_some() && cmds[4]["delete"]["table"]["family"] == "bridge"
        );
    }
}
