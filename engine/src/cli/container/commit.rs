//! `berth commit [-a AUTHOR] [-m MESSAGE] [-c CHANGE]... [-p] CONTAINER
//! [REPOSITORY[:TAG]]`: a new image from the container's changes; prints
//! its id.

use clap::{ArgAction, Args};

use crate::cli::exit::Failure;
use crate::cli::global::Globals;
use crate::cli::io::Io;
use crate::container::Status;
use crate::container::commit::{CommitOptions, commit};
use crate::image::reference::{Reference, ReferenceError};

/// `commit`.
#[derive(Debug, Args)]
pub struct CommitArgs {
    /// Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")
    #[arg(short = 'a', long, value_name = "string")]
    pub author: Option<String>,
    /// Apply Dockerfile instruction to the created image
    #[arg(short = 'c', long, value_name = "list")]
    pub change: Vec<String>,
    /// Commit message
    #[arg(short = 'm', long, value_name = "string")]
    pub message: Option<String>,
    /// Pause container during commit
    #[arg(
        short = 'p',
        long,
        value_name = "bool",
        default_value_t = true,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        action = ArgAction::Set
    )]
    pub pause: bool,
    /// The container
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    /// The new image's name
    #[arg(value_name = "REPOSITORY[:TAG]")]
    pub reference: Option<String>,
}

fn daemon(message: impl std::fmt::Display) -> Failure {
    Failure::new(1, format!("Error response from daemon: {message}"))
}

/// Runs `commit`.
pub fn run(a: &CommitArgs, g: &Globals, io: &mut Io<'_>) -> Result<(), Failure> {
    // The docker client checks the name before asking.
    let reference = match a.reference.as_deref().filter(|r| !r.is_empty()) {
        Some(r) => {
            let parsed = Reference::parse(r).map_err(|e| Failure::new(1, e.to_string()))?;
            if parsed.digest.is_some() {
                return Err(Failure::new(1, ReferenceError::TagWithDigest.to_string()));
            }
            Some(parsed)
        }
        None => None,
    };
    let engine = g.engine()?;
    let c = engine.get(&a.container).map_err(daemon)?;
    let opts = CommitOptions {
        author: a.author.clone().unwrap_or_default(),
        message: a.message.clone().unwrap_or_default(),
        changes: a.change.clone(),
        reference,
    };
    // Frozen meanwhile, so that the layer is one moment's.
    let pause = a.pause && c.state.status == Status::Running;
    if pause {
        engine.runtime_of(&c).pause(&c.id, true).map_err(daemon)?;
    }
    let upper = engine.containers.dir_of(&c.id).join("upper");
    let made = commit(&g.root, &upper, &c, &opts);
    if pause && let Err(e) = engine.runtime_of(&c).pause(&c.id, false) {
        // The commit is made all the same; the container stays frozen.
        crate::warn::container(&c.id, "resuming the container", &e);
    }
    let id = made.map_err(daemon)?;
    writeln!(io.stdout, "{id}")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::cli::tests::berth;

    #[test]
    fn bad_names_are_refused_before_anything_is_read() {
        let (code, _, err) = berth(&["commit", "c", "Bad:Name:x"], "");
        assert_eq!(code, 1);
        assert!(err.starts_with("invalid reference format"), "{err}");
    }

    #[test]
    fn pause_takes_dockers_bool_forms() {
        use clap::Parser;
        for (args, want) in [
            (&["commit", "c"][..], true),
            (&["commit", "-p", "c"], true),
            (&["commit", "--pause=false", "c"], false),
            (&["commit", "-p=false", "c", "img"], false),
        ] {
            let cli = crate::cli::command::Cli::try_parse_from(
                std::iter::once("berth").chain(args.iter().copied()),
            )
            .unwrap();
            let Some(crate::cli::command::TopCommand::ContainerShortcut(cmd)) = cli.command else {
                panic!("{args:?}");
            };
            let crate::cli::container::ContainerCommand::Commit(a) = *cmd else {
                panic!("{args:?}");
            };
            assert_eq!((a.pause, a.container.as_str()), (want, "c"), "{args:?}");
        }
    }
}
