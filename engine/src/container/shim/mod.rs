//! The shim: one `berth shim` process per running container (the berth
//! binary re-executed, detached from the command that started it). It is
//! the child subreaper of the container's processes, so the container's
//! init becomes its child once the runtime hands it over; it owns the
//! container's standard streams, writes the json-file log, serves attached
//! commands on `RUN_DIR/attach.sock`, records the exit code, applies the
//! restart policy, and on exit removes the container's sandbox (netd),
//! unmounts its root and, for `--rm`, removes the container.

use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;

use super::attach::{self, Kind};
use super::error::{ContainerError, Result};
use super::logs::{self, LineSplitter};
use super::network::{self, Attached};
use super::record::{Container, Status, ZERO_TIME};
use super::rootfs::Overlay;
use super::runc::{self, Runtime};
use super::spawn::{ATTACH_FD, GO_FD, READY_FD};
use super::store::Containers;
use crate::spec::build::NetworkNamespace;

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

/// The commands attached now, and whether one ever came.
#[derive(Debug, Default)]
struct Clients {
    streams: Mutex<Vec<UnixStream>>,
    arrived: Condvar,
}

impl Clients {
    fn broadcast(&self, kind: Kind, payload: &[u8]) {
        let mut streams = self
            .streams
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        streams.retain_mut(|s| attach::write_frame(s, kind, payload).is_ok());
    }

    fn wait_first(&self, timeout: Duration) {
        let streams = self
            .streams
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let _ = self
            .arrived
            .wait_timeout_while(streams, timeout, |s| s.is_empty());
    }
}

/// Where the container's input goes: the write end of its stdin pipe, or
/// its terminal; and the terminal, for size changes.
#[derive(Default)]
struct Input {
    writer: Option<Box<dyn Write + Send>>,
    console: Option<std::fs::File>,
}

type StdinSink = Arc<Mutex<Input>>;

/// Telling the starting command how the start went, once: `ok` when the
/// container runs (and its attach socket is there), or `CODE message`.
struct Ready {
    pipe: Option<std::fs::File>,
    listening: Option<std::sync::mpsc::Receiver<Result<()>>>,
    /// The go pipe of a container stored while its shim prepares (see
    /// [`super::ops::Starting`]); `None` once read, or when there is none.
    go: Option<std::fs::File>,
}

impl Ready {
    /// The container runs: waits for the attach socket, then says so. A
    /// socket that could not be made leaves the container running, without
    /// later attached commands (the shim's log says why).
    fn ok(&mut self) {
        if let Some(rx) = self.listening.take()
            && let Ok(Err(e)) = rx.recv()
        {
            eprintln!("berth shim: {e}");
        }
        self.say("ok");
    }

    /// Hands the telling over to another owner (a thread); this one then
    /// says nothing.
    fn detach(&mut self) -> Self {
        Self {
            pipe: self.pipe.take(),
            listening: self.listening.take(),
            go: None,
        }
    }

    /// Whether the container may start: waits, the first time, for the
    /// starting command to say `go` once it has stored the container.
    /// Anything else (it failed, or died) calls the start off.
    fn go(&mut self) -> bool {
        let Some(pipe) = self.go.take() else {
            return true;
        };
        let mut line = String::new();
        let _ = std::io::BufRead::read_line(&mut std::io::BufReader::new(pipe), &mut line);
        line.trim() == "go"
    }

    fn say(&mut self, message: &str) {
        if let Some(mut f) = self.pipe.take() {
            let _ = writeln!(f, "{message}");
        }
    }
}

/// A descriptor the starting command passed, when it is open.
fn passed_fd(fd: i32) -> Option<OwnedFd> {
    // SAFETY: fcntl only asks whether `fd` is open.
    let open = unsafe { libc::fcntl(fd, libc::F_GETFD) } >= 0;
    // SAFETY: an open descriptor at this number was placed there for the
    // shim by the starting command (see `spawn`), and is the shim's alone.
    open.then(|| unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Runs the shim until the container is finished with (exited for good,
/// or removed). Returns the last exit code.
pub fn run(cfg: &ShimConfig) -> i32 {
    let mut ready = Ready {
        pipe: passed_fd(READY_FD).map(std::fs::File::from),
        listening: None,
        go: passed_fd(GO_FD).map(std::fs::File::from),
    };
    let attached = passed_fd(ATTACH_FD).map(UnixStream::from);
    match serve(cfg, &mut ready, attached) {
        Ok(code) => code,
        // The starting command reports why; nothing is left to tell.
        Err(ContainerError::CalledOff) => 125,
        Err(e) => {
            let code = match &e {
                ContainerError::Runtime { message, .. } => runc::start_failure_code(message),
                _ => 125,
            };
            ready.say(&format!("{code} {e}"));
            code
        }
    }
}

fn serve(cfg: &ShimConfig, ready: &mut Ready, attached: Option<UnixStream>) -> Result<i32> {
    nix::sys::prctl::set_child_subreaper(true)
        .map_err(|e| ContainerError::State(format!("becoming a subreaper: {e}")))?;
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
    let clients = Arc::new(Clients::default());
    let stdin: StdinSink = Arc::new(Mutex::new(Input::default()));
    // Whether attached commands send anything: input, or a terminal's size.
    let takes_input = c.config.open_stdin || c.config.tty;
    if let Some(conn) = attached {
        add_client(conn, &clients, &stdin, takes_input);
    }
    let runtime = Runtime {
        binary: cfg.runtime.clone(),
        state_dir: cfg.runroot.join("runtime"),
    };
    let netd = if uses_netd_sandbox(&c) {
        Some(Netd::connect(&cfg.netd_host)?)
    } else {
        None
    };
    let netd = netd.as_ref();
    let mut first = true;
    let mut backoff = Duration::from_millis(100);
    let mut next = Some(c);
    loop {
        let c = match next.take() {
            Some(c) => c,
            None => store.load(&cfg.id)?,
        };
        let outcome = run_once(
            cfg, &store, &runtime, netd, &c, &clients, &stdin, first, ready,
        );
        first = false;
        let code = match outcome {
            Ok(Outcome::Removed(code)) => {
                clients.broadcast(Kind::Exit, &code.to_be_bytes());
                return Ok(code);
            }
            Ok(Outcome::Exited(code)) => code,
            // A failure before the container was stored, or the start
            // called off: what was prepared goes, and nothing is recorded.
            Err(e) if matches!(e, ContainerError::CalledOff) || !ready.go() => {
                call_off(&store, &c);
                return Err(ContainerError::CalledOff);
            }
            Err(e) => {
                let code = match &e {
                    ContainerError::Runtime { message, .. } => runc::start_failure_code(message),
                    _ => 125,
                };
                let message = e.to_string();
                let finished = logs::now();
                let _ = store.update(&cfg.id, |c| {
                    c.state.finished_at = finished.clone();
                    c.state.status = Status::Exited;
                    c.state.running = false;
                    c.state.restarting = false;
                    c.state.pid = 0;
                    c.state.exit_code = code;
                    c.state.error = message.clone();
                });
                let mut payload = code.to_be_bytes().to_vec();
                payload.extend_from_slice(message.as_bytes());
                clients.broadcast(Kind::Error, &payload);
                finish(cfg, &store, netd, &c);
                return Err(e);
            }
        };
        let c = store.load(&cfg.id)?;
        let stopped = run_dir.join("stopped").exists();
        if !stopped && should_restart(&c, code) {
            clients.broadcast(Kind::Exit, &code.to_be_bytes());
            // As Docker: the network goes with the run; the next run
            // connects afresh.
            if let Some(netd) = netd {
                netd.detach(&cfg.id);
            }
            let _ = store.update(&cfg.id, |c| {
                c.restart_count += 1;
                c.state.status = Status::Restarting;
                c.state.restarting = true;
            });
            std::thread::sleep(backoff);
            backoff = (backoff * 2).min(Duration::from_secs(10));
            continue;
        }
        // Attached commands learn the code once everything is cleaned up
        // (an --rm container removed), as `docker run --rm` returns.
        finish(cfg, &store, netd, &c);
        clients.broadcast(Kind::Exit, &code.to_be_bytes());
        return Ok(code);
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

/// After the last run: the root unmounted, and for `--rm` the container
/// removed.
fn finish(cfg: &ShimConfig, store: &Containers, netd: Option<&Netd>, c: &Container) {
    let overlay = Overlay::for_container(
        &store.dir_of(&c.id),
        c.lower_dirs.iter().map(PathBuf::from).collect(),
    );
    let _ = overlay.unmount();
    if let Some(netd) = netd {
        netd.detach(&c.id);
    }
    if c.host_config.auto_remove {
        let _ = remove(cfg, store, c);
    } else {
        let _ = std::fs::remove_file(store.run_dir_of(&cfg.id).join("shim.pid"));
    }
}

/// Undoes what the shim prepared for a container that was not stored: its
/// root unmounted, its directory removed (the starting command removes
/// the run directory once the shim is gone).
fn call_off(store: &Containers, c: &Container) {
    let dir = store.dir_of(&c.id);
    let overlay = Overlay::for_container(&dir, c.lower_dirs.iter().map(PathBuf::from).collect());
    let _ = overlay.unmount();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Removes an `--rm` container whose root is unmounted and whose sandbox
/// is gone: its record and directories, and, as Docker's `--rm`, its
/// anonymous volumes.
fn remove(cfg: &ShimConfig, store: &Containers, c: &Container) -> Result<()> {
    store.remove(c)?;
    if c.host_config.mounts.iter().any(|m| m.kind == "volume")
        && let (Ok(users), Ok(volumes)) = (
            crate::volume::ContainerUse::scan(store),
            crate::volume::Volumes::open(&cfg.root),
        )
    {
        let _ = volumes.remove_anonymous(c, &users);
    }
    Ok(())
}

/// Whether the container's network is a netd sandbox of its own (not
/// another container's, and not a private one, see [`network::is_private`]).
pub fn uses_netd_sandbox(c: &Container) -> bool {
    !c.host_config.network_mode.starts_with("container:") && !network::is_private(c)
}

/// netd, for the containers that have a sandbox there.
struct Netd {
    rt: tokio::runtime::Runtime,
    client: netd::client::Client,
}

impl Netd {
    fn connect(host: &str) -> Result<Self> {
        Ok(Self {
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| ContainerError::State(format!("starting a runtime: {e}")))?,
            client: netd::client::Client::new(host)
                .map_err(|e| ContainerError::Netd(e.to_string()))?,
        })
    }

    fn attach(&self, c: &Container) -> Result<Attached> {
        self.rt.block_on(network::attach(&self.client, c))
    }

    /// Removes the sandbox; a failure leaves it to netd's own clean-up.
    fn detach(&self, id: &str) {
        let _ = self.rt.block_on(network::detach(&self.client, id));
    }
}

/// Listens on `sock` for attached commands, in a thread of its own; the
/// receiver learns whether the socket is there.
fn accept_clients(
    sock: PathBuf,
    clients: Arc<Clients>,
    stdin: StdinSink,
    takes_input: bool,
) -> std::sync::mpsc::Receiver<Result<()>> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = std::fs::remove_file(&sock);
        let listener = match UnixListener::bind(&sock) {
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
            add_client(conn, &clients, &stdin, takes_input);
        }
    });
    rx
}

/// One more attached command: the output sent to it, and what it sends
/// (input, terminal sizes) read when the container takes any.
fn add_client(conn: UnixStream, clients: &Clients, stdin: &StdinSink, takes_input: bool) {
    if takes_input && let Ok(reader) = conn.try_clone() {
        let stdin = Arc::clone(stdin);
        std::thread::spawn(move || forward_input(reader, &stdin));
    }
    clients
        .streams
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(conn);
    clients.arrived.notify_all();
}

/// Input frames of one client into the container's stdin.
fn forward_input(mut conn: UnixStream, stdin: &StdinSink) {
    while let Ok(Some((kind, payload))) = attach::read_frame(&mut conn) {
        let mut sink = stdin
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
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
fn receive_console(listener: &UnixListener) -> Result<std::fs::File> {
    use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};
    use std::io::IoSliceMut;
    use std::os::fd::AsRawFd;
    let (conn, _) = listener
        .accept()
        .map_err(|e| ContainerError::State(format!("receiving the container's terminal: {e}")))?;
    let mut buf = [0u8; 4096];
    let mut iov = [IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let msg = recvmsg::<()>(
        conn.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::empty(),
    )
    .map_err(|e| ContainerError::State(format!("receiving the container's terminal: {e}")))?;
    for cmsg in msg
        .cmsgs()
        .map_err(|e| ContainerError::State(format!("receiving the container's terminal: {e}")))?
    {
        if let ControlMessageOwned::ScmRights(fds) = cmsg
            && let Some(fd) = fds.first()
        {
            // SAFETY: the kernel just gave us this descriptor; nothing else owns it.
            return Ok(std::fs::File::from(unsafe { OwnedFd::from_raw_fd(*fd) }));
        }
    }
    Err(ContainerError::State("the runtime sent no terminal".into()))
}

/// Copies one output stream of the container to the log and the clients;
/// with a `gate`, only once it says `true` (the process started: what the
/// runtime wrote there before is its own error, reported otherwise).
fn pump(
    mut from: impl Read + Send + 'static,
    stream: &'static str,
    log: Arc<Mutex<std::fs::File>>,
    clients: Arc<Clients>,
    gate: Option<std::sync::mpsc::Receiver<bool>>,
) -> std::thread::JoinHandle<()> {
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
            let mut f = log
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for piece in lines.push(&buf[..n]) {
                let _ = logs::write_entry(&mut *f, stream, &piece);
            }
        }
        if let Some(rest) = lines.finish() {
            let mut f = log
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let _ = logs::write_entry(&mut *f, stream, &rest);
        }
    })
}

/// One run of the container: sandbox, root, runtime create and start,
/// output until it exits. Returns its exit code.
#[allow(clippy::too_many_arguments)]
fn run_once(
    cfg: &ShimConfig,
    store: &Containers,
    runtime: &Runtime,
    netd: Option<&Netd>,
    c: &Container,
    clients: &Arc<Clients>,
    stdin: &StdinSink,
    first: bool,
    ready: &mut Ready,
) -> Result<Outcome> {
    let dir = store.dir_of(&c.id);
    let run_dir = store.run_dir_of(&c.id);
    // A container being stored as it starts may not have its directory yet.
    std::fs::create_dir_all(&dir).map_err(ContainerError::io("create directory", &dir))?;
    // The network first: the sandbox is the container's for this run.
    let attached = if let Some(other) = c.host_config.network_mode.strip_prefix("container:") {
        let o = store.find(other)?;
        if o.state.status != Status::Running {
            return Err(ContainerError::State(format!(
                "cannot join network of a non running container: {}",
                o.id
            )));
        }
        Attached {
            netns: NetworkNamespace::Join(PathBuf::from(&o.network_settings.sandbox_key)),
            resolv_conf: o.resolv_conf_path.clone(),
            hosts: o.hosts_path.clone(),
            settings: super::record::NetworkSettings {
                sandbox_id: o.network_settings.sandbox_id.clone(),
                sandbox_key: o.network_settings.sandbox_key.clone(),
                ..Default::default()
            },
        }
    } else if let Some(netd) = netd {
        netd.attach(c)?
    } else {
        network::private(c, &dir)?
    };
    let result = start_and_wait(
        cfg, store, runtime, netd, c, &attached, clients, stdin, first, ready, &dir, &run_dir,
    );
    if result.is_err()
        && let Some(netd) = netd
    {
        netd.detach(&c.id);
    }
    result
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// With this exit code, recorded.
    Exited(i32),
    /// With this exit code, and the container (`--rm`) removed with it.
    Removed(i32),
}

#[allow(clippy::too_many_arguments)]
fn start_and_wait(
    cfg: &ShimConfig,
    store: &Containers,
    runtime: &Runtime,
    netd: Option<&Netd>,
    c: &Container,
    attached: &Attached,
    clients: &Arc<Clients>,
    stdin: &StdinSink,
    first: bool,
    ready: &mut Ready,
    dir: &Path,
    run_dir: &Path,
) -> Result<Outcome> {
    let overlay = Overlay::for_container(dir, c.lower_dirs.iter().map(PathBuf::from).collect());
    if c.host_config.auto_remove {
        overlay.mount_transient()?;
    } else {
        overlay.mount()?;
    }
    let hostname_path = dir.join("hostname");
    let hostname = if c.config.hostname.is_empty() {
        c.short_id().to_owned()
    } else {
        c.config.hostname.clone()
    };
    std::fs::write(&hostname_path, format!("{hostname}\n"))
        .map_err(ContainerError::io("write", &hostname_path))?;
    let bundle = run_dir.join("bundle");
    std::fs::create_dir_all(&bundle).map_err(ContainerError::io("create directory", &bundle))?;
    super::bundle::write(c, &overlay.merged, attached, &hostname_path, &bundle)?;
    let pid_file = run_dir.join("init.pid");
    let _ = std::fs::remove_file(&pid_file);
    // Left by a run the shim did not see end (a crash): clear it first.
    if runtime.state_dir.join(&c.id).exists() {
        let _ = runtime.delete(&c.id);
    }
    // Output must not be missed: the first run waits for the attached
    // command before the process exists.
    if first && cfg.wait_attach {
        clients.wait_first(Duration::from_secs(10));
    }
    let log_path = PathBuf::from(&c.log_path);
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(ContainerError::io("open", &log_path))?;
    let log = Arc::new(Mutex::new(log));
    let prepared = runtime.prepare();
    // While the runtime starts the process: the socket for later attached
    // commands (there before anyone learns that the process runs), and the
    // threads that record the start and clean the runtime's leftovers, so
    // that none is made on the start's or the exit's path.
    // The container stored (when it is stored as it starts): only now may
    // its process exist.
    if !ready.go() {
        return Err(ContainerError::CalledOff);
    }
    let mut side = None;
    let mut listen = |ready: &mut Ready| {
        if first {
            ready.listening = Some(accept_clients(
                run_dir.join("attach.sock"),
                Arc::clone(clients),
                Arc::clone(stdin),
                c.config.open_stdin || c.config.tty,
            ));
        }
        side = Some(SideWork::start(store, runtime, &c.id));
    };
    let pumps = if c.config.tty {
        // A terminal: the runtime makes it and sends us its master side.
        let console_sock = run_dir.join("console.sock");
        let _ = std::fs::remove_file(&console_sock);
        let listener = UnixListener::bind(&console_sock)
            .map_err(ContainerError::io("listen on", &console_sock))?;
        let receiver = std::thread::spawn(move || receive_console(&listener));
        let created = runtime.launch(
            prepared,
            &c.id,
            &bundle,
            &pid_file,
            Some(&console_sock),
            [Stdio::null(), Stdio::null(), Stdio::null()],
            || listen(ready),
        );
        if created.is_err() {
            // Wake the receiver, which waits for a runtime that is gone.
            let _ = UnixStream::connect(&console_sock);
        }
        let console = receiver
            .join()
            .map_err(|_| ContainerError::State("the terminal receiver failed".into()))?;
        created?;
        let console = console?;
        let reader = console
            .try_clone()
            .map_err(ContainerError::io("dup", &console_sock))?;
        let mut input = stdin
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if c.config.open_stdin {
            input.writer = Some(Box::new(
                console
                    .try_clone()
                    .map_err(ContainerError::io("dup", &console_sock))?,
            ));
        }
        input.console = Some(console);
        drop(input);
        vec![pump(
            reader,
            "stdout",
            Arc::clone(&log),
            Arc::clone(clients),
            None,
        )]
    } else {
        let (out_r, out_w) = std::io::pipe().map_err(ContainerError::io("pipe", run_dir))?;
        let (err_r, err_w) = std::io::pipe().map_err(ContainerError::io("pipe", run_dir))?;
        let child_stdin = if c.config.open_stdin {
            let (in_r, in_w) = std::io::pipe().map_err(ContainerError::io("pipe", run_dir))?;
            stdin
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .writer = Some(Box::new(in_w));
            Stdio::from(in_r)
        } else {
            Stdio::null()
        };
        // The pumps are started while the runtime works, held until it
        // has started the process.
        let (open_out, gate_out) = std::sync::mpsc::channel();
        let (open_err, gate_err) = std::sync::mpsc::channel();
        let mut pumps = Vec::new();
        let launched = runtime.launch(
            prepared,
            &c.id,
            &bundle,
            &pid_file,
            None,
            [child_stdin, Stdio::from(out_w), Stdio::from(err_w)],
            || {
                listen(ready);
                for (from, stream, gate) in
                    [(out_r, "stdout", gate_out), (err_r, "stderr", gate_err)]
                {
                    let (log, clients) = (Arc::clone(&log), Arc::clone(clients));
                    pumps.push(pump(from, stream, log, clients, Some(gate)));
                }
            },
        );
        let _ = open_out.send(launched.is_ok());
        let _ = open_err.send(launched.is_ok());
        launched?;
        pumps
    };
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .map_err(ContainerError::io("read", &pid_file))?
        .trim()
        .parse()
        .map_err(|_| ContainerError::State("the runtime wrote no init pid".into()))?;
    let started = logs::now();
    let running = |c: &mut Container| {
        c.state.status = Status::Running;
        c.state.running = true;
        c.state.restarting = false;
        c.state.paused = false;
        c.state.pid = pid;
        c.state.exit_code = 0;
        c.state.error.clear();
        c.state.oom_killed = false;
        c.state.started_at = started.clone();
        c.state.finished_at = ZERO_TIME.into();
        c.network_settings = attached.settings.clone();
        if attached.netns == NetworkNamespace::New {
            // The runtime's namespace, for `--network container:` to join.
            c.network_settings.sandbox_key = format!("/proc/{pid}/ns/net");
        }
        c.resolv_conf_path = attached.resolv_conf.clone();
        c.hosts_path = attached.hosts.clone();
        c.hostname_path = hostname_path.display().to_string();
    };
    let side = side.ok_or_else(|| ContainerError::State("the runtime was not started".into()))?;
    // The record says "running" (and then the starting command learns it
    // runs) while the shim already waits: a short process may well end
    // first, its exit recorded after.
    let mut record = c.clone();
    running(&mut record);
    side.started(record, pidfd(pid), ready.detach());
    let code = reap_now(pid).unwrap_or_else(|| wait_for(pid));
    let oom = oom_killed(&c.id);
    // What is left, side by side: the record of the start (a short process
    // ends before it is written) and then the runtime's cgroups and state;
    // the root, and for `--rm` (which no restart policy goes with) the
    // sandbox and the container itself. An attached `run --rm` waits for
    // all of it.
    side.clean();
    let unmounted = overlay.unmount().is_ok();
    for p in pumps {
        let _ = p.join();
    }
    let recorded = side.recorded();
    let last = recorded.is_ok() && c.host_config.auto_remove && unmounted;
    if last && let Some(netd) = netd {
        netd.detach(&c.id);
    }
    let removed = last && remove(cfg, store, c).is_ok();
    side.finish();
    recorded?;
    *stdin
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Input::default();
    if removed {
        return Ok(Outcome::Removed(code));
    }
    let finished = logs::now();
    store.update(&c.id, |c| {
        c.state.status = Status::Exited;
        c.state.running = false;
        c.state.paused = false;
        c.state.pid = 0;
        c.state.exit_code = code;
        c.state.oom_killed = oom;
        c.state.finished_at = finished.clone();
        c.network_settings.networks.clear();
        c.network_settings.ports.clear();
        c.network_settings.sandbox_key.clear();
    })?;
    Ok(Outcome::Exited(code))
}

/// The shim's side thread for one run: told the start, it records it (the
/// container "running", then the starting command told); told the end, it
/// removes the runtime's leftovers (see [`Runtime::remove_stopped`]).
struct SideWork {
    start: std::sync::mpsc::Sender<(Container, Option<OwnedFd>, Ready)>,
    recorded: std::sync::mpsc::Receiver<Result<()>>,
    clean: std::sync::mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl SideWork {
    fn start(store: &Containers, runtime: &Runtime, id: &str) -> Self {
        let (start, started) = std::sync::mpsc::channel::<(Container, Option<OwnedFd>, Ready)>();
        let (done, recorded) = std::sync::mpsc::channel();
        let (clean, cleaning) = std::sync::mpsc::channel();
        let (store, runtime, id) = (store.clone(), runtime.clone(), id.to_owned());
        let thread = std::thread::spawn(move || {
            // Nothing comes when the runtime failed: the shim tells that.
            let Ok((record, process, mut ready)) = started.recv() else {
                return;
            };
            let result = store.update(&id, |c| record_start(c, &record)).map(|_| ());
            if result.is_err()
                && let Some(process) = &process
            {
                // Not known to run, it must not: the error is the start's.
                // Through its pidfd: the shim may have reaped it already,
                // and its number be another process's.
                kill_process(process);
            }
            match &result {
                Ok(()) => ready.ok(),
                Err(e) => ready.say(&format!("125 {e}")),
            }
            let _ = done.send(result);
            if cleaning.recv().is_ok() {
                let _ = runtime.remove_stopped(
                    &id,
                    Path::new("/sys/fs/cgroup"),
                    &super::bundle::cgroup_path(&id),
                );
            }
        });
        Self {
            start,
            recorded,
            clean,
            thread,
        }
    }

    /// The process started: its "running" record to write, with a pidfd
    /// of the process; `ready` tells the starting command once that is
    /// done.
    fn started(&self, record: Container, process: Option<OwnedFd>, ready: Ready) {
        let _ = self.start.send((record, process, ready));
    }

    /// Whether the start was recorded (waits for it).
    fn recorded(&self) -> Result<()> {
        self.recorded
            .recv()
            .unwrap_or_else(|_| Err(ContainerError::State("recording the start failed".into())))
    }

    /// The process was reaped: the runtime's leftovers go.
    fn clean(&self) {
        let _ = self.clean.send(());
    }

    /// Waits for the clean-up.
    fn finish(self) {
        drop(self.clean);
        let _ = self.thread.join();
    }
}

/// Copies what a start changes in a record (its state, network settings
/// and the files the runtime mounts) from `started` to `c`, the record as
/// stored now.
fn record_start(c: &mut Container, started: &Container) {
    c.state = started.state.clone();
    c.network_settings = started.network_settings.clone();
    c.resolv_conf_path = started.resolv_conf_path.clone();
    c.hosts_path = started.hosts_path.clone();
    c.hostname_path = started.hostname_path.clone();
}

/// A pidfd of process `pid` (a child not reaped yet, so that the number
/// is still its).
fn pidfd(pid: i32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags; the result is checked.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    let fd = i32::try_from(fd).ok().filter(|fd| *fd >= 0)?;
    // SAFETY: a new descriptor that nothing else owns.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// SIGKILL to the process of `pidfd`.
fn kill_process(pidfd: &OwnedFd) {
    use std::os::fd::AsRawFd;
    // SAFETY: pidfd_send_signal on a descriptor this process owns, with no
    // siginfo.
    unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            libc::SIGKILL,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        );
    }
}

/// Reaps the children that have exited; `pid`'s exit code (as
/// [`wait_for`]) when it is one of them.
fn reap_now(pid: i32) -> Option<i32> {
    use nix::sys::wait::WaitPidFlag;
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(p, code)) if p.as_raw() == pid => return Some(code),
            Ok(WaitStatus::Signaled(p, sig, _)) if p.as_raw() == pid => {
                return Some(128 + sig as i32);
            }
            Ok(WaitStatus::StillAlive) => return None,
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            // No children left: the init is gone without us seeing it.
            Err(_) => return Some(137),
        }
    }
}

/// Reaps children until `pid` exits; returns its exit code as Docker
/// reports it (128 + signal when killed).
fn wait_for(pid: i32) -> i32 {
    loop {
        match waitpid(Pid::from_raw(-1), None) {
            Ok(WaitStatus::Exited(p, code)) if p.as_raw() == pid => return code,
            Ok(WaitStatus::Signaled(p, sig, _)) if p.as_raw() == pid => return 128 + sig as i32,
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => {}
            // No children left: the init is gone without us seeing it.
            Err(_) => return 137,
        }
    }
}

/// Whether the kernel's OOM killer killed a process of the container
/// (cgroup v1 `memory.oom_control`, v2 `memory.events`).
fn oom_killed(id: &str) -> bool {
    let v1 = Path::new("/sys/fs/cgroup/memory")
        .join(super::bundle::cgroup_path(id).trim_start_matches('/'))
        .join("memory.oom_control");
    let v2 = Path::new("/sys/fs/cgroup")
        .join(super::bundle::cgroup_path(id).trim_start_matches('/'))
        .join("memory.events");
    [v1, v2].iter().any(|p| {
        std::fs::read_to_string(p).is_ok_and(|t| {
            t.lines().any(|l| {
                l.strip_prefix("oom_kill ")
                    .and_then(|n| n.trim().parse::<u64>().ok())
                    .is_some_and(|n| n > 0)
            })
        })
    })
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
