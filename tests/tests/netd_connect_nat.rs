//! Connect-time translation of published ports for the host's own clients,
//! on the real kernel: the test host gives netd a cgroup of its own
//! (`NETD_CONNECT_NAT_CGROUP`), every process of the test is in it, and a
//! TCP connection from the host to a published port is made straight to
//! the container (the kernel's socket table shows the container's address),
//! while the application still sees the published address. What the
//! programs must leave alone is left alone: other addresses (the host's
//! own are followed as they come and go), ports
//! published on one address, the containers' own sockets, and ports once
//! unpublished. netd killed and started again attaches again.

#![allow(
    clippy::too_many_lines,
    reason = "a test reads as one scenario, top to bottom"
)]
#![allow(clippy::unwrap_used)]

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use netd_api::client::Client;
use netd_api::portspec::PortBindings;
use netd_api::types::{NetworkConnectRequest, NetworkCreateRequest, SandboxCreateRequest};
use tests::netd::{Netd, bindings, eventually, runtime};
use tests::traffic::{Remote, in_ns, serve_tcp, tcp_get};
use tests::{TestHost, run};

/// Creates network `web` and sandbox `name` on it with `ports`; returns
/// the sandbox's namespace path and address.
fn published(c: &Client, name: &str, ports: PortBindings) -> (String, String) {
    let rt = runtime();
    if rt.block_on(c.network("web")).is_err() {
        rt.block_on(c.network_create(&NetworkCreateRequest {
            name: "web".into(),
            ..Default::default()
        }))
        .unwrap();
    }
    let sb = rt
        .block_on(c.sandbox_create(&SandboxCreateRequest {
            name: name.into(),
            port_bindings: Some(ports),
            ..Default::default()
        }))
        .unwrap();
    rt.block_on(c.network_connect(
        "web",
        &NetworkConnectRequest {
            container: name.into(),
            endpoint_config: None,
        },
    ))
    .unwrap();
    let ip = rt.block_on(c.sandbox(name)).unwrap().networks["web"]
        .ip_address
        .clone();
    (sb.sandbox_key, ip)
}

/// Connects from the host to `addr` and returns what the application sees
/// as its peer and what the kernel's socket table says the connection's
/// destination is.
fn connect(addr: &str) -> Result<(SocketAddr, String), String> {
    let addr: SocketAddr = addr.parse().unwrap();
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(|e| e.to_string())?;
    let local = s.local_addr().unwrap();
    let seen = s.peer_addr().unwrap();
    let table = run("ss", &["-Htn", "src", &local.to_string()]);
    let kernel = table
        .split_whitespace()
        .nth(4)
        .unwrap_or_else(|| panic!("no socket from {local} in: {table}"))
        .to_owned();
    Ok((seen, kernel))
}

/// A new IPv4 TCP socket, not yet bound or connected.
fn tcp_socket() -> std::os::fd::OwnedFd {
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, socket};
    socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .unwrap()
}

/// Connects from the host, bound to `local` first, to `addr`; returns what
/// the server said and the connection's destination in the kernel's table.
fn connect_bound(local: &str, addr: &str) -> Result<(String, String), String> {
    use nix::sys::socket::{SockaddrIn, bind, connect};
    use std::io::Read;
    let fd = tcp_socket();
    let local: std::net::SocketAddrV4 = format!("{local}:0").parse().unwrap();
    bind(
        std::os::fd::AsRawFd::as_raw_fd(&fd),
        &SockaddrIn::from(local),
    )
    .unwrap();
    let to: std::net::SocketAddrV4 = addr.parse().unwrap();
    connect(std::os::fd::AsRawFd::as_raw_fd(&fd), &SockaddrIn::from(to))
        .map_err(|e| e.to_string())?;
    let mut s = TcpStream::from(fd);
    let from = s.local_addr().unwrap();
    let table = run("ss", &["-Htn", "src", &from.to_string()]);
    let kernel = table
        .split_whitespace()
        .nth(4)
        .unwrap_or_default()
        .to_owned();
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut said = String::new();
    s.read_to_string(&mut said).map_err(|e| e.to_string())?;
    Ok((said.trim().to_owned(), kernel))
}

/// Connects one socket to `first` (which must refuse), then to `then`;
/// returns what getpeername() answers.
fn reconnect(first: &str, then: SocketAddr) -> SocketAddr {
    use nix::sys::socket::{SockaddrIn, connect};
    use std::os::fd::AsRawFd;
    let fd = tcp_socket();
    let first: std::net::SocketAddrV4 = first.parse().unwrap();
    assert_eq!(
        connect(fd.as_raw_fd(), &SockaddrIn::from(first)),
        Err(nix::errno::Errno::ECONNREFUSED)
    );
    let SocketAddr::V4(then) = then else {
        panic!("IPv4 only")
    };
    connect(fd.as_raw_fd(), &SockaddrIn::from(then)).unwrap();
    TcpStream::from(fd).peer_addr().unwrap()
}

#[test]
fn host_clients_reach_published_ports_straight_and_see_the_published_address() {
    let host = TestHost::enter();
    let cg = std::env::var("NETD_CONNECT_NAT_CGROUP").unwrap_or_default();
    assert!(
        cg.starts_with('/'),
        "the test host gives netd a cgroup (NETD_CONNECT_NAT_CGROUP={cg:?})"
    );
    let mut netd = Netd::start(&host);
    let c = netd.client();
    let _remote = Remote::new();
    let (srv, ip) = published(
        &c,
        "srv",
        bindings(&[
            ("80/tcp", "", "8080"),
            ("81/tcp", "127.0.0.1", "9090"),
            ("82/tcp", "", "7070"),
        ]),
    );
    serve_tcp(&srv, 80);
    serve_tcp(&srv, 81);

    // On the host's LAN address and on 127.0.0.1: the connection goes to
    // the container itself; getpeername() answers what was asked for.
    for asked in ["192.0.2.1:8080", "127.0.0.1:8080", "127.0.0.1:9090"] {
        let (seen, kernel) = connect(asked).unwrap();
        let want = if asked.ends_with("9090") { 81 } else { 80 };
        assert_eq!(seen.to_string(), asked);
        assert_eq!(kernel, format!("{ip}:{want}"), "connecting to {asked}");
        assert!(tcp_get(None, asked).unwrap().starts_with("peer="));
    }
    // An address the host gains is one of its own at once; one it loses
    // is no longer (no route: the connect fails instead of reaching the
    // container).
    run("ip", &["addr", "add", "198.51.100.7/32", "dev", "lo"]);
    let direct = format!("{ip}:80");
    assert!(eventually(5, || connect("198.51.100.7:8080")
        .is_ok_and(|(_, kernel)| kernel == direct)));
    run("ip", &["addr", "del", "198.51.100.7/32", "dev", "lo"]);
    assert!(eventually(5, || connect("198.51.100.7:8080").is_err()));
    // A client bound to a loopback address keeps to the DNAT path (whose
    // masquerade gives the container an address it can answer) and is
    // answered.
    let (peer, kernel) = connect_bound("127.0.0.1", "127.0.0.1:8080").unwrap();
    assert!(peer.starts_with("peer="), "{peer}");
    assert_eq!(kernel, "127.0.0.1:8080");
    // A translated connect that fails (nothing listens on port 82), then
    // the same socket connected elsewhere: getpeername() tells the truth.
    let elsewhere = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let retried = reconnect("192.0.2.1:7070", elsewhere.local_addr().unwrap());
    assert_eq!(retried, elsewhere.local_addr().unwrap());
    // A port published on 127.0.0.1 only is not on the other addresses.
    assert!(connect("192.0.2.1:9090").is_err());
    // Not the host's address: left alone (the neighbour refuses).
    assert!(connect("192.0.2.2:8080").is_err());
    // A container's own 127.0.0.1 is its own, not the host's.
    let inside = srv.clone();
    let own = in_ns(Some(&inside), || {
        TcpStream::connect_timeout(&"127.0.0.1:8080".parse().unwrap(), Duration::from_secs(2))
            .map(drop)
            .map_err(|e| e.kind())
    });
    assert_eq!(own, Err(std::io::ErrorKind::ConnectionRefused));

    // netd killed and started again: attached again, same translation.
    netd.kill();
    netd.start_again();
    let (_, kernel) = connect("192.0.2.1:8080").unwrap();
    assert_eq!(kernel, format!("{ip}:80"));

    // Unpublished: nothing answers on the host port any more.
    runtime().block_on(c.sandbox_remove("srv")).unwrap();
    let gone = connect("192.0.2.1:8080");
    assert!(gone.is_err(), "still answered after unpublishing: {gone:?}");
    let gone = connect("127.0.0.1:8080");
    assert!(gone.is_err(), "still answered after unpublishing: {gone:?}");
}

#[test]
fn ipv6_host_clients_reach_published_ports_even_on_the_loopback() {
    let host = TestHost::enter();
    let netd = Netd::start(&host);
    let c = netd.client();
    let rt = runtime();
    rt.block_on(c.network_create(&NetworkCreateRequest {
        name: "web6".into(),
        enable_ipv6: Some(true),
        ipam: Some(netd_api::types::Ipam {
            config: Some(vec![netd_api::types::IpamConfig {
                subnet: Some("fd23::/64".into()),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }))
    .unwrap();
    let sb = rt
        .block_on(c.sandbox_create(&SandboxCreateRequest {
            name: "srv6".into(),
            port_bindings: Some(bindings(&[("80/tcp", "", "8080")])),
            ..Default::default()
        }))
        .unwrap();
    rt.block_on(c.network_connect(
        "web6",
        &NetworkConnectRequest {
            container: "srv6".into(),
            endpoint_config: None,
        },
    ))
    .unwrap();
    let view = rt.block_on(c.sandbox("srv6")).unwrap();
    let (ip6, gw6) = (
        view.networks["web6"].global_ipv6_address.clone(),
        view.networks["web6"].ipv6_gateway.clone(),
    );
    serve_tcp(&sb.sandbox_key, 80);

    // ::1, which DNAT cannot carry off the host, and the host's own
    // address on the bridge: straight to the container.
    for asked in ["[::1]:8080".to_owned(), format!("[{gw6}]:8080")] {
        let (seen, kernel) = connect(&asked).unwrap();
        assert_eq!(seen.to_string(), asked);
        assert_eq!(kernel, format!("[{ip6}]:80"), "connecting to {asked}");
        assert!(tcp_get(None, &asked).unwrap().starts_with("peer="));
    }
    // A dual-stack socket to a v4-mapped address is IPv4 on the wire: it
    // keeps to the IPv4 port's DNAT, and is answered.
    let (_, kernel) = connect("[::ffff:127.0.0.1]:8080").unwrap();
    assert_eq!(kernel, "[::ffff:127.0.0.1]:8080");
    assert!(
        tcp_get(None, "[::ffff:127.0.0.1]:8080")
            .unwrap()
            .starts_with("peer=")
    );
}
