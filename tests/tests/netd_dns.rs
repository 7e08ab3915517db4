//! The embedded DNS server, queried with the real `dig` inside sandboxes:
//! names, aliases, round robin, PTR, scoping, updates, forwarding to an
//! upstream that runs in another namespace, failover, no forwarding for
//! internal networks, and garbage that changes nothing.

#![allow(
    clippy::too_many_lines,
    reason = "a test reads as one scenario, top to bottom"
)]
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::sync::Arc;

use dns::server::{ListenerState, ServerHandle};
use dns::zone::Zone;
use netd_api::client::Client;
use netd_api::types::{
    EndpointSettings, NetworkConnectRequest, NetworkCreateRequest, NetworkDisconnectRequest,
    SandboxCreateRequest, SandboxResource,
};
use tests::TestHost;
use tests::netd::{Netd, eventually, in_netns, runtime};
use tests::traffic::{Remote, in_ns};

fn network(c: &Client, name: &str, internal: bool) {
    runtime()
        .block_on(c.network_create(&NetworkCreateRequest {
            name: name.into(),
            internal,
            ..Default::default()
        }))
        .unwrap();
}

fn sandbox(c: &Client, name: &str, hostname: &str, dns: &[&str]) -> SandboxResource {
    runtime()
        .block_on(c.sandbox_create(&SandboxCreateRequest {
            name: name.into(),
            hostname: hostname.into(),
            dns: dns.iter().map(|s| (*s).to_owned()).collect(),
            ..Default::default()
        }))
        .unwrap()
}

fn connect(c: &Client, net: &str, sb: &str, aliases: &[&str]) {
    runtime()
        .block_on(c.network_connect(
            net,
            &NetworkConnectRequest {
                container: sb.into(),
                endpoint_config: Some(EndpointSettings {
                    aliases: Some(aliases.iter().map(|s| (*s).to_owned()).collect()),
                    ..Default::default()
                }),
            },
        ))
        .unwrap();
}

/// `dig +short` from inside a sandbox; the answer lines.
fn dig(sb: &SandboxResource, args: &[&str]) -> Vec<String> {
    let mut cmd = vec!["dig", "+short", "+tries=1", "+time=3", "@127.0.0.11"];
    cmd.extend_from_slice(args);
    let out = in_netns(&sb.sandbox_key, &cmd);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .filter(|l| !l.starts_with(';'))
        .collect()
}

fn ip(c: &Client, sb: &str, net: &str) -> String {
    runtime().block_on(c.sandbox(sb)).unwrap().networks[net]
        .ip_address
        .clone()
}

/// A DNS server acting as the upstream, inside the remote namespace.
fn upstream(remote: &Remote, names: &[(&str, &str)]) -> (tokio::runtime::Runtime, ServerHandle) {
    let mut zone = Zone::new();
    for (n, a) in names {
        zone.add(n, a.parse().unwrap());
    }
    let addr: SocketAddr = format!("{}:53", remote.ip).parse().unwrap();
    let (udp, tcp) = in_ns(Some(&remote.netns), move || {
        (
            UdpSocket::bind(addr).unwrap(),
            TcpListener::bind(addr).unwrap(),
        )
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let handle = {
        let _g = rt.enter();
        dns::server::spawn(udp, tcp, Arc::new(ListenerState::new(zone, vec![], false)))
    };
    (rt, handle)
}

#[test]
fn names_aliases_round_robin_ptr_and_scoping() {
    let host = TestHost::enter();
    let netd = Netd::start(&host);
    let c = netd.client();
    network(&c, "app", false);
    network(&c, "other", false);
    sandbox(&c, "web1", "h-web1", &[]);
    sandbox(&c, "web2", "", &[]);
    let client = sandbox(&c, "client", "", &[]);
    let outsider = sandbox(&c, "outsider", "", &[]);
    connect(&c, "app", "web1", &["www"]);
    connect(&c, "app", "web2", &["www"]);
    connect(&c, "app", "client", &[]);
    connect(&c, "other", "outsider", &[]);
    let (w1, w2) = (ip(&c, "web1", "app"), ip(&c, "web2", "app"));

    let resolv = std::fs::read_to_string(&client.resolv_conf_path).unwrap();
    assert!(
        resolv.contains("nameserver 127.0.0.11") && resolv.contains("ndots:0"),
        "{resolv}"
    );

    assert_eq!(dig(&client, &["web1"]), std::slice::from_ref(&w1));
    assert_eq!(
        dig(&client, &["WEB1"]),
        std::slice::from_ref(&w1),
        "case-insensitive"
    );
    assert_eq!(
        dig(&client, &["web1.app"]),
        std::slice::from_ref(&w1),
        "name.network"
    );
    assert_eq!(
        dig(&client, &["h-web1"]),
        std::slice::from_ref(&w1),
        "hostname"
    );
    let short_id = runtime().block_on(c.sandbox("web1")).unwrap().id[..12].to_owned();
    assert_eq!(
        dig(&client, &[&short_id]),
        std::slice::from_ref(&w1),
        "short id"
    );
    let both: BTreeSet<String> = dig(&client, &["www"]).into_iter().collect();
    assert_eq!(
        both,
        BTreeSet::from([w1.clone(), w2.clone()]),
        "an alias shared by two"
    );
    let firsts: BTreeSet<String> = (0..8).map(|_| dig(&client, &["www"])[0].clone()).collect();
    assert_eq!(firsts.len(), 2, "the order rotates between queries");
    assert_eq!(dig(&client, &["-x", &w1]), ["web1.app."], "PTR");
    assert!(
        dig(&client, &["web1", "AAAA"]).is_empty(),
        "no IPv6 address, no AAAA"
    );
    assert!(
        dig(&outsider, &["web1"]).is_empty(),
        "invisible from another network"
    );

    // Disconnect removes the name at once.
    runtime()
        .block_on(c.network_disconnect(
            "app",
            &NetworkDisconnectRequest {
                container: "web2".into(),
                force: false,
            },
        ))
        .unwrap();
    assert_eq!(dig(&client, &["www"]), [w1]);
    assert!(dig(&client, &["web2"]).is_empty());

    // The default bridge has no embedded DNS, as Docker's.
    let plain = sandbox(&c, "plain", "", &[]);
    connect(&c, "bridge", "plain", &[]);
    let resolv = std::fs::read_to_string(&plain.resolv_conf_path).unwrap();
    assert!(!resolv.contains("127.0.0.11"), "{resolv}");
}

#[test]
fn forwarding_failover_internal_networks_and_host_resolv_conf_changes() {
    let host = TestHost::enter();
    let netd = Netd::start(&host);
    let c = netd.client();
    let remote = Remote::new();
    let _up = upstream(&remote, &[("example.test", "203.0.113.7")]);
    network(&c, "app", false);
    network(&c, "vault", true);
    // The first upstream is dead: the server fails over to the second.
    let fwd = sandbox(&c, "fwd", "", &["192.0.2.99", "192.0.2.2"]);
    connect(&c, "app", "fwd", &[]);
    assert_eq!(dig(&fwd, &["example.test"]), ["203.0.113.7"]);
    // Internal networks never forward, but still resolve their own names.
    let v1 = sandbox(&c, "v1", "", &["192.0.2.2"]);
    sandbox(&c, "v2", "", &[]);
    connect(&c, "vault", "v1", &[]);
    connect(&c, "vault", "v2", &[]);
    assert!(dig(&v1, &["example.test"]).is_empty());
    assert_eq!(dig(&v1, &["v2"]), [ip(&c, "v2", "vault")]);
    // No --dns: the host's resolv.conf, re-read when it changes.
    let plain = sandbox(&c, "plainfwd", "", &[]);
    connect(&c, "app", "plainfwd", &[]);
    assert!(
        dig(&plain, &["example.test"]).is_empty(),
        "the host's resolver is dead"
    );
    std::fs::write("/etc/resolv.conf", "nameserver 192.0.2.2\n").unwrap();
    assert!(
        eventually(8, || dig(&plain, &["example.test"]) == ["203.0.113.7"]),
        "the new host resolver is used without a restart"
    );
}

#[test]
fn garbage_packets_cost_nothing_lasting() {
    let host = TestHost::enter();
    let netd = Netd::start(&host);
    let c = netd.client();
    network(&c, "app", false);
    let a = sandbox(&c, "aa", "", &[]);
    connect(&c, "app", "aa", &[]);
    let key = a.sandbox_key.clone();
    in_ns(Some(&key), || {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for i in 0..3000usize {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = usize::try_from(x % 600).unwrap();
            let pkt: Vec<u8> = (0..len)
                .map(|j| {
                    u8::try_from((x >> (j % 56)) & 0xff).unwrap() ^ u8::try_from(i & 0xff).unwrap()
                })
                .collect();
            let _ = s.send_to(&pkt, "127.0.0.11:53");
        }
        // A TCP client announcing a huge message and then going silent.
        let mut t = std::net::TcpStream::connect("127.0.0.11:53").unwrap();
        std::io::Write::write_all(&mut t, &[0xff, 0xff, 1, 2, 3]).unwrap();
    });
    assert_eq!(dig(&a, &["aa"]), [ip(&c, "aa", "app")], "still answering");
    let tcp = dig(&a, &["+tcp", "aa"]);
    assert_eq!(tcp, [ip(&c, "aa", "app")], "still answering over TCP");
}

#[test]
fn restart_restores_listeners_and_extra_hosts_land_in_the_hosts_file() {
    let host = TestHost::enter();
    let mut netd = Netd::start(&host);
    let c = netd.client();
    network(&c, "app", false);
    let a = runtime()
        .block_on(c.sandbox_create(&SandboxCreateRequest {
            name: "withhosts".into(),
            extra_hosts: vec!["db:10.1.2.3".into(), "gw:host-gateway".into()],
            ..Default::default()
        }))
        .unwrap();
    sandbox(&c, "peer", "", &[]);
    connect(&c, "app", "withhosts", &[]);
    connect(&c, "app", "peer", &[]);
    let hosts = std::fs::read_to_string(&a.hosts_path).unwrap();
    assert!(hosts.contains("10.1.2.3\tdb"), "{hosts}");
    let bridge = runtime().block_on(c.network("bridge")).unwrap();
    let gw = bridge.ipam.config.unwrap()[0].gateway.clone().unwrap();
    assert!(
        hosts.contains(&format!("{gw}\tgw")),
        "host-gateway is the default bridge's gateway: {hosts}"
    );
    let peer_ip = ip(&c, "peer", "app");
    assert_eq!(dig(&a, &["peer"]), std::slice::from_ref(&peer_ip));
    netd.kill();
    netd.start_again();
    assert!(
        eventually(15, || dig(&a, &["peer"]) == [peer_ip.clone()]),
        "the listener is back after a restart"
    );
}

#[test]
fn a_host_resolver_on_loopback_is_reached_from_the_host_namespace() {
    let host = TestHost::enter();
    // A resolver on the host's 127.0.0.53, as systemd-resolved runs one.
    let mut zone = Zone::new();
    zone.add("intranet.test", "198.51.100.9".parse().unwrap());
    let addr: SocketAddr = "127.0.0.53:53".parse().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let _resolver = {
        let _g = rt.enter();
        dns::server::spawn(
            UdpSocket::bind(addr).unwrap(),
            TcpListener::bind(addr).unwrap(),
            Arc::new(ListenerState::new(zone, vec![], false)),
        )
    };
    std::fs::write("/etc/resolv.conf", "nameserver 127.0.0.53\n").unwrap();
    let netd = Netd::start(&host);
    let c = netd.client();
    network(&c, "app", false);
    let a = sandbox(&c, "aa", "", &[]);
    connect(&c, "app", "aa", &[]);
    assert_eq!(dig(&a, &["intranet.test"]), ["198.51.100.9"]);
    drop(_resolver);
    rt.shutdown_background();
}
