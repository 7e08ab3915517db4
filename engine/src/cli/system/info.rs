//! `berth info` (and `berth system info`): docker's `info` sections with
//! berth's facts: containers by state, images, the overlay2 storage
//! under the root, the cgroup driver and version, the runtime, and netd
//! (reachable or not, on which socket).

use std::path::Path;

use clap::Args;
use serde_json::{Value, json};

use super::version::VERSION;
use super::{RuntimeInfo, kernel_version, netd_info, render, text};
use crate::cli::exit::Failure;
use crate::cli::flags::InspectFlags;
use crate::cli::global::Globals;
use crate::cli::io::Io;
use crate::container::{Container, Containers, Status};
use crate::format::units::go_g;
use crate::spec::cgroup_stats::{CgroupLayout, detect_layout};

/// `berth info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// `-f, --format`.
    #[command(flatten)]
    pub format: InspectFlags,
}

/// Containers by state: (running, paused, stopped), as docker counts them.
pub fn count_states(containers: &[Container]) -> (usize, usize, usize) {
    let running = containers
        .iter()
        .filter(|c| matches!(c.state.status, Status::Running | Status::Restarting))
        .count();
    let paused = containers
        .iter()
        .filter(|c| c.state.status == Status::Paused)
        .count();
    (running, paused, containers.len() - running - paused)
}

/// `units.BytesSize`: binary units with four significant digits
/// (`3.824GiB`).
pub fn bytes_size(size: u64) -> String {
    const UNITS: [&str; 9] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];
    #[allow(clippy::cast_precision_loss)]
    let mut value = size as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{}{}", go_g(value, 4), UNITS[unit])
}

/// `PRETTY_NAME` of an os-release text.
pub fn pretty_name(os_release: &str) -> String {
    os_release
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim().trim_matches('"').to_owned())
        .unwrap_or_else(|| "Linux".to_owned())
}

/// `MemTotal` of a meminfo text, in bytes.
pub fn mem_total(meminfo: &str) -> u64 {
    meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// `1` or `2`: the cgroup version the host's controllers are on (the v1
/// controllers of a hybrid host make it 1).
pub fn cgroup_version(mountinfo: &str) -> &'static str {
    match detect_layout(Path::new("/sys/fs/cgroup"), mountinfo) {
        Ok(CgroupLayout::V2) => "2",
        Ok(CgroupLayout::V1 | CgroupLayout::Hybrid) => "1",
        Err(_) => "",
    }
}

/// The runtimes installed, by name.
fn installed_runtimes() -> Vec<String> {
    ["crun", "runc"]
        .iter()
        .filter(|n| crate::container::runc::choose(Some(n)).is_ok())
        .map(|n| (*n).to_owned())
        .collect()
}

/// The containers, their states corrected when the runtime is there.
fn containers(g: &Globals) -> Vec<Container> {
    if let Ok(engine) = g.engine() {
        return engine.list().unwrap_or_default();
    }
    Containers::open(&g.root, &g.runroot)
        .and_then(|s| s.list())
        .unwrap_or_default()
}

/// The facts of the host and engine that `info` shows, in Docker's
/// `system.Info` field names, with berth's `Netd` beside them.
fn gather(g: &Globals) -> Value {
    let list = containers(g);
    let (running, paused, stopped) = count_states(&list);
    let images = crate::image::Store::open(&g.root)
        .and_then(|s| s.state())
        .map_or(0, |s| s.images.len());
    let runtime = RuntimeInfo::probe(g.runtime.as_deref()).unwrap_or_default();
    let runtimes: serde_json::Map<String, Value> = installed_runtimes()
        .into_iter()
        .map(|n| {
            let path = crate::container::runc::choose(Some(&n))
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            (n, json!({ "path": path }))
        })
        .collect();
    let socket = netd_api::client::Client::new(&g.netd_host)
        .map(|c| format!("unix://{}", c.socket().display()))
        .unwrap_or_else(|_| g.netd_host.clone());
    let netd = match netd_info(&g.netd_host) {
        Ok(info) => json!({
            "Status": "reachable",
            "Socket": socket,
            "Version": info["ServerVersion"],
            "Networks": info["Netd"]["Networks"],
            "Sandboxes": info["Netd"]["Sandboxes"],
        }),
        Err(e) => json!({"Status": "unreachable", "Socket": socket, "Error": e}),
    };
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let ncpu = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    json!({
        "ID": "",
        "Containers": list.len(),
        "ContainersRunning": running,
        "ContainersPaused": paused,
        "ContainersStopped": stopped,
        "Images": images,
        "Driver": "overlay2",
        "DriverStatus": [["Root Dir", g.root.join("image/layers").display().to_string()]],
        "LoggingDriver": "json-file",
        "CgroupDriver": "cgroupfs",
        "CgroupVersion": cgroup_version(&read("/proc/self/mountinfo")),
        "Plugins": {"Volume": ["local"], "Network": ["bridge", "host", "null"], "Log": ["json-file"]},
        "Netd": netd,
        "Runtimes": runtimes,
        "DefaultRuntime": runtime.name,
        "RuntimeVersion": runtime.version,
        "RuntimeCommit": runtime.commit,
        "KernelVersion": kernel_version(),
        "OperatingSystem": pretty_name(&read("/etc/os-release")),
        "OSType": "linux",
        "Architecture": std::env::consts::ARCH,
        "NCPU": ncpu,
        "MemTotal": mem_total(&read("/proc/meminfo")),
        "Name": read("/proc/sys/kernel/hostname").trim(),
        "ServerVersion": VERSION,
        "DockerRootDir": g.root.display().to_string(),
        "BerthRunDir": g.runroot.display().to_string(),
        "ClientInfo": {"Version": VERSION},
    })
}

/// The default output, as docker's `prettyPrintInfo` writes it.
pub fn render_default(info: &Value) -> String {
    let t = |key: &str| text(&info[key]);
    let join = |v: &Value| {
        v.as_array()
            .into_iter()
            .flatten()
            .map(text)
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut out = format!(
        "Client:\n Version:    {}\n\nServer:\n",
        text(&info["ClientInfo"]["Version"])
    );
    out.push_str(&format!(
        " Containers: {}\n  Running: {}\n  Paused: {}\n  Stopped: {}\n Images: {}\n",
        t("Containers"),
        t("ContainersRunning"),
        t("ContainersPaused"),
        t("ContainersStopped"),
        t("Images")
    ));
    out.push_str(&format!(
        " Server Version: {}\n Storage Driver: {}\n",
        t("ServerVersion"),
        t("Driver")
    ));
    for pair in info["DriverStatus"].as_array().into_iter().flatten() {
        out.push_str(&format!("  {}: {}\n", text(&pair[0]), text(&pair[1])));
    }
    out.push_str(&format!(
        " Logging Driver: {}\n Cgroup Driver: {}\n Cgroup Version: {}\n Plugins:\n  Volume: {}\n  Network: {}\n  Log: {}\n",
        t("LoggingDriver"),
        t("CgroupDriver"),
        t("CgroupVersion"),
        join(&info["Plugins"]["Volume"]),
        join(&info["Plugins"]["Network"]),
        join(&info["Plugins"]["Log"])
    ));
    let netd = &info["Netd"];
    out.push_str(&format!(
        " Netd:\n  Status: {}\n  Socket: {}\n",
        text(&netd["Status"]),
        text(&netd["Socket"])
    ));
    for key in ["Version", "Networks", "Sandboxes", "Error"] {
        if !netd[key].is_null() {
            out.push_str(&format!("  {key}: {}\n", text(&netd[key])));
        }
    }
    let runtimes: Vec<&String> = info["Runtimes"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, _)| k)
        .collect();
    out.push_str(&format!(
        " Runtimes: {}\n Default Runtime: {}\n",
        runtimes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        t("DefaultRuntime")
    ));
    out.push_str(&format!(
        " {} version: {}\n",
        t("DefaultRuntime"),
        t("RuntimeVersion")
    ));
    out.push_str(&format!(
        " Kernel Version: {}\n Operating System: {}\n OSType: {}\n Architecture: {}\n CPUs: {}\n",
        t("KernelVersion"),
        t("OperatingSystem"),
        t("OSType"),
        t("Architecture"),
        t("NCPU")
    ));
    out.push_str(&format!(
        " Total Memory: {}\n Name: {}\n Berth Root Dir: {}\n Berth Run Dir: {}\n",
        bytes_size(info["MemTotal"].as_u64().unwrap_or(0)),
        t("Name"),
        t("DockerRootDir"),
        t("BerthRunDir")
    ));
    out
}

impl InfoArgs {
    /// Prints the information.
    pub fn run(self, g: &Globals, io: &mut Io<'_>) -> Result<(), Failure> {
        let out = render(self.format.get(), &gather(g), 0, render_default)?;
        io.stdout.write_all(out.as_bytes())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_names_and_memory_read_as_docker() {
        assert_eq!(bytes_size(0), "0B");
        assert_eq!(bytes_size(4_105_838_592), "3.824GiB");
        assert_eq!(bytes_size(1536), "1.5KiB");
        assert_eq!(
            pretty_name("NAME=\"Debian\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"),
            "Debian GNU/Linux 12 (bookworm)"
        );
        assert_eq!(
            mem_total("MemTotal:        4009608 kB\nMemFree: 1 kB\n"),
            4_105_838_592
        );
    }

    #[test]
    fn cgroup_versions_from_the_mount_table() {
        let v2 = "30 1 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw\n";
        assert_eq!(cgroup_version(v2), "2");
        let v1 = "30 1 0:26 / /sys/fs/cgroup/memory rw shared:4 - cgroup cgroup rw,memory\n";
        assert_eq!(cgroup_version(v1), "1");
    }

    #[test]
    fn containers_count_by_state() {
        let with = |s: Status| {
            let mut c = Container::default();
            c.state.status = s;
            c
        };
        let list = [
            with(Status::Running),
            with(Status::Paused),
            with(Status::Exited),
            with(Status::Created),
        ];
        assert_eq!(count_states(&list), (1, 1, 2));
    }

    #[test]
    fn the_default_output_has_dockers_lines_and_netd() {
        let info = json!({
            "Containers": 2, "ContainersRunning": 1, "ContainersPaused": 0, "ContainersStopped": 1,
            "Images": 1, "ServerVersion": "0.1.0", "Driver": "overlay2",
            "DriverStatus": [["Root Dir", "/var/lib/berth/image/layers"]],
            "CgroupDriver": "cgroupfs", "CgroupVersion": "2",
            "Plugins": {"Volume": ["local"], "Network": ["bridge", "host"], "Log": ["json-file"]},
            "Netd": {"Status": "unreachable", "Socket": "unix:///run/netd/netd.sock", "Error": "no"},
            "Runtimes": {"crun": {}, "runc": {}}, "DefaultRuntime": "runc", "RuntimeVersion": "1.1.5",
            "MemTotal": 1024, "ClientInfo": {"Version": "0.1.0"},
        });
        let out = render_default(&info);
        for line in [
            "Client:\n Version:    0.1.0\n\nServer:\n Containers: 2\n  Running: 1\n  Paused: 0\n  Stopped: 1\n Images: 1\n",
            " Storage Driver: overlay2\n  Root Dir: /var/lib/berth/image/layers\n",
            " Cgroup Driver: cgroupfs\n Cgroup Version: 2\n",
            "  Network: bridge host\n",
            " Netd:\n  Status: unreachable\n  Socket: unix:///run/netd/netd.sock\n  Error: no\n",
            " Runtimes: crun runc\n Default Runtime: runc\n runc version: 1.1.5\n",
            " Total Memory: 1KiB\n",
        ] {
            assert!(out.contains(line), "{line:?} in\n{out}");
        }
    }
}
