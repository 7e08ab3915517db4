//! Holding host ports while they are published.
//!
//! Published traffic is DNATed in the kernel and never reaches a socket, so
//! nothing would stop another program (or another container) from binding
//! the same port and silently losing its traffic. netd therefore binds a
//! socket on each published address and port, without listening, for as
//! long as the port is published: a second bind fails with "address in
//! use", as it would with Docker's proxy.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use crate::firewall::Protocol;

/// A bound, idle socket that holds one host port.
#[derive(Debug)]
pub struct Reservation {
    _fd: Option<OwnedFd>,
    /// The port held.
    pub port: u16,
}

fn sockaddr(addr: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain data; all-zero is a valid value.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::sa_family_t::try_from(libc::AF_INET).expect("AF_INET fits"),
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from(*a.ip()).to_be(),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is large and aligned enough for any
            // socket address, sockaddr_in included.
            unsafe {
                std::ptr::write(std::ptr::from_mut(&mut ss).cast::<libc::sockaddr_in>(), sin)
            };
            size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::sa_family_t::try_from(libc::AF_INET6).expect("AF_INET6 fits"),
                sin6_port: a.port().to_be(),
                sin6_flowinfo: 0,
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: 0,
            };
            // SAFETY: as above, for sockaddr_in6.
            unsafe {
                std::ptr::write(
                    std::ptr::from_mut(&mut ss).cast::<libc::sockaddr_in6>(),
                    sin6,
                )
            };
            size_of::<libc::sockaddr_in6>()
        }
    };
    (
        ss,
        libc::socklen_t::try_from(len).expect("socket address sizes fit"),
    )
}

fn local_port(fd: &OwnedFd) -> io::Result<u16> {
    // SAFETY: as in `sockaddr`.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = libc::socklen_t::try_from(size_of::<libc::sockaddr_storage>()).expect("fits");
    // SAFETY: fd is a live socket; ss and len describe a writable buffer.
    let rc =
        unsafe { libc::getsockname(fd.as_raw_fd(), std::ptr::from_mut(&mut ss).cast(), &mut len) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    let port = if i32::from(ss.ss_family) == libc::AF_INET {
        // SAFETY: the kernel wrote a sockaddr_in for an AF_INET socket.
        unsafe { std::ptr::read(std::ptr::from_ref(&ss).cast::<libc::sockaddr_in>()) }.sin_port
    } else {
        // SAFETY: the kernel wrote a sockaddr_in6 for an AF_INET6 socket.
        unsafe { std::ptr::read(std::ptr::from_ref(&ss).cast::<libc::sockaddr_in6>()) }.sin6_port
    };
    Ok(u16::from_be(port))
}

/// Binds `ip` (all addresses of `v6`'s family when `None`) and `port` (0
/// for one the kernel picks from its ephemeral range) for `protocol`.
///
/// SCTP is held only where the kernel supports it; without SCTP support
/// nothing can bind the port anyway.
pub fn reserve(
    ip: Option<IpAddr>,
    v6: bool,
    protocol: Protocol,
    port: u16,
) -> io::Result<Reservation> {
    let ip = ip.unwrap_or(if v6 {
        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    } else {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    });
    let domain = if ip.is_ipv6() {
        libc::AF_INET6
    } else {
        libc::AF_INET
    };
    let (ty, proto) = match protocol {
        Protocol::Tcp => (libc::SOCK_STREAM, libc::IPPROTO_TCP),
        Protocol::Udp => (libc::SOCK_DGRAM, libc::IPPROTO_UDP),
        Protocol::Sctp => (libc::SOCK_STREAM, libc::IPPROTO_SCTP),
    };
    // SAFETY: plain socket(2) call; the result is checked.
    let raw = unsafe { libc::socket(domain, ty | libc::SOCK_CLOEXEC, proto) };
    if raw < 0 {
        let e = io::Error::last_os_error();
        if protocol == Protocol::Sctp && port != 0 {
            return Ok(Reservation { _fd: None, port });
        }
        return Err(e);
    }
    // SAFETY: raw is a fresh descriptor this function owns.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    if ip.is_ipv6() {
        let one: libc::c_int = 1;
        // SAFETY: fd is a live IPv6 socket; the option value is a c_int.
        let rc = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::IPPROTO_IPV6,
                libc::IPV6_V6ONLY,
                std::ptr::from_ref(&one).cast(),
                libc::socklen_t::try_from(size_of::<libc::c_int>()).expect("fits"),
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    let (ss, len) = sockaddr(SocketAddr::new(ip, port));
    // SAFETY: fd is a live socket; ss/len describe a valid address.
    let rc = unsafe { libc::bind(fd.as_raw_fd(), std::ptr::from_ref(&ss).cast(), len) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    let port = local_port(&fd)?;
    Ok(Reservation {
        _fd: Some(fd),
        port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reserved_port_cannot_be_bound_twice() {
        let r = reserve(Some("127.0.0.1".parse().unwrap()), false, Protocol::Tcp, 0).unwrap();
        assert_ne!(r.port, 0, "the kernel picked a port");
        let again = reserve(
            Some("127.0.0.1".parse().unwrap()),
            false,
            Protocol::Tcp,
            r.port,
        );
        assert_eq!(again.unwrap_err().kind(), io::ErrorKind::AddrInUse);
        assert!(std::net::TcpListener::bind(("127.0.0.1", r.port)).is_err());
        drop(r);
    }

    #[test]
    fn udp_and_tcp_ports_are_separate() {
        let t = reserve(Some("127.0.0.1".parse().unwrap()), false, Protocol::Tcp, 0).unwrap();
        let u = reserve(
            Some("127.0.0.1".parse().unwrap()),
            false,
            Protocol::Udp,
            t.port,
        );
        assert!(u.is_ok());
    }
}
