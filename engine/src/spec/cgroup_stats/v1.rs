//! Cgroup v1: one hierarchy per controller under the cgroup root
//! (`memory/`, `cpuacct/` or `cpu,cpuacct/`, `pids/`, `blkio/`).

use std::path::Path;

use super::{
    CgroupStats, StatsError, io_totals, join, keyed_value, read, read_number, read_optional_number,
};

/// The value v1 reports for "no limit" (`PAGE_COUNTER_MAX` pages, rounded
/// down to the largest page size): anything from here up is unlimited.
const UNLIMITED_FROM: u64 = 0x7FFF_FFFF_FFFF_0000;

/// The directories a controller may be mounted at under the root.
const CPUACCT_DIRS: [&str; 3] = ["cpuacct", "cpu,cpuacct", "cpuacct,cpu"];

/// Reads `cgroup_path` in the v1 hierarchies under `cgroup_root`. Memory and
/// CPU accounting must be there; a missing pids or blkio controller reads 0.
pub fn read_stats_v1(cgroup_root: &Path, cgroup_path: &str) -> Result<CgroupStats, StatsError> {
    let memory = join(&cgroup_root.join("memory"), cgroup_path);
    let stat_path = memory.join("memory.stat");
    let stat = read(&stat_path)?;
    let limit = read_number(&memory.join("memory.limit_in_bytes"))?;
    let cpuacct = CPUACCT_DIRS
        .iter()
        .map(|dir| cgroup_root.join(dir))
        .find(|dir| dir.is_dir())
        .unwrap_or_else(|| cgroup_root.join(CPUACCT_DIRS[0]));
    let blkio = join(&cgroup_root.join("blkio"), cgroup_path);
    let (block_read, block_write) = io_totals(
        &blkio.join("blkio.throttle.io_service_bytes"),
        blkio_entries,
    )?;
    Ok(CgroupStats {
        memory_usage: read_number(&memory.join("memory.usage_in_bytes"))?,
        memory_limit: (limit < UNLIMITED_FROM).then_some(limit),
        inactive_file: keyed_value(&stat_path, &stat, "total_inactive_file")?,
        cpu_usage_ns: read_number(&join(&cpuacct, cgroup_path).join("cpuacct.usage"))?,
        pids: read_optional_number(
            &join(&cgroup_root.join("pids"), cgroup_path).join("pids.current"),
        )?,
        block_read,
        block_write,
    })
}

/// The (operation, bytes) of a `blkio.throttle.io_service_bytes` line
/// (`MAJ:MIN Read N`); `Total` lines have none that count.
fn blkio_entries(line: &str) -> Vec<(&str, &str)> {
    match line.split_whitespace().collect::<Vec<_>>().as_slice() {
        [_, op, value] => vec![(*op, *value)],
        _ => Vec::new(),
    }
}
