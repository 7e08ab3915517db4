//! `berth image prune`.

use std::path::Path;

use chrono::Utc;
use clap::Args;

use super::{daemon, image_users, open_store};
use crate::cli::arity::{Arity, check_arity};
use crate::cli::exit::Failure;
use crate::cli::flags::PruneFlags;
use crate::cli::io::Io;
use crate::format::units::human_size;
use crate::image::delete::DeleteRecord;
use crate::image::filter::{ImageFilters, PRUNE_KEYS};
use crate::image::{remove, summaries};

const PATH: &str = "berth image prune";
const USAGE: &str = "berth image prune [OPTIONS]";

/// The question before pruning dangling images.
pub const WARNING_DANGLING: &str = "WARNING! This will remove all dangling images.\n\
                                    Are you sure you want to continue? [y/N] ";
/// The question before pruning all unused images.
pub const WARNING_ALL: &str = "WARNING! This will remove all images without at least one container associated to them.\n\
                               Are you sure you want to continue? [y/N] ";

/// `berth image prune`.
#[derive(Debug, Args)]
#[command(override_usage = USAGE)]
pub struct PruneArgs {
    /// Arguments (an error).
    #[arg(hide = true)]
    pub extra: Vec<String>,
    /// Remove all unused images, not just dangling ones
    #[arg(short, long)]
    pub all: bool,
    /// `--filter`, `-f, --force`.
    #[command(flatten)]
    pub prune: PruneFlags,
}

impl PruneArgs {
    /// Asks (unless forced), removes the unused images, and reports.
    pub fn run(self, root: &Path, io: &mut Io<'_>) -> Result<(), Failure> {
        check_arity(PATH, USAGE, Arity::None, self.extra.len())?;
        let warning = if self.all {
            WARNING_ALL
        } else {
            WARNING_DANGLING
        };
        if !self.prune.force.confirmed(io, warning)? {
            return Ok(());
        }
        let store = open_store(root)?;
        let users = image_users(root);
        let filters = ImageFilters::parse(
            &self.prune.filter,
            PRUNE_KEYS,
            |_| Ok(Utc::now()),
            Utc::now(),
        )
        .map_err(|e| daemon(&e))?;
        let state = store.state().map_err(|e| daemon(&e))?;
        let mut names = Vec::new();
        for image in summaries(&store, &state).map_err(|e| daemon(&e))? {
            let candidate = if self.all {
                true
            } else {
                image.tags.is_empty() && !image.has_children
            };
            if !candidate
                || filters.keep(&image, true).is_none()
                || !users.users_of(&image.id).is_empty()
            {
                continue;
            }
            if image.tags.is_empty() {
                names.push(image.id.hex());
            } else {
                names.extend(image.tags.iter().map(ToString::to_string));
            }
        }
        let (mut records, mut reclaimed) = (Vec::new(), 0);
        for name in names {
            // Another image may have gone with an earlier one; skip errors
            // as docker does.
            if let Ok(removal) = remove(&store, &name, false, users.as_ref()) {
                records.extend(removal.records);
                reclaimed += removal.reclaimed;
            }
        }
        io.stdout
            .write_all(report(&records, reclaimed).as_bytes())?;
        Ok(())
    }
}

/// `Deleted Images:` with `untagged: …` / `deleted: …` lines and a blank
/// line when anything went, then `Total reclaimed space: …`.
pub fn report(records: &[DeleteRecord], reclaimed: u64) -> String {
    let mut out = String::new();
    if !records.is_empty() {
        out.push_str("Deleted Images:\n");
        for record in records {
            match record {
                DeleteRecord::Untagged(r) => out.push_str(&format!("untagged: {r}\n")),
                DeleteRecord::Deleted(d) => out.push_str(&format!("deleted: {d}\n")),
            }
        }
        out.push('\n');
    }
    out.push_str(&format!(
        "Total reclaimed space: {}\n",
        human_size(reclaimed)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::Digest;

    #[test]
    fn the_report_reads_as_dockers() {
        assert_eq!(report(&[], 0), "Total reclaimed space: 0B\n");
        let d = Digest::of(b"x");
        assert_eq!(
            report(
                &[
                    DeleteRecord::Untagged("a:latest".to_owned()),
                    DeleteRecord::Deleted(d)
                ],
                1_500_000
            ),
            format!(
                "Deleted Images:\nuntagged: a:latest\ndeleted: {d}\n\nTotal reclaimed space: 1.5MB\n"
            )
        );
    }
}
