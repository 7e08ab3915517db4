//! The bridge driver on a real kernel, inside a throwaway host: sandboxes
//! joined to a bridge reach each other over IPv4 and IPv6, and leaving takes
//! the interface away.

#![allow(
    clippy::too_many_lines,
    reason = "a test reads as one scenario, top to bottom"
)]
#![allow(clippy::unwrap_used)]

use std::fs::File;
use std::path::Path;

use drivers::bridge::{self, BridgeConfig, EndpointConfig};
use drivers::{Links, netns};
use tests::{TestHost, output};

/// A sandbox namespace with loopback up.
async fn sandbox(dir: &Path, name: &str) -> (File, Links) {
    let rt = tokio::runtime::Handle::current();
    let (file, links) = netns::create(&dir.join(name), || {
        let _g = rt.enter();
        Links::here(Some(name.into()))
    })
    .unwrap();
    let links = links.unwrap();
    let lo = links.require("lo").await.unwrap();
    links.set_up(lo.index, "lo").await.unwrap();
    (file, links)
}

fn endpoint(n: u8) -> EndpointConfig {
    EndpointConfig {
        host_ifname: format!("vethtest{n}"),
        ifname: "eth0".into(),
        mac: bridge::random_mac([n; 6]),
        mtu: Some(1450),
        addresses: vec![
            format!("10.88.0.{n}/24").parse().unwrap(),
            format!("fd88::{n}/64").parse().unwrap(),
        ],
    }
}

fn ping_from(ns: &Path, target: &str) -> bool {
    let ns_arg = format!("--net={}", ns.display());
    output("nsenter", &[&ns_arg, "ping", "-c1", "-W2", target])
        .status
        .success()
}

#[tokio::test]
async fn sandboxes_on_a_bridge_ping_each_other_until_one_leaves() {
    let host = TestHost::enter();
    let dir = host.dir("netns");
    let links = Links::here(None).unwrap();
    let net = BridgeConfig {
        name: "br-test".into(),
        mtu: Some(1450),
        gateways: vec![
            "10.88.0.1/24".parse().unwrap(),
            "fd88::1/64".parse().unwrap(),
        ],
    };
    bridge::create_network(&links, &net, None).await.unwrap();
    // Creating it again adopts the existing bridge, but never another kind of link.
    bridge::create_network(&links, &net, None).await.unwrap();
    let not_bridge = BridgeConfig {
        name: "lo".into(),
        ..net.clone()
    };
    let err = bridge::create_network(&links, &not_bridge, None)
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "existing interface lo is not a bridge");

    let (a_ns, a) = sandbox(&dir, "a").await;
    let (b_ns, b) = sandbox(&dir, "b").await;
    bridge::join(&links, "br-test", &a_ns, &a, &endpoint(2))
        .await
        .unwrap();
    bridge::join(&links, "br-test", &b_ns, &b, &endpoint(3))
        .await
        .unwrap();
    bridge::set_default_routes(&a, "eth0", &["10.88.0.1".parse().unwrap()])
        .await
        .unwrap();

    let a_path = dir.join("a");
    assert!(
        ping_from(&a_path, "10.88.0.3"),
        "IPv4 ping between sandboxes"
    );
    assert!(ping_from(&a_path, "fd88::3"), "IPv6 ping between sandboxes");
    assert!(ping_from(&a_path, "10.88.0.1"), "gateway answers");
    let eth0 = a.require("eth0").await.unwrap();
    let mut addrs = a.addresses(eth0.index).await.unwrap();
    addrs.retain(|n| !n.addr().to_string().starts_with("fe80"));
    addrs.sort();
    assert_eq!(
        addrs,
        vec![
            "10.88.0.2/24".parse().unwrap(),
            "fd88::2/64".parse().unwrap()
        ]
    );
    let master = links.require("vethtest2").await.unwrap().master;
    assert_eq!(master, Some(links.require("br-test").await.unwrap().index));

    bridge::leave(&links, "vethtest3").await.unwrap();
    assert!(
        b.get("eth0").await.unwrap().is_none(),
        "leave removes the interface"
    );
    assert!(
        !ping_from(&a_path, "10.88.0.3"),
        "a left sandbox is unreachable"
    );
    // Leaving twice is harmless (clean-up after a crash repeats it).
    bridge::leave(&links, "vethtest3").await.unwrap();

    bridge::delete_network(&links, "br-test").await.unwrap();
    assert!(links.get("br-test").await.unwrap().is_none());
    drop((a, b, a_ns, b_ns));
    netns::remove(&a_path).unwrap();
    assert!(!a_path.exists());
}

#[tokio::test]
async fn failed_join_leaves_no_veth_behind() {
    let host = TestHost::enter();
    let dir = host.dir("netns");
    let links = Links::here(None).unwrap();
    let net = BridgeConfig {
        name: "br-fail".into(),
        mtu: None,
        gateways: vec!["10.89.0.1/24".parse().unwrap()],
    };
    bridge::create_network(&links, &net, None).await.unwrap();
    let (ns, sb) = sandbox(&dir, "c").await;
    bridge::join(&links, "br-fail", &ns, &sb, &endpoint(4))
        .await
        .unwrap();
    // A second endpoint named eth0 in the same sandbox must fail cleanly.
    let mut clash = endpoint(5);
    clash.ifname = "eth0".into();
    let err = bridge::join(&links, "br-fail", &ns, &sb, &clash)
        .await
        .unwrap_err();
    assert!(err.is_exists(), "{err}");
    assert!(links.get("vethtest5").await.unwrap().is_none());
    // Joining a bridge that does not exist fails before creating anything.
    let err = bridge::join(&links, "br-none", &ns, &sb, &endpoint(6))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(links.get("vethtest6").await.unwrap().is_none());
}

#[test]
fn netns_files_are_bound_and_removed() {
    let host = TestHost::enter();
    let path = host.dir("netns").join("x");
    let (file, inode_inside) = netns::create(&path, || {
        std::fs::metadata("/proc/thread-self/ns/net")
            .map(|m| std::os::unix::fs::MetadataExt::ino(&m))
    })
    .unwrap();
    assert!(netns::is_bound(&path));
    let bound = std::os::unix::fs::MetadataExt::ino(&file.metadata().unwrap());
    assert_eq!(
        bound,
        inode_inside.unwrap(),
        "the file is the namespace the thread made"
    );
    // Creating over an existing file is refused and leaves it alone.
    assert!(netns::create(&path, || ()).is_err());
    assert!(netns::is_bound(&path));
    netns::remove(&path).unwrap();
    assert!(!path.exists());
    netns::remove(&path).unwrap();
}

mod firewall {
    use drivers::firewall::{Change, NetworkRules, Nft, Protocol, PublishedPort};
    use tests::{TestHost, run};

    fn net(name: &str) -> NetworkRules {
        NetworkRules {
            bridge: name.into(),
            subnets: vec![
                "10.90.0.0/24".parse().unwrap(),
                "fd90::/64".parse().unwrap(),
            ],
            internal: false,
            masquerade: true,
        }
    }

    fn port(host_port: u16) -> PublishedPort {
        PublishedPort {
            host_ip: None,
            host_port,
            protocol: Protocol::Tcp,
            container_ip: "10.90.0.2".parse().unwrap(),
            container_port: 80,
        }
    }

    fn ruleset_loads_and_changes_with(nft: &Nft) {
        nft.apply(Change::replace_all(
            &[net("br-a")],
            &[port(8080)],
            &["vethx".into()],
        ))
        .unwrap();
        let listed = run("nft", &["list", "table", "inet", "netd"]);
        assert!(listed.contains("tcp . 8080 : 10.90.0.2"), "{listed}");
        assert!(listed.contains("tcp . 8080 : 80"), "{listed}");
        assert!(listed.contains("10.90.0.0/24"), "{listed}");
        let mut c = Change::new();
        c.add_network(&net("br-b"));
        c.add_port(&port(8081));
        nft.apply(c).unwrap();
        let listed = run("nft", &["list", "table", "inet", "netd"]);
        assert!(
            listed.contains("br-b") && listed.contains("8081"),
            "{listed}"
        );
        let mut c = Change::new();
        c.remove_port(&port(8081), true);
        nft.apply(c).unwrap();
        let listed = run("nft", &["list", "table", "inet", "netd"]);
        assert!(!listed.contains("8081 :"), "{listed}");
        // A bad batch (deleting what is not there) changes nothing.
        let before = run("nft", &["list", "ruleset"]);
        let mut c = Change::new();
        c.add_port(&port(9999));
        c.remove_port(&port(7777), false);
        assert!(nft.apply(c).is_err());
        assert_eq!(run("nft", &["list", "ruleset"]), before);
        assert!(nft.table_exists());
        // Replacing is atomic and idempotent.
        nft.apply(Change::replace_all(&[], &[], &[])).unwrap();
        assert!(!run("nft", &["list", "table", "inet", "netd"]).contains("br-a"));
        assert!(run("nft", &["list", "table", "bridge", "netd"]).contains("noicc_ports"));
    }

    #[test]
    fn ruleset_loads_and_changes_in_process() {
        let _host = TestHost::enter();
        let nft = Nft::new();
        assert!(
            nft.in_process(),
            "libnftables.so.1 is installed with nftables"
        );
        ruleset_loads_and_changes_with(&nft);
    }

    #[test]
    fn ruleset_loads_and_changes_through_the_nft_command() {
        let _host = TestHost::enter();
        ruleset_loads_and_changes_with(&Nft::command_only());
    }
}

/// Connects to `addr` from this thread's namespace and cgroup; the server's
/// address as getpeername() gives it, and as the kernel's socket table has
/// it.
fn connect_seen(addr: &str) -> std::io::Result<(String, String)> {
    let s = std::net::TcpStream::connect(addr)?;
    let local = s.local_addr()?.to_string();
    let table = tests::run("ss", &["-Htn", "src", &local]);
    let kernel = table
        .split_whitespace()
        .nth(4)
        .unwrap_or_default()
        .to_owned();
    Ok((s.peer_addr()?.to_string(), kernel))
}

/// A TCP port published on `host_ip` (every address: `None`) and
/// `host_port`, to the server listening at `to`.
fn published(
    host_ip: Option<&str>,
    host_port: u16,
    to: std::net::SocketAddr,
) -> drivers::firewall::PublishedPort {
    drivers::firewall::PublishedPort {
        host_ip: host_ip.map(|ip| ip.parse().unwrap()),
        host_port,
        protocol: drivers::firewall::Protocol::Tcp,
        container_ip: to.ip(),
        container_port: to.port(),
    }
}

/// Whether `cond` holds within 5 s, polled without blocking the runtime
/// (the address watcher runs on it).
async fn eventually(mut cond: impl FnMut() -> bool) -> bool {
    for _ in 0..50 {
        if cond() {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn connect_nat_translates_published_ports_until_it_is_detached() {
    use drivers::connect_nat::{ConnectNat, locals};
    use drivers::firewall::PortOp;
    let _host = TestHost::enter();
    let cgroup = std::env::var("NETD_CONNECT_NAT_CGROUP").unwrap();
    let nat = ConnectNat::attach(Path::new(&cgroup)).unwrap();
    locals::watch(nat.clone()).await.unwrap();
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let real = server.local_addr().unwrap();
    let port = |host_ip: Option<&str>, host_port: u16| published(host_ip, host_port, real);
    nat.apply(
        false,
        &[
            PortOp::Add(port(None, 7001)),
            PortOp::Add(port(Some("127.0.0.2"), 7002)),
        ],
    )
    .unwrap();
    // Nothing listens on 7001 or 7002: only the translation can answer.
    let (seen, kernel) = connect_seen("127.0.0.1:7001").unwrap();
    assert_eq!(
        (seen.as_str(), kernel),
        ("127.0.0.1:7001", real.to_string())
    );
    assert!(connect_seen("127.0.0.2:7002").is_ok());
    assert!(
        connect_seen("127.0.0.1:7002").is_err(),
        "7002 is on 127.0.0.2 only"
    );

    // A full replacement keeps exactly what it names.
    nat.apply(true, &[PortOp::Add(port(Some("127.0.0.2"), 7002))])
        .unwrap();
    assert!(connect_seen("127.0.0.1:7001").is_err());
    assert!(connect_seen("127.0.0.2:7002").is_ok());
    nat.apply(false, &[PortOp::Remove(port(Some("127.0.0.2"), 7002))])
        .unwrap();
    assert!(connect_seen("127.0.0.2:7002").is_err());
    assert!(nat.is_empty());

    // IPv6: ::1 and the host's own addresses, and a v4-mapped destination
    // is left to IPv4's DNAT.
    let server6 = std::net::TcpListener::bind("[::1]:0").unwrap();
    let real6 = server6.local_addr().unwrap();
    let port6 = |host_ip: Option<&str>, host_port: u16| published(host_ip, host_port, real6);
    nat.apply(false, &[PortOp::Add(port6(None, 7003))]).unwrap();
    let (seen, kernel) = connect_seen("[::1]:7003").unwrap();
    assert_eq!((seen.as_str(), kernel), ("[::1]:7003", real6.to_string()));
    tests::run("ip", &["addr", "add", "2001:db8::7/128", "dev", "lo"]);
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(eventually(|| connect_seen("[2001:db8::7]:7003").is_ok()).await);
    tests::run("ip", &["addr", "del", "2001:db8::7/128", "dev", "lo"]);
    assert!(eventually(|| connect_seen("[2001:db8::7]:7003").is_err()).await);
    assert!(connect_seen("[::ffff:127.0.0.1]:7003").is_err());
    nat.apply(false, &[PortOp::Remove(port6(None, 7003))])
        .unwrap();

    // Detached: the same mapping no longer translates.
    nat.apply(false, &[PortOp::Add(port(None, 7001))]).unwrap();
    assert!(connect_seen("127.0.0.1:7001").is_ok());
    assert!(nat.is_attached());
    nat.detach();
    assert!(!nat.is_attached());
    assert!(connect_seen("127.0.0.1:7001").is_err());
}

#[test]
fn a_map_takes_keys_and_values_of_its_own_sizes_and_refuses_others() {
    use drivers::connect_nat::sys::{BpfError, Map, MapType, Part};
    let _host = TestHost::enter();
    // One entry at most, so the kernel's answers show which key it read.
    let map = Map::create(MapType::HashNoPrealloc, "netd_test", 8, 4, 1).unwrap();
    assert_eq!((map.key_size(), map.value_size()), (8, 4));
    map.update(&[1; 8], &[0; 4]).unwrap();
    assert_eq!(
        map.update(&[2; 8], &[0; 4]).unwrap_err().raw_os_error(),
        Some(libc::E2BIG),
        "a second key does not fit"
    );
    map.update(&[1; 8], &[9; 4]).unwrap();
    // Buffers of other lengths never reach the kernel.
    let length = |r: Result<(), BpfError>| match r {
        Err(BpfError::Length { part, want, got }) => Some((part, want, got)),
        _ => None,
    };
    assert_eq!(
        length(map.update(&[1; 7], &[0; 4])),
        Some((Part::Key, 8, 7))
    );
    assert_eq!(
        length(map.update(&[1; 8], &[0; 5])),
        Some((Part::Value, 4, 5))
    );
    assert_eq!(length(map.delete(&[1; 9])), Some((Part::Key, 8, 9)));
    // Deleting frees the entry; deleting what is not there is no error.
    map.delete(&[1; 8]).unwrap();
    map.delete(&[1; 8]).unwrap();
    map.update(&[2; 8], &[0; 4]).unwrap();
}

#[test]
fn a_refused_program_carries_the_end_of_the_verifiers_log() {
    use drivers::connect_nat::program::Insn;
    use drivers::connect_nat::sys::{AttachType, BpfError, prog_load};
    let _host = TestHost::enter();
    // `r0 = 0` and no exit: the verifier refuses it.
    let no_exit = [Insn {
        code: 0xb7,
        regs: 0,
        off: 0,
        imm: 0,
    }];
    let err = prog_load("netd_test", AttachType::Inet4Connect, &no_exit).unwrap_err();
    let BpfError::Verifier { source, log } = &err else {
        panic!("not the verifier's refusal: {err}");
    };
    assert_eq!(source.raw_os_error(), Some(libc::EINVAL), "{err}");
    assert!(log.contains("exit"), "{log}");
}
