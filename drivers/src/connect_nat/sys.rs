//! The thin layer over the `bpf(2)` system call that connect-time
//! translation needs: hash maps, loading a program, and attaching it to a
//! cgroup through a link (which the kernel drops when its descriptor is
//! closed, so a netd that dies leaves nothing attached).
//!
//! Each command's member of `union bpf_attr` is a `#[repr(C)]` struct
//! below, laid out field by field as the kernel's uapi header
//! (`linux/bpf.h`, Linux 6.1 as Debian 12 ships it, and 6.4 for the one
//! field it added in reach) declares it, with its size and every field's
//! offset checked at compile time, and no implicit padding (the kernel
//! refuses non-zero bytes it does not know, and padding is not guaranteed
//! to be zero). A call passes the struct's own size: a newer kernel, whose
//! members only grew at their ends, reads what it has beyond as zero, and
//! an older one accepts the longer struct as long as the fields it does not
//! know are zero, which they are, being unused here.
//!
//! A [`Map`] knows the key and value sizes it was created with, and refuses
//! a buffer of another length with [`BpfError::Length`] before the kernel
//! would read past its end.

use std::fmt;
use std::io;
use std::mem::{offset_of, size_of};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use super::program::Insn;

/// Commands (`enum bpf_cmd`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
enum Cmd {
    MapCreate = 0,
    MapUpdateElem = 2,
    MapDeleteElem = 3,
    ProgLoad = 5,
    LinkCreate = 28,
}

/// `BPF_PROG_TYPE_CGROUP_SOCK_ADDR`.
const PROG_TYPE_CGROUP_SOCK_ADDR: u32 = 18;

/// `BPF_OBJ_NAME_LEN`: map and program names, their final NUL included.
const OBJ_NAME_LEN: usize = 16;

/// `BPF_ANY`: an update creates the element or replaces it.
const UPDATE_ANY: u64 = 0;

/// The verifier's log, asked for when a program is refused.
const VERIFIER_LOG_SIZE: usize = 64 * 1024;

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

/// Which buffer of a map operation had the wrong length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The key.
    Key,
    /// The value.
    Value,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Key => "key",
            Self::Value => "value",
        })
    }
}

/// Why a `bpf()` operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BpfError {
    /// A key or value whose length is not the map's: refused before the
    /// call, since the kernel reads (or writes) as many bytes as the map
    /// says, whatever the buffer holds.
    #[error("the {part} is {got} bytes long, the map's are {want}")]
    Length {
        /// Key or value.
        part: Part,
        /// The length the map was created with.
        want: usize,
        /// The buffer's length.
        got: usize,
    },
    /// A size that does not fit the field the kernel takes it in.
    #[error("{what} ({len}) does not fit the kernel's 32-bit field")]
    TooLarge {
        /// What was measured.
        what: &'static str,
        /// Its size.
        len: usize,
    },
    /// The kernel refused the call.
    #[error(transparent)]
    Os(#[from] io::Error),
    /// The kernel refused a program; the verifier said why.
    #[error("{source}; verifier: {log}")]
    Verifier {
        /// The kernel's answer.
        source: io::Error,
        /// The last lines of the verifier's log, joined by ` | `.
        log: String,
    },
}

impl BpfError {
    /// The kernel's error number, when the kernel refused the call.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Self::Os(e) | Self::Verifier { source: e, .. } => e.raw_os_error(),
            Self::Length { .. } | Self::TooLarge { .. } => None,
        }
    }
}

/// The part of `union bpf_attr` used by `BPF_MAP_CREATE`.
#[repr(C)]
#[derive(Debug, Default)]
struct MapCreateAttr {
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    map_flags: u32,
    inner_map_fd: u32,
    numa_node: u32,
    map_name: [u8; OBJ_NAME_LEN],
    map_ifindex: u32,
    btf_fd: u32,
    btf_key_type_id: u32,
    btf_value_type_id: u32,
    btf_vmlinux_value_type_id: u32,
    map_extra: u64,
}

const _: () = {
    assert!(size_of::<MapCreateAttr>() == 72);
    assert!(offset_of!(MapCreateAttr, map_type) == 0);
    assert!(offset_of!(MapCreateAttr, key_size) == 4);
    assert!(offset_of!(MapCreateAttr, value_size) == 8);
    assert!(offset_of!(MapCreateAttr, max_entries) == 12);
    assert!(offset_of!(MapCreateAttr, map_flags) == 16);
    assert!(offset_of!(MapCreateAttr, inner_map_fd) == 20);
    assert!(offset_of!(MapCreateAttr, numa_node) == 24);
    assert!(offset_of!(MapCreateAttr, map_name) == 28);
    assert!(offset_of!(MapCreateAttr, map_ifindex) == 44);
    assert!(offset_of!(MapCreateAttr, btf_fd) == 48);
    assert!(offset_of!(MapCreateAttr, btf_key_type_id) == 52);
    assert!(offset_of!(MapCreateAttr, btf_value_type_id) == 56);
    assert!(offset_of!(MapCreateAttr, btf_vmlinux_value_type_id) == 60);
    assert!(offset_of!(MapCreateAttr, map_extra) == 64);
};

/// The part of `union bpf_attr` used by `BPF_MAP_*_ELEM`: `key` and
/// `value` are user addresses.
#[repr(C)]
#[derive(Debug, Default)]
struct MapElemAttr {
    map_fd: u32,
    /// Explicit, as the kernel's `__aligned_u64` after it leaves it.
    _pad: u32,
    key: u64,
    /// `value`, or `next_key` (the same field).
    value: u64,
    flags: u64,
}

const _: () = {
    assert!(size_of::<MapElemAttr>() == 32);
    assert!(offset_of!(MapElemAttr, map_fd) == 0);
    assert!(offset_of!(MapElemAttr, key) == 8);
    assert!(offset_of!(MapElemAttr, value) == 16);
    assert!(offset_of!(MapElemAttr, flags) == 24);
};

/// The part of `union bpf_attr` used by `BPF_PROG_LOAD`: `insns`,
/// `license`, `log_buf`, `func_info`, `line_info`, `fd_array` and
/// `core_relos` are user addresses.
#[repr(C)]
#[derive(Debug, Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; OBJ_NAME_LEN],
    prog_ifindex: u32,
    expected_attach_type: u32,
    prog_btf_fd: u32,
    func_info_rec_size: u32,
    func_info: u64,
    func_info_cnt: u32,
    line_info_rec_size: u32,
    line_info: u64,
    line_info_cnt: u32,
    attach_btf_id: u32,
    /// `attach_prog_fd` or `attach_btf_obj_fd` (the same field).
    attach_prog_fd: u32,
    core_relo_cnt: u32,
    fd_array: u64,
    core_relos: u64,
    core_relo_rec_size: u32,
    /// Output of Linux 6.4 and later: the length the whole log needed
    /// (older kernels have padding here and want it zero). Zero on input.
    log_true_size: u32,
}

const _: () = {
    assert!(size_of::<ProgLoadAttr>() == 144);
    assert!(offset_of!(ProgLoadAttr, prog_type) == 0);
    assert!(offset_of!(ProgLoadAttr, insn_cnt) == 4);
    assert!(offset_of!(ProgLoadAttr, insns) == 8);
    assert!(offset_of!(ProgLoadAttr, license) == 16);
    assert!(offset_of!(ProgLoadAttr, log_level) == 24);
    assert!(offset_of!(ProgLoadAttr, log_size) == 28);
    assert!(offset_of!(ProgLoadAttr, log_buf) == 32);
    assert!(offset_of!(ProgLoadAttr, kern_version) == 40);
    assert!(offset_of!(ProgLoadAttr, prog_flags) == 44);
    assert!(offset_of!(ProgLoadAttr, prog_name) == 48);
    assert!(offset_of!(ProgLoadAttr, prog_ifindex) == 64);
    assert!(offset_of!(ProgLoadAttr, expected_attach_type) == 68);
    assert!(offset_of!(ProgLoadAttr, prog_btf_fd) == 72);
    assert!(offset_of!(ProgLoadAttr, func_info_rec_size) == 76);
    assert!(offset_of!(ProgLoadAttr, func_info) == 80);
    assert!(offset_of!(ProgLoadAttr, func_info_cnt) == 88);
    assert!(offset_of!(ProgLoadAttr, line_info_rec_size) == 92);
    assert!(offset_of!(ProgLoadAttr, line_info) == 96);
    assert!(offset_of!(ProgLoadAttr, line_info_cnt) == 104);
    assert!(offset_of!(ProgLoadAttr, attach_btf_id) == 108);
    assert!(offset_of!(ProgLoadAttr, attach_prog_fd) == 112);
    assert!(offset_of!(ProgLoadAttr, core_relo_cnt) == 116);
    assert!(offset_of!(ProgLoadAttr, fd_array) == 120);
    assert!(offset_of!(ProgLoadAttr, core_relos) == 128);
    assert!(offset_of!(ProgLoadAttr, core_relo_rec_size) == 136);
    assert!(offset_of!(ProgLoadAttr, log_true_size) == 140);
};

/// The part of `union bpf_attr` used by `BPF_LINK_CREATE`.
#[repr(C)]
#[derive(Debug, Default)]
struct LinkCreateAttr {
    prog_fd: u32,
    /// `target_fd` or `target_ifindex` (the same field).
    target_fd: u32,
    attach_type: u32,
    flags: u32,
    /// The union of the other attach types' arguments (BTF ids, iterator
    /// and kprobe parameters, cookies), none of which a cgroup takes: zero.
    target_args: [u64; 4],
}

const _: () = {
    assert!(size_of::<LinkCreateAttr>() == 48);
    assert!(offset_of!(LinkCreateAttr, prog_fd) == 0);
    assert!(offset_of!(LinkCreateAttr, target_fd) == 4);
    assert!(offset_of!(LinkCreateAttr, attach_type) == 8);
    assert!(offset_of!(LinkCreateAttr, flags) == 12);
    assert!(offset_of!(LinkCreateAttr, target_args) == 16);
};

/// One command's part of `union bpf_attr`: only these structs are handed
/// to the kernel.
///
/// # Safety
///
/// Implementors are `#[repr(C)]` structs laid out as the kernel's uapi
/// declares a command's member of `union bpf_attr`, without implicit
/// padding, so that every byte the kernel reads is initialised.
unsafe trait Attr {}

// SAFETY: each layout is checked against the uapi's above, field by field,
// and its size is the sum of its fields' (padding, where the uapi's
// alignment leaves some, is an explicit field).
unsafe impl Attr for MapCreateAttr {}
// SAFETY: as above.
unsafe impl Attr for MapElemAttr {}
// SAFETY: as above.
unsafe impl Attr for ProgLoadAttr {}
// SAFETY: as above.
unsafe impl Attr for LinkCreateAttr {}

/// Calls `bpf(cmd, attr, size_of_val(attr))`.
///
/// # Safety
///
/// `attr` must be the member of `union bpf_attr` that `cmd` reads, and
/// every user address in it must point to memory that is valid, for the
/// whole call, for the reads the command makes there (the lengths the
/// kernel takes from `attr` or from the map) and for the writes it makes
/// (the verifier's log, at most `log_size` bytes).
unsafe fn bpf<A: Attr>(cmd: Cmd, attr: &mut A) -> io::Result<i64> {
    let size = u32::try_from(size_of::<A>()).map_err(io::Error::other)?;
    // SAFETY: `attr` is valid for reads and writes of its whole size,
    // which is passed, and fully initialised (`Attr`); the command and
    // what the addresses point to are the caller's promise.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd as i32,
            std::ptr::from_mut(attr).cast::<libc::c_void>(),
            size,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// Calls `bpf()` with a command that returns a new descriptor.
///
/// # Safety
///
/// As [`bpf`].
unsafe fn bpf_fd<A: Attr>(cmd: Cmd, attr: &mut A) -> io::Result<OwnedFd> {
    // SAFETY: the caller's promise.
    let rc = unsafe { bpf(cmd, attr) }?;
    let fd = RawFd::try_from(rc).map_err(io::Error::other)?;
    // SAFETY: the kernel just returned this new descriptor, owned by no one
    // else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A user address, as `bpf_attr` holds it.
fn addr<T>(p: *const T) -> u64 {
    p as u64
}

/// `name` as a NUL-terminated object name, cut to fit.
fn obj_name(name: &str) -> [u8; OBJ_NAME_LEN] {
    let mut out = [0; OBJ_NAME_LEN];
    let n = name.len().min(OBJ_NAME_LEN - 1);
    out[..n].copy_from_slice(&name.as_bytes()[..n]);
    out
}

/// Checks a buffer's length against the map's.
fn check_len(part: Part, want: usize, got: usize) -> Result<(), BpfError> {
    if want == got {
        Ok(())
    } else {
        Err(BpfError::Length { part, want, got })
    }
}

fn to_u32(what: &'static str, len: usize) -> Result<u32, BpfError> {
    u32::try_from(len).map_err(|_| BpfError::TooLarge { what, len })
}

/// A BPF map and the key and value sizes it was created with.
#[derive(Debug)]
pub struct Map {
    fd: OwnedFd,
    key_size: usize,
    value_size: usize,
}

impl Map {
    /// Creates a map whose keys are `key_size` bytes and values
    /// `value_size` bytes, holding `max_entries` at most.
    pub fn create(
        kind: MapType,
        name: &str,
        key_size: usize,
        value_size: usize,
        max_entries: u32,
    ) -> Result<Self, BpfError> {
        let (map_type, map_flags) = kind.codes();
        let mut attr = MapCreateAttr {
            map_type,
            key_size: to_u32("the key size", key_size)?,
            value_size: to_u32("the value size", value_size)?,
            max_entries,
            map_flags,
            map_name: obj_name(name),
            ..MapCreateAttr::default()
        };
        // SAFETY: the create command's member, which holds no address.
        let fd = unsafe { bpf_fd(Cmd::MapCreate, &mut attr) }?;
        Ok(Self {
            fd,
            key_size,
            value_size,
        })
    }

    /// The length of a key.
    pub fn key_size(&self) -> usize {
        self.key_size
    }

    /// The length of a value.
    pub fn value_size(&self) -> usize {
        self.value_size
    }

    /// The element commands' member for `key` (and the address of a
    /// value, or 0).
    fn elem(&self, key: &[u8], value: u64) -> MapElemAttr {
        MapElemAttr {
            map_fd: self.fd.as_raw_fd().cast_unsigned(),
            key: addr(key.as_ptr()),
            value,
            flags: UPDATE_ANY,
            ..MapElemAttr::default()
        }
    }

    /// Sets `key` to `value`, adding it or replacing its value. A key or
    /// value of another length than the map's is refused with
    /// [`BpfError::Length`].
    pub fn update(&self, key: &[u8], value: &[u8]) -> Result<(), BpfError> {
        check_len(Part::Key, self.key_size, key.len())?;
        check_len(Part::Value, self.value_size, value.len())?;
        let mut attr = self.elem(key, addr(value.as_ptr()));
        // SAFETY: the element commands' member; the kernel reads
        // `key_size` bytes at `key` and `value_size` at `value`, both
        // buffers' lengths (just checked), and both outlive the call.
        unsafe { bpf(Cmd::MapUpdateElem, &mut attr) }?;
        Ok(())
    }

    /// Deletes `key`; a key that is not there is not an error. A key of
    /// another length than the map's is refused with [`BpfError::Length`].
    pub fn delete(&self, key: &[u8]) -> Result<(), BpfError> {
        check_len(Part::Key, self.key_size, key.len())?;
        let mut attr = self.elem(key, 0);
        // SAFETY: the element commands' member; the kernel reads
        // `key_size` bytes at `key`, its length (just checked), and it
        // outlives the call.
        match unsafe { bpf(Cmd::MapDeleteElem, &mut attr) } {
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
            r => r.map(drop).map_err(BpfError::from),
        }
    }
}

impl AsFd for Map {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for Map {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Loads a cgroup socket-address program for `attach`. On a refusal the
/// error ([`BpfError::Verifier`]) carries the end of the verifier's log.
pub fn prog_load(name: &str, attach: AttachType, insns: &[Insn]) -> Result<OwnedFd, BpfError> {
    let license = c"Apache-2.0";
    let mut attr = ProgLoadAttr {
        prog_type: PROG_TYPE_CGROUP_SOCK_ADDR,
        insn_cnt: to_u32("the program's length", insns.len())?,
        insns: addr(insns.as_ptr()),
        license: addr(license.as_ptr()),
        prog_name: obj_name(name),
        expected_attach_type: attach as u32,
        ..ProgLoadAttr::default()
    };
    // SAFETY: the load command's member; the kernel reads `insn_cnt`
    // instructions at `insns` (the slice's length) and a NUL-terminated
    // string at `license`; both outlive the call.
    let first = match unsafe { bpf_fd(Cmd::ProgLoad, &mut attr) } {
        Ok(fd) => return Ok(fd),
        Err(e) => e,
    };
    // Again, for the verifier's log.
    let mut log = vec![0u8; VERIFIER_LOG_SIZE];
    attr.log_true_size = 0;
    attr.log_level = 1;
    attr.log_size = to_u32("the verifier's log", log.len())?;
    attr.log_buf = addr(log.as_mut_ptr());
    // SAFETY: as above, and the kernel writes at most `log_size` bytes at
    // `log_buf`, the log's length; it outlives the call.
    match unsafe { bpf_fd(Cmd::ProgLoad, &mut attr) } {
        Ok(fd) => Ok(fd),
        Err(_) => Err(BpfError::Verifier {
            source: first,
            log: log_tail(&log, 8),
        }),
    }
}

/// The last `lines` lines of a NUL-terminated verifier log, joined by
/// ` | `.
fn log_tail(log: &[u8], lines: usize) -> String {
    let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
    let text = String::from_utf8_lossy(&log[..end]);
    let mut tail: Vec<&str> = text.lines().rev().take(lines).collect();
    tail.reverse();
    tail.join(" | ")
}

/// Attaches `prog` to the cgroup open as `cgroup`; the attachment lasts as
/// long as the returned link's descriptor.
pub fn link_create(
    prog: &OwnedFd,
    cgroup: &OwnedFd,
    attach: AttachType,
) -> Result<OwnedFd, BpfError> {
    let mut attr = LinkCreateAttr {
        prog_fd: prog.as_raw_fd().cast_unsigned(),
        target_fd: cgroup.as_raw_fd().cast_unsigned(),
        attach_type: attach as u32,
        ..LinkCreateAttr::default()
    };
    // SAFETY: the link command's member, which holds no address.
    Ok(unsafe { bpf_fd(Cmd::LinkCreate, &mut attr) }?)
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
    let mut len = libc::socklen_t::try_from(size_of::<u64>()).map_err(io::Error::other)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_of_the_maps_length_passes_and_any_other_is_refused() {
        assert!(check_len(Part::Key, 8, 8).is_ok());
        let short = check_len(Part::Key, 8, 7).unwrap_err();
        assert!(matches!(
            short,
            BpfError::Length {
                part: Part::Key,
                want: 8,
                got: 7
            }
        ));
        assert_eq!(
            short.to_string(),
            "the key is 7 bytes long, the map's are 8"
        );
        let long = check_len(Part::Value, 20, 21).unwrap_err();
        assert_eq!(
            long.to_string(),
            "the value is 21 bytes long, the map's are 20"
        );
        assert_eq!(long.raw_os_error(), None);
    }

    #[test]
    fn names_are_cut_to_fifteen_bytes_and_nul_terminated() {
        assert_eq!(&obj_name("netd_ports4")[..12], b"netd_ports4\0");
        let long = obj_name("netd_a_much_longer_name");
        assert_eq!(&long[..15], b"netd_a_much_lon");
        assert_eq!(long[15], 0);
    }

    #[test]
    fn the_elements_address_fields_sit_where_the_kernel_reads_them() {
        let key = [1u8; 8];
        let value = [2u8; 4];
        let elem = MapElemAttr {
            map_fd: 7,
            key: addr(key.as_ptr()),
            value: addr(value.as_ptr()),
            flags: UPDATE_ANY,
            ..MapElemAttr::default()
        };
        // The struct as the kernel sees it: bytes at the uapi's offsets.
        // SAFETY: `MapElemAttr` is plain data without padding, readable as
        // bytes for its whole size.
        let bytes: &[u8] = unsafe {
            std::slice::from_raw_parts(
                std::ptr::from_ref(&elem).cast::<u8>(),
                size_of::<MapElemAttr>(),
            )
        };
        let word = |at: usize| u64::from_ne_bytes(bytes[at..at + 8].try_into().unwrap());
        assert_eq!(&bytes[..8], &[7, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(word(8), key.as_ptr() as u64);
        assert_eq!(word(16), value.as_ptr() as u64);
        assert_eq!(word(24), 0);
    }

    #[test]
    fn the_verifiers_log_is_cut_to_its_last_lines_before_the_nul() {
        let mut log = b"0: a\n1: b\n2: c\nprocessed 3 insns\n".to_vec();
        log.extend_from_slice(&[0, b'x', b'y']);
        assert_eq!(log_tail(&log, 2), "2: c | processed 3 insns");
        assert_eq!(log_tail(b"no nul", 8), "no nul");
    }

    #[test]
    fn commands_are_the_kernels_numbers() {
        assert_eq!(Cmd::MapCreate as i32, 0);
        assert_eq!(Cmd::MapUpdateElem as i32, 2);
        assert_eq!(Cmd::MapDeleteElem as i32, 3);
        assert_eq!(Cmd::ProgLoad as i32, 5);
        assert_eq!(Cmd::LinkCreate as i32, 28);
    }
}
