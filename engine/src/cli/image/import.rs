//! `berth import` / `berth image import`.

use std::fs::File;
use std::path::Path;

use clap::Args;

use super::{Opened, daemon, open_locked};
use crate::cli::exit::Failure;
use crate::cli::io::Io;
use crate::image::import::{ImportOptions, import};
use crate::image::reference::Reference;

/// The usage line under the command path `path`.
pub fn usage(path: &str) -> String {
    format!("{path} [OPTIONS] file|URL|- [REPOSITORY[:TAG]]")
}

/// `berth import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The tarball (`-` for standard input), then the image's tag
    #[arg(value_name = "ARG")]
    pub args: Vec<String>,
    /// Apply Dockerfile instruction to the created image
    #[arg(short, long, value_name = "list")]
    pub change: Vec<String>,
    /// Set commit message for imported image
    #[arg(short, long, value_name = "string")]
    pub message: Option<String>,
    /// Set platform if server is multi-platform capable
    #[arg(long, value_name = "string")]
    pub platform: Option<String>,
}

impl ImportArgs {
    /// Imports the tarball and prints the new image's id.
    pub fn run(self, path: &str, root: &Path, io: &mut Io<'_>) -> Result<(), Failure> {
        let usage = usage(path);
        if self.args.is_empty() || self.args.len() > 2 {
            return Err(Failure::new(
                1,
                format!(
                    "berth: '{path}' requires at least 1 and at most 2 arguments\n\n\
                     Usage:  {usage}\n\nSee '{path} --help' for more information"
                ),
            ));
        }
        let source = &self.args[0];
        if source.starts_with("http://") || source.starts_with("https://") {
            return Err(Failure::new(
                1,
                "berth: importing from a URL is not supported",
            ));
        }
        let reference = match self.args.get(1) {
            Some(r) => Some(Reference::parse(r).map_err(|e| daemon(&e.into()))?),
            None => None,
        };
        let options = ImportOptions {
            message: self.message,
            changes: self.change,
            reference,
        };
        let Opened {
            store,
            lock,
            mut state,
        } = open_locked(root, true)?;
        let id = if source == "-" {
            import(&store, &mut state, &mut *io.stdin, &options, &lock)
        } else {
            let file =
                File::open(source).map_err(|e| Failure::new(1, format!("open {source}: {e}")))?;
            import(&store, &mut state, file, &options, &lock)
        }
        .map_err(|e| daemon(&e))?;
        store.save_state(&state, &lock).map_err(|e| daemon(&e))?;
        writeln!(io.stdout, "{id}")?;
        Ok(())
    }
}
