//! The OCI runtime (runc, or crun where the host's cgroup layout allows),
//! driven through its command line with its state under berth's runroot.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::error::{ContainerError, Result};
use super::runtime_binary::{self, Prepared};
use crate::spec::build::HostCapabilities;

/// An OCI runtime binary and the state directory it keeps containers in.
#[derive(Debug, Clone)]
pub struct Runtime {
    /// The binary.
    pub binary: PathBuf,
    /// `--root`.
    pub state_dir: PathBuf,
}

/// What `state` reports.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct RuntimeState {
    /// `created`, `running`, `paused`, `stopped`.
    pub status: String,
    /// The init process.
    pub pid: i32,
}

/// Picks the runtime: `name` as given (`runc`, `crun` or a path), or by
/// default crun when the host's cgroups are pure v2 (Debian's crun refuses
/// the v1 hybrid layout) and runc otherwise.
pub fn choose(name: Option<&str>) -> Result<PathBuf> {
    let find = |n: &str| -> Option<PathBuf> {
        if n.contains('/') {
            return Path::new(n).exists().then(|| PathBuf::from(n));
        }
        [
            "/usr/sbin",
            "/usr/bin",
            "/sbin",
            "/bin",
            "/usr/local/bin",
            "/usr/local/sbin",
        ]
        .iter()
        .map(|d| Path::new(d).join(n))
        .find(|p| p.exists())
    };
    if let Some(n) = name {
        return find(n).ok_or_else(|| ContainerError::UnknownRuntime(n.to_owned()));
    }
    let pure_v2 = Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    let preferred: &[&str] = if pure_v2 {
        &["crun", "runc"]
    } else {
        &["runc", "crun"]
    };
    preferred
        .iter()
        .find_map(|n| find(n))
        .ok_or(ContainerError::NoRuntime)
}

/// How Docker maps a runtime's failure to start the process: 127 when the
/// program does not exist, 126 when it cannot be executed, else 125.
pub fn start_failure_code(message: &str) -> i32 {
    let m = message.to_ascii_lowercase();
    if m.contains("no such file or directory")
        || m.contains("executable file not found")
        || m.contains("not found in $path")
    {
        127
    } else if m.contains("permission denied") || m.contains("is a directory") {
        126
    } else {
        125
    }
}

/// A runtime command line, with the prepared binary it runs, which must
/// stay alive until the command has started.
struct Invocation {
    command: Command,
    _prepared: Prepared,
}

impl Runtime {
    /// The binary, ready to run once (see [`runtime_binary`]): done ahead,
    /// beside other work, it costs nothing on a start's path.
    pub fn prepare(&self) -> Prepared {
        Prepared::new(&self.binary, &runtime_binary::view_dir(&self.state_dir))
    }

    fn command(&self) -> Invocation {
        self.command_with(self.prepare())
    }

    fn command_with(&self, prepared: Prepared) -> Invocation {
        let mut command = prepared.command(&self.binary);
        command.arg("--root").arg(&self.state_dir);
        Invocation {
            command,
            _prepared: prepared,
        }
    }

    /// Runs the runtime's `op` on container `id` with `args` (the
    /// command and its own arguments, `id` among them); its output.
    fn run(&self, op: &str, id: &str, args: &[&str]) -> Result<String> {
        let mut inv = self.command();
        let out = inv
            .command
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(ContainerError::io("running", &self.binary))?;
        if !out.status.success() {
            return Err(ContainerError::Runtime {
                op: op.to_owned(),
                id: id.to_owned(),
                message: clean_message(&String::from_utf8_lossy(&out.stderr)),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `run --detach`: the container's namespaces and its process, started;
    /// its stdio are `stdio` (inherited by the init process) unless a
    /// console socket is given. One runtime call instead of `create` then
    /// `start`. `prepared` is this runtime's binary (see [`Runtime::prepare`]);
    /// `meanwhile` runs while the runtime works, once it was started.
    #[allow(clippy::too_many_arguments)]
    pub fn launch(
        &self,
        prepared: Prepared,
        id: &str,
        bundle: &Path,
        pid_file: &Path,
        console_socket: Option<&Path>,
        stdio: [Stdio; 3],
        meanwhile: impl FnOnce(),
    ) -> Result<()> {
        // runc reports its errors on its stderr, which is the container's
        // here; it logs them to --log in JSON too, read on failure.
        let log = bundle.join("runtime.log");
        let mut inv = self.command_with(prepared);
        let c = &mut inv.command;
        c.arg("--log").arg(&log).arg("--log-format").arg("json");
        c.arg("run")
            .arg("--detach")
            .arg("--bundle")
            .arg(bundle)
            .arg("--pid-file")
            .arg(pid_file);
        if let Some(s) = console_socket {
            c.arg("--console-socket").arg(s);
        }
        let [stdin, stdout, stderr] = stdio;
        let mut child = c
            .arg(id)
            .stdin(stdin)
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .map_err(ContainerError::io("running", &self.binary))?;
        meanwhile();
        let status = child
            .wait()
            .map_err(ContainerError::io("running", &self.binary))?;
        if !status.success() {
            return Err(ContainerError::Runtime {
                op: "run".into(),
                id: id.to_owned(),
                message: last_log_error(&log),
            });
        }
        Ok(())
    }

    /// `kill`: sends `signal` (a name or number) to the init process.
    pub fn kill(&self, id: &str, signal: &str) -> Result<()> {
        self.run("kill", id, &["kill", id, signal]).map(|_| ())
    }

    /// `delete --force`: removes the runtime's state and cgroup.
    pub fn delete(&self, id: &str) -> Result<()> {
        self.run("delete", id, &["delete", "--force", id])
            .map(|_| ())
    }

    /// Removes what the runtime keeps for a container whose init has
    /// exited and been reaped: its cgroup (`cgroup`, the spec's
    /// `cgroupsPath`, in every hierarchy under `cgroup_root`) and its state
    /// directory. That is all `delete` does for a stopped container without
    /// hooks, and doing it here saves running the runtime again (an exec of
    /// crun or runc costs milliseconds). Anything this cannot remove (a
    /// cgroup still populated, a nested one) is left to `delete --force`.
    pub fn remove_stopped(&self, id: &str, cgroup_root: &Path, cgroup: &str) -> Result<()> {
        self.remove_stopped_with(id, cgroup_root, cgroup, is_cgroup_fs)
    }

    fn remove_stopped_with(
        &self,
        id: &str,
        cgroup_root: &Path,
        cgroup: &str,
        is_cgroup_fs: impl Fn(&Path) -> bool,
    ) -> Result<()> {
        let removed = remove_cgroup(cgroup_root, cgroup, &is_cgroup_fs).and_then(|()| {
            match std::fs::remove_dir_all(self.state_dir.join(id)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            }
        });
        match removed {
            Ok(()) => Ok(()),
            Err(_) => self.delete(id),
        }
    }

    /// `pause` / `resume`.
    pub fn pause(&self, id: &str, pause: bool) -> Result<()> {
        let op = if pause { "pause" } else { "resume" };
        self.run(op, id, &[op, id]).map(|_| ())
    }

    /// `state`, or `None` when the runtime does not know the container.
    pub fn state(&self, id: &str) -> Option<RuntimeState> {
        let out = self.run("state", id, &["state", id]).ok()?;
        serde_json::from_str(&out).ok()
    }

    /// The `exec` command line (run by the caller in the foreground, so
    /// that the runtime handles the terminal itself) for the process
    /// described in `process_file` (see [`exec_process`]).
    pub fn exec_command(&self, id: &str, opts: &ExecOptions, process_file: &Path) -> Command {
        // The read-only view when there is one, else the file itself: the
        // caller owns the command, and would have to keep a sealed copy
        // open until it started.
        let mut c = self.prepare().into_command(&self.binary);
        c.arg("--root").arg(&self.state_dir);
        c.arg("exec").arg("--process").arg(process_file);
        if opts.detach {
            c.arg("--detach");
        }
        c.arg(id);
        c
    }
}

/// The OCI process `exec` runs, as Docker makes it: the container's own
/// process (`base`, from its bundle: capabilities, limits, environment)
/// with the command, terminal, working directory, user and groups of the
/// exec, its `-e` values over the container's.
pub fn exec_process(
    base: &serde_json::Value,
    opts: &ExecOptions,
    host: &HostCapabilities,
) -> serde_json::Value {
    use serde_json::{Value, json};
    let mut p = base.clone();
    p["terminal"] = json!(opts.tty);
    p["args"] = json!(opts.args);
    let mut env: Vec<String> = base["env"]
        .as_array()
        .map(|v| {
            v.iter()
                .filter_map(|e| e.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    for e in &opts.env {
        let key = e.split('=').next().unwrap_or_default();
        env.retain(|old| old.split('=').next() != Some(key));
        env.push(e.clone());
    }
    p["env"] = json!(env);
    if !opts.workdir.is_empty() {
        p["cwd"] = json!(opts.workdir);
    }
    if let Some((uid, gid)) = opts.user_ids {
        p["user"] = json!({"uid": uid, "gid": gid, "additionalGids": opts.additional_gids});
    }
    // `exec --privileged` gives the process every capability the host can
    // give, as Docker does, and none it cannot (the runtime would fail).
    if opts.privileged
        && let Some(caps) = p.get_mut("capabilities").and_then(Value::as_object_mut)
    {
        for set in caps.values_mut() {
            *set = json!(host.names());
        }
    }
    if let Some(o) = p.as_object_mut() {
        o.remove("consoleSize");
    }
    p
}

/// How `exec` runs its process.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    /// Command and arguments.
    pub args: Vec<String>,
    /// `-e` (already `KEY=VALUE`).
    pub env: Vec<String>,
    /// `-w`.
    pub workdir: String,
    /// `-u`, resolved in the container's files: uid and gid.
    pub user_ids: Option<(u32, u32)>,
    /// The groups of that user, its primary one first (Docker's
    /// `AdditionalGids`).
    pub additional_gids: Vec<u32>,
    /// `-t`.
    pub tty: bool,
    /// `-d`.
    pub detach: bool,
    /// `--privileged`.
    pub privileged: bool,
}

/// Removes cgroup `path` (relative to each hierarchy) under `root`: the
/// unified one (`root/path`) and every v1 hierarchy (`root/CTRL/path`),
/// only where `is_cgroup_fs` says the hierarchy is a cgroup file system
/// (a plain directory there is nobody's cgroup). Every hierarchy is tried;
/// the first failure is returned.
fn remove_cgroup(
    root: &Path,
    path: &str,
    is_cgroup_fs: impl Fn(&Path) -> bool,
) -> std::io::Result<()> {
    let rel = path.trim_start_matches('/');
    if rel.is_empty() {
        return Ok(());
    }
    let mut hierarchies = vec![root.to_owned()];
    for entry in std::fs::read_dir(root)?.flatten() {
        // Links (`cpu` -> `cpu,cpuacct`) name a hierarchy listed anyway.
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            hierarchies.push(entry.path());
        }
    }
    let mut first_error = None;
    for h in hierarchies.iter().filter(|h| is_cgroup_fs(h)) {
        match std::fs::remove_dir(h.join(rel)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                first_error.get_or_insert(e);
            }
            _ => {}
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// Whether `dir` is the root of a cgroup (v1) or cgroup2 file system.
fn is_cgroup_fs(dir: &Path) -> bool {
    nix::sys::statfs::statfs(dir).is_ok_and(|s| {
        let t = s.filesystem_type();
        t == nix::sys::statfs::CGROUP_SUPER_MAGIC || t == nix::sys::statfs::CGROUP2_SUPER_MAGIC
    })
}

/// The last error message in a runtime's JSON log.
fn last_log_error(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["level"] == "error")
        .and_then(|v| v["msg"].as_str().map(clean_message))
        .unwrap_or_else(|| "the OCI runtime failed".into())
}

/// A runtime's message on one line without its log decorations.
fn clean_message(text: &str) -> String {
    text.trim()
        .lines()
        .last()
        .unwrap_or_default()
        .trim_start_matches("time=")
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exec_process_is_the_containers_with_the_execs_own_settings() {
        let base = serde_json::json!({
            "terminal": false,
            "user": {"uid": 0, "gid": 0, "additionalGids": [0]},
            "args": ["sleep", "600"],
            "env": ["PATH=/bin", "A=1"],
            "cwd": "/",
            "capabilities": {"bounding": ["CAP_CHOWN"], "effective": ["CAP_CHOWN"]},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "consoleSize": {"height": 1, "width": 1}
        });
        let opts = ExecOptions {
            args: vec!["id".into()],
            env: vec!["A=2".into(), "B=3".into()],
            workdir: "/tmp".into(),
            user_ids: Some((1000, 1001)),
            additional_gids: vec![1001, 5],
            tty: true,
            detach: false,
            privileged: true,
        };
        // A host lacking CAP_SYS_RESOURCE (bit 24).
        let host = HostCapabilities::from_status(40, "CapBnd:\t000001fffeffffff\n");
        let p = exec_process(&base, &opts, &host);
        assert_eq!(p["args"], serde_json::json!(["id"]));
        assert_eq!(p["env"], serde_json::json!(["PATH=/bin", "A=2", "B=3"]));
        assert_eq!(p["cwd"], "/tmp");
        assert_eq!(p["terminal"], true);
        assert_eq!(
            p["user"],
            serde_json::json!({"uid": 1000, "gid": 1001, "additionalGids": [1001, 5]})
        );
        let bounding = p["capabilities"]["bounding"].as_array().unwrap();
        assert_eq!(bounding.len(), 40, "every capability the host holds");
        for cap in ["CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_NET_ADMIN"] {
            assert!(bounding.iter().any(|c| c == cap), "{cap}");
        }
        assert!(!bounding.iter().any(|c| c == "CAP_SYS_RESOURCE"));
        assert_eq!(
            p["capabilities"]["effective"],
            p["capabilities"]["bounding"]
        );
        assert_eq!(p["rlimits"], base["rlimits"], "the container's limits kept");
        assert!(p.get("consoleSize").is_none());
        // Without -u the container's user stays.
        let plain = exec_process(&base, &ExecOptions::default(), &host);
        assert_eq!(plain["user"], base["user"]);
        assert_eq!(plain["cwd"], "/");
    }

    #[test]
    fn a_stopped_containers_cgroups_and_state_are_removed_in_place() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().join("cgroup");
        for ctrl in ["memory", "pids", "cpu,cpuacct"] {
            std::fs::create_dir_all(root.join(ctrl).join("berth/abc")).expect("mkdir");
            std::fs::create_dir_all(root.join(ctrl).join("berth/other")).expect("mkdir");
        }
        std::os::unix::fs::symlink("cpu,cpuacct", root.join("cpu")).expect("symlink");
        let state = tmp.path().join("state");
        std::fs::create_dir_all(state.join("abc")).expect("mkdir");
        std::fs::write(state.join("abc/status"), "x").expect("write");
        // A runtime that would fail if it were asked: the removal is in place.
        let rt = Runtime {
            binary: PathBuf::from("/nonexistent/runtime"),
            state_dir: state.clone(),
        };
        // Every fixture directory stands for a cgroup file system but `plain`.
        std::fs::create_dir_all(root.join("plain/berth/abc/x")).expect("mkdir");
        rt.remove_stopped_with("abc", &root, "/berth/abc", |h| !h.ends_with("plain"))
            .expect("removed");
        for ctrl in ["memory", "pids", "cpu,cpuacct"] {
            assert!(!root.join(ctrl).join("berth/abc").exists(), "{ctrl}");
            assert!(root.join(ctrl).join("berth/other").exists(), "{ctrl}");
        }
        assert!(!state.join("abc").exists());
    }

    #[test]
    fn a_populated_cgroup_is_left_to_the_runtime() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().join("cgroup");
        // A nested cgroup (made inside the container) keeps rmdir from working.
        std::fs::create_dir_all(root.join("memory/berth/abc/inner")).expect("mkdir");
        let rt = Runtime {
            binary: PathBuf::from("/nonexistent/runtime"),
            state_dir: tmp.path().join("state"),
        };
        std::fs::create_dir_all(root.join("pids/berth/abc")).expect("mkdir");
        let err = rt
            .remove_stopped_with("abc", &root, "/berth/abc", |_| true)
            .expect_err("the runtime is asked, and it is missing");
        assert!(err.to_string().contains("/nonexistent/runtime"), "{err}");
        // The other hierarchies were still cleaned.
        assert!(!root.join("pids/berth/abc").exists());
    }

    #[test]
    fn start_failures_map_to_dockers_exit_codes() {
        assert_eq!(
            start_failure_code(
                r#"runc create failed: unable to start container process: exec: "nope": executable file not found in $PATH"#
            ),
            127
        );
        assert_eq!(
            start_failure_code("exec: \"/etc\": is a directory: permission denied"),
            126
        );
        assert_eq!(start_failure_code("cgroup: something"), 125);
    }
}
