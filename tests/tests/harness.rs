//! The harness itself: a test host is a real, separate host, and whatever a
//! test leaves behind in it dies with it. `make test-privileged` checks the
//! real machine before and after the suite (scripts/leakcheck), so the mess
//! these tests leave on purpose would fail the run if it escaped.

#![allow(
    clippy::too_many_lines,
    reason = "a test reads as one scenario, top to bottom"
)]
#![allow(clippy::unwrap_used)]

use std::fs;
use std::process::Command;

use tests::{TestHost, run};

#[test]
fn bridge_and_veth_live_in_the_test_host_only() {
    let host = TestHost::enter();
    assert_eq!(host.links(), vec!["lo"], "a fresh host has only loopback");
    run("ip", &["link", "add", "bthtest0", "type", "bridge"]);
    run(
        "ip",
        &[
            "link", "add", "bthveth0", "type", "veth", "peer", "name", "bthveth1",
        ],
    );
    run("ip", &["link", "set", "bthveth0", "master", "bthtest0"]);
    run("ip", &["link", "set", "bthtest0", "up"]);
    assert_eq!(
        host.links(),
        vec!["bthtest0", "bthveth0", "bthveth1", "lo"],
        "sysfs shows the test host's own interfaces"
    );
    let master = fs::read_link("/sys/class/net/bthveth0/master").unwrap();
    assert!(master.ends_with("bthtest0"), "veth enslaved: {master:?}");
    // Deliberately no clean-up: the host's end removes them.
}

#[test]
fn mess_left_in_a_test_host_does_not_escape() {
    let host = TestHost::enter();
    // A named netns (a file and a bind mount under /run), an nftables table,
    // a bind mount, a sysctl and a background process, all left behind.
    run("ip", &["netns", "add", "bthtest-peer"]);
    assert!(fs::metadata("/run/netns/bthtest-peer").is_ok());
    run("nft", &["add", "table", "inet", "bthtest"]);
    let dir = host.dir("bind-src");
    let target = host.dir("bind-dst");
    run(
        "mount",
        &["--bind", dir.to_str().unwrap(), target.to_str().unwrap()],
    );
    fs::write("/proc/sys/net/ipv4/ip_forward", "1").unwrap();
    // Never waited for on purpose: it must die with the host.
    #[allow(clippy::zombie_processes)]
    Command::new("sleep").arg("987654").spawn().unwrap();
    assert!(run("nft", &["list", "tables"]).contains("table inet bthtest"));
}

#[test]
fn test_host_has_private_run_and_reachable_cgroups() {
    let _host = TestHost::enter();
    let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let fstype_at = |target: &str| {
        mounts
            .lines()
            .filter(|l| l.split(' ').nth(4) == Some(target))
            .filter_map(|l| l.split(" - ").nth(1)?.split(' ').next())
            .next_back()
            .map(str::to_owned)
    };
    assert_eq!(fstype_at("/run").as_deref(), Some("tmpfs"));
    assert_eq!(
        std::env::temp_dir(),
        std::path::Path::new("/run/testhost/tmp"),
        "temporary files stay in the host"
    );
    assert_eq!(fstype_at("/sys").as_deref(), Some("sysfs"));
    assert!(
        fs::read_dir("/sys/fs/cgroup").unwrap().count() > 0,
        "cgroup hierarchies stay reachable under the fresh sysfs"
    );
    // Neither the real machine's interfaces nor its netns files are visible.
    assert!(fs::metadata("/sys/class/net/eth0").is_err());
    assert_eq!(run("ip", &["netns", "list"]).trim(), "");
}
