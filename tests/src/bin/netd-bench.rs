//! netd benchmark: network create+delete latency; sandbox create, connect,
//! disconnect and delete latency (median and p99) with 1, 100 and 1000
//! endpoints already on the network; netd's memory at idle and with 1000
//! endpoints.
//!
//! Runs inside a throwaway host (`make bench-netd` wraps it in
//! `scripts/testhost`), starts the release netd with its state on real disk
//! (so that the store's fsync is paid as in production), prints figures and
//! asserts nothing. `NETD_BENCH_LOG` sets netd's log filter (default `warn`;
//! `warn,netd::controller::dns=debug` shows the time of each DNS refresh).

use std::future::Future;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use netd_api::client::Client;
use netd_api::types::{
    IpamConfig, NetworkConnectRequest, NetworkCreateRequest, NetworkDisconnectRequest,
    SandboxCreateRequest,
};

fn pct(sorted: &[Duration], p: f64) -> Duration {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> String {
    format!("{:7.2} ms", d.as_secs_f64() * 1e3)
}

fn summary(label: &str, mut v: Vec<Duration>) {
    v.sort();
    println!(
        "  {label:<22} median {}   p99 {}   (n={})",
        ms(pct(&v, 0.5)),
        ms(pct(&v, 0.99)),
        v.len()
    );
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn timed<F: Future<Output = T>, T>(f: F) -> (T, Duration) {
    let t = Instant::now();
    let out = f.await;
    (out, t.elapsed())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    if std::env::var_os("BERTH_TESTHOST").is_none() {
        anyhow::bail!("run through `make bench-netd`: the benchmark needs a throwaway host");
    }
    let exe = std::env::current_exe()?;
    let dir = exe.parent().expect("binaries live in target/<profile>");
    let data_root: PathBuf = dir.join("bench-netd-state");
    let _ = std::fs::remove_dir_all(&data_root);
    let child = Command::new(dir.join("netd"))
        .args([
            "-H",
            "unix:///run/netd/netd.sock",
            "--config-file",
            "/nonexistent",
        ])
        .arg("--log-level")
        .arg(std::env::var("NETD_BENCH_LOG").unwrap_or_else(|_| "warn".into()))
        .arg("--data-root")
        .arg(&data_root)
        .stdin(Stdio::null())
        .spawn()?;
    let pid = child.id();
    let _daemon = Daemon(child);
    let c = Client::new("unix:///run/netd/netd.sock")?;
    let start = Instant::now();
    while c.ping().await.is_err() {
        anyhow::ensure!(
            start.elapsed() < Duration::from_secs(20),
            "netd did not start"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    println!(
        "netd benchmark (release build, state on disk at {})",
        data_root.display()
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let idle = rss_kib(pid);
    network_lifecycle(&c).await?;
    let present = sandbox_lifecycles(&c).await?;
    let loaded = rss_kib(pid);
    println!(
        "netd memory (RSS): idle {:.1} MB, with {present} endpoints {:.1} MB",
        idle as f64 / 1024.0,
        loaded as f64 / 1024.0
    );
    drop(_daemon);
    let _ = std::fs::remove_dir_all(&data_root);
    Ok(())
}

/// Network create and delete, 50 of each.
async fn network_lifecycle(c: &Client) -> anyhow::Result<()> {
    let mut create = Vec::new();
    let mut delete = Vec::new();
    for i in 0..50 {
        let req = NetworkCreateRequest {
            name: format!("tmp{i}"),
            ..Default::default()
        };
        let (r, d) = timed(c.network_create(&req)).await;
        r?;
        create.push(d);
        let (r, d) = timed(c.network_remove(&format!("tmp{i}"))).await;
        r?;
        delete.push(d);
    }
    println!("network (bridge, subnet from the default pools):");
    summary("create", create);
    summary("delete", delete);
    Ok(())
}

fn connect_req(name: &str) -> NetworkConnectRequest {
    NetworkConnectRequest {
        container: name.into(),
        endpoint_config: None,
    }
}

/// A sandbox's whole life (create, connect, disconnect, delete), 60 times
/// with 1, 100 and 1000 endpoints already on the network; returns how many
/// endpoints are left on it.
async fn sandbox_lifecycles(c: &Client) -> anyhow::Result<usize> {
    c.network_create(&NetworkCreateRequest {
        name: "bench".into(),
        ipam: Some(netd_api::types::Ipam {
            config: Some(vec![IpamConfig {
                subnet: Some("10.200.0.0/20".into()),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    })
    .await?;
    let mut present = 0;
    for target in [1usize, 100, 1000] {
        while present < target {
            let name = format!("bg{present}");
            c.sandbox_create(&SandboxCreateRequest {
                name: name.clone(),
                ..Default::default()
            })
            .await?;
            c.network_connect("bench", &connect_req(&name)).await?;
            present += 1;
        }
        let (mut sc, mut cn, mut dc, mut sd) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for i in 0..60 {
            let name = format!("probe{i}");
            let (r, d) = timed(c.sandbox_create(&SandboxCreateRequest {
                name: name.clone(),
                ..Default::default()
            }))
            .await;
            r?;
            sc.push(d);
            let (r, d) = timed(c.network_connect("bench", &connect_req(&name))).await;
            r?;
            cn.push(d);
            let (r, d) = timed(c.network_disconnect(
                "bench",
                &NetworkDisconnectRequest {
                    container: name.clone(),
                    force: false,
                },
            ))
            .await;
            r?;
            dc.push(d);
            let (r, d) = timed(c.sandbox_remove(&name)).await;
            r?;
            sd.push(d);
        }
        println!("sandbox lifecycle with {target} endpoint(s) already on the network:");
        summary("sandbox create", sc);
        summary("connect", cn);
        summary("disconnect", dc);
        summary("sandbox delete", sd);
    }
    Ok(present)
}
