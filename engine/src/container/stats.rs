//! `stats`: readings of a running container (its cgroup through
//! [`crate::spec::cgroup_stats`], its network namespace's interfaces from
//! `/proc/<pid>/net/dev`) and the figures Docker shows from two of them.

use std::path::Path;

use super::bundle::cgroup_path;
use super::record::{Container, Status};
use crate::spec::cgroup_stats::{
    CgroupLayout, CgroupStats, CpuSample, SystemCpu, cpu_percent, detect_layout, memory_limit,
    memory_percent, memory_used, parse_proc_stat, read_stats,
};

/// Where the cgroup file systems are.
pub const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// One reading of a container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reading {
    /// Its cgroup; `None` when it does not run.
    pub cgroup: Option<CgroupStats>,
    /// The host's CPU time then.
    pub system: SystemCpu,
    /// Bytes received and sent by its interfaces (loopback left out).
    pub net: (u64, u64),
}

/// What `stats` shows of a container.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    /// Docker's CPU %.
    pub cpu_percent: f64,
    /// Memory used (page cache left out).
    pub memory: u64,
    /// The memory limit (the machine's memory when unlimited).
    pub memory_limit: u64,
    /// Docker's memory %.
    pub memory_percent: f64,
    /// Bytes received, sent.
    pub net: (u64, u64),
    /// Bytes read, written on block devices.
    pub block: (u64, u64),
    /// Processes.
    pub pids: u64,
}

/// The figures from the reading before (`previous`) and now.
pub fn figures(previous: &Reading, current: &Reading, machine_memory: u64) -> Figures {
    let Some(cg) = &current.cgroup else {
        return Figures::default();
    };
    let sample = |r: &Reading| CpuSample {
        container_ns: r.cgroup.as_ref().map_or(0, |c| c.cpu_usage_ns),
        system_ns: r.system.total_ns,
        online_cpus: r.system.online_cpus,
    };
    let used = memory_used(cg);
    let limit = memory_limit(cg, machine_memory);
    Figures {
        cpu_percent: if previous.cgroup.is_some() {
            cpu_percent(&sample(previous), &sample(current))
        } else {
            0.0
        },
        memory: used,
        memory_limit: limit,
        memory_percent: memory_percent(used, limit),
        net: current.net,
        block: (cg.block_read, cg.block_write),
        pids: cg.pids,
    }
}

/// Bytes received and sent by the interfaces of a `/proc/net/dev` text,
/// loopback left out.
pub fn parse_net_dev(text: &str) -> (u64, u64) {
    let mut total = (0u64, 0u64);
    for line in text.lines().skip(2) {
        let Some((name, counters)) = line.split_once(':') else {
            continue;
        };
        if name.trim() == "lo" {
            continue;
        }
        let fields: Vec<u64> = counters
            .split_whitespace()
            .map(|f| f.parse().unwrap_or(0))
            .collect();
        if let (Some(rx), Some(tx)) = (fields.first(), fields.get(8)) {
            total.0 += rx;
            total.1 += tx;
        }
    }
    total
}

/// The machine's memory from a `/proc/meminfo` text, in bytes.
pub fn parse_meminfo(text: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

/// The machine's memory, in bytes.
pub fn machine_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo").map_or(0, |t| parse_meminfo(&t))
}

/// The host's cgroup layout (v1 when it cannot be told).
pub fn layout() -> CgroupLayout {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    detect_layout(Path::new(CGROUP_ROOT), &mountinfo).unwrap_or(CgroupLayout::V1)
}

/// Reads container `c` now.
pub fn read(c: &Container, layout: CgroupLayout) -> Reading {
    let system = std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|t| parse_proc_stat(&t).ok())
        .unwrap_or_default();
    let running = matches!(c.state.status, Status::Running | Status::Paused) && c.state.pid > 0;
    if !running {
        return Reading {
            system,
            ..Reading::default()
        };
    }
    let cgroup = read_stats(layout, Path::new(CGROUP_ROOT), &cgroup_path(&c.id)).ok();
    // The host's interfaces are not the container's.
    let net = if c.host_config.network_mode == "host" {
        (0, 0)
    } else {
        std::fs::read_to_string(format!("/proc/{}/net/dev", c.state.pid))
            .map_or((0, 0), |t| parse_net_dev(&t))
    };
    Reading {
        cgroup,
        system,
        net,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NET_DEV: &str = "Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    1000      10    0    0    0     0          0         0     1000      10    0    0    0     0       0          0
  eth0:    2048      20    0    0    0     0          0         0      512       5    0    0    0     0       0          0
  eth1:      52       1    0    0    0     0          0         0       48       1    0    0    0     0       0          0
";

    #[test]
    fn network_counters_leave_loopback_out() {
        assert_eq!(parse_net_dev(NET_DEV), (2100, 560));
        assert_eq!(parse_net_dev(""), (0, 0));
    }

    #[test]
    fn machine_memory_from_meminfo() {
        assert_eq!(
            parse_meminfo("MemTotal:       24684032 kB\nMemFree: 1 kB\n"),
            24_684_032 * 1024
        );
    }

    #[test]
    fn figures_follow_dockers_formulas() {
        let cg = |cpu: u64| CgroupStats {
            memory_usage: 10 << 20,
            memory_limit: Some(64 << 20),
            inactive_file: 2 << 20,
            cpu_usage_ns: cpu,
            pids: 3,
            block_read: 4096,
            block_write: 0,
        };
        let before = Reading {
            cgroup: Some(cg(1_000_000_000)),
            system: SystemCpu {
                total_ns: 10_000_000_000,
                online_cpus: 2,
            },
            net: (1, 1),
        };
        let after = Reading {
            cgroup: Some(cg(1_500_000_000)),
            system: SystemCpu {
                total_ns: 12_000_000_000,
                online_cpus: 2,
            },
            net: (100, 50),
        };
        let f = figures(&before, &after, 1 << 30);
        assert!((f.cpu_percent - 50.0).abs() < 1e-9, "{}", f.cpu_percent);
        assert_eq!((f.memory, f.memory_limit), (8 << 20, 64 << 20));
        assert!((f.memory_percent - 12.5).abs() < 1e-9);
        assert_eq!((f.net, f.block, f.pids), ((100, 50), (4096, 0), 3));
        // A container that does not run shows zeros.
        assert_eq!(
            figures(&before, &Reading::default(), 1 << 30),
            Figures::default()
        );
    }
}
