//! Embedded DNS benchmark: queries/s and p50/p99 latency for local names and
//! for forwarded names, measured with dnsperf from inside a sandbox, and the
//! same for aardvark-dns (Podman's server) in the same run when installed.
//!
//! Runs inside a throwaway host (`make bench-dns`); the upstream for
//! forwarded names is a DNS server in a "remote" namespace, never a real
//! resolver. Prints figures, asserts nothing.

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use dns::server::ListenerState;
use dns::zone::Zone;
use netd_api::types::{NetworkConnectRequest, NetworkCreateRequest, SandboxCreateRequest};
use tests::traffic::{Remote, in_ns};

const AARDVARK: &str = "/usr/lib/podman/aardvark-dns";

struct Reaped(Vec<Child>);

impl Drop for Reaped {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Throughput: dnsperf with 4 clients and 200 queries in flight for 6 s.
fn qps(netns: &str, server: &str, queries: &str) -> anyhow::Result<f64> {
    let out = Command::new("nsenter")
        .args([
            &format!("--net={netns}"),
            "dnsperf",
            "-s",
            server,
            "-d",
            queries,
            "-l",
            "6",
            "-c",
            "4",
            "-q",
            "200",
        ])
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("Queries per second:"))
        .ok_or_else(|| anyhow::anyhow!("dnsperf printed no rate: {text}"))?;
    Ok(line.split(':').nth(1).unwrap_or("0").trim().parse()?)
}

/// Latency: dnsperf at a steady 5,000 queries/s for 3 s, every query's
/// latency from its verbose output; returns (p50, p99) in milliseconds.
fn latency(netns: &str, server: &str, queries: &str) -> anyhow::Result<(f64, f64)> {
    let out = Command::new("nsenter")
        .args([
            &format!("--net={netns}"),
            "dnsperf",
            "-s",
            server,
            "-d",
            queries,
            "-l",
            "3",
            "-Q",
            "5000",
            "-v",
        ])
        .output()?;
    let mut v: Vec<f64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("> "))
        .filter_map(|l| l.split_whitespace().last()?.parse::<f64>().ok())
        .collect();
    anyhow::ensure!(!v.is_empty(), "no answers");
    v.sort_by(f64::total_cmp);
    let at = |p: f64| {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let i = ((v.len() as f64 - 1.0) * p).round() as usize;
        v[i] * 1e3
    };
    Ok((at(0.5), at(0.99)))
}

fn report(label: &str, netns: &str, server: &str, queries: &str) -> anyhow::Result<f64> {
    let rate = qps(netns, server, queries)?;
    let (p50, p99) = latency(netns, server, queries)?;
    println!("  {label:<34} {rate:>9.0} qps   p50 {p50:.3} ms   p99 {p99:.3} ms");
    Ok(rate)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    anyhow::ensure!(
        std::env::var_os("BERTH_TESTHOST").is_some(),
        "run through `make bench-dns`: the benchmark needs a throwaway host"
    );
    let mut procs = Reaped(Vec::new());

    // The upstream for forwarded names, in the remote namespace.
    let remote = Remote::new();
    let mut zone = Zone::new();
    for i in 0..10 {
        zone.add(
            &format!("host{i}.example.test"),
            format!("203.0.113.{i}").parse()?,
        );
    }
    let addr: SocketAddr = "192.0.2.2:53".parse()?;
    let (udp, tcp) = in_ns(Some(&remote.netns), move || {
        (UdpSocket::bind(addr), TcpListener::bind(addr))
    });
    let upstream_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let _upstream = {
        let _g = upstream_rt.enter();
        dns::server::spawn(
            udp?,
            tcp?,
            Arc::new(ListenerState::new(zone, vec![], false)),
        )
    };

    let (netd, c) = tests::netd::start_for_bench("/run/testhost/state/bench")
        .await
        .map_err(anyhow::Error::msg)?;
    procs.0.push(netd);
    c.network_create(&NetworkCreateRequest {
        name: "app".into(),
        ..Default::default()
    })
    .await?;
    let mut ids = Vec::new();
    for name in ["srv", "client"] {
        let sb = c
            .sandbox_create(&SandboxCreateRequest {
                name: name.into(),
                dns: vec!["192.0.2.2".into()],
                ..Default::default()
            })
            .await?;
        c.network_connect(
            "app",
            &NetworkConnectRequest {
                container: name.into(),
                endpoint_config: None,
            },
        )
        .await?;
        ids.push(sb);
    }
    let client_ns = ids[1].sandbox_key.clone();
    std::fs::write("/run/testhost/local.txt", "srv A\nsrv.app A\nclient A\n")?;
    let fwd: String = (0..10)
        .map(|i| format!("host{i}.example.test A\n"))
        .collect();
    std::fs::write("/run/testhost/forwarded.txt", fwd)?;

    println!("embedded DNS, dnsperf from inside a sandbox (release build, same run):");
    let ours_local = report(
        "netd, local names",
        &client_ns,
        "127.0.0.11",
        "/run/testhost/local.txt",
    )?;
    report(
        "netd, forwarded names",
        &client_ns,
        "127.0.0.11",
        "/run/testhost/forwarded.txt",
    )?;

    if std::path::Path::new(AARDVARK).exists() {
        // aardvark-dns serves the same network from its gateway address.
        let app = c.network("app").await?;
        let gw = app.ipam.config.unwrap_or_default()[0]
            .gateway
            .clone()
            .unwrap_or_default();
        let mut cfg = format!("{gw} 192.0.2.2\n");
        for (sb, name) in ids.iter().zip(["srv", "client"]) {
            let ip = c.sandbox(&sb.id).await?.networks["app"].ip_address.clone();
            cfg.push_str(&format!("{} {ip}  {name}\n", sb.id));
        }
        std::fs::create_dir_all("/run/testhost/aardvark")?;
        std::fs::write("/run/testhost/aardvark/app", cfg)?;
        procs.0.push(
            Command::new(AARDVARK)
                .args(["--config", "/run/testhost/aardvark", "-p", "53", "run"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()?,
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        std::fs::write("/run/testhost/local-aardvark.txt", "srv A\nclient A\n")?;
        let theirs = report(
            "aardvark-dns 1.4, local names",
            &client_ns,
            &gw,
            "/run/testhost/local-aardvark.txt",
        )?;
        report(
            "aardvark-dns 1.4, forwarded names",
            &client_ns,
            &gw,
            "/run/testhost/forwarded.txt",
        )?;
        println!(
            "  local names: netd {:.1}x aardvark-dns",
            ours_local / theirs
        );
    } else {
        println!("  (aardvark-dns not installed: {AARDVARK})");
    }
    drop(_upstream);
    upstream_rt.shutdown_background();
    Ok(())
}
