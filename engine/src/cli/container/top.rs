//! `berth top CONTAINER [ps OPTIONS]`: the container's processes as the
//! host's `ps` shows them (`-ef` by default), in Docker's table.

use clap::Args;

use crate::cli::exit::Failure;
use crate::cli::global::Globals;
use crate::cli::io::Io;
use crate::container::Status;
use crate::container::stats::layout;
use crate::container::top::{ProcessList, container_pids, parse_ps_output, validate_ps_args};
use crate::format::tabwriter::align;

/// `top`.
#[derive(Debug, Args)]
#[command(override_usage = "berth top CONTAINER [ps OPTIONS]")]
pub struct TopArgs {
    /// The container, then options for ps
    #[arg(
        value_name = "CONTAINER",
        trailing_var_arg = true,
        allow_hyphen_values = true,
        required = true,
        num_args = 1..
    )]
    pub container_and_options: Vec<String>,
}

fn daemon(message: impl std::fmt::Display) -> Failure {
    Failure::new(1, format!("Error response from daemon: {message}"))
}

/// The table Docker's client prints (`tabwriter` with a minimum width of
/// 20 and a padding of 3).
pub fn render(list: &ProcessList) -> String {
    let mut text = list.titles.join("\t");
    text.push('\n');
    for p in &list.processes {
        text.push_str(&p.join("\t"));
        text.push('\n');
    }
    align(&text, 20, 3)
}

/// Runs `top`.
pub fn run(a: &TopArgs, g: &Globals, io: &mut Io<'_>) -> Result<(), Failure> {
    let (name, options) = a
        .container_and_options
        .split_first()
        .ok_or_else(|| Failure::new(1, "\"berth top\" requires at least 1 argument."))?;
    // Docker joins the options and splits them at spaces again.
    let joined = if options.is_empty() {
        "-ef".to_owned()
    } else {
        options.join(" ")
    };
    validate_ps_args(&joined).map_err(daemon)?;
    let engine = g.engine()?;
    let c = engine.get(name).map_err(daemon)?;
    if !matches!(c.state.status, Status::Running | Status::Paused) {
        return Err(daemon(format!("container {} is not running", c.id)));
    }
    let pids = container_pids(&c.id, layout());
    let args: Vec<&str> = joined.split(' ').filter(|s| !s.is_empty()).collect();
    let output = std::process::Command::new("ps")
        .args(&args)
        .output()
        .map_err(|e| daemon(format!("ps: {e}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let first = stderr.lines().next().unwrap_or_default().to_owned();
        let why = if first.is_empty() {
            output.status.to_string()
        } else {
            first
        };
        return Err(daemon(format!("ps: {why}")));
    }
    let list = parse_ps_output(&String::from_utf8_lossy(&output.stdout), &pids).map_err(daemon)?;
    io.stdout.write_all(render(&list).as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_dockers_widths() {
        let list = ProcessList {
            titles: vec!["UID".into(), "PID".into(), "CMD".into()],
            processes: vec![vec!["root".into(), "812".into(), "sleep 600".into()]],
        };
        assert_eq!(
            render(&list),
            "UID                 PID                 CMD\nroot                812                 sleep 600\n"
        );
    }
}
