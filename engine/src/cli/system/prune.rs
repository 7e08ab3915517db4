//! `berth system prune`: stopped containers, networks no container uses
//! (through netd), with `--volumes` the anonymous volumes no container
//! uses, and dangling images (with `--all` every image no container
//! uses); each part's report as its own prune prints it, then the total,
//! as `docker system prune` does. The container and image parts are
//! `container prune -f` and `image prune -f [-a]` themselves.

use std::path::Path;

use clap::Args;

use super::with_netd;
use crate::cli::container::lifecycle;
use crate::cli::exit::Failure;
use crate::cli::flags::{Force, PruneFlags};
use crate::cli::global::Globals;
use crate::cli::io::Io;
use crate::cli::volume::prune::{deleted_section, prune as prune_volumes};
use crate::container::Status;
use crate::format::units::human_size;
use crate::image::{Digest, Store};
use crate::volume::filter::VolumeFilters;
use crate::volume::size::dir_size;

/// `berth system prune`.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Remove all unused images not just dangling ones
    #[arg(short, long)]
    pub all: bool,
    /// Prune anonymous volumes
    #[arg(long)]
    pub volumes: bool,
    /// `-f, --force`.
    #[command(flatten)]
    pub force: Force,
}

/// The question docker asks first.
pub fn warning(all: bool, volumes: bool) -> String {
    let mut items = vec![
        "all stopped containers",
        "all networks not used by at least one container",
    ];
    if volumes {
        items.push("all anonymous volumes not used by at least one container");
    }
    items.push(if all {
        "all images without at least one container associated to them"
    } else {
        "all dangling images"
    });
    items.push(if all {
        "all build cache"
    } else {
        "unused build cache"
    });
    let mut out = "WARNING! This will remove:\n".to_owned();
    for item in items {
        out.push_str(&format!("  - {item}\n"));
    }
    out.push_str("\nAre you sure you want to continue? [y/N] ");
    out
}

/// Runs another command with its standard output captured; its report
/// without the `Total reclaimed space` line, which the total replaces.
fn captured(
    io: &mut Io<'_>,
    f: impl FnOnce(&mut Io<'_>) -> Result<(), Failure>,
) -> Result<String, Failure> {
    let mut out = Vec::new();
    let mut nothing: &[u8] = &[];
    f(&mut Io {
        stdin: &mut nothing,
        stdout: &mut out,
        stderr: &mut *io.stderr,
    })?;
    let text = String::from_utf8_lossy(&out);
    Ok(text
        .lines()
        .filter(|l| !l.starts_with("Total reclaimed space:"))
        .map(|l| format!("{l}\n"))
        .collect())
}

/// The bytes of the unpacked layers under `root`.
fn layers_bytes(root: &Path) -> u64 {
    let Ok(store) = Store::open(root) else {
        return 0;
    };
    std::fs::read_dir(store.dir().join("layers"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Digest::from_hex(&e.file_name().to_string_lossy()).ok())
        .map(|d| store.layer_size(&d))
        .sum()
}

impl PruneArgs {
    /// Asks (unless forced), prunes each part, and reports.
    pub fn run(self, g: &Globals, io: &mut Io<'_>) -> Result<(), Failure> {
        if !self.force.confirmed(io, &warning(self.all, self.volumes))? {
            return Ok(());
        }
        let mut reclaimed = 0;
        let mut errors = Vec::new();
        // Containers: their writable layers are what goes.
        let engine = g.engine()?;
        let stopped: Vec<(String, u64)> = engine
            .list()
            .map_err(|e| Failure::new(1, e.to_string()))?
            .iter()
            .filter(|c| {
                matches!(
                    c.state.status,
                    Status::Exited | Status::Created | Status::Dead
                )
            })
            .map(|c| {
                (
                    c.id.clone(),
                    dir_size(&engine.containers.dir_of(&c.id).join("upper")),
                )
            })
            .collect();
        let report = captured(io, |cap| {
            lifecycle::prune(
                &lifecycle::PruneArgs {
                    force: Force { force: true },
                },
                g,
                cap,
            )
        })?;
        reclaimed += stopped
            .iter()
            .filter(|(id, _)| report.lines().any(|l| l == id))
            .map(|(_, size)| size)
            .sum::<u64>();
        io.stdout.write_all(report.as_bytes())?;
        // Networks, through netd.
        match with_netd(&g.netd_host, async |c| c.networks_prune(None).await) {
            Ok(r) => io.stdout.write_all(
                crate::cli::network::prune::deleted_report(&r.networks_deleted).as_bytes(),
            )?,
            Err(e) => errors.push(e),
        }
        if self.volumes {
            let pruned = prune_volumes(g, &VolumeFilters::default())?;
            let section = deleted_section(&pruned);
            if !section.is_empty() {
                writeln!(io.stdout, "{section}")?;
            }
            reclaimed += pruned.reclaimed;
        }
        // Images: what their layers took.
        let before = layers_bytes(&g.root);
        let report = captured(io, |cap| {
            crate::cli::image::prune::PruneArgs {
                extra: Vec::new(),
                all: self.all,
                prune: PruneFlags {
                    filter: Vec::new(),
                    force: Force { force: true },
                },
            }
            .run(&g.root, cap)
        })?;
        reclaimed += before.saturating_sub(layers_bytes(&g.root));
        io.stdout.write_all(report.as_bytes())?;
        writeln!(
            io.stdout,
            "Total reclaimed space: {}",
            human_size(reclaimed)
        )?;
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Failure::new(1, errors.join("\n")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_question_lists_what_goes() {
        assert_eq!(
            warning(false, false),
            "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n  - all dangling images\n  - unused build cache\n\nAre you sure you want to continue? [y/N] "
        );
        let all = warning(true, true);
        assert!(all.contains("  - all anonymous volumes not used by at least one container\n  - all images without at least one container associated to them\n  - all build cache\n"), "{all}");
    }

    #[test]
    fn a_no_prunes_nothing() {
        let (code, out, _) = crate::cli::tests::berth(&["system", "prune"], "n\n");
        assert_eq!((code, out), (0, warning(false, false)));
    }
}
