//! `berth save` / `berth image save`.

use std::path::Path;

use clap::Args;

use super::{Opened, daemon, open_locked};
use crate::cli::arity::{Arity, check_arity};
use crate::cli::exit::Failure;
use crate::cli::io::Io;
use crate::image::ImageError;
use crate::image::archive::{save, save_selection, save_to_file};

/// The usage line under the command path `path`.
pub fn usage(path: &str) -> String {
    format!("{path} [OPTIONS] IMAGE [IMAGE...]")
}

/// `berth save`.
#[derive(Debug, Args)]
pub struct SaveArgs {
    /// Images, by tag, repository, id or id prefix
    #[arg(value_name = "IMAGE")]
    pub images: Vec<String>,
    /// Write to a file, instead of STDOUT
    #[arg(short, long, value_name = "string")]
    pub output: Option<String>,
    /// Save only the given platform
    #[arg(long, value_name = "strings")]
    pub platform: Vec<String>,
}

impl SaveArgs {
    /// Writes the archive.
    pub fn run(self, path: &str, root: &Path, io: &mut Io<'_>) -> Result<(), Failure> {
        check_arity(path, &usage(path), Arity::AtLeast(1), self.images.len())?;
        let Opened {
            store,
            lock: _lock,
            state,
        } = open_locked(root, false)?;
        let chosen = save_selection(&state, &self.images).map_err(|e| daemon(&e))?;
        match &self.output {
            Some(file) => {
                save_to_file(&store, &state, &chosen, Path::new(file)).map_err(|e| match e {
                    ImageError::Invalid(message) => Failure::new(1, message),
                    other => daemon(&other),
                })
            }
            None => save(&store, &state, &chosen, &mut *io.stdout).map_err(|e| daemon(&e)),
        }
    }
}
