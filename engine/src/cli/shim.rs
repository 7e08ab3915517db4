//! The hidden `berth shim ID`: the per-container shim (see
//! [`crate::container::shim`]) when berth executes itself afresh for it.

use clap::Args;

use super::exit::Failure;
use super::global::Globals;
use crate::container::shim::{self, ShimConfig};

/// The hidden `berth shim ID`.
#[derive(Debug, Args)]
pub struct ShimArgs {
    /// Wait for an attached command before starting the process
    #[arg(long)]
    pub wait_attach: bool,
    /// The container
    pub id: String,
}

/// Runs the shim (never returns to the command line's dispatcher).
pub fn run(a: &ShimArgs, g: &Globals) -> Result<(), Failure> {
    let runtime = crate::container::runc::choose(g.runtime.as_deref())
        .map_err(|e| Failure::new(125, e.to_string()))?;
    let code = shim::run(&ShimConfig {
        root: g.root.clone(),
        runroot: g.runroot.clone(),
        runtime,
        netd_host: g.netd_host.clone(),
        id: a.id.clone(),
        wait_attach: a.wait_attach,
        record: None,
    });
    if code == 0 {
        Ok(())
    } else {
        Err(Failure::new(code, String::new()))
    }
}
