//! The real dockerd (Debian's `docker.io`), run inside a throwaway host with
//! its own data and exec roots, to use netd through its plugin socket; and a
//! busybox image made locally from `busybox-static` (there is no registry).
//!
//! dockerd runs with `--iptables=false`: with its iptables on, it sets the
//! FORWARD policy of its own table to DROP, which drops the forwarded
//! traffic of every network that is not Docker's own (netd's included),
//! and netd does not edit other programs' tables.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::{TestHost, run};

/// The cgroup parent of the containers, removed when dockerd stops.
const CGROUP_PARENT: &str = "berth-test-docker";

/// A dockerd of the test host; stopped, with its containers removed and
/// its cgroups deleted, when dropped (a panicking test included).
#[derive(Debug)]
pub struct Dockerd {
    child: Option<Child>,
    /// `DOCKER_HOST`.
    pub host: String,
    log: PathBuf,
}

/// Whether dockerd is installed.
pub fn available() -> bool {
    Path::new("/usr/sbin/dockerd").exists()
}

impl Dockerd {
    /// Starts dockerd with state under the test host's state directory and
    /// waits until it answers.
    pub fn start(host: &TestHost) -> Self {
        let state = host.dir("docker");
        // dockerd writes /etc/docker/key.json: keep it in this host.
        std::fs::create_dir_all("/etc/docker").ok();
        run(
            "mount",
            &["-t", "tmpfs", "testhost-docker-etc", "/etc/docker"],
        );
        let log = state.join("dockerd.log");
        let logfile = std::fs::File::create(&log).expect("creating dockerd's log");
        let sock = "/run/testhost/docker.sock";
        let child = Command::new("/usr/sbin/dockerd")
            .args([
                "-H",
                &format!("unix://{sock}"),
                "--data-root",
                &state.join("data").display().to_string(),
                "--exec-root",
                "/run/testhost/docker-exec",
                "--pidfile",
                "/run/testhost/docker.pid",
                "--iptables=false",
                "--ip6tables=false",
                "--ip-forward=false",
                "--bridge=none",
                "--storage-driver=overlay2",
                "--cgroup-parent",
                CGROUP_PARENT,
                "--userland-proxy=false",
            ])
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .stdin(Stdio::null())
            .stdout(logfile.try_clone().expect("log file"))
            .stderr(logfile)
            .spawn()
            .expect("starting dockerd");
        let d = Self {
            child: Some(child),
            host: format!("unix://{sock}"),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !d.docker(&["version"]).status.success() {
            assert!(
                Instant::now() < deadline,
                "dockerd did not start:\n{}",
                d.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        d
    }

    /// dockerd's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Runs the `docker` CLI against this dockerd.
    pub fn docker(&self, args: &[&str]) -> Output {
        Command::new("docker")
            .args(args)
            .env("DOCKER_HOST", &self.host)
            .env("DOCKER_CONFIG", "/run/testhost/docker-cli")
            .output()
            .expect("running docker")
    }

    /// Runs the `docker` CLI and returns its trimmed standard output;
    /// panics with both streams (and dockerd's log) when it fails.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.docker(args);
        assert!(
            out.status.success(),
            "docker {args:?} failed: {}{}\n--- dockerd log ---\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Imports a busybox image named `tag`, made from the host's static
    /// busybox with a link for every applet.
    pub fn import_busybox(&self, host: &TestHost, tag: &str) {
        let tar = busybox_rootfs(host);
        self.ok(&["import", &tar.display().to_string(), tag]);
    }
}

/// A rootfs tarball: `/bin/busybox`, its applets as links, and the
/// directories a container expects.
pub fn busybox_rootfs(host: &TestHost) -> PathBuf {
    let dir = host.dir("busybox-rootfs");
    for d in ["bin", "etc", "tmp", "proc", "sys", "dev", "root", "www"] {
        std::fs::create_dir_all(dir.join(d)).expect("rootfs directory");
    }
    std::fs::copy("/bin/busybox", dir.join("bin/busybox")).expect("copying busybox");
    let list = run("/bin/busybox", &["--list"]);
    for applet in list.lines().filter(|a| !a.is_empty() && *a != "busybox") {
        let _ = std::os::unix::fs::symlink("busybox", dir.join("bin").join(applet));
    }
    std::fs::write(dir.join("www/index.html"), "hello from busybox\n").expect("index");
    let tar = host.dir("images").join("busybox.tar");
    run(
        "tar",
        &[
            "-C",
            &dir.display().to_string(),
            "-cf",
            &tar.display().to_string(),
            ".",
        ],
    );
    tar
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        let ids = String::from_utf8_lossy(&self.docker(&["ps", "-aq"]).stdout).into_owned();
        for id in ids.split_whitespace() {
            let _ = self.docker(&["rm", "-f", id]);
        }
        if let Some(mut child) = self.child.take() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX)),
                nix::sys::signal::Signal::SIGTERM,
            );
            let deadline = Instant::now() + Duration::from_secs(20);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        // The cgroups are the real machine's: leave none behind.
        if let Ok(controllers) = std::fs::read_dir("/sys/fs/cgroup") {
            for c in controllers.flatten() {
                let parent = c.path().join(CGROUP_PARENT);
                if let Ok(children) = std::fs::read_dir(&parent) {
                    for child in children.flatten().filter(|e| e.path().is_dir()) {
                        let _ = std::fs::remove_dir(child.path());
                    }
                }
                let _ = std::fs::remove_dir(&parent);
            }
        }
        let _ = Command::new("umount").arg("/etc/docker").status();
    }
}
