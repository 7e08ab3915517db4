//! The local driver's `type`, `device` and `o` options: a file system
//! mounted on the volume's data directory (`-o type=tmpfs -o device=tmpfs
//! -o o=size=64m`, or `-o type=none -o device=/srv/data -o o=bind`), as
//! Docker's `mount.Mount` does it: `o` split into mount flags and the
//! file system's own data.

use std::collections::BTreeMap;
use std::path::Path;

use nix::mount::{MntFlags, MsFlags, mount, umount2};

use super::error::{Result, VolumeError};

/// What a comma-separated `o` option asks of `mount(2)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountOptions {
    /// Flags for the mount itself.
    pub flags: MsFlags,
    /// Propagation to set after it (`rshared`, `private`, …), if any.
    pub propagation: MsFlags,
    /// The rest, for the file system (`size=64m,uid=1000`).
    pub data: String,
}

/// One mount flag word: the flag, and whether the word clears it.
fn flag_word(word: &str) -> Option<(MsFlags, bool)> {
    Some(match word {
        "defaults" => (MsFlags::empty(), false),
        "ro" => (MsFlags::MS_RDONLY, false),
        "rw" => (MsFlags::MS_RDONLY, true),
        "suid" => (MsFlags::MS_NOSUID, true),
        "nosuid" => (MsFlags::MS_NOSUID, false),
        "dev" => (MsFlags::MS_NODEV, true),
        "nodev" => (MsFlags::MS_NODEV, false),
        "exec" => (MsFlags::MS_NOEXEC, true),
        "noexec" => (MsFlags::MS_NOEXEC, false),
        "sync" => (MsFlags::MS_SYNCHRONOUS, false),
        "async" => (MsFlags::MS_SYNCHRONOUS, true),
        "dirsync" => (MsFlags::MS_DIRSYNC, false),
        "mand" => (MsFlags::MS_MANDLOCK, false),
        "nomand" => (MsFlags::MS_MANDLOCK, true),
        "atime" => (MsFlags::MS_NOATIME, true),
        "noatime" => (MsFlags::MS_NOATIME, false),
        "diratime" => (MsFlags::MS_NODIRATIME, true),
        "nodiratime" => (MsFlags::MS_NODIRATIME, false),
        "bind" => (MsFlags::MS_BIND, false),
        "rbind" => (MsFlags::MS_BIND | MsFlags::MS_REC, false),
        "relatime" => (MsFlags::MS_RELATIME, false),
        "norelatime" => (MsFlags::MS_RELATIME, true),
        "strictatime" => (MsFlags::MS_STRICTATIME, false),
        "nostrictatime" => (MsFlags::MS_STRICTATIME, true),
        _ => return None,
    })
}

/// A propagation word.
fn propagation_word(word: &str) -> Option<MsFlags> {
    let rec = MsFlags::MS_REC;
    Some(match word {
        "private" => MsFlags::MS_PRIVATE,
        "rprivate" => MsFlags::MS_PRIVATE | rec,
        "shared" => MsFlags::MS_SHARED,
        "rshared" => MsFlags::MS_SHARED | rec,
        "slave" => MsFlags::MS_SLAVE,
        "rslave" => MsFlags::MS_SLAVE | rec,
        "unbindable" => MsFlags::MS_UNBINDABLE,
        "runbindable" => MsFlags::MS_UNBINDABLE | rec,
        _ => return None,
    })
}

/// Splits `o` into flags, propagation and data, as moby's
/// `parseOptions`.
pub fn parse_mount_options(o: &str) -> MountOptions {
    let mut out = MountOptions {
        flags: MsFlags::empty(),
        propagation: MsFlags::empty(),
        data: String::new(),
    };
    let mut data = Vec::new();
    for word in o.split(',').filter(|w| !w.is_empty()) {
        if let Some((flag, clear)) = flag_word(word) {
            out.flags.set(flag, !clear);
        } else if let Some(p) = propagation_word(word) {
            out.propagation = p;
        } else {
            data.push(word);
        }
    }
    out.data = data.join(",");
    out
}

/// Whether something is mounted at `path` now.
pub fn is_mounted(path: &Path) -> bool {
    let target = path.display().to_string();
    std::fs::read_to_string("/proc/self/mountinfo").is_ok_and(|m| {
        m.lines()
            .any(|l| l.split(' ').nth(4) == Some(target.as_str()))
    })
}

/// Mounts what `options` ask for on `target` unless something is mounted
/// there already; nothing without `type` and `device`.
pub fn mount_device(options: &BTreeMap<String, String>, target: &Path) -> Result<()> {
    let (Some(fstype), Some(device)) = (options.get("type"), options.get("device")) else {
        return Ok(());
    };
    if is_mounted(target) {
        return Ok(());
    }
    let parsed = parse_mount_options(options.get("o").map_or("", String::as_str));
    let failed = |e: nix::Error| VolumeError::Io {
        op: "failed to mount local volume on",
        path: target.to_owned(),
        source: e.into(),
    };
    let data = (!parsed.data.is_empty()).then_some(parsed.data.as_str());
    mount(
        Some(device.as_str()),
        target,
        Some(fstype.as_str()),
        parsed.flags,
        data,
    )
    .map_err(failed)?;
    // A bind ignores MS_RDONLY until remounted.
    if parsed.flags.contains(MsFlags::MS_BIND | MsFlags::MS_RDONLY) {
        mount(
            None::<&str>,
            target,
            None::<&str>,
            parsed.flags | MsFlags::MS_REMOUNT,
            None::<&str>,
        )
        .map_err(failed)?;
    }
    if !parsed.propagation.is_empty() {
        mount(
            None::<&str>,
            target,
            None::<&str>,
            parsed.propagation,
            None::<&str>,
        )
        .map_err(failed)?;
    }
    Ok(())
}

/// Unmounts whatever is mounted at `target` (lazily); an error when
/// something stays mounted there, so that the caller never removes the
/// files of a mounted file system.
pub fn unmount_all(target: &Path) -> Result<()> {
    for _ in 0..8 {
        if !is_mounted(target) {
            return Ok(());
        }
        umount2(target, MntFlags::MNT_DETACH).map_err(|e| VolumeError::Io {
            op: "unmount",
            path: target.to_owned(),
            source: e.into(),
        })?;
    }
    Err(VolumeError::Io {
        op: "unmount",
        path: target.to_owned(),
        source: std::io::Error::other("still mounted"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn o_splits_into_flags_propagation_and_data() {
        let p = parse_mount_options("size=64m,noexec,uid=1000,rshared,nosuid");
        assert_eq!(p.flags, MsFlags::MS_NOEXEC | MsFlags::MS_NOSUID);
        assert_eq!(p.propagation, MsFlags::MS_SHARED | MsFlags::MS_REC);
        assert_eq!(p.data, "size=64m,uid=1000");
        let p = parse_mount_options("bind,ro");
        assert_eq!(p.flags, MsFlags::MS_BIND | MsFlags::MS_RDONLY);
        assert_eq!(p.data, "");
        // A later word clears what an earlier one set.
        let p = parse_mount_options("ro,rw,addr=10.0.0.1");
        assert_eq!(p.flags, MsFlags::empty());
        assert_eq!(p.data, "addr=10.0.0.1");
    }

    #[test]
    fn nothing_is_mounted_without_type_and_device() {
        let dir = tempfile::tempdir().unwrap();
        mount_device(&BTreeMap::new(), dir.path()).unwrap();
        assert!(!is_mounted(dir.path()));
        unmount_all(dir.path()).unwrap();
    }
}
