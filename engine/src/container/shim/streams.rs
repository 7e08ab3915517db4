//! The container's standard streams in the shim: the attached commands
//! ([`Clients`], on `RUN_DIR/attach.sock`), what they send to the
//! container's input ([`Input`]), its terminal, and the pumps that copy
//! its output to the json-file log and to every attached command.

use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::container::attach::{self, Kind};
use crate::container::error::{ContainerError, Result};
use crate::container::logs::{self, LineSplitter};

/// The commands attached now, and whether one ever came.
#[derive(Debug, Default)]
pub(super) struct Clients {
    streams: Mutex<Vec<UnixStream>>,
    arrived: Condvar,
}

impl Clients {
    /// Sends one frame to every attached command; those that went away
    /// are dropped.
    pub(super) fn broadcast(&self, kind: Kind, payload: &[u8]) {
        let mut streams = self.streams.lock().unwrap_or_else(PoisonError::into_inner);
        streams.retain_mut(|s| attach::write_frame(s, kind, payload).is_ok());
    }

    /// Waits until a command is attached, `timeout` at most.
    pub(super) fn wait_first(&self, timeout: Duration) {
        let streams = self.streams.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = self
            .arrived
            .wait_timeout_while(streams, timeout, |s| s.is_empty());
    }

    /// One more attached command: the output sent to it, and what it sends
    /// (input, terminal sizes) read when the container takes any.
    pub(super) fn add(&self, conn: UnixStream, stdin: &StdinSink, takes_input: bool) {
        if takes_input && let Ok(reader) = conn.try_clone() {
            let stdin = Arc::clone(stdin);
            std::thread::spawn(move || forward_input(reader, &stdin));
        }
        self.streams
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(conn);
        self.arrived.notify_all();
    }
}

/// Where the container's input goes: the write end of its stdin pipe, or
/// its terminal; and the terminal, for size changes.
#[derive(Default)]
pub(super) struct Input {
    pub(super) writer: Option<Box<dyn Write + Send>>,
    pub(super) console: Option<std::fs::File>,
}

/// The container's input, shared by the threads of attached commands.
pub(super) type StdinSink = Arc<Mutex<Input>>;

/// Locks the container's input.
pub(super) fn lock(stdin: &StdinSink) -> std::sync::MutexGuard<'_, Input> {
    stdin.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Listens on `sock` for attached commands, in a thread of its own; the
/// receiver learns whether the socket is there.
pub(super) fn accept_clients(
    sock: PathBuf,
    clients: Arc<Clients>,
    stdin: StdinSink,
    takes_input: bool,
) -> Receiver<Result<()>> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // A socket left by the last run; one that stays makes `bind` fail,
        // which is reported.
        let _ = std::fs::remove_file(&sock);
        let listener = match UnixListener::bind(&sock) {
            // The receiver is gone once the shim stopped waiting for this.
            Ok(l) => {
                let _ = tx.send(Ok(()));
                l
            }
            Err(e) => {
                let _ = tx.send(Err(ContainerError::io("listen on", &sock)(e)));
                return;
            }
        };
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            clients.add(conn, &stdin, takes_input);
        }
    });
    rx
}

/// Input frames of one client into the container's stdin.
fn forward_input(mut conn: UnixStream, stdin: &StdinSink) {
    while let Ok(Some((kind, payload))) = attach::read_frame(&mut conn) {
        let mut sink = lock(stdin);
        match kind {
            Kind::Stdin => {
                if let Some(w) = sink.writer.as_mut()
                    && w.write_all(&payload).is_err()
                {
                    sink.writer = None;
                }
            }
            Kind::CloseStdin if sink.console.is_none() => sink.writer = None,
            Kind::Resize => {
                if let (Some(console), [r0, r1, c0, c1]) = (&sink.console, payload.as_slice()) {
                    resize(
                        console,
                        u16::from_be_bytes([*r0, *r1]),
                        u16::from_be_bytes([*c0, *c1]),
                    );
                }
            }
            _ => {}
        }
    }
}

/// Sets a terminal's size.
fn resize(console: &std::fs::File, rows: u16, cols: u16) {
    use std::os::fd::AsRawFd;
    let size = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads one winsize from the pointer, valid here.
    unsafe {
        libc::ioctl(console.as_raw_fd(), libc::TIOCSWINSZ, &raw const size);
    }
}

/// Receives the terminal the runtime made for the container (the master
/// side, passed over `listener` with SCM_RIGHTS).
pub(super) fn receive_console(listener: &UnixListener, id: &str) -> Result<std::fs::File> {
    use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};
    use std::io::IoSliceMut;
    use std::os::fd::AsRawFd;
    const RECEIVING: &str = "receiving the container's terminal";
    let (conn, _) = listener
        .accept()
        .map_err(ContainerError::os(RECEIVING, id))?;
    let mut buf = [0u8; 4096];
    let mut iov = [IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let msg = recvmsg::<()>(
        conn.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::empty(),
    )
    .map_err(ContainerError::sys(RECEIVING, id))?;
    for cmsg in msg.cmsgs().map_err(ContainerError::sys(RECEIVING, id))? {
        if let ControlMessageOwned::ScmRights(fds) = cmsg
            && let Some(fd) = fds.first()
        {
            // SAFETY: the kernel just gave us this descriptor; nothing else owns it.
            return Ok(std::fs::File::from(unsafe { OwnedFd::from_raw_fd(*fd) }));
        }
    }
    Err(ContainerError::NoTerminal { id: id.to_owned() })
}

/// The json-file log of one run, shared by its pumps.
pub(super) type Log = Arc<Mutex<std::fs::File>>;

/// Copies one output stream of the container to the log and the clients;
/// with a `gate`, only once it says `true` (the process started: what the
/// runtime wrote there before is its own error, reported otherwise).
pub(super) fn pump(
    mut from: impl Read + Send + 'static,
    stream: &'static str,
    log: Log,
    clients: Arc<Clients>,
    gate: Option<Receiver<bool>>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        if let Some(gate) = gate
            && gate.recv() != Ok(true)
        {
            return;
        }
        let kind = if stream == "stdout" {
            Kind::Stdout
        } else {
            Kind::Stderr
        };
        let mut lines = LineSplitter::default();
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            clients.broadcast(kind, &buf[..n]);
            let mut f = log.lock().unwrap_or_else(PoisonError::into_inner);
            // A log that cannot be written (a full disk) must not stop the
            // output to attached commands.
            for piece in lines.push(&buf[..n]) {
                let _ = logs::write_entry(&mut *f, stream, &piece);
            }
        }
        if let Some(rest) = lines.finish() {
            let mut f = log.lock().unwrap_or_else(PoisonError::into_inner);
            let _ = logs::write_entry(&mut *f, stream, &rest);
        }
    })
}
