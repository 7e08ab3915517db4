use std::fs;

use super::*;

/// Writes `files` (path, content) under `root`.
fn tree(root: &Path, files: &[(&str, &str)]) {
    for (path, content) in files {
        let path = root.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }
}

fn v1_fixture(cpuacct_dir: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let acct = format!("{cpuacct_dir}/berth/abc/cpuacct.usage");
    tree(
        dir.path(),
        &[
            ("memory/berth/abc/memory.usage_in_bytes", "10485760\n"),
            (
                "memory/berth/abc/memory.limit_in_bytes",
                "9223372036854771712\n",
            ),
            (
                "memory/berth/abc/memory.stat",
                "cache 4096\ninactive_file 100\ntotal_cache 8192\ntotal_inactive_file 2097152\n",
            ),
            (&acct, "123456789\n"),
            ("pids/berth/abc/pids.current", "3\n"),
            (
                "blkio/berth/abc/blkio.throttle.io_service_bytes",
                "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 0\n8:0 Async 12288\n8:0 Total 12288\n8:16 Read 1\nTotal 12289\n",
            ),
        ],
    );
    dir
}

#[test]
fn v1_stats_come_from_each_controllers_hierarchy() {
    let dir = v1_fixture("cpuacct");
    let stats = read_stats(CgroupLayout::V1, dir.path(), "/berth/abc").unwrap();
    assert_eq!(
        stats,
        CgroupStats {
            memory_usage: 10_485_760,
            memory_limit: None,
            inactive_file: 2_097_152,
            cpu_usage_ns: 123_456_789,
            pids: 3,
            block_read: 4097,
            block_write: 8192,
        }
    );
}

#[test]
fn v1_finds_cpuacct_mounted_with_cpu_and_reads_a_finite_limit() {
    let dir = v1_fixture("cpu,cpuacct");
    fs::write(
        dir.path().join("memory/berth/abc/memory.limit_in_bytes"),
        "536870912\n",
    )
    .unwrap();
    let stats = read_stats(CgroupLayout::Hybrid, dir.path(), "berth/abc").unwrap();
    assert_eq!(stats.cpu_usage_ns, 123_456_789);
    assert_eq!(stats.memory_limit, Some(512 << 20));
}

#[test]
fn v1_missing_optional_controllers_read_zero_but_memory_is_required() {
    let dir = v1_fixture("cpuacct");
    fs::remove_dir_all(dir.path().join("pids")).unwrap();
    fs::remove_dir_all(dir.path().join("blkio")).unwrap();
    let stats = read_stats_v1(dir.path(), "/berth/abc").unwrap();
    assert_eq!((stats.pids, stats.block_read, stats.block_write), (0, 0, 0));
    let err = read_stats_v1(dir.path(), "/berth/gone").unwrap_err();
    assert!(
        matches!(&err, StatsError::Read { path, .. } if path.ends_with("berth/gone/memory.stat"))
    );
}

fn v2_fixture(max: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    tree(
        dir.path(),
        &[
            ("berth/abc/memory.current", "20971520\n"),
            ("berth/abc/memory.max", max),
            (
                "berth/abc/memory.stat",
                "anon 1000\nfile 5000\ninactive_file 4194304\nactive_file 1\n",
            ),
            (
                "berth/abc/cpu.stat",
                "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\n",
            ),
            ("berth/abc/pids.current", "7\n"),
            (
                "berth/abc/io.stat",
                "8:0 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=0 dios=0\n8:16 rbytes=100 wbytes=0\n",
            ),
        ],
    );
    dir
}

#[test]
fn v2_stats_come_from_the_unified_directory() {
    let dir = v2_fixture("max\n");
    let stats = read_stats(CgroupLayout::V2, dir.path(), "/berth/abc").unwrap();
    assert_eq!(
        stats,
        CgroupStats {
            memory_usage: 20_971_520,
            memory_limit: None,
            inactive_file: 4_194_304,
            cpu_usage_ns: 2_500_000,
            pids: 7,
            block_read: 1_459_300,
            block_write: 314_773_504,
        }
    );
    let dir = v2_fixture("268435456\n");
    let stats = read_stats_v2(dir.path(), "berth/abc").unwrap();
    assert_eq!(stats.memory_limit, Some(256 << 20));
}

#[test]
fn v2_garbage_names_the_file() {
    let dir = v2_fixture("lots\n");
    let err = read_stats_v2(dir.path(), "berth/abc").unwrap_err();
    assert!(err.to_string().contains("memory.max"), "{err}");
    assert!(err.to_string().ends_with(r#": "lots""#), "{err}");
}

const HYBRID: &str = "\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/vda rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

const UNIFIED: &str = "\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/vda rw
30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate
";

#[test]
fn layouts_are_told_apart_by_the_mount_table() {
    let root = Path::new("/sys/fs/cgroup");
    assert_eq!(detect_layout(root, HYBRID).unwrap(), CgroupLayout::Hybrid);
    assert_eq!(detect_layout(root, UNIFIED).unwrap(), CgroupLayout::V2);
    let legacy: String = HYBRID
        .lines()
        .filter(|l| !l.contains("cgroup2"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(detect_layout(root, &legacy).unwrap(), CgroupLayout::V1);
    assert!(matches!(
        detect_layout(Path::new("/elsewhere"), HYBRID),
        Err(StatsError::NoCgroupMount(_))
    ));
}

#[test]
fn the_last_mount_at_the_root_wins_and_escapes_are_undone() {
    let over = format!("{UNIFIED}99 30 0:50 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n");
    assert!(detect_layout(Path::new("/sys/fs/cgroup"), &over).is_err());
    let spaced = "30 23 0:26 / /mnt/my\\040cgroups rw shared:4 - cgroup2 cgroup2 rw\n";
    assert_eq!(
        detect_layout(Path::new("/mnt/my cgroups"), spaced).unwrap(),
        CgroupLayout::V2
    );
}

const PROC_STAT: &str = "\
cpu  654048 0 225393 1285053 7184 0 47512 168 0 0
cpu0 308983 0 109014 665215 2073 0 23775 75 0 0
cpu1 345065 0 116379 619838 5111 0 23737 93 0 0
intr 12345
ctxt 999
";

#[test]
fn proc_stat_gives_system_time_and_online_cpus() {
    let system = parse_proc_stat(PROC_STAT).unwrap();
    let ticks = 654_048 + 225_393 + 1_285_053 + 7184 + 47_512;
    assert_eq!(system.total_ns, ticks * 10_000_000);
    assert_eq!(system.online_cpus, 2);
    assert!(parse_proc_stat("cpu  1 2 3\n").is_err());
    assert!(parse_proc_stat("intr 1\n").is_err());
}

#[test]
fn cpu_percent_is_dockers_formula() {
    let before = CpuSample {
        container_ns: 1_000_000_000,
        system_ns: 10_000_000_000,
        online_cpus: 2,
    };
    let after = CpuSample {
        container_ns: 1_500_000_000,
        system_ns: 12_000_000_000,
        online_cpus: 2,
    };
    assert!((cpu_percent(&before, &after) - 50.0).abs() < 1e-9);
    assert!(cpu_percent(&after, &after).abs() < f64::EPSILON);
    assert!(cpu_percent(&after, &before).abs() < f64::EPSILON);
}

#[test]
fn memory_percent_leaves_out_the_inactive_page_cache() {
    let stats = CgroupStats {
        memory_usage: 300 << 20,
        memory_limit: Some(1 << 30),
        inactive_file: 44 << 20,
        ..CgroupStats::default()
    };
    let used = memory_used(&stats);
    assert_eq!(used, 256 << 20);
    let limit = memory_limit(&stats, 4 << 30);
    assert_eq!(limit, 1 << 30);
    assert!((memory_percent(used, limit) - 25.0).abs() < 1e-9);
    let unlimited = CgroupStats {
        memory_limit: None,
        ..stats.clone()
    };
    assert_eq!(memory_limit(&unlimited, 4 << 30), 4 << 30);
    let cache_heavy = CgroupStats {
        inactive_file: 400 << 20,
        ..stats
    };
    assert_eq!(memory_used(&cache_heavy), 300 << 20);
    assert!(memory_percent(1, 0).abs() < f64::EPSILON);
}
