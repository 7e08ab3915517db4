//! `berth rmi` / `berth image rm`.

use std::path::Path;

use clap::Args;

use super::{image_users, open_store};
use crate::cli::arity::{Arity, check_arity};
use crate::cli::exit::Failure;
use crate::cli::exit::daemon_message;
use crate::cli::io::Io;
use crate::image::remove;

/// The usage line under the command path `path`.
pub fn usage(path: &str) -> String {
    format!("{path} [OPTIONS] IMAGE [IMAGE...]")
}

/// `berth rmi`.
#[derive(Debug, Args)]
pub struct RmArgs {
    /// Images, by tag, id or id prefix
    #[arg(value_name = "IMAGE")]
    pub images: Vec<String>,
    /// Force removal of the image
    #[arg(short, long)]
    pub force: bool,
    /// Do not delete untagged parents
    #[arg(long = "no-prune")]
    pub no_prune: bool,
}

impl RmArgs {
    /// Removes the images one by one, printing `Untagged: …` and
    /// `Deleted: …`; the errors are printed at the end, exit code 1.
    pub fn run(self, path: &str, root: &Path, io: &mut Io<'_>) -> Result<(), Failure> {
        check_arity(path, &usage(path), Arity::AtLeast(1), self.images.len())?;
        let store = open_store(root)?;
        let users = image_users(root);
        let mut errors = Vec::new();
        for name in &self.images {
            match remove(&store, name, self.force, users.as_ref()) {
                Ok(removal) => {
                    for record in &removal.records {
                        writeln!(io.stdout, "{record}")?;
                    }
                }
                Err(e) => errors.push(daemon_message(&e)),
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Failure::new(1, errors.join("\n")))
        }
    }
}
