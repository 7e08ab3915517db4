//! The OCI bundle of one run: `config.json` for the runtime, from the
//! container record, its root and the sandbox netd made.

use std::path::Path;

use serde_json::{Value, json};

use super::error::{ContainerError, Result};
use super::network::Attached;
use super::record::Container;

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

/// Docker's default capabilities.
const DEFAULT_CAPS: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

fn bind(dest: &str, src: &str, ro: bool) -> Value {
    let mut opts = vec!["rbind", "rprivate"];
    if ro {
        opts.push("ro");
    }
    json!({"destination": dest, "type": "bind", "source": src, "options": opts})
}

/// Writes `bundle/config.json`.
pub fn write(
    c: &Container,
    rootfs: &Path,
    attached: &Attached,
    hostname_file: &Path,
    bundle: &Path,
) -> Result<()> {
    let mut env = c.config.env.clone();
    if !env.iter().any(|e| e.starts_with("PATH=")) {
        env.insert(
            0,
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
        );
    }
    env.push(format!("HOSTNAME={}", c.config.hostname));
    if c.config.tty {
        env.push("TERM=xterm".into());
    }
    let caps: Vec<&str> = DEFAULT_CAPS.to_vec();
    let mut namespaces = vec![
        json!({"type": "pid"}),
        json!({"type": "ipc"}),
        json!({"type": "uts"}),
        json!({"type": "mount"}),
    ];
    if let Some(ns) = &attached.netns {
        namespaces.push(json!({"type": "network", "path": ns}));
    }
    let mut mounts = vec![
        json!({"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}),
        json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]}),
        json!({"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]}),
        json!({"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]}),
        json!({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["ro", "nosuid", "noexec", "nodev"]}),
    ];
    if !attached.resolv_conf.is_empty() {
        mounts.push(bind("/etc/resolv.conf", &attached.resolv_conf, false));
    }
    if !attached.hosts.is_empty() {
        mounts.push(bind("/etc/hosts", &attached.hosts, false));
    }
    mounts.push(bind(
        "/etc/hostname",
        &hostname_file.display().to_string(),
        false,
    ));
    let spec = json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": c.config.tty,
            "user": {"uid": 0, "gid": 0},
            "args": c.argv(),
            "env": env,
            "cwd": if c.config.working_dir.is_empty() { "/" } else { c.config.working_dir.as_str() },
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
            "noNewPrivileges": false,
        },
        "root": {"path": rootfs, "readonly": c.host_config.readonly_rootfs},
        "hostname": c.config.hostname,
        "mounts": mounts,
        "linux": {
            "namespaces": namespaces,
            "cgroupsPath": cgroup_path(&c.id),
            "resources": {"devices": [{"allow": false, "access": "rwm"}]},
            "maskedPaths": ["/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
        },
    });
    let path = bundle.join("config.json");
    let bytes = serde_json::to_vec_pretty(&spec).map_err(|source| ContainerError::Record {
        path: path.clone(),
        source,
    })?;
    std::fs::write(&path, bytes).map_err(ContainerError::io("write", &path))
}
