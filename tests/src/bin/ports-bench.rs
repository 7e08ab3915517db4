//! Port publishing benchmark: time to publish and unpublish one port with
//! 0, 100 and 1000 mappings already present (in-process libnftables and the
//! `nft` command); rule and element counts with 10 and 1000 mappings; TCP
//! throughput through a published port versus straight to the container,
//! measured with iperf3 in the same run, from the host and from a LAN
//! neighbour (the host's clients both through connect-time translation, in
//! the cgroup netd gives it, and through DNAT, outside it), next to the
//! same figures for the peers' published ports:
//! Docker 20.10's userland proxy (`docker-proxy`) and netavark 1.4
//! (Podman's, iptables DNAT), when installed.
//!
//! Then what connect-time translation costs the host's other connections
//! and saves on a published one's set-up (see `ports_bench/connects.rs`).
//!
//! Runs inside a throwaway host (`make bench-ports`), prints figures,
//! asserts nothing.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use drivers::connect_nat::ConnectNat;
use drivers::firewall::{Change, NetworkRules, Nft, Protocol, PublishedPort};
use netd_api::portspec::{PortBinding, PortBindings};
use netd_api::types::{NetworkConnectRequest, NetworkCreateRequest, SandboxCreateRequest};

#[path = "ports_bench/connects.rs"]
mod connects;
#[path = "ports_bench/peers.rs"]
mod peers;

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

/// Applies a change as netd does: the nftables batch, then (when given)
/// the mirror in connect-time translation's maps.
fn apply(nft: &Nft, nat: Option<&ConnectNat>, c: Change) -> anyhow::Result<()> {
    let (replace, ops) = c.port_ops();
    let ops = ops.to_vec();
    nft.apply(c)?;
    if let Some(nat) = nat {
        nat.apply(replace, &ops)?;
    }
    Ok(())
}

fn publish_latency(nft: &Nft, nat: Option<&ConnectNat>, label: &str) -> anyhow::Result<()> {
    let net = NetworkRules {
        bridge: "br-bench".into(),
        subnets: vec!["10.90.0.0/24".parse()?],
        internal: false,
        masquerade: true,
    };
    for present in [0u32, 100, 1000] {
        let existing: Vec<PublishedPort> = (0..present).map(port).collect();
        apply(
            nft,
            nat,
            Change::replace_all(std::slice::from_ref(&net), &existing, &[]),
        )?;
        let (mut add, mut del) = (Vec::new(), Vec::new());
        for i in 0..100 {
            let p = port(50_000 + i);
            let mut c = Change::new();
            c.add_port(&p);
            let t = Instant::now();
            apply(nft, nat, c)?;
            add.push(t.elapsed());
            let mut c = Change::new();
            c.remove_port(&p, false);
            let t = Instant::now();
            apply(nft, nat, c)?;
            del.push(t.elapsed());
        }
        let (am, ap) = median_p99(add);
        let (dm, dp) = median_p99(del);
        println!(
            "  {label:<26} {present:>4} mappings present: publish median {am:6.2} ms p99 {ap:6.2} ms | unpublish median {dm:6.2} ms p99 {dp:6.2} ms"
        );
    }
    for n in [10u32, 1000] {
        let existing: Vec<PublishedPort> = (0..n).map(port).collect();
        nft.apply(Change::replace_all(
            std::slice::from_ref(&net),
            &existing,
            &[],
        ))?;
        if label.starts_with("in-process") {
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

/// One iperf3 run of 3 s from `from_ns` (`None`: the host), in `cgroup`
/// when given, to `target:port`, in Gbit/s received. Retried once: a server that has just
/// finished a test can refuse the next one for a moment.
fn iperf(
    from_ns: Option<&str>,
    cgroup: Option<&str>,
    target: &str,
    port: u16,
) -> anyhow::Result<f64> {
    let mut cmd: Vec<String> = Vec::new();
    if let Some(cg) = cgroup {
        // The client joins the cgroup before it starts.
        cmd.extend(
            [
                "sh",
                "-c",
                r#"echo $$ > "$0/cgroup.procs" && exec "$@""#,
                cg,
            ]
            .map(String::from),
        );
    }
    if let Some(ns) = from_ns {
        cmd.extend(["nsenter".into(), format!("--net={ns}")]);
    }
    cmd.extend(
        [
            "iperf3",
            "-c",
            target,
            "-p",
            &port.to_string(),
            "-t",
            "3",
            // The client on CPU 0, the server on CPU 1, in every run: left
            // to the scheduler, where the two land moves a run's figure
            // by more than the paths differ.
            "-A",
            "0,1",
            "-J",
        ]
        .map(String::from),
    );
    let refs: Vec<&str> = cmd.iter().map(String::as_str).collect();
    let out = sh(&refs).or_else(|e| {
        eprintln!("  (retrying {target}:{port} once: {e})");
        std::thread::sleep(Duration::from_millis(500));
        sh(&refs)
    })?;
    let doc: serde_json::Value = serde_json::from_str(&out)?;
    Ok(doc["end"]["sum_received"]["bits_per_second"]
        .as_f64()
        .unwrap_or(0.0)
        / 1e9)
}

/// Where an iperf3 client runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// The host itself.
    Host,
    /// The LAN neighbour (namespace `remote`).
    Lan,
}

const REMOTE_NETNS: &str = "/run/netns/remote";
/// The host's address on the LAN, the published ports' target.
const HOST_IP: &str = "192.0.2.1";
/// The port every iperf3 server listens on, in its container.
const IPERF_PORT: u16 = 5201;
/// Each path's published host port.
const NETD_PORT: u16 = 5201;
const DOCKER_PROXY_PORT: u16 = 5202;
const NETAVARK_PORT: u16 = 5203;
/// The published port of the connection set-up figures.
const CONNECT_PORT: u16 = 5210;
/// Rounds; each one runs every path once, in an order rotated per round.
const ROUNDS: usize = 8;

/// One way to the iperf3 server of a container, and its figures.
#[derive(Debug)]
struct Row {
    label: String,
    /// The name in the verdict line.
    name: String,
    /// The cgroup the host's client runs in (connect-time translation's).
    host_cgroup: Option<String>,
    /// Target from the host, and from the LAN neighbour (`Err`: why not).
    host: Result<(String, u16), String>,
    lan: Result<(String, u16), String>,
    /// Gbit/s by round, from the host and from the LAN neighbour.
    gbps: [Vec<f64>; 2],
}

impl Row {
    fn target(&self, from: Side) -> Option<&(String, u16)> {
        match from {
            Side::Host => self.host.as_ref().ok(),
            Side::Lan => self.lan.as_ref().ok(),
        }
    }

    /// Median Gbit/s and median percentage of the same round's direct
    /// figure, from `from`.
    fn summary(&self, from: Side, direct: &[f64]) -> Option<(f64, f64)> {
        let v = &self.gbps[from as usize];
        if v.is_empty() {
            return None;
        }
        let pct: Vec<f64> = v.iter().zip(direct).map(|(x, d)| x / d * 100.0).collect();
        Some((median(v.clone()), median(pct)))
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn published(label: String, port: u16) -> Row {
    Row {
        name: label
            .split([' ', ','])
            .next()
            .unwrap_or_default()
            .to_owned(),
        host_cgroup: None,
        label,
        host: Ok((HOST_IP.into(), port)),
        lan: Ok((HOST_IP.into(), port)),
        gbps: [Vec::new(), Vec::new()],
    }
}

fn skipped(label: String, why: String) -> Row {
    Row {
        name: String::new(),
        host_cgroup: None,
        label,
        host: Err(why.clone()),
        lan: Err(why),
        gbps: [Vec::new(), Vec::new()],
    }
}

fn spawn_iperf_server(netns: &str) -> anyhow::Result<Child> {
    Ok(Command::new("nsenter")
        .args([
            &format!("--net={netns}"),
            "iperf3",
            "-s",
            "-p",
            &IPERF_PORT.to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()?)
}

async fn throughput() -> anyhow::Result<()> {
    let mut procs = Reaped(Vec::new());
    // Connect-time translation for the clients of one child cgroup of the
    // test host's, so that the host's clients can be measured both ways;
    // every other client runs in a sibling cgroup, at the same depth.
    let test_host_cgroup = std::env::var("NETD_CONNECT_NAT_CGROUP")
        .ok()
        .filter(|p| p.starts_with('/'));
    let nat_cgroup = test_host_cgroup
        .as_ref()
        .map(|p| format!("{p}/connect-nat"));
    let plain_cgroup = test_host_cgroup.as_ref().map(|p| format!("{p}/plain"));
    for cg in nat_cgroup.iter().chain(&plain_cgroup) {
        std::fs::create_dir_all(cg)?;
    }
    let env = [(
        "NETD_CONNECT_NAT_CGROUP",
        nat_cgroup.as_deref().unwrap_or("none"),
    )];
    let (netd, c) = tests::netd::start_for_bench_with("/run/testhost/state/bench", &env)
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
        format!("{IPERF_PORT}/tcp"),
        vec![PortBinding {
            host_ip: String::new(),
            host_port: NETD_PORT.to_string(),
        }],
    );
    // A second published port, to a server that writes a line and closes,
    // for the connection set-up figures.
    ports.insert(
        "80/tcp".into(),
        vec![PortBinding {
            host_ip: String::new(),
            host_port: CONNECT_PORT.to_string(),
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
    procs.0.push(spawn_iperf_server(&sb.sandbox_key)?);
    tests::traffic::serve_tcp(&sb.sandbox_key, 80);

    let mut rows = vec![
        Row {
            label: "direct to the container address".into(),
            name: "direct".into(),
            host_cgroup: None,
            host: Ok((ip.clone(), IPERF_PORT)),
            lan: Err("not routable (netd's firewall drops it)".into()),
            gbps: [Vec::new(), Vec::new()],
        },
        Row {
            label: "netd, connect-time translation (eBPF)".into(),
            name: "netd".into(),
            host_cgroup: nat_cgroup.clone(),
            host: match &nat_cgroup {
                Some(_) => Ok((HOST_IP.into(), NETD_PORT)),
                None => Err("no cgroup v2 for it".into()),
            },
            lan: Err("(remote clients: DNAT)".into()),
            gbps: [Vec::new(), Vec::new()],
        },
        Row {
            name: "netd-DNAT".into(),
            ..published("netd, nftables DNAT".into(), NETD_PORT)
        },
    ];

    let (proxy, netavark) = add_peers(&ip, &mut rows, &mut procs, &_remote)?;
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Every (path, client) pair once per round, the order rotated from one
    // round to the next, so that a noisy moment on the machine does not
    // land on one path only; each percentage is of the same round's direct
    // figure.
    let runs: Vec<(usize, Side)> = (0..rows.len())
        .flat_map(|i| [(i, Side::Host), (i, Side::Lan)])
        .filter(|&(i, from)| rows[i].target(from).is_some())
        .collect();
    for round in 0..ROUNDS {
        for k in 0..runs.len() {
            let (i, from) = runs[(k + round * runs.len() / ROUNDS) % runs.len()];
            let Some((target, port)) = rows[i].target(from).cloned() else {
                continue;
            };
            let ns = (from == Side::Lan).then_some(REMOTE_NETNS);
            let cg = match from {
                Side::Host => rows[i].host_cgroup.as_ref().or(plain_cgroup.as_ref()),
                Side::Lan => plain_cgroup.as_ref(),
            };
            let g = iperf(ns, cg.map(String::as_str), &target, port)?;
            rows[i].gbps[from as usize].push(g);
        }
    }
    if let (Some(nat), Some(plain)) = (&nat_cgroup, &plain_cgroup) {
        connects::report(nat, plain, &format!("{HOST_IP}:{CONNECT_PORT}"))?;
    }
    drop(proxy);
    if let Some(nv) = netavark {
        nv.teardown()?;
    }
    for cg in nat_cgroup.iter().chain(&plain_cgroup) {
        // Their clients have all exited.
        let _ = std::fs::remove_dir(cg);
    }

    print_table(&rows);
    Ok(())
}

/// The peers' paths to the same kind of container: Docker 20.10's userland
/// proxy (to netd's container) and netavark (Podman's network tool, with
/// its own container namespace and iperf3 server), each a row, or a row
/// saying why it is skipped.
fn add_peers(
    ip: &str,
    rows: &mut Vec<Row>,
    procs: &mut Reaped,
    remote: &tests::traffic::Remote,
) -> anyhow::Result<(Option<peers::DockerProxy>, Option<peers::Netavark>)> {
    let proxy_label = match peers::package_version("docker.io") {
        Some(v) => format!("docker-proxy {v}, userland"),
        None => "docker-proxy, userland".into(),
    };
    let proxy = if std::path::Path::new(peers::DOCKER_PROXY).is_file() {
        match peers::DockerProxy::start(ip, IPERF_PORT, DOCKER_PROXY_PORT) {
            Ok(p) => {
                rows.push(published(proxy_label, DOCKER_PROXY_PORT));
                Some(p)
            }
            Err(e) => {
                rows.push(skipped(proxy_label, format!("failed: {e:#}")));
                None
            }
        }
    } else {
        rows.push(skipped(
            proxy_label,
            format!("{} not installed", peers::DOCKER_PROXY),
        ));
        None
    };

    // netavark (Podman's network tool), with its own container namespace
    // and iperf3 server.
    let nv_label = match peers::package_version("netavark") {
        Some(v) => format!("netavark {v}, iptables DNAT"),
        None => "netavark, iptables DNAT".into(),
    };
    let netavark = if std::path::Path::new(peers::NETAVARK).is_file() {
        match peers::Netavark::setup("nvbench", IPERF_PORT, NETAVARK_PORT) {
            Ok(nv) => {
                procs.0.push(spawn_iperf_server(&nv.netns)?);
                rows.push(published(nv_label, NETAVARK_PORT));
                // netavark leaves routing to its containers open: from the
                // LAN, this is the direct path netd's firewall refuses, the
                // same veth and bridge without the DNAT.
                remote.route_via_host(peers::Netavark::SUBNET);
                rows.push(Row {
                    label: "(check) direct to netavark's container".into(),
                    name: String::new(),
                    host_cgroup: None,
                    host: Ok((nv.ip.into(), IPERF_PORT)),
                    lan: Ok((nv.ip.into(), IPERF_PORT)),
                    gbps: [Vec::new(), Vec::new()],
                });
                Some(nv)
            }
            Err(e) => {
                rows.push(skipped(nv_label, format!("failed: {e:#}")));
                None
            }
        }
    } else {
        rows.push(skipped(
            nv_label,
            format!("{} not installed", peers::NETAVARK),
        ));
        None
    };
    Ok((proxy, netavark))
}

/// Prints the throughput table and the published-vs-direct verdict.
fn print_table(rows: &[Row]) {
    // Each side's own direct figure: from the host, to netd's container;
    // from the LAN, routed to netavark's (netd does not route to its
    // containers), when netavark is there.
    let host_direct = rows[0].gbps[Side::Host as usize].clone();
    let lan_direct = rows
        .iter()
        .find(|r| r.label.starts_with("(check)"))
        .map(|r| r.gbps[Side::Lan as usize].clone())
        .filter(|v| v.len() == host_direct.len());
    let direct_of = |from: Side| match (from, &lan_direct) {
        (Side::Lan, Some(v)) => v.clone(),
        _ => host_direct.clone(),
    };
    println!(
        "TCP throughput (iperf3, {ROUNDS} rounds of 3 s runs alternating the paths, medians, same run;"
    );
    if lan_direct.is_some() {
        println!(
            "  % = of the same round's direct figure from the same side: the host -> netd's container, \
             the LAN -> netavark's container, routed):"
        );
    } else {
        println!("  % = of the same round's host -> container address figure):");
    }
    println!(
        "  {:<40} {:>21}    {:>21}",
        "path", "from the host", "from a LAN neighbour"
    );
    let cell = |row: &Row, from: Side| -> String {
        match (row.summary(from, &direct_of(from)), row.target(from)) {
            (Some((g, p)), _) => format!("{g:6.2} Gbit/s ({p:3.0}%)"),
            (None, Some(_)) => "-".into(),
            (None, None) => match from {
                Side::Host => row.host.clone().err().unwrap_or_default(),
                Side::Lan => row.lan.clone().err().unwrap_or_default(),
            },
        }
    };
    for row in rows {
        let (h, l) = (cell(row, Side::Host), cell(row, Side::Lan));
        if row.host.is_err() {
            // Skipped peer: one note for both columns.
            println!("  {:<40} {h}", row.label);
        } else {
            let line = format!("  {:<40} {h:>21}    {l:>21}", row.label);
            println!("{}", line.trim_end());
        }
    }
    println!(
        "  (docker-proxy: Docker's path for 127.0.0.1 and hairpin traffic, or for all traffic with \
         --iptables=false)"
    );
    let verdict = |from: Side| -> String {
        rows[1..]
            .iter()
            .filter(|r| !r.label.starts_with('('))
            .filter_map(|r| {
                r.summary(from, &direct_of(from))
                    .map(|(_, p)| format!("{} {p:.0}%", r.name))
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "published port vs direct: {} (from the host); {} (from a LAN neighbour)",
        verdict(Side::Host),
        verdict(Side::Lan)
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, addr, n] = &args[..]
        && flag == connects::LOOP_FLAG
    {
        return connects::child(addr, n);
    }
    // The init of a throwaway host: netd, docker-proxy and netavark change
    // this network namespace's links and firewall tables.
    anyhow::ensure!(
        std::env::var_os("BERTH_TESTHOST").is_some() && std::process::id() == 1,
        "run through `make bench-ports`: the benchmark needs a throwaway host"
    );
    println!("port publishing (one atomic nftables batch each):");
    let lib = Nft::new();
    anyhow::ensure!(lib.in_process(), "libnftables.so.1 did not load");
    // netd's way: libnftables in-process, and the eBPF maps of
    // connect-time translation updated with each change (attached to a
    // cgroup of the test host's nobody runs in, and detached after).
    let nat = match std::env::var("NETD_CONNECT_NAT_CGROUP") {
        Ok(cg) if cg.starts_with('/') => {
            let idle = format!("{cg}/publish-bench");
            std::fs::create_dir_all(&idle)?;
            Some((ConnectNat::attach(std::path::Path::new(&idle))?, idle))
        }
        _ => None,
    };
    let label = if nat.is_some() {
        "in-process, with eBPF maps"
    } else {
        "in-process"
    };
    publish_latency(&lib, nat.as_ref().map(|(n, _)| n), label)?;
    if let Some((nat, idle)) = nat {
        drop(nat);
        let _ = std::fs::remove_dir(idle);
    }
    publish_latency(&Nft::command_only(), None, "nft command")?;
    throughput().await
}
