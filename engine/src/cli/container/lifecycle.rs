//! `start`, `stop`, `restart`, `kill`, `rm`, `pause`, `unpause`, `wait`,
//! `rename`, `container prune`: each takes containers by id, id prefix or
//! name, reports the ones it could not handle on standard error and exits
//! 1 then, as Docker does.

use clap::Args;

use crate::cli::attach_client::{self, Input, SignalProxy, detach_keys};
use crate::cli::exit::{Failure, daemon_message};
use crate::cli::flags::Force;
use crate::cli::global::Globals;
use crate::cli::io::Io;
use crate::container::{Container, ContainerError, Engine, Status};

/// Containers by name.
#[derive(Debug, Args)]
pub struct NamesArgs {
    /// Containers
    #[arg(value_name = "CONTAINER", required = true)]
    pub containers: Vec<String>,
}

/// `start`.
#[derive(Debug, Args)]
pub struct StartArgs {
    /// Attach STDOUT/STDERR and forward signals
    #[arg(short = 'a', long)]
    pub attach: bool,
    /// Attach container's STDIN
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys", value_name = "string")]
    pub detach_keys: Option<String>,
    /// Containers
    #[arg(value_name = "CONTAINER", required = true)]
    pub containers: Vec<String>,
}

/// `stop` and `restart`.
#[derive(Debug, Args)]
pub struct StopArgs {
    /// Seconds to wait before killing the container
    #[arg(
        short = 't',
        long = "time",
        alias = "timeout",
        value_name = "int",
        allow_hyphen_values = true
    )]
    pub time: Option<i64>,
    /// Signal to send to the container
    #[arg(short = 's', long, value_name = "string")]
    pub signal: Option<String>,
    /// Containers
    #[arg(value_name = "CONTAINER", required = true)]
    pub containers: Vec<String>,
}

/// `kill`.
#[derive(Debug, Args)]
pub struct KillArgs {
    /// Signal to send to the container
    #[arg(short = 's', long, value_name = "string", default_value = "KILL")]
    pub signal: String,
    /// Containers
    #[arg(value_name = "CONTAINER", required = true)]
    pub containers: Vec<String>,
}

/// `rm`.
#[derive(Debug, Args)]
pub struct RmArgs {
    /// Force the removal of a running container (uses SIGKILL)
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Remove anonymous volumes associated with the container
    #[arg(short = 'v', long)]
    pub volumes: bool,
    /// Remove the specified link
    #[arg(short = 'l', long)]
    pub link: bool,
    /// Containers
    #[arg(value_name = "CONTAINER", required = true)]
    pub containers: Vec<String>,
}

/// `rename`.
#[derive(Debug, Args)]
pub struct RenameArgs {
    /// The container
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    /// Its new name
    #[arg(value_name = "NEW_NAME")]
    pub new_name: String,
}

/// `container prune`.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// `-f, --force`.
    #[command(flatten)]
    pub force: Force,
}

fn daemon(e: &ContainerError) -> String {
    daemon_message(e)
}

/// Runs `f` on each container named; errors go to stderr, exit 1.
fn each(
    names: &[String],
    engine: &Engine,
    io: &mut Io<'_>,
    mut f: impl FnMut(&Container, &mut Io<'_>) -> Result<(), String>,
) -> Result<(), Failure> {
    let mut errors = Vec::new();
    for name in names {
        let outcome = engine
            .get(name)
            .map_err(|e| daemon(&e))
            .and_then(|c| f(&c, io));
        match outcome {
            Ok(()) => writeln!(io.stdout, "{name}")?,
            Err(m) => errors.push(m),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Failure::new(1, errors.join("\n")))
    }
}

/// `start`.
pub fn start(a: &StartArgs, g: &Globals, io: &mut Io<'_>) -> Result<(), Failure> {
    let engine = g.engine()?;
    if a.attach || a.interactive {
        let keys = detach_keys::from_flag(a.detach_keys.as_deref())?;
        if a.containers.len() > 1 {
            return Err(Failure::new(
                1,
                "you cannot start and attach multiple containers at once",
            ));
        }
        let c = engine
            .get(&a.containers[0])
            .map_err(|e| Failure::new(1, daemon(&e)))?;
        let stream = engine.start(&c, true).map_err(Failure::start)?;
        let Some(stream) = stream else {
            return Ok(());
        };
        let input = Input {
            forward: a.interactive && c.config.open_stdin,
            close_at_end: true,
            detach_keys: Some(&keys),
        };
        // As docker start -a: without a terminal, signals go to the container.
        let proxy = if c.config.tty {
            None
        } else {
            SignalProxy::new(engine.runtime_of(&c), &c.id).ok()
        };
        let code = attach_client::attached(stream, input, c.config.tty, proxy, io)?;
        return if code == 0 {
            Ok(())
        } else {
            Err(Failure::new(code, String::new()))
        };
    }
    let mut errors = Vec::new();
    for name in &a.containers {
        match engine.get(name) {
            Ok(c) => match engine.start(&c, false) {
                Ok(_) => writeln!(io.stdout, "{name}")?,
                Err(e) => errors.push(format!("Error response from daemon: {}", e.message)),
            },
            Err(e) => errors.push(daemon(&e)),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        errors.push(format!(
            "Error: failed to start containers: {}",
            a.containers.join(", ")
        ));
        Err(Failure::new(1, errors.join("\n")))
    }
}

/// `stop` (and `restart`: stop, then start).
pub fn stop(a: &StopArgs, g: &Globals, io: &mut Io<'_>, restart: bool) -> Result<(), Failure> {
    let engine = g.engine()?;
    each(&a.containers, &engine, io, |c, _| {
        let mut c = c.clone();
        if let Some(s) = &a.signal {
            c.config.stop_signal = Some(s.clone());
        }
        engine.stop(&c, a.time).map_err(|e| daemon(&e))?;
        if restart {
            let fresh = engine.get(&c.id).map_err(|e| daemon(&e))?;
            engine
                .start(&fresh, false)
                .map_err(|e| format!("Error response from daemon: {}", e.message))?;
        }
        Ok(())
    })
}

/// `kill`.
pub fn kill(a: &KillArgs, g: &Globals, io: &mut Io<'_>) -> Result<(), Failure> {
    let engine = g.engine()?;
    each(&a.containers, &engine, io, |c, _| {
        engine.kill(c, &a.signal).map_err(|e| daemon(&e))
    })
}

/// `rm`.
pub fn rm(a: &RmArgs, g: &Globals, io: &mut Io<'_>) -> Result<(), Failure> {
    let engine = g.engine()?;
    each(&a.containers, &engine, io, |c, _| {
        engine.remove(c, a.force).map_err(|e| daemon(&e))?;
        if a.volumes {
            crate::volume::remove_anonymous(&g.root, &engine.containers, c).map_err(|e| {
                format!("Error response from daemon: error while removing volume: {e}")
            })?;
        }
        Ok(())
    })
}

/// `pause` / `unpause`.
pub fn pause(a: &NamesArgs, g: &Globals, io: &mut Io<'_>, on: bool) -> Result<(), Failure> {
    let engine = g.engine()?;
    each(&a.containers, &engine, io, |c, _| {
        let running = c.state.status == Status::Running;
        let paused = c.state.status == Status::Paused;
        if on && !running {
            return Err(format!(
                "Error response from daemon: container {} is not running",
                c.id
            ));
        }
        if !on && !paused {
            return Err(format!(
                "Error response from daemon: container {} is not paused",
                c.id
            ));
        }
        engine
            .runtime_of(c)
            .pause(&c.id, on)
            .map_err(|e| daemon(&e))?;
        engine
            .containers
            .update(&c.id, |c| c.paused(on))
            .map(|_| ())
            .map_err(|e| daemon(&e))
    })
}

/// `wait`: prints each container's exit code.
pub fn wait(a: &NamesArgs, g: &Globals, io: &mut Io<'_>) -> Result<(), Failure> {
    let engine = g.engine()?;
    let mut errors = Vec::new();
    for name in &a.containers {
        match engine.get(name).and_then(|c| engine.wait(&c.id)) {
            Ok(code) => writeln!(io.stdout, "{code}")?,
            Err(e) => errors.push(daemon(&e)),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Failure::new(1, errors.join("\n")))
    }
}

/// `rename`.
pub fn rename(a: &RenameArgs, g: &Globals) -> Result<(), Failure> {
    let engine = g.engine()?;
    let c = engine
        .get(&a.container)
        .map_err(|e| Failure::new(1, daemon(&e)))?;
    engine
        .containers
        .rename(&c.id, &a.new_name)
        .map_err(|e| Failure::new(1, daemon(&e)))
}

/// `container prune`.
pub fn prune(a: &PruneArgs, g: &Globals, io: &mut Io<'_>) -> Result<(), Failure> {
    if !a.force.confirmed(
        io,
        "WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ",
    )? {
        return Ok(());
    }
    let engine = g.engine()?;
    let mut deleted = Vec::new();
    for c in engine.list().map_err(|e| Failure::new(1, daemon(&e)))? {
        if matches!(
            c.state.status,
            Status::Exited | Status::Created | Status::Dead
        ) && engine.remove(&c, false).is_ok()
        {
            deleted.push(c.id);
        }
    }
    if !deleted.is_empty() {
        writeln!(io.stdout, "Deleted Containers:")?;
        for id in &deleted {
            writeln!(io.stdout, "{id}")?;
        }
        writeln!(io.stdout)?;
    }
    writeln!(io.stdout, "Total reclaimed space: 0B")?;
    Ok(())
}
