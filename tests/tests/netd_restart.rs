//! netd stopped, killed at random moments, or doubled: the store and the
//! kernel agree afterwards, and connected sandboxes keep talking.

#![allow(
    clippy::too_many_lines,
    reason = "a test reads as one scenario, top to bottom"
)]
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use netd_api::client::Client;
use netd_api::types::{
    NetworkConnectRequest, NetworkCreateRequest, NetworkDisconnectRequest, SandboxCreateRequest,
    SandboxResource,
};
use tests::TestHost;
use tests::netd::{Netd, in_netns, ping, runtime};

async fn new_sandbox(
    c: &Client,
    name: &str,
) -> Result<SandboxResource, netd_api::client::ClientError> {
    c.sandbox_create(&SandboxCreateRequest {
        name: name.into(),
        ..Default::default()
    })
    .await
}

async fn connect(c: &Client, net: &str, sb: &str) -> Result<(), netd_api::client::ClientError> {
    c.network_connect(
        net,
        &NetworkConnectRequest {
            container: sb.into(),
            endpoint_config: None,
        },
    )
    .await
}

async fn disconnect(c: &Client, net: &str, sb: &str) -> Result<(), netd_api::client::ClientError> {
    c.network_disconnect(
        net,
        &NetworkDisconnectRequest {
            container: sb.into(),
            force: false,
        },
    )
    .await
}

/// A small deterministic generator seeded from the clock (the seed is
/// printed, so a failure can be replayed by reading it).
struct Rng(u64);

impl Rng {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

/// Checks that the kernel and the exec root hold exactly what the API says.
fn assert_store_and_kernel_agree(netd: &Netd) {
    assert!(tests::netd::reaped(), "retired links are deleted");
    let rt = runtime();
    let c = netd.client();
    let sandboxes = rt.block_on(c.sandboxes()).unwrap();
    let networks = rt.block_on(c.networks(None)).unwrap();
    let mut endpoint_ids = BTreeSet::new();
    let mut addresses = BTreeSet::new();
    for s in &sandboxes {
        for (net, ep) in &s.networks {
            let is_bridge = networks
                .iter()
                .any(|n| &n.name == net && n.driver == "bridge");
            if !is_bridge {
                continue;
            }
            endpoint_ids.insert(ep.endpoint_id.clone());
            assert!(
                addresses.insert(ep.ip_address.clone()),
                "address {} handed out twice",
                ep.ip_address
            );
            let addrs = String::from_utf8_lossy(
                &in_netns(&s.sandbox_key, &["ip", "-o", "-4", "addr"]).stdout,
            )
            .into_owned();
            assert!(
                addrs.contains(&format!("{}/", ep.ip_address)),
                "sandbox {} lacks {}: {addrs}",
                s.name,
                ep.ip_address
            );
        }
    }
    // Every netd veth on the host belongs to a stored endpoint, and back.
    let links = tests::run("ip", &["-o", "link"]);
    let mut veth_owners = BTreeSet::new();
    for l in links.lines().filter(|l| l.contains(": veth")) {
        let owner = l
            .split("alias netd-ep:")
            .nth(1)
            .map(|r| r.split_whitespace().next().unwrap_or("").to_owned())
            .unwrap_or_else(|| {
                let log = netd.log();
                let tail: Vec<&str> = log.lines().rev().take(40).collect();
                panic!(
                    "a veth netd does not own: {l}\nnetd log (last lines first):\n{}",
                    tail.join("\n")
                )
            });
        veth_owners.insert(owner);
    }
    assert_eq!(veth_owners, endpoint_ids, "host veths vs stored endpoints");
    // Namespace files and mounts belong to stored sandboxes.
    let files: BTreeSet<String> = std::fs::read_dir("/run/netd/netns")
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .collect();
    let keys: BTreeSet<String> = sandboxes
        .iter()
        .filter(|s| !s.sandbox_key.is_empty())
        .map(|s| s.sandbox_key.clone())
        .collect();
    assert_eq!(files, keys, "namespace files vs stored sandboxes");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let ns_mounts: BTreeSet<String> = mounts
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|p| p.starts_with("/run/netd/netns/"))
        .map(str::to_owned)
        .collect();
    assert_eq!(ns_mounts, keys, "namespace mounts vs stored sandboxes");
}

#[test]
fn sigkill_at_random_moments_leaves_store_and_kernel_agreeing() {
    let host = TestHost::enter();
    let mut netd = Netd::start(&host);
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let seed = u64::from(seed) << 1 | 1;
    eprintln!("seed {seed}");
    let mut rng = Rng(seed);
    let rt = runtime();
    let (k1, k2) = rt.block_on(async {
        let c = netd.client();
        c.network_create(&NetworkCreateRequest {
            name: "loop".into(),
            ..Default::default()
        })
        .await
        .unwrap();
        c.network_create(&NetworkCreateRequest {
            name: "side".into(),
            ..Default::default()
        })
        .await
        .unwrap();
        let k1 = new_sandbox(&c, "keep1").await.unwrap();
        let k2 = new_sandbox(&c, "keep2").await.unwrap();
        connect(&c, "loop", "keep1").await.unwrap();
        connect(&c, "loop", "keep2").await.unwrap();
        (k1, k2)
    });

    let stop = Arc::new(AtomicBool::new(false));
    let worker = {
        let stop = stop.clone();
        let client = netd.client();
        std::thread::spawn(move || {
            let rt = runtime();
            let mut i = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let name = format!("s{i}");
                rt.block_on(async {
                    let _ = new_sandbox(&client, &name).await;
                    let _ = connect(&client, "loop", &name).await;
                    let _ = connect(&client, "side", &name).await;
                    let _ = disconnect(&client, "loop", &name).await;
                    if !i.is_multiple_of(3) {
                        let _ = client.sandbox_remove(&name).await;
                    }
                });
                i += 1;
                if client.socket().exists() {
                    continue;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    for _ in 0..10 {
        std::thread::sleep(Duration::from_millis(20 + rng.next(120)));
        netd.kill();
        netd.start_again();
    }
    stop.store(true, Ordering::Relaxed);
    worker.join().unwrap();
    // A last restart after the worker stopped, then the checks.
    netd.kill();
    netd.start_again();
    assert_store_and_kernel_agree(&netd);
    let k2_ip = rt.block_on(netd.client().sandbox(&k2.id)).unwrap().networks["loop"]
        .ip_address
        .clone();
    assert!(
        ping(&k1.sandbox_key, &k2_ip),
        "connected sandboxes still talk"
    );
    // And the state stays usable: tear everything down cleanly.
    rt.block_on(async {
        let c = netd.client();
        for s in c.sandboxes().await.unwrap() {
            c.sandbox_remove(&s.id).await.unwrap();
        }
        c.network_remove("loop").await.unwrap();
        c.network_remove("side").await.unwrap();
    });
    assert_store_and_kernel_agree(&netd);
    assert!(
        tests::netd::eventually(30, || !tests::run("ip", &["-o", "link"]).contains(": veth")),
        "retired veths are deleted in the background"
    );
}

#[test]
fn stopped_netd_leaves_networks_working_and_restores_what_went_missing() {
    let host = TestHost::enter();
    let mut netd = Netd::start(&host);
    let rt = runtime();
    let (a, b) = rt.block_on(async {
        let c = netd.client();
        c.network_create(&NetworkCreateRequest {
            name: "keep".into(),
            ..Default::default()
        })
        .await
        .unwrap();
        let a = new_sandbox(&c, "aa").await.unwrap();
        let b = new_sandbox(&c, "bb").await.unwrap();
        connect(&c, "keep", "aa").await.unwrap();
        connect(&c, "keep", "bb").await.unwrap();
        (a, c.sandbox(&b.id).await.unwrap())
    });
    let b_ip = b.networks["keep"].ip_address.clone();
    netd.stop();
    assert!(
        ping(&a.sandbox_key, &b_ip),
        "traffic flows while netd is down"
    );
    // Someone deletes b's veth while netd is down: the restart recreates it.
    let veth = tests::run("ip", &["-o", "link"])
        .lines()
        .find(|l| l.contains(&format!("netd-ep:{}", b.networks["keep"].endpoint_id)))
        .and_then(|l| l.split(": ").nth(1))
        .map(|n| n.split('@').next().unwrap_or(n).to_owned())
        .unwrap();
    tests::run("ip", &["link", "del", &veth]);
    assert!(!ping(&a.sandbox_key, &b_ip));
    netd.start_again();
    assert!(ping(&a.sandbox_key, &b_ip), "the restart put the veth back");
    let again = rt.block_on(netd.client().sandbox(&b.id)).unwrap();
    assert_eq!(
        again.networks["keep"].ip_address, b_ip,
        "same address after restart"
    );
    assert_store_and_kernel_agree(&netd);
}

#[test]
fn a_second_netd_on_the_same_data_root_refuses_to_start() {
    let host = TestHost::enter();
    let netd = Netd::start(&host);
    let out = Command::new(tests::netd::bin("netd"))
        .args(["-H", "unix:///run/netd/other.sock", "--data-root"])
        .arg(&netd.data_root)
        .args([
            "--exec-root",
            "/run/netd-other",
            "--config-file",
            "/nonexistent",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("in use by another netd"), "{err}");
    // And one on the same socket refuses too, without breaking the first.
    let out = Command::new(tests::netd::bin("netd"))
        .args([
            "-H",
            "unix:///run/netd/netd.sock",
            "--data-root",
            "/run/testhost/state/other",
        ])
        .args([
            "--exec-root",
            "/run/netd-other",
            "--config-file",
            "/nonexistent",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already listening"));
    runtime().block_on(netd.client().ping()).unwrap();
}
