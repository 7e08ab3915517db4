//! `berth version`: the Client and Server sections as `docker version`
//! prints them. berth has no daemon: the server is the engine itself, its
//! OCI runtime and, when it answers, netd.

use clap::Args;
use serde_json::{Value, json};

use super::{RuntimeInfo, kernel_version, netd_version, render, text};
use crate::cli::exit::Failure;
use crate::cli::flags::InspectFlags;
use crate::cli::global::Globals;
use crate::cli::io::Io;
use crate::format::tabwriter::align;
use crate::image::config::go_arch;

/// berth's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `berth version`.
#[derive(Debug, Args)]
pub struct VersionArgs {
    /// `-f, --format`.
    #[command(flatten)]
    pub format: InspectFlags,
}

/// The version data, in Docker's `types.Version` shape (`Client`,
/// `Server.Components`…): the engine, the runtime when found, netd when
/// `netd` (its `/version` answer) is given.
pub fn version_data(runtime: Option<&RuntimeInfo>, netd: Option<&Value>, socket: &str) -> Value {
    let (os, arch) = ("linux", go_arch());
    let mut components = vec![json!({
        "Name": "Engine",
        "Version": VERSION,
        "Details": {"Os": os, "Arch": arch, "KernelVersion": kernel_version()},
    })];
    if let Some(r) = runtime {
        components.push(json!({
            "Name": r.name,
            "Version": r.version,
            "Details": {"GitCommit": r.commit, "Path": r.path},
        }));
    }
    if let Some(n) = netd {
        components.push(json!({
            "Name": "netd",
            "Version": n["Version"],
            "Details": {
                "ApiVersion": n["ApiVersion"],
                "MinAPIVersion": n["MinAPIVersion"],
                "Socket": socket,
            },
        }));
    }
    json!({
        "Client": {
            "Platform": {"Name": ""},
            "Version": VERSION,
            "Os": os,
            "Arch": arch,
        },
        "Server": {
            "Platform": {"Name": "berth"},
            "Components": components,
            "Version": VERSION,
            "Os": os,
            "Arch": arch,
            "KernelVersion": kernel_version(),
        },
    })
}

/// The default output: docker's version template, aligned as its
/// tabwriter (minimum width 20, padding 1) aligns it.
pub fn render_default(data: &Value) -> String {
    let client = &data["Client"];
    let server = &data["Server"];
    let mut out = format!(
        "Client:\n Version:\t{}\n OS/Arch:\t{}/{}\n\nServer: {}\n",
        text(&client["Version"]),
        text(&client["Os"]),
        text(&client["Arch"]),
        text(&server["Platform"]["Name"]),
    );
    for c in server["Components"].as_array().into_iter().flatten() {
        let details = &c["Details"];
        out.push_str(&format!(
            " {}:\n  Version:\t{}\n",
            text(&c["Name"]),
            text(&c["Version"])
        ));
        if c["Name"] == "Engine" {
            out.push_str(&format!(
                "  OS/Arch:\t{}/{}\n  Kernel version:\t{}\n",
                text(&details["Os"]),
                text(&details["Arch"]),
                text(&details["KernelVersion"])
            ));
            continue;
        }
        // Other components: their details by name, as docker orders them.
        for (key, value) in details.as_object().into_iter().flatten() {
            out.push_str(&format!("  {key}:\t{}\n", text(value)));
        }
    }
    align(&out, 20, 1)
}

impl VersionArgs {
    /// Prints the versions.
    pub fn run(self, g: &Globals, io: &mut Io<'_>) -> Result<(), Failure> {
        let runtime = RuntimeInfo::probe(g.runtime.as_deref());
        let netd = netd_version(&g.netd_host).ok();
        let socket = netd_api::client::Client::new(&g.netd_host)
            .map(|c| format!("unix://{}", c.socket().display()))
            .unwrap_or_else(|_| g.netd_host.clone());
        let data = version_data(runtime.as_ref(), netd.as_ref(), &socket);
        let out = render(self.format.get(), &data, 20, render_default)?;
        io.stdout.write_all(out.as_bytes())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_output_reads_as_dockers() {
        let runtime = RuntimeInfo {
            name: "runc".into(),
            path: "/usr/sbin/runc".into(),
            version: "1.1.12".into(),
            commit: "v1.1.12-0-g51d5e94".into(),
        };
        let netd = json!({"Version": "0.1.0", "ApiVersion": "1.47", "MinAPIVersion": "1.24"});
        let data = version_data(Some(&runtime), Some(&netd), "unix:///run/netd/netd.sock");
        let out = render_default(&data);
        let expected_head = format!(
            "Client:\n Version:           {VERSION}\n OS/Arch:           linux/{}\n\nServer: berth\n Engine:\n  Version:          {VERSION}\n",
            go_arch()
        );
        assert!(out.starts_with(&expected_head), "{out}");
        assert!(
            out.contains(
                " runc:\n  Version:          1.1.12\n  GitCommit:        v1.1.12-0-g51d5e94\n  Path:             /usr/sbin/runc\n"
            ),
            "{out}"
        );
        assert!(
            out.ends_with(
                " netd:\n  Version:          0.1.0\n  ApiVersion:       1.47\n  MinAPIVersion:    1.24\n  Socket:           unix:///run/netd/netd.sock\n"
            ),
            "{out}"
        );
    }

    #[test]
    fn templates_see_dockers_fields_and_netd_may_be_absent() {
        let data = version_data(None, None, "");
        assert_eq!(
            render(
                Some("{{.Client.Version}} {{.Server.Platform.Name}}"),
                &data,
                20,
                render_default
            )
            .unwrap(),
            format!("{VERSION} berth\n")
        );
        assert_eq!(data["Server"]["Components"].as_array().unwrap().len(), 1);
        assert!(!render_default(&data).contains("netd"));
    }
}
