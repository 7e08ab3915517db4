//! `berth attach [--no-stdin] [--sig-proxy] CONTAINER`: this terminal's
//! streams joined to a running container's, through its shim's attach
//! socket, until the container exits; berth exits with its code.

use std::os::unix::net::UnixStream;

use clap::{ArgAction, Args};

use crate::cli::attach_client::{self, Input, SignalProxy, detach_keys};
use crate::cli::exit::Failure;
use crate::cli::global::Globals;
use crate::cli::io::Io;
use crate::container::Status;

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

/// Runs `attach`.
pub fn run(a: &AttachArgs, g: &Globals, io: &mut Io<'_>) -> Result<(), Failure> {
    let keys = detach_keys::from_flag(a.detach_keys.as_deref())?;
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
    let proxy = if a.sig_proxy && !c.config.tty {
        SignalProxy::new(engine.runtime_of(&c), &c.id).ok()
    } else {
        None
    };
    let input = Input {
        forward: c.config.open_stdin && !a.no_stdin,
        close_at_end: c.config.stdin_once,
        detach_keys: Some(&keys),
    };
    let code = match attach_client::attached(stream, input, c.config.tty, proxy, io) {
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
