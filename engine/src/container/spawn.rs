//! Starting a container's shim: a process of its own (a new session, so
//! that it outlives the command that started it), with its standard
//! streams on `/dev/null` and its log, the readiness pipe on
//! [`READY_FD`], for an attached command its end of a socket pair on
//! [`ATTACH_FD`], and for a container stored while its shim prepares the
//! read end of the go pipe on [`GO_FD`]. Nothing else of the starting
//! command stays open in it.
//!
//! When the starting command has a single thread, which is how the berth
//! command line starts containers, the shim is a fork of it that calls
//! [`shim::run`] directly: executing berth again, and parsing its command
//! line, cost more than a millisecond of every start. With other threads
//! about, only async-signal-safe work is allowed between fork and exec, so
//! berth is executed again as `berth shim ID`.

use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use super::error::{ContainerError, Result};
use super::shim::{self, ShimConfig};

/// The readiness pipe: the shim writes `ok` or `CODE message`.
pub const READY_FD: RawFd = 3;
/// The shim's end of the attached command's socket pair.
pub const ATTACH_FD: RawFd = 4;
/// The read end of the go pipe of a container being created as it starts
/// (see [`super::ops::Starting`]): `go` once it is stored.
pub const GO_FD: RawFd = 5;
/// Set, the shim is always executed afresh (for tests of that path, and
/// to trace a shim on its own).
pub const EXEC_ENV: &str = "BERTH_SHIM_EXEC";

/// The descriptors the shim starts with: `(source, target)` pairs.
#[derive(Debug)]
struct Placement {
    pairs: Vec<(RawFd, RawFd)>,
}

impl Placement {
    /// Puts each source at its target. Sources are first copied above
    /// every target (close-on-exec), so that no target overwrites a source
    /// not yet placed. Only async-signal-safe calls: usable after fork.
    fn apply(&self) -> std::io::Result<()> {
        let mut copies = [0 as RawFd; 8];
        if self.pairs.len() > copies.len() {
            return Err(std::io::Error::from_raw_os_error(libc::EINVAL));
        }
        for (i, (src, _)) in self.pairs.iter().enumerate() {
            // SAFETY: fcntl on a descriptor this process owns.
            let fd = unsafe { libc::fcntl(*src, libc::F_DUPFD_CLOEXEC, 16) };
            if fd < 0 {
                return Err(std::io::Error::last_os_error());
            }
            copies[i] = fd;
        }
        for (i, (_, dst)) in self.pairs.iter().enumerate() {
            // SAFETY: dup2 between descriptors this process owns.
            if unsafe { libc::dup2(copies[i], *dst) } < 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(())
    }

    /// The first descriptor after the targets.
    fn end(&self) -> RawFd {
        self.pairs.iter().map(|(_, d)| d + 1).max().unwrap_or(0)
    }

    /// Closes every descriptor that is not a target (those between the
    /// targets too: a gap must not keep one of the command's open).
    /// Async-signal-safe.
    fn close_others(&self) {
        for fd in 0..self.end() {
            if !self.pairs.iter().any(|(_, d)| *d == fd) {
                // SAFETY: closes a descriptor this process may own; the
                // shim opens its own.
                unsafe {
                    libc::close(fd);
                }
            }
        }
        // SAFETY: closes descriptors only.
        unsafe {
            libc::close_range(self.end().unsigned_abs(), u32::MAX, 0);
        }
    }
}

/// What the shim process gets.
#[derive(Debug)]
pub struct ShimFds<'a> {
    /// Where its standard error goes.
    pub log: &'a std::fs::File,
    /// The write end of the readiness pipe.
    pub ready: &'a std::io::PipeWriter,
    /// The shim's end of the attached command's socket pair.
    pub attach: Option<&'a std::os::unix::net::UnixStream>,
    /// The read end of the go pipe.
    pub go: Option<&'a std::io::PipeReader>,
}

/// Starts the shim of `cfg.id`; returns its pid.
pub fn spawn(cfg: &ShimConfig, exe: &Path, fds: &ShimFds<'_>) -> Result<i32> {
    let null = std::fs::File::options()
        .read(true)
        .write(true)
        .open("/dev/null")
        .map_err(ContainerError::io("open", "/dev/null"))?;
    let mut pairs = vec![
        (null.as_raw_fd(), 0),
        (null.as_raw_fd(), 1),
        (fds.log.as_raw_fd(), 2),
        (fds.ready.as_raw_fd(), READY_FD),
    ];
    if let Some(a) = fds.attach {
        pairs.push((a.as_raw_fd(), ATTACH_FD));
    }
    if let Some(g) = fds.go {
        pairs.push((g.as_raw_fd(), GO_FD));
    }
    let placement = Placement { pairs };
    if single_threaded() && std::env::var_os(EXEC_ENV).is_none() {
        fork(cfg, &placement)
    } else {
        exec(cfg, exe, placement)
    }
}

/// Whether this process runs one thread (fork is then safe to continue
/// in without exec).
fn single_threaded() -> bool {
    std::fs::read_dir("/proc/self/task").is_ok_and(|d| d.count() == 1)
}

fn fork(cfg: &ShimConfig, placement: &Placement) -> Result<i32> {
    // SAFETY: this process has one thread (checked just before), so the
    // child is a complete copy in a consistent state; it runs the shim and
    // leaves through _exit, never returning into the caller.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Parent { child }) => Ok(child.as_raw()),
        Ok(nix::unistd::ForkResult::Child) => {
            let code = match nix::unistd::setsid()
                .map_err(std::io::Error::from)
                .and_then(|_| placement.apply())
            {
                Ok(()) => {
                    name_process();
                    // Everything else the command had open stays with it,
                    // as an exec would have closed it (a lock, a socket).
                    placement.close_others();
                    // A panic must not unwind into the command's own code,
                    // which this copy of it would then go on running.
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| shim::run(cfg)))
                        .unwrap_or(125)
                }
                Err(_) => 125,
            };
            // SAFETY: ends the child without running the command's exit
            // handlers or flushing its buffers (they belong to the parent).
            unsafe { libc::_exit(code) }
        }
        Err(e) => Err(ContainerError::sys("starting the shim", &cfg.id)(e)),
    }
}

/// Names the forked shim `berth-shim` (its command line stays the one it
/// was forked from: the kernel refuses to point it elsewhere here).
fn name_process() {
    let _ = nix::sys::prctl::set_name(c"berth-shim");
}

fn exec(cfg: &ShimConfig, exe: &Path, placement: Placement) -> Result<i32> {
    let mut cmd = Command::new(exe);
    cmd.arg("--root")
        .arg(&cfg.root)
        .arg("--runroot")
        .arg(&cfg.runroot)
        .arg("--runtime")
        .arg(&cfg.runtime)
        .arg("--netd-host")
        .arg(&cfg.netd_host)
        .arg("shim");
    if cfg.wait_attach {
        cmd.arg("--wait-attach");
    }
    cmd.arg(&cfg.id)
        .stdin(Stdio::inherit())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit());
    // SAFETY: between fork and exec only async-signal-safe calls: setsid,
    // fcntl and dup2.
    unsafe {
        cmd.pre_exec(move || {
            nix::unistd::setsid().map_err(std::io::Error::from)?;
            placement.apply()
        });
    }
    let child = cmd
        .spawn()
        .map_err(ContainerError::io("starting the shim", exe))?;
    Ok(i32::try_from(child.id()).unwrap_or(i32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placement_survives_sources_sitting_on_targets() {
        // In a child, so that this test's own descriptors stay as they are.
        // SAFETY: the child only calls async-signal-safe functions and _exit.
        match unsafe { nix::unistd::fork() }.expect("fork") {
            nix::unistd::ForkResult::Child => {
                let (r1, w1) = std::io::pipe().expect("pipe");
                let (r2, w2) = std::io::pipe().expect("pipe");
                // Swap: each source's number is the other's target.
                let (a, b) = (w1.as_raw_fd(), w2.as_raw_fd());
                let p = Placement {
                    pairs: vec![(a, b), (b, a)],
                };
                let put = |fd: RawFd, byte: &[u8; 1]| {
                    // SAFETY: writes one byte from a live buffer to a
                    // descriptor this process owns.
                    unsafe { libc::write(fd, byte.as_ptr().cast(), 1) == 1 }
                };
                let ok = p.apply().is_ok() && put(b, b"1") && put(a, b"2");
                let mut x = [0u8; 1];
                let mut y = [0u8; 1];
                let read = |mut r: std::io::PipeReader, buf: &mut [u8; 1]| {
                    std::io::Read::read_exact(&mut r, buf).is_ok()
                };
                let ok = ok && read(r1, &mut x) && read(r2, &mut y);
                // What went to `b` (w1's copy) arrives on r1, and so on.
                let ok = ok && x == *b"1" && y == *b"2";
                // SAFETY: leaves the child at once.
                unsafe { libc::_exit(i32::from(!ok)) }
            }
            nix::unistd::ForkResult::Parent { child } => {
                let status = nix::sys::wait::waitpid(child, None).expect("wait");
                assert_eq!(status, nix::sys::wait::WaitStatus::Exited(child, 0));
            }
        }
    }
}
