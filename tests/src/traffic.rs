//! Real traffic inside a test host: a "remote host" namespace wired to the
//! test host like a machine on its LAN, small TCP and UDP servers that say
//! who called them, and clients, each running in the namespace it belongs
//! to (on a thread that entered it).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsFd;
use std::time::Duration;

use nix::sched::CloneFlags;

use crate::run;

/// Runs `f` on a thread inside the network namespace bound at `netns`
/// (`None`: the test host's own) and returns its result.
pub fn in_ns<T: Send + 'static>(netns: Option<&str>, f: impl FnOnce() -> T + Send + 'static) -> T {
    let file = netns.map(|p| std::fs::File::open(p).unwrap_or_else(|e| panic!("opening {p}: {e}")));
    std::thread::spawn(move || {
        if let Some(f) = &file {
            nix::sched::setns(f.as_fd(), CloneFlags::CLONE_NEWNET).expect("entering the namespace");
        }
        f()
    })
    .join()
    .expect("the namespace thread does not panic")
}

/// A LAN neighbour of the test host: namespace `name` (at
/// `/run/netns/NAME`), linked to the host by a veth, `192.0.2.2/24` on its
/// side and `192.0.2.1/24` on the host's, with its default route through the
/// host.
#[derive(Debug)]
pub struct Remote {
    /// The namespace path.
    pub netns: String,
    /// The host's address as the remote sees it.
    pub host_ip: &'static str,
    /// The remote's own address.
    pub ip: &'static str,
}

impl Remote {
    /// Creates the remote host.
    pub fn new() -> Self {
        run("ip", &["netns", "add", "remote"]);
        run(
            "ip",
            &[
                "link", "add", "uplink0", "type", "veth", "peer", "name", "eth0", "netns", "remote",
            ],
        );
        run("ip", &["addr", "add", "192.0.2.1/24", "dev", "uplink0"]);
        run("ip", &["link", "set", "uplink0", "up"]);
        for cmd in [
            &["addr", "add", "192.0.2.2/24", "dev", "eth0"][..],
            &["link", "set", "eth0", "up"],
            &["link", "set", "lo", "up"],
            &["route", "add", "default", "via", "192.0.2.1"],
        ] {
            let mut args = vec!["-n", "remote"];
            args.extend_from_slice(cmd);
            run("ip", &args);
        }
        Self {
            netns: "/run/netns/remote".into(),
            host_ip: "192.0.2.1",
            ip: "192.0.2.2",
        }
    }

    /// Routes `subnet` through the test host, as a LAN neighbour who knows
    /// the container subnets would.
    pub fn route_via_host(&self, subnet: &str) {
        run(
            "ip",
            &["-n", "remote", "route", "add", subnet, "via", "192.0.2.1"],
        );
    }
}

impl Default for Remote {
    fn default() -> Self {
        Self::new()
    }
}

/// Starts a TCP server in `netns` on `port` that answers each connection
/// with `peer=<caller's address>` and closes it.
pub fn serve_tcp(netns: &str, port: u16) {
    let listener = in_ns(Some(netns), move || {
        TcpListener::bind(("::", port)).or_else(|_| TcpListener::bind(("0.0.0.0", port)))
    })
    .unwrap_or_else(|e| panic!("binding port {port} in {netns}: {e}"));
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let peer = conn
                .peer_addr()
                .map(|a| canonical(a).to_string())
                .unwrap_or_default();
            let _ = conn.write_all(format!("peer={peer}\n").as_bytes());
        }
    });
}

/// Starts a UDP server in `netns` on `port` that sends each datagram back
/// prefixed with `peer=<caller's address> `.
pub fn serve_udp(netns: &str, port: u16) {
    let sock = in_ns(Some(netns), move || UdpSocket::bind(("0.0.0.0", port)))
        .unwrap_or_else(|e| panic!("binding UDP port {port} in {netns}: {e}"));
    std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        while let Ok((n, from)) = sock.recv_from(&mut buf) {
            let mut reply = format!("peer={} ", canonical(from)).into_bytes();
            reply.extend_from_slice(&buf[..n]);
            let _ = sock.send_to(&reply, from);
        }
    });
}

fn canonical(a: SocketAddr) -> std::net::IpAddr {
    match a.ip() {
        std::net::IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or(std::net::IpAddr::V6(v6), std::net::IpAddr::V4),
        v4 => v4,
    }
}

/// Connects from `netns` (`None`: the test host) to `addr` and returns
/// what the server said, or the error.
pub fn tcp_get(netns: Option<&str>, addr: &str) -> Result<String, String> {
    let addr: SocketAddr = addr.parse().map_err(|e| format!("{addr}: {e}"))?;
    in_ns(netns, move || {
        let mut s =
            TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(Duration::from_secs(2)))
            .map_err(|e| e.to_string())?;
        let mut out = String::new();
        s.read_to_string(&mut out).map_err(|e| e.to_string())?;
        Ok(out.trim().to_owned())
    })
}

/// Sends `msg` from `netns` to `addr` over UDP and returns the reply.
pub fn udp_roundtrip(netns: Option<&str>, addr: &str, msg: &str) -> Result<String, String> {
    let addr: SocketAddr = addr.parse().map_err(|e| format!("{addr}: {e}"))?;
    let msg = msg.to_owned();
    in_ns(netns, move || {
        let bind = if addr.is_ipv6() {
            "[::]:0"
        } else {
            "0.0.0.0:0"
        };
        let s = UdpSocket::bind(bind).map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(Duration::from_secs(2)))
            .map_err(|e| e.to_string())?;
        s.send_to(msg.as_bytes(), addr).map_err(|e| e.to_string())?;
        let mut buf = [0u8; 1500];
        let (n, _) = s.recv_from(&mut buf).map_err(|e| e.to_string())?;
        Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
    })
}
