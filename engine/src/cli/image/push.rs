//! `berth push` / `berth image push`: Docker's output (`The push refers
//! to repository […]`, a line per layer, `TAG: digest: … size: …`), `-q`
//! for the reference only.

use std::path::Path;

use clap::Args;

use super::open_store;
use super::progress::{Progress, push_text};
use crate::cli::Io;
use crate::cli::arity::{Arity, check_arity};
use crate::cli::exit::Failure;
use crate::image::reference::Reference;
use crate::image::registry::credentials;
use crate::image::registry::push::{PushEvent, push};

/// The usage line under the command path `path`.
pub fn usage(path: &str) -> String {
    format!("{path} [OPTIONS] NAME[:TAG]")
}

/// `berth push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// The image
    #[arg(value_name = "NAME[:TAG]")]
    pub names: Vec<String>,
    /// Push all tags of an image to the repository
    #[arg(short = 'a', long = "all-tags")]
    pub all_tags: bool,
    /// Skip image signing
    #[arg(long = "disable-content-trust", hide = true)]
    pub disable_content_trust: bool,
    /// Suppress verbose output
    #[arg(short, long)]
    pub quiet: bool,
}

impl PushArgs {
    /// Pushes the image.
    pub fn run(self, path: &str, root: &Path, io: &mut Io<'_>) -> Result<(), Failure> {
        check_arity(path, &usage(path), Arity::Exact(1), self.names.len())?;
        if self.all_tags {
            return Err(Failure::new(
                1,
                "berth: push --all-tags is not supported".to_owned(),
            ));
        }
        let name = &self.names[0];
        let reference = Reference::parse(name)
            .map_err(|e| Failure::new(1, format!("invalid reference format: {name:?}: {e}")))?;
        if reference.digest.is_some() {
            return Err(Failure::new(
                1,
                "berth: cannot push a digest reference".to_owned(),
            ));
        }
        let reference = reference.with_default_tag();
        let store = open_store(root)?;
        let daemon =
            |e: &dyn std::fmt::Display| Failure::new(1, format!("Error response from daemon: {e}"));
        let credentials = credentials::lookup(&credentials::config_path(), &reference.domain)
            .map_err(|e| daemon(&e))?;
        let mut sink = std::io::sink();
        let out: &mut dyn std::io::Write = if self.quiet {
            &mut sink
        } else {
            &mut *io.stdout
        };
        writeln!(out, "The push refers to repository [{}]", reference.name())?;
        let mut progress = Progress::new(out, false);
        let mut failed_write = None;
        let pushed = push(&store, &reference, credentials, &mut |event| {
            let shown = match event {
                PushEvent::Layers(digests) => {
                    // Docker lists a push's layers top first.
                    progress.set_layers(digests.iter().map(|d| d.hex()[..12].to_owned()).collect());
                    Ok(())
                }
                PushEvent::Layer(i, status) => progress.update(i, push_text(status), false),
            };
            if let Err(e) = shown {
                failed_write.get_or_insert(e);
            }
        })
        .map_err(|e| daemon(&e))?;
        if let Some(e) = failed_write {
            return Err(e.into());
        }
        let tag = reference.tag.as_deref().unwrap_or("latest");
        if self.quiet {
            writeln!(io.stdout, "{reference}")?;
        } else {
            writeln!(
                io.stdout,
                "{tag}: digest: {} size: {}",
                pushed.digest, pushed.size
            )?;
        }
        Ok(())
    }
}
