//! The OCI bundle of one run: `config.json` for the runtime, built by
//! [`crate::spec::build`] from the container record, its root, the sandbox
//! netd made and what this host allows.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::error::{ContainerError, Result};
use super::network::Attached;
use super::record::{Container, MountPoint};
use crate::spec::build::{
    HostCapabilities, HostFacts, MountInput, MountKind, NetworkFiles, ResourcesInput, SpecInput,
    build_spec, hard_limits_from_proc,
};

/// The cgroup of a container, relative to each hierarchy's root: under
/// `berth`, or the parent `BERTH_CGROUP_PARENT` names (tests use their
/// own, to remove it afterwards).
pub fn cgroup_path(id: &str) -> String {
    let parent = std::env::var("BERTH_CGROUP_PARENT")
        .ok()
        .filter(|p| !p.is_empty() && !p.contains(".."))
        .unwrap_or_else(|| "berth".into());
    format!("/{}/{id}", parent.trim_matches('/'))
}

/// The capabilities this kernel knows (`/proc/sys/kernel/cap_last_cap`)
/// and, of those, the ones in this process's bounding set (`CapBnd` of
/// `/proc/self/status`): the most a container can be given, since the
/// runtime inherits that set. Without the first, a kernel of 41
/// capabilities (5.9 and later) is assumed; without the second, every
/// capability the kernel knows, as Docker assumes.
pub fn host_capabilities() -> HostCapabilities {
    let last_cap = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(40);
    match std::fs::read_to_string("/proc/self/status") {
        Ok(status) => HostCapabilities::from_status(last_cap, &status),
        Err(_) => HostCapabilities::all(last_cap),
    }
}

/// What this host allows, read from /proc and /sys.
pub fn host_facts() -> HostFacts {
    // As Docker's count: the CPUs this process may run on.
    let online_cpus = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0))
        .ok()
        .map(|set| {
            (0..nix::sched::CpuSet::count())
                .filter(|&i| set.is_set(i).unwrap_or(false))
                .count()
        })
        .and_then(|n| u32::try_from(n).ok())
        .filter(|&n| n > 0)
        .unwrap_or(1);
    let hard_limits: BTreeMap<String, u64> = std::fs::read_to_string("/proc/self/limits")
        .map(|t| hard_limits_from_proc(&t))
        .unwrap_or_default();
    let swap_limit_supported = Path::new("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes")
        .exists()
        || Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    HostFacts {
        online_cpus,
        capabilities: host_capabilities(),
        hard_limits,
        swap_limit_supported,
    }
}

/// A stored mount as the spec builder takes it.
fn mount_input(m: &MountPoint) -> MountInput {
    MountInput {
        kind: if m.kind == "tmpfs" {
            MountKind::Tmpfs
        } else {
            MountKind::Bind
        },
        source: PathBuf::from(&m.source),
        destination: m.destination.clone(),
        read_only: !m.rw,
        options: m.options.clone(),
    }
}

/// Where `--init` finds its init (Docker's `docker-init` is tini).
const INIT_BINARIES: [&str; 3] = [
    "/usr/bin/docker-init",
    "/usr/bin/tini-static",
    "/usr/libexec/docker/docker-init",
];

/// The init process `--init` runs in the container, bind-mounted there.
const INIT_PATH: &str = "/sbin/docker-init";

/// Writes `bundle/config.json`; returns the builder's warnings.
pub fn write(
    c: &Container,
    rootfs: &Path,
    attached: &Attached,
    hostname_file: &Path,
    bundle: &Path,
) -> Result<Vec<String>> {
    let nonempty = |s: &str| (!s.is_empty()).then(|| PathBuf::from(s));
    let mut args = c.argv();
    let mut mounts: Vec<MountInput> = c.host_config.mounts.iter().map(mount_input).collect();
    if c.host_config.init {
        // As Docker: a static tini, mounted read-only, as PID 1 that
        // forwards signals and reaps zombies.
        let init = INIT_BINARIES
            .iter()
            .find(|p| Path::new(p).exists())
            .ok_or(ContainerError::NoInit)?;
        args.splice(0..0, [INIT_PATH.to_owned(), "--".to_owned()]);
        mounts.push(MountInput {
            kind: MountKind::Bind,
            source: PathBuf::from(init),
            destination: INIT_PATH.into(),
            read_only: true,
            options: vec!["rprivate".into()],
        });
    }
    let input = SpecInput {
        args,
        image_env: Vec::new(),
        env: c.config.env.clone(),
        working_dir: c.config.working_dir.clone(),
        user: c.config.user.clone(),
        group_add: Vec::new(),
        tty: c.config.tty,
        no_new_privileges: c
            .host_config
            .security_opt
            .iter()
            .any(|o| o == "no-new-privileges" || o == "no-new-privileges:true"),
        cap_add: c.host_config.cap_add.clone(),
        cap_drop: c.host_config.cap_drop.clone(),
        privileged: c.host_config.privileged,
        ulimits: Vec::new(),
        rootfs: rootfs.to_owned(),
        read_only: c.host_config.readonly_rootfs,
        hostname: c.config.hostname.clone(),
        network: attached.netns.clone(),
        cgroup_namespace: Path::new("/sys/fs/cgroup/cgroup.controllers").exists(),
        mounts,
        network_files: NetworkFiles {
            hosts: nonempty(&attached.hosts),
            resolv_conf: nonempty(&attached.resolv_conf),
            hostname: Some(hostname_file.to_owned()),
        },
        cgroups_path: cgroup_path(&c.id),
        resources: ResourcesInput {
            memory: c.host_config.memory,
            memory_swap: c.host_config.memory_swap,
            nano_cpus: c.host_config.nano_cpus,
            cpu_shares: c.host_config.cpu_shares,
            pids_limit: (c.host_config.pids_limit != 0).then_some(c.host_config.pids_limit),
        },
        host: host_facts(),
    };
    let built = build_spec(&input).map_err(|source| ContainerError::Spec {
        id: c.id.clone(),
        source,
    })?;
    let path = bundle.join("config.json");
    let bytes = serde_json::to_vec(&built.spec).map_err(|source| ContainerError::Record {
        path: path.clone(),
        source,
    })?;
    std::fs::write(&path, bytes).map_err(ContainerError::io("write", &path))?;
    Ok(built.warnings)
}
