//! Waiting for the container's init: the shim is the subreaper of the
//! container's processes, so it reaps them all, and reports the init's
//! exit as Docker does (128 + signal when killed, OOM kills noticed).

use std::path::Path;

use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use crate::container::bundle::cgroup_path;

/// Reaps children until `pid` exits; returns its exit code as Docker
/// reports it (128 + signal when killed).
pub(super) fn exit_code(pid: i32) -> i32 {
    reap_now(pid).unwrap_or_else(|| wait_for(pid))
}

/// Reaps the children that have exited; `pid`'s exit code (as
/// [`wait_for`]) when it is one of them.
fn reap_now(pid: i32) -> Option<i32> {
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(p, code)) if p.as_raw() == pid => return Some(code),
            Ok(WaitStatus::Signaled(p, sig, _)) if p.as_raw() == pid => {
                return Some(128 + sig as i32);
            }
            Ok(WaitStatus::StillAlive) => return None,
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            // No children left: the init is gone without us seeing it.
            Err(_) => return Some(137),
        }
    }
}

/// Reaps children until `pid` exits; returns its exit code as Docker
/// reports it (128 + signal when killed).
fn wait_for(pid: i32) -> i32 {
    loop {
        match waitpid(Pid::from_raw(-1), None) {
            Ok(WaitStatus::Exited(p, code)) if p.as_raw() == pid => return code,
            Ok(WaitStatus::Signaled(p, sig, _)) if p.as_raw() == pid => return 128 + sig as i32,
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => {}
            // No children left: the init is gone without us seeing it.
            Err(_) => return 137,
        }
    }
}

/// Whether the kernel's OOM killer killed a process of the container
/// (cgroup v1 `memory.oom_control`, v2 `memory.events`).
pub(super) fn oom_killed(id: &str) -> bool {
    let cgroup = cgroup_path(id);
    let cgroup = cgroup.trim_start_matches('/');
    let v1 = Path::new("/sys/fs/cgroup/memory")
        .join(cgroup)
        .join("memory.oom_control");
    let v2 = Path::new("/sys/fs/cgroup")
        .join(cgroup)
        .join("memory.events");
    [v1, v2].iter().any(|p| {
        std::fs::read_to_string(p).is_ok_and(|t| {
            t.lines().any(|l| {
                l.strip_prefix("oom_kill ")
                    .and_then(|n| n.trim().parse::<u64>().ok())
                    .is_some_and(|n| n > 0)
            })
        })
    })
}
