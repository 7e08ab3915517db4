//! `berth attach [--no-stdin] [--sig-proxy] CONTAINER`: this terminal's
//! streams joined to a running container's, through its shim's attach
//! socket, until the container exits; berth exits with its code.

use std::os::unix::net::UnixStream;

use clap::{ArgAction, Args};
use nix::sys::signal::{SigSet, Signal};

use super::Globals;
use super::run::attached;
use crate::cli::Io;
use crate::cli::exit::Failure;
use crate::container::Status;
use crate::container::runc::Runtime;

/// `attach`.
#[derive(Debug, Args)]
pub struct AttachArgs {
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys", value_name = "string")]
    pub detach_keys: Option<String>,
    /// Do not attach STDIN
    #[arg(long = "no-stdin")]
    pub no_stdin: bool,
    /// Proxy all received signals to the process
    #[arg(
        long = "sig-proxy",
        value_name = "bool",
        default_value_t = true,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        action = ArgAction::Set
    )]
    pub sig_proxy: bool,
    /// The container
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

/// The signals passed on to the container (Docker's client passes all it
/// can catch; these are the ones a terminal or a supervisor sends).
const PROXIED: [Signal; 7] = [
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGTERM,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGALRM,
];

/// Sends the signals berth receives to container `id` from now on (they
/// no longer act on berth itself). Must run before other threads start,
/// so that they all leave these signals to the forwarding thread.
fn proxy_signals(runtime: Runtime, id: String) -> Result<(), Failure> {
    let mut set = SigSet::empty();
    for s in PROXIED {
        set.add(s);
    }
    set.thread_block()
        .map_err(|e| Failure::new(1, format!("berth: blocking signals: {e}")))?;
    std::thread::spawn(move || {
        while let Ok(sig) = set.wait() {
            let _ = runtime.kill(&id, sig.as_str().trim_start_matches("SIG"));
        }
    });
    Ok(())
}

/// Runs `attach`.
pub fn run(a: &AttachArgs, g: &Globals, io: &mut Io<'_>) -> Result<(), Failure> {
    let keys = super::detach_keys::from_flag(a.detach_keys.as_deref())?;
    let engine = g.engine()?;
    let c = engine
        .get(&a.container)
        .map_err(|e| Failure::new(1, format!("Error response from daemon: {e}")))?;
    match c.state.status {
        Status::Running => {}
        Status::Paused => {
            return Err(Failure::new(
                1,
                "You cannot attach to a paused container, unpause it first",
            ));
        }
        Status::Restarting => {
            return Err(Failure::new(
                1,
                "You cannot attach to a restarting container, wait until it is running",
            ));
        }
        _ => {
            return Err(Failure::new(
                1,
                "You cannot attach to a stopped container, start it first",
            ));
        }
    }
    let sock = engine.containers.run_dir_of(&c.id).join("attach.sock");
    let stream = UnixStream::connect(&sock).map_err(|e| {
        Failure::new(
            1,
            format!("Error response from daemon: attaching to {}: {e}", c.id),
        )
    })?;
    if a.sig_proxy && !c.config.tty {
        proxy_signals(engine.runtime_of(&c), c.id.clone())?;
    }
    let input = super::run::Input {
        forward: c.config.open_stdin && !a.no_stdin,
        close_at_end: c.config.stdin_once,
        detach_keys: Some(&keys),
    };
    let code = match attached(stream, input, c.config.tty, io) {
        Ok(code) => code,
        // It ended as we came: its code is recorded.
        Err(f) if f.code == 125 && f.message.ends_with("shim went away") => {
            engine.wait(&c.id).map_err(|_| f)?
        }
        Err(f) => return Err(f),
    };
    if code == 0 {
        Ok(())
    } else {
        Err(Failure::new(code, String::new()))
    }
}
