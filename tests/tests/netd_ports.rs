//! Published ports and isolation with real traffic: a server in a sandbox
//! reached through its published port from a LAN neighbour, the host,
//! 127.0.0.1 and a sibling container; UDP; conflicts and bad specs that
//! leave nothing behind; networks isolated from each other; `--internal`;
//! `enable_icc=false`; unpublished ports unreachable by routing.

#![allow(
    clippy::too_many_lines,
    reason = "a test reads as one scenario, top to bottom"
)]
#![allow(clippy::unwrap_used)]

use netd_api::client::Client;
use netd_api::portspec::PortBindings;
use netd_api::types::{
    IpamConfig, NetworkConnectRequest, NetworkCreateRequest, SandboxCreateRequest, SandboxResource,
};
use tests::netd::{Netd, bindings, ping, runtime};
use tests::traffic::{Remote, serve_tcp, serve_udp, tcp_get, udp_roundtrip};
use tests::{TestHost, run};

fn network(c: &Client, name: &str, opts: &[(&str, &str)], internal: bool, subnet: Option<&str>) {
    let req = NetworkCreateRequest {
        name: name.into(),
        internal,
        options: Some(
            opts.iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
        ),
        ipam: subnet.map(|s| netd_api::types::Ipam {
            config: Some(vec![IpamConfig {
                subnet: Some(s.into()),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    };
    runtime().block_on(c.network_create(&req)).unwrap();
}

fn sandbox(c: &Client, name: &str, ports: Option<PortBindings>) -> SandboxResource {
    runtime()
        .block_on(c.sandbox_create(&SandboxCreateRequest {
            name: name.into(),
            port_bindings: ports,
            ..Default::default()
        }))
        .unwrap()
}

fn connect(c: &Client, net: &str, sb: &str) -> Result<(), netd_api::client::ClientError> {
    runtime().block_on(c.network_connect(
        net,
        &NetworkConnectRequest {
            container: sb.into(),
            endpoint_config: None,
        },
    ))
}

fn ip_of(c: &Client, sb: &str, net: &str) -> String {
    runtime().block_on(c.sandbox(sb)).unwrap().networks[net]
        .ip_address
        .clone()
}

#[test]
fn published_tcp_port_is_reached_from_lan_host_loopback_and_sibling() {
    let host = TestHost::enter();
    // The host's own clients through DNAT here (`netd_connect_nat` covers
    // connect-time translation).
    let netd = Netd::start_dnat_only(&host);
    let c = netd.client();
    let remote = Remote::new();
    network(&c, "web", &[], false, None);
    let srv = sandbox(&c, "srv", Some(bindings(&[("80/tcp", "", "8080")])));
    let cli = sandbox(&c, "cli", None);
    connect(&c, "web", "srv").unwrap();
    connect(&c, "web", "cli").unwrap();
    serve_tcp(&srv.sandbox_key, 80);

    // From a LAN neighbour: the server sees the neighbour's own address.
    let got = tcp_get(Some(&remote.netns), "192.0.2.1:8080").unwrap();
    assert_eq!(got, format!("peer={}", remote.ip));
    // From the host, on its LAN address and on 127.0.0.1.
    assert!(
        tcp_get(None, "192.0.2.1:8080")
            .unwrap()
            .starts_with("peer=")
    );
    assert!(
        tcp_get(None, "127.0.0.1:8080")
            .unwrap()
            .starts_with("peer=")
    );
    // From a sibling container, through the host's address (hairpin).
    assert!(
        tcp_get(Some(&cli.sandbox_key), "192.0.2.1:8080")
            .unwrap()
            .starts_with("peer=")
    );

    // Inspect shows Docker's Ports shape.
    let view = runtime().block_on(c.sandbox("srv")).unwrap();
    assert_eq!(
        serde_json::to_value(&view.ports).unwrap(),
        serde_json::json!({"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]})
    );
    let net = runtime().block_on(c.network("web")).unwrap();
    assert_eq!(net.containers[&srv.id].ports["80/tcp"][0].host_port, "8080");
    // The host port is held: nobody else can bind it.
    assert!(std::net::TcpListener::bind("0.0.0.0:8080").is_err());
}

#[test]
fn udp_and_random_host_ports_work() {
    let host = TestHost::enter();
    let netd = Netd::start(&host);
    let c = netd.client();
    let remote = Remote::new();
    network(&c, "dns", &[], false, None);
    let srv = sandbox(
        &c,
        "udpsrv",
        Some(bindings(&[("5300/udp", "", "5353"), ("80/tcp", "", "")])),
    );
    connect(&c, "dns", "udpsrv").unwrap();
    serve_udp(&srv.sandbox_key, 5300);
    serve_tcp(&srv.sandbox_key, 80);
    let reply = udp_roundtrip(Some(&remote.netns), "192.0.2.1:5353", "hello").unwrap();
    assert_eq!(reply, format!("peer={} hello", remote.ip));
    let view = runtime().block_on(c.sandbox("udpsrv")).unwrap();
    let random: u16 = view.ports["80/tcp"][0].host_port.parse().unwrap();
    assert!(
        random >= 1024,
        "a random port from the ephemeral range: {random}"
    );
    let got = tcp_get(Some(&remote.netns), &format!("192.0.2.1:{random}")).unwrap();
    assert!(got.starts_with("peer="), "{got}");
}

#[test]
fn a_port_conflict_fails_with_dockers_message_and_leaves_nothing_behind() {
    let host = TestHost::enter();
    let netd = Netd::start(&host);
    let c = netd.client();
    network(&c, "web", &[], false, None);
    sandbox(&c, "first", Some(bindings(&[("80/tcp", "", "8080")])));
    connect(&c, "web", "first").unwrap();
    sandbox(&c, "second", Some(bindings(&[("80/tcp", "", "8080")])));
    let ruleset = run("nft", &["-j", "list", "ruleset"]);
    let links = run("ip", &["-o", "link", "show", "type", "veth"]);
    let e = connect(&c, "web", "second").unwrap_err();
    assert!(
        e.to_string()
            .contains("Bind for 0.0.0.0:8080 failed: port is already allocated"),
        "{e}"
    );
    assert_eq!(
        run("nft", &["-j", "list", "ruleset"]),
        ruleset,
        "the ruleset is unchanged"
    );
    assert_eq!(
        run("ip", &["-o", "link", "show", "type", "veth"]),
        links,
        "no veth left"
    );
    let second = runtime().block_on(c.sandbox("second")).unwrap();
    assert!(
        second.networks.is_empty(),
        "the failed connect is not recorded"
    );
    // The first one still holds its port and works after the failure.
    let first = runtime().block_on(c.sandbox("first")).unwrap();
    serve_tcp(&first.sandbox_key, 80);
    assert!(
        tcp_get(None, "127.0.0.1:8080")
            .unwrap()
            .starts_with("peer=")
    );
}

#[test]
fn bad_port_specs_are_refused_and_create_nothing() {
    let host = TestHost::enter();
    let netd = Netd::start(&host);
    let c = netd.client();
    let before = runtime().block_on(c.sandboxes()).unwrap().len();
    for (key, ip, port, want) in [
        ("80/tcp", "", "99999", "invalid hostPort: 99999"),
        ("http/tcp", "", "8080", "invalid containerPort: http"),
        ("80/icmp", "", "8080", "invalid proto: icmp"),
        ("80/tcp", "not-an-ip", "8080", "not-an-ip"),
    ] {
        let e = runtime()
            .block_on(c.sandbox_create(&SandboxCreateRequest {
                name: "bad".into(),
                port_bindings: Some(bindings(&[(key, ip, port)])),
                ..Default::default()
            }))
            .unwrap_err();
        assert_eq!(e.status(), Some(400), "{key} {ip} {port}: {e}");
        assert!(e.to_string().contains(want), "{key} {ip} {port}: {e}");
    }
    assert_eq!(runtime().block_on(c.sandboxes()).unwrap().len(), before);
    assert_eq!(run("ls", &["/run/netd/netns"]).lines().count(), before);
}

#[test]
fn networks_are_isolated_from_each_other_but_reach_their_gateways() {
    let host = TestHost::enter();
    let netd = Netd::start(&host);
    let c = netd.client();
    for (name, v6) in [("red", "fd21::/64"), ("blue", "fd22::/64")] {
        let req = NetworkCreateRequest {
            name: name.into(),
            enable_ipv6: Some(true),
            ipam: Some(netd_api::types::Ipam {
                config: Some(vec![IpamConfig {
                    subnet: Some(v6.into()),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        };
        runtime().block_on(c.network_create(&req)).unwrap();
    }
    let r = sandbox(&c, "r1", None);
    let b = sandbox(&c, "b1", None);
    connect(&c, "red", "r1").unwrap();
    connect(&c, "blue", "b1").unwrap();
    let (rip, bip) = (ip_of(&c, "r1", "red"), ip_of(&c, "b1", "blue"));
    let rgw = runtime().block_on(c.sandbox("r1")).unwrap().networks["red"]
        .gateway
        .clone();
    assert!(ping(&r.sandbox_key, &rgw), "the gateway answers");
    assert!(!ping(&r.sandbox_key, &bip), "red cannot reach blue");
    assert!(!ping(&b.sandbox_key, &rip), "blue cannot reach red");
    let v6 = |sb: &str, net: &str| {
        runtime().block_on(c.sandbox(sb)).unwrap().networks[net]
            .global_ipv6_address
            .clone()
    };
    let (rip6, bip6) = (v6("r1", "red"), v6("b1", "blue"));
    assert!(!rip6.is_empty() && !bip6.is_empty());
    assert!(
        !ping(&r.sandbox_key, &bip6),
        "red cannot reach blue over IPv6"
    );
    assert!(
        !ping(&b.sandbox_key, &rip6),
        "blue cannot reach red over IPv6"
    );
    // A second container on red still reaches the first.
    let r2 = sandbox(&c, "r2", None);
    connect(&c, "red", "r2").unwrap();
    assert!(ping(&r2.sandbox_key, &rip));
    assert!(ping(&r2.sandbox_key, &rip6), "and over IPv6");
}

#[test]
fn internal_networks_have_no_way_out_and_no_way_in() {
    let host = TestHost::enter();
    let netd = Netd::start(&host);
    let c = netd.client();
    let remote = Remote::new();
    serve_tcp(&remote.netns, 9000);
    network(&c, "vault", &[], true, Some("10.77.0.0/24"));
    network(&c, "open", &[], false, Some("10.78.0.0/24"));
    let v1 = sandbox(&c, "v1", None);
    let v2 = sandbox(&c, "v2", None);
    let o1 = sandbox(&c, "o1", None);
    connect(&c, "vault", "v1").unwrap();
    connect(&c, "vault", "v2").unwrap();
    connect(&c, "open", "o1").unwrap();
    serve_tcp(&v1.sandbox_key, 80);
    // The open network reaches the LAN (masqueraded), the internal one does not.
    let got = tcp_get(Some(&o1.sandbox_key), "192.0.2.2:9000").unwrap();
    assert_eq!(got, "peer=192.0.2.1", "outgoing traffic is masqueraded");
    assert!(tcp_get(Some(&v1.sandbox_key), "192.0.2.2:9000").is_err());
    // Nothing comes in, even routed straight at the container.
    remote.route_via_host("10.77.0.0/24");
    assert!(tcp_get(Some(&remote.netns), "10.77.0.2:80").is_err());
    // Inside the internal network, containers talk.
    assert!(
        tcp_get(Some(&v2.sandbox_key), "10.77.0.2:80")
            .unwrap()
            .starts_with("peer=")
    );
}

#[test]
fn icc_off_blocks_containers_of_one_network_but_not_their_gateway() {
    let host = TestHost::enter();
    let netd = Netd::start(&host);
    let c = netd.client();
    network(
        &c,
        "quiet",
        &[("com.docker.network.bridge.enable_icc", "false")],
        false,
        None,
    );
    let a = sandbox(&c, "qa", None);
    sandbox(&c, "qb", None);
    connect(&c, "quiet", "qa").unwrap();
    connect(&c, "quiet", "qb").unwrap();
    let view = runtime().block_on(c.sandbox("qb")).unwrap();
    let (bip, gw) = (
        view.networks["quiet"].ip_address.clone(),
        view.networks["quiet"].gateway.clone(),
    );
    assert!(ping(&a.sandbox_key, &gw), "the gateway answers");
    assert!(
        !ping(&a.sandbox_key, &bip),
        "containers of an ICC-off network cannot talk"
    );
    // And with ICC on (the default) they can.
    network(&c, "chatty", &[], false, None);
    connect(&c, "chatty", "qa").unwrap();
    connect(&c, "chatty", "qb").unwrap();
    assert!(ping(&a.sandbox_key, &ip_of(&c, "qb", "chatty")));
}

#[test]
fn unpublished_ports_are_not_reachable_by_routing_to_the_container() {
    let host = TestHost::enter();
    let netd = Netd::start(&host);
    let c = netd.client();
    let remote = Remote::new();
    network(&c, "shop", &[], false, Some("10.79.0.0/24"));
    let s = sandbox(&c, "shop1", Some(bindings(&[("80/tcp", "", "8080")])));
    connect(&c, "shop", "shop1").unwrap();
    serve_tcp(&s.sandbox_key, 80);
    serve_tcp(&s.sandbox_key, 81);
    remote.route_via_host("10.79.0.0/24");
    assert!(
        tcp_get(Some(&remote.netns), "10.79.0.2:81").is_err(),
        "unpublished port"
    );
    assert!(
        tcp_get(Some(&remote.netns), "10.79.0.2:80").is_err(),
        "container address, not the published one"
    );
    assert!(
        tcp_get(Some(&remote.netns), "192.0.2.1:8080")
            .unwrap()
            .starts_with("peer=")
    );
    // A port published on 127.0.0.1 answers the host only.
    let l = sandbox(
        &c,
        "local1",
        Some(bindings(&[("80/tcp", "127.0.0.1", "8081")])),
    );
    connect(&c, "shop", "local1").unwrap();
    serve_tcp(&l.sandbox_key, 80);
    assert!(
        tcp_get(None, "127.0.0.1:8081")
            .unwrap()
            .starts_with("peer=")
    );
    assert!(tcp_get(Some(&remote.netns), "192.0.2.1:8081").is_err());
}

#[test]
fn flushed_tables_are_restored_and_ports_work_again() {
    let host = TestHost::enter();
    // The host's client must go through the tables to see them go.
    let netd = Netd::start_dnat_only(&host);
    let c = netd.client();
    network(&c, "web", &[], false, None);
    let s = sandbox(&c, "keep", Some(bindings(&[("80/tcp", "", "8080")])));
    connect(&c, "web", "keep").unwrap();
    serve_tcp(&s.sandbox_key, 80);
    assert!(tcp_get(None, "127.0.0.1:8080").is_ok());
    let tables = run("nft", &["-j", "list", "table", "inet", "netd"]);

    // Someone flushes the whole ruleset: netd notices and restores it.
    run("nft", &["flush", "ruleset"]);
    assert!(
        tcp_get(None, "127.0.0.1:8080").is_err(),
        "the port is gone with the rules"
    );
    assert!(
        tests::netd::eventually(6, || tcp_get(None, "127.0.0.1:8080").is_ok()),
        "netd restored its tables"
    );
    assert_eq!(
        run("nft", &["-j", "list", "table", "inet", "netd"]).len(),
        tables.len()
    );

    // Told by SIGHUP.
    run("nft", &["delete", "table", "bridge", "netd"]);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(netd.pid()).unwrap()),
        nix::sys::signal::Signal::SIGHUP,
    )
    .unwrap();
    assert!(tests::netd::eventually(2, || tests::output(
        "nft",
        &["list", "table", "bridge", "netd"]
    )
    .status
    .success()));

    // Told through the API.
    run("nft", &["delete", "table", "inet", "netd"]);
    let (status, _) = runtime()
        .block_on(c.raw(hyper::Method::POST, "/firewall/restore", None))
        .unwrap();
    assert_eq!(status.as_u16(), 204);
    assert!(tcp_get(None, "127.0.0.1:8080").is_ok());
}

#[test]
fn ip_forward_false_refuses_to_start_while_forwarding_is_off() {
    let host = TestHost::enter();
    let dir = host.dir("fwd");
    std::fs::write(dir.join("netd.toml"), "ip-forward = false\n").unwrap();
    std::fs::write("/proc/sys/net/ipv4/ip_forward", "0").unwrap();
    let out = std::process::Command::new(tests::netd::bin("netd"))
        .args(["--data-root", dir.join("data").to_str().unwrap()])
        .args(["--config-file", dir.join("netd.toml").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("IPv4 forwarding is off") && err.contains("ip-forward = false"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward")
            .unwrap()
            .trim(),
        "0",
        "untouched"
    );
}

#[test]
fn host_port_ranges_take_the_first_free_port_and_publish_all_uses_random_ports() {
    let host = TestHost::enter();
    let netd = Netd::start(&host);
    let c = netd.client();
    network(&c, "web", &[], false, None);
    let _held = std::net::TcpListener::bind("0.0.0.0:8000").unwrap();
    sandbox(&c, "ranged", Some(bindings(&[("80/tcp", "", "8000-8002")])));
    connect(&c, "web", "ranged").unwrap();
    let view = runtime().block_on(c.sandbox("ranged")).unwrap();
    assert_eq!(
        view.ports["80/tcp"][0].host_port, "8001",
        "8000 is taken by another program"
    );

    let exposed: netd_api::portspec::ExposedPorts =
        serde_json::from_str(r#"{"80/tcp":{},"53/udp":{}}"#).unwrap();
    let all = runtime()
        .block_on(c.sandbox_create(&SandboxCreateRequest {
            name: "everything".into(),
            exposed_ports: Some(exposed),
            publish_all_ports: true,
            ..Default::default()
        }))
        .unwrap();
    connect(&c, "web", "everything").unwrap();
    let view = runtime().block_on(c.sandbox(&all.id)).unwrap();
    for key in ["80/tcp", "53/udp"] {
        let port: u16 = view.ports[key][0].host_port.parse().unwrap();
        assert!(port > 0, "{key} got a random host port");
    }
}
