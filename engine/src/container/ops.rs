//! Container lifecycle operations run by the berth command line: start
//! (spawning the shim), stop, kill, remove, wait; and noticing a shim that
//! died so that no container stays "running" forever.

use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::error::{ContainerError, Result};
use super::record::{Container, Status};
use super::rootfs::Overlay;
use super::runc::Runtime;
use super::shim::ShimConfig;
use super::spawn::{self, ShimFds};
use super::store::Containers;
use crate::warn;

/// Everything the commands need: the stores, the runtime, netd's socket.
#[derive(Debug, Clone)]
pub struct Engine {
    /// berth's root.
    pub root: PathBuf,
    /// berth's runroot.
    pub runroot: PathBuf,
    /// Containers.
    pub containers: Containers,
    /// The OCI runtime.
    pub runtime: Runtime,
    /// netd's socket.
    pub netd_host: String,
}

impl Engine {
    /// Opens the container store under `root`/`runroot` with `runtime`.
    pub fn open(
        root: PathBuf,
        runroot: PathBuf,
        runtime: PathBuf,
        netd_host: String,
    ) -> Result<Self> {
        let containers = Containers::open(&root, &runroot)?;
        let state_dir = runroot.join("runtime");
        Ok(Self {
            runtime: Runtime {
                binary: runtime,
                state_dir,
            },
            containers,
            root,
            runroot,
            netd_host,
        })
    }

    /// The runtime of container `c`: the one it was created with (older
    /// records have none: this berth's).
    pub fn runtime_of(&self, c: &Container) -> Runtime {
        let mut rt = self.runtime.clone();
        if !c.host_config.runtime.is_empty() {
            rt.binary = PathBuf::from(&c.host_config.runtime);
        }
        rt
    }

    fn shim_alive(&self, id: &str) -> bool {
        let pid_file = self.containers.run_dir_of(id).join("shim.pid");
        std::fs::read_to_string(pid_file)
            .ok()
            .and_then(|p| p.trim().parse::<i32>().ok())
            .is_some_and(process_alive)
    }

    /// The container `term` names, its state corrected when its shim died
    /// (a crash or a reboot): then it is reported exited.
    pub fn get(&self, term: &str) -> Result<Container> {
        let c = self.containers.find(term)?;
        self.refresh(c)
    }

    /// Corrects a record whose shim is gone.
    pub fn refresh(&self, c: Container) -> Result<Container> {
        let live = matches!(
            c.state.status,
            Status::Running | Status::Paused | Status::Restarting
        );
        if !live || self.shim_alive(&c.id) {
            return Ok(c);
        }
        self.containers.update(&c.id, Container::shim_gone)
    }

    /// Every container, states corrected.
    pub fn list(&self) -> Result<Vec<Container>> {
        self.containers
            .list()?
            .into_iter()
            .map(|c| self.refresh(c))
            .collect()
    }

    /// Starts container `id`'s shim. With `attach`, the shim waits for the
    /// returned connection before it starts the process, so that no output
    /// is missed. Returns once the process runs (or failed to start: the
    /// error carries Docker's exit code, see [`StartError`]).
    pub fn start(&self, c: &Container, attach: bool) -> Result<Option<UnixStream>, StartError> {
        if matches!(c.state.status, Status::Running | Status::Paused) && self.shim_alive(&c.id) {
            return Ok(None);
        }
        self.spawn_shim(c, attach, None)?.until_ready()
    }

    /// Starts the shim of container `c`, not stored yet: the shim prepares
    /// the run (its root, its files, its spec) while the caller stores the
    /// container, and starts the process once told to go (see
    /// [`Starting`]). The store's writes, which sync to disk, then cost
    /// the start nothing.
    pub fn start_new(&self, c: &Container, attach: bool) -> Result<Starting, StartError> {
        let (go_r, go_w) = std::io::pipe().map_err(|e| {
            StartError::engine(ContainerError::io(
                "pipe",
                self.containers.run_dir_of(&c.id),
            )(e))
        })?;
        let shim = self.spawn_shim(c, attach, Some(&go_r))?;
        Ok(Starting { go: go_w, shim })
    }

    fn spawn_shim(
        &self,
        c: &Container,
        attach: bool,
        go: Option<&std::io::PipeReader>,
    ) -> Result<Shim, StartError> {
        let run_dir = self.containers.run_dir_of(&c.id);
        std::fs::create_dir_all(&run_dir)
            .map_err(|e| StartError::engine(ContainerError::io("create directory", &run_dir)(e)))?;
        self.mark_stopped(&c.id, false);
        let (ready_r, ready_w) = std::io::pipe()
            .map_err(|e| StartError::engine(ContainerError::io("pipe", &run_dir)(e)))?;
        // The attached command's connection exists before the shim does:
        // nothing to wait for, and no output before it.
        let pair = attach
            .then(UnixStream::pair)
            .transpose()
            .map_err(|e| StartError::engine(ContainerError::io("socketpair", &run_dir)(e)))?;
        let exe = std::env::current_exe()
            .map_err(|e| StartError::engine(ContainerError::io("finding", "berth")(e)))?;
        let log = std::fs::File::create(run_dir.join("shim.log")).map_err(|e| {
            StartError::engine(ContainerError::io("create", run_dir.join("shim.log"))(e))
        })?;
        let cfg = ShimConfig {
            root: self.root.clone(),
            runroot: self.runroot.clone(),
            runtime: self.runtime_of(c).binary,
            netd_host: self.netd_host.clone(),
            id: c.id.clone(),
            wait_attach: attach,
            record: Some(c.clone()),
        };
        let fds = ShimFds {
            log: &log,
            ready: &ready_w,
            attach: pair.as_ref().map(|(_, shim_end)| shim_end),
            go,
        };
        let pid = spawn::spawn(&cfg, &exe, &fds).map_err(StartError::engine)?;
        Ok(Shim {
            id: c.id.clone(),
            pid,
            ready: ready_r,
            stream: pair.map(|(cli_end, _)| cli_end),
            run_dir,
        })
    }
    /// `stop`: the stop signal, then SIGKILL after `timeout`; waits until
    /// the container has exited.
    pub fn stop(&self, c: &Container, timeout: Option<i64>) -> Result<()> {
        if !matches!(
            c.state.status,
            Status::Running | Status::Paused | Status::Restarting
        ) {
            return Ok(());
        }
        self.mark_stopped(&c.id, true);
        // The runtime's refusals below are those of a container that
        // exited meanwhile: the wait sees it.
        if c.state.status == Status::Paused {
            let _ = self.runtime_of(c).pause(&c.id, false);
        }
        let signal = c
            .config
            .stop_signal
            .clone()
            .unwrap_or_else(|| "TERM".into());
        let secs = timeout.or(c.config.stop_timeout).unwrap_or(10).max(0);
        let _ = self
            .runtime_of(c)
            .kill(&c.id, signal.trim_start_matches("SIG"));
        #[allow(clippy::cast_sign_loss)]
        let grace = Duration::from_secs(secs as u64);
        if !self.wait_exit(&c.id, grace) {
            let _ = self.runtime_of(c).kill(&c.id, "KILL");
            self.wait_exit(&c.id, Duration::from_secs(30));
        }
        Ok(())
    }

    /// Waits up to `limit` until the container is no longer running;
    /// true when it stopped (or is gone).
    pub fn wait_exit(&self, id: &str, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            match self.containers.load(id).and_then(|c| self.refresh(c)) {
                Ok(c)
                    if matches!(
                        c.state.status,
                        Status::Running | Status::Paused | Status::Restarting
                    ) => {}
                _ => return true,
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// `kill`: a signal to a running container.
    pub fn kill(&self, c: &Container, signal: &str) -> Result<()> {
        if !matches!(c.state.status, Status::Running | Status::Paused) {
            return Err(ContainerError::NotRunning {
                name: c.short_name().to_owned(),
                id: c.id.clone(),
            });
        }
        self.runtime_of(c)
            .kill(&c.id, signal.trim_start_matches("SIG"))
    }

    /// `rm`: refused while running unless `force` (then killed first).
    pub fn remove(&self, c: &Container, force: bool) -> Result<()> {
        if matches!(
            c.state.status,
            Status::Running | Status::Paused | Status::Restarting
        ) {
            if !force {
                return Err(ContainerError::RemoveRunning {
                    name: c.short_name().to_owned(),
                    id: c.id.clone(),
                });
            }
            self.mark_stopped(&c.id, true);
            // Refused only when it exited meanwhile.
            let _ = self.runtime_of(c).kill(&c.id, "KILL");
            self.wait_exit(&c.id, Duration::from_secs(30));
        }
        // Wait for the shim's own clean-up (sandbox, root) to finish.
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.shim_alive(&c.id) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let c = match self.containers.load(&c.id) {
            Ok(c) => c,
            // An --rm container its shim removed already.
            Err(ContainerError::NotFound(_)) => return Ok(()),
            Err(e) => return Err(e),
        };
        // Refused when the shim deleted it already, as it does.
        let _ = self.runtime_of(&c).delete(&c.id);
        let overlay = Overlay::for_container(
            &self.containers.dir_of(&c.id),
            c.lower_dirs.iter().map(PathBuf::from).collect(),
        );
        overlay.unmount()?;
        if super::shim::uses_netd_sandbox(&c)
            && let Ok(netd) = super::network::Netd::connect(&self.netd_host, &self.runroot)
        {
            netd.detach(&c.id);
        }
        self.containers.remove(&c)
    }

    /// Marks container `id` stopped by a command (`on`), so that its shim
    /// does not restart it, or no longer (a start). A mark that cannot be
    /// changed is warned about: the restart policy then acts on it.
    fn mark_stopped(&self, id: &str, on: bool) {
        let path = self.containers.run_dir_of(id).join("stopped");
        let changed = if on {
            std::fs::write(&path, "")
        } else {
            std::fs::remove_file(&path)
        };
        match changed {
            Err(e) if on || e.kind() != std::io::ErrorKind::NotFound => {
                let op = if on { "write" } else { "remove" };
                warn::container(
                    id,
                    "marking the container stopped",
                    &ContainerError::io(op, &path)(e),
                );
            }
            _ => {}
        }
    }

    /// `wait`: blocks until the container exits; its exit code.
    pub fn wait(&self, id: &str) -> Result<i32> {
        loop {
            let c = match self.containers.load(id) {
                Ok(c) => self.refresh(c)?,
                Err(e) => return Err(e),
            };
            if matches!(
                c.state.status,
                Status::Exited | Status::Dead | Status::Created
            ) {
                return Ok(c.state.exit_code);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A shim just started, whose readiness the starting command awaits.
#[derive(Debug)]
struct Shim {
    id: String,
    pid: i32,
    ready: std::io::PipeReader,
    stream: Option<UnixStream>,
    run_dir: PathBuf,
}

impl Shim {
    /// Waits until the shim says the process runs, or why it does not.
    fn until_ready(self) -> Result<Option<UnixStream>, StartError> {
        let mut line = String::new();
        let _ = BufReader::new(self.ready).read_line(&mut line);
        let line = line.trim();
        if line == "ok" {
            // The shim reparents to init when this command exits before it
            // (an attached command exits as soon as the container ended).
            return Ok(self.stream);
        }
        // A shim that failed has exited, or is about to: reaped here.
        let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(self.pid), None);
        let (code, message) = match line.split_once(' ') {
            Some((code, msg)) => (code.parse().unwrap_or(125), msg.to_owned()),
            None => (
                125,
                format!(
                    "the container's shim failed: {}",
                    std::fs::read_to_string(self.run_dir.join("shim.log"))
                        .unwrap_or_default()
                        .trim()
                ),
            ),
        };
        Err(StartError { code, message })
    }
}

/// The start of a container that its caller is storing meanwhile (see
/// [`Engine::start_new`]): [`Starting::go`] once it is stored, else
/// [`Starting::call_off`].
#[derive(Debug)]
pub struct Starting {
    go: std::io::PipeWriter,
    shim: Shim,
}

impl Starting {
    /// The container is stored: the process starts. Returns as
    /// [`Engine::start`].
    pub fn go(mut self) -> Result<Option<UnixStream>, StartError> {
        use std::io::Write;
        // A shim that failed before it waits for this has said why on its
        // ready pipe: a write it cannot read changes nothing.
        let _ = self.go.write_all(b"go\n");
        drop(self.go);
        self.shim.until_ready()
    }

    /// The container could not be stored: the shim undoes what it
    /// prepared and leaves; so does its run directory.
    pub fn call_off(self) {
        drop(self.go);
        // Reaped here; it cannot fail for a child of ours.
        let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(self.shim.pid), None);
        if let Err(e) = std::fs::remove_dir_all(&self.shim.run_dir) {
            let e = ContainerError::io("remove", &self.shim.run_dir)(e);
            warn::container(&self.shim.id, "removing the run directory", &e);
        }
    }
}

/// Whether process `pid` exists and is not a zombie (a dead shim whose
/// parent has not reaped it yet is dead all the same).
fn process_alive(pid: i32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // `pid (comm) S …`: the state follows the last `)`.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .is_some_and(|state| state != "Z" && state != "X")
}

/// A container that could not start, with the exit code Docker gives
/// (125 engine error, 126 not executable, 127 not found).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartError {
    /// Exit code.
    pub code: i32,
    /// What happened.
    pub message: String,
}

impl StartError {
    fn engine(e: ContainerError) -> Self {
        Self {
            code: 125,
            message: e.to_string(),
        }
    }
}
