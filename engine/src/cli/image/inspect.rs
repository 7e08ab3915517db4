//! `berth image inspect`.

use std::path::Path;

use clap::Args;

use super::{Opened, open_locked};
use crate::cli::arity::{Arity, check_arity};
use crate::cli::exit::Failure;
use crate::cli::exit::daemon_message;
use crate::cli::flags::InspectFlags;
use crate::cli::io::Io;
use crate::format::inspect::Inspector;
use crate::image::inspect::{ImageInspect, inspect};
use crate::image::{Digest, State, Store, layer_dirs};

const PATH: &str = "berth image inspect";
const USAGE: &str = "berth image inspect [OPTIONS] IMAGE [IMAGE...]";

/// `berth image inspect`.
#[derive(Debug, Args)]
#[command(override_usage = USAGE)]
pub struct InspectArgs {
    /// Images, by tag, id or id prefix
    #[arg(value_name = "IMAGE")]
    pub images: Vec<String>,
    /// `-f, --format`.
    #[command(flatten)]
    pub format: InspectFlags,
}

impl InspectArgs {
    /// Prints the images; those not found are reported on standard
    /// error, and the exit code is then 1.
    pub fn run(self, root: &Path, io: &mut Io<'_>) -> Result<(), Failure> {
        check_arity(PATH, USAGE, Arity::AtLeast(1), self.images.len())?;
        let format = self.format.parse()?;
        let Opened {
            store,
            lock: _lock,
            state,
        } = open_locked(root, false)?;
        let mut inspector = Inspector::new(format, add_go_aliases);
        for name in &self.images {
            match state.resolve(name).and_then(|id| view(&store, &state, &id)) {
                Ok(image) => inspector.add(image),
                Err(e) => inspector.add_error(daemon_message(&e)),
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

/// The inspect view of image `id`.
pub fn view(store: &Store, state: &State, id: &Digest) -> crate::image::Result<ImageInspect> {
    let entry = state
        .images
        .get(id)
        .ok_or_else(|| crate::image::ImageError::NotFound(id.to_string()))?;
    let (config, _) = store.config(id)?;
    let tags = state.refs_of(id).iter().map(|r| r.familiar()).collect();
    let dirs: Vec<String> = layer_dirs(store, id)?
        .iter()
        .map(|d| d.display().to_string())
        .collect();
    Ok(inspect(
        id,
        entry,
        &config,
        tags,
        store.image_size(&config),
        &dirs,
    ))
}

/// `.ID` beside `.Id`, as docker's templates see the typed struct.
fn add_go_aliases(image: &mut serde_json::Value) {
    if let Some(obj) = image.as_object_mut()
        && let Some(id) = obj.get("Id").cloned()
    {
        obj.insert("ID".to_owned(), id);
    }
}
