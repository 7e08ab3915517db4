//! `berth tag` / `berth image tag`.

use std::path::Path;

use chrono::Utc;
use clap::Args;

use super::{Opened, daemon, open_locked};
use crate::cli::arity::{Arity, check_arity};
use crate::cli::exit::Failure;
use crate::cli::io::Io;
use crate::image::config::go_rfc3339_nano;
use crate::image::reference::{Reference, ReferenceError, is_full_hex_id};

/// The usage line under the command path `path`.
pub fn usage(path: &str) -> String {
    format!("{path} SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]")
}

/// `berth tag`.
#[derive(Debug, Args)]
pub struct TagArgs {
    /// The image and the new tag
    #[arg(value_name = "IMAGE")]
    pub images: Vec<String>,
}

impl TagArgs {
    /// Points the target tag at the source image.
    pub fn run(self, path: &str, root: &Path, _io: &mut Io<'_>) -> Result<(), Failure> {
        check_arity(path, &usage(path), Arity::Exact(2), self.images.len())?;
        // The docker client checks both references before asking.
        let invalid = |name: &str, e: ReferenceError| {
            Failure::new(
                1,
                format!("Error parsing reference: {name:?} is not a valid repository/tag: {e}"),
            )
        };
        let (source, target) = (&self.images[0], &self.images[1]);
        if !is_full_hex_id(source) && !source.starts_with("sha256:") {
            Reference::parse(source).map_err(|e| invalid(source, e))?;
        }
        let target = Reference::parse(target).map_err(|e| invalid(target, e))?;
        if target.digest.is_some() {
            return Err(Failure::new(1, ReferenceError::TagWithDigest.to_string()));
        }
        let Opened {
            store,
            lock,
            mut state,
        } = open_locked(root, true)?;
        let id = state.resolve(&self.images[0]).map_err(|e| daemon(&e))?;
        state.tag(target.with_default_tag(), id, &go_rfc3339_nano(&Utc::now()));
        store.save_state(&state, &lock).map_err(|e| daemon(&e))
    }
}
