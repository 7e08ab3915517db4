//! Which cgroup layout a host has, from its mount table.

use std::path::{Path, PathBuf};

use super::StatsError;

/// How the cgroup file systems are mounted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupLayout {
    /// Legacy: a v1 hierarchy per controller, no v2 tree.
    V1,
    /// v1 controllers, plus a v2 tree without controllers (usually at
    /// `unified/`); crun refuses it, runc uses the v1 controllers.
    Hybrid,
    /// Unified: the v2 hierarchy at the root.
    V2,
}

/// One mount of a mount table: where, and which file system type.
struct MountEntry {
    point: PathBuf,
    fstype: String,
}

/// The layout under `cgroup_root` (normally `/sys/fs/cgroup`) as the text
/// of `/proc/self/mountinfo` describes it: v2 if a `cgroup2` file system is
/// mounted at the root; else v1 if `cgroup` file systems are mounted under
/// it, hybrid if a `cgroup2` one is too.
pub fn detect_layout(cgroup_root: &Path, mountinfo: &str) -> Result<CgroupLayout, StatsError> {
    let mounts = parse_mountinfo(mountinfo);
    let at_root = mounts.iter().rev().find(|m| m.point == cgroup_root);
    match at_root.map(|m| m.fstype.as_str()) {
        Some("cgroup2") => return Ok(CgroupLayout::V2),
        Some("cgroup") => return Ok(CgroupLayout::V1),
        _ => {}
    }
    let below = |fstype: &str| {
        mounts.iter().any(|m| {
            m.fstype == fstype && m.point != cgroup_root && m.point.starts_with(cgroup_root)
        })
    };
    match (below("cgroup"), below("cgroup2")) {
        (true, true) => Ok(CgroupLayout::Hybrid),
        (true, false) => Ok(CgroupLayout::V1),
        _ => Err(StatsError::NoCgroupMount(cgroup_root.to_owned())),
    }
}

/// The mounts of a mountinfo text (`id parent maj:min root point options
/// [optional…] - fstype source super-options`), in mount order; malformed
/// lines are skipped.
fn parse_mountinfo(text: &str) -> Vec<MountEntry> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let point = fields.get(4)?;
            let separator = fields.iter().skip(6).position(|f| *f == "-")? + 6;
            Some(MountEntry {
                point: PathBuf::from(unescape(point)),
                fstype: (*fields.get(separator + 1)?).to_owned(),
            })
        })
        .collect()
}

/// A mountinfo field with its octal escapes (`\040` for a space) undone.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match octal.and_then(|d| u8::from_str_radix(std::str::from_utf8(d).ok()?, 8).ok()) {
            Some(byte) => {
                out.push(byte);
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
