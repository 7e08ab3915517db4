//! `berth volume inspect`.

use std::path::Path;

use clap::Args;

use super::open;
use crate::cli::arity::{Arity, check_arity};
use crate::cli::exit::Failure;
use crate::cli::flags::InspectFlags;
use crate::cli::io::Io;
use crate::format::inspect::Inspector;

const PATH: &str = "berth volume inspect";
const USAGE: &str = "berth volume inspect [OPTIONS] VOLUME [VOLUME...]";

/// `berth volume inspect`.
#[derive(Debug, Args)]
#[command(override_usage = USAGE)]
pub struct InspectArgs {
    /// Volumes, by name
    #[arg(value_name = "VOLUME")]
    pub volumes: Vec<String>,
    /// `-f, --format`.
    #[command(flatten)]
    pub format: InspectFlags,
}

impl InspectArgs {
    /// Prints the volumes; those not found are reported on standard
    /// error, and the exit code is then 1.
    pub fn run(self, root: &Path, io: &mut Io<'_>) -> Result<(), Failure> {
        check_arity(PATH, USAGE, Arity::AtLeast(1), self.volumes.len())?;
        let format = self.format.parse()?;
        let volumes = open(root)?;
        let mut inspector = Inspector::new(format, |_| {});
        for name in &self.volumes {
            match volumes.get(name) {
                Ok(v) => inspector.add(v),
                Err(e) => inspector.add_error(format!("Error response from daemon: {e}")),
            }
        }
        let (out, errors) = inspector.finish();
        io.stdout.write_all(out.as_bytes())?;
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Failure::new(1, errors.join("\n")))
        }
    }
}
