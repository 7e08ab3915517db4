//! dockerd with netd as its network driver: `docker run --rm` latency of a
//! busybox container on a `-d netd --ipam-driver netd` network, next to the
//! same on Docker's own bridge driver and with `--network none`, in one run
//! (alternating, medians). Runs inside a throwaway host (`make
//! bench-dockerd`), prints figures, asserts nothing.

use std::process::Child;
use std::time::{Duration, Instant};

use tests::TestHost;
use tests::dockerd::{self, Dockerd};

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn main() -> anyhow::Result<()> {
    if std::env::var_os("BERTH_TESTHOST").is_none() || std::process::id() != 1 {
        anyhow::bail!("run through `make bench-dockerd`: the benchmark needs a throwaway host");
    }
    anyhow::ensure!(
        dockerd::available(),
        "dockerd is missing (Debian's docker.io; `make setup` installs it)"
    );
    let host = TestHost::enter();
    let rt = tests::netd::runtime();
    let data_root = host.dir("netd-bench");
    let (child, _client) = rt
        .block_on(tests::netd::start_for_bench(
            &data_root.display().to_string(),
        ))
        .map_err(anyhow::Error::msg)?;
    let _netd = Daemon(child);
    let docker = Dockerd::start(&host);
    docker.import_busybox(&host, "busybox:bench");
    docker.ok(&[
        "network",
        "create",
        "-d",
        "netd",
        "--ipam-driver",
        "netd",
        "on-netd",
    ]);
    docker.ok(&["network", "create", "-d", "bridge", "on-bridge"]);
    let modes = [
        ("netd (-d netd --ipam-driver netd)", "on-netd"),
        ("Docker's bridge driver", "on-bridge"),
        ("--network none", "none"),
    ];
    let run = |network: &str| -> anyhow::Result<Duration> {
        let t = Instant::now();
        let out = docker.docker(&["run", "--rm", "--network", network, "busybox:bench", "true"]);
        let d = t.elapsed();
        anyhow::ensure!(
            out.status.success(),
            "docker run on {network} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(d)
    };
    for (_, net) in modes {
        run(net)?;
    }
    let rounds = 20;
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); modes.len()];
    for round in 0..rounds {
        // Rotate the order so that no mode always follows the same one.
        for k in 0..modes.len() {
            let i = (round + k) % modes.len();
            times[i].push(run(modes[i].1)?);
        }
    }
    println!(
        "docker run --rm busybox true, dockerd {} (iptables off), {rounds} alternating rounds:",
        docker.ok(&["version", "-f", "{{.Server.Version}}"])
    );
    let mut medians = Vec::new();
    for ((label, _), mut t) in modes.iter().zip(times) {
        t.sort();
        let m = pct(&t, 0.5);
        medians.push(m);
        println!(
            "  {label:<36} median {:7.1} ms   p90 {:7.1} ms",
            m.as_secs_f64() * 1e3,
            pct(&t, 0.9).as_secs_f64() * 1e3
        );
    }
    println!(
        "  network set-up over --network none: netd {:+.1} ms, Docker's bridge {:+.1} ms",
        (medians[0].as_secs_f64() - medians[2].as_secs_f64()) * 1e3,
        (medians[1].as_secs_f64() - medians[2].as_secs_f64()) * 1e3
    );
    docker.ok(&["network", "rm", "on-netd", "on-bridge"]);
    Ok(())
}
