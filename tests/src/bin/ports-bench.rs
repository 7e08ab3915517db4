//! Port publishing benchmark: time to publish and unpublish one port with
//! 0, 100 and 1000 mappings already present (in-process libnftables and the
//! `nft` command); rule and element counts with 10 and 1000 mappings; TCP
//! throughput through a published port versus straight to the container,
//! measured with iperf3 in the same run.
//!
//! Runs inside a throwaway host (`make bench-ports`), prints figures,
//! asserts nothing.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use drivers::firewall::{Change, NetworkRules, Nft, Protocol, PublishedPort};
use netd::api::portspec::{PortBinding, PortBindings};
use netd::api::types::{NetworkConnectRequest, NetworkCreateRequest, SandboxCreateRequest};

fn port(i: u32) -> PublishedPort {
    let i16 = u16::try_from(i % 60000).expect("fits");
    PublishedPort {
        host_ip: None,
        host_port: 2000 + i16,
        protocol: Protocol::Tcp,
        container_ip: std::net::IpAddr::V4(std::net::Ipv4Addr::from(0x0a5a_0000 + 2 + (i % 250))),
        container_port: 80,
    }
}

fn median_p99(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let at = |p: f64| {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let i = ((v.len() as f64 - 1.0) * p).round() as usize;
        v[i].as_secs_f64() * 1e3
    };
    (at(0.5), at(0.99))
}

fn counts() -> (usize, usize) {
    let out = Command::new("nft")
        .args(["-j", "list", "ruleset"])
        .output()
        .expect("nft runs");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let items = doc["nftables"].as_array().cloned().unwrap_or_default();
    let rules = items.iter().filter(|o| o.get("rule").is_some()).count();
    let elems = items
        .iter()
        .filter_map(|o| o.get("set").or_else(|| o.get("map")))
        .filter_map(|s| s["elem"].as_array().map(Vec::len))
        .sum();
    (rules, elems)
}

fn publish_latency(nft: &Nft, label: &str) -> anyhow::Result<()> {
    let net = NetworkRules {
        bridge: "br-bench".into(),
        subnets: vec!["10.90.0.0/24".parse()?],
        internal: false,
        masquerade: true,
    };
    for present in [0u32, 100, 1000] {
        let existing: Vec<PublishedPort> = (0..present).map(port).collect();
        nft.apply(Change::replace_all(
            std::slice::from_ref(&net),
            &existing,
            &[],
        ))?;
        let (mut add, mut del) = (Vec::new(), Vec::new());
        for i in 0..100 {
            let p = port(50_000 + i);
            let mut c = Change::new();
            c.add_port(&p);
            let t = Instant::now();
            nft.apply(c)?;
            add.push(t.elapsed());
            let mut c = Change::new();
            c.remove_port(&p, false);
            let t = Instant::now();
            nft.apply(c)?;
            del.push(t.elapsed());
        }
        let (am, ap) = median_p99(add);
        let (dm, dp) = median_p99(del);
        println!(
            "  {label:<12} {present:>4} mappings present: publish median {am:6.2} ms p99 {ap:6.2} ms | unpublish median {dm:6.2} ms p99 {dp:6.2} ms"
        );
    }
    for n in [10u32, 1000] {
        let existing: Vec<PublishedPort> = (0..n).map(port).collect();
        nft.apply(Change::replace_all(
            std::slice::from_ref(&net),
            &existing,
            &[],
        ))?;
        if label == "in-process" {
            let (rules, elems) = counts();
            println!("  ruleset with {n:>4} mappings: {rules} rules, {elems} set/map elements");
        }
    }
    Ok(())
}

struct Reaped(Vec<Child>);

impl Drop for Reaped {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn sh(cmd: &[&str]) -> anyhow::Result<String> {
    let out = Command::new(cmd[0]).args(&cmd[1..]).output()?;
    anyhow::ensure!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn iperf(from_ns: Option<&str>, target: &str, port: &str) -> anyhow::Result<f64> {
    let mut cmd: Vec<String> = Vec::new();
    if let Some(ns) = from_ns {
        cmd.extend(["nsenter".into(), format!("--net={ns}")]);
    }
    cmd.extend(["iperf3", "-c", target, "-p", port, "-t", "4", "-J"].map(String::from));
    let refs: Vec<&str> = cmd.iter().map(String::as_str).collect();
    let out = sh(&refs)?;
    let doc: serde_json::Value = serde_json::from_str(&out)?;
    Ok(doc["end"]["sum_received"]["bits_per_second"]
        .as_f64()
        .unwrap_or(0.0)
        / 1e9)
}

async fn throughput() -> anyhow::Result<()> {
    let mut procs = Reaped(Vec::new());
    let (netd, c) = tests::netd::start_for_bench("/run/testhost/state/bench")
        .await
        .map_err(anyhow::Error::msg)?;
    procs.0.push(netd);
    // A LAN neighbour, as in the tests.
    let _remote = tests::traffic::Remote::new();
    c.network_create(&NetworkCreateRequest {
        name: "perf".into(),
        ..Default::default()
    })
    .await?;
    let mut ports = PortBindings::new();
    ports.insert(
        "5201/tcp".into(),
        vec![PortBinding {
            host_ip: String::new(),
            host_port: "5201".into(),
        }],
    );
    let sb = c
        .sandbox_create(&SandboxCreateRequest {
            name: "iperf".into(),
            port_bindings: Some(ports),
            ..Default::default()
        })
        .await?;
    c.network_connect(
        "perf",
        &NetworkConnectRequest {
            container: "iperf".into(),
            endpoint_config: None,
        },
    )
    .await?;
    let ip = c.sandbox("iperf").await?.networks["perf"]
        .ip_address
        .clone();
    procs.0.push(
        Command::new("nsenter")
            .args([
                &format!("--net={}", sb.sandbox_key),
                "iperf3",
                "-s",
                "-p",
                "5201",
            ])
            .stdout(Stdio::null())
            .spawn()?,
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Alternate the paths over three rounds and keep each one's median, so
    // that a noisy moment on the machine does not land on one path only.
    let (mut d, mut h, mut r) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..3 {
        d.push(iperf(None, &ip, "5201")?);
        h.push(iperf(None, "192.0.2.1", "5201")?);
        r.push(iperf(Some("/run/netns/remote"), "192.0.2.1", "5201")?);
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (direct, published_host, published_remote) = (median(d), median(h), median(r));
    println!("TCP throughput (iperf3, 3 alternating rounds of 4 s, medians, same run):");
    println!("  host -> container address (direct)          {direct:6.2} Gbit/s");
    println!(
        "  host -> published port (DNAT)               {published_host:6.2} Gbit/s ({:.0}% of direct)",
        published_host / direct * 100.0
    );
    println!(
        "  LAN neighbour -> published port (forwarded) {published_remote:6.2} Gbit/s ({:.0}% of direct)",
        published_remote / direct * 100.0
    );
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    anyhow::ensure!(
        std::env::var_os("BERTH_TESTHOST").is_some(),
        "run through `make bench-ports`: the benchmark needs a throwaway host"
    );
    println!("port publishing (one atomic nftables batch each):");
    let lib = Nft::new();
    anyhow::ensure!(lib.in_process(), "libnftables.so.1 did not load");
    publish_latency(&lib, "in-process")?;
    publish_latency(&Nft::command_only(), "nft command")?;
    throughput().await
}
