//! The attached side of a container's streams, as `run` (in the
//! foreground), `start -a` and `attach` use it: berth's standard input to
//! the container's shim, the container's output to berth's standard
//! output and error, with docker's detach keys ([`detach_keys`]), its
//! sig-proxy ([`SignalProxy`]) and, for `-t`, berth's terminal in raw mode
//! with its size followed (`terminal`).

pub mod detach_keys;
mod signals;
mod terminal;

use std::io::Read;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

pub use self::detach_keys::DetachKeys;
pub use self::signals::SignalProxy;

use self::detach_keys::Watcher;
use self::signals::wait_readable;
use self::terminal::{RawTerminal, follow_size};
use super::exit::Failure;
use super::io::Io;
use crate::container::attach::{self, Kind};

/// What an attached command does with berth's standard input.
#[derive(Debug, Clone, Copy, Default)]
pub struct Input<'a> {
    /// Forward it to the container.
    pub forward: bool,
    /// At its end, close the container's input too (`run -i`, and
    /// `attach` to a container whose input closes after one attach).
    pub close_at_end: bool,
    /// Leave (the container going on) when these keys are typed.
    pub detach_keys: Option<&'a DetachKeys>,
}

/// Relays an attached container: berth's stdin as `input_plan` says,
/// output to berth's stdout and stderr (one stream with `tty`, berth's
/// terminal then in raw mode and its size followed); returns the exit
/// code, 0 when the user detached.
pub fn attached(
    stream: UnixStream,
    input_plan: Input<'_>,
    tty: bool,
    mut signals: Option<SignalProxy>,
    io: &mut Io<'_>,
) -> Result<i32, Failure> {
    let _raw = RawTerminal::enter(tty);
    if tty {
        follow_size(stream.try_clone()?);
    }
    let detached = Arc::new(AtomicBool::new(false));
    if input_plan.forward {
        // As Docker: the detach keys are watched for on a terminal only.
        let watcher = input_plan
            .detach_keys
            .filter(|_| tty)
            .map(DetachKeys::watcher);
        // berth's own stdin handle is locked by the command line for its
        // whole run: read the descriptor through a duplicate instead.
        let input =
            std::fs::File::from(std::os::fd::AsFd::as_fd(&std::io::stdin()).try_clone_to_owned()?);
        let forward = Forward {
            writer: stream.try_clone()?,
            watcher,
            close_at_end: input_plan.close_at_end,
            detached: Arc::clone(&detached),
        };
        std::thread::spawn(move || forward.run(input));
    }
    let mut reader = stream;
    loop {
        if let Some(proxy) = signals.as_mut() {
            wait_readable(&reader, proxy);
        }
        match attach::read_frame(&mut reader) {
            Ok(Some((Kind::Stdout, data))) => {
                io.stdout.write_all(&data)?;
                io.stdout.flush()?;
            }
            Ok(Some((Kind::Stderr, data))) => {
                io.stderr.write_all(&data)?;
                io.stderr.flush()?;
            }
            Ok(Some((Kind::Exit, data))) => return Ok(attach::code_of(&data)),
            Ok(Some((Kind::Error, data))) => {
                let code = attach::code_of(&data);
                let msg = String::from_utf8_lossy(data.get(4..).unwrap_or_default()).into_owned();
                return Err(Failure::new(
                    code,
                    format!("berth: Error response from daemon: {msg}."),
                ));
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) if detached.load(Ordering::SeqCst) => {
                return Ok(0);
            }
            Ok(None) | Err(_) => {
                return Err(Failure::new(125, "berth: the container's shim went away"));
            }
        }
    }
}

/// berth's standard input on its way to the container, in a thread of
/// its own.
struct Forward {
    /// The shim's connection.
    writer: UnixStream,
    /// The detach keys, watched for.
    watcher: Option<Watcher>,
    /// At the input's end, the container's closes too.
    close_at_end: bool,
    /// Set when the user detached.
    detached: Arc<AtomicBool>,
}

impl Forward {
    /// Forwards `input` until it ends, the shim goes or the user detaches.
    fn run(mut self, mut input: std::fs::File) {
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            let n = match input.read(&mut buf) {
                Ok(0) | Err(_) => {
                    if self.close_at_end {
                        // The shim went away when this fails: nothing to close.
                        let _ = attach::write_frame(&mut self.writer, Kind::CloseStdin, &[]);
                    }
                    return;
                }
                Ok(n) => n,
            };
            let mut pass = Vec::new();
            let (data, leave) = match self.watcher.as_mut() {
                Some(w) => {
                    let leave = w.feed(&buf[..n], &mut pass);
                    (pass.as_slice(), leave)
                }
                None => (&buf[..n], false),
            };
            if !data.is_empty() && attach::write_frame(&mut self.writer, Kind::Stdin, data).is_err()
            {
                return;
            }
            if leave {
                // The container goes on; this command leaves.
                self.detached.store(true, Ordering::SeqCst);
                // Ends the relay, which sees the connection close.
                let _ = self.writer.shutdown(std::net::Shutdown::Both);
                return;
            }
        }
    }
}
