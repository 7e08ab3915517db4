//! `berth volume create`.

use std::path::Path;

use clap::Args;

use super::{daemon, open};
use crate::cli::arity::{Arity, check_arity};
use crate::cli::exit::Failure;
use crate::cli::io::Io;
use crate::cli::opts::{kv_map, validate_label};
use crate::volume::VolumeMeta;

const PATH: &str = "berth volume create";
const USAGE: &str = "berth volume create [OPTIONS] [VOLUME]";

/// `berth volume create`.
#[derive(Debug, Args)]
#[command(override_usage = USAGE)]
pub struct CreateArgs {
    /// The volume's name (random when none)
    #[arg(value_name = "VOLUME")]
    pub names: Vec<String>,
    /// Specify volume driver name
    #[arg(short, long, value_name = "string", default_value = "local")]
    pub driver: String,
    /// Set metadata for a volume
    #[arg(long, value_name = "list", value_parser = validate_label)]
    pub label: Vec<String>,
    /// Set driver specific options
    #[arg(short = 'o', long = "opt", value_name = "map")]
    pub opt: Vec<String>,
    /// Specify volume name
    #[arg(long, value_name = "string", hide = true)]
    pub name: Option<String>,
}

impl CreateArgs {
    /// Makes the volume and prints its name.
    pub fn run(self, root: &Path, io: &mut Io<'_>) -> Result<(), Failure> {
        check_arity(PATH, USAGE, Arity::AtMost(1), self.names.len())?;
        let name = match (self.names.first(), &self.name) {
            (Some(_), Some(_)) => {
                return Err(Failure::new(
                    1,
                    "conflicting options: cannot specify a volume-name through both --name and as a positional arg",
                ));
            }
            (Some(n), None) | (None, Some(n)) => n.clone(),
            (None, None) => netd_api::new_id(),
        };
        let meta = VolumeMeta {
            created_at: crate::container::logs::now(),
            driver: self.driver,
            labels: Some(kv_map(&self.label)),
            options: Some(kv_map(&self.opt)),
        };
        let volume = open(root)?.create(&name, meta).map_err(|e| daemon(&e))?;
        writeln!(io.stdout, "{}", volume.name)?;
        Ok(())
    }
}
