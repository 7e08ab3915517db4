//! The shim's protocol with the command that started it: descriptors it
//! passed (see [`crate::container::spawn`]), the ready pipe on which the
//! shim says once how the start went (`ok`, or `CODE message`), and the go
//! pipe of a container stored while its shim prepares (see
//! [`crate::container::ops::Starting`]).

use std::io::Write;
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::mpsc::Receiver;

use crate::container::error::Result;

/// Telling the starting command how the start went, once: `ok` when the
/// container runs (and its attach socket is there), or `CODE message`.
pub(super) struct Ready {
    pipe: Option<std::fs::File>,
    /// Whether the attach socket could be made (see
    /// [`super::streams::accept_clients`]), awaited before `ok`.
    pub(super) listening: Option<Receiver<Result<()>>>,
    /// The go pipe of a container stored while its shim prepares; `None`
    /// once read, or when there is none.
    go: Option<std::fs::File>,
}

impl Ready {
    /// The pipes the starting command passed, those that are open.
    pub(super) fn passed() -> Self {
        use crate::container::spawn::{GO_FD, READY_FD};
        Self {
            pipe: passed_fd(READY_FD).map(std::fs::File::from),
            listening: None,
            go: passed_fd(GO_FD).map(std::fs::File::from),
        }
    }

    /// The container runs: waits for the attach socket, then says so. A
    /// socket that could not be made leaves the container running, without
    /// later attached commands (the shim's log says why).
    pub(super) fn ok(&mut self) {
        if let Some(rx) = self.listening.take()
            && let Ok(Err(e)) = rx.recv()
        {
            eprintln!("berth shim: {e}");
        }
        self.say("ok");
    }

    /// Hands the telling over to another owner (a thread); this one then
    /// says nothing.
    pub(super) fn detach(&mut self) -> Self {
        Self {
            pipe: self.pipe.take(),
            listening: self.listening.take(),
            go: None,
        }
    }

    /// Whether the container may start: waits, the first time, for the
    /// starting command to say `go` once it has stored the container.
    /// Anything else (it failed, or died) calls the start off.
    pub(super) fn go(&mut self) -> bool {
        let Some(pipe) = self.go.take() else {
            return true;
        };
        let mut line = String::new();
        // A pipe that cannot be read says no `go`.
        let _ = std::io::BufRead::read_line(&mut std::io::BufReader::new(pipe), &mut line);
        line.trim() == "go"
    }

    /// Says `message` (the first time only).
    pub(super) fn say(&mut self, message: &str) {
        if let Some(mut f) = self.pipe.take() {
            // The starting command is gone: nobody is left to tell.
            let _ = writeln!(f, "{message}");
        }
    }
}

/// A descriptor the starting command passed, when it is open.
pub(super) fn passed_fd(fd: i32) -> Option<OwnedFd> {
    // SAFETY: fcntl only asks whether `fd` is open.
    let open = unsafe { libc::fcntl(fd, libc::F_GETFD) } >= 0;
    // SAFETY: an open descriptor at this number was placed there for the
    // shim by the starting command (see `spawn`), and is the shim's alone.
    open.then(|| unsafe { OwnedFd::from_raw_fd(fd) })
}
