//! The real dockerd using netd as its network and IPAM driver through the
//! plugin socket: `docker network create -d netd --ipam-driver netd`, two
//! containers of a local busybox image reaching each other by address and
//! by name, a published port answering from outside, and `docker network
//! rm` leaving nothing in netd's store or in the kernel.

#![allow(
    clippy::too_many_lines,
    reason = "a test reads as one scenario, top to bottom"
)]
#![allow(clippy::unwrap_used)]

use tests::dockerd::{self, Dockerd};
use tests::netd::{Netd, eventually, runtime};
use tests::traffic::Remote;
use tests::{TestHost, run};

#[test]
fn dockerd_runs_containers_on_a_netd_network() {
    let host = TestHost::enter();
    assert!(
        dockerd::available(),
        "dockerd is missing: `make test` installs docker.io"
    );
    let netd = Netd::start(&host);
    let docker = Dockerd::start(&host);
    docker.import_busybox(&host, "busybox:e2e");
    let links_before = host.links();
    let nft_before = run("nft", &["list", "table", "inet", "netd"]);

    let id = docker.ok(&[
        "network",
        "create",
        "-d",
        "netd",
        "--ipam-driver",
        "netd",
        "n1",
    ]);
    let subnet = docker.ok(&[
        "network",
        "inspect",
        "-f",
        "{{(index .IPAM.Config 0).Subnet}}",
        "n1",
    ]);
    // netd has it, under Docker's id, marked as the plugin's.
    let rt = runtime();
    let n = rt.block_on(netd.client().network(&id)).unwrap();
    assert_eq!(n.labels["com.berth.netd.plugin"], "true");
    assert_eq!(
        n.ipam.config.as_ref().unwrap()[0].subnet.as_deref(),
        Some(subnet.as_str())
    );

    for name in ["ca", "cb"] {
        docker.ok(&[
            "run",
            "-d",
            "--name",
            name,
            "--network",
            "n1",
            "busybox:e2e",
            "sleep",
            "600",
        ]);
    }
    docker.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "--network",
        "n1",
        "-p",
        "8080:80",
        "busybox:e2e",
        "httpd",
        "-f",
        "-p",
        "80",
        "-h",
        "/www",
    ]);
    let b_ip = docker.ok(&[
        "inspect",
        "-f",
        "{{.NetworkSettings.Networks.n1.IPAddress}}",
        "cb",
    ]);
    assert!(!b_ip.is_empty());
    docker.ok(&["exec", "ca", "ping", "-c", "1", "-W", "3", &b_ip]);
    docker.ok(&["exec", "ca", "ping", "-c", "1", "-W", "3", "cb"]);
    let page = docker.ok(&["exec", "ca", "wget", "-q", "-O", "-", "http://web/"]);
    assert_eq!(page, "hello from busybox");
    // The published port from another host on the LAN.
    let remote = Remote::new();
    let out = run(
        "ip",
        &[
            "netns",
            "exec",
            "remote",
            "curl",
            "-s",
            "--max-time",
            "5",
            &format!("http://{}:8080/", remote.host_ip),
        ],
    );
    assert_eq!(out.trim(), "hello from busybox");
    let n = rt.block_on(netd.client().network(&id)).unwrap();
    assert_eq!(n.containers.len(), 3);

    // Stop and remove everything: netd and the kernel are as before.
    docker.ok(&["rm", "-f", "ca", "cb", "web"]);
    docker.ok(&["network", "rm", "n1"]);
    assert!(rt.block_on(netd.client().network(&id)).is_err());
    let plugin_nets = rt
        .block_on(netd.client().networks(None))
        .unwrap()
        .into_iter()
        .filter(|n| n.labels.contains_key("com.berth.netd.plugin"))
        .count();
    assert_eq!(plugin_nets, 0);
    assert!(
        eventually(30, || host
            .links()
            .iter()
            .filter(|l| l.as_str() != "uplink0")
            .cloned()
            .collect::<Vec<_>>()
            == links_before),
        "links left: {:?} (before {links_before:?})",
        host.links()
    );
    assert_eq!(run("nft", &["list", "table", "inet", "netd"]), nft_before);
    // The subnet is free again for netd's own networks.
    let req = netd_api::types::NetworkCreateRequest {
        name: "reuse".into(),
        ipam: Some(netd_api::types::Ipam {
            config: Some(vec![netd_api::types::IpamConfig {
                subnet: Some(subnet),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    };
    if let Err(e) = rt.block_on(netd.client().network_create(&req)) {
        panic!("{e}\n--- netd log ---\n{}", netd.log());
    }
}
