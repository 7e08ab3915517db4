//! A container's resource usage for `berth stats`, read from its cgroup on
//! either cgroup version, and the figures Docker computes from it (CPU %
//! between two samples, memory without the page cache, memory %).
//!
//! The host's layout decides the files: v1 (one hierarchy per controller,
//! `memory.usage_in_bytes`, `cpuacct.usage`, …), v2 (one unified hierarchy,
//! `memory.current`, `cpu.stat`, …), or the "hybrid" of v1 controllers with
//! an empty v2 tree beside them, where the controllers, and so the figures,
//! are v1's. [`detect_layout`] tells them apart.

mod layout;
mod usage;
mod v1;
mod v2;

use std::io;
use std::path::{Path, PathBuf};

pub use self::layout::{CgroupLayout, detect_layout};
pub use self::usage::{
    CpuSample, SystemCpu, cpu_percent, memory_limit, memory_percent, memory_used, parse_proc_stat,
};
pub use self::v1::read_stats_v1;
pub use self::v2::read_stats_v2;

/// One reading of a container's cgroup.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CgroupStats {
    /// Memory in use, page cache included, in bytes.
    pub memory_usage: u64,
    /// The memory limit in bytes; `None` when unlimited.
    pub memory_limit: Option<u64>,
    /// Inactive file-backed memory (cache the kernel can drop), in bytes.
    pub inactive_file: u64,
    /// CPU time used since the cgroup began, in nanoseconds.
    pub cpu_usage_ns: u64,
    /// Processes (tasks) in the cgroup.
    pub pids: u64,
    /// Bytes read from block devices.
    pub block_read: u64,
    /// Bytes written to block devices.
    pub block_write: u64,
}

/// Why a reading failed.
#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    /// A cgroup file could not be read.
    #[error("reading {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The system's error.
        source: io::Error,
    },
    /// A cgroup file holds something unexpected.
    #[error("unexpected content in {}: {content:?}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// What it holds (or the part that did not parse).
        content: String,
    },
    /// `/proc/stat` without a usable `cpu` line.
    #[error("unexpected /proc/stat: {0}")]
    ProcStat(String),
    /// No cgroup file system at or below the given root.
    #[error("no cgroup file system is mounted at or under {}", .0.display())]
    NoCgroupMount(PathBuf),
}

/// Reads the cgroup `cgroup_path` (as in the OCI spec's `cgroupsPath`, e.g.
/// `/berth/<id>`) under `cgroup_root` (normally `/sys/fs/cgroup`), the
/// files chosen by the host's `layout`.
pub fn read_stats(
    layout: CgroupLayout,
    cgroup_root: &Path,
    cgroup_path: &str,
) -> Result<CgroupStats, StatsError> {
    match layout {
        CgroupLayout::V1 | CgroupLayout::Hybrid => read_stats_v1(cgroup_root, cgroup_path),
        CgroupLayout::V2 => read_stats_v2(cgroup_root, cgroup_path),
    }
}

/// `dir` joined with a cgroup path, which may start with `/`.
fn join(dir: &Path, cgroup_path: &str) -> PathBuf {
    dir.join(cgroup_path.trim_start_matches('/'))
}

/// The text of a cgroup file; `None` if it does not exist (a controller
/// that is not enabled).
fn read_optional(path: &Path) -> Result<Option<String>, StatsError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(StatsError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

/// The text of a cgroup file that must exist.
fn read(path: &Path) -> Result<String, StatsError> {
    std::fs::read_to_string(path).map_err(|source| StatsError::Read {
        path: path.to_owned(),
        source,
    })
}

/// A file holding one number.
fn read_number(path: &Path) -> Result<u64, StatsError> {
    parse_number(path, &read(path)?)
}

/// A file holding one number, 0 if the file does not exist.
fn read_optional_number(path: &Path) -> Result<u64, StatsError> {
    read_optional(path)?.map_or(Ok(0), |text| parse_number(path, &text))
}

/// `text` (from `path`) as one number.
fn parse_number(path: &Path, text: &str) -> Result<u64, StatsError> {
    text.trim().parse().map_err(|_| StatsError::Parse {
        path: path.to_owned(),
        content: text.trim().to_owned(),
    })
}

/// The value of `key` in a flat-keyed file (`memory.stat`, `cpu.stat`:
/// `key value` lines); 0 when absent.
fn keyed_value(path: &Path, text: &str, key: &str) -> Result<u64, StatsError> {
    let Some(line) = text
        .lines()
        .find(|l| l.split_whitespace().next() == Some(key))
    else {
        return Ok(0);
    };
    let value = line.split_whitespace().nth(1).unwrap_or_default();
    value.parse().map_err(|_| StatsError::Parse {
        path: path.to_owned(),
        content: line.to_owned(),
    })
}

/// Bytes read and written, summed over the lines of an I/O file that
/// `entries` splits into (operation, value) pairs, operations starting with
/// `r` counting as reads and `w` as writes; (0, 0) when the file does not
/// exist.
fn io_totals(
    path: &Path,
    entries: fn(&str) -> Vec<(&str, &str)>,
) -> Result<(u64, u64), StatsError> {
    let Some(text) = read_optional(path)? else {
        return Ok((0, 0));
    };
    let mut totals = (0u64, 0u64);
    for line in text.lines() {
        for (op, value) in entries(line) {
            let slot = match op.as_bytes().first() {
                Some(b'r' | b'R') => &mut totals.0,
                Some(b'w' | b'W') => &mut totals.1,
                _ => continue,
            };
            *slot += value.parse::<u64>().map_err(|_| StatsError::Parse {
                path: path.to_owned(),
                content: line.to_owned(),
            })?;
        }
    }
    Ok(totals)
}

#[cfg(test)]
#[path = "cgroup_stats/tests.rs"]
mod tests;
