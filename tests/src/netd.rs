//! A real netd process inside the test host, and the clients tests drive it
//! with: netd's own client, the `docker` CLI, `berth`.

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use netd_api::client::Client;

use crate::TestHost;

/// A built binary of the workspace (`netd`, `berth`), next to the test
/// executable's directory (`target/<profile>/`).
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its own path");
    // Test executables live in target/<profile>/deps, binaries (the
    // benchmark commands) in target/<profile> itself.
    let dir = exe.parent().expect("executables live in a directory");
    let candidates = [
        dir.join(name),
        dir.parent().map(|p| p.join(name)).unwrap_or_default(),
    ];
    let found = candidates.iter().find(|p| p.is_file()).cloned();
    found.unwrap_or_else(|| {
        panic!(
            "{name} is not built next to {}: run the tests through `make test-privileged` (cargo builds the binaries)",
            exe.display()
        )
    })
}

/// A netd daemon with its own state directories, killed when dropped.
#[derive(Debug)]
pub struct Netd {
    child: Option<Child>,
    /// The API socket.
    pub socket: PathBuf,
    /// `--data-root`.
    pub data_root: PathBuf,
    /// `--exec-root`.
    pub exec_root: PathBuf,
    /// The configuration file given (it may not exist).
    pub config: PathBuf,
    log: PathBuf,
    /// Whether host clients reach published ports through DNAT only.
    dnat_only: bool,
}

impl Netd {
    /// Starts netd with state under the host's state directory and the
    /// default socket and exec root (the host's private `/run`).
    pub fn start(host: &TestHost) -> Self {
        Self::started(host, false)
    }

    /// Starts netd as [`Netd::start`] does, without connect-time
    /// translation: the host's own clients reach published ports through
    /// the nftables DNAT, as on a host without eBPF.
    pub fn start_dnat_only(host: &TestHost) -> Self {
        Self::started(host, true)
    }

    fn started(host: &TestHost, dnat_only: bool) -> Self {
        let state = host.dir("netd");
        let mut n = Self {
            child: None,
            socket: PathBuf::from("/run/netd/netd.sock"),
            data_root: state.join("data"),
            exec_root: PathBuf::from("/run/netd"),
            config: state.join("netd.toml"),
            log: state.join("netd.log"),
            dnat_only,
        };
        n.spawn();
        n
    }

    /// `-H` value.
    pub fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("opening netd's log");
        let mut cmd = Command::new(bin("netd"));
        if self.dnat_only {
            cmd.env("NETD_CONNECT_NAT_CGROUP", "none");
        }
        let child = cmd
            .arg("-H")
            .arg(self.host())
            .arg("--data-root")
            .arg(&self.data_root)
            .arg("--exec-root")
            .arg(&self.exec_root)
            .arg("--config-file")
            .arg(&self.config)
            .arg("--log-level")
            .arg("debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("starting netd");
        self.child = Some(child);
        self.wait_ready();
    }

    /// Waits until netd answers `/_ping`; panics with its log if it does not
    /// within 20 s or if it exits.
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let rt = runtime();
        loop {
            if rt.block_on(self.client().ping()).is_ok() {
                return;
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("netd exited with {status} during start:\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "netd did not start in 20 s:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// netd's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A client of this netd.
    pub fn client(&self) -> Client {
        Client::new(&self.host()).expect("the test's host is valid")
    }

    /// netd's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("netd is running").id()
    }

    /// Sends `sig` and waits for the process to end.
    fn signal(&mut self, sig: nix::sys::signal::Signal) {
        if let Some(mut c) = self.child.take() {
            let pid = nix::unistd::Pid::from_raw(i32::try_from(c.id()).expect("pids fit i32"));
            let _ = nix::sys::signal::kill(pid, sig);
            let _ = c.wait();
        }
    }

    /// Stops netd cleanly (SIGTERM).
    pub fn stop(&mut self) {
        self.signal(nix::sys::signal::Signal::SIGTERM);
    }

    /// Kills netd (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        self.signal(nix::sys::signal::Signal::SIGKILL);
    }

    /// Starts netd again on the same state.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// Starts netd again after [`Netd::kill`] or [`Netd::stop`].
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "netd is still running");
        self.spawn();
    }

    /// Runs the `docker` CLI against this netd.
    pub fn docker(&self, args: &[&str]) -> Output {
        Command::new("docker")
            .args(args)
            .env("DOCKER_HOST", self.host())
            .env("DOCKER_CONFIG", "/run/testhost/docker-config")
            .stdin(Stdio::null())
            .output()
            .expect("running docker")
    }

    /// Runs `berth` against this netd.
    pub fn berth(&self, args: &[&str]) -> Output {
        Command::new(bin("berth"))
            .args(args)
            .env("NETD_HOST", self.host())
            .stdin(Stdio::null())
            .output()
            .expect("running berth")
    }
}

impl Drop for Netd {
    fn drop(&mut self) {
        self.kill();
    }
}

/// For the benchmark commands: starts the `netd` next to the running binary
/// with its state under `data_root` (quiet logs) and waits until it
/// answers; the child is the caller's to kill.
pub async fn start_for_bench(data_root: &str) -> Result<(Child, Client), String> {
    start_for_bench_with(data_root, &[]).await
}

/// [`start_for_bench`], with more environment for netd.
pub async fn start_for_bench_with(
    data_root: &str,
    env: &[(&str, &str)],
) -> Result<(Child, Client), String> {
    let child = Command::new(bin("netd"))
        .envs(env.iter().copied())
        .args([
            "--data-root",
            data_root,
            "--config-file",
            "/nonexistent",
            "--log-level",
            "warn",
        ])
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting netd: {e}"))?;
    let client = Client::new(netd_api::client::DEFAULT_HOST).map_err(|e| e.to_string())?;
    let start = Instant::now();
    while client.ping().await.is_err() {
        if start.elapsed() > Duration::from_secs(20) {
            return Err("netd did not start within 20 s".into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok((child, client))
}

/// A small runtime for tests that call the async client from sync code.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

/// Runs `cmd` inside the network namespace bound at `netns`.
pub fn in_netns(netns: &str, cmd: &[&str]) -> Output {
    let ns = format!("--net={netns}");
    let mut args = vec![ns.as_str()];
    args.extend_from_slice(cmd);
    Command::new("nsenter")
        .args(&args)
        .stdin(Stdio::null())
        .output()
        .expect("running nsenter")
}

/// Whether one ping from namespace `netns` to `addr` is answered.
pub fn ping(netns: &str, addr: &str) -> bool {
    in_netns(netns, &["ping", "-c1", "-W1", addr])
        .status
        .success()
}

/// Polls `cond` every 10 ms for up to `secs` seconds; whether it held.
pub fn eventually(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if cond() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits (up to 5 s) until netd has deleted the links it retired (they wait
/// in device group 0x6e657464 for a quiet moment), and says whether it did.
pub fn reaped() -> bool {
    eventually(5, || {
        crate::run("ip", &["-o", "link", "show", "group", "1852142692"])
            .trim()
            .is_empty()
    })
}

/// Standard output of a command that must succeed.
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "command failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Standard error of a command that must fail.
pub fn fails(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "command succeeded but should have failed:\nstdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Port bindings from `(container port/proto, host IP, host port)` triples,
/// as `-p` gives them.
pub fn bindings(pairs: &[(&str, &str, &str)]) -> netd_api::portspec::PortBindings {
    let mut b = netd_api::portspec::PortBindings::new();
    for (key, ip, port) in pairs {
        b.entry((*key).to_owned())
            .or_default()
            .push(netd_api::portspec::PortBinding {
                host_ip: (*ip).to_owned(),
                host_port: (*port).to_owned(),
            });
    }
    b
}
