//! `berth history` / `berth image history`.

use std::path::Path;

use chrono::Utc;
use clap::Args;

use super::format::{history_format, history_header, history_row};
use super::{Opened, daemon, open_locked};
use crate::cli::arity::{Arity, check_arity};
use crate::cli::exit::Failure;
use crate::cli::flags::ListFormat;
use crate::cli::io::Io;
use crate::format::write_list;
use crate::image::history::history;

/// The usage line under the command path `path`.
pub fn usage(path: &str) -> String {
    format!("{path} [OPTIONS] IMAGE")
}

/// `berth history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The image
    #[arg(value_name = "IMAGE")]
    pub image: Vec<String>,
    /// `--format`.
    #[command(flatten)]
    pub format: ListFormat,
    /// Print sizes and dates in human readable format
    #[arg(
        short = 'H',
        long,
        default_value_t = true,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        action = clap::ArgAction::Set,
        value_name = "bool"
    )]
    pub human: bool,
    /// Don't truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Only show image IDs
    #[arg(short, long)]
    pub quiet: bool,
}

impl HistoryArgs {
    /// Prints the image's history, newest step first.
    pub fn run(self, path: &str, root: &Path, io: &mut Io<'_>) -> Result<(), Failure> {
        check_arity(path, &usage(path), Arity::Exact(1), self.image.len())?;
        let Opened {
            store,
            lock: _lock,
            state,
        } = open_locked(root, false)?;
        let id = state.resolve(&self.image[0]).map_err(|e| daemon(&e))?;
        let (config, _) = store.config(&id).map_err(|e| daemon(&e))?;
        let mut chain = Vec::new();
        let mut next = Some(id);
        while let Some(current) = next.filter(|c| state.images.contains_key(c)) {
            let tags = state
                .refs_of(&current)
                .iter()
                .map(|r| r.familiar())
                .collect();
            chain.push((current, tags));
            next = state.images[&current].parent;
        }
        let items = history(&config, &chain, |d| store.layer_size(d)).map_err(|e| daemon(&e))?;
        let now = Utc::now();
        let rows: Vec<_> = items
            .iter()
            .map(|item| history_row(item, !self.no_trunc, self.human, now))
            .collect();
        let format = history_format(self.format.get(), self.quiet);
        let out = write_list(&format, &rows, &history_header(self.human))
            .map_err(|e| Failure::new(1, e))?;
        io.stdout.write_all(out.as_bytes())?;
        Ok(())
    }
}
