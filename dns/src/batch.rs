//! Many UDP datagrams per system call (`recvmmsg`, `sendmmsg`).
//!
//! A busy listener otherwise pays two system calls per query, which is most
//! of its cost for names it answers from memory. Receiving up to
//! [`BATCH`] queries and sending their answers in one call each cuts that
//! to a fraction.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::RawFd;

/// Datagrams per call.
pub(crate) const BATCH: usize = 16;
/// Room for one query: real queries are a few hundred bytes at most; a
/// longer datagram is cut and answered FORMERR.
pub(crate) const DATAGRAM: usize = 1500;

/// Receive buffers and the senders' addresses for one batch.
pub(crate) struct Batch {
    bufs: Vec<u8>,
    addrs: Vec<libc::sockaddr_storage>,
    addr_lens: Vec<libc::socklen_t>,
    lens: Vec<usize>,
}

impl std::fmt::Debug for Batch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch")
            .field("len", &self.lens.len())
            .finish()
    }
}

fn zero_storage() -> libc::sockaddr_storage {
    // SAFETY: sockaddr_storage is plain data for which all zeroes is valid.
    unsafe { std::mem::zeroed() }
}

fn storage_len() -> libc::socklen_t {
    libc::socklen_t::try_from(size_of::<libc::sockaddr_storage>()).expect("fits in socklen_t")
}

/// One message of a batch: a single buffer and the peer's address.
fn header(
    iov: &mut libc::iovec,
    addr: &mut libc::sockaddr_storage,
    addr_len: libc::socklen_t,
) -> libc::mmsghdr {
    // SAFETY: msghdr is plain data for which all zeroes is valid.
    let mut h: libc::msghdr = unsafe { std::mem::zeroed() };
    h.msg_name = std::ptr::from_mut(addr).cast();
    h.msg_namelen = addr_len;
    h.msg_iov = std::ptr::from_mut(iov);
    h.msg_iovlen = 1;
    libc::mmsghdr {
        msg_hdr: h,
        msg_len: 0,
    }
}

impl Batch {
    /// Buffers for [`BATCH`] datagrams.
    pub(crate) fn new() -> Self {
        Self {
            bufs: vec![0; BATCH * DATAGRAM],
            addrs: vec![zero_storage(); BATCH],
            addr_lens: vec![0; BATCH],
            lens: Vec::with_capacity(BATCH),
        }
    }

    /// Receives what is queued on `fd`, up to [`BATCH`] datagrams, without
    /// blocking; `WouldBlock` when nothing is.
    pub(crate) fn recv(&mut self, fd: RawFd) -> io::Result<usize> {
        self.lens.clear();
        let mut iovs: Vec<libc::iovec> = self
            .bufs
            .chunks_mut(DATAGRAM)
            .map(|c| libc::iovec {
                iov_base: c.as_mut_ptr().cast(),
                iov_len: c.len(),
            })
            .collect();
        let mut msgs: Vec<libc::mmsghdr> = iovs
            .iter_mut()
            .zip(self.addrs.iter_mut())
            .map(|(iov, addr)| header(iov, addr, storage_len()))
            .collect();
        let want = libc::c_uint::try_from(msgs.len()).expect("BATCH fits");
        // SAFETY: every mmsghdr points into buffers owned by `self` (or the
        // local `iovs`), all alive for the duration of the call.
        let n = unsafe {
            libc::recvmmsg(
                fd,
                msgs.as_mut_ptr(),
                want,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = usize::try_from(n).expect("non-negative");
        for (i, m) in msgs.iter().take(n).enumerate() {
            self.lens
                .push(usize::try_from(m.msg_len).unwrap_or(0).min(DATAGRAM));
            self.addr_lens[i] = m.msg_hdr.msg_namelen;
        }
        Ok(n)
    }

    /// Datagram `i` of the last batch.
    pub(crate) fn data(&self, i: usize) -> &[u8] {
        let start = i * DATAGRAM;
        &self.bufs[start..start + self.lens[i]]
    }

    /// Sender of datagram `i`.
    pub(crate) fn peer(&self, i: usize) -> Option<SocketAddr> {
        let a = &self.addrs[i];
        match i32::from(a.ss_family) {
            libc::AF_INET => {
                // SAFETY: the kernel wrote a sockaddr_in for an AF_INET sender.
                let sin =
                    unsafe { std::ptr::read(std::ptr::from_ref(a).cast::<libc::sockaddr_in>()) };
                Some(SocketAddr::V4(SocketAddrV4::new(
                    Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)),
                    u16::from_be(sin.sin_port),
                )))
            }
            libc::AF_INET6 => {
                // SAFETY: the kernel wrote a sockaddr_in6 for an AF_INET6 sender.
                let sin6 =
                    unsafe { std::ptr::read(std::ptr::from_ref(a).cast::<libc::sockaddr_in6>()) };
                Some(SocketAddr::V6(SocketAddrV6::new(
                    Ipv6Addr::from(sin6.sin6_addr.s6_addr),
                    u16::from_be(sin6.sin6_port),
                    sin6.sin6_flowinfo,
                    sin6.sin6_scope_id,
                )))
            }
            _ => None,
        }
    }

    /// Sends `replies` (datagram index, answer) to their senders in one
    /// call; returns how many went out (the rest is the caller's to retry).
    pub(crate) fn send(&mut self, fd: RawFd, replies: &[(usize, &[u8])]) -> io::Result<usize> {
        if replies.is_empty() {
            return Ok(0);
        }
        let mut iovs: Vec<libc::iovec> = replies
            .iter()
            .map(|(_, data)| libc::iovec {
                iov_base: data.as_ptr().cast_mut().cast(),
                iov_len: data.len(),
            })
            .collect();
        let mut msgs: Vec<libc::mmsghdr> = replies
            .iter()
            .zip(iovs.iter_mut())
            .map(|((i, _), iov)| {
                let len = self.addr_lens[*i];
                header(iov, &mut self.addrs[*i], len)
            })
            .collect();
        let count = libc::c_uint::try_from(msgs.len()).expect("at most BATCH");
        // SAFETY: every mmsghdr points at an address in `self` and a reply
        // slice borrowed for the duration of the call.
        let n = unsafe { libc::sendmmsg(fd, msgs.as_mut_ptr(), count, libc::MSG_DONTWAIT) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(usize::try_from(n).expect("non-negative"))
    }
}
