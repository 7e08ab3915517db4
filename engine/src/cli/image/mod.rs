//! `berth image …` and its top-level shortcuts (`images`, `rmi`, `tag`,
//! `import`, `load`, `save`, `history`), over the image store under
//! `--root`.

pub mod format;
pub mod history;
pub mod import;
pub mod inspect;
pub mod load;
pub mod ls;
pub mod progress;
pub mod prune;
pub mod pull;
pub mod push;
pub mod rm;
pub mod save;
pub mod tag;

use std::path::Path;

use clap::{Args, Subcommand};

use super::exit::Failure;
use super::io::Io;
use crate::image::store::Lock;
use crate::image::{ImageError, ImageUsers, State, Store};

/// The `image` usage line.
const USAGE: &str = "berth image COMMAND";

/// `berth image`.
#[derive(Debug, Args)]
#[command(override_usage = USAGE)]
pub struct ImageArgs {
    /// The command.
    #[command(subcommand)]
    pub command: Option<ImageCommand>,
}

/// The `image` commands.
#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Show the history of an image
    #[command(override_usage = history::usage("berth image history"))]
    History(history::HistoryArgs),
    /// Import the contents from a tarball to create a filesystem image
    #[command(override_usage = import::usage("berth image import"))]
    Import(import::ImportArgs),
    /// Display detailed information on one or more images
    Inspect(inspect::InspectArgs),
    /// Load an image from a tar archive or STDIN
    #[command(override_usage = load::usage("berth image load"))]
    Load(load::LoadArgs),
    /// List images
    #[command(visible_alias = "list", override_usage = ls::usage("berth image ls"))]
    Ls(ls::LsArgs),
    /// Remove unused images
    Prune(prune::PruneArgs),
    /// Download an image from a registry
    #[command(override_usage = pull::usage("berth image pull"))]
    Pull(pull::PullArgs),
    /// Upload an image to a registry
    #[command(override_usage = push::usage("berth image push"))]
    Push(push::PushArgs),
    /// Remove one or more images
    #[command(visible_alias = "remove", override_usage = rm::usage("berth image rm"))]
    Rm(rm::RmArgs),
    /// Save one or more images to a tar archive (streamed to STDOUT by default)
    #[command(override_usage = save::usage("berth image save"))]
    Save(save::SaveArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    #[command(override_usage = tag::usage("berth image tag"))]
    Tag(tag::TagArgs),
    /// Anything else: not an image command.
    #[command(external_subcommand)]
    Unknown(Vec<String>),
}

/// The image commands docker also has at the top level.
#[derive(Debug, Subcommand)]
pub enum ShortcutCommand {
    /// Show the history of an image
    #[command(override_usage = history::usage("berth history"))]
    History(history::HistoryArgs),
    /// List images
    #[command(override_usage = ls::usage("berth images"))]
    Images(ls::LsArgs),
    /// Import the contents from a tarball to create a filesystem image
    #[command(override_usage = import::usage("berth import"))]
    Import(import::ImportArgs),
    /// Load an image from a tar archive or STDIN
    #[command(override_usage = load::usage("berth load"))]
    Load(load::LoadArgs),
    /// Download an image from a registry
    #[command(override_usage = pull::usage("berth pull"))]
    Pull(pull::PullArgs),
    /// Upload an image to a registry
    #[command(override_usage = push::usage("berth push"))]
    Push(push::PushArgs),
    /// Remove one or more images
    #[command(override_usage = rm::usage("berth rmi"))]
    Rmi(rm::RmArgs),
    /// Save one or more images to a tar archive (streamed to STDOUT by default)
    #[command(override_usage = save::usage("berth save"))]
    Save(save::SaveArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    #[command(override_usage = tag::usage("berth tag"))]
    Tag(tag::TagArgs),
}

/// Runs an `image` command on the store under `root`.
pub fn run(command: ImageCommand, root: &Path, io: &mut Io<'_>) -> Result<(), Failure> {
    let path = |name: &str| format!("berth image {name}");
    match command {
        ImageCommand::Unknown(rest) => Err(Failure::unknown_command("image", USAGE, &rest)),
        ImageCommand::History(a) => a.run(&path("history"), root, io),
        ImageCommand::Import(a) => a.run(&path("import"), root, io),
        ImageCommand::Inspect(a) => a.run(root, io),
        ImageCommand::Load(a) => a.run(&path("load"), root, io),
        ImageCommand::Ls(a) => a.run(&path("ls"), root, io),
        ImageCommand::Prune(a) => a.run(root, io),
        ImageCommand::Pull(a) => a.run(&path("pull"), root, io),
        ImageCommand::Push(a) => a.run(&path("push"), root, io),
        ImageCommand::Rm(a) => a.run(&path("rm"), root, io),
        ImageCommand::Save(a) => a.run(&path("save"), root, io),
        ImageCommand::Tag(a) => a.run(&path("tag"), root, io),
    }
}

/// Runs a top-level image command on the store under `root`.
pub fn run_shortcut(command: ShortcutCommand, root: &Path, io: &mut Io<'_>) -> Result<(), Failure> {
    match command {
        ShortcutCommand::History(a) => a.run("berth history", root, io),
        ShortcutCommand::Images(a) => a.run("berth images", root, io),
        ShortcutCommand::Import(a) => a.run("berth import", root, io),
        ShortcutCommand::Load(a) => a.run("berth load", root, io),
        ShortcutCommand::Pull(a) => a.run("berth pull", root, io),
        ShortcutCommand::Push(a) => a.run("berth push", root, io),
        ShortcutCommand::Rmi(a) => a.run("berth rmi", root, io),
        ShortcutCommand::Save(a) => a.run("berth save", root, io),
        ShortcutCommand::Tag(a) => a.run("berth tag", root, io),
    }
}

/// Opens the store under `root`.
fn open_store(root: &Path) -> Result<Store, Failure> {
    Store::open(root).map_err(|e| daemon(&e))
}

/// The store under `root` with its lock held (exclusive to change it,
/// shared to read it) and its catalogue.
struct Opened {
    store: Store,
    lock: Lock,
    state: State,
}

/// Opens and locks the store under `root` and reads its catalogue.
fn open_locked(root: &Path, exclusive: bool) -> Result<Opened, Failure> {
    let store = open_store(root)?;
    let lock = if exclusive {
        store.lock()
    } else {
        store.lock_shared()
    }
    .map_err(|e| daemon(&e))?;
    let state = store.state().map_err(|e| daemon(&e))?;
    Ok(Opened { store, lock, state })
}

/// What uses images: the containers under `root`, running or not (their
/// images cannot be deleted without force, and their layers stay).
pub fn image_users(root: &Path) -> Box<dyn ImageUsers> {
    crate::volume::users::image_users(root)
}

/// An image store error worded as docker prints daemon errors, exit 1.
fn daemon(err: &ImageError) -> Failure {
    Failure::daemon(err)
}

#[cfg(test)]
mod tests {
    use crate::cli::tests::berth;

    #[test]
    fn image_alone_prints_its_help() {
        let (code, out, err) = berth(&["image"], "");
        assert_eq!((code, out.as_str()), (0, ""));
        for command in [
            "history", "import", "inspect", "load", "ls", "prune", "rm", "save", "tag",
        ] {
            assert!(err.contains(command), "{command} missing from {err}");
        }
    }

    #[test]
    fn every_image_command_has_help() {
        for args in [
            &["image", "history"][..],
            &["image", "import"],
            &["image", "inspect"],
            &["image", "load"],
            &["image", "ls"],
            &["image", "list"],
            &["image", "prune"],
            &["image", "rm"],
            &["image", "remove"],
            &["image", "save"],
            &["image", "tag"],
            &["images"],
            &["rmi"],
            &["tag"],
            &["import"],
            &["load"],
            &["save"],
            &["history"],
        ] {
            let mut argv = args.to_vec();
            argv.push("--help");
            let (code, out, _) = berth(&argv, "");
            assert_eq!(code, 0, "{args:?}");
            assert!(out.contains("Usage: berth "), "{args:?}: {out}");
        }
    }

    #[test]
    fn an_unknown_image_command_is_an_error() {
        let (code, _, err) = berth(&["image", "frob"], "");
        assert_eq!(code, 1);
        assert!(
            err.starts_with("berth: unknown command: berth image frob\n"),
            "{err}"
        );
    }
}
