//! A container as berth stores it: Docker's `docker inspect` shape (field
//! names and meanings), so that inspect and Go templates see what Docker
//! users expect.

use std::collections::BTreeMap;

use netd_api::portspec::PortBindings;
use netd_api::types::EndpointSettings;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Docker's container statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Made, never started.
    #[default]
    Created,
    /// Its process runs.
    Running,
    /// Frozen.
    Paused,
    /// Between two runs of its restart policy.
    Restarting,
    /// Being removed.
    Removing,
    /// Its process ended.
    Exited,
    /// Could not be cleaned up.
    Dead,
}

impl Status {
    /// The lowercase word Docker prints.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Restarting => "restarting",
            Self::Removing => "removing",
            Self::Exited => "exited",
            Self::Dead => "dead",
        }
    }
}

/// `State`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct State {
    /// The status word.
    pub status: Status,
    /// Running (paused included).
    pub running: bool,
    /// Paused.
    pub paused: bool,
    /// Restarting.
    pub restarting: bool,
    /// Killed by the kernel's OOM killer.
    #[serde(rename = "OOMKilled")]
    pub oom_killed: bool,
    /// Dead.
    pub dead: bool,
    /// The container's init process (0 when not running).
    pub pid: i32,
    /// Its exit code.
    pub exit_code: i32,
    /// Why it could not start.
    pub error: String,
    /// Last start (RFC 3339, `0001-01-01T00:00:00Z` when never).
    pub started_at: String,
    /// Last exit.
    pub finished_at: String,
}

impl State {
    /// Exited: not running, paused or restarting, and no pid.
    fn stop(&mut self) {
        self.status = Status::Exited;
        self.running = false;
        self.paused = false;
        self.restarting = false;
        self.pid = 0;
    }
}

/// Docker's zero time.
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// `Config`: what the container runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Config {
    /// Hostname.
    pub hostname: String,
    /// Domain name.
    pub domainname: String,
    /// `--user`.
    pub user: String,
    /// `-a stdin` (from `-i` on run).
    pub attach_stdin: bool,
    /// Output attached (foreground run).
    pub attach_stdout: bool,
    /// Errors attached (foreground run).
    pub attach_stderr: bool,
    /// `--expose` and the image's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<BTreeMap<String, Value>>,
    /// `-t`.
    pub tty: bool,
    /// `-i`.
    pub open_stdin: bool,
    /// Stdin closes after the first attach.
    pub stdin_once: bool,
    /// Environment.
    pub env: Vec<String>,
    /// Command.
    pub cmd: Vec<String>,
    /// The image as given.
    pub image: String,
    /// Working directory.
    pub working_dir: String,
    /// Entrypoint.
    pub entrypoint: Vec<String>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// `--stop-signal`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    /// `--stop-timeout`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<i64>,
}

/// `HostConfig.RestartPolicy`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RestartPolicy {
    /// `no`, `always`, `unless-stopped`, `on-failure` (empty = `no`).
    pub name: String,
    /// For `on-failure`: the most restarts (0 = no limit).
    pub maximum_retry_count: i64,
}

/// One mount as the runtime gets it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MountPoint {
    /// `bind`, `volume` or `tmpfs`.
    #[serde(rename = "Type")]
    pub kind: String,
    /// Volume name (volumes only).
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub name: String,
    /// Host path (the volume's data directory for volumes).
    pub source: String,
    /// Path in the container.
    pub destination: String,
    /// Mount options (`tmpfs` size and mode, …).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub options: Vec<String>,
    /// Read-write.
    #[serde(rename = "RW")]
    pub rw: bool,
}

/// One network asked for (`--network`, `--network-alias`, `--ip`…).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkRequest {
    /// Network name or id.
    pub name: String,
    /// `--network-alias`.
    pub aliases: Vec<String>,
    /// `--ip`.
    #[serde(rename = "IPv4Address")]
    pub ipv4_address: String,
    /// `--ip6`.
    #[serde(rename = "IPv6Address")]
    pub ipv6_address: String,
    /// `--mac-address`.
    pub mac_address: String,
}

/// `HostConfig`: how it runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HostConfig {
    /// `-v` as given.
    pub binds: Vec<String>,
    /// `default` (bridge), a network name, `host`, `none`, `container:ID`.
    pub network_mode: String,
    /// `-p`.
    pub port_bindings: PortBindings,
    /// `--restart`.
    pub restart_policy: RestartPolicy,
    /// `--rm`.
    pub auto_remove: bool,
    /// The OCI runtime the container was created with (its binary): every
    /// later operation on it uses the same one, whatever `--runtime` says.
    #[serde(default)]
    pub runtime: String,
    /// `--cap-add`.
    pub cap_add: Vec<String>,
    /// `--cap-drop`.
    pub cap_drop: Vec<String>,
    /// `--dns`.
    pub dns: Vec<String>,
    /// `--dns-option`.
    pub dns_options: Vec<String>,
    /// `--dns-search`.
    pub dns_search: Vec<String>,
    /// `--add-host`.
    pub extra_hosts: Vec<String>,
    /// `--privileged`.
    pub privileged: bool,
    /// `-P`.
    pub publish_all_ports: bool,
    /// `--read-only`.
    pub readonly_rootfs: bool,
    /// `--security-opt`.
    pub security_opt: Vec<String>,
    /// `--init`.
    pub init: bool,
    /// `--memory` in bytes (0 = none).
    pub memory: i64,
    /// `--memory-swap` in bytes (0 = default, -1 = unlimited).
    pub memory_swap: i64,
    /// `--cpus` in units of 10⁻⁹ CPUs.
    pub nano_cpus: i64,
    /// `--cpu-shares`.
    pub cpu_shares: i64,
    /// `--pids-limit` (0 = none).
    pub pids_limit: i64,
    /// Mounts as resolved (binds, volumes, tmpfs).
    pub mounts: Vec<MountPoint>,
}

/// `NetworkSettings`: filled from netd when the container starts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkSettings {
    /// Empty, as Docker's for user networks.
    pub bridge: String,
    /// netd's sandbox id.
    #[serde(rename = "SandboxID")]
    pub sandbox_id: String,
    /// The network namespace path.
    pub sandbox_key: String,
    /// Published ports.
    pub ports: PortBindings,
    /// Per network.
    pub networks: BTreeMap<String, EndpointSettings>,
}

/// A container.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Container {
    /// 64-hex id.
    pub id: String,
    /// Creation time (RFC 3339, nanoseconds).
    pub created: String,
    /// The program run (entrypoint or command head).
    pub path: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// State.
    pub state: State,
    /// The image id (`sha256:…`).
    pub image: String,
    /// resolv.conf rendered by netd.
    pub resolv_conf_path: String,
    /// The hostname file.
    pub hostname_path: String,
    /// hosts rendered by netd.
    pub hosts_path: String,
    /// json-file log.
    pub log_path: String,
    /// `/name`.
    pub name: String,
    /// Restarts by the restart policy.
    pub restart_count: i64,
    /// `overlay2`, as Docker names overlayfs storage.
    pub driver: String,
    /// `linux`.
    pub platform: String,
    /// How it runs.
    pub host_config: HostConfig,
    /// What it runs.
    pub config: Config,
    /// Networks asked for (berth's own field).
    #[serde(default)]
    pub network_requests: Vec<NetworkRequest>,
    /// Network state.
    pub network_settings: NetworkSettings,
    /// The image's layer directories, top first (berth's own field).
    #[serde(default)]
    pub lower_dirs: Vec<String>,
}

impl Container {
    /// The name without its leading `/`.
    pub fn short_name(&self) -> &str {
        self.name.strip_prefix('/').unwrap_or(&self.name)
    }

    /// The 12-digit id.
    pub fn short_id(&self) -> &str {
        &self.id[..12.min(self.id.len())]
    }

    /// The process to run: entrypoint then command.
    pub fn argv(&self) -> Vec<String> {
        let mut v = self.config.entrypoint.clone();
        v.extend(self.config.cmd.iter().cloned());
        v
    }
}

/// The state changes of a container's life, each in one place: the shim
/// records starts, exits and restarts, the commands pauses and shims
/// that died.
impl Container {
    /// Its init process `pid` runs since `started_at`: what a previous run
    /// left (exit code, error, OOM kill, finish time) is cleared.
    pub fn running(&mut self, pid: i32, started_at: String) {
        let s = &mut self.state;
        s.status = Status::Running;
        s.running = true;
        s.restarting = false;
        s.paused = false;
        s.pid = pid;
        s.exit_code = 0;
        s.error.clear();
        s.oom_killed = false;
        s.started_at = started_at;
        s.finished_at = ZERO_TIME.into();
    }

    /// Its process ended with `code` at `finished_at` (killed by the OOM
    /// killer when `oom_killed`): no pid any more, and the network of the
    /// run, which went with it, is no longer reported.
    pub fn exited(&mut self, code: i32, oom_killed: bool, finished_at: String) {
        let s = &mut self.state;
        s.stop();
        s.exit_code = code;
        s.oom_killed = oom_killed;
        s.finished_at = finished_at;
        let n = &mut self.network_settings;
        n.networks.clear();
        n.ports.clear();
        n.sandbox_key.clear();
    }

    /// It could not be started: exited with `code` at `finished_at`, with
    /// `error` saying why (Docker's `State.Error`).
    pub fn start_failed(&mut self, code: i32, error: String, finished_at: String) {
        let s = &mut self.state;
        s.stop();
        s.exit_code = code;
        s.error = error;
        s.finished_at = finished_at;
    }

    /// Its restart policy runs it again: one more restart, and the status
    /// says so until the next run is recorded.
    pub fn restarting(&mut self) {
        self.restart_count += 1;
        self.state.status = Status::Restarting;
        self.state.restarting = true;
    }

    /// Paused (`on`) or running again.
    pub fn paused(&mut self, on: bool) {
        self.state.paused = on;
        self.state.status = if on { Status::Paused } else { Status::Running };
    }

    /// Its shim died (a crash, a reboot) while it was live: it is
    /// reported exited, with 255 unless an exit code is known.
    pub fn shim_gone(&mut self) {
        let s = &mut self.state;
        s.stop();
        if s.exit_code == 0 {
            s.exit_code = 255;
        }
        s.error = "the container's shim is gone (crash or reboot)".into();
    }

    /// Takes what a start changes (its state, network settings and the
    /// files the runtime mounts) from `started`, the record the shim made
    /// as the process started, into this record as stored now.
    pub fn take_start(&mut self, started: &Self) {
        self.state = started.state.clone();
        self.network_settings = started.network_settings.clone();
        self.resolv_conf_path = started.resolv_conf_path.clone();
        self.hosts_path = started.hosts_path.clone();
        self.hostname_path = started.hostname_path.clone();
    }
}

/// Whether `name` is one Docker accepts: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub fn valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && name.len() >= 2
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A container that ran once and failed: every field a state change
    /// may touch holds something.
    fn ran_before() -> Container {
        let mut c = Container {
            state: State {
                status: Status::Exited,
                running: false,
                paused: false,
                restarting: false,
                oom_killed: true,
                dead: false,
                pid: 0,
                exit_code: 137,
                error: "an old error".into(),
                started_at: "2024-01-01T00:00:00Z".into(),
                finished_at: "2024-01-01T00:00:05Z".into(),
            },
            ..Container::default()
        };
        c.network_settings.sandbox_id = "sb".into();
        c.network_settings.sandbox_key = "/run/netd/netns/sb".into();
        c.network_settings
            .networks
            .insert("web".into(), EndpointSettings::default());
        c
    }

    #[test]
    fn running_clears_what_the_previous_run_left() {
        let mut c = ran_before();
        c.state.restarting = true;
        c.running(42, "2024-02-01T00:00:00Z".into());
        assert_eq!(
            c.state,
            State {
                status: Status::Running,
                running: true,
                pid: 42,
                started_at: "2024-02-01T00:00:00Z".into(),
                finished_at: ZERO_TIME.into(),
                ..State::default()
            }
        );
    }

    #[test]
    fn exited_clears_pid_and_records_finish_time() {
        let mut c = ran_before();
        c.running(42, "2024-02-01T00:00:00Z".into());
        c.state.paused = true;
        c.exited(3, true, "2024-02-01T00:01:00Z".into());
        assert_eq!(
            c.state,
            State {
                status: Status::Exited,
                oom_killed: true,
                exit_code: 3,
                started_at: "2024-02-01T00:00:00Z".into(),
                finished_at: "2024-02-01T00:01:00Z".into(),
                ..State::default()
            }
        );
        // The run's network went with it; the sandbox's id stays, as
        // Docker's.
        assert!(c.network_settings.networks.is_empty());
        assert!(c.network_settings.sandbox_key.is_empty());
        assert_eq!(c.network_settings.sandbox_id, "sb");
    }

    #[test]
    fn start_failed_records_the_code_and_why_and_keeps_the_network() {
        let mut c = ran_before();
        c.state.restarting = true;
        c.state.paused = true;
        c.start_failed(127, "exec: not found".into(), "2024-03-01T00:00:00Z".into());
        assert_eq!(c.state.status, Status::Exited);
        assert!(!c.state.running && !c.state.restarting && !c.state.paused);
        assert_eq!(c.state.pid, 0);
        assert_eq!(c.state.exit_code, 127);
        assert_eq!(c.state.error, "exec: not found");
        assert_eq!(c.state.finished_at, "2024-03-01T00:00:00Z");
        // Untouched: the last start, and what the last run reported.
        assert_eq!(c.state.started_at, "2024-01-01T00:00:00Z");
        assert!(c.state.oom_killed);
        assert_eq!(c.network_settings.networks.len(), 1);
    }

    #[test]
    fn restarting_counts_the_restart_and_keeps_the_rest() {
        let mut c = ran_before();
        c.running(42, "2024-02-01T00:00:00Z".into());
        let before = c.state.clone();
        c.restarting();
        c.restarting();
        assert_eq!(c.restart_count, 2);
        assert_eq!(
            c.state,
            State {
                status: Status::Restarting,
                restarting: true,
                ..before
            }
        );
    }

    #[test]
    fn paused_and_unpaused_switch_status_and_flag() {
        let mut c = ran_before();
        c.running(42, "2024-02-01T00:00:00Z".into());
        c.paused(true);
        assert_eq!((c.state.status, c.state.paused), (Status::Paused, true));
        c.paused(false);
        assert_eq!((c.state.status, c.state.paused), (Status::Running, false));
        assert_eq!(c.state.pid, 42);
    }

    #[test]
    fn shim_gone_reports_an_exit_with_255_unless_a_code_is_known() {
        let mut c = ran_before();
        c.running(42, "2024-02-01T00:00:00Z".into());
        c.state.paused = true;
        c.shim_gone();
        assert_eq!(c.state.status, Status::Exited);
        assert!(!c.state.running && !c.state.paused && !c.state.restarting);
        assert_eq!((c.state.pid, c.state.exit_code), (0, 255));
        assert_eq!(
            c.state.error,
            "the container's shim is gone (crash or reboot)"
        );
        // Its finish time is not known.
        assert_eq!(c.state.finished_at, ZERO_TIME);
        let mut c = ran_before();
        c.state.status = Status::Restarting;
        c.shim_gone();
        assert_eq!(c.state.exit_code, 137);
    }

    #[test]
    fn take_start_copies_state_network_and_files_only() {
        let mut started = ran_before();
        started.running(42, "2024-02-01T00:00:00Z".into());
        started.resolv_conf_path = "/r".into();
        started.hosts_path = "/h".into();
        started.hostname_path = "/n".into();
        started.name = "/old-name".into();
        let mut stored = Container {
            name: "/renamed".into(),
            restart_count: 4,
            ..Container::default()
        };
        stored.take_start(&started);
        assert_eq!(stored.state, started.state);
        assert_eq!(stored.network_settings, started.network_settings);
        assert_eq!(
            (
                stored.resolv_conf_path.as_str(),
                stored.hosts_path.as_str(),
                stored.hostname_path.as_str()
            ),
            ("/r", "/h", "/n")
        );
        // What changed meanwhile in the store stays.
        assert_eq!(
            (stored.name.as_str(), stored.restart_count),
            ("/renamed", 4)
        );
    }

    #[test]
    fn names_follow_dockers_rule() {
        for ok in ["ab", "web-1", "a.b_c", "9x"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["a", "", "-x", "_x", "a/b", "a b", "é1"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn inspect_shape_uses_dockers_field_names() {
        let c = Container {
            id: "0123456789abcdef".repeat(4),
            name: "/web".into(),
            ..Default::default()
        };
        let v = serde_json::to_value(&c).unwrap();
        for key in [
            "Id",
            "Created",
            "State",
            "HostConfig",
            "Config",
            "NetworkSettings",
            "Name",
        ] {
            assert!(v.get(key).is_some(), "{key} in {v}");
        }
        assert_eq!(v["State"]["OOMKilled"], false);
        assert_eq!(c.short_name(), "web");
        assert_eq!(c.short_id(), "0123456789ab");
    }
}
