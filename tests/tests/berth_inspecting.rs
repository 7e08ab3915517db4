//! berth looking into containers and moving things in and out of them:
//! `stats`, `top`, `diff`, `commit` (and running what it made), `cp` both
//! ways (running and stopped containers, tar streams, links that point
//! out of the container's root), and `attach` (output, input, exit code,
//! signals passed on).

#![allow(
    clippy::too_many_lines,
    reason = "a test reads as one scenario, top to bottom"
)]
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::process::{Output, Stdio};
use std::time::Duration;

use tests::TestHost;
use tests::berth::Berth;
use tests::netd::{Netd, eventually};

/// One test's host, netd and berth (with the busybox image).
struct Env {
    host: TestHost,
    netd: Netd,
    berth: Berth,
}

impl Env {
    fn new() -> Self {
        let host = TestHost::enter();
        let netd = Netd::start(&host);
        let berth = Berth::new(&host);
        Self { host, netd, berth }
    }

    /// berth against this test's netd, ready to run.
    fn command(&self, args: &[&str]) -> std::process::Command {
        let netd_host = self.netd.host();
        let mut full = vec!["--netd-host", netd_host.as_str()];
        full.extend_from_slice(args);
        self.berth.command(&full)
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Its trimmed stdout; a panic with its output when it fails.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "berth {args:?}: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// berth with `input` on its standard input.
    fn with_input(&self, args: &[&str], input: &[u8]) -> Output {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        child.wait_with_output().unwrap()
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn stats_show_a_running_containers_usage() {
    let env = Env::new();
    env.ok(&[
        "run",
        "-d",
        "--name",
        "busy",
        "--memory",
        "64m",
        "busybox",
        "sh",
        "-c",
        "while true; do echo x > /dev/null; done",
    ]);
    env.ok(&["run", "-d", "--name", "idle", "busybox", "sleep", "600"]);
    let line = env.ok(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.Name}}|{{.MemUsage}}|{{.MemPerc}}|{{.PIDs}}|{{.CPUPerc}}|{{.NetIO}}|{{.Container}}",
        "busy",
    ]);
    let fields: Vec<&str> = line.split('|').collect();
    assert_eq!(fields.len(), 7, "{line}");
    assert_eq!(fields[0], "busy");
    let (used, limit) = fields[1].split_once(" / ").unwrap();
    assert_ne!(used, "0B", "memory in use: {line}");
    assert_eq!(limit, "64MiB", "the --memory limit: {line}");
    assert!(fields[3].parse::<u64>().unwrap() >= 1, "{line}");
    let cpu: f64 = fields[4].trim_end_matches('%').parse().unwrap();
    assert!(cpu > 5.0, "a busy loop uses CPU: {line}");
    assert!(fields[5].contains(" / "), "{line}");
    assert_eq!(fields[6], "busy", "as asked for");
    // The table, every running container, Docker's columns.
    let table = env.ok(&["stats", "--no-stream"]);
    let mut lines = table.lines();
    let head: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        head.join(" "),
        "CONTAINER ID NAME CPU % MEM USAGE / LIMIT MEM % NET I/O BLOCK I/O PIDS"
    );
    let names: Vec<&str> = lines
        .map(|l| l.split_whitespace().nth(1).unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{table}");
    assert!(
        names.contains(&"busy") && names.contains(&"idle"),
        "{table}"
    );
    // JSON with Docker's fields; an unlimited container shows the
    // machine's memory as its limit.
    let json = env.ok(&["stats", "--no-stream", "--format", "json", "idle"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["Name"], "idle");
    assert_eq!(v["ID"].as_str().unwrap().len(), 12);
    assert_ne!(
        v["MemUsage"].as_str().unwrap().split(" / ").nth(1),
        Some("0B")
    );
    // Streaming: the table is redrawn until interrupted.
    let mut child = env
        .command(&["stats", "idle"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Read until the table has been drawn twice (or 15 s pass).
    let mut pipe = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let mut buf = [0u8; 4096];
    while String::from_utf8_lossy(&seen).matches("\x1b[H").count() < 2
        && std::time::Instant::now() < deadline
    {
        match std::io::Read::read(&mut pipe, &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
    child.kill().unwrap();
    let _ = child.wait();
    let text = String::from_utf8_lossy(&seen).into_owned();
    assert!(text.matches("\x1b[H").count() >= 2, "redrawn: {text:?}");
    assert!(text.contains("idle"), "{text:?}");
    // A container that does not exist.
    let out = env.run(&["stats", "--no-stream", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out).trim(),
        "Error response from daemon: No such container: nope"
    );
}

#[test]
fn top_lists_the_containers_processes() {
    let env = Env::new();
    env.ok(&["run", "-d", "--name", "sleeper", "busybox", "sleep", "600"]);
    let out = env.ok(&["top", "sleeper"]);
    let mut lines = out.lines();
    let head: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        head,
        ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    );
    let procs: Vec<&str> = lines.collect();
    assert_eq!(procs.len(), 1, "only the container's process: {out}");
    assert!(procs[0].ends_with("sleep 600"), "{out}");
    // The pid is the container's init as inspect reports it.
    let pid = env.ok(&["inspect", "-f", "{{.State.Pid}}", "sleeper"]);
    assert_eq!(procs[0].split_whitespace().nth(1), Some(pid.as_str()));
    // ps options.
    let out = env.ok(&["top", "sleeper", "-o", "pid,comm"]);
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(out.lines().next().unwrap().contains("COMMAND"), "{out}");
    assert!(out.contains("sleep"), "{out}");
    // Not running.
    env.ok(&["create", "--name", "idle", "busybox", "true"]);
    let out = env.run(&["top", "idle"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("is not running"), "{}", stderr(&out));
}

#[test]
fn diff_reports_added_changed_and_deleted_files() {
    let env = Env::new();
    env.ok(&[
        "run",
        "--name",
        "changer",
        "busybox",
        "sh",
        "-c",
        "mkdir /data && echo x > /data/f && echo more >> /www/index.html && rm /bin/vi",
    ]);
    let diff = env.ok(&["diff", "changer"]);
    let lines: Vec<&str> = diff.lines().collect();
    for want in [
        "C /bin",
        "D /bin/vi",
        "A /data",
        "A /data/f",
        "C /www/index.html",
    ] {
        assert!(lines.contains(&want), "{want} in:\n{diff}");
    }
    // The runtime's mount points are no change.
    assert!(!diff.contains("/etc/host"), "{diff}");
    assert!(!diff.contains("resolv.conf"), "{diff}");
    // In walk order: a directory before its content, names sorted.
    let pos = |l: &str| lines.iter().position(|x| *x == l).unwrap();
    assert!(pos("C /bin") < pos("D /bin/vi"));
    assert!(pos("D /bin/vi") < pos("A /data"));
    assert!(pos("A /data") < pos("A /data/f"));
    // A container that changed nothing.
    env.ok(&["run", "--name", "quiet", "busybox", "true"]);
    assert_eq!(env.ok(&["diff", "quiet"]), "");
}

#[test]
fn commit_makes_an_image_that_runs_with_the_change() {
    let env = Env::new();
    env.ok(&[
        "run",
        "--name",
        "maker",
        "busybox",
        "sh",
        "-c",
        "echo committed > /f && rm /bin/vi && rm -r /www && mkdir /www && echo new > /www/only",
    ]);
    let id = env.ok(&[
        "commit",
        "-a",
        "tester",
        "-m",
        "with f",
        "-c",
        r#"CMD ["cat","/f"]"#,
        "maker",
        "snap:v1",
    ]);
    assert!(id.starts_with("sha256:") && id.len() == 71, "{id}");
    // The new command, and the file.
    assert_eq!(env.ok(&["run", "--rm", "snap:v1"]), "committed");
    // The deleted file and the replaced directory's old content are gone.
    assert_eq!(
        env.ok(&[
            "run",
            "--rm",
            "snap:v1",
            "sh",
            "-c",
            "test -e /bin/vi; echo $?; ls /www"
        ]),
        "1\nonly"
    );
    assert_eq!(
        env.ok(&[
            "image",
            "inspect",
            "-f",
            "{{.Author}} {{json .Config.Cmd}}",
            "snap:v1"
        ]),
        r#"tester ["cat","/f"]"#
    );
    let history = env.ok(&[
        "history",
        "--no-trunc",
        "--format",
        "{{.Comment}}",
        "snap:v1",
    ]);
    assert_eq!(history.lines().next(), Some("with f"), "{history}");
    // Without changes the container's command is the image's; a running
    // container is committed (paused meanwhile) and keeps running.
    env.ok(&[
        "run",
        "-d",
        "--name",
        "live",
        "busybox",
        "sh",
        "-c",
        "echo alive > /state; sleep 600",
    ]);
    assert!(eventually(5, || env
        .run(&["exec", "live", "cat", "/state"])
        .status
        .success()));
    env.ok(&["commit", "live", "snap:v2"]);
    let cmd: Vec<String> = serde_json::from_str(&env.ok(&[
        "image",
        "inspect",
        "-f",
        "{{json .Config.Cmd}}",
        "snap:v2",
    ]))
    .unwrap();
    assert_eq!(cmd, ["sh", "-c", "echo alive > /state; sleep 600"]);
    assert_eq!(
        env.ok(&["inspect", "-f", "{{.State.Status}}", "live"]),
        "running"
    );
    assert_eq!(
        env.ok(&["run", "--rm", "snap:v2", "cat", "/state"]),
        "alive"
    );
    // Bad input.
    let out = env.run(&["commit", "-c", "RUN true", "live"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("RUN is not a valid change command"),
        "{}",
        stderr(&out)
    );
    let out = env.run(&["commit", "nope"]);
    assert_eq!(
        stderr(&out).trim(),
        "Error response from daemon: No such container: nope"
    );
}

#[test]
fn cp_copies_both_ways_and_never_leaves_the_root() {
    let env = Env::new();
    let work = env.host.dir("cp-work");
    let secret = env.host.dir("cp-secret");
    std::fs::write(secret.join("s.txt"), "host secret").unwrap();
    std::fs::write(work.join("hello.txt"), "hello from the host").unwrap();
    std::fs::create_dir_all(work.join("tree/sub")).unwrap();
    std::fs::write(work.join("tree/sub/leaf"), "leaf").unwrap();
    let w = |name: &str| work.join(name).display().to_string();
    env.ok(&["run", "-d", "--name", "box", "busybox", "sleep", "600"]);
    // Host to container: a file into a directory, a directory to a new name.
    env.ok(&["cp", &w("hello.txt"), "box:/tmp/"]);
    assert_eq!(
        env.ok(&["exec", "box", "cat", "/tmp/hello.txt"]),
        "hello from the host"
    );
    env.ok(&["cp", &w("tree"), "box:/copied"]);
    assert_eq!(env.ok(&["exec", "box", "cat", "/copied/sub/leaf"]), "leaf");
    // Owned by root in the container unless -a.
    assert_eq!(
        env.ok(&["exec", "box", "stat", "-c", "%u", "/copied/sub/leaf"]),
        "0"
    );
    // -a keeps the source's owner.
    std::os::unix::fs::chown(work.join("hello.txt"), Some(1234), Some(5678)).unwrap();
    env.ok(&["cp", "-a", &w("hello.txt"), "box:/tmp/owned"]);
    assert_eq!(
        env.ok(&["exec", "box", "stat", "-c", "%u:%g", "/tmp/owned"]),
        "1234:5678"
    );
    // Container to host: a file to a new name, a directory's content.
    env.ok(&["cp", "box:/www/index.html", &w("index.copy")]);
    assert_eq!(
        std::fs::read_to_string(work.join("index.copy")).unwrap(),
        "hello from busybox\n"
    );
    std::fs::create_dir(work.join("www-content")).unwrap();
    env.ok(&["cp", "box:/www/.", &w("www-content")]);
    assert!(work.join("www-content/index.html").is_file());
    // Tar streams on standard output and input.
    let out = env.run(&["cp", "box:/www", "-"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut tar = std::process::Command::new("tar")
        .arg("-t")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    tar.stdin.take().unwrap().write_all(&out.stdout).unwrap();
    let listing = stdout(&tar.wait_with_output().unwrap());
    assert_eq!(
        listing.lines().collect::<Vec<_>>(),
        ["www/", "www/index.html"]
    );
    let archive = std::process::Command::new("tar")
        .args(["-C", &w("tree"), "-cf", "-", "sub"])
        .output()
        .unwrap()
        .stdout;
    let out = env.with_input(&["cp", "-", "box:/tmp"], &archive);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(env.ok(&["exec", "box", "cat", "/tmp/sub/leaf"]), "leaf");
    // Links pointing out of the root resolve inside it, never on the host.
    let abs = secret.display().to_string();
    env.ok(&["exec", "box", "ln", "-s", &abs, "/tmp/evil"]);
    env.ok(&[
        "exec",
        "box",
        "ln",
        "-s",
        &format!("../../../../../../../..{abs}"),
        "/tmp/evil2",
    ]);
    for link in ["box:/tmp/evil/s.txt", "box:/tmp/evil2/s.txt"] {
        let out = env.run(&["cp", link, &w("stolen")]);
        assert_eq!(out.status.code(), Some(1), "{link}");
        assert!(
            stderr(&out).contains("Could not find the file"),
            "{}",
            stderr(&out)
        );
        assert!(!work.join("stolen").exists(), "{link}");
        let out = env.run(&[
            "cp",
            &w("hello.txt"),
            &format!("{}/planted", &link[..link.len() - 6]),
        ]);
        assert_eq!(out.status.code(), Some(1), "{link}");
        assert!(
            !secret.join("planted").exists(),
            "{link}: written on the host"
        );
    }
    // -L follows a link inside the container.
    env.ok(&["exec", "box", "ln", "-s", "/www/index.html", "/tmp/page"]);
    env.ok(&["cp", "box:/tmp/page", &w("link.copy")]);
    assert!(
        std::fs::symlink_metadata(work.join("link.copy"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    env.ok(&["cp", "-L", "box:/tmp/page", &w("page.copy")]);
    assert_eq!(
        std::fs::read_to_string(work.join("page.copy")).unwrap(),
        "hello from busybox\n"
    );
    // A stopped container: its root is mounted for the copy, then not.
    env.ok(&["stop", "-t", "0", "box"]);
    env.ok(&["cp", &w("hello.txt"), "box:/tmp/later.txt"]);
    env.ok(&["cp", "box:/tmp/later.txt", &w("later.back")]);
    assert_eq!(
        std::fs::read_to_string(work.join("later.back")).unwrap(),
        "hello from the host"
    );
    let id = env.ok(&["inspect", "-f", "{{.Id}}", "box"]);
    // The stopped container's shim unmounts its root as it exits, which
    // may come a moment after `stop` (and the copies) returned.
    let unmounted = eventually(5, || {
        !std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .contains(&id)
    });
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(unmounted, "the overlay stays mounted: {mounts}");
    env.ok(&["start", "box"]);
    assert_eq!(
        env.ok(&["exec", "box", "cat", "/tmp/later.txt"]),
        "hello from the host"
    );
    // Docker's errors.
    let out = env.run(&["cp", "box:/nope", &w("x")]);
    assert_eq!(
        stderr(&out).trim(),
        "Error response from daemon: Could not find the file /nope in container box"
    );
    let out = env.run(&["cp", &w("tree"), "box:/tmp/hello.txt"]);
    assert_eq!(stderr(&out).trim(), "cannot copy directory");
    let out = env.run(&["cp", &w("hello.txt"), "nope:/tmp"]);
    assert_eq!(
        stderr(&out).trim(),
        "Error response from daemon: No such container: nope"
    );
}

#[test]
fn attach_relays_output_input_and_the_exit_code() {
    let env = Env::new();
    env.ok(&[
        "run",
        "-d",
        "--name",
        "ticker",
        "busybox",
        "sh",
        "-c",
        "for i in 1 2 3 4; do sleep 0.5; echo tick$i; done; echo err >&2; exit 7",
    ]);
    let out = env.run(&["attach", "ticker"]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert!(stdout(&out).contains("tick4"), "{}", stdout(&out));
    assert_eq!(stderr(&out), "err\n");
    // Input reaches a container started with -i.
    env.ok(&[
        "run", "-d", "-i", "--name", "reader", "busybox", "head", "-n", "1",
    ]);
    let out = env.with_input(&["attach", "reader"], b"typed line\n");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "typed line\n");
    // Signals berth receives go to the container.
    env.ok(&[
        "run",
        "-d",
        "--name",
        "trapper",
        "busybox",
        "sh",
        "-c",
        "trap 'echo got-term; exit 3' TERM; while true; do echo tick; sleep 0.1; done",
    ]);
    let mut child = env
        .command(&["attach", "trapper"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Output relayed means attached, signal handling in place.
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut out, &mut line).unwrap();
    assert_eq!(line, "tick\n");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap()),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(3), "{rest}");
    assert!(rest.ends_with("got-term\n"), "{rest}");
    // A stopped container cannot be attached to.
    let out = env.run(&["attach", "ticker"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out).trim(),
        "You cannot attach to a stopped container, start it first"
    );
}
