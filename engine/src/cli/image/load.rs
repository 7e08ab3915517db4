//! `berth load` / `berth image load`.

use std::fs::File;
use std::path::Path;

use clap::Args;

use super::{Opened, daemon, open_locked};
use crate::cli::arity::{Arity, check_arity};
use crate::cli::exit::Failure;
use crate::cli::io::Io;
use crate::image::archive::load;

/// The usage line under the command path `path`.
pub fn usage(path: &str) -> String {
    format!("{path} [OPTIONS]")
}

/// `berth load`.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Arguments (an error).
    #[arg(hide = true)]
    pub extra: Vec<String>,
    /// Read from tar archive file, instead of STDIN
    #[arg(short, long, value_name = "string")]
    pub input: Option<String>,
    /// Suppress the load output
    #[arg(short, long)]
    pub quiet: bool,
    /// Load only the given platform
    #[arg(long, value_name = "strings")]
    pub platform: Vec<String>,
}

impl LoadArgs {
    /// Loads the archive and prints what it loaded.
    pub fn run(self, path: &str, root: &Path, io: &mut Io<'_>) -> Result<(), Failure> {
        check_arity(path, &usage(path), Arity::None, self.extra.len())?;
        let Opened {
            store,
            lock,
            mut state,
        } = open_locked(root, true)?;
        let lines = match &self.input {
            Some(input) => {
                let file =
                    File::open(input).map_err(|e| Failure::new(1, format!("open {input}: {e}")))?;
                load(&store, &mut state, file, &lock)
            }
            None => load(&store, &mut state, &mut *io.stdin, &lock),
        }
        .map_err(|e| daemon(&e))?;
        store.save_state(&state, &lock).map_err(|e| daemon(&e))?;
        for line in lines {
            writeln!(io.stdout, "{line}")?;
        }
        Ok(())
    }
}
