//! File descriptor housekeeping for a daemon that holds thousands of
//! sockets (DNS listeners, reserved ports).
//!
//! libnftables waits on its netlink socket with select(2), which cannot
//! watch descriptors numbered 1024 or more (glibc aborts the process). So
//! netd raises its descriptor limit and moves long-lived sockets above
//! [`HIGH`], keeping the low numbers free for short-lived descriptors.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd};

/// Long-lived descriptors are moved to this number or above.
pub const HIGH: i32 = 1024;

/// Raises the soft limit on open descriptors to the hard limit; returns the
/// new soft limit.
pub fn raise_limit() -> io::Result<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    lim.rlim_cur = lim.rlim_max;
    // SAFETY: setrlimit reads the struct it is given.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(lim.rlim_cur)
}

/// Moves a descriptor-owning value to a descriptor numbered [`HIGH`] or
/// above (close-on-exec), when the limit allows; otherwise returns it as is.
pub fn move_high<T: IntoRawFd + FromRawFd + AsRawFd>(v: T) -> T {
    // SAFETY: F_DUPFD_CLOEXEC on a live descriptor; the result is checked.
    let high = unsafe { libc::fcntl(v.as_raw_fd(), libc::F_DUPFD_CLOEXEC, HIGH) };
    if high < 0 {
        return v;
    }
    // Close the low descriptor, keep the high one.
    // SAFETY: into_raw_fd hands over ownership of the low descriptor, which
    // OwnedFd then closes; `high` is a fresh descriptor this function owns.
    unsafe {
        drop(OwnedFd::from_raw_fd(v.into_raw_fd()));
        T::from_raw_fd(high)
    }
}
