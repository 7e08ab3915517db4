//! `berth system …` (`df`, `info`, `prune`) and the top-level `version`
//! and `info`: what the engine, its runtime and netd are, and the disk
//! they use.

pub mod df;
pub mod info;
pub mod prune;
pub mod version;

use std::time::Duration;

use clap::{Args, Subcommand};
use netd_api::client::{Client, ClientError};
use serde_json::Value;

use super::exit::Failure;
use super::flags::TEMPLATE_ERROR_CODE;
use super::global::Globals;
use super::io::Io;
use crate::format::inspect::InspectFormat;
use crate::format::tabwriter::align;
use crate::format::template::{self, from_json};

/// The `system` usage line.
const USAGE: &str = "berth system COMMAND";

/// `berth system`.
#[derive(Debug, Args)]
#[command(override_usage = USAGE)]
pub struct SystemArgs {
    /// The command.
    #[command(subcommand)]
    pub command: Option<SystemCommand>,
}

/// The `system` commands.
#[derive(Debug, Subcommand)]
pub enum SystemCommand {
    /// Show berth disk usage
    Df(df::DfArgs),
    /// Display system-wide information
    Info(info::InfoArgs),
    /// Remove unused data
    Prune(prune::PruneArgs),
    /// Anything else: not a system command.
    #[command(external_subcommand)]
    Unknown(Vec<String>),
}

/// Runs a `system` command.
pub fn run(command: SystemCommand, g: &Globals, io: &mut Io<'_>) -> Result<(), Failure> {
    match command {
        SystemCommand::Unknown(rest) => Err(Failure::unknown_command("system", USAGE, &rest)),
        SystemCommand::Df(a) => a.run(g, io),
        SystemCommand::Info(a) => a.run(g, io),
        SystemCommand::Prune(a) => a.run(g, io),
    }
}

/// Runs `f` with a client of netd, giving up after two seconds.
fn with_netd<T>(
    host: &str,
    f: impl AsyncFnOnce(&Client) -> Result<T, ClientError>,
) -> Result<T, String> {
    netd_api::blocking::Client::new(host)
        .map_err(|e| e.to_string())?
        .with_timeout(Duration::from_secs(2))
        .run(f)
        .map_err(|e| match e {
            ClientError::Timeout { .. } => e.to_string(),
            e => crate::cli::exit::client_message(&e),
        })
}

/// netd's `GET /version`, or why it did not answer.
pub fn netd_version(host: &str) -> Result<Value, String> {
    // `Method::default()` is GET; the engine does not name hyper's types.
    with_netd(host, async |c| {
        c.call::<(), Value>(Default::default(), "/version", None)
            .await
    })
}

/// netd's `GET /info`, or why it did not answer.
pub fn netd_info(host: &str) -> Result<Value, String> {
    with_netd(host, async |c| {
        c.call::<(), Value>(Default::default(), "/info", None).await
    })
}

/// An OCI runtime's `--version` text (`runc version 1.1.12`, `commit: …`)
/// as a version and its commit.
pub fn parse_runtime_version(text: &str) -> (String, String) {
    let mut lines = text.lines();
    let version = lines
        .next()
        .and_then(|l| l.split_once(" version "))
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    let commit = lines
        .find_map(|l| l.strip_prefix("commit:"))
        .map(|c| c.trim().to_owned())
        .unwrap_or_default();
    (version, commit)
}

/// The runtime berth would use: its name, path, version and commit (empty
/// when it cannot tell).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuntimeInfo {
    /// `runc`, `crun` or the binary's name.
    pub name: String,
    /// The binary.
    pub path: String,
    /// Its version.
    pub version: String,
    /// Its commit.
    pub commit: String,
}

impl RuntimeInfo {
    /// Asks the runtime `choice` (`--runtime`, or berth's default) for its
    /// version.
    pub fn probe(choice: Option<&str>) -> Option<Self> {
        let path = crate::container::runc::choose(choice).ok()?;
        let out = std::process::Command::new(&path)
            .arg("--version")
            .output()
            .ok();
        let text = out
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let (version, commit) = parse_runtime_version(&text);
        Some(Self {
            name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            path: path.display().to_string(),
            version,
            commit,
        })
    }
}

/// What `version` and `info` print: `default` of `data`, or with
/// `-f/--format` `json` or a Go template over Docker's field names, the
/// output aligned as docker's tabwriter (`min_width` 20 for `version`, 0
/// for `info`), with a final newline.
fn render(
    format: Option<&str>,
    data: &Value,
    min_width: usize,
    default: fn(&Value) -> String,
) -> Result<String, Failure> {
    let Some(format) = format.filter(|f| !f.is_empty()) else {
        return Ok(default(data));
    };
    let text = match InspectFormat::parse(Some(format))
        .map_err(|e| Failure::new(TEMPLATE_ERROR_CODE, e))?
    {
        InspectFormat::Template(t) => {
            let rendered = template::render(&t, &from_json(data));
            if let Some(e) = rendered.error {
                return Err(Failure::new(1, format!("template: {e}")));
            }
            rendered.output
        }
        _ => serde_json::to_string(data).unwrap_or_default(),
    };
    Ok(align(&format!("{text}\n"), min_width, 1))
}

/// A JSON value as text (strings without quotes, numbers as they are).
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The kernel's release.
fn kernel_version() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::tests::berth;

    #[test]
    fn runtime_versions_read_from_runc_and_crun() {
        let runc =
            "runc version 1.1.5+ds1\ncommit: 1.1.5+ds1-1+deb12u1\nspec: 1.0.2-dev\ngo: go1.19.8\n";
        assert_eq!(
            parse_runtime_version(runc),
            ("1.1.5+ds1".to_owned(), "1.1.5+ds1-1+deb12u1".to_owned())
        );
        let crun =
            "crun version 1.8.1\ncommit: f8a096be\nrundir: /run/crun\nspec: 1.0.0\n+SYSTEMD\n";
        assert_eq!(
            parse_runtime_version(crun),
            ("1.8.1".to_owned(), "f8a096be".to_owned())
        );
        assert_eq!(parse_runtime_version(""), (String::new(), String::new()));
    }

    #[test]
    fn formats_are_json_or_templates_and_aligned() {
        let data = serde_json::json!({"A": {"B": "x"}, "N": 2});
        let default = |_: &Value| "default".to_owned();
        assert_eq!(render(None, &data, 20, default).unwrap(), "default");
        assert_eq!(
            render(Some("json"), &data, 20, default).unwrap(),
            "{\"A\":{\"B\":\"x\"},\"N\":2}\n"
        );
        assert_eq!(
            render(Some("{{.A.B}}\t{{.N}}"), &data, 0, default).unwrap(),
            "x 2\n"
        );
        assert_eq!(
            render(Some("{{.A"), &data, 0, default).unwrap_err().code,
            64
        );
    }

    #[test]
    fn system_alone_prints_its_help() {
        let (code, out, err) = berth(&["system"], "");
        assert_eq!((code, out.as_str()), (0, ""));
        for command in ["df", "info", "prune"] {
            assert!(err.contains(command), "{command} missing from {err}");
        }
        let (code, _, err) = berth(&["system", "frob"], "");
        assert_eq!(code, 1);
        assert!(err.starts_with("berth: unknown command: berth system frob\n"));
    }

    #[test]
    fn an_unreachable_netd_is_reported() {
        let err = netd_version("/nonexistent/netd.sock").unwrap_err();
        assert!(err.starts_with("Cannot connect to netd"), "{err}");
    }
}
