//! `berth cp CONTAINER:SRC DEST` and `berth cp SRC CONTAINER:DEST`:
//! files and directories between a container (running or not) and the
//! host, `-` for a tar stream on standard input or output.

use std::io::{IsTerminal, Read};

use clap::Args;

use crate::cli::exit::Failure;
use crate::cli::global::Globals;
use crate::cli::io::Io;
use crate::container::archive::Owner;
use crate::container::copy::{
    ContainerRoot, CopyError, from_container, split_cp_arg, to_container,
};
use crate::container::{Container, Engine};
use crate::format::units::human_size;

/// `cp`.
#[derive(Debug, Args)]
#[command(
    override_usage = "berth cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n       berth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH"
)]
pub struct CpArgs {
    /// Archive mode (copy all uid/gid information)
    #[arg(short = 'a', long)]
    pub archive: bool,
    /// Always follow symbol link in SRC_PATH
    #[arg(short = 'L', long = "follow-link")]
    pub follow_link: bool,
    /// Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// `CONTAINER:SRC_PATH`, a host path, or `-`
    #[arg(value_name = "SRC_PATH")]
    pub source: String,
    /// `CONTAINER:DEST_PATH`, a host path, or `-`
    #[arg(value_name = "DEST_PATH")]
    pub destination: String,
}

fn failed(e: &CopyError) -> Failure {
    Failure::new(1, e.to_string())
}

/// The container `name` and its root for the copy.
fn open(engine: &Engine, name: &str) -> Result<(Container, ContainerRoot), Failure> {
    let daemon = |m: String| Failure::new(1, format!("Error response from daemon: {m}"));
    let c = engine.get(name).map_err(|e| daemon(e.to_string()))?;
    let root = ContainerRoot::open(&engine.containers.dir_of(&c.id), &c)
        .map_err(|e| daemon(e.to_string()))?;
    Ok((c, root))
}

/// Standard input as a plain reader.
struct Input<'a, 'b>(&'a mut Io<'b>);

impl Read for Input<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.stdin.read(buf)
    }
}

/// Runs `cp`.
pub fn run(a: &CpArgs, g: &Globals, io: &mut Io<'_>) -> Result<(), Failure> {
    if a.source.is_empty() {
        return Err(Failure::new(1, "source can not be empty"));
    }
    if a.destination.is_empty() {
        return Err(Failure::new(1, "destination can not be empty"));
    }
    let (src_container, src_path) = split_cp_arg(&a.source);
    let (dst_container, dst_path) = split_cp_arg(&a.destination);
    let engine = match (src_container, dst_container) {
        (Some(_), Some(_)) => {
            return Err(Failure::new(
                1,
                "copying between containers is not supported",
            ));
        }
        (None, None) => {
            return Err(Failure::new(
                1,
                "must specify at least one container source",
            ));
        }
        _ => g.engine()?,
    };
    let (copied, shown) = if let Some(name) = src_container {
        let (_, root) = open(&engine, name)?;
        let dst = (dst_path != "-").then_some(dst_path);
        let n = from_container(&root, name, src_path, a.follow_link, dst, &mut *io.stdout)
            .map_err(|e| failed(&e))?;
        (n, dst.map(crate::container::copy::local_path))
    } else {
        let name = dst_container.unwrap_or_default();
        let (c, root) = open(&engine, name)?;
        let owner = if a.archive {
            Owner::Archive
        } else {
            Owner::Root
        };
        let src = (src_path != "-").then_some(src_path);
        let n = to_container(
            &root,
            &c,
            name,
            src,
            &mut Input(io),
            dst_path,
            a.follow_link,
            owner,
        )
        .map_err(|e| failed(&e))?;
        (n, src.map(|_| format!("{name}:{dst_path}")))
    };
    if let Some(dest) = shown
        && !a.quiet
        && std::io::stderr().is_terminal()
    {
        writeln!(
            io.stderr,
            "Successfully copied {} to {dest}",
            human_size(copied)
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::cli::tests::berth;

    #[test]
    fn one_side_must_be_a_container() {
        let (code, _, err) = berth(&["cp", "/a", "/b"], "");
        assert_eq!(
            (code, err.as_str()),
            (1, "must specify at least one container source\n")
        );
        let (code, _, err) = berth(&["cp", "a:/x", "b:/y"], "");
        assert_eq!(
            (code, err.as_str()),
            (1, "copying between containers is not supported\n")
        );
    }
}
