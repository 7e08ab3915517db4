//! The shim's side thread for one run: told the start, it records it (the
//! container "running", then the starting command told); told the end, it
//! removes the runtime's leftovers (see [`Runtime::remove_stopped`]). Both
//! are off the start's and the exit's path.

use std::os::fd::{FromRawFd, OwnedFd};
use std::path::Path;
use std::sync::mpsc::{Receiver, Sender};
use std::thread::JoinHandle;

use super::ready::Ready;
use crate::container::bundle::cgroup_path;
use crate::container::error::{ContainerError, Result};
use crate::container::record::Container;
use crate::container::runc::Runtime;
use crate::container::store::Containers;
use crate::warn;

/// What the side thread is told when the process started.
type Started = (Container, Option<OwnedFd>, Ready);

/// The side thread of one run, and how to talk to it.
pub(super) struct SideWork {
    start: Sender<Started>,
    recorded: Receiver<Result<()>>,
    clean: Sender<()>,
    thread: JoinHandle<()>,
    id: String,
}

impl SideWork {
    /// Starts the side thread of container `id`'s run.
    pub(super) fn start(store: &Containers, runtime: &Runtime, id: &str) -> Self {
        let (start, started) = std::sync::mpsc::channel::<Started>();
        let (done, recorded) = std::sync::mpsc::channel();
        let (clean, cleaning) = std::sync::mpsc::channel();
        let (store, runtime, thread_id) = (store.clone(), runtime.clone(), id.to_owned());
        let thread = std::thread::spawn(move || {
            let id = thread_id;
            // Nothing comes when the runtime failed: the shim tells that.
            let Ok((record, process, mut ready)) = started.recv() else {
                return;
            };
            let result = store.update(&id, |c| c.take_start(&record)).map(|_| ());
            if result.is_err()
                && let Some(process) = &process
            {
                // Not known to run, it must not: the error is the start's.
                // Through its pidfd: the shim may have reaped it already,
                // and its number be another process's.
                kill_process(process);
            }
            match &result {
                Ok(()) => ready.ok(),
                Err(e) => ready.say(&format!("125 {e}")),
            }
            // The shim stops listening only when it gave up on the run.
            let _ = done.send(result);
            if cleaning.recv().is_ok()
                && let Err(e) =
                    runtime.remove_stopped(&id, Path::new("/sys/fs/cgroup"), &cgroup_path(&id))
            {
                warn::container(&id, "removing the runtime's cgroups and state", &e);
            }
        });
        Self {
            start,
            recorded,
            clean,
            thread,
            id: id.to_owned(),
        }
    }

    /// The process started: its "running" record to write, with a pidfd
    /// of the process; `ready` tells the starting command once that is
    /// done.
    pub(super) fn started(&self, record: Container, process: Option<OwnedFd>, ready: Ready) {
        // The thread ends before it is told only when it panicked, which
        // `recorded` reports.
        let _ = self.start.send((record, process, ready));
    }

    /// Whether the start was recorded (waits for it).
    pub(super) fn recorded(&self) -> Result<()> {
        self.recorded.recv().unwrap_or_else(|_| {
            Err(ContainerError::ThreadDied {
                what: "recording the start",
                id: self.id.clone(),
            })
        })
    }

    /// The process was reaped: the runtime's leftovers go.
    pub(super) fn clean(&self) {
        // See `started`.
        let _ = self.clean.send(());
    }

    /// Waits for the clean-up.
    pub(super) fn finish(self) {
        drop(self.clean);
        if self.thread.join().is_err() {
            let e = ContainerError::ThreadDied {
                what: "the side thread",
                id: self.id.clone(),
            };
            warn::container(&self.id, "cleaning up after the run", &e);
        }
    }
}

/// A pidfd of process `pid` (a child not reaped yet, so that the number
/// is still its).
pub(super) fn pidfd(pid: i32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags; the result is checked.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    let fd = i32::try_from(fd).ok().filter(|fd| *fd >= 0)?;
    // SAFETY: a new descriptor that nothing else owns.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// SIGKILL to the process of `pidfd`.
fn kill_process(pidfd: &OwnedFd) {
    use std::os::fd::AsRawFd;
    // SAFETY: pidfd_send_signal on a descriptor this process owns, with no
    // siginfo.
    unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            libc::SIGKILL,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        );
    }
}
