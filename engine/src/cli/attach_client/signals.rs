//! Docker's sig-proxy: the signals berth receives while attached, passed
//! on to the container.

use std::os::unix::net::UnixStream;

use crate::container::runc::Runtime;

/// The signals passed on to the container (Docker's client passes all it
/// can catch; these are the ones a terminal or a supervisor sends).
const PROXIED: [nix::sys::signal::Signal; 7] = {
    use nix::sys::signal::Signal;
    [
        Signal::SIGHUP,
        Signal::SIGINT,
        Signal::SIGQUIT,
        Signal::SIGTERM,
        Signal::SIGUSR1,
        Signal::SIGUSR2,
        Signal::SIGALRM,
    ]
};

/// Passes the signals berth receives on to a container, as docker's
/// sig-proxy: they are blocked for berth and read from a signalfd by
/// [`super::attached`], between the container's frames, so that no thread of
/// its own waits for them.
#[derive(Debug)]
pub struct SignalProxy {
    fd: nix::sys::signalfd::SignalFd,
    runtime: Runtime,
    id: String,
}

impl SignalProxy {
    /// From now on, the proxied signals go to container `id`. Made
    /// while berth runs one thread (a signal mask is a thread's; threads
    /// made later inherit it) and after the container's shim was started
    /// (which must not inherit it).
    pub fn new(runtime: Runtime, id: &str) -> nix::Result<Self> {
        use nix::sys::signal::SigSet;
        use nix::sys::signalfd::{SfdFlags, SignalFd};
        let mut set = SigSet::empty();
        for s in PROXIED {
            set.add(s);
        }
        set.thread_block()?;
        let fd = SignalFd::with_flags(&set, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)?;
        Ok(Self {
            fd,
            runtime,
            id: id.to_owned(),
        })
    }

    /// Sends the signals received so far.
    fn forward(&mut self) {
        while let Ok(Some(info)) = self.fd.read_signal() {
            if let Ok(sig) = nix::sys::signal::Signal::try_from(info.ssi_signo.cast_signed()) {
                // A container that exited meanwhile refuses it.
                let _ = self
                    .runtime
                    .kill(&self.id, sig.as_str().trim_start_matches("SIG"));
            }
        }
    }
}

/// Waits until `stream` has something to read, forwarding the signals the
/// proxy receives meanwhile.
pub(super) fn wait_readable(stream: &UnixStream, proxy: &mut SignalProxy) {
    use std::os::fd::AsRawFd;
    loop {
        let mut fds = [
            libc::pollfd {
                fd: stream.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: proxy.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: poll on two descriptors that live across the call, with
        // the array's own length.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
        if n < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return;
        }
        if fds[1].revents != 0 {
            proxy.forward();
        }
        if fds[0].revents != 0 {
            return;
        }
    }
}
