//! Sandboxes that belong to a process, and their removal once it is gone.
//!
//! The engine makes a container's sandbox from the container's shim and
//! names the shim as the sandbox's owner (its pid and start time). The
//! engine removes the sandbox itself when the container stops; but when
//! netd cannot be reached then (it is restarting), or the shim is killed,
//! nobody would, and the sandbox would keep its veth, addresses, published
//! ports and DNS name for ever. So netd watches each owner through a pidfd
//! (readable once the process has exited) and, once the owner has been
//! gone for [`GRACE`], removes the sandbox through the ordinary removal
//! (all or nothing, as an API call). At start it checks every stored owner:
//! one that no longer runs (or whose pid another process now has) takes its
//! sandbox with it; the others are watched again.
//!
//! A new sandbox whose id or name is held by a sandbox whose owner is gone
//! (or by the same owner, making its sandbox afresh) replaces it at once
//! instead of failing, and the sandboxes waiting out their grace period go
//! first, so the name, the address and the host port are free at once.
//! Sandboxes without an owner (dockerd's, through the plugin protocol, or
//! an API caller that names none) are never collected.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;
use std::os::fd::{FromRawFd, OwnedFd};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use netd_api::types::SandboxOwner;
use tokio::sync::{Mutex, mpsc};
use tracing::{debug, info, warn};

use super::Controller;
use crate::error::NetdError;
use crate::model::Sandbox;

/// How long a sandbox outlives its owner: the owner's own removal, when it
/// is on its way, goes first.
pub(crate) const GRACE: Duration = Duration::from_secs(1);

/// How often a removal that failed is tried again before netd gives up on
/// it until its next start.
const ATTEMPTS: u32 = 5;

/// How often an owner is looked at where pidfds are not available.
const POLL: Duration = Duration::from_secs(1);

/// A future that resolves once a process has exited.
pub(crate) type Exit = Pin<Box<dyn Future<Output = ()> + Send>>;

/// How netd learns whether processes run and when they exit: `/proc` and
/// pidfds ([`ProcTable`]), or the unit tests' fake.
pub(crate) trait Processes: Send + Sync + fmt::Debug {
    /// Whether `owner` runs now.
    fn running(&self, owner: &SandboxOwner) -> bool;
    /// Resolves once `owner` does not run (at once when it does not now).
    fn exited(&self, owner: SandboxOwner) -> Exit;
}

/// The machine's processes.
#[derive(Debug, Default)]
pub(crate) struct ProcTable;

impl Processes for ProcTable {
    fn running(&self, owner: &SandboxOwner) -> bool {
        owner.is_running()
    }

    fn exited(&self, owner: SandboxOwner) -> Exit {
        Box::pin(async move {
            match pidfd_open(owner.pid) {
                // Opened first and checked after: the descriptor is then
                // the owner's, not that of a later process with its pid.
                Ok(fd) if owner.is_running() => wait_readable(fd, owner).await,
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {}
                Err(e) => {
                    debug!(pid = owner.pid, error = %e, "no pidfd: polling the owner");
                    while owner.is_running() {
                        tokio::time::sleep(POLL).await;
                    }
                }
            }
        })
    }
}

/// `pidfd_open(2)`: a descriptor of process `pid`, readable once it has
/// exited.
fn pidfd_open(pid: i32) -> std::io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new
    // descriptor or -1; nothing else is read or written.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, libc::PIDFD_NONBLOCK) };
    let fd = i32::try_from(fd).map_err(|_| std::io::Error::from_raw_os_error(libc::EBADF))?;
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a descriptor the kernel just made, owned by nothing else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Waits until the pidfd `fd` is readable (its process exited); polls
/// when the runtime cannot watch it.
async fn wait_readable(fd: OwnedFd, owner: SandboxOwner) {
    // SAFETY: the AsyncFd owns the descriptor (an OwnedFd), which stays
    // open and the same until it is dropped with it.
    let registered = unsafe {
        tokio::io::unix::AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE)
    };
    match registered {
        Ok(watched) => {
            if let Err(e) = watched.readable().await {
                warn!(pid = owner.pid, error = %e, "watching the owner failed: polling it");
                while owner.is_running() {
                    tokio::time::sleep(POLL).await;
                }
            }
        }
        Err(e) => {
            debug!(pid = owner.pid, error = %e, "cannot watch the pidfd: polling the owner");
            while owner.is_running() {
                tokio::time::sleep(POLL).await;
            }
        }
    }
}

/// An owner that exited: its sandbox is to go once [`GRACE`] has passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Gone {
    /// The sandbox's id.
    pub(crate) sandbox: String,
    /// Its owner, as the sandbox recorded it when it was seen gone (a
    /// sandbox made afresh under the same id has another one).
    pub(crate) owner: SandboxOwner,
    /// Removals tried so far.
    pub(crate) attempts: u32,
}

/// The owners netd watches, and the sandboxes whose owner has gone.
pub(crate) struct Owners {
    processes: Arc<dyn Processes>,
    /// The watch of each owned sandbox, by sandbox id.
    watches: HashMap<String, tokio::task::AbortHandle>,
    /// Sandboxes whose owner has exited, waiting out [`GRACE`].
    gone: BTreeMap<String, SandboxOwner>,
    /// Where watches report an exit (to [`collect`]).
    events: mpsc::UnboundedSender<Gone>,
    /// The other end, until [`collect`] takes it.
    receiver: Option<mpsc::UnboundedReceiver<Gone>>,
}

impl fmt::Debug for Owners {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Owners")
            .field("processes", &self.processes)
            .field("watched", &self.watches.len())
            .field("gone", &self.gone)
            .finish_non_exhaustive()
    }
}

impl Owners {
    /// Owners seen through `processes`.
    pub(crate) fn new(processes: Arc<dyn Processes>) -> Self {
        let (events, receiver) = mpsc::unbounded_channel();
        Self {
            processes,
            watches: HashMap::new(),
            gone: BTreeMap::new(),
            events,
            receiver: Some(receiver),
        }
    }

    /// Whether `owner` runs.
    pub(crate) fn running(&self, owner: &SandboxOwner) -> bool {
        self.processes.running(owner)
    }

    /// Watches the owner of sandbox `id`: its exit is reported to
    /// [`collect`].
    fn watch(&mut self, id: &str, owner: SandboxOwner) {
        let exited = self.processes.exited(owner);
        let events = self.events.clone();
        let sandbox = id.to_owned();
        let task = tokio::spawn(async move {
            exited.await;
            let _ = events.send(Gone {
                sandbox,
                owner,
                attempts: 0,
            });
        });
        if let Some(old) = self.watches.insert(id.to_owned(), task.abort_handle()) {
            old.abort();
        }
    }

    /// Stops watching sandbox `id` (it is gone).
    fn forget(&mut self, id: &str) {
        if let Some(w) = self.watches.remove(id) {
            w.abort();
        }
        self.gone.remove(id);
    }

    /// The events of exited owners, once (for [`collect`]).
    pub(crate) fn take_events(&mut self) -> Option<mpsc::UnboundedReceiver<Gone>> {
        self.receiver.take()
    }
}

impl Drop for Owners {
    fn drop(&mut self) {
        for w in self.watches.values() {
            w.abort();
        }
    }
}

/// Removes the sandboxes of exited owners, each [`GRACE`] after its owner
/// was seen gone, until netd stops.
pub(crate) fn collect(shared: Arc<Mutex<Controller>>, mut events: mpsc::UnboundedReceiver<Gone>) {
    tokio::spawn(async move {
        while let Some(gone) = events.recv().await {
            if !shared.lock().await.owner_exited(&gone) {
                continue;
            }
            let shared = shared.clone();
            tokio::spawn(async move {
                tokio::time::sleep(GRACE).await;
                shared.lock().await.collect_orphan(gone).await;
            });
        }
    });
}

impl Controller {
    /// Replaces how processes are seen (the unit tests' fake).
    #[cfg(test)]
    pub(crate) fn set_processes(&mut self, processes: Arc<dyn Processes>) {
        self.owners.processes = processes;
    }

    /// The events of exited owners, for [`collect`] (once).
    pub(crate) fn take_owner_events(&mut self) -> Option<mpsc::UnboundedReceiver<Gone>> {
        self.owners.take_events()
    }

    /// Whether sandbox `s` is still needed as far as its owner goes: it has
    /// none, or the owner runs.
    pub(crate) fn owner_alive(&self, s: &Sandbox) -> bool {
        s.owner.as_ref().is_none_or(|o| self.owners.running(o))
    }

    /// Watches the owner of sandbox `s`, when it has one.
    pub(crate) fn watch_owner(&mut self, s: &Sandbox) {
        if let Some(owner) = s.owner {
            self.owners.watch(&s.id, owner);
        }
    }

    /// Stops watching the owner of sandbox `id`, which is removed.
    pub(crate) fn forget_owner(&mut self, id: &str) {
        self.owners.forget(id);
    }

    /// Watches the owner of every stored sandbox (at start, once those of
    /// gone owners were removed).
    pub(crate) fn watch_owners(&mut self) {
        let owned: Vec<(String, SandboxOwner)> = self
            .sandboxes
            .values()
            .filter_map(|s| Some((s.id.clone(), s.owner?)))
            .collect();
        for (id, owner) in owned {
            self.owners.watch(&id, owner);
        }
    }

    /// Makes room for a new sandbox `id` named `name` owned by `owner`:
    /// refuses an owner that does not run; removes the sandboxes whose
    /// owner has gone and the one this sandbox replaces (same id or name,
    /// whose owner has gone or is this same owner).
    pub(crate) async fn admit_owner(
        &mut self,
        id: &str,
        name: &str,
        owner: Option<&SandboxOwner>,
    ) -> Result<(), NetdError> {
        if let Some(o) = owner
            && !self.owners.running(o)
        {
            return Err(NetdError::invalid(format!(
                "the sandbox's owner, process {} (started at {}), is not running",
                o.pid, o.start_time
            )));
        }
        // Those waiting out their grace period: best effort, a failure
        // there is not this request's.
        let waiting: Vec<String> = self.owners.gone.keys().cloned().collect();
        for old in waiting {
            if !self.sandboxes.contains_key(&old) {
                self.owners.forget(&old);
                continue;
            }
            if let Err(e) = self.remove_sandbox(&old).await {
                warn!(sandbox = %old, error = %e.chain(), "could not remove the sandbox of an exited owner");
            }
        }
        let replaced: Vec<String> = self
            .sandboxes
            .values()
            .filter(|s| s.id == id || s.name == name)
            .filter(|s| {
                s.owner
                    .as_ref()
                    .is_some_and(|o| Some(o) == owner || !self.owners.running(o))
            })
            .map(|s| s.id.clone())
            .collect();
        for old in replaced {
            info!(sandbox = %old, replaced_by = %id, "replacing a sandbox whose owner has gone or makes it afresh");
            self.remove_sandbox(&old).await?;
        }
        Ok(())
    }

    /// An owner exited: true when its sandbox is still its own, which is
    /// then to be removed after the grace period.
    pub(crate) fn owner_exited(&mut self, gone: &Gone) -> bool {
        let ours = self
            .sandboxes
            .get(&gone.sandbox)
            .is_some_and(|s| s.owner == Some(gone.owner));
        if ours {
            info!(sandbox = %gone.sandbox, pid = gone.owner.pid, "the sandbox's owner has exited: removing the sandbox after the grace period");
            self.owners.gone.insert(gone.sandbox.clone(), gone.owner);
        }
        ours
    }

    /// Removes the sandbox of an owner that exited, when it is still that
    /// owner's. A removal that fails is tried again after the grace period,
    /// a few times, and then left for the next start.
    pub(crate) async fn collect_orphan(&mut self, mut gone: Gone) {
        let ours = self.owners.gone.get(&gone.sandbox) == Some(&gone.owner)
            && self
                .sandboxes
                .get(&gone.sandbox)
                .is_some_and(|s| s.owner == Some(gone.owner));
        if !ours {
            return;
        }
        match self.remove_sandbox(&gone.sandbox).await {
            Ok(()) => {
                info!(sandbox = %gone.sandbox, pid = gone.owner.pid, "removed the sandbox of an exited owner");
            }
            Err(e) => {
                gone.attempts += 1;
                if gone.attempts < ATTEMPTS {
                    warn!(sandbox = %gone.sandbox, error = %e.chain(), attempts = gone.attempts, "could not remove the sandbox of an exited owner: trying again");
                    let _ = self.owners.events.send(gone);
                } else {
                    warn!(sandbox = %gone.sandbox, error = %e.chain(), "could not remove the sandbox of an exited owner: leaving it for the next start");
                    self.owners.gone.remove(&gone.sandbox);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use netd_api::portspec::{PortBinding, PortBindings};
    use netd_api::types::{
        EndpointSettings, Ipam as IpamRequest, IpamConfig, NetworkCreateRequest,
        SandboxCreateRequest,
    };

    use super::*;
    use crate::controller::fake::FakeKernel;
    use crate::error::ErrorKind;

    /// Processes the test starts and ends by hand.
    #[derive(Debug, Default)]
    struct FakeProcesses {
        running: std::sync::Mutex<HashSet<SandboxOwner>>,
    }

    impl FakeProcesses {
        fn start(&self, pid: i32) -> SandboxOwner {
            let o = SandboxOwner {
                pid,
                start_time: 1000 + u64::try_from(pid).expect("a positive pid"),
            };
            self.running.lock().expect("not poisoned").insert(o);
            o
        }

        fn end(&self, o: &SandboxOwner) {
            self.running.lock().expect("not poisoned").remove(o);
        }
    }

    impl Processes for Arc<FakeProcesses> {
        fn running(&self, owner: &SandboxOwner) -> bool {
            self.running.lock().expect("not poisoned").contains(owner)
        }

        fn exited(&self, owner: SandboxOwner) -> Exit {
            let me = Arc::clone(self);
            Box::pin(async move {
                while me.running(&owner) {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            })
        }
    }

    struct Env {
        _dir: tempfile::TempDir,
        fake: FakeKernel,
        procs: Arc<FakeProcesses>,
        c: Controller,
        events: mpsc::UnboundedReceiver<Gone>,
    }

    async fn env() -> Env {
        let (dir, fake, mut c) = crate::controller::fake::controller().await;
        let procs = Arc::new(FakeProcesses::default());
        c.set_processes(Arc::new(Arc::clone(&procs)));
        let events = c.take_owner_events().expect("the events, once");
        c.create_network(NetworkCreateRequest {
            name: "web".into(),
            ipam: Some(IpamRequest {
                config: Some(vec![IpamConfig {
                    subnet: Some("10.7.0.0/24".into()),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("a network");
        Env {
            _dir: dir,
            fake,
            procs,
            c,
            events,
        }
    }

    /// Sandbox `name` (id `id` when given) owned by `owner`, publishing
    /// port 80 on host port `port`, connected to `web` with address `ip`.
    async fn sandbox(
        c: &mut Controller,
        id: Option<&str>,
        name: &str,
        owner: Option<SandboxOwner>,
        port: u16,
        ip: &str,
    ) -> Result<String, NetdError> {
        let mut ports = PortBindings::new();
        ports.insert(
            "80/tcp".into(),
            vec![PortBinding {
                host_ip: String::new(),
                host_port: port.to_string(),
            }],
        );
        let s = c
            .create_sandbox(SandboxCreateRequest {
                id: id.unwrap_or_default().to_owned(),
                name: name.into(),
                port_bindings: Some(ports),
                owner,
                ..Default::default()
            })
            .await?;
        let cfg = EndpointSettings {
            ipam_config: Some(netd_api::types::EndpointIpamConfig {
                ipv4_address: ip.into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        c.connect("web", &s.id, cfg).await?;
        Ok(s.id)
    }

    /// Sandbox `name` of a new owner `pid`, on host port `port` and the
    /// network's address 10.7.0.9.
    async fn owned(
        e: &mut Env,
        pid: i32,
        id: Option<&str>,
        name: &str,
        port: u16,
    ) -> (SandboxOwner, Result<String, NetdError>) {
        let owner = e.procs.start(pid);
        let made = sandbox(&mut e.c, id, name, Some(owner), port, "10.7.0.9").await;
        (owner, made)
    }

    /// The host ports held, the names the network's DNS answers, and the
    /// veths in the kernel.
    fn held(e: &Env) -> (Vec<u16>, Vec<String>, usize) {
        let mut ports: Vec<u16> =
            e.c.reservations
                .values()
                .flatten()
                .map(|h| h.port)
                .collect();
        ports.sort_unstable();
        let names = e.c.zones.values().flat_map(|z| z.entries()).collect();
        (ports, names, e.fake.held().veths.len())
    }

    /// The next owner the watches report gone.
    async fn next_gone(e: &mut Env) -> Gone {
        tokio::time::timeout(Duration::from_secs(5), e.events.recv())
            .await
            .expect("an exit is reported")
            .expect("the channel is open")
    }

    #[tokio::test]
    async fn a_sandbox_whose_owner_exits_goes_with_its_address_port_and_name() {
        let mut e = env().await;
        let (shim, made) = owned(&mut e, 10, None, "w1", 8001).await;
        let id = made.expect("made");
        assert_eq!(e.c.sandbox_view("w1").expect("shown").owner, Some(shim));
        let (ports, names, veths) = held(&e);
        assert_eq!((ports, veths), (vec![8001], 1));
        assert!(names.iter().any(|n| n.contains("w1")), "{names:?}");
        e.procs.end(&shim);
        let gone = next_gone(&mut e).await;
        assert_eq!((gone.sandbox.as_str(), gone.owner), (id.as_str(), shim));
        assert!(e.c.owner_exited(&gone));
        // Still there during the grace period.
        assert!(e.c.sandboxes.contains_key(&id));
        e.c.collect_orphan(gone).await;
        assert!(e.c.sandboxes.is_empty());
        assert_eq!(held(&e), (vec![], vec![], 0));
        // The address is free again.
        let (_, made) = owned(&mut e, 11, None, "w2", 8002).await;
        made.expect("the address is free");
    }

    #[tokio::test]
    async fn a_sandbox_without_an_owner_is_never_collected() {
        let mut e = env().await;
        let id = sandbox(&mut e.c, None, "plain", None, 8001, "10.7.0.9")
            .await
            .expect("made");
        assert!(e.c.owners.watches.is_empty(), "nothing to watch");
        let gone = Gone {
            sandbox: id.clone(),
            owner: SandboxOwner {
                pid: 1,
                start_time: 1,
            },
            attempts: 0,
        };
        assert!(!e.c.owner_exited(&gone));
        e.c.collect_orphan(gone).await;
        assert!(e.c.sandboxes.contains_key(&id));
    }

    #[tokio::test]
    async fn a_name_port_and_address_held_by_a_gone_owner_are_taken_at_once() {
        let mut e = env().await;
        let (old, made) = owned(&mut e, 10, None, "w1", 8001).await;
        let old_id = made.expect("made");
        // The owner is gone, and nobody has collected its sandbox yet.
        e.procs.end(&old);
        let (_, made) = owned(&mut e, 12, None, "w1", 8001).await;
        let id = made.expect("the old sandbox is replaced");
        assert!(!e.c.sandboxes.contains_key(&old_id));
        assert_eq!(e.c.sandbox_view("w1").expect("shown").id, id);
        assert_eq!(held(&e).0, vec![8001]);
        assert_eq!(held(&e).2, 1, "one veth, the new one's");
    }

    #[tokio::test]
    async fn sandboxes_waiting_out_their_grace_period_go_before_a_new_one() {
        let mut e = env().await;
        let (old, made) = owned(&mut e, 10, None, "w1", 8001).await;
        let old_id = made.expect("made");
        e.procs.end(&old);
        let gone = next_gone(&mut e).await;
        assert!(e.c.owner_exited(&gone));
        // Another name, the same port and address.
        let (_, made) = owned(&mut e, 12, None, "w2", 8001).await;
        made.expect("the waiting sandbox went first");
        assert!(!e.c.sandboxes.contains_key(&old_id));
        // Its collection, due later, changes nothing.
        e.c.collect_orphan(gone).await;
        assert_eq!(e.c.sandboxes.len(), 1);
    }

    #[tokio::test]
    async fn an_owner_making_its_sandbox_afresh_replaces_it() {
        let mut e = env().await;
        let shim = e.procs.start(10);
        let id = netd_api::new_id();
        sandbox(&mut e.c, Some(&id), "w1", Some(shim), 8001, "10.7.0.9")
            .await
            .expect("made");
        sandbox(&mut e.c, Some(&id), "w1", Some(shim), 8001, "10.7.0.9")
            .await
            .expect("made again by the same owner");
        assert_eq!(e.c.sandboxes.len(), 1);
        assert_eq!(held(&e).2, 1);
    }

    #[tokio::test]
    async fn a_running_owners_sandbox_keeps_its_name() {
        let mut e = env().await;
        let (_, made) = owned(&mut e, 10, None, "w1", 8001).await;
        made.expect("made");
        let second = e.procs.start(11);
        let err = sandbox(&mut e.c, None, "w1", Some(second), 8002, "10.7.0.10")
            .await
            .expect_err("the name is taken");
        assert_eq!(err.kind, ErrorKind::Conflict, "{err}");
        let err = sandbox(&mut e.c, None, "w1", None, 8002, "10.7.0.10")
            .await
            .expect_err("the name is taken");
        assert_eq!(err.kind, ErrorKind::Conflict, "{err}");
    }

    #[tokio::test]
    async fn an_owner_that_does_not_run_is_refused() {
        let mut e = env().await;
        let ghost = SandboxOwner {
            pid: 77,
            start_time: 5,
        };
        let err = sandbox(&mut e.c, None, "w1", Some(ghost), 8001, "10.7.0.9")
            .await
            .expect_err("refused");
        assert_eq!(err.kind, ErrorKind::InvalidParameter, "{err}");
        assert!(e.c.sandboxes.is_empty());
    }

    #[tokio::test]
    async fn a_sandbox_made_afresh_is_not_collected_for_its_predecessors_owner() {
        let mut e = env().await;
        let old = e.procs.start(10);
        let id = netd_api::new_id();
        sandbox(&mut e.c, Some(&id), "w1", Some(old), 8001, "10.7.0.9")
            .await
            .expect("made");
        e.procs.end(&old);
        let gone = next_gone(&mut e).await;
        // Made again under the same id by another owner before the old
        // owner's exit was handled.
        let (new, made) = owned(&mut e, 11, Some(&id), "w1", 8001).await;
        made.expect("replaced");
        assert!(!e.c.owner_exited(&gone));
        e.c.collect_orphan(gone).await;
        assert_eq!(e.c.sandbox_view(&id).expect("kept").owner, Some(new));
    }

    #[tokio::test]
    async fn a_real_process_is_seen_exiting_through_its_pidfd() {
        let mut child = std::process::Command::new("sleep")
            .arg("60")
            .spawn()
            .expect("sleep runs");
        let pid = i32::try_from(child.id()).expect("pids fit i32");
        let stat = netd_api::process::stat(pid).expect("its stat");
        let owner = SandboxOwner {
            pid,
            start_time: stat.start_time,
        };
        assert!(ProcTable.running(&owner));
        let reused = SandboxOwner {
            start_time: stat.start_time + 1,
            ..owner
        };
        assert!(!ProcTable.running(&reused), "another process with its pid");
        let mut exited = ProcTable.exited(owner);
        let early = tokio::time::timeout(Duration::from_millis(100), &mut exited).await;
        assert!(early.is_err(), "it runs");
        child.kill().expect("killed");
        // Not reaped yet: a zombie has exited all the same.
        tokio::time::timeout(Duration::from_secs(5), exited)
            .await
            .expect("its exit is seen");
        assert!(!ProcTable.running(&owner));
        child.wait().expect("reaped");
        tokio::time::timeout(Duration::from_secs(5), ProcTable.exited(owner))
            .await
            .expect("an owner gone before the watch is seen at once");
    }

    #[tokio::test]
    async fn only_sandboxes_of_running_owners_or_none_are_alive() {
        let mut e = env().await;
        let (shim, made) = owned(&mut e, 10, None, "w1", 8001).await;
        let owned = made.expect("made");
        let plain = sandbox(&mut e.c, None, "w2", None, 8002, "10.7.0.10")
            .await
            .expect("made");
        let alive = |e: &Env, id: &str| e.c.owner_alive(&e.c.sandboxes[id]);
        assert!(alive(&e, &owned) && alive(&e, &plain));
        e.procs.end(&shim);
        assert!(!alive(&e, &owned));
        assert!(alive(&e, &plain));
    }
}
