//! `berth diff CONTAINER`: `A`, `C` and `D` lines for what the container
//! added, changed and deleted in its root file system.

use std::path::PathBuf;

use clap::Args;

use crate::cli::exit::Failure;
use crate::cli::global::Globals;
use crate::cli::io::Io;
use crate::container::changes::container_changes;

/// `diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The container
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

/// Runs `diff`.
pub fn run(a: &DiffArgs, g: &Globals, io: &mut Io<'_>) -> Result<(), Failure> {
    let engine = g.engine()?;
    let c = engine
        .get(&a.container)
        .map_err(|e| Failure::new(1, format!("Error response from daemon: {e}")))?;
    let upper = engine.containers.dir_of(&c.id).join("upper");
    let lowers: Vec<PathBuf> = c.lower_dirs.iter().map(PathBuf::from).collect();
    let changes = container_changes(&upper, &lowers)
        .map_err(|e| Failure::new(1, format!("Error response from daemon: {e}")))?;
    let mut out = String::new();
    for change in changes {
        out.push(change.kind.letter());
        out.push(' ');
        out.push_str(&change.path);
        out.push('\n');
    }
    io.stdout.write_all(out.as_bytes())?;
    Ok(())
}
