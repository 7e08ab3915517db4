//! The thin layer over the `bpf(2)` system call that connect-time
//! translation needs: hash maps, loading a program, and attaching it to a
//! cgroup through a link (which the kernel drops when its descriptor is
//! closed, so a netd that dies leaves nothing attached).

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use super::program::Insn;

// Commands (`enum bpf_cmd`).
const MAP_CREATE: i32 = 0;
const MAP_UPDATE_ELEM: i32 = 2;
const MAP_DELETE_ELEM: i32 = 3;
const PROG_LOAD: i32 = 5;
const LINK_CREATE: i32 = 28;

/// `BPF_PROG_TYPE_CGROUP_SOCK_ADDR`.
const PROG_TYPE_CGROUP_SOCK_ADDR: u32 = 18;

/// Map types (`enum bpf_map_type`), with their creation flags.
#[derive(Debug, Clone, Copy)]
pub enum MapType {
    /// `BPF_MAP_TYPE_HASH` with `BPF_F_NO_PREALLOC`: entries are allocated
    /// as they are added.
    HashNoPrealloc,
    /// `BPF_MAP_TYPE_LRU_HASH`: full maps drop their least recently used
    /// entries instead of refusing new ones.
    LruHash,
}

impl MapType {
    /// `map_type` and `map_flags`.
    fn codes(self) -> (u32, u32) {
        match self {
            Self::HashNoPrealloc => (1, 1),
            Self::LruHash => (9, 0),
        }
    }
}

/// Where a program runs (`enum bpf_attach_type`).
#[derive(Debug, Clone, Copy)]
#[repr(u32)]
pub enum AttachType {
    /// `connect()` of an `AF_INET` socket (not of an `AF_INET6` one, even
    /// to a v4-mapped address).
    Inet4Connect = 10,
    /// `connect()` of an `AF_INET6` socket.
    Inet6Connect = 11,
    /// `getpeername()` of an IPv4 socket.
    Inet4Getpeername = 29,
    /// `getpeername()` of an IPv6 socket.
    Inet6Getpeername = 30,
}

/// `union bpf_attr`, as bytes: each command fills the fields it uses and
/// leaves the rest zero, as the kernel requires.
struct Attr([u8; ATTR_SIZE as usize]);

/// The part of `union bpf_attr` these commands use (the kernel's is
/// larger; a shorter one is fine).
const ATTR_SIZE: u32 = 128;

impl Attr {
    fn new() -> Self {
        Self([0; ATTR_SIZE as usize])
    }
    fn u32(&mut self, at: usize, v: u32) -> &mut Self {
        self.0[at..at + 4].copy_from_slice(&v.to_ne_bytes());
        self
    }
    fn u64(&mut self, at: usize, v: u64) -> &mut Self {
        self.0[at..at + 8].copy_from_slice(&v.to_ne_bytes());
        self
    }
    fn name(&mut self, at: usize, name: &str) -> &mut Self {
        // BPF_OBJ_NAME_LEN is 16, the last byte stays NUL.
        let n = name.len().min(15);
        self.0[at..at + n].copy_from_slice(&name.as_bytes()[..n]);
        self
    }
    fn call(&mut self, cmd: i32) -> io::Result<i64> {
        // SAFETY: the attribute buffer is valid for its whole length, which
        // is passed; pointers inside it were set by the callers to buffers
        // that outlive the call.
        let rc = unsafe { libc::syscall(libc::SYS_bpf, cmd, self.0.as_mut_ptr(), ATTR_SIZE) };
        if rc < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(rc)
        }
    }
    fn call_fd(&mut self, cmd: i32) -> io::Result<OwnedFd> {
        let fd = i32::try_from(self.call(cmd)?).expect("descriptors fit in an int");
        // SAFETY: the kernel just returned this new descriptor to us.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }
}

fn addr_of<T>(p: *const T) -> u64 {
    p as u64
}

/// Creates a map.
pub fn map_create(
    kind: MapType,
    name: &str,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
) -> io::Result<OwnedFd> {
    let (map_type, flags) = kind.codes();
    Attr::new()
        .u32(0, map_type)
        .u32(4, key_size)
        .u32(8, value_size)
        .u32(12, max_entries)
        .u32(16, flags)
        .name(28, name)
        .call_fd(MAP_CREATE)
}

/// Sets `key` to `value` (sizes as the map was created with).
pub fn map_update(map: &OwnedFd, key: &[u8], value: &[u8]) -> io::Result<()> {
    Attr::new()
        .u32(0, map.as_raw_fd().cast_unsigned())
        .u64(8, addr_of(key.as_ptr()))
        .u64(16, addr_of(value.as_ptr()))
        .call(MAP_UPDATE_ELEM)
        .map(drop)
}

/// Deletes `key`; a key that is not there is not an error.
pub fn map_delete(map: &OwnedFd, key: &[u8]) -> io::Result<()> {
    match Attr::new()
        .u32(0, map.as_raw_fd().cast_unsigned())
        .u64(8, addr_of(key.as_ptr()))
        .call(MAP_DELETE_ELEM)
    {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
        r => r.map(drop),
    }
}

/// Loads a cgroup socket-address program for `attach`. On a refusal the
/// error carries the verifier's log.
pub fn prog_load(name: &str, attach: AttachType, insns: &[Insn]) -> io::Result<OwnedFd> {
    let license = c"Apache-2.0";
    let load = |log: Option<&mut [u8]>| {
        let mut a = Attr::new();
        a.u32(0, PROG_TYPE_CGROUP_SOCK_ADDR)
            .u32(4, u32::try_from(insns.len()).expect("short programs"))
            .u64(8, addr_of(insns.as_ptr()))
            .u64(16, addr_of(license.as_ptr()))
            .name(48, name)
            .u32(68, attach as u32);
        if let Some(buf) = log {
            a.u32(24, 1)
                .u32(28, u32::try_from(buf.len()).expect("small log"))
                .u64(32, addr_of(buf.as_ptr()));
        }
        a.call_fd(PROG_LOAD)
    };
    load(None).or_else(|first| {
        let mut log = vec![0u8; 64 * 1024];
        match load(Some(&mut log)) {
            Ok(fd) => Ok(fd),
            Err(_) => {
                let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
                let text = String::from_utf8_lossy(&log[..end]);
                let tail: Vec<&str> = text.lines().rev().take(8).collect();
                Err(io::Error::new(
                    first.kind(),
                    format!(
                        "{first}; verifier: {}",
                        tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
                    ),
                ))
            }
        }
    })
}

/// Attaches `prog` to the cgroup open as `cgroup`; the attachment lasts as
/// long as the returned link's descriptor.
pub fn link_create(prog: &OwnedFd, cgroup: &OwnedFd, attach: AttachType) -> io::Result<OwnedFd> {
    Attr::new()
        .u32(0, prog.as_raw_fd().cast_unsigned())
        .u32(4, cgroup.as_raw_fd().cast_unsigned())
        .u32(8, attach as u32)
        .call_fd(LINK_CREATE)
}

/// The cookie of the calling thread's network namespace, as
/// `bpf_get_netns_cookie` sees it.
pub fn netns_cookie() -> io::Result<u64> {
    // SAFETY: plain socket(2); the descriptor is owned right away.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a new descriptor nobody else owns.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut cookie: u64 = 0;
    let mut len = libc::socklen_t::try_from(size_of::<u64>()).expect("8 fits");
    // SAFETY: the option's buffer and length describe `cookie`.
    let rc = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_NETNS_COOKIE,
            std::ptr::from_mut(&mut cookie).cast(),
            &raw mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(cookie)
}
