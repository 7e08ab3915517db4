//! The container's mounts as Docker lays them out: its defaults (`/proc`,
//! `/dev` and below, `/sys`, `/sys/fs/cgroup`), less those a user mount
//! replaces, then the user's mounts and the network files, parents first.

use std::path::{Path, PathBuf};

use oci_spec::runtime::Mount;

use super::{MountInput, MountKind, NetworkFiles};
use crate::spec::path::depth;

/// `/dev/shm`'s size: Docker's default `--shm-size` (64 MiB).
pub const SHM_SIZE: u64 = 64 << 20;

/// One OCI mount.
fn mount(destination: &str, typ: &str, source: impl Into<PathBuf>, options: &[&str]) -> Mount {
    let mut m = Mount::default();
    m.set_destination(PathBuf::from(destination))
        .set_typ(Some(typ.to_owned()))
        .set_source(Some(source.into()))
        .set_options(Some(options.iter().map(|o| (*o).to_owned()).collect()));
    m
}

/// Docker's default mounts; `/sys` and the cgroup tree are read-write for
/// a privileged container.
pub fn default_mounts(privileged: bool) -> Vec<Mount> {
    let ro: &[&str] = if privileged { &[] } else { &["ro"] };
    let shm_size = format!("size={SHM_SIZE}");
    vec![
        mount("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"]),
        mount(
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        ),
        mount(
            "/dev/pts",
            "devpts",
            "devpts",
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        ),
        mount(
            "/sys",
            "sysfs",
            "sysfs",
            &[&["nosuid", "noexec", "nodev"][..], ro].concat(),
        ),
        mount(
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            &[ro, &["nosuid", "noexec", "nodev"][..]].concat(),
        ),
        mount(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            &["nosuid", "noexec", "nodev"],
        ),
        mount(
            "/dev/shm",
            "tmpfs",
            "shm",
            &["nosuid", "noexec", "nodev", "mode=1777", &shm_size],
        ),
    ]
}

/// The OCI mount of a user's mount: binds are `rbind` (or `bind`), then
/// `ro`, then the given options; tmpfs mounts take their options as given,
/// with `ro` added when read-only.
fn user_mount(input: &MountInput) -> Mount {
    let has = |o: &str| input.options.iter().any(|x| x == o);
    let mut options: Vec<&str> = Vec::new();
    let (typ, source): (&str, &Path) = match input.kind {
        MountKind::Bind => {
            options.push(if has("bind") { "bind" } else { "rbind" });
            if input.read_only {
                options.push("ro");
            }
            options.extend(
                input
                    .options
                    .iter()
                    .map(String::as_str)
                    .filter(|o| *o != "bind"),
            );
            ("bind", &input.source)
        }
        MountKind::Tmpfs => {
            options.extend(input.options.iter().map(String::as_str));
            if input.read_only && !has("ro") {
                options.push("ro");
            }
            ("tmpfs", Path::new("tmpfs"))
        }
    };
    mount(&input.destination, typ, source, &options)
}

/// Every mount of the container, in the order the runtime must make them.
/// Default mounts that a user mount covers are dropped (all of `/dev`'s
/// when the user mounts `/dev`); the network files (read-only with a
/// read-only root) are skipped where the user mounts the same path.
pub fn container_mounts(
    user: &[MountInput],
    files: &NetworkFiles,
    privileged: bool,
    read_only_rootfs: bool,
) -> Vec<Mount> {
    let taken = |dest: &str| user.iter().any(|m| m.destination == dest);
    let dev_taken = taken("/dev");
    let mut mounts: Vec<Mount> = default_mounts(privileged)
        .into_iter()
        .filter(|m| {
            let dest = m.destination().to_string_lossy();
            let under_user_dev = dev_taken && dest.starts_with("/dev/");
            !taken(&dest) && !under_user_dev
        })
        .collect();

    let mut extra: Vec<Mount> = user.iter().map(user_mount).collect();
    let network = [
        ("/etc/resolv.conf", &files.resolv_conf),
        ("/etc/hostname", &files.hostname),
        ("/etc/hosts", &files.hosts),
    ];
    for (dest, source) in network {
        if let Some(source) = source
            && !taken(dest)
        {
            extra.push(user_mount(&MountInput {
                kind: MountKind::Bind,
                source: source.clone(),
                destination: dest.to_owned(),
                read_only: read_only_rootfs,
                options: vec!["rprivate".to_owned()],
            }));
        }
    }
    extra.sort_by_key(|m| depth(&m.destination().to_string_lossy()));
    mounts.extend(extra);
    mounts
}

/// The root's propagation as Docker sets it for the user's binds: `shared`
/// if one is shared, else `rslave` if one is a slave, else the runtime's
/// default.
pub fn rootfs_propagation(user: &[MountInput]) -> Option<&'static str> {
    let any = |names: [&str; 2]| {
        user.iter()
            .filter(|m| m.kind == MountKind::Bind)
            .any(|m| m.options.iter().any(|o| names.contains(&o.as_str())))
    };
    if any(["shared", "rshared"]) {
        Some("shared")
    } else if any(["slave", "rslave"]) {
        Some("rslave")
    } else {
        None
    }
}
