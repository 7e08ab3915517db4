//! The OCI runtime spec (`config.json`) of a container, made as Docker
//! makes it for runc: [`build_spec`] from a [`SpecInput`] that holds what
//! the user asked for, what the image says, and the few facts about the
//! host that Docker's choices depend on.

mod caps;
mod env;
mod mounts;
mod resources;
mod rlimits;
mod user;

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use oci_spec::OciSpecError;
use oci_spec::runtime::{
    Capability, Linux, LinuxCapabilities, LinuxNamespace, LinuxNamespaceType, Process, Root, Spec,
    User,
};

pub use self::caps::{
    CapabilityError, DEFAULT_CAPABILITIES, HostCapabilities, InvalidCapabilities, capabilities,
    check_requested,
};
pub use self::env::{DEFAULT_PATH, merge_env, process_env};
pub use self::mounts::{SHM_SIZE, container_mounts, default_mounts, rootfs_propagation};
pub use self::resources::{
    CPU_PERIOD, MIN_MEMORY, ResourceError, ResourcesInput, device_rules, linux_resources,
};
pub use self::rlimits::{DEFAULT_NOFILE, NPROC_CEILING, hard_limits_from_proc, rlimits};
pub use self::user::{ResolvedUser, UserError, resolve_user};
use crate::spec::flags::{Ulimit, UlimitError};
use crate::spec::path::clean_path;

/// Docker's paths hidden from the container (none when privileged).
pub const MASKED_PATHS: [&str; 12] = [
    "/proc/asound",
    "/proc/acpi",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// Docker's paths made read-only in the container (none when privileged).
pub const READONLY_PATHS: [&str; 5] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// Everything a container's spec is made from.
#[derive(Debug, Clone, Default)]
pub struct SpecInput {
    /// The command: the image's entrypoint and cmd, or the user's, already
    /// combined; must not be empty.
    pub args: Vec<String>,
    /// The image's `Env` (`KEY=VALUE`).
    pub image_env: Vec<String>,
    /// The user's `-e`/`--env-file` entries, in order, from
    /// [`crate::spec::flags::parse_env`]; a bare `KEY` unsets the image's.
    pub env: Vec<String>,
    /// `-w/--workdir` or the image's `WorkingDir`; empty means `/`, and it
    /// must be absolute otherwise.
    pub working_dir: String,
    /// `-u/--user` or the image's `User` (`name`, `uid`, `name:group`,
    /// `uid:gid`; empty for root), looked up in the rootfs's `/etc/passwd`.
    pub user: String,
    /// `--group-add`: more groups, by name or gid.
    pub group_add: Vec<String>,
    /// `-t/--tty`: a terminal, and `TERM=xterm`.
    pub tty: bool,
    /// `--security-opt no-new-privileges`.
    pub no_new_privileges: bool,
    /// `--cap-add`.
    pub cap_add: Vec<String>,
    /// `--cap-drop`.
    pub cap_drop: Vec<String>,
    /// `--privileged`: every capability and device, `/sys` and the cgroup
    /// tree writable, nothing masked.
    pub privileged: bool,
    /// `--ulimit`s, from [`crate::spec::flags::parse_ulimit`].
    pub ulimits: Vec<Ulimit>,
    /// The container's root file system (the mounted overlay); its
    /// `/etc/passwd` and `/etc/group` are read for the user.
    pub rootfs: PathBuf,
    /// `--read-only`: the root file system (and the network files) read-only.
    pub read_only: bool,
    /// The container's host name (Docker's default: the id's first 12
    /// characters).
    pub hostname: String,
    /// Which network namespace the container gets.
    pub network: NetworkNamespace,
    /// A private cgroup namespace (Docker's default on cgroup v2 hosts;
    /// on v1 and hybrid hosts Docker shares the host's).
    pub cgroup_namespace: bool,
    /// The user's binds, volumes and tmpfs mounts, sources already resolved
    /// to host paths ([`crate::spec::flags::MountSpec::to_input`]).
    pub mounts: Vec<MountInput>,
    /// The files netd renders for the sandbox, bind-mounted over the
    /// container's.
    pub network_files: NetworkFiles,
    /// The container's cgroup (`/berth/<id>` for the cgroupfs driver).
    pub cgroups_path: String,
    /// Memory, CPU and pids limits.
    pub resources: ResourcesInput,
    /// What the host allows.
    pub host: HostFacts,
}

/// The container's network namespace.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum NetworkNamespace {
    /// Join an existing one: netd's sandbox (`/run/netd/netns/<id>`), or
    /// another container's with `--network container:NAME`.
    Join(PathBuf),
    /// `--network host`: no network namespace of its own.
    Host,
    /// A new, empty one (loopback only).
    #[default]
    New,
}

/// Host files bind-mounted at `/etc/hosts`, `/etc/resolv.conf` and
/// `/etc/hostname`; `None` leaves the image's file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetworkFiles {
    /// For `/etc/hosts`.
    pub hosts: Option<PathBuf>,
    /// For `/etc/resolv.conf`.
    pub resolv_conf: Option<PathBuf>,
    /// For `/etc/hostname`.
    pub hostname: Option<PathBuf>,
}

/// A user mount with its source on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountInput {
    /// Bind (binds and volumes) or tmpfs.
    pub kind: MountKind,
    /// The host path (ignored for tmpfs).
    pub source: PathBuf,
    /// The absolute path in the container.
    pub destination: String,
    /// Read-only.
    pub read_only: bool,
    /// Mount options: for a bind its propagation (and `bind` for a
    /// non-recursive one), for a tmpfs all of them.
    pub options: Vec<String>,
}

/// How a [`MountInput`] is mounted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountKind {
    /// A bind mount of a host path.
    Bind,
    /// A new tmpfs.
    Tmpfs,
}

/// Facts about the host that the spec depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostFacts {
    /// Online CPUs: the ceiling of `--cpus`.
    pub online_cpus: u32,
    /// The capabilities this kernel knows and the engine holds: a
    /// container never gets others.
    pub capabilities: HostCapabilities,
    /// Hard rlimits by `--ulimit` name ([`hard_limits_from_proc`]); no
    /// limit is asked above them.
    pub hard_limits: BTreeMap<String, u64>,
    /// The memory cgroup can limit swap (`memory.memsw.*` on v1,
    /// `memory.swap.max` on v2).
    pub swap_limit_supported: bool,
}

impl Default for HostFacts {
    fn default() -> Self {
        Self {
            online_cpus: 1,
            capabilities: HostCapabilities::all(40),
            hard_limits: BTreeMap::new(),
            swap_limit_supported: true,
        }
    }
}

/// A spec, and what Docker would have warned about while making it.
#[derive(Debug, Clone)]
pub struct BuiltSpec {
    /// The spec, for `config.json`.
    pub spec: Spec,
    /// Warnings for the user (`WARNING: …`).
    pub warnings: Vec<String>,
}

/// Why a spec could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// No entrypoint and no command.
    #[error("No command specified")]
    NoCommand,
    /// A relative working directory.
    #[error("the working directory '{0}' is invalid, it needs to be an absolute path")]
    WorkingDir(String),
    /// A mount whose destination is not absolute.
    #[error("invalid mount path: '{0}' mount path must be absolute")]
    MountDestination(String),
    /// The user or a group is unknown.
    #[error(transparent)]
    User(#[from] UserError),
    /// An unknown capability.
    #[error(transparent)]
    Capability(#[from] CapabilityError),
    /// A resource setting out of range.
    #[error(transparent)]
    Resources(#[from] ResourceError),
    /// An unknown ulimit.
    #[error(transparent)]
    Ulimit(#[from] UlimitError),
    /// The OCI types refused a value.
    #[error("building the OCI spec: {0}")]
    Oci(#[from] OciSpecError),
}

/// The container's OCI spec, as Docker would have it run by runc.
pub fn build_spec(input: &SpecInput) -> Result<BuiltSpec, SpecError> {
    if input.args.is_empty() {
        return Err(SpecError::NoCommand);
    }
    let cwd = match input.working_dir.as_str() {
        "" => "/".to_owned(),
        dir if dir.starts_with('/') => clean_path(dir),
        dir => return Err(SpecError::WorkingDir(dir.to_owned())),
    };
    if let Some(m) = input
        .mounts
        .iter()
        .find(|m| !m.destination.starts_with('/'))
    {
        return Err(SpecError::MountDestination(m.destination.clone()));
    }
    let resolved = resolve_user(&input.rootfs, &input.user, &input.group_add)?;
    let caps: HashSet<Capability> = capabilities(
        &input.cap_add,
        &input.cap_drop,
        input.privileged,
        &input.host.capabilities,
    )?
    .into_iter()
    .collect();
    let mut warnings = Vec::new();
    let resources = linux_resources(
        &input.resources,
        &input.host,
        input.privileged,
        &mut warnings,
    )?;
    let rlimits = rlimits(&input.ulimits, &input.host.hard_limits, &mut warnings)?;

    let mut user = User::default();
    user.set_uid(resolved.uid)
        .set_gid(resolved.gid)
        .set_additional_gids(Some(resolved.additional_gids));
    let mut capabilities = LinuxCapabilities::default();
    capabilities
        .set_bounding(Some(caps.clone()))
        .set_effective(Some(caps.clone()))
        .set_permitted(Some(caps))
        .set_inheritable(None)
        .set_ambient(None);
    let mut process = Process::default();
    process
        .set_terminal(Some(input.tty))
        .set_user(user)
        .set_args(Some(input.args.clone()))
        .set_env(Some(process_env(
            &merge_env(&input.image_env, &input.env),
            &input.hostname,
            input.tty,
        )))
        .set_cwd(PathBuf::from(cwd))
        .set_capabilities(Some(capabilities))
        .set_rlimits(Some(rlimits))
        .set_no_new_privileges(input.no_new_privileges.then_some(true))
        .set_oom_score_adj(Some(0));

    let mut root = Root::default();
    root.set_path(input.rootfs.clone())
        .set_readonly(Some(input.read_only));

    let (masked, readonly): (Vec<String>, Vec<String>) = if input.privileged {
        (Vec::new(), Vec::new())
    } else {
        (
            MASKED_PATHS.iter().map(|p| (*p).to_owned()).collect(),
            READONLY_PATHS.iter().map(|p| (*p).to_owned()).collect(),
        )
    };
    let mut linux = Linux::default();
    linux
        .set_namespaces(Some(namespaces(&input.network, input.cgroup_namespace)))
        .set_masked_paths(Some(masked))
        .set_readonly_paths(Some(readonly))
        .set_devices(Some(Vec::new()))
        .set_resources(Some(resources))
        .set_cgroups_path(Some(PathBuf::from(&input.cgroups_path)))
        .set_rootfs_propagation(rootfs_propagation(&input.mounts).map(str::to_owned))
        .set_sysctl(None)
        .set_uid_mappings(None)
        .set_gid_mappings(None);

    let mut spec = Spec::default();
    spec.set_process(Some(process))
        .set_root(Some(root))
        .set_hostname(Some(input.hostname.clone()))
        .set_mounts(Some(container_mounts(
            &input.mounts,
            &input.network_files,
            input.privileged,
            input.read_only,
        )))
        .set_annotations(None)
        .set_linux(Some(linux));
    Ok(BuiltSpec { spec, warnings })
}

/// Docker's namespaces: mount, network (unless the host's), uts, pid, ipc,
/// and cgroup when private.
fn namespaces(network: &NetworkNamespace, cgroup: bool) -> Vec<LinuxNamespace> {
    let ns = |typ, path: Option<PathBuf>| {
        let mut n = LinuxNamespace::default();
        n.set_typ(typ).set_path(path);
        n
    };
    let mut list = vec![ns(LinuxNamespaceType::Mount, None)];
    match network {
        NetworkNamespace::Join(path) => {
            list.push(ns(LinuxNamespaceType::Network, Some(path.clone())))
        }
        NetworkNamespace::New => list.push(ns(LinuxNamespaceType::Network, None)),
        NetworkNamespace::Host => {}
    }
    list.extend([
        ns(LinuxNamespaceType::Uts, None),
        ns(LinuxNamespaceType::Pid, None),
        ns(LinuxNamespaceType::Ipc, None),
    ]);
    if cgroup {
        list.push(ns(LinuxNamespaceType::Cgroup, None));
    }
    list
}

#[cfg(test)]
#[path = "build/tests.rs"]
mod tests;
