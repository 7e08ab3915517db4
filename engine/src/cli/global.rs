//! The options every command takes (`--netd-host`, `--root`, `--runroot`,
//! `--runtime`), and the container engine they open.

use std::path::PathBuf;

use clap::Args;

use super::exit::Failure;
use crate::container::Engine;

/// The options every command takes.
#[derive(Debug, Clone, Args)]
pub struct Globals {
    /// netd's socket (unix:///path or /path)
    #[arg(
        long = "netd-host",
        env = "NETD_HOST",
        default_value = netd_api::client::DEFAULT_HOST,
        global = true,
        value_name = "string",
        help_heading = "Global Options"
    )]
    pub netd_host: String,
    /// berth's state directory (images, containers)
    #[arg(
        long,
        env = "BERTH_ROOT",
        default_value = crate::image::DEFAULT_ROOT,
        global = true,
        value_name = "string",
        help_heading = "Global Options"
    )]
    pub root: PathBuf,
    /// berth's runtime state directory (bundles, shim sockets)
    #[arg(
        long,
        env = "BERTH_RUNROOT",
        default_value = crate::container::DEFAULT_RUNROOT,
        global = true,
        value_name = "string",
        help_heading = "Global Options"
    )]
    pub runroot: PathBuf,
    /// OCI runtime: crun, runc or a path (default: crun where it works, else runc)
    #[arg(
        long,
        env = "BERTH_RUNTIME",
        global = true,
        value_name = "string",
        help_heading = "Global Options"
    )]
    pub runtime: Option<String>,
}

impl Globals {
    /// The global options that take a value, as they precede the command.
    pub const WITH_VALUE: [&str; 4] = ["--netd-host", "--root", "--runroot", "--runtime"];

    /// Opens the container engine (exit 125 when it cannot).
    pub fn engine(&self) -> Result<Engine, Failure> {
        let runtime = crate::container::runc::choose(self.runtime.as_deref())
            .map_err(|e| Failure::new(125, format!("berth: {e}")))?;
        Engine::open(
            self.root.clone(),
            self.runroot.clone(),
            runtime,
            self.netd_host.clone(),
        )
        .map_err(|e| Failure::new(125, format!("berth: {e}")))
    }
}
