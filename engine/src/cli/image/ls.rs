//! `berth images` / `berth image ls`.

use std::path::Path;

use chrono::Utc;
use clap::Args;

use super::format::{image_rows, images_format, images_header};
use super::{Opened, daemon, open_locked};
use crate::cli::arity::{Arity, check_arity};
use crate::cli::exit::Failure;
use crate::cli::flags::{ListFilter, ListFormat};
use crate::cli::io::Io;
use crate::format::write_list;
use crate::image::filter::{ImageFilters, LIST_KEYS};
use crate::image::summaries;

/// The usage line under the command path `path`.
pub fn usage(path: &str) -> String {
    format!("{path} [OPTIONS] [REPOSITORY[:TAG]]")
}

/// `berth images`.
#[derive(Debug, Args)]
pub struct LsArgs {
    /// Only show images of this repository (and tag)
    #[arg(value_name = "REPOSITORY[:TAG]")]
    pub reference: Vec<String>,
    /// Show all images (default hides intermediate images)
    #[arg(short, long)]
    pub all: bool,
    /// Show digests
    #[arg(long)]
    pub digests: bool,
    /// `-f, --filter`.
    #[command(flatten)]
    pub filters: ListFilter,
    /// `--format`.
    #[command(flatten)]
    pub format: ListFormat,
    /// Don't truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Only show image IDs
    #[arg(short, long)]
    pub quiet: bool,
}

impl LsArgs {
    /// Lists the images.
    pub fn run(self, path: &str, root: &Path, io: &mut Io<'_>) -> Result<(), Failure> {
        check_arity(path, &usage(path), Arity::AtMost(1), self.reference.len())?;
        let Opened {
            store,
            lock: _lock,
            state,
        } = open_locked(root, false)?;
        let mut filters = self.filters.filter.clone();
        filters.extend(self.reference.iter().map(|r| format!("reference={r}")));
        let created_of = |name: &str| {
            let id = state.resolve(name)?;
            Ok(store.config(&id)?.0.created_time())
        };
        let now = Utc::now();
        let filters =
            ImageFilters::parse(&filters, LIST_KEYS, created_of, now).map_err(|e| daemon(&e))?;
        let images = summaries(&store, &state).map_err(|e| daemon(&e))?;
        let rows: Vec<_> = images
            .iter()
            .filter_map(|image| {
                let tags = filters.keep(image, self.all)?;
                Some(image_rows(image, &tags, !self.no_trunc, now))
            })
            .flatten()
            .collect();
        let format = images_format(self.format.get(), self.quiet, self.digests);
        let out = write_list(&format, &rows, &images_header()).map_err(|e| Failure::new(1, e))?;
        io.stdout.write_all(out.as_bytes())?;
        Ok(())
    }
}
