//! `top`: the processes of a container, as Docker lists them: the pids in
//! its cgroup, the host's `ps` run with the options given (`-ef` by
//! default), and the lines of `ps` whose PID is one of them.

use std::path::{Path, PathBuf};

use super::bundle::cgroup_path;
use super::stats::CGROUP_ROOT;
use crate::spec::cgroup_stats::CgroupLayout;

/// The processes of the cgroup directories under `dir` (the cgroup and
/// its children): `cgroup.procs`, or `tasks` where that is missing.
fn pids_under(dir: &Path, out: &mut Vec<u32>) {
    let text = std::fs::read_to_string(dir.join("cgroup.procs"))
        .or_else(|_| std::fs::read_to_string(dir.join("tasks")))
        .unwrap_or_default();
    out.extend(text.lines().filter_map(|l| l.trim().parse::<u32>().ok()));
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                pids_under(&e.path(), out);
            }
        }
    }
}

/// The cgroup directories of container `id` to read pids from, most
/// telling first: the unified one on v2, else the v1 hierarchies.
fn cgroup_dirs(id: &str, layout: CgroupLayout) -> Vec<PathBuf> {
    let rel = cgroup_path(id);
    let rel = rel.trim_start_matches('/');
    let root = Path::new(CGROUP_ROOT);
    match layout {
        CgroupLayout::V2 => vec![root.join(rel)],
        CgroupLayout::V1 | CgroupLayout::Hybrid => [
            "pids",
            "memory",
            "cpu,cpuacct",
            "cpuacct",
            "freezer",
            "devices",
            "systemd",
            "unified",
        ]
        .iter()
        .map(|c| root.join(c).join(rel))
        .collect(),
    }
}

/// The pids in container `id`'s cgroup, sorted.
pub fn container_pids(id: &str, layout: CgroupLayout) -> Vec<u32> {
    for dir in cgroup_dirs(id, layout) {
        if !dir.is_dir() {
            continue;
        }
        let mut pids = Vec::new();
        pids_under(&dir, &mut pids);
        if !pids.is_empty() {
            pids.sort_unstable();
            pids.dedup();
            return pids;
        }
    }
    Vec::new()
}

/// Refuses `ps` options that rename the PID column (Docker's check:
/// `-o x=PID…` would let other lines pass for the container's).
pub fn validate_ps_args(args: &str) -> Result<(), String> {
    for word in args.split_whitespace() {
        let Some((key, value)) = word.split_once('=') else {
            continue;
        };
        let key = key.rsplit(',').next().unwrap_or(key);
        if value.starts_with("PID") && key != "pid" {
            return Err(format!("specifying \"{key}={value}\" is not allowed"));
        }
    }
    Ok(())
}

/// The processes `ps` printed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessList {
    /// The column titles.
    pub titles: Vec<String>,
    /// One row per process, as many cells as titles (the last one holds
    /// the rest of the line).
    pub processes: Vec<Vec<String>>,
}

/// The lines of `ps` output whose PID is in `pids` (and the thread lines
/// that follow them, whose PID reads `-`), as Docker's `parsePSOutput`.
pub fn parse_ps_output(output: &str, pids: &[u32]) -> Result<ProcessList, String> {
    let mut lines = output.lines();
    let titles: Vec<String> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let pid_index = titles
        .iter()
        .position(|t| t == "PID")
        .ok_or_else(|| "Couldn't find PID field in ps output".to_owned())?;
    let mut list = ProcessList {
        titles,
        processes: Vec::new(),
    };
    let mut previous_kept = false;
    for line in lines {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        let Some(pid_field) = fields.get(pid_index) else {
            continue;
        };
        if *pid_field == "-" {
            if previous_kept {
                list.processes.push(row(&fields, list.titles.len()));
            }
            continue;
        }
        let pid: u32 = pid_field
            .parse()
            .map_err(|e| format!("Unexpected pid '{pid_field}': {e}"))?;
        previous_kept = pids.binary_search(&pid).is_ok();
        if previous_kept {
            list.processes.push(row(&fields, list.titles.len()));
        }
    }
    Ok(list)
}

/// The cells of one line: one per title, the last one the rest of the
/// line joined by spaces.
fn row(fields: &[&str], titles: usize) -> Vec<String> {
    let head = titles.saturating_sub(1).min(fields.len());
    let mut cells: Vec<String> = fields[..head].iter().map(|s| (*s).to_owned()).collect();
    cells.push(fields[head..].join(" "));
    cells
}

#[cfg(test)]
mod tests {
    use super::*;

    const PS: &str = "UID          PID    PPID  C STIME TTY          TIME CMD
root           1       0  0 10:00 ?        00:00:01 /sbin/init
root         812     790  0 10:01 ?        00:00:00 sleep 600
root         900     812  0 10:01 ?        00:00:00 sh -c while true; do sleep 1; done
";

    #[test]
    fn only_the_containers_lines_are_kept() {
        let list = parse_ps_output(PS, &[812, 900]).unwrap();
        assert_eq!(
            list.titles,
            ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
        );
        assert_eq!(list.processes.len(), 2);
        assert_eq!(list.processes[0][7], "sleep 600");
        assert_eq!(list.processes[1][7], "sh -c while true; do sleep 1; done");
        assert_eq!(list.processes[1].len(), 8);
    }

    #[test]
    fn thread_lines_follow_their_process() {
        let ps = "PID TID CMD\n812 - sleep\n- 812 -\n900 - sh\n- 900 -\n";
        let list = parse_ps_output(ps, &[812]).unwrap();
        assert_eq!(
            list.processes,
            [vec!["812", "-", "sleep"], vec!["-", "812", "-"]]
        );
    }

    #[test]
    fn output_without_pid_column_or_with_bad_pids_is_an_error() {
        assert_eq!(
            parse_ps_output("USER CMD\nroot x\n", &[1]).unwrap_err(),
            "Couldn't find PID field in ps output"
        );
        assert!(
            parse_ps_output("PID CMD\nabc x\n", &[1])
                .unwrap_err()
                .starts_with("Unexpected pid 'abc'")
        );
    }

    #[test]
    fn renaming_a_column_pid_is_refused() {
        assert!(validate_ps_args("-o pid=PID").is_ok());
        assert!(validate_ps_args("-ef").is_ok());
        assert_eq!(
            validate_ps_args("-o user=PID").unwrap_err(),
            "specifying \"user=PID\" is not allowed"
        );
    }
}
