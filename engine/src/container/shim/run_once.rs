//! One run of the container: its network, its root and OCI bundle, the
//! runtime's start (with a terminal, or pipes for its output), the record
//! of the start, the wait for its exit, and what the exit leaves to clean.

use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::ready::Ready;
use super::side::{SideWork, pidfd};
use super::streams::{self, Input, Log, accept_clients, pump, receive_console};
use super::{Shim, reap, sandbox};
use crate::container::error::{ContainerError, Result};
use crate::container::logs;
use crate::container::network::Attached;
use crate::container::record::Container;
use crate::container::rootfs::Overlay;
use crate::container::runtime_binary;
use crate::warn;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// With this exit code, recorded.
    Exited(i32),
    /// With this exit code, and the container (`--rm`) removed with it.
    Removed(i32),
}

/// Runs container `c` once, until its process exits (`first`: the
/// shim's first run, the one an attached command may wait for). Its
/// sandbox goes when the run fails.
pub(super) fn run(
    shim: &Shim<'_>,
    c: &Container,
    first: bool,
    ready: &mut Ready,
) -> Result<Outcome> {
    let dir = shim.store.dir_of(&c.id);
    // A container being stored as it starts may not have its directory yet.
    std::fs::create_dir_all(&dir).map_err(ContainerError::io("create directory", &dir))?;
    // The network first: the sandbox is the container's for this run.
    let attached = sandbox::network_of(&shim.store, shim.netd.as_ref(), c, &dir)?;
    let run = Run {
        shim,
        c,
        first,
        attached,
        run_dir: shim.store.run_dir_of(&c.id),
        dir,
    };
    let result = run.start_and_wait(ready);
    if result.is_err()
        && let Some(netd) = &shim.netd
    {
        netd.detach(&c.id);
    }
    result
}

/// One run: what it shares with the others, and its own.
struct Run<'a> {
    shim: &'a Shim<'a>,
    c: &'a Container,
    first: bool,
    attached: Attached,
    /// The container's directory (root, files).
    dir: PathBuf,
    /// Its runtime directory (bundle, sockets).
    run_dir: PathBuf,
}

/// What a run made before its process exists.
struct Setup {
    overlay: Overlay,
    bundle: PathBuf,
    pid_file: PathBuf,
    hostname_path: PathBuf,
}

impl Run<'_> {
    fn start_and_wait(&self, ready: &mut Ready) -> Result<Outcome> {
        let setup = self.prepare()?;
        // Output must not be missed: the first run waits for the attached
        // command before the process exists.
        if self.first && self.shim.cfg.wait_attach {
            self.shim.clients.wait_first(Duration::from_secs(10));
        }
        let log = self.open_log()?;
        let binary = self.shim.runtime.prepare();
        // The container stored (when it is stored as it starts): only now
        // may its process exist.
        if !ready.go() {
            return Err(ContainerError::CalledOff);
        }
        let (side, pumps) = self.launch(&setup, binary, &log, ready)?;
        let pid: i32 = std::fs::read_to_string(&setup.pid_file)
            .map_err(ContainerError::io("read", &setup.pid_file))?
            .trim()
            .parse()
            .map_err(|source| ContainerError::NoInitPid {
                path: setup.pid_file.clone(),
                source,
            })?;
        // The record says "running" (and then the starting command learns
        // it runs) while the shim already waits: a short process may well
        // end first, its exit recorded after.
        let mut record = self.c.clone();
        record.running(pid, logs::now());
        sandbox::record_network(&mut record, &self.attached, pid);
        record.hostname_path = setup.hostname_path.display().to_string();
        side.started(record, pidfd(pid), ready.detach());
        let code = reap::exit_code(pid);
        let oom = reap::oom_killed(&self.c.id);
        self.after_exit(code, oom, side, pumps, &setup.overlay)
    }

    /// The root mounted, the hostname file and the bundle written; what a
    /// run the shim did not see end (a crash) left, cleared.
    fn prepare(&self) -> Result<Setup> {
        let c = self.c;
        let overlay =
            Overlay::for_container(&self.dir, c.lower_dirs.iter().map(PathBuf::from).collect());
        if c.host_config.auto_remove {
            overlay.mount_transient()?;
        } else {
            overlay.mount()?;
        }
        let hostname_path = self.dir.join("hostname");
        let hostname = if c.config.hostname.is_empty() {
            c.short_id().to_owned()
        } else {
            c.config.hostname.clone()
        };
        std::fs::write(&hostname_path, format!("{hostname}\n"))
            .map_err(ContainerError::io("write", &hostname_path))?;
        let bundle = self.run_dir.join("bundle");
        std::fs::create_dir_all(&bundle)
            .map_err(ContainerError::io("create directory", &bundle))?;
        crate::container::bundle::write(
            c,
            &overlay.merged,
            &self.attached,
            &hostname_path,
            &bundle,
        )?;
        let pid_file = self.run_dir.join("init.pid");
        if let Err(e) = super::remove_file(&pid_file) {
            warn::container(&c.id, "removing the last run's pid file", &e);
        }
        // Left by a run the shim did not see end (a crash): clear it first.
        if self.shim.runtime.state_dir.join(&c.id).exists()
            && let Err(e) = self.shim.runtime.delete(&c.id)
        {
            warn::container(&c.id, "deleting what the runtime kept of a run", &e);
        }
        Ok(Setup {
            overlay,
            bundle,
            pid_file,
            hostname_path,
        })
    }

    /// The container's json-file log, opened to append.
    fn open_log(&self) -> Result<Log> {
        let path = PathBuf::from(&self.c.log_path);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(ContainerError::io("open", &path))?;
        Ok(Arc::new(Mutex::new(log)))
    }

    /// Has the runtime start the process. While it works: the socket for
    /// later attached commands (there before anyone learns that the
    /// process runs), and the side thread that records the start and
    /// cleans the runtime's leftovers, so that none is made on the start's
    /// or the exit's path. Returns the side thread and the output pumps.
    fn launch(
        &self,
        setup: &Setup,
        binary: runtime_binary::Prepared,
        log: &Log,
        ready: &mut Ready,
    ) -> Result<(SideWork, Vec<JoinHandle<()>>)> {
        let shim = self.shim;
        let mut side = None;
        let mut meanwhile = |ready: &mut Ready| {
            if self.first {
                ready.listening = Some(accept_clients(
                    self.run_dir.join("attach.sock"),
                    Arc::clone(&shim.clients),
                    Arc::clone(&shim.stdin),
                    shim.takes_input,
                ));
            }
            side = Some(SideWork::start(&shim.store, &shim.runtime, &self.c.id));
        };
        let pumps = if self.c.config.tty {
            self.launch_with_terminal(setup, binary, log, || meanwhile(ready))?
        } else {
            self.launch_with_pipes(setup, binary, log, || meanwhile(ready))?
        };
        // `launch` calls `meanwhile` whenever it returns Ok.
        let side = side.ok_or_else(|| ContainerError::ThreadDied {
            what: "starting the runtime",
            id: self.c.id.clone(),
        })?;
        Ok((side, pumps))
    }

    /// A terminal: the runtime makes it and sends its master side, which
    /// becomes the container's input and output.
    fn launch_with_terminal(
        &self,
        setup: &Setup,
        binary: runtime_binary::Prepared,
        log: &Log,
        meanwhile: impl FnOnce(),
    ) -> Result<Vec<JoinHandle<()>>> {
        let console_sock = self.run_dir.join("console.sock");
        if let Err(e) = super::remove_file(&console_sock) {
            warn::container(&self.c.id, "removing the last run's console socket", &e);
        }
        let listener = UnixListener::bind(&console_sock)
            .map_err(ContainerError::io("listen on", &console_sock))?;
        let id = self.c.id.clone();
        let receiver = std::thread::spawn(move || receive_console(&listener, &id));
        let created = self.shim.runtime.launch(
            binary,
            &self.c.id,
            &setup.bundle,
            &setup.pid_file,
            Some(&console_sock),
            [Stdio::null(), Stdio::null(), Stdio::null()],
            meanwhile,
        );
        if created.is_err() {
            // Wake the receiver, which waits for a runtime that is gone;
            // one that got a terminal meanwhile is awake already.
            let _ = UnixStream::connect(&console_sock);
        }
        let console = receiver.join().map_err(|_| ContainerError::ThreadDied {
            what: "the terminal receiver",
            id: self.c.id.clone(),
        })?;
        created?;
        let console = console?;
        let reader = console
            .try_clone()
            .map_err(ContainerError::io("dup", &console_sock))?;
        let mut input = streams::lock(&self.shim.stdin);
        if self.c.config.open_stdin {
            input.writer = Some(Box::new(
                console
                    .try_clone()
                    .map_err(ContainerError::io("dup", &console_sock))?,
            ));
        }
        input.console = Some(console);
        drop(input);
        let clients = Arc::clone(&self.shim.clients);
        Ok(vec![pump(reader, "stdout", Arc::clone(log), clients, None)])
    }

    /// No terminal: pipes for the output (and the input with `-i`), the
    /// pumps started while the runtime works, held until it has started
    /// the process.
    fn launch_with_pipes(
        &self,
        setup: &Setup,
        binary: runtime_binary::Prepared,
        log: &Log,
        meanwhile: impl FnOnce(),
    ) -> Result<Vec<JoinHandle<()>>> {
        let pipe = || std::io::pipe().map_err(ContainerError::io("pipe", &self.run_dir));
        let (out_r, out_w) = pipe()?;
        let (err_r, err_w) = pipe()?;
        let child_stdin = if self.c.config.open_stdin {
            let (in_r, in_w) = pipe()?;
            streams::lock(&self.shim.stdin).writer = Some(Box::new(in_w));
            Stdio::from(in_r)
        } else {
            Stdio::null()
        };
        let (open_out, gate_out) = std::sync::mpsc::channel();
        let (open_err, gate_err) = std::sync::mpsc::channel();
        let mut pumps = Vec::new();
        let launched = self.shim.runtime.launch(
            binary,
            &self.c.id,
            &setup.bundle,
            &setup.pid_file,
            None,
            [child_stdin, Stdio::from(out_w), Stdio::from(err_w)],
            || {
                meanwhile();
                for (from, stream, gate) in
                    [(out_r, "stdout", gate_out), (err_r, "stderr", gate_err)]
                {
                    let (log, clients) = (Arc::clone(log), Arc::clone(&self.shim.clients));
                    pumps.push(pump(from, stream, log, clients, Some(gate)));
                }
            },
        );
        // A pump that is not there (the runtime failed first) needs no word.
        let _ = open_out.send(launched.is_ok());
        let _ = open_err.send(launched.is_ok());
        launched?;
        Ok(pumps)
    }

    /// What is left once the process exited with `code`, side by side:
    /// the record of the start (a short process ends before it is
    /// written) and then the runtime's cgroups and state; the root, and
    /// for `--rm` (which no restart policy goes with) the sandbox and the
    /// container itself. An attached `run --rm` waits for all of it.
    fn after_exit(
        &self,
        code: i32,
        oom: bool,
        side: SideWork,
        pumps: Vec<JoinHandle<()>>,
        overlay: &Overlay,
    ) -> Result<Outcome> {
        let c = self.c;
        side.clean();
        let unmounted = overlay.unmount();
        if let Err(e) = &unmounted {
            warn::container(&c.id, "unmounting the root", e);
        }
        for p in pumps {
            if p.join().is_err() {
                let e = ContainerError::ThreadDied {
                    what: "an output pump",
                    id: c.id.clone(),
                };
                warn::container(&c.id, "copying the output", &e);
            }
        }
        let recorded = side.recorded();
        let last = recorded.is_ok() && c.host_config.auto_remove && unmounted.is_ok();
        if last && let Some(netd) = &self.shim.netd {
            netd.detach(&c.id);
        }
        let removed = last
            && match self.shim.remove(c) {
                Ok(()) => true,
                Err(e) => {
                    warn::container(&c.id, "removing the container", &e);
                    false
                }
            };
        side.finish();
        recorded?;
        *streams::lock(&self.shim.stdin) = Input::default();
        if removed {
            return Ok(Outcome::Removed(code));
        }
        let finished = logs::now();
        self.shim
            .store
            .update(&c.id, |c| c.exited(code, oom, finished))?;
        Ok(Outcome::Exited(code))
    }
}
