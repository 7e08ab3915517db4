//! A sandbox lives exactly as long as its container's network is needed,
//! whatever order the engine's and netd's failures come in: containers are
//! started with published ports and removed while netd is killed and
//! restarted, shims are killed while netd is down, berth's run root is
//! lost, netd's store goes back in time. Each time, once netd is back, the
//! sandboxes netd holds are exactly those of berth's running containers:
//! the veths on the bridges, the addresses, the published host ports and
//! the DNS names follow, and a new container takes a removed one's name,
//! address and port at once.
//!
//! `BERTH_ORPHAN_ROUNDS` sets the number of chaos rounds (20 by default),
//! `BERTH_ORPHAN_SEED` the seed of their timing (printed by each run).

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use netd_api::types::SandboxResource;
use tests::TestHost;
use tests::berth::Berth;
use tests::netd::{Netd, in_netns, runtime};

/// The chaos networks, `chaos0` and `chaos1`, on 10.88.K.0/24.
const NETWORKS: usize = 2;
/// Host ports of chaos containers: 8000 + n % PORTS.
const PORTS: usize = 200;
/// Containers started in each round.
const STEPS: usize = 6;
/// Running chaos containers kept from one round to the next.
const KEPT: usize = 4;
/// What every container's httpd serves.
const PAGE: &str = "hello from busybox";

/// A small random source for the chaos' timing (no crate needed).
struct Rng(u64);

impl Rng {
    fn seeded() -> Self {
        let seed: u64 = std::env::var("BERTH_ORPHAN_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .subsec_nanos()
                    .into()
            });
        eprintln!("chaos seed: BERTH_ORPHAN_SEED={seed}");
        Self(seed | 1)
    }

    /// A number in `lo..hi`.
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        // xorshift64
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        lo + self.0 % (hi - lo)
    }

    fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(self.between(lo, hi))
    }
}

/// The test's host, netd and berth.
struct World {
    _host: TestHost,
    netd: Netd,
    berth: Berth,
}

impl World {
    fn new() -> Self {
        let host = TestHost::enter();
        let netd = Netd::start(&host);
        let berth = Berth::new(&host);
        let w = Self {
            _host: host,
            netd,
            berth,
        };
        w.cli().networks();
        w
    }

    /// berth's command line against this test's netd.
    fn cli(&self) -> Cli<'_> {
        Cli {
            berth: &self.berth,
            host: self.netd.host(),
        }
    }

    /// Chaos containers `ns`, started with netd up.
    fn started(&self, ns: impl IntoIterator<Item = usize>) -> Vec<Chaos> {
        ns.into_iter()
            .map(|n| {
                let c = Chaos::nth(n);
                let out = self.cli().run(&c);
                assert_eq!(code(&out), 0, "{c:?}: {out:?}");
                c
            })
            .collect()
    }

    /// netd's sandboxes.
    fn sandboxes(&self) -> Result<Vec<SandboxResource>, String> {
        runtime()
            .block_on(self.netd.client().sandboxes())
            .map_err(|e| format!("listing netd's sandboxes: {e}"))
    }
}

/// berth's command line against the test's netd (which may be down).
struct Cli<'a> {
    berth: &'a Berth,
    host: String,
}

impl Cli<'_> {
    fn cmd(&self, args: &[&str]) -> Output {
        let mut full = vec!["--netd-host", self.host.as_str()];
        full.extend_from_slice(args);
        self.berth.cmd(&full)
    }

    /// berth's trimmed stdout; a panic when it fails.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.cmd(args);
        assert!(out.status.success(), "berth {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// The chaos networks and, on each, a probe container that names are
    /// resolved from.
    fn networks(&self) {
        for k in 0..NETWORKS {
            let net = format!("chaos{k}");
            self.ok(&[
                "network",
                "create",
                "--subnet",
                &format!("10.88.{k}.0/24"),
                &net,
            ]);
            self.ok(&[
                "run",
                "-d",
                "--name",
                &format!("probe{k}"),
                "--network",
                &net,
                "busybox",
                "sleep",
                "100000",
            ]);
        }
    }

    /// `berth run -d` of chaos container `c`, serving [`PAGE`] on its
    /// port.
    fn run(&self, c: &Chaos) -> Output {
        self.cmd(&[
            "run",
            "-d",
            "--name",
            &c.name,
            "--network",
            &format!("chaos{}", c.net),
            "--ip",
            &c.ip,
            "-p",
            &format!("{}:80", c.port),
            "busybox",
            "httpd",
            "-f",
            "-p",
            "80",
            "-h",
            "/www",
        ])
    }

    /// berth's running containers: (id, name).
    fn running(&self) -> BTreeSet<(String, String)> {
        self.ok(&["ps", "--no-trunc", "--format", "{{.ID}} {{.Names}}"])
            .lines()
            .filter_map(|l| l.split_once(' '))
            .map(|(id, name)| (id.to_owned(), name.to_owned()))
            .collect()
    }

    /// Every container berth knows: name → state.
    fn states(&self) -> BTreeMap<String, String> {
        self.ok(&["ps", "-a", "--format", "{{.Names}} {{.State}}"])
            .lines()
            .filter_map(|l| l.split_once(' '))
            .map(|(n, s)| (n.to_owned(), s.to_owned()))
            .collect()
    }

    /// The pids of container `name`'s shim and of its process.
    fn pids(&self, name: &str) -> [i32; 2] {
        let id = self.ok(&["inspect", "-f", "{{.Id}}", name]);
        let file = self
            .berth
            .runroot
            .join("containers")
            .join(id)
            .join("shim.pid");
        let shim = std::fs::read_to_string(&file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let init = self
            .ok(&["inspect", "-f", "{{.State.Pid}}", name])
            .parse()
            .unwrap();
        [shim, init]
    }
}

/// A chaos container: its name, network, address and host port.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Chaos {
    name: String,
    net: usize,
    ip: String,
    port: u16,
}

impl Chaos {
    /// The `n`th chaos container.
    fn nth(n: usize) -> Self {
        Self {
            name: format!("w{n}"),
            net: n % NETWORKS,
            ip: format!("10.88.{}.{}", n % NETWORKS, 10 + n % 200),
            port: u16::try_from(8000 + n % PORTS).unwrap(),
        }
    }
}

/// Kills netd (SIGKILL) and starts it again at random moments while `body`
/// runs (at least once); netd runs again when this returns, with the
/// number of kills.
fn under_chaos<T>(netd: &mut Netd, rng: &mut Rng, body: impl FnOnce() -> T) -> (T, usize) {
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let killer = s.spawn(|| {
            let mut kills = 0;
            loop {
                std::thread::sleep(rng.millis(40, 400));
                netd.kill();
                kills += 1;
                std::thread::sleep(rng.millis(10, 250));
                netd.start_again();
                if stop.load(Ordering::Relaxed) {
                    return kills;
                }
            }
        });
        let out = body();
        stop.store(true, Ordering::Relaxed);
        (out, killer.join().unwrap())
    })
}

/// The names netd's DNS answers for `name` to a query from sandbox
/// `from` (its netns): the addresses, none when the name is unknown.
fn resolve(from: &SandboxResource, name: &str) -> Vec<String> {
    let out = in_netns(
        &from.sandbox_key,
        &["dig", "+time=1", "+tries=1", "+short", name, "@127.0.0.11"],
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.parse::<std::net::IpAddr>().is_ok())
        .map(str::to_owned)
        .collect()
}

/// What `GET http://127.0.0.1:PORT/` answers.
fn fetch(port: u16) -> String {
    let out = std::process::Command::new("curl")
        .args([
            "-s",
            "--max-time",
            "3",
            &format!("http://127.0.0.1:{port}/"),
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The endpoint ids of the veths enslaved to a bridge, from their
/// `netd-ep:<id>` aliases.
fn bridged_endpoints() -> Result<BTreeSet<String>, String> {
    let mut out = BTreeSet::new();
    for link in std::fs::read_dir("/sys/class/net").map_err(|e| e.to_string())? {
        let path = link.map_err(|e| e.to_string())?.path();
        if !path.join("master").exists() {
            continue;
        }
        let alias = std::fs::read_to_string(path.join("ifalias")).unwrap_or_default();
        match alias.trim().strip_prefix("netd-ep:") {
            Some(ep) => {
                out.insert(ep.to_owned());
            }
            None => return Err(format!("{} is bridged without netd's mark", path.display())),
        }
    }
    Ok(out)
}

/// The host ports in netd's port map (`tcp . PORT : 80`).
fn mapped_ports() -> BTreeSet<u16> {
    let text = tests::run("nft", &["list", "map", "inet", "netd", "dnat4_any_port"]);
    text.split("tcp . ")
        .skip(1)
        .filter_map(|rest| rest.split_whitespace().next()?.parse().ok())
        .collect()
}

/// Checks the invariant once: netd's sandboxes are those of berth's
/// running containers, and so are the bridged veths, the addresses and the
/// published ports; each running chaos container answers on its port and
/// resolves from its network's probe; the `gone` names resolve nowhere.
fn check(w: &World, chaos: &BTreeMap<String, Chaos>, gone: &[String]) -> Result<(), String> {
    let running = w.cli().running();
    let sandboxes = w.sandboxes()?;
    let held: BTreeSet<(String, String)> = sandboxes
        .iter()
        .map(|s| (s.id.clone(), s.name.clone()))
        .collect();
    if held != running {
        return Err(format!(
            "netd holds {held:?}\nberth runs {running:?}\nberth knows {:?}",
            w.cli().states()
        ));
    }
    if let Some(s) = sandboxes.iter().find(|s| s.owner.is_none()) {
        return Err(format!("sandbox {} has no owner", s.name));
    }
    // Veths on the bridges: exactly the running containers' endpoints.
    let endpoints: BTreeSet<String> = sandboxes
        .iter()
        .flat_map(|s| s.networks.values().map(|e| e.endpoint_id.clone()))
        .collect();
    let bridged = bridged_endpoints()?;
    if bridged != endpoints {
        return Err(format!(
            "veths on bridges for {bridged:?}, running endpoints {endpoints:?}"
        ));
    }
    // Addresses and ports: each held once, by a running container, as
    // asked.
    let mut ips = BTreeSet::new();
    let mut ports = BTreeSet::new();
    for s in &sandboxes {
        for e in s.networks.values() {
            if !ips.insert(e.ip_address.clone()) {
                return Err(format!("address {} held twice", e.ip_address));
            }
        }
        for p in s.ports.values().flatten() {
            let port: u16 = p.host_port.parse().map_err(|_| format!("{p:?}"))?;
            if !ports.insert(port) {
                return Err(format!("host port {port} held twice"));
            }
        }
        if let Some(c) = chaos.get(&s.name) {
            let ip = s.networks.values().next().map(|e| e.ip_address.clone());
            if ip.as_deref() != Some(c.ip.as_str()) || !ports.contains(&c.port) {
                return Err(format!(
                    "{} holds {ip:?} and {:?}, not {c:?}",
                    s.name, s.ports
                ));
            }
        }
    }
    let mapped = mapped_ports();
    if mapped != ports {
        return Err(format!(
            "nftables maps ports {mapped:?}, running containers publish {ports:?}"
        ));
    }
    // No other chaos port is held: a program may bind it.
    for n in 0..PORTS {
        let port = u16::try_from(8000 + n).unwrap();
        if !ports.contains(&port) && std::net::TcpListener::bind(("0.0.0.0", port)).is_err() {
            return Err(format!("host port {port} is still held"));
        }
    }
    // Each running chaos container answers, and resolves from a sibling.
    let probe = |k: usize| {
        sandboxes
            .iter()
            .find(|s| s.name == format!("probe{k}"))
            .ok_or_else(|| format!("no probe{k}"))
    };
    for s in &sandboxes {
        let Some(c) = chaos.get(&s.name) else {
            continue;
        };
        let page = fetch(c.port);
        if page != PAGE {
            return Err(format!("{} on port {}: {page:?}", c.name, c.port));
        }
        let seen = resolve(probe(c.net)?, &c.name);
        if seen != [c.ip.clone()] {
            return Err(format!("{} resolves to {seen:?}, not {}", c.name, c.ip));
        }
    }
    for name in gone {
        if held.iter().any(|(_, n)| n == name) {
            continue;
        }
        for k in 0..NETWORKS {
            let seen = resolve(probe(k)?, name);
            if !seen.is_empty() {
                return Err(format!("{name}, removed, still resolves to {seen:?}"));
            }
        }
    }
    Ok(())
}

/// Waits (up to 20 s) for the invariant; panics with what differs and
/// netd's last words.
fn converges(w: &World, chaos: &BTreeMap<String, Chaos>, gone: &[String], when: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match check(w, chaos, gone) {
            Ok(()) => return,
            Err(e) if Instant::now() > deadline => {
                let log = w.netd.log();
                let tail: Vec<&str> = log.lines().rev().take(60).collect();
                panic!(
                    "{when}: {e}\nnetd's log, last lines first:\n{}",
                    tail.join("\n")
                );
            }
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// Exit code of a berth command.
fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

#[test]
fn under_netd_crashes_sandboxes_follow_running_containers_exactly() {
    let mut w = World::new();
    let rounds: usize = std::env::var("BERTH_ORPHAN_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(20);
    let mut rng = Rng::seeded();
    let mut chaos: BTreeMap<String, Chaos> = BTreeMap::new();
    let (mut kills, mut failed, mut half_way, mut removed_total) = (0, 0, 0, 0);
    let started = Instant::now();
    for round in 0..rounds {
        let first = round * STEPS;
        // Containers started while netd is killed and restarted; every
        // fourth one removed with `rm -f` two steps later.
        let cli = Cli {
            berth: &w.berth,
            host: w.netd.host(),
        };
        let ((removed, failures), k) = under_chaos(&mut w.netd, &mut rng, || {
            let mut removed = Vec::new();
            let mut failures = (0, 0);
            for n in first..first + STEPS {
                let c = Chaos::nth(n);
                let out = cli.run(&c);
                match code(&out) {
                    0 => {}
                    // Failed while netd was away: expected. Half-way
                    // when netd was reached first.
                    125 => {
                        failures.0 += 1;
                        let err = String::from_utf8_lossy(&out.stderr);
                        if !err.contains("Cannot connect to netd") {
                            failures.1 += 1;
                        }
                    }
                    other => panic!("run {c:?} exited {other}: {out:?}"),
                }
                if n >= first + 2 && (n - 2) % 4 == 0 {
                    let victim = Chaos::nth(n - 2);
                    let out = cli.cmd(&["rm", "-f", &victim.name]);
                    let err = String::from_utf8_lossy(&out.stderr);
                    assert!(
                        out.status.success() || err.contains("No such container"),
                        "rm -f {}: {out:?}",
                        victim.name
                    );
                    removed.push(victim);
                }
            }
            (removed, failures)
        });
        kills += k;
        failed += failures.0;
        half_way += failures.1;
        removed_total += removed.len();
        for n in first..first + STEPS {
            let c = Chaos::nth(n);
            chaos.insert(c.name.clone(), c);
        }
        for r in &removed {
            chaos.remove(&r.name);
        }
        // At once, with netd just back: a new container takes a removed
        // one's name, address and port.
        let mut gone: Vec<String> = removed.iter().map(|r| r.name.clone()).collect();
        if let Some(r) = removed.first() {
            let out = w.cli().run(r);
            assert_eq!(code(&out), 0, "round {round}: {r:?} again: {out:?}");
            chaos.insert(r.name.clone(), r.clone());
            gone.retain(|g| *g != r.name);
        }
        converges(&w, &chaos, &gone, &format!("round {round}"));
        tidy(&w, &mut chaos);
        converges(&w, &chaos, &[], &format!("round {round}, tidied"));
    }
    let log = w.netd.log();
    let said = |what: &str| log.matches(what).count();
    eprintln!(
        "{rounds} rounds in {:.1} s: {kills} netd kills, {failed} runs failed while netd was away ({half_way} half-way), \
         {removed_total} containers removed under chaos; netd removed {} dead sandboxes at start, \
         {} of exited owners, replaced {}",
        started.elapsed().as_secs_f64(),
        said("dead sandbox: removing it"),
        said("removed the sandbox of an exited owner"),
        said("replacing a sandbox whose owner"),
    );
    assert!(kills >= rounds, "netd was killed {kills} times only");
}

/// Tidies up with netd up, as a user would: exited chaos containers go,
/// and the oldest running ones beyond [`KEPT`].
fn tidy(w: &World, chaos: &mut BTreeMap<String, Chaos>) {
    let cli = w.cli();
    let mut running: Vec<usize> = Vec::new();
    for (name, state) in &cli.states() {
        let Some(n) = name.strip_prefix('w').and_then(|n| n.parse().ok()) else {
            continue;
        };
        if state == "running" {
            running.push(n);
        } else {
            cli.ok(&["rm", name]);
            chaos.remove(name);
        }
    }
    running.sort_unstable();
    let excess = running.len().saturating_sub(KEPT);
    for n in &running[..excess] {
        let name = format!("w{n}");
        cli.ok(&["rm", "-f", &name]);
        chaos.remove(&name);
    }
}

/// Sends SIGKILL to each of `pids`.
fn kill_all(pids: impl IntoIterator<Item = i32>) {
    for pid in pids {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

#[test]
fn a_shim_killed_while_netd_is_down_takes_its_sandbox_with_it() {
    let mut w = World::new();
    let [c, kept] = <[Chaos; 2]>::try_from(w.started([1, 2])).unwrap();
    let [shim, _] = w.cli().pids(&c.name);
    w.netd.kill();
    kill_all([shim]);
    w.netd.start_again();
    let mut chaos = BTreeMap::from([(kept.name.clone(), kept.clone())]);
    converges(&w, &chaos, std::slice::from_ref(&c.name), "shim killed");
    assert_eq!(w.cli().states()[&c.name], "exited");
    // Its name, address and port are free at once for a new container.
    w.cli().ok(&["rm", &c.name]);
    assert_eq!(code(&w.cli().run(&c)), 0);
    chaos.insert(c.name.clone(), c.clone());
    converges(&w, &chaos, &[], "name taken again");
}

#[test]
fn a_lost_run_root_leaves_no_sandbox_behind() {
    let mut w = World::new();
    let cs = w.started(1..=3);
    // As after a reboot: every shim and container process gone, and
    // berth's run root (a tmpfs) empty; netd keeps its store, and runs on.
    let names = cs.iter().map(|c| c.name.clone());
    let pids: Vec<i32> = names
        .chain(["probe0".into(), "probe1".into()])
        .flat_map(|n| w.cli().pids(&n))
        .collect();
    kill_all(pids);
    for entry in std::fs::read_dir(&w.berth.runroot).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            std::fs::remove_dir_all(&path).unwrap();
        } else {
            std::fs::remove_file(&path).unwrap();
        }
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match check(&w, &BTreeMap::new(), &[]) {
            Ok(()) => break,
            Err(e) => assert!(Instant::now() < deadline, "run root lost: {e}"),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(w.sandboxes().unwrap().is_empty());
    assert!(w.cli().running().is_empty(), "{:?}", w.cli().states());
    // netd, restarted on its store, agrees.
    w.netd.restart();
    assert!(w.sandboxes().unwrap().is_empty());
}

#[test]
fn a_store_from_before_a_removal_is_set_right_at_start() {
    let mut w = World::new();
    let [removed, kept] = <[Chaos; 2]>::try_from(w.started([1, 2])).unwrap();
    // netd's store as it was while `removed` still ran.
    w.netd.stop();
    let data = w.netd.data_root.display().to_string();
    let backup = format!("{data}.backup");
    tests::run("cp", &["-a", &data, &backup]);
    w.netd.start_again();
    w.cli().ok(&["rm", "-f", &removed.name]);
    w.netd.stop();
    std::fs::remove_dir_all(&data).unwrap();
    tests::run("cp", &["-a", &backup, &data]);
    w.netd.start_again();
    let chaos = BTreeMap::from([(kept.name.clone(), kept.clone())]);
    converges(
        &w,
        &chaos,
        std::slice::from_ref(&removed.name),
        "store restored",
    );
    // The removed one's name, address and port serve a new container.
    assert_eq!(code(&w.cli().run(&removed)), 0);
    let chaos = BTreeMap::from([(kept.name.clone(), kept), (removed.name.clone(), removed)]);
    converges(&w, &chaos, &[], "name taken again");
}
