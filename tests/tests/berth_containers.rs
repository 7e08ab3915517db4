//! berth running real containers (runc, a busybox image made from the
//! host's busybox-static) on netd's networks: names resolved between
//! containers, published ports from the host and a LAN neighbour, the
//! `host`, `none` and `container:` modes, Docker's exit codes, stop's
//! signals, logs, exec, and `--rm`/`rm -f` leaving nothing behind.

#![allow(
    clippy::too_many_lines,
    reason = "a test reads as one scenario, top to bottom"
)]
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use tests::TestHost;
use tests::berth::Berth;
use tests::netd::{Netd, eventually, runtime};
use tests::traffic::Remote;

fn code(out: &std::process::Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

/// The test's host, its netd, and berth with the busybox image.
fn setup() -> (TestHost, Netd, Berth) {
    let host = TestHost::enter();
    let netd = Netd::start(&host);
    let berth = Berth::new(&host);
    (host, netd, berth)
}

/// Runs berth against this test's netd.
fn cmd(berth: &Berth, netd: &Netd, args: &[&str]) -> std::process::Output {
    let host = netd.host();
    let mut full = vec!["--netd-host", host.as_str()];
    full.extend_from_slice(args);
    berth.cmd(&full)
}

/// Runs berth against this test's netd; its trimmed stdout, and a panic
/// when it fails.
fn ok(berth: &Berth, netd: &Netd, args: &[&str]) -> String {
    let out = cmd(berth, netd, args);
    assert!(out.status.success(), "{args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The names in directory `dir`, sorted (none when it is missing).
fn entries(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn mounts() -> String {
    std::fs::read_to_string("/proc/self/mountinfo").unwrap()
}

#[test]
fn containers_reach_each_other_by_name_and_publish_ports() {
    let (host, netd, berth) = setup();
    let b = |args: &[&str]| ok(&berth, &netd, args);
    b(&["network", "create", "n1"]);
    b(&[
        "run",
        "-d",
        "--name",
        "web",
        "--network",
        "n1",
        "--network-alias",
        "www",
        "-p",
        "8080:80",
        "busybox",
        "httpd",
        "-f",
        "-p",
        "80",
        "-h",
        "/www",
    ]);
    b(&[
        "run",
        "-d",
        "--name",
        "peer",
        "--network",
        "n1",
        "busybox",
        "sleep",
        "600",
    ]);
    // By name, by alias, over HTTP.
    b(&["exec", "peer", "ping", "-c", "1", "-W", "3", "web"]);
    let page = b(&[
        "run",
        "--rm",
        "--network",
        "n1",
        "busybox",
        "wget",
        "-q",
        "-O",
        "-",
        "http://www/",
    ]);
    assert_eq!(page, "hello from busybox");
    // The published port from a LAN neighbour and from the host.
    let remote = Remote::new();
    let curl = |ns: Option<&str>, url: &str| {
        let mut c = match ns {
            Some(ns) => {
                let mut c = std::process::Command::new("ip");
                c.args(["netns", "exec", ns, "curl"]);
                c
            }
            None => std::process::Command::new("curl"),
        };
        let out = c.args(["-s", "--max-time", "2", url]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let url = format!("http://{}:8080/", remote.host_ip);
    // A fresh veth to the neighbour takes a moment to carry traffic.
    assert!(
        eventually(15, || curl(Some("remote"), &url) == "hello from busybox"),
        "the published port from a LAN neighbour"
    );
    // From the host, through the same fresh link's address (a first SYN
    // can go unanswered while a loaded host settles it: retried, as a
    // client would).
    assert!(
        eventually(10, || curl(None, &url) == "hello from busybox"),
        "the published port from the host"
    );
    let ports = b(&["port", "web"]);
    assert!(ports.contains("80/tcp -> 0.0.0.0:8080"), "{ports}");
    let ps = b(&["ps", "--format", "{{.Names}} {{.Ports}}"]);
    assert!(ps.contains("web 0.0.0.0:8080->80/tcp"), "{ps}");
    // exec runs in the container's namespaces.
    let hostname = b(&["exec", "web", "hostname"]);
    let id = b(&["inspect", "-f", "{{.Id}}", "web"]);
    assert_eq!(hostname, id[..12]);
    let ip = b(&[
        "inspect",
        "-f",
        "{{.NetworkSettings.Networks.n1.IPAddress}}",
        "web",
    ]);
    let seen = b(&["exec", "web", "ip", "-4", "-o", "addr", "show", "eth0"]);
    assert!(seen.contains(&ip), "{seen} has {ip}");
    // rm -f of both leaves no sandbox, mount, veth or cgroup.
    b(&["rm", "-f", "web", "peer"]);
    assert!(!mounts().contains("/containers/"), "{}", mounts());
    let rt = runtime();
    assert!(rt.block_on(netd.client().sandboxes()).unwrap().is_empty());
    assert!(berth.cgroups().is_empty(), "{:?}", berth.cgroups());
    assert!(
        eventually(30, || !host.links().iter().any(|l| l.starts_with("veth"))),
        "{:?}",
        host.links()
    );
    assert!(curl(Some("remote"), &url).is_empty(), "unpublished");
}

#[test]
fn host_none_and_container_network_modes_behave_as_dockers() {
    let (_host, netd, berth) = setup();
    let b = |args: &[&str]| ok(&berth, &netd, args);
    let none = b(&[
        "run",
        "--rm",
        "--network",
        "none",
        "busybox",
        "ip",
        "-o",
        "link",
    ]);
    assert_eq!(none.lines().count(), 1, "loopback only: {none}");
    assert!(none.contains("lo:"));
    // No network: no sandbox in netd, the files written by berth, a
    // namespace others can join, and no network to connect it to.
    b(&[
        "run",
        "-d",
        "--name",
        "quiet",
        "--network",
        "none",
        "--add-host",
        "db:10.9.9.9",
        "busybox",
        "sleep",
        "600",
    ]);
    let quiet = b(&["inspect", "-f", "{{.Id}}", "quiet"]);
    let sandboxes: Vec<String> = std::fs::read_dir("/run/netd/netns")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert!(!sandboxes.contains(&quiet), "{sandboxes:?}");
    let hosts = b(&["exec", "quiet", "cat", "/etc/hosts"]);
    assert!(hosts.starts_with("127.0.0.1\tlocalhost"), "{hosts}");
    assert!(hosts.contains("10.9.9.9\tdb"), "{hosts}");
    assert!(
        b(&["exec", "quiet", "ping", "-c", "1", "-W", "2", "127.0.0.1"])
            .contains("1 packets received")
    );
    // exec -u: numbers as they are, names looked up in the container's own
    // files (this image has no /etc/passwd), as Docker does.
    assert_eq!(
        b(&["exec", "-u", "1000:1001", "quiet", "id"]),
        "uid=1000 gid=1001 groups=1001"
    );
    let out = cmd(&berth, &netd, &["exec", "-u", "nobody", "quiet", "id"]);
    assert_eq!(code(&out), 126, "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("unable to find user nobody: no matching entries in passwd file"),
        "{out:?}"
    );
    let joined = b(&[
        "run",
        "--rm",
        "--network",
        "container:quiet",
        "busybox",
        "ip",
        "-o",
        "link",
    ]);
    assert_eq!(joined.lines().count(), 1, "loopback only: {joined}");
    let refused = cmd(&berth, &netd, &["network", "connect", "bridge", "quiet"]);
    assert_eq!(code(&refused), 1, "{refused:?}");
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains(
            "container cannot be connected to multiple networks with one of the networks in private (none) mode"
        ),
        "{refused:?}"
    );
    b(&["rm", "-f", "quiet"]);
    let _remote = Remote::new();
    let hostnet = b(&[
        "run",
        "--rm",
        "--network",
        "host",
        "busybox",
        "ip",
        "-o",
        "link",
    ]);
    assert!(hostnet.contains("uplink0"), "the host's links: {hostnet}");
    b(&["run", "-d", "--name", "base", "busybox", "sleep", "600"]);
    // (Where the check above looked: a container on a network has its
    // namespace there.)
    let base = b(&["inspect", "-f", "{{.Id}}", "base"]);
    assert!(std::path::Path::new("/run/netd/netns").join(&base).exists());
    let base_ip = b(&[
        "inspect",
        "-f",
        "{{.NetworkSettings.Networks.bridge.IPAddress}}",
        "base",
    ]);
    let shared = b(&[
        "run",
        "--rm",
        "--network",
        "container:base",
        "busybox",
        "ip",
        "-4",
        "-o",
        "addr",
    ]);
    assert!(shared.contains(&base_ip), "{shared} shares {base_ip}");
}

#[test]
fn a_shim_executed_afresh_runs_its_container_as_a_forked_one_does() {
    let (_host, netd, berth) = setup();
    let host = netd.host();
    let run = |exec: bool, args: &[&str]| {
        let mut full = vec!["--netd-host", host.as_str()];
        full.extend_from_slice(args);
        let mut c = berth.command(&full);
        if exec {
            c.env("BERTH_SHIM_EXEC", "1");
        }
        let out = c.output().unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    for exec in [true, false] {
        let id = run(exec, &["run", "-d", "busybox", "sleep", "600"]);
        let pid = std::fs::read_to_string(format!("/run/berth/containers/{id}/shim.pid")).unwrap();
        let cmdline = std::fs::read(format!("/proc/{}/cmdline", pid.trim())).unwrap();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        assert_eq!(cmdline.contains(&format!("shim {id}")), exec, "{cmdline}");
        let comm = std::fs::read_to_string(format!("/proc/{}/comm", pid.trim())).unwrap();
        assert_eq!(comm.trim(), if exec { "berth" } else { "berth-shim" });
        // Attached, through the socket pair either way.
        let out = run(exec, &["run", "--rm", "busybox", "echo", "attached"]);
        assert_eq!(out, "attached");
        run(exec, &["rm", "-f", &id]);
    }
    assert!(berth.cgroups().is_empty(), "{:?}", berth.cgroups());
}

/// Runs an attached berth command whose container prints `ready` once its
/// trap is set, sends `sig` to berth, and returns berth's exit code and
/// what the container printed after `ready`.
fn relays_signal(
    mut command: std::process::Command,
    sig: nix::sys::signal::Signal,
) -> (Option<i32>, String) {
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut first).unwrap();
    assert_eq!(first, "ready\n");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap()),
        sig,
    )
    .unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    (child.wait().unwrap().code(), rest)
}

/// Whether `path` is a read-only mount showing the file `of`.
fn readonly_view_of(path: &std::path::Path, of: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let (Ok(v), Ok(b)) = (std::fs::metadata(path), std::fs::metadata(of)) else {
        return false;
    };
    (v.dev(), v.ino()) == (b.dev(), b.ino())
        && nix::sys::statvfs::statvfs(path)
            .is_ok_and(|s| s.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY))
}

#[test]
fn crun_runs_from_a_read_only_view_of_its_binary() {
    let Some(crun) = tests::berth::crun() else {
        eprintln!("crun is not installed: nothing to check");
        return;
    };
    let (host, netd, berth) = setup();
    tests::berth::let_crun_run(&host);
    // A copy of crun that the test can replace, as an upgrade would.
    let bin = host.dir("bin").join("crun");
    std::fs::copy(&crun, &bin).unwrap();
    let rt = bin.display().to_string();
    let b = |args: &[&str]| {
        let mut all = vec!["--runtime", rt.as_str()];
        all.extend_from_slice(args);
        ok(&berth, &netd, &all)
    };
    assert_eq!(
        b(&["run", "--rm", "--network", "none", "busybox", "echo", "hi"]),
        "hi"
    );
    let view = berth.runroot.join("runtime-bin/crun");
    assert!(
        readonly_view_of(&view, &bin),
        "{} is no read-only view",
        view.display()
    );
    // The runtime cannot be written through its view.
    assert!(std::fs::OpenOptions::new().write(true).open(&view).is_err());
    // Replaced (a new file at the same path), the next start shows the new one.
    std::fs::remove_file(&bin).unwrap();
    std::fs::copy(&crun, &bin).unwrap();
    assert!(!readonly_view_of(&view, &bin));
    b(&[
        "run",
        "-d",
        "--name",
        "on-crun",
        "--network",
        "none",
        "busybox",
        "sleep",
        "600",
    ]);
    assert!(readonly_view_of(&view, &bin), "the view follows the binary");
    // The other runtime operations go through it too.
    assert_eq!(b(&["exec", "on-crun", "echo", "in"]), "in");
    b(&["rm", "-f", "on-crun"]);
    assert!(berth.cgroups().is_empty(), "{:?}", berth.cgroups());
}

#[test]
fn a_taken_name_calls_the_start_off_and_leaves_nothing() {
    let (_host, netd, berth) = setup();
    let b = |args: &[&str]| ok(&berth, &netd, args);
    let id = b(&["run", "-d", "--name", "taken", "busybox", "sleep", "600"]);
    let stored = entries(&berth.root.join("containers"));
    let running = entries(&berth.runroot.join("containers"));
    let before = mounts();
    // The second container's shim prepares while the name is checked: on
    // a bridge, on no network, attached or not, it is called off cleanly.
    for args in [
        &["run", "--name", "taken", "busybox", "true"][..],
        &[
            "run",
            "-d",
            "--name",
            "taken",
            "--network",
            "none",
            "busybox",
            "true",
        ],
    ] {
        let out = cmd(&berth, &netd, args);
        assert_eq!(code(&out), 125, "{out:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr).trim(),
            format!(
                "berth: Error response from daemon: Conflict. The container name \"/taken\" is already in use by container \"{id}\". You have to remove (or rename) that container to be able to reuse that name.\nSee 'berth run --help'."
            )
        );
        assert!(out.stdout.is_empty());
        assert_eq!(entries(&berth.root.join("containers")), stored);
        assert_eq!(entries(&berth.runroot.join("containers")), running);
        assert_eq!(mounts(), before);
    }
    b(&["rm", "-f", "taken"]);
    assert!(berth.cgroups().is_empty(), "{:?}", berth.cgroups());
}

#[test]
fn a_container_keeps_the_runtime_it_was_created_with() {
    let (_host, netd, berth) = setup();
    let b = |args: &[&str]| ok(&berth, &netd, args);
    b(&["run", "-d", "--name", "kept", "busybox", "sleep", "600"]);
    let runtime = b(&["inspect", "-f", "{{.HostConfig.Runtime}}", "kept"]);
    assert!(runtime.ends_with("/runc"), "{runtime}");
    // Another --runtime later (here one that would fail everything) does
    // not change whose container it is.
    assert_eq!(
        b(&["--runtime", "/bin/false", "exec", "kept", "echo", "still"]),
        "still"
    );
    b(&["--runtime", "/bin/false", "pause", "kept"]);
    b(&["--runtime", "/bin/false", "unpause", "kept"]);
    b(&["--runtime", "/bin/false", "stop", "-t", "1", "kept"]);
    assert_eq!(b(&["inspect", "-f", "{{.State.Status}}", "kept"]), "exited");
    b(&["rm", "kept"]);
    assert!(berth.cgroups().is_empty(), "{:?}", berth.cgroups());
}

#[test]
fn exit_codes_stop_signals_logs_and_rm_follow_docker() {
    let (_host, netd, berth) = setup();
    let cmd = |args: &[&str]| cmd(&berth, &netd, args);
    let b = |args: &[&str]| ok(&berth, &netd, args);
    // The container's code; 127 not found; 126 not executable; 125 engine.
    let out = cmd(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 3",
    ]);
    assert_eq!(code(&out), 3);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "out\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "err\n");
    assert_eq!(
        code(&cmd(&["run", "--rm", "busybox", "no-such-program"])),
        127
    );
    assert_eq!(code(&cmd(&["run", "--rm", "busybox", "/etc"])), 126);
    assert_eq!(code(&cmd(&["run", "--rm", "no-such-image"])), 125);
    assert_eq!(code(&cmd(&["run", "--rm", "--bogus-flag", "busybox"])), 125);
    // stop: SIGTERM first (a trap sees it and picks the code)…
    b(&[
        "run",
        "-d",
        "--name",
        "trap",
        "busybox",
        "sh",
        "-c",
        "trap 'exit 42' TERM; while true; do sleep 0.1; done",
    ]);
    b(&["stop", "trap"]);
    assert_eq!(b(&["inspect", "-f", "{{.State.ExitCode}}", "trap"]), "42");
    // …then SIGKILL after the timeout (PID 1 ignores SIGTERM by default).
    b(&["run", "-d", "--name", "stubborn", "busybox", "sleep", "600"]);
    let t = Instant::now();
    b(&["stop", "-t", "1", "stubborn"]);
    assert!(
        t.elapsed() >= Duration::from_millis(900),
        "waited the timeout"
    );
    assert_eq!(
        b(&["inspect", "-f", "{{.State.ExitCode}}", "stubborn"]),
        "137"
    );
    let ps = b(&["ps", "-a", "--format", "{{.Names}}: {{.Status}}"]);
    assert!(ps.contains("stubborn: Exited (137)"), "{ps}");
    // A foreground run forwards the signals it gets to the container.
    let trap = |sig: &str, code: u8| {
        format!("trap 'echo got; exit {code}' {sig}; echo ready; while true; do sleep 0.1; done")
    };
    let int = trap("INT", 9);
    let fg = berth.command(&[
        "--netd-host",
        &netd.host(),
        "run",
        "--name",
        "fg",
        "busybox",
        "sh",
        "-c",
        &int,
    ]);
    assert_eq!(
        relays_signal(fg, nix::sys::signal::Signal::SIGINT),
        (Some(9), "got\n".to_owned())
    );
    // So does `start -a`, as docker's.
    b(&[
        "create",
        "--name",
        "fg2",
        "busybox",
        "sh",
        "-c",
        &trap("TERM", 8),
    ]);
    let fg2 = berth.command(&["--netd-host", &netd.host(), "start", "-a", "fg2"]);
    assert_eq!(
        relays_signal(fg2, nix::sys::signal::Signal::SIGTERM),
        (Some(8), "got\n".to_owned())
    );
    // logs -f follows until the container ends.
    b(&[
        "run",
        "-d",
        "--name",
        "talker",
        "busybox",
        "sh",
        "-c",
        "for i in 1 2 3; do echo line$i; sleep 0.2; done; echo bye >&2",
    ]);
    let out = cmd(&["logs", "-f", "talker"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "line1\nline2\nline3\n"
    );
    assert_eq!(String::from_utf8_lossy(&out.stderr), "bye\n");
    let tail = cmd(&["logs", "--tail", "2", "talker"]);
    assert_eq!(String::from_utf8_lossy(&tail.stdout), "line3\n");
    assert_eq!(String::from_utf8_lossy(&tail.stderr), "bye\n");
    assert_eq!(b(&["wait", "talker"]), "0");
    // inspect takes images too, as Docker's.
    assert_eq!(
        b(&["inspect", "-f", "{{index .RepoTags 0}}", "busybox"]),
        "busybox:latest"
    );
    assert_eq!(
        code(&cmd(&["inspect", "--type", "container", "busybox"])),
        1
    );
    // rm refuses a running container; rm -f does it; --rm leaves nothing.
    b(&["run", "-d", "--name", "busy", "busybox", "sleep", "600"]);
    let out = cmd(&["rm", "busy"]);
    assert_eq!(code(&out), 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("container is running"));
    b(&[
        "rm", "-f", "busy", "trap", "stubborn", "talker", "fg", "fg2",
    ]);
    assert_eq!(b(&["ps", "-aq"]), "");
    b(&["run", "--rm", "--name", "gone", "busybox", "true"]);
    assert_eq!(b(&["ps", "-aq"]), "");
    // An --rm container's root is volatile (its unmount syncs nothing that
    // goes with it anyway); a kept container's is not.
    let root_of = |rm: &[&str]| {
        let mut args = vec!["run"];
        args.extend_from_slice(rm);
        args.extend_from_slice(&["busybox", "grep", " / / ", "/proc/self/mountinfo"]);
        b(&args)
    };
    let transient = root_of(&["--rm"]);
    assert!(transient.contains("volatile"), "{transient}");
    let kept = root_of(&["--name", "kept-root"]);
    assert!(
        kept.contains(" - overlay ") && !kept.contains("volatile"),
        "{kept}"
    );
    b(&["rm", "kept-root"]);
    assert_eq!(b(&["ps", "-aq"]), "");
    assert!(!mounts().contains("/containers/"), "{}", mounts());
    assert!(berth.cgroups().is_empty(), "{:?}", berth.cgroups());
    let rt = runtime();
    assert!(rt.block_on(netd.client().sandboxes()).unwrap().is_empty());
}

/// berth run on a pseudo-terminal: the child, the terminal's master side
/// to type into, and what berth wrote there, read as it comes.
struct OnPty {
    child: std::process::Child,
    master: std::fs::File,
    rx: std::sync::mpsc::Receiver<Vec<u8>>,
    seen: Vec<u8>,
}

impl OnPty {
    fn spawn(berth: &Berth, netd: &Netd, args: &[&str]) -> Self {
        use std::io::Read;
        let pty = nix::pty::openpty(None, None).unwrap();
        let slave = std::fs::File::from(pty.slave);
        let host = netd.host();
        let mut full = vec!["--netd-host", host.as_str()];
        full.extend_from_slice(args);
        let child = berth
            .command(&full)
            .stdin(slave.try_clone().unwrap())
            .stdout(slave.try_clone().unwrap())
            .stderr(slave)
            .spawn()
            .unwrap();
        let master = std::fs::File::from(pty.master);
        let mut reader = master.try_clone().unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            master,
            rx,
            seen: Vec::new(),
        }
    }

    /// Reads until `want` shows up, the terminal closes, or 15 s pass.
    fn until(&mut self, want: &str) -> bool {
        let deadline = Instant::now() + Duration::from_secs(15);
        while !self.text().contains(want) && Instant::now() < deadline {
            match self.rx.recv_timeout(Duration::from_millis(100)) {
                Ok(chunk) => self.seen.extend(chunk),
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        self.text().contains(want)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.seen).into_owned()
    }

    fn type_in(&mut self, keys: &[u8]) {
        std::io::Write::write_all(&mut self.master, keys).unwrap();
    }
}

#[test]
fn run_it_drives_a_shell_through_a_real_pseudo_terminal() {
    let (_host, netd, berth) = setup();
    let mut pty = OnPty::spawn(
        &berth,
        &netd,
        &["run", "-it", "--rm", "--network", "none", "busybox", "sh"],
    );
    // Type once the shell prompts, as a person would (a shell drops what
    // was typed before it set its terminal up).
    assert!(pty.until("# "), "no prompt: {}", pty.text());
    pty.type_in(b"tty; echo hi-$((1+2)); exit 5\r");
    pty.until("hi-3");
    let status = pty.child.wait().unwrap();
    let text = pty.text();
    assert!(
        text.contains("/dev/pts/0"),
        "the shell has a terminal: {text}"
    );
    assert_eq!(status.code(), Some(5), "{text}");
    assert!(text.contains("hi-3"), "{text}");
}

#[test]
fn detach_keys_leave_the_container_running() {
    let (_host, netd, berth) = setup();
    let b = |args: &[&str]| ok(&berth, &netd, args);
    let mut pty = OnPty::spawn(
        &berth,
        &netd,
        &[
            "run",
            "-it",
            "--name",
            "detachable",
            "--network",
            "none",
            "busybox",
            "sh",
        ],
    );
    assert!(pty.until("# "), "no prompt: {}", pty.text());
    // Docker's default: ctrl-p, ctrl-q.
    pty.type_in(b"\x10\x11");
    let status = pty.child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{}", pty.text());
    assert_eq!(
        b(&["inspect", "-f", "{{.State.Running}}", "detachable"]),
        "true"
    );
    // Attached again, with keys of its own.
    let mut pty = OnPty::spawn(
        &berth,
        &netd,
        &["attach", "--detach-keys", "ctrl-a,x", "detachable"],
    );
    pty.type_in(b"echo still-$((40+2))\r");
    assert!(pty.until("still-42"), "{}", pty.text());
    pty.type_in(b"\x01x");
    let status = pty.child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{}", pty.text());
    assert_eq!(
        b(&["inspect", "-f", "{{.State.Running}}", "detachable"]),
        "true"
    );
    // A bad sequence is refused before anything is made.
    let before = b(&["ps", "-aq"]);
    let out = cmd(
        &berth,
        &netd,
        &["run", "-it", "--detach-keys", "ctrl-1", "busybox", "true"],
    );
    assert_eq!(code(&out), 125, "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Invalid detach keys (ctrl-1) provided"),
        "{out:?}"
    );
    assert_eq!(b(&["ps", "-aq"]), before);
    b(&["rm", "-f", "detachable"]);
}

#[test]
fn limits_read_only_roots_and_volumes_work() {
    let (host, netd, berth) = setup();
    let cmd = |args: &[&str]| cmd(&berth, &netd, args);
    let b = |args: &[&str]| ok(&berth, &netd, args);
    // --memory: a process that takes more is OOM-killed (137, OOMKilled).
    let out = cmd(&[
        "run",
        "--name",
        "hog",
        "--network",
        "none",
        "--memory",
        "16m",
        "--memory-swap",
        "16m",
        "busybox",
        "dd",
        "if=/dev/zero",
        "of=/dev/null",
        "bs=128M",
        "count=1",
    ]);
    assert_eq!(code(&out), 137, "{out:?}");
    assert_eq!(
        b(&[
            "inspect",
            "-f",
            "{{.State.OOMKilled}} {{.HostConfig.Memory}}",
            "hog"
        ]),
        "true 16777216"
    );
    // --pids-limit stops a fork bomb.
    let out = cmd(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--pids-limit",
        "8",
        "busybox",
        "sh",
        "-c",
        "i=0; while [ $i -lt 30 ]; do sleep 2 & i=$((i+1)); done; echo forked",
    ]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("can't fork"), "{text}");
    // --read-only refuses writes, but a --tmpfs stays writable.
    let out = cmd(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--read-only",
        "--tmpfs",
        "/scratch",
        "busybox",
        "sh",
        "-c",
        "touch /scratch/ok && touch /nope",
    ]);
    assert_eq!(code(&out), 1);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Read-only file system"),
        "{out:?}"
    );
    // -v: a named volume and a bind outlive the container.
    let dir = host.dir("bind-src");
    let bind = format!("{}:/h", dir.display());
    b(&[
        "run",
        "--name",
        "writer",
        "--network",
        "none",
        "-v",
        "data:/data",
        "-v",
        &bind,
        "busybox",
        "sh",
        "-c",
        "echo kept > /data/f; echo bound > /h/g",
    ]);
    b(&["rm", "writer"]);
    assert_eq!(std::fs::read_to_string(dir.join("g")).unwrap(), "bound\n");
    let again = b(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        "data:/data",
        "busybox",
        "cat",
        "/data/f",
    ]);
    assert_eq!(again, "kept");
    // --rm takes the container's anonymous volumes with it, not named ones.
    b(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        "/anon",
        "busybox",
        "true",
    ]);
    assert_eq!(b(&["volume", "ls", "-q"]), "data");
    // --init: tini is PID 1 and the command its child.
    let ps = b(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--init",
        "busybox",
        "ps",
        "-o",
        "pid,args",
    ]);
    assert!(
        ps.lines()
            .any(|l| l.trim_start().starts_with("1 /sbin/docker-init -- ps")),
        "{ps}"
    );
    let out = cmd(&["run", "--rm", "--memory", "lots", "busybox", "true"]);
    assert_eq!(code(&out), 125, "bad flag value: {out:?}");
}

#[test]
fn containers_keep_running_when_netd_restarts() {
    let (_host, mut netd, berth) = setup();
    ok(&berth, &netd, &["network", "create", "n1"]);
    ok(
        &berth,
        &netd,
        &[
            "run",
            "-d",
            "--name",
            "web",
            "--network",
            "n1",
            "busybox",
            "httpd",
            "-f",
            "-p",
            "80",
            "-h",
            "/www",
        ],
    );
    netd.restart();
    let ps = ok(&berth, &netd, &["ps", "--format", "{{.Names}} {{.State}}"]);
    assert_eq!(ps, "web running");
    // Still reachable by name from a container started after the restart.
    let page = ok(
        &berth,
        &netd,
        &[
            "run",
            "--rm",
            "--network",
            "n1",
            "busybox",
            "wget",
            "-q",
            "-O",
            "-",
            "http://web/",
        ],
    );
    assert_eq!(page, "hello from busybox");
    ok(&berth, &netd, &["rm", "-f", "web"]);
}

#[test]
fn a_crashed_shim_is_reported_and_its_container_cleaned_up() {
    let (_host, netd, berth) = setup();
    let id = ok(
        &berth,
        &netd,
        &["run", "-d", "--name", "orphan", "busybox", "sleep", "600"],
    );
    let pid_file = berth.runroot.join("containers").join(&id).join("shim.pid");
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    assert!(
        eventually(5, || ok(
            &berth,
            &netd,
            &["ps", "-a", "--format", "{{.Status}}"]
        )
        .starts_with("Exited (255)")),
        "the container of a dead shim is reported exited"
    );
    // rm cleans what the shim could not, and the name is free again.
    ok(&berth, &netd, &["rm", "orphan"]);
    assert!(!mounts().contains("/containers/"), "{}", mounts());
    assert!(berth.cgroups().is_empty(), "{:?}", berth.cgroups());
    let rt = runtime();
    assert!(rt.block_on(netd.client().sandboxes()).unwrap().is_empty());
    ok(
        &berth,
        &netd,
        &[
            "run",
            "--rm",
            "--name",
            "orphan",
            "--network",
            "none",
            "busybox",
            "true",
        ],
    );
}

#[test]
fn restart_policies_run_the_container_again_as_dockers() {
    let (_host, netd, berth) = setup();
    let b = |args: &[&str]| ok(&berth, &netd, args);
    let state = |name: &str| {
        b(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}",
            name,
        ])
    };
    // on-failure:2: run once, restarted twice, then left exited.
    b(&[
        "run",
        "-d",
        "--restart",
        "on-failure:2",
        "--name",
        "flaky",
        "busybox",
        "sh",
        "-c",
        "echo run; exit 3",
    ]);
    assert!(
        eventually(10, || state("flaky") == "exited 3 2"),
        "{}",
        state("flaky")
    );
    // Each run's output is in the one log.
    assert_eq!(b(&["logs", "flaky"]), "run\nrun\nrun");
    // A success is not restarted by on-failure.
    b(&[
        "run",
        "-d",
        "--restart",
        "on-failure",
        "--name",
        "fine",
        "busybox",
        "true",
    ]);
    assert!(
        eventually(10, || state("fine") == "exited 0 0"),
        "{}",
        state("fine")
    );
    // always: restarted after each exit, until stopped.
    b(&[
        "run",
        "-d",
        "--restart",
        "always",
        "--name",
        "again",
        "busybox",
        "sh",
        "-c",
        "sleep 0.2",
    ]);
    // Restarted at least twice (the count may move on between looks).
    let restarts = |name: &str| {
        state(name)
            .rsplit(' ')
            .next()
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(0)
    };
    assert!(
        eventually(10, || restarts("again") >= 2),
        "{}",
        state("again")
    );
    b(&["stop", "-t", "1", "again"]);
    let stopped = state("again");
    assert!(stopped.starts_with("exited "), "{stopped}");
    // Stopped means stopped: no later restart.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(state("again"), stopped);
    // Once `run -d` returned, a process that ended at once is running or
    // exited, never still "created", and `wait` gives its code.
    for _ in 0..5 {
        let quick = b(&["run", "-d", "busybox", "sh", "-c", "exit 3"]);
        let status = b(&["inspect", "-f", "{{.State.Status}}", &quick]);
        assert!(status == "running" || status == "exited", "{status}");
        assert_eq!(b(&["wait", &quick]), "3");
        b(&["rm", &quick]);
    }
    b(&["rm", "flaky", "fine", "again"]);
    assert!(berth.cgroups().is_empty(), "{:?}", berth.cgroups());
}

/// Capabilities that the hosts of the capability tests lack, by number and
/// name: `CAP_SYS_RESOURCE`, as on this project's VMs, and `CAP_SYS_TIME`.
const LACKING: [(u32, &str); 2] = [(24, "CAP_SYS_RESOURCE"), (25, "CAP_SYS_TIME")];
/// `CAP_NET_RAW`.
const NET_RAW: u32 = 13;

/// A test host whose bounding set lacks [`LACKING`] before netd and berth
/// start: their processes, the runtime's and the containers' lack them too.
fn setup_lacking_capabilities() -> (TestHost, Netd, Berth) {
    let host = TestHost::enter();
    for (cap, _) in LACKING {
        host.drop_capability(cap);
    }
    let netd = Netd::start(&host);
    let berth = Berth::new(&host);
    (host, netd, berth)
}

/// On a host lacking capabilities, with `runtime`: `--privileged` and
/// `--cap-add ALL` give every capability the host holds and no other
/// (`--cap-drop` still taking its own away), `inspect` shows what was asked,
/// and asking for a capability the host lacks is refused by name before
/// anything is made.
fn containers_get_only_what_the_host_holds(runtime: &str) {
    let (host, netd, berth) = setup_lacking_capabilities();
    if runtime == "crun" {
        tests::berth::let_crun_run(&host);
    }
    let with_runtime = |args: &[&str]| -> Vec<String> {
        ["--runtime", runtime]
            .iter()
            .chain(args)
            .map(|a| (*a).to_owned())
            .collect()
    };
    let b = |args: &[&str]| {
        let all = with_runtime(args);
        ok(
            &berth,
            &netd,
            &all.iter().map(String::as_str).collect::<Vec<_>>(),
        )
    };
    let bounding = host.bounding_set();
    for (cap, name) in LACKING {
        assert_eq!(bounding & (1 << cap), 0, "the host still has {name}");
    }
    // The bounding and effective sets of a container's process.
    let sets = |flags: &[&str]| {
        let mut args = vec!["run", "--rm"];
        args.extend_from_slice(flags);
        args.extend(["busybox", "cat", "/proc/self/status"]);
        let status = b(&args);
        (
            tests::capability_set(&status, "CapBnd"),
            tests::capability_set(&status, "CapEff"),
        )
    };
    assert_eq!(sets(&["--privileged"]), (bounding, bounding));
    let without_net_raw = bounding & !(1 << NET_RAW);
    assert_eq!(
        sets(&["--cap-add", "ALL", "--cap-drop", "NET_RAW"]),
        (without_net_raw, without_net_raw)
    );
    // `exec --privileged` gives the process the host's whole set too, in a
    // container that has only Docker's defaults.
    b(&["run", "-d", "--name", "plain", "busybox", "sleep", "60"]);
    let status = b(&["exec", "--privileged", "plain", "cat", "/proc/self/status"]);
    assert_eq!(tests::capability_set(&status, "CapEff"), bounding);
    b(&["rm", "-f", "plain"]);
    // inspect shows what was asked, not what was given.
    b(&[
        "create",
        "--name",
        "asked",
        "--privileged",
        "--cap-add",
        "ALL",
        "--cap-drop",
        "net_raw",
        "busybox",
        "true",
    ]);
    assert_eq!(
        b(&[
            "inspect",
            "-f",
            "{{.HostConfig.Privileged}} {{json .HostConfig.CapAdd}} {{json .HostConfig.CapDrop}}",
            "asked",
        ]),
        r#"true ["ALL"] ["net_raw"]"#
    );
    b(&["rm", "asked"]);

    // A capability the host lacks, asked for: refused with its name, and
    // nothing made (no record, no state, no sandbox, no mount).
    let sandboxes = || sandbox_names(&netd);
    let before = (
        entries(&berth.root.join("containers")),
        entries(&berth.runroot.join("containers")),
        mounts(),
        sandboxes(),
    );
    for (args, name, command) in [
        (
            &[
                "run",
                "--rm",
                "--cap-add",
                "SYS_RESOURCE",
                "busybox",
                "true",
            ][..],
            "CAP_SYS_RESOURCE",
            "run",
        ),
        (
            &[
                "run",
                "-d",
                "--privileged",
                "--cap-add",
                "sys_time",
                "busybox",
                "sleep",
                "600",
            ],
            "CAP_SYS_TIME",
            "run",
        ),
        (
            &["create", "--cap-add", "cap_sys_resource", "busybox", "true"],
            "CAP_SYS_RESOURCE",
            "create",
        ),
    ] {
        let all = with_runtime(args);
        let out = cmd(
            &berth,
            &netd,
            &all.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        assert_eq!(code(&out), 125, "{args:?}: {out:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr).trim(),
            format!(
                "berth: Error response from daemon: invalid CapAdd: capability not supported by your kernel or not available in the current environment: \"{name}\".\nSee 'berth {command} --help'."
            )
        );
        assert!(out.stdout.is_empty(), "{out:?}");
        let after = (
            entries(&berth.root.join("containers")),
            entries(&berth.runroot.join("containers")),
            mounts(),
            sandboxes(),
        );
        assert_eq!(after, before, "{args:?} left something behind");
    }
    assert_eq!(b(&["ps", "-aq"]), "");
    assert!(berth.cgroups().is_empty(), "{:?}", berth.cgroups());
}

/// The names of netd's sandboxes.
fn sandbox_names(netd: &Netd) -> Vec<String> {
    let mut names: Vec<String> = runtime()
        .block_on(netd.client().sandboxes())
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    names.sort();
    names
}

#[test]
fn privileged_and_cap_add_all_get_the_hosts_capabilities_with_runc() {
    containers_get_only_what_the_host_holds("runc");
}

#[test]
fn privileged_and_cap_add_all_get_the_hosts_capabilities_with_crun() {
    if tests::berth::crun().is_none() {
        eprintln!("crun is not installed: nothing to check");
        return;
    }
    containers_get_only_what_the_host_holds("crun");
}
