//! The shim: one `berth shim` process per running container (the berth
//! binary re-executed, detached from the command that started it). It is
//! the child subreaper of the container's processes, so the container's
//! init becomes its child once the runtime hands it over; it owns the
//! container's standard streams, writes the json-file log, serves attached
//! commands on `RUN_DIR/attach.sock`, records the exit code, applies the
//! restart policy, and on exit removes the container's sandbox (netd),
//! unmounts its root and, for `--rm`, removes the container.
//!
//! This module runs the container's runs one after the other, as its
//! restart policy says; `run_once` is one run, `streams` the attached
//! commands and the output pumps, `ready` the protocol with the starting
//! command, `side` the side thread of a run, `sandbox` a run's network
//! and `reap` the wait for the container's init.

mod ready;
mod reap;
mod run_once;
mod sandbox;
mod side;
mod streams;

use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use self::sandbox::uses_netd_sandbox;

use self::ready::Ready;
use self::run_once::Outcome;
use self::sandbox::Netd;
use self::streams::{Clients, Input, StdinSink};
use super::attach::Kind;
use super::error::{ContainerError, Result};
use super::logs;
use super::record::Container;
use super::rootfs::Overlay;
use super::runc::{self, Runtime};
use super::spawn::ATTACH_FD;
use super::store::Containers;
use crate::warn;

/// What the shim is told on its command line.
#[derive(Debug, Clone)]
pub struct ShimConfig {
    /// berth's root.
    pub root: PathBuf,
    /// berth's runroot.
    pub runroot: PathBuf,
    /// The OCI runtime binary.
    pub runtime: PathBuf,
    /// netd's socket.
    pub netd_host: String,
    /// The container.
    pub id: String,
    /// Wait for one attached command before starting the process.
    pub wait_attach: bool,
    /// The container's record as the starting command had it (a forked
    /// shim has it already); read from the store when `None`.
    pub record: Option<Container>,
}

/// Runs the shim until the container is finished with (exited for good,
/// or removed). Returns the last exit code.
pub fn run(cfg: &ShimConfig) -> i32 {
    let mut ready = Ready::passed();
    let attached = ready::passed_fd(ATTACH_FD).map(UnixStream::from);
    let code = match serve(cfg, &mut ready, attached) {
        Ok(code) => code,
        // The starting command reports why; nothing is left to tell.
        Err(ContainerError::CalledOff) => 125,
        Err(e) => {
            let code = exit_code_of(&e);
            ready.say(&format!("{code} {e}"));
            code
        }
    };
    // A sandbox removal netd was away for is tried again for a while.
    crate::container::network::settle_pending(&cfg.runroot, &cfg.netd_host, &cfg.id);
    code
}

/// The exit code Docker gives a container that could not start with `e`.
fn exit_code_of(e: &ContainerError) -> i32 {
    match e {
        ContainerError::Runtime { message, .. } => runc::start_failure_code(message),
        _ => 125,
    }
}

fn serve(cfg: &ShimConfig, ready: &mut Ready, attached: Option<UnixStream>) -> Result<i32> {
    nix::sys::prctl::set_child_subreaper(true)
        .map_err(ContainerError::sys("becoming a subreaper", &cfg.id))?;
    let store = Containers::open(&cfg.root, &cfg.runroot)?;
    let run_dir = store.run_dir_of(&cfg.id);
    std::fs::create_dir_all(&run_dir).map_err(ContainerError::io("create directory", &run_dir))?;
    std::fs::write(run_dir.join("shim.pid"), std::process::id().to_string())
        .map_err(ContainerError::io("write", run_dir.join("shim.pid")))?;
    let c = match &cfg.record {
        Some(c) => c.clone(),
        // Read from the store, it must be there first.
        None if !ready.go() => return Err(ContainerError::CalledOff),
        None => store.load(&cfg.id)?,
    };
    let shim = Shim::new(cfg, store, &c)?;
    if let Some(conn) = attached {
        shim.clients.add(conn, &shim.stdin, shim.takes_input);
    }
    shim.supervise(c, ready)
}

/// What every run of one container shares: the shim's configuration, the
/// store, the runtime, netd (for a container with a sandbox there), the
/// attached commands and the container's input.
struct Shim<'a> {
    cfg: &'a ShimConfig,
    store: Containers,
    runtime: Runtime,
    netd: Option<Netd>,
    clients: Arc<Clients>,
    stdin: StdinSink,
    /// Whether attached commands send anything: input, or a terminal's
    /// size.
    takes_input: bool,
}

impl<'a> Shim<'a> {
    fn new(cfg: &'a ShimConfig, store: Containers, c: &Container) -> Result<Self> {
        let netd = if uses_netd_sandbox(c) {
            Some(Netd::connect(&cfg.netd_host, &cfg.runroot).map_err(ContainerError::netd(&c.id))?)
        } else {
            None
        };
        Ok(Self {
            cfg,
            store,
            runtime: Runtime {
                binary: cfg.runtime.clone(),
                state_dir: cfg.runroot.join("runtime"),
            },
            netd,
            clients: Arc::new(Clients::default()),
            stdin: Arc::new(Mutex::new(Input::default())),
            takes_input: c.config.open_stdin || c.config.tty,
        })
    }

    /// Runs container `c`, again as its restart policy says; returns the
    /// last exit code.
    fn supervise(&self, c: Container, ready: &mut Ready) -> Result<i32> {
        let run_dir = self.store.run_dir_of(&self.cfg.id);
        let mut first = true;
        let mut backoff = Duration::from_millis(100);
        let mut next = Some(c);
        loop {
            let c = match next.take() {
                Some(c) => c,
                None => self.store.load(&self.cfg.id)?,
            };
            let outcome = run_once::run(self, &c, first, ready);
            first = false;
            let code = match outcome {
                Ok(Outcome::Removed(code)) => {
                    self.clients.broadcast(Kind::Exit, &code.to_be_bytes());
                    return Ok(code);
                }
                Ok(Outcome::Exited(code)) => code,
                // A failure before the container was stored, or the start
                // called off: what was prepared goes, and nothing is
                // recorded.
                Err(e) if matches!(e, ContainerError::CalledOff) || !ready.go() => {
                    self.call_off(&c);
                    return Err(ContainerError::CalledOff);
                }
                Err(e) => return Err(self.start_failed(&c, e)),
            };
            let c = self.store.load(&self.cfg.id)?;
            let stopped = run_dir.join("stopped").exists();
            if !stopped && should_restart(&c, code) {
                self.clients.broadcast(Kind::Exit, &code.to_be_bytes());
                // As Docker: the network goes with the run; the next run
                // connects afresh.
                if let Some(netd) = &self.netd {
                    netd.detach(&self.cfg.id);
                }
                if let Err(e) = self.store.update(&self.cfg.id, Container::restarting) {
                    warn::container(&self.cfg.id, "recording the restart", &e);
                }
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(10));
                continue;
            }
            // Attached commands learn the code once everything is cleaned
            // up (an --rm container removed), as `docker run --rm` returns.
            self.finish(&c);
            self.clients.broadcast(Kind::Exit, &code.to_be_bytes());
            return Ok(code);
        }
    }

    /// Container `c` could not start (`e`): recorded, attached commands
    /// told, and what the start left cleaned up. Returns `e`.
    fn start_failed(&self, c: &Container, e: ContainerError) -> ContainerError {
        let code = exit_code_of(&e);
        let message = e.to_string();
        let finished = logs::now();
        let recorded = self.store.update(&self.cfg.id, |c| {
            c.start_failed(code, message.clone(), finished);
        });
        if let Err(w) = recorded {
            warn::container(&self.cfg.id, "recording the failed start", &w);
        }
        let mut payload = code.to_be_bytes().to_vec();
        payload.extend_from_slice(message.as_bytes());
        self.clients.broadcast(Kind::Error, &payload);
        self.finish(c);
        e
    }

    /// After the last run: the root unmounted, and for `--rm` the
    /// container removed.
    fn finish(&self, c: &Container) {
        let overlay = Overlay::for_container(
            &self.store.dir_of(&c.id),
            c.lower_dirs.iter().map(PathBuf::from).collect(),
        );
        if let Err(e) = overlay.unmount() {
            warn::container(&c.id, "unmounting the root", &e);
        }
        if let Some(netd) = &self.netd {
            netd.detach(&c.id);
        }
        if c.host_config.auto_remove {
            if let Err(e) = self.remove(c) {
                warn::container(&c.id, "removing the container", &e);
            }
        } else {
            let pid_file = self.store.run_dir_of(&self.cfg.id).join("shim.pid");
            if let Err(e) = remove_file(&pid_file) {
                warn::container(&c.id, "removing the shim's pid file", &e);
            }
        }
    }

    /// Undoes what the shim prepared for a container that was not stored:
    /// its root unmounted, its directory removed (the starting command
    /// removes the run directory once the shim is gone).
    fn call_off(&self, c: &Container) {
        let dir = self.store.dir_of(&c.id);
        let overlay =
            Overlay::for_container(&dir, c.lower_dirs.iter().map(PathBuf::from).collect());
        if let Err(e) = overlay.unmount() {
            warn::container(&c.id, "unmounting the root", &e);
        }
        match std::fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                warn::container(&c.id, "removing", &ContainerError::io("remove", &dir)(e));
            }
            _ => {}
        }
    }

    /// Removes an `--rm` container whose root is unmounted and whose
    /// sandbox is gone: its record and directories, and, as Docker's
    /// `--rm`, its anonymous volumes.
    fn remove(&self, c: &Container) -> Result<()> {
        self.store.remove(c)?;
        if c.host_config.mounts.iter().any(|m| m.kind == "volume")
            && let Err(e) = crate::volume::remove_anonymous(&self.cfg.root, &self.store, c)
        {
            // The container is gone all the same; its volumes stay, as
            // named ones would.
            warn::container(&c.id, "removing its anonymous volumes", &e);
        }
        Ok(())
    }
}

/// Removes file `path`; one already gone is fine.
fn remove_file(path: &std::path::Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(ContainerError::io("remove", path)(e))
        }
        _ => Ok(()),
    }
}

/// Whether the restart policy runs the container again after `code`.
pub fn should_restart(c: &Container, code: i32) -> bool {
    let p = &c.host_config.restart_policy;
    match p.name.as_str() {
        "always" | "unless-stopped" => true,
        "on-failure" => {
            code != 0 && (p.maximum_retry_count == 0 || c.restart_count < p.maximum_retry_count)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::record::RestartPolicy;

    fn with_policy(name: &str, max: i64, restarts: i64) -> Container {
        let mut c = Container::default();
        c.host_config.restart_policy = RestartPolicy {
            name: name.into(),
            maximum_retry_count: max,
        };
        c.restart_count = restarts;
        c
    }

    #[test]
    fn restart_policies_follow_docker() {
        assert!(!should_restart(&with_policy("", 0, 0), 1));
        assert!(!should_restart(&with_policy("no", 0, 0), 1));
        assert!(should_restart(&with_policy("always", 0, 5), 0));
        assert!(should_restart(&with_policy("unless-stopped", 0, 0), 0));
        assert!(!should_restart(&with_policy("on-failure", 0, 0), 0));
        assert!(should_restart(&with_policy("on-failure", 0, 9), 3));
        assert!(should_restart(&with_policy("on-failure", 2, 1), 3));
        assert!(!should_restart(&with_policy("on-failure", 2, 2), 3));
    }
}
