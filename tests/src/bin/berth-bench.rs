//! `berth run --rm busybox true` latency, with `--network none` and on a
//! user bridge network (netd), next to the OCI runtime running a prepared
//! bundle alone (`crun run`, and `runc run`), and `podman run --rm` of the
//! same image when podman is installed; one run, kinds taking turns in
//! blocks of consecutive runs (podman's after all the others'), medians.
//! Runs inside a throwaway host (`make bench-berth`); prints figures and
//! asserts nothing.
//!
//! `BENCH_SKIP_PODMAN=1` leaves podman out. Podman runs with its own
//! storage under the test host (its caches under a tmpfs over /var/lib,
//! its cgroups removed afterwards).
//!
//! Debian's crun refuses this machine's v1 hybrid cgroup layout because of
//! the (empty) cgroup2 hierarchy mounted at /sys/fs/cgroup/unified: the
//! benchmark covers that with a tmpfs in its own mount namespace, so that
//! crun runs, and says so.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tests::TestHost;
use tests::berth::Berth;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn timed(mut c: Command) -> anyhow::Result<Duration> {
    let t = Instant::now();
    let out = c.stdin(Stdio::null()).output()?;
    let d = t.elapsed();
    anyhow::ensure!(
        out.status.success(),
        "{c:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(d)
}

fn find(name: &str) -> Option<String> {
    ["/usr/bin", "/usr/sbin", "/bin", "/sbin"]
        .iter()
        .map(|d| format!("{d}/{name}"))
        .find(|p| Path::new(p).exists())
}

struct Daemon(std::process::Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn main() -> anyhow::Result<()> {
    if std::env::var_os("BERTH_TESTHOST").is_none() || std::process::id() != 1 {
        anyhow::bail!("run through `make bench-berth`: the benchmark needs a throwaway host");
    }
    let host = TestHost::enter();
    let crun = find("crun");
    let runc = find("runc").ok_or_else(|| anyhow::anyhow!("runc is missing"))?;
    if crun.is_some() && Path::new("/sys/fs/cgroup/unified").exists() {
        // Covered, not unmounted: crun still writes under `unified`, and
        // what it writes must land in this throwaway tmpfs rather than in
        // the machine's directory beneath the mount point.
        let _ = Command::new("mount")
            .args(["-t", "tmpfs", "bench-unified", "/sys/fs/cgroup/unified"])
            .status();
    }
    let rt = tests::netd::runtime();
    let data_root = host.dir("netd-bench");
    let (child, _client) = rt
        .block_on(tests::netd::start_for_bench(
            &data_root.display().to_string(),
        ))
        .map_err(anyhow::Error::msg)?;
    let _netd = Daemon(child);
    let berth = Berth::new(&host);
    let out = berth.cmd(&["network", "create", "benchnet"]);
    anyhow::ensure!(out.status.success(), "network create: {out:?}");
    // A bundle for the runtime alone: the same busybox, `true`, no network.
    let (bundle, rootfs_tar) = bare_bundle(&host, &runc)?;

    let mut labels: Vec<String> = Vec::new();
    type Runner<'a> = Box<dyn Fn(usize) -> anyhow::Result<Duration> + 'a>;
    let mut runners: Vec<Runner<'_>> = Vec::new();
    let runtimes: Vec<(&str, String)> = crun
        .iter()
        .map(|p| ("crun", p.clone()))
        .chain(std::iter::once(("runc", runc.clone())))
        .collect();
    for (name, bin) in &runtimes {
        let (bin, bundle) = (bin.clone(), bundle.clone());
        labels.push(format!("{name} run (prepared bundle, alone)"));
        runners.push(Box::new(move |i| {
            let mut c = Command::new(&bin);
            c.args(["run", "--bundle"])
                .arg(&bundle)
                .arg(format!("bare-{i}"));
            timed(c)
        }));
    }
    for (name, _) in &runtimes {
        for net in ["none", "benchnet"] {
            let what = if net == "none" {
                "--network none"
            } else {
                "user bridge (netd)"
            };
            labels.push(format!("berth run --rm, {what}, {name}"));
            let berth = &berth;
            let name = (*name).to_owned();
            runners.push(Box::new(move |_| {
                timed(berth.command(&[
                    "--runtime",
                    &name,
                    "run",
                    "--rm",
                    "--network",
                    net,
                    "busybox",
                    "true",
                ]))
            }));
        }
    }
    // podman (Podman 4's netavark bridge), on its own storage in this host;
    // /var/lib is hidden under a tmpfs so that its caches stay here too.
    let podman = find("podman").filter(|_| std::env::var_os("BENCH_SKIP_PODMAN").is_none());
    let _podman_cgroups = PodmanCgroups;
    let first_podman = podman.as_ref().map(|_| runners.len());
    if let Some(podman) = &podman {
        add_podman(&host, podman, &runc, &rootfs_tar, &mut labels, &mut runners)?;
    }
    // Blocks of consecutive runs of one kind, the kinds taking turns in a
    // rotating order. A run leaves kernel work behind (its namespaces and
    // cgroups are torn down after it returns); within a block each run
    // meets its own kind's. Before a block the host is left alone for a
    // moment (the previous kind's deferred teardown, a bridge's network
    // namespace especially, takes milliseconds of kernel work), and the
    // first run of a block, which may meet what is left of it, is not
    // counted.
    // Podman's kinds take their turns after the others': each podman run
    // leaves seconds of work behind it (its conmon, its cgroups and
    // network namespace going), which would land on the runs measured
    // next, berth's and the bare runtimes' alike.
    let (rounds, per_block) = (8, 5);
    let split = first_podman.unwrap_or(runners.len());
    let times = measure(&runners, split, rounds, per_block)?;
    println!(
        "container start-to-exit latency (`true`), {rounds} rounds of {per_block} consecutive runs of each kind, medians:"
    );
    let medians: Vec<Duration> = times.into_iter().map(median).collect();
    report(&labels, &medians, &runtimes);
    if crun.is_some() {
        println!(
            "  (crun runs with a tmpfs over /sys/fs/cgroup/unified in the benchmark's own mount namespace: it refuses this host's hybrid layout otherwise)"
        );
    } else {
        println!("  (crun is not installed)");
    }
    if find("podman").is_none() {
        println!(
            "  podman: not installed (measured here before: about 290 ms with --network none and 530 ms on a bridge)"
        );
    } else if podman.is_none() {
        println!("  podman: left out (BENCH_SKIP_PODMAN)");
    } else {
        println!(
            "  (podman's kinds ran after the others: its runs leave work behind that slows whatever runs next)"
        );
    }
    Ok(())
}

/// Removes the cgroups podman makes in the machine's cgroup tree
/// (`libpod_parent`), when the benchmark ends.
struct PodmanCgroups;

impl Drop for PodmanCgroups {
    fn drop(&mut self) {
        let Ok(ctrls) = std::fs::read_dir("/sys/fs/cgroup") else {
            return;
        };
        for c in ctrls.flatten() {
            let parent = c.path().join("libpod_parent");
            if !parent.is_dir() {
                continue;
            }
            let mut dirs = vec![parent.clone()];
            let mut i = 0;
            while i < dirs.len() {
                if let Ok(kids) = std::fs::read_dir(&dirs[i]) {
                    dirs.extend(kids.flatten().map(|k| k.path()).filter(|p| p.is_dir()));
                }
                i += 1;
            }
            for d in dirs.iter().rev() {
                let _ = std::fs::remove_dir(d);
            }
        }
    }
}

/// Unpacks busybox into a bundle of `runc spec` running `true`: what the
/// bare runtimes run. Returns the bundle and the rootfs tarball.
fn bare_bundle(host: &TestHost, runc: &str) -> anyhow::Result<(PathBuf, PathBuf)> {
    let bundle = host.dir("bare-bundle");
    let rootfs_tar = tests::dockerd::busybox_rootfs(host);
    std::fs::create_dir_all(bundle.join("rootfs"))?;
    let st = Command::new("tar")
        .arg("-C")
        .arg(bundle.join("rootfs"))
        .arg("-xf")
        .arg(&rootfs_tar)
        .status()?;
    anyhow::ensure!(st.success(), "unpacking the rootfs");
    let st = Command::new(runc)
        .arg("spec")
        .current_dir(&bundle)
        .status()?;
    anyhow::ensure!(st.success(), "runc spec");
    let spec = std::fs::read_to_string(bundle.join("config.json"))?
        .replace("\"terminal\": true", "\"terminal\": false")
        .replace("\"sh\"", "\"true\"");
    std::fs::write(bundle.join("config.json"), spec)?;
    Ok((bundle, rootfs_tar))
}

/// One kind of run, timed; its argument numbers the run.
type Runner<'a> = Box<dyn Fn(usize) -> anyhow::Result<Duration> + 'a>;

/// podman (Podman 4's netavark bridge) on its own storage in this host,
/// `--network none` and on its bridge.
fn add_podman(
    host: &TestHost,
    podman: &str,
    runc: &str,
    rootfs_tar: &Path,
    labels: &mut Vec<String>,
    runners: &mut Vec<Runner<'_>>,
) -> anyhow::Result<()> {
    let _ = Command::new("mount")
        .args(["-t", "tmpfs", "bench-varlib", "/var/lib"])
        .status();
    let state = host.dir("podman");
    let base: Vec<String> = vec![
        "--root".into(),
        state.join("root").display().to_string(),
        "--runroot".into(),
        state.join("run").display().to_string(),
        "--cgroup-manager".into(),
        "cgroupfs".into(),
        "--runtime".into(),
        runc.to_owned(),
        "--events-backend".into(),
        "none".into(),
        "--network-config-dir".into(),
        state.join("net").display().to_string(),
        "--tmpdir".into(),
        state.join("tmp").display().to_string(),
    ];
    let podman_cmd = |args: &[&str]| {
        let mut c = Command::new(podman);
        c.args(&base).args(args);
        c
    };
    timed(podman_cmd(&[
        "import",
        &rootfs_tar.display().to_string(),
        "localhost/busybox:latest",
    ]))?;
    timed(podman_cmd(&["network", "create", "podnet"]))?;
    for net in ["none", "podnet"] {
        let what = if net == "none" {
            "--network none"
        } else {
            "its bridge (netavark)"
        };
        labels.push(format!("podman run --rm, {what}, runc"));
        let args: Vec<String> = ["run", "--rm", "--network", net, "localhost/busybox", "true"]
            .map(String::from)
            .to_vec();
        let base = base.clone();
        let podman = podman.to_owned();
        runners.push(Box::new(move |_| {
            let mut c = Command::new(&podman);
            c.args(&base).args(&args);
            timed(c)
        }));
    }
    Ok(())
}

/// Blocks of consecutive runs of one kind, the kinds taking turns in a
/// rotating order; podman's kinds (from `split` on) after the others'.
fn measure(
    runners: &[Runner<'_>],
    split: usize,
    rounds: usize,
    per_block: usize,
) -> anyhow::Result<Vec<Vec<Duration>>> {
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); runners.len()];
    for group in [0..split, split..runners.len()] {
        let kinds = group.len();
        for round in 0..rounds {
            for k in 0..kinds {
                let i = group.start + (round + k) % kinds;
                std::thread::sleep(Duration::from_millis(30));
                runners[i](round * 1000 + i * 100)?;
                for n in 1..=per_block {
                    times[i].push(runners[i](round * 1000 + i * 100 + n)?);
                }
            }
        }
    }
    Ok(times)
}

/// Prints each kind's median and, per runtime, berth's ratio to the bare
/// runtime and what the user bridge adds.
fn report(labels: &[String], medians: &[Duration], runtimes: &[(&str, String)]) {
    for (label, m) in labels.iter().zip(medians) {
        println!("  {label:<46} {:7.1} ms", ms(*m));
    }
    let find_m = |needle: &str| {
        labels
            .iter()
            .position(|l| l.starts_with(needle))
            .map(|i| medians[i])
    };
    for (name, _) in runtimes {
        if let (Some(bare), Some(none), Some(bridge)) = (
            find_m(&format!("{name} run")),
            find_m(&format!("berth run --rm, --network none, {name}")),
            find_m(&format!("berth run --rm, user bridge (netd), {name}")),
        ) {
            println!(
                "  with {name}: --network none {:.2}x of bare {name}; the user bridge adds {:+.1} ms",
                none.as_secs_f64() / bare.as_secs_f64(),
                ms(bridge) - ms(none)
            );
        }
    }
}
