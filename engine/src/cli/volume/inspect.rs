//! `berth volume inspect`.

use std::path::Path;

use clap::Args;

use super::open;
use crate::cli::Io;
use crate::cli::exit::Failure;
use crate::cli::usage::{Arity, check_arity};
use crate::format::inspect::{InspectFormat, Inspector};

const PATH: &str = "berth volume inspect";
const USAGE: &str = "berth volume inspect [OPTIONS] VOLUME [VOLUME...]";
/// Docker's exit code for a template that does not parse.
const TEMPLATE_ERROR_CODE: i32 = 64;

/// `berth volume inspect`.
#[derive(Debug, Args)]
#[command(override_usage = USAGE)]
pub struct InspectArgs {
    /// Volumes, by name
    #[arg(value_name = "VOLUME")]
    pub volumes: Vec<String>,
    /// Format output using a custom template:
    /// 'json':             Print in JSON format
    /// 'TEMPLATE':         Print output using the given Go template.
    #[arg(short = 'f', long, value_name = "string", verbatim_doc_comment)]
    pub format: Option<String>,
}

impl InspectArgs {
    /// Prints the volumes; those not found are reported on standard
    /// error, and the exit code is then 1.
    pub fn run(self, root: &Path, io: &mut Io<'_>) -> Result<(), Failure> {
        check_arity(PATH, USAGE, Arity::AtLeast(1), self.volumes.len())?;
        let format = InspectFormat::parse(self.format.as_deref())
            .map_err(|e| Failure::new(TEMPLATE_ERROR_CODE, e))?;
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
