//! `berth volume rm`.

use clap::Args;

use super::{container_use, open};
use crate::cli::arity::{Arity, check_arity};
use crate::cli::exit::Failure;
use crate::cli::global::Globals;
use crate::cli::io::Io;
use crate::volume::VolumeError;

const PATH: &str = "berth volume rm";
const USAGE: &str = "berth volume rm [OPTIONS] VOLUME [VOLUME...]";

/// `berth volume rm`.
#[derive(Debug, Args)]
#[command(override_usage = USAGE)]
pub struct RmArgs {
    /// Volumes, by name
    #[arg(value_name = "VOLUME")]
    pub volumes: Vec<String>,
    /// Force the removal of one or more volumes
    #[arg(short, long)]
    pub force: bool,
}

impl RmArgs {
    /// Removes the volumes one by one, printing each name; a volume in use
    /// by a container, running or not, stays. The errors come at the end,
    /// exit code 1. `--force` only forgives volumes that do not exist.
    pub fn run(self, g: &Globals, io: &mut Io<'_>) -> Result<(), Failure> {
        check_arity(PATH, USAGE, Arity::AtLeast(1), self.volumes.len())?;
        let volumes = open(&g.root)?;
        let users = container_use(g)?;
        let mut errors = Vec::new();
        for name in &self.volumes {
            match volumes.remove(name, &users) {
                Err(VolumeError::NotFound(_)) if self.force => writeln!(io.stdout, "{name}")?,
                Ok(()) => writeln!(io.stdout, "{name}")?,
                Err(e) => errors.push(format!("Error response from daemon: {e}")),
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Failure::new(1, errors.join("\n")))
        }
    }
}
